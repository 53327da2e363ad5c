//! The review in Markdown (`CommonMark` with GFM tables). Every recorded value goes through
//! [`text::markdown`](md) or [`text::markdown_code`](code). The marking is written whatever the
//! model says: the first and the last line of every Markdown review say EXERCISE.

use std::fmt::Write as _;

use super::model::{
    Comparison, MARKING_TEXT, Moment, Review, SessionReview, TIME_NOTE, duration_text, points,
};
use crate::report::markdown::Table;
use crate::report::model::{StepRef, Who};
use crate::report::text::{markdown as md, markdown_code as code, markdown_item as item};

fn banner() -> String {
    format!("> **{MARKING_TEXT}**\n")
}

/// A moment's real time: UTC, and the local time below.
fn real(m: &Moment) -> String {
    m.real
        .map(|r| format!("{}<br>{}", r.utc_text(), r.local_text()))
        .unwrap_or_default()
}

/// A moment's exercise time since the start.
fn ex(m: &Moment) -> String {
    m.elapsed.clone()
}

fn opt_ex(m: Option<&Moment>) -> String {
    m.map(ex).unwrap_or_default()
}

fn who(w: &Who) -> String {
    md(&w.text())
}

fn step(s: Option<&StepRef>) -> String {
    s.map_or_else(String::new, |s| md(&s.title))
}

/// The review as Markdown.
pub fn render(r: &Review) -> String {
    let mut out = String::with_capacity(32 * 1024);
    out.push_str(&banner());
    out.push('\n');
    let title = if r.title.contains("EXERCISE") {
        md(&r.title)
    } else {
        format!("EXERCISE: {}", md(&r.title))
    };
    let _ = writeln!(out, "# {title}\n");
    let _ = writeln!(out, "{}\n", md(TIME_NOTE));
    if let Some(c) = &r.comparison {
        comparison(&mut out, c);
    }
    for s in &r.sessions {
        session(&mut out, s);
    }
    let _ = writeln!(
        out,
        "Made by {} {} from the sessions' journals and their runbook and scenario copies.\n",
        md(&r.generator.name),
        md(&r.generator.version)
    );
    out.push_str(&banner());
    out
}

fn comparison(out: &mut String, c: &Comparison) {
    out.push_str("## Side by side\n\n");
    if let Some(note) = &c.note {
        let _ = writeln!(out, "**{}**\n", md(note));
    }
    let _ = writeln!(
        out,
        "|  | {} |",
        c.columns
            .iter()
            .map(|h| md(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}|", vec!["---"; c.columns.len()].join("|"));
    for row in &c.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|cell| match cell.status {
                "alarm" => format!("**{}**", md(&cell.text)),
                _ => md(&cell.text),
            })
            .collect();
        let _ = writeln!(out, "| **{}** | {} |", md(&row.label), cells.join(" | "));
    }
    out.push('\n');
}

