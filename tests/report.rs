//! Reports: golden files for Markdown, HTML and JSON from fixture journals (a real session, an
//! exercise, hostile text everywhere), the JSON against its schema, determinism, escaping, and
//! the `custody report` command.
//!
//! The fixtures in `tests/fixtures/reports/NAME/` are sessions made by
//! `tests/common/scenarios.rs` with their machine facts fixed. To make them again (after a
//! change to the journal format or the scenarios):
//!
//!     cargo test --test report -- --ignored make_fixtures
//!
//! and to accept changed reports as the new golden files (then review the diff):
//!
//!     UPDATE_GOLDEN=1 cargo test --test report golden

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use custody::report::{self, Format};

const FIXTURES: [&str; 3] = ["real", "exercise", "hostile"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

fn report_of(folder: &Path) -> custody::report::Report {
    let input = report::load(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
    input
        .report()
        .expect("the journal begins with session_started")
}

fn render(report: &custody::report::Report, format: Format) -> String {
    String::from_utf8(report::render(report, format).expect("renders")).expect("UTF-8")
}

/// Compares `actual` with the golden file, or writes it when `UPDATE_GOLDEN` is set.
fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; make it with UPDATE_GOLDEN=1 cargo test --test report golden",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs at line {}:\n  expected: {}\n  actual:   {}\n\
             (if the change is intended: UPDATE_GOLDEN=1 cargo test --test report golden, \
             then review the diff)",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>")
        );
    }
}

#[test]
fn golden_markdown_html_and_json() {
    for name in FIXTURES {
        let folder = fixture(name);
        let report = report_of(&folder);
        for format in [Format::Markdown, Format::Html, Format::Json] {
            let path = folder.join(format!("expected.{}", format.extension()));
            golden(&path, &render(&report, format));
        }
    }
}

#[test]
fn the_same_journal_gives_the_same_bytes() {
    for name in FIXTURES {
        let a = report_of(&fixture(name));
        let b = report_of(&fixture(name));
        for format in [Format::Markdown, Format::Html, Format::Json] {
            assert_eq!(
                report::render(&a, format).unwrap(),
                report::render(&b, format).unwrap(),
                "{name}.{format}"
            );
        }
    }
}

#[test]
fn fresh_sessions_render_and_verify() {
    // The scenarios themselves, on this machine and this version: they must still run to the
    // end and give a verified report.
    let dir = common::temp_dir("report-fresh");
    for folder in [
        common::scenarios::real(&dir.join("real")),
        common::scenarios::exercise(&dir.join("exercise")),
        common::scenarios::hostile(&dir.join("hostile")),
    ] {
        let input = report::load(&folder).unwrap();
        assert!(!input.damaged(), "{}", folder.display());
        let report = input.report().unwrap();
        assert!(report.integrity.verified);
        for format in [Format::Markdown, Format::Html, Format::Json] {
            assert!(!report::render(&report, format).unwrap().is_empty());
        }
    }
}

#[test]
fn the_real_report_states_what_a_manager_and_an_officer_need() {
    let r = report_of(&fixture("real"));
    let md = render(&r, Format::Markdown);
    // Summary before the police section.
    let summary = md.find("## Management summary").unwrap();
    let police = md.find("## Record for the police").unwrap();
    assert!(summary < police);
    for needle in [
        "MP-2026-118734",       // the hotline's reference
        "PL1300-2026112300417", // the police's reference
        "R. Peeters",
        "No one viewed the material",
        "Nothing was deleted, moved or changed",
        "### Chain of custody",
        "D. Visser",
        "### Disclosure register",
        "### Integrity statement",
        "### Signatures",
        "| Manager |",
    ] {
        assert!(md.contains(needle), "the Markdown lacks {needle:?}");
    }
    assert!(md.contains(&r.integrity.final_hash));
    assert_eq!(r.summary.status.code, "sealed");
    assert_eq!(r.summary.reports.len(), 2);
    assert_eq!(r.statements.viewed.answer, "no");
    assert_eq!(r.statements.changed.answer, "no");
    assert!(!r.exercise);
    assert!(!md.contains("EXERCISE"));
}

#[test]
fn an_exercise_is_marked_everywhere() {
    let r = report_of(&fixture("exercise"));
    assert!(r.exercise);
    assert!(r.title.starts_with("EXERCISE"));
    let md = render(&r, Format::Markdown);
    assert!(md.starts_with("> **EXERCISE"));
    assert!(md.trim_end().ends_with("not a real incident.**"));
    let html = render(&r, Format::Html);
    assert!(html.contains("EXERCISE"));
    for format in Format::ALL {
        assert!(format.file_name(&r).starts_with("EXERCISE-"), "{format}");
    }
    let real = report_of(&fixture("real"));
    assert!(!Format::Markdown.file_name(&real).contains("EXERCISE"));
    // Deadlines missed while the team talked are stated.
    assert!(r.summary.deadlines.iter().any(|d| d.status == "missed"));
    assert_eq!(r.injects.len(), 2);
}

