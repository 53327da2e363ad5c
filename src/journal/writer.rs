//! Appending to a journal: one `write` per event (a second only for the rest of a write the
//! kernel cut short), then `fdatasync`, and only then is the event acknowledged. A write that fails is undone (the file is cut back to its old length), so the
//! journal on disk stays a valid chain and the same event can be tried again.

use std::fs::File;
use std::io::{self, Write as _};

use super::event::{Draft, Event};
use super::hash::Digest;

/// The largest event line custody writes or reads (16 MiB). Command output and evidence live in
/// files; an event only names them.
pub const MAX_LINE: usize = 16 << 20;

/// What the writer needs from the file under it. A trait so that tests can make writes fail
/// the way a full or read-only disk does.
pub trait Medium {
    /// One `write(2)`: returns how many bytes went in, which may be fewer than asked.
    fn write_once(&mut self, bytes: &[u8]) -> io::Result<usize>;
    /// Makes what was written durable (`fdatasync(2)`).
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file back to `len` bytes.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Medium for File {
    fn write_once(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// Why an event was not written. In every case it was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The write or the sync failed, and the journal was cut back to what it was before: the
    /// event can be tried again once the cause (a full disk, say) is gone.
    #[error("the event could not be written to the journal ({source}); nothing was recorded")]
    NotWritten {
        #[source]
        source: io::Error,
    },
    /// The write failed and the journal could not be cut back: its last line may be torn.
    #[error(
        "the event could not be written ({source}) and the journal could not be restored \
         ({restore}); stop, then run `custody verify` on the session"
    )]
    Damaged {
        #[source]
        source: io::Error,
        restore: io::Error,
    },
    /// An earlier failure left the journal in an unknown state; nothing more is written.
    #[error(
        "an earlier write failure left the journal unrestored; nothing more is written. \
         Run `custody verify`, then `custody recover`, on the session"
    )]
    Poisoned,
    /// The event is larger than [`MAX_LINE`].
    #[error("the event is {size} bytes, more than the journal's limit of {MAX_LINE} bytes")]
    TooLarge { size: usize },
    /// The event could not be encoded (not expected; a bug).
    #[error("the event could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

impl WriteError {
    /// An `io::ErrorKind` to tell the user about (disk full, read-only ...), if any.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            WriteError::NotWritten { source } | WriteError::Damaged { source, .. } => {
                Some(source.kind())
            }
            _ => None,
        }
    }
}

/// The appending end of a journal. It does not lock: [`super::folder::SessionFolder`] holds the
/// lock for as long as its writer lives.
#[derive(Debug)]
pub struct Writer<M: Medium = File> {
    medium: M,
    /// Bytes in the file, all of them whole lines.
    len: u64,
    next_seq: u64,
    last: Digest,
    poisoned: bool,
}

impl<M: Medium> Writer<M> {
    /// A writer at the end of a journal of `len` bytes whose last event is `last_seq` with hash
    /// `last` (0 and zeros for an empty journal).
    pub fn new(medium: M, len: u64, last_seq: u64, last: Digest) -> Self {
        Self {
            medium,
            len,
            next_seq: last_seq + 1,
            last,
            poisoned: false,
        }
    }

