//! A session: a runbook being worked through, its journal and its state.
//!
//! [`Session::apply`] is the only way the state changes: it checks an [`Action`] against the
//! runbook and the state, turns it into an event, writes the event to the journal (one write and
//! an fsync), and only then folds it into the state and returns it. Opening a session replays its
//! journal through the same fold ([`State`]), so a resumed session is exactly where it was.

pub mod clock;
pub mod deadline;
pub mod exercise;
mod state;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

pub use clock::{Clock, ManualClock, SystemClock};
pub use state::{State, StepState, StepStatus, Visit};

use crate::journal::event::{
    Body, ClockChange, CommandRun, CommandStarted, ContactMade, ContactPurpose, CustodyTransferred,
    DeadlinePassed, DecisionMade, EvidenceRecorded, FieldsRecorded, InjectAnswered, InjectReleased,
    ItemConfirmed, NoteAdded, Participant, Party, Paused, Resumed, RunbookRef, ScenarioRef,
    SessionStarted, SignerRef, StepCompleted, StepSkipped, StepStarted, Tool,
};
use crate::journal::writer::WriteError;
use crate::journal::{self, Actor, Draft, Event, Mode, Role, SessionFolder, Torn};
use crate::runbook::{FieldKind, Inject, Purpose, Runbook, Scenario, Step, StepKind};

/// Everything needed to start a session.
#[derive(Debug, Clone)]
pub struct Start {
    /// The runbook's text, exactly as read; a copy is kept in the session folder.
    pub runbook_text: String,
    pub operator: String,
    pub witness: Option<String>,
    pub facilitator: Option<String>,
    pub case_id: String,
    /// A jurisdiction code the runbook lists (or any when it lists none).
    pub jurisdiction: String,
    pub mode: Mode,
    /// Values for the runbook's variables.
    pub variables: BTreeMap<String, String>,
    /// The text of the exercise scenario to follow (exercises only), exactly as read; a copy is
    /// kept in the session folder.
    pub scenario_text: Option<String>,
    /// Who takes part in an exercise, and the part each plays.
    pub participants: Vec<Participant>,
}

/// One thing the operator (or the facilitator, or custody) does. Each becomes one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Complete the current instruction, checklist (all items confirmed), evidence, command
    /// or end step.
    Complete,
    /// Confirm one checklist item, by position.
    ConfirmItem { item: usize },
    /// Take a decision's choice, with the reason.
    Decide { choice: String, reason: String },
    /// Record the current record step's fields (field id to value).
    Record { values: BTreeMap<String, String> },
    /// Add a note to the journal, at any moment.
    Note { text: String },
    /// Skip the current step, with the reason.
    Skip { reason: String },
    /// Go back to a step already passed, to redo or correct it, with the reason.
    Revisit { step: String, reason: String },
    /// Record hashed evidence in the current evidence step.
    Evidence(EvidenceRecorded),
    /// Record that the current command step's program is about to run (before it starts).
    CommandStarted(CommandStarted),
    /// Record a command run in the current command step.
    Command(CommandRun),
    /// Record the report or notification of the current contact step.
    Contact {
        to: Option<String>,
        channel: String,
        at: Option<String>,
        reference: Option<String>,
        person: Option<String>,
        notes: Option<String>,
    },
    /// Record the custody transfer of the current transfer step.
    Transfer {
        items: String,
        from: Party,
        to: Party,
        at: Option<String>,
        location: String,
    },
    /// Release an exercise inject (the facilitator).
    ReleaseInject { inject: String },
    /// Release an inject whose time has come (custody, on the exercise clock): see
    /// [`Session::injects_due`].
    InjectDue { inject: String },
    /// Record the participants' answer to a released inject.
    AnswerInject {
        inject: String,
        answer: String,
        by: Option<String>,
    },
    /// Pause, resume, speed up or move on the exercise clock (the facilitator). `amount` is the
    /// speed for [`ClockChange::Speed`] and the seconds for [`ClockChange::Advance`].
    Clock { change: ClockChange, amount: u64 },
    /// Record that a deadline's time ran out (custody, on its clock).
    DeadlinePassed { deadline: String },
    /// Stop working on purpose; the session can be resumed.
    Pause { reason: Option<String> },
    /// Take the work up again (after opening a session).
    Resume,
    /// Close the session for good.
    Seal {
        note: Option<String>,
        signed_by: Option<SignerRef>,
    },
    /// Record the report files written from the journal so far (custody, at the end).
    ReportWritten { files: Vec<journal::event::FileRef> },
}

