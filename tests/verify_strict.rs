//! `verify` is as strict as opening a session: a well-chained line whose `kind` this version
//! does not know, or whose `data` (or any other member) does not decode, is refused by verify,
//! by the scanner and by `Session::open` alike; a line one byte over the writer's limit is
//! refused; a signature file without a signed seal fails verification; and a damaged journal
//! does not pass for an unsealed one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use chrono::{FixedOffset, TimeZone as _, Utc};
use custody::journal::event::{Mode, NoteAdded};
use custody::journal::reader::{Problem, ProblemKind, ReadAhead, ScanError, Scanner};
use custody::journal::sign::{SignatureCheck, Signer};
use custody::journal::verify::{Sealing, Signature};
use custody::journal::writer::{MAX_LINE, WriteError, Writer};
use custody::journal::{self, Actor, Body, Digest, Draft, Role};
use custody::session::{Action, Session};

/// An open session a few events long; returns its folder.
fn open_session(name: &str) -> PathBuf {
    let dir = common::temp_dir(name);
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    for _ in 0..4 {
        let action = common::next_action(&s, 0).unwrap();
        clock.advance(chrono::Duration::seconds(61));
        s.apply(action).unwrap();
    }
    s.folder().to_owned()
}

/// A sealed session, signed with a fresh key when `sign`; returns its folder and the public
/// key file.
fn sealed_session(name: &str, sign: bool) -> (PathBuf, PathBuf) {
    let folder = open_session(name);
    let keys = folder.parent().unwrap().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let minisign::KeyPair { pk, sk } = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let (sk_path, pk_path) = (keys.join("k.key"), keys.join("k.pub"));
    std::fs::write(&sk_path, sk.to_box(None).unwrap().to_string()).unwrap();
    std::fs::write(&pk_path, pk.to_box().unwrap().to_string()).unwrap();
    let signer = Signer::load(&sk_path).unwrap();
    let mut s = Session::open(&folder, false, common::clock()).unwrap();
    s.seal(Some("done".into()), sign.then_some(&signer))
        .unwrap();
    (folder, pk_path)
}

