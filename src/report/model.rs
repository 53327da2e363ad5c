//! The report's content, computed from the journal and the runbook copy alone: no clock, no
//! host, no file is read here. Every format is drawn from this one model, so that the
//! Markdown, the HTML page, the JSON and the PDF always say the same thing; the JSON is this
//! model serialised (its schema is `docs/report.schema.json`).
//!
//! Text from outside (names, notes, reasons, paths, references) is kept here exactly as
//! recorded; each format makes it safe for itself (see [`super::text`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, Offset as _, SecondsFormat, Utc};
use serde::Serialize;

use crate::journal::event::{
    Body, ClockState, ContactMade, ContactPurpose, Event, FileRef, Mode, Party, Role,
    SessionStarted,
};
use crate::runbook::{Fact, FieldKind, Runbook, StepKind};
use crate::session::deadline::{self, Status as DeadlineStatus};
use crate::session::{State, StepStatus};

/// The schema's name, in every JSON report.
pub const SCHEMA: &str = "custody-report";
/// The schema's version: raised whenever a member is removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// A moment, as the journal has it: UTC and the machine's offset from it at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub utc: DateTime<Utc>,
    pub offset: FixedOffset,
}

impl Stamp {
    pub fn of(event: &Event) -> Self {
        Self {
            utc: event.time,
            offset: event.offset,
        }
    }

    /// `2026-11-23 09:15:02 UTC`
    pub fn utc_text(&self) -> String {
        self.utc.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }

    /// `10:15:02 +01:00` (with the date when it differs from the UTC date).
    pub fn local_text(&self) -> String {
        let local = self.utc.with_timezone(&self.offset);
        if local.date_naive() == self.utc.date_naive() {
            local.format("%H:%M:%S %:z").to_string()
        } else {
            local.format("%Y-%m-%d %H:%M:%S %:z").to_string()
        }
    }

    /// `2026-11-23 09:15:02 UTC (10:15:02 +01:00 local)`
    pub fn text(&self) -> String {
        format!("{} ({} local)", self.utc_text(), self.local_text())
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Stamp", 3)?;
        st.serialize_field(
            "utc",
            &self.utc.to_rfc3339_opts(SecondsFormat::Micros, true),
        )?;
        st.serialize_field("offset", &self.offset.to_string())?;
        st.serialize_field(
            "local",
            &self
                .utc
                .with_timezone(&self.offset)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
        )?;
        st.end()
    }
}

/// Someone who did something in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Who {
    /// `operator`, `witness`, `facilitator` or `custody` (the program itself).
    pub role: &'static str,
    pub name: Option<String>,
}

impl Who {
    fn of(event: &Event) -> Self {
        Self {
            role: role_name(event.actor.role),
            name: event.actor.name.clone(),
        }
    }

    /// `A. Jansen (operator)`, or `custody` for the program.
    pub fn text(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.role),
            None => self.role.to_owned(),
        }
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

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub schema_version: u32,
    /// The program that rendered the report.
    pub generator: Generator,
    /// An exercise: every page and every file name says so.
    pub exercise: bool,
    /// The document's title.
    pub title: String,
    pub case: Case,
    pub runbook: RunbookInfo,
    pub summary: Summary,
    pub actors: Vec<Participant>,
    pub parties: Vec<OutsideParty>,
    pub systems: Vec<System>,
    pub timeline: Vec<Entry>,
    pub decisions: Vec<Decision>,
    pub records: Vec<Record>,
    pub notes: Vec<Note>,
    pub skipped: Vec<Skip>,
    pub evidence: Vec<Evidence>,
    pub commands: Vec<Command>,
    pub custody: Vec<Transfer>,
    pub disclosures: Vec<Disclosure>,
    pub injects: Vec<Inject>,
    pub statements: Statements,
    pub integrity: Integrity,
    /// Lines to sign on paper.
    pub signatures: Vec<SignatureLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Generator {
    pub name: String,
    pub version: String,
}

/// Who, what and where the session was.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub case_id: String,
    pub session: String,
    /// `real` or `exercise`.
    pub mode: &'static str,
    pub jurisdiction: String,
    /// The jurisdiction's name in the runbook, when it lists it.
    pub jurisdiction_name: Option<String>,
    /// The machine custody ran on.
    pub host: String,
    pub timezone: Option<String>,
    pub operator: String,
    pub witness: Option<String>,
    pub facilitator: Option<String>,
    pub started: Stamp,
    /// The last event the report covers: what "now" means in it.
    pub last_event: Stamp,
    /// The machine clock's state when the session started.
    pub clock: ClockInfo,
    /// The variables' values given at the start.
    pub variables: BTreeMap<String, String>,
    /// The program that wrote the journal.
    pub recorded_with: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClockInfo {
    pub source: String,
    pub synchronised: Option<bool>,
    pub estimated_error_us: Option<i64>,
    pub maximum_error_us: Option<i64>,
    /// In plain words.
    pub text: String,
}

impl ClockInfo {
    fn of(clock: &ClockState) -> Self {
        let text = match (clock.synchronised, clock.maximum_error_us) {
            (Some(true), Some(max)) => format!(
                "synchronised (source: {}; maximum error {})",
                clock.source,
                micros_text(max)
            ),
            (Some(true), None) => format!("synchronised (source: {})", clock.source),
            (Some(false), _) => format!(
                "NOT synchronised when the session started (source: {}); times may be off",
                clock.source
            ),
            (None, _) => {
                "unknown: the machine did not say whether its clock was synchronised".to_owned()
            }
        };
        Self {
            source: clock.source.clone(),
            synchronised: clock.synchronised,
            estimated_error_us: clock.estimated_error_us,
            maximum_error_us: clock.maximum_error_us,
            text,
        }
    }
}

#[allow(clippy::cast_precision_loss)] // a clock error in seconds, shown to one decimal
fn micros_text(us: i64) -> String {
    if us.abs() >= 1_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us.abs() >= 1000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{us} µs")
    }
}

/// The runbook followed, as copied into the session folder.
#[derive(Debug, Clone, Serialize)]
pub struct RunbookInfo {
    pub id: String,
    pub version: String,
    pub title: String,
    pub language: String,
    /// The copy's file in the session folder and its SHA-256 as recorded at the start.
    pub file: String,
    pub sha256: String,
    /// When the runbook's legal content was last reviewed, as the runbook says.
    pub reviewed: Option<String>,
    pub sources: Vec<SourceInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub id: String,
    pub title: String,
    pub url: Option<String>,
}

