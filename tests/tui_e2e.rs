//! The real binary in a pseudo-terminal, read as a person sees it (a vt100 screen): the flagship
//! runbook walked to its end through a branch, quit and resume, kill -9 and resume, signals,
//! a tiny terminal, and the journal verified after each.
//!
//! The driver reads the journal (the truth) to know which step is current and types what that
//! step asks, waiting after each key for the journal to grow, as the screen only shows what is
//! written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pty::{DEFAULT_TIMEOUT, Term};
use custody::journal::Event;
use custody::runbook::{FieldKind, Runbook, StepKind};
use custody::session::{self, State};

const RUNBOOK: &str = "csam-discovery";

fn events(folder: &Path) -> Vec<Event> {
    session::read_recent(folder, usize::MAX)
}

/// The only session folder under `dir`, once it exists.
fn session_folder(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        if let Ok(folders) = custody::journal::session_folders(dir)
            && let [one] = folders.as_slice()
            && !events(one).is_empty()
        {
            return one.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no session folder in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state(folder: &Path, runbook: &Runbook) -> State {
    State::replay(runbook, &events(folder)).unwrap()
}

/// Waits until the journal has more than `before` events.
fn wait_events(term: &Term, folder: &Path, before: usize) -> usize {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let n = events(folder).len();
        if n > before {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "the journal did not grow past {before} events\n{}",
            term.framed_screen()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn start(dir: &Path, extra: &[&str], cols: u16, rows: u16) -> Term {
    let mut args = common::start_args(dir);
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let term = Term::spawn(&args, &[], cols, rows);
    term.wait_for("REAL INCIDENT", DEFAULT_TIMEOUT)
        .or_else(|_| term.wait_for("EXERCISE", DEFAULT_TIMEOUT))
        .unwrap();
    term
}

/// Does what the current step asks, through the keyboard, and waits until the journal shows
/// it. `choice` picks the way out of decisions. Returns false once the runbook is finished.
fn do_step(term: &mut Term, folder: &Path, runbook: &Runbook, choice: usize) -> bool {
    let st = state(folder, runbook);
    let Some(id) = st.current.clone() else {
        return false;
    };
    let step = runbook.step(&id).unwrap();
    // The current step's title is on the screen before any key is pressed.
    let title: String = session_title(runbook, &st, &id).chars().take(20).collect();
    term.wait_for(&title, DEFAULT_TIMEOUT).unwrap();
    let mut n = events(folder).len();
    match &step.kind {
        StepKind::Instruction { .. } | StepKind::End { .. } => {
            term.key("Enter");
            wait_events(term, folder, n);
        }
        StepKind::Checklist { items, .. } => {
            for _ in 0..items.len() {
                term.key("Space");
                n = wait_events(term, folder, n);
            }
            term.key("Enter");
            wait_events(term, folder, n);
        }
        StepKind::Decision { choices } => {
            for _ in 0..(choice % choices.len()) {
                term.key("Down");
            }
            term.key("Enter");
            term.wait_for("Why this choice?", DEFAULT_TIMEOUT).unwrap();
            term.type_text("as the situation requires");
            term.key("Enter");
            wait_events(term, folder, n);
        }
        StepKind::Record { fields, .. } => {
            for field in fields {
                match &field.kind {
                    FieldKind::Choice { .. } | FieldKind::Yesno => term.key("Right"),
                    FieldKind::Datetime => term.type_text("now"),
                    FieldKind::Number => term.type_text("2"),
                    _ => term.type_text("as listed"),
                }
                term.key("Enter");
            }
            wait_events(term, folder, n);
        }
        StepKind::Contact { .. } => {
            // Contacted (may be filled in from the jurisdiction), how, when, reference,
            // person, notes.
            term.key("Ctrl-U");
            term.type_text("Meldpunt");
            term.key("Enter");
            term.type_text("phone");
            for _ in 0..2 {
                term.key("Enter");
            }
            term.type_text("REF-1");
            for _ in 0..3 {
                term.key("Enter");
            }
            wait_events(term, folder, n);
        }
        StepKind::Transfer { .. } => {
            term.type_text("disk image");
            for _ in 0..4 {
                term.key("Enter");
            }
            term.type_text("D. Visser");
            for _ in 0..4 {
                term.key("Enter");
            }
            term.type_text("evidence locker 3");
            term.key("Enter");
            wait_events(term, folder, n);
        }
        StepKind::Evidence { .. } | StepKind::Command { .. } => {
            // Not built yet in this version: note what was done by hand, then skip.
            term.key("n");
            term.wait_for("Note", DEFAULT_TIMEOUT).unwrap();
            term.type_text("done by hand as the step says");
            term.key("Enter");
            n = wait_events(term, folder, n);
            term.key("s");
            term.wait_for("why?", DEFAULT_TIMEOUT).unwrap();
            term.type_text("done by hand, see the note");
            term.key("Enter");
            wait_events(term, folder, n);
        }
    }
    true
}

fn session_title(runbook: &Runbook, st: &State, id: &str) -> String {
    let step = runbook.step(id).unwrap();
    step.title
        .render(|name| std::borrow::Cow::Owned(st.variables.get(name).cloned().unwrap_or_default()))
}

fn runbook() -> Runbook {
    custody::runbook::bundled::find(RUNBOOK).unwrap().1
}

fn verify_ok(folder: &Path) {
    let v = custody::journal::verify(folder, None, None).unwrap();
    assert!(v.intact(), "{:?}", v.problem);
}

#[test]
fn the_flagship_is_walked_to_its_end_through_a_branch_and_sealed() {
    let dir = common::temp_dir("e2e-walk");
    let mut term = start(&dir, &[], 80, 24);
    let folder = session_folder(&dir);
    let runbook = runbook();
    let mut steps = 0;
    while do_step(&mut term, &folder, &runbook, 1) {
        steps += 1;
        assert!(steps < 200, "going round in circles");
    }
    term.wait_for("The runbook is finished", DEFAULT_TIMEOUT)
        .unwrap();
    let st = state(&folder, &runbook);
    assert!(st.finished);
    // The second way out of the first decision was taken.
    assert!(st.path.len() > 10);
    let hash = st.last_hash.to_hex();
    assert!(
        term.screen().contains(&hash[..32]),
        "{}",
        term.framed_screen()
    );
    let n = events(&folder).len();
    term.key("S");
    term.wait_for("Seal the session?", DEFAULT_TIMEOUT).unwrap();
    term.key("y");
    wait_events(&term, &folder, n);
    term.wait_for("sealed", DEFAULT_TIMEOUT).unwrap();
    term.key("q");
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    term.assert_restored();
    verify_ok(&folder);
    assert!(
        custody::journal::verify(&folder, None, None)
            .unwrap()
            .sealed
            .is_some()
    );
    // Sealing wrote the report of everything before it, in every format this build has, and
    // journaled the files' hashes just before the seal.
    let all = events(&folder);
    let [.., written, sealed] = &all[..] else {
        panic!("too few events");
    };
    assert_eq!(sealed.body.kind(), "sealed");
    let custody::journal::Body::ReportWritten(w) = &written.body else {
        panic!("the event before the seal is {}", written.body.kind());
    };
    let formats = custody::report::Format::ALL
        .iter()
        .filter(|f| f.available())
        .count();
    assert_eq!(w.files.len(), formats);
    for f in &w.files {
        let bytes = std::fs::read(folder.join(&f.file)).unwrap();
        assert_eq!(custody::journal::Digest::of(&bytes), f.sha256, "{}", f.file);
        assert_eq!(bytes.len() as u64, f.size);
    }
    // The report covers the events before `report_written`: its final hash is that event's
    // `prev`, which `custody verify --expect` finds in the chain.
    let json = w
        .files
        .iter()
        .find(|f| {
            std::path::Path::new(&f.file)
                .extension()
                .is_some_and(|e| e == "json")
        })
        .unwrap();
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join(&json.file)).unwrap()).unwrap();
    assert_eq!(value["integrity"]["final_hash"], written.prev.to_hex());
    assert_eq!(value["summary"]["status"]["code"], "completed");
}

#[test]
fn quit_and_resume_come_back_at_the_same_step() {
    let dir = common::temp_dir("e2e-quit");
    let mut term = start(&dir, &[], 80, 24);
    let folder = session_folder(&dir);
    let runbook = runbook();
    for _ in 0..4 {
        do_step(&mut term, &folder, &runbook, 0);
    }
    let before = state(&folder, &runbook).current.unwrap();
    term.key("q");
    term.wait_for("Quit?", DEFAULT_TIMEOUT).unwrap();
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    term.assert_restored();
    assert!(
        term.screen().replace('\n', "").contains("custody resume"),
        "{}",
        term.framed_screen()
    );
    assert_eq!(events(&folder).last().unwrap().body.kind(), "paused");
    verify_ok(&folder);

    let mut term = Term::spawn(&["resume", "--dir", dir.to_str().unwrap()], &[], 80, 24);
    term.wait_for("Resumed after a pause", DEFAULT_TIMEOUT)
        .unwrap();
    let title: String = session_title(&runbook, &state(&folder, &runbook), &before)
        .chars()
        .take(20)
        .collect();
    term.wait_for(&title, DEFAULT_TIMEOUT).unwrap();
    assert_eq!(state(&folder, &runbook).current.unwrap(), before);
    // And the work goes on from there.
    do_step(&mut term, &folder, &runbook, 0);
    assert_ne!(state(&folder, &runbook).current.unwrap(), before);
    term.key("Ctrl-C");
    term.wait_for("Quit?", DEFAULT_TIMEOUT).unwrap();
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    verify_ok(&folder);
}

#[test]
fn kill_9_loses_nothing_acknowledged_and_resume_says_it_was_interrupted() {
    let dir = common::temp_dir("e2e-kill");
    let mut term = start(&dir, &[], 80, 24);
    let folder = session_folder(&dir);
    let runbook = runbook();
    for _ in 0..3 {
        do_step(&mut term, &folder, &runbook, 0);
    }
    let written = events(&folder).len();
    let at = state(&folder, &runbook).current.unwrap();
    term.kill9();
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(-9));
    assert_eq!(events(&folder).len(), written);
    verify_ok(&folder);

    let mut term = Term::spawn(&["resume", "--dir", dir.to_str().unwrap()], &[], 80, 24);
    term.wait_for("Resumed after an interruption", DEFAULT_TIMEOUT)
        .unwrap();
    let st = state(&folder, &runbook);
    assert_eq!(st.current.unwrap(), at);
    assert_eq!(st.interruptions, 1);
    term.key("q");
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    verify_ok(&folder);
}

#[test]
fn sigterm_and_sighup_pause_the_session_and_restore_the_terminal() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let dir = common::temp_dir("e2e-signal");
        let mut term = start(&dir, &[], 80, 24);
        let folder = session_folder(&dir);
        do_step(&mut term, &folder, &runbook(), 0);
        term.signal(signal);
        let code = term.wait_exit(DEFAULT_TIMEOUT);
        assert_eq!(code, Some(0), "{name}: {}", term.framed_screen());
        if signal == libc::SIGTERM {
            // After SIGHUP the terminal is gone; there is nothing to restore on it.
            term.assert_restored();
        }
        let last = events(&folder).pop().unwrap();
        match &last.body {
            custody::journal::Body::Paused(p) => {
                assert!(p.reason.as_deref().unwrap().contains(name), "{p:?}");
            }
            other => panic!("{name}: the last event is {other:?}"),
        }
        verify_ok(&folder);
    }
}

