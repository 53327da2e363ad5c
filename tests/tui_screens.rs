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
    // The screen says that it is sealing before the report is written.
    assert!(screen(&app, 80, 24).contains("Writing the report, then sealing"));
    assert_eq!(last_kind(&app), "step_completed");
    app.on_tick();
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
fn words_typed_into_a_choice_field_never_become_commands() {
    let clock = common::clock();
    let mut app = app_at(&clock, "record", Mode::Real);
    let events = walk(&app).session.state().events;
    let fields = walk(&app).form.as_ref().unwrap().1.fields.clone();
    let choice = fields
        .iter()
        .position(|f| {
            matches!(
                f.kind,
                custody::runbook::FieldKind::Choice { .. } | custody::runbook::FieldKind::Yesno
            )
        })
        .expect("the record step has a choice field");
    walk_mut(&mut app).form.as_mut().unwrap().1.focus = choice;
    // "yes" or a whole word: after the first letter, `s` (skip), `n` (note), `q` (quit) and
    // the others are letters no option begins with.
    type_text(&mut app, "yes sir, quite sure now");
    assert!(walk(&app).dialog.is_none(), "{:?}", walk(&app).dialog);
    assert!(walk(&app).typing, "still in the form");
    assert_eq!(walk(&app).session.state().events, events, "nothing written");
    assert!(
        format!("{:?}", walk(&app).status).contains("takes one of its options"),
        "{:?}",
        walk(&app).status
    );
}

/// Ctrl with a letter is never a one-letter command (found in tmux: Ctrl-S, pressed to save a
/// form, opened the skip dialog). In a form, Ctrl-S records it, from any field.
#[test]
fn ctrl_with_a_letter_is_never_a_command_and_ctrl_s_records_a_form() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Real);
    let events = walk(&app).session.state().events;
    for c in ['s', 'q', 'n', 'S', 'j', 'k'] {
        ctrl(&mut app, c);
        assert!(
            walk(&app).dialog.is_none(),
            "Ctrl-{c}: {:?}",
            walk(&app).dialog
        );
    }
    assert_eq!(walk(&app).session.state().events, events, "nothing written");
    assert_eq!(walk(&app).selected, 0, "Ctrl-J moved nothing");

    let mut app = app_at(&clock, "record", Mode::Real);
    let events = walk(&app).session.state().events;
    assert!(walk(&app).typing, "the form has the keys");
    // On the first field, with the required ones empty: the form is checked, not skipped.
    ctrl(&mut app, 's');
    assert!(walk(&app).dialog.is_none(), "{:?}", walk(&app).dialog);
    assert!(
        format!("{:?}", walk(&app).status).contains("need attention"),
        "{:?}",
        walk(&app).status
    );
    assert_eq!(walk(&app).session.state().events, events, "nothing written");
}

