//! The application's state and what each key does to it.
//!
//! Three screens: the picker (which runbook), the start form (who, which case, where, real or
//! exercise) and the walk through the runbook. On the walk, every change goes through
//! [`Session::apply`], which writes the event to the journal first; the screen then shows what
//! the session's state says. Nothing here draws (see `view`) and nothing here reads the clock
//! but through the session's [`Clock`].

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::describe;
use super::exercise::{ClockDialog, ExerciseSetup, InjectDialog, InjectList};
use super::form::{Form, FormField, FormKey};
use super::input::Input;
use super::job::{CommandJob, HashJob, Job, Shown};
use super::theme::Theme;
use crate::journal::event::{Event, Mode, Party};
use crate::runbook::{FieldKind, Purpose, Runbook, StepKind};
use crate::session::{self, Action, Clock, Session, Start, StepStatus};

/// How many journal entries the walk keeps for its journal pane.
const RECENT: usize = 50;

/// A runbook the picker offers.
#[derive(Debug, Clone)]
pub struct Offer {
    pub runbook: Runbook,
    pub text: String,
    /// `bundled`, or the file it was read from.
    pub origin: String,
}

/// What the start form already knows (from the command line).
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub operator: Option<String>,
    pub witness: Option<String>,
    pub case_id: Option<String>,
    pub jurisdiction: Option<String>,
    pub exercise: bool,
}

#[derive(Debug)]
pub struct Picker {
    pub offers: Vec<Offer>,
    pub selected: usize,
}

#[derive(Debug)]
pub struct StartScreen {
    pub offer: Offer,
    pub form: Form,
    pub error: Option<String>,
    /// Set for `custody exercise`: the session is an exercise, with this scenario and these
    /// people.
    pub exercise: Option<Box<ExerciseSetup>>,
}

/// A modal question or message over the walk.
#[derive(Debug)]
pub enum Dialog {
    Note(Input),
    Skip(Input),
    /// The reason for the decision's choice (by id).
    Reason {
        choice: String,
        label: String,
        input: Input,
    },
    Quit,
    Help,
    Seal,
    /// A journal write failed: nothing was recorded; `r` tries the same action again.
    WriteFailed {
        message: String,
        action: Action,
    },
    /// Run the command step's program? `argv` is exactly what will run. A command that changes
    /// the system is asked about twice (`second` is the second time).
    Run {
        argv: Vec<String>,
        changes_system: bool,
        timeout: std::time::Duration,
        second: bool,
    },
    /// Hash the evidence step's paths? `paths` are exactly what will be hashed.
    Hash {
        paths: Vec<String>,
        options: crate::evidence::hash::Options,
    },
    /// Stop the command or the hashing that is running?
    StopJob,
    /// The report is being written and the session sealed (at the next tick, once the screen
    /// says so).
    Sealing,
    /// The exercise's briefing, read to the team before the first step (`scroll` lines down).
    Briefing {
        scroll: u16,
    },
    /// An inject put to the team, waiting for their answer.
    Inject(Box<InjectDialog>),
    /// The facilitator's list of injects.
    Injects(InjectList),
    /// The facilitator's exercise clock.
    Clock(ClockDialog),
}

/// A message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Info(String),
    Warning(String),
}

/// Working through the runbook.
#[derive(Debug)]
pub struct Walk<C: Clock> {
    pub session: Session<C>,
    pub recent: VecDeque<Event>,
    /// The cursor in a checklist or a decision.
    pub selected: usize,
    /// The form of a record, contact or transfer step, and the step it belongs to.
    pub form: Option<(String, Form)>,
    /// Keys go to the form (typing), not to the walk's one-letter commands.
    pub typing: bool,
    /// Lines the step text is scrolled by.
    pub scroll: u16,
    pub dialog: Option<Dialog>,
    pub status: Option<Status>,
    /// A command step's program or an evidence step's hashing, running beside the screen.
    pub job: Option<Job>,
    /// The last command's outcome, shown under its step.
    pub shown: Option<Shown>,
    /// Released injects the team chose to answer later (Esc), oldest first; `a` brings them
    /// back.
    pub deferred: Vec<String>,
}

#[derive(Debug)]
pub enum Screen<C: Clock> {
    Picker(Picker),
    Start(Box<StartScreen>),
    Walk(Box<Walk<C>>),
}

/// The whole application.
#[derive(Debug)]
pub struct App<C: Clock + Clone> {
    pub theme: Theme,
    pub screen: Screen<C>,
    pub dir: PathBuf,
    pub clock: C,
    pub given: Given,
    /// Set when the program should end; the text is printed after the terminal is restored.
    pub done: Option<String>,
}

impl<C: Clock + Clone> App<C> {
    pub fn picker(offers: Vec<Offer>, dir: PathBuf, clock: C, theme: Theme) -> Self {
        Self {
            theme,
            screen: Screen::Picker(Picker {
                offers,
                selected: 0,
            }),
            dir,
            clock,
            given: Given::default(),
            done: None,
        }
    }

    /// The start form for one runbook, with what is already known filled in.
    pub fn start(offer: Offer, given: Given, dir: PathBuf, clock: C, theme: Theme) -> Self {
        let form = start_form(&offer.runbook, &given, clock.now(), None);
        Self {
            theme,
            screen: Screen::Start(Box::new(StartScreen {
                offer,
                form,
                error: None,
                exercise: None,
            })),
            dir,
            clock,
            given,
            done: None,
        }
    }

