//! Running a command step: the program with its arguments, its output kept as evidence.
//!
//! What is done:
//! - The argument list is built from the runbook's [`CommandLine`] by [`argv`]: each argument's
//!   template renders to exactly one argument, so a substituted value is never split, never
//!   becomes an option of its own, and never reaches a shell.
//! - [`run`] starts the program with [`std::process::Command`] (the program is looked up on
//!   `PATH` when it has no `/`), with stdin on `/dev/null`, in a process group of its own, and
//!   with the environment inherited except `LC_ALL=C`, so that dates, numbers, sorting and
//!   messages come out the same whatever the operator's locale is (the output is evidence that
//!   others will read and compare).
//! - stdout and stderr are streamed, each into a new file (`create_new`, mode 0600) in the
//!   session's `evidence/` folder, hashed (SHA-256) and counted while written, and made durable
//!   (`fsync`) at the end. Only the first [`PREVIEW_BYTES`] of each stream are kept in memory, for
//!   the screen; [`Preview::lines`] gives them sanitised and bounded.
//! - When the timeout passes or the operator stops the command (a flag the interface sets), its
//!   whole process group gets `SIGTERM` (and `SIGCONT`, so that a stopped process sees it), then,
//!   after at most [`GRACE`], `SIGKILL` for whatever of the group is left. Grandchildren that hold
//!   the output pipes open end with it. The group's id cannot name another group meanwhile: the
//!   command's first process, whose id it is, is reaped only after the signals.
//! - The result is a [`CommandRun`] for the journal (times, exit status or signal, the files'
//!   paths relative to the session folder with size and hash, and what went wrong in words).
//!
//! What is never done:
//! - No shell, no word splitting or expansion of values, no terminal for the command (the
//!   interface owns it; a program that asks for a password, such as `sudo` without `-n`, waits
//!   until the timeout ends it).
//! - Output is never interpreted: the files hold the bytes exactly as written, and the preview
//!   escapes control characters, escape sequences and bidi controls ([`crate::sanitize`]).
//! - No existing file is overwritten or deleted: when a file name is taken, a `-2`, `-3` ...
//!   suffix is added.
//! - Processes the command leaves behind after it ended normally with its output closed (a
//!   service it started, say) are left alone: ending them could undo what the step did. A process
//!   that left the command's process group (`setsid`) cannot be reached; if it still holds the
//!   output open when the command is ended, the capture stops there and says so.
//!
//! [`run`] blocks until the command has ended; the interface calls it on a thread of its own
//! and polls (every type here is `Send`).

use std::borrow::Cow;
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use sha2::{Digest as _, Sha256};
use unicode_width::UnicodeWidthChar as _;

use crate::journal::Digest;
use crate::journal::event::{CommandRun, FileRef};
use crate::journal::folder::EVIDENCE;
use crate::runbook::command::CommandLine;
use crate::runbook::template::Template;
use crate::sanitize;
use crate::session::Clock;

/// How much of each stream is kept in memory for the screen.
pub const PREVIEW_BYTES: usize = 64 * 1024;

/// How long a command has to end after `SIGTERM` before its process group gets `SIGKILL`.
pub const GRACE: Duration = Duration::from_secs(2);

/// How long to wait for the process group to go after `SIGKILL` (a process stuck in the kernel,
/// on a dead network file system say, cannot be killed) before giving up on it.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often the command's state, the timeout and the stop flag are looked at.
const TICK: Duration = Duration::from_millis(20);

/// The longest file-name stem kept, in bytes (names stay well under the usual 255).
const STEM_MAX: usize = 100;

/// The error recorded when the operator stopped the command.
pub const STOPPED: &str = "stopped by the operator";

/// Everything needed to run one command step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The program and its arguments, after substitution (see [`argv`]).
    pub argv: Vec<String>,
    /// How long the command may run, from its start until its output is closed.
    pub timeout: Duration,
    /// Whether the step says it changes the system; recorded as given.
    pub changes_system: bool,
    /// The session folder; the output goes into its `evidence/` folder (made, 0700, if missing).
    pub session_dir: PathBuf,
    /// The output files' name without extension, such as `cmd-0017-netstat`; made safe by
    /// [`file_stem`].
    pub stem: String,
}

