//! The review as one self-contained HTML page (inline CSS and SVG, no script, no external
//! resource), built from the report's style sheet and building blocks.
//!
//! Every value from the model goes through [`text::html`](h); the timeline picture is SVG text
//! that escapes its own labels ([`super::svg`]). The marking is written whatever the model
//! says: the title, a banner at the top and the bottom, the print header and footer of every
//! page, and a mark fixed across every printed page all say EXERCISE.

use std::fmt::Write as _;

use super::model::{
    Comparison, MARKING_TEXT, Moment, Review, SessionReview, TIME_NOTE, duration_text, points,
};
use crate::report::html::{
    CSP, CSS, EXERCISE_CSS, Facts, Table, class_attr, code, flag, hash, mark, step, time, who,
};
use crate::report::text::html as h;

/// What the review adds to the report's style sheet.
const REVIEW_CSS: &str = "\
dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); \
gap: .4rem .8rem; margin: .4rem 0 1rem; }
dl.figures div { padding: .35rem .6rem; border: 1px solid var(--rule); border-left: 3px solid var(--accent); }
dl.figures div.alarm { border-left: 3px solid var(--alarm); background: var(--alarm-bg); }
dl.figures div.caution { border-left: 3px dashed var(--caution); background: var(--caution-bg); }
dl.figures dt { color: var(--muted); font-size: .75rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; }
dl.figures dd { margin: 0; font-size: 1.15rem; font-weight: 650; }
dl.figures dd .sub { font-size: .8rem; font-weight: normal; color: var(--muted); }
figure.timeline-figure { margin: .6rem 0 1.2rem; break-inside: avoid; page-break-inside: avoid; }
figure.timeline-figure svg { display: block; width: 100%; height: auto; border: 1px solid var(--rule); }
figure.timeline-figure figcaption { color: var(--muted); font-size: .8rem; margin-top: .3rem; }
blockquote.briefing { margin: .4rem 0 1rem; padding: .5rem 1rem; border-left: 3px solid var(--accent); background: var(--zebra); }
blockquote.briefing p { margin: .4rem 0; }
article.inject { margin: .6rem 0 1rem; padding: .5rem .8rem; border: 1px solid var(--rule); border-left: 3px solid var(--accent); break-inside: avoid-page; }
article.inject h4 { margin: 0 0 .3rem; }
article.inject dl { margin: 0; display: grid; grid-template-columns: 11rem 1fr; gap: .15rem .8rem; font-size: .9rem; }
article.inject dt { color: var(--muted); font-weight: 600; }
article.inject dd { margin: 0; }
article.inject dd.expect { padding-left: .5rem; border-left: 2px dotted var(--good); }
article.inject ul.points { margin: 0; padding-left: 1.1rem; }
.num.key { width: 2.6em; }
.elapsed { width: 7.6em; }
span.ex { white-space: nowrap; font-variant-numeric: tabular-nums; }
.dur { width: 6em; }
.matchcol { width: 8em; }
table.comparison th[scope=row] { width: 14rem; color: var(--muted); font-weight: 600; }
section.session + section.session { break-before: page; page-break-before: always; }
@media print {
  dl.figures { gap: 3pt 6pt; }
  dl.figures dd { font-size: 10pt; }
  article.inject dl { font-size: 8pt; grid-template-columns: 8rem 1fr; }
  .elapsed { width: 7em; }
}
";

fn ex(m: &Moment) -> String {
    format!("<span class=\"ex\">{}</span>", h(&m.elapsed))
}

fn opt_ex(m: Option<&Moment>) -> String {
    m.map(ex).unwrap_or_default()
}

/// A moment's real time, for a table cell: UTC, and the local time below.
fn real(m: &Moment) -> String {
    m.real.as_ref().map(time).unwrap_or_default()
}

fn status_class(status: &str) -> &'static str {
    match status {
        "missed" | "met_late" | "late" | "not_reached" | "alarm" => "alarm",
        "open" | "caution" => "caution",
        "met" | "reached" | "good" => "good",
        _ => "neutral",
    }
}

