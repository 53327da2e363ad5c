//! The review's content, computed from each session's journal, its runbook and scenario copies
//! and what checking them found: no clock, no host, no file is read here. Every format is
//! drawn from this one model; the JSON is this model serialised (its schema is
//! `docs/review.schema.json`).
//!
//! Durations are in **exercise time**: the exercise clock that the facilitator can pause, speed
//! up and move on ([`crate::session::exercise`]), read from the journal for every moment. Real
//! times (UTC, with the machine's offset) are given beside them, because how long the team
//! really took matters too.
//!
//! Text from outside (names, answers, reasons, notes) is kept here exactly as recorded; each
//! format makes it safe for itself (see [`crate::report::text`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;

use crate::journal::event::{Body, ClockChange, Event, Mode, Role, SessionStarted};
use crate::report::model::{self as report_model, Checked, Generator, Stamp, StepRef, Who};
use crate::runbook::template::Template;
use crate::runbook::{Anchor, Runbook, Scenario, StepKind};
use crate::session::State;
use crate::session::deadline::{self, Status as DeadlineStatus};

/// The schema's name, in every JSON review.
pub const SCHEMA: &str = "custody-review";
/// The schema's version: raised whenever a member is removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// The word every review carries: in its title, on every page, in every file name.
pub const MARKING: &str = "EXERCISE";
/// The marking in a sentence, for banners.
pub const MARKING_TEXT: &str =
    "EXERCISE. This document reviews a training exercise, not a real incident.";

/// What the review says about its times, wherever they are shown.
pub const TIME_NOTE: &str = "Durations and elapsed times are in exercise time: the exercise \
     clock, which the facilitator can pause, speed up and move on, counted from the start of \
     the session. Real times are in UTC, with the machine's local time and offset.";

/// One session to review: what [`super::load`] reads from its folder.
#[derive(Debug, Clone)]
pub struct SessionInput {
    /// The journal's good events, in order (up to the first damaged line, if any).
    pub events: Vec<Event>,
    /// The runbook copy with the scenario copy applied (its injects, milestones and expected
    /// choices); `None` when the copy cannot be read.
    pub runbook: Option<Runbook>,
    /// The scenario the exercise followed, if any and if its copy can be read.
    pub scenario: Option<Scenario>,
    /// What checking the journal and its copies found.
    pub checked: Checked,
    /// What the reader must know about the input (a scenario copy that could not be read).
    pub notes: Vec<String>,
}

impl SessionInput {
    /// Whether the journal or its copies are damaged: a review of it would not be evidence
    /// of what happened without saying so.
    pub fn damaged(&self) -> bool {
        !self.checked.verified
    }
}

/// Why a review cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no session to review")]
    NoSession,
    #[error("a journal does not begin with `session_started`")]
    NoStart,
    #[error(
        "session {session} is a real incident, not an exercise: it has no after-action \
         review. Its report is made with `custody report`."
    )]
    NotExercise { session: String },
}

/// The whole review: one or more exercise sessions.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub schema: &'static str,
    pub schema_version: u32,
    pub generator: Generator,
    /// Always true: only exercises have a review.
    pub exercise: bool,
    /// `EXERCISE`, as every page and file name carries it.
    pub marking: &'static str,
    /// The marking in a sentence.
    pub marking_text: &'static str,
    pub title: String,
    /// How to read the times.
    pub time_note: &'static str,
    /// Several sessions side by side (teams, rounds); `None` for one session.
    pub comparison: Option<Comparison>,
    pub sessions: Vec<SessionReview>,
}

/// A moment of the exercise: the exercise clock's reading and the exercise time elapsed since
/// the start, and the real time when it is known (a deadline's due time is a moment of the
/// exercise clock only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// The real time (UTC and the machine's offset).
    pub real: Option<Stamp>,
    /// The exercise clock's reading (UTC).
    pub exercise: String,
    /// Exercise time since the start of the session, in seconds.
    pub elapsed_secs: i64,
    /// The same, as `+H:MM:SS` (`+1d 02:00:00` past a day).
    pub elapsed: String,
}

/// The review of one session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionReview {
    /// The session's position in the review, from 1.
    pub number: usize,
    /// How the session is named in a comparison: the operator, and the case id.
    pub label: String,
    pub session: String,
    pub case_id: String,
    pub jurisdiction: String,
    pub host: String,
    pub runbook: RunbookInfo,
    pub scenario: Option<ScenarioInfo>,
    pub facilitator: Option<String>,
    pub operator: String,
    pub witness: Option<String>,
    pub participants: Vec<ParticipantInfo>,
    pub started: Moment,
    /// The last event the review covers.
    pub ended: Moment,
    /// Where the session stands (sealed, finished, paused, in progress), in plain words.
    pub status: String,
    pub verification: VerificationInfo,
    pub figures: Figures,
    /// The exercise clock's changes, and the pauses and interruptions of the session.
    pub clock: Vec<ClockEntry>,
    /// Each stretch of time spent at a step, in order.
    pub visits: Vec<VisitInfo>,
    pub milestones: Vec<MilestoneResult>,
    pub deadlines: Vec<DeadlineResult>,
    pub decisions: Vec<DecisionResult>,
    pub injects: Vec<InjectResult>,
    pub skipped: Vec<SkipInfo>,
    /// The notes, as lessons learned.
    pub lessons: Vec<Lesson>,
    pub timeline: Vec<TimelineEntry>,
    /// What the reader must know about the input.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunbookInfo {
    pub id: String,
    pub version: String,
    pub title: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    pub id: String,
    pub version: String,
    pub title: String,
    pub sha256: String,
    /// The facilitator's summary, when the scenario copy could be read.
    pub summary: Option<String>,
    /// The story read to the team at the start.
    pub briefing: Option<String>,
    pub authors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantInfo {
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerificationInfo {
    /// The chain and the copies check out.
    pub verified: bool,
    /// In plain words.
    pub text: String,
    /// The hash of the last event the review covers.
    pub final_hash: String,
    pub events: u64,
    pub sealed: Option<Moment>,
    pub problem: Option<String>,
    /// When the record did not verify: what a reader must know first.
    pub warning: Option<String>,
}

/// The figures at the top of a session's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Exercise time from the start to the last event.
    pub exercise_secs: i64,
    /// Real time from the start to the last event.
    pub real_secs: i64,
    /// Milestones reached in time (or reached, when they have no target).
    pub milestones_met: usize,
    pub milestones: usize,
    /// Deadlines missed, or met after they were due.
    pub deadlines_missed: usize,
    /// Deadlines that apply and must be met by a step (periods are not counted).
    pub deadlines: usize,
    /// Decisions (the last one at each step) that took the expected choice.
    pub decisions_as_expected: usize,
    /// Decisions taken at a step with an expected choice.
    pub decisions_with_expectation: usize,
    pub injects_released: usize,
    pub injects_answered: usize,
    /// From release to answer, in exercise time: the mean (rounded to the second) and the
    /// longest, over the injects answered.
    pub response_mean_secs: Option<i64>,
    pub response_max_secs: Option<i64>,
    pub skipped: usize,
    pub notes: usize,
    pub clock_changes: usize,
}