#[test]
fn a_tiny_terminal_is_told_so_and_recovers_when_enlarged() {
    let dir = common::temp_dir("e2e-small");
    let mut term = start(&dir, &["--exercise"], 80, 24);
    term.wait_for("EXERCISE - NOT A REAL INCIDENT", DEFAULT_TIMEOUT)
        .unwrap();
    term.resize(40, 10);
    term.wait_for("terminal too small (needs 60x18)", DEFAULT_TIMEOUT)
        .unwrap();
    term.resize(200, 50);
    term.wait_for("EXERCISE - NOT A REAL INCIDENT", DEFAULT_TIMEOUT)
        .unwrap();
    term.wait_gone("terminal too small", DEFAULT_TIMEOUT)
        .unwrap();
    for (cols, rows) in [(1, 1), (300, 100), (61, 18), (80, 24)] {
        term.resize(cols, rows);
    }
    term.wait_for("EXERCISE", DEFAULT_TIMEOUT).unwrap();
    term.key("q");
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    term.assert_restored();
}

#[test]
fn the_picker_and_the_start_form_begin_a_session() {
    let dir = common::temp_dir("e2e-picker");
    let mut term = Term::custody()
        .args(&["start", RUNBOOK, "--dir", dir.to_str().unwrap()])
        .size(80, 24)
        .spawn();
    term.wait_for("New session", DEFAULT_TIMEOUT).unwrap();
    term.type_text("A. Jansen");
    term.key("Tab");
    term.key("Tab");
    term.key("Tab");
    // Jurisdictions in order: AU, BE, CA, NL ...
    for _ in 0..4 {
        term.key("Right");
    }
    term.key("Tab");
    term.key("Enter");
    term.wait_for("REAL INCIDENT", DEFAULT_TIMEOUT).unwrap();
    let folder = session_folder(&dir);
    let st = state(&folder, &runbook());
    assert_eq!(st.started.operator, "A. Jansen");
    assert_eq!(st.started.jurisdiction, "NL");
    assert!(st.started.case_id.starts_with("CASE-"));
    term.key("q");
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));

    // With no subcommand, in a terminal: the picker.
    let mut term = Term::custody().env("CUSTODY_DIR", &dir).spawn();
    term.wait_for("choose a runbook", DEFAULT_TIMEOUT).unwrap();
    term.wait_for("csam-discovery", DEFAULT_TIMEOUT).unwrap();
    term.key("Enter");
    term.wait_for("New session", DEFAULT_TIMEOUT).unwrap();
    term.key("Esc");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    term.assert_restored();
}