    /// The start form of an exercise (`custody exercise`): who facilitates, who takes part,
    /// and the rest of what the start form asks, the scenario's jurisdiction first.
    pub fn exercise(
        offer: Offer,
        given: Given,
        setup: ExerciseSetup,
        dir: PathBuf,
        clock: C,
        theme: Theme,
    ) -> Self {
        let given = Given {
            exercise: true,
            ..given
        };
        let form = start_form(&offer.runbook, &given, clock.now(), Some(&setup));
        Self {
            theme,
            screen: Screen::Start(Box::new(StartScreen {
                offer,
                form,
                error: None,
                exercise: Some(Box::new(setup)),
            })),
            dir,
            clock,
            given,
            done: None,
        }
    }

    /// Says something on the status line of the walk (which scenario is followed, say).
    pub fn notify(&mut self, text: &str) {
        if let Screen::Walk(w) = &mut self.screen {
            w.status = Some(Status::Info(text.to_owned()));
        }
    }

    /// The walk of a session just created.
    pub fn walk(session: Session<C>, recent: Vec<Event>, theme: Theme, dir: PathBuf) -> Self {
        Self::walk_(session, recent, theme, dir, false)
    }

    /// The walk of a session taken up again: journals the resumption and says how long the
    /// session was left.
    pub fn resumed(session: Session<C>, recent: Vec<Event>, theme: Theme, dir: PathBuf) -> Self {
        Self::walk_(session, recent, theme, dir, true)
    }

    fn walk_(
        session: Session<C>,
        recent: Vec<Event>,
        theme: Theme,
        dir: PathBuf,
        resumed: bool,
    ) -> Self {
        let clock = session.clock().clone();
        let mut walk = Walk::new(session, recent);
        if resumed {
            walk.resume();
            // Injects left unanswered wait for `a`: say so with the resumption.
            if let (Some(Status::Info(said)), Some(hint)) = (&walk.status, walk.pending_hint()) {
                walk.status = Some(Status::Info(format!("{said} {hint}")));
            }
        }
        Self {
            theme,
            screen: Screen::Walk(Box::new(walk)),
            dir,
            clock,
            given: Given::default(),
            done: None,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        match &mut self.screen {
            Screen::Picker(p) => {
                if let Some(offer) = p.on_key(key, &mut self.done) {
                    let form = start_form(&offer.runbook, &self.given, self.clock.now(), None);
                    self.screen = Screen::Start(Box::new(StartScreen {
                        offer,
                        form,
                        error: None,
                        exercise: None,
                    }));
                }
            }
            Screen::Start(s) => match s.on_key(key) {
                StartKey::Stay => {}
                StartKey::Quit => self.done = Some(String::new()),
                StartKey::Go(start) => match Session::create(&self.dir, &start, self.clock.clone())
                {
                    Ok(session) => {
                        let recent = session::read_recent(session.folder(), RECENT);
                        let notice = s.exercise.as_ref().and_then(|e| e.notice.clone());
                        let mut walk = Walk::new(session, recent);
                        if let Some(notice) = notice {
                            walk.status = Some(Status::Info(notice));
                        }
                        self.screen = Screen::Walk(Box::new(walk));
                    }
                    Err(e) => s.error = Some(e.to_string()),
                },
            },
            Screen::Walk(w) => w.on_key(key, &mut self.done),
        }
    }

    pub fn on_paste(&mut self, text: &str) {
        match &mut self.screen {
            Screen::Picker(_) => {}
            Screen::Start(s) => s.form.paste(text),
            Screen::Walk(w) => w.on_paste(text),
        }
    }

    /// Called a few times a second: records deadlines that ran out, releases the injects
    /// whose moment has come and puts the next one waiting for an answer in front of the team.
    pub fn on_tick(&mut self) {
        if let Screen::Walk(w) = &mut self.screen {
            if matches!(w.dialog, Some(Dialog::Sealing)) {
                w.dialog = None;
                w.seal();
            }
            w.poll_job();
            w.record_deadlines();
            w.release_due_injects();
            w.show_next_inject();
        }
    }

    /// The terminal went away or custody was told to stop: pause the session (journaled, so the
    /// report shows why work stopped) and end.
    pub fn on_signal(&mut self, name: &str) {
        if let Screen::Walk(w) = &mut self.screen {
            w.stop_job();
        }
        if let Screen::Walk(w) = &mut self.screen
            && w.session.state().sealed.is_none()
            && !w.session.state().paused
        {
            let _ = w.session.apply(Action::Pause {
                reason: Some(format!("custody received {name}")),
            });
        }
        self.done = Some(match &self.screen {
            Screen::Walk(w) if w.session.state().sealed.is_some() => {
                format!("custody: stopped by {name}; the session is sealed")
            }
            Screen::Walk(w) => format!(
                "custody: stopped by {name}; the session is paused. Take it up again with: \
                 custody resume {}",
                w.session.state().started.session
            ),
            Screen::Picker(_) | Screen::Start(_) => {
                format!("custody: stopped by {name}; no session was started")
            }
        });
    }
}

/// A file written into the session's `evidence/` folder, named from the session folder.
fn in_evidence(written: crate::evidence::manifest::Written) -> crate::journal::event::FileRef {
    let mut file: crate::journal::event::FileRef = written.into();
    file.file = format!("{}/{}", crate::journal::folder::EVIDENCE, file.file);
    file
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The start form: who, which case, where, real or exercise. For `custody exercise` the mode
/// is fixed and the form asks for the facilitator and the participants instead of a witness.
fn start_form(
    runbook: &Runbook,
    given: &Given,
    now: DateTime<Utc>,
    exercise: Option<&ExerciseSetup>,
) -> Form {
    let operator = given.operator.clone().unwrap_or_else(|| {
        // The login name, when the system knows one (not a bare uid).
        let user = crate::host::user();
        if user.starts_with("uid ") {
            String::new()
        } else {
            user
        }
    });
    let mut fields = Vec::new();
    if let Some(setup) = exercise {
        fields.push(
            FormField::new("facilitator", "Facilitator", FieldKind::Text, false)
                .value(setup.facilitator.as_deref().unwrap_or_default())
                .help(Some(
                    "who runs the exercise: releases injects and sets the exercise clock".into(),
                )),
        );
        fields.push(
            FormField::new(
                "operator",
                "At the keyboard (operator)",
                FieldKind::Text,
                true,
            )
            .value(&operator),
        );
        let listed: Vec<String> = setup
            .participants
            .iter()
            .map(|p| format!("{} = {}", p.name, p.role))
            .collect();
        fields.push(
            FormField::new(
                "participants",
                "Participants, one per line: Name = role",
                FieldKind::Multiline,
                false,
            )
            .value(&listed.join("\n"))
            .help(Some(
                "Ctrl-J starts a new line; who answers an inject is chosen among them".into(),
            )),
        );
    } else {
        fields.push(
            FormField::new("operator", "Your name (operator)", FieldKind::Text, true)
                .value(&operator),
        );
        fields.push(
            FormField::new("witness", "Witness", FieldKind::Text, false)
                .value(given.witness.as_deref().unwrap_or_default())
                .help(Some("someone watching and confirming what you do".into())),
        );
    }
    fields.push(
        FormField::new("case", "Case id", FieldKind::Text, true)
            .value(
                &given
                    .case_id
                    .clone()
                    .unwrap_or_else(|| format!("CASE-{}", now.format("%Y%m%d-%H%M"))),
            )
            .help(Some(
                "a suggested id; use your ticket number if there is one".into(),
            )),
    );
    let jurisdiction_given = given
        .jurisdiction
        .clone()
        .or_else(|| exercise.and_then(|e| e.scenario.as_ref()?.jurisdiction.clone()))
        .unwrap_or_default();
    let jurisdiction = if runbook.jurisdictions.is_empty() {
        FormField::new(
            "jurisdiction",
            "Jurisdiction (country code)",
            FieldKind::Text,
            true,
        )
        .value(&jurisdiction_given)
    } else {
        FormField::new(
            "jurisdiction",
            "Jurisdiction",
            FieldKind::Choice {
                options: runbook.jurisdictions.keys().cloned().collect(),
            },
            true,
        )
        .value(&jurisdiction_given.to_uppercase())
        .help(Some(
            runbook
                .jurisdictions
                .iter()
                .map(|(code, j)| format!("{code} {}", j.name))
                .collect::<Vec<_>>()
                .join(", "),
        ))
    };
    fields.push(jurisdiction);
    if exercise.is_none() {
        fields.push(
            FormField::new(
                "mode",
                "Real incident or exercise",
                FieldKind::Choice {
                    options: vec!["real".into(), "exercise".into()],
                },
                true,
            )
            .value(if given.exercise { "exercise" } else { "real" }),
        );
    }
    for name in session::missing_variables(runbook, &BTreeMap::new()) {
        let label = runbook.variables[name].label.clone();
        fields.push(FormField::new(
            &format!("var:{name}"),
            label,
            FieldKind::Text,
            true,
        ));
    }
    Form::new(fields)
}

impl Picker {
    fn on_key(&mut self, key: KeyEvent, done: &mut Option<String>) -> Option<Offer> {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if self.selected + 1 < self.offers.len() => {
                self.selected += 1;
            }
            KeyCode::Enter => return self.offers.get(self.selected).cloned(),
            KeyCode::Char('q') | KeyCode::Esc => *done = Some(String::new()),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                *done = Some(String::new());
            }
            _ => {}
        }
        None
    }
}