/// A contact step that names its recipient ("your manager") shows that recipient, not the
/// jurisdiction's police and hotline (found in tmux: telling management listed both); a step
/// with a role shows the contacts of that role.
#[test]
fn a_contact_step_shows_its_own_recipient_not_every_contact() {
    let clock = common::clock();
    let dir = common::temp_dir("tui");
    let mut start = common::start("csam-discovery", Mode::Real);
    start.jurisdiction = "NL".into();
    let mut s = Session::create(&dir, &start, &clock).unwrap();
    let mut shown = Vec::new();
    while let Some(step) = s.current_step().cloned() {
        if let custody::runbook::StepKind::Contact { role, to, .. } = &step.kind {
            let recent = session::read_recent(s.folder(), 50);
            let app = App::walk(s, recent, Theme::plain(), dir.clone());
            let text = screen(&app, 120, 40);
            let lists = text.contains("Contact (Netherlands):")
                || text.contains("Report to (Netherlands):");
            match (role, to) {
                (None, Some(_)) => assert!(!lists, "{}:\n{text}", step.id),
                (Some(_), _) => assert!(lists, "{}:\n{text}", step.id),
                (None, None) => {}
            }
            shown.push(step.id.clone());
            let Screen::Walk(w) = app.screen else {
                panic!("not on the walk screen")
            };
            s = w.session;
        }
        let Some(action) = common::next_action(&s, 1) else {
            break;
        };
        clock.advance(Duration::seconds(61));
        s.apply(action).unwrap();
    }
    assert!(
        shown.iter().any(|id| id == "inform-management"),
        "the walk met the management step: {shown:?}"
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

/// A hashing that read no file (found in tmux: a path that did not exist, and a quick second
/// Enter went on past it) asks for Enter once more before going on, and `r` hashes again.
#[test]
fn an_evidence_step_that_hashed_nothing_asks_before_going_on_and_can_hash_again() {
    let clock = common::clock();
    let missing = common::temp_dir("tui-evidence-none").join("no-such-folder");
    let mut app = one_step_app(
        &clock,
        "kind = \"evidence\"\npaths = [\"{{value}}\"]",
        missing.to_str().unwrap(),
    );
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    wait_for_command(&mut app);
    assert_eq!(last_kind(&app), "evidence_recorded");
    let events = walk(&app).session.state().events;
    // The first Enter warns and writes nothing.
    key(&mut app, KeyCode::Enter);
    assert_eq!(walk(&app).session.state().events, events);
    assert_eq!(
        walk(&app).status,
        Some(custody::tui::app::Status::Warning(
            custody::tui::app::NOTHING_HASHED.into()
        ))
    );
    assert!(screen(&app, 80, 24).contains("r hash again"));
    // r asks to hash again; the path now exists, and the second hashing reads it.
    std::fs::create_dir_all(&missing).unwrap();
    std::fs::write(missing.join("a.bin"), b"now here").unwrap();
    key(&mut app, KeyCode::Char('r'));
    assert!(matches!(walk(&app).dialog, Some(Dialog::Hash { .. })));
    key(&mut app, KeyCode::Char('y'));
    wait_for_command(&mut app);
    let Body::EvidenceRecorded(e) = &walk(&app).recent.back().unwrap().body else {
        panic!("evidence_recorded")
    };
    assert_eq!(e.files, 1);
    // With a file hashed, one Enter goes on.
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "step_completed");

    // Going on without hashes is still possible, with the second Enter.
    let missing = common::temp_dir("tui-evidence-none-2").join("still-missing");
    let mut app = one_step_app(
        &clock,
        "kind = \"evidence\"\npaths = [\"{{value}}\"]",
        missing.to_str().unwrap(),
    );
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    wait_for_command(&mut app);
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "evidence_recorded");
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "step_completed");
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

// ---------------------------------------------------------------------------------------------
// Exercises: the briefing, injects and the exercise clock.
// ---------------------------------------------------------------------------------------------

use custody::journal::Role;
use custody::journal::event::Participant;

/// An exercise of the flagship runbook following its bundled scenario, with two participants
/// besides the operator; the briefing is on the screen.
fn exercise_app(clock: &ManualClock) -> TestApp<'_> {
    let dir = common::temp_dir("tui-exercise");
    let mut start = common::start("csam-discovery", Mode::Exercise);
    start.scenario_text = Some(custody::runbook::bundled::SCENARIOS[0].text.to_owned());
    start.participants = vec![
        Participant {
            name: "Sam Visser".into(),
            role: "backup engineer".into(),
        },
        Participant {
            name: "D. Smit".into(),
            role: "duty manager".into(),
        },
    ];
    let s = Session::create(&dir, &start, clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    App::walk(s, recent, Theme::plain(), dir)
}

