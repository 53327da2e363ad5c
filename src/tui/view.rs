//! Drawing the application's state. Pure: it reads the [`App`] and the session's state and
//! writes into the frame; it never writes the journal, reads a file or asks the clock anything
//! the session's clock does not say.
//!
//! The walk screen, top to bottom: the exercise banner with the exercise clock (exercises
//! only), a two-line header (runbook, case, people; UTC and local time, time since start), then
//! the path through the runbook and the deadlines on the left and the current step on the
//! right, the last journal entries, a status line when there is something to say, and the
//! keys. An exercise's dialogs (briefing, inject, inject list, clock) are drawn at the end.

use chrono::{DateTime, FixedOffset, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Dialog, Picker, Screen, StartScreen, Status, Walk};
use super::describe;
use super::exercise::{self, ClockRow, InjectStatus};
use super::form::Form;
use super::job::Job;
use super::markdown;
use super::theme::Theme;
use crate::journal::event::Mode;
use crate::runbook::{Purpose, StepKind};
use crate::sanitize::for_terminal;
use crate::session::deadline::Status as Due;
use crate::session::{Clock, StepStatus};

/// Below this the screen cannot show a step and its keys.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 18;

const BANNER: &str = "EXERCISE - NOT A REAL INCIDENT";

pub fn render<C: Clock + Clone>(app: &App<C>, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(area, frame);
        return;
    }
    match &app.screen {
        Screen::Picker(p) => picker(p, &app.theme, frame),
        Screen::Start(s) => start(s, &app.theme, frame),
        Screen::Walk(w) => walk(w, &app.theme, frame),
    }
}

fn too_small(area: Rect, frame: &mut Frame) {
    let text = vec![
        Line::from(format!(
            "terminal too small (needs {MIN_WIDTH}x{MIN_HEIGHT})"
        )),
        Line::from(format!(
            "now {}x{}: enlarge the window",
            area.width, area.height
        )),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

/// Cuts `text` to `width` display columns, ending in `…` (or `...`) when cut.
pub fn fit(text: &str, width: usize, theme: &Theme) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let ellipsis = theme.marks().ellipsis;
    let room = width.saturating_sub(ellipsis.width());
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    if width >= ellipsis.width() {
        out.push_str(ellipsis);
    }
    out
}

fn safe(text: &str) -> String {
    for_terminal(text).into_owned()
}

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_set(theme.border())
        .title(Span::styled(format!(" {title} "), theme.title()))
}

/// The keys line: pairs of key and what it does.
fn keys_line(keys: &[(&str, &str)], theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (key, what)) in keys.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled((*key).to_owned(), theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

fn picker(p: &Picker, theme: &Theme, frame: &mut Frame) {
    let [top, list, about, keys] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(4),
        Constraint::Length(7),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled("custody: choose a runbook", theme.title()),
            Line::styled(
                "Every step you take is written to a tamper-evident journal.",
                theme.dim(),
            ),
        ]),
        top,
    );
    let inner_width = usize::from(list.width.saturating_sub(2));
    let lines: Vec<Line> = p
        .offers
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let r = &o.runbook;
            let head = format!(
                "{:<16} {:<3} {:<7} ",
                safe(&r.id),
                safe(&r.language),
                safe(&r.version)
            );
            let text = fit(&format!("{head}{}", safe(&r.title)), inner_width, theme);
            if i == p.selected {
                Line::styled(text, theme.selected())
            } else {
                Line::from(text)
            }
        })
        .collect();
    let visible = usize::from(list.height.saturating_sub(2));
    let offset = p.selected.saturating_sub(visible.saturating_sub(1));
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((u16::try_from(offset).unwrap_or(0), 0))
            .block(block("Runbooks", theme)),
        list,
    );
    if let Some(o) = p.offers.get(p.selected) {
        let mut text = vec![Line::styled(
            fit(&safe(&o.runbook.title), usize::from(about.width), theme),
            theme.title(),
        )];
        text.extend(markdown::render(
            &o.runbook.summary,
            about.width,
            theme.markdown(),
        ));
        text.push(Line::styled(
            fit(
                &format!("from {}", safe(&o.origin)),
                usize::from(about.width),
                theme,
            ),
            theme.dim(),
        ));
        frame.render_widget(Paragraph::new(text), about);
    }
    frame.render_widget(
        Paragraph::new(keys_line(
            &[("Up/Down", "choose"), ("Enter", "start"), ("q", "quit")],
            theme,
        )),
        keys,
    );
}

fn start(s: &StartScreen, theme: &Theme, frame: &mut Frame) {
    let exercise = s.exercise.as_deref();
    let [top, body, keys] = Layout::vertical([
        Constraint::Length(2 + u16::from(exercise.is_some())),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let width = usize::from(top.width);
    let mut lines = Vec::new();
    let title = match exercise {
        Some(e) => {
            lines.push(Line::styled(format!("{BANNER:^width$}"), theme.banner()));
            match &e.scenario {
                Some(scenario) => format!("Exercise: {}", safe(&scenario.title)),
                None => format!("Exercise: {}", safe(&s.offer.runbook.title)),
            }
        }
        None => format!("Start: {}", safe(&s.offer.runbook.title)),
    };
    lines.push(Line::styled(fit(&title, width, theme), theme.title()));
    lines.push(match (&s.error, exercise.and_then(|e| e.notice.as_ref())) {
        (Some(e), _) => Line::styled(safe(e), theme.alarm()),
        (None, Some(notice)) => Line::styled(fit(&safe(notice), width, theme), theme.current()),
        (None, None) if exercise.is_some() => Line::styled(
            "Who runs it, who plays, which case. Enter on the last field starts.",
            theme.dim(),
        ),
        (None, None) => Line::styled(
            "Who you are and which case this is. Enter on the last field starts.",
            theme.dim(),
        ),
    });
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), top);
    let inner = body.inner(Margin::new(1, 1));
    let (lines, cursor, focus_line) = form_lines(&s.form, inner.width, theme, true);
    let scroll = scroll_for(focus_line, 0, inner.height, lines.len());
    frame.render_widget(block("New session", theme), body);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    if let Some((x, y)) = cursor
        && y >= scroll
        && y - scroll < inner.height
    {
        frame.set_cursor_position((inner.x + x, inner.y + y - scroll));
    }
    frame.render_widget(
        Paragraph::new(keys_line(
            &[
                ("Tab/Enter", "next field"),
                ("Enter on the last", "start"),
                ("Esc", "cancel"),
            ],
            theme,
        )),
        keys,
    );
}

/// The height of a panel of `lines` lines plus `frame` (borders or a blank line), at most
/// `max`; none when there is nothing to show.
fn panel_height(lines: usize, frame: usize, max: u16) -> u16 {
    if lines == 0 {
        return 0;
    }
    u16::try_from(lines + frame).unwrap_or(u16::MAX).min(max)
}

/// The scroll that keeps line `focus` visible in `height` lines, starting from `wanted`.
fn scroll_for(focus: usize, wanted: u16, height: u16, total: usize) -> u16 {
    let height = usize::from(height.max(1));
    let max = total.saturating_sub(height);
    let mut scroll = usize::from(wanted).min(max);
    if focus < scroll {
        scroll = focus;
    } else if focus >= scroll + height {
        scroll = (focus + 2).saturating_sub(height).min(max);
    }
    u16::try_from(scroll).unwrap_or(u16::MAX)
}

