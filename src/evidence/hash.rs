//! Hashing files and folders as evidence, without ever showing what they hold.
//!
//! [`run`] walks the paths it is given (folders recursively, see `walk`) and gives one [`Entry`]
//! per file system object, in the walk's order: the same order for an unchanged tree, whatever
//! the threads did. Each entry carries what `lstat` said before anything was read (kind, size,
//! mode, owner, inode, times), the target of a link, and for a regular file its SHA-256 (and
//! SHA-1 and MD5 when asked), all computed in one read pass.
//!
//! How a file is read, and what is never done:
//! - Only regular files are read. Devices, fifos and sockets are recorded, never opened; a
//!   file is first opened with `O_PATH` (which opens nothing underneath) and `fstat` on that
//!   handle says what it is: either the metadata recorded (for what the walk left to the
//!   hashing threads to examine, see `walk::examine_later`), or checked to be the very regular
//!   file the walk saw (same device and inode). Only then is it opened for reading, through the
//!   handle's entry in `/proc/self/fd`, so a file swapped for a fifo or a device in between is
//!   refused, not opened.
//! - Files are opened read-only with `O_NOATIME` so that their access time stays as it was; when
//!   the kernel refuses (`EPERM`: not the owner and no `CAP_FOWNER`) they are opened without it,
//!   and the entry says which way it was read ([`ReadMode`]).
//! - Nothing is written to, renamed or deleted, and no content leaves this module: only digests.
//! - A file whose size or times differ after reading from what the walk saw is flagged as
//!   changed while it was read.
//!
//! Work is spread over threads (one per core by default): a walker lists folders and hands
//! what it found to hashing threads, which examine and hash it, and the results are put back
//! into walk order through a window of bounded size (at most 4,096 entries in flight, handed
//! over in batches), so memory does not grow with the number of files. [`Progress`] is a set
//! of counters a screen can poll; with [`Options::count_totals`], a second walk that only looks
//! (no file is read) fills in the totals so that time left can be shown. A cancel flag is
//! checked between files and between chunks of a file; a cancelled run ends at the first file
//! not finished, so what it gave is exactly the start of what a whole run gives.
//!
//! The manifest and `SHA256SUMS` writers are in [`super::manifest`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat};
use md5::Md5;
use rustix::fs::OFlags;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use super::walk::{self, Found, Walker};
use crate::journal::Digest;
pub use crate::runbook::HashAlgorithm;

/// How many entries may be between the walker and the output at most (queued, being hashed,
/// or finished and waiting for an earlier one). This bounds memory; a very large file holds up
/// the output of at most this many files behind it.
const WINDOW: usize = 4096;

/// Entries are handed to the hashing threads in batches (one hand-over per batch, not per
/// file: each hand-over may wake a thread): the window is cut into `batches(threads)` batches
/// of at most `WINDOW / batches` entries, fewer and larger with fewer threads. A batch also
/// ends once its files add up to `BATCH_BYTES`, so that large files still spread over the
/// threads.
fn batches(threads: usize) -> usize {
    (4 * threads).clamp(16, WINDOW)
}
const BATCH_BYTES: u64 = 1 << 20;

/// Bytes read at a time. Large reads cost fewer system calls; the buffer is one per thread.
pub const CHUNK: usize = 1 << 20;

/// Files at least this large are announced to the kernel as read in order (`posix_fadvise`
/// `SEQUENTIAL`: a larger read-ahead window from disk). They are read and hashed on the same
/// thread: a second thread reading ahead (1 MiB buffers going round between the two) was
/// measured slower than one thread on a 2-core machine with the file in the page cache (0.81x
/// openssl's throughput against 1.09x; BENCHMARKS.md), the chunks crossing between cores.
const SEQUENTIAL_FROM: u64 = 8 << 20;

/// What to compute and how to walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Hash functions besides SHA-256, which is always computed (it may be listed too).
    pub algorithms: Vec<HashAlgorithm>,
    /// Follow symbolic links (loops are detected and recorded, never walked twice). Off: links
    /// are recorded as links, with their target, and not followed, on the command line too.
    pub follow_symlinks: bool,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    /// Walk the paths a second time at the same time, only looking, to know the totals (for a
    /// progress bar's time left). It `lstat`s every object once more (on many small files,
    /// about a sixth more CPU time): turn it off when nothing shows the totals.
    pub count_totals: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            algorithms: vec![HashAlgorithm::Sha256],
            follow_symlinks: false,
            threads: 0,
            count_totals: true,
        }
    }
}