/// Why a session could not be started, opened or changed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The action does not fit the runbook or the state; nothing was written.
    #[error("{0}")]
    Rejected(String),
    /// The event could not be written; nothing was recorded.
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Folder(#[from] journal::Error),
    /// The runbook (given, or the session's copy) is not valid.
    #[error("the runbook is not valid ({errors} errors); run `custody check` on it")]
    InvalidRunbook { errors: usize },
    /// The scenario (given, or the session's copy) is not valid for its runbook.
    #[error(
        "the scenario is not valid for its runbook ({errors} errors); run `custody check` on it"
    )]
    InvalidScenario { errors: usize },
    /// The journal's events do not fit its runbook copy.
    #[error("{}: the journal does not begin with `session_started`", path.display())]
    NoStart { path: PathBuf },
}

fn reject<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error::Rejected(message.into()))
}

/// A session open for work: this process holds its lock.
#[derive(Debug)]
pub struct Session<C: Clock = SystemClock> {
    /// The runbook, with its scenario's injects, milestones and expectations in an exercise
    /// that follows one.
    runbook: Runbook,
    scenario: Option<Scenario>,
    folder: SessionFolder,
    state: State,
    clock: C,
    /// The `recovered` event written when opening, if a torn line was set aside.
    recovered: Option<Event>,
    /// The last [`RECENT_AT_OPEN`] events read by [`Session::open`], oldest first, until taken.
    recent_at_open: Vec<Event>,
}

/// How many of the last events [`Session::open`] keeps for the screen's journal pane.
pub const RECENT_AT_OPEN: usize = 50;

impl<C: Clock> Session<C> {
    /// Starts a new session in a new folder under `dir`, writing its first event.
    pub fn create(dir: &Path, start: &Start, clock: C) -> Result<Self, Error> {
        let checked = Runbook::parse(&start.runbook_text);
        let Some(runbook) = checked.runbook else {
            return Err(Error::InvalidRunbook {
                errors: checked.errors(),
            });
        };
        let scenario = match &start.scenario_text {
            None => None,
            Some(_) if start.mode != Mode::Exercise => {
                return reject("a scenario belongs to an exercise; start the session as one");
            }
            Some(text) => Some(parse_scenario(text, &runbook)?),
        };
        let runbook = match &scenario {
            Some(scenario) => scenario.apply_to(&runbook),
            None => runbook,
        };
        check_start(&runbook, start)?;
        let now = clock.now();
        let id = session_id(&runbook.id, start.mode, now);
        let host = crate::host::name();
        let started = SessionStarted {
            format: journal::event::JOURNAL_FORMAT,
            session: id.clone(),
            tool: Tool::this(),
            runbook: RunbookRef {
                id: runbook.id.clone(),
                version: runbook.version.clone(),
                title: runbook.title.clone(),
                language: runbook.language.clone(),
                file: journal::folder::RUNBOOK.to_owned(),
                sha256: journal::Digest::ZERO,
            },
            host,
            operator: start.operator.trim().to_owned(),
            witness: non_empty(start.witness.as_deref()),
            facilitator: non_empty(start.facilitator.as_deref()),
            case_id: start.case_id.trim().to_owned(),
            jurisdiction: start.jurisdiction.clone(),
            mode: start.mode,
            timezone: crate::host::timezone(),
            clock: crate::host::clock_state(),
            variables: start.variables.clone(),
            scenario: scenario.as_ref().map(|s| ScenarioRef {
                id: s.id.clone(),
                version: s.version.clone(),
                title: s.title.clone(),
                file: journal::folder::SCENARIO.to_owned(),
                sha256: journal::Digest::ZERO,
            }),
            participants: start
                .participants
                .iter()
                .map(|p| Participant {
                    name: p.name.trim().to_owned(),
                    role: p.role.trim().to_owned(),
                })
                .collect(),
        };
        let actor = Actor::person(Role::Operator, &started.operator);
        let offset = clock.offset_at(now);
        let (folder, first) = SessionFolder::create(
            dir,
            &id,
            &start.runbook_text,
            start.scenario_text.as_deref(),
            move |sha256, scenario_sha256| {
                let mut started = started;
                started.runbook.sha256 = sha256;
                if let (Some(s), Some(sha256)) = (&mut started.scenario, scenario_sha256) {
                    s.sha256 = sha256;
                }
                Draft {
                    time: now,
                    offset,
                    actor,
                    step: None,
                    body: Body::SessionStarted(Box::new(started)),
                }
            },
        )?;
        let state = State::begin(&runbook, &first).ok_or_else(|| Error::NoStart {
            path: folder.journal_path(),
        })?;
        Ok(Self {
            runbook,
            scenario,
            folder,
            state,
            clock,
            recovered: None,
            recent_at_open: Vec::new(),
        })
    }