/// What [`run`] gives back: the journal's record and the start of each stream for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub run: CommandRun,
    pub stdout: Preview,
    pub stderr: Preview,
}

/// The first [`PREVIEW_BYTES`] of a stream, raw; shown only through [`Preview::lines`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    head: Vec<u8>,
    total: u64,
}

/// A preview made safe to show: at most the lines and columns asked for, every control
/// character, escape sequence and bidi control shown escaped, and what was left out counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviewLines {
    pub lines: Vec<String>,
    /// Lines among those shown that were cut at the width (they end with `…`).
    pub lines_cut: usize,
    /// Lines of the kept preview that are not shown.
    pub lines_left_out: usize,
    /// Bytes of the stream after the kept preview, never shown (they are in the file).
    pub bytes_left_out: u64,
}

/// The argument list of a command line: each argument's template rendered by `render` (such as
/// `|t| session.render(t)`) into exactly one argument, whatever the values hold.
pub fn argv(line: &CommandLine, mut render: impl FnMut(&Template) -> String) -> Vec<String> {
    line.argv.iter().map(&mut render).collect()
}

/// Like [`argv`], but from the variables' values (such as `|name| session.variable(name)`),
/// refusing to build a command in which a variable has no value: the names missing, in order,
/// are the error. (`Session::render` keeps an unknown placeholder as written, which would run
/// the program with a literal `{{name}}` argument.)
pub fn argv_from_values<'v>(
    line: &CommandLine,
    mut value: impl FnMut(&str) -> Option<Cow<'v, str>>,
) -> Result<Vec<String>, Vec<String>> {
    let mut missing = Vec::new();
    let args = argv(line, |template| {
        template.render(|name| {
            value(name).unwrap_or_else(|| {
                if !missing.iter().any(|m| m == name) {
                    missing.push(name.to_owned());
                }
                Cow::Borrowed("")
            })
        })
    });
    if missing.is_empty() {
        Ok(args)
    } else {
        Err(missing)
    }
}

/// A file-name stem of ASCII letters, digits, `-`, `_` and `.` only: anything else becomes `-`,
/// it never starts with `.` or `-`, and it is at most 100 bytes long (`cmd` when nothing is
/// left).
pub fn file_stem(raw: &str) -> String {
    let mut stem: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let start = stem.len() - stem.trim_start_matches(['.', '-']).len();
    stem.drain(..start);
    stem.truncate(STEM_MAX);
    if stem.is_empty() {
        "cmd".to_owned()
    } else {
        stem
    }
}

impl Preview {
    /// How many bytes the stream had in all (the kept preview is the first of them).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The preview as at most `max_lines` lines of at most `max_columns` display columns, made
    /// safe for a terminal. Lines are split at `\n` (a `\r` before it is dropped); bytes that are
    /// not UTF-8 show as `�`.
    pub fn lines(&self, max_lines: usize, max_columns: usize) -> PreviewLines {
        let text = String::from_utf8_lossy(&self.head);
        let mut body: &str = &text;
        if self.total > self.head.len() as u64 {
            // A character cut by the preview's end is not a bad byte.
            body = body.strip_suffix('\u{FFFD}').unwrap_or(body);
        }
        let body = body.strip_suffix('\n').unwrap_or(body);
        let mut all = if body.is_empty() {
            None
        } else {
            Some(body.split('\n'))
        }
        .into_iter()
        .flatten();
        let mut out = PreviewLines {
            bytes_left_out: self.total.saturating_sub(self.head.len() as u64),
            ..PreviewLines::default()
        };
        for line in all.by_ref().take(max_lines) {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (shown, cut) = fit(&sanitize::for_terminal(line), max_columns);
            out.lines_cut += usize::from(cut);
            out.lines.push(shown);
        }
        out.lines_left_out = all.count();
        out
    }
}

