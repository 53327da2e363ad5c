//! The session commands: `verify`, `sessions`, `seal` and `recover`. They print; the library
//! decides.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use custody::journal::event::{Mode, format_time};
use custody::journal::sign::{SignatureCheck, Signer};
use custody::journal::verify::{RunbookCheck, Sealing, Signature, Verification};
use custody::journal::{self, Digest};
use custody::sanitize::for_terminal;
use custody::session::{Session, SystemClock};

use crate::Status;

/// Where sessions live when `--dir` is not given: `$CUSTODY_DIR` (clap reads it), else
/// `$XDG_DATA_HOME/custody/sessions`, else `~/.local/share/custody/sessions`.
pub fn default_dir() -> PathBuf {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(data).join("custody").join("sessions");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/share/custody/sessions");
    }
    PathBuf::from("custody-sessions")
}

/// Warns on standard error when the sessions folder can be read by other users: the folders in
/// it are private (0700), but their names (the runbook and the time of each session) are not.
/// Printed before the interface starts, the warning is still there when it ends.
pub fn warn_if_open(dir: &Path) {
    if custody::journal::folder::readable_by_others(dir) {
        let mode = std::fs::metadata(dir).map_or(0, |m| {
            use std::os::unix::fs::PermissionsExt as _;
            m.permissions().mode() & 0o777
        });
        eprintln!(
            "custody: warning: {} can be read by other users of this machine (mode {mode:03o}): \
             they can see the names of the sessions in it (the runbook and the time of each). \
             Make it private: chmod 700 {}",
            shown(dir),
            shown(dir)
        );
    }
}

/// The sessions folder from the environment alone (for the picker, which has no `--dir`).
pub fn default_dir_from_env() -> PathBuf {
    std::env::var_os("CUSTODY_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(default_dir, PathBuf::from)
}

/// A session named on the command line: a path (folder or journal), or an id under `dir`.
pub fn locate(session: &Path, dir: &Path) -> PathBuf {
    if session.exists() {
        return session.to_owned();
    }
    let under = dir.join(session);
    if under.exists() {
        under
    } else {
        session.to_owned()
    }
}

fn shown(path: &Path) -> String {
    for_terminal(&path.display().to_string()).into_owned()
}

fn short_time(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

pub fn verify(
    session: &Path,
    dir: &Path,
    pubkey: Option<&str>,
    expect: Option<&str>,
    json: bool,
) -> Status {
    let path = locate(session, dir);
    let expect = match expect.map(|e| (e, Digest::from_hex(&e.trim().to_ascii_lowercase()))) {
        None => None,
        Some((_, Some(d))) => Some(d),
        Some((e, None)) => {
            eprintln!(
                "custody: --expect {}: not a hash; give the 64 hex digits of a final hash",
                for_terminal(e)
            );
            return Status::Trouble;
        }
    };
    let v = match journal::verify(&path, pubkey, expect) {
        Ok(v) => v,
        Err((journal, e)) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "; give a session folder, its journal.jsonl, or a session id (`custody sessions` lists them)"
            } else {
                ""
            };
            eprintln!("custody: {}: cannot read: {e}{hint}", shown(&journal));
            return Status::Trouble;
        }
    };
    if json {
        println!("{}", verification_json(&v));
    } else {
        print!("{}", verification_text(&v));
    }
    if v.intact() { Status::Ok } else { Status::Bad }
}