fn session(out: &mut String, s: &SessionReview) {
    let _ = writeln!(out, "## Session {}: {}\n", s.number, md(&s.label));
    if let Some(warning) = &s.verification.warning {
        let _ = writeln!(
            out,
            "> **WARNING: NOT VERIFIED. The journal did not verify.** {}\n",
            md(warning)
        );
    }
    for note in &s.notes {
        let _ = writeln!(out, "> {}\n", md(note));
    }

    out.push_str("### Summary\n\n");
    let f = &s.figures;
    let mut t = Table::new(&["", ""]);
    let mut kv = |k: &str, v: String| t.row(vec![format!("**{k}**"), v]);
    kv(
        "Exercise time, start to last event",
        format!(
            "{} (real time {})",
            duration_text(f.exercise_secs),
            duration_text(f.real_secs)
        ),
    );
    kv(
        "Milestones met",
        format!("{} of {}", f.milestones_met, f.milestones),
    );
    kv(
        "Deadlines missed or met late",
        format!("{} of {}", f.deadlines_missed, f.deadlines),
    );
    kv(
        "Decisions as expected",
        format!(
            "{} of {} with an expected choice",
            f.decisions_as_expected, f.decisions_with_expectation
        ),
    );
    kv(
        "Injects answered",
        format!("{} of {} released", f.injects_answered, f.injects_released),
    );
    kv(
        "Response to injects",
        match (f.response_mean_secs, f.response_max_secs) {
            (Some(mean), Some(max)) => format!(
                "mean {}, slowest {} (exercise time)",
                duration_text(mean),
                duration_text(max)
            ),
            _ => "no inject was answered".to_owned(),
        },
    );
    kv("Steps skipped", f.skipped.to_string());
    kv("Notes (lessons learned)", f.notes.to_string());
    kv("Changes to the exercise clock", f.clock_changes.to_string());
    t.write(out, "");

    out.push_str("### The exercise\n\n");
    let mut t = Table::new(&["", ""]);
    let mut kv = |k: &str, v: String| t.row(vec![format!("**{k}**"), v]);
    kv("Mode", "**EXERCISE**, not a real incident".to_owned());
    kv("Session", code(&s.session));
    kv(
        "Runbook",
        format!(
            "{} ({} {}), SHA-256 {}",
            md(&s.runbook.title),
            code(&s.runbook.id),
            md(&s.runbook.version),
            code(&s.runbook.sha256)
        ),
    );
    kv(
        "Scenario",
        s.scenario.as_ref().map_or_else(
            || "none: the runbook's own injects only".to_owned(),
            |sc| {
                format!(
                    "{} ({} {}), SHA-256 {}",
                    md(&sc.title),
                    code(&sc.id),
                    md(&sc.version),
                    code(&sc.sha256)
                )
            },
        ),
    );
    kv(
        "Facilitator",
        s.facilitator.as_deref().map(md).unwrap_or_default(),
    );
    kv("Operator", md(&s.operator));
    if let Some(w) = &s.witness {
        kv("Witness", md(w));
    }
    kv(
        "Participants",
        if s.participants.is_empty() {
            "none named".to_owned()
        } else {
            s.participants
                .iter()
                .map(|p| format!("{} ({})", md(&p.name), md(&p.role)))
                .collect::<Vec<_>>()
                .join("<br>")
        },
    );
    kv("Case", md(&s.case_id));
    kv("Jurisdiction", md(&s.jurisdiction));
    kv("Host", md(&s.host));
    kv(
        "Started",
        format!("{} · exercise time {}", real(&s.started), ex(&s.started)),
    );
    kv(
        "Last event",
        format!("{} · exercise time {}", real(&s.ended), ex(&s.ended)),
    );
    kv("Status", md(&s.status));
    kv(
        "Journal",
        format!(
            "{} {} events; final hash {}{}",
            md(&s.verification.text),
            s.verification.events,
            code(&s.verification.final_hash),
            s.verification
                .problem
                .as_ref()
                .map(|p| format!("<br>Problem: {}", md(p)))
                .unwrap_or_default()
        ),
    );
    t.write(out, "");
    out.push_str(
        "The picture of the timeline (steps as bars over exercise time, injects, milestones, \
         deadlines and clock changes) is in the HTML and PDF versions of this review.\n\n",
    );

    if let Some(sc) = &s.scenario {
        out.push_str("### Briefing\n\n");
        match &sc.briefing {
            Some(b) => {
                let paragraphs: Vec<String> = b
                    .trim()
                    .split("\n\n")
                    .map(|p| format!("> {}", md(p.trim())))
                    .collect();
                let _ = writeln!(out, "{}\n", paragraphs.join("\n>\n"));
            }
            None => out.push_str("The scenario has no briefing.\n\n"),
        }
    }

    out.push_str("### Milestones\n\n");
    let mut t = Table::new(&[
        "#",
        "Milestone",
        "Target",
        "Counted from",
        "Reached",
        "Time taken",
        "Result",
    ]);
    for m in &s.milestones {
        t.row(vec![
            m.key.clone(),
            md(&m.label),
            m.within_secs.map(duration_text).unwrap_or_default(),
            m.from
                .as_ref()
                .map_or_else(|| "the start".to_owned(), |f| md(&f.title)),
            opt_ex(m.reached.as_ref()),
            m.elapsed_secs.map(duration_text).unwrap_or_default(),
            match m.status {
                "late" | "not_reached" => format!("**{}**", md(&m.text)),
                _ => md(&m.text),
            },
        ]);
    }
    t.write(out, "The runbook and scenario set no milestone.");

    out.push_str("### Deadlines\n\n");
    let mut t = Table::new(&["#", "Deadline", "Counted from", "Due", "Met", "Result"]);
    for d in &s.deadlines {
        t.row(vec![
            d.key.clone(),
            md(&d.label),
            opt_ex(d.from.as_ref()),
            opt_ex(d.due.as_ref()),
            opt_ex(d.met.as_ref()),
            match d.status {
                "missed" | "met_late" => format!("**{}**", md(&d.text)),
                _ => md(&d.text),
            },
        ]);
    }
    t.write(out, "No deadline applies in this jurisdiction.");

    out.push_str("### Decisions\n\n");
    let mut t = Table::new(&[
        "Exercise time",
        "Decision",
        "Choice taken",
        "Reason given",
        "Expected",
        "Why",
        "As expected",
    ]);
    for d in &s.decisions {
        let mark = match (d.matches, d.superseded) {
            ("yes", false) => "✓ yes".to_owned(),
            ("yes", true) => "✓ yes (changed later)".to_owned(),
            ("no", false) => "**✗ no**".to_owned(),
            ("no", true) => "✗ no (changed later)".to_owned(),
            ("not_reached", _) => "not reached".to_owned(),
            _ => "no expectation".to_owned(),
        };
        t.row(vec![
            opt_ex(d.at.as_ref()),
            md(&d.step.title),
            d.label.as_deref().map(md).unwrap_or_default(),
            d.reason.as_deref().map(md).unwrap_or_default(),
            d.expected
                .as_ref()
                .map(|e| md(&e.label))
                .unwrap_or_default(),
            d.expected
                .as_ref()
                .and_then(|e| e.why.as_deref())
                .map(md)
                .unwrap_or_default(),
            mark,
        ]);
    }
    t.write(out, "No decision was taken or expected.");

    out.push_str("### Injects\n\n");
    let released: Vec<_> = s.injects.iter().filter(|i| i.released.is_some()).collect();
    if released.is_empty() {
        out.push_str("No inject was released.\n\n");
    }
    for i in released {
        let _ = writeln!(
            out,
            "#### Inject {}: {}\n",
            i.number.unwrap_or(0),
            md(&i.title)
        );
        if let Some(rel) = &i.released {
            let _ = writeln!(
                out,
                "- **Released:** exercise time {} ({}), {}{}",
                ex(rel),
                rel.real.map(|r| r.utc_text()).unwrap_or_default(),
                md(&i.how),
                i.at_step
                    .as_ref()
                    .filter(|st| !i.how.contains(&format!("\"{}\"", st.title)))
                    .map(|st| format!(", while at step \"{}\"", md(&st.title)))
                    .unwrap_or_default()
            );
        }
        if let Some(b) = &i.body {
            let _ = writeln!(out, "- **What happens:** {}", md(b.trim()));
        }
        if let Some(p) = &i.prompt {
            let _ = writeln!(out, "- **Question to the team:** {}", md(p.trim()));
        }
        match (&i.answered, &i.answer) {
            (Some(at), Some(answer)) => {
                let _ = writeln!(
                    out,
                    "- **Answered:** exercise time {}, by {}, {} after the release (real time \
                     {})",
                    ex(at),
                    i.answered_by.as_deref().map(md).unwrap_or_default(),
                    i.response_secs.map(duration_text).unwrap_or_default(),
                    i.response_real_secs.map(duration_text).unwrap_or_default()
                );
                let _ = writeln!(out, "- **Answer:** {}", md(answer));
            }
            _ => out.push_str("- **Answered:** **not answered**\n"),
        }
        if let Some(e) = &i.expect {
            match points(e) {
                Some(points) => {
                    out.push_str("- **What a good answer covers:**\n");
                    for p in points {
                        let _ = writeln!(out, "  - {}", item(p));
                    }
                }
                None => {
                    let _ = writeln!(out, "- **What a good answer covers:** {}", md(e));
                }
            }
        }
        if !i.sources.is_empty() {
            let _ = writeln!(out, "- **Sources:** {}", md(&i.sources.join("; ")));
        }
        out.push('\n');
    }
    let unreleased: Vec<_> = s.injects.iter().filter(|i| i.released.is_none()).collect();
    if !unreleased.is_empty() {
        out.push_str("Injects of the script that were not released:\n\n");
        for i in unreleased {
            let _ = writeln!(out, "- {}: {}", item(&i.title), md(&i.how));
        }
        out.push('\n');
    }

    out.push_str("### Skipped steps\n\n");
    let mut t = Table::new(&["Exercise time", "Real time (UTC)", "Step", "Reason", "By"]);
    for k in &s.skipped {
        t.row(vec![
            ex(&k.at),
            real(&k.at),
            md(&k.step.title),
            md(&k.reason),
            who(&k.by),
        ]);
    }
    t.write(out, "No step was skipped.");

    out.push_str("### Lessons learned (the notes)\n\n");
    let mut t = Table::new(&["Exercise time", "Real time (UTC)", "Step", "By", "Note"]);
    for n in &s.lessons {
        t.row(vec![
            ex(&n.at),
            real(&n.at),
            step(n.step.as_ref()),
            who(&n.by),
            md(&n.text),
        ]);
    }
    t.write(out, "No note was written.");

    out.push_str("### The exercise clock\n\n");
    let mut t = Table::new(&["Exercise time", "Real time (UTC)", "Change", "Stood still"]);
    for c in &s.clock {
        t.row(vec![
            ex(&c.at),
            real(&c.at),
            md(&c.text),
            c.stood_still_secs
                .map(|d| format!("{} (real time)", duration_text(d)))
                .unwrap_or_default(),
        ]);
    }
    t.write(
        out,
        "The exercise clock ran with real time throughout: it was never paused, sped up or \
         moved on.",
    );

    out.push_str("### Timeline\n\n");
    let mut t = Table::new(&[
        "#",
        "Real time (UTC)",
        "Exercise time",
        "Who",
        "Step",
        "What",
    ]);
    for e in &s.timeline {
        t.row(vec![
            e.seq.to_string(),
            real(&e.at),
            ex(&e.at),
            who(&e.actor),
            step(e.step.as_ref()),
            md(&e.text),
        ]);
    }
    t.write(out, "");
}