/// The lines of a form, the cursor (column, line) in the focused field when typing, and the
/// line of the focused field.
fn form_lines(
    form: &Form,
    width: u16,
    theme: &Theme,
    typing: bool,
) -> (Vec<Line<'static>>, Option<(u16, u16)>, usize) {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cursor = None;
    let mut focus_line = 0;
    let marks = theme.marks();
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        if focused {
            focus_line = lines.len();
        }
        let required = if field.required { "" } else { " (optional)" };
        let label = format!(
            "{}{}",
            safe(&field.label),
            if field.required { " *" } else { required }
        );
        let (mark, style) = if focused && typing {
            (marks.current, theme.current())
        } else {
            (" ", theme.title())
        };
        for (n, part) in wrap_plain(&label, usize::from(width.saturating_sub(2)))
            .into_iter()
            .enumerate()
        {
            let lead = if n == 0 {
                format!("{mark} ")
            } else {
                "  ".into()
            };
            lines.push(Line::from(vec![
                Span::styled(lead, style),
                Span::styled(part, style),
            ]));
        }
        if let Some(options) = field.options() {
            let mut spans = vec![Span::raw("    ")];
            for (o, option) in options.iter().enumerate() {
                let chosen = field.option == Some(o);
                let text = format!(
                    "{} {}",
                    if chosen { marks.chosen } else { marks.unchosen },
                    safe(option)
                );
                spans.push(Span::styled(
                    text,
                    if chosen && focused && typing {
                        theme.selected()
                    } else if chosen {
                        theme.title()
                    } else {
                        Style::new()
                    },
                ));
                spans.push(Span::raw("  "));
            }
            // Long lists of options wrap onto more lines.
            let line = Line::from(spans);
            for wrapped in wrap_spans(line, width) {
                lines.push(wrapped);
            }
        } else {
            let (value_lines, (cx, cy)) = field.input.lines(width.saturating_sub(4));
            if focused && typing {
                cursor = Some((
                    4 + cx,
                    u16::try_from(lines.len())
                        .unwrap_or(u16::MAX)
                        .saturating_add(cy),
                ));
            }
            if value_lines.iter().all(|l| l.width() == 0) {
                let hint = if focused { field.hint() } else { "" };
                lines.push(Line::from(vec![
                    Span::raw("    "),
                    Span::styled(
                        fit(hint, usize::from(width.saturating_sub(4)), theme),
                        theme.dim(),
                    ),
                ]));
            } else {
                for l in value_lines {
                    let mut spans = vec![Span::raw("    ")];
                    spans.extend(l.spans);
                    lines.push(Line::from(spans));
                }
            }
        }
        if let Some(error) = &field.error {
            lines.push(Line::styled(
                fit(&format!("    ! {}", safe(error)), usize::from(width), theme),
                theme.alarm(),
            ));
        }
        if focused && let Some(help) = &field.help {
            for l in markdown::render(help, width.saturating_sub(4), theme.markdown()) {
                let mut spans = vec![Span::raw("    ")];
                spans.extend(l.spans.into_iter().map(|s| s.patch_style(theme.dim())));
                lines.push(Line::from(spans));
            }
        }
    }
    (lines, cursor, focus_line)
}

/// A list item (a checklist item, a decision's choice): its mark, then its Markdown text with
/// continuation lines indented under the text.
fn marked_item(
    lines: &mut Vec<Line<'static>>,
    mark: &str,
    text: &str,
    width: u16,
    theme: &Theme,
    style: Style,
) {
    for (n, l) in markdown::render(text, width.saturating_sub(4), theme.markdown())
        .into_iter()
        .enumerate()
    {
        let lead = if n == 0 {
            format!("{mark} ")
        } else {
            "    ".into()
        };
        let mut spans = vec![Span::raw(lead)];
        spans.extend(l.spans);
        lines.push(Line::from(spans).style(style));
    }
}

/// Adds a line of guidance, wrapped to the width.
fn hint(lines: &mut Vec<Line<'static>>, text: &str, width: u16, style: Style) {
    for part in wrap_plain(text, usize::from(width)) {
        lines.push(Line::styled(part, style));
    }
}

/// Word-wraps plain text (already sanitised) to `width` columns; words longer than the width
/// are cut into pieces.
pub fn wrap_plain(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_owned();
        loop {
            let room = if line.is_empty() {
                width
            } else {
                width.saturating_sub(line.width() + 1)
            };
            if word.width() <= room {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than the line: cut it.
            let mut head = String::new();
            let mut rest = String::new();
            for c in word.chars() {
                if rest.is_empty()
                    && head.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
                        <= width
                {
                    head.push(c);
                } else {
                    rest.push(c);
                }
            }
            if head.is_empty() {
                break;
            }
            out.push(head);
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// Splits a line of short spans into lines no wider than `width`, breaking between spans.
fn wrap_spans(line: Line<'static>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let mut out = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.content.width();
        if used + w > width && !current.is_empty() {
            out.push(Line::from(std::mem::take(&mut current)));
            current.push(Span::raw("    "));
            used = 4;
        }
        used += w;
        current.push(span);
    }
    if !current.is_empty() {
        out.push(Line::from(current));
    }
    out
}

fn local(time: DateTime<Utc>, offset: FixedOffset) -> DateTime<FixedOffset> {
    time.with_timezone(&offset)
}

fn walk<C: Clock>(w: &Walk<C>, theme: &Theme, frame: &mut Frame) {
    let state = w.session.state();
    let exercise = state.started.mode == Mode::Exercise;
    let area = frame.area();
    let pending = if exercise {
        w.session.unanswered_injects().len()
    } else {
        0
    };
    // With nothing else to say, the status line reminds the team of injects left for later.
    let reminder = w
        .pending_hint()
        .filter(|_| !matches!(w.dialog, Some(Dialog::Inject(_))))
        .map(Status::Warning);
    let status_line = w.status.as_ref().or(reminder.as_ref());
    let status_height = u16::from(status_line.is_some());
    let journal_height = match area.height {
        40.. => 10,
        30..40 => 6,
        _ => 4,
    };
    let [banner, header, body, journal, status, keys] = Layout::vertical([
        Constraint::Length(u16::from(exercise)),
        Constraint::Length(2),
        Constraint::Min(6),
        Constraint::Length(journal_height),
        Constraint::Length(status_height),
        Constraint::Length(1),
    ])
    .areas(area);
    if exercise {
        // Once sealed, the story's clock stops where the record ends.
        let reading = state
            .sealed
            .map_or_else(|| w.session.session_time(), |t| state.session_time(t));
        let clock = BannerClock {
            reading: local(reading, w.session.clock().offset_at(reading)),
            elapsed: (reading - state.started_at).num_seconds(),
            speed: state.clock.speed(),
            held: state.clock.is_held(),
        };
        let text = banner_text(usize::from(banner.width), &clock, theme);
        frame.render_widget(Paragraph::new(Line::styled(text, theme.banner())), banner);
    }
    render_header(w, theme, header, frame);
    let left_width = if area.width >= 120 {
        (area.width / 4).clamp(34, 50)
    } else {
        (area.width / 3).clamp(22, 34)
    };
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(30)]).areas(body);
    render_left(w, theme, left, frame);
    render_step(w, theme, right, frame);
    render_journal(w, theme, journal, frame);
    if let Some(s) = status_line {
        let (text, style) = match s {
            Status::Info(t) => (t, theme.current()),
            Status::Warning(t) => (t, theme.warning()),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(
                fit(&safe(text), usize::from(status.width), theme),
                style,
            )),
            status,
        );
    }
    frame.render_widget(
        Paragraph::new(keys_line(
            &fit_keys(walk_keys(w, pending), usize::from(keys.width)),
            theme,
        )),
        keys,
    );
    if let Some(dialog) = &w.dialog {
        render_dialog(w, dialog, theme, frame);
    }
}

/// The exercise clock as the banner shows it.
#[derive(Debug, Clone, Copy)]
pub struct BannerClock {
    /// Exercise time, in local time.
    pub reading: DateTime<FixedOffset>,
    /// Exercise time since the start, in seconds.
    pub elapsed: i64,
    pub speed: u32,
    /// The facilitator paused it.
    pub held: bool,
}

/// The exercise banner for `width` columns: the words that cannot be missed, then as much of
/// the exercise clock as fits (its reading, the time since the start as `T+`, the speed when
/// not 1x, and PAUSED, which gives way last), centred.
pub fn banner_text(width: usize, clock: &BannerClock, theme: &Theme) -> String {
    let t = clock.reading;
    let full = t.format("%a %d %b %H:%M:%S").to_string();
    let seconds = t.format("%d %b %H:%M:%S").to_string();
    let minutes = t.format("%d %b %H:%M").to_string();
    let short = t.format("%H:%M").to_string();
    let elapsed = format!("T+{}", describe::duration(clock.elapsed));
    let mut tail = Vec::new();
    if clock.speed != 1 {
        tail.push(format!("{}x", clock.speed));
    }
    if clock.held {
        tail.push("PAUSED".to_owned());
    }
    let tail = tail.join(" ");
    let paused = if clock.held { "PAUSED" } else { "" };
    let candidates: [&[&str]; 11] = [
        &[BANNER, &format!("clock {full}"), &elapsed, &tail],
        &[BANNER, &format!("clock {seconds}"), &elapsed, &tail],
        &[BANNER, &format!("clock {minutes}"), &elapsed, &tail],
        &[BANNER, &minutes, &elapsed, &tail],
        &[BANNER, &short, &elapsed, &tail],
        &[BANNER, &short, &tail],
        &[BANNER, &tail],
        &["EXERCISE", &short, &tail],
        &["EXERCISE", &tail],
        &["EXERCISE", paused],
        &["EXERCISE"],
    ];
    let text = candidates
        .iter()
        .map(|parts| {
            parts
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("  ")
        })
        .find(|text| text.width() <= width)
        .unwrap_or_else(|| fit("EXERCISE", width, theme));
    format!("{text:^width$}")
}