/// A small tmpfs mounted for one test (root only); unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = common::temp_dir("e2e-tmpfs");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system holding `dir` with one file, until no byte more fits.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    while file.write_all(&block).is_ok() {}
    while file.write_all(&block[..1]).is_ok() {}
    path
}

#[test]
fn a_full_disk_shows_the_error_and_retry_works_once_there_is_room() {
    let Some(fs) = Tmpfs::mount("2m") else {
        eprintln!("cannot mount a tmpfs here (needs root): the full-disk test was not run");
        return;
    };
    let dir = fs.0.join("sessions");
    let mut term = start(&dir, &[], 80, 24);
    let folder = session_folder(&dir);
    let runbook = runbook();
    do_step(&mut term, &folder, &runbook, 0);
    let at = state(&folder, &runbook).current.unwrap();
    let filler = fill(&fs.0);
    // The journal's last page may still have room: write notes until one does not fit.
    let mut before = events(&folder);
    for attempt in 0.. {
        assert!(attempt < 50, "the disk never filled up");
        term.key("n");
        term.wait_for("Write what happened", DEFAULT_TIMEOUT)
            .unwrap();
        term.type_text(&format!("note {attempt} while the disk fills up"));
        term.key("Enter");
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        loop {
            if term.screen().contains("The journal could not be written") {
                break;
            }
            if events(&folder).len() > before.len() {
                break;
            }
            assert!(Instant::now() < deadline, "{}", term.framed_screen());
            std::thread::sleep(Duration::from_millis(30));
        }
        if term.screen().contains("The journal could not be written") {
            break;
        }
        before = events(&folder);
    }
    assert!(
        term.screen().contains("No space left"),
        "{}",
        term.framed_screen()
    );
    assert_eq!(events(&folder), before, "nothing was recorded");
    verify_ok(&folder);
    // Trying again while the disk is still full fails the same way.
    term.key("r");
    std::thread::sleep(Duration::from_millis(300));
    term.wait_for("The journal could not be written", DEFAULT_TIMEOUT)
        .unwrap();
    assert_eq!(events(&folder), before);
    std::fs::remove_file(filler).unwrap();
    term.key("r");
    wait_events(&term, &folder, before.len());
    term.wait_gone("The journal could not be written", DEFAULT_TIMEOUT)
        .unwrap();
    let st = state(&folder, &runbook);
    assert_eq!(st.current.unwrap(), at, "still the same step");
    assert_eq!(events(&folder).last().unwrap().body.kind(), "note_added");
    verify_ok(&folder);
    term.key("q");
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
}

