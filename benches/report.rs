//! Report benchmark (issue 5): rendering the report of a 500- and a 10,000-event session in each
//! format,
//! beside the time to verify the same journal, measured in the same run.
//!
//! The session is the flagship runbook walked to the end by the tests' autopilot (decisions,
//! records, commands, evidence, contacts, a custody transfer), then padded with notes to the
//! size measured and sealed. Each figure is the median of several runs:
//!
//! - **verify**: `journal::verify` of the session (the baseline);
//! - **load**: `report::load` (verify, read every event, parse the runbook copy);
//! - **build**: the report model from the loaded events;
//! - **md / html / json / pdf**: rendering the model in one format;
//! - **all formats**: load, build and render every format, as `custody report --format all`
//!   does. Goal: under 1 s.
//!
//! Run it with `cargo bench -- report` (a few minutes), or `-- report --quick` for a fast pass;
//! `CUSTODY_BENCH_OUT=/some/dir` keeps the reports measured, to look at them.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::cast_precision_loss)]

use crate::{common, support};

use std::path::Path;
use std::time::{Duration, Instant};

use custody::journal::event::Mode;
use custody::report::{self, Format};
use custody::session::{Action, Session};

/// The sessions measured: about the size of a long real night, and the stress case.
const SIZES: [u64; 2] = [500, 10_000];
/// The same for `--quick`, which also runs on debug builds (CI), where typesetting is slow.
const QUICK_SIZES: [u64; 2] = [200, 1_000];

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed());
        last = Some(out);
    }
    (median(times), last.unwrap())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A sealed flagship session of `events` events under `dir`.
fn session(dir: &Path, events: u64) -> std::path::PathBuf {
    let clock = common::clock();
    let mut start = common::start("csam-discovery", Mode::Real);
    start
        .variables
        .insert("evidence_path".into(), "/srv/www/customer-1042".into());
    let mut session = Session::create(dir, &start, &clock).unwrap();
    common::walk(&mut session, &clock, 0);
    let mut n = session.state().events;
    while n < events - 1 {
        clock.advance(chrono::Duration::seconds(9));
        session
            .apply(Action::Note {
                text: format!(
                    "Note {n}: checked the console again; nothing changed since the last note. \
                     The witness confirms."
                ),
            })
            .unwrap();
        n += 1;
    }
    session.seal(None, None).unwrap();
    session.folder().to_path_buf()
}

pub fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (runs, sizes) = if quick { (1, QUICK_SIZES) } else { (11, SIZES) };
    // `CUSTODY_BENCH_OUT=/some/dir` keeps the reports, to look at them.
    let out_dir = std::env::var_os("CUSTODY_BENCH_OUT").map(std::path::PathBuf::from);
    for events in sizes {
        measure(
            events,
            runs,
            out_dir.as_deref(),
            events == sizes[sizes.len() - 1],
        );
        say!();
    }
}

fn measure(events: u64, runs: usize, out_dir: Option<&Path>, summary: bool) {
    let dir = common::temp_dir("bench-report");
    let folder = session(&dir, events);
    let bytes = std::fs::metadata(folder.join("journal.jsonl"))
        .unwrap()
        .len();

    let (verify, v) = time(runs, || {
        custody::journal::verify(&folder, None, None).unwrap()
    });
    assert_eq!(v.events, events);
    let (load, input) = time(runs, || report::load(&folder).unwrap());
    let (build, model) = time(runs, || input.report().unwrap());
    let formats: Vec<Format> = Format::ALL.into_iter().filter(|f| f.available()).collect();
    let mut per_format = Vec::new();
    for &format in &formats {
        let (t, out) = time(runs, || report::render(&model, format).unwrap());
        if let Some(out_dir) = out_dir {
            std::fs::create_dir_all(out_dir).unwrap();
            let name = format!("report-{events}.{}", format.extension());
            std::fs::write(out_dir.join(name), &out).unwrap();
        }
        per_format.push((format, t, out.len()));
    }
    let (all, _) = time(runs, || {
        let input = report::load(&folder).unwrap();
        let model = input.report().unwrap();
        formats
            .iter()
            .map(|&f| report::render(&model, f).unwrap().len())
            .sum::<usize>()
    });
    let (text_formats, _) = time(runs, || {
        let input = report::load(&folder).unwrap();
        let model = input.report().unwrap();
        formats
            .iter()
            .filter(|&&f| f != Format::Pdf)
            .map(|&f| report::render(&model, f).unwrap().len())
            .sum::<usize>()
    });

    say!(
        "report of a {events}-event session ({:.1} MB journal), median of {runs} runs",
        bytes as f64 / 1e6
    );
    say!("| what | time | vs verify |");
    say!("|---|---|---|");
    let ratio = |t: Duration| format!("{:.2}x", t.as_secs_f64() / verify.as_secs_f64());
    say!("| verify (baseline) | {} | 1.00x |", ms(verify));
    say!(
        "| load (verify + read + runbook) | {} | {} |",
        ms(load),
        ratio(load)
    );
    say!("| build the model | {} | {} |", ms(build), ratio(build));
    for (format, t, size) in &per_format {
        say!(
            "| render {format} ({:.1} MB) | {} | {} |",
            *size as f64 / 1e6,
            ms(*t),
            ratio(*t)
        );
    }
    say!(
        "| md + html + json, from the folder | {} | {} |",
        ms(text_formats),
        ratio(text_formats)
    );
    say!(
        "| all formats, from the folder | {} | {} |",
        ms(all),
        ratio(all)
    );
    say!(
        "goal: all formats under 1 s: {}",
        if all < Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
    if summary {
        let n = support::thousands(events);
        let verify_text = format!("verify: {}", ms(verify));
        for (format, t, size) in &per_format {
            support::figure(support::Figure {
                what: format!(
                    "Report of {n} events: {format} ({:.1} MB)",
                    *size as f64 / 1e6
                ),
                custody: ms(*t),
                baseline: verify_text.clone(),
                ratio: support::ratio(*t, verify),
                goal: String::new(),
                met: None,
            });
        }
        support::figure(support::Figure {
            what: format!("Report of {n} events: all formats, from the folder"),
            custody: ms(all),
            baseline: verify_text,
            ratio: support::ratio(all, verify),
            goal: "under 1 s".into(),
            met: Some(all < Duration::from_secs(1)),
        });
    }
    if !formats.contains(&Format::Pdf) {
        say!("(built without the `pdf` feature: no PDF figure)");
    }
    std::fs::remove_dir_all(&dir).ok();
}
