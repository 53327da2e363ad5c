//! Command steps run for real: substituted values never reach a shell and arrive as one argument,
//! byte for byte; output files are exactly what the program wrote, with the recorded size and
//! hash; big output streams with a bounded preview; timeouts and the operator's stop end the whole
//! process group, grandchildren included; a missing program, exit codes and signals are recorded
//! in words; and the preview never passes escape sequences or bidi controls through.
//!
//! Timings are only bounded generously, to prove that a 30 s command was ended early.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use custody::evidence::run::{self, Outcome, Request};
use custody::journal::Digest;
use custody::journal::event::FileRef;
use custody::runbook::{Runbook, StepKind};
use custody::sanitize;
use custody::session::{Clock as _, SystemClock};

/// Long enough for a loaded machine; a killed 30 s command must end well before.
const KILLED_WITHIN: Duration = Duration::from_secs(15);

fn request(dir: &Path, stem: &str, argv: &[&str], timeout: Duration) -> Request {
    Request {
        argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        timeout,
        changes_system: false,
        session_dir: dir.to_owned(),
        stem: stem.to_owned(),
    }
}

fn run_now(request: &Request) -> Outcome {
    run::run(request, &common::clock(), &AtomicBool::new(false))
}

fn file(dir: &Path, file: Option<&FileRef>) -> PathBuf {
    dir.join(&file.expect("an output file").file)
}

fn contents(dir: &Path, file_ref: Option<&FileRef>) -> Vec<u8> {
    std::fs::read(file(dir, file_ref)).unwrap()
}

/// The digest `sha256sum` gives for the file: another program's opinion of the recorded hash.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn assert_recorded_right(dir: &Path, file_ref: Option<&FileRef>) {
    let path = file(dir, file_ref);
    let recorded = file_ref.unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(recorded.size, meta.len(), "{}", recorded.file);
    assert_eq!(
        recorded.sha256.to_hex(),
        sha256sum(&path),
        "{}",
        recorded.file
    );
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "{}",
        recorded.file
    );
}

/// A runbook with one command step written as a shell-like string, as a security team would.
fn runbook_command(run: &str) -> custody::runbook::command::CommandLine {
    let text = common::one_step_runbook(
        "injection",
        &format!(
            "kind = \"command\"\nrun = {}\ntimeout = \"10s\"",
            toml_string(run)
        ),
    );
    let checked = Runbook::parse(&text);
    let runbook = checked.runbook.unwrap_or_else(|| {
        panic!("the test runbook is valid: {:#?}", checked.diagnostics);
    });
    let StepKind::Command { run, .. } = &runbook.step("capture").unwrap().kind else {
        panic!("a command step");
    };
    run.clone()
}

fn toml_string(s: &str) -> String {
    format!("'''{s}'''")
}

/// Values an attacker (or a careless paste) could put in a variable, each trying to run
/// `touch MARKER` through a shell.
fn hostile_values(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("$(touch {m})"),
        format!("; touch {m}"),
        format!("`touch {m}`"),
        format!("' ; touch {m} ; '"),
        format!("\" ; touch {m} ; \""),
        format!("x && touch {m}"),
        format!("x || touch {m}"),
        format!("x | touch {m}"),
        format!("x\ntouch {m}\n"),
        format!("x\r\ntouch {m}"),
        format!("x & touch {m} &"),
        format!("> {m}"),
        format!("$IFS;touch${{IFS}}{m}"),
        format!("{{{{value}}}} \\; touch {m}"),
        format!("-- --help \u{1b}[31m\u{202E} ; touch {m}"),
        format!("é 日本 \t tab ; touch {m}"),
    ]
}

