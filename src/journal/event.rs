//! Events: what the journal records, and the exact bytes it writes for each.
//!
//! One event is one line of JSON. Its members come in a fixed order, without spaces:
//! `seq`, `time`, `offset`, `actor`, `step`, `kind`, `data`, `prev`, and last `hash`. The hash
//! is the SHA-256 of the line as written up to `prev`'s value, closed with `}` (the line without
//! its `,"hash":"..."` member and without the newline). `docs/JOURNAL.md` explains it with an
//! example that can be checked with `sha256sum`.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hash::Digest;

/// The journal format this build writes; written in the first event.
pub const JOURNAL_FORMAT: u32 = 1;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person working through the runbook.
    Operator,
    /// A second person watching and confirming.
    Witness,
    /// The person running an exercise and releasing its injects.
    Facilitator,
    /// custody itself: a deadline passing, a recovery.
    Custody,
}

/// The actor of an event: a role and, for people, the name given for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Actor {
    pub fn custody() -> Self {
        Self {
            role: Role::Custody,
            name: None,
        }
    }

    pub fn person(role: Role, name: &str) -> Self {
        Self {
            role,
            name: Some(name.to_owned()),
        }
    }
}

/// Real incident or exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Real,
    Exercise,
}

/// One event, as read from or written to the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1 for the first event, then one more for each.
    pub seq: u64,
    /// When it happened, in UTC, to the microsecond.
    pub time: DateTime<Utc>,
    /// The local offset from UTC at that moment, as the machine had it.
    pub offset: FixedOffset,
    pub actor: Actor,
    /// The runbook step it concerns, if any.
    pub step: Option<String>,
    pub body: Body,
    /// The hash of the event before (zeros for the first).
    pub prev: Digest,
    /// The hash of this event's line.
    pub hash: Digest,
}

/// An event before it is written: everything but its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub time: DateTime<Utc>,
    pub offset: FixedOffset,
    pub actor: Actor,
    pub step: Option<String>,
    pub body: Body,
}

/// What happened, with what belongs to it. The JSON `kind` is the variant's name in snake case
/// and `data` its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Body {
    /// The first event of every journal.
    SessionStarted(Box<SessionStarted>),
    /// The operator went (back) to a step out of the runbook's order, to correct or redo it.
    StepStarted(StepStarted),
    /// One checklist item confirmed.
    ItemConfirmed(ItemConfirmed),
    /// An instruction, checklist, evidence, command or end step completed.
    StepCompleted(StepCompleted),
    /// A decision, with its reason.
    DecisionMade(DecisionMade),
    /// The values of a record step.
    FieldsRecorded(FieldsRecorded),
    /// A note, at any moment.
    NoteAdded(NoteAdded),
    /// A step not done, with the reason.
    StepSkipped(StepSkipped),
    /// Files or folders hashed.
    EvidenceRecorded(EvidenceRecorded),
    /// A command step's program about to run: written before it starts, so that the journal
    /// says so even if custody stops while it runs.
    CommandStarted(CommandStarted),
    /// A command run, its output kept as evidence.
    CommandRun(CommandRun),
    /// A report made or a person told.
    ContactMade(ContactMade),
    /// Evidence handed from one person to another.
    CustodyTransferred(CustodyTransferred),
    /// An exercise inject released.
    InjectReleased(InjectReleased),
    /// The participants' answer to an inject.
    InjectAnswered(InjectAnswered),
    /// The facilitator paused, resumed, sped up or moved on the exercise clock.
    ClockChanged(ClockChanged),
    /// A deadline's time ran out before it was met.
    DeadlinePassed(DeadlinePassed),
    /// Work stopped on purpose (the operator quit); the session can be resumed.
    Paused(Paused),
    /// Work taken up again, after a pause or an interruption.
    Resumed(Resumed),
    /// A torn last line was set aside so that the journal could go on.
    Recovered(Recovered),
    /// The session is closed; nothing can follow.
    Sealed(Sealed),
    /// Reports of the journal up to the event before this one were written into the session
    /// folder.
    ReportWritten(ReportWritten),
}

impl Body {
    /// Every `kind` this version writes and reads, in the order of the variants.
    pub const KINDS: [&'static str; 22] = [
        "session_started",
        "step_started",
        "item_confirmed",
        "step_completed",
        "decision_made",
        "fields_recorded",
        "note_added",
        "step_skipped",
        "evidence_recorded",
        "command_started",
        "command_run",
        "contact_made",
        "custody_transferred",
        "inject_released",
        "inject_answered",
        "clock_changed",
        "deadline_passed",
        "paused",
        "resumed",
        "recovered",
        "sealed",
        "report_written",
    ];

    /// Whether this version knows the `kind` (can decode its `data`).
    pub fn knows(kind: &str) -> bool {
        Self::KINDS.contains(&kind)
    }

    /// The `kind` written for this body.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::SessionStarted(_) => "session_started",
            Body::StepStarted(_) => "step_started",
            Body::ItemConfirmed(_) => "item_confirmed",
            Body::StepCompleted(_) => "step_completed",
            Body::DecisionMade(_) => "decision_made",
            Body::FieldsRecorded(_) => "fields_recorded",
            Body::NoteAdded(_) => "note_added",
            Body::StepSkipped(_) => "step_skipped",
            Body::EvidenceRecorded(_) => "evidence_recorded",
            Body::CommandStarted(_) => "command_started",
            Body::CommandRun(_) => "command_run",
            Body::ContactMade(_) => "contact_made",
            Body::CustodyTransferred(_) => "custody_transferred",
            Body::InjectReleased(_) => "inject_released",
            Body::InjectAnswered(_) => "inject_answered",
            Body::ClockChanged(_) => "clock_changed",
            Body::DeadlinePassed(_) => "deadline_passed",
            Body::Paused(_) => "paused",
            Body::Resumed(_) => "resumed",
            Body::Recovered(_) => "recovered",
            Body::Sealed(_) => "sealed",
            Body::ReportWritten(_) => "report_written",
        }
    }

    /// The step that comes next when this event completes a step (`None` inside it).
    pub fn next_step(&self) -> Option<&str> {
        match self {
            Body::StepCompleted(StepCompleted { next })
            | Body::FieldsRecorded(FieldsRecorded { next, .. })
            | Body::StepSkipped(StepSkipped { next, .. })
            | Body::ContactMade(ContactMade { next, .. })
            | Body::CustodyTransferred(CustodyTransferred { next, .. }) => next.as_deref(),
            Body::DecisionMade(d) => Some(&d.next),
            _ => None,
        }
    }
}