/// The review as an HTML page.
pub fn render(r: &Review) -> String {
    let mut out = String::with_capacity(96 * 1024);
    let one_line = |s: &str| h(&s.replace(['\n', '\r'], " "));
    let mut title = one_line(&r.title);
    if !r.title.starts_with("EXERCISE") {
        title.insert_str(0, "EXERCISE: ");
    }
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n\
         <title>{title}</title>\n<style>\n{CSS}{EXERCISE_CSS}{REVIEW_CSS}</style>\n</head>\n",
        one_line(&r.generator.name),
        one_line(&r.generator.version),
    );
    let _ = writeln!(
        out,
        "<body class=\"exercise review\">\n\
         <div class=\"exercise-mark\" aria-hidden=\"true\">EXERCISE</div>\n\
         <p class=\"banner exercise-banner\" role=\"note\"><strong>{MARKING_TEXT}</strong></p>\n\
         <header>\n<p class=\"kicker\">Exercise · after-action review</p>\n<h1>{title}</h1>\n\
         <p class=\"lead\">{}</p>\n</header>\n<main>",
        h(TIME_NOTE)
    );
    if let Some(c) = &r.comparison {
        comparison(&mut out, c);
    }
    for s in &r.sessions {
        session(&mut out, s);
    }
    let _ = writeln!(
        out,
        "</main>\n<footer>\n<p>Made by {} {} from the sessions' journals and their runbook and \
         scenario copies.</p>\n</footer>\n\
         <p class=\"banner exercise-banner\" role=\"note\"><strong>{MARKING_TEXT}</strong></p>\n\
         </body>\n</html>",
        h(&r.generator.name),
        h(&r.generator.version)
    );
    out
}

