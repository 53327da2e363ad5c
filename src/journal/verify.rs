//! `custody verify`: checks a session without changing it and without taking its lock, so that a
//! live session can be checked too. It recomputes every event's hash and the chain, decodes every
//! event in full (as opening the session does, so a `kind` this version does not know or `data`
//! that does not decode is found), checks the runbook copy against the hash in the first event,
//! and checks the signature of a signed seal. The lines are read and hashed on a second thread
//! while this one decodes them ([`ReadAhead`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::event::{Body, Sealed, SessionStarted};
use super::folder::{JOURNAL, SIGNATURE, resolve};
use super::hash::Digest;
use super::reader::{Problem, ReadAhead, ScanError};
use super::sign::{self, SignatureCheck};

/// How the runbook copy compares with the hash recorded at the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookCheck {
    Intact,
    Changed {
        expected: Digest,
        found: Digest,
    },
    Missing(String),
    /// The first event could not be read, so there is nothing to compare with.
    NotChecked,
}

/// What was found about a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// No signature file, and the seal (if any) names no key.
    None,
    /// Checked with the key given by the user. Also `Checked(Invalid(reason))`, with or without
    /// a key, for a signature file that cannot stand whatever the key: one beside a journal
    /// without a signed seal (the reason begins "a signature file (journal.jsonl.minisig) exists
    /// but there is no signed seal"), or one that cannot be read.
    Checked(SignatureCheck),
    /// Checked with the key named in the seal event only: proves the journal was not changed
    /// since signing, but not who signed; compare the key id with the signer's published key.
    CheckedWithRecordedKey(SignatureCheck),
    /// The seal names a key but the signature file is missing.
    Missing { key_id: String },
    /// A signature file exists but there is no key to check it with.
    Unchecked(String),
}

/// Whether the session is sealed, as far as the journal shows: see [`Verification::sealing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing<'a> {
    /// The seal event was read: its time and what it says.
    Sealed {
        at: &'a DateTime<Utc>,
        seal: &'a Sealed,
    },
    /// Every line was read (a torn last line aside, which was never acknowledged) and none is
    /// a seal.
    Open,
    /// A line was changed before any seal was read, so the lines from there on, which may have
    /// held a seal, cannot be trusted: whether the session was sealed is unknown.
    Unknown,
}

/// Everything `verify` found.
#[derive(Debug, Clone)]
pub struct Verification {
    pub folder: PathBuf,
    pub journal: PathBuf,
    /// Good events, and their bytes.
    pub events: u64,
    pub bytes: u64,
    pub started: Option<SessionStarted>,
    pub first_time: Option<DateTime<Utc>>,
    pub last_time: Option<DateTime<Utc>>,
    pub last_kind: Option<String>,
    /// The hash of the last good event: the value to write down.
    pub final_hash: Digest,
    /// The seal, if one was read. `None` does not mean "open" when the journal is damaged:
    /// see [`Verification::sealing`].
    pub sealed: Option<(DateTime<Utc>, Sealed)>,
    /// How many torn lines were set aside by journaled recoveries.
    pub recoveries: u64,
    /// The first thing wrong with the journal.
    pub problem: Option<Problem>,
    pub runbook: RunbookCheck,
    /// The scenario copy, for an exercise that follows a scenario.
    pub scenario: Option<RunbookCheck>,
    pub signature: Signature,
    /// Whether the hash the user expects is in the chain.
    pub expected_found: Option<bool>,
    /// Things a reader should know that do not make the journal bad.
    pub notes: Vec<String>,
    /// The journal format named in the first event, when it is newer than this version reads:
    /// the chain may check out, but what this version cannot know about cannot be checked.
    pub newer_format: Option<u32>,
}

impl Verification {
    /// The runbook copy, and the scenario copy if there is one, are as recorded.
    pub fn copies_intact(&self) -> bool {
        self.runbook == RunbookCheck::Intact
            && self
                .scenario
                .as_ref()
                .is_none_or(|s| *s == RunbookCheck::Intact)
    }