    /// Opens an existing session (its folder or journal) for work: takes the lock and replays
    /// the journal. A torn last line is refused unless `recover` is set, in which case it is set
    /// aside and the recovery journaled. The caller then applies [`Action::Resume`].
    pub fn open(path: &Path, recover: bool, clock: C) -> Result<Self, Error> {
        let torn = if recover {
            let now = clock.now();
            Torn::Recover {
                time: now,
                offset: clock.offset_at(now),
            }
        } else {
            Torn::Refuse
        };
        // The runbook copy is named by the first event; events are folded as they are read,
        // so a long journal is never held in memory whole.
        let folder_path = journal::folder::resolve(path);
        let mut fold: Result<Option<(Loaded, State)>, Error> = Ok(None);
        // The last events, for the journal pane: kept as they go by, so that showing them
        // needs no second reading of the journal.
        let mut recent = std::collections::VecDeque::with_capacity(RECENT_AT_OPEN);
        let opened = SessionFolder::open(path, torn, |event| {
            match &mut fold {
                Err(_) => {}
                Ok(Some((loaded, state))) => state.apply(&loaded.runbook, &event),
                Ok(None) => fold = begin_from(&folder_path, &event).map(Some),
            }
            if recent.len() == RECENT_AT_OPEN {
                recent.pop_front();
            }
            recent.push_back(event);
        })?;
        let Some((loaded, state)) = fold? else {
            return Err(Error::NoStart {
                path: opened.folder.journal_path(),
            });
        };
        // `open` checked the copies against the first event's hashes; make sure they are what
        // was folded.
        if loaded.runbook_text != opened.runbook_text
            || loaded.scenario_text != opened.scenario_text
        {
            return Err(Error::Rejected(
                "the runbook or scenario copy changed while the session was being opened".into(),
            ));
        }
        Ok(Self {
            runbook: loaded.runbook,
            scenario: loaded.scenario,
            folder: opened.folder,
            state,
            clock,
            recovered: opened.recovered,
            recent_at_open: recent.into(),
        })
    }

    /// The last events read when the session was opened (at most [`RECENT_AT_OPEN`], oldest
    /// first, the `recovered` event included), the same as [`read_recent`] would read then;
    /// empty for a session just created, and once taken.
    pub fn take_recent_at_open(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.recent_at_open)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn runbook(&self) -> &Runbook {
        &self.runbook
    }

    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    pub fn journal_path(&self) -> PathBuf {
        self.folder.journal_path()
    }

    pub fn evidence_dir(&self) -> PathBuf {
        self.folder.evidence_dir()
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The `recovered` event written when the session was opened, if any.
    pub fn recovered(&self) -> Option<&Event> {
        self.recovered.as_ref()
    }

    /// The current step of the runbook, if the session has not ended.
    pub fn current_step(&self) -> Option<&Step> {
        self.state
            .current
            .as_deref()
            .and_then(|id| self.runbook.step(id))
    }

    /// The value of a variable for runbook text, built-ins included.
    pub fn variable(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "session_dir" => Some(Cow::Owned(self.folder().display().to_string())),
            "evidence_dir" => Some(Cow::Owned(self.evidence_dir().display().to_string())),
            _ => self.state.variable(name).map(Cow::Borrowed),
        }
    }

    /// Runbook text with its placeholders filled in; an unknown one is shown as `{{name}}`.
    pub fn render(&self, template: &crate::runbook::template::Template) -> String {
        template.render(|name| {
            self.variable(name).map_or_else(
                || Cow::Owned(format!("{{{{{name}}}}}")),
                |v| Cow::Owned(v.into_owned()),
            )
        })
    }

