//! End-to-end driving of a real program in a pseudo-terminal, reading the screen as a person
//! sees it.
//!
//! A [`Term`] starts the program (by default the `custody` binary under test) on the slave side of
//! a fresh pty. A reader thread feeds everything the program writes into a `vt100` terminal
//! emulator and also keeps the raw bytes. Tests look at the emulated screen, never at raw bytes
//! alone: ratatui redraws only the cells that changed, so a text can be on the screen without
//! ever having been written as one run of bytes.
//!
//! Like a real terminal, the emulator answers the few queries a program may block on: the cursor
//! position (`ESC [ 6 n`), the device status (`ESC [ 5 n`) and the primary device attributes
//! (`ESC [ c`, which is how crossterm learns that the keyboard enhancement protocol is not
//! supported, without waiting for its time-out).
//!
//! The child runs with a small, fixed environment so that what it shows does not depend on the
//! machine or the developer's shell: `PATH`, `USER` and `LOGNAME` (and `RUST_BACKTRACE` and
//! `LLVM_PROFILE_FILE`, for backtraces and coverage runs) come from the test process; `HOME` is a
//! fresh empty folder under the target directory (so nothing is ever written to the real home);
//! `TERM=xterm-256color`, `LANG=C.UTF-8`, `LC_ALL=C.UTF-8` and `TZ=UTC`; portable-pty adds
//! `SHELL`. Variables given by the test override these. `NO_COLOR`, `XDG_*`, `CUSTODY_*` and the
//! rest of the test process's environment are not passed on. The working folder is the test
//! process's (the crate's root) unless the test gives one.
//!
//! Every wait has a deadline; [`DEFAULT_TIMEOUT`] is generous because CI machines are slow and
//! shared. A wait that fails reports the whole screen.
#![allow(dead_code, clippy::expect_used)] // not every test uses every helper; tests may expect

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long a wait lasts unless the test says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often waits look at the screen or the child again.
const POLL: Duration = Duration::from_millis(10);

/// How long [`Term::wait_status`] waits, once the program has ended, for the rest of its output.
/// Only something the program started and left running on the terminal makes it wait this long.
const DRAIN: Duration = Duration::from_secs(2);

/// How long [`Term::key`] pauses after a bare Esc. Terminal programs (crossterm among them) read
/// an Esc that arrives in the same read as the next byte as the start of an escape sequence or
/// as Alt+key; a person never types that fast.
const ESC_PAUSE: Duration = Duration::from_millis(100);

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it (`libc::SIGKILL`, ...).
    Signal(i32),
}

impl Exit {
    /// The status in one number, as [`Term::wait_exit`] gives it: the exit code, or minus the
    /// signal number for a death by signal (`-9` for `SIGKILL`), so the two never mix up.
    pub fn as_i32(self) -> i32 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(signal) => -signal,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit status {code}"),
            Exit::Signal(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// What to start in a pty, how big the pty is, and where and with what environment.
#[derive(Debug, Clone)]
pub struct TermBuilder {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    cols: u16,
    rows: u16,
}

impl TermBuilder {
    /// The program's arguments (added to those given so far).
    pub fn args<S: AsRef<OsStr>>(mut self, args: &[S]) -> Self {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// One environment variable, overriding the harness's default for it.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Several environment variables, overriding the harness's defaults for them.
    pub fn envs(mut self, envs: &[(&str, &str)]) -> Self {
        for (key, value) in envs {
            self = self.env(key, value);
        }
        self
    }

    /// The working folder (default: the test process's, which is the crate's root).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The pty's size (default 80 x 24).
    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    /// Starts the program. Panics when it cannot be started: a test cannot go on without it.
    pub fn spawn(self) -> Term {
        Term::start(self)
    }
}

/// A program running in a pseudo-terminal, with the screen it has drawn so far.
///
/// Dropping a `Term` whose program still runs kills the program's whole process group.
pub struct Term {
    master: Box<dyn MasterPty + Send>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
    pid: u32,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    exit: Option<Exit>,
    /// The pty's modes before the program started, to tell whether it left raw mode on.
    modes_before: Option<Modes>,
    home: PathBuf,
    program: String,
}

/// What the reader thread shares with the test.
struct Shared {
    parser: Mutex<vt100::Parser<Replies>>,
    raw: Mutex<Vec<u8>>,
    /// The program's side of the pty is closed: everything it wrote has been read.
    closed: AtomicBool,
}

/// Answers to terminal queries, collected while parsing and written back by the reader thread.
#[derive(Debug, Default)]
struct Replies {
    pending: Vec<u8>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        match (i1, c, params) {
            // Cursor position report, one-based.
            (None, 'n', [[6]]) => {
                let (row, col) = screen.cursor_position();
                self.pending
                    .extend_from_slice(format!("\x1b[{};{}R", row + 1, col + 1).as_bytes());
            }
            // Device status: all is well.
            (None, 'n', [[5]]) => self.pending.extend_from_slice(b"\x1b[0n"),
            // Primary device attributes: a VT220 with ANSI colour.
            (None, 'c', [] | [[0]]) => self.pending.extend_from_slice(b"\x1b[?62;22c"),
            _ => {}
        }
    }
}

/// The terminal modes raw mode changes (`cfmakeraw(3)`), read from the pty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Modes {
    iflag: libc::tcflag_t,
    oflag: libc::tcflag_t,
    lflag: libc::tcflag_t,
}

impl Modes {
    const IFLAG: libc::tcflag_t = libc::ICRNL | libc::IXON | libc::BRKINT | libc::ISTRIP;
    const OFLAG: libc::tcflag_t = libc::OPOST;
    const LFLAG: libc::tcflag_t = libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN;