fn verification_text(v: &Verification) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "journal    {}", shown(&v.journal));
    if let Some(s) = &v.started {
        let mode = match s.mode {
            Mode::Real => "real incident",
            Mode::Exercise => "EXERCISE",
        };
        let _ = writeln!(out, "session    {} ({mode})", for_terminal(&s.session));
        let _ = writeln!(
            out,
            "case       {}, operator {}{}, jurisdiction {}",
            for_terminal(&s.case_id),
            for_terminal(&s.operator),
            s.witness
                .as_ref()
                .map(|w| format!(", witness {}", for_terminal(w)))
                .unwrap_or_default(),
            for_terminal(&s.jurisdiction)
        );
        let copy = |check: &RunbookCheck| match check {
            RunbookCheck::Intact => "copy intact".to_owned(),
            RunbookCheck::Changed { expected, found } => {
                format!("COPY CHANGED (recorded {expected}, found {found})")
            }
            RunbookCheck::Missing(why) => format!("COPY MISSING ({})", for_terminal(why)),
            RunbookCheck::NotChecked => "not checked".to_owned(),
        };
        let _ = writeln!(
            out,
            "runbook    {} {}, {}",
            for_terminal(&s.runbook.id),
            for_terminal(&s.runbook.version),
            copy(&v.runbook)
        );
        if let (Some(scenario), Some(check)) = (&s.scenario, &v.scenario) {
            let _ = writeln!(
                out,
                "scenario   {} {}, {}",
                for_terminal(&scenario.id),
                for_terminal(&scenario.version),
                copy(check)
            );
        }
    }
    match (&v.first_time, &v.last_time) {
        (Some(first), Some(last)) => {
            let _ = writeln!(
                out,
                "events     {}, {} to {}{}",
                v.events,
                short_time(first),
                short_time(last),
                if v.recoveries > 0 {
                    format!(" ({} torn line(s) set aside by recovery)", v.recoveries)
                } else {
                    String::new()
                }
            );
        }
        _ => {
            let _ = writeln!(out, "events     {}", v.events);
        }
    }
    match v.sealing() {
        Sealing::Sealed { at, seal } => {
            let _ = writeln!(
                out,
                "sealed     {}{}",
                short_time(at),
                if seal.complete {
                    " (runbook followed to an end)"
                } else {
                    " (before the runbook's end)"
                }
            );
        }
        Sealing::Open => {
            let _ = writeln!(out, "sealed     no (open)");
        }
        Sealing::Unknown => {
            let _ = writeln!(
                out,
                "sealed     unknown (the journal is damaged before any seal)"
            );
        }
    }
    let signature = match &v.signature {
        Signature::None => None,
        Signature::Checked(SignatureCheck::Valid { key_id, .. }) => {
            Some(format!("valid, key {key_id} (the key given with --pubkey)"))
        }
        Signature::CheckedWithRecordedKey(SignatureCheck::Valid { key_id, .. }) => Some(format!(
            "valid for key {key_id}, the key the seal names; check that id against the \
             signer's published key, or pass --pubkey"
        )),
        Signature::Checked(SignatureCheck::Invalid(why))
        | Signature::CheckedWithRecordedKey(SignatureCheck::Invalid(why)) => {
            Some(format!("INVALID: {}", for_terminal(why)))
        }
        Signature::Missing { key_id } => Some(format!(
            "MISSING: the seal names key {key_id} but {} is not there",
            journal::folder::SIGNATURE
        )),
        Signature::Unchecked(why) => Some(format!("not checked: {}", for_terminal(why))),
    };
    if let Some(signature) = signature {
        let _ = writeln!(out, "signature  {signature}");
    }
    match v.expected_found {
        Some(true) => {
            let _ = writeln!(out, "expected   the hash given is in the chain");
        }
        Some(false) => {
            let _ = writeln!(
                out,
                "expected   NOT FOUND: no event has the hash given with --expect"
            );
        }
        None => {}
    }
    for note in &v.notes {
        let _ = writeln!(out, "note       {note}");
    }
    let _ = writeln!(out);
    match &v.problem {
        Some(p) if p.is_torn() && p.seq == 1 => {
            let _ = writeln!(out, "TORN: {}.", p.describe());
            let _ = writeln!(
                out,
                "The session never started: custody stopped while writing its first event, so \
                 nothing was recorded in it and there is nothing to recover. Keep the folder as \
                 it is and start a new session."
            );
        }
        Some(p) if p.is_torn() => {
            let _ = writeln!(out, "TORN: {}.", p.describe());
            let _ = writeln!(
                out,
                "The {} events before it are intact. `custody recover {}` sets the torn bytes \
                 aside in a file (nothing is deleted) and journals the recovery.",
                v.events,
                shown(&v.folder)
            );
        }
        Some(p) => {
            let _ = writeln!(out, "CHANGED: {}.", p.describe());
            let _ = writeln!(
                out,
                "The journal is not as it was written. Keep this copy as it is, and compare it \
                 with any copy or final hash written down earlier."
            );
        }
        None if v.events == 0 => {
            let _ = writeln!(out, "EMPTY: the journal has no events.");
        }
        None if v.intact() => {
            let _ = writeln!(out, "INTACT: every event's hash and the chain check out.");
        }
        None => {
            let _ = writeln!(out, "NOT INTACT: the chain checks out, but see above.");
        }
    }
    if v.events > 0 {
        let label = if v.problem.is_some() {
            format!("last good hash (event {})", v.events)
        } else {
            "final hash".to_owned()
        };
        let _ = writeln!(out, "{label}: {}", v.final_hash);
    }
    out
}