impl PreviewLines {
    /// What was left out, in words, for under the preview; `None` when everything is shown.
    pub fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.lines_left_out > 0 {
            parts.push(format!("{} more lines", self.lines_left_out));
        }
        if self.bytes_left_out > 0 {
            parts.push(format!(
                "{} more bytes after the first {} KiB",
                self.bytes_left_out,
                PREVIEW_BYTES / 1024
            ));
        }
        if self.lines_cut > 0 {
            parts.push(format!("{} lines cut at the width", self.lines_cut));
        }
        if parts.is_empty() {
            return None;
        }
        Some(format!(
            "not shown: {}; the whole output is in the file",
            parts.join(", ")
        ))
    }
}

/// `text` cut to `columns` display columns, ending with `…` when cut.
fn fit(text: &str, columns: usize) -> (String, bool) {
    let width = |c: char| c.width().unwrap_or(0);
    if text.chars().map(width).sum::<usize>() <= columns {
        return (text.to_owned(), false);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = width(c);
        if used + w + 1 > columns {
            break;
        }
        used += w;
        out.push(c);
    }
    if columns > 0 {
        out.push('…');
    }
    (out, true)
}

/// Why the command was ended by custody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    TimedOut,
    Cancelled,
}

/// Runs the command and waits for it; see the module's documentation. `started` is read from
/// `clock` just before the program is started; the duration is measured with [`Instant`].
/// Setting `cancel` ends the command as a timeout would, recorded as [`STOPPED`]. Never panics
/// on a missing program, an unwritable folder or a full disk: the record says what happened.
pub fn run<C: Clock + ?Sized>(request: &Request, clock: &C, cancel: &AtomicBool) -> Outcome {
    let started = clock.now();
    let instant = Instant::now();
    let mut record = CommandRun {
        argv: request.argv.clone(),
        changes_system: request.changes_system,
        started,
        duration_ms: 0,
        exit_code: None,
        signal: None,
        timed_out: false,
        stdout: None,
        stderr: None,
        error: None,
    };
    let finish = |mut record: CommandRun, stdout: Preview, stderr: Preview| {
        record.duration_ms = u64::try_from(instant.elapsed().as_millis()).unwrap_or(u64::MAX);
        Outcome {
            run: record,
            stdout,
            stderr,
        }
    };
    if let Some(problem) = refuse(&request.argv) {
        record.error = Some(problem);
        return finish(record, Preview::default(), Preview::default());
    }
    let (mut out, mut err) = match open_outputs(&request.session_dir, &file_stem(&request.stem)) {
        Ok(files) => files,
        Err(problem) => {
            record.error = Some(problem);
            return finish(record, Preview::default(), Preview::default());
        }
    };
    let mut errors = Vec::new();
    let child = Command::new(&request.argv[0])
        .args(&request.argv[1..])
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let (stdout, stderr) = match child {
        Err(e) => {
            errors.push(not_started(&request.argv[0], &e));
            // The two empty files exist: they are recorded, so that every file in the
            // evidence folder is in the journal.
            (out.finish(), err.finish())
        }
        Ok(child) => {
            let ended = supervise(child, out, err, request.timeout, cancel);
            record.exit_code = ended.exit_code;
            record.signal = ended.signal;
            record.timed_out = ended.stop == Some(Stop::TimedOut);
            if ended.stop == Some(Stop::Cancelled) {
                errors.push(STOPPED.to_owned());
            }
            errors.extend(ended.problems);
            (ended.stdout, ended.stderr)
        }
    };
    let (stdout_ref, stdout_preview, stdout_error) = stdout;
    let (stderr_ref, stderr_preview, stderr_error) = stderr;
    errors.extend(stdout_error);
    errors.extend(stderr_error);
    record.stdout = Some(stdout_ref);
    record.stderr = Some(stderr_ref);
    if !errors.is_empty() {
        record.error = Some(errors.join("; "));
    }
    finish(record, stdout_preview, stderr_preview)
}