impl Options {
    /// The hash functions computed: SHA-256 first, then the others asked for, each once, in
    /// the order SHA-256, SHA-1, MD5.
    pub fn algorithms(&self) -> Vec<HashAlgorithm> {
        let mut all = self.algorithms.clone();
        all.push(HashAlgorithm::Sha256);
        all.sort();
        all.dedup();
        all
    }

    fn thread_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    }
}

/// The type of a file system object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl Kind {
    /// The name used in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char_device",
            Kind::BlockDevice => "block_device",
            Kind::Other => "other",
        }
    }

    fn from_mode(mode: u32) -> Self {
        match mode & libc::S_IFMT {
            libc::S_IFREG => Kind::File,
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFLNK => Kind::Symlink,
            libc::S_IFIFO => Kind::Fifo,
            libc::S_IFSOCK => Kind::Socket,
            libc::S_IFCHR => Kind::CharDevice,
            libc::S_IFBLK => Kind::BlockDevice,
            _ => Kind::Other,
        }
    }
}

/// A time as the file system keeps it: seconds since 1970 (UTC) and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
}

impl Time {
    /// RFC 3339 in UTC with nine digits of fraction: `2026-11-23T09:15:02.123456789Z`.
    pub fn to_rfc3339(self) -> String {
        DateTime::from_timestamp(self.secs, self.nanos).map_or_else(
            || format!("{}.{:09}s since 1970", self.secs, self.nanos),
            |t| t.to_rfc3339_opts(SecondsFormat::Nanos, true),
        )
    }
}

/// What `lstat` (or `stat`, following links) said about an object, before it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub size: u64,
    /// Permission bits with set-user-id, set-group-id and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    pub mtime: Time,
    pub ctime: Time,
    pub atime: Time,
}

impl Meta {
    // The field types of `struct stat` differ between architectures.
    #[allow(
        clippy::cast_sign_loss,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_lossless,
        clippy::unnecessary_cast
    )]
    pub(crate) fn from_stat(st: &rustix::fs::Stat) -> Self {
        let time = |secs, nanos| Time {
            secs: secs as i64,
            nanos: nanos as u32,
        };
        Self {
            kind: Kind::from_mode(st.st_mode as u32),
            size: st.st_size as u64,
            mode: (st.st_mode as u32) & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            inode: st.st_ino as u64,
            dev: st.st_dev as u64,
            nlink: st.st_nlink as u64,
            mtime: time(st.st_mtime, st.st_mtime_nsec),
            ctime: time(st.st_ctime, st.st_ctime_nsec),
            atime: time(st.st_atime, st.st_atime_nsec),
        }
    }
}

/// How a file was opened for reading (or a folder for listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadMode {
    /// With `O_NOATIME`: its access time was not changed.
    Noatime,
    /// Without: the kernel refused `O_NOATIME` (not the owner); the access time may have been
    /// updated by the read (the one recorded is from before).
    Plain,
}

impl ReadMode {
    pub fn name(self) -> &'static str {
        match self {
            ReadMode::Noatime => "noatime",
            ReadMode::Plain => "plain",
        }
    }
}

/// The digests of a regular file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digests {
    pub sha256: Digest,
    pub sha1: Option<[u8; 20]>,
    pub md5: Option<[u8; 16]>,
}

/// One file system object, as found and (for a regular file) hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path: a path given, or one under it (`given/sub/name`), exactly as bytes.
    pub path: PathBuf,
    /// `None` when the object could not be examined (then `error` says why).
    pub meta: Option<Meta>,
    /// A symbolic link's target, as stored in the link. With links followed, an entry whose
    /// path is a link has the kind and metadata of what it points to, and this target.
    pub target: Option<OsString>,
    /// For a regular file that was read to the end.
    pub digests: Option<Digests>,
    /// How the file was opened (or the folder listed).
    pub read: Option<ReadMode>,
    /// Why the object could not be examined, read or entered, or why its digests cannot be
    /// trusted to match its metadata.
    pub error: Option<String>,
}

impl Entry {
    pub fn kind(&self) -> Option<Kind> {
        self.meta.map(|m| m.kind)
    }
}

