//! Reading a journal line by line while checking the chain: every line's own hash, the sequence
//! numbers and each `prev`. Reading streams, so a journal of any size is read in constant memory.
//! A last line without its newline is a torn write and is reported as such, never dropped.

use std::borrow::Cow;
use std::io::{self, BufRead, Read as _};

use serde::Deserialize;

use super::event::{Event, LineError};
use super::hash::Digest;
use super::writer::MAX_LINE;

/// What is wrong with a journal, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The number the bad event has, or would have had (one more than the last good one).
    pub seq: u64,
    /// The byte offset in the journal where the bad line starts.
    pub offset: u64,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The journal ends in a line without its newline (a write cut short, as by a power cut).
    Torn { length: u64 },
    /// A line was changed, removed, inserted or reordered; the text says what was found.
    Changed(String),
}

impl Problem {
    pub fn is_torn(&self) -> bool {
        matches!(self.kind, ProblemKind::Torn { .. })
    }

    /// One sentence for the user.
    pub fn describe(&self) -> String {
        match &self.kind {
            ProblemKind::Torn { length } => format!(
                "the last line (event {}, at byte {}) is torn: {length} bytes without an end of \
                 line, as left by a write cut short",
                self.seq, self.offset
            ),
            ProblemKind::Changed(what) => {
                format!("event {} (at byte {}) {what}", self.seq, self.offset)
            }
        }
    }
}

/// Reading failed: the file could not be read, or its content is bad.
#[derive(Debug)]
pub enum ScanError {
    Io(io::Error),
    Bad(Problem),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

/// One line that passed the chain checks.
#[derive(Debug)]
pub struct Link<'a> {
    pub offset: u64,
    pub seq: u64,
    pub hash: Digest,
    /// The event's `kind`.
    pub kind: Cow<'a, str>,
    /// The line without its newline.
    pub line: &'a [u8],
}

impl Link<'_> {
    /// Decodes the whole event (its hash is already checked).
    pub fn event(&self) -> Result<Event, Problem> {
        Event::from_line(self.line).map_err(|e| Problem {
            seq: self.seq,
            offset: self.offset,
            kind: ProblemKind::Changed(describe_line_error(&e)),
        })
    }
}

/// The members the chain check needs; the payload is skipped, not decoded.
#[derive(Deserialize)]
struct Light<'a> {
    seq: u64,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    prev: Digest,
}

fn describe_line_error(e: &LineError) -> String {
    match e {
        LineError::NoHash => "does not end in its hash (`,\"hash\":\"<64 hex>\"}`)".into(),
        LineError::HashMismatch { .. } => "does not match its hash: its content was changed".into(),
        LineError::Malformed(why) => format!("is not a well-formed event: {why}"),
    }
}

/// Walks a journal's lines and checks the chain as it goes.
#[derive(Debug)]
pub struct Scanner<R> {
    input: R,
    offset: u64,
    next_seq: u64,
    prev: Digest,
    sealed_at: Option<u64>,
    buf: Vec<u8>,
}