    /// Intact: the chain, the runbook copy, the signature and the expected hash all check out.
    pub fn intact(&self) -> bool {
        self.problem.is_none()
            && self.events > 0
            && self.copies_intact()
            && !matches!(
                self.signature,
                Signature::Checked(SignatureCheck::Invalid(_))
                    | Signature::CheckedWithRecordedKey(SignatureCheck::Invalid(_))
                    | Signature::Missing { .. }
            )
            && self.expected_found != Some(false)
            && self.newer_format.is_none()
    }

    /// Whether the session is sealed: sealed (the seal was read), open, or unknown because a
    /// line before any seal was changed. A torn last line counts as open: it was never
    /// acknowledged, so even a seal cut short there did not seal the session.
    pub fn sealing(&self) -> Sealing<'_> {
        match (&self.sealed, &self.problem) {
            (Some((at, seal)), _) => Sealing::Sealed { at, seal },
            (None, Some(problem)) if !problem.is_torn() => Sealing::Unknown,
            (None, _) => Sealing::Open,
        }
    }
}

/// Verifies the session at `path` (its folder or its journal). `Err` only when the journal
/// cannot be read at all.
pub fn verify(
    path: &Path,
    public_key: Option<&str>,
    expect: Option<Digest>,
) -> Result<Verification, (PathBuf, std::io::Error)> {
    let folder = resolve(path);
    let journal = folder.join(JOURNAL);
    let file = File::open(&journal).map_err(|e| (journal.clone(), e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err((
            journal,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
        ));
    }
    let mut scanner = ReadAhead::new(file);
    let mut v = Verification {
        folder: folder.clone(),
        journal: journal.clone(),
        events: 0,
        bytes: 0,
        started: None,
        first_time: None,
        last_time: None,
        last_kind: None,
        final_hash: Digest::ZERO,
        sealed: None,
        recoveries: 0,
        problem: None,
        runbook: RunbookCheck::NotChecked,
        scenario: None,
        signature: Signature::None,
        expected_found: expect.map(|_| false),
        notes: Vec::new(),
        newer_format: None,
    };
    let mut last_kind = None;
    let mut clock_went_back = 0u64;
    loop {
        match scanner.next_link() {
            Ok(Some(link)) => {
                if expect == Some(link.hash) {
                    v.expected_found = Some(true);
                }
                last_kind = Some(link.kind);
                // Every event is decoded in full by the scanner; only these are kept.
                let event = link.into_event();
                let time = event.time;
                match event.body {
                    Body::SessionStarted(s) => v.started = Some(*s),
                    Body::Sealed(s) => v.sealed = Some((time, s)),
                    Body::Recovered(_) => v.recoveries += 1,
                    _ => {}
                }
                if v.last_time.is_some_and(|p| time < p) {
                    clock_went_back += 1;
                }
                v.first_time.get_or_insert(time);
                v.last_time = Some(time);
            }
            Ok(None) => break,
            Err(ScanError::Io(e)) => return Err((journal, e)),
            Err(ScanError::Bad(problem)) => {
                v.problem = Some(problem);
                break;
            }
        }
    }
    v.last_kind = last_kind.map(str::to_owned);
    v.events = scanner.events();
    v.bytes = scanner.offset();
    v.final_hash = scanner.last_hash();
    drop(scanner);
    if clock_went_back > 0 {
        v.notes.push(format!(
            "the clock went back {clock_went_back} time(s) between events (times are as the \
             machine's clock gave them)"
        ));
    }
    if let Some(started) = &v.started {
        if started.format > super::event::JOURNAL_FORMAT {
            v.newer_format = Some(started.format);
            v.notes.push(format!(
                "the journal was written in format {}, newer than this custody reads ({}): \
                 what this version does not know cannot be checked; verify it with a newer \
                 custody",
                started.format,
                super::event::JOURNAL_FORMAT
            ));
        }
        v.runbook = check_copy(&folder, &started.runbook.file, started.runbook.sha256);
        v.scenario = started
            .scenario
            .as_ref()
            .map(|s| check_copy(&folder, &s.file, s.sha256));
        if started.clock.synchronised == Some(false) {
            v.notes.push(
                "the machine's clock was not synchronised when the session started; its times \
                 may be off"
                    .into(),
            );
        }
    }
    v.signature = check_signature(&folder, &journal, &v, public_key);
    if v.sealed.is_none() && v.problem.is_none() && v.events > 0 {
        v.notes.push(format!(
            "{NOT_SEALED}: events could still be added, and events removed from the end would \
             leave no trace; compare the final hash with one written down"
        ));
    }
    Ok(v)
}

/// How the note on a journal that is not sealed begins (a report written by the seal replaces
/// it, since the seal follows that report).
pub const NOT_SEALED: &str = "the session is not sealed";

/// Whether a copy in the session folder still hashes to what the first event recorded.
fn check_copy(folder: &Path, file: &str, recorded: Digest) -> RunbookCheck {
    let copy = folder.join(file);
    match super::folder::read_copy(folder, file) {
        Ok(bytes) => {
            let found = Digest::of(&bytes);
            if found == recorded {
                RunbookCheck::Intact
            } else {
                RunbookCheck::Changed {
                    expected: recorded,
                    found,
                }
            }
        }
        Err(e) => RunbookCheck::Missing(format!("{}: {e}", copy.display())),
    }
}

/// What the signature file says of the journal. A signature file beside a journal without a
/// seal that names a key is reported invalid whatever its content: custody signs only after a
/// seal that names the key, so the seal was removed (the journal cut back), the journal is
/// damaged before it, or the file does not belong to this journal.
fn check_signature(
    folder: &Path,
    journal: &Path,
    v: &Verification,
    public_key: Option<&str>,
) -> Signature {
    let recorded = v.sealed.as_ref().and_then(|(_, s)| s.signed_by.as_ref());
    let path = folder.join(SIGNATURE);
    let read = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match (recorded, public_key) {
                (Some(signer), _) => Signature::Missing {
                    key_id: signer.key_id.clone(),
                },
                (None, Some(_)) => Signature::Checked(SignatureCheck::Invalid(format!(
                    "there is no signature ({SIGNATURE}) to check"
                ))),
                (None, None) => Signature::None,
            };
        }
        other => other,
    };
    if recorded.is_none() {
        let why = match v.sealing() {
            Sealing::Sealed { .. } => {
                "the seal names no signing key; custody signs only a seal \
                 that names its key, so the signature was not made by custody for this seal"
            }
            Sealing::Unknown => {
                "the journal is damaged before any seal could be read, so no \
                 signed seal vouches for the signature"
            }
            Sealing::Open => {
                "the journal has no seal; custody signs only a sealed journal, so \
                 the seal was removed (the journal cut back) or the signature belongs to another \
                 journal"
            }
        };
        return Signature::Checked(SignatureCheck::Invalid(format!(
            "a signature file ({SIGNATURE}) exists but there is no signed seal: {why}"
        )));
    }
    let signature = match read.map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            return Signature::Checked(SignatureCheck::Invalid(format!(
                "{SIGNATURE} is not a minisign signature: it is not text"
            )));
        }
        Err(e) => {
            return Signature::Checked(SignatureCheck::Invalid(format!(
                "{SIGNATURE} cannot be read: {e}"
            )));
        }
    };
    if let Some(key) = public_key {
        return match sign::load_public_key(key) {
            Ok(key) => Signature::Checked(sign::check(journal, &signature, &key)),
            Err(why) => Signature::Checked(SignatureCheck::Invalid(why)),
        };
    }
    match recorded.map(|s| sign::load_public_key(&s.public_key)) {
        Some(Ok(key)) => Signature::CheckedWithRecordedKey(sign::check(journal, &signature, &key)),
        Some(Err(why)) => Signature::Unchecked(why),
        None => Signature::Unchecked("the seal names no key; pass --pubkey to check it".into()),
    }
}
