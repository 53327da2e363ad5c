//! The pseudo-terminal harness (`tests/common/pty.rs`) checked against programs whose behaviour
//! is known: `custody`'s plain subcommands and small `/bin/sh` scripts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

#[path = "common/pty.rs"]
mod pty;

use std::time::{Duration, Instant};

use pty::{DEFAULT_TIMEOUT, Exit, Term};

/// `/bin/sh -c SCRIPT` in an 80x24 pty.
fn sh(script: &str) -> Term {
    Term::spawn_program("/bin/sh", &["-c", script], &[], 80, 24)
}

fn ok(result: Result<(), String>) {
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn help_appears_on_the_screen_and_custody_exits_0() {
    let mut t = Term::spawn(&["--help"], &[], 80, 24);
    t.expect_screen("Exit status: 0 success");
    assert_eq!(
        t.wait_exit(DEFAULT_TIMEOUT),
        Some(0),
        "{}",
        t.framed_screen()
    );
    let screen = t.screen();
    assert!(screen.contains("custody verify SESSION"), "{screen}");
    assert_eq!(screen.split('\n').count(), 24);
    // Help is wrapped to the pty's width.
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    assert!(!t.alternate_screen());
    t.assert_restored();
}

#[test]
fn runbooks_lists_the_bundled_runbooks() {
    let mut t = Term::spawn(&["runbooks"], &[], 80, 24);
    t.expect_screen("csam-discovery");
    assert_eq!(
        t.wait_exit(DEFAULT_TIMEOUT),
        Some(0),
        "{}",
        t.framed_screen()
    );
    assert!(t.row(0).starts_with("ID"), "{}", t.framed_screen());
    t.assert_restored();
}

#[test]
fn a_resize_before_the_program_asks_gives_it_the_new_size() {
    let mut t = sh("sleep 0.3; stty size");
    t.resize(100, 30);
    assert_eq!(t.size(), (100, 30));
    t.expect_screen("30 100");
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));
}

#[test]
fn a_resize_sends_sigwinch() {
    let mut t = sh("trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done");
    t.expect_screen("ready");
    t.resize(120, 40);
    t.expect_screen("40 120");
    t.resize(60, 20);
    t.expect_screen("20 60");
}

#[test]
fn keys_arrive_as_xterm_sends_them() {
    let mut t =
        sh("stty raw -echo; k=$(head -c 26 | od -An -tx1 -v); stty sane; echo $k; echo end");
    // The program must be in raw mode before the keys come, or the line discipline eats Ctrl-C.
    wait_for_raw_mode(&t);
    t.keys(&[
        "Enter",
        "Up",
        "Tab",
        "BackTab",
        "F1",
        "Delete",
        "Backspace",
        "Ctrl-C",
    ]);
    t.keys(&["Alt-x", "\u{e9}"]);
    t.type_text("hello");
    t.expect_screen("end");
    let expected = "0d 1b 5b 41 09 1b 5b 5a 1b 4f 50 1b 5b 33 7e 7f 03 1b 78 c3 a9 68 65 6c 6c 6f";
    assert_eq!(t.row(0), expected, "{}", t.framed_screen());
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));
}

/// Waits until the program has switched the pty out of canonical mode.
fn wait_for_raw_mode(t: &Term) {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    while !t.in_raw_mode() {
        assert!(
            Instant::now() < deadline,
            "never in raw mode\n{}",
            t.framed_screen()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn cursor_position_and_device_attribute_queries_are_answered() {
    let mut t = sh(r"stty raw -echo; printf '\033[3;5H\033[6n\033[c'
k=$(head -c 15 | od -An -tx1 -v); stty sane; echo; echo $k");
    // ESC [ 3 ; 5 R, then ESC [ ? 6 2 ; 2 2 c.
    t.expect_screen("1b 5b 33 3b 35 52 1b 5b 3f 36 32 3b 32 32 63");
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));
}

#[test]
fn a_program_that_cleans_up_passes_the_restore_check() {
    let mut t = sh(r#"s=$(stty -g)
printf '\033[?1049h\033[?25l'; stty raw -echo; printf 'in the app'
head -c 1 >/dev/null
stty "$s"; printf '\033[?25h\033[?1049l'"#);
    t.expect_screen("in the app");
    assert!(t.alternate_screen());
    assert!(!t.cursor_visible());
    t.key("q");
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));
    assert!(!t.screen().contains("in the app"), "{}", t.framed_screen());
    t.assert_restored();
}

#[test]
fn a_program_that_leaves_a_mess_fails_the_restore_check() {
    let mut t = sh(
        r"printf '\033[?1049h\033[?25l\033[?2004h'; stty raw -echo; echo in the app
head -c 1 >/dev/null",
    );
    t.expect_screen("in the app");
    assert!(t.check_restored().unwrap_err().contains("still runs"));
    t.key("q");
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));
    let e = t.check_restored().unwrap_err();
    for problem in [
        "not left the alternate screen",
        "not shown the cursor",
        "still on the alternate screen",
        "cursor is still hidden",
        "bracketed paste is still on",
        "raw mode is still on: ICANON, ECHO",
    ] {
        assert!(e.contains(problem), "{problem:?} not in:\n{e}");
    }
}

