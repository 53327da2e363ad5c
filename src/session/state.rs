//! The session's state: a pure fold over its events. Nothing here reads a clock or a file; the
//! same events always give the same state, which is how a session is resumed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::exercise::ExerciseClock;
use crate::journal::event::{Body, Mode, SessionStarted};
use crate::journal::{Digest, Event};
use crate::runbook::{Runbook, StepKind};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepStatus {
    /// Not reached.
    #[default]
    Upcoming,
    /// The step being worked on.
    Current,
    Done,
    Skipped,
}

/// What the journal says about one step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepState {
    pub status: StepStatus,
    /// When the step became current for the first time.
    pub started: Option<DateTime<Utc>>,
    /// When it was first completed or skipped (what deadlines count from).
    pub left: Option<DateTime<Utc>>,
    /// When it was first completed (not skipped): what meets a deadline.
    pub completed: Option<DateTime<Utc>>,
    /// Checklist items confirmed, by position.
    pub items: BTreeSet<usize>,
    /// The decision's choice id.
    pub choice: Option<String>,
    /// The record step's values, the latest for each field.
    pub values: BTreeMap<String, String>,
    /// Evidence and command events recorded in this step.
    pub evidence: u32,
    pub commands: u32,
    /// Times the step was completed again after an earlier completion.
    pub corrections: u32,
    pub skip_reason: Option<String>,
    pub notes: u32,
}

/// One stretch on the path through the runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub step: String,
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Why the step was entered out of order (a revisit), if it was.
    pub revisit: Option<String>,
}

/// The state of a session, as its journal gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub started: SessionStarted,
    pub started_at: DateTime<Utc>,
    /// The step being worked on; `None` once an end step is completed.
    pub current: Option<String>,
    pub steps: BTreeMap<String, StepState>,
    /// The steps in the order they were entered.
    pub path: Vec<Visit>,
    /// Variable values: given at the start, or recorded by fields that `set` them.
    pub variables: BTreeMap<String, String>,
    /// Injects released, with when.
    pub injects: BTreeMap<String, DateTime<Utc>>,
    /// Injects answered, with when.
    pub answered: BTreeMap<String, DateTime<Utc>>,
    /// The exercise clock (the real time in a real session).
    pub clock: ExerciseClock,
    pub deadlines_passed: BTreeMap<String, DateTime<Utc>>,
    pub paused: bool,
    /// An end step was completed.
    pub finished: bool,
    pub sealed: Option<DateTime<Utc>>,
    pub events: u64,
    pub last_seq: u64,
    pub last_time: DateTime<Utc>,
    pub last_hash: Digest,
    pub last_kind: &'static str,
    pub recoveries: u32,
    /// Times work was taken up again after the program stopped without quitting.
    pub interruptions: u32,
}

impl State {
    /// The state after the first event; `None` if it is not a `session_started`.
    pub fn begin(runbook: &Runbook, first: &Event) -> Option<Self> {
        let Body::SessionStarted(started) = &first.body else {
            return None;
        };
        let mut state = Self {
            started: (**started).clone(),
            started_at: first.time,
            current: None,
            steps: runbook
                .steps
                .iter()
                .map(|s| (s.id.clone(), StepState::default()))
                .collect(),
            path: Vec::new(),
            variables: BTreeMap::new(),
            injects: BTreeMap::new(),
            answered: BTreeMap::new(),
            clock: ExerciseClock::new(first.time, started.mode == Mode::Exercise),
            deadlines_passed: BTreeMap::new(),
            paused: false,
            finished: false,
            sealed: None,
            events: 1,
            last_seq: first.seq,
            last_time: first.time,
            last_hash: first.hash,
            last_kind: first.body.kind(),
            recoveries: 0,
            interruptions: 0,
        };
        state.variables = built_in_variables(started);
        for (name, variable) in &runbook.variables {
            if let Some(value) = started
                .variables
                .get(name)
                .cloned()
                .or_else(|| variable.default.clone())
            {
                state.variables.insert(name.clone(), value);
            }
        }
        state.enter(&runbook.start, first, None);
        Some(state)
    }

    /// Folds a whole journal; `None` if it does not begin with `session_started`.
    pub fn replay<'a>(
        runbook: &Runbook,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Option<Self> {
        let mut events = events.into_iter();
        let mut state = Self::begin(runbook, events.next()?)?;
        for event in events {
            state.apply(runbook, event);
        }
        Some(state)
    }

    pub fn mode(&self) -> Mode {
        self.started.mode
    }

    /// The session's time at real time `real`: the exercise clock's reading in an exercise,
    /// `real` itself otherwise. Deadlines, injects and milestones count in it.
    pub fn session_time(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        self.clock.at(real)
    }

    pub fn step(&self, id: &str) -> Option<&StepState> {
        self.steps.get(id)
    }