fn verification_json(v: &Verification) -> String {
    let signature = match &v.signature {
        Signature::None => serde_json::json!(null),
        Signature::Checked(c) | Signature::CheckedWithRecordedKey(c) => match c {
            SignatureCheck::Valid {
                key_id,
                trusted_comment,
            } => serde_json::json!({
                "valid": true,
                "key_id": key_id,
                "key": if matches!(v.signature, Signature::Checked(_)) { "given" } else { "recorded" },
                "trusted_comment": trusted_comment,
            }),
            SignatureCheck::Invalid(why) => serde_json::json!({"valid": false, "error": why}),
        },
        Signature::Missing { key_id } => {
            serde_json::json!({"valid": false, "error": "missing", "key_id": key_id})
        }
        Signature::Unchecked(why) => serde_json::json!({"valid": null, "error": why}),
    };
    serde_json::json!({
        "intact": v.intact(),
        "journal": v.journal.display().to_string(),
        "session": v.started.as_ref().map(|s| &s.session),
        "events": v.events,
        "bytes": v.bytes,
        "first": v.first_time.as_ref().map(format_time),
        "last": v.last_time.as_ref().map(format_time),
        "sealed": v.sealed.as_ref().map(|(t, _)| format_time(t)),
        "final_hash": if v.events > 0 { Some(v.final_hash.to_hex()) } else { None },
        "runbook_copy": copy_state(&v.runbook),
        "scenario_copy": v.scenario.as_ref().map(copy_state),
        "signature": signature,
        "expected_found": v.expected_found,
        "newer_format": v.newer_format,
        "problem": v.problem.as_ref().map(|p| serde_json::json!({
            "kind": if p.is_torn() { "torn" } else { "changed" },
            "event": p.seq,
            "offset": p.offset,
            "message": p.describe(),
        })),
        "notes": v.notes,
    })
    .to_string()
}

/// One row of `custody sessions`.
struct Row {
    id: String,
    runbook: String,
    case: String,
    operator: String,
    started: String,
    last: String,
    state: &'static str,
    mode: &'static str,
    path: String,
}

