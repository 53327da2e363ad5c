//! Signals: `SIGHUP`, `SIGTERM` and `SIGINT` sent to the real binary in a pseudo-terminal at
//! random points, and each time the program ends cleanly, gives the terminal back and leaves a
//! journal that verifies and resumes.
//!
//! The points, each with a random one of the three signals after a random short delay:
//!
//! - the runbook picker (`custody` in a terminal), the cursor moved;
//! - the start form (`custody start csam-discovery`), a field half typed;
//! - the walk of the flagship runbook, after a random number of steps done through the keyboard
//!   (the driver reads the journal to know the current step): idle; a dialog open (note, skip,
//!   quit, help, or a decision's reason, some with text half typed); a note half typed; a record,
//!   contact or transfer form half filled; half an escape sequence just sent (mid-keystroke);
//!   the keys of the step still in flight;
//! - a command step running (`sleep 30`, from a one-step runbook);
//! - an evidence step hashing (a large sparse file, from a one-step runbook).
//!
//! After each: the program exited with status 0 and restored the terminal
//! ([`Term::check_restored`]: main screen, cursor shown, raw mode, mouse and bracketed paste
//! off). On the picker and the start form no session was created. On the walk, `custody verify`
//! passes; the last event is `paused`, with the signal's name as its reason, and nothing was
//! written after it; a command that ran was stopped and its end journaled before the pause
//! (hashing that ran is journaled as stopped, or as done if it finished first); then
//! `custody resume` comes back at the step the journal's fold says is current and says it was
//! paused, and quitting it leaves a journal that verifies again.
//!
//! CI samples 48 points; more with `CUSTODY_SIGNALS=N`:
//!
//! ```sh
//! CUSTODY_SIGNALS=500 cargo test --test signals -- --nocapture
//! ```
//!
//! The points are random from a seed, printed with the summary; `CUSTODY_SEED=N` replays one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pty::flagship::{
    self, K, current_name, events, is_form, journal_pane, press, state, step_keys, step_shown,
    words,
};
use common::pty::{Rng, Term, custody_cli};
use custody::journal::Body;
use custody::runbook::{Runbook, StepKind};

/// Wide enough for the journal pane's lines to be read beside any dialog.
const COLS: u16 = 140;
const ROWS: u16 = 40;
/// Every wait: generous, the machine is shared.
const WAIT: Duration = Duration::from_secs(30);

const SIGNALS: [(i32, &str); 3] = [
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGINT, "SIGINT"),
];

/// Where the program is when the signal comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Point {
    Picker,
    StartForm,
    WalkIdle,
    Dialog,
    NoteTyping,
    FormTyping,
    MidKeystroke,
    KeysInFlight,
    CommandRunning,
    Hashing,
}

impl Point {
    const ALL: [Point; 10] = [
        Point::Picker,
        Point::StartForm,
        Point::WalkIdle,
        Point::Dialog,
        Point::NoteTyping,
        Point::FormTyping,
        Point::MidKeystroke,
        Point::KeysInFlight,
        Point::CommandRunning,
        Point::Hashing,
    ];

    fn name(self) -> &'static str {
        match self {
            Point::Picker => "picker",
            Point::StartForm => "start form",
            Point::WalkIdle => "walk",
            Point::Dialog => "dialog",
            Point::NoteTyping => "typing a note",
            Point::FormTyping => "typing in a form",
            Point::MidKeystroke => "mid-keystroke",
            Point::KeysInFlight => "keys in flight",
            Point::CommandRunning => "command running",
            Point::Hashing => "hashing",
        }
    }

    fn walks(self) -> bool {
        !matches!(self, Point::Picker | Point::StartForm)
    }
}

/// A folder for one point: the sessions folder under it, and the program's working folder.
fn point_dir() -> PathBuf {
    let dir = common::temp_dir("signals");
    std::fs::create_dir_all(dir.join("sessions")).unwrap();
    // Private, as custody wants its sessions folder (else it warns on every start).
    std::fs::set_permissions(dir.join("sessions"), Permissions::from_mode(0o700)).unwrap();
    dir
}

fn sessions(dir: &Path) -> PathBuf {
    dir.join("sessions")
}

