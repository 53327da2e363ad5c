//! The catalogue of broken runbooks: every file `tests/bad_runbooks/NN-name.toml` is a small
//! runbook (or scenario) with one thing wrong, and `custody check` (the real binary) must say
//! what, where and what to do.
//!
//! Each file begins with two comments: what is wrong, and `# expect: LINE:COL: error: MESSAGE`,
//! the problem `custody check` must report (the message may go on past what is written). The
//! test runs `custody check NN-name.toml` in the catalogue's folder and asserts:
//!
//! - the exit status is 1 and at least one error is reported;
//! - the expected problem is reported at the expected line and column, with a `= help:` line;
//! - the whole output (every message, location, caret and help) equals its snapshot,
//!   `tests/snapshots/bad_runbooks__NN-name.snap` (review changes with `cargo insta review`);
//! - no two files expect the same message: each exercises a distinct error.
//!
//! `drill.toml` is the valid runbook the scenario files exercise; it is not part of the
//! catalogue. Add a case by adding a file: it is picked up by its name.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn catalogue() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_runbooks");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the catalogue folder")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    files.sort();
    files
}

/// What one file promises: the comment saying what is wrong, and the expected problem.
fn header(path: &Path) -> (String, String) {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let what = lines.next().unwrap_or_default();
    let expect = lines.next().unwrap_or_default();
    let name = path.display();
    assert!(
        what.starts_with("# ") && what.len() > 10,
        "{name}: the first line must be a comment saying what is wrong"
    );
    let expect = expect.strip_prefix("# expect: ").unwrap_or_else(|| {
        panic!("{name}: the second line must be `# expect: LINE:COL: error: MESSAGE`")
    });
    (what.to_owned(), expect.to_owned())
}

struct Checked {
    status: Option<i32>,
    output: String,
}

fn check(path: &Path) -> Checked {
    let name = path.file_name().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_custody"))
        .arg("check")
        .arg(name)
        .current_dir(path.parent().unwrap())
        .env("NO_COLOR", "1")
        .output()
        .expect("custody runs");
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.stderr.is_empty() {
        output.push_str("--- stderr ---\n");
        output.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    Checked {
        status: out.status.code(),
        output,
    }
}

#[test]
fn the_catalogue_holds_at_least_forty_distinct_errors() {
    let files = catalogue();
    assert!(
        files.len() >= 40,
        "the catalogue holds {} files; the issue asks for at least 40",
        files.len()
    );
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for path in &files {
        let (_, expect) = header(path);
        // The message without its location: `LINE:COL: error: MESSAGE`.
        let message = expect.splitn(3, ": ").nth(2).unwrap_or_default().to_owned();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(other) = seen.insert(message.clone(), name.clone()) {
            panic!("{name} and {other} both expect `{message}`: make each file a distinct error");
        }
    }
}

#[test]
fn every_bad_runbook_is_reported_where_it_is_wrong_with_help() {
    let mut failures = Vec::new();
    for path in catalogue() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (_, expect) = header(&path);
        let checked = check(&path);
        let mut problems = Vec::new();
        if checked.status != Some(1) {
            problems.push(format!("exit status {:?}, not 1", checked.status));
        }
        if !checked.output.contains(": error: ") {
            problems.push("no error reported".to_owned());
        }
        let wanted = format!("{name}:{expect}");
        let lines: Vec<&str> = checked.output.lines().collect();
        match lines.iter().position(|l| l.starts_with(&wanted)) {
            None => problems.push(format!("`{wanted}` is not reported")),
            Some(at) => {
                // The diagnostic's own lines, up to the blank line that ends it.
                let block: Vec<&&str> = lines[at..].iter().take_while(|l| !l.is_empty()).collect();
                if !block.iter().any(|l| l.contains("= help: ")) {
                    problems.push(format!("`{wanted}` has no `= help:` line"));
                }
                if !block
                    .iter()
                    .any(|l| l.trim_start().starts_with("| ") && l.contains('^'))
                {
                    problems.push(format!("`{wanted}` has no caret"));
                }
            }
        }
        let stem = name.trim_end_matches(".toml").to_owned();
        let snapshot = std::panic::catch_unwind(|| {
            insta::with_settings!({
                description => format!("custody check {name}"),
                omit_expression => true,
                prepend_module_to_snapshot => true,
            }, {
                insta::assert_snapshot!(stem, checked.output);
            });
        });
        if snapshot.is_err() {
            problems.push("the output differs from its snapshot (see above)".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the catalogue failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The runbook the scenario files exercise must itself be valid, or every scenario would only
/// report that.
#[test]
fn the_drill_runbook_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_runbooks/drill.toml");
    let checked = check(&path);
    assert_eq!(checked.status, Some(0), "{}", checked.output);
    assert!(
        checked.output.contains("0 errors, 0 warnings"),
        "{}",
        checked.output
    );
}