pub fn list(dir: &Path, json: bool) -> Status {
    let folders = match journal::session_folders(dir) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if json {
                return Status::Ok;
            }
            println!(
                "No sessions in {} (the folder does not exist yet).",
                shown(dir)
            );
            return Status::Ok;
        }
        Err(e) => {
            eprintln!("custody: {}: cannot read: {e}", shown(dir));
            return Status::Trouble;
        }
    };
    let mut rows = Vec::new();
    let mut status = Status::Ok;
    for folder in folders {
        let v = match journal::verify(&folder, None, None) {
            Ok(v) => v,
            Err((path, e)) => {
                eprintln!("custody: {}: cannot read: {e}", shown(&path));
                status = Status::Trouble;
                continue;
            }
        };
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let state = match (&v.problem, &v.sealed) {
            (Some(p), _) if p.is_torn() => "torn",
            (Some(_), _) => "CHANGED",
            (None, Some(_)) => "sealed",
            (None, None) if v.last_kind.as_deref() == Some("paused") => "paused",
            (None, None) => "open",
        };
        let s = v.started.as_ref();
        rows.push(Row {
            id: s.map_or(name, |s| s.session.clone()),
            runbook: s.map(|s| s.runbook.id.clone()).unwrap_or_default(),
            case: s.map(|s| s.case_id.clone()).unwrap_or_default(),
            operator: s.map(|s| s.operator.clone()).unwrap_or_default(),
            started: v.first_time.as_ref().map(format_time).unwrap_or_default(),
            last: v.last_time.as_ref().map(format_time).unwrap_or_default(),
            state,
            mode: match s.map(|s| s.mode) {
                Some(Mode::Real) => "real",
                Some(Mode::Exercise) => "exercise",
                None => "",
            },
            path: folder.display().to_string(),
        });
    }
    if json {
        for r in &rows {
            println!(
                "{}",
                serde_json::json!({
                    "id": r.id, "runbook": r.runbook, "case": r.case, "operator": r.operator,
                    "started": r.started, "last_event": r.last, "state": r.state,
                    "mode": r.mode, "path": r.path,
                })
            );
        }
        return status;
    }
    if rows.is_empty() {
        println!("No sessions in {}.", shown(dir));
        return status;
    }
    let cut = |s: &str, n: usize| -> String {
        let s = for_terminal(s);
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n - 1).collect::<String>())
        } else {
            s.into_owned()
        }
    };
    let id_w = rows
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 60);
    let minute = |t: &str| {
        t.get(..16)
            .map(|t| format!("{}Z", t.replace('T', " ")))
            .unwrap_or_default()
    };
    // The table is about 140 columns wide; on a narrower terminal each session takes two lines.
    let table_width = id_w + 2 + 16 + 2 + 12 + 2 + 14 + 2 + 17 + 2 + 17 + 2 + 7 + 2 + 8;
    let narrow = terminal_size::terminal_size_of(std::io::stdout())
        .is_some_and(|(w, _)| usize::from(w.0) < table_width);
    if narrow {
        for r in &rows {
            let last = minute(&r.last);
            let last = if last.get(..11) == minute(&r.started).get(..11) {
                last.get(11..).unwrap_or_default().to_owned()
            } else {
                last
            };
            println!("{}  {} {}", cut(&r.id, 60), r.state, r.mode);
            println!(
                "  {}, case {}, {}, {} to {}",
                cut(&r.runbook, 24),
                cut(&r.case, 16),
                cut(&r.operator, 16),
                minute(&r.started),
                last
            );
        }
    } else {
        println!(
            "{:<id_w$}  {:<16}  {:<12}  {:<14}  {:<17}  {:<17}  {:<7}  MODE",
            "ID", "RUNBOOK", "CASE", "OPERATOR", "STARTED (UTC)", "LAST EVENT (UTC)", "STATE"
        );
        for r in &rows {
            println!(
                "{:<id_w$}  {:<16}  {:<12}  {:<14}  {:<17}  {:<17}  {:<7}  {}",
                cut(&r.id, id_w),
                cut(&r.runbook, 16),
                cut(&r.case, 12),
                cut(&r.operator, 14),
                minute(&r.started),
                minute(&r.last),
                r.state,
                r.mode
            );
        }
    }
    println!();
    println!("Check one: custody verify ID --dir {}", shown(dir));
    status
}

pub fn seal(session: &Path, dir: &Path, sign: Option<&Path>, note: Option<String>) -> Status {
    let path = locate(session, dir);
    let signer = match sign.map(Signer::load) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            eprintln!("custody: {}", for_terminal(&e.to_string()));
            return Status::Trouble;
        }
    };
    // A seal whose signature was lost to a crash can be signed again.
    if let (Some(signer), Ok(v)) = (&signer, journal::verify(&path, None, None))
        && v.sealed.is_some()
        && matches!(v.signature, Signature::Missing { .. })
    {
        let folder = journal::folder::resolve(&path);
        let id = v.started.map(|s| s.session).unwrap_or_default();
        return match journal::folder::write_signature(&folder, signer, &id) {
            Ok(()) => {
                println!(
                    "The sealed journal is now signed: {}",
                    shown(&folder.join(journal::folder::SIGNATURE))
                );
                Status::Ok
            }
            Err(e) => {
                eprintln!("custody: {}", for_terminal(&e.to_string()));
                Status::Trouble
            }
        };
    }
    let mut session = match Session::open(&path, false, SystemClock) {
        Ok(s) => s,
        Err(e) => return report_open_error(&e, &path),
    };
    if session.state().sealed.is_some() {
        eprintln!("custody: {}: the session is already sealed", shown(&path));
        return Status::Bad;
    }
    // The report of everything so far goes into the session folder, its hashes into the
    // journal, and then the seal covers both.
    let reports = match custody::report::write_into_session(session.folder()) {
        Ok(written) => match session.apply(custody::session::Action::ReportWritten {
            files: written.files.clone(),
        }) {
            Ok(_) => {
                if let Some(why) = &written.review_error {
                    eprintln!(
                        "custody: the after-action review could not be written ({}); make it \
                         later with `custody review`.",
                        for_terminal(why)
                    );
                }
                Some(written.files.len())
            }
            Err(e) => {
                eprintln!("custody: {}", for_terminal(&e.to_string()));
                return Status::Trouble;
            }
        },
        Err(why) => {
            eprintln!(
                "custody: the report could not be written ({}); sealing without it. Make it \
                 later with `custody report`.",
                for_terminal(&why)
            );
            None
        }
    };
    match session.seal(note, signer.as_ref()) {
        Ok(event) => {
            println!(
                "Sealed {} at {} ({} events{}).",
                for_terminal(&session.state().started.session),
                short_time(&event.time),
                event.seq,
                if session.state().finished {
                    ""
                } else {
                    "; the runbook was not followed to an end"
                }
            );
            if signer.is_some() {
                println!(
                    "Signed: {} (check it with `minisign -Vm {} -p KEY.pub`)",
                    shown(&session.folder().join(journal::folder::SIGNATURE)),
                    shown(&session.journal_path())
                );
            }
            if let Some(n) = reports {
                println!(
                    "Report: {} ({n} files, their hashes recorded before the seal)",
                    shown(&session.folder().join(custody::report::REPORT_DIR))
                );
            }
            println!("final hash: {}", event.hash);
            println!("Write the final hash down, or read it to whoever receives the report.");
            Status::Ok
        }
        Err(e) => {
            eprintln!("custody: {}", for_terminal(&e.to_string()));
            Status::Trouble
        }
    }
}

