//! One line of plain words for an event, as the journal pane shows it.

use crate::journal::event::{Body, CommandRun, ContactPurpose, Event, Role};

/// Who did it, when it was a person other than the operator, or custody itself.
fn actor(event: &Event) -> Option<String> {
    match event.actor.role {
        Role::Operator => None,
        Role::Custody => Some("custody".into()),
        Role::Witness | Role::Facilitator => {
            let role = if event.actor.role == Role::Witness {
                "witness"
            } else {
                "facilitator"
            };
            Some(match &event.actor.name {
                Some(name) => format!("{role} {name}"),
                None => role.to_owned(),
            })
        }
    }
}

/// What happened, in a few words (not sanitised: the caller sanitises for its output).
pub fn event(event: &Event) -> String {
    let step = event.step.as_deref().unwrap_or("-");
    let text = match &event.body {
        Body::SessionStarted(s) => format!(
            "session started: {} {} for case {}",
            s.runbook.id, s.runbook.version, s.case_id
        ),
        Body::StepStarted(s) if s.reason.is_empty() => format!("step {step} started"),
        Body::StepStarted(s) => format!("went back to {step}: {}", s.reason),
        Body::ItemConfirmed(i) => format!("confirmed: {}", i.text),
        Body::StepCompleted(_) => format!("step {step} done"),
        Body::DecisionMade(d) => format!("decided: {} (because {})", d.label, d.reason),
        Body::FieldsRecorded(f) => {
            let fields: Vec<&str> = f.values.keys().map(String::as_str).collect();
            format!("recorded {}", fields.join(", "))
        }
        Body::NoteAdded(n) => format!("note: {}", n.text),
        Body::StepSkipped(s) => format!("skipped {step}: {}", s.reason),
        Body::EvidenceRecorded(e) => {
            let mut text = format!(
                "hashed {} files ({})",
                e.files,
                crate::report::model::bytes_short(e.bytes)
            );
            if e.error_count() > 0 {
                text = format!("{text}, {} unreadable", e.error_count());
            }
            if e.cancelled {
                text.push_str(", STOPPED before the end");
            }
            text
        }
        Body::CommandStarted(c) => format!(
            "running {}{}",
            c.argv.first().map_or("", String::as_str),
            if c.changes_system {
                " (changes the system)"
            } else {
                ""
            }
        ),
        Body::CommandRun(c) => command_outcome(c),
        Body::ContactMade(c) => {
            let verb = match c.purpose {
                ContactPurpose::Report => "reported to",
                ContactPurpose::Inform => "informed",
            };
            match &c.reference {
                Some(r) => format!("{verb} {} by {} (ref {r})", c.to, c.channel),
                None => format!("{verb} {} by {}", c.to, c.channel),
            }
        }
        Body::CustodyTransferred(t) => {
            format!("handed {} from {} to {}", t.items, t.from.name, t.to.name)
        }
        Body::InjectReleased(i) => format!("inject: {}", i.title),
        Body::InjectAnswered(a) => match &a.by {
            Some(by) => format!("{by} answered inject {}: {}", a.inject, a.answer),
            None => format!("answered inject {}: {}", a.inject, a.answer),
        },
        Body::ClockChanged(c) => clock_change(c),
        Body::DeadlinePassed(d) => format!("deadline passed: {}", d.label),
        Body::Paused(p) => match &p.reason {
            Some(r) => format!("paused: {r}"),
            None => "paused".into(),
        },
        Body::Resumed(r) if r.interrupted => format!(
            "resumed after an interruption of {}",
            duration(r.gap_seconds)
        ),
        Body::Resumed(r) => format!("resumed after {}", duration(r.gap_seconds)),
        Body::Recovered(r) => format!("recovered: {} torn bytes set aside", r.length),
        Body::Sealed(_) => "session sealed".into(),
        Body::ReportWritten(w) => format!("report written: {} files", w.files.len()),
    };
    match actor(event) {
        Some(who) => format!("{who}: {text}"),
        None => text,
    }
}

