//! Hostile text from outside: file names, command output, notes and fields carrying terminal
//! escape sequences (colours, screen clearing, the clipboard-writing OSC 52), bidi overrides,
//! NUL and BEL, invalid UTF-8 and lines of a megabyte. On screen they are sanitised (no control
//! character or bidi override reaches the terminal), in the journal and the evidence files they
//! are kept exactly, and in every report format they are escaped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use custody::journal::event::{Body, Mode};
use custody::report::{self, Format};
use custody::session::{self, Action, ManualClock, Session};
use custody::tui::{App, Theme, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

type TestApp<'c> = App<&'c ManualClock>;

/// Escape sequences and characters that must never reach a terminal or a report raw.
const NASTY: &str = "\u{1b}[2J\u{1b}[31mred\u{1b}]52;c;aGVsbG8=\u{7}\u{1b}]0;title\u{1b}\\\
     \u{202e}gnp.exe\u{200b}\u{0}\u{7}\u{9b}31m";

/// The characters that must not be found in anything shown or rendered.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || matches!(*c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}')
        })
        .collect()
}

fn one_step_app<'c>(clock: &'c ManualClock, step: &str, value: &str) -> TestApp<'c> {
    let text = common::one_step_runbook("hostile", step);
    let mut start = common::start("csam-discovery", Mode::Real);
    start.runbook_text = text;
    start.variables = [("value".to_owned(), value.to_owned())].into();
    let dir = common::temp_dir("hostile");
    let s = Session::create(&dir, &start, clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    App::walk(s, recent, Theme::plain(), dir)
}

fn key(app: &mut TestApp<'_>, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn walk<'a, 'c>(app: &'a TestApp<'c>) -> &'a custody::tui::app::Walk<&'c ManualClock> {
    match &app.screen {
        custody::tui::app::Screen::Walk(w) => w,
        _ => panic!("not on the walk screen"),
    }
}

fn screens(app: &TestApp<'_>) -> String {
    let mut all = String::new();
    for (w, h) in [(80, 24), (120, 40), (40, 12)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|frame| view::render(app, frame)).unwrap();
        all.push_str(&terminal.backend().to_string());
    }
    all
}

fn wait_for_job(app: &mut TestApp<'_>) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while walk(app).job.is_some() {
        assert!(std::time::Instant::now() < until, "the job did not end");
        std::thread::sleep(std::time::Duration::from_millis(20));
        app.on_tick();
    }
}

/// Every report format of the session: none holds a raw control character or bidi override,
/// and the JSON parses.
fn reports_are_escaped(folder: &Path) -> Vec<(Format, String)> {
    let input = report::load(folder).unwrap();
    let r = input.report().unwrap();
    let mut out = Vec::new();
    for format in [Format::Markdown, Format::Html, Format::Json] {
        let bytes = report::render(&r, format).unwrap();
        let text = String::from_utf8(bytes).expect("reports are UTF-8");
        let raw = raw_controls(&text);
        assert!(raw.is_empty(), "{format}: {raw:?}");
        if format == Format::Json {
            serde_json::from_str::<serde_json::Value>(&text).expect("the JSON parses");
        }
        out.push((format, text));
    }
    out
}

#[test]
fn command_output_with_escapes_and_a_megabyte_line_is_shown_sanitised_and_kept_exact() {
    let clock = common::clock();
    let dir = common::temp_dir("hostile-output");
    let mut output = NASTY.as_bytes().to_vec();
    output.extend_from_slice(b"\n\xff\xfe invalid UTF-8 \xc3\n");
    output.extend(std::iter::repeat_n(b'A', 1 << 20));
    output.extend_from_slice(NASTY.as_bytes());
    output.push(b'\n');
    let source = dir.join("output.bin");
    std::fs::write(&source, &output).unwrap();
    let mut app = one_step_app(
        &clock,
        &format!(
            "kind = \"command\"\nrun = [\"cat\", \"{}\"]\ntimeout = \"30s\"",
            source.display()
        ),
        "unused",
    );
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    wait_for_job(&mut app);
    let Body::CommandRun(run) = &walk(&app).recent.back().unwrap().body else {
        panic!("{:?}", walk(&app).recent.back())
    };
    assert_eq!(run.exit_code, Some(0), "{run:?}");
    let stdout = run.stdout.as_ref().unwrap();
    let folder = walk(&app).session.folder().to_path_buf();
    let kept = std::fs::read(folder.join(&stdout.file)).unwrap();
    assert!(kept == output, "the output file holds the bytes exactly");
    assert_eq!(stdout.sha256, custody::journal::Digest::of(&output));
    let shown = screens(&app);
    let raw = raw_controls(&shown);
    assert!(raw.is_empty(), "raw on screen: {raw:?}");
    assert!(
        shown.contains("red"),
        "the text around the escapes is shown"
    );
    reports_are_escaped(&folder);
    assert!(journal_verifies(&folder));
}