pub fn recover(session: &Path, dir: &Path) -> Status {
    let path = locate(session, dir);
    match journal::verify(&path, None, None) {
        Ok(v) if v.problem.is_none() => {
            println!(
                "Nothing to recover: the journal of {} ends in a whole line.",
                shown(&path)
            );
            return Status::Ok;
        }
        Ok(v) if v.problem.as_ref().is_some_and(|p| !p.is_torn()) => {
            let p = v
                .problem
                .as_ref()
                .map(custody::journal::reader::Problem::describe)
                .unwrap_or_default();
            eprintln!(
                "custody: {}: cannot recover: {p}. Only a torn last line can be recovered; \
                 a changed journal is kept as it is for examination.",
                shown(&path)
            );
            return Status::Bad;
        }
        Ok(v) if v.problem.as_ref().is_some_and(|p| p.seq == 1) => {
            eprintln!(
                "custody: {}: cannot recover: the first event is torn, so the session never \
                 started and nothing was recorded in it. Keep the folder as it is and start a \
                 new session.",
                shown(&path)
            );
            return Status::Bad;
        }
        Ok(_) => {}
        Err((journal, e)) => {
            eprintln!("custody: {}: cannot read: {e}", shown(&journal));
            return Status::Trouble;
        }
    }
    match Session::open(&path, true, SystemClock) {
        Ok(session) => {
            if let Some(event) = session.recovered()
                && let custody::journal::Body::Recovered(r) = &event.body
            {
                println!(
                    "Recovered: {} torn bytes from offset {} were moved to {} (sha256 {}), \
                         and the recovery is event {} of the journal.",
                    r.length,
                    r.offset,
                    shown(&session.folder().join(&r.saved_as)),
                    r.sha256,
                    event.seq
                );
            }
            Status::Ok
        }
        Err(e) => report_open_error(&e, &path),
    }
}

pub fn report_open_error(e: &custody::session::Error, path: &Path) -> Status {
    use custody::session::Error as E;
    eprintln!("custody: {}", for_terminal(&e.to_string()));
    match e {
        E::Folder(journal::Error::Bad { problem, .. }) if problem.is_torn() && problem.seq == 1 => {
            eprintln!(
                "custody: the session never started (its first event is torn); start a new one"
            );
            Status::Bad
        }
        E::Folder(journal::Error::Bad { problem, .. }) if problem.is_torn() => {
            eprintln!(
                "custody: run `custody recover {}` to set the torn line aside and go on",
                shown(path)
            );
            Status::Bad
        }
        E::Folder(journal::Error::Bad { .. } | journal::Error::RunbookChanged { .. }) => {
            Status::Bad
        }
        _ => Status::Trouble,
    }
}

fn copy_state(check: &RunbookCheck) -> &'static str {
    match check {
        RunbookCheck::Intact => "intact",
        RunbookCheck::Changed { .. } => "changed",
        RunbookCheck::Missing(_) => "missing",
        RunbookCheck::NotChecked => "not_checked",
    }
}