fn session_folder(dir: &Path) -> Option<PathBuf> {
    custody::journal::session_folders(&sessions(dir))
        .ok()
        .and_then(|f| f.into_iter().next())
}

/// Waits until the journal's fold passes `check`.
fn wait_state(
    term: &Term,
    folder: &Path,
    runbook: &Runbook,
    what: &str,
    mut check: impl FnMut(&custody::session::State) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        if state(folder, runbook).is_some_and(|st| check(&st)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {what}\n{}",
            term.framed_screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A one-step runbook (see `common::one_step_runbook`) whose variable has a default, so that
/// `custody start` goes straight to the walk; written into `dir`.
fn one_step(dir: &Path, name: &str, step: &str) -> PathBuf {
    let text = common::one_step_runbook(name, step).replace(
        "label = \"A value typed by the operator\"",
        "label = \"A value typed by the operator\"\ndefault = \"x\"",
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `custody start RUNBOOK` with everything given, in `dir`.
fn start(dir: &Path, runbook: &str) -> Term {
    let mut args = common::start_args(&sessions(dir));
    runbook.clone_into(&mut args[1]);
    Term::custody()
        .args(&args)
        .cwd(dir)
        .size(COLS, ROWS)
        .spawn()
}

/// Half a keystroke, and the rest of it.
const HALVES: [(&[u8], &[u8]); 5] = [
    (b"\x1b[", b"A"),
    (b"\x1bO", b"A"),
    (b"\x1b[1;5", b"A"),
    (b"\xc3", b"\xa9"),
    (b"\xe2\x82", b"\xac"),
];

/// Drives the program to `point`, returning it, the session folder (on the walk) and, for
/// [`Point::MidKeystroke`], the rest of the keystroke half sent.
fn drive(
    point: Point,
    dir: &Path,
    rng: &mut Rng,
) -> (Term, Option<PathBuf>, Option<&'static [u8]>) {
    let runbook = flagship::runbook();
    match point {
        Point::Picker => {
            let mut term = Term::custody()
                .env("CUSTODY_DIR", sessions(dir))
                .cwd(dir)
                .size(COLS, ROWS)
                .spawn();
            term.wait_for("choose a runbook", WAIT).unwrap();
            for _ in 0..rng.below(4) {
                term.key("Down");
            }
            (term, None, None)
        }
        Point::StartForm => {
            let mut term = Term::custody()
                .args(&[
                    "start",
                    flagship::RUNBOOK,
                    "--dir",
                    sessions(dir).to_str().unwrap(),
                ])
                .cwd(dir)
                .size(COLS, ROWS)
                .spawn();
            term.wait_for("New session", WAIT).unwrap();
            term.type_text(&words(rng, 2));
            if rng.chance(50) {
                term.key("Tab");
                term.type_text("CASE-");
            }
            (term, None, None)
        }
        Point::CommandRunning => {
            let path = one_step(
                dir,
                "signals-sleep",
                "kind = \"command\"\nrun = [\"sleep\", \"30\"]\ntimeout = \"60s\"",
            );
            let mut term = start(dir, path.to_str().unwrap());
            term.wait_for("capture (command)", WAIT).unwrap();
            let folder = session_folder(dir).unwrap();
            term.key("Enter");
            term.key("y");
            let deadline = Instant::now() + WAIT;
            while !events(&folder)
                .iter()
                .any(|e| e.body.kind() == "command_started")
            {
                assert!(Instant::now() < deadline, "{}", term.framed_screen());
                std::thread::sleep(Duration::from_millis(20));
            }
            (term, Some(folder), None)
        }
        Point::Hashing => {
            let evidence = dir.join("evidence-share");
            std::fs::create_dir_all(&evidence).unwrap();
            // Sparse: no disk used, but every byte is read and hashed.
            std::fs::File::create(evidence.join("big.img"))
                .unwrap()
                .set_len(4 << 30)
                .unwrap();
            let step = format!(
                "kind = \"evidence\"\npaths = [\"{}\"]",
                evidence.to_str().unwrap()
            );
            let path = one_step(dir, "signals-hash", &step);
            let mut term = start(dir, path.to_str().unwrap());
            term.wait_for("capture (evidence)", WAIT).unwrap();
            let folder = session_folder(dir).unwrap();
            term.key("Enter");
            term.wait_for("custody will read these", WAIT).unwrap();
            term.key("y");
            term.wait_for("Hashing.", WAIT).unwrap();
            (term, Some(folder), None)
        }
        _ => {
            let mut term = start(dir, flagship::RUNBOOK);
            term.wait_until("the walk", WAIT, |s| {
                step_shown(&common::pty::screen_text(s), &runbook).is_some()
            })
            .unwrap();
            let folder = session_folder(dir).unwrap();
            let rest = walk_to(point, &mut term, &folder, &runbook, rng);
            (term, Some(folder), rest)
        }
    }
}

/// Does a random number of steps (to a form step for [`Point::FormTyping`]), then puts the
/// program at `point`. For [`Point::MidKeystroke`], the rest of the keystroke half sent.
fn walk_to(
    point: Point,
    term: &mut Term,
    folder: &Path,
    runbook: &Runbook,
    rng: &mut Rng,
) -> Option<&'static [u8]> {
    let mut steps = rng.below(12);
    loop {
        let st = state(folder, runbook).unwrap();
        let Some(id) = st.current.clone() else {
            break;
        };
        let form = is_form(&runbook.step(&id).unwrap().kind);
        if steps == 0 && (point != Point::FormTyping || form) {
            break;
        }
        steps = steps.saturating_sub(1);
        for k in step_keys(&st, runbook, rng) {
            press(term, &k);
        }
        wait_state(term, folder, runbook, &format!("step {id} done"), |s| {
            s.current.as_deref() != Some(id.as_str())
        });
    }
    let st = state(folder, runbook).unwrap();
    let kind = st
        .current
        .as_deref()
        .and_then(|id| runbook.step(id))
        .map(|s| s.kind.clone());
    let form = kind.as_ref().is_some_and(is_form);
    match point {
        Point::Dialog => {
            if form {
                term.key("Esc");
            }
            let opener = *rng.pick(&["n", "s", "q", "?", "reason"]);
            if opener == "reason" {
                if matches!(kind, Some(StepKind::Decision { .. })) {
                    term.key("Enter");
                    term.wait_for("Why this choice?", WAIT).unwrap();
                    term.type_text(&words(rng, 2));
                } else {
                    term.key("n");
                }
            } else {
                term.key(opener);
                if opener == "n" || opener == "s" {
                    let n = rng.below(3);
                    term.type_text(&words(rng, n));
                }
            }
        }
        Point::NoteTyping => {
            if form {
                term.key("Esc");
            }
            term.key("n");
            let n = 1 + rng.below(4);
            term.type_text(&words(rng, n));
        }
        Point::FormTyping => {
            let keys = step_keys(&st, runbook, rng);
            let cut = usize::try_from(rng.below(keys.len() as u64)).unwrap();
            for k in &keys[..cut] {
                press(term, k);
            }
            term.type_text(&words(rng, 1));
        }
        Point::MidKeystroke => {
            if rng.chance(50) {
                if form {
                    term.key("Esc");
                }
                term.key("n");
                term.type_text(&words(rng, 1));
            }
            let (half, rest) = *rng.pick(&HALVES);
            press(term, &K::Bytes(half.to_vec()));
            return Some(rest);
        }
        Point::KeysInFlight => {
            for k in step_keys(&st, runbook, rng) {
                press(term, &k);
            }
        }
        _ => {}
    }
    None
}

/// How a point went: whether the program had to be sent the rest of a keystroke before it
/// acted on the signal (see [`a_signal_is_acted_on_while_half_a_keystroke_is_pending`]).
type Outcome = Result<bool, String>;

/// One point: drive there, signal, check.
fn one_point(point: Point, signal: (i32, &str), rng: &mut Rng) -> Outcome {
    let (number, name) = signal;
    let dir = point_dir();
    let runbook = flagship::runbook();
    let (mut term, folder, rest) = drive(point, &dir, rng);
    let before = folder.as_deref().map_or(0, |f| events(f).len());
    std::thread::sleep(Duration::from_millis(rng.below(150)));
    term.signal(number);
    let completed = false;
    if let Some(rest) = rest
        && term.wait_exit(WAIT).is_none()
    {
        // The program waited for the rest of the keystroke before it looked at its signals
        // (fixed; see the test below): that is a failure now.
        term.send(rest);
        return Err(format!(
            "{name} at the {}: acted on only once the rest of the keystroke came",
            point.name()
        ));
    }
    let exit = term.wait_exit(WAIT);
    if exit != Some(0) {
        return Err(format!(
            "{name} at the {}: the program ended with {exit:?}\n{}",
            point.name(),
            term.framed_screen()
        ));
    }
    term.check_restored()
        .map_err(|e| format!("{name} at the {}: {e}", point.name()))?;
    // What the program says once the terminal is back (it was "the session can be resumed"
    // even where no session had been started).
    let said = term.screen();
    let expected = if point.walks() {
        "the session is paused. Take it up again with: custody resume"
    } else {
        "no session was started"
    };
    if !said.contains(expected) {
        return Err(format!(
            "{name} at the {}: the program did not say {expected:?}:\n{said}",
            point.name()
        ));
    }
    if !point.walks() {
        let created = custody::journal::session_folders(&sessions(&dir)).unwrap_or_default();
        return if created.is_empty() {
            Ok(completed)
        } else {
            Err(format!(
                "{name} at the {}: a session was created: {created:?}",
                point.name()
            ))
        };
    }
    let folder = folder.unwrap();
    let verify = custody_cli(&["verify", folder.to_str().unwrap()]);
    if verify.code != Some(0) {
        return Err(format!(
            "{name} at the {}: custody verify failed:\n{}",
            point.name(),
            verify.text()
        ));
    }
    let all = events(&folder);
    let Some(last) = all.last() else {
        return Err("no events".into());
    };
    match &last.body {
        Body::Paused(p) if p.reason.as_deref().is_some_and(|r| r.contains(name)) => {}
        other => {
            return Err(format!(
                "{name} at the {}: the last event is {other:?}, not the pause with the signal \
                 as its reason",
                point.name()
            ));
        }
    }
    if all.len() <= before {
        return Err(format!("{name} at the {}: nothing journaled", point.name()));
    }
    let kinds: Vec<&str> = all[before..].iter().map(|e| e.body.kind()).collect();
    match point {
        Point::CommandRunning if kinds != ["command_run", "paused"] => {
            return Err(format!(
                "{name} while a command ran: after it started the journal has {kinds:?}, not \
                 the command's end and the pause"
            ));
        }
        Point::Hashing if kinds != ["evidence_recorded", "paused"] => {
            return Err(format!(
                "{name} while hashing: the journal has {kinds:?} after it started, not the \
                 hashing's end and the pause"
            ));
        }
        _ => {}
    }
    if point == Point::CommandRunning
        && let Some(Body::CommandRun(run)) = all.get(before).map(|e| &e.body)
        && run.exit_code == Some(0)
    {
        return Err(format!(
            "{name} while `sleep 30` ran: it is journaled as having ended by itself: {run:?}"
        ));
    }
    resume(&dir, &folder, point, name, &runbook).map(|()| completed)
}

/// `custody resume`: back at the fold's current step, saying it was paused; then quit.
fn resume(
    dir: &Path,
    folder: &Path,
    point: Point,
    name: &str,
    runbook: &Runbook,
) -> Result<(), String> {
    let before = if matches!(point, Point::CommandRunning | Point::Hashing) {
        None
    } else {
        state(folder, runbook)
    };
    let mut term = Term::custody()
        .args(&[
            "resume",
            folder.to_str().unwrap(),
            "--dir",
            sessions(dir).to_str().unwrap(),
        ])
        .cwd(dir)
        .size(COLS, ROWS)
        .spawn();
    term.wait_for("Resumed after a pause", WAIT)
        .map_err(|e| format!("resume after {name} at the {}: {e}", point.name()))?;
    let all = events(folder);
    if all.last().map(|e| e.body.kind()) != Some("resumed") {
        return Err(format!(
            "resume after {name} at the {}: the last event is not `resumed`",
            point.name()
        ));
    }
    if let Some(before) = before {
        let after = state(folder, runbook).unwrap();
        let frame = term.last_frame();
        let shown = step_shown(&frame, runbook);
        let last_shown = journal_pane(&frame).last().map(|(seq, _)| *seq);
        if after.current != before.current
            || shown.as_deref() != Some(current_name(&after).as_str())
            || last_shown != all.last().map(|e| e.seq)
        {
            return Err(format!(
                "resume after {name} at the {}: the fold says {:?} (it said {:?} before), the \
                 screen shows {shown:?} and its journal pane ends at {last_shown:?}\n{frame}",
                point.name(),
                after.current,
                before.current
            ));
        }
    } else {
        // A one-step runbook: its only step, with the result of what was stopped.
        term.wait_for("capture (", WAIT)?;
    }
    // Ctrl-C asks to quit even on a form (where `q` is typed into a field).
    term.key("Ctrl-C");
    term.wait_for("Quit?", WAIT)?;
    term.key("y");
    let exit = term.wait_exit(WAIT);
    if exit != Some(0) {
        return Err(format!("quitting the resumed session: {exit:?}"));
    }
    term.check_restored()?;
    let verify = custody_cli(&["verify", folder.to_str().unwrap()]);
    if verify.code == Some(0) {
        Ok(())
    } else {
        Err(format!(
            "custody verify after the resumed session quit:\n{}",
            verify.text()
        ))
    }
}

fn points_wanted() -> usize {
    common::pty::env_count("CUSTODY_SIGNALS", 48)
}

#[test]
fn sighup_sigterm_and_sigint_at_random_points_pause_cleanly() {
    let seed = Rng::seed("signals");
    let mut rng = Rng::new(seed);
    let wanted = points_wanted();
    let started = Instant::now();
    let mut tally: BTreeMap<(Point, &str), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut stuck = 0;
    for i in 0..wanted {
        // Every point with every signal first, then at random.
        let (point, signal) = if i < SIGNALS.len() * Point::ALL.len() {
            (
                Point::ALL[i % Point::ALL.len()],
                SIGNALS[i / Point::ALL.len()],
            )
        } else {
            (*rng.pick(&Point::ALL), *rng.pick(&SIGNALS))
        };
        *tally.entry((point, signal.1)).or_default() += 1;
        match one_point(point, signal, &mut rng) {
            Ok(completed) => stuck += usize::from(completed),
            Err(e) => {
                eprintln!("signals: FAILURE: {e}");
                failures.push(e);
            }
        }
    }
    let mut by_point: BTreeMap<Point, Vec<String>> = BTreeMap::new();
    for ((point, signal), n) in &tally {
        by_point
            .entry(*point)
            .or_default()
            .push(format!("{signal} {n}"));
    }
    eprintln!(
        "signals: {} of {wanted} points paused cleanly (journal verified, pause journaled with \
         the signal, terminal restored, resumed at the right step): {}; {stuck} acted on the \
         signal only once half a keystroke was completed (seed {seed}, {:.0} s)",
        wanted - failures.len(),
        by_point
            .iter()
            .map(|(p, s)| format!("{} [{}]", p.name(), s.join(" ")))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {wanted} points failed (seed {seed}); the first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// Half a keystroke that arrives on its own (`ESC [` of an arrow key, the first byte of `é`, as
/// a slow or dropped connection can leave it) must not keep the program from acting on
/// `SIGTERM`, `SIGHUP` or `SIGINT`.
///
/// Found by this suite: crossterm read standard input (blocking) in a loop until a whole event
/// parsed, so the program sat in `read(2)` and never got back to its signal flags until a key
/// completed a valid sequence (`x` after `ESC [` was not enough; `A` was). Fixed: standard input
/// is non-blocking while the interface runs (`host::NonBlockingStdin`).
#[test]
fn a_signal_is_acted_on_while_half_a_keystroke_is_pending() {
    let mut stuck = Vec::new();
    for (i, (half, _)) in HALVES.iter().enumerate() {
        let (number, name) = SIGNALS[i % SIGNALS.len()];
        let dir = point_dir();
        let mut term = start(&dir, flagship::RUNBOOK);
        term.wait_for("stop (checklist)", WAIT).unwrap();
        term.send(half);
        std::thread::sleep(Duration::from_millis(300));
        term.signal(number);
        if term.wait_exit(Duration::from_secs(5)) != Some(0) {
            stuck.push(format!("{name} after {:?}", String::from_utf8_lossy(half)));
        }
    }
    assert!(
        stuck.is_empty(),
        "the program did not end within 5 s: {}",
        stuck.join(", ")
    );
}