/// Does what each step asks (through the session, journal first, a minute each) until `step`
/// is current.
fn exercise_to(app: &mut TestApp<'_>, clock: &ManualClock, step: &str) {
    while walk(app).session.state().current.as_deref() != Some(step) {
        let action = common::next_action(&walk(app).session, 0).expect("the step is reached");
        clock.advance(Duration::seconds(61));
        assert!(walk_mut(app).apply(action), "{:?}", walk(app).status);
    }
}

fn released<'a>(app: &'a TestApp<'_>, inject: &str) -> Option<&'a custody::journal::Event> {
    walk(app).recent.iter().find(|e| match &e.body {
        Body::InjectReleased(r) => r.inject == inject,
        _ => false,
    })
}

fn inject_dialog<'a>(app: &'a TestApp<'_>) -> &'a custody::tui::exercise::InjectDialog {
    match &walk(app).dialog {
        Some(Dialog::Inject(d)) => d,
        other => panic!("no inject dialog: {other:?}"),
    }
}

fn ctrl(app: &mut TestApp<'_>, c: char) {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

#[test]
fn an_exercise_opens_on_its_briefing_and_enter_goes_to_the_first_step() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    assert!(matches!(walk(&app).dialog, Some(Dialog::Briefing { .. })));
    let text = screen(&app, 80, 24);
    snapshot("exercise_briefing_80x24", &text);
    assert!(text.contains("Briefing"), "{text}");
    assert!(text.contains("It is 02:55"), "{text}");
    // Nothing is released while the team reads.
    clock.advance(Duration::hours(2));
    app.on_tick();
    assert_eq!(last_kind(&app), "session_started");
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    assert!(screen(&app, 80, 24).contains("Ruth Bakker"));
    key(&mut app, KeyCode::Enter);
    assert!(walk(&app).dialog.is_none());
    // b reads it again.
    key(&mut app, KeyCode::Char('b'));
    assert!(matches!(walk(&app).dialog, Some(Dialog::Briefing { .. })));
    key(&mut app, KeyCode::Esc);
    assert!(walk(&app).dialog.is_none());
}

#[test]
fn an_inject_at_a_step_fires_when_the_step_starts_and_is_answered_through_the_dialog() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    // One step before: not yet.
    exercise_to(&mut app, &clock, "keep-it-quiet");
    app.on_tick();
    assert!(released(&app, "finder-opened-files").is_none());
    assert!(walk(&app).dialog.is_none());
    exercise_to(&mut app, &clock, "record-discovery");
    assert!(
        released(&app, "finder-opened-files").is_none(),
        "not before a tick"
    );
    app.on_tick();
    let event = released(&app, "finder-opened-files").expect("released when its step started");
    assert_eq!(event.actor.role, Role::Custody);
    assert_eq!(event.step.as_deref(), Some("record-discovery"));
    // On disk before it shows.
    let on_disk = session::read_recent(walk(&app).session.folder(), 1);
    assert_eq!(on_disk[0].seq, event.seq);
    assert_eq!(inject_dialog(&app).inject, "finder-opened-files");
    // The answer, over two lines, given by the second participant chosen with Tab.
    type_text(&mut app, "Facts in the record: Sam opened two files.");
    ctrl(&mut app, 'j');
    type_text(&mut app, "Sam: open nothing more.");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::BackTab);
    let text = screen(&app, 80, 24);
    snapshot("exercise_inject_80x24", &text);
    assert!(text.contains("INJECT"), "{text}");
    assert!(
        text.contains("Sam says they opened two of the files"),
        "{text}"
    );
    assert!(
        text.contains("Answered by: Sam Visser (backup engineer)"),
        "{text}"
    );
    // What a good answer covers is for the review, never on the screen.
    assert!(
        !text.contains("judgement") && !text.contains("CPS/NPCC"),
        "{text}"
    );
    key(&mut app, KeyCode::Enter);
    assert!(walk(&app).dialog.is_none(), "{:?}", walk(&app).dialog);
    let Body::InjectAnswered(a) = &walk(&app).recent.back().unwrap().body else {
        panic!("{}", last_kind(&app))
    };
    assert_eq!(a.inject, "finder-opened-files");
    assert_eq!(
        a.answer,
        "Facts in the record: Sam opened two files.\nSam: open nothing more."
    );
    assert_eq!(a.by.as_deref(), Some("Sam Visser"));
    assert_eq!(
        session::read_recent(walk(&app).session.folder(), 1)[0]
            .body
            .kind(),
        "inject_answered"
    );
    // Answered: it does not come back.
    app.on_tick();
    assert!(walk(&app).dialog.is_none());
}