    /// The deadlines that apply, as they stand now (in session time: see
    /// [`Session::session_time`]).
    pub fn deadlines(&self) -> Vec<deadline::DeadlineState<'_>> {
        deadline::deadlines(&self.runbook, &self.state, self.session_time())
    }

    /// Deadlines whose time ran out without a `deadline_passed` event yet: apply
    /// [`Action::DeadlinePassed`] for each.
    pub fn deadlines_to_record(&self) -> Vec<String> {
        self.deadlines()
            .into_iter()
            .filter(|d| d.status == deadline::Status::Overdue && d.passed_recorded.is_none())
            .map(|d| d.deadline.id.clone())
            .collect()
    }

    /// Checks the action, writes its event, and only then changes the state.
    pub fn apply(&mut self, action: Action) -> Result<Event, Error> {
        let (actor, step, body) = self.event_for(action)?;
        let time = self.clock.now();
        let draft = Draft {
            time,
            offset: self.clock.offset_at(time),
            actor,
            step,
            body,
        };
        let event = self.folder.writer().append(draft)?;
        self.state.apply(&self.runbook, &event);
        Ok(event)
    }

    /// Seals the session. With a signer, the seal names its key and the whole journal is then
    /// signed into `journal.jsonl.minisig`, which the standard `minisign` tool can check.
    pub fn seal(
        &mut self,
        note: Option<String>,
        signer: Option<&journal::sign::Signer>,
    ) -> Result<Event, Error> {
        let event = self.apply(Action::Seal {
            note,
            signed_by: signer.map(journal::sign::Signer::reference),
        })?;
        if let Some(signer) = signer {
            journal::folder::write_signature(self.folder(), signer, &self.state.started.session)?;
        }
        Ok(event)
    }

    fn operator(&self) -> Actor {
        Actor::person(Role::Operator, &self.state.started.operator)
    }

    fn facilitator(&self) -> Actor {
        Actor {
            role: Role::Facilitator,
            name: self.state.started.facilitator.clone(),
        }
    }

    /// The inject, if it can be released now.
    fn releasable(&self, inject: &str) -> Result<&Inject, Error> {
        if self.state.mode() != Mode::Exercise {
            return reject("injects belong to exercises; this session is real");
        }
        let Some(i) = self.runbook.injects.iter().find(|i| i.id == inject) else {
            return reject(format!("the exercise has no inject `{inject}`"));
        };
        if self.state.injects.contains_key(inject) {
            return reject("this inject was already released");
        }
        Ok(i)
    }

    fn released(&self, inject: &Inject) -> Body {
        Body::InjectReleased(InjectReleased {
            inject: inject.id.clone(),
            title: self.render(&inject.title),
            body: inject.body.as_ref().map(|b| self.render(b)),
            prompt: inject.prompt.as_ref().map(|p| self.render(p)),
        })
    }

    /// The scenario the exercise follows, if any.
    pub fn scenario(&self) -> Option<&Scenario> {
        self.scenario.as_ref()
    }

    /// The session's time now: the exercise clock's reading in an exercise, the real time
    /// otherwise.
    pub fn session_time(&self) -> DateTime<Utc> {
        self.state.session_time(self.clock.now())
    }

    /// Injects not yet released whose moment has come, in the runbook's order: their step has
    /// started (`at`), and their delay has passed on the exercise clock (`after`, counted from
    /// the start or from `at`). Injects with neither wait for the facilitator. Apply
    /// [`Action::InjectDue`] for each.
    pub fn injects_due(&self) -> Vec<&str> {
        if self.state.mode() != Mode::Exercise || self.state.sealed.is_some() || self.state.paused {
            return Vec::new();
        }
        let now = self.session_time();
        self.runbook
            .injects
            .iter()
            .filter(|i| !self.state.injects.contains_key(&i.id))
            .filter(|i| {
                let from = match &i.at {
                    Some(step) => match self.state.step(step).and_then(|s| s.started) {
                        Some(started) => self.state.session_time(started),
                        None => return false,
                    },
                    None if i.after.is_none() => return false,
                    None => self.state.started_at,
                };
                let after = i
                    .after
                    .and_then(|a| chrono::Duration::from_std(a).ok())
                    .unwrap_or_else(chrono::Duration::zero);
                from.checked_add_signed(after).is_some_and(|due| now >= due)
            })
            .map(|i| i.id.as_str())
            .collect()
    }

    /// Injects released and not answered yet, in the order they were released.
    pub fn unanswered_injects(&self) -> Vec<&str> {
        let mut pending: Vec<(&DateTime<Utc>, &str)> = self
            .state
            .injects
            .iter()
            .filter(|(id, _)| !self.state.answered.contains_key(*id))
            .map(|(id, at)| (at, id.as_str()))
            .collect();
        pending.sort();
        pending.into_iter().map(|(_, id)| id).collect()
    }

    /// Turns an action into the event's actor, step and body, or says why it cannot be done.
    fn event_for(&self, action: Action) -> Result<(Actor, Option<String>, Body), Error> {
        if self.state.sealed.is_some() {
            return reject("the session is sealed: nothing more can be recorded");
        }
        let paused_ok = matches!(
            action,
            Action::Resume
                | Action::Note { .. }
                | Action::Seal { .. }
                | Action::DeadlinePassed { .. }
                | Action::ReportWritten { .. }
        );
        if self.state.paused && !paused_ok {
            return reject("the session is paused: resume it first");
        }
        let current = self.state.current.clone();
        let step = self.current_step();
        let operator = self.operator();
        let body = match action {
            Action::Complete => {
                let step = Self::need_step(step)?;
                let next = match &step.kind {
                    StepKind::Instruction { next } => Some(next.clone()),
                    StepKind::Checklist { items, next } => {
                        let done = self.state.step(&step.id).map_or(0, |s| s.items.len());
                        if done < items.len() {
                            return reject(format!(
                                "confirm every item first: {done} of {} confirmed",
                                items.len()
                            ));
                        }
                        Some(next.clone())
                    }
                    StepKind::Evidence { next, .. } => {
                        if self.state.step(&step.id).map_or(0, |s| s.evidence) == 0 {
                            return reject(
                                "no evidence recorded in this step yet: hash it first, or skip \
                                 the step with a reason",
                            );
                        }
                        Some(next.clone())
                    }
                    StepKind::Command { next, .. } => {
                        if self.state.step(&step.id).map_or(0, |s| s.commands) == 0 {
                            return reject(
                                "the command has not been run yet: run it first, or skip the \
                                 step with a reason",
                            );
                        }
                        Some(next.clone())
                    }
                    StepKind::End { .. } => None,
                    other => {
                        return reject(format!(
                            "a {} step is completed by recording it, not by confirming",
                            other.name()
                        ));
                    }
                };
                Body::StepCompleted(StepCompleted { next })
            }
            Action::ConfirmItem { item } => {
                let step = Self::need_step(step)?;
                let StepKind::Checklist { items, .. } = &step.kind else {
                    return reject("the current step is not a checklist");
                };
                let Some(text) = items.get(item) else {
                    return reject(format!("the checklist has {} items", items.len()));
                };
                if self
                    .state
                    .step(&step.id)
                    .is_some_and(|s| s.items.contains(&item))
                {
                    return reject("this item is already confirmed");
                }
                Body::ItemConfirmed(ItemConfirmed {
                    item,
                    text: self.render(text),
                })
            }
            Action::Decide { choice, reason } => {
                let step = Self::need_step(step)?;
                let StepKind::Decision { choices } = &step.kind else {
                    return reject("the current step is not a decision");
                };
                let Some(c) = choices.iter().find(|c| c.id == choice) else {
                    return reject(format!("`{choice}` is not one of this decision's choices"));
                };
                let reason = required(&reason, "a decision needs its reason")?;
                Body::DecisionMade(DecisionMade {
                    choice: c.id.clone(),
                    label: self.render(&c.label),
                    reason,
                    next: c.next.clone(),
                })
            }
            Action::Record { values } => {
                let step = Self::need_step(step)?;
                let StepKind::Record { fields, next } = &step.kind else {
                    return reject("the current step is not a record step");
                };
                let mut clean = BTreeMap::new();
                for id in values.keys() {
                    if !fields.iter().any(|f| &f.id == id) {
                        return reject(format!("this step has no field `{id}`"));
                    }
                }
                for field in fields {
                    let value = values.get(&field.id).map_or("", |v| v.trim());
                    if value.is_empty() {
                        if field.required {
                            return reject(format!("`{}` is required", self.render(&field.label)));
                        }
                        continue;
                    }
                    let value = check_field(&field.kind, value).map_err(|why| {
                        Error::Rejected(format!("{}: {why}", self.render(&field.label)))
                    })?;
                    clean.insert(field.id.clone(), value);
                }
                Body::FieldsRecorded(FieldsRecorded {
                    values: clean,
                    next: Some(next.clone()),
                })
            }
            Action::Note { text } => {
                let text = required(&text, "a note needs some text")?;
                Body::NoteAdded(NoteAdded { text })
            }
            Action::Skip { reason } => {
                let step = Self::need_step(step)?;
                let next = match &step.kind {
                    StepKind::Decision { .. } => {
                        return reject("a decision cannot be skipped: choose, and give the reason");
                    }
                    StepKind::End { .. } => {
                        return reject("an end step cannot be skipped: complete it");
                    }
                    _ => step.successors().first().map(|s| (*s).to_owned()),
                };
                let reason = required(&reason, "skipping a step needs the reason")?;
                Body::StepSkipped(StepSkipped { reason, next })
            }
            Action::Revisit {
                step: target,
                reason,
            } => {
                let Some(s) = self.state.step(&target) else {
                    return reject(format!("the runbook has no step `{target}`"));
                };
                if !matches!(s.status, StepStatus::Done | StepStatus::Skipped) {
                    return reject("only a step already done or skipped can be revisited");
                }
                let reason = required(&reason, "going back needs the reason")?;
                return Ok((
                    operator,
                    Some(target),
                    Body::StepStarted(StepStarted { reason }),
                ));
            }
            Action::Evidence(evidence) => {
                let step = Self::need_step(step)?;
                if !matches!(step.kind, StepKind::Evidence { .. }) {
                    return reject("the current step is not an evidence step");
                }
                Body::EvidenceRecorded(evidence)
            }
            Action::CommandStarted(started) => {
                let step = Self::need_step(step)?;
                if !matches!(step.kind, StepKind::Command { .. }) {
                    return reject("the current step is not a command step");
                }
                Body::CommandStarted(started)
            }
            Action::Command(run) => {
                let step = Self::need_step(step)?;
                if !matches!(step.kind, StepKind::Command { .. }) {
                    return reject("the current step is not a command step");
                }
                Body::CommandRun(run)
            }
            Action::Contact {
                to,
                channel,
                at,
                reference,
                person,
                notes,
            } => {
                let step = Self::need_step(step)?;
                let StepKind::Contact {
                    role,
                    to: step_to,
                    purpose,
                    next,
                } = &step.kind
                else {
                    return reject("the current step is not a contact step");
                };
                let to = non_empty(to.as_deref())
                    .or_else(|| step_to.as_ref().map(|t| self.render(t)))
                    .or_else(|| {
                        role.as_ref().and_then(|role| {
                            self.runbook
                                .jurisdictions
                                .get(&self.state.started.jurisdiction)
                                .and_then(|j| j.contacts_with_role(role).next())
                                .map(|c| c.name.clone())
                        })
                    });
                let Some(to) = to else {
                    return reject("say whom the contact was made with");
                };
                let channel = required(
                    &channel,
                    "say how the contact was made (phone, web form ...)",
                )?;
                Body::ContactMade(ContactMade {
                    purpose: match purpose {
                        Purpose::Report => ContactPurpose::Report,
                        Purpose::Inform => ContactPurpose::Inform,
                    },
                    role: role.clone(),
                    to,
                    channel,
                    at: non_empty(at.as_deref()),
                    reference: non_empty(reference.as_deref()),
                    person: non_empty(person.as_deref()),
                    notes: non_empty(notes.as_deref()),
                    next: Some(next.clone()),
                })
            }
            Action::Transfer {
                items,
                from,
                to,
                at,
                location,
            } => {
                let step = Self::need_step(step)?;
                let StepKind::Transfer { next } = &step.kind else {
                    return reject("the current step is not a custody transfer");
                };
                let items = required(&items, "say what is handed over")?;
                let location = required(&location, "say where the items are now")?;
                if from.name.trim().is_empty() || to.name.trim().is_empty() {
                    return reject("a transfer needs the names of both people");
                }
                Body::CustodyTransferred(CustodyTransferred {
                    items,
                    from,
                    to,
                    at: non_empty(at.as_deref()),
                    location,
                    next: Some(next.clone()),
                })
            }
            Action::ReleaseInject { inject } => {
                let i = self.releasable(&inject)?;
                return Ok((self.facilitator(), current, self.released(i)));
            }
            Action::InjectDue { inject } => {
                let i = self.releasable(&inject)?;
                if !self.injects_due().contains(&i.id.as_str()) {
                    return reject(format!("inject `{inject}` is not due yet"));
                }
                return Ok((Actor::custody(), current, self.released(i)));
            }
            Action::AnswerInject { inject, answer, by } => {
                if !self.state.injects.contains_key(&inject) {
                    return reject(format!("inject `{inject}` has not been released"));
                }
                if self.state.answered.contains_key(&inject) {
                    return reject("this inject was already answered; add a note to say more");
                }
                let answer = required(&answer, "an inject needs the participants' answer")?;
                let by = non_empty(by.as_deref());
                if let Some(name) = &by
                    && !self
                        .state
                        .started
                        .participants
                        .iter()
                        .any(|p| &p.name == name)
                    && name != &self.state.started.operator
                {
                    return reject(format!("`{name}` is not a participant of this exercise"));
                }
                Body::InjectAnswered(InjectAnswered { inject, answer, by })
            }
            Action::Clock { change, amount } => {
                let now = self.clock.now();
                let data = self
                    .state
                    .clock
                    .change(change, now, amount)
                    .map_err(Error::Rejected)?;
                return Ok((self.facilitator(), current, Body::ClockChanged(data)));
            }
            Action::DeadlinePassed { deadline } => {
                let deadlines = self.deadlines();
                let Some(d) = deadlines.iter().find(|d| d.deadline.id == deadline) else {
                    return reject(format!("no deadline `{deadline}` applies in this session"));
                };
                if d.passed_recorded.is_some() {
                    return reject("this deadline's passing is already recorded");
                }
                let (deadline::Status::Overdue, Some(due)) = (d.status, d.due) else {
                    return reject("this deadline is not overdue");
                };
                return Ok((
                    Actor::custody(),
                    None,
                    Body::DeadlinePassed(DeadlinePassed {
                        deadline: d.deadline.id.clone(),
                        label: d.deadline.label.clone(),
                        due,
                    }),
                ));
            }
            Action::Pause { reason } => {
                if self.state.paused {
                    return reject("the session is already paused");
                }
                Body::Paused(Paused {
                    reason: non_empty(reason.as_deref()),
                })
            }
            Action::Resume => {
                let gap = (self.clock.now() - self.state.last_time).num_seconds();
                Body::Resumed(Resumed {
                    interrupted: !self.state.paused,
                    gap_seconds: gap,
                    host: crate::host::name(),
                    tool: Tool::this(),
                })
            }
            Action::ReportWritten { files } => {
                if files.is_empty() {
                    return reject("no report file to record");
                }
                return Ok((
                    Actor::custody(),
                    None,
                    Body::ReportWritten(journal::event::ReportWritten { files }),
                ));
            }
            Action::Seal { note, signed_by } => {
                return Ok((
                    operator,
                    None,
                    Body::Sealed(journal::event::Sealed {
                        complete: self.state.finished,
                        note: non_empty(note.as_deref()),
                        signed_by,
                    }),
                ));
            }
        };
        Ok((operator, current, body))
    }

    fn need_step(step: Option<&Step>) -> Result<&Step, Error> {
        step.ok_or_else(|| {
            Error::Rejected("the runbook is finished: there is no current step".into())
        })
    }
}

