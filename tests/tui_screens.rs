//! The terminal interface drawn into a test buffer: whole-screen snapshots at 80x24 and 120x40
//! for every kind of step of the flagship runbook, the dialogs and the small-terminal message,
//! and behaviour driven by key presses (every change goes to the journal first).
//!
//! The clock is a hand-set one (2026-11-23 09:15:02 UTC, one hour east), so times in the
//! snapshots are fixed; the final hash depends on the machine (its host name is in the first
//! event) and is redacted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use custody::journal::event::{Body, Mode};
use custody::session::{self, Action, ManualClock, Session};
use custody::tui::app::{Dialog, Screen};
use custody::tui::{App, Theme, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

type TestApp<'c> = App<&'c ManualClock>;

/// A session of the flagship runbook walked (choosing the first way out of every decision)
/// until its current step is of `kind`.
fn app_at<'c>(clock: &'c ManualClock, kind: &str, mode: Mode) -> TestApp<'c> {
    let dir = common::temp_dir("tui");
    let mut s = Session::create(&dir, &common::start("csam-discovery", mode), clock).unwrap();
    while s.current_step().map(custody::runbook::Step::kind_name) != Some(kind) {
        let action = common::next_action(&s, 0).expect("the runbook has a step of this kind");
        clock.advance(Duration::seconds(61));
        s.apply(action).unwrap();
    }
    clock.advance(Duration::seconds(30));
    let recent = session::read_recent(s.folder(), 50);
    App::walk(s, recent, Theme::plain(), dir)
}

fn draw(app: &TestApp<'_>, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(app, frame)).unwrap();
    terminal
}