#[test]
fn esc_leaves_an_inject_for_later_and_a_brings_it_back() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    exercise_to(&mut app, &clock, "record-discovery");
    app.on_tick();
    // An empty answer is not recorded.
    key(&mut app, KeyCode::Enter);
    assert!(inject_dialog(&app).message.is_some());
    assert_eq!(last_kind(&app), "inject_released");
    key(&mut app, KeyCode::Esc);
    assert!(walk(&app).dialog.is_none());
    app.on_tick();
    assert!(
        walk(&app).dialog.is_none(),
        "put off: it does not jump up again"
    );
    // The step's form has the keys: the reminder says to leave it first.
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("1 inject to answer: Esc, then press a"),
        "{text}"
    );
    key(&mut app, KeyCode::Esc);
    let text = screen(&app, 80, 24);
    assert!(text.contains("1 inject to answer: press a"), "{text}");
    assert!(text.contains("a answer inject"), "{text}");
    // The status line keeps saying so after other work.
    key(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "a note meanwhile");
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "note_added");
    assert!(screen(&app, 80, 24).contains("1 inject to answer: press a"));
    key(&mut app, KeyCode::Char('a'));
    assert_eq!(inject_dialog(&app).inject, "finder-opened-files");
    type_text(&mut app, "Recorded as facts.");
    ctrl(&mut app, 's');
    let Body::InjectAnswered(a) = &walk(&app).recent.back().unwrap().body else {
        panic!("{}", last_kind(&app))
    };
    assert_eq!(
        a.by.as_deref(),
        Some("A. Jansen"),
        "the operator by default"
    );
    assert!(!screen(&app, 80, 24).contains("to answer: press a"));
    key(&mut app, KeyCode::Char('a'));
    assert!(walk(&app).dialog.is_none());
}

#[test]
fn an_inject_after_a_delay_fires_on_the_exercise_clock_which_the_facilitator_controls() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    // `disk-full-cleanup` comes 40 minutes into the exercise.
    clock.advance(Duration::minutes(39));
    app.on_tick();
    assert!(released(&app, "disk-full-cleanup").is_none());
    // The facilitator pauses the clock: real time goes on, nothing fires.
    key(&mut app, KeyCode::Char('t'));
    assert!(matches!(walk(&app).dialog, Some(Dialog::Clock(_))));
    key(&mut app, KeyCode::Char('p'));
    let Body::ClockChanged(c) = &walk(&app).recent.back().unwrap().body else {
        panic!("{}", last_kind(&app))
    };
    assert!(c.paused);
    assert_eq!(
        walk(&app).recent.back().unwrap().actor.role,
        Role::Facilitator
    );
    snapshot("exercise_clock_dialog_80x24", &screen(&app, 80, 24));
    key(&mut app, KeyCode::Esc);
    clock.advance(Duration::hours(3));
    app.on_tick();
    assert!(released(&app, "disk-full-cleanup").is_none(), "paused");
    let paused = screen(&app, 80, 24);
    assert!(paused.contains("PAUSED"), "{paused}");
    assert!(paused.contains("T+39m 00s"), "{paused}");
    // Moved on by 15 minutes (the clock stays paused): its time has come.
    key(&mut app, KeyCode::Char('t'));
    let rows = custody::tui::exercise::clock_rows();
    let at = rows
        .iter()
        .position(|r| *r == custody::tui::exercise::ClockRow::MoveOn(15 * 60))
        .unwrap();
    for _ in 0..at {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    let Body::ClockChanged(c) = &walk(&app).recent.back().unwrap().body else {
        panic!("{}", last_kind(&app))
    };
    assert_eq!(c.advanced_secs, Some(900));
    // Nothing fires while the dialog is open; closing it lets the inject in.
    app.on_tick();
    assert!(released(&app, "disk-full-cleanup").is_none());
    key(&mut app, KeyCode::Esc);
    app.on_tick();
    let event = released(&app, "disk-full-cleanup").expect("released once the clock passed 40m");
    assert_eq!(event.actor.role, Role::Custody);
    assert_eq!(inject_dialog(&app).inject, "disk-full-cleanup");
}

