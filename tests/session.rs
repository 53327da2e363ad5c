//! Sessions through the library: the fold gives the live state back, refused actions write
//! nothing, deadlines, the lock, permissions under any umask, a killed writer loses no
//! acknowledged event, and a real short write (file size limit) leaves the journal valid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use custody::journal::event::Mode;
use custody::journal::{self, Body};
use custody::runbook::bundled;
use custody::session::deadline::Status;
use custody::session::{Action, Error, Session, State, StepStatus};

#[test]
fn replaying_the_journal_gives_the_live_state_for_every_runbook_and_branch() {
    for b in bundled::ALL {
        let runbook = b.check().runbook.unwrap();
        let id = runbook.id.as_str();
        let branches = runbook
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                custody::runbook::StepKind::Decision { choices } => Some(choices.len()),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        for choice in 0..branches {
            let dir = common::temp_dir("replay");
            let clock = common::clock();
            let mut s = Session::create(&dir, &common::start(id, Mode::Exercise), &clock).unwrap();
            let mut checkpoints: Vec<State> = vec![s.state().clone()];
            while let Some(action) = common::next_action(&s, choice) {
                clock.advance(chrono::Duration::seconds(61));
                s.apply(action).unwrap();
                checkpoints.push(s.state().clone());
            }
            assert!(s.state().finished, "{id} branch {choice}");
            let folder = s.folder().to_owned();
            drop(s);
            // The whole journal folds to the final live state...
            let reopened = Session::open(&folder, false, &clock).unwrap();
            assert_eq!(reopened.state(), checkpoints.last().unwrap());
            drop(reopened);
            // ...and every prefix of it to the state live at that point.
            let events = journal::reader::Scanner::new(&common::journal_bytes(&folder)[..])
                .read_all()
                .unwrap();
            for (n, live) in checkpoints.iter().enumerate() {
                let replayed = State::replay(&runbook, &events[..=n]).unwrap();
                assert_eq!(&replayed, live, "{id} branch {choice} after {n} events");
            }
        }
    }
}

#[test]
fn a_branch_is_followed_and_the_path_records_it() {
    let dir = common::temp_dir("branch");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    let a = common::walk(&mut s, &clock, 0);
    let dir2 = common::temp_dir("branch");
    let mut t =
        Session::create(&dir2, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    let b = common::walk(&mut t, &clock, 1);
    let path =
        |s: &Session<_>| -> Vec<String> { s.state().path.iter().map(|v| v.step.clone()).collect() };
    assert_ne!(path(&s), path(&t), "two choices must lead different ways");
    assert!(a.iter().any(|e| matches!(e.body, Body::DecisionMade(_))));
    assert!(b.iter().any(|e| matches!(e.body, Body::DecisionMade(_))));
    let skipped_or_upcoming = s
        .state()
        .steps
        .values()
        .filter(|st| st.status == StepStatus::Upcoming)
        .count();
    assert!(
        skipped_or_upcoming > 0,
        "a branch leaves some steps unvisited"
    );
}

#[test]
fn refused_actions_write_nothing_and_say_why() {
    let dir = common::temp_dir("refused");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    let before = common::journal_bytes(s.folder());
    let current = s.current_step().unwrap().id.clone();
    let refusals = [
        (Action::Complete, "confirm every item first"),
        (Action::ConfirmItem { item: 99 }, "the checklist has"),
        (
            Action::Decide {
                choice: "x".into(),
                reason: "r".into(),
            },
            "not a decision",
        ),
        (Action::Note { text: "  ".into() }, "needs some text"),
        (
            Action::Skip {
                reason: String::new(),
            },
            "needs the reason",
        ),
        (
            Action::Revisit {
                step: current.clone(),
                reason: "r".into(),
            },
            "already done or skipped",
        ),
        (
            Action::ReleaseInject {
                inject: "colleague-viewed".into(),
            },
            "this session is real",
        ),
        (
            Action::DeadlinePassed {
                deadline: "report-target".into(),
            },
            "not overdue",
        ),
        (Action::Resume, ""),
    ];
    for (action, why) in refusals {
        if action == Action::Resume {
            continue; // resuming is always allowed; it is not a refusal
        }
        let err = s.apply(action.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::Rejected(m) if m.contains(why)),
            "{action:?}: {err}"
        );
    }
    assert_eq!(common::journal_bytes(s.folder()), before);
    // After sealing nothing is accepted.
    s.apply(Action::Seal {
        note: None,
        signed_by: None,
    })
    .unwrap();
    let err = s
        .apply(Action::Note {
            text: "late".into(),
        })
        .unwrap_err();
    assert!(err.to_string().contains("sealed"), "{err}");
}