/// The management summary: what a manager reads in two minutes.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Plain sentences, in order: what was found, where, what was done, the status.
    pub overview: Vec<String>,
    pub status: Status,
    /// The facts recorded for the summary, in the order of [`Fact`].
    pub facts: Vec<FactValue>,
    /// Official reports made (police, hotline ...), with their references.
    pub reports: Vec<Disclosure>,
    /// People and organisations told.
    pub informed: Vec<Disclosure>,
    pub deadlines: Vec<DeadlineInfo>,
    /// What is still to do, in plain words.
    pub open_actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// `sealed`, `completed`, `paused` or `in_progress`.
    pub code: &'static str,
    pub text: String,
    /// The step being worked on, while the runbook is not finished.
    pub current_step: Option<StepRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRef {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactValue {
    pub fact: Fact,
    /// The question as the runbook asked it.
    pub label: String,
    /// As recorded (date-times in RFC 3339, UTC).
    pub value: String,
    /// As shown in the report.
    pub shown: String,
    pub step: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineInfo {
    pub id: String,
    pub label: String,
    /// `met`, `met_late`, `missed`, `open`, `not_started`, `period_running` or
    /// `period_ended`, as of the last event.
    pub status: &'static str,
    pub from: Option<Stamp>,
    pub due: Option<Stamp>,
    pub met: Option<Stamp>,
    /// In plain words.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub role: &'static str,
    pub name: Option<String>,
    /// Events recorded by this person.
    pub events: u64,
    pub first: Option<Stamp>,
    pub last: Option<Stamp>,
}

/// Someone outside the session named in it: a person spoken to, a party to a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutsideParty {
    pub name: String,
    pub role: Option<String>,
    pub organisation: Option<String>,
    /// How they appear: `contact` or `custody transfer`.
    pub context: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct System {
    pub name: String,
    /// Where the report has it from.
    pub source: String,
}

/// One event of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub time: Stamp,
    pub actor: Who,
    pub step: Option<StepRef>,
    pub kind: &'static str,
    /// What happened, in plain words.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub step: StepRef,
    pub choice: String,
    pub label: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub step: StepRef,
    pub fields: Vec<RecordedField>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordedField {
    pub id: String,
    pub label: String,
    /// As recorded (date-times in RFC 3339, UTC).
    pub value: String,
    /// As shown in the report.
    pub shown: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub step: Option<StepRef>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub step: StepRef,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub step: Option<StepRef>,
    pub paths: Vec<String>,
    pub files: u64,
    pub bytes: u64,
    /// The manifest in the session folder listing every file with its hashes.
    pub manifest: Option<FileInfo>,
    /// The `SHA256SUMS` file of the hashed files.
    pub sums: Option<FileInfo>,
    /// The first entries that could not be read, with the reason.
    pub errors: Vec<String>,
    /// How many entries could not be read.
    pub error_count: u64,
    pub cancelled: bool,
    /// The hash functions computed for every file.
    pub algorithms: Vec<String>,
    pub dirs: u64,
    pub links: u64,
    pub other: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

impl FileInfo {
    fn of(f: &FileRef) -> Self {
        Self {
            file: f.file.clone(),
            size: f.size,
            sha256: f.sha256.to_hex(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Command {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub step: Option<StepRef>,
    pub argv: Vec<String>,
    /// The runbook marks the command as changing the system (e.g. restricting access).
    pub changes_system: bool,
    pub started: String,
    pub duration_ms: u64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: Option<FileInfo>,
    pub stderr: Option<FileInfo>,
    pub error: Option<String>,
    /// How it ended, in plain words.
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub items: String,
    pub from: Party,
    pub to: Party,
    /// When the hand-over happened, when given apart from the time it was recorded.
    pub at: Option<String>,
    /// Where the items are now.
    pub location: String,
}

/// One entry of the disclosure register: who was told what, when, by whom.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosure {
    pub seq: u64,
    /// When it was recorded.
    pub time: Stamp,
    pub by: Who,
    pub step: Option<StepRef>,
    /// `report` (an official report) or `inform`.
    pub purpose: &'static str,
    /// The jurisdiction role (`police`, `hotline` ...).
    pub role: Option<String>,
    pub to: String,
    pub channel: String,
    /// When it was made, as the operator gave it (apart from the time it was recorded).
    pub at: Option<String>,
    /// `at` read as a moment, when it is one: the time the report or the telling happened.
    pub made: Option<Stamp>,
    pub reference: Option<String>,
    pub person: Option<String>,
    pub notes: Option<String>,
}

impl Disclosure {
    /// When the report was made or the person told: the time the operator gave, else the
    /// time it was recorded.
    pub fn when(&self) -> Stamp {
        self.made.unwrap_or(self.time)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Inject {
    pub seq: u64,
    pub time: Stamp,
    pub by: Who,
    pub id: String,
    pub title: String,
}

/// The explicit statements an investigator looks for.
#[derive(Debug, Clone, Serialize)]
pub struct Statements {
    pub viewed: Statement,
    pub changed: Statement,
    /// What custody itself did and did not do.
    pub custody: Vec<String>,
    /// Commands the runbook marks as changing the system, by event number.
    pub system_changes: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    /// `yes`, `no`, `not_recorded` (asked, not answered yet) or `not_asked` (the runbook
    /// does not ask).
    pub answer: &'static str,
    pub details: Option<String>,
    /// The statement in plain words.
    pub text: String,
    /// The event that recorded the answer.
    pub seq: Option<u64>,
}

/// What the check of the journal found, for the integrity statement.
#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    /// The chain, the runbook copy and any signature check out.
    pub verified: bool,
    pub events: u64,
    pub bytes: u64,
    pub first_event: Stamp,
    pub last_event: Stamp,
    /// The hash of the last event the report covers: the value to write down and compare.
    pub final_hash: String,
    /// The first thing wrong, if anything.
    pub problem: Option<String>,
    /// When the record did not verify: what a reader must know first, in one paragraph.
    pub warning: Option<String>,
    pub sealed: Option<SealInfo>,
    /// `sealed`, `open`, `sealing` (the report is written by the seal, which follows it in the
    /// journal) or `unknown` (the journal is damaged before any seal could be read).
    pub sealing: &'static str,
    /// The signature, in plain words.
    pub signature: String,
    pub signed_by: Option<String>,
    /// The runbook copy against the hash recorded at the start, in plain words.
    pub runbook_copy: String,
    /// Torn last lines set aside by journaled recoveries.
    pub recoveries: u64,
    /// Times the program stopped without quitting and work was taken up again.
    pub interruptions: u32,
    pub notes: Vec<String>,
    /// Commands that check the record again.
    pub how_to_verify: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SealInfo {
    pub time: Stamp,
    pub seq: u64,
    /// The runbook was followed to an end step.
    pub complete: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureLine {
    pub role: &'static str,
    pub name: Option<String>,
}

/// What the check of the session folder found, given to [`build`] (the only input that is
/// not the journal's events or the runbook).
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The chain, the runbook copy and any signature check out.
    pub verified: bool,
    /// The journal is damaged before any seal could be read: whether it was sealed is unknown.
    pub sealing_unknown: bool,
    pub bytes: u64,
    pub problem: Option<String>,
    pub signature: String,
    pub runbook_copy: String,
    pub notes: Vec<String>,
    /// The report is written by the seal: the journal's next events record its hashes and
    /// then seal the record (see [`crate::report::write_into_session`]).
    pub for_seal: bool,
}

/// Builds the report of `events` (the whole journal, in order, from `session_started`), with
/// the runbook the session followed (`None` when its copy cannot be read: step titles are
/// then their ids). `None` if the events do not begin with `session_started`.
pub fn build(events: &[Event], runbook: Option<&Runbook>, checked: &Checked) -> Option<Report> {
    let first = events.first()?;
    let Body::SessionStarted(started) = &first.body else {
        return None;
    };
    let last = events.last().unwrap_or(first);
    let empty;
    let runbook = if let Some(r) = runbook {
        r
    } else {
        empty = placeholder_runbook(started);
        &empty
    };
    let state = State::replay(runbook, events)?;
    let titles = Titles {
        runbook,
        state: &state,
    };
    let mut b = Builder {
        started,
        runbook,
        titles,
        state: &state,
        report: skeleton(started, first, last, runbook),
        participants: BTreeMap::new(),
        seal: None,
    };
    for event in events {
        b.event(event);
    }
    b.finish(events, checked);
    Some(b.report)
}

/// Step titles with the session's variables filled in.
struct Titles<'a> {
    runbook: &'a Runbook,
    state: &'a State,
}

impl Titles<'_> {
    /// Runbook text with the session's variables filled in, as the operator saw it at the end.
    fn render(&self, template: &crate::runbook::template::Template) -> String {
        template.render(|name| {
            std::borrow::Cow::Owned(
                self.state
                    .variable(name)
                    .map_or_else(|| format!("{{{{{name}}}}}"), str::to_owned),
            )
        })
    }

    fn step(&self, id: &str) -> StepRef {
        let title = self
            .runbook
            .step(id)
            .map_or_else(|| id.to_owned(), |s| self.render(&s.title));
        StepRef {
            id: id.to_owned(),
            title,
        }
    }

    /// The record step's fields in the runbook's order, then any the runbook does not know.
    fn ordered<'v>(
        &self,
        step: &str,
        values: &'v BTreeMap<String, String>,
    ) -> Vec<(&'v String, &'v String)> {
        let mut list: Vec<(&String, &String)> = values.iter().collect();
        if let Some(StepKind::Record { fields, .. }) = self.runbook.step(step).map(|s| &s.kind) {
            list.sort_by_key(|(id, _)| {
                fields
                    .iter()
                    .position(|f| &f.id == *id)
                    .unwrap_or(usize::MAX)
            });
        }
        list
    }

    /// A recorded value as shown: date-times in UTC with the local time beside.
    fn shown(&self, step: &str, field: &str, value: &str, offset: FixedOffset) -> String {
        if let Some(StepKind::Record { fields, .. }) = self.runbook.step(step).map(|s| &s.kind)
            && let Some(f) = fields.iter().find(|f| f.id == field)
            && matches!(f.kind, FieldKind::Datetime)
            && let Ok(t) = DateTime::parse_from_rfc3339(value)
        {
            return Stamp {
                utc: t.with_timezone(&Utc),
                offset,
            }
            .text();
        }
        value.to_owned()
    }

    fn of(&self, event: &Event) -> Option<StepRef> {
        event.step.as_deref().map(|id| self.step(id))
    }

    fn field_label(&self, step: &str, field: &str) -> (String, Option<Fact>) {
        if let Some(StepKind::Record { fields, .. }) = self.runbook.step(step).map(|s| &s.kind)
            && let Some(f) = fields.iter().find(|f| f.id == field)
        {
            return (self.render(&f.label), f.fact);
        }
        (field.to_owned(), None)
    }
}

struct Builder<'a> {
    started: &'a SessionStarted,
    runbook: &'a Runbook,
    titles: Titles<'a>,
    state: &'a State,
    report: Report,
    participants: BTreeMap<(&'static str, Option<String>), Participant>,
    seal: Option<SealInfo>,
}

pub(crate) fn placeholder_runbook(started: &SessionStarted) -> Runbook {
    Runbook {
        id: started.runbook.id.clone(),
        title: started.runbook.title.clone(),
        version: started.runbook.version.clone(),
        language: started.runbook.language.clone(),
        summary: String::new(),
        authors: Vec::new(),
        reviewed: None,
        translation_of: None,
        start: String::new(),
        sources: Vec::new(),
        variables: BTreeMap::new(),
        jurisdictions: BTreeMap::new(),
        deadlines: Vec::new(),
        injects: Vec::new(),
        milestones: Vec::new(),
        expected: Vec::new(),
        steps: Vec::new(),
    }
}

fn skeleton(started: &SessionStarted, first: &Event, last: &Event, runbook: &Runbook) -> Report {
    let exercise = started.mode == Mode::Exercise;
    let title = if exercise {
        format!("EXERCISE: {}", started.runbook.title)
    } else {
        started.runbook.title.clone()
    };
    let placeholder = Statement {
        answer: "not_asked",
        details: None,
        text: String::new(),
        seq: None,
    };
    Report {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        generator: Generator {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        exercise,
        title,
        case: Case {
            case_id: started.case_id.clone(),
            session: started.session.clone(),
            mode: match started.mode {
                Mode::Real => "real",
                Mode::Exercise => "exercise",
            },
            jurisdiction: started.jurisdiction.clone(),
            jurisdiction_name: runbook
                .jurisdictions
                .get(&started.jurisdiction)
                .map(|j| j.name.clone()),
            host: started.host.clone(),
            timezone: started.timezone.clone(),
            operator: started.operator.clone(),
            witness: started.witness.clone(),
            facilitator: started.facilitator.clone(),
            started: Stamp::of(first),
            last_event: Stamp::of(last),
            clock: ClockInfo::of(&started.clock),
            variables: started.variables.clone(),
            recorded_with: format!("{} {}", started.tool.name, started.tool.version),
        },
        runbook: RunbookInfo {
            id: started.runbook.id.clone(),
            version: started.runbook.version.clone(),
            title: started.runbook.title.clone(),
            language: started.runbook.language.clone(),
            file: started.runbook.file.clone(),
            sha256: started.runbook.sha256.to_hex(),
            reviewed: runbook.reviewed.clone(),
            sources: runbook
                .sources
                .iter()
                .map(|s| SourceInfo {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    url: s.url.clone(),
                })
                .collect(),
        },
        summary: Summary {
            overview: Vec::new(),
            status: Status {
                code: "in_progress",
                text: String::new(),
                current_step: None,
            },
            facts: Vec::new(),
            reports: Vec::new(),
            informed: Vec::new(),
            deadlines: Vec::new(),
            open_actions: Vec::new(),
        },
        actors: Vec::new(),
        parties: Vec::new(),
        systems: Vec::new(),
        timeline: Vec::new(),
        decisions: Vec::new(),
        records: Vec::new(),
        notes: Vec::new(),
        skipped: Vec::new(),
        evidence: Vec::new(),
        commands: Vec::new(),
        custody: Vec::new(),
        disclosures: Vec::new(),
        injects: Vec::new(),
        statements: Statements {
            viewed: placeholder.clone(),
            changed: placeholder,
            custody: Vec::new(),
            system_changes: Vec::new(),
        },
        integrity: Integrity {
            verified: false,
            events: 0,
            bytes: 0,
            first_event: Stamp::of(first),
            last_event: Stamp::of(last),
            final_hash: last.hash.to_hex(),
            problem: None,
            warning: None,
            sealed: None,
            sealing: "open",
            signature: String::new(),
            signed_by: None,
            runbook_copy: String::new(),
            recoveries: 0,
            interruptions: 0,
            notes: Vec::new(),
            how_to_verify: Vec::new(),
        },
        signatures: Vec::new(),
    }
}

impl Builder<'_> {
    fn event(&mut self, event: &Event) {
        let who = Who::of(event);
        let time = Stamp::of(event);
        let p = self
            .participants
            .entry((who.role, who.name.clone()))
            .or_insert_with(|| Participant {
                role: who.role,
                name: who.name.clone(),
                events: 0,
                first: None,
                last: None,
            });
        p.events += 1;
        p.first.get_or_insert(time);
        p.last = Some(time);

        let step = self.titles.of(event);
        let seq = event.seq;
        let text = self.describe(event);
        self.report.timeline.push(Entry {
            seq,
            time,
            actor: who.clone(),
            step: step.clone(),
            kind: event.body.kind(),
            text,
        });
        let r = &mut self.report;
        match &event.body {
            Body::DecisionMade(d) => r.decisions.push(Decision {
                seq,
                time,
                by: who,
                step: step.unwrap_or_else(unknown_step),
                choice: d.choice.clone(),
                label: d.label.clone(),
                reason: d.reason.clone(),
            }),
            Body::FieldsRecorded(f) => {
                let step_id = event.step.clone().unwrap_or_default();
                let mut fields = Vec::new();
                for (id, value) in self.titles.ordered(&step_id, &f.values) {
                    let (label, fact) = self.titles.field_label(&step_id, id);
                    let shown = self.titles.shown(&step_id, id, value, event.offset);
                    if let Some(fact) = fact {
                        // The latest answer counts, as in the session's state.
                        r.summary.facts.retain(|v| v.fact != fact);
                        r.summary.facts.push(FactValue {
                            fact,
                            label: label.clone(),
                            value: value.clone(),
                            shown: shown.clone(),
                            step: step_id.clone(),
                            seq,
                        });
                    }
                    fields.push(RecordedField {
                        id: id.clone(),
                        label,
                        value: value.clone(),
                        shown,
                    });
                }
                r.records.push(Record {
                    seq,
                    time,
                    by: who,
                    step: step.unwrap_or_else(unknown_step),
                    fields,
                });
            }
            Body::NoteAdded(n) => r.notes.push(Note {
                seq,
                time,
                by: who,
                step,
                text: n.text.clone(),
            }),
            Body::StepSkipped(s) => r.skipped.push(Skip {
                seq,
                time,
                by: who,
                step: step.unwrap_or_else(unknown_step),
                reason: s.reason.clone(),
            }),
            Body::EvidenceRecorded(e) => r.evidence.push(Evidence {
                seq,
                time,
                by: who,
                step,
                paths: e.paths.clone(),
                files: e.files,
                bytes: e.bytes,
                manifest: e.manifest.as_ref().map(FileInfo::of),
                sums: e.sums.as_ref().map(FileInfo::of),
                errors: e.errors.clone(),
                error_count: e.error_count(),
                cancelled: e.cancelled,
                algorithms: e.algorithms.clone(),
                dirs: e.dirs,
                links: e.links,
                other: e.other,
            }),
            Body::CommandRun(c) => {
                if c.changes_system {
                    r.statements.system_changes.push(seq);
                }
                r.commands.push(Command {
                    seq,
                    time,
                    by: who,
                    step,
                    argv: c.argv.clone(),
                    changes_system: c.changes_system,
                    started: c.started.to_rfc3339_opts(SecondsFormat::Micros, true),
                    duration_ms: c.duration_ms,
                    exit_code: c.exit_code,
                    signal: c.signal,
                    timed_out: c.timed_out,
                    stdout: c.stdout.as_ref().map(FileInfo::of),
                    stderr: c.stderr.as_ref().map(FileInfo::of),
                    error: c.error.clone(),
                    outcome: command_outcome(c),
                });
            }
            Body::ContactMade(c) => {
                if let Some(person) = &c.person {
                    push_party(
                        &mut r.parties,
                        OutsideParty {
                            name: person.clone(),
                            role: c.role.clone(),
                            organisation: Some(c.to.clone()),
                            context: "contact",
                        },
                    );
                }
                let d = disclosure(seq, time, who, step, c);
                match c.purpose {
                    ContactPurpose::Report => r.summary.reports.push(d.clone()),
                    ContactPurpose::Inform => r.summary.informed.push(d.clone()),
                }
                r.disclosures.push(d);
            }
            Body::CustodyTransferred(t) => {
                for party in [&t.from, &t.to] {
                    push_party(
                        &mut r.parties,
                        OutsideParty {
                            name: party.name.clone(),
                            role: party.role.clone(),
                            organisation: party.organisation.clone(),
                            context: "custody transfer",
                        },
                    );
                }
                r.custody.push(Transfer {
                    seq,
                    time,
                    by: who,
                    items: t.items.clone(),
                    from: t.from.clone(),
                    to: t.to.clone(),
                    at: t.at.clone(),
                    location: t.location.clone(),
                });
            }
            Body::InjectReleased(i) => r.injects.push(Inject {
                seq,
                time,
                by: who,
                id: i.inject.clone(),
                title: i.title.clone(),
            }),
            Body::Resumed(res) if res.host != self.started.host => {
                push_system(
                    &mut r.systems,
                    &res.host,
                    format!("custody resumed the session on it (event {seq})"),
                );
            }
            Body::Sealed(s) => {
                self.seal = Some(SealInfo {
                    time,
                    seq,
                    complete: s.complete,
                    note: s.note.clone(),
                });
                r.integrity.signed_by = s
                    .signed_by
                    .as_ref()
                    .map(|k| format!("minisign key {} ({})", k.key_id, k.public_key));
            }
            _ => {}
        }
    }

    /// What happened, in plain words, for the timeline.
    fn describe(&self, event: &Event) -> String {
        let step_title = || {
            event
                .step
                .as_deref()
                .map_or_else(|| "-".to_owned(), |id| self.titles.step(id).title)
        };
        match &event.body {
            Body::SessionStarted(s) => format!(
                "Session started on {} for case {}, following runbook {} version {} ({}), \
                 jurisdiction {}",
                s.host,
                s.case_id,
                s.runbook.id,
                s.runbook.version,
                match s.mode {
                    Mode::Real => "real incident",
                    Mode::Exercise => "EXERCISE",
                },
                s.jurisdiction
            ),
            Body::StepStarted(s) => {
                format!("Went back to step \"{}\": {}", step_title(), s.reason)
            }
            Body::ItemConfirmed(i) => format!("Confirmed: {}", i.text),
            Body::StepCompleted(c) => match &c.next {
                Some(_) => format!("Step done: {}", step_title()),
                None => format!("Runbook finished: {}", step_title()),
            },
            Body::DecisionMade(d) => format!("Decided: {}. Reason: {}", d.label, d.reason),
            Body::FieldsRecorded(f) => {
                let step = event.step.as_deref().unwrap_or_default();
                let parts: Vec<String> = self
                    .titles
                    .ordered(step, &f.values)
                    .into_iter()
                    .filter(|(_, v)| !v.trim().is_empty())
                    .map(|(id, v)| {
                        format!(
                            "{}: {}",
                            self.titles.field_label(step, id).0,
                            self.titles.shown(step, id, v, event.offset)
                        )
                    })
                    .collect();
                format!("Recorded: {}", parts.join("; "))
            }
            Body::NoteAdded(n) => format!("Note: {}", n.text),
            Body::StepSkipped(s) => format!("Skipped \"{}\". Reason: {}", step_title(), s.reason),
            Body::EvidenceRecorded(e) => {
                let mut text = format!(
                    "Evidence hashed: {} file(s), {} ({}){}",
                    e.files,
                    bytes_text(e.bytes),
                    e.paths.join(", "),
                    e.manifest
                        .as_ref()
                        .map(|m| format!("; manifest {} SHA-256 {}", m.file, m.sha256.to_hex()))
                        .unwrap_or_default()
                );
                if e.cancelled {
                    text.push_str("; CANCELLED before the end");
                }
                if e.error_count() > 0 {
                    let _ = write!(text, "; {} entries could not be read", e.error_count());
                }
                text
            }
            Body::CommandStarted(c) => format!(
                "Command started{}: {} (time limit {} s)",
                if c.changes_system {
                    " (CHANGES THE SYSTEM)"
                } else {
                    ""
                },
                c.argv.join(" "),
                c.timeout_secs
            ),
            Body::CommandRun(c) => format!(
                "Command run{}: {} ({})",
                if c.changes_system {
                    " (CHANGES THE SYSTEM)"
                } else {
                    ""
                },
                c.argv.join(" "),
                command_outcome(c)
            ),
            Body::ContactMade(c) => {
                let mut text = match c.purpose {
                    ContactPurpose::Report => format!("Reported to {} by {}", c.to, c.channel),
                    ContactPurpose::Inform => format!("Informed {} by {}", c.to, c.channel),
                };
                if let Some(r) = &c.reference {
                    let _ = write!(text, ", reference {r}");
                }
                if let Some(p) = &c.person {
                    let _ = write!(text, ", spoke with {p}");
                }
                if let Some(at) = &c.at {
                    let _ = write!(text, ", at {at}");
                }
                text
            }
            Body::CustodyTransferred(t) => format!(
                "Custody of {} passed from {} to {}; now at {}",
                t.items,
                party_text(&t.from),
                party_text(&t.to),
                t.location
            ),
            Body::InjectReleased(i) => format!("Exercise inject released: {}", i.title),
            Body::InjectAnswered(a) => {
                let mut text = format!("Answer to exercise inject {}: {}", a.inject, a.answer);
                if let Some(by) = &a.by {
                    let _ = write!(text, " (answered by {by})");
                }
                text
            }
            Body::ClockChanged(c) => {
                let mut text = crate::tui::describe::clock_change(c);
                if let Some(first) = text.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                text
            }
            Body::DeadlinePassed(d) => format!(
                "Deadline passed without being met: {} (due {}{})",
                d.label,
                Stamp {
                    utc: d.due,
                    offset: event.offset
                }
                .utc_text(),
                if self.started.mode == Mode::Exercise {
                    " on the exercise clock"
                } else {
                    ""
                }
            ),
            Body::Paused(p) => match &p.reason {
                Some(reason) => format!("Work paused: {reason}"),
                None => "Work paused".to_owned(),
            },
            Body::Resumed(r) => format!(
                "Work resumed on {} after {}{}",
                r.host,
                gap_text(r.gap_seconds),
                if r.interrupted {
                    " (the program had stopped without pausing)"
                } else {
                    ""
                }
            ),
            Body::Recovered(r) => format!(
                "A torn last line ({} bytes, never acknowledged) was set aside as {} \
                 (SHA-256 {})",
                r.length,
                r.saved_as,
                r.sha256.to_hex()
            ),
            Body::Sealed(s) => {
                let mut text = if s.complete {
                    "Record sealed, runbook followed to its end".to_owned()
                } else {
                    "Record sealed before the runbook's end".to_owned()
                };
                if let Some(k) = &s.signed_by {
                    let _ = write!(text, "; signed with minisign key {}", k.key_id);
                }
                if let Some(n) = &s.note {
                    let _ = write!(text, ". Note: {n}");
                }
                text
            }
            Body::ReportWritten(w) => {
                let files: Vec<String> = w
                    .files
                    .iter()
                    .map(|f| format!("{} (SHA-256 {})", f.file, f.sha256.to_hex()))
                    .collect();
                format!(
                    "Report of the events before this one written: {}",
                    files.join(", ")
                )
            }
        }
    }

    fn finish(&mut self, events: &[Event], checked: &Checked) {
        let state = self.state;
        let last = events.last().map_or(self.report.case.last_event, Stamp::of);
        let now = last.utc;

        // Participants: the journal's actors, and the people named at the start who did not
        // record anything themselves.
        let mut actors: Vec<Participant> = std::mem::take(&mut self.participants)
            .into_values()
            .collect();
        for (role, name) in [
            ("witness", &self.started.witness),
            ("facilitator", &self.started.facilitator),
        ] {
            if let Some(name) = name
                && !actors
                    .iter()
                    .any(|a| a.role == role && a.name.as_ref() == Some(name))
            {
                actors.push(Participant {
                    role,
                    name: Some(name.clone()),
                    events: 0,
                    first: None,
                    last: None,
                });
            }
        }
        let rank = |role: &str| {
            ["operator", "witness", "facilitator", "custody"]
                .iter()
                .position(|r| *r == role)
        };
        actors.sort_by(|a, b| rank(a.role).cmp(&rank(b.role)).then(a.name.cmp(&b.name)));
        self.report.actors = actors;

        // Systems: the host custody ran on, and the system recorded as holding the matter.
        let mut systems = vec![System {
            name: self.started.host.clone(),
            source: "custody ran on it (the session's host)".to_owned(),
        }];
        systems.append(&mut self.report.systems);
        if let Some(v) = self.fact(Fact::System) {
            let name = v.value.clone();
            push_system(
                &mut systems,
                &name,
                format!("recorded as the system holding it (event {})", v.seq),
            );
        }
        self.report.systems = systems;

        self.report.summary.facts.sort_by_key(|f| f.fact);
        self.report.statements = self.statements();
        // Deadlines count in session time: the exercise clock's in an exercise.
        self.report.summary.deadlines = self.deadlines(state.session_time(now));
        self.report.summary.status = self.status(checked.for_seal);
        self.report.summary.open_actions = self.open_actions(events);
        self.report.summary.overview = self.overview();
        self.report.integrity = self.integrity(events, checked);
        self.report.signatures = self.signature_lines();
        let _ = state;
    }

    fn fact(&self, fact: Fact) -> Option<&FactValue> {
        self.report.summary.facts.iter().find(|f| f.fact == fact)
    }

    fn asks(&self, fact: Fact) -> bool {
        self.runbook.steps.iter().any(|s| match &s.kind {
            StepKind::Record { fields, .. } => fields.iter().any(|f| f.fact == Some(fact)),
            _ => false,
        })
    }

    fn statement(&self, fact: Fact, details: Fact, yes: &str, no: &str, what: &str) -> Statement {
        let details = self
            .fact(details)
            .map(|d| d.value.clone())
            .filter(|d| !d.trim().is_empty());
        match self.fact(fact) {
            Some(v) => {
                let answer = match v.value.trim() {
                    "yes" => "yes",
                    "no" => "no",
                    _ => "not_recorded",
                };
                let text = match answer {
                    "yes" => yes.to_owned(),
                    "no" => no.to_owned(),
                    _ => format!("The answer recorded to \"{}\" is \"{}\".", v.label, v.value),
                };
                Statement {
                    answer,
                    details,
                    text,
                    seq: Some(v.seq),
                }
            }
            None if self.asks(fact) => Statement {
                answer: "not_recorded",
                details: None,
                text: format!(
                    "Not recorded: the runbook asks {what}, but no answer had been recorded by \
                     the last event."
                ),
                seq: None,
            },
            None => Statement {
                answer: "not_asked",
                details: None,
                text: format!(
                    "Not recorded: this runbook does not ask {what}; the report cannot state it."
                ),
                seq: None,
            },
        }
    }

    fn statements(&self) -> Statements {
        let viewed = self.statement(
            Fact::Viewed,
            Fact::ViewedDetails,
            "YES: it was recorded that someone viewed some of the material. The details \
             recorded follow.",
            "No one viewed the material, as recorded by the operator.",
            "whether anyone viewed the material",
        );
        let changed = self.statement(
            Fact::Changed,
            Fact::ChangedDetails,
            "YES: it was recorded that something was deleted, moved or changed after the \
             discovery. The details recorded follow.",
            "Nothing was deleted, moved or changed after the discovery, as recorded by the \
             operator.",
            "whether anything was deleted or changed",
        );
        let mut custody = vec![
            "custody never displays, previews or opens the content of evidence; it reads \
             evidence files only to compute their hashes."
                .to_owned(),
            "custody never deletes or modifies evidence and sends nothing over a network."
                .to_owned(),
        ];
        let system_changes = &self.report.statements.system_changes;
        custody.push(if system_changes.is_empty() {
            "No command that the runbook marks as changing the system was run.".to_owned()
        } else {
            format!(
                "Commands marked as changing the system were run (events {}); see the \
                 commands section.",
                system_changes
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        Statements {
            viewed,
            changed,
            custody,
            system_changes: system_changes.clone(),
        }
    }

    fn deadlines(&self, now: DateTime<Utc>) -> Vec<DeadlineInfo> {
        let offset = self.report.case.last_event.offset;
        // In an exercise, deadlines count on the exercise clock: say so beside each time.
        let clock = if self.report.exercise {
            " on the exercise clock"
        } else {
            ""
        };
        let stamp = |utc: DateTime<Utc>| Stamp { utc, offset };
        let text = |utc: DateTime<Utc>| format!("{}{clock}", stamp(utc).utc_text());
        deadline::deadlines(self.runbook, self.state, now)
            .into_iter()
            .map(|d| {
                let (status, met, text) = match d.status {
                    DeadlineStatus::Met { at, late: false } => {
                        ("met", Some(at), format!("met at {}", text(at)))
                    }
                    DeadlineStatus::Met { at, late: true } => (
                        "met_late",
                        Some(at),
                        format!(
                            "met LATE at {} ({} after it was due)",
                            text(at),
                            d.due
                                .map_or_else(String::new, |due| gap_text((at - due).num_seconds()))
                        ),
                    ),
                    DeadlineStatus::Overdue => (
                        "missed",
                        None,
                        format!(
                            "MISSED: due {}, not met by the last event",
                            d.due.map(text).unwrap_or_default()
                        ),
                    ),
                    DeadlineStatus::Running | DeadlineStatus::Warning => (
                        "open",
                        None,
                        format!("open: due {}", d.due.map(text).unwrap_or_default()),
                    ),
                    DeadlineStatus::NotStarted => (
                        "not_started",
                        None,
                        "not started: the step it counts from was not reached".to_owned(),
                    ),
                    DeadlineStatus::PeriodRunning => (
                        "period_running",
                        None,
                        format!("runs until {}", d.due.map(text).unwrap_or_default()),
                    ),
                    DeadlineStatus::PeriodEnded => (
                        "period_ended",
                        None,
                        format!("ended {}", d.due.map(text).unwrap_or_default()),
                    ),
                };
                DeadlineInfo {
                    id: d.deadline.id.clone(),
                    label: d.deadline.label.clone(),
                    status,
                    from: d.from.map(stamp),
                    due: d.due.map(stamp),
                    met: met.map(stamp),
                    text,
                }
            })
            .collect()
    }

    fn status(&self, for_seal: bool) -> Status {
        let state = self.state;
        let current = state.current.as_deref().map(|id| self.titles.step(id));
        let (code, text) = match (&self.seal, state.finished) {
            (Some(seal), true) => (
                "sealed",
                format!(
                    "Runbook followed to its end; record sealed at {}.",
                    seal.time.utc_text()
                ),
            ),
            (Some(seal), false) => (
                "sealed",
                format!(
                    "Record sealed at {} before the runbook's end.",
                    seal.time.utc_text()
                ),
            ),
            (None, true) if for_seal => (
                "completed",
                "Runbook followed to its end; this report was written as the record was \
                 sealed: the journal seals it right after recording this report's hashes."
                    .to_owned(),
            ),
            (None, true) => (
                "completed",
                "Runbook followed to its end; the record was not sealed at the time of this \
                 report."
                    .to_owned(),
            ),
            (None, false) if state.paused => (
                "paused",
                format!(
                    "Work is paused at step \"{}\"; the runbook is not finished.",
                    current.as_ref().map_or("-", |c| c.title.as_str())
                ),
            ),
            (None, false) => (
                "in_progress",
                format!(
                    "In progress at step \"{}\"; the runbook is not finished.",
                    current.as_ref().map_or("-", |c| c.title.as_str())
                ),
            ),
        };
        Status {
            code,
            text,
            current_step: if state.finished { None } else { current },
        }
    }

    fn open_actions(&self, events: &[Event]) -> Vec<String> {
        let mut open = Vec::new();
        let state = self.state;
        if !state.finished
            && let Some(step) = &self.report.summary.status.current_step
        {
            open.push(format!(
                "Finish the runbook: the current step is \"{}\".",
                step.title
            ));
        }
        for d in &self.report.summary.deadlines {
            match d.status {
                "missed" | "open" => open.push(format!("{}: {}.", d.label, d.text)),
                "period_running" => open.push(format!(
                    "Keep to this until {}: {}.",
                    d.due.map(|t| t.utc_text()).unwrap_or_default(),
                    d.label
                )),
                _ => {}
            }
        }
        for (id, s) in &state.steps {
            if s.status == StepStatus::Skipped {
                open.push(format!(
                    "Skipped, to be done or justified: \"{}\" ({}).",
                    self.titles.step(id).title,
                    s.skip_reason.as_deref().unwrap_or("no reason")
                ));
            }
        }
        // A command started with no result after it: custody stopped while it ran. (Journals
        // from before custody wrote `command_started` have results only.)
        let mut pending: Vec<&Event> = Vec::new();
        for event in events {
            match &event.body {
                Body::CommandStarted(_) => pending.push(event),
                Body::CommandRun(_) => {
                    pending.pop();
                }
                _ => {}
            }
        }
        for event in pending {
            if let Body::CommandStarted(c) = &event.body {
                open.push(format!(
                    "A command was started (event {}) and no result was recorded: custody \
                     stopped while it ran. Find out whether it ran and what it did{}; its output \
                     may be in the evidence/ folder: {}",
                    event.seq,
                    if c.changes_system {
                        " (it CHANGES THE SYSTEM)"
                    } else {
                        ""
                    },
                    c.argv.join(" ")
                ));
            }
        }
        for e in &self.report.evidence {
            if e.cancelled {
                open.push(format!(
                    "Evidence hashing was cancelled before the end (event {}).",
                    e.seq
                ));
            }
            if e.error_count > 0 {
                open.push(format!(
                    "{} entries could not be read for hashing (event {}; the manifest lists them).",
                    e.error_count, e.seq
                ));
            }
        }
        if self.report.summary.reports.is_empty()
            && self.runbook.steps.iter().any(|s| {
                matches!(
                    s.kind,
                    StepKind::Contact {
                        purpose: crate::runbook::Purpose::Report,
                        ..
                    }
                )
            })
        {
            open.push("No official report (police or hotline) has been recorded.".to_owned());
        }
        if self.seal.is_none() {
            open.push("Seal the record (custody seal), and write its final hash down.".to_owned());
        }
        let _ = events;
        open
    }

    fn overview(&self) -> Vec<String> {
        let r = &self.report;
        let mut out = Vec::new();
        let what = if r.exercise {
            format!(
                "EXERCISE, not a real incident. Scenario: {}.",
                r.runbook.title
            )
        } else {
            format!("{}.", r.runbook.title)
        };
        out.push(what);
        let mut found = format!(
            "Case {}, handled by {} under jurisdiction {}",
            r.case.case_id,
            r.case.operator,
            r.case
                .jurisdiction_name
                .as_deref()
                .unwrap_or(&r.case.jurisdiction)
        );
        if let Some(w) = &r.case.witness {
            let _ = write!(found, ", witnessed by {w}");
        }
        let _ = write!(found, ", from {}.", r.case.started.utc_text());
        out.push(found);
        let fact = |f| {
            self.fact(f)
                .map(|v| v.shown.as_str())
                .filter(|v| !v.trim().is_empty())
        };
        let mut where_ = Vec::new();
        if let Some(s) = fact(Fact::System) {
            where_.push(format!("system: {s}"));
        }
        if let Some(l) = fact(Fact::Location) {
            where_.push(format!("location: {l}"));
        }
        if let Some(o) = fact(Fact::Owner) {
            where_.push(format!("owner: {o}"));
        }
        if let Some(p) = fact(Fact::Public) {
            where_.push(format!("reachable from the internet: {p}"));
        }
        if !where_.is_empty() {
            out.push(format!("Where: {}.", where_.join("; ")));
        }
        let mut how = Vec::new();
        if let Some(h) = fact(Fact::HowFound) {
            how.push(format!("how: {h}"));
        }
        if let Some(a) = fact(Fact::FoundAt) {
            how.push(format!("when: {a}"));
        }
        if let Some(b) = fact(Fact::FoundBy) {
            how.push(format!("by: {b}"));
        }
        if !how.is_empty() {
            out.push(format!("Found ({}).", how.join("; ")));
        }
        out.push(r.statements.viewed.text.clone());
        out.push(r.statements.changed.text.clone());
        if r.summary.reports.is_empty() {
            out.push("No official report recorded.".to_owned());
        } else {
            let list: Vec<String> = r
                .summary
                .reports
                .iter()
                .map(|d| {
                    format!(
                        "{} ({}, reference {}) at {}",
                        d.to,
                        d.channel,
                        d.reference.as_deref().unwrap_or("none given"),
                        d.when().utc_text()
                    )
                })
                .collect();
            out.push(format!("Reported to: {}.", list.join("; ")));
        }
        if !r.summary.informed.is_empty() {
            let list: Vec<String> = r
                .summary
                .informed
                .iter()
                .map(|d| format!("{} at {}", d.to, d.when().utc_text()))
                .collect();
            out.push(format!("Informed: {}.", list.join("; ")));
        }
        let missed = r
            .summary
            .deadlines
            .iter()
            .filter(|d| matches!(d.status, "missed" | "met_late"))
            .count();
        let met = r
            .summary
            .deadlines
            .iter()
            .filter(|d| d.status == "met")
            .count();
        if !r.summary.deadlines.is_empty() {
            out.push(format!(
                "Deadlines: {met} met in time, {missed} missed or met late, {} other.",
                r.summary.deadlines.len() - met - missed
            ));
        }
        out.push(format!("Status: {}", r.summary.status.text));
        out
    }

    fn integrity(&self, events: &[Event], checked: &Checked) -> Integrity {
        let first = events.first().map_or(self.report.case.started, Stamp::of);
        let last = events.last().map_or(first, Stamp::of);
        let final_hash = events.last().map(|e| e.hash.to_hex()).unwrap_or_default();
        let session = &self.started.session;
        let mut how = vec![
            format!("custody verify {session} --expect {final_hash}"),
            format!(
                "sha256sum {session}/{}   (should print {})",
                self.started.runbook.file,
                self.started.runbook.sha256.to_hex()
            ),
        ];
        if let Some(signed_by) = self.report.integrity.signed_by.as_ref()
            && let Some(key) = signed_by.split(['(', ')']).nth(1)
        {
            how.push(format!("minisign -V -m {session}/journal.jsonl -P {key}"));
        }
        let mut notes = checked.notes.clone();
        if self.state.recoveries > 0 {
            notes.push(format!(
                "{} torn last line(s) were set aside by journaled recoveries; no acknowledged \
                 event was lost.",
                self.state.recoveries
            ));
        }
        let warning = (!checked.verified).then(|| {
            let mut parts = Vec::new();
            if let Some(p) = &checked.problem {
                parts.push(format!(
                    "The journal does not verify: {p}. This report covers only the {} events \
                     before that point; what follows it cannot be trusted.",
                    events.len()
                ));
            }
            if !checked.runbook_copy.starts_with("intact") {
                parts.push(format!(
                    "The runbook copy is {}: step titles and questions in this report may not \
                     be those the operator saw.",
                    checked.runbook_copy
                ));
            }
            if checked.signature.starts_with("INVALID") || checked.signature.starts_with("MISSING")
            {
                parts.push(format!("The signature is {}.", checked.signature));
            }
            if parts.is_empty() {
                parts.push("The record could not be verified.".to_owned());
            }
            parts.join(" ")
        });
        Integrity {
            verified: checked.verified,
            warning,
            events: events.len() as u64,
            bytes: checked.bytes,
            first_event: first,
            last_event: last,
            final_hash,
            problem: checked.problem.clone(),
            sealed: self.seal.clone(),
            sealing: match (&self.seal, checked.sealing_unknown) {
                (Some(_), _) => "sealed",
                (None, true) => "unknown",
                (None, false) if checked.for_seal => "sealing",
                (None, false) => "open",
            },
            signature: checked.signature.clone(),
            signed_by: self.report.integrity.signed_by.clone(),
            runbook_copy: checked.runbook_copy.clone(),
            recoveries: u64::from(self.state.recoveries),
            interruptions: self.state.interruptions,
            notes,
            how_to_verify: how,
        }
    }

    fn signature_lines(&self) -> Vec<SignatureLine> {
        vec![
            SignatureLine {
                role: "Operator",
                name: Some(self.started.operator.clone()),
            },
            SignatureLine {
                role: "Witness",
                name: self.started.witness.clone(),
            },
            SignatureLine {
                role: "Manager",
                name: None,
            },
        ]
    }
}

fn unknown_step() -> StepRef {
    StepRef {
        id: String::new(),
        title: "(no step)".to_owned(),
    }
}

fn disclosure(
    seq: u64,
    time: Stamp,
    by: Who,
    step: Option<StepRef>,
    c: &ContactMade,
) -> Disclosure {
    Disclosure {
        seq,
        time,
        by,
        step,
        purpose: match c.purpose {
            ContactPurpose::Report => "report",
            ContactPurpose::Inform => "inform",
        },
        role: c.role.clone(),
        to: c.to.clone(),
        channel: c.channel.clone(),
        at: c.at.clone(),
        made: c
            .at
            .as_deref()
            .and_then(crate::session::parse_datetime)
            .map(|t| Stamp {
                utc: t.with_timezone(&Utc),
                offset: t.offset().fix(),
            }),
        reference: c.reference.clone(),
        person: c.person.clone(),
        notes: c.notes.clone(),
    }
}

fn push_party(parties: &mut Vec<OutsideParty>, party: OutsideParty) {
    if !parties
        .iter()
        .any(|p| p.name == party.name && p.organisation == party.organisation)
    {
        parties.push(party);
    }
}

fn push_system(systems: &mut Vec<System>, name: &str, source: String) {
    if !systems.iter().any(|s| s.name == name) {
        systems.push(System {
            name: name.to_owned(),
            source,
        });
    }
}

/// `J. Smith (detective, Police NL)`
pub fn party_text(p: &Party) -> String {
    let extra: Vec<&str> = [p.role.as_deref(), p.organisation.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if extra.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, extra.join(", "))
    }
}

fn command_outcome(c: &crate::journal::event::CommandRun) -> String {
    if c.exit_code.is_none()
        && c.signal.is_none()
        && let Some(e) = &c.error
    {
        return format!("could not run: {e}");
    }
    let mut text = match (c.exit_code, c.signal) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("ended by signal {sig}"),
        (None, None) => "no exit status".to_owned(),
    };
    if c.timed_out {
        text.push_str(", TIMED OUT");
    }
    let _ = write!(text, ", {} ms", c.duration_ms);
    match c.error.as_deref() {
        Some(crate::evidence::run::STOPPED) => text.push_str(", STOPPED by the operator"),
        // It ran, but something went wrong around it (such as output that could not all be
        // kept): said as recorded.
        Some(e) => {
            let _ = write!(text, "; {e}");
        }
        None => {}
    }
    text
}

impl Evidence {
    /// What the table's notes column says besides the errors: the hash functions, what else
    /// was found, how many entries could not be read.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.algorithms.is_empty() {
            notes.push(format!("hashes: {}", self.algorithms.join(", ")));
        }
        if self.dirs + self.links + self.other > 0 {
            notes.push(format!(
                "also found: {} folders, {} links, {} other (never read)",
                self.dirs, self.links, self.other
            ));
        }
        if self.error_count > 0 {
            notes.push(format!(
                "{} could not be read{}",
                self.error_count,
                if self.error_count > self.errors.len() as u64 {
                    " (the first listed; the manifest has them all)"
                } else {
                    ":"
                }
            ));
        }
        notes
    }
}

/// `1.2 MB (1234567 bytes)`
pub fn bytes_text(bytes: u64) -> String {
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    format!("{} ({bytes} bytes)", bytes_short(bytes))
}

/// `1.2 MB`, or `999 bytes`: for the screen, where the exact count is not needed.
#[allow(clippy::cast_precision_loss)] // shown to one decimal
pub fn bytes_short(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        value /= 1000.0;
        unit = u;
        if value < 1000.0 {
            break;
        }
    }
    format!("{value:.1} {unit}")
}

fn gap_text(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}