impl<R: BufRead> Scanner<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            offset: 0,
            next_seq: 1,
            prev: Digest::ZERO,
            sealed_at: None,
            buf: Vec::new(),
        }
    }

    /// Bytes read so far, all in whole, good lines.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The hash of the last good event (zeros before the first).
    pub fn last_hash(&self) -> Digest {
        self.prev
    }

    /// The number of good events read.
    pub fn events(&self) -> u64 {
        self.next_seq - 1
    }

    /// The next good line, `None` at the clean end of the journal, or what is wrong.
    pub fn next_link(&mut self) -> Result<Option<Link<'_>>, ScanError> {
        self.buf.clear();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
        let read = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        let offset = self.offset;
        let seq = self.next_seq;
        let bad = |kind| ScanError::Bad(Problem { seq, offset, kind });
        if let Some(sealed) = self.sealed_at {
            return Err(bad(ProblemKind::Changed(format!(
                "follows the seal (event {sealed}), after which nothing may be written"
            ))));
        }
        if self.buf.last() != Some(&b'\n') {
            if self.buf.len() > MAX_LINE {
                return Err(bad(ProblemKind::Changed(format!(
                    "is longer than {MAX_LINE} bytes, which custody never writes"
                ))));
            }
            return Err(bad(ProblemKind::Torn {
                length: self.buf.len() as u64,
            }));
        }
        let line = &self.buf[..self.buf.len() - 1];
        let hash = super::event::check_line_hash(line)
            .map_err(|e| bad(ProblemKind::Changed(describe_line_error(&e))))?;
        let light: Light<'_> = serde_json::from_slice(line).map_err(|e| {
            bad(ProblemKind::Changed(format!(
                "is not a well-formed event: {e}"
            )))
        })?;
        if light.seq != seq {
            return Err(bad(ProblemKind::Changed(format!(
                "is numbered {} where {seq} was expected: events were removed, added or \
                 reordered",
                light.seq
            ))));
        }
        if light.prev != self.prev {
            return Err(bad(ProblemKind::Changed(
                "does not follow from the event before (its `prev` is not that event's hash): \
                 events were removed, added or changed"
                    .into(),
            )));
        }
        if seq == 1 && light.kind != "session_started" {
            return Err(bad(ProblemKind::Changed(format!(
                "is a `{}` event, but a journal begins with `session_started`",
                light.kind
            ))));
        }
        if seq > 1 && light.kind == "session_started" {
            return Err(bad(ProblemKind::Changed(
                "is a second `session_started`: two journals were joined".into(),
            )));
        }
        if light.kind == "sealed" {
            self.sealed_at = Some(seq);
        }
        self.offset += read as u64;
        self.next_seq += 1;
        self.prev = hash;
        Ok(Some(Link {
            offset,
            seq,
            hash,
            kind: light.kind,
            line,
        }))
    }

    /// Reads every event to the end, decoded.
    pub fn read_all(mut self) -> Result<Vec<Event>, ScanError> {
        let mut events = Vec::new();
        while let Some(link) = self.next_link()? {
            events.push(link.event().map_err(ScanError::Bad)?);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::{Actor, Body, Draft, NoteAdded};
    use super::*;
    use chrono::{FixedOffset, Utc};

    fn journal(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = Digest::ZERO;
        for seq in 1..=n {
            let body = if seq == 1 {
                Body::SessionStarted(Box::new(crate::journal::testing::started()))
            } else {
                Body::NoteAdded(NoteAdded {
                    text: format!("note {seq}"),
                })
            };
            let (line, event) = Draft {
                time: Utc::now(),
                offset: FixedOffset::east_opt(0).unwrap(),
                actor: Actor::custody(),
                step: None,
                body,
            }
            .seal(seq, prev)
            .unwrap();
            prev = event.hash;
            out.extend_from_slice(&line);
        }
        out
    }

    fn scan(bytes: &[u8]) -> Result<u64, Problem> {
        let mut s = Scanner::new(bytes);
        loop {
            match s.next_link() {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(s.events()),
                Err(ScanError::Bad(p)) => return Err(p),
                Err(ScanError::Io(e)) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_good_journal_reads_to_the_end() {
        assert_eq!(scan(&journal(5)), Ok(5));
        assert_eq!(scan(b""), Ok(0));
    }

    #[test]
    fn a_removed_event_is_named() {
        let bytes = journal(4);
        let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
        let without_third: Vec<u8> = [lines[0], lines[1], lines[3]].concat();
        let p = scan(&without_third).unwrap_err();
        assert_eq!(p.seq, 3);
        assert_eq!(p.offset, (lines[0].len() + lines[1].len()) as u64);
    }

    #[test]
    fn a_torn_tail_is_torn_not_changed() {
        let bytes = journal(3);
        let p = scan(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(p.is_torn(), "{p:?}");
        assert_eq!(p.seq, 3);
    }
}