/// The program that wrote a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn this() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The runbook a session follows, as it was when the session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookRef {
    pub id: String,
    pub version: String,
    pub title: String,
    pub language: String,
    /// The copy kept in the session folder.
    pub file: String,
    /// SHA-256 of that copy's bytes.
    pub sha256: Digest,
}

/// The machine clock's state at the start, so that a reader can judge the times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// Where this came from: `adjtimex` (the Linux kernel) or `unknown`.
    pub source: String,
    /// Whether the kernel considers the clock synchronised (to NTP, PTP ...); `None` unknown.
    pub synchronised: Option<bool>,
    /// The kernel's estimated error, in microseconds.
    pub estimated_error_us: Option<i64>,
    /// The kernel's maximum error, in microseconds.
    pub maximum_error_us: Option<i64>,
}

impl ClockState {
    pub fn unknown() -> Self {
        Self {
            source: "unknown".into(),
            synchronised: None,
            estimated_error_us: None,
            maximum_error_us: None,
        }
    }
}

/// Everything known at the start of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStarted {
    /// The journal format ([`JOURNAL_FORMAT`]).
    pub format: u32,
    /// The session's id, also the name of its folder.
    pub session: String,
    pub tool: Tool,
    pub runbook: RunbookRef,
    pub host: String,
    pub operator: String,
    pub witness: Option<String>,
    pub facilitator: Option<String>,
    pub case_id: String,
    /// The jurisdiction code whose contacts and deadlines apply.
    pub jurisdiction: String,
    pub mode: Mode,
    /// The IANA time zone name, when the machine says it.
    pub timezone: Option<String>,
    pub clock: ClockState,
    /// Values of the runbook's variables given at the start.
    pub variables: BTreeMap<String, String>,
    /// The exercise scenario followed, when there is one (exercises only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioRef>,
    /// Who took part in an exercise, and the part each played.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
}

/// The exercise scenario a session follows, as it was when the session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRef {
    pub id: String,
    pub version: String,
    pub title: String,
    /// The copy kept in the session folder.
    pub file: String,
    /// SHA-256 of that copy's bytes.
    pub sha256: Digest,
}

