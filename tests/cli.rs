//! The `custody` binary as a user meets it: output, messages and exit statuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn custody(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("custody runs")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch folder for one test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("custody-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const BROKEN: &str = "[runbook]
format = 1
id = \"broken\"
title = \"Broken\"
version = \"1.0.0\"
language = \"en\"
summary = \"s\"

[[steps]]
id = \"a\"
kind = \"instruction\"
title = \"A\"
next = \"nowhere\"
";

#[test]
fn check_passes_the_bundled_runbooks_and_the_template() {
    let mut args = vec!["check".to_owned()];
    for entry in std::fs::read_dir(repo().join("runbooks")).expect("runbooks/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            args.push(path.display().to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = custody(&args, &repo());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("runbooks/csam-discovery.toml: ok: csam-discovery"),
        "{stdout}"
    );
    assert!(stdout.contains("0 errors, 0 warnings"), "{stdout}");
}

#[test]
fn check_reports_location_line_and_caret_and_exits_1() {
    let dir = scratch("broken");
    std::fs::write(dir.join("broken.toml"), BROKEN).expect("write");
    let out = custody(&["check", "broken.toml"], &dir);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    // Problems come in the order of the file: the warning about line 10 first.
    assert_eq!(
        lines[0],
        "broken.toml:10:6: warning: step `a` cites no source"
    );
    let error = lines
        .iter()
        .position(|l| l.contains("error"))
        .unwrap_or_default();
    assert_eq!(
        lines[error],
        "broken.toml:13:8: error: unknown step `nowhere` in `next` of step `a`"
    );
    assert_eq!(lines[error + 1], "   |");
    assert_eq!(lines[error + 2], "13 | next = \"nowhere\"");
    assert_eq!(lines[error + 3], "   |        ^^^^^^^^^");
    assert_eq!(lines[error + 4], "   = help: the steps are: a");
    assert!(
        stdout.ends_with("checked 1 file: 1 error, 1 warning; 1 file failed\n"),
        "{stdout}"
    );
}

#[test]
fn check_reports_every_file_and_the_worst_status() {
    let dir = scratch("many");
    std::fs::write(dir.join("broken.toml"), BROKEN).expect("write");
    let template = repo().join("runbooks/template.toml");
    let template = template.display().to_string();
    let out = custody(&["check", &template, "broken.toml", "missing.toml"], &dir);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreadable file wins: {stdout}{stderr}"
    );
    assert!(stdout.contains("template.toml: ok: template"), "{stdout}");
    assert!(stdout.contains("broken.toml:13:8: error"), "{stdout}");
    assert!(
        stderr.contains("missing.toml: error: no such file"),
        "{stderr}"
    );
    assert!(
        stdout.contains("checked 3 files: 1 error, 1 warning; 2 files failed"),
        "{stdout}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = scratch("warn");
    let warned = BROKEN.replace(
        "next = \"nowhere\"\n",
        "\n[[steps]]\nid = \"z\"\nkind = \"end\"\ntitle = \"Z\"\n",
    );
    std::fs::write(dir.join("w.toml"), warned).expect("write");
    assert_eq!(custody(&["check", "w.toml"], &dir).status.code(), Some(0));
    assert_eq!(
        custody(&["check", "--deny-warnings", "w.toml"], &dir)
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn check_accepts_bundled_ids_and_refuses_folders_and_non_utf8() {
    let dir = scratch("odd");
    let out = custody(&["check", "csam-discovery"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = custody(&["check", "."], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is a folder"));
    std::fs::write(dir.join("latin1.toml"), b"[runbook]\ntitle = \"caf\xe9\"\n").expect("write");
    let out = custody(&["check", "latin1.toml"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("latin1.toml:2:13: error: the file is not UTF-8 text"));
}

#[test]
fn file_names_and_messages_cannot_drive_the_terminal() {
    let dir = scratch("escape");
    let hostile = BROKEN.replace("next = \"nowhere\"", "next = \"\\u001b]52;c;aGk=\\u0007\"");
    std::fs::write(dir.join("h.toml"), hostile).expect("write");
    let out = custody(&["check", "h.toml"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.contains(&0x1b), "no escape byte in the output");
    assert!(text(&out.stdout).contains("\\u{1b}]52"));
}

#[test]
fn runbooks_lists_the_bundled_runbooks() {
    let dir = scratch("list");
    for args in [&["runbooks"][..], &[][..]] {
        let out = custody(args, &dir);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout.starts_with("ID "), "{stdout}");
        for id in [
            "csam-discovery",
            "hotline-notice",
            "compromised-host",
            "police-request",
        ] {
            let line = stdout
                .lines()
                .find(|l| l.starts_with(id))
                .unwrap_or_else(|| panic!("{id} listed"));
            assert!(line.contains(" en ") && line.contains("1.0.0"), "{line}");
        }
    }
    let out = custody(&["runbooks", "--json"], &dir);
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap_or_default())
            .expect("JSON lines");
    assert_eq!(first["id"], "csam-discovery");
    assert_eq!(first["origin"], "bundled");
    assert_eq!(first["kind"], "runbook");
    let scenario: serde_json::Value = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON lines"))
        .find(|v| v["kind"] == "scenario")
        .expect("the bundled scenario is listed");
    assert_eq!(scenario["id"], "csam-discovery-night-shift");
    assert_eq!(scenario["runbook"], "csam-discovery");
    let table = text(&custody(&["runbooks"], &dir).stdout).clone();
    let line = table
        .lines()
        .find(|l| l.starts_with("csam-discovery-night-shift "))
        .unwrap_or_else(|| panic!("the scenario in the table: {table}"));
    assert!(line.contains(" csam-discovery "), "{line}");
}

#[test]
fn runbooks_lists_local_files_and_flags_invalid_ones() {
    let dir = scratch("local");
    std::fs::create_dir_all(dir.join("runbooks")).expect("mkdir");
    std::fs::copy(
        repo().join("runbooks/template.toml"),
        dir.join("runbooks/template.toml"),
    )
    .expect("copy");
    std::fs::write(dir.join("runbooks/broken.toml"), BROKEN).expect("write");
    let out = custody(&["runbooks"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("(runbooks/template.toml)"));
    assert!(text(&out.stderr).contains("runbooks/broken.toml is not a valid runbook"));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in [
        &["--help"][..],
        &["runbooks", "--help"],
        &["check", "--help"],
    ] {
        let out = custody(sub, &repo());
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("Examples:"), "{sub:?}");
    }
    let out = custody(&["check"], &repo());
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}