fn screen(app: &TestApp<'_>, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

fn key(app: &mut TestApp<'_>, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn type_text(app: &mut TestApp<'_>, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn walk<'a, 'c>(app: &'a TestApp<'c>) -> &'a custody::tui::app::Walk<&'c ManualClock> {
    match &app.screen {
        Screen::Walk(w) => w,
        _ => panic!("not on the walk screen"),
    }
}

fn walk_mut<'a, 'c>(app: &'a mut TestApp<'c>) -> &'a mut custody::tui::app::Walk<&'c ManualClock> {
    match &mut app.screen {
        Screen::Walk(w) => w,
        _ => panic!("not on the walk screen"),
    }
}

fn last_kind(app: &TestApp<'_>) -> &'static str {
    walk(app).recent.back().map_or("", |e| e.body.kind())
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"[0-9a-f]{32}", "[32 hex digits of the final hash]");
    // The session folder (a temporary path, cut to fit) up to the end of its pane.
    settings.add_filter(r"/\S*target/tmp/tui/[^|\x22]*", "[session folder]");
    settings.add_filter(
        r"stays where it is: [^|\x22]*",
        "stays where it is: [session folder]",
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn every_step_kind_at_80x24_and_120x40() {
    for kind in [
        "checklist",
        "decision",
        "record",
        "evidence",
        "command",
        "contact",
        "transfer",
        "instruction",
        "end",
    ] {
        let clock = common::clock();
        let app = app_at(&clock, kind, Mode::Real);
        snapshot(&format!("{kind}_80x24"), &screen(&app, 80, 24));
        snapshot(&format!("{kind}_120x40"), &screen(&app, 120, 40));
    }
}

#[test]
fn dialogs_and_messages() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Real);
    key(&mut app, KeyCode::Char('?'));
    snapshot("help_80x24", &screen(&app, 80, 24));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('q'));
    snapshot("quit_80x24", &screen(&app, 80, 24));
    key(&mut app, KeyCode::Char('n'));
    walk_mut(&mut app).dialog = Some(Dialog::WriteFailed {
        message: "journal.jsonl: No space left on device (os error 28)".into(),
        action: Action::Complete,
    });
    snapshot("write_failed_80x24", &screen(&app, 80, 24));
    walk_mut(&mut app).dialog = None;
    key(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "Server room door was open when I arrived");
    snapshot("note_80x24", &screen(&app, 80, 24));
    snapshot("too_small_59x20", &screen(&app, 59, 20));
    snapshot("too_small_80x17", &screen(&app, 80, 17));
}

#[test]
fn an_exercise_says_so_on_every_screen() {
    let clock = common::clock();
    let app = app_at(&clock, "decision", Mode::Exercise);
    let text = screen(&app, 80, 24);
    snapshot("exercise_decision_80x24", &text);
    let first_row = text.lines().next().unwrap();
    assert!(
        first_row.contains("EXERCISE - NOT A REAL INCIDENT"),
        "{first_row}"
    );
    let real = app_at(&clock, "decision", Mode::Real);
    assert!(!screen(&real, 80, 24).contains("EXERCISE"));
    assert!(screen(&real, 80, 24).contains("REAL INCIDENT"));
}

#[test]
fn the_finished_screen_shows_the_final_hash_and_offers_the_seal() {
    let clock = common::clock();
    let mut app = app_at(&clock, "end", Mode::Real);
    key(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    snapshot("finished_80x24", &text);
    let hash = walk(&app).session.state().last_hash.to_hex();
    assert!(text.contains(&hash[..32]) && text.contains(&hash[32..]));
    key(&mut app, KeyCode::Char('S'));
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(last_kind(&app), "sealed");
    assert!(screen(&app, 80, 24).contains("sealed"));
}

#[test]
fn no_colour_under_no_color_and_ascii_borders_outside_utf8() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Exercise);
    let terminal = draw(&app, 80, 24);
    for cell in terminal.backend().buffer().content() {
        assert_eq!(
            cell.fg,
            Color::Reset,
            "a coloured cell under the plain theme"
        );
        assert!(
            cell.symbol().is_ascii(),
            "non-ASCII symbol {:?}",
            cell.symbol()
        );
    }
    app.theme = Theme {
        color: true,
        unicode: true,
    };
    let terminal = draw(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    assert!(buffer.content().iter().any(|c| c.fg != Color::Reset));
    assert_eq!(
        buffer[(0, 3)].symbol(),
        "╭",
        "below the banner and the header"
    );
}

#[test]
fn a_checklist_is_confirmed_item_by_item_and_each_is_journaled_first() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Real);
    let step = walk(&app).session.state().current.clone().unwrap();
    let items = match &walk(&app).session.current_step().unwrap().kind {
        custody::runbook::StepKind::Checklist { items, .. } => items.len(),
        _ => unreachable!(),
    };
    // Enter before all are ticked ticks the marked item rather than completing.
    for i in 0..items {
        key(
            &mut app,
            if i % 2 == 0 {
                KeyCode::Char(' ')
            } else {
                KeyCode::Enter
            },
        );
        assert_eq!(last_kind(&app), "item_confirmed");
        let on_disk = session::read_recent(walk(&app).session.folder(), 1);
        assert_eq!(on_disk[0].seq, walk(&app).recent.back().unwrap().seq);
    }
    assert!(screen(&app, 80, 24).contains("All confirmed"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "step_completed");
    assert_ne!(
        walk(&app).session.state().current.as_deref(),
        Some(step.as_str())
    );
}