    fn read(master: &dyn MasterPty) -> Option<Modes> {
        let termios: libc::termios = master.get_termios()?.into();
        Some(Modes {
            iflag: termios.c_iflag & Self::IFLAG,
            oflag: termios.c_oflag & Self::OFLAG,
            lflag: termios.c_lflag & Self::LFLAG,
        })
    }

    /// The names of the flags that differ from `before`.
    fn changed_since(self, before: Modes) -> Vec<&'static str> {
        let flags: [(&str, libc::tcflag_t, libc::tcflag_t, libc::tcflag_t); 9] = [
            ("ICANON", self.lflag, before.lflag, libc::ICANON),
            ("ECHO", self.lflag, before.lflag, libc::ECHO),
            ("ISIG", self.lflag, before.lflag, libc::ISIG),
            ("IEXTEN", self.lflag, before.lflag, libc::IEXTEN),
            ("ICRNL", self.iflag, before.iflag, libc::ICRNL),
            ("IXON", self.iflag, before.iflag, libc::IXON),
            ("BRKINT", self.iflag, before.iflag, libc::BRKINT),
            ("ISTRIP", self.iflag, before.iflag, libc::ISTRIP),
            ("OPOST", self.oflag, before.oflag, libc::OPOST),
        ];
        flags
            .into_iter()
            .filter(|(_, now, then, bit)| now & bit != then & bit)
            .map(|(name, ..)| name)
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another test thread must not hide this test's screen.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Term {
    /// `custody ARGS` in a `cols` x `rows` pty, with `envs` on top of the default environment.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)], cols: u16, rows: u16) -> Term {
        Term::custody()
            .args(args)
            .envs(envs)
            .size(cols, rows)
            .spawn()
    }