/// How a command ended, in a few words: `ran ss: exit 0, after 0.2 s`, `ran sleep: killed by
/// signal 15, timed out after 30.0 s`, `ss could not run: ...`.
pub fn command_outcome(c: &CommandRun) -> String {
    let program = c.argv.first().map_or("", String::as_str);
    if c.exit_code.is_none()
        && c.signal.is_none()
        && let Some(error) = &c.error
    {
        return format!("{program} could not run: {error}");
    }
    #[allow(clippy::cast_precision_loss)]
    let seconds = c.duration_ms as f64 / 1000.0;
    let how = if c.timed_out {
        format!("timed out after {seconds:.1} s")
    } else if c.error.as_deref() == Some(crate::evidence::run::STOPPED) {
        format!("stopped by the operator after {seconds:.1} s")
    } else {
        format!("after {seconds:.1} s")
    };
    let status = match (c.exit_code, c.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no exit status".to_owned(),
    };
    let mut text = format!("ran {program}: {status}, {how}");
    if c.changes_system {
        text.push_str(" (changes the system)");
    }
    if let Some(error) = c
        .error
        .as_deref()
        .filter(|e| *e != crate::evidence::run::STOPPED)
    {
        text.push_str("; ");
        text.push_str(error);
    }
    text
}

/// A duration in the largest units that matter: `45s`, `12m`, `3h 05m`, `2d 4h`.
pub fn duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60);
    if d > 0 {
        format!("{sign}{d}d {h}h")
    } else if h > 0 {
        format!("{sign}{h}h {m:02}m")
    } else if m > 0 {
        format!("{sign}{m}m {:02}s", s % 60)
    } else {
        format!("{sign}{s}s")
    }
}

/// A change of the exercise clock, in a few words.
pub fn clock_change(c: &crate::journal::event::ClockChanged) -> String {
    use crate::journal::event::ClockChange;
    let reading = c.exercise_time.format("%Y-%m-%d %H:%M UTC");
    match c.change {
        ClockChange::Pause => format!("exercise clock paused at {reading}"),
        ClockChange::Resume => format!("exercise clock resumed at {reading}"),
        ClockChange::Advance => format!(
            "exercise clock moved on by {} to {reading}",
            duration(i64::try_from(c.advanced_secs.unwrap_or(0)).unwrap_or(i64::MAX))
        ),
        ClockChange::Speed => format!("exercise clock set to {}x at {reading}", c.speed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(exit_code: Option<i32>, signal: Option<i32>, error: Option<&str>) -> CommandRun {
        CommandRun {
            argv: vec!["ss".into(), "-tunap".into()],
            changes_system: false,
            started: chrono::DateTime::UNIX_EPOCH,
            duration_ms: 1250,
            exit_code,
            signal,
            timed_out: false,
            stdout: None,
            stderr: None,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn command_outcomes_read_naturally() {
        assert_eq!(
            command_outcome(&run(Some(0), None, None)),
            "ran ss: exit 0, after 1.2 s"
        );
        let mut timed_out = run(None, Some(15), None);
        timed_out.timed_out = true;
        timed_out.changes_system = true;
        assert_eq!(
            command_outcome(&timed_out),
            "ran ss: killed by signal 15, timed out after 1.2 s (changes the system)"
        );
        assert_eq!(
            command_outcome(&run(None, Some(15), Some(crate::evidence::run::STOPPED))),
            "ran ss: killed by signal 15, stopped by the operator after 1.2 s"
        );
        assert_eq!(
            command_outcome(&run(None, None, Some("`ss` was not found"))),
            "ss could not run: `ss` was not found"
        );
        assert_eq!(
            command_outcome(&run(Some(0), None, Some("disk full: 10 bytes kept"))),
            "ran ss: exit 0, after 1.2 s; disk full: 10 bytes kept"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(125), "2m 05s");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2d 4h");
        assert_eq!(duration(-90), "-1m 30s");
    }
}
