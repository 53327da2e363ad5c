//! The picture of a session's timeline, as SVG text written by hand: one row per step visited
//! with a bar for each stretch of time spent at it, the injects as triangles, the milestones
//! as diamonds, the deadlines as dashed lines and the exercise clock's pauses, speed-ups and
//! jumps, over exercise time.
//!
//! The x axis is exercise time since the start. Where the facilitator moved the clock on, the
//! axis is cut: the jump takes a fixed width, hatched, so that an exercise moved on by 20 hours
//! still shows its first hour. The picture reads in black and white (shapes, fills and dash
//! patterns differ, not only colours), fits the width of an A4 page, and is deterministic:
//! coordinates are rounded to a tenth, and nothing in it depends on the machine.
//!
//! Recorded text (step titles) is cleaned of control and bidi characters and escaped for XML.
//! The font is monospaced (`DejaVu Sans Mono` ships with typst, and most systems have it or a
//! monospace like it), so that labels can be cut to fit by counting characters.

use std::fmt::Write as _;

use super::model::{Moment, SessionReview};
use crate::report::text;

const WIDTH: f64 = 640.0;
/// The labels' column.
const LEFT: f64 = 176.0;
const RIGHT: f64 = 12.0;
/// Above the rows: the title line and the deadlines' labels.
const TOP: f64 = 44.0;
const ROW: f64 = 13.0;
const LANE: f64 = 30.0;
/// The width a jump of the clock takes on the axis, when it would take more.
const BREAK: f64 = 22.0;
const FONT: f64 = 8.0;
/// The advance of a character of the monospaced font, as a share of its size.
const CHAR: f64 = 0.61;

const INK: &str = "#1b1f24";
const MUTED: &str = "#5a6270";
const ACCENT: &str = "#1f3a5f";
const RULE: &str = "#c5cbd3";
const ZEBRA: &str = "#f3f5f8";
const ALARM: &str = "#b00020";
const GOOD: &str = "#1b6e3a";

/// Text for an SVG text node or attribute: cleaned, on one line, XML-escaped.
fn esc(s: &str) -> String {
    let one_line = text::clean(s).replace('\n', " ");
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    let clean = text::clean(s).replace('\n', " ");
    if clean.chars().count() <= max {
        return clean;
    }
    let mut out: String = clean.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A number for a coordinate: one decimal.
fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// The width of `chars` characters of the font at `size`.
#[allow(clippy::cast_precision_loss)] // label lengths
fn text_width(chars: usize, size: f64) -> f64 {
    chars as f64 * size * CHAR
}

/// `h:mm` since the start (`1d 04:00` past a day), for the axis.
fn tick_text(secs: i64) -> String {
    let (d, rest) = (secs / 86_400, secs % 86_400);
    let (h, m) = (rest / 3600, rest % 3600 / 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}")
    } else {
        format!("{h}:{m:02}")
    }
}

/// Exercise time on the x axis: linear, but with each large jump of the clock cut to
/// [`BREAK`] wide.
struct Axis {
    /// The end of the time shown.
    end: i64,
    /// Pixels per second outside the cut jumps.
    scale: f64,
    /// The jumps cut out: (from, to) in seconds since the start, in order.
    cuts: Vec<(i64, i64)>,
}