/// Someone taking part in an exercise, with the part they play (on-call engineer, manager,
/// police contact ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStarted {
    /// Why the operator went to this step.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemConfirmed {
    /// The item's position in the checklist, from 0.
    pub item: usize,
    /// The item's text as shown.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCompleted {
    /// The step that follows; `None` at an end step.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionMade {
    pub choice: String,
    /// The choice's label as shown.
    pub label: String,
    pub reason: String,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldsRecorded {
    /// Field id to value, as entered (date-times normalised to RFC 3339).
    pub values: BTreeMap<String, String>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAdded {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSkipped {
    pub reason: String,
    pub next: Option<String>,
}

/// A file written into the session folder, named by its path relative to that folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub file: String,
    pub size: u64,
    pub sha256: Digest,
}

/// `algorithms` of `evidence_recorded`: names of the hash functions custody computes, and no
/// other, as `docs/JOURNAL.md` says (a report lists them as such).
fn known_hashes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    if names
        .iter()
        .any(|n| crate::runbook::HashAlgorithm::from_name(n).is_none())
    {
        return Err(serde::de::Error::custom(
            "`algorithms` names a hash function other than sha256, sha1 and md5",
        ));
    }
    Ok(names)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecorded {
    /// The paths as the step named them, after substitution.
    pub paths: Vec<String>,
    /// How many files were hashed and their total size.
    pub files: u64,
    pub bytes: u64,
    /// The manifest listing every file with its hashes.
    pub manifest: Option<FileRef>,
    /// Entries that could not be read, with the reason: the first few (all of them are in the
    /// manifest; `error_count` says how many there were).
    #[serde(default)]
    pub errors: Vec<String>,
    /// The operator stopped the hashing before it finished.
    #[serde(default)]
    pub cancelled: bool,
    /// The `SHA256SUMS` file (`sha256sum -c` checks it), when one was written.
    #[serde(default)]
    pub sums: Option<FileRef>,
    /// The hash functions computed for every file (`sha256`, `sha1`, `md5`); empty in
    /// journals written before custody recorded it, when only SHA-256 was computed. Any other
    /// name does not decode: custody computes no other hash.
    #[serde(default, deserialize_with = "known_hashes")]
    pub algorithms: Vec<String>,
    /// Folders, symbolic links (recorded, not followed) and other entries (devices, fifos,
    /// sockets: recorded, never read) found besides the files.
    #[serde(default)]
    pub dirs: u64,
    #[serde(default)]
    pub links: u64,
    #[serde(default)]
    pub other: u64,
    /// How many entries had an error; `None` in journals written before custody recorded it,
    /// where `errors` lists them all.
    #[serde(default)]
    pub error_count: Option<u64>,
}

impl EvidenceRecorded {
    /// How many entries had an error.
    pub fn error_count(&self) -> u64 {
        self.error_count
            .unwrap_or(u64::try_from(self.errors.len()).unwrap_or(u64::MAX))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandStarted {
    /// The program and its arguments, after substitution, exactly as they will run.
    pub argv: Vec<String>,
    pub changes_system: bool,
    /// The time limit, in seconds.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRun {
    /// The program and its arguments, after substitution, exactly as run.
    pub argv: Vec<String>,
    pub changes_system: bool,
    #[serde(with = "micros")]
    pub started: DateTime<Utc>,
    pub duration_ms: u64,
    /// The exit status; `None` when killed by a signal or never started.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: Option<FileRef>,
    pub stderr: Option<FileRef>,
    /// What went wrong, if anything: why it could not run (then neither `exit_code` nor
    /// `signal` is set), `stopped by the operator`, or that its output could not all be kept.
    pub error: Option<String>,
}

/// Why a contact was made (the runbook's `purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactPurpose {
    Report,
    Inform,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMade {
    pub purpose: ContactPurpose,
    /// The jurisdiction role (`police`, `hotline` ...), if the step names one.
    pub role: Option<String>,
    /// Whom: an organisation or a person.
    pub to: String,
    /// How: phone, web form, e-mail, in person.
    pub channel: String,
    /// When the contact was made, if not at the time of the event.
    pub at: Option<String>,
    /// The reference number given, for a report.
    pub reference: Option<String>,
    /// The person spoken to.
    pub person: Option<String>,
    pub notes: Option<String>,
    pub next: Option<String>,
}

/// Someone in a custody transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub role: Option<String>,
    pub organisation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyTransferred {
    /// What was handed over.
    pub items: String,
    pub from: Party,
    pub to: Party,
    /// When, if not at the time of the event.
    pub at: Option<String>,
    /// Where the items are now.
    pub location: String,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectReleased {
    pub inject: String,
    pub title: String,
    /// The text and the question shown to the participants, as shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectAnswered {
    pub inject: String,
    pub answer: String,
    /// The participant who gave the answer, when named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What the facilitator did to the exercise clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockChange {
    Pause,
    Resume,
    /// Moved on by `advanced_secs`.
    Advance,
    /// Set to run `speed` times as fast as real time.
    Speed,
}

/// The exercise clock after a change. The event's own time is the real time of the change;
/// `exercise_time` is the exercise clock's reading at that moment, from which it runs on at
/// `speed` unless paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockChanged {
    pub change: ClockChange,
    #[serde(with = "micros")]
    pub exercise_time: DateTime<Utc>,
    pub speed: u32,
    pub paused: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePassed {
    pub deadline: String,
    pub label: String,
    #[serde(with = "micros")]
    pub due: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// `true` when the session was not paused: the program stopped without quitting.
    pub interrupted: bool,
    /// Seconds since the event before.
    pub gap_seconds: i64,
    pub host: String,
    pub tool: Tool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// Where the torn bytes began in the journal.
    pub offset: u64,
    pub length: u64,
    pub sha256: Digest,
    /// The file in the session folder that keeps them.
    pub saved_as: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Whether the runbook was followed to an end step.
    pub complete: bool,
    pub note: Option<String>,
    /// The minisign key that signs the journal, when it is signed.
    pub signed_by: Option<SignerRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportWritten {
    /// The report files, named by their path relative to the session folder, with their
    /// sizes and SHA-256. They report every event before this one.
    pub files: Vec<FileRef>,
}

/// The minisign public key that signs a sealed journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerRef {
    /// The key id as minisign prints it (16 upper-case hex digits).
    pub key_id: String,
    /// The public key in base64, as in a `.pub` file's second line.
    pub public_key: String,
}

/// The part of an event its hash covers, in writing order.
#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    #[serde(with = "micros")]
    time: DateTime<Utc>,
    #[serde(with = "offset")]
    offset: FixedOffset,
    actor: &'a Actor,
    step: &'a Option<String>,
    #[serde(flatten)]
    body: &'a Body,
    prev: &'a Digest,
}

/// The bytes after the hashed part: `,"hash":"` + 64 hex + `"}`.
pub const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

impl Draft {
    /// Gives the draft its place in the chain: the line to write (newline included) and the event.
    pub fn seal(self, seq: u64, prev: Digest) -> Result<(Vec<u8>, Event), serde_json::Error> {
        let unhashed = Unhashed {
            seq,
            time: self.time,
            offset: self.offset,
            actor: &self.actor,
            step: &self.step,
            body: &self.body,
            prev: &prev,
        };
        let mut line = serde_json::to_vec(&unhashed)?;
        let hash = Digest::of(&line);
        line.pop(); // the closing brace
        line.extend_from_slice(b",\"hash\":\"");
        line.extend_from_slice(hash.to_hex().as_bytes());
        line.extend_from_slice(b"\"}\n");
        let event = Event {
            seq,
            time: self.time,
            offset: self.offset,
            actor: self.actor,
            step: self.step,
            body: self.body,
            prev,
            hash,
        };
        Ok((line, event))
    }
}

/// Why a line is not a good event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// The line does not end in `,"hash":"<64 hex>"}`.
    NoHash,
    /// The hash written does not match the line's content.
    HashMismatch { written: Digest, computed: Digest },
    /// The line is not a well-formed event.
    Malformed(String),
}

/// Checks a line's own hash (without its newline) and returns the hash written in it.
pub fn check_line_hash(line: &[u8]) -> Result<Digest, LineError> {
    let Some(cut) = line.len().checked_sub(HASH_SUFFIX_LEN) else {
        return Err(LineError::NoHash);
    };
    let (body, suffix) = line.split_at(cut);
    let hex = suffix
        .strip_prefix(b",\"hash\":\"")
        .and_then(|rest| rest.strip_suffix(b"\"}"))
        .ok_or(LineError::NoHash)?;
    let written = Digest::from_hex_bytes(hex).ok_or(LineError::NoHash)?;
    let computed = {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        hasher.update(body);
        hasher.update(b"}");
        Digest(hasher.finalize().into())
    };
    if written == computed {
        Ok(written)
    } else {
        Err(LineError::HashMismatch { written, computed })
    }
}

/// [`Event::from_checked_line`], boxed: an event is a few hundred bytes, and readers pass each
/// one through several hands (and threads) before it is used.
pub fn decode_checked_line(line: &[u8], hash: Digest) -> Result<Box<Event>, LineError> {
    // One UTF-8 check of the whole line is much cheaper than one per string.
    let text = std::str::from_utf8(line).map_err(|e| {
        LineError::Malformed(format!("not UTF-8 text (at byte {})", e.valid_up_to()))
    })?;
    let event = match decode_written(text) {
        Some(event) => event,
        None => {
            serde_json::from_str::<Wire>(text)
                .map_err(|e| LineError::Malformed(e.to_string()))?
                .0
        }
    };
    if event.hash != hash {
        return Err(LineError::Malformed(
            "the line has more than one `hash` member".into(),
        ));
    }
    Ok(event)
}

/// Decodes a line written exactly as custody writes it (section 3 of `docs/JOURNAL.md`): the
/// members in their order, without spaces, `time`, `offset`, `kind`, `prev` and `hash` in their
/// one spelling. Those fixed parts are read by hand, and so are `actor` and `step` when their
/// strings need no escapes; the rest of them, and `data`, go through the same `Deserialize`
/// code as in [`Wire`]. It gives `Some` only for an event [`Wire`] decodes to the same value
/// (the tests check this on changed lines), and `None` for anything else, a bad line included,
/// which then goes to [`Wire`]: that decoder gives every answer this one does not, errors too.
fn decode_written(text: &str) -> Option<Box<Event>> {
    // serde_json refuses JSON nested more than 128 deep; `actor` and `data` are read here on
    // their own, one level less deep than inside the line, so deep lines go to `Wire`.
    let brackets = text.as_bytes().chunks(255).fold(0usize, |n, chunk| {
        // Counted in a byte per chunk, which the compiler does 16 bytes at a time.
        let in_chunk = chunk
            .iter()
            .fold(0u8, |k, b| k + u8::from(*b == b'{' || *b == b'['));
        n + usize::from(in_chunk)
    });
    if brackets > 64 {
        return None;
    }
    let mut p = Written { text, at: 0 };
    p.literal("{\"seq\":")?;
    let seq = p.number()?;
    p.literal(",\"time\":\"")?;
    let time = parse_written_time(p.take(27)?.as_bytes())?;
    p.literal("\",\"offset\":\"")?;
    let offset = parse_offset(p.take(6)?)?;
    p.literal("\",\"actor\":")?;
    let actor = match p.plain_actor() {
        Some(actor) => actor,
        None => p.value::<Actor>()?,
    };
    p.literal(",\"step\":")?;
    let step = if p.literal("null").is_some() {
        None
    } else if let Some(step) = p.plain_string() {
        Some(step.to_owned())
    } else {
        p.value::<Option<String>>()?
    };
    p.literal(",\"kind\":\"")?;
    let kind = p.take_until(b'"')?;
    p.literal("\",\"data\":")?;
    let body = p.body(kind)?;
    p.literal(",\"prev\":\"")?;
    let prev = Digest::from_hex(p.take(64)?)?;
    p.literal("\",\"hash\":\"")?;
    let hash = Digest::from_hex(p.take(64)?)?;
    p.literal("\"}")?;
    (p.at == text.len()).then(|| {
        Box::new(Event {
            seq,
            time,
            offset,
            actor,
            step,
            body,
            prev,
            hash,
        })
    })
}

/// A line being read by [`decode_written`].
struct Written<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Written<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or_default()
    }

    fn literal(&mut self, expected: &str) -> Option<()> {
        self.rest()
            .starts_with(expected)
            .then(|| self.at += expected.len())
    }

    fn take(&mut self, len: usize) -> Option<&'a str> {
        let taken = self.rest().get(..len)?;
        self.at += len;
        Some(taken)
    }

    /// Up to the byte `end`, which must come before any `\\`, control or non-ASCII byte.
    fn take_until(&mut self, end: u8) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest
            .bytes()
            .position(|b| b == end || b == b'\\' || !(b' '..=b'~').contains(&b))?;
        if rest.as_bytes()[len] != end {
            return None;
        }
        self.take(len)
    }

    /// A string in quotes without escapes, control or non-ASCII characters, whose value is
    /// then its bytes as they are. `None` (and nothing read) for any other string.
    fn plain_string(&mut self) -> Option<&'a str> {
        let at = self.at;
        let found = self
            .literal("\"")
            .and_then(|()| self.take_until(b'"'))
            .and_then(|text| self.literal("\"").map(|()| text));
        if found.is_none() {
            self.at = at;
        }
        found
    }

    /// `{"role":ROLE}` or `{"role":ROLE,"name":NAME}` with plain strings, as custody writes an
    /// actor. `None` (and nothing read) for anything else.
    fn plain_actor(&mut self) -> Option<Actor> {
        let at = self.at;
        let actor = (|| {
            self.literal("{\"role\":")?;
            let role = match self.plain_string()? {
                "operator" => Role::Operator,
                "witness" => Role::Witness,
                "facilitator" => Role::Facilitator,
                "custody" => Role::Custody,
                _ => return None,
            };
            let name = if self.literal("}").is_some() {
                None
            } else {
                self.literal(",\"name\":")?;
                let name = self.plain_string()?.to_owned();
                self.literal("}")?;
                Some(name)
            };
            Some(Actor { role, name })
        })();
        if actor.is_none() {
            self.at = at;
        }
        actor
    }

    /// A JSON integer as `serde_json` reads it into a `u64`: no sign, no leading zero.
    fn number(&mut self) -> Option<u64> {
        let rest = self.rest().as_bytes();
        let len = rest.iter().position(|b| !b.is_ascii_digit())?;
        if len == 0 || (len > 1 && rest[0] == b'0') {
            return None;
        }
        let value = rest[..len].iter().try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })?;
        self.at += len;
        Some(value)
    }

    /// One JSON value, through its `Deserialize`.
    fn value<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let rest = self.rest();
        // Whitespace before the value is not custody's form.
        if !rest.starts_with([
            '{', '[', '"', 'n', 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
        ]) {
            return None;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let value = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(value)
    }

    /// `data` as the payload of `kind` (the same dispatch as [`BodySeed`]).
    fn body(&mut self, kind: &str) -> Option<Body> {
        Some(match kind {
            "session_started" => Body::SessionStarted(Box::new(self.value()?)),
            "step_started" => Body::StepStarted(self.value()?),
            "item_confirmed" => Body::ItemConfirmed(self.value()?),
            "step_completed" => Body::StepCompleted(self.value()?),
            "decision_made" => Body::DecisionMade(self.value()?),
            "fields_recorded" => Body::FieldsRecorded(self.value()?),
            "note_added" => Body::NoteAdded(self.value()?),
            "step_skipped" => Body::StepSkipped(self.value()?),
            "evidence_recorded" => Body::EvidenceRecorded(self.value()?),
            "command_started" => Body::CommandStarted(self.value()?),
            "command_run" => Body::CommandRun(self.value()?),
            "contact_made" => Body::ContactMade(self.value()?),
            "custody_transferred" => Body::CustodyTransferred(self.value()?),
            "inject_released" => Body::InjectReleased(self.value()?),
            "inject_answered" => Body::InjectAnswered(self.value()?),
            "clock_changed" => Body::ClockChanged(self.value()?),
            "deadline_passed" => Body::DeadlinePassed(self.value()?),
            "paused" => Body::Paused(self.value()?),
            "resumed" => Body::Resumed(self.value()?),
            "recovered" => Body::Recovered(self.value()?),
            "sealed" => Body::Sealed(self.value()?),
            "report_written" => Body::ReportWritten(self.value()?),
            _ => return None,
        })
    }
}