#[test]
fn the_facilitator_moves_the_clock_on_by_a_typed_duration_and_sets_the_speed() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    clock.advance(Duration::seconds(1));
    let rows = custody::tui::exercise::clock_rows();
    key(&mut app, KeyCode::Char('t'));
    for _ in 0..rows.len() {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "2h3Om");
    key(&mut app, KeyCode::Enter);
    let Some(Dialog::Clock(d)) = &walk(&app).dialog else {
        panic!("the clock dialog closed")
    };
    assert!(matches!(
        d.message,
        Some(custody::tui::app::Status::Warning(_))
    ));
    assert_eq!(
        last_kind(&app),
        "session_started",
        "a bad duration is not journaled"
    );
    for _ in 0..3 {
        key(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "30m");
    key(&mut app, KeyCode::Enter);
    let Body::ClockChanged(c) = &walk(&app).recent.back().unwrap().body else {
        panic!("{}", last_kind(&app))
    };
    assert_eq!(c.advanced_secs, Some(2 * 3600 + 30 * 60));
    // The speeds: 30x.
    let at = rows
        .iter()
        .position(|r| *r == custody::tui::exercise::ClockRow::Speed(30))
        .unwrap();
    for _ in 0..rows.len() {
        key(&mut app, KeyCode::Up);
    }
    for _ in 0..at {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(walk(&app).session.state().clock.speed(), 30);
    // The same speed again is refused, and says so in the dialog.
    key(&mut app, KeyCode::Enter);
    let Some(Dialog::Clock(d)) = &walk(&app).dialog else {
        panic!("the clock dialog closed")
    };
    assert!(matches!(&d.message, Some(custody::tui::app::Status::Warning(w)) if w.contains("30x")));
    key(&mut app, KeyCode::Esc);
    // A minute of real time is half an hour at 30x; deadlines count down in exercise time.
    clock.advance(Duration::minutes(1));
    let text = screen(&app, 80, 24);
    assert!(text.contains("T+3h 00m"), "{text}");
    assert!(text.contains("30x"), "{text}");
    assert!(text.contains("20h 59m left"), "{text}");
}

#[test]
fn the_banner_shows_the_exercise_clock_running_fast_and_paused() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    clock.advance(Duration::seconds(75));
    let running = screen(&app, 80, 24);
    snapshot("exercise_clock_running_80x24", &running);
    assert!(
        running
            .lines()
            .next()
            .unwrap()
            .contains("EXERCISE - NOT A REAL INCIDENT  clock Mon 23 Nov 10:16:17  T+1m 15s"),
        "{running}"
    );
    assert!(walk_mut(&mut app).apply(Action::Clock {
        change: custody::journal::event::ClockChange::Speed,
        amount: 24,
    }));
    clock.advance(Duration::minutes(10));
    let fast = screen(&app, 80, 24);
    snapshot("exercise_clock_24x_80x24", &fast);
    assert!(fast.contains("T+4h 01m  24x"), "{fast}");
    assert!(walk_mut(&mut app).apply(Action::Clock {
        change: custody::journal::event::ClockChange::Pause,
        amount: 0,
    }));
    clock.advance(Duration::minutes(10));
    let paused = screen(&app, 80, 24);
    snapshot("exercise_clock_paused_80x24", &paused);
    assert!(paused.contains("T+4h 01m  24x PAUSED"), "{paused}");
    // Every size draws, down to one cell.
    for (w, h) in [
        (1, 1),
        (20, 5),
        (59, 17),
        (60, 18),
        (61, 18),
        (70, 20),
        (200, 60),
    ] {
        let _ = screen(&app, w, h);
    }
    assert!(
        screen(&app, 60, 18)
            .lines()
            .next()
            .unwrap()
            .contains("PAUSED")
    );
}

