//! Deadlines as the state has them at a given moment: not started, running, in its warning
//! time, overdue, met (in time or late), or, for a period without `met_by`, running until a date.
//!
//! A deadline counts from the start of the session or from the first time its `from` step was
//! left (completed or skipped). It is met when any of its `met_by` steps is first completed, even
//! if that happened before the count began: what had to be done was done.

use chrono::{DateTime, Utc};

use super::state::State;
use crate::runbook::{Anchor, Deadline, Runbook};

/// Where a deadline stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The step it counts from is not done yet.
    NotStarted,
    /// Counting down, with time to spare.
    Running,
    /// Counting down, within its warning time.
    Warning,
    /// Due and not met.
    Overdue,
    /// Met at `at`; `late` when after it was due.
    Met { at: DateTime<Utc>, late: bool },
    /// A period (no `met_by`) that has not ended.
    PeriodRunning,
    /// A period that has ended.
    PeriodEnded,
}

/// A deadline that applies in the session's jurisdiction, with its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineState<'r> {
    pub deadline: &'r Deadline,
    /// When it began to count.
    pub from: Option<DateTime<Utc>>,
    pub due: Option<DateTime<Utc>>,
    pub status: Status,
    /// When a `deadline_passed` event recorded it.
    pub passed_recorded: Option<DateTime<Utc>>,
}

impl DeadlineState<'_> {
    /// Still asks for something: running, warning or overdue.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            Status::Running | Status::Warning | Status::Overdue
        )
    }

    /// Time left until due (negative when overdue).
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.due.map(|due| due - now)
    }
}

/// The deadlines that apply in the session's jurisdiction, in the runbook's order. `now` and
/// every time in the result are session times ([`State::session_time`]): the exercise clock's in
/// an exercise.
pub fn deadlines<'r>(
    runbook: &'r Runbook,
    state: &State,
    now: DateTime<Utc>,
) -> Vec<DeadlineState<'r>> {
    runbook
        .deadlines
        .iter()
        .filter(|d| d.applies_in(&state.started.jurisdiction))
        .map(|d| deadline_state(d, state, now))
        .collect()
}

fn deadline_state<'r>(
    deadline: &'r Deadline,
    state: &State,
    now: DateTime<Utc>,
) -> DeadlineState<'r> {
    let from = match &deadline.from {
        Anchor::Start => Some(state.started_at),
        Anchor::Step(step) => state.step(step).and_then(|s| s.left),
    }
    .map(|t| state.session_time(t));
    let within = chrono::Duration::from_std(deadline.within).unwrap_or(chrono::Duration::MAX);
    let due = from.and_then(|f| f.checked_add_signed(within));
    let met = deadline
        .met_by
        .iter()
        .filter_map(|step| state.step(step).and_then(|s| s.completed))
        .min()
        .map(|t| state.session_time(t));
    let warn = chrono::Duration::from_std(deadline.warn).unwrap_or(chrono::Duration::zero());
    let status = match (due, met) {
        (_, Some(at)) => Status::Met {
            at,
            late: due.is_some_and(|due| at > due),
        },
        (None, None) => Status::NotStarted,
        (Some(due), None) if deadline.met_by.is_empty() => {
            if now >= due {
                Status::PeriodEnded
            } else {
                Status::PeriodRunning
            }
        }
        (Some(due), None) if now >= due => Status::Overdue,
        (Some(due), None) if due - now <= warn => Status::Warning,
        (Some(_), None) => Status::Running,
    };
    DeadlineState {
        deadline,
        from,
        due,
        status,
        passed_recorded: state
            .deadlines_passed
            .get(&deadline.id)
            .map(|t| state.session_time(*t)),
    }
}