impl Axis {
    #[allow(clippy::cast_precision_loss)] // seconds of an exercise, far below 2^52
    fn new(end: i64, jumps: &[(i64, i64)]) -> Self {
        let end = end.max(60);
        let width = WIDTH - LEFT - RIGHT;
        let mut jumps: Vec<(i64, i64)> = jumps
            .iter()
            .map(|&(a, b)| (a.clamp(0, end), b.clamp(0, end)))
            .filter(|(a, b)| b > a)
            .collect();
        jumps.sort_unstable();
        // Cut the jumps that would be wider than BREAK at the scale the others leave.
        let mut cut = vec![true; jumps.len()];
        let scale = loop {
            let cut_secs: i64 = jumps
                .iter()
                .zip(&cut)
                .filter(|(_, c)| **c)
                .map(|((a, b), _)| b - a)
                .sum();
            let fixed = BREAK * cut.iter().filter(|c| **c).count() as f64;
            let scale = (width - fixed).max(width / 4.0) / ((end - cut_secs).max(1) as f64);
            let mut changed = false;
            for ((a, b), c) in jumps.iter().zip(cut.iter_mut()) {
                if *c && ((b - a) as f64) * scale <= BREAK {
                    *c = false;
                    changed = true;
                }
            }
            if !changed {
                break scale;
            }
        };
        let cuts = jumps
            .into_iter()
            .zip(cut)
            .filter(|(_, c)| *c)
            .map(|(j, _)| j)
            .collect();
        Self { end, scale, cuts }
    }

    #[allow(clippy::cast_precision_loss)]
    fn x(&self, secs: i64) -> f64 {
        let t = secs.clamp(0, self.end);
        let mut pos = LEFT;
        let mut from = 0;
        for &(a, b) in &self.cuts {
            if t < a {
                return pos + (t - from) as f64 * self.scale;
            }
            pos += (a - from) as f64 * self.scale;
            if t <= b {
                return pos + (t - a) as f64 / (b - a).max(1) as f64 * BREAK;
            }
            pos += BREAK;
            from = b;
        }
        pos + (t - from) as f64 * self.scale
    }

    fn in_cut(&self, secs: i64) -> bool {
        self.cuts.iter().any(|&(a, b)| secs > a && secs < b)
    }

    /// The ticks: a round step that leaves room for the labels, at its multiples outside the
    /// cuts.
    #[allow(clippy::cast_precision_loss)]
    fn ticks(&self) -> Vec<i64> {
        const STEPS: [i64; 16] = [
            60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800,
            604_800, 2_592_000, 31_536_000,
        ];
        let step = STEPS
            .iter()
            .copied()
            .find(|s| *s as f64 * self.scale >= 48.0)
            .unwrap_or(31_536_000);
        let mut ticks = Vec::new();
        let mut last_x = f64::NEG_INFINITY;
        let mut t = 0;
        while t <= self.end {
            let x = self.x(t);
            if !self.in_cut(t) && x - last_x >= 40.0 {
                ticks.push(t);
                last_x = x;
            }
            t += step;
        }
        ticks
    }
}

/// Labels on a lane that must not overlap: each goes on the first of the lane's lines where it
/// overlaps no label already there (in whatever order they come), else on the fullest line's
/// neighbour with the fewest labels.
struct Stagger {
    lines: Vec<Vec<(f64, f64)>>,
}

impl Stagger {
    fn new(lines: usize) -> Self {
        Self {
            lines: vec![Vec::new(); lines],
        }
    }

    /// The line for a label from `x0` to `x1`.
    fn place(&mut self, x0: f64, x1: f64) -> usize {
        let free =
            |line: &Vec<(f64, f64)>| line.iter().all(|&(a, b)| x1 + 3.0 <= a || b + 3.0 <= x0);
        let line = self.lines.iter().position(free).unwrap_or_else(|| {
            self.lines
                .iter()
                .enumerate()
                .min_by_key(|(_, l)| l.len())
                .map_or(0, |(i, _)| i)
        });
        self.lines[line].push((x0, x1));
        line
    }
}

/// A label centred on `x`, kept inside the plot: its box (left, right) and the `x` to write it
/// at (anchored in the middle).
fn label_at(x: f64, chars: usize) -> (f64, f64, f64) {
    let w = text_width(chars, FONT);
    let right = WIDTH - RIGHT;
    let x0 = (x - w / 2.0).clamp(LEFT, (right - w).max(LEFT));
    (x0, x0 + w, x0 + w / 2.0)
}