    /// Writes the event, makes it durable and returns it. Only a returned event is recorded.
    pub fn append(&mut self, draft: Draft) -> Result<Event, WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        let (line, event) = draft.seal(self.next_seq, self.last)?;
        if line.len() > MAX_LINE {
            return Err(WriteError::TooLarge { size: line.len() });
        }
        // One write normally takes the whole line. When the kernel takes only part (a disk
        // filling up), the rest is offered again: it either goes in, or the second write says
        // why not (ENOSPC, EFBIG ...), which is the reason the user needs to see.
        let mut written = 0;
        let outcome = loop {
            match self.medium.write_once(&line[written..]) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("only {written} of {} bytes could be written", line.len()),
                    ));
                }
                Ok(n) => {
                    written += n;
                    if written >= line.len() {
                        break self.medium.sync();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if let Err(source) = outcome {
            return Err(self.undo(source));
        }
        self.len += line.len() as u64;
        self.next_seq += 1;
        self.last = event.hash;
        Ok(event)
    }

    fn undo(&mut self, source: io::Error) -> WriteError {
        match self
            .medium
            .truncate(self.len)
            .and_then(|()| self.medium.sync())
        {
            Ok(()) => WriteError::NotWritten { source },
            Err(restore) => {
                self.poisoned = true;
                WriteError::Damaged { source, restore }
            }
        }
    }

    /// The hash of the last event written.
    pub fn last_hash(&self) -> Digest {
        self.last
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The journal's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn medium(&self) -> &M {
        &self.medium
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::{Actor, Body, NoteAdded};
    use super::*;
    use chrono::{FixedOffset, Utc};

    /// Writes into memory; fails as told.
    #[derive(Default)]
    struct Flaky {
        bytes: Vec<u8>,
        /// Accept at most this many bytes in the next write, then fail with ENOSPC.
        room: Option<usize>,
        /// Fail the next sync (once), as `fdatasync` does on an I/O error.
        fail_sync: bool,
        fail_truncate: bool,
    }

    impl Medium for Flaky {
        fn write_once(&mut self, bytes: &[u8]) -> io::Result<usize> {
            match self.room {
                Some(0) => Err(io::Error::from_raw_os_error(28)),
                Some(room) if room < bytes.len() => {
                    self.bytes.extend_from_slice(&bytes[..room]);
                    self.room = Some(0);
                    Ok(room)
                }
                _ => {
                    self.bytes.extend_from_slice(bytes);
                    Ok(bytes.len())
                }
            }
        }
        fn sync(&mut self) -> io::Result<()> {
            if std::mem::take(&mut self.fail_sync) {
                Err(io::Error::from_raw_os_error(5))
            } else {
                Ok(())
            }
        }
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            if self.fail_truncate {
                return Err(io::Error::from_raw_os_error(30));
            }
            self.bytes.truncate(usize::try_from(len).unwrap());
            Ok(())
        }
    }

    fn note(text: &str) -> Draft {
        Draft {
            time: Utc::now(),
            offset: FixedOffset::east_opt(0).unwrap(),
            actor: Actor::custody(),
            step: None,
            body: Body::NoteAdded(NoteAdded { text: text.into() }),
        }
    }

    #[test]
    fn a_short_write_is_undone_and_can_be_retried() {
        let mut w = Writer::new(Flaky::default(), 0, 0, Digest::ZERO);
        let first = w.append(note("one")).unwrap();
        let before = w.medium().bytes.clone();
        w.medium.room = Some(10);
        let err = w.append(note("two")).unwrap_err();
        assert!(matches!(err, WriteError::NotWritten { .. }), "{err}");
        assert_eq!(w.medium().bytes, before, "the partial line must be cut off");
        w.medium.room = None;
        let second = w.append(note("two")).unwrap();
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev, first.hash);
    }

    #[test]
    fn a_failed_sync_is_not_acknowledged() {
        let mut w = Writer::new(Flaky::default(), 0, 0, Digest::ZERO);
        w.medium.fail_sync = true;
        assert!(w.append(note("one")).is_err());
        assert!(w.medium().bytes.is_empty());
        assert_eq!(w.append(note("one")).unwrap().seq, 1);
    }

    #[test]
    fn a_journal_that_cannot_be_restored_takes_no_more_events() {
        let mut w = Writer::new(Flaky::default(), 0, 0, Digest::ZERO);
        w.medium.room = Some(5);
        w.medium.fail_truncate = true;
        assert!(matches!(
            w.append(note("one")).unwrap_err(),
            WriteError::Damaged { .. }
        ));
        w.medium.room = None;
        assert!(matches!(
            w.append(note("two")).unwrap_err(),
            WriteError::Poisoned
        ));
    }
}