enum StartKey {
    Stay,
    Quit,
    Go(Box<Start>),
}

impl StartScreen {
    fn on_key(&mut self, key: KeyEvent) -> StartKey {
        if key.code == KeyCode::Esc
            || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
        {
            return StartKey::Quit;
        }
        if self.form.handle(key) != FormKey::Submit {
            return StartKey::Stay;
        }
        let Some(values) = self.form.check("") else {
            self.error = Some("some fields need attention".into());
            return StartKey::Stay;
        };
        let participants = match super::exercise::participants(
            values.get("participants").map_or("", String::as_str),
        ) {
            Ok(p) => p,
            Err(why) => {
                if let Some(i) = self.form.fields.iter().position(|f| f.id == "participants") {
                    self.form.fields[i].error = Some(why);
                    self.form.focus = i;
                }
                self.error = Some("some fields need attention".into());
                return StartKey::Stay;
            }
        };
        let get = |id: &str| values.get(id).cloned().unwrap_or_default();
        let exercise = self.exercise.as_deref();
        StartKey::Go(Box::new(Start {
            runbook_text: self.offer.text.clone(),
            operator: get("operator"),
            witness: values.get("witness").cloned(),
            facilitator: values.get("facilitator").cloned(),
            case_id: get("case"),
            jurisdiction: get("jurisdiction").to_uppercase(),
            mode: if exercise.is_some() || get("mode") == "exercise" {
                Mode::Exercise
            } else {
                Mode::Real
            },
            variables: values
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("var:").map(|k| (k.to_owned(), v.clone())))
                .collect(),
            scenario_text: exercise.and_then(|e| e.scenario_text.clone()),
            participants,
        }))
    }
}

/// What Enter says on an evidence step whose hashing read no file, before it goes on.
pub const NOTHING_HASHED: &str = "Nothing was hashed here: no file could be read. r hashes \
     again (check the path first); n notes why; Enter again goes on without hashes.";

/// A letter with Ctrl held (Ctrl-S from the habit of saving): never a one-letter command such
/// as `s` (skip). Alt is let through: a terminal sends Esc and a key typed at once as Alt+key.
fn modified_letter(key: KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(_)) && key.modifiers.contains(KeyModifiers::CONTROL)
}