/// Counters a screen can poll while a run goes on (see [`Snapshot`]).
#[derive(Debug, Default)]
pub struct Progress {
    entries_done: AtomicU64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    errors: AtomicU64,
    entries_total: AtomicU64,
    files_total: AtomicU64,
    bytes_total: AtomicU64,
    total_known: AtomicBool,
}

/// The counters of [`Progress`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Entries given out (every kind).
    pub entries_done: u64,
    /// Regular files hashed.
    pub files_done: u64,
    /// Bytes hashed, including the files being read now.
    pub bytes_done: u64,
    /// Entries with an error.
    pub errors: u64,
    /// Totals found so far by the counting walk (final once `total_known`).
    pub entries_total: u64,
    pub files_total: u64,
    pub bytes_total: u64,
    pub total_known: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn snapshot(&self) -> Snapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            entries_done: get(&self.entries_done),
            files_done: get(&self.files_done),
            bytes_done: get(&self.bytes_done),
            errors: get(&self.errors),
            entries_total: get(&self.entries_total),
            files_total: get(&self.files_total),
            bytes_total: get(&self.bytes_total),
            total_known: self.total_known.load(Ordering::Acquire),
        }
    }

    fn counted(&self, found: &Found) {
        self.entries_total.fetch_add(1, Ordering::Relaxed);
        if let Ok(meta) = &found.meta
            && meta.kind == Kind::File
        {
            self.files_total.fetch_add(1, Ordering::Relaxed);
            self.bytes_total.fetch_add(meta.size, Ordering::Relaxed);
        }
    }

    fn given(&self, entry: &Entry) {
        self.entries_done.fetch_add(1, Ordering::Relaxed);
        if entry.digests.is_some() {
            self.files_done.fetch_add(1, Ordering::Relaxed);
        }
        if entry.error.is_some() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The whole walk is done: the totals are what was done.
    fn finished(&self) {
        let s = self.snapshot();
        self.entries_total.store(s.entries_done, Ordering::Relaxed);
        self.files_total.store(s.files_done, Ordering::Relaxed);
        self.bytes_total
            .store(s.bytes_done.max(s.bytes_total), Ordering::Relaxed);
        self.total_known.store(true, Ordering::Release);
    }
}

/// How a run ended (the entries themselves went to the caller one by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Entries given out.
    pub entries: u64,
    /// The cancel flag stopped the run before the walk's end: the entries given are the start
    /// of the full list, and nothing after them was hashed.
    pub cancelled: bool,
}

/// What stops a run from giving its entries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start the hashing threads: {0}")]
    Threads(io::Error),
    #[error("cannot write the {what}: {source}")]
    Output {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot create {}: {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0:?} cannot name output files: give a plain file name without `/`")]
    Stem(String),
}

