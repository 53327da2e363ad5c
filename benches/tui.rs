//! Terminal interface benchmarks (issue 4). Absolute figures, with no baseline: they depend on
//! the machine and are noisy on a shared one.
//!
//! 1. **Start to first frame**: the real binary (`custody start csam-discovery` with every
//!    option given) spawned in a pseudo-terminal, timed until the screen shows the session
//!    (read through a vt100 emulator, as a person would see it). Median and worst of the runs.
//!    Goal: under 50 ms.
//! 2. **One frame's render**: `tui::view::render` of the flagship's first checklist into an
//!    in-memory buffer at 80x24 and 200x50, median and p99 over many frames (the drawing only;
//!    writing the changed cells to a real terminal comes on top).
//!
//! Run it with `cargo bench -- tui` (a few seconds), or `-- tui --quick` for a fast pass.
//! Build in release first (`cargo bench` does): the start figure uses the bench profile's
//! binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::cast_precision_loss)]

use crate::{common, support};

use std::time::{Duration, Instant};

use common::pty::Term;
use custody::journal::event::Mode;
use custody::session::{self, Session};
use custody::tui::{App, Theme, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let i = (sorted.len() * pct / 100).min(sorted.len() - 1);
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn first_frame(runs: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let dir = common::temp_dir("bench-tui");
        let started = Instant::now();
        let args = common::start_args(&dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut term = Term::spawn(&args, &[], 80, 24);
        term.wait_for("REAL INCIDENT", Duration::from_secs(20))
            .unwrap();
        times.push(started.elapsed());
        term.kill9();
        let _ = std::fs::remove_dir_all(&dir);
    }
    times.sort();
    times
}

fn render(frames: usize, width: u16, height: u16) -> Vec<Duration> {
    let clock = common::clock();
    let dir = common::temp_dir("bench-tui-render");
    let s = Session::create(&dir, &common::start("csam-discovery", Mode::Real), &clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    let app = App::walk(s, recent, Theme::from_env(), dir.clone());
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let started = Instant::now();
        terminal.draw(|frame| view::render(&app, frame)).unwrap();
        times.push(started.elapsed());
    }
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    times
}

pub fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (runs, frames) = if quick { (3, 200) } else { (20, 2000) };
    say!(
        "# custody TUI benchmarks{}",
        if quick { " (quick)" } else { "" }
    );
    say!();
    let start = first_frame(runs);
    say!(
        "start to first frame ({runs} runs): median {}, worst {} (goal: under 50 ms)",
        ms(percentile(&start, 50)),
        ms(*start.last().unwrap())
    );
    support::figure(support::Figure {
        what: format!("Start to first frame (`custody start`, in a pty), median of {runs}"),
        custody: format!(
            "{} (worst {})",
            ms(percentile(&start, 50)),
            ms(*start.last().unwrap())
        ),
        baseline: "none (absolute, noisy)".into(),
        ratio: String::new(),
        goal: "under 50 ms".into(),
        met: Some(percentile(&start, 50) < Duration::from_millis(50)),
    });
    for (w, h) in [(80, 24), (200, 50)] {
        let t = render(frames, w, h);
        support::figure(support::Figure {
            what: format!("One frame's render, {w}x{h}, median of {frames}"),
            custody: format!(
                "{} (p99 {})",
                us(percentile(&t, 50)),
                us(percentile(&t, 99))
            ),
            baseline: "none (absolute, noisy)".into(),
            ratio: String::new(),
            goal: String::new(),
            met: None,
        });
        say!(
            "one frame's render at {w}x{h} ({frames} frames): median {}, p99 {}",
            us(percentile(&t, 50)),
            us(percentile(&t, 99))
        );
    }
}
