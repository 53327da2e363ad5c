//! Helpers shared by the integration tests and the benchmarks: starting sessions on bundled
//! runbooks with a hand-set clock, and an autopilot that does what each step asks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{FixedOffset, TimeZone as _, Utc};
use custody::journal::Digest;
use custody::journal::event::{CommandRun, EvidenceRecorded, FileRef, Mode, Party};
use custody::runbook::{FieldKind, Runbook, StepKind, bundled};
use custody::session::{Action, Clock, ManualClock, Session, Start};

/// A clock at 2026-11-23 09:15:02 UTC, one hour east of UTC.
pub fn clock() -> ManualClock {
    ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 2)
            .single()
            .unwrap(),
        FixedOffset::east_opt(3600).unwrap(),
    )
}

pub fn start(runbook_id: &str, mode: Mode) -> Start {
    let (b, runbook) = bundled::find(runbook_id).expect("a bundled runbook");
    let jurisdiction = runbook
        .jurisdictions
        .keys()
        .find(|j| *j == "NL")
        .or_else(|| runbook.jurisdictions.keys().next())
        .cloned()
        .unwrap_or_else(|| "NL".into());
    let variables: BTreeMap<String, String> =
        custody::session::missing_variables(&runbook, &BTreeMap::new())
            .into_iter()
            .map(|name| (name.to_owned(), format!("value of {name}")))
            .collect();
    Start {
        runbook_text: b.text.to_owned(),
        operator: "A. Jansen".into(),
        witness: Some("B. de Vries".into()),
        facilitator: (mode == Mode::Exercise).then(|| "C. Bakker".into()),
        case_id: "CASE-2026-0042".into(),
        jurisdiction,
        mode,
        variables,
        scenario_text: None,
        participants: Vec::new(),
    }
}

/// A valid runbook `id` with one step, `capture`, of the kind and members given in `step`
/// (`kind = "command"` and its `run` ...), then an end; one variable, `value`.
pub fn one_step_runbook(id: &str, step: &str) -> String {
    format!(
        r#"
[runbook]
format = 1
id = "{id}"
title = "A command step"
version = "1.0.0"
language = "en"
summary = "One command step."
authors = ["tests"]
reviewed = 2026-11-01
start = "capture"

[[sources]]
id = "rfc3227"
title = "RFC 3227"

[variables.value]
label = "A value typed by the operator"

[jurisdictions.NL]
name = "Netherlands"
emergency = "112"

[[steps]]
id = "capture"
{step}
title = "Capture"
body = "Does one thing."
sources = ["rfc3227"]

[[steps]]
id = "end"
kind = "end"
title = "End"
body = "Done."
sources = ["rfc3227"]
"#
    )
}

/// `custody start` arguments that open the flagship runbook with everything given (no form),
/// keeping the session under `dir`.
pub fn start_args(dir: &Path) -> Vec<String> {
    [
        "start",
        "csam-discovery",
        "--operator",
        "A. Jansen",
        "--case",
        "CASE-2026-0042",
        "--jurisdiction",
        "NL",
        "--dir",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .chain(std::iter::once(dir.to_str().unwrap().to_owned()))
    .collect()
}

/// A fresh sessions folder inside the target directory (kept after the test for inspection).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(name)
        .join(format!("{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The action that does what the current step asks, choosing the `choice`-th way out of
/// decisions (modulo their number). `None` when the runbook is finished.
pub fn next_action<C: Clock>(session: &Session<C>, choice: usize) -> Option<Action> {
    let step = session.current_step()?;
    let state = session.state().step(&step.id).cloned().unwrap_or_default();
    Some(match &step.kind {
        StepKind::Checklist { items, .. } => {
            match (0..items.len()).find(|i| !state.items.contains(i)) {
                Some(item) => Action::ConfirmItem { item },
                None => Action::Complete,
            }
        }
        StepKind::Decision { choices } => Action::Decide {
            choice: choices[choice % choices.len()].id.clone(),
            reason: "as the situation requires".into(),
        },
        StepKind::Record { fields, .. } => Action::Record {
            values: fields
                .iter()
                .map(|f| {
                    let value = match &f.kind {
                        FieldKind::Datetime => "2026-11-23T08:50:00+01:00".to_owned(),
                        FieldKind::Number => "3".to_owned(),
                        FieldKind::Yesno => "no".to_owned(),
                        FieldKind::Choice { options } => options[0].clone(),
                        FieldKind::Multiline => "first line\nsecond line".to_owned(),
                        FieldKind::Text | FieldKind::Reference => format!("{} value", f.id),
                    };
                    (f.id.clone(), value)
                })
                .collect(),
        },
        StepKind::Evidence { paths, .. } if state.evidence == 0 => {
            Action::Evidence(EvidenceRecorded {
                paths: paths.iter().map(|p| session.render(p)).collect(),
                files: 2,
                bytes: 4096,
                manifest: Some(FileRef {
                    file: "evidence/manifest-1.jsonl".into(),
                    size: 312,
                    sha256: Digest::of(b"manifest"),
                }),
                errors: Vec::new(),
                cancelled: false,
                sums: Some(FileRef {
                    file: "evidence/manifest-1.SHA256SUMS".into(),
                    size: 150,
                    sha256: Digest::of(b"sums"),
                }),
                algorithms: vec!["sha256".into()],
                dirs: 1,
                links: 0,
                other: 0,
                error_count: Some(0),
            })
        }
        StepKind::Command {
            run,
            changes_system,
            ..
        } if state.commands == 0 => {
            let started = session.clock().now();
            Action::Command(CommandRun {
                argv: run.argv.iter().map(|a| session.render(a)).collect(),
                changes_system: *changes_system,
                started,
                duration_ms: 12,
                exit_code: Some(0),
                signal: None,
                timed_out: false,
                stdout: Some(FileRef {
                    file: format!("evidence/{}.stdout", step.id),
                    size: 100,
                    sha256: Digest::of(step.id.as_bytes()),
                }),
                stderr: None,
                error: None,
            })
        }
        StepKind::Instruction { .. }
        | StepKind::End { .. }
        | StepKind::Evidence { .. }
        | StepKind::Command { .. } => Action::Complete,
        StepKind::Contact { .. } => Action::Contact {
            to: None,
            channel: "phone".into(),
            at: None,
            reference: Some("REF-1".into()),
            person: Some("duty officer".into()),
            notes: None,
        },
        StepKind::Transfer { .. } => Action::Transfer {
            items: "disk image".into(),
            from: Party {
                name: "A. Jansen".into(),
                role: Some("operator".into()),
                organisation: None,
            },
            to: Party {
                name: "D. Visser".into(),
                role: Some("detective".into()),
                organisation: Some("Police".into()),
            },
            at: None,
            location: "evidence locker 3".into(),
        },
    })
}

/// Walks the session to the end of its runbook, a minute per action; returns the events.
pub fn walk<C: Clock>(
    session: &mut Session<C>,
    clock: &ManualClock,
    choice: usize,
) -> Vec<custody::journal::Event> {
    let mut events = Vec::new();
    while let Some(action) = next_action(session, choice) {
        clock.advance(chrono::Duration::seconds(61));
        events.push(
            session
                .apply(action)
                .expect("the autopilot's action is accepted"),
        );
        assert!(
            events.len() < 10_000,
            "the autopilot is going round in circles"
        );
    }
    events
}

pub fn runbook(id: &str) -> Runbook {
    bundled::find(id).unwrap().1
}

pub fn journal_bytes(folder: &Path) -> Vec<u8> {
    std::fs::read(folder.join("journal.jsonl")).unwrap()
}
pub mod pty;
pub mod scenarios;