/// Walks `paths` and gives each entry to `each`, in walk order (see the module doc). Returns
/// when the walk is done, the cancel flag was seen, or `each` failed (its error is returned;
/// the run stops at once).
pub fn run(
    paths: &[PathBuf],
    options: &Options,
    progress: &Progress,
    cancel: &AtomicBool,
    mut each: impl FnMut(Entry) -> Result<(), Error>,
) -> Result<Finished, Error> {
    let algorithms = options.algorithms();
    let follow = options.follow_symlinks;
    let stop = AtomicBool::new(false);
    let halt = Halt {
        cancel,
        stop: &stop,
    };
    std::thread::scope(|scope| {
        let threads = options.thread_count();
        let window_batches = batches(threads);
        let batch_len = WINDOW / window_batches;
        let (jobs_tx, jobs_rx) = sync_channel::<(u64, Vec<Found>)>(window_batches);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (results_tx, results_rx) = sync_channel::<(u64, Vec<Option<Entry>>)>(window_batches);
        let (credit_tx, credit_rx) = sync_channel::<()>(window_batches);
        for _ in 0..window_batches {
            // Cannot fail: the channel has room for all of them and its receiver is here.
            let _ = credit_tx.send(());
        }
        let spawn_failed = |e| {
            stop.store(true, Ordering::Relaxed);
            Error::Threads(e)
        };
        for n in 0..threads {
            let jobs = Arc::clone(&jobs_rx);
            let results = results_tx.clone();
            let algorithms = &algorithms;
            std::thread::Builder::new()
                .name(format!("custody-hash-{n}"))
                .spawn_scoped(scope, move || {
                    // One per thread: a descriptor used by several threads at once has its
                    // reference count bounced between their cores on every open through it.
                    let proc_fds = ProcFds::open();
                    let mut reader = Reader {
                        buf: Vec::new(),
                        follow,
                        proc_fds: proc_fds.as_ref().map(ProcFds::fd),
                        algorithms,
                        halt,
                        progress,
                    };
                    let mut folder = Folder::default();
                    while let Some((first, batch)) = next_job(&jobs) {
                        let entries = batch
                            .into_iter()
                            .map(|found| describe(found, &mut reader, &mut folder))
                            .collect();
                        if results.send((first, entries)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(spawn_failed)?;
        }
        drop(results_tx);
        drop(jobs_rx);
        let walking = std::thread::Builder::new()
            .name("custody-walk".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(batch_len);
                let (mut first, mut bytes) = (0u64, 0u64);
                for (seq, found) in (0u64..).zip(Walker::new(paths, follow, true)) {
                    if halt.now() || (batch.is_empty() && credit_rx.recv().is_err()) {
                        return false;
                    }
                    if batch.is_empty() {
                        (first, bytes) = (seq, 0);
                    }
                    if let Ok(meta) = &found.meta
                        && meta.kind == Kind::File
                    {
                        bytes += meta.size;
                    }
                    batch.push(found);
                    if (batch.len() == batch_len || bytes >= BATCH_BYTES)
                        && jobs_tx.send((first, std::mem::take(&mut batch))).is_err()
                    {
                        return false;
                    }
                }
                batch.is_empty() || jobs_tx.send((first, batch)).is_ok()
            })
            .map_err(spawn_failed)?;
        if options.count_totals {
            std::thread::Builder::new()
                .name("custody-count".into())
                .spawn_scoped(scope, move || {
                    for found in Walker::new(paths, follow, false) {
                        if halt.now() {
                            return;
                        }
                        progress.counted(&found);
                    }
                    progress.total_known.store(true, Ordering::Release);
                })
                .map_err(spawn_failed)?;
        }

        // Put the results back into walk order and give them out.
        let mut waiting: BTreeMap<u64, Vec<Option<Entry>>> = BTreeMap::new();
        let mut next = 0u64;
        let mut cut = false;
        let mut failed = None;
        'results: for (first, entries) in &results_rx {
            waiting.insert(first, entries);
            while let Some(entries) = waiting.remove(&next) {
                for entry in entries {
                    let Some(entry) = entry else {
                        cut = true;
                        break 'results;
                    };
                    progress.given(&entry);
                    if let Err(e) = each(entry) {
                        failed = Some(e);
                        break 'results;
                    }
                    next += 1;
                }
                let _ = credit_tx.send(());
            }
        }
        stop.store(true, Ordering::Relaxed);
        drop(results_rx);
        drop(credit_tx);
        let walked = walking.join().unwrap_or(false);
        if let Some(e) = failed {
            return Err(e);
        }
        let cancelled = cut || !walked;
        if !cancelled {
            progress.finished();
        }
        Ok(Finished {
            entries: next,
            cancelled,
        })
    })
}

/// Whether the run must stop: cancelled by the caller, or ended here.
#[derive(Clone, Copy)]
struct Halt<'a> {
    cancel: &'a AtomicBool,
    stop: &'a AtomicBool,
}

impl Halt<'_> {
    fn now(self) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.stop.load(Ordering::Relaxed)
    }
}

fn next_job(jobs: &Mutex<Receiver<(u64, Vec<Found>)>>) -> Option<(u64, Vec<Found>)> {
    jobs.lock().ok()?.recv().ok()
}

/// The entry for what the walk found, hashing it when it is a regular file; `None` when the
/// run was stopped before it was done.
fn describe(mut found: Found, reader: &mut Reader<'_>, folder: &mut Folder) -> Option<Entry> {
    if reader.halt.now() {
        return None;
    }
    let parent = found.parent.take();
    let folder = folder.fd(parent.as_ref(), reader.proc_fds);
    // What the walk left unexamined is examined here, through a handle a regular file is then
    // read through.
    let handle = if found.later {
        walk::examine_later(&mut found, folder, reader.follow)
    } else {
        None
    };
    let (meta, error) = match found.meta {
        Ok(meta) => (Some(meta), found.error),
        Err(e) => (
            None,
            Some(
                found
                    .error
                    .unwrap_or_else(|| format!("cannot examine it: {e}")),
            ),
        ),
    };
    let mut entry = Entry {
        path: found.path,
        meta,
        target: found.target,
        digests: None,
        read: found.listed,
        error,
    };
    if let Some(meta) = &entry.meta
        && meta.kind == Kind::File
        && entry.error.is_none()
    {
        match reader.hash_file(&entry.path, folder, meta, handle) {
            Ok((digests, how)) => {
                entry.digests = Some(digests);
                entry.read = Some(how);
            }
            Err(Failure::Stopped) => return None,
            Err(Failure::Failed(text, how)) => {
                entry.error = Some(text);
                entry.read = how;
            }
        }
    }
    Some(entry)
}