#[test]
fn hostile_text_is_escaped_in_every_format() {
    let r = report_of(&fixture("hostile"));
    let md = render(&r, Format::Markdown);
    let html = render(&r, Format::Html);
    let json = render(&r, Format::Json);
    for (name, text) in [("md", &md), ("html", &html), ("json", &json)] {
        assert!(
            !text.contains('\u{1b}'),
            "{name}: an escape character got through"
        );
        assert!(
            !text.contains('\u{202e}'),
            "{name}: a bidi override got through"
        );
        assert!(
            !text.contains('\u{200b}'),
            "{name}: an invisible character got through"
        );
        assert!(!text.contains('\u{0}'), "{name}: a NUL got through");
        assert!(!text.contains('\u{7}'), "{name}: a bell got through");
    }
    for text in [&md, &html] {
        assert!(!text.contains("<script>"), "a script tag got through");
        assert!(
            text.contains("\\u{202e}gnp.exe"),
            "the override is shown as an escape"
        );
    }
    // In Markdown, no value starts a heading, a link, an image or a table cell of its own.
    assert!(!md.contains("\n# heading"));
    assert!(!md.contains("[link](javascript"));
    assert!(!md.contains("![x]"));
    // JSON keeps the values exactly, with the dangerous characters as \u escapes.
    assert!(json.contains("\\u202egnp.exe"));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        value["case"]["case_id"]
            .as_str()
            .unwrap()
            .contains('\u{202e}'),
        "the JSON value is lossless"
    );
    // The statements say what was recorded.
    assert_eq!(r.statements.viewed.answer, "yes");
    assert!(r.statements.viewed.text.starts_with("YES"));
}

#[test]
fn table_rows_keep_their_cells() {
    // Count unescaped pipes per row: each table's rows must all have the header's number.
    let md = render(&report_of(&fixture("hostile")), Format::Markdown);
    let mut expected = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            expected = None;
            continue;
        }
        let mut pipes = 0;
        let mut escaped = false;
        let mut in_code = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped && !in_code => {
                    escaped = true;
                    continue;
                }
                '`' if !escaped => in_code = !in_code,
                '|' if !escaped && !in_code => pipes += 1,
                _ => {}
            }
            escaped = false;
        }
        match expected {
            None => expected = Some(pipes),
            Some(n) => assert_eq!(
                pipes, n,
                "a row has a different number of cells: {line:.160}"
            ),
        }
    }
}

#[test]
fn json_validates_against_its_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
    for name in FIXTURES {
        let json: serde_json::Value =
            serde_json::from_str(&render(&report_of(&fixture(name)), Format::Json)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {}", errors.join("\n"));
        assert_eq!(json["schema"], "custody-report");
        assert_eq!(json["schema_version"], 1);
    }
    // The schema rejects what it must: a report without its integrity statement, a wrong
    // mode, an unknown member.
    let good: serde_json::Value =
        serde_json::from_str(&render(&report_of(&fixture("real")), Format::Json)).unwrap();
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("integrity");
    assert!(!validator.is_valid(&bad));
    let mut bad = good.clone();
    bad["case"]["mode"] = "drill".into();
    assert!(!validator.is_valid(&bad));
    let mut bad = good;
    bad["surprise"] = 1.into();
    assert!(!validator.is_valid(&bad));
}

fn custody() -> Command {
    Command::new(env!("CARGO_BIN_EXE_custody"))
}

