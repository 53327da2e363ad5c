//! Reading a journal line by line while checking it: every line's length and own hash, the
//! sequence numbers, each `prev`, and the full decoding of every event, so that a `kind` this
//! version does not know or `data` that does not decode is refused here, for every reader.
//! Reading streams, so a journal of any size is read in bounded memory. A last line without its
//! newline is a torn write and is reported as such, never dropped.
//!
//! [`Scanner`] does everything on the calling thread. [`ReadAhead`] makes the same checks, in
//! the same order and with the same messages, but shares the work with a second thread that
//! reads the file and hashes the lines ahead; `custody verify` uses it. Both go through
//! `Chain::check`, so the rules live in one place, and both decode every event with
//! [`decode_checked_line`], the decoder `Session::open` relies on.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use serde::Deserialize;

use super::event::{Body, Event, LineError, check_line_hash, decode_checked_line};
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

/// One line that passed every check, with its event decoded.
#[derive(Debug)]
pub struct Link<'a> {
    pub offset: u64,
    pub seq: u64,
    pub hash: Digest,
    /// The event's `kind`: always one of [`Body::KINDS`].
    pub kind: &'static str,
    /// The line without its newline.
    pub line: &'a [u8],
    decoded: Box<Event>,
}

impl Link<'_> {
    /// The event, decoded in full when the line was read (so this no longer fails; the
    /// `Result` is kept for existing callers).
    pub fn event(self) -> Result<Event, Problem> {
        Ok(*self.decoded)
    }

    /// The event, decoded in full when the line was read.
    pub fn into_event(self) -> Event {
        *self.decoded
    }

    pub fn as_event(&self) -> &Event {
        &self.decoded
    }
}

/// The members the rules name, read on their own only to explain a line that does not decode.
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