impl<C: Clock> Walk<C> {
    pub fn new(session: Session<C>, recent: Vec<Event>) -> Self {
        let mut walk = Self {
            session,
            recent: recent.into_iter().collect(),
            selected: 0,
            form: None,
            typing: false,
            scroll: 0,
            dialog: None,
            status: None,
            job: None,
            shown: None,
            deferred: Vec::new(),
        };
        walk.step_changed();
        // Injects left unanswered in an earlier sitting wait for `a` rather than jumping up.
        walk.deferred = walk.pending_injects();
        // A new exercise opens on its briefing: the story the team reads before the first step.
        if walk.session.state().events == 1 && walk.is_exercise() && walk.briefing().is_some() {
            walk.dialog = Some(Dialog::Briefing { scroll: 0 });
        }
        walk
    }

    /// Journals that work is taken up again, after a quit (paused) or a crash, and says for how
    /// long the session was left.
    fn resume(&mut self) {
        let state = self.session.state();
        if state.sealed.is_some() {
            return;
        }
        let gap = (self.session.clock().now() - state.last_time).num_seconds();
        let crashed = !state.paused;
        if self.apply(Action::Resume) {
            self.status = Some(Status::Info(if crashed {
                format!(
                    "Resumed after an interruption of {} (custody stopped without closing).",
                    describe::duration(gap)
                )
            } else {
                format!("Resumed after a pause of {}.", describe::duration(gap))
            }));
        }
    }

    /// Applies an action: journal first, then the screen. A write failure opens the error
    /// dialog (the action can be retried); a refusal goes on the status line. True if recorded.
    pub fn apply(&mut self, action: Action) -> bool {
        let before = self.session.state().current.clone();
        match self.session.apply(action.clone()) {
            Ok(event) => {
                if self.recent.len() == RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back(event);
                self.status = None;
                if self.session.state().current != before
                    || matches!(action, Action::Revisit { .. })
                {
                    self.step_changed();
                }
                true
            }
            Err(session::Error::Rejected(why)) => {
                self.status = Some(Status::Warning(why));
                false
            }
            Err(e) => {
                self.dialog = Some(Dialog::WriteFailed {
                    message: e.to_string(),
                    action,
                });
                false
            }
        }
    }

    /// Writes the report of the journal so far into the session folder, records its files'
    /// hashes, then seals. A report that cannot be written does not stop the seal: the
    /// journal is the record, and `custody report` makes the report from it at any time.
    fn seal(&mut self) {
        let reports = crate::report::write_into_session(self.session.folder());
        if let Ok(written) = &reports
            && !self.apply(Action::ReportWritten {
                files: written.files.clone(),
            })
        {
            return;
        }
        if self.apply(Action::Seal {
            note: None,
            signed_by: None,
        }) {
            let folder =
                crate::sanitize::for_terminal(&self.session.folder().display().to_string())
                    .into_owned();
            self.status = Some(match reports {
                Ok(written) => {
                    let files = &written.files;
                    let in_folder = |dir: &str| {
                        files
                            .iter()
                            .filter(|f| f.file.starts_with(&format!("{dir}/")))
                            .count()
                    };
                    let (report, review) = (in_folder("report"), in_folder("review"));
                    if !self.is_exercise() {
                        Status::Info(format!(
                            "Sealed. The report ({report} files) is in {folder}/report/."
                        ))
                    } else if review > 0 {
                        Status::Info(format!(
                            "Sealed. The review ({review} files) is in {folder}/review/, the \
                             report ({report} files) in report/."
                        ))
                    } else {
                        Status::Warning(format!(
                            "Sealed. The report ({report} files) is in {folder}/report/, but \
                             the review could not be written ({}); make it with custody \
                             review {}",
                            crate::sanitize::for_terminal(
                                written.review_error.as_deref().unwrap_or("no file written")
                            ),
                            crate::sanitize::for_terminal(&self.session.state().started.session)
                        ))
                    }
                }
                Err(why) => Status::Warning(format!(
                    "Sealed, but the report could not be written ({}); make it with `custody \
                     report {}`.",
                    crate::sanitize::for_terminal(&why),
                    crate::sanitize::for_terminal(&self.session.state().started.session)
                )),
            });
        }
    }

    /// A new step is current: reset the cursor, the scroll and the form.
    fn step_changed(&mut self) {
        if self
            .shown
            .as_ref()
            .is_some_and(|s| self.session.state().current.as_deref() != Some(s.step.as_str()))
        {
            self.shown = None;
        }
        self.selected = 0;
        self.scroll = 0;
        self.form = self.step_form();
        self.typing = self.form.is_some();
        if let Some(step) = self.session.current_step()
            && let StepKind::Checklist { items, .. } = &step.kind
        {
            let state = self.step_state(&step.id);
            self.selected = (0..items.len())
                .find(|i| !state.items.contains(i))
                .unwrap_or(0);
        }
    }

    /// What the journal says of a step so far.
    fn step_state(&self, id: &str) -> crate::session::StepState {
        self.session.state().step(id).cloned().unwrap_or_default()
    }