#[test]
fn the_facilitator_releases_an_inject_by_hand_from_the_list() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    exercise_to(&mut app, &clock, "record-discovery");
    app.on_tick();
    type_text(&mut app, "Facts only.");
    key(&mut app, KeyCode::Enter);
    // Out of the step's form, so that the one-letter keys work.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('i'));
    assert!(matches!(walk(&app).dialog, Some(Dialog::Injects(_))));
    let list = screen(&app, 80, 24);
    snapshot("exercise_injects_80x24", &list);
    assert!(
        list.contains("at step record-discovery: answered"),
        "{list}"
    );
    assert!(list.contains("capture-order + 10m: waiting"), "{list}");
    assert!(list.contains("after 40m: waiting"), "{list}");
    // What a good answer covers is never shown.
    assert!(!list.contains("judgement"), "{list}");
    let hr = walk(&app)
        .session
        .runbook()
        .injects
        .iter()
        .position(|i| i.id == "hr-tip")
        .unwrap();
    for _ in 0..hr {
        key(&mut app, KeyCode::Down);
    }
    let list = screen(&app, 80, 24);
    assert!(list.contains("HR calls: a tip names an employee"), "{list}");
    assert!(list.contains("by hand: waiting"), "{list}");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app, 80, 24).contains("Release \"HR calls"));
    // No: nothing happens.
    key(&mut app, KeyCode::Char('n'));
    assert!(released(&app, "hr-tip").is_none());
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    let event = released(&app, "hr-tip").expect("released by hand");
    assert_eq!(event.actor.role, Role::Facilitator);
    assert_eq!(event.actor.name.as_deref(), Some("C. Bakker"));
    assert_eq!(inject_dialog(&app).inject, "hr-tip");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('i'));
    for _ in 0..hr {
        key(&mut app, KeyCode::Down);
    }
    let list = screen(&app, 80, 24);
    assert!(
        list.contains("by hand: released 10:25, not answered yet"),
        "{list}"
    );
}

#[test]
fn injects_released_together_come_one_after_another() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    // An hour on, `disk-full-cleanup` (40m) is due; the facilitator releases another meanwhile.
    clock.advance(Duration::hours(1));
    app.on_tick();
    assert_eq!(inject_dialog(&app).inject, "disk-full-cleanup");
    assert!(walk_mut(&mut app).apply(Action::ReleaseInject {
        inject: "hr-tip".into()
    }));
    let text = screen(&app, 80, 24);
    assert!(text.contains("1 more waiting"), "{text}");
    // Keys go to the answer, not to the walk.
    type_text(&mut app, "nothing is deleted");
    assert_eq!(inject_dialog(&app).input.text(), "nothing is deleted");
    key(&mut app, KeyCode::Enter);
    assert_eq!(last_kind(&app), "inject_answered");
    assert!(walk(&app).dialog.is_none());
    app.on_tick();
    assert_eq!(inject_dialog(&app).inject, "hr-tip");
}

