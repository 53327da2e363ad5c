//! The Markdown report (`CommonMark` with GFM tables): readable as plain text in an editor or a
//! ticket, and rendered by any Markdown viewer. Every recorded value goes through
//! [`text::markdown`] or [`text::markdown_code`].

use std::fmt::Write as _;

use super::Report;
use super::model::{Stamp, StepRef, Who, bytes_text, party_text};
use super::text::{markdown as md, markdown_code as code, markdown_item as item};

/// A GFM table, its cells already escaped.
pub(crate) struct Table {
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(head: &[&'static str]) -> Self {
        Self {
            head: head.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn write(&self, out: &mut String, empty: &str) {
        if self.rows.is_empty() {
            let _ = writeln!(out, "{empty}\n");
            return;
        }
        let _ = writeln!(out, "| {} |", self.head.join(" | "));
        let _ = writeln!(
            out,
            "|{}|",
            self.head
                .iter()
                .map(|_| "---")
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            let cells: Vec<&str> = row
                .iter()
                .map(|c| if c.is_empty() { " " } else { c.as_str() })
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
    }
}

fn time(t: &Stamp) -> String {
    format!("{}<br>{}", t.utc_text(), t.local_text())
}

fn who(w: &Who) -> String {
    md(&w.text())
}

fn step(s: Option<&StepRef>) -> String {
    s.map_or_else(String::new, |s| md(&s.title))
}

fn opt(v: Option<&String>) -> String {
    v.map_or_else(String::new, |v| md(v))
}

const EXERCISE_BANNER: &str =
    "> **EXERCISE. This document records a training exercise, not a real incident.**\n\n";

/// The integrity statement's "Sealed" of a report the seal writes (it precedes the seal).
pub(crate) const SEALING: &str =
    "being sealed: this report is written by the seal, which follows it in the journal";

/// The report as Markdown.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(32 * 1024);
    if r.exercise {
        out.push_str(EXERCISE_BANNER);
    }
    let _ = writeln!(out, "# {}\n", md(&r.title));
    let _ = writeln!(
        out,
        "Case **{}** · session {} · jurisdiction {} · as of the last event, {}\n",
        md(&r.case.case_id),
        code(&r.case.session),
        md(&jurisdiction(r)),
        md(&r.case.last_event.utc_text()),
    );
    if let Some(warning) = &r.integrity.warning {
        let _ = writeln!(
            out,
            "> **WARNING: the record did not verify.** {}\n",
            md(warning)
        );
    }

    // Management summary.
    out.push_str("## Management summary\n\n");
    for line in &r.summary.overview {
        let _ = writeln!(out, "- {}", item(line));
    }
    out.push('\n');
    out.push_str("### Reports made\n\n");
    let mut t = Table::new(&["Time", "To", "Channel", "Reference", "Contact person", "By"]);
    for d in &r.summary.reports {
        t.row(vec![
            time(&d.when()),
            md(&d.to),
            md(&d.channel),
            opt(d.reference.as_ref()),
            opt(d.person.as_ref()),
            who(&d.by),
        ]);
    }
    t.write(&mut out, "No official report has been recorded.");
    out.push_str("### Who was informed\n\n");
    let mut t = Table::new(&["Time", "Who", "Channel", "Person", "By"]);
    for d in &r.summary.informed {
        t.row(vec![
            time(&d.when()),
            md(&d.to),
            md(&d.channel),
            opt(d.person.as_ref()),
            who(&d.by),
        ]);
    }
    t.write(&mut out, "No one has been recorded as informed.");
    out.push_str("### Deadlines\n\n");
    let mut t = Table::new(&["Deadline", "Counted from", "Due", "Status"]);
    for d in &r.summary.deadlines {
        t.row(vec![
            md(&d.label),
            d.from.map(|f| time(&f)).unwrap_or_default(),
            d.due.map(|f| time(&f)).unwrap_or_default(),
            md(&d.text),
        ]);
    }
    t.write(
        &mut out,
        "The runbook sets no deadline for this jurisdiction.",
    );
    out.push_str("### Open actions\n\n");
    if r.summary.open_actions.is_empty() {
        out.push_str("None.\n\n");
    } else {
        for a in &r.summary.open_actions {
            let _ = writeln!(out, "- {}", item(a));
        }
        out.push('\n');
    }

    // Police section.
    out.push_str("## Record for the police\n\n");
    out.push_str("All times are in UTC, with the local time and offset of the machine below.\n\n");
    out.push_str("### Case\n\n");
    let mut t = Table::new(&["", ""]);
    let mut kv = |k: &str, v: String| t.row(vec![format!("**{k}**"), v]);
    kv("Case", md(&r.case.case_id));
    kv("Session", code(&r.case.session));
    kv(
        "Mode",
        if r.exercise {
            "**EXERCISE**".to_owned()
        } else {
            "real incident".to_owned()
        },
    );
    kv("Jurisdiction", md(&jurisdiction(r)));
    kv("Operator", md(&r.case.operator));
    kv("Witness", opt(r.case.witness.as_ref()));
    if r.case.facilitator.is_some() {
        kv("Facilitator", opt(r.case.facilitator.as_ref()));
    }
    kv("Started", time(&r.case.started));
    kv("Last event", time(&r.case.last_event));
    kv("Host", md(&r.case.host));
    kv("Time zone", opt(r.case.timezone.as_ref()));
    kv("Clock", md(&r.case.clock.text));
    kv("Recorded with", md(&r.case.recorded_with));
    for (name, value) in &r.case.variables {
        kv("Variable", format!("{}: {}", code(name), md(value)));
    }
    t.write(&mut out, "");

    out.push_str("### Statements\n\n");
    let _ = writeln!(
        out,
        "**Did anyone view the material?** {}\n",
        md(&r.statements.viewed.text)
    );
    if let Some(d) = &r.statements.viewed.details {
        let _ = writeln!(out, "Details recorded: {}\n", md(d));
    }
    let _ = writeln!(
        out,
        "**Was anything deleted or changed?** {}\n",
        md(&r.statements.changed.text)
    );
    if let Some(d) = &r.statements.changed.details {
        let _ = writeln!(out, "Details recorded: {}\n", md(d));
    }
    for s in &r.statements.custody {
        let _ = writeln!(out, "- {}", item(s));
    }
    out.push('\n');

    out.push_str("### People\n\n");
    let mut t = Table::new(&["Role", "Name", "Events", "First", "Last"]);
    for a in &r.actors {
        t.row(vec![
            md(a.role),
            opt(a.name.as_ref()),
            a.events.to_string(),
            a.first.map(|f| time(&f)).unwrap_or_default(),
            a.last.map(|f| time(&f)).unwrap_or_default(),
        ]);
    }
    t.write(&mut out, "");
    if !r.parties.is_empty() {
        let mut t = Table::new(&["Outside party", "Role", "Organisation", "Named in"]);
        for p in &r.parties {
            t.row(vec![
                md(&p.name),
                opt(p.role.as_ref()),
                opt(p.organisation.as_ref()),
                md(p.context),
            ]);
        }
        t.write(&mut out, "");
    }

    out.push_str("### Systems\n\n");
    let mut t = Table::new(&["System", "Known as"]);
    for s in &r.systems {
        t.row(vec![md(&s.name), md(&s.source)]);
    }
    t.write(&mut out, "");

    out.push_str("### Timeline\n\n");
    let mut t = Table::new(&["#", "Time", "Who", "Step", "What"]);
    for e in &r.timeline {
        t.row(vec![
            e.seq.to_string(),
            time(&e.time),
            who(&e.actor),
            step(e.step.as_ref()),
            md(&e.text),
        ]);
    }
    t.write(&mut out, "");

    out.push_str("### Decisions\n\n");
    let mut t = Table::new(&["#", "Time", "Question", "Choice", "Reason", "By"]);
    for d in &r.decisions {
        t.row(vec![
            d.seq.to_string(),
            time(&d.time),
            md(&d.step.title),
            md(&d.label),
            md(&d.reason),
            who(&d.by),
        ]);
    }
    t.write(&mut out, "No decision was recorded.");

    out.push_str("### Recorded facts\n\n");
    if r.records.is_empty() {
        out.push_str("Nothing was recorded.\n\n");
    }
    for rec in &r.records {
        let _ = writeln!(
            out,
            "**{}** (event {}, {}, {})\n",
            md(&rec.step.title),
            rec.seq,
            md(&rec.time.utc_text()),
            who(&rec.by)
        );
        let mut t = Table::new(&["Question", "Answer"]);
        for f in &rec.fields {
            t.row(vec![md(&f.label), md(&f.shown)]);
        }
        t.write(&mut out, "");
    }

    out.push_str("### Notes\n\n");
    let mut t = Table::new(&["#", "Time", "Who", "Step", "Note"]);
    for n in &r.notes {
        t.row(vec![
            n.seq.to_string(),
            time(&n.time),
            who(&n.by),
            step(n.step.as_ref()),
            md(&n.text),
        ]);
    }
    t.write(&mut out, "No notes.");

    out.push_str("### Skipped steps\n\n");
    let mut t = Table::new(&["#", "Time", "Step", "Reason", "By"]);
    for s in &r.skipped {
        t.row(vec![
            s.seq.to_string(),
            time(&s.time),
            md(&s.step.title),
            md(&s.reason),
            who(&s.by),
        ]);
    }
    t.write(&mut out, "No step was skipped.");

    out.push_str("### Evidence manifest\n\n");
    let mut t = Table::new(&[
        "#",
        "Time",
        "Paths",
        "Files",
        "Size",
        "Manifest, SHA256SUMS (SHA-256)",
        "Notes",
    ]);
    for e in &r.evidence {
        let mut notes = Vec::new();
        if e.cancelled {
            notes.push("CANCELLED before the end".to_owned());
        }
        for note in e.notes() {
            notes.push(md(&note));
        }
        for err in &e.errors {
            notes.push(md(err));
        }
        t.row(vec![
            e.seq.to_string(),
            time(&e.time),
            e.paths
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join("<br>"),
            e.files.to_string(),
            md(&bytes_text(e.bytes)),
            e.manifest
                .iter()
                .chain(&e.sums)
                .map(|m| format!("{}<br>{}", code(&m.file), code(&m.sha256)))
                .collect::<Vec<_>>()
                .join("<br>"),
            notes.join("<br>"),
        ]);
    }
    t.write(&mut out, "No evidence was hashed.");

    out.push_str("### Commands run\n\n");
    let mut t = Table::new(&["#", "Time", "Command", "Outcome", "Output (SHA-256)"]);
    for c in &r.commands {
        let mut output = Vec::new();
        for (name, f) in [("stdout", &c.stdout), ("stderr", &c.stderr)] {
            if let Some(f) = f {
                output.push(format!(
                    "{name}: {} ({})<br>{}",
                    code(&f.file),
                    md(&bytes_text(f.size)),
                    code(&f.sha256)
                ));
            }
        }
        t.row(vec![
            c.seq.to_string(),
            time(&c.time),
            format!(
                "{}{}",
                if c.changes_system {
                    "**CHANGES THE SYSTEM** "
                } else {
                    ""
                },
                code(&c.argv.join(" "))
            ),
            md(&c.outcome),
            output.join("<br>"),
        ]);
    }
    t.write(&mut out, "No command was run.");

    out.push_str("### Chain of custody\n\n");
    let mut t = Table::new(&[
        "#",
        "Time",
        "Items",
        "From",
        "To",
        "Where now",
        "Recorded by",
    ]);
    for c in &r.custody {
        t.row(vec![
            c.seq.to_string(),
            match &c.at {
                Some(at) => format!("{}<br>(recorded {})", md(at), md(&c.time.utc_text())),
                None => time(&c.time),
            },
            md(&c.items),
            md(&party_text(&c.from)),
            md(&party_text(&c.to)),
            md(&c.location),
            who(&c.by),
        ]);
    }
    t.write(&mut out, "No transfer of custody was recorded.");

    out.push_str("### Disclosure register\n\n");
    let mut t = Table::new(&[
        "#",
        "Time",
        "Purpose",
        "To",
        "Channel",
        "Reference",
        "Person",
        "Notes",
        "By",
    ]);
    for d in &r.disclosures {
        t.row(vec![
            d.seq.to_string(),
            match &d.at {
                Some(at) => match d.made {
                    Some(made) => {
                        format!("{}<br>(recorded {})", time(&made), md(&d.time.utc_text()))
                    }
                    None => format!("{}<br>(recorded {})", md(at), md(&d.time.utc_text())),
                },
                None => time(&d.time),
            },
            md(d.purpose),
            md(&d.to),
            md(&d.channel),
            opt(d.reference.as_ref()),
            opt(d.person.as_ref()),
            opt(d.notes.as_ref()),
            who(&d.by),
        ]);
    }
    t.write(&mut out, "No one outside the session was told.");

    if !r.injects.is_empty() {
        out.push_str("### Exercise injects\n\n");
        let mut t = Table::new(&["#", "Time", "Inject", "Released by"]);
        for i in &r.injects {
            t.row(vec![
                i.seq.to_string(),
                time(&i.time),
                md(&i.title),
                who(&i.by),
            ]);
        }
        t.write(&mut out, "");
    }

    out.push_str("### Runbook\n\n");
    let _ = writeln!(
        out,
        "{} ({}), version {}, language {}{}. The copy followed is {} in the session folder, \
         SHA-256 {}.\n",
        md(&r.runbook.title),
        code(&r.runbook.id),
        md(&r.runbook.version),
        md(&r.runbook.language),
        r.runbook
            .reviewed
            .as_ref()
            .map(|d| format!(", legal content reviewed {}", md(d)))
            .unwrap_or_default(),
        code(&r.runbook.file),
        code(&r.runbook.sha256)
    );
    if !r.runbook.sources.is_empty() {
        out.push_str("Sources the runbook relies on:\n\n");
        for s in &r.runbook.sources {
            let _ = writeln!(
                out,
                "- {}{}",
                item(&s.title),
                s.url
                    .as_ref()
                    .map(|u| format!(" ({})", code(u)))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }

    out.push_str("### Integrity statement\n\n");
    let i = &r.integrity;
    let _ = writeln!(
        out,
        "{}\n",
        if i.verified {
            "The journal's hash chain was verified when this report was made: every event \
             is intact and in order."
        } else {
            "**The journal did NOT verify when this report was made.**"
        }
    );
    let mut t = Table::new(&["", ""]);
    let mut kv = |k: &str, v: String| t.row(vec![format!("**{k}**"), v]);
    kv("Events", format!("{} ({} bytes)", i.events, i.bytes));
    kv("First event", time(&i.first_event));
    kv("Last event", time(&i.last_event));
    kv("Final hash", code(&i.final_hash));
    if let Some(p) = &i.problem {
        kv("Problem", md(p));
    }
    kv(
        "Sealed",
        match &i.sealed {
            Some(s) => format!(
                "{} (event {}){}",
                md(&s.time.utc_text()),
                s.seq,
                if s.complete {
                    ""
                } else {
                    ", before the runbook's end"
                }
            ),
            None if i.sealing == "unknown" => {
                "**unknown**: the journal is damaged before any seal could be read".to_owned()
            }
            None if i.sealing == "sealing" => SEALING.to_owned(),
            None => "no: events could still be added".to_owned(),
        },
    );
    kv("Signature", md(&i.signature));
    if let Some(s) = &i.signed_by {
        kv("Signed by", md(s));
    }
    kv("Runbook copy", md(&i.runbook_copy));
    kv("Recoveries", i.recoveries.to_string());
    kv("Interruptions", i.interruptions.to_string());
    t.write(&mut out, "");
    for n in &i.notes {
        let _ = writeln!(out, "- {}", item(n));
    }
    if !i.notes.is_empty() {
        out.push('\n');
    }
    out.push_str(
        "To check this record again, run in the folder that holds the session (the final hash \
         must be found in the chain):\n\n",
    );
    for c in &i.how_to_verify {
        let _ = writeln!(out, "    {}", super::text::clean(c).replace('\n', " "));
    }
    out.push('\n');

    out.push_str("### Signatures\n\n");
    let mut t = Table::new(&["Role", "Name", "Signature", "Date"]);
    for s in &r.signatures {
        t.row(vec![
            md(s.role),
            opt(s.name.as_ref()),
            String::new(),
            String::new(),
        ]);
    }
    t.write(&mut out, "");
    let _ = writeln!(
        out,
        "Made by {} {} from the journal of session {}.",
        md(&r.generator.name),
        md(&r.generator.version),
        code(&r.case.session)
    );
    if r.exercise {
        out.push('\n');
        out.push_str(EXERCISE_BANNER.trim_end());
        out.push('\n');
    }
    out
}

fn jurisdiction(r: &Report) -> String {
    match &r.case.jurisdiction_name {
        Some(name) => format!("{} ({name})", r.case.jurisdiction),
        None => r.case.jurisdiction.clone(),
    }
}