/// The journal's lines, each without its newline.
fn lines(folder: &Path) -> Vec<String> {
    String::from_utf8(common::journal_bytes(folder))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn hash_of(line: &str) -> Digest {
    Digest::from_hex(&line[line.len() - 66..line.len() - 2]).unwrap()
}

/// A line that chains after `prev` as event `seq`, with the `kind` and `data` given as JSON
/// text, and the right hash: only its content can be wrong.
fn chained(seq: u64, prev: Digest, kind: &str, data: &str) -> String {
    let unhashed = format!(
        "{{\"seq\":{seq},\"time\":\"2026-11-23T10:00:00.000000Z\",\"offset\":\"+01:00\",\
         \"actor\":{{\"role\":\"operator\",\"name\":\"A. Jansen\"}},\"step\":null,\
         \"kind\":{kind},\"data\":{data},\"prev\":\"{prev}\"}}"
    );
    let hash = Digest::of(unhashed.as_bytes());
    format!("{},\"hash\":\"{hash}\"}}", &unhashed[..unhashed.len() - 1])
}

/// Writes `lines` as the journal, each line rehashed and rechained after the first `from`
/// ones (which are kept as they are), so that only their content can be wrong.
fn write_rechained(folder: &Path, lines: &[String], from: usize) {
    let mut out = String::new();
    let mut prev = Digest::ZERO;
    for (i, line) in lines.iter().enumerate() {
        let line = if i < from {
            line.clone()
        } else {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            chained(
                i as u64 + 1,
                prev,
                &value["kind"].to_string(),
                &value["data"].to_string(),
            )
        };
        prev = hash_of(&line);
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(folder.join("journal.jsonl"), out).unwrap();
}

/// Appends a chained line to the journal.
fn append(folder: &Path, kind: &str, data: &str) -> u64 {
    let all = lines(folder);
    let seq = all.len() as u64 + 1;
    let line = chained(seq, hash_of(all.last().unwrap()), kind, data);
    let mut bytes = common::journal_bytes(folder);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    std::fs::write(folder.join("journal.jsonl"), bytes).unwrap();
    seq
}

/// The first problem the plain scanner and the read-ahead scanner find, which must agree.
fn scan(bytes: &[u8]) -> Option<Problem> {
    let mut plain = Scanner::new(bytes);
    let found = loop {
        match plain.next_link() {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(ScanError::Bad(p)) => break Some(p),
            Err(ScanError::Io(e)) => panic!("{e}"),
        }
    };
    let mut ahead = ReadAhead::new(std::io::Cursor::new(bytes.to_vec()));
    let ahead_found = loop {
        match ahead.next_link() {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(ScanError::Bad(p)) => break Some(p),
            Err(ScanError::Io(e)) => panic!("{e}"),
        }
    };
    assert_eq!(found, ahead_found, "the two scanners disagree");
    found
}

/// Checks that verify, both scanners and `Session::open` refuse the journal at event `seq`,
/// with a message containing `says`.
fn refused_everywhere(folder: &Path, seq: u64, says: &str) {
    let v = journal::verify(folder, None, None).unwrap();
    assert!(!v.intact(), "verify accepted it");
    let p = v.problem.clone().expect("verify names a problem");
    assert_eq!(p.seq, seq, "{}", p.describe());
    assert!(matches!(p.kind, ProblemKind::Changed(_)), "{p:?}");
    assert!(p.describe().contains(says), "{}", p.describe());
    assert_eq!(v.events, seq - 1, "the events before it are good");
    assert_eq!(scan(&common::journal_bytes(folder)), Some(p.clone()));
    let err = Session::open(folder, false, common::clock()).expect_err("opening refuses it");
    assert!(err.to_string().contains(says), "{err}");
}

#[test]
fn an_unknown_kind_is_refused_by_verify_and_open_alike() {
    let folder = open_session("strict-kind");
    assert!(journal::verify(&folder, None, None).unwrap().intact());
    let seq = append(&folder, "\"note_edited\"", "{\"text\":\"x\"}");
    refused_everywhere(
        &folder,
        seq,
        "is a `note_edited` event, which this version of custody does not know: it was \
         written by a newer version or changed",
    );
}

#[test]
fn an_unknown_kind_in_the_middle_is_named_there() {
    let folder = open_session("strict-kind-middle");
    let mut all = lines(&folder);
    all[2] = all[2].replacen(r#""kind":""#, r#""kind":"x_"#, 1);
    write_rechained(&folder, &all, 2);
    refused_everywhere(&folder, 3, "which this version of custody does not know");
}

#[test]
fn data_that_does_not_decode_is_refused_by_verify_and_open_alike() {
    for (i, (kind, data)) in [
        ("\"note_added\"", "{\"txt\":\"a member is missing\"}"),
        ("\"note_added\"", "{\"text\":42}"),
        ("\"note_added\"", "null"),
        ("\"step_completed\"", "{\"next\":[\"a\"]}"),
        ("\"item_confirmed\"", "{\"item\":-1,\"text\":\"t\"}"),
        (
            "\"deadline_passed\"",
            "{\"deadline\":\"d\",\"label\":\"l\",\"due\":\"tomorrow\"}",
        ),
        ("\"paused\"", "\"no object\""),
    ]
    .into_iter()
    .enumerate()
    {
        let folder = open_session(&format!("strict-data-{i}"));
        let seq = append(&folder, kind, data);
        let kind = kind.trim_matches('"');
        refused_everywhere(
            &folder,
            seq,
            &format!("is not a well-formed `{kind}` event"),
        );
    }
}

#[test]
fn other_members_that_do_not_decode_are_refused_too() {
    let folder = open_session("strict-members");
    let mut all = lines(&folder);
    all[3] = all[3].replacen(r#""offset":"+01:00""#, r#""offset":"+1:00""#, 1);
    let mut prev = hash_of(&all[2]);
    // Rehash by hand: the line keeps its members in order, only the offset is wrong.
    for line in &mut all[3..] {
        let unhashed = format!(
            "{}\"{prev}\"}}",
            &line[..line.find(r#""prev":"#).unwrap() + 7]
        );
        let hash = Digest::of(unhashed.as_bytes());
        *line = format!("{},\"hash\":\"{hash}\"}}", &unhashed[..unhashed.len() - 1]);
        prev = hash;
    }
    std::fs::write(folder.join("journal.jsonl"), all.join("\n") + "\n").unwrap();
    refused_everywhere(&folder, 4, "is not a well-formed `");
}

#[test]
fn a_chain_problem_is_named_before_a_decoding_problem() {
    let folder = open_session("strict-order");
    let all = lines(&folder);
    // Numbered wrong and with bad data: the number is what is reported (rule 5 comes first).
    let line = chained(9, hash_of(all.last().unwrap()), "\"note_added\"", "{}");
    let mut bytes = common::journal_bytes(&folder);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    std::fs::write(folder.join("journal.jsonl"), bytes).unwrap();
    refused_everywhere(&folder, all.len() as u64 + 1, "is numbered 9 where");
}

/// A note whose line (newline included) is exactly `len` bytes long, as event 2 after `prev`.
fn note_of_length(len: usize, prev: Digest) -> (Draft, Vec<u8>) {
    let draft = |text: String| Draft {
        time: Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
        offset: FixedOffset::east_opt(3600).unwrap(),
        actor: Actor::person(Role::Operator, "A. Jansen"),
        step: None,
        body: Body::NoteAdded(NoteAdded { text }),
    };
    let (empty, _) = draft(String::new()).seal(2, prev).unwrap();
    let text = "n".repeat(len - empty.len());
    let (line, _) = draft(text.clone()).seal(2, prev).unwrap();
    assert_eq!(line.len(), len);
    (draft(text), line)
}

#[test]
fn the_line_limit_is_the_writers_to_the_byte() {
    let folder = open_session("strict-limit");
    let first = lines(&folder).remove(0);
    let prev = hash_of(&first);
    let head = format!("{first}\n").into_bytes();
    let journal = folder.join("journal.jsonl");

    // The longest line the writer writes is read.
    let (draft, line) = note_of_length(MAX_LINE, prev);
    let scratch = || std::fs::File::create(folder.join("scratch.jsonl")).unwrap();
    let mut writer = Writer::new(scratch(), 0, 1, prev);
    writer
        .append(draft)
        .expect("the writer writes a line of MAX_LINE bytes");
    std::fs::write(&journal, [&head[..], &line].concat()).unwrap();
    assert_eq!(scan(&[&head[..], &line].concat()), None);
    let v = journal::verify(&folder, None, None).unwrap();
    assert_eq!((v.problem, v.events), (None, 2));

    // One byte more, which the writer refuses, is refused: newline or not.
    let (draft, line) = note_of_length(MAX_LINE + 1, prev);
    let mut writer = Writer::new(scratch(), 0, 1, prev);
    assert!(matches!(
        writer.append(draft),
        Err(WriteError::TooLarge { size }) if size == MAX_LINE + 1
    ));
    for tail in [&line[..], &line[..line.len() - 1], &line[..MAX_LINE]] {
        let bytes = [&head[..], tail].concat();
        std::fs::write(&journal, &bytes).unwrap();
        let v = journal::verify(&folder, None, None).unwrap();
        let p = v.problem.expect("a line over the limit is refused");
        assert_eq!((p.seq, p.offset), (2, head.len() as u64));
        assert!(
            p.describe()
                .contains(&format!("is longer than {MAX_LINE} bytes")),
            "{}",
            p.describe()
        );
        assert!(!p.is_torn());
        assert_eq!(scan(&bytes), Some(p));
    }
    // Without its newline and shorter than that, the line is a torn write.
    let bytes = [&head[..], &line[..MAX_LINE - 1]].concat();
    std::fs::write(&journal, &bytes).unwrap();
    let p = journal::verify(&folder, None, None)
        .unwrap()
        .problem
        .unwrap();
    assert!(p.is_torn(), "{}", p.describe());
    assert_eq!(scan(&bytes), Some(p));
}

/// The folder's signature check, expecting it flagged as a signature without a signed seal.
fn flagged_without_signed_seal(folder: &Path, key: Option<&Path>) {
    let key = key.map(|k| k.to_str().unwrap());
    let v = journal::verify(folder, key, None).unwrap();
    assert!(!v.intact(), "{:?}", v.signature);
    match &v.signature {
        Signature::Checked(SignatureCheck::Invalid(why)) => {
            assert!(
                why.contains(
                    "a signature file (journal.jsonl.minisig) exists but there is no signed seal"
                ),
                "{why}"
            );
        }
        other => panic!("not flagged: {other:?}"),
    }
}

#[test]
fn a_signature_without_a_signed_seal_is_flagged() {
    let (signed, key) = sealed_session("strict-sig", true);
    let v = journal::verify(&signed, Some(key.to_str().unwrap()), None).unwrap();
    assert!(v.intact(), "{:?} {:?}", v.problem, v.signature);
    assert!(matches!(v.sealing(), Sealing::Sealed { .. }));
    let signature = std::fs::read(signed.join("journal.jsonl.minisig")).unwrap();

    // The seal cut off (the journal is a valid, shorter chain): with and without a key.
    let all = lines(&signed);
    std::fs::write(
        signed.join("journal.jsonl"),
        all[..all.len() - 1].join("\n") + "\n",
    )
    .unwrap();
    let v = journal::verify(&signed, None, None).unwrap();
    assert!(v.problem.is_none());
    assert_eq!(v.sealing(), Sealing::Open);
    flagged_without_signed_seal(&signed, None);
    flagged_without_signed_seal(&signed, Some(&key));

    // Never sealed, with a signature file put beside it.
    let open = open_session("strict-sig-open");
    std::fs::write(open.join("journal.jsonl.minisig"), &signature).unwrap();
    flagged_without_signed_seal(&open, None);

    // Sealed without a key, with a signature file put beside it.
    let (unsigned, _) = sealed_session("strict-sig-unsigned", false);
    assert!(journal::verify(&unsigned, None, None).unwrap().intact());
    std::fs::write(unsigned.join("journal.jsonl.minisig"), &signature).unwrap();
    flagged_without_signed_seal(&unsigned, None);
    flagged_without_signed_seal(&unsigned, Some(&key));
}

#[test]
fn a_journal_damaged_before_its_seal_is_of_unknown_sealing() {
    let (folder, _) = sealed_session("strict-damaged", true);
    let mut bytes = common::journal_bytes(&folder);
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    std::fs::write(folder.join("journal.jsonl"), &bytes).unwrap();
    let v = journal::verify(&folder, None, None).unwrap();
    assert!(v.problem.is_some());
    assert!(v.sealed.is_none());
    assert_eq!(v.sealing(), Sealing::Unknown);
    assert!(
        !v.notes.iter().any(|n| n.contains("not sealed")),
        "{:?}",
        v.notes
    );
    flagged_without_signed_seal(&folder, None);

    // A torn last line is open, not unknown: it was never acknowledged.
    let open = open_session("strict-torn");
    let bytes = common::journal_bytes(&open);
    std::fs::write(open.join("journal.jsonl"), &bytes[..bytes.len() - 5]).unwrap();
    let v = journal::verify(&open, None, None).unwrap();
    assert!(v.problem.as_ref().is_some_and(Problem::is_torn));
    assert_eq!(v.sealing(), Sealing::Open);
}

#[test]
fn verify_reads_every_kind_and_its_times() {
    // A whole runbook walked and sealed: every event decodes, times run first to last.
    let dir = common::temp_dir("strict-walk");
    let clock = common::clock();
    let mut s = Session::create(
        &dir,
        &common::start("csam-discovery", Mode::Exercise),
        &clock,
    )
    .unwrap();
    let events = common::walk(&mut s, &clock, 1);
    let seal = s
        .apply(Action::Seal {
            note: None,
            signed_by: None,
        })
        .unwrap();
    let v = journal::verify(s.folder(), None, None).unwrap();
    assert!(v.intact(), "{:?}", v.problem);
    assert_eq!(v.events, events.len() as u64 + 2);
    assert_eq!(v.last_time, Some(seal.time));
    assert_eq!(v.last_kind.as_deref(), Some("sealed"));
    assert_eq!(v.final_hash, seal.hash);
}

/// A journal written in a newer format than this version reads: its chain may check out, but
/// verify does not call it intact and says to use a newer custody (opening refuses it too).
#[test]
fn a_newer_journal_format_is_not_called_intact() {
    let folder = open_session("verify-newer-format");
    rewrite_first_event(&folder, |s| s.format = journal::event::JOURNAL_FORMAT + 1);

    let v = journal::verify(&folder, None, None).unwrap();
    assert!(v.problem.is_none(), "the chain itself checks out");
    assert_eq!(v.newer_format, Some(journal::event::JOURNAL_FORMAT + 1));
    assert!(!v.intact());
    assert!(v.notes.iter().any(|n| n.contains("newer")), "{:?}", v.notes);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .arg("verify")
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("newer than this custody reads"), "{stdout}");
    assert!(Session::open(&folder, false, common::clock()).is_err());
}

/// Rewrites the first event with `change`, rechaining the journal so that only its content can
/// be wrong.
fn rewrite_first_event(folder: &Path, change: impl FnOnce(&mut journal::event::SessionStarted)) {
    let handle = std::fs::File::open(folder.join("journal.jsonl")).unwrap();
    let events = Scanner::new(std::io::BufReader::new(handle))
        .read_all()
        .unwrap();
    let mut change = Some(change);
    let mut prev = Digest::ZERO;
    let mut out = Vec::new();
    for mut event in events {
        if let Body::SessionStarted(s) = &mut event.body
            && let Some(change) = change.take()
        {
            change(s);
        }
        let (line, sealed) = Draft {
            time: event.time,
            offset: event.offset,
            actor: event.actor,
            step: event.step,
            body: event.body,
        }
        .seal(event.seq, prev)
        .unwrap();
        prev = sealed.hash;
        out.extend_from_slice(&line);
    }
    std::fs::write(folder.join("journal.jsonl"), out).unwrap();
}

/// Found while writing the fuzz targets: a journal whose first event named a fifo as its
/// runbook copy made `custody verify` wait for ever, and a path outside the folder was read.
/// A copy must be a plain file name in the session folder and a regular file; anything else is
/// reported as the copy missing, at once, by verify, by opening and by the report.
#[test]
fn a_runbook_copy_that_is_not_a_plain_file_in_the_folder_is_never_read() {
    let outside = common::temp_dir("verify-copy-outside").join("runbook.toml");
    std::fs::write(&outside, b"[runbook]\n").unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("fifo", "fifo".to_owned()),
        ("link", "link".to_owned()),
        ("absolute path", outside.display().to_string()),
        ("parent folder", "../runbook.toml".to_owned()),
        ("sub-folder", "evidence/runbook.toml".to_owned()),
        ("device", "/dev/zero".to_owned()),
    ];
    for (what, file) in cases {
        let folder = open_session("verify-copy");
        let fifo = folder.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        std::os::unix::fs::symlink(folder.join("runbook.toml"), folder.join("link")).unwrap();
        std::fs::copy(folder.join("runbook.toml"), folder.join("../runbook.toml")).unwrap();
        rewrite_first_event(&folder, |s| file.clone_into(&mut s.runbook.file));

        // In a thread of its own, so that a hang (a fifo waited on, a device read for ever) is
        // reported as such instead of holding up the test run.
        let (done, finished) = std::sync::mpsc::channel();
        let checked = folder.clone();
        let what_ = what.to_owned();
        std::thread::spawn(move || {
            let (what, folder) = (what_, checked);
            let v = journal::verify(&folder, None, None).unwrap();
            assert!(v.problem.is_none(), "{what}: the chain is whole");
            assert!(!v.intact(), "{what}: verify called it intact");
            let custody::journal::verify::RunbookCheck::Missing(why) = &v.runbook else {
                panic!("{what}: {:?}", v.runbook);
            };
            assert!(
                why.contains("not a file name in the session folder")
                    || why.contains("not a regular file")
                    || why.contains("symbolic link")
                    || why.contains("too many levels"),
                "{what}: {why}"
            );
            let err = Session::open(&folder, false, common::clock()).expect_err("opening refuses");
            assert!(err.to_string().contains("runbook copy"), "{what}: {err}");
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
                .args(["report", "--format", "md", "-o", "-", "--damaged"])
                .arg(&folder)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(text.contains("MISSING"), "{what}: {text}");
            done.send(()).unwrap();
        });
        match finished.recv_timeout(std::time::Duration::from_mins(2)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: see above"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("{what}: hung"),
        }
    }
}