#[test]
fn substituted_values_never_reach_a_shell_and_arrive_as_one_argument() {
    let dir = common::temp_dir("command-run-injection");
    let marker = dir.join("marker");
    // The string form of the runbook (split like a shell, variables substituted afterwards), and
    // the `sh -c` form the checks suggest, where the value reaches the script as "$1".
    let lines = [
        runbook_command(r"printf '[%s]\n' {{value}}"),
        runbook_command(r#"printf '[%s]\n' "{{value}}""#),
        runbook_command(r#"sh -c 'printf "[%s]\n" "$1"' sh {{value}}"#),
    ];
    for (l, line) in lines.iter().enumerate() {
        for (v, value) in hostile_values(&marker).iter().enumerate() {
            let mut variables = BTreeMap::new();
            variables.insert("value".to_owned(), value.clone());
            let argv = run::argv(line, |t| {
                t.render(|name| Cow::Borrowed(variables.get(name).map_or("", String::as_str)))
            });
            assert_eq!(argv.len(), line.argv.len(), "one argument per template");
            let stem = format!("cmd-{l}-{v}");
            let request = Request {
                argv,
                ..request(&dir, &stem, &[], Duration::from_secs(10))
            };
            let outcome = run_now(&request);
            let record = &outcome.run;
            assert_eq!(record.error, None, "{value:?}");
            assert_eq!(record.exit_code, Some(0), "{value:?}");
            assert_eq!(
                contents(&dir, record.stdout.as_ref()),
                format!("[{value}]\n").into_bytes(),
                "the program received the value as one argument, byte for byte: {value:?}"
            );
            assert!(
                !marker.exists(),
                "a value was executed: {value:?} in {}",
                line.written
            );
        }
    }
    // The marker check can fail: running `touch` for real does create it.
    let control = run_now(&request(
        &dir,
        "control",
        &["touch", marker.to_str().unwrap()],
        Duration::from_secs(10),
    ));
    assert_eq!(control.run.exit_code, Some(0));
    assert!(marker.exists());
}

#[test]
fn output_files_hold_exactly_what_was_written_with_their_size_and_hash() {
    let dir = common::temp_dir("command-run-files");
    let request = Request {
        changes_system: true,
        ..request(
            &dir,
            "cmd-0017-netstat",
            &[
                "sh",
                "-c",
                "printf 'out\\000put\\n'; printf 'err' >&2; exit 3",
            ],
            Duration::from_secs(10),
        )
    };
    let outcome = run_now(&request);
    let record = &outcome.run;
    assert_eq!(record.argv, request.argv);
    assert!(record.changes_system);
    assert_eq!(record.started, common::clock().now());
    assert_eq!(record.exit_code, Some(3));
    assert_eq!(record.signal, None);
    assert!(!record.timed_out);
    assert_eq!(record.error, None);
    let stdout = record.stdout.as_ref().unwrap();
    let stderr = record.stderr.as_ref().unwrap();
    assert_eq!(stdout.file, "evidence/cmd-0017-netstat.stdout");
    assert_eq!(stderr.file, "evidence/cmd-0017-netstat.stderr");
    assert_eq!(contents(&dir, record.stdout.as_ref()), b"out\0put\n");
    assert_eq!(contents(&dir, record.stderr.as_ref()), b"err");
    assert_eq!(stdout.size, 8);
    assert_eq!(stdout.sha256, Digest::of(b"out\0put\n"));
    assert_recorded_right(&dir, record.stdout.as_ref());
    assert_recorded_right(&dir, record.stderr.as_ref());
    assert_eq!(outcome.stdout.total(), 8);
    assert_eq!(outcome.stdout.lines(5, 80).lines, ["out\\u{0}put"]);
    assert_eq!(outcome.stderr.lines(5, 80).lines, ["err"]);
    // The record goes into the journal as it is.
    let json = serde_json::to_string(record).unwrap();
    assert!(
        json.contains("\"file\":\"evidence/cmd-0017-netstat.stdout\""),
        "{json}"
    );
}

#[test]
fn stdin_is_empty_and_the_locale_is_c() {
    let dir = common::temp_dir("command-run-env");
    let cat = run_now(&request(&dir, "cat", &["cat"], Duration::from_secs(20)));
    assert_eq!(cat.run.exit_code, Some(0), "cat read /dev/null and ended");
    assert!(!cat.run.timed_out);
    assert_eq!(cat.run.stdout.as_ref().unwrap().size, 0);
    let env = run_now(&request(
        &dir,
        "env",
        &["printenv", "LC_ALL"],
        Duration::from_secs(10),
    ));
    assert_eq!(contents(&dir, env.run.stdout.as_ref()), b"C\n");
}

#[test]
fn big_output_streams_to_the_file_and_the_preview_stays_bounded() {
    let dir = common::temp_dir("command-run-big");
    let size: u64 = 50_000_000;
    let outcome = run_now(&request(
        &dir,
        "big",
        &[
            "sh",
            "-c",
            &format!("yes 'a line of output' | head -c {size}"),
        ],
        Duration::from_mins(5),
    ));
    let record = &outcome.run;
    assert_eq!(record.error, None);
    assert_eq!(record.exit_code, Some(0));
    assert_eq!(record.stdout.as_ref().unwrap().size, size);
    assert_recorded_right(&dir, record.stdout.as_ref());
    assert_eq!(outcome.stdout.total(), size);
    let shown = outcome.stdout.lines(20, 80);
    assert_eq!(shown.lines.len(), 20);
    assert!(shown.lines.iter().all(|l| l == "a line of output"));
    assert!(shown.lines_left_out > 0);
    assert!(shown.lines_left_out < run::PREVIEW_BYTES);
    assert_eq!(shown.bytes_left_out, size - run::PREVIEW_BYTES as u64);
    assert!(shown.note().is_some());
    // Everything in the kept preview, still bounded by it.
    let all = outcome.stdout.lines(usize::MAX, 80);
    assert!(all.lines.len() <= run::PREVIEW_BYTES / 17 + 1);
}

#[test]
fn a_command_past_its_timeout_is_ended() {
    let dir = common::temp_dir("command-run-timeout");
    let begun = Instant::now();
    let outcome = run_now(&request(
        &dir,
        "sleep",
        &["sleep", "30"],
        Duration::from_secs(1),
    ));
    assert!(begun.elapsed() < KILLED_WITHIN, "{:?}", begun.elapsed());
    let record = &outcome.run;
    assert!(record.timed_out);
    assert_eq!(record.exit_code, None);
    assert_eq!(record.signal, Some(libc::SIGTERM));
    assert_eq!(record.error, None);
    assert!(record.duration_ms >= 1000);
    assert!(record.duration_ms < 15_000);
    assert_recorded_right(&dir, record.stdout.as_ref());
}

/// Whether process `pid` still runs (a zombie waiting for its parent does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn grandchildren_holding_the_output_open_are_ended_with_the_command() {
    let dir = common::temp_dir("command-run-grandchild");
    for (stem, script, exit_code, signal) in [
        // The shell waits for its child while a grandchild holds the pipes.
        (
            "waits",
            "sleep 30 & echo $!; sleep 30",
            None,
            Some(libc::SIGTERM),
        ),
        // The shell ends at once; its background child keeps the pipes open.
        ("leaves", "sleep 30 & echo $!", Some(0), None),
        // SIGTERM is ignored by the whole group: SIGKILL after the grace.
        (
            "ignores",
            "trap '' TERM; sleep 30 & echo $!; sleep 30",
            None,
            Some(libc::SIGKILL),
        ),
    ] {
        let begun = Instant::now();
        let outcome = run_now(&request(
            &dir,
            stem,
            &["sh", "-c", script],
            Duration::from_secs(1),
        ));
        assert!(
            begun.elapsed() < KILLED_WITHIN,
            "{stem}: {:?}",
            begun.elapsed()
        );
        let record = &outcome.run;
        assert!(record.timed_out, "{stem}");
        assert_eq!(record.exit_code, exit_code, "{stem}");
        assert_eq!(record.signal, signal, "{stem}");
        let pid: u32 = String::from_utf8(contents(&dir, record.stdout.as_ref()))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone_by = Instant::now() + KILLED_WITHIN;
        while alive(pid) && Instant::now() < gone_by {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(pid), "{stem}: the grandchild {pid} survived");
    }
}

#[test]
fn the_operator_can_stop_a_command_from_another_thread() {
    let dir = common::temp_dir("command-run-stop");
    let request = request(&dir, "stop", &["sleep", "30"], Duration::from_mins(2));
    let cancel = Arc::new(AtomicBool::new(false));
    let begun = Instant::now();
    let worker = {
        let cancel = Arc::clone(&cancel);
        std::thread::spawn(move || run::run(&request, &SystemClock, &cancel))
    };
    std::thread::sleep(Duration::from_millis(300));
    cancel.store(true, Ordering::SeqCst);
    let outcome = worker.join().unwrap();
    assert!(begun.elapsed() < KILLED_WITHIN, "{:?}", begun.elapsed());
    let record = &outcome.run;
    assert!(!record.timed_out);
    assert_eq!(record.signal, Some(libc::SIGTERM));
    assert_eq!(record.exit_code, None);
    assert_eq!(record.error.as_deref(), Some(run::STOPPED));
}

#[test]
fn a_program_that_cannot_start_is_recorded_in_words() {
    let dir = common::temp_dir("command-run-missing");
    let missing = run_now(&request(
        &dir,
        "missing",
        &["custody-no-such-program", "-x"],
        Duration::from_secs(10),
    ));
    let error = missing.run.error.as_deref().unwrap();
    assert!(
        error.contains("`custody-no-such-program` was not found on PATH"),
        "{error}"
    );
    assert!(error.contains("skip the step"), "{error}");
    assert_eq!(missing.run.exit_code, None);
    assert_eq!(missing.run.signal, None);
    assert!(!missing.run.timed_out);
    // The empty output files exist and are recorded, so nothing in the folder is unaccounted.
    assert_eq!(missing.run.stdout.as_ref().unwrap().size, 0);
    assert_recorded_right(&dir, missing.run.stdout.as_ref());

    let absent = run_now(&request(
        &dir,
        "absent",
        &["/nonexistent/prog"],
        Duration::from_secs(10),
    ));
    let error = absent.run.error.unwrap();
    assert!(
        error.contains("`/nonexistent/prog` does not exist"),
        "{error}"
    );

    let script = dir.join("not-executable");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let denied = run_now(&request(
        &dir,
        "denied",
        &[script.to_str().unwrap()],
        Duration::from_secs(10),
    ));
    let error = denied.run.error.unwrap();
    assert!(
        error.contains("cannot be run (permission denied"),
        "{error}"
    );

    let none = run_now(&request(&dir, "none", &[], Duration::from_secs(10)));
    assert!(none.run.error.unwrap().contains("names no program"));
    assert_eq!(none.run.stdout, None);

    // A session folder that cannot hold an evidence folder: nothing runs, the record says why.
    let not_a_folder = dir.join("plain-file");
    std::fs::write(&not_a_folder, "").unwrap();
    let nowhere = run_now(&request(
        &not_a_folder,
        "x",
        &["true"],
        Duration::from_secs(10),
    ));
    assert!(
        nowhere
            .run
            .error
            .unwrap()
            .contains("cannot create the folder")
    );
    assert_eq!(nowhere.run.exit_code, None);
}

#[test]
fn exit_codes_and_signals_are_recorded() {
    let dir = common::temp_dir("command-run-status");
    let failed = run_now(&request(&dir, "false", &["false"], Duration::from_secs(10)));
    assert_eq!(failed.run.exit_code, Some(1));
    assert_eq!(failed.run.signal, None);
    assert_eq!(failed.run.error, None);
    let killed = run_now(&request(
        &dir,
        "killed",
        &["sh", "-c", "kill -9 $$"],
        Duration::from_secs(10),
    ));
    assert_eq!(killed.run.exit_code, None);
    assert_eq!(killed.run.signal, Some(libc::SIGKILL));
    assert!(!killed.run.timed_out);
    assert_eq!(killed.run.error, None);
}

#[test]
fn escape_sequences_and_bidi_controls_never_reach_the_preview_raw() {
    let dir = common::temp_dir("command-run-hostile");
    let hostile = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{1b}]52;c;aGk=\u{7}abc\u{202E}gpj.exe\u{2066}x\r\n\
                   \u{9b}31m\u{200B}\u{feff}\u{8}\u{8}\n";
    let outcome = run_now(&request(
        &dir,
        "hostile",
        &["printf", "%s", hostile],
        Duration::from_secs(10),
    ));
    // The file keeps the bytes exactly.
    assert_eq!(
        contents(&dir, outcome.run.stdout.as_ref()),
        hostile.as_bytes()
    );
    for (lines, columns) in [(10, 200), (1, 5), (10, 1)] {
        let shown = outcome.stdout.lines(lines, columns);
        assert!(!shown.lines.is_empty());
        for line in &shown.lines {
            assert!(
                !line.chars().any(sanitize::needs_escape),
                "raw control in the preview: {line:?}"
            );
        }
    }
    let shown = outcome.stdout.lines(10, 200);
    assert!(
        shown.lines[0].starts_with("\\u{1b}[2J"),
        "{:?}",
        shown.lines
    );
    assert!(
        shown.lines[0].contains("\\u{202e}gpj.exe"),
        "{:?}",
        shown.lines
    );
}