fn comparison(out: &mut String, c: &Comparison) {
    out.push_str("<section id=\"comparison\">\n<h2>Side by side</h2>\n");
    if let Some(note) = &c.note {
        let _ = writeln!(out, "{}", mark("caution", &h(note)));
    }
    out.push_str("<table class=\"comparison\">\n<thead><tr><th scope=\"col\"></th>");
    for (i, head) in c.columns.iter().enumerate() {
        let _ = write!(
            out,
            "<th scope=\"col\"><a href=\"#session-{}\">{}</a></th>",
            i + 1,
            h(head)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &c.rows {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", h(&row.label));
        for cell in &row.cells {
            let class = status_class(cell.status);
            let content = match class {
                "alarm" | "caution" => flag(class, &h(&cell.text)),
                "good" => mark("good", &h(&cell.text)),
                _ => h(&cell.text),
            };
            let _ = write!(out, "<td>{content}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn figure(out: &mut String, label: &str, value: &str, sub: &str, class: &str) {
    let _ = writeln!(
        out,
        "<div{}><dt>{label}</dt><dd>{value}{}</dd></div>",
        class_attr(class),
        if sub.is_empty() {
            String::new()
        } else {
            format!(" <span class=\"sub\">{sub}</span>")
        }
    );
}

fn session(out: &mut String, s: &SessionReview) {
    let _ = writeln!(
        out,
        "<section class=\"session\" id=\"session-{n}\">\n<h2>Session {n}: {}</h2>",
        h(&s.label),
        n = s.number,
    );
    if let Some(warning) = &s.verification.warning {
        let _ = writeln!(
            out,
            "<div class=\"warning\" role=\"alert\"><p><strong>WARNING: NOT VERIFIED. The journal \
             did not verify.</strong> {}</p></div>",
            h(warning)
        );
    }
    for note in &s.notes {
        let _ = writeln!(out, "{}", mark("caution", &h(note)));
    }

    // Figures.
    let f = &s.figures;
    out.push_str("<h3>Summary</h3>\n<dl class=\"figures\">\n");
    figure(
        out,
        "Exercise time",
        &h(&duration_text(f.exercise_secs)),
        &format!("real {}", h(&duration_text(f.real_secs))),
        "",
    );
    let ratio_class = |good: usize, of: usize| if good == of { "" } else { "caution" };
    figure(
        out,
        "Milestones met",
        &format!("{} of {}", f.milestones_met, f.milestones),
        "",
        ratio_class(f.milestones_met, f.milestones),
    );
    figure(
        out,
        "Deadlines missed",
        &format!("{} of {}", f.deadlines_missed, f.deadlines),
        "or met late",
        if f.deadlines_missed > 0 { "alarm" } else { "" },
    );
    figure(
        out,
        "Decisions as expected",
        &format!(
            "{} of {}",
            f.decisions_as_expected, f.decisions_with_expectation
        ),
        "",
        ratio_class(f.decisions_as_expected, f.decisions_with_expectation),
    );
    figure(
        out,
        "Injects answered",
        &format!("{} of {}", f.injects_answered, f.injects_released),
        "released",
        ratio_class(f.injects_answered, f.injects_released),
    );
    figure(
        out,
        "Response to injects",
        &f.response_mean_secs
            .map_or_else(|| "-".to_owned(), |m| h(&duration_text(m))),
        &f.response_max_secs
            .map(|m| format!("mean; slowest {}", h(&duration_text(m))))
            .unwrap_or_default(),
        "",
    );
    figure(
        out,
        "Steps skipped",
        &f.skipped.to_string(),
        "",
        if f.skipped > 0 { "caution" } else { "" },
    );
    figure(out, "Notes", &f.notes.to_string(), "lessons learned", "");
    out.push_str("</dl>\n");

    // The exercise.
    out.push_str("<h3>The exercise</h3>\n");
    let mut facts = Facts::new();
    facts.marked("Mode", "alarm", flag("alarm", "EXERCISE"));
    facts.add("Session", code(&s.session));
    facts.add(
        "Runbook",
        format!(
            "{} ({} {}), SHA-256 {}",
            h(&s.runbook.title),
            code(&s.runbook.id),
            h(&s.runbook.version),
            hash(&s.runbook.sha256)
        ),
    );
    facts.add(
        "Scenario",
        s.scenario.as_ref().map_or_else(
            || "none: the runbook's own injects only".to_owned(),
            |sc| {
                format!(
                    "{} ({} {}), SHA-256 {}",
                    h(&sc.title),
                    code(&sc.id),
                    h(&sc.version),
                    hash(&sc.sha256)
                )
            },
        ),
    );
    facts.add(
        "Facilitator",
        s.facilitator.as_deref().map(h).unwrap_or_default(),
    );
    facts.add("Operator", h(&s.operator));
    if let Some(w) = &s.witness {
        facts.add("Witness", h(w));
    }
    facts.add(
        "Participants",
        if s.participants.is_empty() {
            "none named".to_owned()
        } else {
            s.participants
                .iter()
                .map(|p| {
                    format!(
                        "{} <span class=\"role\">({})</span>",
                        h(&p.name),
                        h(&p.role)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        },
    );
    facts.add("Case", h(&s.case_id));
    facts.add("Jurisdiction", h(&s.jurisdiction));
    facts.add("Host", h(&s.host));
    facts.add(
        "Started",
        format!("{} · exercise time {}", real(&s.started), ex(&s.started)),
    );
    facts.add(
        "Last event",
        format!("{} · exercise time {}", real(&s.ended), ex(&s.ended)),
    );
    facts.add("Status", h(&s.status));
    let journal = format!(
        "{} {} events.<br>Final hash {}{}",
        h(&s.verification.text),
        s.verification.events,
        hash(&s.verification.final_hash),
        s.verification
            .problem
            .as_ref()
            .map(|p| format!("<br>Problem: {}", h(p)))
            .unwrap_or_default()
    );
    if s.verification.verified {
        facts.add("Journal", journal);
    } else {
        facts.marked("Journal", "alarm", mark("alarm", &journal));
    }
    facts.write(out);

    // The picture.
    let _ = writeln!(
        out,
        "<figure class=\"timeline-figure\">\n{}<figcaption>The session over exercise time: a \
         bar for each stretch of time at a step (one row per step), the injects, the milestones \
         reached, the deadlines due (labelled as in the deadlines table) and the changes to the \
         exercise clock. Where the clock was moved on far, the axis is cut.</figcaption>\n\
         </figure>",
        super::svg::timeline(s)
    );

    if let Some(sc) = &s.scenario {
        out.push_str("<h3>Briefing</h3>\n");
        match &sc.briefing {
            Some(b) => {
                out.push_str("<blockquote class=\"briefing\">\n");
                for para in b.trim().split("\n\n") {
                    let _ = writeln!(out, "<p>{}</p>", h(para.trim()));
                }
                out.push_str("</blockquote>\n");
            }
            None => out.push_str("<p class=\"empty\">The scenario has no briefing.</p>\n"),
        }
    }

    milestones(out, s);
    deadlines(out, s);
    decisions(out, s);
    injects(out, s);

    out.push_str("<h3>Skipped steps</h3>\n");
    let mut t = Table::new(
        "",
        &[
            ("Exercise", "elapsed"),
            ("Real time (UTC)", "time"),
            ("Step", "step"),
            ("Reason", ""),
            ("By", "who"),
        ],
    );
    for k in &s.skipped {
        t.row(vec![
            ex(&k.at),
            real(&k.at),
            h(&k.step.title),
            h(&k.reason),
            who(&k.by),
        ]);
    }
    t.write(out, "No step was skipped.");

    out.push_str("<h3>Lessons learned (the notes)</h3>\n");
    let mut t = Table::new(
        "",
        &[
            ("Exercise", "elapsed"),
            ("Real time (UTC)", "time"),
            ("Step", "step"),
            ("By", "who"),
            ("Note", ""),
        ],
    );
    for n in &s.lessons {
        t.row(vec![
            ex(&n.at),
            real(&n.at),
            step(n.step.as_ref()),
            who(&n.by),
            h(&n.text),
        ]);
    }
    t.write(out, "No note was written.");

    out.push_str("<h3>The exercise clock</h3>\n");
    let mut t = Table::new(
        "",
        &[
            ("Exercise", "elapsed"),
            ("Real time (UTC)", "time"),
            ("Change", ""),
            ("Stood still", "dur"),
        ],
    );
    for c in &s.clock {
        t.row(vec![
            ex(&c.at),
            real(&c.at),
            h(&c.text),
            c.stood_still_secs
                .map(|d| format!("{} (real)", h(&duration_text(d))))
                .unwrap_or_default(),
        ]);
    }
    t.write(
        out,
        "The exercise clock ran with real time throughout: it was never paused, sped up or \
         moved on.",
    );

    out.push_str("<h3>Timeline</h3>\n");
    let mut t = Table::new(
        "timeline",
        &[
            ("#", "num"),
            ("Real time (UTC)", "time"),
            ("Exercise", "elapsed"),
            ("Who", "who"),
            ("Step", "step"),
            ("What", ""),
        ],
    );
    for e in &s.timeline {
        t.row(vec![
            e.seq.to_string(),
            real(&e.at),
            ex(&e.at),
            who(&e.actor),
            step(e.step.as_ref()),
            h(&e.text),
        ]);
    }
    t.write(out, "");
    out.push_str("</section>\n");
}

fn milestones(out: &mut String, s: &SessionReview) {
    out.push_str("<h3>Milestones</h3>\n");
    let mut t = Table::new(
        "",
        &[
            ("#", "num key"),
            ("Milestone", ""),
            ("Target", "dur"),
            ("Counted from", "step"),
            ("Reached", "elapsed"),
            ("Time taken", "dur"),
            ("Result", "status"),
        ],
    );
    for m in &s.milestones {
        let class = status_class(m.status);
        let cells = vec![
            h(&m.key),
            h(&m.label),
            m.within_secs
                .map(|w| h(&duration_text(w)))
                .unwrap_or_default(),
            m.from
                .as_ref()
                .map_or_else(|| "the start".to_owned(), |f| h(&f.title)),
            opt_ex(m.reached.as_ref()),
            m.elapsed_secs
                .map(|e| h(&duration_text(e)))
                .unwrap_or_default(),
            mark(class, &h(&m.text)),
        ];
        match class {
            "alarm" | "caution" => t.marked_row(class, cells),
            _ => t.row(cells),
        }
    }
    t.write(out, "The runbook and scenario set no milestone.");
}

fn deadlines(out: &mut String, s: &SessionReview) {
    out.push_str("<h3>Deadlines</h3>\n");
    let mut t = Table::new(
        "",
        &[
            ("#", "num key"),
            ("Deadline", ""),
            ("Counted from", "elapsed"),
            ("Due", "elapsed"),
            ("Met", "elapsed"),
            ("Result", "status"),
        ],
    );
    for d in &s.deadlines {
        let class = status_class(d.status);
        let cells = vec![
            h(&d.key),
            h(&d.label),
            opt_ex(d.from.as_ref()),
            opt_ex(d.due.as_ref()),
            opt_ex(d.met.as_ref()),
            mark(class, &h(&d.text)),
        ];
        match class {
            "alarm" | "caution" => t.marked_row(class, cells),
            _ => t.row(cells),
        }
    }
    t.write(out, "No deadline applies in this jurisdiction.");
}

fn decisions(out: &mut String, s: &SessionReview) {
    out.push_str("<h3>Decisions</h3>\n");
    let mut t = Table::new(
        "",
        &[
            ("Exercise", "elapsed"),
            ("Decision", "step"),
            ("Choice taken, and why", ""),
            ("Expected, and why", ""),
            ("As expected", "matchcol"),
        ],
    );
    for d in &s.decisions {
        let taken = match (&d.label, &d.reason) {
            (Some(label), Some(reason)) => format!(
                "<strong>{}</strong><br>{}{}",
                h(label),
                h(reason),
                d.by.as_ref()
                    .map(|b| format!("<br><span class=\"role\">{}</span>", h(&b.text())))
                    .unwrap_or_default()
            ),
            _ => "<span class=\"empty\">not reached</span>".to_owned(),
        };
        let expected = d.expected.as_ref().map_or_else(
            || "<span class=\"empty\">no expected choice</span>".to_owned(),
            |e| {
                format!(
                    "<strong>{}</strong>{}",
                    h(&e.label),
                    e.why
                        .as_ref()
                        .map(|w| format!("<br>{}", h(w)))
                        .unwrap_or_default()
                )
            },
        );
        let later = if d.superseded { " (changed later)" } else { "" };
        let (class, verdict) = match d.matches {
            "yes" => ("good", mark("good", &format!("✓ yes{later}"))),
            "no" if d.superseded => ("", format!("✗ no{later}")),
            "no" => ("alarm", flag("alarm", "✗ no")),
            "not_reached" => ("", "not reached".to_owned()),
            _ => ("", "no expectation".to_owned()),
        };
        let cells = vec![
            opt_ex(d.at.as_ref()),
            h(&d.step.title),
            taken,
            expected,
            verdict,
        ];
        if class == "alarm" {
            t.marked_row("alarm", cells);
        } else {
            t.row(cells);
        }
    }
    t.write(out, "No decision was taken or expected.");
}

fn injects(out: &mut String, s: &SessionReview) {
    out.push_str("<h3>Injects</h3>\n");
    let released: Vec<_> = s.injects.iter().filter(|i| i.released.is_some()).collect();
    if released.is_empty() {
        out.push_str("<p class=\"empty\">No inject was released.</p>\n");
    }
    for i in released {
        let _ = writeln!(
            out,
            "<article class=\"inject\">\n<h4>Inject {}: {}</h4>\n<dl>",
            i.number.unwrap_or(0),
            h(&i.title)
        );
        let mut row = |k: &str, v: String, class: &str| {
            let _ = writeln!(out, "<dt>{k}</dt><dd{}>{v}</dd>", class_attr(class));
        };
        if let Some(rel) = &i.released {
            row(
                "Released",
                format!(
                    "exercise time {} ({}), {}{}",
                    ex(rel),
                    rel.real
                        .as_ref()
                        .map(crate::report::html::utc)
                        .unwrap_or_default(),
                    h(&i.how),
                    i.at_step
                        .as_ref()
                        .filter(|st| !i.how.contains(&format!("\"{}\"", st.title)))
                        .map(|st| format!(", while at step “{}”", h(&st.title)))
                        .unwrap_or_default()
                ),
                "",
            );
        }
        if let Some(b) = &i.body {
            row("What happens", h(b.trim()), "");
        }
        if let Some(p) = &i.prompt {
            row(
                "Question to the team",
                format!("<strong>{}</strong>", h(p.trim())),
                "",
            );
        }
        match (&i.answered, &i.answer) {
            (Some(at), Some(answer)) => {
                row(
                    "Answered",
                    format!(
                        "exercise time {}, by {}, <strong>{}</strong> after the release (real \
                         time {})",
                        ex(at),
                        i.answered_by.as_deref().map(h).unwrap_or_default(),
                        h(&i.response_secs.map(duration_text).unwrap_or_default()),
                        h(&i.response_real_secs.map(duration_text).unwrap_or_default())
                    ),
                    "",
                );
                row("Answer", h(answer), "");
            }
            _ => row("Answered", flag("caution", "not answered"), ""),
        }
        if let Some(e) = &i.expect {
            let text = match points(e) {
                Some(points) => format!(
                    "<ul class=\"points\">{}</ul>",
                    points.iter().fold(String::new(), |mut list, p| {
                        let _ = write!(list, "<li>{}</li>", h(p));
                        list
                    })
                ),
                None => h(e),
            };
            row("What a good answer covers", text, "expect");
        }
        if !i.sources.is_empty() {
            row("Sources", h(&i.sources.join("; ")), "");
        }
        out.push_str("</dl>\n</article>\n");
    }
    let unreleased: Vec<_> = s.injects.iter().filter(|i| i.released.is_none()).collect();
    if !unreleased.is_empty() {
        out.push_str("<p>Injects of the script that were not released:</p>\n<ul>\n");
        for i in unreleased {
            let _ = writeln!(out, "<li>{}: {}</li>", h(&i.title), h(&i.how));
        }
        out.push_str("</ul>\n");
    }
}