#[test]
fn record_fields_are_checked_and_normalised() {
    let dir = common::temp_dir("fields");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    // Walk to the first record step.
    while !matches!(
        s.current_step().unwrap().kind,
        custody::runbook::StepKind::Record { .. }
    ) {
        let action = common::next_action(&s, 0).unwrap();
        s.apply(action).unwrap();
    }
    let Some(Action::Record { values }) = common::next_action(&s, 0) else {
        panic!("a record step");
    };
    let datetime_field = s
        .current_step()
        .and_then(|step| match &step.kind {
            custody::runbook::StepKind::Record { fields, .. } => fields
                .iter()
                .find(|f| f.kind == custody::runbook::FieldKind::Datetime)
                .map(|f| f.id.clone()),
            _ => None,
        })
        .expect("the discovery record has a date-time field");
    let mut bad = values.clone();
    bad.insert(datetime_field.clone(), "yesterday evening".into());
    let err = s.apply(Action::Record { values: bad }).unwrap_err();
    assert!(err.to_string().contains("2026-11-23 09:15 +01:00"), "{err}");
    let mut unknown = values.clone();
    unknown.insert("no-such-field".into(), "x".into());
    assert!(s.apply(Action::Record { values: unknown }).is_err());
    let mut good = values;
    good.insert(datetime_field.clone(), "2026-11-23 08:50+01:00".into());
    let event = s.apply(Action::Record { values: good }).unwrap();
    let Body::FieldsRecorded(f) = &event.body else {
        panic!("fields_recorded");
    };
    assert_eq!(f.values[&datetime_field], "2026-11-23T07:50:00.000000Z");
}

#[test]
fn a_revisit_is_a_new_event_and_the_correction_is_counted() {
    let dir = common::temp_dir("revisit");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    for _ in 0..12 {
        let action = common::next_action(&s, 0).unwrap();
        s.apply(action).unwrap();
    }
    let first = s.state().path[0].step.clone();
    let back = s.current_step().unwrap().id.clone();
    let event = s
        .apply(Action::Revisit {
            step: first.clone(),
            reason: "an item was confirmed by mistake".into(),
        })
        .unwrap();
    assert!(matches!(event.body, Body::StepStarted(_)));
    assert_eq!(s.state().current.as_deref(), Some(first.as_str()));
    // The first step is a checklist already confirmed: completing it again is a correction.
    s.apply(Action::Complete).unwrap();
    assert_eq!(s.state().step(&first).unwrap().corrections, 1);
    assert_ne!(
        s.state().current.as_deref(),
        Some(back.as_str()).filter(|_| false)
    );
}

#[test]
fn deadlines_run_warn_pass_and_are_met() {
    let dir = common::temp_dir("deadlines");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    let find = |s: &Session<_>, id: &str| {
        s.deadlines()
            .into_iter()
            .find(|d| d.deadline.id == id)
            .map(|d| d.status)
    };
    // NL: report-target counts from the start (24 h, warn 8 h); nl-remove waits for the hotline
    // report; uk-preserve does not apply.
    assert_eq!(find(&s, "report-target"), Some(Status::Running));
    assert_eq!(find(&s, "nl-remove"), Some(Status::NotStarted));
    assert_eq!(find(&s, "uk-preserve"), None);
    clock.advance(chrono::Duration::hours(17));
    assert_eq!(find(&s, "report-target"), Some(Status::Warning));
    clock.advance(chrono::Duration::hours(8));
    assert_eq!(find(&s, "report-target"), Some(Status::Overdue));
    assert_eq!(
        s.deadlines_to_record(),
        vec!["report-target", "eu-police-informed"]
    );
    for id in s.deadlines_to_record() {
        let e = s.apply(Action::DeadlinePassed { deadline: id }).unwrap();
        assert_eq!(e.actor.role, custody::journal::Role::Custody);
    }
    assert!(s.deadlines_to_record().is_empty());
    // Walking on to the reports meets it, late.
    common::walk(&mut s, &clock, 0);
    match find(&s, "report-target") {
        Some(Status::Met { late: true, .. }) => {}
        other => panic!("expected met late, got {other:?}"),
    }
}