/// A `kind` from the file, fit to be shown: escaped, and cut short if long.
fn shown_kind(kind: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = kind
        .chars()
        .take(MAX)
        .flat_map(char::escape_debug)
        .collect();
    if kind.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// Where the chain stands: what the next line must be.
#[derive(Debug)]
struct Chain {
    /// Bytes in whole, good lines so far.
    offset: u64,
    next_seq: u64,
    prev: Digest,
    sealed_at: Option<u64>,
}

impl Chain {
    fn new() -> Self {
        Self {
            offset: 0,
            next_seq: 1,
            prev: Digest::ZERO,
            sealed_at: None,
        }
    }

    /// Rules 5 to 7 of `docs/JOURNAL.md`: the number, the link and the first kind.
    fn follows(&self, seq: u64, prev: &Digest, kind: &str) -> Result<(), String> {
        let expected = self.next_seq;
        if seq != expected {
            return Err(format!(
                "is numbered {seq} where {expected} was expected: events were removed, added or \
                 reordered"
            ));
        }
        if *prev != self.prev {
            return Err(
                "does not follow from the event before (its `prev` is not that event's hash): \
                 events were removed, added or changed"
                    .into(),
            );
        }
        if expected == 1 && kind != "session_started" {
            return Err(format!(
                "is a `{}` event, but a journal begins with `session_started`",
                shown_kind(kind)
            ));
        }
        if expected > 1 && kind == "session_started" {
            return Err("is a second `session_started`: two journals were joined".into());
        }
        Ok(())
    }

    /// Checks one piece as read: a whole line with its newline, or, at the end, what is left
    /// without one (at most [`MAX_LINE`] bytes: a reader stops there). `hashed` is the result
    /// of [`check_line_hash`] on the line, and `decoded` that of [`decode_checked_line`] with
    /// the hash it gave, when they were computed ahead.
    ///
    /// The checks come in the order of `docs/JOURNAL.md` section 5, and the first that fails is
    /// reported: the line ends (or is torn, or too long), nothing follows a seal, the hash
    /// checks out, the line is an object with `seq`, `kind` and `prev`, the number, the link,
    /// the first kind; then the event decodes in full: a kind this version knows, with `data`
    /// (and every other member) as that kind has it.
    fn check<'a>(
        &mut self,
        piece: &'a [u8],
        hashed: Option<Result<Digest, LineError>>,
        decoded: Option<Result<Box<Event>, LineError>>,
    ) -> Result<Link<'a>, Problem> {
        let offset = self.offset;
        let seq = self.next_seq;
        let bad = |what: String| Problem {
            seq,
            offset,
            kind: ProblemKind::Changed(what),
        };
        if let Some(sealed) = self.sealed_at {
            return Err(bad(format!(
                "follows the seal (event {sealed}), after which nothing may be written"
            )));
        }
        let line = match piece.strip_suffix(b"\n") {
            Some(line) if piece.len() <= MAX_LINE => line,
            _ if piece.len() >= MAX_LINE => {
                return Err(bad(format!(
                    "is longer than {MAX_LINE} bytes (its newline included), which custody \
                     never writes"
                )));
            }
            _ => {
                return Err(Problem {
                    seq,
                    offset,
                    kind: ProblemKind::Torn {
                        length: piece.len() as u64,
                    },
                });
            }
        };
        let hash = hashed
            .unwrap_or_else(|| check_line_hash(line))
            .map_err(|e| bad(describe_line_error(&e)))?;
        let event = decoded
            .unwrap_or_else(|| decode_checked_line(line, hash))
            .map_err(|e| bad(self.explain(line, &e)))?;
        let kind = event.body.kind();
        self.follows(event.seq, &event.prev, kind).map_err(bad)?;
        if kind == "sealed" {
            self.sealed_at = Some(seq);
        }
        self.offset += piece.len() as u64;
        self.next_seq += 1;
        self.prev = hash;
        Ok(Link {
            offset,
            seq,
            hash,
            kind,
            line,
            decoded: event,
        })
    }

    /// Why a line whose hash checks out does not decode, by the first rule it breaks.
    fn explain(&self, line: &[u8], error: &LineError) -> String {
        let light: Light<'_> = match serde_json::from_slice(line) {
            Ok(light) => light,
            Err(e) => return format!("is not a well-formed event: {e}"),
        };
        if let Err(why) = self.follows(light.seq, &light.prev, &light.kind) {
            return why;
        }
        if !Body::knows(&light.kind) {
            return format!(
                "is a `{}` event, which this version of custody does not know: it was written \
                 by a newer version or changed",
                shown_kind(&light.kind)
            );
        }
        match error {
            LineError::Malformed(why) => format!(
                "is not a well-formed `{}` event: {why}",
                shown_kind(&light.kind)
            ),
            other => describe_line_error(other),
        }
    }
}

/// Walks a journal's lines and checks them as it goes, all on the calling thread.
#[derive(Debug)]
pub struct Scanner<R> {
    input: R,
    chain: Chain,
    buf: Vec<u8>,
}

impl<R: BufRead> Scanner<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            chain: Chain::new(),
            buf: Vec::new(),
        }
    }

    /// Bytes read so far, all in whole, good lines.
    pub fn offset(&self) -> u64 {
        self.chain.offset
    }

    /// The hash of the last good event (zeros before the first).
    pub fn last_hash(&self) -> Digest {
        self.chain.prev
    }

    /// The number of good events read.
    pub fn events(&self) -> u64 {
        self.chain.next_seq - 1
    }

    /// The next good line, `None` at the clean end of the journal, or what is wrong.
    pub fn next_link(&mut self) -> Result<Option<Link<'_>>, ScanError> {
        if !read_piece(&mut self.input, &mut self.buf)? {
            return Ok(None);
        }
        self.chain
            .check(&self.buf, None, None)
            .map(Some)
            .map_err(ScanError::Bad)
    }

    /// Reads every event to the end, decoded.
    pub fn read_all(mut self) -> Result<Vec<Event>, ScanError> {
        let mut events = Vec::new();
        while let Some(link) = self.next_link()? {
            events.push(link.into_event());
        }
        Ok(events)
    }
}