impl Event {
    /// Reads one line (without its newline) into an event, checking its own hash.
    pub fn from_line(line: &[u8]) -> Result<Self, LineError> {
        let hash = check_line_hash(line)?;
        Self::from_checked_line(line, hash)
    }

    /// Reads one line (without its newline) whose own hash was already checked by
    /// [`check_line_hash`] and found to be `hash`. Every member is decoded: a `kind` this version
    /// does not know, or `data` that does not decode as its kind's, is refused.
    pub fn from_checked_line(line: &[u8], hash: Digest) -> Result<Self, LineError> {
        decode_checked_line(line, hash).map(|event| *event)
    }

    /// The time as the operator's clock showed it.
    pub fn local_time(&self) -> DateTime<FixedOffset> {
        self.time.with_timezone(&self.offset)
    }
}

/// Writes a UTC time as RFC 3339 with exactly six decimals and `Z`.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Writes an offset as `+HH:MM` (or `-HH:MM`).
pub fn format_offset(offset: &FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// Reads a UTC time as the journal writes it (RFC 3339, ending in `Z`). The form custody
/// writes, `2026-11-23T09:15:02.123456Z`, is read by hand; anything else goes to chrono's RFC 3339
/// parser, which gives the same value for that form.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if !text.ends_with('Z') {
        return Err("a time must be in UTC, ending in Z".into());
    }
    if let Some(time) = parse_written_time(text.as_bytes()) {
        return Ok(time);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` exactly; `None` for anything else, a leap second included.
fn parse_written_time(b: &[u8]) -> Option<DateTime<Utc>> {
    let b: &[u8; 27] = b.try_into().ok()?;
    let digits = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if [b[4], b[7], b[10], b[13], b[16], b[19], b[26]] != *b"--T::.Z" {
        return None;
    }
    let year = i32::try_from(digits(0, 4)?).ok()?;
    let second = digits(17, 19)?;
    if second > 59 {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(year, digits(5, 7)?, digits(8, 10)?)?
        .and_hms_micro_opt(digits(11, 13)?, digits(14, 16)?, second, digits(20, 26)?)
        .map(|t| t.and_utc())
}

/// Deserializes a string through `parse` without copying it first (serde's `Cow<str>` copies).
fn from_str_with<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Text<T> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, String>,
    }
    impl<T> serde::de::Visitor<'_> for Text<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
            (self.parse)(text).map_err(E::custom)
        }
    }
    d.deserialize_str(Text { expecting, parse })
}

mod micros {
    use super::{DateTime, Deserializer, Serializer, Utc, format_time};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        super::from_str_with(d, "a UTC time", super::parse_time)
    }
}

mod offset {
    use super::{Deserializer, FixedOffset, Serializer, format_offset};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` passes a reference
    pub fn serialize<S: Serializer>(offset: &FixedOffset, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_offset(offset))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FixedOffset, D::Error> {
        super::from_str_with(d, "an offset", |text| {
            super::parse_offset(text).ok_or_else(|| "an offset is written +HH:MM or -HH:MM".into())
        })
    }
}