    fn step_form(&self) -> Option<(String, Form)> {
        let step = self.session.current_step()?;
        let render = |t| self.session.render(t);
        let fields = match &step.kind {
            StepKind::Record { fields, .. } => fields
                .iter()
                .map(|f| {
                    let previous = self
                        .session
                        .state()
                        .step(&step.id)
                        .and_then(|s| s.values.get(&f.id).cloned())
                        .unwrap_or_default();
                    FormField::new(&f.id, render(&f.label), f.kind.clone(), f.required)
                        .help(f.help.as_ref().map(render))
                        .value(&previous)
                })
                .collect(),
            StepKind::Contact {
                role, to, purpose, ..
            } => {
                let suggested = to.as_ref().map(render).or_else(|| {
                    let state = self.session.state();
                    role.as_ref().and_then(|role| {
                        self.session
                            .runbook()
                            .jurisdictions
                            .get(&state.started.jurisdiction)
                            .and_then(|j| j.contacts_with_role(role).next())
                            .map(|c| c.name.clone())
                    })
                });
                vec![
                    FormField::new("to", "Contacted", FieldKind::Text, true)
                        .value(suggested.as_deref().unwrap_or_default()),
                    FormField::new("channel", "How", FieldKind::Text, true)
                        .help(Some("phone, web form, e-mail, in person ...".into())),
                    FormField::new("at", "When (empty: now)", FieldKind::Datetime, false),
                    FormField::new(
                        "reference",
                        if *purpose == Purpose::Report {
                            "Reference number given"
                        } else {
                            "Reference (if any)"
                        },
                        FieldKind::Reference,
                        false,
                    ),
                    FormField::new("person", "Person spoken to", FieldKind::Text, false),
                    FormField::new("notes", "Notes", FieldKind::Text, false),
                ]
            }
            StepKind::Transfer { .. } => {
                let operator = self.session.state().started.operator.clone();
                vec![
                    FormField::new("items", "Items handed over", FieldKind::Text, true),
                    FormField::new("from", "From (name)", FieldKind::Text, true).value(&operator),
                    FormField::new("from_role", "From (role)", FieldKind::Text, false)
                        .value("operator"),
                    FormField::new("from_org", "From (organisation)", FieldKind::Text, false),
                    FormField::new("to", "To (name)", FieldKind::Text, true),
                    FormField::new("to_role", "To (role)", FieldKind::Text, false),
                    FormField::new("to_org", "To (organisation)", FieldKind::Text, false),
                    FormField::new("at", "When (empty: now)", FieldKind::Datetime, false),
                    FormField::new("location", "Where the items are now", FieldKind::Text, true),
                ]
            }
            _ => return None,
        };
        Some((step.id.clone(), Form::new(fields)))
    }

    fn now_text(&self) -> String {
        crate::journal::event::format_time(&self.session.clock().now())
    }

    pub fn on_paste(&mut self, text: &str) {
        match &mut self.dialog {
            Some(Dialog::Note(i) | Dialog::Skip(i) | Dialog::Reason { input: i, .. }) => {
                i.paste(text);
            }
            Some(Dialog::Inject(d)) => d.input.paste(text),
            Some(Dialog::Clock(ClockDialog {
                custom: Some(i), ..
            })) => i.paste(text),
            Some(_) => {}
            None => {
                if let Some((_, form)) = &mut self.form {
                    form.paste(text);
                    self.typing = true;
                }
            }
        }
    }

    pub fn on_key(&mut self, key: KeyEvent, done: &mut Option<String>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.dialog.is_some() {
            self.dialog_key(key, done);
            return;
        }
        if ctrl && key.code == KeyCode::Char('c') {
            self.dialog = Some(Dialog::Quit);
            return;
        }
        if key.code == KeyCode::F(1) {
            self.dialog = Some(Dialog::Help);
            return;
        }
        if let Some(job) = &self.job {
            // While a command or hashing runs: notes, help, scrolling, stopping it, quitting
            // (which stops it first). The step cannot change until its result is journaled.
            let what = job.what();
            if self.exercise_key(key) || modified_letter(key) {
                return;
            }
            match key.code {
                KeyCode::Esc => self.dialog = Some(Dialog::StopJob),
                KeyCode::Char('q') => self.dialog = Some(Dialog::Quit),
                KeyCode::Char('?') => self.dialog = Some(Dialog::Help),
                KeyCode::Char('n') => self.dialog = Some(Dialog::Note(Input::multiline())),
                KeyCode::PageDown => self.scroll = self.scroll.saturating_add(5),
                KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(5),
                _ => {
                    self.status = Some(Status::Info(format!(
                        "{} is running. Esc stops it; n adds a note meanwhile.",
                        capitalised(what)
                    )));
                }
            }
            return;
        }
        if self.typing
            && let Some((_, form)) = &mut self.form
        {
            if key.code == KeyCode::Esc {
                self.typing = false;
                return;
            }
            match form.handle(key) {
                FormKey::Used => return,
                FormKey::Submit => {
                    self.submit_form();
                    return;
                }
                // A letter the field does not take (one no option begins with) is a typing
                // slip, never a command: `s` must not start a skip in the middle of a word.
                FormKey::Ignored
                    if matches!(key.code, KeyCode::Char(_))
                        && !key
                            .modifiers
                            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                {
                    self.status = Some(Status::Warning(
                        "This field takes one of its options: Left/Right or Space to choose, or \
                         an option's first letter. Esc leaves the form."
                            .into(),
                    ));
                    return;
                }
                FormKey::Ignored => {}
            }
        }
        if self.exercise_key(key) || modified_letter(key) {
            return;
        }
        match key.code {
            KeyCode::Char('q') => self.dialog = Some(Dialog::Quit),
            KeyCode::Char('?') => self.dialog = Some(Dialog::Help),
            KeyCode::Char('n') => self.dialog = Some(Dialog::Note(Input::multiline())),
            KeyCode::Char('s') if self.session.state().current.is_some() => {
                self.dialog = Some(Dialog::Skip(Input::new()));
            }
            KeyCode::Char('S') if self.session.state().finished => {
                self.dialog = Some(Dialog::Seal);
            }
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(5),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(5),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if self.selected + 1 < self.choices() => {
                self.selected += 1;
            }
            KeyCode::Char(' ') => self.tick(),
            KeyCode::Enter => self.enter(),
            KeyCode::Char('r')
                if matches!(
                    self.session.current_step().map(|s| &s.kind),
                    Some(StepKind::Command { .. })
                ) =>
            {
                self.ask_to_run();
            }
            KeyCode::Char('r')
                if self.session.current_step().is_some_and(|s| {
                    matches!(s.kind, StepKind::Evidence { .. })
                        && self.step_state(&s.id).evidence > 0
                }) =>
            {
                self.ask_to_hash();
            }
            KeyCode::Char('e') | KeyCode::Tab if self.form.is_some() => self.typing = true,
            _ => {}
        }
    }