/// A session's runbook as its folder keeps it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The runbook, with the scenario applied when there is one.
    pub runbook: Runbook,
    pub scenario: Option<Scenario>,
    pub runbook_text: String,
    pub scenario_text: Option<String>,
}

/// Reads the runbook copy (and the scenario copy, for an exercise that follows one) that the
/// first event names, from the session folder.
pub fn load_runbook(folder: &Path, started: &SessionStarted) -> Result<Loaded, Error> {
    let read = |file: &str, doing: &'static str| {
        let copy = folder.join(file);
        journal::folder::read_copy(folder, file)
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
            })
            .map_err(|source| journal::Error::Io {
                path: copy,
                doing,
                source,
            })
    };
    let runbook_text = read(&started.runbook.file, "read the runbook copy")?;
    let checked = Runbook::parse(&runbook_text);
    let Some(runbook) = checked.runbook else {
        return Err(Error::InvalidRunbook {
            errors: checked.errors(),
        });
    };
    let (runbook, scenario, scenario_text) = match &started.scenario {
        None => (runbook, None, None),
        Some(reference) => {
            let text = read(&reference.file, "read the scenario copy")?;
            let scenario = parse_scenario(&text, &runbook)?;
            (scenario.apply_to(&runbook), Some(scenario), Some(text))
        }
    };
    Ok(Loaded {
        runbook,
        scenario,
        runbook_text,
        scenario_text,
    })
}