/// A change of the exercise clock, or a pause or interruption of the session (which stops the
/// exercise clock too).
#[derive(Debug, Clone, Serialize)]
pub struct ClockEntry {
    pub seq: u64,
    pub at: Moment,
    /// `pause`, `resume`, `advance`, `speed` (the facilitator), `session_paused`,
    /// `session_resumed` or `interrupted` (custody stopped, and the work was taken up again).
    pub change: &'static str,
    /// The speed after the change.
    pub speed: u32,
    /// For `advance`: by how much exercise time moved on.
    pub advanced_secs: Option<u64>,
    /// For a pause or an interruption: how long, in real time, the exercise clock stood still
    /// (until it ran again, or until the last event).
    pub stood_still_secs: Option<i64>,
    pub text: String,
}

/// A stretch of time at one step: from when it became current to when it was left.
#[derive(Debug, Clone, Serialize)]
pub struct VisitInfo {
    pub step: StepRef,
    pub entered: Moment,
    pub left: Moment,
    /// `done`, `skipped`, `left` (the team went back to another step) or `current` (still the
    /// current step at the last event).
    pub outcome: &'static str,
    /// Why the step was entered out of order, for a revisit.
    pub revisit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneResult {
    /// `M1`, `M2` ... as the timeline picture labels them.
    pub key: String,
    pub id: String,
    pub label: String,
    /// The steps that reach it.
    pub reached_by: Vec<StepRef>,
    /// The target, in exercise time after `from`.
    pub within_secs: Option<i64>,
    /// `start`, or the step whose completion the target counts from.
    pub from: Option<StepRef>,
    /// When the count began.
    pub counted_from: Option<Moment>,
    pub reached: Option<Moment>,
    /// Exercise time from `counted_from` to `reached`.
    pub elapsed_secs: Option<i64>,
    /// `met` (in time), `reached` (no target), `late`, `not_reached`.
    pub status: &'static str,
    pub late_by_secs: Option<i64>,
    /// In plain words.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineResult {
    /// `D1`, `D2` ... as the timeline picture labels them.
    pub key: String,
    pub id: String,
    pub label: String,
    /// `met`, `met_late`, `missed`, `open`, `not_started`, `period_running` or `period_ended`,
    /// as of the last event.
    pub status: &'static str,
    pub within_secs: i64,
    pub from: Option<Moment>,
    pub due: Option<Moment>,
    pub met: Option<Moment>,
    pub late_by_secs: Option<i64>,
    /// custody journaled its passing (`deadline_passed`).
    pub passed_recorded: bool,
    /// In plain words.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionResult {
    /// The event, or `None` for an expected decision the team never reached.
    pub seq: Option<u64>,
    pub step: StepRef,
    pub at: Option<Moment>,
    pub by: Option<Who>,
    pub choice: Option<String>,
    pub label: Option<String>,
    pub reason: Option<String>,
    pub expected: Option<ExpectedInfo>,
    /// `yes`, `no`, `no_expectation`, or `not_reached`.
    pub matches: &'static str,
    /// A later decision at the same step replaced this one (the team went back).
    pub superseded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpectedInfo {
    pub choice: String,
    pub label: String,
    pub why: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InjectResult {
    /// `1`, `2` ... in the order released, as the timeline picture labels them; `None` for an
    /// inject that was not released.
    pub number: Option<usize>,
    pub id: String,
    pub title: String,
    /// `released` or `not_released`.
    pub status: &'static str,
    /// `facilitator` (released by hand) or `custody` (at its step or after its delay).
    pub released_by: Option<&'static str>,
    /// How it came, in plain words.
    pub how: String,
    pub released: Option<Moment>,
    /// The step the team was at.
    pub at_step: Option<StepRef>,
    pub body: Option<String>,
    pub prompt: Option<String>,
    pub answered: Option<Moment>,
    pub answered_by: Option<String>,
    pub answer: Option<String>,
    /// From release to answer, in exercise time.
    pub response_secs: Option<i64>,
    /// From release to answer, in real time.
    pub response_real_secs: Option<i64>,
    /// What a good answer covers (never shown to the team during the exercise).
    pub expect: Option<String>,
    /// The sources a good answer rests on (titles).
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkipInfo {
    pub seq: u64,
    pub at: Moment,
    pub by: Who,
    pub step: StepRef,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lesson {
    pub seq: u64,
    pub at: Moment,
    pub by: Who,
    pub step: Option<StepRef>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub seq: u64,
    pub at: Moment,
    pub actor: Who,
    pub step: Option<StepRef>,
    pub kind: &'static str,
    pub text: String,
}

/// Several sessions side by side: one column per session, one row per figure.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Whether every session followed the same runbook and scenario (id and version).
    pub same_script: bool,
    /// Said above the table when they did not.
    pub note: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<ComparisonRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComparisonRow {
    pub label: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    /// How it stands out: `good`, `alarm`, `caution` or `neutral`.
    pub status: &'static str,
}

// ---- Building --------------------------------------------------------------------------------

/// Builds the review of `sessions`, in the order given. Refuses a real session: only
/// exercises have a review.
pub fn build(sessions: &[SessionInput]) -> Result<Review, ReviewError> {
    if sessions.is_empty() {
        return Err(ReviewError::NoSession);
    }
    let mut reviews = Vec::with_capacity(sessions.len());
    for (n, input) in sessions.iter().enumerate() {
        reviews.push(session(n + 1, input)?);
    }
    let title = title(&reviews);
    let comparison = (reviews.len() > 1).then(|| compare(&reviews));
    Ok(Review {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        generator: Generator {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        exercise: true,
        marking: MARKING,
        marking_text: MARKING_TEXT,
        title,
        time_note: TIME_NOTE,
        comparison,
        sessions: reviews,
    })
}

fn script_title(s: &SessionReview) -> &str {
    s.scenario.as_ref().map_or(&s.runbook.title, |sc| &sc.title)
}

fn title(reviews: &[SessionReview]) -> String {
    match reviews {
        [one] => format!("{MARKING}: After-action review: {}", script_title(one)),
        [first, rest @ ..] if rest.iter().all(|s| script_title(s) == script_title(first)) => {
            format!(
                "{MARKING}: After-action review of {} sessions: {}",
                reviews.len(),
                script_title(first)
            )
        }
        _ => format!(
            "{MARKING}: After-action review of {} sessions",
            reviews.len()
        ),
    }
}

/// The times of one session: real time to exercise time, and real time to the machine's
/// offset.
struct Times<'a> {
    state: &'a State,
    events: &'a [Event],
    start: DateTime<Utc>,
}

impl Times<'_> {
    fn elapsed(&self, exercise: DateTime<Utc>) -> i64 {
        (exercise - self.start).num_seconds()
    }

    /// The offset in force at `real`: the one of the last event at or before it.
    fn offset_at(&self, real: DateTime<Utc>) -> FixedOffset {
        let i = self.events.partition_point(|e| e.time <= real);
        self.events[i.saturating_sub(1)].offset
    }

    fn real(&self, real: DateTime<Utc>) -> Moment {
        let mut m = self.exercise(self.state.session_time(real));
        m.real = Some(Stamp {
            utc: real,
            offset: self.offset_at(real),
        });
        m
    }

    fn of(&self, event: &Event) -> Moment {
        let mut m = self.exercise(self.state.session_time(event.time));
        m.real = Some(Stamp::of(event));
        m
    }

    fn exercise(&self, exercise: DateTime<Utc>) -> Moment {
        let elapsed = self.elapsed(exercise);
        Moment {
            real: None,
            exercise: exercise.to_rfc3339_opts(SecondsFormat::Secs, true),
            elapsed_secs: elapsed,
            elapsed: elapsed_text(elapsed),
        }
    }
}

/// Runbook text with the session's variables filled in.
fn render(state: &State, template: &Template) -> String {
    template.render(|name| {
        std::borrow::Cow::Owned(
            state
                .variable(name)
                .map_or_else(|| format!("{{{{{name}}}}}"), str::to_owned),
        )
    })
}

fn step_ref(runbook: &Runbook, state: &State, id: &str) -> StepRef {
    StepRef {
        id: id.to_owned(),
        title: runbook
            .step(id)
            .map_or_else(|| id.to_owned(), |s| render(state, &s.title)),
    }
}

fn session(number: usize, input: &SessionInput) -> Result<SessionReview, ReviewError> {
    let events = &input.events[..];
    let first = events.first().ok_or(ReviewError::NoStart)?;
    let Body::SessionStarted(started) = &first.body else {
        return Err(ReviewError::NoStart);
    };
    if started.mode != Mode::Exercise {
        return Err(ReviewError::NotExercise {
            session: started.session.clone(),
        });
    }
    let last = events.last().unwrap_or(first);
    let placeholder;
    let runbook = if let Some(r) = &input.runbook {
        r
    } else {
        placeholder = report_model::placeholder_runbook(started);
        &placeholder
    };
    let state = State::replay(runbook, events).ok_or(ReviewError::NoStart)?;
    let report =
        report_model::build(events, Some(runbook), &input.checked).ok_or(ReviewError::NoStart)?;
    let times = Times {
        state: &state,
        events,
        start: state.started_at,
    };
    let by_seq: BTreeMap<u64, Moment> = events.iter().map(|e| (e.seq, times.of(e))).collect();
    let at = |seq: u64| by_seq.get(&seq).cloned().unwrap_or_else(|| times.of(first));

    let started_at = times.of(first);
    let ended = times.of(last);
    let clock = clock_entries(events, &times);
    let visits = visits(events, runbook, &state, &times);
    let now = state.session_time(last.time);
    let milestones = milestones(runbook, &state, &times);
    let deadlines = deadlines(runbook, &state, &times, now);
    let decisions = decisions(events, runbook, &state, &times);
    let injects = injects(events, runbook, &state, &times, started);
    let skipped: Vec<SkipInfo> = report
        .skipped
        .iter()
        .map(|s| SkipInfo {
            seq: s.seq,
            at: at(s.seq),
            by: s.by.clone(),
            step: s.step.clone(),
            reason: s.reason.clone(),
        })
        .collect();
    let lessons: Vec<Lesson> = report
        .notes
        .iter()
        .map(|n| Lesson {
            seq: n.seq,
            at: at(n.seq),
            by: n.by.clone(),
            step: n.step.clone(),
            text: n.text.clone(),
        })
        .collect();
    let timeline: Vec<TimelineEntry> = report
        .timeline
        .iter()
        .map(|e| TimelineEntry {
            seq: e.seq,
            at: at(e.seq),
            actor: e.actor.clone(),
            step: e.step.clone(),
            kind: e.kind,
            text: e.text.clone(),
        })
        .collect();

    let figures = figures(
        &started_at,
        &ended,
        &milestones,
        &deadlines,
        &decisions,
        &injects,
        skipped.len(),
        lessons.len(),
        clock
            .iter()
            .filter(|c| matches!(c.change, "pause" | "resume" | "advance" | "speed"))
            .count(),
    );
    let integrity = &report.integrity;
    let verification = VerificationInfo {
        verified: integrity.verified,
        text: if integrity.verified {
            "INTACT: the journal's hash chain and its runbook and scenario copies were verified \
             when this review was made."
                .to_owned()
        } else {
            "NOT VERIFIED: the journal or its copies did not check out; this review covers the \
             events before the damage."
                .to_owned()
        },
        final_hash: integrity.final_hash.clone(),
        events: integrity.events,
        sealed: integrity.sealed.as_ref().map(|s| at(s.seq)),
        problem: integrity.problem.clone(),
        warning: integrity.warning.clone(),
    };
    let scenario = started.scenario.as_ref().map(|r| ScenarioInfo {
        id: r.id.clone(),
        version: r.version.clone(),
        title: r.title.clone(),
        sha256: r.sha256.to_hex(),
        summary: input.scenario.as_ref().map(|s| reflow(&s.summary)),
        briefing: input
            .scenario
            .as_ref()
            .and_then(|s| s.briefing.as_deref().map(reflow)),
        authors: input
            .scenario
            .as_ref()
            .map(|s| s.authors.clone())
            .unwrap_or_default(),
    });
    Ok(SessionReview {
        number,
        label: format!("{}, case {}", started.operator, started.case_id),
        session: started.session.clone(),
        case_id: started.case_id.clone(),
        jurisdiction: report.case.jurisdiction_name.as_ref().map_or_else(
            || started.jurisdiction.clone(),
            |name| format!("{} ({name})", started.jurisdiction),
        ),
        host: started.host.clone(),
        runbook: RunbookInfo {
            id: started.runbook.id.clone(),
            version: started.runbook.version.clone(),
            title: started.runbook.title.clone(),
            sha256: started.runbook.sha256.to_hex(),
        },
        scenario,
        facilitator: started.facilitator.clone(),
        operator: started.operator.clone(),
        witness: started.witness.clone(),
        participants: started
            .participants
            .iter()
            .map(|p| ParticipantInfo {
                name: p.name.clone(),
                role: p.role.clone(),
            })
            .collect(),
        started: started_at,
        ended,
        status: report.summary.status.text.clone(),
        verification,
        figures,
        clock,
        visits,
        milestones,
        deadlines,
        decisions,
        injects,
        skipped,
        lessons,
        timeline,
        notes: input.notes.clone(),
    })
}

#[allow(clippy::too_many_arguments)]
fn figures(
    started: &Moment,
    ended: &Moment,
    milestones: &[MilestoneResult],
    deadlines: &[DeadlineResult],
    decisions: &[DecisionResult],
    injects: &[InjectResult],
    skipped: usize,
    notes: usize,
    clock_changes: usize,
) -> Figures {
    let responses: Vec<i64> = injects.iter().filter_map(|i| i.response_secs).collect();
    let count = i64::try_from(responses.len()).unwrap_or(i64::MAX);
    let real_secs = match (&started.real, &ended.real) {
        (Some(a), Some(b)) => (b.utc - a.utc).num_seconds(),
        _ => 0,
    };
    let counted: Vec<&DecisionResult> = decisions
        .iter()
        .filter(|d| d.seq.is_some() && !d.superseded && d.expected.is_some())
        .collect();
    Figures {
        exercise_secs: ended.elapsed_secs - started.elapsed_secs,
        real_secs,
        milestones_met: milestones
            .iter()
            .filter(|m| matches!(m.status, "met" | "reached"))
            .count(),
        milestones: milestones.len(),
        deadlines_missed: deadlines
            .iter()
            .filter(|d| matches!(d.status, "missed" | "met_late"))
            .count(),
        deadlines: deadlines
            .iter()
            .filter(|d| !d.status.starts_with("period"))
            .count(),
        decisions_as_expected: counted.iter().filter(|d| d.matches == "yes").count(),
        decisions_with_expectation: counted.len(),
        injects_released: injects.iter().filter(|i| i.released.is_some()).count(),
        injects_answered: injects.iter().filter(|i| i.answered.is_some()).count(),
        response_mean_secs: (count > 0)
            .then(|| (responses.iter().sum::<i64>() + count / 2).div_euclid(count)),
        response_max_secs: responses.iter().copied().max(),
        skipped,
        notes,
        clock_changes,
    }
}

/// The clock's changes, and the session's pauses and interruptions, each with how long the
/// clock stood still in real time.
fn clock_entries(events: &[Event], times: &Times<'_>) -> Vec<ClockEntry> {
    let mut out: Vec<ClockEntry> = Vec::new();
    let mut speed = 1;
    // Where the clock began to stand still (index into `out`, real time), by cause.
    let mut held: Option<(usize, DateTime<Utc>)> = None;
    let mut paused: Option<(usize, DateTime<Utc>)> = None;
    let mut before: Option<&Event> = None;
    let close =
        |out: &mut Vec<ClockEntry>, open: Option<(usize, DateTime<Utc>)>, until: DateTime<Utc>| {
            if let Some((i, from)) = open {
                out[i].stood_still_secs = Some((until - from).num_seconds());
            }
        };
    for event in events {
        let at = times.of(event);
        match &event.body {
            Body::ClockChanged(c) => {
                speed = c.speed;
                let change = match c.change {
                    ClockChange::Pause => "pause",
                    ClockChange::Resume => "resume",
                    ClockChange::Advance => "advance",
                    ClockChange::Speed => "speed",
                };
                let text = match c.change {
                    ClockChange::Pause => format!(
                        "The facilitator paused the exercise clock at {}.",
                        at.elapsed
                    ),
                    ClockChange::Resume => format!(
                        "The facilitator let the exercise clock run again at {}.",
                        at.elapsed
                    ),
                    ClockChange::Advance => {
                        let by = i64::try_from(c.advanced_secs.unwrap_or(0)).unwrap_or(i64::MAX);
                        format!(
                            "The facilitator moved the exercise clock on by {}, from {} to {}.",
                            duration_text(by),
                            elapsed_text(at.elapsed_secs - by),
                            at.elapsed
                        )
                    }
                    ClockChange::Speed => format!(
                        "The facilitator set the exercise clock to run {}x as fast as real \
                         time, at {}.",
                        c.speed, at.elapsed
                    ),
                };
                if c.change == ClockChange::Resume {
                    close(&mut out, held.take(), event.time);
                }
                out.push(ClockEntry {
                    seq: event.seq,
                    at,
                    change,
                    speed,
                    advanced_secs: c.advanced_secs,
                    stood_still_secs: None,
                    text,
                });
                if c.change == ClockChange::Pause {
                    held = Some((out.len() - 1, event.time));
                }
            }
            Body::Paused(p) => {
                out.push(ClockEntry {
                    seq: event.seq,
                    text: format!(
                        "Work paused{}: the exercise clock stood still until work resumed.",
                        p.reason
                            .as_ref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                    at,
                    change: "session_paused",
                    speed,
                    advanced_secs: None,
                    stood_still_secs: None,
                });
                paused = Some((out.len() - 1, event.time));
            }
            Body::Resumed(r) => {
                // A resume after a pause is no interruption whatever its `interrupted` says
                // (early builds wrote `true` when a note came between them); the clock stood
                // still since the pause either way.
                if r.interrupted && paused.is_none() {
                    // The clock stood still from the last event before the interruption.
                    let from = before.map_or(event.time, |b| b.time);
                    out.push(ClockEntry {
                        seq: event.seq,
                        text: "custody had stopped without a pause (a crash, a dropped \
                               connection); the exercise clock stood still until work was \
                               taken up again."
                            .to_owned(),
                        at,
                        change: "interrupted",
                        speed,
                        advanced_secs: None,
                        stood_still_secs: Some((event.time - from).num_seconds()),
                    });
                } else {
                    close(&mut out, paused.take(), event.time);
                    out.push(ClockEntry {
                        seq: event.seq,
                        text: "Work resumed.".to_owned(),
                        at,
                        change: "session_resumed",
                        speed,
                        advanced_secs: None,
                        stood_still_secs: None,
                    });
                }
            }
            _ => {}
        }
        before = Some(event);
    }
    if let Some(last) = events.last() {
        close(&mut out, held, last.time);
        close(&mut out, paused, last.time);
    }
    out
}

/// The stretches of time at each step, from the journal's events.
fn visits(events: &[Event], runbook: &Runbook, state: &State, times: &Times<'_>) -> Vec<VisitInfo> {
    let mut out = Vec::new();
    let mut open: Option<(String, &Event, Option<String>)> = None;
    let mut close = |open: &mut Option<(String, &Event, Option<String>)>,
                     event: &Event,
                     outcome: &'static str| {
        if let Some((step, entered, revisit)) = open.take() {
            out.push(VisitInfo {
                step: step_ref(runbook, state, &step),
                entered: times.of(entered),
                left: times.of(event),
                outcome,
                revisit,
            });
        }
    };
    for event in events {
        let next: Option<Option<&String>> = match &event.body {
            Body::SessionStarted(_) => {
                if let Some(first) = state.path.first() {
                    open = Some((first.step.clone(), event, None));
                }
                continue;
            }
            Body::StepStarted(s) => {
                close(&mut open, event, "left");
                if let Some(step) = &event.step {
                    open = Some((step.clone(), event, Some(s.reason.clone())));
                }
                continue;
            }
            Body::StepSkipped(s) => {
                close(&mut open, event, "skipped");
                Some(s.next.as_ref())
            }
            Body::StepCompleted(c) => {
                close(&mut open, event, "done");
                Some(c.next.as_ref())
            }
            Body::DecisionMade(d) => {
                close(&mut open, event, "done");
                Some(Some(&d.next))
            }
            Body::FieldsRecorded(f) => {
                close(&mut open, event, "done");
                Some(f.next.as_ref())
            }
            Body::ContactMade(c) => {
                close(&mut open, event, "done");
                Some(c.next.as_ref())
            }
            Body::CustodyTransferred(t) => {
                close(&mut open, event, "done");
                Some(t.next.as_ref())
            }
            _ => None,
        };
        if let Some(Some(next)) = next {
            open = Some((next.clone(), event, None));
        }
    }
    if let Some(last) = events.last() {
        close(&mut open, last, "current");
    }
    out
}

fn milestones(runbook: &Runbook, state: &State, times: &Times<'_>) -> Vec<MilestoneResult> {
    runbook
        .milestones
        .iter()
        .enumerate()
        .map(|(n, m)| {
            let reached_real = m
                .reached_by
                .iter()
                .filter_map(|s| state.step(s).and_then(|s| s.completed))
                .min();
            let (from, counted_real) = match &m.from {
                Anchor::Start => (None, Some(state.started_at)),
                Anchor::Step(s) => (
                    Some(step_ref(runbook, state, s)),
                    state.step(s).and_then(|s| s.left),
                ),
            };
            let reached = reached_real.map(|t| times.real(t));
            let counted_from = counted_real.map(|t| times.real(t));
            let within = m
                .within
                .map(|w| i64::try_from(w.as_secs()).unwrap_or(i64::MAX));
            let elapsed = match (&counted_from, &reached) {
                (Some(c), Some(r)) => Some(r.elapsed_secs - c.elapsed_secs),
                _ => None,
            };
            let late_by = match (elapsed, within) {
                (Some(e), Some(w)) if e > w => Some(e - w),
                _ => None,
            };
            let from_text = from
                .as_ref()
                .map_or_else(|| "the start".to_owned(), |s| format!("\"{}\"", s.title));
            let (status, text) = match (&reached, elapsed, within) {
                (None, _, Some(w)) => (
                    "not_reached",
                    format!(
                        "NOT REACHED (target: within {} of {from_text})",
                        duration_text(w)
                    ),
                ),
                (None, _, None) => ("not_reached", "NOT REACHED".to_owned()),
                (Some(r), Some(e), Some(w)) if e > w => (
                    "late",
                    format!(
                        "LATE by {}: reached {} after {from_text} (target {}), at {}",
                        duration_text(e - w),
                        duration_text(e),
                        duration_text(w),
                        r.elapsed
                    ),
                ),
                (Some(r), Some(e), Some(w)) => (
                    "met",
                    format!(
                        "met: reached {} after {from_text} (target {}), at {}",
                        duration_text(e),
                        duration_text(w),
                        r.elapsed
                    ),
                ),
                (Some(r), Some(e), None) => (
                    "reached",
                    format!(
                        "reached {} after {from_text}, at {}",
                        duration_text(e),
                        r.elapsed
                    ),
                ),
                // Reached before the step it counts from was done: in time.
                (Some(r), None, _) => (
                    "met",
                    format!("met: reached at {}, before {from_text} was done", r.elapsed),
                ),
            };
            MilestoneResult {
                key: format!("M{}", n + 1),
                id: m.id.clone(),
                label: m.label.clone(),
                reached_by: m
                    .reached_by
                    .iter()
                    .map(|s| step_ref(runbook, state, s))
                    .collect(),
                within_secs: within,
                from,
                counted_from,
                reached,
                elapsed_secs: elapsed,
                status,
                late_by_secs: late_by,
                text,
            }
        })
        .collect()
}

fn deadlines(
    runbook: &Runbook,
    state: &State,
    times: &Times<'_>,
    now: DateTime<Utc>,
) -> Vec<DeadlineResult> {
    deadline::deadlines(runbook, state, now)
        .into_iter()
        .enumerate()
        .map(|(n, d)| {
            let due = d.due.map(|t| times.exercise(t));
            let from = d.from.map(|t| times.exercise(t));
            let due_text = due.as_ref().map(|t| t.elapsed.clone()).unwrap_or_default();
            let (status, met, late_by, text) = match d.status {
                DeadlineStatus::Met { at, late } => {
                    let met = times.exercise(at);
                    let late_by = d.due.filter(|_| late).map(|due| (at - due).num_seconds());
                    let text = match late_by {
                        Some(by) => format!(
                            "MET LATE at {}, {} after it was due at {due_text}",
                            met.elapsed,
                            duration_text(by)
                        ),
                        None if d.due.is_some() => {
                            format!("met at {} (due {due_text})", met.elapsed)
                        }
                        None => format!("met at {}", met.elapsed),
                    };
                    (
                        if late { "met_late" } else { "met" },
                        Some(met),
                        late_by,
                        text,
                    )
                }
                DeadlineStatus::Overdue => (
                    "missed",
                    None,
                    d.due.map(|due| (now - due).num_seconds()),
                    format!("MISSED: due at {due_text}, not met by the last event"),
                ),
                DeadlineStatus::Running | DeadlineStatus::Warning => (
                    "open",
                    None,
                    None,
                    format!("open: due at {due_text}, after the last event"),
                ),
                DeadlineStatus::NotStarted => (
                    "not_started",
                    None,
                    None,
                    "not started: the step it counts from was not done".to_owned(),
                ),
                DeadlineStatus::PeriodRunning => (
                    "period_running",
                    None,
                    None,
                    format!("a period: runs until {due_text}"),
                ),
                DeadlineStatus::PeriodEnded => (
                    "period_ended",
                    None,
                    None,
                    format!("a period: ended at {due_text}"),
                ),
            };
            DeadlineResult {
                key: format!("D{}", n + 1),
                id: d.deadline.id.clone(),
                label: d.deadline.label.clone(),
                status,
                within_secs: i64::try_from(d.deadline.within.as_secs()).unwrap_or(i64::MAX),
                from,
                due,
                met,
                late_by_secs: late_by,
                passed_recorded: d.passed_recorded.is_some(),
                text,
            }
        })
        .collect()
}

fn decisions(
    events: &[Event],
    runbook: &Runbook,
    state: &State,
    times: &Times<'_>,
) -> Vec<DecisionResult> {
    let expected = |step: &str| {
        runbook.expected_at(step).map(|e| ExpectedInfo {
            choice: e.choice.clone(),
            label: choice_label(runbook, state, step, &e.choice),
            why: e.why.as_deref().map(reflow),
        })
    };
    let mut out: Vec<DecisionResult> = Vec::new();
    for event in events {
        let Body::DecisionMade(d) = &event.body else {
            continue;
        };
        let step_id = event.step.clone().unwrap_or_default();
        for earlier in out.iter_mut().filter(|o| o.step.id == step_id) {
            earlier.superseded = true;
        }
        let expected = expected(&step_id);
        let matches = match &expected {
            Some(e) if e.choice == d.choice => "yes",
            Some(_) => "no",
            None => "no_expectation",
        };
        out.push(DecisionResult {
            seq: Some(event.seq),
            step: step_ref(runbook, state, &step_id),
            at: Some(times.of(event)),
            by: Some(Who {
                role: role_name(event.actor.role),
                name: event.actor.name.clone(),
            }),
            choice: Some(d.choice.clone()),
            label: Some(d.label.clone()),
            reason: Some(d.reason.clone()),
            expected,
            matches,
            superseded: false,
        });
    }
    // Expected decisions the team never reached, in the runbook's order of steps.
    let decided: BTreeSet<String> = out.iter().map(|d| d.step.id.clone()).collect();
    for step in &runbook.steps {
        if decided.contains(&step.id) || !matches!(step.kind, StepKind::Decision { .. }) {
            continue;
        }
        if let Some(e) = expected(&step.id) {
            out.push(DecisionResult {
                seq: None,
                step: step_ref(runbook, state, &step.id),
                at: None,
                by: None,
                choice: None,
                label: None,
                reason: None,
                expected: Some(e),
                matches: "not_reached",
                superseded: false,
            });
        }
    }
    out
}

fn choice_label(runbook: &Runbook, state: &State, step: &str, choice: &str) -> String {
    match runbook.step(step).map(|s| &s.kind) {
        Some(StepKind::Decision { choices }) => choices
            .iter()
            .find(|c| c.id == choice)
            .map_or_else(|| choice.to_owned(), |c| render(state, &c.label)),
        _ => choice.to_owned(),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Operator => "operator",
        Role::Witness => "witness",
        Role::Facilitator => "facilitator",
        Role::Custody => "custody",
    }
}

fn injects(
    events: &[Event],
    runbook: &Runbook,
    state: &State,
    times: &Times<'_>,
    started: &SessionStarted,
) -> Vec<InjectResult> {
    let mut out: Vec<InjectResult> = Vec::new();
    let script = |id: &str| runbook.injects.iter().find(|i| i.id == id);
    let sources = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .map(|id| {
                runbook
                    .source(id)
                    .map_or_else(|| id.clone(), |s| s.title.clone())
            })
            .collect()
    };
    for event in events {
        match &event.body {
            Body::InjectReleased(r) => {
                let inject = script(&r.inject);
                let by_hand = event.actor.role != Role::Custody;
                let how = if by_hand {
                    match &started.facilitator {
                        Some(name) => format!("released by the facilitator, {name}"),
                        None => "released by the facilitator".to_owned(),
                    }
                } else {
                    match inject.map(|i| (&i.at, i.after)) {
                        Some((Some(step), None)) => format!(
                            "fired when step \"{}\" started",
                            step_ref(runbook, state, step).title
                        ),
                        Some((None, Some(after))) => format!(
                            "fired {} after the start (exercise time)",
                            duration_text(i64::try_from(after.as_secs()).unwrap_or(i64::MAX))
                        ),
                        Some((Some(step), Some(after))) => format!(
                            "fired {} after step \"{}\" started (exercise time)",
                            duration_text(i64::try_from(after.as_secs()).unwrap_or(i64::MAX)),
                            step_ref(runbook, state, step).title
                        ),
                        _ => "fired by custody on the exercise clock".to_owned(),
                    }
                };
                let number = out.iter().filter(|i| i.number.is_some()).count() + 1;
                out.push(InjectResult {
                    number: Some(number),
                    id: r.inject.clone(),
                    title: r.title.clone(),
                    status: "released",
                    released_by: Some(if by_hand { "facilitator" } else { "custody" }),
                    how,
                    released: Some(times.of(event)),
                    at_step: event.step.as_deref().map(|s| step_ref(runbook, state, s)),
                    body: r.body.clone(),
                    prompt: r.prompt.clone(),
                    answered: None,
                    answered_by: None,
                    answer: None,
                    response_secs: None,
                    response_real_secs: None,
                    expect: inject
                        .and_then(|i| i.expect.as_ref())
                        .map(|e| reflow(&render(state, e))),
                    sources: inject.map(|i| sources(&i.sources)).unwrap_or_default(),
                });
            }
            Body::InjectAnswered(a) => {
                let at = times.of(event);
                if let Some(i) = out
                    .iter_mut()
                    .find(|i| i.id == a.inject && i.answered.is_none())
                {
                    if let Some(released) = &i.released {
                        i.response_secs = Some(at.elapsed_secs - released.elapsed_secs);
                        i.response_real_secs = match (&released.real, &at.real) {
                            (Some(r), Some(w)) => Some((w.utc - r.utc).num_seconds()),
                            _ => None,
                        };
                    }
                    i.answered = Some(at);
                    i.answered_by = Some(
                        a.by.clone()
                            .unwrap_or_else(|| format!("{} (operator)", started.operator)),
                    );
                    i.answer = Some(a.answer.clone());
                }
            }
            _ => {}
        }
    }
    for inject in &runbook.injects {
        if out.iter().any(|i| i.id == inject.id) {
            continue;
        }
        let how = match (&inject.at, inject.after) {
            (Some(step), _) if state.step(step).and_then(|s| s.started).is_none() => format!(
                "not released: the team never reached step \"{}\"",
                step_ref(runbook, state, step).title
            ),
            (None, None) => "not released: the facilitator did not release it".to_owned(),
            _ => "not released: its time had not come by the last event".to_owned(),
        };
        out.push(InjectResult {
            number: None,
            id: inject.id.clone(),
            title: render(state, &inject.title),
            status: "not_released",
            released_by: None,
            how,
            released: None,
            at_step: None,
            body: inject.body.as_ref().map(|b| render(state, b)),
            prompt: inject.prompt.as_ref().map(|p| render(state, p)),
            answered: None,
            answered_by: None,
            answer: None,
            response_secs: None,
            response_real_secs: None,
            expect: inject.expect.as_ref().map(|e| reflow(&render(state, e))),
            sources: sources(&inject.sources),
        });
    }
    out
}

// ---- Several sessions ------------------------------------------------------------------------

fn compare(reviews: &[SessionReview]) -> Comparison {
    let script = |s: &SessionReview| {
        (
            s.runbook.id.clone(),
            s.runbook.version.clone(),
            s.scenario
                .as_ref()
                .map(|sc| (sc.id.clone(), sc.version.clone())),
        )
    };
    let same_script = reviews.iter().all(|s| script(s) == script(&reviews[0]));
    // The milestones every session has, in the first session's order.
    let shared: Vec<&MilestoneResult> = reviews[0]
        .milestones
        .iter()
        .filter(|m| {
            reviews
                .iter()
                .all(|s| s.milestones.iter().any(|o| o.id == m.id))
        })
        .collect();
    let note = (!same_script).then(|| {
        let mut note = "The sessions follow different runbooks, scenarios or versions of them: \
                        only the milestones they share (by id) are compared"
            .to_owned();
        if shared.is_empty() {
            note.push_str(", and they share none");
        }
        note.push('.');
        note
    });
    let mut rows = Vec::new();
    let mut row = |label: &str, cell: &dyn Fn(&SessionReview) -> Cell| {
        rows.push(ComparisonRow {
            label: label.to_owned(),
            cells: reviews.iter().map(cell).collect(),
        });
    };
    let plain = |text: String| Cell {
        text,
        status: "neutral",
    };
    row("Session", &|s| plain(s.session.clone()));
    row("Operator", &|s| plain(s.operator.clone()));
    row("Case", &|s| plain(s.case_id.clone()));
    row("Participants", &|s| {
        plain(if s.participants.is_empty() {
            "-".to_owned()
        } else {
            s.participants
                .iter()
                .map(|p| format!("{} ({})", p.name, p.role))
                .collect::<Vec<_>>()
                .join(", ")
        })
    });
    row("Runbook", &|s| {
        plain(format!("{} {}", s.runbook.id, s.runbook.version))
    });
    row("Scenario", &|s| {
        plain(s.scenario.as_ref().map_or_else(
            || "none".to_owned(),
            |sc| format!("{} {}", sc.id, sc.version),
        ))
    });
    row("Started (UTC)", &|s| {
        plain(s.started.real.map(|r| r.utc_text()).unwrap_or_default())
    });
    row("Total, exercise time", &|s| {
        plain(duration_text(s.figures.exercise_secs))
    });
    row("Total, real time", &|s| {
        plain(duration_text(s.figures.real_secs))
    });
    for m in &shared {
        let label = format!("{} {}", m.key, m.label);
        row(&label, &|s| {
            let Some(r) = s.milestones.iter().find(|o| o.id == m.id) else {
                return plain("-".to_owned());
            };
            let time = r.elapsed_secs.map(duration_text);
            match (r.status, time) {
                ("met", Some(t)) => Cell {
                    text: format!("{t} (met)"),
                    status: "good",
                },
                ("reached", Some(t)) => plain(t),
                ("late", Some(t)) => Cell {
                    text: format!(
                        "{t} (LATE by {})",
                        duration_text(r.late_by_secs.unwrap_or(0))
                    ),
                    status: "alarm",
                },
                ("met", None) => Cell {
                    text: "met".to_owned(),
                    status: "good",
                },
                _ => Cell {
                    text: "NOT REACHED".to_owned(),
                    status: "alarm",
                },
            }
        });
    }
    row("Milestones met", &|s| {
        ratio(s.figures.milestones_met, s.figures.milestones)
    });
    row("Decisions as expected", &|s| {
        ratio(
            s.figures.decisions_as_expected,
            s.figures.decisions_with_expectation,
        )
    });
    row("Deadlines missed or met late", &|s| Cell {
        text: format!("{} of {}", s.figures.deadlines_missed, s.figures.deadlines),
        status: if s.figures.deadlines_missed == 0 {
            "good"
        } else {
            "alarm"
        },
    });
    row("Injects answered", &|s| {
        ratio(s.figures.injects_answered, s.figures.injects_released)
    });
    row("Mean response to an inject", &|s| {
        plain(
            s.figures
                .response_mean_secs
                .map_or_else(|| "-".to_owned(), duration_text),
        )
    });
    row("Slowest response to an inject", &|s| {
        plain(
            s.figures
                .response_max_secs
                .map_or_else(|| "-".to_owned(), duration_text),
        )
    });
    row("Steps skipped", &|s| Cell {
        text: s.figures.skipped.to_string(),
        status: if s.figures.skipped == 0 {
            "neutral"
        } else {
            "caution"
        },
    });
    row("Notes (lessons)", &|s| plain(s.figures.notes.to_string()));
    row("Clock changes", &|s| {
        plain(s.figures.clock_changes.to_string())
    });
    row("Journal", &|s| Cell {
        text: if s.verification.verified {
            "verified".to_owned()
        } else {
            "NOT VERIFIED".to_owned()
        },
        status: if s.verification.verified {
            "good"
        } else {
            "alarm"
        },
    });
    Comparison {
        same_script,
        note,
        columns: reviews
            .iter()
            .map(|s| format!("#{} {}", s.number, s.label))
            .collect(),
        rows,
    }
}

fn ratio(good: usize, of: usize) -> Cell {
    Cell {
        text: format!("{good} of {of}"),
        status: if of == 0 {
            "neutral"
        } else if good == of {
            "good"
        } else {
            "caution"
        },
    }
}

// ---- Texts -----------------------------------------------------------------------------------

/// A scenario's text (a briefing, an inject's guidance, a choice's why) as it reads, rather
/// than as the TOML file wraps it: the lines of a paragraph joined, each list item (`- `) on a
/// line of its own with its continuation lines joined to it, lines indented by four spaces or
/// more (a path, a command) kept as they are, and paragraphs separated by an empty line.
pub fn reflow(text: &str) -> String {
    let mut paragraphs = Vec::new();
    for paragraph in text.trim().split("\n\n") {
        let mut lines: Vec<String> = Vec::new();
        let mut joinable = false;
        for line in paragraph.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with("    ") {
                lines.push(line.trim_end().to_owned());
                joinable = false;
            } else if line.trim_start().starts_with("- ") || !joinable {
                lines.push(line.trim().to_owned());
                joinable = true;
            } else if let Some(last) = lines.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        }
        if !lines.is_empty() {
            paragraphs.push(lines.join("\n"));
        }
    }
    paragraphs.join("\n\n")
}

/// The points of a text written as a list (every line begins with `- `), without their marks.
pub fn points(text: &str) -> Option<Vec<&str>> {
    let lines: Vec<&str> = text.lines().collect();
    (!lines.is_empty() && lines.iter().all(|l| l.starts_with("- ")))
        .then(|| lines.iter().map(|l| &l[2..]).collect())
}

/// Exercise time since the start: `+0:05:00`, `+20:10:07`, `+1d 04:00:00`.
pub fn elapsed_text(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "+" };
    let s = secs.unsigned_abs();
    let (days, rest) = (s / 86_400, s % 86_400);
    let (h, m, sec) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut out = String::from(sign);
    if days > 0 {
        let _ = write!(out, "{days}d {h:02}:{m:02}:{sec:02}");
    } else {
        let _ = write!(out, "{h}:{m:02}:{sec:02}");
    }
    out
}

/// A duration in words a facilitator reads at a glance: `45s`, `5m 07s`, `1h 05m`, `2d 4h`.
pub fn duration_text(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let body = if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        match s % 60 {
            0 => format!("{}m", s / 60),
            r => format!("{}m {r:02}s", s / 60),
        }
    } else if s < 86_400 {
        let (h, m, r) = (s / 3600, s % 3600 / 60, s % 60);
        match (m, r) {
            (0, 0) => format!("{h}h"),
            (m, 0) => format!("{h}h {m:02}m"),
            (m, r) => format!("{h}h {m:02}m {r:02}s"),
        }
    } else {
        let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
        match (h, m) {
            (0, 0) => format!("{d}d"),
            (h, 0) => format!("{d}d {h}h"),
            (h, m) => format!("{d}d {h}h {m:02}m"),
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_text_is_reflowed_and_lists_kept() {
        assert_eq!(
            reflow("A story\nwrapped here.\n\n    /srv/x\nand on.\n"),
            "A story wrapped here.\n\n    /srv/x\nand on."
        );
        let expect = reflow("- One point,\n  wrapped.\n- Two.\n");
        assert_eq!(expect, "- One point, wrapped.\n- Two.");
        assert_eq!(points(&expect), Some(vec!["One point, wrapped.", "Two."]));
        assert_eq!(points("Not a list.\n- but this"), None);
    }

    #[test]
    fn elapsed_and_durations_read_naturally() {
        assert_eq!(elapsed_text(0), "+0:00:00");
        assert_eq!(elapsed_text(305), "+0:05:05");
        assert_eq!(elapsed_text(20 * 3600 + 607), "+20:10:07");
        assert_eq!(elapsed_text(86_400 + 4 * 3600), "+1d 04:00:00");
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(300), "5m");
        assert_eq!(duration_text(307), "5m 07s");
        assert_eq!(duration_text(3900), "1h 05m");
        assert_eq!(duration_text(7200), "2h");
        assert_eq!(duration_text(3601), "1h 00m 01s");
        assert_eq!(duration_text(2 * 86_400 + 4 * 3600), "2d 4h");
        assert_eq!(duration_text(-90), "-1m 30s");
    }
}
