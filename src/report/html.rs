//! The HTML report: one self-contained page (inline CSS, no script, no external resource)
//! that prints well on A4 and Letter.
//!
//! The sections, their order and their wording follow the Markdown report
//! ([`super::markdown`]). Every value from the model goes through [`text::html`](h), which
//! escapes markup and shows control and bidi characters as visible escapes; the page's
//! Content-Security-Policy forbids scripts and every load, so that even a value that slipped
//! through could neither run nor fetch anything. The style sheet is `report.css`; the only
//! other style is the exercise's page margins (`EXERCISE_CSS`).

use std::fmt::Write as _;

use chrono::SecondsFormat;

use super::Report;
use super::model::{Stamp, StepRef, Who, bytes_text, party_text};
use super::text::{self, html as h};

/// The page's style sheet, inlined.
pub(crate) const CSS: &str = include_str!("report.css");

/// Nothing may be loaded or run; only the inline style sheet applies. `base-uri` and
/// `form-action` do not fall back to `default-src`, so they are named too.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                   form-action 'none'";

const EXERCISE_TEXT: &str =
    "EXERCISE. This document records a training exercise, not a real incident.";

/// An exercise's printed pages say so at their top and bottom (in the page margins, where
/// the browser supports margin boxes), besides the mark fixed across every page.
pub(crate) const EXERCISE_CSS: &str = "@page {\n  \
    @top-center { content: \"EXERCISE \\00B7  not a real incident\"; color: #b00020; \
    font: 700 8pt sans-serif; letter-spacing: .15em; }\n  \
    @bottom-left { content: \"EXERCISE \\00B7  not a real incident\"; color: #b00020; \
    font: 700 7.5pt sans-serif; letter-spacing: .1em; }\n}\n";

/// The police section's parts, in order: (id, heading).
const POLICE_PARTS: [(&str, &str); 17] = [
    ("case", "Case"),
    ("statements", "Statements"),
    ("people", "People"),
    ("systems", "Systems"),
    ("timeline", "Timeline"),
    ("decisions", "Decisions"),
    ("facts", "Recorded facts"),
    ("notes", "Notes"),
    ("skipped", "Skipped steps"),
    ("evidence", "Evidence manifest"),
    ("commands", "Commands run"),
    ("custody", "Chain of custody"),
    ("disclosures", "Disclosure register"),
    ("injects", "Exercise injects"),
    ("runbook", "Runbook"),
    ("integrity", "Integrity statement"),
    ("signatures", "Signatures"),
];

// ---- Building blocks -----------------------------------------------------------------------