    /// How many lines the cursor can move over in the current step.
    fn choices(&self) -> usize {
        match self.session.current_step().map(|s| &s.kind) {
            Some(StepKind::Checklist { items, .. }) => items.len(),
            Some(StepKind::Decision { choices }) => choices.len(),
            _ => 0,
        }
    }

    fn tick(&mut self) {
        let Some(step) = self.session.current_step() else {
            return;
        };
        if let StepKind::Checklist { items, .. } = &step.kind {
            let ticked = self
                .session
                .state()
                .step(&step.id)
                .is_some_and(|s| s.items.contains(&self.selected));
            if ticked {
                self.status = Some(Status::Info(
                    "Already confirmed. Confirmations cannot be undone; add a note (n) to \
                     correct the record."
                        .into(),
                ));
                return;
            }
            let count = items.len();
            let item = self.selected;
            if self.apply(Action::ConfirmItem { item }) {
                let state = self.session.state().step(&step_id(self)).cloned();
                if let Some(state) = state {
                    self.selected = (item + 1..count)
                        .chain(0..item)
                        .find(|i| !state.items.contains(i))
                        .unwrap_or(item);
                }
            }
        }
    }

    fn enter(&mut self) {
        let Some(step) = self.session.current_step() else {
            if self.session.state().sealed.is_none() {
                self.dialog = Some(Dialog::Seal);
            }
            return;
        };
        match &step.kind {
            StepKind::Checklist { items, .. } => {
                let done = self
                    .session
                    .state()
                    .step(&step.id)
                    .map_or(0, |s| s.items.len());
                if done < items.len() {
                    self.tick();
                } else {
                    self.apply(Action::Complete);
                }
            }
            StepKind::Decision { choices } => {
                if let Some(choice) = choices.get(self.selected) {
                    self.dialog = Some(Dialog::Reason {
                        choice: choice.id.clone(),
                        label: self.session.render(&choice.label),
                        input: Input::new(),
                    });
                }
            }
            StepKind::Record { .. } | StepKind::Contact { .. } | StepKind::Transfer { .. } => {
                self.typing = true;
            }
            StepKind::Command { .. } => {
                if self.step_state(&step.id).commands > 0 {
                    self.apply(Action::Complete);
                } else {
                    self.ask_to_run();
                }
            }
            StepKind::Evidence { .. } => {
                if self.step_state(&step.id).evidence == 0 {
                    self.ask_to_hash();
                    return;
                }
                // A hashing that read no file at all (a wrong path, a missing mount, stopped
                // at once) preserved nothing: going on asks for Enter a second time.
                let unhashed = self.recent.iter().rev().find_map(|e| match &e.body {
                    crate::journal::Body::EvidenceRecorded(r)
                        if e.step.as_deref() == Some(step.id.as_str()) =>
                    {
                        Some(r.files == 0)
                    }
                    _ => None,
                });
                let warning = Status::Warning(NOTHING_HASHED.into());
                if unhashed == Some(true) && self.status.as_ref() != Some(&warning) {
                    self.status = Some(warning);
                } else {
                    self.apply(Action::Complete);
                }
            }
            StepKind::Instruction { .. } | StepKind::End { .. } => {
                self.apply(Action::Complete);
            }
        }
    }

    fn submit_form(&mut self) {
        let now = self.now_text();
        let Some((step_id, form)) = &mut self.form else {
            return;
        };
        let Some(values) = form.check(&now) else {
            self.status = Some(Status::Warning(
                "Some fields need attention (marked below).".into(),
            ));
            return;
        };
        let step_id = step_id.clone();
        let get = |id: &str| values.get(id).cloned();
        let Some(step) = self.session.runbook().step(&step_id) else {
            return;
        };
        let action = match &step.kind {
            StepKind::Record { .. } => Action::Record { values },
            StepKind::Contact { .. } => Action::Contact {
                to: get("to"),
                channel: get("channel").unwrap_or_default(),
                at: get("at").or(Some(now)),
                reference: get("reference"),
                person: get("person"),
                notes: get("notes"),
            },
            StepKind::Transfer { .. } => Action::Transfer {
                items: get("items").unwrap_or_default(),
                from: Party {
                    name: get("from").unwrap_or_default(),
                    role: get("from_role"),
                    organisation: get("from_org"),
                },
                to: Party {
                    name: get("to").unwrap_or_default(),
                    role: get("to_role"),
                    organisation: get("to_org"),
                },
                at: get("at").or(Some(now)),
                location: get("location").unwrap_or_default(),
            },
            _ => return,
        };
        self.apply(action);
    }