/// Reads the next piece into `buf`: up to and including a newline, but never more than
/// [`MAX_LINE`] bytes. `false` at the end of the input.
fn read_piece(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
    Ok(input.take(limit).read_until(b'\n', buf)? > 0)
}

/// How many bytes the read-ahead thread reads at a time.
const BLOCK: usize = 1 << 18;
/// How many blocks may wait, read (and mostly hashed), for the checking thread.
const BLOCKS_AHEAD: usize = 2;

/// Lines read ahead: the bytes, and where each piece ends, with what was checked of it.
#[derive(Debug)]
struct Block {
    /// Always `BLOCK` bytes or more long; only the pieces' bytes are meaningful.
    buf: Vec<u8>,
    pieces: Vec<Piece>,
}

#[derive(Debug)]
struct Piece {
    /// The end of the piece in the block (its start is the end of the one before, or 0).
    end: usize,
    /// [`check_line_hash`] of the line, when the read-ahead thread did it (a piece without a
    /// newline has none; the checking thread hashes any other piece without one).
    hashed: Option<Result<Digest, LineError>>,
    /// [`decode_checked_line`] of the line, when the read-ahead thread had time to do it.
    decoded: Option<Result<Box<Event>, LineError>>,
}

#[derive(Debug)]
enum Ahead {
    Block(Block),
    /// The input ended (or an unterminated piece was sent: nothing after it is read).
    End,
    Failed(io::Error),
}

/// Walks a journal's lines like [`Scanner`], with the same checks, results and messages, but
/// with the work shared by two threads: a second thread reads the file a few blocks ahead and
/// hashes the lines, while the calling thread decodes them and applies the chain rules. The
/// two even out as they go (see `hand_over`): the calling thread hashes the lines the other had
/// no time for, and the other decodes lines while the calling thread is behind. Memory stays
/// bounded: at most `BLOCKS_AHEAD + 2` blocks of 256 KiB (or of the longest line, when longer)
/// with their decoded events. When no thread can be started it does everything on the calling
/// thread, as [`Scanner`] does.
#[derive(Debug)]
pub struct ReadAhead<R> {
    chain: Chain,
    source: Source<R>,
}

#[derive(Debug)]
enum Source<R> {
    Thread {
        blocks: Option<mpsc::Receiver<Ahead>>,
        /// Blocks sent and not yet received: the read-ahead thread shares its work by it.
        queued: Arc<AtomicUsize>,
        spare: mpsc::Sender<Block>,
        current: Option<Block>,
        /// The next piece of `current`, and where it starts.
        next: usize,
        start: usize,
        finished: bool,
        worker: Option<thread::JoinHandle<()>>,
    },
    Inline {
        input: BufReader<R>,
        buf: Vec<u8>,
    },
}

impl<R: Read + Send + 'static> ReadAhead<R> {
    pub fn new(input: R) -> Self {
        let (blocks_tx, blocks) = mpsc::sync_channel(BLOCKS_AHEAD);
        let (spare, spare_rx) = mpsc::channel();
        let (input_tx, input_rx) = mpsc::channel::<R>();
        let queued = Arc::new(AtomicUsize::new(0));
        let queued_there = Arc::clone(&queued);
        let spawned = thread::Builder::new()
            .name("custody-read-ahead".into())
            .spawn(move || {
                if let Ok(input) = input_rx.recv() {
                    read_ahead(input, &blocks_tx, &spare_rx, &queued_there);
                }
            });
        let source = match spawned {
            Ok(worker) => match input_tx.send(input) {
                Ok(()) => Source::Thread {
                    blocks: Some(blocks),
                    queued,
                    spare,
                    current: None,
                    next: 0,
                    start: 0,
                    finished: false,
                    worker: Some(worker),
                },
                Err(mpsc::SendError(input)) => Source::inline(input),
            },
            Err(_) => Source::inline(input),
        };
        Self {
            chain: Chain::new(),
            source,
        }
    }
}