#[test]
fn the_report_command_writes_every_format_and_prints_their_hashes() {
    let out = common::temp_dir("report-cli");
    let result = custody()
        .args([
            "report",
            fixture("real").to_str().unwrap(),
            "--format",
            "md,html,json",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let r = report_of(&fixture("real"));
    for format in [Format::Markdown, Format::Html, Format::Json] {
        let path = out.join(format.file_name(&r));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let hash = custody::journal::Digest::of(&bytes).to_hex();
        let expected = custody::journal::Digest::of(&report::render(&r, format).unwrap()).to_hex();
        assert_eq!(hash, expected, "{}: not the report's bytes", path.display());
        assert!(stdout.contains(&hash), "{stdout}");
    }
}

#[test]
fn the_report_command_writes_one_format_to_standard_output() {
    let result = custody()
        .args([
            "report",
            fixture("exercise").to_str().unwrap(),
            "--format",
            "md",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(result.status.success());
    let r = report_of(&fixture("exercise"));
    assert!(
        result.stdout == report::render(&r, Format::Markdown).unwrap(),
        "standard output is not the Markdown report"
    );
}

#[test]
fn a_damaged_journal_gets_no_report_without_saying_so() {
    let dir = common::temp_dir("report-damaged");
    let folder = dir.join("s");
    std::fs::create_dir_all(&folder).unwrap();
    let journal = std::fs::read_to_string(fixture("real").join("journal.jsonl")).unwrap();
    let changed = journal.replacen("MP-2026-118734", "MP-2026-999999", 1);
    assert_ne!(journal, changed);
    std::fs::write(folder.join("journal.jsonl"), changed).unwrap();
    std::fs::copy(
        fixture("real").join("runbook.toml"),
        folder.join("runbook.toml"),
    )
    .unwrap();

    let result = custody()
        .args([
            "report",
            folder.to_str().unwrap(),
            "--format",
            "md",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("does not verify"), "{stderr}");
    assert!(stderr.contains("--damaged"), "{stderr}");
    assert!(result.stdout.is_empty());

    let result = custody()
        .args([
            "report",
            folder.to_str().unwrap(),
            "--format",
            "md",
            "-o",
            "-",
            "--damaged",
        ])
        .output()
        .unwrap();
    assert!(result.status.success());
    let md = String::from_utf8_lossy(&result.stdout);
    assert!(
        md.contains("WARNING: the record did not verify"),
        "{md:.400}"
    );
    assert!(
        !md.contains("MP-2026-999999"),
        "the changed event is not reported"
    );
}

#[test]
fn an_unknown_format_is_refused_with_the_list() {
    let result = custody()
        .args([
            "report",
            fixture("real").to_str().unwrap(),
            "--format",
            "docx",
        ])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("docx") && stderr.contains("md, html, json, pdf"),
        "{stderr}"
    );
}

/// Makes the fixtures again. Run by hand (see the top of this file).
#[test]
#[ignore = "writes tests/fixtures/reports; run by hand after changing the scenarios"]
fn make_fixtures() {
    let dir = common::temp_dir("report-fixtures");
    let made = [
        (
            "real",
            common::scenarios::real(&dir.join("real")),
            "web-07.example.net",
        ),
        (
            "exercise",
            common::scenarios::exercise(&dir.join("exercise")),
            "tabletop-laptop",
        ),
        (
            "hostile",
            common::scenarios::hostile(&dir.join("hostile")),
            common::scenarios::HOSTILE,
        ),
    ];
    for (name, folder, host) in made {
        let to = fixture(name);
        let _ = std::fs::remove_dir_all(&to);
        common::scenarios::normalise(&folder, &to, host, name == "hostile");
        let v = custody::journal::verify(&to, None, None).unwrap();
        assert!(v.problem.is_none(), "{name}: {:?}", v.problem);
    }
}

/// custody stopped while a command ran: the journal has its `command_started` and no result;
/// the report says so among the open actions, and a command with a result is not listed.
#[test]
fn a_command_started_without_a_result_is_an_open_action() {
    use custody::journal::event::{CommandStarted, Mode};
    use custody::session::{Action, Session};
    let dir = common::temp_dir("report-started");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    while s.current_step().map(custody::runbook::Step::kind_name) != Some("command") {
        let action = common::next_action(&s, 0).unwrap();
        clock.advance(chrono::Duration::seconds(61));
        s.apply(action).unwrap();
    }
    let started = |argv: &[&str]| {
        Action::CommandStarted(CommandStarted {
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
            changes_system: true,
            timeout_secs: 10,
        })
    };
    // One with its result (as the session screen writes them) ...
    s.apply(started(&["chmod", "o-rwx", "/srv/first"])).unwrap();
    let run = common::next_action(&s, 0).unwrap();
    assert!(matches!(run, Action::Command(_)), "{run:?}");
    s.apply(run).unwrap();
    // ... and one custody never saw end.
    s.apply(started(&["chmod", "o-rwx", "/srv/second"]))
        .unwrap();
    let r = report_of(s.folder());
    let open: Vec<&String> = r
        .summary
        .open_actions
        .iter()
        .filter(|a| a.contains("no result was recorded"))
        .collect();
    assert_eq!(open.len(), 1, "{:#?}", r.summary.open_actions);
    assert!(open[0].contains("/srv/second") && open[0].contains("CHANGES THE SYSTEM"));
    let md = render(&r, Format::Markdown);
    assert!(md.contains("Command started (CHANGES THE SYSTEM): chmod o-rwx /srv/second"));
    // The JSON, with the new kind in its timeline, still validates.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