#[test]
fn file_names_with_escapes_are_hashed_exactly_and_shown_sanitised() {
    let clock = common::clock();
    let tree = common::temp_dir("hostile-names").join("share\u{1b}[31m\u{202e}");
    std::fs::create_dir_all(&tree).unwrap();
    let names: Vec<Vec<u8>> = vec![
        b"\x1b]52;c;aGVsbG8=\x07clip".to_vec(),
        "a\u{202e}gnp.exe".as_bytes().to_vec(),
        b"line\nbreak".to_vec(),
        b"\x1b[2J\x1b[31mred".to_vec(),
        b"bell\x07\x9b31m and \xff invalid".to_vec(),
    ];
    for (i, name) in names.iter().enumerate() {
        let path = tree.join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(path, format!("file {i}")).unwrap();
    }
    let mut app = one_step_app(
        &clock,
        "kind = \"evidence\"\npaths = [\"{{value}}\"]",
        tree.to_str().unwrap(),
    );
    key(&mut app, KeyCode::Enter);
    let asked = screens(&app);
    assert!(
        raw_controls(&asked).is_empty(),
        "the path asked about: {asked}"
    );
    assert!(
        asked.contains("share"),
        "the path is shown, made safe: {asked}"
    );
    key(&mut app, KeyCode::Char('y'));
    wait_for_job(&mut app);
    let Body::EvidenceRecorded(e) = &walk(&app).recent.back().unwrap().body else {
        panic!("{:?}", walk(&app).recent.back())
    };
    assert_eq!((e.files, e.error_count()), (5, 0), "{e:?}");
    let folder = walk(&app).session.folder().to_path_buf();
    // The manifest names every file exactly (JSON lines, with the raw bytes when not UTF-8).
    let manifest = std::fs::read(folder.join(&e.manifest.as_ref().unwrap().file)).unwrap();
    assert!(!manifest.contains(&0x1b), "the manifest escapes its names");
    let shown = screens(&app);
    assert!(raw_controls(&shown).is_empty(), "{shown}");
    reports_are_escaped(&folder);
    assert!(journal_verifies(&folder));
}

#[test]
fn notes_reasons_and_fields_of_a_megabyte_are_journaled_whole_and_rendered_escaped() {
    let clock = common::clock();
    let dir = common::temp_dir("hostile-notes");
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    let long: String = format!("{NASTY}{}{NASTY}", "B".repeat(1 << 20));
    s.apply(Action::Note { text: long.clone() }).unwrap();
    s.apply(Action::Note {
        text: common::scenarios::HOSTILE.to_owned(),
    })
    .unwrap();
    // Walk on, with hostile text in every reason and field the autopilot fills.
    for _ in 0..6 {
        let Some(mut action) = common::next_action(&s, 0) else {
            break;
        };
        match &mut action {
            Action::Decide { reason, .. } | Action::Skip { reason } => reason.push_str(NASTY),
            Action::Record { values } => {
                for v in values.values_mut() {
                    if !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == ' ') {
                        v.push_str("\u{202e}\u{1b}[31m");
                    }
                }
            }
            _ => {}
        }
        if s.apply(action.clone()).is_err() {
            s.apply(common::next_action(&s, 0).unwrap()).unwrap();
        }
    }
    let folder = s.folder().to_path_buf();
    drop(s);
    // The journal keeps the note exactly (JSON-escaped on its line).
    let journal = std::fs::read_to_string(folder.join("journal.jsonl")).unwrap();
    assert!(
        !journal.contains('\u{1b}'),
        "control characters are escaped in the journal"
    );
    let note = journal
        .lines()
        .map(|l| custody::journal::Event::from_line(l.as_bytes()).unwrap())
        .find_map(|e| match e.body {
            Body::NoteAdded(n) if n.text.len() > 1 << 20 => Some(n.text),
            _ => None,
        })
        .expect("the long note");
    assert!(note == long, "the note is journaled whole");
    let rendered = reports_are_escaped(&folder);
    let md = &rendered[0].1;
    assert!(
        md.contains(&"B".repeat(1000)),
        "the long note is in the report"
    );
    // The screen, resumed on this journal, shows the recent events sanitised.
    let s = Session::open(&folder, false, &clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    let app = App::walk(s, recent, Theme::plain(), dir);
    let shown = screens(&app);
    assert!(raw_controls(&shown).is_empty(), "{shown}");
    assert!(
        shown.contains("note: "),
        "the notes are in the journal pane: {shown}"
    );
    assert!(journal_verifies(&folder));
}