impl<R: Read> Source<R> {
    fn inline(input: R) -> Self {
        Source::Inline {
            input: BufReader::with_capacity(1 << 16, input),
            buf: Vec::new(),
        }
    }
}

impl<R: Read> ReadAhead<R> {
    /// Bytes read so far, all in whole, good lines.
    pub fn offset(&self) -> u64 {
        self.chain.offset
    }

    /// The hash of the last good event (zeros before the first).
    pub fn last_hash(&self) -> Digest {
        self.chain.prev
    }

    /// The number of good events read.
    pub fn events(&self) -> u64 {
        self.chain.next_seq - 1
    }

    /// Whether the lines are read and hashed on a second thread.
    pub fn is_threaded(&self) -> bool {
        matches!(self.source, Source::Thread { .. })
    }

    /// The next good line, `None` at the clean end of the journal, or what is wrong.
    pub fn next_link(&mut self) -> Result<Option<Link<'_>>, ScanError> {
        let Self { chain, source } = self;
        let (piece, hashed, decoded) = match source {
            Source::Inline { input, buf } => {
                if !read_piece(input, buf)? {
                    return Ok(None);
                }
                (&buf[..], None, None)
            }
            Source::Thread {
                blocks,
                queued,
                spare,
                current,
                next,
                start,
                finished,
                ..
            } => {
                while current.as_ref().is_none_or(|b| *next >= b.pieces.len()) {
                    if *finished {
                        return Ok(None);
                    }
                    if let Some(used) = current.take() {
                        // The thread may be gone already; then the block is simply dropped.
                        let _ = spare.send(used);
                    }
                    let received = blocks.as_ref().map(mpsc::Receiver::recv);
                    match received {
                        Some(Ok(Ahead::Block(block))) => {
                            queued.fetch_sub(1, Ordering::AcqRel);
                            *current = Some(block);
                            (*next, *start) = (0, 0);
                        }
                        Some(Ok(Ahead::End)) => *finished = true,
                        Some(Ok(Ahead::Failed(e))) => {
                            *finished = true;
                            return Err(ScanError::Io(e));
                        }
                        Some(Err(_)) | None => {
                            *finished = true;
                            return Err(ScanError::Io(io::Error::other(
                                "the thread reading the journal stopped unexpectedly",
                            )));
                        }
                    }
                }
                let Some(block) = current.as_mut() else {
                    return Ok(None);
                };
                let piece = &mut block.pieces[*next];
                let (hashed, decoded) = (piece.hashed.take(), piece.decoded.take());
                let from = *start;
                (*next, *start) = (*next + 1, piece.end);
                (&block.buf[from..piece.end], hashed, decoded)
            }
        };
        chain
            .check(piece, hashed, decoded)
            .map(Some)
            .map_err(ScanError::Bad)
    }
}

impl<R> Drop for ReadAhead<R> {
    fn drop(&mut self) {
        if let Source::Thread { blocks, worker, .. } = &mut self.source {
            // Without a receiver the thread's next send fails and it returns.
            drop(blocks.take());
            if let Some(worker) = worker.take() {
                let _ = worker.join();
            }
        }
    }
}