/// An event as it is read, hash included: one pass over the line, every member decoded. The
/// members may come in any order and unknown ones are ignored, as the format says; only when
/// `data` comes before `kind` (custody never writes that) is `data` held as a JSON value until
/// its kind is known.
struct Wire(Box<Event>);

impl<'de> Deserialize<'de> for Wire {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(WireVisitor)
    }
}

struct WireVisitor;

/// A member of an event line, by name.
enum Member {
    Seq,
    Time,
    Offset,
    Actor,
    Step,
    Kind,
    Data,
    Prev,
    Hash,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Member;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Member, E> {
                Ok(match name {
                    "seq" => Member::Seq,
                    "time" => Member::Time,
                    "offset" => Member::Offset,
                    "actor" => Member::Actor,
                    "step" => Member::Step,
                    "kind" => Member::Kind,
                    "data" => Member::Data,
                    "prev" => Member::Prev,
                    "hash" => Member::Hash,
                    _ => Member::Other,
                })
            }
        }
        d.deserialize_identifier(Name)
    }
}

/// A `kind` this version knows, as one of [`Body::KINDS`].
struct Kind(&'static str);

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Kind;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event kind")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Kind, E> {
                Body::KINDS
                    .iter()
                    .find(|k| **k == name)
                    .map(|k| Kind(k))
                    .ok_or_else(|| {
                        E::custom(format_args!(
                            "`{name}` is not an event kind this version of custody knows"
                        ))
                    })
            }
        }
        d.deserialize_str(Name)
    }
}