/// A table, its cells already HTML. Each column has a class (its width and alignment in the
/// style sheet), given to its header and its cells.
pub(crate) struct Table {
    class: &'static str,
    columns: Vec<(&'static str, &'static str)>,
    rows: Vec<(&'static str, Vec<String>)>,
}

impl Table {
    pub(crate) fn new(class: &'static str, columns: &[(&'static str, &'static str)]) -> Self {
        Self {
            class,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(("", cells));
    }

    /// A row with a class of its own (`alarm`, `caution`): it stands out.
    pub(crate) fn marked_row(&mut self, class: &'static str, cells: Vec<String>) {
        self.rows.push((class, cells));
    }

    /// Writes the table, or `empty` as a paragraph when it has no row.
    pub(crate) fn write(&self, out: &mut String, empty: &str) {
        if self.rows.is_empty() {
            if !empty.is_empty() {
                let _ = writeln!(out, "<p class=\"empty\">{empty}</p>");
            }
            return;
        }
        if self.class.is_empty() {
            out.push_str("<table>\n");
        } else {
            let _ = writeln!(out, "<table class=\"{}\">", self.class);
        }
        out.push_str("<thead><tr>");
        for (head, class) in &self.columns {
            let _ = write!(out, "<th scope=\"col\"{}>{head}</th>", class_attr(class));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (row_class, cells) in &self.rows {
            let _ = write!(out, "<tr{}>", class_attr(row_class));
            for ((_, class), cell) in self.columns.iter().zip(cells) {
                let _ = write!(out, "<td{}>{cell}</td>", class_attr(class));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

/// Key-value rows (the case, the integrity statement); the keys are the report's own words.
pub(crate) struct Facts {
    rows: Vec<(&'static str, &'static str, String)>,
}

impl Facts {
    pub(crate) fn new() -> Self {
        Self { rows: Vec::new() }
    }

    pub(crate) fn add(&mut self, key: &'static str, value: String) {
        self.rows.push((key, "", value));
    }

    /// A row that stands out (`alarm`, `caution`).
    pub(crate) fn marked(&mut self, key: &'static str, class: &'static str, value: String) {
        self.rows.push((key, class, value));
    }

    pub(crate) fn write(&self, out: &mut String) {
        out.push_str("<table class=\"facts\">\n<tbody>\n");
        for (key, class, value) in &self.rows {
            let _ = writeln!(
                out,
                "<tr{}><th scope=\"row\">{key}</th><td>{value}</td></tr>",
                class_attr(class)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

pub(crate) fn class_attr(class: &str) -> String {
    if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    }
}

/// The `datetime` attribute of a moment: RFC 3339 in UTC.
fn datetime(t: &Stamp) -> String {
    h(&t.utc.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A time of day and its zone (`09:15:02 UTC`, `10:15:02 +01:00`) kept on one line: a
/// narrow column breaks a moment only between its date and its time.
fn keep_zone(text: &str) -> String {
    match text.rsplit_once(' ') {
        Some((time, zone)) => format!("{}&nbsp;{}", h(time), h(zone)),
        None => h(text),
    }
}

/// A moment in UTC, inline.
pub(crate) fn utc(t: &Stamp) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        datetime(t),
        keep_zone(&t.utc_text())
    )
}

/// A moment for a table cell: UTC, and the machine's local time below.
pub(crate) fn time(t: &Stamp) -> String {
    format!(
        "{}<br><span class=\"local\">{}</span>",
        utc(t),
        keep_zone(&t.local_text())
    )
}

/// When something happened as the operator gave it (free text), then when it was recorded.
fn given_time(at: Option<&String>, recorded: &Stamp) -> String {
    match at {
        Some(at) => format!(
            "{}<br><span class=\"local\">(recorded {})</span>",
            h(at),
            utc(recorded)
        ),
        None => time(recorded),
    }
}

/// `A. Jansen (operator)`, the role quieter.
pub(crate) fn who(w: &Who) -> String {
    match &w.name {
        Some(name) => format!("{} <span class=\"role\">({})</span>", h(name), h(w.role)),
        None => format!("<span class=\"role\">{}</span>", h(w.role)),
    }
}

pub(crate) fn step(s: Option<&StepRef>) -> String {
    s.map_or_else(String::new, |s| h(&s.title))
}

pub(crate) fn opt(v: Option<&String>) -> String {
    v.map_or_else(String::new, |v| h(v))
}

/// Code (a path, a command, a file name, a URL) on one line, as in the Markdown: a line break
/// in it shows as `\n`. It may wrap after a slash, and anywhere when a word is still too
/// long for its column.
pub(crate) fn code(v: &str) -> String {
    let one_line = text::clean(v).replace('\n', "\\n");
    format!("<code>{}</code>", h(&one_line).replace('/', "/<wbr>"))
}

/// A hash: monospace, breaking anywhere.
pub(crate) fn hash(v: &str) -> String {
    format!("<code class=\"hash\">{}</code>", h(v))
}

/// A short status word that must stand out: coloured, bold and boxed (solid for `alarm`,
/// dashed for `caution`), so that it reads in black-and-white print too.
pub(crate) fn flag(class: &'static str, text: &str) -> String {
    format!("<span class=\"flag {class}\">{text}</span>")
}

/// A longer text that must stand out: bold and coloured, with a bar beside it (solid for
/// `alarm`, dashed for `caution`); `good` is only coloured.
pub(crate) fn mark(class: &'static str, html: &str) -> String {
    format!("<div class=\"mark {class}\">{html}</div>")
}

/// How a deadline's status stands out.
fn deadline_class(status: &str) -> &'static str {
    match status {
        "missed" => "alarm",
        "met_late" | "open" => "caution",
        "met" => "good",
        _ => "neutral",
    }
}

/// How a statement's answer stands out: `yes` (the material was viewed, something was
/// changed) is what an investigator must not miss; a statement without an answer is a gap.
fn statement_class(answer: &str) -> &'static str {
    match answer {
        "yes" => "alarm",
        "no" => "good",
        _ => "caution",
    }
}

fn jurisdiction(r: &Report) -> String {
    match &r.case.jurisdiction_name {
        Some(name) => format!("{} ({name})", r.case.jurisdiction),
        None => r.case.jurisdiction.clone(),
    }
}

// ---- The page ------------------------------------------------------------------------------

/// The report as an HTML page.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    head(&mut out, r);
    let _ = writeln!(
        out,
        "<body class=\"{}\">",
        if r.exercise { "exercise" } else { "real" }
    );
    if r.exercise {
        // On screen, a banner at the top and the bottom; in print, a mark fixed across every
        // page and the page margins' text (EXERCISE_CSS).
        let _ = writeln!(
            out,
            "<div class=\"exercise-mark\" aria-hidden=\"true\">EXERCISE</div>\n\
             <p class=\"banner exercise-banner\" role=\"note\"><strong>{EXERCISE_TEXT}</strong></p>"
        );
    }
    header(&mut out, r);
    out.push_str("<main>\n");
    summary(&mut out, r);
    police(&mut out, r);
    out.push_str("</main>\n");
    let _ = writeln!(
        out,
        "<footer>\n<p>Made by {} {} from the journal of session {}.</p>\n</footer>",
        h(&r.generator.name),
        h(&r.generator.version),
        code(&r.case.session)
    );
    if r.exercise {
        let _ = writeln!(
            out,
            "<p class=\"banner exercise-banner\" role=\"note\"><strong>{EXERCISE_TEXT}</strong></p>"
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn head(out: &mut String, r: &Report) {
    let one_line = |s: &str| h(&s.replace(['\n', '\r'], " "));
    let mut title = one_line(&r.title);
    if r.exercise && !r.title.starts_with("EXERCISE") {
        title.insert_str(0, "EXERCISE: ");
    }
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n\
         <title>{title} · {}</title>\n<style>\n{CSS}",
        one_line(&r.generator.name),
        one_line(&r.generator.version),
        one_line(&r.case.case_id),
    );
    if r.exercise {
        out.push_str(EXERCISE_CSS);
    }
    out.push_str("</style>\n</head>\n");
}

fn header(out: &mut String, r: &Report) {
    let _ = writeln!(
        out,
        "<header>\n<p class=\"kicker\">{}</p>\n<h1>{}</h1>",
        if r.exercise {
            "Exercise report"
        } else {
            "Incident report"
        },
        h(&r.title)
    );
    let _ = writeln!(
        out,
        "<dl class=\"meta\">\n\
         <div><dt>Case</dt><dd><strong>{}</strong></dd></div>\n\
         <div><dt>Session</dt><dd>{}</dd></div>\n\
         <div><dt>Jurisdiction</dt><dd>{}</dd></div>\n\
         <div><dt>As of the last event</dt><dd>{}</dd></div>\n\
         </dl>\n</header>",
        h(&r.case.case_id),
        code(&r.case.session),
        h(&jurisdiction(r)),
        utc(&r.case.last_event),
    );
    if let Some(warning) = &r.integrity.warning {
        let _ = writeln!(
            out,
            "<div class=\"warning\" role=\"alert\"><p><strong>WARNING: the record did not \
             verify.</strong> {} See the <a href=\"#integrity\">integrity statement</a>.</p></div>",
            h(warning)
        );
    }
}

// ---- Management summary --------------------------------------------------------------------

fn summary(out: &mut String, r: &Report) {
    out.push_str("<section class=\"summary\" id=\"summary\">\n<h2>Management summary</h2>\n");
    out.push_str("<ul class=\"overview\">\n");
    for line in &r.summary.overview {
        let _ = writeln!(out, "<li>{}</li>", h(line));
    }
    out.push_str("</ul>\n");

    out.push_str("<h3>Reports made</h3>\n");
    let mut t = Table::new(
        "compact",
        &[
            ("Time", "time"),
            ("To", ""),
            ("Channel", ""),
            ("Reference", "ref"),
            ("Contact person", ""),
            ("By", "who"),
        ],
    );
    for d in &r.summary.reports {
        t.row(vec![
            time(&d.when()),
            h(&d.to),
            h(&d.channel),
            d.reference
                .as_ref()
                .map_or_else(String::new, |v| format!("<strong>{}</strong>", h(v))),
            opt(d.person.as_ref()),
            who(&d.by),
        ]);
    }
    t.write(out, "No official report has been recorded.");

    out.push_str("<h3>Who was informed</h3>\n");
    let mut t = Table::new(
        "compact",
        &[
            ("Time", "time"),
            ("Who", ""),
            ("Channel", ""),
            ("Person", ""),
            ("By", "who"),
        ],
    );
    for d in &r.summary.informed {
        t.row(vec![
            time(&d.when()),
            h(&d.to),
            h(&d.channel),
            opt(d.person.as_ref()),
            who(&d.by),
        ]);
    }
    t.write(out, "No one has been recorded as informed.");

    out.push_str("<h3>Deadlines</h3>\n");
    let mut t = Table::new(
        "compact",
        &[
            ("Deadline", ""),
            ("Counted from", "time"),
            ("Due", "time"),
            ("Status", "status"),
        ],
    );
    for d in &r.summary.deadlines {
        let class = deadline_class(d.status);
        let cells = vec![
            h(&d.label),
            d.from.map(|f| time(&f)).unwrap_or_default(),
            d.due.map(|f| time(&f)).unwrap_or_default(),
            mark(class, &h(&d.text)),
        ];
        match class {
            "alarm" | "caution" => t.marked_row(class, cells),
            _ => t.row(cells),
        }
    }
    t.write(out, "The runbook sets no deadline for this jurisdiction.");

    out.push_str("<h3>Open actions</h3>\n");
    if r.summary.open_actions.is_empty() {
        out.push_str("<p class=\"empty\">None.</p>\n");
    } else {
        out.push_str("<ul class=\"actions\">\n");
        for a in &r.summary.open_actions {
            let _ = writeln!(out, "<li>{}</li>", h(a));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

// ---- Record for the police -----------------------------------------------------------------

fn police(out: &mut String, r: &Report) {
    out.push_str("<section class=\"police\" id=\"police\">\n<h2>Record for the police</h2>\n");
    out.push_str("<nav class=\"contents\" aria-label=\"Contents\"><ul>");
    for (id, heading) in POLICE_PARTS {
        if id != "injects" || !r.injects.is_empty() {
            let _ = write!(out, "<li><a href=\"#{id}\">{heading}</a></li>");
        }
    }
    out.push_str("</ul></nav>\n");
    out.push_str(
        "<p class=\"lead\">All times are in UTC, with the local time and offset of the machine \
         below.</p>\n",
    );
    case(out, r);
    statements(out, r);
    people(out, r);
    systems(out, r);
    timeline(out, r);
    decisions(out, r);
    records(out, r);
    notes(out, r);
    skipped(out, r);
    evidence(out, r);
    commands(out, r);
    custody(out, r);
    disclosures(out, r);
    if !r.injects.is_empty() {
        injects(out, r);
    }
    runbook(out, r);
    integrity(out, r);
    signatures(out, r);
    out.push_str("</section>\n");
}

/// Opens a part of the police section (closed by the caller with `</section>`).
fn part(out: &mut String, id: &str) {
    let heading = POLICE_PARTS
        .iter()
        .find(|(i, _)| *i == id)
        .map_or(id, |(_, heading)| heading);
    let _ = writeln!(out, "<section id=\"{id}\">\n<h3>{heading}</h3>");
}

fn case(out: &mut String, r: &Report) {
    part(out, "case");
    let mut f = Facts::new();
    f.add("Case", format!("<strong>{}</strong>", h(&r.case.case_id)));
    f.add("Session", code(&r.case.session));
    if r.exercise {
        f.marked("Mode", "alarm", flag("alarm", "EXERCISE"));
    } else {
        f.add("Mode", "real incident".to_owned());
    }
    f.add("Jurisdiction", h(&jurisdiction(r)));
    f.add("Operator", h(&r.case.operator));
    f.add("Witness", opt(r.case.witness.as_ref()));
    if r.case.facilitator.is_some() {
        f.add("Facilitator", opt(r.case.facilitator.as_ref()));
    }
    f.add("Started", time(&r.case.started));
    f.add("Last event", time(&r.case.last_event));
    f.add("Host", h(&r.case.host));
    f.add("Time zone", opt(r.case.timezone.as_ref()));
    if r.case.clock.synchronised == Some(true) {
        f.add("Clock", h(&r.case.clock.text));
    } else {
        f.marked("Clock", "caution", mark("caution", &h(&r.case.clock.text)));
    }
    f.add("Recorded with", h(&r.case.recorded_with));
    for (name, value) in &r.case.variables {
        f.add("Variable", format!("{}: {}", code(name), h(value)));
    }
    f.write(out);
    out.push_str("</section>\n");
}

fn statements(out: &mut String, r: &Report) {
    part(out, "statements");
    out.push_str("<dl class=\"statements\">\n");
    for (question, s) in [
        ("Did anyone view the material?", &r.statements.viewed),
        ("Was anything deleted or changed?", &r.statements.changed),
    ] {
        let _ = writeln!(
            out,
            "<div class=\"statement\"><dt>{question}</dt><dd>{}</dd>",
            mark(statement_class(s.answer), &h(&s.text))
        );
        if let Some(d) = &s.details {
            let _ = writeln!(out, "<dd>Details recorded: {}</dd>", h(d));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</dl>\n");
    if !r.statements.custody.is_empty() {
        out.push_str("<ul>\n");
        for s in &r.statements.custody {
            let _ = writeln!(out, "<li>{}</li>", h(s));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn people(out: &mut String, r: &Report) {
    part(out, "people");
    let mut t = Table::new(
        "compact",
        &[
            ("Role", ""),
            ("Name", ""),
            ("Events", "count"),
            ("First", "time"),
            ("Last", "time"),
        ],
    );
    for a in &r.actors {
        t.row(vec![
            h(a.role),
            opt(a.name.as_ref()),
            a.events.to_string(),
            a.first.map(|f| time(&f)).unwrap_or_default(),
            a.last.map(|f| time(&f)).unwrap_or_default(),
        ]);
    }
    t.write(out, "");
    let mut t = Table::new(
        "",
        &[
            ("Outside party", ""),
            ("Role", ""),
            ("Organisation", ""),
            ("Named in", ""),
        ],
    );
    for p in &r.parties {
        t.row(vec![
            h(&p.name),
            opt(p.role.as_ref()),
            opt(p.organisation.as_ref()),
            h(p.context),
        ]);
    }
    t.write(out, "");
    out.push_str("</section>\n");
}

fn systems(out: &mut String, r: &Report) {
    part(out, "systems");
    let mut t = Table::new("", &[("System", ""), ("Known as", "")]);
    for s in &r.systems {
        t.row(vec![h(&s.name), h(&s.source)]);
    }
    t.write(out, "");
    out.push_str("</section>\n");
}

fn timeline(out: &mut String, r: &Report) {
    part(out, "timeline");
    let mut t = Table::new(
        "dense",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Who", "who"),
            ("Step", "step"),
            ("What", ""),
        ],
    );
    for e in &r.timeline {
        t.row(vec![
            e.seq.to_string(),
            time(&e.time),
            who(&e.actor),
            step(e.step.as_ref()),
            h(&e.text),
        ]);
    }
    t.write(out, "");
    out.push_str("</section>\n");
}

fn decisions(out: &mut String, r: &Report) {
    part(out, "decisions");
    let mut t = Table::new(
        "",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Question", "step"),
            ("Choice", ""),
            ("Reason", ""),
            ("By", "who"),
        ],
    );
    for d in &r.decisions {
        t.row(vec![
            d.seq.to_string(),
            time(&d.time),
            h(&d.step.title),
            format!("<strong>{}</strong>", h(&d.label)),
            h(&d.reason),
            who(&d.by),
        ]);
    }
    t.write(out, "No decision was recorded.");
    out.push_str("</section>\n");
}

fn records(out: &mut String, r: &Report) {
    part(out, "facts");
    if r.records.is_empty() {
        out.push_str("<p class=\"empty\">Nothing was recorded.</p>\n");
    }
    for rec in &r.records {
        let _ = writeln!(
            out,
            "<div class=\"record\">\n<h4>{} <span class=\"sub\">(event {}, {}, {})</span></h4>",
            h(&rec.step.title),
            rec.seq,
            utc(&rec.time),
            h(&rec.by.text())
        );
        let mut t = Table::new("", &[("Question", "question"), ("Answer", "")]);
        for field in &rec.fields {
            t.row(vec![h(&field.label), h(&field.shown)]);
        }
        t.write(out, "");
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

fn notes(out: &mut String, r: &Report) {
    part(out, "notes");
    let mut t = Table::new(
        "",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Who", "who"),
            ("Step", "step"),
            ("Note", ""),
        ],
    );
    for n in &r.notes {
        t.row(vec![
            n.seq.to_string(),
            time(&n.time),
            who(&n.by),
            step(n.step.as_ref()),
            h(&n.text),
        ]);
    }
    t.write(out, "No notes.");
    out.push_str("</section>\n");
}

fn skipped(out: &mut String, r: &Report) {
    part(out, "skipped");
    let mut t = Table::new(
        "",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Step", "step"),
            ("Reason", ""),
            ("By", "who"),
        ],
    );
    for s in &r.skipped {
        t.row(vec![
            s.seq.to_string(),
            time(&s.time),
            h(&s.step.title),
            h(&s.reason),
            who(&s.by),
        ]);
    }
    t.write(out, "No step was skipped.");
    out.push_str("</section>\n");
}

fn evidence(out: &mut String, r: &Report) {
    part(out, "evidence");
    let mut t = Table::new(
        "",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Paths", "paths"),
            ("Files", "count"),
            ("Size", "size"),
            ("Manifest, SHA256SUMS (SHA-256)", "hashes"),
            ("Notes", ""),
        ],
    );
    for e in &r.evidence {
        let mut notes = Vec::new();
        if e.cancelled {
            notes.push(flag("alarm", "CANCELLED before the end"));
        }
        for note in e.notes() {
            notes.push(h(&note));
        }
        for err in &e.errors {
            notes.push(h(err));
        }
        let cells = vec![
            e.seq.to_string(),
            time(&e.time),
            e.paths
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join("<br>"),
            e.files.to_string(),
            h(&bytes_text(e.bytes)),
            e.manifest
                .iter()
                .chain(&e.sums)
                .map(|m| format!("{}<br>{}", code(&m.file), hash(&m.sha256)))
                .collect::<Vec<_>>()
                .join("<br>"),
            notes.join("<br>"),
        ];
        if e.cancelled || e.error_count > 0 {
            t.marked_row("alarm", cells);
        } else {
            t.row(cells);
        }
    }
    t.write(out, "No evidence was hashed.");
    out.push_str("</section>\n");
}

fn commands(out: &mut String, r: &Report) {
    part(out, "commands");
    let mut t = Table::new(
        "",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Command", ""),
            ("Outcome", "outcome"),
            ("Output (SHA-256)", "hashes"),
        ],
    );
    for c in &r.commands {
        let mut output = Vec::new();
        for (name, file) in [("stdout", &c.stdout), ("stderr", &c.stderr)] {
            if let Some(file) = file {
                output.push(format!(
                    "{name}: {} ({})<br>{}",
                    code(&file.file),
                    h(&bytes_text(file.size)),
                    hash(&file.sha256)
                ));
            }
        }
        let failed = c.timed_out || c.error.is_some() || c.exit_code.is_some_and(|x| x != 0);
        let cells = vec![
            c.seq.to_string(),
            time(&c.time),
            format!(
                "{}{}",
                if c.changes_system {
                    format!("{}<br>", flag("alarm", "CHANGES THE SYSTEM"))
                } else {
                    String::new()
                },
                code(&c.argv.join(" "))
            ),
            if failed {
                mark("caution", &h(&c.outcome))
            } else {
                h(&c.outcome)
            },
            output.join("<br>"),
        ];
        if c.changes_system {
            t.marked_row("alarm", cells);
        } else {
            t.row(cells);
        }
    }
    t.write(out, "No command was run.");
    out.push_str("</section>\n");
}

fn custody(out: &mut String, r: &Report) {
    part(out, "custody");
    let mut t = Table::new(
        "dense",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Items", ""),
            ("From", ""),
            ("To", ""),
            ("Where now", ""),
            ("Recorded by", "who"),
        ],
    );
    for c in &r.custody {
        t.row(vec![
            c.seq.to_string(),
            given_time(c.at.as_ref(), &c.time),
            h(&c.items),
            h(&party_text(&c.from)),
            h(&party_text(&c.to)),
            h(&c.location),
            who(&c.by),
        ]);
    }
    t.write(out, "No transfer of custody was recorded.");
    out.push_str("</section>\n");
}

fn disclosures(out: &mut String, r: &Report) {
    part(out, "disclosures");
    let mut t = Table::new(
        "dense",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Purpose", "purpose"),
            ("To", ""),
            ("Channel", "channel"),
            ("Reference", "ref"),
            ("Person", "person"),
            ("Notes", ""),
            ("By", "who"),
        ],
    );
    for d in &r.disclosures {
        t.row(vec![
            d.seq.to_string(),
            match d.made {
                Some(made) => format!(
                    "{}<br><span class=\"local\">(recorded {})</span>",
                    time(&made),
                    utc(&d.time)
                ),
                None => given_time(d.at.as_ref(), &d.time),
            },
            h(d.purpose),
            h(&d.to),
            h(&d.channel),
            opt(d.reference.as_ref()),
            opt(d.person.as_ref()),
            opt(d.notes.as_ref()),
            who(&d.by),
        ]);
    }
    t.write(out, "No one outside the session was told.");
    out.push_str("</section>\n");
}

fn injects(out: &mut String, r: &Report) {
    part(out, "injects");
    let mut t = Table::new(
        "",
        &[
            ("#", "num"),
            ("Time", "time"),
            ("Inject", ""),
            ("Released by", "who"),
        ],
    );
    for i in &r.injects {
        t.row(vec![
            i.seq.to_string(),
            time(&i.time),
            h(&i.title),
            who(&i.by),
        ]);
    }
    t.write(out, "");
    out.push_str("</section>\n");
}

fn runbook(out: &mut String, r: &Report) {
    part(out, "runbook");
    let _ = writeln!(
        out,
        "<p>{} ({}), version {}, language {}{}. The copy followed is {} in the session folder, \
         SHA-256 {}.</p>",
        h(&r.runbook.title),
        code(&r.runbook.id),
        h(&r.runbook.version),
        h(&r.runbook.language),
        r.runbook
            .reviewed
            .as_ref()
            .map(|d| format!(", legal content reviewed {}", h(d)))
            .unwrap_or_default(),
        code(&r.runbook.file),
        hash(&r.runbook.sha256)
    );
    if !r.runbook.sources.is_empty() {
        out.push_str("<p>Sources the runbook relies on:</p>\n<ul class=\"sources\">\n");
        for s in &r.runbook.sources {
            let _ = writeln!(
                out,
                "<li>{}{}</li>",
                h(&s.title),
                s.url
                    .as_ref()
                    .map(|u| format!(" <span class=\"url\">{}</span>", code(u)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn integrity(out: &mut String, r: &Report) {
    let i = &r.integrity;
    part(out, "integrity");
    if i.verified {
        out.push_str(
            "<p class=\"verdict good\">The journal's hash chain was verified when this report \
             was made: every event is intact and in order.</p>\n",
        );
    } else {
        out.push_str(
            "<div class=\"warning\"><p><strong>The journal did NOT verify when this report \
             was made.</strong></p></div>\n",
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"final-hash\"><p class=\"label\">Final hash: the value to write down and \
         compare</p><p class=\"value\">{}</p></div>",
        hash(&i.final_hash)
    );
    let mut f = Facts::new();
    f.add("Events", format!("{} ({} bytes)", i.events, i.bytes));
    f.add("First event", time(&i.first_event));
    f.add("Last event", time(&i.last_event));
    f.add("Final hash", hash(&i.final_hash));
    if let Some(p) = &i.problem {
        f.marked("Problem", "alarm", mark("alarm", &h(p)));
    }
    match &i.sealed {
        Some(s) => f.add(
            "Sealed",
            format!(
                "{} (event {}){}",
                utc(&s.time),
                s.seq,
                if s.complete {
                    ""
                } else {
                    ", before the runbook's end"
                }
            ),
        ),
        None if i.sealing == "unknown" => f.marked(
            "Sealed",
            "alarm",
            flag(
                "alarm",
                "unknown: the journal is damaged before any seal could be read",
            ),
        ),
        None if i.sealing == "sealing" => f.add("Sealed", h(super::markdown::SEALING)),
        None => f.marked(
            "Sealed",
            "caution",
            flag("caution", "no: events could still be added"),
        ),
    }
    f.add("Signature", h(&i.signature));
    if let Some(s) = &i.signed_by {
        f.add("Signed by", h(s));
    }
    f.add("Runbook copy", h(&i.runbook_copy));
    f.add("Recoveries", i.recoveries.to_string());
    f.add("Interruptions", i.interruptions.to_string());
    f.write(out);
    if !i.notes.is_empty() {
        out.push_str("<ul>\n");
        for n in &i.notes {
            let _ = writeln!(out, "<li>{}</li>", h(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str(
        "<p>To check this record again, run in the folder that holds the session (the final \
         hash must be found in the chain):</p>\n<pre class=\"verify\"><code>",
    );
    let lines: Vec<String> = i
        .how_to_verify
        .iter()
        .map(|c| h(&c.replace(['\n', '\r'], " ")))
        .collect();
    out.push_str(&lines.join("\n"));
    out.push_str("</code></pre>\n</section>\n");
}

fn signatures(out: &mut String, r: &Report) {
    part(out, "signatures");
    out.push_str(
        "<table class=\"signatures\">\n<thead><tr><th scope=\"col\" class=\"role\">Role</th>\
         <th scope=\"col\" class=\"name\">Name</th><th scope=\"col\" class=\"sign\">Signature\
         </th><th scope=\"col\" class=\"date\">Date</th></tr></thead>\n<tbody>\n",
    );
    for s in &r.signatures {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\" class=\"role\">{}</th><td class=\"name\">{}</td>\
             <td class=\"sign\"></td><td class=\"date\"></td></tr>",
            h(s.role),
            opt(s.name.as_ref())
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