/// What makes an argument list impossible to run, in words.
fn refuse(argv: &[String]) -> Option<String> {
    let Some(program) = argv.first() else {
        return Some("the command names no program".to_owned());
    };
    if program.is_empty() {
        return Some("the command's program is empty".to_owned());
    }
    argv.iter().position(|a| a.contains('\0')).map(|i| {
        format!("argument {i} holds a NUL character, which no program can receive; check the values substituted into it")
    })
}

/// Why the program could not be started, with what to do about it.
fn not_started(program: &str, e: &io::Error) -> String {
    let shown = sanitize::for_terminal(program);
    match e.kind() {
        io::ErrorKind::NotFound if program.contains('/') => {
            format!("`{shown}` does not exist: install it or skip the step, recording why")
        }
        io::ErrorKind::NotFound => {
            format!("`{shown}` was not found on PATH: install it or skip the step, recording why")
        }
        io::ErrorKind::PermissionDenied => format!(
            "`{shown}` cannot be run (permission denied: not executable, or a folder on its \
             path cannot be entered): fix it or skip the step, recording why"
        ),
        _ => format!("`{shown}` could not be started: {e}"),
    }
}

/// One stream being written to its file.
#[derive(Debug)]
struct Capture {
    file: File,
    /// The path relative to the session folder, as recorded.
    relative: String,
    hasher: Sha256,
    /// Bytes written to the file (and hashed).
    size: u64,
    preview: Preview,
    /// The first thing that went wrong; after a write error, output is read but not written.
    error: Option<String>,
    /// Recorded: nothing more is written.
    finished: bool,
}

/// A stream's record, its preview, and what went wrong with it.
type Captured = (FileRef, Preview, Option<String>);

impl Capture {
    fn take(&mut self, bytes: &[u8]) {
        let room = PREVIEW_BYTES.saturating_sub(self.preview.head.len());
        self.preview
            .head
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
        self.preview.total += bytes.len() as u64;
        if self.error.is_some() || self.finished {
            return;
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => {
                    self.fail(&io::Error::from(io::ErrorKind::WriteZero));
                    return;
                }
                Ok(n) => {
                    self.hasher.update(&rest[..n]);
                    self.size += n as u64;
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(&e);
                    return;
                }
            }
        }
    }

    fn fail(&mut self, e: &io::Error) {
        self.error = Some(format!(
            "cannot write {}: {e}; only its first {} bytes were kept (and hashed)",
            self.relative, self.size
        ));
    }

    /// Makes the file durable and gives its record; nothing is written after.
    fn finish(&mut self) -> Captured {
        self.finished = true;
        if let Err(e) = self.file.sync_all()
            && self.error.is_none()
        {
            self.error = Some(format!(
                "cannot make {} durable (fsync): {e}",
                self.relative
            ));
        }
        let file = FileRef {
            file: self.relative.clone(),
            size: self.size,
            sha256: Digest(self.hasher.clone().finalize().into()),
        };
        (file, std::mem::take(&mut self.preview), self.error.clone())
    }
}

/// Creates the two output files, `<stem>.stdout` and `<stem>.stderr`, or `<stem>-N.*` when a
/// name is taken.
fn open_outputs(session_dir: &Path, stem: &str) -> Result<(Capture, Capture), String> {
    let dir = session_dir.join(EVIDENCE);
    if !dir.is_dir() {
        DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    }
    for n in 1..=1000 {
        let name = if n == 1 {
            stem.to_owned()
        } else {
            format!("{stem}-{n}")
        };
        let names = [format!("{name}.stdout"), format!("{name}.stderr")];
        if names.iter().any(|f| dir.join(f).symlink_metadata().is_ok()) {
            continue;
        }
        let mut captures = Vec::with_capacity(2);
        for f in names {
            let path = dir.join(&f);
            match create_private(&path) {
                Ok(file) => captures.push(Capture {
                    file,
                    relative: format!("{EVIDENCE}/{f}"),
                    hasher: Sha256::new(),
                    size: 0,
                    preview: Preview::default(),
                    error: None,
                    finished: false,
                }),
                // Taken in the meantime: try the next name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => break,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        if let [_, _] = captures.as_slice() {
            let err = captures.pop();
            let out = captures.pop();
            if let (Some(out), Some(err)) = (out, err) {
                return Ok((out, err));
            }
        }
    }
    Err(format!(
        "cannot find a free name for {stem}.stdout in {}",
        dir.display()
    ))
}

/// A new file, 0600 whatever the umask.
fn create_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(0o600))?;
    Ok(file)
}