/// Decodes `data` as the payload of the kind given.
struct BodySeed(&'static str);

impl<'de> serde::de::DeserializeSeed<'de> for BodySeed {
    type Value = Body;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Body, D::Error> {
        Ok(match self.0 {
            "session_started" => Body::SessionStarted(Box::new(Deserialize::deserialize(d)?)),
            "step_started" => Body::StepStarted(Deserialize::deserialize(d)?),
            "item_confirmed" => Body::ItemConfirmed(Deserialize::deserialize(d)?),
            "step_completed" => Body::StepCompleted(Deserialize::deserialize(d)?),
            "decision_made" => Body::DecisionMade(Deserialize::deserialize(d)?),
            "fields_recorded" => Body::FieldsRecorded(Deserialize::deserialize(d)?),
            "note_added" => Body::NoteAdded(Deserialize::deserialize(d)?),
            "step_skipped" => Body::StepSkipped(Deserialize::deserialize(d)?),
            "evidence_recorded" => Body::EvidenceRecorded(Deserialize::deserialize(d)?),
            "command_started" => Body::CommandStarted(Deserialize::deserialize(d)?),
            "command_run" => Body::CommandRun(Deserialize::deserialize(d)?),
            "contact_made" => Body::ContactMade(Deserialize::deserialize(d)?),
            "custody_transferred" => Body::CustodyTransferred(Deserialize::deserialize(d)?),
            "inject_released" => Body::InjectReleased(Deserialize::deserialize(d)?),
            "inject_answered" => Body::InjectAnswered(Deserialize::deserialize(d)?),
            "clock_changed" => Body::ClockChanged(Deserialize::deserialize(d)?),
            "deadline_passed" => Body::DeadlinePassed(Deserialize::deserialize(d)?),
            "paused" => Body::Paused(Deserialize::deserialize(d)?),
            "resumed" => Body::Resumed(Deserialize::deserialize(d)?),
            "recovered" => Body::Recovered(Deserialize::deserialize(d)?),
            "sealed" => Body::Sealed(Deserialize::deserialize(d)?),
            "report_written" => Body::ReportWritten(Deserialize::deserialize(d)?),
            other => {
                return Err(serde::de::Error::custom(format_args!(
                    "`{other}` is not an event kind this version of custody knows"
                )));
            }
        })
    }
}

/// `Some(value)`, or a duplicate-member error if the member was already read.
fn once<T, E: serde::de::Error>(
    slot: &mut Option<T>,
    name: &'static str,
    value: T,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A UTC time member.
struct Micros(DateTime<Utc>);

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        micros::deserialize(d).map(Micros)
    }
}

/// An offset member.
struct Offset(FixedOffset);

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        offset::deserialize(d).map(Offset)
    }
}

impl<'de> serde::de::Visitor<'de> for WireVisitor {
    type Value = Wire;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event: a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Wire, A::Error> {
        use serde::de::Error as _;
        let mut seq = None;
        let mut time = None;
        let mut offset = None;
        let mut actor = None;
        let mut step: Option<Option<String>> = None;
        let mut kind: Option<&'static str> = None;
        let mut body = None;
        // `data` read before `kind`: kept until the kind is known.
        let mut early_data: Option<serde_json::Value> = None;
        let mut prev = None;
        let mut hash = None;
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Seq => once(&mut seq, "seq", map.next_value::<u64>()?)?,
                Member::Time => once(&mut time, "time", map.next_value::<Micros>()?.0)?,
                Member::Offset => once(&mut offset, "offset", map.next_value::<Offset>()?.0)?,
                Member::Actor => once(&mut actor, "actor", map.next_value::<Actor>()?)?,
                Member::Step => once(&mut step, "step", map.next_value::<Option<String>>()?)?,
                Member::Kind => once(&mut kind, "kind", map.next_value::<Kind>()?.0)?,
                Member::Data => {
                    if body.is_some() || early_data.is_some() {
                        return Err(A::Error::duplicate_field("data"));
                    }
                    match kind {
                        Some(kind) => body = Some(map.next_value_seed(BodySeed(kind))?),
                        None => early_data = Some(map.next_value()?),
                    }
                }
                Member::Prev => once(&mut prev, "prev", map.next_value::<Digest>()?)?,
                Member::Hash => once(&mut hash, "hash", map.next_value::<Digest>()?)?,
                Member::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
        let body = match (body, early_data) {
            (Some(body), _) => body,
            (None, Some(data)) => serde::de::DeserializeSeed::deserialize(BodySeed(kind), data)
                .map_err(A::Error::custom)?,
            (None, None) => return Err(A::Error::missing_field("data")),
        };
        Ok(Wire(Box::new(Event {
            seq: seq.ok_or_else(|| A::Error::missing_field("seq"))?,
            time: time.ok_or_else(|| A::Error::missing_field("time"))?,
            offset: offset.ok_or_else(|| A::Error::missing_field("offset"))?,
            actor: actor.ok_or_else(|| A::Error::missing_field("actor"))?,
            step: step.unwrap_or(None),
            body,
            prev: prev.ok_or_else(|| A::Error::missing_field("prev"))?,
            hash: hash.ok_or_else(|| A::Error::missing_field("hash"))?,
        })))
    }
}

