//! The journal shows any change: every flipped byte is found and the first bad event named; a
//! torn tail is found at every cut position and can be recovered, with the torn bytes kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use custody::journal::event::Mode;
use custody::journal::reader::{ProblemKind, ScanError, Scanner};
use custody::journal::{self, Body};
use custody::session::{Action, Session};

/// A small, complete, sealed journal (the hotline notice runbook walked to its end).
fn small_journal() -> (PathBuf, Vec<u8>) {
    let dir = common::temp_dir("integrity");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    common::walk(&mut s, &clock, 0);
    s.apply(Action::Seal {
        note: Some("done".into()),
        signed_by: None,
    })
    .unwrap();
    let folder = s.folder().to_owned();
    let bytes = common::journal_bytes(&folder);
    (folder, bytes)
}

/// Line start offsets, and the number of the event each line holds.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' && i + 1 < bytes.len() {
            starts.push(i + 1);
        }
    }
    starts
}

/// Scans to the end: `Ok(events)` or the first problem.
fn scan(bytes: &[u8]) -> Result<u64, journal::reader::Problem> {
    let mut s = Scanner::new(bytes);
    loop {
        match s.next_link() {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(s.events()),
            Err(ScanError::Bad(p)) => return Err(p),
            Err(ScanError::Io(e)) => panic!("{e}"),
        }
    }
}

#[test]
fn every_flipped_byte_is_found_and_the_first_bad_event_named() {
    let (_, bytes) = small_journal();
    let starts = line_starts(&bytes);
    assert!(
        bytes.len() > 2_000,
        "a journal of some size: {}",
        bytes.len()
    );
    let mut checked = 0;
    for i in 0..bytes.len() {
        // The lowest bit of every byte; other bits of every seventh.
        let masks: &[u8] = if i % 7 == 0 {
            &[0x01, 0x20, 0x80]
        } else {
            &[0x01]
        };
        for &mask in masks {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            let problem = scan(&bad).expect_err("a flipped byte must be found");
            // The event named is the one whose line holds the byte (or, for a flipped newline,
            // the line it ends, which now runs into the next).
            let line = starts.iter().rposition(|s| *s <= i).unwrap();
            let expected_seq = line as u64 + 1;
            assert_eq!(
                problem.seq,
                expected_seq,
                "byte {i} ^ {mask:#x}: {}",
                problem.describe()
            );
            assert_eq!(problem.offset, starts[line] as u64, "byte {i}");
            checked += 1;
        }
    }
    println!(
        "tamper: {checked} of {checked} flipped bits found ({} bytes: every byte, three bits of \
         every seventh), and the first bad event named",
        bytes.len()
    );
}

/// The JSON pointers of every member of a value, nested ones included (objects and arrays are
/// members too, and so is each of their elements).
fn pointers(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, &p, out);
            }
        }
        _ => {}
    }
}

/// Another value of the same kind where there is one (a number one more, a string with a letter
/// more, a hash of something else, the opposite boolean), or an object where there was none.
fn changed_value(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Number(x) => serde_json::json!(x.as_u64().unwrap_or(0) + 1),
        serde_json::Value::String(s) if s.len() == 64 => {
            serde_json::json!(custody::journal::Digest::of(s.as_bytes()).to_hex())
        }
        serde_json::Value::String(s) => serde_json::json!(format!("{s}x")),
        serde_json::Value::Bool(b) => serde_json::json!(!b),
        serde_json::Value::Null => serde_json::json!("x"),
        other => serde_json::json!({ "was": other }),
    }
}

#[test]
fn every_field_of_every_event_changed_is_found() {
    let (_, bytes) = small_journal();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut changed_fields = 0;
    for (n, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut paths = Vec::new();
        pointers(&value, "", &mut paths);
        for path in paths {
            let mut changed = value.clone();
            let target = changed.pointer_mut(&path).unwrap();
            *target = changed_value(target);
            let mut all: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            all[n] = changed.to_string();
            let joined = all.join("\n") + "\n";
            let problem = scan(joined.as_bytes()).expect_err("a changed field must be found");
            assert_eq!(problem.seq, n as u64 + 1, "event {} field {path}", n + 1);
            changed_fields += 1;
        }
    }
    println!(
        "tamper: {changed_fields} of {changed_fields} changed fields (every member of every \
         event, nested ones included) found, and the first bad event named"
    );
}

#[test]
fn removing_reordering_or_joining_events_is_found() {
    let (_, bytes) = small_journal();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let join = |ls: &[&str]| ls.join("\n") + "\n";
    // Remove the second event.
    let mut removed = lines.clone();
    removed.remove(1);
    assert_eq!(scan(join(&removed).as_bytes()).unwrap_err().seq, 2);
    // Swap events 3 and 4.
    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    assert_eq!(scan(join(&swapped).as_bytes()).unwrap_err().seq, 3);
    // Append a copy of the first event after the seal.
    let mut appended = lines.clone();
    appended.push(lines[0]);
    let p = scan(join(&appended).as_bytes()).unwrap_err();
    assert_eq!(p.seq, lines.len() as u64 + 1);
    assert!(
        p.describe().contains("follows the seal"),
        "{}",
        p.describe()
    );
}