    fn dialog_key(&mut self, key: KeyEvent, done: &mut Option<String>) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        self.dialog = match dialog {
            Dialog::Help => None,
            Dialog::Sealing => Some(Dialog::Sealing),
            Dialog::Briefing { scroll } => self.briefing_key(scroll, key),
            Dialog::Inject(d) => self.inject_key(d, key),
            Dialog::Injects(list) => self.injects_key(list, key),
            Dialog::Clock(d) => self.clock_key(d, key),
            Dialog::Run {
                argv,
                changes_system,
                timeout,
                second,
            } => match key.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter if changes_system && !second => {
                    Some(Dialog::Run {
                        argv,
                        changes_system,
                        timeout,
                        second: true,
                    })
                }
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    self.start_job(argv, changes_system, timeout);
                    None
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => None,
                _ if ctrl_c => None,
                _ => Some(Dialog::Run {
                    argv,
                    changes_system,
                    timeout,
                    second,
                }),
            },
            Dialog::Hash { paths, options } => match key.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    self.start_hashing(paths, options);
                    None
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => None,
                _ if ctrl_c => None,
                _ => Some(Dialog::Hash { paths, options }),
            },
            Dialog::StopJob => match key.code {
                KeyCode::Char('y' | 'Y') => {
                    if let Some(job) = &self.job {
                        job.stop();
                        self.status = Some(Status::Info(format!(
                            "Stopping {}; what it wrote so far is kept.",
                            job.what()
                        )));
                    }
                    None
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => None,
                _ if ctrl_c => None,
                _ => Some(Dialog::StopJob),
            },
            Dialog::Quit => match key.code {
                KeyCode::Char('y' | 'Y') => {
                    self.quit(done);
                    None
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => None,
                _ if ctrl_c => None,
                _ => Some(Dialog::Quit),
            },
            Dialog::Seal => match key.code {
                // Writing the report (and an exercise's review) takes seconds: say so on the
                // screen first; the next tick seals.
                KeyCode::Char('y' | 'Y') => Some(Dialog::Sealing),
                KeyCode::Char('n' | 'N') | KeyCode::Esc => None,
                _ => Some(Dialog::Seal),
            },
            Dialog::WriteFailed { message, action } => match key.code {
                KeyCode::Char('r' | 'R') => {
                    self.apply(action);
                    self.dialog.take()
                }
                KeyCode::Esc | KeyCode::Enter => {
                    self.status = Some(Status::Warning(
                        "Nothing was recorded: the journal could not be written.".into(),
                    ));
                    None
                }
                _ => Some(Dialog::WriteFailed { message, action }),
            },
            Dialog::Note(mut input) => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter if !key.modifiers.contains(KeyModifiers::ALT) => {
                    let text = input.text().trim().to_owned();
                    if text.is_empty() {
                        None
                    } else if self.apply(Action::Note { text }) {
                        self.dialog.take()
                    } else {
                        self.dialog.take().or(Some(Dialog::Note(input)))
                    }
                }
                _ if ctrl_c => None,
                _ => {
                    input.handle(key);
                    Some(Dialog::Note(input))
                }
            },
            Dialog::Skip(mut input) => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    let reason = input.text().trim().to_owned();
                    if reason.is_empty() {
                        Some(Dialog::Skip(input))
                    } else {
                        self.apply(Action::Skip { reason });
                        self.dialog.take()
                    }
                }
                _ if ctrl_c => None,
                _ => {
                    input.handle(key);
                    Some(Dialog::Skip(input))
                }
            },
            Dialog::Reason {
                choice,
                label,
                mut input,
            } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    let reason = input.text().trim().to_owned();
                    if reason.is_empty() {
                        Some(Dialog::Reason {
                            choice,
                            label,
                            input,
                        })
                    } else {
                        self.apply(Action::Decide { choice, reason });
                        self.dialog.take()
                    }
                }
                _ if ctrl_c => None,
                _ => {
                    input.handle(key);
                    Some(Dialog::Reason {
                        choice,
                        label,
                        input,
                    })
                }
            },
        };
    }

    /// Leaves the session resumable: a `paused` event says it was closed on purpose.
    fn quit(&mut self, done: &mut Option<String>) {
        self.stop_job();
        let state = self.session.state();
        let id = state.started.session.clone();
        let message = if state.sealed.is_some() {
            format!("Session {id} is sealed. Check it any time with: custody verify {id}")
        } else {
            let paused = state.paused
                || self.apply(Action::Pause {
                    reason: Some("custody was closed".into()),
                });
            if paused {
                format!("Session {id} is paused. Take it up again with: custody resume {id}")
            } else {
                format!(
                    "Session {id} was left without a pause event (the journal could not be \
                     written). Take it up again with: custody resume {id}"
                )
            }
        };
        *done = Some(message);
    }

    /// Asks whether to run the current command step's program, showing exactly what will run.
    /// A command whose placeholders have no value is not offered: it would run with a wrong
    /// argument.
    fn ask_to_run(&mut self) {
        let Some(step) = self.session.current_step() else {
            return;
        };
        let StepKind::Command {
            run,
            timeout,
            changes_system,
            ..
        } = &step.kind
        else {
            return;
        };
        match crate::evidence::run::argv_from_values(run, |name| self.session.variable(name)) {
            Ok(argv) => {
                self.dialog = Some(Dialog::Run {
                    argv,
                    changes_system: *changes_system,
                    timeout: *timeout,
                    second: false,
                });
            }
            Err(missing) => {
                self.status = Some(Status::Warning(format!(
                    "The command needs a value for {} that this session does not have: run it \
                     by hand, note (n) what you did, and skip (s) the step.",
                    missing
                        .iter()
                        .map(|m| format!("{{{{{m}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }

    /// Starts the current command step's program beside the screen.
    fn start_job(&mut self, argv: Vec<String>, changes_system: bool, timeout: std::time::Duration) {
        let Some(step) = self.session.current_step() else {
            return;
        };
        let step = step.id.clone();
        let name = crate::evidence::run::file_stem(&format!(
            "cmd-{:04}-{step}",
            self.session.state().events + 1
        ));
        // On record before it runs: if custody stops while it runs, the journal still says
        // that it was started. A command that cannot be put on record does not run.
        if !self.apply(Action::CommandStarted(
            crate::journal::event::CommandStarted {
                argv: argv.clone(),
                changes_system,
                timeout_secs: timeout.as_secs(),
            },
        )) {
            return;
        }
        let request = crate::evidence::run::Request {
            argv,
            timeout,
            changes_system,
            session_dir: self.session.folder().to_path_buf(),
            stem: name,
        };
        self.shown = None;
        self.status = Some(Status::Info(
            "The command is running. Esc stops it; n adds a note meanwhile.".into(),
        ));
        self.job = Some(Job::Command(CommandJob::start(
            &step,
            request,
            self.session.clock().now(),
        )));
    }

    /// Journals the command's result once it has ended.
    pub fn poll_job(&mut self) {
        if self.job.as_ref().is_some_and(Job::finished) {
            self.finish_job();
        }
    }

    /// Stops a running command, waits for it (the grace period at most) and journals what it
    /// did: used before quitting or pausing.
    pub fn stop_job(&mut self) {
        if let Some(job) = &self.job {
            job.stop();
            self.finish_job();
        }
    }

    fn finish_job(&mut self) {
        let job = match self.job.take() {
            None => return,
            Some(Job::Hash(job)) => {
                self.finish_hashing(job);
                return;
            }
            Some(Job::Command(job)) => job,
        };
        let step = job.step.clone();
        let outcome = job.join(self.session.clock().now());
        let summary = describe::command_outcome(&outcome.run);
        if self.apply(Action::Command(outcome.run.clone())) {
            self.status = Some(if outcome.run.exit_code == Some(0) {
                Status::Info(format!("{summary}. Enter goes on; r runs it again."))
            } else {
                Status::Warning(format!(
                    "{summary}. Note (n) what it means; Enter goes on, r runs it again."
                ))
            });
        }
        self.shown = Some(Shown { step, outcome });
    }

    /// Asks whether to hash the current evidence step's paths, showing exactly which.
    fn ask_to_hash(&mut self) {
        let Some(step) = self.session.current_step() else {
            return;
        };
        let StepKind::Evidence {
            paths,
            hashes,
            follow_symlinks,
            ..
        } = &step.kind
        else {
            return;
        };
        let mut missing = Vec::new();
        let paths: Vec<String> = paths
            .iter()
            .map(|t| {
                t.render(|name| {
                    self.session.variable(name).unwrap_or_else(|| {
                        missing.push(format!("{{{{{name}}}}}"));
                        std::borrow::Cow::Borrowed("")
                    })
                })
            })
            .collect();
        if !missing.is_empty() {
            self.status = Some(Status::Warning(format!(
                "The paths need a value for {} that this session does not have: hash them with \
                 `custody hash`, note (n) what you did, and skip (s) the step.",
                missing.join(", ")
            )));
            return;
        }
        self.dialog = Some(Dialog::Hash {
            paths,
            options: crate::evidence::hash::Options {
                algorithms: hashes.clone(),
                follow_symlinks: *follow_symlinks,
                ..crate::evidence::hash::Options::default()
            },
        });
    }

    /// Starts hashing the current evidence step's paths beside the screen.
    fn start_hashing(&mut self, paths: Vec<String>, options: crate::evidence::hash::Options) {
        let Some(step) = self.session.current_step() else {
            return;
        };
        let step = step.id.clone();
        let name = crate::evidence::run::file_stem(&format!(
            "evidence-{:04}-{step}",
            self.session.state().events + 1
        ));
        self.status = Some(Status::Info(
            "Hashing. Nothing is opened for viewing. Esc stops it; n adds a note meanwhile.".into(),
        ));
        self.job = Some(Job::Hash(HashJob::start(
            &step,
            paths,
            options,
            self.session.evidence_dir(),
            name,
        )));
    }

    fn finish_hashing(&mut self, job: HashJob) {
        let paths = job.paths.clone();
        let algorithms = job.options.algorithms();
        match job.join() {
            Ok(done) => {
                let s = &done.summary;
                let evidence = crate::journal::event::EvidenceRecorded {
                    paths,
                    files: s.files,
                    bytes: s.bytes,
                    manifest: Some(in_evidence(done.manifest.clone())),
                    errors: s.first_errors.clone(),
                    cancelled: s.cancelled,
                    sums: Some(in_evidence(done.sums.clone())),
                    algorithms: algorithms.iter().map(|a| a.name().to_owned()).collect(),
                    dirs: s.dirs,
                    links: s.symlinks,
                    other: s.other,
                    error_count: Some(s.errors),
                };
                let text = format!(
                    "{}Hashed {} files ({}), {} folders, {} links, {} other{}",
                    if s.cancelled { "STOPPED: " } else { "" },
                    s.files,
                    crate::report::model::bytes_short(s.bytes),
                    s.dirs,
                    s.symlinks,
                    s.other,
                    if s.errors > 0 {
                        format!("; {} could not be read (see the manifest)", s.errors)
                    } else {
                        String::new()
                    }
                );
                if self.apply(Action::Evidence(evidence)) {
                    self.status = Some(if s.errors > 0 || s.cancelled {
                        Status::Warning(format!("{text}. Enter goes on."))
                    } else {
                        Status::Info(format!("{text}. Enter goes on."))
                    });
                }
            }
            Err(why) => {
                self.status = Some(Status::Warning(format!(
                    "The hashing failed and nothing was journaled: {}. Free space or fix the \
                     folder, then press Enter to try again.",
                    crate::sanitize::for_terminal(&why)
                )));
            }
        }
    }

    /// Journals deadlines whose time ran out (custody is the actor).
    pub fn record_deadlines(&mut self) {
        if self.session.state().sealed.is_some() || self.dialog.is_some() {
            return;
        }
        for id in self.session.deadlines_to_record() {
            if !self.apply(Action::DeadlinePassed { deadline: id }) {
                break;
            }
        }
    }

    /// Whether a step is done, skipped, current or upcoming.
    pub fn status_of(&self, step: &str) -> StepStatus {
        self.session
            .state()
            .step(step)
            .map_or(StepStatus::Upcoming, |s| s.status)
    }
}

fn step_id<C: Clock>(walk: &Walk<C>) -> String {
    walk.session.state().current.clone().unwrap_or_default()
}