fn render_header<C: Clock>(w: &Walk<C>, theme: &Theme, area: Rect, frame: &mut Frame) {
    let state = w.session.state();
    let s = &state.started;
    let now = w.session.clock().now();
    let offset = w.session.clock().offset_at(now);
    let width = usize::from(area.width);
    let mut people = format!("operator {}", safe(&s.operator));
    if let Some(witness) = &s.witness {
        people = format!("{people}, witness {}", safe(witness));
    }
    if let Some(facilitator) = &s.facilitator {
        people = format!("{people}, facilitator {}", safe(facilitator));
    }
    let first = format!(
        "{} {} | case {} | {} | {}",
        safe(&s.runbook.id),
        safe(&s.runbook.version),
        safe(&s.case_id),
        people,
        safe(&s.jurisdiction)
    );
    let elapsed = (now - state.started_at).num_seconds();
    let mode = match s.mode {
        Mode::Real => "REAL INCIDENT",
        Mode::Exercise => "EXERCISE",
    };
    let clocks = format!(
        "{} UTC  {} local {}",
        now.format("%Y-%m-%d %H:%M:%S"),
        local(now, offset).format("%H:%M:%S"),
        crate::journal::event::format_offset(&offset),
    );
    let with_elapsed = format!("{clocks}  elapsed {}", describe::duration(elapsed));
    // The mode label always shows; the elapsed time gives way first on a narrow screen.
    let second = if with_elapsed.width() + 2 + mode.len() <= width {
        with_elapsed
    } else {
        clocks
    };
    let room = width.saturating_sub(second.width());
    let second_line = Line::from(vec![
        Span::raw(second),
        Span::raw(" ".repeat(room.saturating_sub(mode.len()))),
        Span::styled(
            if room > mode.len() { mode } else { "" },
            if s.mode == Mode::Exercise {
                theme.banner()
            } else {
                theme.title()
            },
        ),
    ]);
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(fit(&first, width, theme), theme.title()),
            second_line,
        ]),
        area,
    );
}

fn render_left<C: Clock>(w: &Walk<C>, theme: &Theme, area: Rect, frame: &mut Frame) {
    let deadlines = deadline_lines(w, theme, area.width.saturating_sub(2));
    let deadline_height = panel_height(deadlines.len(), 2, area.height / 2);
    let [path_area, deadline_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(deadline_height)]).areas(area);
    let (lines, current) = path_lines(w, theme, path_area.width.saturating_sub(2));
    let inner = path_area.height.saturating_sub(2);
    let scroll = scroll_for(current, 0, inner, lines.len());
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(block("Path", theme)),
        path_area,
    );
    if deadline_height > 0 {
        frame.render_widget(
            Paragraph::new(deadlines).block(block("Deadlines", theme)),
            deadline_area,
        );
    }
}

/// The steps entered so far (with how each ended), then the ones ahead as far as they are
/// known (up to the next decision). Returns the lines and the current step's line.
fn path_lines<C: Clock>(w: &Walk<C>, theme: &Theme, width: u16) -> (Vec<Line<'static>>, usize) {
    let state = w.session.state();
    let runbook = w.session.runbook();
    let marks = theme.marks();
    let width = usize::from(width);
    let mut lines = Vec::new();
    let mut current_line = 0;
    let mut seen: Vec<&str> = Vec::new();
    let title = |id: &str| {
        runbook
            .step(id)
            .map_or_else(|| id.to_owned(), |s| safe(&w.session.render(&s.title)))
    };
    for visit in &state.path {
        if seen.contains(&visit.step.as_str()) {
            continue;
        }
        seen.push(&visit.step);
        let (mark, style) = match w.status_of(&visit.step) {
            StepStatus::Done => (marks.done, theme.done()),
            StepStatus::Skipped => (marks.skipped, theme.skipped()),
            StepStatus::Current => (marks.current, theme.current()),
            StepStatus::Upcoming => (marks.upcoming, theme.dim()),
        };
        if state.current.as_deref() == Some(visit.step.as_str()) {
            current_line = lines.len();
        }
        lines.push(Line::styled(
            fit(&format!("{mark} {}", title(&visit.step)), width, theme),
            style,
        ));
    }
    // Ahead: follow single ways out until a decision or an end.
    let mut next = state
        .current
        .as_deref()
        .and_then(|id| runbook.step(id))
        .and_then(|s| match s.successors().as_slice() {
            [one] => Some((*one).to_owned()),
            _ => None,
        });
    let mut ahead = 0;
    while let Some(id) = next.take() {
        if seen.contains(&id.as_str()) || ahead >= 30 {
            break;
        }
        ahead += 1;
        lines.push(Line::styled(
            fit(&format!("{} {}", marks.upcoming, title(&id)), width, theme),
            theme.dim(),
        ));
        next = runbook
            .step(&id)
            .and_then(|s| match s.successors().as_slice() {
                [one] => Some((*one).to_owned()),
                _ => None,
            });
        if let Some(step) = runbook.step(&id)
            && let StepKind::Decision { .. } = step.kind
        {
            lines.push(Line::styled(
                fit("  (then it depends)", width, theme),
                theme.dim(),
            ));
            break;
        }
    }
    if state.current.is_none() {
        current_line = lines.len().saturating_sub(1);
    }
    (lines, current_line)
}

fn deadline_lines<C: Clock>(w: &Walk<C>, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    // Deadlines count in session time: the exercise clock's, in an exercise.
    let now = w.session.session_time();
    let width = usize::from(width);
    let mut lines = Vec::new();
    for d in w.session.deadlines() {
        let (text, style) = match d.status {
            Due::Running => (
                format!(
                    "{} left",
                    describe::duration(d.remaining(now).map_or(0, |r| r.num_seconds()))
                ),
                Style::new(),
            ),
            Due::Warning => (
                format!(
                    "SOON: {} left",
                    describe::duration(d.remaining(now).map_or(0, |r| r.num_seconds()))
                ),
                theme.warning(),
            ),
            Due::Overdue => (
                format!(
                    "OVERDUE by {}",
                    describe::duration(d.remaining(now).map_or(0, |r| -r.num_seconds()))
                ),
                theme.alarm(),
            ),
            Due::PeriodRunning => (
                format!(
                    "keep until {}",
                    d.due
                        .map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
                ),
                theme.dim(),
            ),
            Due::Met { late: true, .. } => ("met, late".into(), theme.skipped()),
            Due::NotStarted | Due::Met { .. } | Due::PeriodEnded => continue,
        };
        // The label on up to two lines: which deadline it is matters.
        let label = wrap_plain(&safe(&d.deadline.label), width);
        for (n, part) in label.iter().enumerate().take(2) {
            let part = if n == 1 && label.len() > 2 {
                fit(&format!("{part} {}", label[2..].join(" ")), width, theme)
            } else {
                part.clone()
            };
            lines.push(Line::styled(part, style));
        }
        lines.push(Line::styled(fit(&format!("  {text}"), width, theme), style));
    }
    lines
}