#[test]
fn a_decision_asks_why_and_records_the_reason() {
    let clock = common::clock();
    let mut app = app_at(&clock, "decision", Mode::Real);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert!(matches!(walk(&app).dialog, Some(Dialog::Reason { .. })));
    // An empty reason is not accepted.
    key(&mut app, KeyCode::Enter);
    assert!(matches!(walk(&app).dialog, Some(Dialog::Reason { .. })));
    type_text(&mut app, "the host is a public web server");
    key(&mut app, KeyCode::Enter);
    assert!(walk(&app).dialog.is_none());
    let event = walk(&app).recent.back().unwrap();
    match &event.body {
        Body::DecisionMade(d) => assert_eq!(d.reason, "the host is a public web server"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_record_form_checks_fields_before_anything_is_written() {
    let clock = common::clock();
    let mut app = app_at(&clock, "record", Mode::Real);
    let events = walk(&app).session.state().events;
    // Enter through every field to the last: the form refuses and marks what is missing.
    let fields = walk(&app).form.as_ref().unwrap().1.fields.len();
    for _ in 0..fields {
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(walk(&app).session.state().events, events, "nothing written");
    assert!(screen(&app, 120, 40).contains("needed"));
    // Fill every field the autopilot's way, through the keyboard.
    let form_fields = walk(&app).form.as_ref().unwrap().1.fields.clone();
    walk_mut(&mut app).form.as_mut().unwrap().1.focus = 0;
    for field in &form_fields {
        match &field.kind {
            custody::runbook::FieldKind::Choice { .. } | custody::runbook::FieldKind::Yesno => {
                key(&mut app, KeyCode::Right);
            }
            custody::runbook::FieldKind::Datetime => type_text(&mut app, "now"),
            custody::runbook::FieldKind::Number => type_text(&mut app, "2"),
            _ => type_text(&mut app, "as seen in the listing"),
        }
        key(&mut app, KeyCode::Enter);
    }
    assert_eq!(
        last_kind(&app),
        "fields_recorded",
        "{:?}",
        walk(&app).status
    );
}

#[test]
fn quitting_asks_first_and_leaves_a_paused_resumable_session() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Real);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(matches!(walk(&app).dialog, Some(Dialog::Quit)));
    key(&mut app, KeyCode::Char('n'));
    assert!(app.done.is_none());
    key(&mut app, KeyCode::Char('q'));
    key(&mut app, KeyCode::Char('y'));
    assert!(app.done.as_deref().unwrap().contains("custody resume"));
    assert_eq!(last_kind(&app), "paused");
    // Resuming an hour later journals how long it was left and says so.
    let folder = walk(&app).session.folder().to_owned();
    let dir = app.dir.clone();
    drop(app);
    clock.advance(Duration::hours(1));
    let s = Session::open(&folder, false, &clock).unwrap();
    let recent = session::read_recent(&folder, 50);
    let app = App::resumed(s, recent, Theme::plain(), dir);
    assert_eq!(last_kind(&app), "resumed");
    assert!(screen(&app, 80, 24).contains("Resumed after a pause of 1h 00m"));
}

#[test]
fn hostile_text_never_reaches_the_screen_raw() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Real);
    key(&mut app, KeyCode::Char('n'));
    app.on_paste("\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[31mred\u{202e}txt.exe");
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "note_added");
    let text = screen(&app, 120, 40);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}') && !text.contains('\u{7}'));
    assert!(text.contains("red"), "{text}");
}

#[test]
fn deadlines_that_run_out_are_journaled_by_custody() {
    let clock = common::clock();
    let mut app = app_at(&clock, "decision", Mode::Real);
    clock.advance(Duration::days(30));
    app.on_tick();
    let passed: Vec<_> = walk(&app)
        .recent
        .iter()
        .filter(|e| e.body.kind() == "deadline_passed")
        .collect();
    assert!(!passed.is_empty());
    assert!(screen(&app, 120, 40).contains("OVERDUE"));
}

/// A session of a one-step runbook whose command prints a value the operator typed (hostile
/// on purpose) and says it changes the system.
fn command_app<'c>(clock: &'c ManualClock, run: &str, value: &str) -> TestApp<'c> {
    one_step_app(
        clock,
        &format!("kind = \"command\"\nrun = {run}\nchanges_system = true\ntimeout = \"5s\""),
        value,
    )
}

/// A session of a one-step runbook whose step is `step` (its kind and what goes with it), with
/// the variable `value` set to `value`.
fn one_step_app<'c>(clock: &'c ManualClock, step: &str, value: &str) -> TestApp<'c> {
    let text = common::one_step_runbook("tui-command", step);
    let mut start = common::start("csam-discovery", Mode::Real);
    start.runbook_text = text;
    start.variables = [("value".to_owned(), value.to_owned())].into();
    let dir = common::temp_dir("tui-command");
    let s = Session::create(&dir, &start, clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    App::walk(s, recent, Theme::plain(), dir)
}

/// Ticks until the running command has ended and been journaled (at most 20 s).
fn wait_for_command(app: &mut TestApp<'_>) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while walk(app).job.is_some() {
        assert!(
            std::time::Instant::now() < until,
            "the command did not end in time"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        app.on_tick();
    }
}