#[test]
fn starting_needs_what_the_runbook_needs() {
    let dir = common::temp_dir("start");
    let clock = common::clock();
    let mut start = common::start("csam-discovery", Mode::Real);
    start.jurisdiction = "XX".into();
    let err = Session::create(&dir, &start, &clock).unwrap_err();
    assert!(
        err.to_string().contains("has no jurisdiction `XX`"),
        "{err}"
    );
    let mut start = common::start("csam-discovery", Mode::Real);
    start.operator = " ".into();
    assert!(Session::create(&dir, &start, &clock).is_err());
    let mut start = common::start("csam-discovery", Mode::Real);
    start.variables = BTreeMap::from([("nope".into(), "x".into())]);
    assert!(Session::create(&dir, &start, &clock).is_err());
    // Nothing was created for the refused starts.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // Exercise sessions say so in their id.
    let s = Session::create(
        &dir,
        &common::start("csam-discovery", Mode::Exercise),
        &clock,
    )
    .unwrap();
    assert!(s.state().started.session.starts_with("EXERCISE-"));
}

#[test]
fn a_second_writer_is_refused_and_told_who_holds_the_session() {
    let dir = common::temp_dir("lock");
    let clock = common::clock();
    let s = Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    let err = Session::open(s.folder(), false, &clock).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("in use by custody (pid"), "{message}");
    assert!(
        message.contains(&std::process::id().to_string()),
        "{message}"
    );
    // Verifying does not need the lock.
    assert!(journal::verify(s.folder(), None, None).unwrap().intact());
    let folder = s.folder().to_owned();
    drop(s);
    let mut reopened = Session::open(&folder, false, &clock).unwrap();
    let e = reopened.apply(Action::Resume).unwrap();
    let Body::Resumed(r) = &e.body else { panic!() };
    assert!(r.interrupted, "no pause came before: an interruption");
}

#[test]
fn a_pause_then_resume_is_not_an_interruption() {
    let dir = common::temp_dir("pause");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    s.apply(Action::Pause {
        reason: Some("quit".into()),
    })
    .unwrap();
    assert!(s.apply(Action::Complete).is_err(), "paused: resume first");
    let folder = s.folder().to_owned();
    drop(s);
    clock.advance(chrono::Duration::minutes(60));
    let mut s = Session::open(&folder, false, &clock).unwrap();
    assert!(s.state().paused);
    // A note written while paused does not make the pause an interruption.
    s.apply(Action::Note {
        text: "written while away".into(),
    })
    .unwrap();
    clock.advance(chrono::Duration::minutes(30));
    let e = s.apply(Action::Resume).unwrap();
    let Body::Resumed(r) = &e.body else { panic!() };
    assert!(!r.interrupted);
    assert_eq!(r.gap_seconds, 30 * 60, "since the event before");
    assert!(!s.state().paused);
}