fn render_step<C: Clock>(w: &Walk<C>, theme: &Theme, area: Rect, frame: &mut Frame) {
    let state = w.session.state();
    let inner = area.inner(Margin::new(1, 1));
    let width = inner.width;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut focus_line = 0;
    let mut cursor = None;
    let marks = theme.marks();
    let title;
    // The step's title stays in view while the rest scrolls.
    let mut heading: Vec<Line<'static>> = Vec::new();
    if let Some(step) = w.session.current_step() {
        let step_state = state.step(&step.id).cloned().unwrap_or_default();
        title = format!("{} ({})", step.id, step.kind_name());
        heading = wrap_plain(&safe(&w.session.render(&step.title)), usize::from(width))
            .into_iter()
            .map(|l| Line::styled(l, theme.title()))
            .collect();
        if let Some(body) = &step.body {
            lines.extend(markdown::render(
                &w.session.render(body),
                width,
                theme.markdown(),
            ));
        }
        lines.push(Line::default());
        match &step.kind {
            StepKind::Instruction { .. } => {
                focus_line = lines.len();
                lines.push(Line::styled("Press Enter when done.", theme.current()));
            }
            StepKind::Checklist { items, .. } => {
                focus_line = lines.len();
                for (i, item) in items.iter().enumerate() {
                    let ticked = step_state.items.contains(&i);
                    let mark = if ticked { marks.ticked } else { marks.unticked };
                    if i == w.selected {
                        focus_line = lines.len();
                    }
                    let style = if i == w.selected && w.dialog.is_none() {
                        theme.selected()
                    } else if ticked {
                        theme.done()
                    } else {
                        Style::new()
                    };
                    let text = w.session.render(item);
                    marked_item(&mut lines, mark, &text, width, theme, style);
                }
                let done = step_state.items.len();
                lines.push(Line::default());
                if done == items.len() {
                    focus_line = lines.len();
                }
                let text = if done == items.len() {
                    "All confirmed: press Enter to go on.".to_owned()
                } else {
                    format!(
                        "{done} of {} confirmed. Space or Enter confirms the marked item.",
                        items.len()
                    )
                };
                hint(&mut lines, &text, width, theme.current());
            }
            StepKind::Decision { choices } => {
                for (i, choice) in choices.iter().enumerate() {
                    let mark = if i == w.selected {
                        marks.chosen
                    } else {
                        marks.unchosen
                    };
                    if i == w.selected {
                        focus_line = lines.len();
                    }
                    let style = if i == w.selected {
                        theme.selected()
                    } else {
                        Style::new()
                    };
                    let text = w.session.render(&choice.label);
                    marked_item(&mut lines, mark, &text, width, theme, style);
                }
                lines.push(Line::default());
                hint(
                    &mut lines,
                    "Choose with Up/Down, then Enter; you will be asked why.",
                    width,
                    theme.current(),
                );
            }
            StepKind::Record { .. } | StepKind::Contact { .. } | StepKind::Transfer { .. } => {
                // A step that names its recipient (`to`, such as "your manager") shows it in
                // the form; the jurisdiction's police and hotline are for steps with a role or
                // with no recipient at all.
                if let StepKind::Contact {
                    role, to, purpose, ..
                } = &step.kind
                    && (role.is_some() || to.is_none())
                {
                    contact_lines(w, role.as_deref(), *purpose, width, theme, &mut lines);
                }
                if let Some((_, form)) = &w.form {
                    let start = lines.len();
                    let (form_lines, form_cursor, form_focus) =
                        form_lines(form, width, theme, w.typing);
                    focus_line = start + form_focus;
                    cursor = form_cursor.map(|(x, y)| {
                        (
                            x,
                            y.saturating_add(u16::try_from(start).unwrap_or(u16::MAX)),
                        )
                    });
                    lines.extend(form_lines);
                    lines.push(Line::default());
                    let text = if w.typing {
                        "Tab: next field. Enter on the last field records them all."
                    } else {
                        "Press Enter or e to fill in the fields."
                    };
                    hint(&mut lines, text, width, theme.current());
                }
            }
            StepKind::Evidence { paths, hashes, .. } => {
                lines.push(Line::styled("To be hashed, never opened:", theme.title()));
                for p in paths {
                    lines.push(Line::from(fit(
                        &format!("  {}", safe(&w.session.render(p))),
                        usize::from(width),
                        theme,
                    )));
                }
                let names: Vec<&str> = hashes
                    .iter()
                    .map(|h| match h {
                        crate::runbook::HashAlgorithm::Sha256 => "SHA-256",
                        crate::runbook::HashAlgorithm::Sha1 => "SHA-1",
                        crate::runbook::HashAlgorithm::Md5 => "MD5",
                    })
                    .collect();
                if !names.is_empty() {
                    lines.push(Line::from(format!("  hashes: {}", names.join(", "))));
                }
                lines.push(Line::default());
                focus_line = lines.len();
                hashing_lines(w, &step.id, step_state.evidence, width, theme, &mut lines);
            }
            StepKind::Command {
                run,
                changes_system,
                timeout,
                ..
            } => {
                lines.push(Line::styled("The command:", theme.title()));
                let argv: Vec<String> = run
                    .argv
                    .iter()
                    .map(|a| safe(&w.session.render(a)))
                    .collect();
                for l in markdown::render(
                    &format!("`{}`", argv.join(" ")),
                    width.saturating_sub(2),
                    theme.markdown(),
                ) {
                    let mut spans = vec![Span::raw("  ")];
                    spans.extend(l.spans);
                    lines.push(Line::from(spans));
                }
                lines.push(Line::from(format!(
                    "  time limit: {}",
                    describe::duration(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX))
                )));
                if *changes_system {
                    hint(
                        &mut lines,
                        "This command CHANGES THE SYSTEM: it asks twice before it runs.",
                        width,
                        theme.alarm(),
                    );
                }
                lines.push(Line::default());
                focus_line = lines.len();
                command_lines(w, &step.id, step_state.commands, width, theme, &mut lines);
            }
            StepKind::End { outcome } => {
                if let Some(outcome) = outcome {
                    lines.extend(markdown::render(
                        &w.session.render(outcome),
                        width,
                        theme.markdown(),
                    ));
                    lines.push(Line::default());
                }
                focus_line = lines.len();
                hint(
                    &mut lines,
                    "Press Enter to finish the runbook.",
                    width,
                    theme.current(),
                );
            }
        }
    } else {
        title = "finished".into();
        finished_lines(w, theme, width, &mut lines);
        focus_line = lines.len().saturating_sub(1);
    }
    let heading_height = panel_height(heading.len(), 1, inner.height / 2);
    let [heading_area, inner] =
        Layout::vertical([Constraint::Length(heading_height), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(heading), heading_area);
    let total = lines.len();
    let scroll = scroll_for(focus_line, w.scroll, inner.height, total);
    let more = total > usize::from(scroll) + usize::from(inner.height);
    let mut block = block(&title, theme);
    if more {
        block = block.title_bottom(Line::from(" more below: PgDn ").right_aligned());
    } else if scroll > 0 {
        block = block.title_bottom(Line::from(" more above: PgUp ").right_aligned());
    }
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(Text::from(lines)).scroll((scroll, 0)), inner);
    if w.dialog.is_none()
        && let Some((x, y)) = cursor
        && y >= scroll
        && y - scroll < inner.height
    {
        frame.set_cursor_position((inner.x + x, inner.y + y - scroll));
    }
}

/// Under a command step: the command running, or the last run's output (sanitised and
/// bounded), and what to do next.
fn command_lines<C: Clock>(
    w: &Walk<C>,
    step: &str,
    runs: u32,
    width: u16,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    if let Some(Job::Command(job)) = w.job.as_ref().filter(|j| j.step() == step) {
        let elapsed = i64::try_from(job.started.elapsed().as_secs()).unwrap_or(i64::MAX);
        let limit = i64::try_from(job.timeout.as_secs()).unwrap_or(i64::MAX);
        let text = if job.stopping() {
            format!(
                "Stopping the command ({} so far)...",
                describe::duration(elapsed)
            )
        } else {
            format!(
                "Running for {} (time limit {}). Esc stops it.",
                describe::duration(elapsed),
                describe::duration(limit)
            )
        };
        hint(lines, &text, width, theme.current());
        return;
    }
    if let Some(shown) = w.shown.as_ref().filter(|s| s.step == step) {
        let run = &shown.outcome.run;
        let style = if run.exit_code == Some(0) {
            theme.done()
        } else {
            theme.alarm()
        };
        hint(lines, &safe(&describe::command_outcome(run)), width, style);
        let columns = usize::from(width.saturating_sub(2)).max(10);
        for (name, preview, file) in [
            ("stdout", &shown.outcome.stdout, &run.stdout),
            ("stderr", &shown.outcome.stderr, &run.stderr),
        ] {
            if preview.total() == 0 {
                continue;
            }
            let file = file
                .as_ref()
                .map_or(String::new(), |f| format!(", in {}", f.file));
            lines.push(Line::default());
            lines.push(Line::styled(
                fit(
                    &format!("{name} ({} bytes{}):", preview.total(), safe(&file)),
                    usize::from(width),
                    theme,
                ),
                theme.title(),
            ));
            let shown_lines = preview.lines(40, columns);
            for line in &shown_lines.lines {
                lines.push(Line::from(format!("  {line}")));
            }
            if let Some(note) = shown_lines.note() {
                hint(lines, &format!("  ({note})"), width, theme.dim());
            }
        }
        lines.push(Line::default());
    }
    let text = if runs > 0 {
        "Enter: go on to the next step. r: run the command again."
    } else {
        "Press Enter to see exactly what will run, and run it."
    };
    hint(lines, text, width, theme.current());
}