#[test]
fn a_command_that_changes_the_system_asks_twice_then_runs_and_is_journaled() {
    let clock = common::clock();
    let value = "$(touch /tmp/x); `id` \u{1b}[31mred";
    let mut app = command_app(&clock, r#"["printf", "%s\n", "{{value}}"]"#, value);
    key(&mut app, KeyCode::Enter);
    assert!(matches!(
        walk(&app).dialog,
        Some(Dialog::Run { second: false, .. })
    ));
    let first = screen(&app, 80, 24);
    assert!(first.contains("Run this command?"), "{first}");
    assert!(first.contains("CHANGES THE SYSTEM"), "{first}");
    // The value is shown as one quoted argument, its escape sequence made visible.
    assert!(
        first.contains("'$(touch /tmp/x); `id` \\u{1b}[31mred'"),
        "{first}"
    );
    assert!(!first.contains('\u{1b}'));
    snapshot("command_confirm_80x24", &first);
    key(&mut app, KeyCode::Char('y'));
    assert!(matches!(
        walk(&app).dialog,
        Some(Dialog::Run { second: true, .. })
    ));
    let second = screen(&app, 80, 24);
    assert!(second.contains("Really change the system?"), "{second}");
    // Nothing ran before the second confirmation.
    assert_eq!(last_kind(&app), "session_started");
    assert!(walk(&app).job.is_none());
    key(&mut app, KeyCode::Char('y'));
    assert!(walk(&app).job.is_some(), "the command should be running");
    wait_for_command(&mut app);
    assert_eq!(last_kind(&app), "command_run");
    let recent = &walk(&app).recent;
    // It was put on record before it ran.
    let Body::CommandStarted(started) = &recent[recent.len() - 2].body else {
        panic!("no command_started before the command_run")
    };
    assert_eq!(started.argv, ["printf", "%s\n", value]);
    assert!(started.changes_system);
    let Body::CommandRun(run) = &walk(&app).recent.back().unwrap().body else {
        unreachable!()
    };
    assert_eq!(run.argv, ["printf", "%s\n", value]);
    assert!(run.changes_system);
    assert_eq!(run.exit_code, Some(0));
    let stdout = run.stdout.as_ref().unwrap();
    let folder = walk(&app).session.folder().to_path_buf();
    assert_eq!(
        std::fs::read(folder.join(&stdout.file)).unwrap(),
        format!("{value}\n").as_bytes()
    );
    let after = screen(&app, 80, 24);
    assert!(after.contains("ran printf: exit 0"), "{after}");
    assert!(after.contains("stdout ("), "{after}");
    assert!(!after.contains('\u{1b}'));
    // Enter now goes on.
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        walk(&app).session.current_step().map(|s| s.id.as_str()),
        Some("end")
    );
}