fn parse_scenario(text: &str, runbook: &Runbook) -> Result<Scenario, Error> {
    let checked = Scenario::parse(text, Ok(runbook));
    let errors = checked.errors();
    checked.scenario.ok_or(Error::InvalidScenario { errors })
}

/// Reads the copies the first event names and begins the fold with them.
fn begin_from(folder: &Path, first: &Event) -> Result<(Loaded, State), Error> {
    let Body::SessionStarted(started) = &first.body else {
        return Err(Error::NoStart {
            path: folder.join(journal::folder::JOURNAL),
        });
    };
    let loaded = load_runbook(folder, started)?;
    let state = State::begin(&loaded.runbook, first).ok_or_else(|| Error::NoStart {
        path: folder.join(journal::folder::JOURNAL),
    })?;
    Ok((loaded, state))
}

fn check_start(runbook: &Runbook, start: &Start) -> Result<(), Error> {
    if start.operator.trim().is_empty() {
        return reject("the operator's name is needed");
    }
    let case = start.case_id.trim();
    if case.is_empty() {
        return reject("a case id is needed");
    }
    if case.chars().any(char::is_control) {
        return reject("the case id cannot contain control characters");
    }
    if runbook.jurisdictions.is_empty() {
        if !crate::runbook::jurisdiction::is_known(&start.jurisdiction) {
            return reject(format!(
                "`{}` is not a jurisdiction code (ISO 3166-1 alpha-2, UK, EU or OTHER)",
                start.jurisdiction
            ));
        }
    } else if !runbook.jurisdictions.contains_key(&start.jurisdiction) {
        let known: Vec<&str> = runbook.jurisdictions.keys().map(String::as_str).collect();
        return reject(format!(
            "the runbook has no jurisdiction `{}`; it has {}",
            start.jurisdiction,
            known.join(", ")
        ));
    }
    for name in start.variables.keys() {
        if !runbook.variables.contains_key(name) {
            return reject(format!("the runbook has no variable `{name}`"));
        }
    }
    if let Some(name) = missing_variables(runbook, &start.variables).first() {
        return reject(format!(
            "the runbook needs a value for `{name}` ({}) at the start",
            runbook.variables[*name].label
        ));
    }
    Ok(())
}