#[test]
fn names_already_taken_get_a_suffix_and_nothing_is_overwritten() {
    let dir = common::temp_dir("command-run-names");
    let first = run_now(&request(
        &dir,
        "cmd-1-echo",
        &["echo", "first"],
        Duration::from_secs(10),
    ));
    let second = run_now(&request(
        &dir,
        "cmd-1-echo",
        &["echo", "second"],
        Duration::from_secs(10),
    ));
    let hostile = run_now(&request(
        &dir,
        "../../x y",
        &["echo", "third"],
        Duration::from_secs(10),
    ));
    assert_eq!(
        first.run.stdout.as_ref().unwrap().file,
        "evidence/cmd-1-echo.stdout"
    );
    assert_eq!(
        second.run.stdout.as_ref().unwrap().file,
        "evidence/cmd-1-echo-2.stdout"
    );
    assert_eq!(
        second.run.stderr.as_ref().unwrap().file,
        "evidence/cmd-1-echo-2.stderr"
    );
    assert_eq!(
        hostile.run.stdout.as_ref().unwrap().file,
        "evidence/x-y.stdout"
    );
    assert_eq!(contents(&dir, first.run.stdout.as_ref()), b"first\n");
    assert_eq!(contents(&dir, second.run.stdout.as_ref()), b"second\n");
    assert_eq!(contents(&dir, hostile.run.stdout.as_ref()), b"third\n");
}