#[test]
fn a_running_command_can_be_stopped_and_the_stop_is_journaled() {
    let clock = common::clock();
    let mut app = command_app(&clock, r#"["sleep", "{{value}}"]"#, "30");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert!(walk(&app).job.is_some(), "the command should be running");
    // The step cannot be left while it runs.
    key(&mut app, KeyCode::Char('s'));
    assert!(walk(&app).dialog.is_none());
    let running = screen(&app, 80, 24);
    assert!(running.contains("Running for"), "{running}");
    key(&mut app, KeyCode::Esc);
    assert!(matches!(walk(&app).dialog, Some(Dialog::StopJob)));
    key(&mut app, KeyCode::Char('y'));
    wait_for_command(&mut app);
    let Body::CommandRun(run) = &walk(&app).recent.back().unwrap().body else {
        panic!("the stop was not journaled: {}", last_kind(&app))
    };
    assert_eq!(run.error.as_deref(), Some("stopped by the operator"));
    assert!(!run.timed_out);
    assert!(run.duration_ms < 15_000);
}

#[test]
fn an_evidence_step_hashes_after_confirmation_and_journals_the_manifest() {
    let clock = common::clock();
    let tree = common::temp_dir("tui-evidence").join("share");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.bin"), b"first file").unwrap();
    std::fs::write(tree.join("sub").join("b.bin"), vec![7u8; 100_000]).unwrap();
    let mut app = one_step_app(
        &clock,
        "kind = \"evidence\"\npaths = [\"{{value}}\"]\nhashes = [\"sha256\", \"md5\"]",
        tree.to_str().unwrap(),
    );
    key(&mut app, KeyCode::Enter);
    assert!(matches!(walk(&app).dialog, Some(Dialog::Hash { .. })));
    let asked = screen(&app, 80, 24);
    assert!(asked.contains("Hash this evidence?"), "{asked}");
    assert!(asked.contains("sha256, md5"), "{asked}");
    // Nothing is hashed before the answer.
    key(&mut app, KeyCode::Char('n'));
    assert!(walk(&app).dialog.is_none() && walk(&app).job.is_none());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    assert!(walk(&app).job.is_some(), "the hashing should be running");
    wait_for_command(&mut app);
    assert_eq!(last_kind(&app), "evidence_recorded");
    let Body::EvidenceRecorded(e) = &walk(&app).recent.back().unwrap().body else {
        unreachable!()
    };
    assert_eq!(e.paths, [tree.to_str().unwrap()]);
    assert_eq!((e.files, e.bytes, e.dirs), (2, 100_010, 2));
    assert_eq!(e.algorithms, ["sha256", "md5"]);
    assert!(!e.cancelled && e.error_count() == 0);
    let folder = walk(&app).session.folder().to_path_buf();
    for file in [e.manifest.as_ref().unwrap(), e.sums.as_ref().unwrap()] {
        assert!(file.file.starts_with("evidence/"), "{}", file.file);
        let bytes = std::fs::read(folder.join(&file.file)).unwrap();
        assert_eq!(bytes.len() as u64, file.size);
        assert_eq!(custody::journal::Digest::of(&bytes), file.sha256);
    }
    let sums = std::fs::read_to_string(folder.join(&e.sums.as_ref().unwrap().file)).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    let after = screen(&app, 80, 24);
    assert!(after.contains("Hashed and journaled"), "{after}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        walk(&app).session.current_step().map(|s| s.id.as_str()),
        Some("end")
    );
}

#[test]
fn stopping_the_hashing_journals_it_as_stopped_with_what_was_done() {
    let clock = common::clock();
    let tree = common::temp_dir("tui-evidence-stop").join("many");
    for d in 0..10 {
        let dir = tree.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..500 {
            std::fs::write(dir.join(format!("f{f}")), [b'x'; 4096]).unwrap();
        }
    }
    let mut app = one_step_app(
        &clock,
        "kind = \"evidence\"\npaths = [\"{{value}}\"]",
        tree.to_str().unwrap(),
    );
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    assert!(walk(&app).job.is_some(), "the hashing should be running");
    // The step cannot be left while it runs; Esc asks, y stops.
    key(&mut app, KeyCode::Enter);
    assert!(walk(&app).dialog.is_none());
    key(&mut app, KeyCode::Esc);
    assert!(matches!(walk(&app).dialog, Some(Dialog::StopJob)));
    assert!(screen(&app, 80, 24).contains("Stop the hashing?"));
    key(&mut app, KeyCode::Char('y'));
    wait_for_command(&mut app);
    let Body::EvidenceRecorded(e) = &walk(&app).recent.back().unwrap().body else {
        panic!("the stop was not journaled: {}", last_kind(&app))
    };
    assert!(e.cancelled, "the run should say it was stopped");
    assert!(e.files < 5000, "{} files", e.files);
    // What was done is in the manifest, one line per entry given out.
    let folder = walk(&app).session.folder().to_path_buf();
    let manifest =
        std::fs::read_to_string(folder.join(&e.manifest.as_ref().unwrap().file)).unwrap();
    assert_eq!(
        manifest
            .lines()
            .filter(|l| l.contains("\"kind\":\"file\""))
            .count() as u64,
        e.files
    );
    let text = screen(&app, 80, 24);
    assert!(text.contains("STOPPED"), "{text}");
}