/// Variables the start must give: no default, and no record field that sets them.
pub fn missing_variables<'r>(
    runbook: &'r Runbook,
    given: &BTreeMap<String, String>,
) -> Vec<&'r str> {
    let set_by_fields: Vec<&str> = runbook
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Record { fields, .. } => Some(fields),
            _ => None,
        })
        .flatten()
        .filter_map(|f| f.sets.as_deref())
        .collect();
    runbook
        .variables
        .iter()
        .filter(|(name, v)| {
            v.default.is_none()
                && !set_by_fields.contains(&name.as_str())
                && given.get(*name).is_none_or(|value| value.trim().is_empty())
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// A session id: UTC start time, runbook id and four random hex digits; exercises begin with
/// `EXERCISE-` so that every file name made from it says so.
pub fn session_id(runbook_id: &str, mode: Mode, now: DateTime<Utc>) -> String {
    let random = crate::host::random_bytes(2);
    let prefix = if mode == Mode::Exercise {
        "EXERCISE-"
    } else {
        ""
    };
    format!(
        "{prefix}{}-{runbook_id}-{:02x}{:02x}",
        now.format("%Y%m%dT%H%M%SZ"),
        random[0],
        random[1]
    )
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn required(text: &str, message: &str) -> Result<String, Error> {
    let text = text.trim();
    if text.is_empty() {
        reject(message)
    } else {
        Ok(text.to_owned())
    }
}

/// Checks one value against its field type; returns the value as recorded (datetimes in UTC,
/// yes/no spelled out) or why it is refused. The TUI checks each field with it as it is typed.
pub fn check_field(kind: &FieldKind, value: &str) -> Result<String, String> {
    match kind {
        FieldKind::Text | FieldKind::Reference => {
            if value.contains('\n') {
                Err("one line only".into())
            } else {
                Ok(value.to_owned())
            }
        }
        FieldKind::Multiline => Ok(value.to_owned()),
        FieldKind::Number => value
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|_| value.to_owned())
            .ok_or_else(|| format!("`{value}` is not a number")),
        FieldKind::Yesno => match value.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" => Ok("yes".into()),
            "n" | "no" | "false" => Ok("no".into()),
            _ => Err("answer yes or no".into()),
        },
        FieldKind::Choice { options } => options
            .iter()
            .find(|o| o.as_str() == value)
            .cloned()
            .ok_or_else(|| format!("choose one of: {}", options.join(", "))),
        FieldKind::Datetime => parse_datetime(value)
            .map(|t| journal::event::format_time(&t.with_timezone(&Utc)))
            .ok_or_else(|| {
                "write a date and time with its offset, such as 2026-11-23 09:15 +01:00 or \
                 2026-11-23 08:15Z"
                    .into()
            }),
    }
}

/// Reads a date-time with an explicit offset: RFC 3339, with a space instead of `T`, seconds
/// optional, `Z` or `UTC` for UTC, and spaces allowed before the offset (`2026-11-23 09:15
/// +01:00`, as the screen itself shows times).
pub fn parse_datetime(text: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let mut text = text.trim().replacen(' ', "T", 1);
    text.retain(|c| c != ' ');
    for utc in ["UTC", "utc"] {
        if let Some(head) = text.strip_suffix(utc) {
            text = format!("{head}Z");
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Some(t);
    }
    // Without seconds: 2026-11-23T09:15+01:00 or ...Z.
    let (head, tail) = text.split_at(
        text.find(['Z', 'z', '+'])
            .or_else(|| text.rfind('-').filter(|&i| i > 10))?,
    );
    DateTime::parse_from_rfc3339(&format!("{head}:00{tail}")).ok()
}

/// The last `n` events of the session in `folder`, oldest first, for showing what was done
/// lately; empty if the journal cannot be read (the session itself reports that when opened).
pub fn read_recent(folder: &Path, n: usize) -> Vec<Event> {
    let Ok(file) = std::fs::File::open(folder.join(journal::folder::JOURNAL)) else {
        return Vec::new();
    };
    let mut scanner = journal::reader::Scanner::new(std::io::BufReader::new(file));
    let mut recent = std::collections::VecDeque::with_capacity(n.min(256));
    while let Ok(Some(link)) = scanner.next_link() {
        if let Ok(event) = link.event() {
            if recent.len() == n {
                recent.pop_front();
            }
            recent.push_back(event);
        }
    }
    recent.into_iter().collect()
}