#[test]
fn a_torn_tail_is_found_at_every_cut_position() {
    let (_, bytes) = small_journal();
    let starts = line_starts(&bytes);
    let mut torn = 0;
    for cut in 0..bytes.len() {
        let result = scan(&bytes[..cut]);
        let whole_lines = starts.iter().filter(|s| **s <= cut).count() - 1;
        if starts.contains(&cut) {
            // A cut between lines leaves a shorter valid journal: only a final hash written
            // down (or the seal) shows it, which `verify --expect` checks.
            assert_eq!(result, Ok(whole_lines as u64), "cut at {cut}");
        } else {
            torn += 1;
            let p = result.expect_err("a cut inside a line is torn");
            assert!(
                matches!(p.kind, ProblemKind::Torn { length } if length == (cut - starts[whole_lines]) as u64),
                "cut at {cut}: {}",
                p.describe()
            );
            assert_eq!(p.offset, starts[whole_lines] as u64);
            assert_eq!(p.seq, whole_lines as u64 + 1);
        }
    }
    println!(
        "power cut: {torn} of {torn} cuts inside a line found as torn, at the right event and \
         offset ({} bytes, {} events)",
        bytes.len(),
        starts.len()
    );
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(to.join("evidence")).unwrap();
}

#[test]
fn a_torn_tail_is_refused_until_recovered_and_the_recovery_keeps_the_bytes() {
    // An open (unsealed) session, so that it can go on after recovery.
    let dir = common::temp_dir("torn");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    for _ in 0..5 {
        let a = common::next_action(&s, 0).unwrap();
        s.apply(a).unwrap();
    }
    let folder = s.folder().to_owned();
    drop(s);
    let bytes = common::journal_bytes(&folder);
    let starts = line_starts(&bytes);
    let last = *starts.last().unwrap();
    // Every cut inside the last line, and a sample of cuts inside earlier lines.
    let cuts: Vec<usize> = (last + 1..bytes.len())
        .chain((starts[1] + 1..last).step_by(97))
        .collect();
    let (mut recovered, mut last_line) = (0, 0);
    for cut in cuts {
        if cut > last {
            last_line += 1;
        }
        recovered += 1;
        let copy = common::temp_dir("torn-copy").join("s");
        copy_folder(&folder, &copy);
        std::fs::write(copy.join("journal.jsonl"), &bytes[..cut]).unwrap();
        let whole = starts.iter().filter(|s| **s <= cut).count() - 1;
        let good_len = starts[whole];
        // Opening without recovery is refused and changes nothing.
        let err = Session::open(&copy, false, &clock).unwrap_err();
        assert!(err.to_string().contains("torn"), "cut {cut}: {err}");
        assert_eq!(
            std::fs::read(copy.join("journal.jsonl")).unwrap(),
            &bytes[..cut]
        );
        // Recovery sets the bytes aside, journals it, and the chain is whole again.
        let mut s = Session::open(&copy, true, &clock).unwrap();
        let event = s.recovered().cloned().expect("a recovered event");
        let Body::Recovered(r) = &event.body else {
            panic!()
        };
        assert_eq!(r.offset, good_len as u64);
        assert_eq!(r.length, (cut - good_len) as u64);
        let kept = std::fs::read(copy.join(&r.saved_as)).unwrap();
        assert_eq!(kept, &bytes[good_len..cut], "the torn bytes are kept");
        assert_eq!(r.sha256, custody::journal::Digest::of(&kept));
        assert_eq!(event.seq, whole as u64 + 1);
        // Earlier events are untouched.
        let now = common::journal_bytes(&copy);
        assert_eq!(&now[..good_len], &bytes[..good_len]);
        s.apply(Action::Resume).unwrap();
        drop(s);
        let v = journal::verify(&copy, None, None).unwrap();
        assert!(v.intact(), "cut {cut}: {:?}", v.problem);
        assert_eq!(v.recoveries, 1);
    }
    println!(
        "power cut: {recovered} of {recovered} torn journals recovered through a journaled \
         recovery ({last_line} cuts at every byte of the last line), no earlier byte changed"
    );
}

#[test]
fn a_changed_journal_cannot_be_opened_or_recovered() {
    let (folder, bytes) = small_journal();
    let mut bad = bytes.clone();
    let at = bytes.len() / 2;
    bad[at] ^= 0x02;
    std::fs::write(folder.join("journal.jsonl"), &bad).unwrap();
    let clock = common::clock();
    for recover in [false, true] {
        let err = Session::open(&folder, recover, &clock).unwrap_err();
        assert!(
            err.to_string().contains("changed") || err.to_string().contains("event"),
            "{err}"
        );
    }
    assert_eq!(
        common::journal_bytes(&folder),
        bad,
        "nothing was changed by trying"
    );
}

#[test]
fn a_changed_runbook_copy_is_found() {
    let (folder, _) = small_journal();
    let path = folder.join("runbook.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n# a comment added later\n");
    std::fs::write(&path, text).unwrap();
    let v = journal::verify(&folder, None, None).unwrap();
    assert!(v.problem.is_none());
    assert!(!v.intact());
    assert!(matches!(
        v.runbook,
        custody::journal::verify::RunbookCheck::Changed { .. }
    ));
}