/// Writes a label for a mark at `x`, on the first free line of `stagger` from `top` on.
#[allow(clippy::cast_precision_loss)]
fn label(
    out: &mut String,
    stagger: &mut Stagger,
    x: f64,
    top: f64,
    text: &str,
    colour: &str,
    bold: bool,
) {
    let (x0, x1, tx) = label_at(x, text.chars().count());
    let level = stagger.place(x0, x1);
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" fill=\"{colour}\"{} text-anchor=\"middle\">{}</text>",
        n(tx),
        n(top + 9.0 * level as f64),
        if bold { " font-weight=\"bold\"" } else { "" },
        esc(text)
    );
}

fn elapsed(m: &Moment) -> i64 {
    m.elapsed_secs
}

/// The timeline of session `s` as an SVG document (no XML declaration, so that it can be put
/// inline in HTML as it is).
#[allow(clippy::cast_precision_loss)]
pub fn timeline(s: &SessionReview) -> String {
    let id = format!("tl{}", s.number);
    let jumps: Vec<(i64, i64)> = s
        .clock
        .iter()
        .filter(|c| c.change == "advance")
        .map(|c| {
            let by = i64::try_from(c.advanced_secs.unwrap_or(0)).unwrap_or(i64::MAX);
            (c.at.elapsed_secs.saturating_sub(by), c.at.elapsed_secs)
        })
        .collect();
    let axis = Axis::new(s.ended.elapsed_secs, &jumps);

    // The rows: each step visited, in the order first entered.
    let mut steps: Vec<(&str, &str)> = Vec::new();
    for v in &s.visits {
        if !steps.iter().any(|(id, _)| *id == v.step.id) {
            steps.push((&v.step.id, &v.step.title));
        }
    }
    let rows_top = TOP;
    let steps_bottom = rows_top + ROW * steps.len() as f64;
    let injects_y = steps_bottom + 4.0;
    let milestones_y = injects_y + LANE;
    let clock_y = milestones_y + LANE;
    let lanes_bottom = clock_y + LANE;
    let axis_y = lanes_bottom + 2.0;
    let legend_y = axis_y + 34.0;
    let height = legend_y + 30.0;
    let right = WIDTH - RIGHT;

    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"{id}-title\" \
         font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{FONT}\">\n\
         <title id=\"{id}-title\">EXERCISE: timeline of session {session} in exercise time</title>\n\
         <defs>\n\
         <pattern id=\"{id}-hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"4\" height=\"4\" fill=\"#ffffff\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"{MUTED}\" stroke-width=\"1.4\"/></pattern>\n\
         <pattern id=\"{id}-cut\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(-45)\"><rect width=\"5\" height=\"5\" fill=\"#eceff3\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"#b7bfc9\" stroke-width=\"1\"/></pattern>\n\
         </defs>\n",
        w = n(WIDTH),
        h = n(height),
        session = esc(&s.session),
    );
    // Title line, with the marking.
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"11\" font-size=\"9\" font-weight=\"bold\" fill=\"{ACCENT}\">Timeline \
         of session {}, exercise time</text>",
        n(4.0),
        s.number
    );
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"11\" font-size=\"10\" font-weight=\"bold\" fill=\"{ALARM}\" \
         text-anchor=\"end\" letter-spacing=\"1\">EXERCISE</text>",
        n(right)
    );

    // Row backgrounds and labels.
    // 33 characters of 8 px in the 176 px column, less a margin.
    let label_chars = 33;
    for (i, (_, title)) in steps.iter().enumerate() {
        let y = rows_top + ROW * i as f64;
        if i % 2 == 0 {
            let _ = writeln!(
                out,
                "<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{ZEBRA}\"/>",
                n(y),
                n(WIDTH),
                n(ROW)
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"{INK}\" text-anchor=\"end\">{}</text>",
            n(LEFT - 5.0),
            n(y + ROW - 3.5),
            esc(&cut(title, label_chars))
        );
    }
    for (label, y) in [
        ("Injects", injects_y),
        ("Milestones", milestones_y),
        ("Exercise clock", clock_y),
    ] {
        let _ = writeln!(
            out,
            "<line x1=\"0\" y1=\"{y}\" x2=\"{w}\" y2=\"{y}\" stroke=\"{RULE}\" stroke-width=\"0.6\"/>\n\
             <text x=\"{}\" y=\"{}\" fill=\"{MUTED}\" font-weight=\"bold\" text-anchor=\"end\">{label}</text>",
            n(LEFT - 5.0),
            n(y + 11.0),
            y = n(y),
            w = n(WIDTH),
        );
    }

    // Speed-ups: a light band and a label.
    let speeds: Vec<(i64, u32)> = s
        .clock
        .iter()
        .filter(|c| c.change == "speed")
        .map(|c| (elapsed(&c.at), c.speed))
        .collect();
    for (i, &(from, speed)) in speeds.iter().enumerate() {
        if speed <= 1 {
            continue;
        }
        let to = speeds.get(i + 1).map_or(axis.end, |(t, _)| *t);
        let (x0, x1) = (axis.x(from), axis.x(to));
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#e9eef5\" \
             fill-opacity=\"0.6\"/>",
            n(x0),
            n(rows_top),
            n((x1 - x0).max(0.5)),
            n(lanes_bottom - rows_top)
        );
    }

    // Grid and ticks.
    for t in axis.ticks() {
        let x = axis.x(t);
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#dde2e8\" stroke-width=\"0.6\"/>\n\
             <line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"0.8\"/>\n\
             <text x=\"{x}\" y=\"{}\" fill=\"{INK}\" text-anchor=\"middle\">{}</text>",
            n(rows_top),
            n(lanes_bottom),
            n(axis_y),
            n(axis_y + 3.0),
            n(axis_y + 12.0),
            tick_text(t),
            x = n(x),
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{INK}\" stroke-width=\"0.8\"/>\n\
         <text x=\"{}\" y=\"{}\" fill=\"{MUTED}\" text-anchor=\"middle\">exercise time since the \
         start (h:mm)</text>",
        n(LEFT),
        n(right),
        n(f64::midpoint(LEFT, right)),
        n(axis_y + 23.0),
        y = n(axis_y),
    );

    // The jumps of the clock: a hatched band across the rows, and how far it jumped.
    let mut clock_labels = Stagger::new(2);
    for c in s.clock.iter().filter(|c| c.change == "advance") {
        let by = i64::try_from(c.advanced_secs.unwrap_or(0)).unwrap_or(i64::MAX);
        let (x0, x1) = (axis.x(elapsed(&c.at) - by), axis.x(elapsed(&c.at)));
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#{id}-cut)\"/>\n\
             <line x1=\"{a}\" y1=\"{}\" x2=\"{b}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"0.9\"/>\n\
             <line x1=\"{c}\" y1=\"{}\" x2=\"{d}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"0.9\"/>",
            n(x0),
            n(rows_top),
            n((x1 - x0).max(1.0)),
            n(lanes_bottom - rows_top),
            n(axis_y + 4.0),
            n(axis_y - 4.0),
            n(axis_y + 4.0),
            n(axis_y - 4.0),
            a = n(x0 - 2.0),
            b = n(x0 + 2.0),
            c = n(x1 - 2.0),
            d = n(x1 + 2.0),
        );
        let text = format!("+{}", super::model::duration_text(by));
        label(
            &mut out,
            &mut clock_labels,
            f64::midpoint(x0, x1),
            clock_y + 18.0,
            &text,
            INK,
            true,
        );
    }
    // Speed labels, and the pauses (the clock stood still for a while of real time).
    for c in &s.clock {
        let x = axis.x(elapsed(&c.at));
        let text = match c.change {
            "speed" => format!("{}x", c.speed),
            "pause" | "session_paused" | "interrupted" => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"1.6\" height=\"8\" fill=\"{INK}\"/>\
                     <rect x=\"{}\" y=\"{}\" width=\"1.6\" height=\"8\" fill=\"{INK}\"/>",
                    n(x - 2.4),
                    n(clock_y + 2.0),
                    n(x + 0.8),
                    n(clock_y + 2.0)
                );
                let what = if c.change == "interrupted" {
                    "stopped"
                } else {
                    "paused"
                };
                match c.stood_still_secs {
                    Some(d) => format!("{what} {}", super::model::duration_text(d)),
                    None => what.to_owned(),
                }
            }
            _ => continue,
        };
        if c.change == "speed" {
            let _ = writeln!(
                out,
                "<path d=\"M{} {} l4 3.5 l-4 3.5 z\" fill=\"{INK}\"/>",
                n(x - 2.0),
                n(clock_y + 2.5)
            );
        }
        label(
            &mut out,
            &mut clock_labels,
            x,
            clock_y + 18.0,
            &text,
            INK,
            false,
        );
    }

    // Step bars.
    let row_of = |step: &str| steps.iter().position(|(id, _)| *id == step).unwrap_or(0);
    for v in &s.visits {
        let y = rows_top + ROW * row_of(&v.step.id) as f64 + 2.5;
        let (x0, x1) = (axis.x(elapsed(&v.entered)), axis.x(elapsed(&v.left)));
        let w = (x1 - x0).max(2.0);
        let style = match v.outcome {
            "done" => format!("fill=\"{ACCENT}\""),
            "skipped" => format!("fill=\"url(#{id}-hatch)\" stroke=\"{INK}\" stroke-width=\"0.8\""),
            "left" => format!(
                "fill=\"#b9c7d6\" stroke=\"{ACCENT}\" stroke-width=\"0.8\" stroke-dasharray=\"2 1.5\""
            ),
            _ => format!("fill=\"#ffffff\" stroke=\"{ACCENT}\" stroke-width=\"1.2\""),
        };
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}><title>{} {} to {}: \
             {}</title></rect>",
            n(x0),
            n(y),
            n(w),
            n(ROW - 5.0),
            esc(&v.step.title),
            esc(&v.entered.elapsed),
            esc(&v.left.elapsed),
            v.outcome
        );
    }

    // Deadlines: a dashed line across the rows at the time due, labelled at the top; deadlines
    // due at the same moment share a label.
    let mut due: Vec<(f64, bool, Vec<String>)> = Vec::new();
    for d in &s.deadlines {
        let Some(at) = &d.due else { continue };
        if at.elapsed_secs < 0 || at.elapsed_secs > axis.end || d.status.starts_with("period") {
            continue;
        }
        let x = axis.x(at.elapsed_secs);
        let bad = matches!(d.status, "missed" | "met_late");
        let text = match d.status {
            "missed" => format!("{} missed", d.key),
            "met_late" => format!("{} late", d.key),
            _ => d.key.clone(),
        };
        match due.iter_mut().find(|(dx, _, _)| (dx - x).abs() < 1.0) {
            Some((_, any_bad, texts)) => {
                *any_bad |= bad;
                texts.push(text);
            }
            None => due.push((x, bad, vec![text])),
        }
    }
    let mut deadline_labels = Stagger::new(2);
    for (x, bad, texts) in due {
        let (colour, dash, width) = if bad {
            (ALARM, "5 2.5", 1.3)
        } else {
            (MUTED, "1.5 2", 1.0)
        };
        let text = texts.join(", ");
        let (x0, x1, tx) = label_at(x, text.chars().count());
        let level = deadline_labels.place(x0, x1);
        let label_y = TOP - 5.0 - 10.0 * level as f64;
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{colour}\" \
             stroke-width=\"{width}\" stroke-dasharray=\"{dash}\"/>\n\
             <text x=\"{}\" y=\"{}\" fill=\"{colour}\" font-weight=\"{}\" \
             text-anchor=\"middle\">{}</text>",
            n(label_y + 2.0),
            n(lanes_bottom),
            n(tx),
            n(label_y),
            if bad { "bold" } else { "normal" },
            esc(&text),
            x = n(x),
        );
    }

    // Injects: a triangle at the release, a line to the answer.
    let mut inject_labels = Stagger::new(2);
    for i in &s.injects {
        let (Some(released), Some(number)) = (&i.released, i.number) else {
            continue;
        };
        let x = axis.x(elapsed(released));
        let mid = injects_y + 8.0;
        if let Some(answered) = &i.answered {
            let xa = axis.x(elapsed(answered));
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"0.8\"/>\
                 <line x1=\"{xa}\" y1=\"{}\" x2=\"{xa}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"1.2\"/>",
                n(x),
                n(mid),
                n(xa.max(x)),
                n(mid),
                n(mid - 3.5),
                n(mid + 3.5),
                xa = n(xa.max(x)),
            );
        }
        let fill = if i.answered.is_some() { INK } else { "#ffffff" };
        let _ = writeln!(
            out,
            "<path d=\"M{} {} l8 0 l-4 7 z\" fill=\"{fill}\" stroke=\"{INK}\" \
             stroke-width=\"0.9\"><title>{}</title></path>",
            n(x - 4.0),
            n(injects_y + 2.0),
            esc(&format!("inject {number}: {}", i.title))
        );
        label(
            &mut out,
            &mut inject_labels,
            x,
            injects_y + 18.0,
            &number.to_string(),
            INK,
            false,
        );
    }

    // Milestones: a diamond where reached, filled when in time, hollow and red when late; the
    // key below it.
    let mut milestone_labels = Stagger::new(2);
    for m in &s.milestones {
        let Some(reached) = &m.reached else { continue };
        let x = axis.x(elapsed(reached));
        let late = m.status == "late";
        let style = if late {
            format!("fill=\"#ffffff\" stroke=\"{ALARM}\" stroke-width=\"1.6\"")
        } else {
            format!("fill=\"{GOOD}\" stroke=\"{GOOD}\" stroke-width=\"0.8\"")
        };
        let _ = writeln!(
            out,
            "<path d=\"M{} {} l4.5 4.5 l-4.5 4.5 l-4.5 -4.5 z\" {style}><title>{}</title></path>",
            n(x),
            n(milestones_y + 2.0),
            esc(&format!("{} {}: {}", m.key, m.label, m.text))
        );
        label(
            &mut out,
            &mut milestone_labels,
            x,
            milestones_y + 19.0,
            &m.key,
            if late { ALARM } else { INK },
            late,
        );
    }

    legend(&mut out, &id, legend_y);
    out.push_str("</svg>\n");
    out
}

