//! One line of plain words for an event, as the journal pane shows it.

use crate::journal::event::{Body, ContactPurpose, Event, Role};

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
            format!("evidence: {} files, {} bytes hashed", e.files, e.bytes)
        }
        Body::CommandRun(c) => format!(
            "ran {} (exit {})",
            c.argv.first().map_or("", String::as_str),
            c.exit_code
                .map_or_else(|| "none".to_owned(), |c| c.to_string())
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(125), "2m 05s");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2d 4h");
        assert_eq!(duration(-90), "-1m 30s");
    }
}