    /// Any program (found on `PATH` unless it is a path) in a `cols` x `rows` pty.
    pub fn spawn_program(
        program: &str,
        args: &[&str],
        envs: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> Term {
        Term::program(program)
            .args(args)
            .envs(envs)
            .size(cols, rows)
            .spawn()
    }

    /// A builder for `custody`, for a working folder or other settings beyond [`Term::spawn`].
    pub fn custody() -> TermBuilder {
        Term::program(env!("CARGO_BIN_EXE_custody"))
    }

    /// A builder for any program.
    pub fn program(program: impl AsRef<OsStr>) -> TermBuilder {
        TermBuilder {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
            cols: 80,
            rows: 24,
        }
    }

    fn start(b: TermBuilder) -> Term {
        let program = b.program.to_string_lossy().into_owned();
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: b.rows,
                cols: b.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("cannot open a pty for {program}: {e}"));

        let mut cmd = CommandBuilder::new(&b.program);
        cmd.args(&b.args);
        cmd.env_clear();
        let home = fresh_home();
        let path =
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        cmd.env("PATH", path);
        cmd.env("HOME", &home);
        for (key, value) in [
            ("TERM", "xterm-256color"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C.UTF-8"),
            ("TZ", "UTC"),
        ] {
            cmd.env(key, value);
        }
        for key in ["USER", "LOGNAME", "RUST_BACKTRACE", "LLVM_PROFILE_FILE"] {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        let mut home_override = None;
        for (key, value) in &b.envs {
            if key == "HOME" {
                home_override = Some(PathBuf::from(value));
            }
            cmd.env(key, value);
        }
        // portable-pty silently falls back to $HOME for a folder that does not exist.
        let cwd = match b.cwd {
            Some(dir) => dir,
            None => std::env::current_dir().expect("the test's working folder"),
        };
        assert!(
            cwd.is_dir(),
            "working folder {} is not a folder",
            cwd.display()
        );
        cmd.cwd(&cwd);

        let modes_before = Modes::read(&*pair.master);
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        // Only the child may hold the program's side open, so that reading ends when it (and
        // anything it started on the same terminal) is gone.
        drop(pair.slave);
        let pid = child.process_id().expect("the child's pid");

        let reader = pair.master.try_clone_reader().expect("a pty reader");
        let writer: Arc<Mutex<Box<dyn Write + Send>>> =
            Arc::new(Mutex::new(pair.master.take_writer().expect("a pty writer")));
        let shared = Arc::new(Shared {
            parser: Mutex::new(vt100::Parser::new_with_callbacks(
                nonzero(b.rows),
                nonzero(b.cols),
                0,
                Replies::default(),
            )),
            raw: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        let reader = {
            let shared = Arc::clone(&shared);
            let writer = Arc::clone(&writer);
            thread::Builder::new()
                .name(format!("pty reader {pid}"))
                .spawn(move || read_output(reader, &shared, &writer))
                .expect("a reader thread")
        };

        Term {
            master: pair.master,
            writer,
            child,
            pid,
            shared,
            reader: Some(reader),
            exit: None,
            modes_before,
            home: home_override.unwrap_or(home),
            program,
        }
    }

    // ---- input ----

    /// Writes bytes to the program as if typed (no translation at all).
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        let mut writer = lock(&self.writer);
        if let Err(e) = writer.write_all(bytes).and_then(|()| writer.flush()) {
            drop(writer);
            panic!(
                "cannot send {:?} to {}: {e}\n{}",
                String::from_utf8_lossy(bytes),
                self.program,
                self.framed_screen()
            );
        }
    }

    /// Types text as-is. A newline in it is a line feed (Ctrl-J); the Enter key sends a carriage
    /// return, so use [`Term::key`]`("Enter")` for Enter.
    pub fn type_text(&mut self, text: &str) {
        self.send(text.as_bytes());
    }

    /// Pastes text: inside bracketed-paste markers when the program asked for them, else typed.
    pub fn paste(&mut self, text: &str) {
        if self.with_screen(vt100::Screen::bracketed_paste) {
            self.send(format!("\x1b[200~{text}\x1b[201~"));
        } else {
            self.type_text(text);
        }
    }

    /// Presses a key by name, the way xterm sends it: `Enter`, `Esc`, `Tab`, `BackTab` (or
    /// `Shift-Tab`), `Up`, `Down`, `Left`, `Right`, `Home`, `End`, `PageUp`, `PageDown`, `Insert`,
    /// `Delete`, `Space`, `Backspace`, `F1` to `F12`, `Ctrl-C` (Ctrl with any letter), `Alt-x`
    /// (Alt with any other key), or a single character (`q`, `?`, `é`). Names are not
    /// case-sensitive, single characters are. Arrows follow the application cursor mode the
    /// program set. Panics on an unknown name.
    pub fn key(&mut self, name: &str) {
        let app_cursor = self.with_screen(vt100::Screen::application_cursor);
        let bytes = key_bytes(name, app_cursor).unwrap_or_else(|| {
            panic!(
                "unknown key name {name:?}; use Enter, Esc, Tab, BackTab, Up, Down, Left, Right, \
                 Home, End, PageUp, PageDown, Insert, Delete, Space, Backspace, F1-F12, Ctrl-X, \
                 Alt-X or a single character"
            )
        });
        self.send(&bytes);
        if bytes == b"\x1b" {
            thread::sleep(ESC_PAUSE);
        }
    }

    /// Presses several keys one after the other.
    pub fn keys(&mut self, names: &[&str]) {
        for name in names {
            self.key(name);
        }
    }

    // ---- the screen ----

    /// The whole screen: every row, trailing spaces trimmed, joined by '\n'.
    pub fn screen(&self) -> String {
        self.with_screen(screen_text)
    }

    /// One row of the screen (0 is the top), trailing spaces trimmed; empty past the bottom.
    pub fn row(&self, i: u16) -> String {
        self.with_screen(|s| {
            let (_, cols) = s.size();
            s.rows(0, cols.get())
                .nth(usize::from(i))
                .map(|r| r.trim_end().to_owned())
                .unwrap_or_default()
        })
    }

    /// Where the cursor is: (row, column), zero-based.
    pub fn cursor(&self) -> (u16, u16) {
        self.with_screen(vt100::Screen::cursor_position)
    }

    /// Whether the cursor is shown.
    pub fn cursor_visible(&self) -> bool {
        !self.with_screen(vt100::Screen::hide_cursor)
    }

    /// Whether the program is on the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.with_screen(vt100::Screen::alternate_screen)
    }

    /// The emulated screen itself, for what text does not show: colours, bold, cell by cell.
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(lock(&self.shared.parser).screen())
    }

    /// The pty's size: (columns, rows).
    pub fn size(&self) -> (u16, u16) {
        self.with_screen(|s| {
            let (rows, cols) = s.size();
            (cols.get(), rows.get())
        })
    }

    /// Every byte the program has written so far.
    pub fn raw(&self) -> Vec<u8> {
        lock(&self.shared.raw).clone()
    }

    /// How many bytes the program has written so far, to pass to [`Term::raw_since`] later.
    pub fn mark(&self) -> usize {
        lock(&self.shared.raw).len()
    }

    /// The bytes the program wrote after `mark`.
    pub fn raw_since(&self, mark: usize) -> Vec<u8> {
        lock(&self.shared.raw)
            .get(mark..)
            .unwrap_or_default()
            .to_vec()
    }

    /// Whether everything the program wrote has been read: its side of the pty is closed.
    pub fn output_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Whether the pty is in raw mode now (canonical line editing off), as a TUI sets it
    /// before it reads keys.
    pub fn in_raw_mode(&self) -> bool {
        Modes::read(&*self.master).is_some_and(|m| m.lflag & libc::ICANON == 0)
    }

    // ---- waiting ----

    /// Waits until `needle` is on the screen. The error shows the screen as it was at the end.
    /// Gives up early when the program has exited and its output is all read.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        self.wait_until(&format!("{needle:?} on the screen"), timeout, |s| {
            screen_text(s).contains(needle)
        })
    }

    /// Waits until `needle` is no longer on the screen.
    pub fn wait_gone(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        self.wait_until(&format!("{needle:?} gone from the screen"), timeout, |s| {
            !screen_text(s).contains(needle)
        })
    }

    /// Waits until `pred` holds for the screen (use [`screen_text`] for its text). `what` names
    /// the condition in the error.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&vt100::Screen) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            // Read `closed` first: if it was set, the screen read after it is final.
            let closed = self.output_closed();
            if self.with_screen(&mut pred) {
                return Ok(());
            }
            if closed || Instant::now() >= deadline {
                let why = if closed {
                    "the program's output ended".to_owned()
                } else {
                    format!("{timeout:?} passed")
                };
                return Err(format!(
                    "waited for {what}, but {why}\n{}",
                    self.framed_screen()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// [`Term::wait_for`] with [`DEFAULT_TIMEOUT`], panicking with the screen when it fails.
    pub fn expect_screen(&self, needle: &str) {
        if let Err(e) = self.wait_for(needle, DEFAULT_TIMEOUT) {
            panic!("{e}");
        }
    }

    /// The screen in a frame with row numbers, its size, the cursor and the program's state,
    /// for failure messages.
    pub fn framed_screen(&self) -> String {
        let state = match self.exit {
            Some(exit) => format!(", {exit}"),
            None => String::new(),
        };
        self.with_screen(|s| {
            let (rows, cols) = s.size();
            let (cur_row, cur_col) = s.cursor_position();
            let alternate = if s.alternate_screen() {
                ", alternate screen"
            } else {
                ""
            };
            let bar = format!("    +{}+", "-".repeat(usize::from(cols.get())));
            let mut lines = vec![
                format!(
                    "screen of {} ({cols}x{rows}, cursor at row {cur_row} column {cur_col}\
                     {alternate}{state}):",
                    self.program
                ),
                bar.clone(),
            ];
            lines.extend(
                screen_text(s)
                    .split('\n')
                    .enumerate()
                    .map(|(i, line)| format!("{i:>3} |{line}")),
            );
            lines.push(bar);
            lines.join("\n")
        })
    }

    // ---- size ----

    /// Resizes the pty; the kernel sends the program `SIGWINCH`. The emulated screen takes the
    /// new size at once, like a terminal window does.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let mut parser = lock(&self.shared.parser);
        parser.set_size(nonzero(rows), nonzero(cols));
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| panic!("cannot resize the pty to {cols}x{rows}: {e}"));
    }

    // ---- the process ----

    /// The program's process id. It leads its own session and process group.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The folder the program got as `HOME`: fresh and empty unless the test gave one.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Kills the program with `SIGKILL` (a crash, a power cut as far as it can tell). Only the
    /// program: what it started lives on until the `Term` is dropped.
    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
    }

    /// Sends the program a signal (`libc::SIGTERM`, `libc::SIGINT`, `libc::SIGHUP`, ...).
    /// Does nothing once the program is known to have ended, so as never to hit a reused pid.
    pub fn signal(&mut self, signal: i32) {
        if self.exit.is_some() || self.poll_exit().is_some() {
            return;
        }
        send_signal(self.pid_t(), signal);
    }

    /// Waits for the program to end and for all its output to be read, up to `timeout`. The exit
    /// code, or minus the signal number when a signal killed it (`-9`, `-15`); `None` when it
    /// still runs. See [`Term::wait_status`] for the same as an [`Exit`].
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        self.wait_status(timeout).map(Exit::as_i32)
    }

    /// Like [`Term::wait_exit`], as an [`Exit`]. Once the program has ended this also waits until
    /// its output is all read, so that the screen is final: up to 2 s more (past `timeout` if
    /// need be), which only something the program started and left on the terminal uses up.
    pub fn wait_status(&mut self, timeout: Duration) -> Option<Exit> {
        let deadline = Instant::now() + timeout;
        let exit = loop {
            if let Some(exit) = self.poll_exit() {
                break exit;
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        };
        let drained_by = Instant::now() + DRAIN;
        while !self.output_closed() && Instant::now() < drained_by {
            thread::sleep(POLL);
        }
        Some(exit)
    }

    /// How the program ended, if it has; never waits.
    pub fn exit(&mut self) -> Option<Exit> {
        self.poll_exit()
    }

    fn poll_exit(&mut self) -> Option<Exit> {
        if self.exit.is_none() {
            self.exit = try_wait(&mut *self.child);
        }
        self.exit
    }

    fn pid_t(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.pid).expect("a pid fits pid_t")
    }

    // ---- after the end ----

    /// Checks that the program, now ended, gave the terminal back as it found it:
    ///
    /// - the alternate screen is left: the emulator is on the main screen and, if the output
    ///   ever entered the alternate screen (`ESC [ ? 1049 h`), a `ESC [ ? 1049 l` comes after it;
    /// - the cursor is shown: likewise with `ESC [ ? 25 l` and `ESC [ ? 25 h`;
    /// - mouse reporting and bracketed paste are off (as the emulator tracks them);
    /// - raw mode is off: the pty's line discipline flags that raw mode changes (`ICANON`,
    ///   `ECHO`, `ISIG`, `IEXTEN`, `ICRNL`, `IXON`, `BRKINT`, `ISTRIP`, `OPOST`) are as they were
    ///   before the program started. The modes belong to the pty, not the process, so they
    ///   outlive the program and are read from our side with `tcgetattr`. Only the modes the
    ///   program left can be checked: a program killed by `SIGKILL` cannot restore anything.
    ///
    /// Call it after [`Term::wait_exit`]; it fails while the program runs.
    pub fn check_restored(&mut self) -> Result<(), String> {
        let Some(exit) = self.poll_exit() else {
            return Err(format!(
                "{} still runs; wait for it to end before checking the terminal",
                self.program
            ));
        };
        let mut problems = Vec::new();
        let raw = self.raw();
        for (set, reset, what) in [
            (
                &b"\x1b[?1049h"[..],
                &b"\x1b[?1049l"[..],
                "left the alternate screen",
            ),
            (b"\x1b[?25l", b"\x1b[?25h", "shown the cursor"),
        ] {
            if let Some(at) = rfind(&raw, set)
                && !raw[at..].windows(reset.len()).any(|w| w == reset)
            {
                problems.push(format!(
                    "the output has not {what}: no {:?} after the last {:?}",
                    String::from_utf8_lossy(reset),
                    String::from_utf8_lossy(set)
                ));
            }
        }
        let (alternate, hidden, mouse, paste) = self.with_screen(|s| {
            (
                s.alternate_screen(),
                s.hide_cursor(),
                s.mouse_protocol_mode(),
                s.bracketed_paste(),
            )
        });
        if alternate {
            problems.push("the terminal is still on the alternate screen".to_owned());
        }
        if hidden {
            problems.push("the cursor is still hidden".to_owned());
        }
        if mouse != vt100::MouseProtocolMode::None {
            problems.push(format!("mouse reporting is still on ({mouse:?})"));
        }
        if paste {
            problems.push("bracketed paste is still on".to_owned());
        }
        match (self.modes_before, Modes::read(&*self.master)) {
            (Some(before), Some(after)) => {
                let changed = after.changed_since(before);
                if !changed.is_empty() {
                    problems.push(format!(
                        "raw mode is still on: {} changed from before the start",
                        changed.join(", ")
                    ));
                }
            }
            _ => problems.push("cannot read the pty's modes".to_owned()),
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} ({exit}) did not restore the terminal:\n- {}\n{}",
                self.program,
                problems.join("\n- "),
                self.framed_screen()
            ))
        }
    }

    /// [`Term::check_restored`], panicking with the problems.
    pub fn assert_restored(&mut self) {
        if let Err(e) = self.check_restored() {
            panic!("{e}");
        }
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Term")
            .field("program", &self.program)
            .field("pid", &self.pid)
            .field("size", &self.size())
            .field("exit", &self.exit)
            .finish_non_exhaustive()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if self.poll_exit().is_none() {
            // Not reaped yet, so the pid (and the process group it leads) is still ours.
            send_signal(-self.pid_t(), libc::SIGKILL);
            let deadline = Instant::now() + DEFAULT_TIMEOUT;
            while self.poll_exit().is_none() && Instant::now() < deadline {
                thread::sleep(POLL);
            }
        }
        // The reader ends by itself once nothing holds the program's side of the pty; wait for
        // it only if it is about to.
        if let Some(reader) = self.reader.take()
            && reader.is_finished()
        {
            let _ = reader.join();
        }
    }
}