fn journal_verifies(folder: &Path) -> bool {
    custody::journal::verify(folder, None, None).is_ok_and(|v| v.problem.is_none())
}

/// A record step whose field sets `value`, then a command step that passes it to a program,
/// written as a shell-like string the way a security team would.
const RECORDED_VALUE_RUNBOOK: &str = r#"
[runbook]
format = 1
id = "recorded-injection"
title = "A recorded value in a command"
version = "1.0.0"
language = "en"
summary = "Records a value, then runs a command with it."

[[sources]]
id = "rfc3227"
title = "RFC 3227"

[variables.value]
label = "What the listing says"

[[steps]]
id = "record"
kind = "record"
title = "Record"
sources = ["rfc3227"]

[[steps.fields]]
id = "what"
label = "What the listing says"
type = "text"
sets = "value"

[[steps]]
id = "run"
kind = "command"
title = "Run"
sources = ["rfc3227"]
run = "printf '%s\n' '{{value}}'"
timeout = "10s"

[[steps]]
id = "end"
kind = "end"
title = "End"
"#;

#[test]
fn recorded_values_never_reach_a_shell_unquoted() {
    let text = RECORDED_VALUE_RUNBOOK;
    let checked = custody::runbook::Runbook::parse(text);
    assert!(checked.runbook.is_some(), "{:#?}", checked.diagnostics);
    let dir = common::temp_dir("hostile-recorded");
    let marker = dir.join("marker");
    let m = marker.display();
    for value in [
        format!("$(touch {m})"),
        format!("'; touch {m}; '"),
        format!("`touch {m}`"),
        format!("x\"; touch {m} #"),
        format!("{{{{value}}}} && touch {m}"),
    ] {
        let clock = common::clock();
        let mut start = common::start("csam-discovery", Mode::Real);
        text.clone_into(&mut start.runbook_text);
        start.variables.clear();
        let s = Session::create(&dir, &start, &clock).unwrap();
        let recent = session::read_recent(s.folder(), 50);
        let mut app = App::walk(s, recent, Theme::plain(), dir.clone());
        app.on_paste(&value);
        key(&mut app, KeyCode::Enter);
        assert_eq!(
            walk(&app).session.current_step().map(|s| s.id.as_str()),
            Some("run"),
            "{value}: {:?}",
            walk(&app).status
        );
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('y'));
        wait_for_job(&mut app);
        let Body::CommandRun(run) = &walk(&app).recent.back().unwrap().body else {
            panic!("{value}: {:?}", walk(&app).recent.back())
        };
        assert_eq!(
            run.argv,
            ["printf", "%s\n", value.as_str()],
            "one argument, as typed"
        );
        let folder = walk(&app).session.folder().to_path_buf();
        let out = std::fs::read(folder.join(&run.stdout.as_ref().unwrap().file)).unwrap();
        assert_eq!(out, format!("{value}\n").as_bytes(), "printed, not run");
        assert!(!marker.exists(), "{value}: a shell ran it");
    }
}