#[test]
fn an_exercise_of_the_bundled_scenario_opens_on_its_briefing_and_quits_cleanly() {
    let dir = common::temp_dir("e2e-exercise");
    let mut term = Term::spawn(
        &[
            "exercise",
            RUNBOOK,
            "--operator",
            "A. Jansen",
            "--case",
            "EX-2026-01",
            "--facilitator",
            "C. Bakker",
            "--participant",
            "Sam Visser=backup engineer",
            "--dir",
            dir.to_str().unwrap(),
        ],
        &[],
        80,
        24,
    );
    term.wait_for("Briefing", DEFAULT_TIMEOUT).unwrap();
    term.wait_for("It is 02:55", DEFAULT_TIMEOUT).unwrap();
    let folder = session_folder(&dir);
    term.key("Enter");
    term.wait_gone("Briefing", DEFAULT_TIMEOUT).unwrap();
    term.wait_for("EXERCISE - NOT A REAL INCIDENT  clock", DEFAULT_TIMEOUT)
        .unwrap();
    assert!(term.row(0).contains("T+"), "{}", term.framed_screen());
    // The facilitator pauses the clock; the banner says so once the journal has it.
    let n = events(&folder).len();
    term.key("t");
    term.wait_for("Exercise clock", DEFAULT_TIMEOUT).unwrap();
    term.key("p");
    wait_events(&term, &folder, n);
    term.key("Esc");
    term.wait_gone("Exercise clock", DEFAULT_TIMEOUT).unwrap();
    term.wait_for("PAUSED", DEFAULT_TIMEOUT).unwrap();
    term.key("q");
    term.wait_for("Quit?", DEFAULT_TIMEOUT).unwrap();
    term.key("y");
    assert_eq!(term.wait_exit(DEFAULT_TIMEOUT), Some(0));
    term.assert_restored();
    verify_ok(&folder);
    let all = events(&folder);
    let custody::journal::Body::SessionStarted(s) = &all[0].body else {
        panic!("no session_started")
    };
    assert_eq!(s.mode, custody::journal::Mode::Exercise);
    assert_eq!(s.jurisdiction, "NL", "the scenario's jurisdiction");
    assert_eq!(s.facilitator.as_deref(), Some("C. Bakker"));
    assert_eq!(
        s.scenario.as_ref().map(|r| r.id.as_str()),
        Some("csam-discovery-night-shift")
    );
    assert_eq!(s.participants.len(), 1);
    assert_eq!(s.participants[0].role, "backup engineer");
    assert!(all.iter().any(|e| e.body.kind() == "clock_changed"));
}