/// The text of a screen: every row, trailing spaces trimmed, joined by '\n'.
pub fn screen_text(screen: &vt100::Screen) -> String {
    let (_, cols) = screen.size();
    screen
        .rows(0, cols.get())
        .map(|row| row.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bytes xterm sends for a key, by name (see [`Term::key`]).
fn key_bytes(name: &str, app_cursor: bool) -> Option<Vec<u8>> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c.to_string().into_bytes());
    }
    let lower = name.to_ascii_lowercase();
    if let Some(key) = lower
        .strip_prefix("ctrl-")
        .or_else(|| lower.strip_prefix("c-"))
    {
        return match key.as_bytes() {
            [c @ b'a'..=b'z'] => Some(vec![c & 0x1f]),
            b"space" | b"@" => Some(vec![0]),
            _ => None,
        };
    }
    if lower.starts_with("alt-") {
        let mut bytes = vec![0x1b];
        bytes.extend(key_bytes(&name[4..], app_cursor)?);
        return Some(bytes);
    }
    let arrow = |c: char| {
        let prefix = if app_cursor { "\x1bO" } else { "\x1b[" };
        format!("{prefix}{c}")
    };
    let text = match lower.as_str() {
        "enter" | "return" => "\r".to_owned(),
        "esc" | "escape" => "\x1b".to_owned(),
        "tab" => "\t".to_owned(),
        "backtab" | "shift-tab" => "\x1b[Z".to_owned(),
        "space" => " ".to_owned(),
        "backspace" => "\x7f".to_owned(),
        "up" => arrow('A'),
        "down" => arrow('B'),
        "right" => arrow('C'),
        "left" => arrow('D'),
        "home" => arrow('H'),
        "end" => arrow('F'),
        "insert" => "\x1b[2~".to_owned(),
        "delete" | "del" => "\x1b[3~".to_owned(),
        "pageup" => "\x1b[5~".to_owned(),
        "pagedown" => "\x1b[6~".to_owned(),
        "f1" => "\x1bOP".to_owned(),
        "f2" => "\x1bOQ".to_owned(),
        "f3" => "\x1bOR".to_owned(),
        "f4" => "\x1bOS".to_owned(),
        f => {
            let n: u8 = f.strip_prefix('f')?.parse().ok()?;
            let code = match n {
                5 => 15,
                6..=10 => n + 11,
                11 | 12 => n + 12,
                _ => return None,
            };
            format!("\x1b[{code}~")
        }
    };
    Some(text.into_bytes())
}