#[test]
fn exercise_keys_in_a_real_session_only_say_so() {
    let clock = common::clock();
    let mut app = app_at(&clock, "checklist", Mode::Real);
    for c in ['i', 't', 'a', 'b'] {
        key(&mut app, KeyCode::Char(c));
        assert!(walk(&app).dialog.is_none());
        assert!(
            matches!(&walk(&app).status, Some(custody::tui::app::Status::Info(t)) if t.contains("only in exercises"))
        );
    }
    assert_eq!(last_kind(&app), "session_started");
    assert!(!screen(&app, 80, 24).contains("i injects"));
}

#[test]
fn the_help_of_an_exercise_lists_the_facilitator_keys() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('?'));
    let text = screen(&app, 80, 24);
    snapshot("exercise_help_80x24", &text);
    for row in [
        "exercise clock",
        "release one",
        "answer an inject",
        "briefing again",
    ] {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(text.contains("shows as such"), "the help fits: {text}");
}

#[test]
fn the_exercise_start_form_asks_for_the_facilitator_and_the_participants() {
    let clock = common::clock();
    let (b, runbook) = custody::runbook::bundled::find("csam-discovery").unwrap();
    let scenario_text = custody::runbook::bundled::SCENARIOS[0].text.to_owned();
    let scenario = custody::runbook::Scenario::parse(&scenario_text, Ok(&runbook))
        .scenario
        .unwrap();
    let offer = custody::tui::Offer {
        runbook,
        text: b.text.to_owned(),
        origin: "bundled".into(),
    };
    let given = custody::tui::Given {
        operator: Some("A. Jansen".into()),
        ..Default::default()
    };
    let setup = custody::tui::exercise::ExerciseSetup {
        scenario_text: Some(scenario_text),
        scenario: Some(scenario),
        facilitator: Some("C. Bakker".into()),
        participants: Vec::new(),
        notice: Some(
            "Scenario: csam-discovery-night-shift (bundled; --no-scenario for none)".into(),
        ),
    };
    let dir = common::temp_dir("tui-exercise-form");
    let mut app: TestApp<'_> = App::exercise(offer, given, setup, dir, &clock, Theme::plain());
    let form = screen(&app, 80, 24);
    snapshot("exercise_start_form_80x24", &form);
    assert!(form.contains("Facilitator"), "{form}");
    assert!(!form.contains("Real incident or exercise"), "{form}");
    key(&mut app, KeyCode::Enter); // facilitator
    key(&mut app, KeyCode::Enter); // operator
    type_text(&mut app, "Sam Visser = backup engineer");
    ctrl(&mut app, 'j');
    type_text(&mut app, "Ruth");
    key(&mut app, KeyCode::Enter); // participants
    key(&mut app, KeyCode::Enter); // case
    // The scenario's jurisdiction is chosen already: Enter on the last field starts.
    key(&mut app, KeyCode::Enter);
    let Screen::Start(s) = &app.screen else {
        panic!("started with a participant without a role")
    };
    let field = &s.form.fields[s.form.focus];
    assert_eq!(field.id, "participants");
    assert!(
        field.error.as_deref().unwrap().contains("line 2"),
        "{field:?}"
    );
    type_text(&mut app, " Bakker = duty manager");
    for _ in 0..3 {
        key(&mut app, KeyCode::Enter);
    }
    let state = walk(&app).session.state();
    assert_eq!(state.started.mode, Mode::Exercise);
    assert_eq!(state.started.jurisdiction, "NL");
    assert_eq!(state.started.facilitator.as_deref(), Some("C. Bakker"));
    let names: Vec<_> = state
        .started
        .participants
        .iter()
        .map(|p| (p.name.as_str(), p.role.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("Sam Visser", "backup engineer"),
            ("Ruth Bakker", "duty manager")
        ]
    );
    assert!(state.started.scenario.is_some());
    assert!(matches!(walk(&app).dialog, Some(Dialog::Briefing { .. })));
    assert!(
        matches!(&walk(&app).status, Some(custody::tui::app::Status::Info(t)) if t.contains("night-shift"))
    );
}