#[test]
fn exit_codes_and_signals_are_told_apart() {
    let mut t = sh("exit 3");
    assert_eq!(t.wait_status(DEFAULT_TIMEOUT), Some(Exit::Code(3)));

    let mut t = sh("echo up; exec sleep 30");
    t.expect_screen("up");
    t.kill9();
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(-9));
    assert_eq!(t.exit(), Some(Exit::Signal(libc::SIGKILL)));
    // Signalling a program that has ended does nothing.
    t.signal(libc::SIGTERM);

    let mut t = sh("echo up; exec sleep 30");
    t.expect_screen("up");
    assert_eq!(t.wait_exit(Duration::from_millis(200)), None);
    t.signal(libc::SIGTERM);
    assert_eq!(
        t.wait_status(DEFAULT_TIMEOUT),
        Some(Exit::Signal(libc::SIGTERM))
    );
}

#[test]
fn dropping_a_term_kills_the_program_and_what_it_started() {
    let t = sh("sleep 30 & echo \"child $!\"; wait");
    t.expect_screen("child ");
    let line = t
        .screen()
        .lines()
        .find(|l| l.starts_with("child "))
        .unwrap()
        .to_owned();
    let grandchild: u32 = line["child ".len()..].parse().unwrap();
    let pid = t.pid();
    drop(t);
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    while alive(pid) || alive(grandchild) {
        assert!(
            Instant::now() < deadline,
            "{pid} or {grandchild} still runs"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

#[test]
fn a_failed_wait_shows_the_screen_and_ends_early_when_the_program_is_gone() {
    let mut t = sh("echo hello from sh");
    let started = Instant::now();
    let e = t.wait_for("goodbye", DEFAULT_TIMEOUT).unwrap_err();
    assert!(started.elapsed() < DEFAULT_TIMEOUT / 2, "{e}");
    assert!(e.contains("\"goodbye\""), "{e}");
    assert!(e.contains("output ended"), "{e}");
    assert!(e.contains("  0 |hello from sh"), "{e}");
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));

    let t = sh("echo hello; sleep 30");
    let e = t
        .wait_for("goodbye", Duration::from_millis(300))
        .unwrap_err();
    assert!(e.contains("300ms passed"), "{e}");
    ok(t.wait_gone("goodbye", DEFAULT_TIMEOUT));
}

#[test]
fn working_folder_and_environment() {
    let dir = std::env::temp_dir();
    let mut t = Term::program("/bin/sh")
        .args(&[
            "-c",
            "pwd; echo \"[$TERM] [$LANG] [$LC_ALL] [$TZ] [$NO_COLOR] [$HOME]\"",
        ])
        .cwd(&dir)
        .env("LC_ALL", "C")
        .size(132, 10)
        .spawn();
    assert_eq!(t.wait_exit(DEFAULT_TIMEOUT), Some(0));
    assert_eq!(t.row(0), dir.canonicalize().unwrap().display().to_string());
    let home = t.home().display().to_string();
    assert_eq!(
        t.row(1),
        format!("[xterm-256color] [C.UTF-8] [C] [UTC] [] [{home}]")
    );
    assert!(t.home().is_dir());
    assert_eq!(t.cursor(), (2, 0));
}