/// `custody ARGS` without a terminal: exit code and standard error.
fn custody_plain(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn custody_exercise_explains_bad_input_before_it_needs_a_terminal() {
    let dir = common::temp_dir("e2e-exercise-bad");
    let d = dir.to_str().unwrap();
    let (code, err) = custody_plain(&["exercise", RUNBOOK, "--participant", "Sam", "--dir", d]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--participant") && err.contains("no `=`"),
        "{err}"
    );
    let (code, err) = custody_plain(&["exercise", "no-such-runbook", "--dir", d]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no-such-runbook"), "{err}");
    // A scenario naming a step its runbook does not have: the file, the problem and what to do.
    let scenario = dir.join("broken.toml");
    let text = custody::runbook::bundled::SCENARIOS[0]
        .text
        .replace("at = \"store-securely\"", "at = \"store-securly\"");
    std::fs::write(&scenario, text).unwrap();
    let (code, err) = custody_plain(&["exercise", scenario.to_str().unwrap(), "--dir", d]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("broken.toml") && err.contains("store-securly"),
        "{err}"
    );
    assert!(err.contains("custody check"), "{err}");
    // --scenario with something that is not a scenario.
    let (code, err) = custody_plain(&["exercise", RUNBOOK, "--scenario", "Cargo.toml", "--dir", d]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a scenario file"), "{err}");
    // The bundled scenario by its id, as `custody runbooks` lists it, is found (and then a
    // terminal is needed).
    let (code, err) = custody_plain(&["exercise", "csam-discovery-night-shift", "--dir", d]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(
        custody::journal::session_folders(&dir)
            .unwrap_or_default()
            .is_empty()
    );
}