#[test]
fn sealing_an_exercise_points_to_the_review() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    while let Some(action) = common::next_action(&walk(&app).session, 0) {
        clock.advance(Duration::seconds(61));
        assert!(walk_mut(&mut app).apply(action), "{:?}", walk(&app).status);
    }
    assert!(walk(&app).session.state().finished);
    key(&mut app, KeyCode::Char('S'));
    let ask = screen(&app, 80, 24);
    assert!(ask.contains("review/"), "{ask}");
    key(&mut app, KeyCode::Char('y'));
    app.on_tick();
    assert_eq!(last_kind(&app), "sealed");
    let Some(custody::tui::app::Status::Info(said)) = &walk(&app).status else {
        panic!("{:?}", walk(&app).status)
    };
    assert!(said.contains("review"), "{said}");
    // The story's clock stops with the record, and the facilitator's keys only say so.
    let banner = screen(&app, 80, 24).lines().next().unwrap().to_owned();
    clock.advance(Duration::hours(1));
    assert_eq!(screen(&app, 80, 24).lines().next().unwrap(), banner);
    assert!(!screen(&app, 80, 24).contains("t clock"));
    key(&mut app, KeyCode::Char('t'));
    assert!(walk(&app).dialog.is_none());
    assert!(screen(&app, 80, 24).contains("The exercise is sealed"));
}

#[test]
fn every_exercise_dialog_draws_at_every_size() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    let sizes = [
        (1, 1),
        (30, 10),
        (60, 18),
        (61, 19),
        (72, 20),
        (80, 24),
        (200, 60),
    ];
    let draw_all = |app: &TestApp<'_>, what: &str| {
        for (w, h) in sizes {
            let text = screen(app, w, h);
            if w >= 60 && h >= 18 {
                assert!(text.contains("EXERCISE"), "{what} at {w}x{h}:\n{text}");
            }
        }
    };
    draw_all(&app, "briefing");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('t'));
    draw_all(&app, "clock");
    for _ in 0..20 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, &"9".repeat(200));
    draw_all(&app, "clock, typing");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('i'));
    for _ in 0..20 {
        key(&mut app, KeyCode::Down);
    }
    draw_all(&app, "injects");
    key(&mut app, KeyCode::Enter);
    draw_all(&app, "injects, confirm");
    key(&mut app, KeyCode::Char('y'));
    assert!(matches!(walk(&app).dialog, Some(Dialog::Inject(_))));
    for line in 0..30 {
        type_text(
            &mut app,
            &format!("line {line} of a long answer with many words"),
        );
        ctrl(&mut app, 'j');
    }
    draw_all(&app, "inject");
    // The cursor stays in the answer however long it grows.
    let mut terminal = draw(&app, 80, 24);
    let position = terminal.get_cursor_position().unwrap();
    assert!(position.y < 23, "{position:?}");
}

#[test]
fn injects_left_unanswered_wait_for_a_after_a_resume() {
    let clock = common::clock();
    let mut app = exercise_app(&clock);
    key(&mut app, KeyCode::Enter);
    clock.advance(Duration::hours(1));
    app.on_tick();
    assert_eq!(inject_dialog(&app).inject, "disk-full-cleanup");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('q'));
    key(&mut app, KeyCode::Char('y'));
    let folder = walk(&app).session.folder().to_owned();
    let dir = app.dir.clone();
    drop(app);
    clock.advance(Duration::minutes(5));
    let s = Session::open(&folder, false, &clock).unwrap();
    let recent = session::read_recent(&folder, 50);
    let mut app = App::resumed(s, recent, Theme::plain(), dir);
    app.on_tick();
    assert!(walk(&app).dialog.is_none(), "no briefing, no jump");
    let text = screen(&app, 80, 24);
    assert!(text.contains("1 inject to answer: press a"), "{text}");
    key(&mut app, KeyCode::Char('a'));
    assert_eq!(inject_dialog(&app).inject, "disk-full-cleanup");
}