/// Reads `+HH:MM` or `-HH:MM`.
pub fn parse_offset(text: &str) -> Option<FixedOffset> {
    let bytes = text.as_bytes();
    if bytes.len() != 6 || bytes[3] != b':' {
        return None;
    }
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = text.get(1..3)?.parse().ok()?;
    let minutes: i32 = text.get(4..6)?.parse().ok()?;
    if !text[1..3].bytes().all(|b| b.is_ascii_digit())
        || !text[4..6].bytes().all(|b| b.is_ascii_digit())
        || minutes >= 60
    {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn draft() -> Draft {
        Draft {
            time: Utc
                .with_ymd_and_hms(2026, 11, 23, 9, 15, 2)
                .single()
                .unwrap()
                + chrono::Duration::microseconds(123_456),
            offset: FixedOffset::east_opt(3600).unwrap(),
            actor: Actor::person(Role::Operator, "A. Jansen"),
            step: Some("stop".into()),
            body: Body::NoteAdded(NoteAdded {
                text: "line one\nline \"two\" é".into(),
            }),
        }
    }

    #[test]
    fn a_sealed_line_reads_back_as_the_same_event() {
        let (line, event) = draft().seal(7, Digest::of(b"x")).unwrap();
        assert_eq!(*line.last().unwrap(), b'\n');
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.starts_with(
            "{\"seq\":7,\"time\":\"2026-11-23T09:15:02.123456Z\",\"offset\":\"+01:00\",\
             \"actor\":{\"role\":\"operator\",\"name\":\"A. Jansen\"},\"step\":\"stop\",\
             \"kind\":\"note_added\",\"data\":{\"text\":"
        ));
        let back = Event::from_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(back, event);
        // Read by hand, as custody writes it, and by the general decoder alike.
        let text = text.trim_end();
        assert_eq!(*decode_written(text).unwrap(), event);
        assert_eq!(*serde_json::from_str::<Wire>(text).unwrap().0, event);
    }

    #[test]
    fn the_hash_covers_the_line_without_the_hash_member() {
        let (line, event) = draft().seal(1, Digest::ZERO).unwrap();
        let text = std::str::from_utf8(&line).unwrap().trim_end();
        let cut = text.rfind(",\"hash\":").unwrap();
        let hashed = format!("{}}}", &text[..cut]);
        assert_eq!(Digest::of(hashed.as_bytes()), event.hash);
    }

    #[test]
    fn any_changed_byte_is_caught() {
        let (line, _) = draft().seal(1, Digest::ZERO).unwrap();
        let line = &line[..line.len() - 1];
        for i in 0..line.len() {
            let mut bad = line.to_vec();
            bad[i] ^= 0x01;
            assert!(Event::from_line(&bad).is_err(), "flip at {i} not caught");
        }
    }

    #[test]
    fn offsets_round_trip() {
        for secs in [0, 3600, -18000, 19800, 45900, -34200] {
            let offset = FixedOffset::east_opt(secs).unwrap();
            assert_eq!(parse_offset(&format_offset(&offset)), Some(offset));
        }
        assert_eq!(parse_offset("+1:00"), None);
        assert_eq!(parse_offset("+01:60"), None);
        assert_eq!(parse_offset("01:00+"), None);
    }

    /// One body of every kind, with escapes, non-ASCII text and `null`s in places.
    pub(crate) fn every_kind() -> Vec<Body> {
        let file = |name: &str| FileRef {
            file: format!("evidence/{name}"),
            size: 12,
            sha256: Digest::of(name.as_bytes()),
        };
        let party = |name: &str| Party {
            name: name.into(),
            role: Some("detective".into()),
            organisation: None,
        };
        let time = draft().time;
        let bodies = vec![
            Body::SessionStarted(Box::new(crate::journal::testing::started())),
            Body::StepStarted(StepStarted {
                reason: "redo \"it\"".into(),
            }),
            Body::ItemConfirmed(ItemConfirmed {
                item: 3,
                text: "Check the disk".into(),
            }),
            Body::StepCompleted(StepCompleted { next: None }),
            Body::DecisionMade(DecisionMade {
                choice: "yes".into(),
                label: "Yes — go on".into(),
                reason: "because\tso".into(),
                next: "end".into(),
            }),
            Body::FieldsRecorded(FieldsRecorded {
                values: [
                    ("a".to_owned(), "1".to_owned()),
                    ("b".into(), "x\ny".into()),
                ]
                .into(),
                next: Some("next".into()),
            }),
            Body::NoteAdded(NoteAdded {
                text: "plain note".into(),
            }),
            Body::StepSkipped(StepSkipped {
                reason: "n/a".into(),
                next: None,
            }),
            Body::EvidenceRecorded(EvidenceRecorded {
                paths: vec!["/srv".into(), "/home/é".into()],
                files: 2,
                bytes: 4096,
                manifest: Some(file("manifest")),
                errors: vec!["/srv/x: denied".into()],
                cancelled: true,
                sums: Some(file("sums")),
                algorithms: vec!["sha256".into(), "md5".into()],
                dirs: 1,
                links: 2,
                other: 3,
                error_count: Some(7),
            }),
            Body::CommandStarted(CommandStarted {
                argv: vec!["ls".into(), "-l".into()],
                changes_system: true,
                timeout_secs: 30,
            }),
            Body::CommandRun(CommandRun {
                argv: vec!["ls".into(), "-l".into()],
                changes_system: false,
                started: time,
                duration_ms: 12,
                exit_code: None,
                signal: Some(9),
                timed_out: true,
                stdout: Some(file("out")),
                stderr: None,
                error: Some("killed".into()),
            }),
            Body::ContactMade(ContactMade {
                purpose: ContactPurpose::Report,
                role: Some("police".into()),
                to: "Police".into(),
                channel: "phone".into(),
                at: None,
                reference: Some("REF-1".into()),
                person: None,
                notes: Some("n".into()),
                next: None,
            }),
            Body::CustodyTransferred(CustodyTransferred {
                items: "disk".into(),
                from: party("A"),
                to: party("B"),
                at: Some("noon".into()),
                location: "locker".into(),
                next: Some("end".into()),
            }),
            Body::InjectReleased(InjectReleased {
                inject: "i1".into(),
                title: "Inject".into(),
                body: Some("Body".into()),
                prompt: None,
            }),
            Body::InjectAnswered(InjectAnswered {
                inject: "i1".into(),
                answer: "We keep it running.".into(),
                by: Some("B".into()),
            }),
            Body::ClockChanged(ClockChanged {
                change: ClockChange::Advance,
                exercise_time: time,
                speed: 24,
                paused: false,
                advanced_secs: Some(3600),
            }),
            Body::DeadlinePassed(DeadlinePassed {
                deadline: "d".into(),
                label: "24 h".into(),
                due: time,
            }),
            Body::Paused(Paused { reason: None }),
            Body::Resumed(Resumed {
                interrupted: true,
                gap_seconds: -5,
                host: "h".into(),
                tool: Tool::this(),
            }),
            Body::Recovered(Recovered {
                offset: 100,
                length: 7,
                sha256: Digest::of(b"torn"),
                saved_as: "torn-100.bin".into(),
            }),
            Body::Sealed(Sealed {
                complete: false,
                note: None,
                signed_by: Some(SignerRef {
                    key_id: "53616B35F4E78FFB".into(),
                    public_key: "RWT7".into(),
                }),
            }),
            Body::ReportWritten(ReportWritten {
                files: vec![FileRef {
                    file: "report/report-s.md".into(),
                    size: 9,
                    sha256: Digest::of(b"report"),
                }],
            }),
        ];
        let kinds: Vec<&str> = bodies.iter().map(Body::kind).collect();
        assert_eq!(kinds, Body::KINDS, "one body of every kind, in order");
        bodies
    }

    /// The lines of one event of every kind, with a few actors and steps, without newlines.
    fn sample_lines() -> Vec<(String, Event)> {
        let actors = [
            Actor::person(Role::Operator, "A. Jansen"),
            Actor::custody(),
            Actor::person(Role::Facilitator, "Zoë \"Z\" Bakker"),
        ];
        let steps = [Some("stop".to_owned()), None, Some("ünïcode".to_owned())];
        every_kind()
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                let d = Draft {
                    actor: actors[i % 3].clone(),
                    step: steps[i % 3].clone(),
                    body,
                    ..draft()
                };
                let (line, event) = d.seal(i as u64 + 1, Digest::of(&i.to_le_bytes())).unwrap();
                let mut text = String::from_utf8(line).unwrap();
                text.pop();
                (text, event)
            })
            .collect()
    }

    /// Both decoders, checking that the hand-read one only ever agrees with the general one.
    fn decode_both(text: &str) -> Result<Event, String> {
        let general = serde_json::from_str::<Wire>(text).map(|w| *w.0);
        if let Some(fast) = decode_written(text) {
            assert_eq!(
                general.as_ref().ok(),
                Some(&*fast),
                "the hand-read decoder accepted what the general one does not: {text}"
            );
        }
        general.map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_reads_back_by_both_decoders() {
        for (text, event) in sample_lines() {
            assert_eq!(decode_both(&text), Ok(event.clone()), "{text}");
            assert_eq!(
                decode_written(&text).map(|e| *e),
                Some(event),
                "custody's own line must take the fast path: {text}"
            );
        }
    }

    #[test]
    fn an_unknown_kind_or_undecodable_data_is_refused() {
        let (text, _) = sample_lines().remove(6);
        assert!(text.contains("\"kind\":\"note_added\",\"data\":{\"text\":\"plain note\"}"));
        for (from, to) in [
            ("\"note_added\"", "\"note_edited\""),
            ("{\"text\":\"plain note\"}", "{\"txt\":\"plain note\"}"),
            ("{\"text\":\"plain note\"}", "{\"text\":7}"),
            ("{\"text\":\"plain note\"}", "null"),
            (
                "\"time\":\"2026-11-23T09:15:02.123456Z\"",
                "\"time\":\"2026-11-23T09:15:02\"",
            ),
            ("\"+01:00\"", "\"+1:00\""),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text);
            assert!(decode_both(&bad).is_err(), "{bad}");
        }
        // Members in another order, spaces and unknown members are read, by the general decoder.
        let reordered = text.replacen(
            "\"kind\":\"note_added\",\"data\":{\"text\":\"plain note\"}",
            "\"data\": {\"text\":\"plain note\", \"more\":[1]},\"extra\":null, \"kind\":\"note_added\"",
            1,
        );
        assert!(decode_written(&reordered).is_none());
        assert!(decode_both(&reordered).is_ok(), "{reordered}");
        let twice = text.replacen(",\"prev\"", ",\"seq\":1,\"prev\"", 1);
        assert!(decode_both(&twice).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Changed lines: wherever the hand-read decoder gives an event, the general decoder
        /// gives the same one.
        #[test]
        fn the_hand_read_decoder_agrees_with_the_general_one(
            which in 0usize..18,
            edits in proptest::collection::vec((0usize..2000, 0usize..3, 0usize..PIECES.len()), 1..4),
        ) {
            let (text, _) = sample_lines().swap_remove(which);
            let mut bytes = text.into_bytes();
            for (at, how, piece) in edits {
                let at = at % (bytes.len() + 1);
                let piece = PIECES[piece].as_bytes();
                match how {
                    0 => {
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {
                        let end = (at + piece.len()).min(bytes.len());
                        bytes.splice(at..end, piece.iter().copied());
                    }
                }
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = decode_both(text);
            }
        }

        /// The hand-read time is chrono's.
        #[test]
        fn written_times_read_as_chrono_reads_them(
            digits in proptest::collection::vec(0u8..10, 20),
            second in 55u32..62,
        ) {
            let d = &digits;
            let text = format!(
                "{}{}{}{}-{}{}-{}{}T{}{}:{}{}:{second:02}.{}{}{}{}{}{}Z",
                d[0], d[1], d[2], d[3], d[4] % 2, d[5], d[6] % 4, d[7], d[8] % 3, d[9], d[10] % 7,
                d[11], d[12], d[13], d[14], d[15], d[16], d[17]
            );
            let chrono = DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).ok();
            if let Some(fast) = parse_written_time(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(fast), chrono, "{}", text);
            }
            proptest::prop_assert_eq!(parse_time(&text).ok(), chrono, "{}", text);
        }
    }

    /// Bytes that matter to JSON and to the hand-read forms.
    const PIECES: [&str; 22] = [
        "\"", "\\", " ", "{", "}", "[", "]", ",", ":", "0", "9", "-", "a", "F", "Z", "n", "null",
        "é", "\\u0041", "\\\"", "\u{1}", "1e5",
    ];
}