/// Why a file has no digests.
enum Failure {
    /// The run was stopped while it was read.
    Stopped,
    /// It could not be opened or read, or it changed; and how it was opened, if it was.
    Failed(String, Option<ReadMode>),
}

/// The hash functions being fed.
struct Hashers {
    sha256: Sha256,
    sha1: Option<Sha1>,
    md5: Option<Md5>,
}

impl Hashers {
    fn new(algorithms: &[HashAlgorithm]) -> Self {
        Self {
            sha256: Sha256::new(),
            sha1: algorithms.contains(&HashAlgorithm::Sha1).then(Sha1::new),
            md5: algorithms.contains(&HashAlgorithm::Md5).then(Md5::new),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        if let Some(h) = &mut self.sha1 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.md5 {
            h.update(bytes);
        }
    }

    fn finish(self) -> Digests {
        Digests {
            sha256: Digest(self.sha256.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
            md5: self.md5.map(|h| h.finalize().into()),
        }
    }
}

/// One hashing thread: its buffer and what it works by.
struct Reader<'a> {
    buf: Vec<u8>,
    follow: bool,
    /// `/proc/self/fd`, to open files for reading through (see [`ProcFds`]).
    proc_fds: Option<BorrowedFd<'a>>,
    algorithms: &'a [HashAlgorithm],
    halt: Halt<'a>,
    progress: &'a Progress,
}

impl Reader<'_> {
    /// Opens `path` safely (see the module doc), checks it is the file `meta` describes, and
    /// hashes it to the end. `handle`: an `O_PATH` handle `meta` was read from, if there is
    /// one (the file is then opened through it, with no second lookup).
    fn hash_file(
        &mut self,
        path: &Path,
        folder: Option<BorrowedFd<'_>>,
        meta: &Meta,
        handle: Option<OwnedFd>,
    ) -> Result<(Digests, ReadMode), Failure> {
        let (halt, progress) = (self.halt, self.progress);
        let (file, how) = open_file(path, folder, meta, self.follow, handle, self.proc_fds)
            .map_err(|e| Failure::Failed(e, None))?;
        let failed = |text: String| Failure::Failed(text, Some(how));
        let mut hashers = Hashers::new(self.algorithms);
        if meta.size >= SEQUENTIAL_FROM {
            // Only advice (a larger read-ahead window from disk); reading works without it.
            let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
        }
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        read_plain(&file, &mut self.buf, &mut hashers, halt, progress).map_err(|e| match e {
            ReadError::Stopped => Failure::Stopped,
            ReadError::Io(e) => failed(format!("reading failed: {e}")),
        })?;
        let after = rustix::fs::fstat(&file)
            .map(|st| Meta::from_stat(&st))
            .map_err(|e| {
                failed(format!(
                    "cannot check it after reading: {}",
                    io::Error::from(e)
                ))
            })?;
        if after.size != meta.size || after.mtime != meta.mtime || after.ctime != meta.ctime {
            return Err(failed(format!(
                "it changed while it was being hashed (size {} -> {}, modified {} -> {}); the \
                 digests may match neither version: hash it again",
                meta.size,
                after.size,
                meta.mtime.to_rfc3339(),
                after.mtime.to_rfc3339()
            )));
        }
        Ok((hashers.finish(), how))
    }
}

enum ReadError {
    Stopped,
    Io(io::Error),
}