#[test]
fn opening_keeps_the_last_events_as_reading_them_again_would() {
    let dir = common::temp_dir("recent-at-open");
    let clock = common::clock();
    let mut s =
        Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    assert!(
        s.take_recent_at_open().is_empty(),
        "nothing was read to create it"
    );
    let folder = s.folder().to_owned();
    // Fewer events than kept, then more.
    for total in [3u64, 80] {
        while s.state().events < total {
            clock.advance(chrono::Duration::seconds(5));
            s.apply(Action::Note {
                text: format!("note at {}", s.state().events + 1),
            })
            .unwrap();
        }
        drop(s);
        s = Session::open(&folder, false, &clock).unwrap();
        let kept = s.take_recent_at_open();
        assert_eq!(
            kept.len(),
            usize::try_from(total)
                .unwrap()
                .min(custody::session::RECENT_AT_OPEN)
        );
        assert_eq!(
            kept,
            custody::session::read_recent(&folder, custody::session::RECENT_AT_OPEN)
        );
        assert_eq!(kept.last().unwrap().seq, total);
        assert!(s.take_recent_at_open().is_empty(), "taken once");
    }
    // A torn last line set aside: the `recovered` event is the last one kept.
    drop(s);
    let journal = folder.join("journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(b"{\"seq\":81,\"ti");
    std::fs::write(&journal, &bytes).unwrap();
    let mut s = Session::open(&folder, true, &clock).unwrap();
    let kept = s.take_recent_at_open();
    assert!(matches!(kept.last().unwrap().body, Body::Recovered(_)));
    assert_eq!(
        kept,
        custody::session::read_recent(&folder, custody::session::RECENT_AT_OPEN)
    );
}

// --- Child processes: permissions under a umask, SIGKILL while appending, a file size limit.

/// Runs this test binary again as a child doing `role` (see `child`), through `sh -c prelude`.
fn spawn_child(role: &str, dir: &Path, prelude: &str) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(format!("{prelude}\nexec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("CUSTODY_TEST_CHILD", role)
        .env("CUSTODY_TEST_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Not a test on its own: the body of the child processes above. Does nothing unless
/// `CUSTODY_TEST_CHILD` is set.
#[test]
fn child() {
    use std::io::Write as _;
    let Ok(role) = std::env::var("CUSTODY_TEST_CHILD") else {
        return;
    };
    let dir = PathBuf::from(std::env::var("CUSTODY_TEST_DIR").unwrap());
    let clock = custody::session::SystemClock;
    let mut out = std::io::stdout().lock();
    // libtest has printed "test child ... " without a newline: start on a line of our own.
    writeln!(out).unwrap();
    let mut s = match Session::create(&dir, &common::start("csam-discovery", Mode::Real), clock) {
        Ok(s) => s,
        Err(e) => {
            writeln!(out, "ERR {e}").unwrap();
            return;
        }
    };
    writeln!(out, "FOLDER {}", s.folder().display()).unwrap();
    writeln!(out, "ACK 1 {}", s.state().last_hash).unwrap();
    out.flush().unwrap();
    if role == "create" {
        return;
    }
    let mut n: u64 = 0;
    loop {
        n += 1;
        // Notes of varied size, up to 64 KiB, so that a kill can land inside a write.
        let size = usize::try_from((n * 7919) % 65_536).unwrap();
        let text = format!("note {n} {}", "x".repeat(size));
        match s.apply(Action::Note { text }) {
            Ok(e) => {
                writeln!(out, "ACK {} {}", e.seq, e.hash).unwrap();
                out.flush().unwrap();
            }
            Err(e) => {
                writeln!(out, "ERR {e}").unwrap();
                out.flush().unwrap();
                return;
            }
        }
        if n > 100_000 {
            return;
        }
    }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn folders_are_0700_and_files_0600_under_any_umask() {
    for umask in ["0000", "0022", "0077", "0777", "0027"] {
        let dir = common::temp_dir("umask").join("sessions");
        let child = spawn_child("create", &dir, &format!("umask {umask}"));
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let folder = stdout
            .lines()
            .find_map(|l| l.strip_prefix("FOLDER "))
            .unwrap_or_else(|| panic!("umask {umask}: no session made: {stdout}"));
        let folder = Path::new(folder);
        assert_eq!(mode_of(&dir), 0o700, "umask {umask}: sessions folder");
        assert_eq!(mode_of(folder), 0o700, "umask {umask}: session folder");
        assert_eq!(mode_of(&folder.join("evidence")), 0o700, "umask {umask}");
        for file in ["journal.jsonl", "runbook.toml", "lock"] {
            assert_eq!(mode_of(&folder.join(file)), 0o600, "umask {umask}: {file}");
        }
    }
}

/// Reads ACK lines from a child until `stop` of them, or the end; returns (folder, acks).
fn read_acks(
    child: &mut std::process::Child,
    stop: usize,
) -> (Option<PathBuf>, Vec<(u64, String)>, Vec<String>) {
    let stdout = child.stdout.take().unwrap();
    let mut folder = None;
    let mut acks = Vec::new();
    let mut errors = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(f) = line.strip_prefix("FOLDER ") {
            folder = Some(PathBuf::from(f));
        } else if let Some(ack) = line.strip_prefix("ACK ") {
            let (seq, hash) = ack.split_once(' ').unwrap();
            acks.push((seq.parse().unwrap(), hash.to_owned()));
            if acks.len() >= stop {
                break;
            }
        } else if let Some(e) = line.strip_prefix("ERR ") {
            errors.push(e.to_owned());
        }
    }
    (folder, acks, errors)
}

#[test]
fn a_writer_killed_while_appending_loses_no_acknowledged_event() {
    let rounds = 12;
    let mut torn_seen = 0;
    for round in 0..rounds {
        let dir = common::temp_dir("kill");
        let mut child = spawn_child("append", &dir, "");
        // Kill after a varying number of acknowledgements (the child keeps writing meanwhile).
        let (folder, acks, _) = read_acks(&mut child, 3 + round * 7);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let folder = folder.expect("the child made a session");
        let bytes = common::journal_bytes(&folder);
        let mut scanner = journal::reader::Scanner::new(&bytes[..]);
        let mut chain = Vec::new();
        let torn = loop {
            match scanner.next_link() {
                Ok(Some(link)) => chain.push((link.seq, link.hash.to_hex())),
                Ok(None) => break false,
                Err(journal::reader::ScanError::Bad(p)) => {
                    assert!(p.is_torn(), "round {round}: {}", p.describe());
                    break true;
                }
                Err(journal::reader::ScanError::Io(e)) => panic!("{e}"),
            }
        };
        torn_seen += usize::from(torn);
        for ack in &acks {
            assert!(
                chain.contains(ack),
                "round {round}: acknowledged event {} is not in the journal",
                ack.0
            );
        }
        // The session can be opened again (recovering a torn line) and verifies.
        let clock = common::clock();
        let s = Session::open(&folder, true, &clock).unwrap();
        assert_eq!(s.recovered().is_some(), torn);
        drop(s);
        assert!(journal::verify(&folder, None, None).unwrap().intact());
    }
    eprintln!("{rounds} kills, {torn_seen} left a torn line, 0 acknowledged events lost");
}

#[test]
fn a_write_refused_by_the_file_system_is_not_acknowledged_and_leaves_the_journal_valid() {
    // A file size limit makes the kernel cut writes short (EFBIG), as a full disk does
    // (ENOSPC). `ulimit -f` counts 512-byte blocks; SIGXFSZ is ignored so the write fails
    // instead of killing the process.
    let dir = common::temp_dir("fsize");
    let mut child = spawn_child("append", &dir, "trap '' XFSZ; ulimit -f 400");
    let (folder, acks, errors) = read_acks(&mut child, usize::MAX);
    child.wait().unwrap();
    let folder = folder.expect("the first event fits in the limit");
    assert!(
        errors.iter().any(|e| e.contains("nothing was recorded")),
        "the failed write is reported: {errors:?}"
    );
    let v = journal::verify(&folder, None, None).unwrap();
    assert!(
        v.problem.is_none(),
        "the journal stays valid: {:?}",
        v.problem
    );
    let last = acks.last().unwrap();
    assert_eq!(
        v.events, last.0,
        "every acknowledged event, and nothing else"
    );
    assert_eq!(v.final_hash.to_hex(), last.1);
    // With room again (no limit here), the session goes on.
    let clock = common::clock();
    let mut s = Session::open(&folder, false, &clock).unwrap();
    s.apply(Action::Resume).unwrap();
    s.apply(Action::Note {
        text: "space freed".into(),
    })
    .unwrap();
    drop(s);
    assert!(journal::verify(&folder, None, None).unwrap().intact());
}

/// Date-times are typed as people write them: with `T` or a space, with or without seconds,
/// with a space before the offset (as the screen shows times), `Z` or `UTC`; never without an
/// offset, since the record must say which clock a time was read from.
#[test]
fn date_times_are_read_as_people_type_them_and_never_without_an_offset() {
    let utc = |text: &str| {
        custody::session::parse_datetime(text).map(|t| t.with_timezone(&chrono::Utc).to_rfc3339())
    };
    let expected = Some("2026-12-07T01:31:00+00:00".to_owned());
    for text in [
        "2026-12-07T02:31:00+01:00",
        "2026-12-07 02:31:00+01:00",
        "2026-12-07 02:31+01:00",
        "2026-12-07 02:31 +01:00",
        " 2026-12-07  02:31  +01:00 ",
        "2026-12-07 01:31Z",
        "2026-12-07 01:31 UTC",
        "2026-12-07 01:31:00 utc",
        "2026-12-07 00:31 -01:00",
    ] {
        assert_eq!(utc(text), expected, "{text:?}");
    }
    for text in [
        "2026-12-07 02:31",
        "02:31 +01:00",
        "2026-12-07",
        "yesterday",
        "",
        "+01:00",
    ] {
        assert_eq!(utc(text), None, "{text:?} has no date, time or offset");
    }
}

/// A crash while a session is being created, before its first event is on disk, leaves no
/// journal that would pass for an open session (found by the crash tests: `custody sessions`
/// listed such a folder as open with blank fields). The first event is written under a name of
/// its own, and the journal named only once it is there.
#[test]
fn a_crash_before_the_first_event_leaves_no_session_that_looks_open() {
    let dir = common::temp_dir("half-created");
    let id = "20261207T120000Z-csam-discovery-0001";
    let made = std::panic::catch_unwind(|| {
        journal::folder::SessionFolder::create(&dir, id, "[runbook]\n", None, |_, _| {
            panic!("the machine stops here")
        })
    });
    assert!(made.is_err());
    assert!(dir.join(id).join("journal.jsonl.new").exists());
    assert!(!dir.join(id).join("journal.jsonl").exists());
    assert!(journal::session_folders(&dir).unwrap().is_empty());
    // A session created in full is named as always.
    let clock = common::clock();
    let s = Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    assert_eq!(
        journal::session_folders(&dir).unwrap(),
        [s.folder().to_owned()]
    );
    assert!(!s.folder().join("journal.jsonl.new").exists());
}