/// Under an evidence step: the hashing's progress, and what to do next.
fn hashing_lines<C: Clock>(
    w: &Walk<C>,
    step: &str,
    runs: u32,
    width: u16,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    if let Some(Job::Hash(job)) = w.job.as_ref().filter(|j| j.step() == step) {
        let p = job.progress.snapshot();
        let elapsed = job.started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let rate = if elapsed > 0.0 {
            p.bytes_done as f64 / elapsed
        } else {
            0.0
        };
        let bar_width = usize::from(width.saturating_sub(8)).min(50);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let filled = if p.total_known && p.bytes_total > 0 {
            ((p.bytes_done as f64 / p.bytes_total as f64).min(1.0) * bar_width as f64) as usize
        } else {
            0
        };
        let bar = format!(
            "[{}{}]",
            "#".repeat(filled),
            ".".repeat(bar_width.saturating_sub(filled))
        );
        lines.push(Line::styled(bar, theme.current()));
        let short = crate::report::model::bytes_short;
        let of = |done: u64, total: u64, text: &dyn Fn(u64) -> String| {
            if p.total_known {
                format!("{} of {}", text(done), text(total))
            } else {
                format!("{} of at least {}", text(done), text(total.max(done)))
            }
        };
        let files = of(p.files_done, p.files_total, &|n| n.to_string());
        let bytes = of(p.bytes_done, p.bytes_total, &short);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let left = if p.total_known && rate > 0.0 && p.bytes_total > p.bytes_done {
            let seconds = (p.bytes_total - p.bytes_done) as f64 / rate;
            format!(", about {} left", describe::duration(seconds as i64))
        } else {
            String::new()
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let speed = short(rate as u64);
        hint(
            lines,
            &format!("{files} files, {bytes}, {speed}/s{left}"),
            width,
            Style::new(),
        );
        if p.errors > 0 {
            hint(
                lines,
                &format!(
                    "{} could not be read so far (each is in the manifest)",
                    p.errors
                ),
                width,
                theme.alarm(),
            );
        }
        let text = if job.cancel_asked() {
            "Stopping: what was hashed so far is kept and journaled as stopped."
        } else {
            "Nothing is opened for viewing. Esc stops the hashing."
        };
        hint(lines, text, width, theme.current());
        return;
    }
    let text = if runs > 0 {
        "Hashed and journaled (the manifest is in the session's evidence/ folder). Enter: go on."
    } else {
        "Press Enter to see exactly what will be hashed, and hash it."
    };
    hint(lines, text, width, theme.current());
}

/// An argument as a shell would need it quoted, for showing a command on one line (custody
/// itself never uses a shell): plain words as they are, others in single quotes.
fn quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

fn contact_lines<C: Clock>(
    w: &Walk<C>,
    role: Option<&str>,
    purpose: Purpose,
    width: u16,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    let state = w.session.state();
    let Some(j) = w
        .session
        .runbook()
        .jurisdictions
        .get(&state.started.jurisdiction)
    else {
        return;
    };
    let contacts: Vec<_> = match role {
        Some(role) => j.contacts_with_role(role).collect(),
        None => j.contacts.iter().collect(),
    };
    if contacts.is_empty() {
        return;
    }
    lines.push(Line::styled(
        format!(
            "{} ({}):",
            if purpose == Purpose::Report {
                "Report to"
            } else {
                "Contact"
            },
            safe(&j.name)
        ),
        theme.title(),
    ));
    let width = usize::from(width);
    for c in contacts {
        lines.push(Line::from(fit(
            &format!("  {}", safe(&c.name)),
            width,
            theme,
        )));
        if let Some(phone) = &c.phone {
            lines.push(Line::from(fit(
                &format!("    phone {}", safe(phone)),
                width,
                theme,
            )));
        }
        if let Some(url) = &c.url {
            lines.push(Line::from(fit(&format!("    {}", safe(url)), width, theme)));
        }
    }
    lines.push(Line::default());
}

fn finished_lines<C: Clock>(
    w: &Walk<C>,
    theme: &Theme,
    width: u16,
    lines: &mut Vec<Line<'static>>,
) {
    let state = w.session.state();
    lines.push(Line::styled("The runbook is finished.", theme.title()));
    lines.push(Line::default());
    hint(
        lines,
        &format!(
            "{} events in the journal. Its final hash: write it down, or read it to whoever \
             receives the report.",
            state.events
        ),
        width,
        Style::new(),
    );
    let hex = state.last_hash.to_hex();
    for chunk in [&hex[..32], &hex[32..]] {
        lines.push(Line::styled(format!("  {chunk}"), theme.title()));
    }
    lines.push(Line::default());
    if state.sealed.is_some() {
        let reports = w.recent.iter().rev().find_map(|e| match &e.body {
            crate::journal::Body::ReportWritten(r) => {
                let count = |dir: &str| {
                    r.files
                        .iter()
                        .filter(|f| f.file.starts_with(&format!("{dir}/")))
                        .count()
                };
                Some((count("report"), count("review")))
            }
            _ => None,
        });
        if let Some((n, review)) = reports {
            let review = if review > 0 {
                format!(", the after-action review ({review} files) in review/")
            } else {
                String::new()
            };
            hint(
                lines,
                &format!(
                    "The report ({n} files) is in the folder report/{review} of the session \
                     folder: {}",
                    safe(&w.session.folder().display().to_string())
                ),
                width,
                Style::new(),
            );
        }
        hint(
            lines,
            "The session is sealed: nothing more can be added. Press q to leave.",
            width,
            theme.done(),
        );
    } else {
        hint(
            lines,
            "Press S to seal the session (nothing can be added after), or q to leave it open.",
            width,
            theme.current(),
        );
    }
}

fn render_journal<C: Clock>(w: &Walk<C>, theme: &Theme, area: Rect, frame: &mut Frame) {
    let inner_height = usize::from(area.height.saturating_sub(2));
    let width = usize::from(area.width.saturating_sub(2));
    let skip = w.recent.len().saturating_sub(inner_height);
    let lines: Vec<Line> = w
        .recent
        .iter()
        .skip(skip)
        .map(|e| {
            let local = e.local_time();
            let text = format!(
                "{} #{:<3} {}",
                local.format("%H:%M:%S"),
                e.seq,
                safe(&describe::event(e))
            );
            Line::from(fit(&text, width, theme))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(block("Journal (local time)", theme)),
        area,
    );
}

type Keys = Vec<(&'static str, &'static str)>;

/// The keys that work now, most useful first. In an exercise, with `pending` injects waiting
/// for an answer, `a` comes second, and the facilitator's `i` and `t` before help.
fn walk_keys<C: Clock>(w: &Walk<C>, pending: usize) -> Keys {
    let mut keys = step_keys(w);
    let sealed = w.session.state().sealed.is_some();
    if w.is_exercise() && !sealed && !(w.typing && w.form.is_some()) {
        if pending > 0 {
            keys.insert(1.min(keys.len()), ("a", "answer inject"));
        }
        let at = keys
            .iter()
            .position(|(k, _)| *k == "?")
            .unwrap_or(keys.len());
        keys.splice(at..at, [("i", "injects"), ("t", "clock")]);
    }
    keys
}

/// Leaves out the least needed keys until the line fits `width` (all are in the help).
fn fit_keys(mut keys: Keys, width: usize) -> Keys {
    let wide = |keys: &Keys| -> usize {
        keys.iter()
            .map(|(k, what)| k.width() + 1 + what.width() + 2)
            .sum::<usize>()
            .saturating_sub(2)
    };
    for drop in ["Up/Down", "t", "i", "s", "r", "n"] {
        if wide(&keys) <= width {
            break;
        }
        keys.retain(|(k, _)| *k != drop);
    }
    keys
}

fn step_keys<C: Clock>(w: &Walk<C>) -> Keys {
    let state = w.session.state();
    if w.typing && w.form.is_some() {
        return vec![
            ("Tab", "next field"),
            ("Enter", "next/record"),
            ("Esc", "leave the form"),
            ("F1", "help"),
        ];
    }
    let Some(step) = w.session.current_step() else {
        return if state.sealed.is_some() {
            vec![("q", "quit"), ("?", "help")]
        } else {
            vec![("S", "seal"), ("n", "note"), ("q", "quit"), ("?", "help")]
        };
    };
    if let Some(job) = &w.job {
        let esc = match job {
            Job::Command(_) => "stop the command",
            Job::Hash(_) => "stop the hashing",
        };
        return vec![("Esc", esc), ("n", "note"), ("?", "help"), ("q", "quit")];
    }
    let main = match step.kind {
        StepKind::Checklist { .. } => ("Space", "confirm item"),
        StepKind::Decision { .. } => ("Enter", "choose"),
        StepKind::Record { .. } | StepKind::Contact { .. } | StepKind::Transfer { .. } => {
            ("Enter", "fill in")
        }
        StepKind::End { .. } => ("Enter", "finish"),
        StepKind::Evidence { .. } if state.step(&step.id).is_none_or(|s| s.evidence == 0) => {
            ("Enter", "hash")
        }
        StepKind::Command { .. } if state.step(&step.id).is_none_or(|s| s.commands == 0) => {
            ("Enter", "run")
        }
        StepKind::Evidence { .. } => {
            return vec![
                ("Enter", "go on"),
                ("r", "hash again"),
                ("n", "note"),
                ("s", "skip"),
                ("?", "help"),
                ("q", "quit"),
            ];
        }
        StepKind::Command { .. } => {
            return vec![
                ("Enter", "go on"),
                ("r", "run again"),
                ("n", "note"),
                ("s", "skip"),
                ("?", "help"),
                ("q", "quit"),
            ];
        }
        StepKind::Instruction { .. } => ("Enter", "done"),
    };
    vec![
        main,
        ("Up/Down", "move"),
        ("n", "note"),
        ("s", "skip"),
        ("?", "help"),
        ("q", "quit"),
    ]
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width.saturating_sub(2));
    let height = height.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn render_dialog<C: Clock>(w: &Walk<C>, dialog: &Dialog, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    let width = area.width.saturating_sub(8).min(72);
    let inner_width = width.saturating_sub(4);
    let (title, mut text, input, keys): (&str, Vec<Line>, Option<&super::input::Input>, Line) =
        match dialog {
            Dialog::Help => (
                "Help",
                help_lines(theme, w.is_exercise(), w.briefing().is_some()),
                None,
                keys_line(&[("any key", "close")], theme),
            ),
            Dialog::Quit => (
                "Quit?",
                vec![Line::from(
                    "Leave custody now? The session stays in its folder and can be taken up again with `custody resume`; the pause is journaled.",
                )],
                None,
                keys_line(&[("y", "quit"), ("n/Esc", "stay")], theme),
            ),
            Dialog::Sealing => (
                "Sealing",
                vec![Line::from(if w.is_exercise() {
                    "Writing the report and the after-action review, then sealing. This takes a few seconds."
                } else {
                    "Writing the report, then sealing. This takes a few seconds."
                })],
                None,
                Line::default(),
            ),
            Dialog::Seal if w.is_exercise() => {
                let mut text = vec![Line::from(
                    "Sealing writes the report and the after-action review into the session folder (report/ and review/), records their hashes, and closes the journal for good: nothing can be added after it.",
                )];
                let pending = w.session.unanswered_injects().len();
                if pending > 0 {
                    text.push(Line::default());
                    text.push(Line::styled(
                        format!(
                            "{} released and not answered: press n, then a to answer; or seal anyway, and the review shows no answer.",
                            exercise::injects_count(pending)
                        ),
                        theme.warning(),
                    ));
                }
                (
                    "Seal the exercise?",
                    text,
                    None,
                    keys_line(&[("y", "seal"), ("n/Esc", "not now")], theme),
                )
            }
            Dialog::Seal => (
                "Seal the session?",
                vec![Line::from(
                    "Sealing writes the report (Markdown, HTML, JSON, PDF) into the session folder, records its hashes, and closes the journal for good: nothing can be added after it. Seal when the work is finished and handed over.",
                )],
                None,
                keys_line(&[("y", "seal"), ("n/Esc", "not now")], theme),
            ),
            Dialog::Briefing { scroll } => {
                render_briefing(w, *scroll, theme, frame);
                return;
            }
            Dialog::Inject(d) => {
                render_inject(w, d, theme, frame);
                return;
            }
            Dialog::Injects(list) => {
                render_injects(w, list, theme, frame);
                return;
            }
            Dialog::Clock(d) => {
                render_clock(w, d, theme, frame);
                return;
            }
            Dialog::WriteFailed { message, .. } => (
                "The journal could not be written",
                vec![
                    Line::styled(safe(message), theme.alarm()),
                    Line::default(),
                    Line::from(
                        "Nothing was recorded and the step is not done. Free some space (or fix the disk), then press r to try again.",
                    ),
                ],
                None,
                keys_line(&[("r", "try again"), ("Esc", "close")], theme),
            ),
            Dialog::Run {
                argv,
                changes_system,
                timeout,
                second,
            } => {
                let command: Vec<String> = argv.iter().map(|a| quoted(a)).collect();
                let mut text = vec![
                    Line::from("custody will run this, without a shell:"),
                    Line::styled(safe(&command.join(" ")), theme.title()),
                    Line::default(),
                    Line::from(format!(
                        "Time limit: {}. Its output goes into the session's evidence/ folder and its hashes into the journal.",
                        describe::duration(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX))
                    )),
                ];
                if *changes_system {
                    text.push(Line::default());
                    text.push(Line::styled(
                        if *second {
                            "Second confirmation: this command CHANGES THE SYSTEM under investigation. It is marked as such in the journal and the report. Run it?"
                        } else {
                            "This command CHANGES THE SYSTEM. You will be asked a second time."
                        },
                        theme.alarm(),
                    ));
                }
                (
                    if *second {
                        "Really change the system?"
                    } else {
                        "Run this command?"
                    },
                    text,
                    None,
                    keys_line(&[("y/Enter", "run"), ("n/Esc", "not now")], theme),
                )
            }
            Dialog::Hash { paths, options } => {
                let mut text = vec![Line::from(
                    "custody will read these only to hash them; nothing is opened for viewing, changed or deleted:",
                )];
                for path in paths {
                    text.push(Line::styled(format!("  {}", safe(path)), theme.title()));
                }
                text.push(Line::default());
                let names: Vec<&str> = options.algorithms().iter().map(|a| a.name()).collect();
                text.push(Line::from(format!(
                    "Hashes: {}. Folders are walked; symbolic links are {}. The manifest and a SHA256SUMS file go into the session's evidence/ folder, their hashes into the journal.",
                    names.join(", "),
                    if options.follow_symlinks {
                        "followed (loops are caught)"
                    } else {
                        "recorded, not followed"
                    }
                )));
                (
                    "Hash this evidence?",
                    text,
                    None,
                    keys_line(&[("y/Enter", "hash"), ("n/Esc", "not now")], theme),
                )
            }
            Dialog::StopJob => (
                match &w.job {
                    Some(Job::Hash(_)) => "Stop the hashing?",
                    _ => "Stop the command?",
                },
                vec![Line::from(match &w.job {
                    Some(Job::Hash(_)) => {
                        "What was hashed so far is kept in the manifest and journaled, marked as stopped before the end."
                    }
                    _ => {
                        "Its process group gets SIGTERM, then SIGKILL after 2 seconds. What it wrote so far is kept, and the stop is journaled."
                    }
                })],
                None,
                keys_line(&[("y", "stop it"), ("n/Esc", "let it run")], theme),
            ),
            Dialog::Note(input) => (
                "Note",
                vec![Line::from(
                    "Write what happened or what you noticed; it goes into the journal with the time.",
                )],
                Some(input),
                keys_line(
                    &[("Enter", "save"), ("Ctrl-J", "new line"), ("Esc", "cancel")],
                    theme,
                ),
            ),
            Dialog::Skip(input) => (
                "Skip this step: why?",
                vec![Line::from(
                    "Skipping is journaled with your reason, and shows in the report.",
                )],
                Some(input),
                keys_line(&[("Enter", "skip"), ("Esc", "cancel")], theme),
            ),
            Dialog::Reason { label, input, .. } => (
                "Why this choice?",
                vec![
                    Line::from(format!("You chose: {}", safe(label))),
                    Line::from("Give the reason; it goes into the journal and the report."),
                ],
                Some(input),
                keys_line(&[("Enter", "record"), ("Esc", "back")], theme),
            ),
        };
    // Text wraps inside the dialog; count the wrapped lines to size it.
    let mut wrapped: Vec<Line> = Vec::new();
    for line in text.drain(..) {
        let plain: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        let style = line
            .spans
            .first()
            .map_or(line.style, |s| s.style.patch(line.style));
        if plain.width() <= usize::from(inner_width) {
            wrapped.push(line);
        } else {
            for l in markdown::render(&plain, inner_width, &markdown::Symbols::ASCII) {
                wrapped.push(l.style(style));
            }
        }
    }
    let (input_lines, input_cursor) = match input {
        Some(i) => {
            let (lines, cursor) = i.lines(inner_width);
            (lines, Some(cursor))
        }
        None => (Vec::new(), None),
    };
    let input_height = if input.is_some() {
        u16::try_from(input_lines.len().max(1)).unwrap_or(1) + 1
    } else {
        0
    };
    let height = u16::try_from(wrapped.len())
        .unwrap_or(u16::MAX)
        .saturating_add(input_height)
        .saturating_add(4);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = block(title, theme).title_bottom(keys);
    let inner = block.inner(rect).inner(Margin::new(1, 0));
    frame.render_widget(block, rect);
    let text_height = u16::try_from(wrapped.len()).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(wrapped), inner);
    if input.is_some() {
        let y = inner.y + text_height.min(inner.height) + u16::from(text_height < inner.height);
        let input_area = Rect {
            x: inner.x,
            y: y.min(inner.bottom().saturating_sub(1)),
            width: inner.width,
            height: inner.bottom().saturating_sub(y).max(1),
        };
        frame.render_widget(
            Paragraph::new(input_lines).style(theme.selected()),
            input_area,
        );
        if let Some((x, y)) = input_cursor
            && y < input_area.height
        {
            frame.set_cursor_position((input_area.x + x, input_area.y + y));
        }
    }
}