/// Reads and hashes a chunk at a time.
fn read_plain(
    mut file: &File,
    buf: &mut [u8],
    hashers: &mut Hashers,
    halt: Halt<'_>,
    progress: &Progress,
) -> Result<(), ReadError> {
    loop {
        if halt.now() {
            return Err(ReadError::Stopped);
        }
        let n = match file.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        hashers.update(&buf[..n]);
        progress.bytes_done.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A hashing thread's own descriptor of the folder its files are found in (the last one): the
/// walk's descriptor ([`walk::Parent`]) reopened through `/proc/self/fd`, which gives that very
/// folder. Threads opening files relative to one shared descriptor would bounce its reference
/// count between their cores on every open. Reopened from the second entry of a folder in a
/// row on, so that a tree of many small folders does not pay one more open per file.
#[derive(Debug, Default)]
enum Folder {
    #[default]
    None,
    /// The folder of the last entry, not reopened (yet).
    Seen(Arc<walk::Parent>),
    /// Reopened for this thread.
    Own(Arc<walk::Parent>, OwnedFd),
}

impl Folder {
    /// The descriptor to open the files found in `parent` relative to: this thread's own when
    /// it can be had, else the shared one; `None` for the paths given.
    fn fd<'a>(
        &'a mut self,
        parent: Option<&'a Arc<walk::Parent>>,
        proc_fds: Option<BorrowedFd<'_>>,
    ) -> Option<BorrowedFd<'a>> {
        let parent = parent?;
        // The `Arc` kept here keeps its folder (and its address) alive: no other folder can be
        // mistaken for it.
        match self {
            Folder::Own(kept, _) if Arc::ptr_eq(kept, parent) => {}
            Folder::Seen(kept) if Arc::ptr_eq(kept, parent) => {
                if let Some(fd) = proc_fds.and_then(|proc_fds| {
                    rustix::fs::openat(
                        proc_fds,
                        rustix::path::DecInt::from_fd(parent.fd()),
                        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        rustix::fs::Mode::empty(),
                    )
                    .ok()
                }) {
                    *self = Folder::Own(Arc::clone(parent), fd);
                }
            }
            _ => *self = Folder::Seen(Arc::clone(parent)),
        }
        let this: &'a Folder = self;
        Some(match this {
            Folder::Own(_, fd) => fd.as_fd(),
            _ => parent.fd(),
        })
    }
}

/// `/proc/self/fd`, opened once per hashing thread: a file is opened for reading through the entry of
/// its `O_PATH` handle there, which opens that very inode (one name to look up instead of the
/// whole path `/proc/self/fd/N`). `None` where `/proc` is not mounted (or what is there is not
/// procfs).
#[derive(Debug)]
struct ProcFds(OwnedFd);

impl ProcFds {
    /// procfs's `f_type` (`PROC_SUPER_MAGIC`, `<linux/magic.h>`).
    const MAGIC: u64 = 0x9fa0;