    /// The value of a variable, for substitution into runbook text.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    fn enter(&mut self, step: &str, event: &Event, revisit: Option<String>) {
        if let Some(current) = self.current.take()
            && let Some(s) = self.steps.get_mut(&current)
            && s.status == StepStatus::Current
        {
            // Left without completing (a revisit elsewhere): it is upcoming again, or
            // stays done if it was done before.
            s.status = if s.completed.is_some() {
                StepStatus::Done
            } else if s.skip_reason.is_some() {
                StepStatus::Skipped
            } else {
                StepStatus::Upcoming
            };
        }
        let s = self.steps.entry(step.to_owned()).or_default();
        s.status = StepStatus::Current;
        s.started.get_or_insert(event.time);
        self.current = Some(step.to_owned());
        self.path.push(Visit {
            step: step.to_owned(),
            seq: event.seq,
            at: event.time,
            revisit,
        });
    }

    /// Marks the current step done (or skipped) and moves to `next`.
    fn leave(&mut self, event: &Event, skipped: Option<&str>, next: Option<&str>) {
        if let Some(id) = self.current.clone() {
            let s = self.steps.entry(id).or_default();
            s.left.get_or_insert(event.time);
            if let Some(reason) = skipped {
                if s.completed.is_none() {
                    s.status = StepStatus::Skipped;
                }
                s.skip_reason = Some(reason.to_owned());
            } else {
                if s.completed.is_some() {
                    s.corrections += 1;
                }
                s.completed.get_or_insert(event.time);
                s.status = StepStatus::Done;
            }
        }
        self.current = None;
        match next {
            Some(next) => self.enter(next, event, None),
            None => {
                if skipped.is_none() {
                    self.finished = true;
                }
            }
        }
    }

    fn current_mut(&mut self) -> Option<&mut StepState> {
        let id = self.current.as_deref()?;
        self.steps.get_mut(id)
    }

    /// Applies one event. Events are applied as written: the journal is the truth, so this
    /// never refuses one (the session checks actions before they become events).
    pub fn apply(&mut self, runbook: &Runbook, event: &Event) {
        self.events += 1;
        self.last_seq = event.seq;
        self.last_time = event.time;
        self.last_hash = event.hash;
        self.last_kind = event.body.kind();
        self.clock.apply(event);
        match &event.body {
            // What a command did is recorded by the `command_run` that follows its start.
            // The exercise clock folds `clock_changed` in itself.
            Body::SessionStarted(_)
            | Body::ReportWritten(_)
            | Body::CommandStarted(_)
            | Body::ClockChanged(_) => {}
            Body::StepStarted(s) => {
                if let Some(step) = &event.step {
                    self.enter(step, event, Some(s.reason.clone()));
                }
            }
            Body::ItemConfirmed(i) => {
                if let Some(s) = self.current_mut() {
                    s.items.insert(i.item);
                }
            }
            Body::StepCompleted(c) => self.leave(event, None, c.next.as_deref()),
            Body::DecisionMade(d) => {
                if let Some(s) = self.current_mut() {
                    s.choice = Some(d.choice.clone());
                }
                self.leave(event, None, Some(&d.next));
            }
            Body::FieldsRecorded(f) => {
                if let Some(id) = self.current.clone() {
                    if let Some(StepKind::Record { fields, .. }) =
                        runbook.step(&id).map(|s| &s.kind)
                    {
                        for field in fields {
                            if let (Some(var), Some(value)) = (&field.sets, f.values.get(&field.id))
                            {
                                self.variables.insert(var.clone(), value.clone());
                            }
                        }
                    }
                    if let Some(s) = self.steps.get_mut(&id) {
                        s.values.extend(f.values.clone());
                    }
                }
                self.leave(event, None, f.next.as_deref());
            }
            Body::NoteAdded(_) => {
                if let Some(s) = event.step.as_ref().and_then(|id| self.steps.get_mut(id)) {
                    s.notes += 1;
                }
            }
            Body::StepSkipped(s) => self.leave(event, Some(&s.reason), s.next.as_deref()),
            Body::EvidenceRecorded(_) => {
                if let Some(s) = self.current_mut() {
                    s.evidence += 1;
                }
            }
            Body::CommandRun(_) => {
                if let Some(s) = self.current_mut() {
                    s.commands += 1;
                }
            }
            Body::ContactMade(c) => self.leave(event, None, c.next.as_deref()),
            Body::CustodyTransferred(t) => self.leave(event, None, t.next.as_deref()),
            Body::InjectReleased(i) => {
                self.injects.entry(i.inject.clone()).or_insert(event.time);
            }
            Body::InjectAnswered(a) => {
                self.answered.entry(a.inject.clone()).or_insert(event.time);
            }
            Body::DeadlinePassed(d) => {
                self.deadlines_passed
                    .entry(d.deadline.clone())
                    .or_insert(event.time);
            }
            Body::Paused(_) => self.paused = true,
            Body::Resumed(r) => {
                self.paused = false;
                if r.interrupted {
                    self.interruptions += 1;
                }
            }
            Body::Recovered(_) => self.recoveries += 1,
            Body::Sealed(_) => self.sealed = Some(event.time),
        }
    }
}

/// The variables every session has.
fn built_in_variables(started: &SessionStarted) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("case_id".into(), started.case_id.clone());
    v.insert("operator".into(), started.operator.clone());
    v.insert(
        "witness".into(),
        started.witness.clone().unwrap_or_default(),
    );
    v.insert("host".into(), started.host.clone());
    v.insert("jurisdiction".into(), started.jurisdiction.clone());
    v
}