/// How the command ended.
struct Ended {
    exit_code: Option<i32>,
    signal: Option<i32>,
    stop: Option<Stop>,
    problems: Vec<String>,
    stdout: Captured,
    stderr: Captured,
}

/// A stream's capture, shared between its reader thread and the supervisor, which finishes it
/// when the stream has ended (or is given up on).
type Slot = Arc<Mutex<Capture>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Capture> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads a stream into its capture until the end, then says so on `done`.
fn pump(mut pipe: impl Read, slot: Slot, which: &'static str, done: &mpsc::Sender<()>) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = match pipe.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let mut capture = lock(&slot);
                if capture.error.is_none() {
                    capture.error = Some(format!("cannot read the command's {which}: {e}"));
                }
                break;
            }
        };
        let mut capture = lock(&slot);
        // Finished by the supervisor: the stream was given up on.
        if capture.finished {
            break;
        }
        capture.take(&buffer[..n]);
    }
    // Let go of the slot before saying so: the supervisor counts holders.
    drop(slot);
    let _ = done.send(());
}

/// The command's process and output streams, while it runs.
struct Running {
    child: Child,
    pid: Pid,
    /// The leader has ended (it is not reaped until the end, so its id, which is also the
    /// process group's, cannot be taken by another process meanwhile).
    exited: bool,
    open_streams: usize,
    done: Receiver<()>,
}

impl Running {
    fn ended(&self) -> bool {
        self.exited && self.open_streams == 0
    }