    fn open() -> Option<Self> {
        let fd = rustix::fs::openat(
            walk::cwd(),
            "/proc/self/fd",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()?;
        let fs = rustix::fs::fstatfs(&fd).ok()?;
        #[allow(clippy::cast_sign_loss, clippy::unnecessary_cast)]
        (fs.f_type as u64 == Self::MAGIC).then_some(Self(fd))
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Opens a regular file for reading without following a link (unless `follow`) and without
/// opening anything else (see the module doc); checks that it is the file `meta` describes.
/// `handle`: an `O_PATH` handle `meta` was read from with `fstat` (then there is nothing to
/// check: it is that file); without it, one is opened first and checked.
fn open_file(
    path: &Path,
    folder: Option<BorrowedFd<'_>>,
    meta: &Meta,
    follow: bool,
    handle: Option<OwnedFd>,
    proc_fds: Option<BorrowedFd<'_>>,
) -> Result<(File, ReadMode), String> {
    // Relative to the folder it was found in when there is one, else the path as given.
    let (dir, name) = walk::place(path, folder);
    let nofollow = if follow {
        OFlags::empty()
    } else {
        OFlags::NOFOLLOW
    };
    let read_flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let same = |fd: &OwnedFd| -> Result<(), String> {
        let now = rustix::fs::fstat(fd)
            .map(|st| Meta::from_stat(&st))
            .map_err(|e| format!("cannot examine it once opened: {}", io::Error::from(e)))?;
        if now.kind != Kind::File {
            return Err(format!(
                "it is now a {} (it was a regular file when listed); not read",
                now.kind.name()
            ));
        }
        if now.dev != meta.dev || now.inode != meta.inode {
            return Err(
                "it was replaced by another file between being listed and being opened; not \
                 read: hash it again"
                    .into(),
            );
        }
        Ok(())
    };
    let handle = if let Some(handle) = handle {
        handle
    } else {
        let handle = rustix::fs::openat(
            dir,
            name,
            OFlags::PATH | OFlags::CLOEXEC | nofollow,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| format!("cannot open it: {}", io::Error::from(e)))?;
        same(&handle)?;
        handle
    };
    let (fd, how) = if let Some(proc_fds) = proc_fds {
        // Opening the descriptor's magic link opens the very inode just checked.
        walk::open_noatime(proc_fds, rustix::path::DecInt::from_fd(&handle), read_flags)
            .map_err(|e| format!("cannot open it: {e}"))?
    } else {
        // No /proc: open the path itself, as carefully as can be done without it, and check
        // again what was opened.
        let opened = walk::open_noatime(dir, name, read_flags | nofollow)
            .map_err(|e| format!("cannot open it: {e}"))?;
        same(&opened.0)?;
        opened
    };
    Ok((File::from(fd), how))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_cut_into_batches_for_any_thread_count() {
        for threads in [1, 2, 3, 8, 16, 64, 1000, 100_000] {
            let n = batches(threads);
            assert!((16..=WINDOW).contains(&n), "{threads}: {n}");
            assert!(WINDOW / n >= 1 && n * (WINDOW / n) <= WINDOW);
        }
        assert_eq!(WINDOW / batches(2), 256);
        assert_eq!(WINDOW / batches(16), 64);
    }

    #[test]
    fn files_open_with_and_without_proc_and_nothing_else_opens() {
        let dir = std::env::temp_dir().join(format!("custody-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("file");
        std::fs::write(&file, b"abc").unwrap();
        let lstat = |p: &Path| {
            Meta::from_stat(
                &rustix::fs::statat(walk::cwd(), p, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap(),
            )
        };
        let meta = lstat(&file);
        let proc_fds = ProcFds::open().expect("/proc is mounted here");
        for procfs in [Some(proc_fds.fd()), None] {
            let (mut f, _) = open_file(&file, None, &meta, false, None, procfs).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            assert_eq!(text, "abc");
        }
        // A fifo where a file was listed: refused without being opened (which would block).
        let fifo = dir.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        for procfs in [Some(proc_fds.fd()), None] {
            let e = open_file(&fifo, None, &meta, false, None, procfs).unwrap_err();
            assert!(e.contains("now a fifo"), "{e}");
        }
        // Another file swapped in under the name.
        std::fs::write(dir.join("other"), b"x").unwrap();
        std::fs::rename(dir.join("other"), &file).unwrap();
        let e = open_file(&file, None, &meta, false, None, Some(proc_fds.fd())).unwrap_err();
        assert!(e.contains("replaced"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_is_always_computed_and_each_function_once() {
        let options = Options {
            algorithms: vec![HashAlgorithm::Md5, HashAlgorithm::Sha1, HashAlgorithm::Md5],
            ..Options::default()
        };
        assert_eq!(
            options.algorithms(),
            vec![
                HashAlgorithm::Sha256,
                HashAlgorithm::Sha1,
                HashAlgorithm::Md5
            ]
        );
        let none = Options {
            algorithms: Vec::new(),
            ..Options::default()
        };
        assert_eq!(none.algorithms(), vec![HashAlgorithm::Sha256]);
    }

    #[test]
    fn times_are_rfc3339_utc_with_nanoseconds() {
        let t = Time { secs: 0, nanos: 1 };
        assert_eq!(t.to_rfc3339(), "1970-01-01T00:00:00.000000001Z");
        let before_1970 = Time {
            secs: -1,
            nanos: 500_000_000,
        };
        assert_eq!(before_1970.to_rfc3339(), "1969-12-31T23:59:59.500000000Z");
    }

    #[test]
    fn hashers_match_known_digests_in_one_pass() {
        let mut h = Hashers::new(&[
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha1,
            HashAlgorithm::Md5,
        ]);
        h.update(b"ab");
        h.update(b"c");
        let d = h.finish();
        assert_eq!(
            d.sha256.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let hex = |b: &[u8]| {
            b.iter().fold(String::new(), |mut s, x| {
                let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{x:02x}"));
                s
            })
        };
        assert_eq!(
            hex(&d.sha1.unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&d.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
    }
}
