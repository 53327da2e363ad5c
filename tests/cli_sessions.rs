//! The session commands through the real binary: `verify` (exit 0/1/2, the first bad event and
//! its byte offset, the final hash), `sessions`, `seal` with a minisign key that the standard
//! `minisign` tool accepts, and `recover`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use custody::journal::event::Mode;
use custody::session::{Action, Session};

fn custody(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(args)
        .env_remove("CUSTODY_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// A walked (unsealed) session; returns (sessions dir, folder, last hash).
fn session(runbook: &str, seal: bool) -> (PathBuf, PathBuf, String) {
    let dir = common::temp_dir("cli");
    let clock = common::clock();
    let mut s = Session::create(&dir, &common::start(runbook, Mode::Real), &clock).unwrap();
    common::walk(&mut s, &clock, 0);
    if seal {
        s.apply(Action::Seal {
            note: None,
            signed_by: None,
        })
        .unwrap();
    }
    let hash = s.state().last_hash.to_hex();
    (dir, s.folder().to_owned(), hash)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn verify_an_intact_journal_prints_the_final_hash_and_exits_0() {
    let (dir, folder, hash) = session("hotline-notice", true);
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("INTACT"), "{out}");
    assert!(out.contains(&format!("final hash: {hash}")), "{out}");
    // The journal path and the id under --dir work too.
    let o = custody(&["verify", p(&folder.join("journal.jsonl"))]);
    assert_eq!(code(&o), 0);
    let id = folder.file_name().unwrap().to_str().unwrap();
    let o = custody(&["verify", id, "--dir", p(&dir)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let json: serde_json::Value =
        serde_json::from_slice(&custody(&["verify", p(&folder), "--json"]).stdout).unwrap();
    assert_eq!(json["intact"], true);
    assert_eq!(json["final_hash"], hash.as_str());
}

#[test]
fn verify_names_the_first_changed_event_and_its_byte_offset() {
    let (_, folder, _) = session("hotline-notice", false);
    let journal = folder.join("journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    // Change a letter inside event 4.
    let at = starts[3] + 40;
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&journal, &bytes).unwrap();
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains(&format!("CHANGED: event 4 (at byte {})", starts[3])),
        "{out}"
    );
    assert!(out.contains("last good hash (event 3)"), "{out}");
    assert!(
        out.contains("sealed     unknown (the journal is damaged before any seal)"),
        "{out}"
    );
}

#[test]
fn verify_reports_a_torn_tail_and_recover_sets_it_aside() {
    let (_, folder, _) = session("hotline-notice", false);
    let journal = folder.join("journal.jsonl");
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..bytes.len() - 10]).unwrap();
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("TORN"), "{}", text(&o));
    assert!(text(&o).contains("custody recover"), "{}", text(&o));
    // Sealing is refused until the torn line is dealt with.
    let o = custody(&["seal", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("custody recover"), "{}", text(&o));
    let o = custody(&["recover", p(&folder)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("torn bytes from offset"), "{}", text(&o));
    assert_eq!(code(&custody(&["verify", p(&folder)])), 0);
    let o = custody(&["recover", p(&folder)]);
    assert_eq!(code(&o), 0);
    assert!(text(&o).contains("Nothing to recover"), "{}", text(&o));
}

#[test]
fn a_changed_journal_is_not_recovered() {
    let (_, folder, _) = session("hotline-notice", false);
    let journal = folder.join("journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&journal, &bytes).unwrap();
    let o = custody(&["recover", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);
}

#[test]
fn verify_exits_2_when_there_is_nothing_to_read() {
    let dir = common::temp_dir("cli-missing");
    let o = custody(&["verify", p(&dir.join("nope"))]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("custody sessions"), "{}", text(&o));
    let o = custody(&["verify", p(&dir)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn verify_expect_checks_a_hash_written_down_earlier() {
    let dir = common::temp_dir("cli-expect");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    let early = s.state().last_hash.to_hex();
    common::walk(&mut s, &clock, 0);
    let folder = s.folder().to_owned();
    drop(s);
    assert_eq!(
        code(&custody(&["verify", p(&folder), "--expect", &early])),
        0
    );
    let other = custody::journal::Digest::of(b"other").to_hex();
    let o = custody(&["verify", p(&folder), "--expect", &other]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("NOT FOUND"), "{}", text(&o));
    assert_eq!(
        code(&custody(&["verify", p(&folder), "--expect", "abc"])),
        2
    );
    // Events removed from the end of an open journal are caught only this way.
    let journal = folder.join("journal.jsonl");
    let bytes = std::fs::read(&journal).unwrap();
    let v = custody::journal::verify(&folder, None, None).unwrap();
    let last = v.final_hash.to_hex();
    let cut = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&journal, &bytes[..cut]).unwrap();
    assert_eq!(code(&custody(&["verify", p(&folder)])), 0);
    assert_eq!(
        code(&custody(&["verify", p(&folder), "--expect", &last])),
        1
    );
}

#[test]
fn sessions_lists_every_session_with_its_state() {
    let dir = common::temp_dir("cli-list");
    let clock = common::clock();
    let mut open =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    open.apply(Action::Note { text: "x".into() }).unwrap();
    let mut sealed = Session::create(
        &dir,
        &common::start("police-request", Mode::Exercise),
        &clock,
    )
    .unwrap();
    sealed
        .apply(Action::Seal {
            note: None,
            signed_by: None,
        })
        .unwrap();
    let (open_id, sealed_id) = (
        open.state().started.session.clone(),
        sealed.state().started.session.clone(),
    );
    drop((open, sealed));
    let o = custody(&["sessions", "--dir", p(&dir)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = text(&o);
    let row = |id: &str| out.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
    assert!(row(&open_id).contains(" open "), "{out}");
    assert!(row(&open_id).contains("real"), "{out}");
    assert!(row(&sealed_id).contains(" sealed "), "{out}");
    assert!(row(&sealed_id).contains("exercise"), "{out}");
    assert!(row(&sealed_id).contains("CASE-2026-0"), "{out}");
    let o = custody(&["sessions", "--dir", p(&dir), "--json"]);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .any(|r| r["state"] == "sealed" && r["mode"] == "exercise")
    );
    // An empty or missing folder is not an error.
    let o = custody(&["sessions", "--dir", p(&dir.join("none"))]);
    assert_eq!(code(&o), 0);
}

/// An unencrypted minisign key pair in `dir`: (secret key file, public key file).
fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let minisign::KeyPair { pk, sk } = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let sk_path = dir.join(format!("{name}.key"));
    let pk_path = dir.join(format!("{name}.pub"));
    std::fs::write(&sk_path, sk.to_box(None).unwrap().to_string()).unwrap();
    std::fs::write(&pk_path, pk.to_box().unwrap().to_string()).unwrap();
    (sk_path, pk_path)
}

fn minisign_tool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("minisign"))
            .find(|p| p.is_file())
    });
    assert!(
        found.is_some() || std::env::var_os("CUSTODY_REQUIRE_MINISIGN").is_none(),
        "CUSTODY_REQUIRE_MINISIGN is set but the minisign tool is not installed"
    );
    found
}

#[test]
fn a_signed_seal_is_checked_by_custody_and_by_the_minisign_tool() {
    let (_, folder, _) = session("hotline-notice", false);
    let keys = common::temp_dir("keys");
    let (sk, pk) = key_pair(&keys, "custody");
    let (_, other_pk) = key_pair(&keys, "other");
    let o = custody(&[
        "seal",
        p(&folder),
        "--sign",
        p(&sk),
        "--note",
        "handed over",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let signature = folder.join("journal.jsonl.minisig");
    assert!(signature.is_file());
    // custody, with the right key, with the key the seal names, with another key.
    let o = custody(&["verify", p(&folder), "--pubkey", p(&pk)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("signature  valid"), "{}", text(&o));
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("the key the seal names"), "{}", text(&o));
    let o = custody(&["verify", p(&folder), "--pubkey", p(&other_pk)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("INVALID"), "{}", text(&o));
    // The standard tool agrees, and shows the final hash in the trusted comment.
    if let Some(tool) = minisign_tool() {
        let o = Command::new(&tool)
            .args(["-Vm", p(&folder.join("journal.jsonl")), "-p", p(&pk)])
            .output()
            .unwrap();
        assert!(o.status.success(), "minisign: {}", text(&o));
        let v = custody::journal::verify(&folder, None, None).unwrap();
        assert!(
            text(&o).contains(&format!("final hash {}", v.final_hash)),
            "{}",
            text(&o)
        );
        let o = Command::new(&tool)
            .args(["-Vm", p(&folder.join("journal.jsonl")), "-p", p(&other_pk)])
            .output()
            .unwrap();
        assert!(!o.status.success());
    } else {
        eprintln!("minisign is not installed: the check with the standard tool was not run");
    }
    // A signature file removed after a signed seal is missed.
    std::fs::remove_file(&signature).unwrap();
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("MISSING"), "{}", text(&o));
    // ...and can be made again with the same key (as after a crash between seal and signature).
    let o = custody(&["seal", p(&folder), "--sign", p(&sk)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        code(&custody(&["verify", p(&folder), "--pubkey", p(&pk)])),
        0
    );
    // A sealed session cannot be sealed again.
    let o = custody(&["seal", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("already sealed"), "{}", text(&o));
}

#[test]
fn a_password_protected_key_without_a_terminal_is_refused_clearly() {
    let (_, folder, _) = session("hotline-notice", false);
    let keys = common::temp_dir("keys-enc");
    let minisign::KeyPair { sk, .. } =
        minisign::KeyPair::generate_encrypted_keypair(Some("secret".into())).unwrap();
    let sk_path = keys.join("enc.key");
    std::fs::write(&sk_path, sk.to_box(None).unwrap().to_string()).unwrap();
    let o = custody(&["seal", p(&folder), "--sign", p(&sk_path)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("password"), "{}", text(&o));
    // Nothing was sealed.
    let v = custody::journal::verify(&folder, None, None).unwrap();
    assert!(v.sealed.is_none());
}

#[test]
fn a_key_made_by_the_minisign_tool_without_a_password_signs() {
    let Some(tool) = minisign_tool() else {
        eprintln!("minisign is not installed: keys made by the standard tool were not tried");
        return;
    };
    let (_, folder, _) = session("hotline-notice", false);
    let keys = common::temp_dir("keys-tool");
    let (sk, pk) = (keys.join("tool.key"), keys.join("tool.pub"));
    let o = Command::new(&tool)
        .args(["-G", "-W", "-f", "-s", p(&sk), "-p", p(&pk)])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "minisign -G: {}", text(&o));
    let o = custody(&["seal", p(&folder), "--sign", p(&sk)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = custody(&["verify", p(&folder), "--pubkey", p(&pk)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = Command::new(&tool)
        .args(["-Vm", p(&folder.join("journal.jsonl")), "-p", p(&pk)])
        .output()
        .unwrap();
    assert!(o.status.success(), "minisign -V: {}", text(&o));
}

#[test]
fn a_damaged_key_is_refused_as_damaged_and_nothing_is_sealed() {
    let (_, folder, _) = session("hotline-notice", false);
    let keys = common::temp_dir("keys-bad");
    let (sk, _) = key_pair(&keys, "good");
    // Change one byte of the secret key's base64 (inside the key, not the header).
    let key_text = std::fs::read_to_string(&sk).unwrap();
    let mut lines: Vec<String> = key_text.lines().map(str::to_owned).collect();
    let mut key: Vec<char> = lines[1].chars().collect();
    let at = key.len() / 2;
    key[at] = if key[at] == 'A' { 'B' } else { 'A' };
    lines[1] = key.into_iter().collect();
    std::fs::write(&sk, lines.join("\n") + "\n").unwrap();
    let o = custody(&["seal", p(&folder), "--sign", p(&sk)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("damaged"), "{}", text(&o));
    let v = custody::journal::verify(&folder, None, None).unwrap();
    assert!(v.sealed.is_none());
}

#[test]
fn a_torn_first_event_is_not_offered_for_recovery() {
    let (_, folder, _) = session("hotline-notice", false);
    let journal = folder.join("journal.jsonl");
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..100]).unwrap();
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("never started"), "{}", text(&o));
    assert!(!text(&o).contains("custody recover"), "{}", text(&o));
    let o = custody(&["recover", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("never started"), "{}", text(&o));
    assert_eq!(std::fs::read(&journal).unwrap(), &bytes[..100]);
}

#[test]
fn bytes_after_a_seal_are_not_recovered_into_the_journal() {
    let (_, folder, _) = session("hotline-notice", true);
    let journal = folder.join("journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(b"{\"seq\":99,");
    std::fs::write(&journal, &bytes).unwrap();
    let o = custody(&["verify", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("follows the seal"), "{}", text(&o));
    let o = custody(&["recover", p(&folder)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert_eq!(std::fs::read(&journal).unwrap(), bytes, "nothing changed");
}

#[test]
fn a_sessions_folder_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = common::temp_dir("open-sessions-folder");
    let stderr = |dir: &Path| {
        let out = custody(&["sessions", "--dir", p(dir)]);
        assert_eq!(code(&out), 0);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for mode in [0o755, 0o750, 0o704] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let warning = stderr(&dir);
        assert!(
            warning.contains("can be read by other users")
                && warning.contains(&format!("mode {mode:03o}"))
                && warning.contains("chmod 700"),
            "{mode:o}: {warning}"
        );
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(stderr(&dir), "", "a private folder: no warning");
    assert_eq!(
        stderr(&dir.join("not-yet")),
        "",
        "a folder custody will make 0700"
    );
}

#[test]
fn a_second_program_on_an_open_session_is_refused_and_told_who_holds_it() {
    let dir = common::temp_dir("cli-lock");
    let clock = common::clock();
    let s = Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    let folder = s.folder().to_owned();
    let before = common::journal_bytes(&folder);
    // This test process holds the lock; the real binary, another process, asks for it.
    {
        let args = ["seal", p(&folder)];
        let out = custody(&args);
        let said = text(&out);
        assert_ne!(code(&out), 0, "{args:?}: {said}");
        assert!(
            said.contains("in use by custody (pid")
                && said.contains(&std::process::id().to_string())
                && said.contains("close custody there first"),
            "{args:?}: {said}"
        );
    }
    assert_eq!(
        common::journal_bytes(&folder),
        before,
        "nothing was written"
    );
    // Reading needs no lock.
    assert_eq!(code(&custody(&["verify", p(&folder)])), 0);
    drop(s);
    assert_eq!(
        code(&custody(&["seal", p(&folder)])),
        0,
        "free once the holder is gone"
    );
}

/// The report written by the seal precedes the seal in the journal, and says so: it does not
/// tell the police that the record "is not sealed" and could still grow. A report made later
/// from the sealed journal says when it was sealed.
#[test]
fn the_report_written_at_the_seal_says_it_was_written_for_the_seal() {
    let (_dir, folder, _) = session("hotline-notice", false);
    let o = custody(&["seal", p(&folder)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let md = std::fs::read_dir(folder.join("report"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .expect("a Markdown report in report/");
    let written = std::fs::read_to_string(md).unwrap();
    assert!(
        written.contains("this report was written as the record was sealed"),
        "{written}"
    );
    assert!(
        written.contains("written as the session was sealed: the seal follows it"),
        "{written}"
    );
    assert!(!written.contains("not sealed"), "{written}");
    assert!(
        !written.contains("events could still be added"),
        "{written}"
    );

    let o = custody(&["report", p(&folder), "--format", "md", "-o", "-"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let later = String::from_utf8(o.stdout).unwrap();
    assert!(later.contains("record sealed at"), "{later}");
    assert!(
        !later.contains("written as the record was sealed"),
        "{later}"
    );
}