    /// Looks at the leader without reaping it, and waits up to `wait` for a stream to end.
    fn poll(&mut self, wait: Duration) {
        if !self.exited {
            self.exited = match rustix::process::waitid(
                WaitId::Pid(self.pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
            ) {
                Ok(status) => status.is_some(),
                Err(rustix::io::Errno::INTR) => false,
                // Not our child any more (reaped elsewhere): the final wait says so.
                Err(_) => true,
            };
        }
        if self.ended() {
            return;
        }
        match self.done.recv_timeout(wait) {
            Ok(()) => self.open_streams = self.open_streams.saturating_sub(1),
            Err(RecvTimeoutError::Timeout) => {}
            // Every reader has gone (they send before they end).
            Err(RecvTimeoutError::Disconnected) => self.open_streams = 0,
        }
    }

    /// Polls until everything ended or `limit` passes; whether everything ended.
    fn wait_until(&mut self, limit: Instant) -> bool {
        while !self.ended() {
            let now = Instant::now();
            if now >= limit {
                return false;
            }
            self.poll(TICK.min(limit - now));
        }
        true
    }

    /// Sends `signal` to the command's whole process group.
    fn signal_group(&self, signal: Signal) {
        // Never the group of init or of everything (kill(-1)).
        if self.pid.as_raw_nonzero().get() > 1 {
            // The group may have gone already (ESRCH): nothing to do then.
            let _ = rustix::process::kill_process_group(self.pid, signal);
        }
    }
}

/// Waits for the command, ends its process group on timeout or cancellation, and collects the
/// captures.
fn supervise(
    mut child: Child,
    out: Capture,
    err: Capture,
    timeout: Duration,
    cancel: &AtomicBool,
) -> Ended {
    let start = Instant::now();
    let pid = Pid::from_child(&child);
    let (done_tx, done_rx) = mpsc::channel();
    let mut open_streams = 0;
    let out_slot: Slot = Arc::new(Mutex::new(out));
    let err_slot: Slot = Arc::new(Mutex::new(err));
    for (pipe, slot, which) in [
        (
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            &out_slot,
            "stdout",
        ),
        (
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            &err_slot,
            "stderr",
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let reader_slot = Arc::clone(slot);
        let done = done_tx.clone();
        let spawned = thread::Builder::new()
            .name(format!("custody-{which}"))
            .spawn(move || pump(pipe, reader_slot, which, &done));
        if spawned.is_ok() {
            open_streams += 1;
        } else {
            lock(slot).error = Some(format!("cannot start a thread to read the {which}"));
        }
    }
    drop(done_tx);
    let mut running = Running {
        child,
        pid,
        exited: false,
        open_streams,
        done: done_rx,
    };
    let deadline = start.checked_add(timeout);
    let mut stop = None;
    while !running.ended() {
        if cancel.load(Ordering::SeqCst) {
            stop = Some(Stop::Cancelled);
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop = Some(Stop::TimedOut);
            break;
        }
        running.poll(TICK);
    }
    let mut problems = Vec::new();
    if stop.is_some() {
        running.signal_group(Signal::TERM);
        running.signal_group(Signal::CONT);
        running.wait_until(Instant::now() + GRACE);
        // Also when everything ended within the grace: a process of the group that ignored
        // SIGTERM and closed its output must not outlive the stopped command. The leader is not
        // reaped yet, so the group's id still names this group.
        running.signal_group(Signal::KILL);
        running.wait_until(Instant::now() + KILL_WAIT);
    }
    let (mut exit_code, mut signal) = (None, None);
    if running.exited {
        match running.child.wait() {
            Ok(status) => {
                exit_code = status.code();
                signal = status.signal();
            }
            Err(e) => problems.push(format!("cannot read the command's exit status: {e}")),
        }
    } else {
        problems.push(format!(
            "the command (process {}) did not end even after SIGKILL; it may still be running",
            running.child.id()
        ));
    }
    let collect = |slot: &Slot, which: &str| {
        let mut capture = lock(slot);
        // A reader lets go of its slot when its stream has ended.
        let given_up = Arc::strong_count(slot) > 1;
        let mut captured = capture.finish();
        if given_up && captured.2.is_none() {
            captured.2 = Some(format!(
                "the {which} was still held open by a process outside the command's process \
                 group; only its first {} bytes were kept",
                captured.0.size
            ));
        }
        captured
    };
    let stdout = collect(&out_slot, "stdout");
    let stderr = collect(&err_slot, "stderr");
    Ended {
        exit_code,
        signal,
        stop,
        problems,
        stdout,
        stderr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(bytes: &[u8], total: u64) -> Preview {
        Preview {
            head: bytes.to_vec(),
            total,
        }
    }

    #[test]
    fn stems_keep_safe_characters_only() {
        assert_eq!(file_stem("cmd-0017-netstat"), "cmd-0017-netstat");
        assert_eq!(
            file_stem("cmd 17/../../etc/passwd"),
            "cmd-17-..-..-etc-passwd"
        );
        assert_eq!(file_stem("../x"), "x");
        assert_eq!(file_stem("-rf"), "rf");
        assert_eq!(file_stem("ünï\u{1b}[31m"), "n---31m");
        assert_eq!(file_stem(""), "cmd");
        assert_eq!(file_stem("..."), "cmd");
        assert_eq!(file_stem(&"a".repeat(300)).len(), STEM_MAX);
    }

    #[test]
    fn argv_renders_each_template_into_one_argument() {
        let line = CommandLine {
            argv: ["printf", "%s\\n", "--{{value}}--"]
                .iter()
                .map(|a| Template::literal(a))
                .collect(),
            written: String::new(),
        };
        let value = "a b; rm -rf / $(id) {{value}}";
        let args = argv(&line, |t| t.render(|_| std::borrow::Cow::Borrowed(value)));
        assert_eq!(args, ["printf", "%s\\n", &format!("--{value}--")]);
    }

    #[test]
    fn a_variable_without_a_value_stops_the_command_from_being_built() {
        let line = CommandLine {
            argv: ["ls", "{{a}}/{{b}}", "{{b}}", "{{c}}"]
                .iter()
                .map(|a| Template::literal(a))
                .collect(),
            written: String::new(),
        };
        let some = |name: &str| (name == "a").then_some(std::borrow::Cow::Borrowed("/srv x"));
        assert_eq!(
            argv_from_values(&line, some),
            Err(vec!["b".to_owned(), "c".to_owned()])
        );
        let all = |name: &str| Some(std::borrow::Cow::Owned(format!("<{name}>")));
        assert_eq!(
            argv_from_values(&line, all),
            Ok(vec![
                "ls".to_owned(),
                "<a>/<b>".to_owned(),
                "<b>".to_owned(),
                "<c>".to_owned()
            ])
        );
    }

    #[test]
    fn impossible_argument_lists_are_refused_in_words() {
        assert!(refuse(&[]).is_some());
        assert!(refuse(&[String::new()]).is_some());
        let nul = refuse(&["echo".into(), "a\0b".into()]);
        assert!(nul.is_some_and(|m| m.contains("argument 1")));
        assert!(refuse(&["echo".into(), "a b".into()]).is_none());
    }

    #[test]
    fn preview_lines_are_bounded_and_counted() {
        let p = preview(b"one\r\ntwo\nthree\nfour\n", 19);
        let shown = p.lines(2, 80);
        assert_eq!(shown.lines, ["one", "two"]);
        assert_eq!(shown.lines_left_out, 2);
        assert_eq!(shown.bytes_left_out, 0);
        assert!(shown.note().is_some_and(|n| n.contains("2 more lines")));
        let all = p.lines(10, 80);
        assert_eq!(all.lines, ["one", "two", "three", "four"]);
        assert_eq!(all.note(), None);
        assert_eq!(preview(b"", 0).lines(5, 5), PreviewLines::default());

        let long = preview(b"abcdefghij\n", 11).lines(5, 4);
        assert_eq!(long.lines, ["abc…"]);
        assert_eq!(long.lines_cut, 1);
        let wide = preview("日本語です".as_bytes(), 15).lines(5, 5);
        assert_eq!(wide.lines, ["日本…"]);
    }

    #[test]
    fn preview_escapes_what_a_terminal_would_interpret() {
        let p = preview(
            "red \u{1b}[31mX\u{1b}[0m\nabc\u{202E}txt.exe\n\u{1b}]52;c;aGk=\u{7}\n".as_bytes(),
            40,
        );
        let shown = p.lines(10, 200);
        assert_eq!(
            shown.lines,
            [
                "red \\u{1b}[31mX\\u{1b}[0m",
                "abc\\u{202e}txt.exe",
                "\\u{1b}]52;c;aGk=\\u{7}"
            ]
        );
        for line in &shown.lines {
            assert!(!line.chars().any(sanitize::needs_escape), "{line:?}");
        }
    }

    #[test]
    fn a_character_cut_by_the_preview_end_is_dropped_and_the_rest_counted() {
        let mut head = b"ok\nx".to_vec();
        head.extend_from_slice(&"é".as_bytes()[..1]);
        let shown = preview(&head, 1000).lines(10, 80);
        assert_eq!(shown.lines, ["ok", "x"]);
        assert_eq!(shown.bytes_left_out, 1000 - 5);
        assert!(shown.note().is_some_and(|n| n.contains("995 more bytes")));
        // A bad byte inside the output is shown as such.
        assert_eq!(preview(b"a\xffb", 3).lines(1, 9).lines, ["a\u{FFFD}b"]);
    }

    #[test]
    fn every_result_type_can_go_to_the_interface_thread() {
        fn send<T: Send + 'static>() {}
        send::<Request>();
        send::<Outcome>();
        send::<PreviewLines>();
    }
}