/// The key to the picture, in two lines.
fn legend(out: &mut String, id: &str, y: f64) {
    type Shape = Box<dyn Fn(f64, f64) -> String>;
    let hatch = format!("url(#{id}-hatch)");
    let cut = format!("url(#{id}-cut)");
    let lines: [Vec<(Shape, &str)>; 2] = [
        vec![
            (
                Box::new(|x, y| {
                    format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"8\" fill=\"{ACCENT}\"/>",
                        n(x),
                        n(y)
                    )
                }),
                "at a step, done",
            ),
            (
                Box::new(move |x, y| {
                    format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"8\" fill=\"{hatch}\" \
                         stroke=\"{INK}\" stroke-width=\"0.8\"/>",
                        n(x),
                        n(y)
                    )
                }),
                "skipped",
            ),
            (
                Box::new(|x, y| {
                    format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"8\" fill=\"#b9c7d6\" \
                         stroke=\"{ACCENT}\" stroke-width=\"0.8\" stroke-dasharray=\"2 1.5\"/>",
                        n(x),
                        n(y)
                    )
                }),
                "left to go back",
            ),
            (
                Box::new(|x, y| {
                    format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"8\" fill=\"#ffffff\" \
                         stroke=\"{ACCENT}\" stroke-width=\"1.2\"/>",
                        n(x),
                        n(y)
                    )
                }),
                "still current",
            ),
            (
                Box::new(|x, y| {
                    format!(
                        "<path d=\"M{} {} l8 0 l-4 7 z\" fill=\"{INK}\"/>",
                        n(x + 1.0),
                        n(y + 0.5)
                    )
                }),
                "inject (hollow: not answered) and its answer",
            ),
        ],
        vec![
            (
                Box::new(|x, y| {
                    format!(
                        "<path d=\"M{} {} l4 4 l-4 4 l-4 -4 z\" fill=\"{GOOD}\"/>",
                        n(x + 5.0),
                        n(y)
                    )
                }),
                "milestone in time",
            ),
            (
                Box::new(|x, y| {
                    format!(
                        "<path d=\"M{} {} l4 4 l-4 4 l-4 -4 z\" fill=\"#ffffff\" \
                         stroke=\"{ALARM}\" stroke-width=\"1.6\"/>",
                        n(x + 5.0),
                        n(y)
                    )
                }),
                "late",
            ),
            (
                Box::new(|x, y| {
                    format!(
                        "<line x1=\"{a}\" y1=\"{}\" x2=\"{a}\" y2=\"{}\" stroke=\"{ALARM}\" \
                         stroke-width=\"1.3\" stroke-dasharray=\"3 1.5\"/><line x1=\"{b}\" \
                         y1=\"{}\" x2=\"{b}\" y2=\"{}\" stroke=\"{MUTED}\" \
                         stroke-dasharray=\"1.5 1.5\"/>",
                        n(y - 1.0),
                        n(y + 9.0),
                        n(y - 1.0),
                        n(y + 9.0),
                        a = n(x + 2.0),
                        b = n(x + 7.0),
                    )
                }),
                "deadline due: missed or late / met",
            ),
            (
                Box::new(move |x, y| {
                    format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"8\" fill=\"{cut}\"/>",
                        n(x),
                        n(y)
                    )
                }),
                "clock moved on (cut)",
            ),
            (
                Box::new(|x, y| {
                    format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"1.6\" height=\"8\" fill=\"{INK}\"/>\
                         <rect x=\"{}\" y=\"{}\" width=\"1.6\" height=\"8\" fill=\"{INK}\"/>",
                        n(x + 2.0),
                        n(y),
                        n(x + 5.2),
                        n(y)
                    )
                }),
                "clock stood still",
            ),
        ],
    ];
    for (i, line) in lines.iter().enumerate() {
        let y = y + 13.0 * f64::from(u8::try_from(i).unwrap_or(0));
        let mut x = 4.0;
        for (shape, label) in line {
            out.push_str(&shape(x, y));
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{INK}\">{label}</text>",
                n(x + 14.0),
                n(y + 7.0)
            );
            x += 14.0 + text_width(label.chars().count(), FONT) + 12.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_jump_is_cut_and_a_small_one_is_not() {
        let axis = Axis::new(3 * 3600 + 20 * 3600, &[(3600, 3600 + 20 * 3600)]);
        assert_eq!(axis.cuts.len(), 1);
        let before = axis.x(3600);
        let after = axis.x(3600 + 20 * 3600);
        assert!((after - before - BREAK).abs() < 1e-6);
        assert!((axis.x(axis.end) - (WIDTH - RIGHT)).abs() < 1e-6);
        let axis = Axis::new(3 * 3600, &[(3600, 3660)]);
        assert!(axis.cuts.is_empty());
        assert!((axis.x(3 * 3600) - (WIDTH - RIGHT)).abs() < 1e-6);
    }

    #[test]
    fn labels_are_cut_and_escaped() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(
            esc("<a href=\"x\">&'\u{202e}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\\u{202e}"
        );
    }
}