/// The read-ahead thread: reads `input` in blocks, cuts them into pieces as [`read_piece`]
/// does, and hands them over in order ([`hand_over`] hashes their lines). Returns when the input ends,
/// after an unterminated piece (torn, or a line longer than [`MAX_LINE`]: the reader reports it
/// and reads no further), on a read error, or when the receiver is gone.
fn read_ahead(
    mut input: impl Read,
    blocks: &mpsc::SyncSender<Ahead>,
    spare: &mpsc::Receiver<Block>,
    queued: &AtomicUsize,
) {
    let fresh = || Block {
        buf: vec![0; BLOCK],
        pieces: Vec::new(),
    };
    let mut block = fresh();
    // Bytes at the start of `block.buf` that belong to the input.
    let mut filled = 0;
    loop {
        let mut at_end = false;
        let mut failed = None;
        while filled < block.buf.len() {
            match input.read(&mut block.buf[filled..]) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // Cut the block into pieces.
        let mut start = 0;
        let mut stopped = false;
        loop {
            let mut rest = &block.buf[start..filled];
            let found = rest.skip_until(b'\n').unwrap_or(0);
            let ends_line = found > 0 && block.buf[start + found - 1] == b'\n';
            if ends_line && found <= MAX_LINE {
                let end = start + found;
                block.pieces.push(Piece {
                    end,
                    hashed: None,
                    decoded: None,
                });
                start = end;
            } else if filled - start >= MAX_LINE || (at_end && failed.is_none() && start < filled) {
                // More than a line may hold without its newline, or a torn last line.
                block.pieces.push(Piece {
                    end: start + (filled - start).min(MAX_LINE),
                    hashed: None,
                    decoded: None,
                });
                stopped = true;
                break;
            } else {
                break;
            }
        }
        let done = stopped || at_end || failed.is_some();
        if !done && block.pieces.is_empty() {
            // One line fills the block: make room for more of it, up to the longest line.
            let grown = (block.buf.len() * 2).min(MAX_LINE + 1);
            block.buf.resize(grown, 0);
            continue;
        }
        // The unfinished line goes to the front of the next block.
        let mut next = match spare.try_recv() {
            Ok(used) if used.buf.len() == BLOCK => used,
            _ => fresh(),
        };
        next.pieces.clear();
        let carried = filled - start;
        if !done {
            if next.buf.len() < carried {
                next.buf
                    .resize(carried.next_power_of_two().min(MAX_LINE + 1), 0);
            }
            next.buf[..carried].copy_from_slice(&block.buf[start..filled]);
        }
        if !block.pieces.is_empty() && !hand_over(block, blocks, queued) {
            return;
        }
        if done {
            let last = failed.map_or(Ahead::End, Ahead::Failed);
            let _ = blocks.send(last);
            return;
        }
        block = next;
        filled = carried;
    }
}

/// Hashes a block's lines and sends it to the checking thread, sharing the work with that
/// thread as their speeds allow: hashing stops early when the checking thread has no block
/// waiting (it then hashes the rest itself, as [`Scanner`] does), and while it has its fill of
/// blocks waiting (the channel is full) this thread decodes lines too. `false` when the checking
/// thread is gone.
fn hand_over(mut block: Block, blocks: &mpsc::SyncSender<Ahead>, queued: &AtomicUsize) -> bool {
    let mut start = 0;
    for (i, piece) in block.pieces.iter_mut().enumerate() {
        if i > 0 && queued.load(Ordering::Acquire) == 0 {
            break;
        }
        if block.buf[piece.end - 1] == b'\n' {
            piece.hashed = Some(check_line_hash(&block.buf[start..piece.end - 1]));
        }
        start = piece.end;
    }
    let mut decoded = 0;
    start = 0;
    loop {
        queued.fetch_add(1, Ordering::AcqRel);
        match blocks.try_send(Ahead::Block(block)) {
            Ok(()) => return true,
            Err(mpsc::TrySendError::Disconnected(_)) => return false,
            Err(mpsc::TrySendError::Full(Ahead::Block(back))) => block = back,
            Err(mpsc::TrySendError::Full(other)) => return blocks.send(other).is_ok(),
        }
        queued.fetch_sub(1, Ordering::AcqRel);
        let Some(piece) = block.pieces.get_mut(decoded) else {
            queued.fetch_add(1, Ordering::AcqRel);
            return blocks.send(Ahead::Block(block)).is_ok();
        };
        if let Some(Ok(hash)) = &piece.hashed {
            let line = &block.buf[start..piece.end - 1];
            piece.decoded = Some(decode_checked_line(line, *hash));
        }
        start = piece.end;
        decoded += 1;
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

    /// The same with [`ReadAhead`]; also returns each good line's offset and hash.
    fn scan_ahead(bytes: &[u8]) -> (Result<u64, Problem>, Vec<(u64, Digest)>) {
        let mut s = ReadAhead::new(io::Cursor::new(bytes.to_vec()));
        assert!(s.is_threaded());
        let mut links = Vec::new();
        loop {
            match s.next_link() {
                Ok(Some(link)) => links.push((link.offset, link.hash)),
                Ok(None) => return (Ok(s.events()), links),
                Err(ScanError::Bad(p)) => return (Err(p), links),
                Err(ScanError::Io(e)) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_good_journal_reads_to_the_end() {
        assert_eq!(scan(&journal(5)), Ok(5));
        assert_eq!(scan(b""), Ok(0));
        assert_eq!(scan_ahead(&journal(5)).0, Ok(5));
        assert_eq!(scan_ahead(b"").0, Ok(0));
    }

    #[test]
    fn a_removed_event_is_named() {
        let bytes = journal(4);
        let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
        let without_third: Vec<u8> = [lines[0], lines[1], lines[3]].concat();
        let p = scan(&without_third).unwrap_err();
        assert_eq!(p.seq, 3);
        assert_eq!(p.offset, (lines[0].len() + lines[1].len()) as u64);
        assert_eq!(scan_ahead(&without_third).0, Err(p));
    }

    #[test]
    fn a_torn_tail_is_torn_not_changed() {
        let bytes = journal(3);
        let p = scan(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(p.is_torn(), "{p:?}");
        assert_eq!(p.seq, 3);
        assert_eq!(scan_ahead(&bytes[..bytes.len() - 1]).0, Err(p));
    }

    #[test]
    fn reading_ahead_finds_what_scanning_finds_across_blocks() {
        // Enough lines to fill several blocks, so that lines straddle block ends.
        let bytes = journal(3000);
        assert!(bytes.len() > 3 * BLOCK);
        let (result, links) = scan_ahead(&bytes);
        assert_eq!(result, Ok(3000));
        let mut s = Scanner::new(&bytes[..]);
        for (offset, hash) in links {
            let link = s.next_link().unwrap().unwrap();
            assert_eq!((link.offset, link.hash), (offset, hash));
        }
        // Cuts and flips around the block boundaries give the same problem.
        for at in [BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 7, bytes.len() - 2] {
            assert_eq!(
                scan_ahead(&bytes[..at]).0,
                scan(&bytes[..at]),
                "cut at {at}"
            );
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            assert_eq!(scan_ahead(&flipped).0, scan(&flipped), "flip at {at}");
        }
    }

    /// Gives `good` bytes, then fails.
    struct Failing {
        good: io::Cursor<Vec<u8>>,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.good.read(buf)? {
                0 => Err(io::Error::other("the disk is gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_is_an_error_for_both_readers() {
        let bytes = journal(1000);
        let mut plain = Scanner::new(BufReader::new(Failing {
            good: io::Cursor::new(bytes.clone()),
        }));
        let mut ahead = ReadAhead::new(Failing {
            good: io::Cursor::new(bytes),
        });
        let plain_end = loop {
            match plain.next_link() {
                Ok(Some(_)) => {}
                other => break other.map(|_| ()),
            }
        };
        let ahead_end = loop {
            match ahead.next_link() {
                Ok(Some(_)) => {}
                other => break other.map(|_| ()),
            }
        };
        assert!(matches!(plain_end, Err(ScanError::Io(_))), "{plain_end:?}");
        assert!(matches!(ahead_end, Err(ScanError::Io(_))), "{ahead_end:?}");
        assert_eq!(
            ahead.events(),
            1000,
            "every whole line before the error was read"
        );
    }

    #[test]
    fn dropping_a_reader_half_way_stops_its_thread() {
        let bytes = journal(5000);
        for read in [0, 1, 700] {
            let mut ahead = ReadAhead::new(io::Cursor::new(bytes.clone()));
            for _ in 0..read {
                ahead.next_link().unwrap().unwrap();
            }
            drop(ahead); // joins the thread: this returns only if the thread stopped
        }
    }
}