fn help_lines(theme: &Theme, exercise: bool, briefing: bool) -> Vec<Line<'static>> {
    let mut rows: Vec<(&str, &str)> = vec![
        ("Enter", "confirm or complete the step; in a list, choose"),
        ("Space", "confirm the marked checklist item"),
        ("Up/Down, j/k", "move in a list"),
        ("Tab, Shift-Tab", "next or previous field in a form"),
        ("Esc", "leave a form, close a dialog"),
        ("n", "add a note to the journal, at any moment"),
        ("s", "skip the step (asks why)"),
        ("PgUp/PgDn", "scroll the step's text"),
        ("S", "seal the session, once the runbook is finished"),
        ("q, Ctrl-C", "quit (asks; the session can be resumed)"),
        ("?, F1", "this help"),
    ];
    if exercise {
        let at = rows.len() - 2;
        let mut more = vec![
            ("i", "injects: see them all, release one (facilitator)"),
            ("t", "exercise clock: pause, speed up, move on"),
            ("a", "answer an inject left for later"),
        ];
        if briefing {
            more.push(("b", "read the briefing again"));
        }
        rows.splice(at..at, more);
    }
    let mut lines: Vec<Line<'static>> = rows
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<15}"), theme.key()),
                Span::raw((*what).to_owned()),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(
        "Everything is written to the journal, with the time, before the screen shows it. There is no undo: a correction is a new entry (a note, or going back), and shows as such.",
    ));
    lines
}