/// The reader thread: everything the program writes goes to the raw record and the emulator;
/// the emulator's answers to queries go back to the program.
fn read_output(
    mut reader: Box<dyn Read + Send>,
    shared: &Shared,
    writer: &Mutex<Box<dyn Write + Send>>,
) {
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            // Linux says EIO once the program's side is closed.
            Ok(0) | Err(_) => break,
            Ok(n) => {
                lock(&shared.raw).extend_from_slice(&buf[..n]);
                let replies = {
                    let mut parser = lock(&shared.parser);
                    parser.process(&buf[..n]);
                    std::mem::take(&mut parser.callbacks_mut().pending)
                };
                if !replies.is_empty() {
                    let mut writer = lock(writer);
                    let _ = writer.write_all(&replies).and_then(|()| writer.flush());
                }
            }
        }
    }
    shared.closed.store(true, Ordering::Release);
}

fn try_wait(child: &mut (dyn Child + Send + Sync)) -> Option<Exit> {
    use std::os::unix::process::ExitStatusExt;
    // portable-pty's own status names a signal in words; the std child under it has the number.
    let child: &mut dyn Child = child;
    let child = child
        .downcast_mut::<std::process::Child>()
        .expect("portable-pty runs a std child on Unix");
    let status = child.try_wait().ok()??;
    Some(match (status.code(), status.signal()) {
        (_, Some(signal)) => Exit::Signal(signal),
        (Some(code), None) => Exit::Code(code),
        (None, None) => unreachable!("a status is a code or a signal on Unix"),
    })
}