/// Clears a box of `width` x `height` in the middle of the screen, draws its border with
/// `title` on top and `keys` at the bottom, and returns the room inside (a column of margin
/// each side).
fn dialog_box(
    frame: &mut Frame,
    title: Line<'static>,
    keys: Line<'static>,
    (width, height): (u16, u16),
    theme: &Theme,
) -> Rect {
    let rect = centered(frame.area(), width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_set(theme.border())
        .title(title)
        .title_bottom(keys);
    let inner = block.inner(rect).inner(Margin::new(1, 0));
    frame.render_widget(block, rect);
    inner
}

/// The width of a dialog on this screen, and the width of the text inside it.
fn dialog_width(area: Rect) -> (u16, u16) {
    let width = area.width.saturating_sub(8).min(72);
    (width, width.saturating_sub(4))
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The scenario's briefing, scrolled `scroll` lines down.
fn render_briefing<C: Clock>(w: &Walk<C>, scroll: u16, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    let (width, inner_width) = dialog_width(area);
    let mut lines = Vec::new();
    if let Some(scenario) = w.session.scenario() {
        for part in wrap_plain(&safe(&scenario.title), usize::from(inner_width)) {
            lines.push(Line::styled(part, theme.title()));
        }
        lines.push(Line::default());
    }
    lines.extend(markdown::render(
        w.briefing().unwrap_or_default(),
        inner_width,
        theme.markdown(),
    ));
    let height = to_u16(lines.len()).saturating_add(3);
    let first = w.session.state().events <= 1;
    let keys = keys_line(
        &[
            ("Enter", if first { "begin" } else { "close" }),
            ("Up/Down, PgUp/PgDn", "read"),
        ],
        theme,
    );
    let title = Line::styled(" Briefing: read it to the team ", theme.title());
    let inner = dialog_box(frame, title, keys, (width, height), theme);
    let text_height = inner.height.saturating_sub(1);
    let max = to_u16(lines.len()).saturating_sub(text_height);
    let scroll = scroll.min(max);
    let more = if scroll < max {
        "more below: Down, PgDn"
    } else if scroll > 0 {
        "the end"
    } else {
        ""
    };
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)),
        Rect {
            height: text_height,
            ..inner
        },
    );
    if inner.height > 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(more, theme.dim()).right_aligned()),
            Rect {
                y: inner.bottom() - 1,
                height: 1,
                ..inner
            },
        );
    }
}

/// An inject put to the team: what happens, the question, their answer and who gives it.
fn render_inject<C: Clock>(
    w: &Walk<C>,
    d: &super::exercise::InjectDialog,
    theme: &Theme,
    frame: &mut Frame,
) {
    let area = frame.area();
    let (width, inner_width) = dialog_width(area);
    let text_width = usize::from(inner_width);
    let mut head: Vec<Line<'static>> = wrap_plain(&safe(&d.title), text_width)
        .into_iter()
        .map(|l| Line::styled(l, theme.title()))
        .collect();
    if let Some(body) = &d.body {
        head.push(Line::default());
        head.extend(markdown::render(body, inner_width, theme.markdown()));
    }
    if let Some(prompt) = &d.prompt {
        head.push(Line::default());
        head.extend(
            markdown::render(prompt, inner_width, theme.markdown())
                .into_iter()
                .map(|l| l.patch_style(theme.current())),
        );
    }
    head.push(Line::default());
    head.push(Line::styled("The team's answer:", theme.title()));
    let mut tail = Vec::new();
    if let Some((name, role)) = d.people.get(d.by) {
        let mut spans = vec![
            Span::raw("Answered by: "),
            Span::styled(format!("{} ({})", safe(name), safe(role)), theme.title()),
        ];
        if d.people.len() > 1 {
            spans.push(Span::styled("  Tab: someone else", theme.dim()));
        }
        tail.push(Line::from(spans));
    }
    if let Some(message) = &d.message {
        tail.push(Line::styled(
            fit(&safe(message), text_width, theme),
            theme.warning(),
        ));
    }
    let (input_lines, (cx, cy)) = d.input.lines(inner_width);
    // The room inside the biggest box: the answer keeps at least a line, the text above it
    // gives way at its end first.
    let room = usize::from(area.height.saturating_sub(4));
    let head_height = head.len().min(room.saturating_sub(tail.len() + 1));
    let input_height = input_lines
        .len()
        .clamp(3, 8)
        .min(room.saturating_sub(head_height + tail.len()))
        .max(1);
    let height = to_u16(head_height + input_height + tail.len() + 2);
    let others = w.session.unanswered_injects().len().saturating_sub(1);
    let mut title = vec![Span::styled(" INJECT ", theme.banner())];
    if others > 0 {
        title.push(Span::styled(
            format!(" {others} more waiting "),
            theme.title(),
        ));
    }
    let mut keys = vec![("Enter", "record"), ("Ctrl-J", "new line")];
    if d.people.len() > 1 {
        keys.push(("Tab", "who answers"));
    }
    keys.push(("Esc", "answer later"));
    let inner = dialog_box(
        frame,
        Line::from(title),
        keys_line(&keys, theme),
        (width, height),
        theme,
    );
    let [head_area, input_area, tail_area] = Layout::vertical([
        Constraint::Length(to_u16(head_height)),
        Constraint::Length(to_u16(input_height)),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(head), head_area);
    let offset = (usize::from(cy) + 1).saturating_sub(usize::from(input_area.height));
    frame.render_widget(
        Paragraph::new(input_lines)
            .scroll((to_u16(offset), 0))
            .style(theme.selected()),
        input_area,
    );
    frame.render_widget(Paragraph::new(tail), tail_area);
    let row = usize::from(cy).saturating_sub(offset);
    if input_area.height > 0 && row < usize::from(input_area.height) {
        frame.set_cursor_position((input_area.x + cx, input_area.y + to_u16(row)));
    }
}

/// Where an inject stands, in words, with exercise-clock times in local time.
fn inject_status_text<C: Clock>(w: &Walk<C>, status: InjectStatus) -> String {
    let at = |t: DateTime<Utc>| {
        local(t, w.session.clock().offset_at(t))
            .format("%H:%M")
            .to_string()
    };
    match status {
        InjectStatus::Waiting => "waiting".into(),
        InjectStatus::Due => "due now".into(),
        InjectStatus::Released(t) => format!("released {}, not answered yet", at(t)),
        InjectStatus::Answered(t) => format!("answered {}", at(t)),
    }
}

/// The facilitator's list: every inject, how it comes and where it stands. What a good answer
/// covers (`expect`) is for the review and is never shown here.
fn render_injects<C: Clock>(
    w: &Walk<C>,
    list: &super::exercise::InjectList,
    theme: &Theme,
    frame: &mut Frame,
) {
    let area = frame.area();
    let (width, inner_width) = dialog_width(area);
    let text_width = usize::from(inner_width);
    let marks = theme.marks();
    let due = w.session.injects_due();
    let injects = &w.session.runbook().injects;
    let mut head: Vec<Line<'static>> = wrap_plain(
        "Every inject of this exercise. Enter releases the marked one now; the team sees it at once. Times are on the exercise clock.",
        text_width,
    )
    .into_iter()
    .map(|l| Line::styled(l, theme.dim()))
    .collect();
    head.push(Line::default());
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (n, inject) in injects.iter().enumerate() {
        let selected = n == list.selected;
        let status = exercise::inject_status(&w.session, &inject.id, &due);
        let mark = if selected { marks.current } else { " " };
        lines.push(Line::styled(
            fit(
                &format!("{mark} {}", safe(&w.session.render(&inject.title))),
                text_width,
                theme,
            ),
            if selected {
                theme.selected()
            } else {
                Style::new()
            },
        ));
        let style = match status {
            InjectStatus::Released(_) => theme.warning(),
            InjectStatus::Answered(_) => theme.done(),
            InjectStatus::Due => theme.current(),
            InjectStatus::Waiting => theme.dim(),
        };
        lines.push(Line::styled(
            fit(
                &format!(
                    "    {}: {}",
                    safe(&exercise::trigger(inject)),
                    inject_status_text(w, status)
                ),
                text_width,
                theme,
            ),
            style,
        ));
    }
    if injects.is_empty() {
        lines.push(Line::from("This exercise has no injects."));
    }
    let mut foot: Vec<Line<'static>> = Vec::new();
    let selected_title = injects
        .get(list.selected)
        .map(|i| safe(&w.session.render(&i.title)))
        .unwrap_or_default();
    if list.confirm {
        foot.push(Line::default());
        for part in wrap_plain(&format!("Release \"{selected_title}\" now?"), text_width) {
            foot.push(Line::styled(part, theme.current()));
        }
    } else if let Some(message) = &list.message {
        let (text, style) = match message {
            Status::Info(t) => (t, theme.current()),
            Status::Warning(t) => (t, theme.warning()),
        };
        foot.push(Line::default());
        foot.push(Line::styled(fit(&safe(text), text_width, theme), style));
    }
    let keys = if list.confirm {
        keys_line(&[("y", "release"), ("n/Esc", "not now")], theme)
    } else {
        keys_line(
            &[
                ("Enter", "release/answer"),
                ("Up/Down", "move"),
                ("Esc", "close"),
            ],
            theme,
        )
    };
    let height = to_u16(head.len() + lines.len() + foot.len() + 2);
    let title = Line::styled(" Injects (facilitator) ", theme.title());
    let inner = dialog_box(frame, title, keys, (width, height), theme);
    let [head_area, list_area, foot_area] = Layout::vertical([
        Constraint::Length(to_u16(head.len())),
        Constraint::Min(1),
        Constraint::Length(to_u16(foot.len())),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(head), head_area);
    let scroll = scroll_for(list.selected * 2 + 1, 0, list_area.height, lines.len());
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), list_area);
    frame.render_widget(Paragraph::new(foot), foot_area);
}