#[allow(unsafe_code)]
fn send_signal(pid: libc::pid_t, signal: i32) {
    // SAFETY: kill(2) takes no pointers; the worst a wrong pid can do is signal another process,
    // and callers only pass the pid (or process group) of a child they have not reaped yet.
    let _ = unsafe { libc::kill(pid, signal) };
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a pty of at least 1x1")
}

/// A new empty folder to serve as the program's home.
fn fresh_home() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("pty-home")
        .join(format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a home folder for the program");
    dir
}

/// A count from the environment variable `var` (to run a test longer), else `default`.
pub fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A small seeded random number generator (`SplitMix64`) for tests that drive a program at random
/// moments: the same seed gives the same drive, so a failure can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The seed to use: `CUSTODY_SEED` when set (to replay a run), else one from the clock.
    /// Printed, so that any run can be replayed.
    pub fn seed(test: &str) -> u64 {
        let seed = std::env::var("CUSTODY_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                (now.as_secs() ^ u64::from(now.subsec_nanos())) % 1_000_000_000
            });
        eprintln!("{test}: seed {seed} (CUSTODY_SEED={seed} replays it)");
        seed
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent` in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }
}

// ---- Added for the reliability suites (tests/crash.rs, tests/signals.rs, the resize storms in
// tests/terminal_sizes.rs). ----

impl Term {
    /// The screen as the program's last complete frame left it: the output up to the end of the
    /// last frame ratatui finished drawing, replayed into a fresh emulator of the pty's size.
    ///
    /// ratatui ends every frame by hiding the cursor (`ESC [ ? 25 l`) or showing it
    /// (`ESC [ ? 25 h`) after the cells that changed, and the output of one frame may be read in
    /// several pieces; [`Term::screen`] can catch a frame half drawn, this never does. What a
    /// complete frame showed is what the program showed as done. Only meaningful for a pty whose
    /// size never changed (a resize makes the emulator crop what it had).
    pub fn last_frame(&self) -> String {
        let raw = self.raw();
        let end = [&b"\x1b[?25l"[..], b"\x1b[?25h"]
            .iter()
            .filter_map(|marker| rfind(&raw, marker).map(|at| at + marker.len()))
            .max()
            .unwrap_or(0);
        let (cols, rows) = self.size();
        let mut parser = vt100::Parser::new(nonzero(rows), nonzero(cols), 0);
        parser.process(&raw[..end]);
        screen_text(parser.screen())
    }

    /// How many frames the program has finished drawing so far (see [`Term::last_frame`]).
    pub fn frames(&self) -> usize {
        let raw = self.raw();
        raw.windows(6)
            .filter(|w| *w == b"\x1b[?25l" || *w == b"\x1b[?25h")
            .count()
    }
}

/// What a program run without a terminal printed, and how it ended.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// Both outputs, for failure messages.
    pub fn text(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `custody ARGS` without a terminal (standard input empty), in the same small, fixed
/// environment as a [`Term`] (a fresh `HOME`, `TZ=UTC`, `LANG=C.UTF-8`, no `CUSTODY_*`).
pub fn custody_cli<S: AsRef<OsStr>>(args: &[S]) -> CliOutput {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", fresh_home())
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("custody runs");
    CliOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Driving the flagship runbook (`csam-discovery`) through the keyboard and reading its walk
/// screen back, for the suites that crash, signal and resize the real binary.
pub mod flagship {
    use std::path::Path;

    use custody::journal::Event;
    use custody::runbook::{FieldKind, Runbook, StepKind};
    use custody::sanitize::for_terminal;
    use custody::session::State;
    use custody::tui::describe;

    use super::{Rng, Term};

    pub const RUNBOOK: &str = "csam-discovery";

    /// How much of a journal pane line [`pane_line`] and [`journal_pane`] keep: the time, the
    /// sequence number and the start of the text. A dialog is 72 columns wide and centred, so
    /// on a screen 140 columns wide it never covers them.
    pub const PREFIX: usize = 30;

    pub fn runbook() -> Runbook {
        custody::runbook::bundled::find(RUNBOOK)
            .expect("the flagship runbook")
            .1
    }

    /// Every event of a session's journal (a torn last line left out).
    pub fn events(folder: &Path) -> Vec<Event> {
        custody::session::read_recent(folder, usize::MAX)
    }

    /// The fold of a session's journal.
    pub fn state(folder: &Path, runbook: &Runbook) -> Option<State> {
        State::replay(runbook, &events(folder))
    }

    /// The journal pane's line for an event, as the screen shows it (its first [`PREFIX`]
    /// characters).
    pub fn pane_line(e: &Event) -> String {
        let text = format!(
            "{} #{:<3} {}",
            e.local_time().format("%H:%M:%S"),
            e.seq,
            for_terminal(&describe::event(e))
        );
        text.chars()
            .take(PREFIX)
            .collect::<String>()
            .trim_end()
            .to_owned()
    }

    /// The journal pane's lines in a frame: (sequence number, the line's first [`PREFIX`]
    /// characters).
    pub fn journal_pane(frame: &str) -> Vec<(u64, String)> {
        let rows: Vec<&str> = frame.split('\n').collect();
        let Some(top) = rows.iter().position(|r| r.contains("Journal (local time)")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for row in &rows[top + 1..] {
            if row.starts_with(['└', '╰', '+']) {
                break;
            }
            let inner: String = row.chars().skip(1).take(PREFIX).collect();
            let inner = inner.trim_end().to_owned();
            let chars: Vec<char> = inner.chars().collect();
            let time_ok = chars.len() > 10
                && chars[..8].iter().enumerate().all(|(i, c)| {
                    if i % 3 == 2 {
                        *c == ':'
                    } else {
                        c.is_ascii_digit()
                    }
                })
                && chars[8] == ' '
                && chars[9] == '#';
            if !time_ok {
                continue;
            }
            let digits: String = chars[10..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(seq) = digits.parse() {
                out.push((seq, inner));
            }
        }
        out
    }

    /// The step the step pane's title names (`finished` once the runbook is done); `None` when no
    /// walk screen is shown or a dialog covers the title.
    pub fn step_shown(frame: &str, runbook: &Runbook) -> Option<String> {
        let row = frame.split('\n').nth(2)?;
        if row.contains(" finished ") {
            return Some("finished".into());
        }
        runbook
            .steps
            .iter()
            .filter(|s| row.contains(&format!(" {} ({}) ", s.id, s.kind_name())))
            .map(|s| s.id.clone())
            .max_by_key(String::len)
    }

    /// What the fold says the screen should show as the step: its id, or `finished`.
    pub fn current_name(st: &State) -> String {
        st.current.clone().unwrap_or_else(|| "finished".into())
    }

    /// A key to press, text to type, or raw bytes to send.
    #[derive(Debug, Clone)]
    pub enum K {
        Key(&'static str),
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn press(term: &mut Term, k: &K) {
        match k {
            K::Key(name) => term.key(name),
            K::Text(text) => term.type_text(text),
            K::Bytes(bytes) => term.send(bytes),
        }
    }

    /// Words for notes and reasons; in a dialog every key is text, so any letter is safe.
    pub const WORDS: &[&str] = &[
        "checked", "listing", "called", "duty", "officer", "server", "backup", "share", "ticket",
        "quiet", "noted", "café", "€5", "naïve", "x", "yes", "quit",
    ];

    pub fn words(rng: &mut Rng, n: u64) -> String {
        (0..n)
            .map(|_| *rng.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Steps whose keys go to a form (typing) until Esc.
    pub fn is_form(kind: &StepKind) -> bool {
        matches!(
            kind,
            StepKind::Record { .. } | StepKind::Contact { .. } | StepKind::Transfer { .. }
        )
    }

    /// The keys that do what the current step asks (a decision takes a random way out). Command
    /// and evidence steps are done by a note and a skip, as the step says to do them by hand.
    pub fn step_keys(st: &State, runbook: &Runbook, rng: &mut Rng) -> Vec<K> {
        let Some(id) = st.current.clone() else {
            return Vec::new();
        };
        let step = runbook.step(&id).unwrap();
        let mut keys = Vec::new();
        match &step.kind {
            StepKind::Instruction { .. } | StepKind::End { .. } => keys.push(K::Key("Enter")),
            StepKind::Checklist { items, .. } => {
                let done = st.step(&id).map_or(0, |s| s.items.len());
                for _ in done..items.len() {
                    keys.push(K::Key("Space"));
                }
                keys.push(K::Key("Enter"));
            }
            StepKind::Decision { choices } => {
                for _ in 0..rng.below(choices.len() as u64) {
                    keys.push(K::Key("Down"));
                }
                keys.push(K::Key("Enter"));
                keys.push(K::Text(format!("because {}", words(rng, 2))));
                keys.push(K::Key("Enter"));
            }
            StepKind::Record { fields, .. } => {
                for field in fields {
                    match &field.kind {
                        FieldKind::Choice { .. } | FieldKind::Yesno => keys.push(K::Key("Right")),
                        FieldKind::Datetime => keys.push(K::Text("now".into())),
                        FieldKind::Number => keys.push(K::Text("2".into())),
                        _ => keys.push(K::Text("as listed".into())),
                    }
                    keys.push(K::Key("Enter"));
                }
            }
            StepKind::Contact { .. } => {
                keys.extend([
                    K::Key("Ctrl-U"),
                    K::Text("Meldpunt".into()),
                    K::Key("Enter"),
                    K::Text("phone".into()),
                    K::Key("Enter"),
                    K::Key("Enter"),
                    K::Text("REF-1".into()),
                    K::Key("Enter"),
                    K::Key("Enter"),
                    K::Key("Enter"),
                ]);
            }
            StepKind::Transfer { .. } => {
                keys.push(K::Text("disk image".into()));
                keys.extend(std::iter::repeat_n(K::Key("Enter"), 4));
                keys.push(K::Text("D. Visser".into()));
                keys.extend(std::iter::repeat_n(K::Key("Enter"), 4));
                keys.push(K::Text("evidence locker 3".into()));
                keys.push(K::Key("Enter"));
            }
            StepKind::Evidence { .. } | StepKind::Command { .. } => {
                keys.extend([
                    K::Key("n"),
                    K::Text("done by hand as the step says".into()),
                    K::Key("Enter"),
                    K::Key("s"),
                    K::Text("done by hand, see the note".into()),
                    K::Key("Enter"),
                ]);
            }
        }
        keys
    }
}