/// The facilitator's exercise clock: its reading, and the changes on offer.
fn render_clock<C: Clock>(
    w: &Walk<C>,
    d: &super::exercise::ClockDialog,
    theme: &Theme,
    frame: &mut Frame,
) {
    let area = frame.area();
    let (width, inner_width) = dialog_width(area);
    let text_width = usize::from(inner_width);
    let state = w.session.state();
    let clock = &state.clock;
    let reading = w.session.session_time();
    let offset = w.session.clock().offset_at(reading);
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Exercise time  "),
            Span::styled(
                local(reading, offset)
                    .format("%a %Y-%m-%d %H:%M:%S")
                    .to_string(),
                theme.title(),
            ),
            Span::raw(format!(
                " local {}",
                crate::journal::event::format_offset(&offset)
            )),
        ]),
        Line::from(format!(
            "               {} UTC, T+{} since the start",
            reading.format("%H:%M:%S"),
            describe::duration((reading - state.started_at).num_seconds())
        )),
        if clock.is_held() {
            Line::styled(
                "PAUSED: exercise time stands still; nothing fires, deadlines wait.",
                theme.warning(),
            )
        } else if clock.speed() == 1 {
            Line::from("Running at real time (1x).")
        } else {
            Line::styled(
                format!("Running at {}x real time.", clock.speed()),
                theme.current(),
            )
        },
        Line::default(),
    ];
    let rows = exercise::clock_rows();
    let marks = theme.marks();
    for (n, row) in rows.iter().enumerate() {
        let text = match row {
            ClockRow::PauseOrResume if clock.is_held() => "Resume the clock (p)".to_owned(),
            ClockRow::PauseOrResume => "Pause the clock (p)".to_owned(),
            ClockRow::Speed(1) => "Real time (1x)".to_owned(),
            ClockRow::Speed(s) => format!(
                "{s}x: a day passes in {}",
                exercise::compact(86_400 / u64::from(*s))
            ),
            ClockRow::MoveOn(secs) => format!("Move on {}", exercise::compact(*secs)),
            ClockRow::MoveOnBy => match &d.custom {
                Some(input) => format!("Move on by: {}", input.text()),
                None => "Move on by ... (type it, such as 2h30m)".to_owned(),
            },
        };
        let now = matches!(row, ClockRow::Speed(s) if *s == clock.speed());
        let text = format!(
            "{} {text}{}",
            if n == d.selected { marks.current } else { " " },
            if now { "  (now)" } else { "" }
        );
        lines.push(Line::styled(
            fit(&safe(&text), text_width, theme),
            if n == d.selected {
                theme.selected()
            } else {
                Style::new()
            },
        ));
    }
    lines.push(Line::default());
    match &d.message {
        Some(Status::Info(t)) => hint(&mut lines, &safe(t), inner_width, theme.current()),
        Some(Status::Warning(t)) => hint(&mut lines, &safe(t), inner_width, theme.warning()),
        None => hint(
            &mut lines,
            "Each change is journaled. Injects whose time comes fire when this closes.",
            inner_width,
            theme.dim(),
        ),
    }
    let keys = if d.custom.is_some() {
        keys_line(&[("Enter", "move on"), ("Esc", "back")], theme)
    } else {
        keys_line(
            &[("Enter", "choose"), ("p", "pause/resume"), ("Esc", "close")],
            theme,
        )
    };
    let height = to_u16(lines.len() + 2);
    let title = Line::styled(" Exercise clock (facilitator) ", theme.title());
    let inner = dialog_box(frame, title, keys, (width, height), theme);
    let focus = 4 + d.selected;
    let scroll = scroll_for(focus, 0, inner.height, lines.len());
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    if let Some(input) = &d.custom {
        let prefix = "> Move on by: ".width();
        let y = focus.saturating_sub(usize::from(scroll));
        let x = prefix + input.text().width();
        if y < usize::from(inner.height) && x < usize::from(inner.width) {
            frame.set_cursor_position((inner.x + to_u16(x), inner.y + to_u16(y)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn clock(speed: u32, held: bool) -> BannerClock {
        let offset = FixedOffset::east_opt(3600)
            .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
        BannerClock {
            reading: offset
                .with_ymd_and_hms(2026, 11, 24, 22, 55, 7)
                .single()
                .unwrap_or_else(|| unreachable!()),
            elapsed: 20 * 3600 + 5 * 60,
            speed,
            held,
        }
    }

    #[test]
    fn the_banner_fits_every_width_and_keeps_what_matters_longest() {
        let theme = Theme::plain();
        let full = banner_text(80, &clock(24, true), &theme);
        assert_eq!(
            full.trim(),
            "EXERCISE - NOT A REAL INCIDENT  clock Tue 24 Nov 22:55:07  T+20h 05m  24x PAUSED"
        );
        assert!(banner_text(60, &clock(24, true), &theme).contains("NOT A REAL INCIDENT"));
        for width in 0..=130 {
            for (speed, held) in [(1, false), (24, true), (3600, false)] {
                let text = banner_text(width, &clock(speed, held), &theme);
                assert_eq!(text.width(), width, "{width}: {text:?}");
                if width >= 16 && held {
                    assert!(text.contains("PAUSED"), "{width}: {text:?}");
                }
                if width >= 8 {
                    assert!(text.contains("EXERCISE"), "{width}: {text:?}");
                }
            }
        }
    }
}
