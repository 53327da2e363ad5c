//! Every benchmark of custody, in one run that writes `BENCHMARKS.md`.
//!
//! `cargo bench` runs every group (`journal`, `hash`, `report`, `tui`, `size`) on the bench
//! profile and rewrites the generated blocks of `BENCHMARKS.md` (between `<!-- custody-bench:
//! ... -->` markers; the text around them is kept): a summary of every figure beside its
//! baseline measured in the same run, as a ratio, with the machine it ran on, then each group's
//! printed details. Options, after `--`:
//!
//! - group names (`cargo bench -- report tui`) run only those;
//! - `--quick` makes a fast pass with smaller inputs (to see that the benchmarks still work);
//! - `--out FILE` writes there instead.
//!
//! Only a full run of every group writes `BENCHMARKS.md` itself; a quick or partial run writes
//! `target/bench/BENCHMARKS-quick.md` or `target/bench/BENCHMARKS-partial.md` (from the
//! committed file's text), so that the committed figures always come from one whole run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Prints a line and keeps it for BENCHMARKS.md.
macro_rules! say {
    () => {
        $crate::support::say("")
    };
    ($($arg:tt)*) => {
        $crate::support::say(&format!($($arg)*))
    };
}

#[path = "../tests/common/mod.rs"]
mod common;
mod hash;
mod journal;
mod report;
mod size;
mod support;
mod tui;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use support::{Ticks, begin, replace_block};

/// The groups, in the order they run, with their headings in BENCHMARKS.md.
const GROUPS: [(&str, &str, fn()); 5] = [
    ("journal", "Journal: append, verify, resume", journal::main),
    ("hash", "Evidence hashing", hash::main),
    ("report", "Reports", report::main),
    ("tui", "Terminal interface", tui::main),
    ("size", "Binary size", size::main),
];

fn main() {
    if let Ok(job) = std::env::var(journal::CHILD_ENV) {
        journal::child(&job);
        return;
    }
    let mut quick = false;
    let mut out: Option<PathBuf> = None;
    let mut chosen = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            "--quick" => quick = true,
            "--out" => match args.next() {
                Some(path) => out = Some(PathBuf::from(path)),
                None => fail("`--out` needs a file name: `cargo bench -- --out FILE`"),
            },
            name if GROUPS.iter().any(|(g, _, _)| *g == name) => chosen.push(name.to_owned()),
            other => fail(&format!(
                "`{other}` is not a benchmark group or option. Groups: {}; options: --quick, \
                 --out FILE",
                GROUPS.map(|(g, _, _)| g).join(", ")
            )),
        }
    }
    let every = chosen.is_empty() || GROUPS.iter().all(|(g, _, _)| chosen.iter().any(|c| c == g));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = root.join("BENCHMARKS.md");
    let out = out.unwrap_or_else(|| match (quick, every) {
        (false, true) => committed.clone(),
        (true, _) => root.join("target/bench/BENCHMARKS-quick.md"),
        (false, false) => root.join("target/bench/BENCHMARKS-partial.md"),
    });
    let scratch = root.join("target/bench-tmp");
    std::fs::create_dir_all(&scratch).expect("create target/bench-tmp");

    let started_at = chrono::Utc::now();
    let (load_before, ticks, clock) = (support::load_average(), Ticks::now(), Instant::now());
    let mut details = Vec::new();
    for (name, heading, run) in GROUPS {
        if !(chosen.is_empty() || chosen.iter().any(|c| c == name)) {
            continue;
        }
        let group_start = Instant::now();
        let group_ticks = Ticks::now();
        support::take_text();
        run();
        let others = group_ticks.as_ref().and_then(Ticks::others_share);
        say!(
            "({name}: {:.1} s{})",
            group_start.elapsed().as_secs_f64(),
            others.map_or_else(String::new, |o| format!(
                "; other processes used {:.0}% of the machine's CPU time meanwhile",
                o * 100.0
            ))
        );
        say!();
        details.push((name, heading, support::take_text()));
    }
    let took = clock.elapsed();
    let others = ticks.as_ref().and_then(Ticks::others_share);

    let mut summary = String::new();
    let profile = if cfg!(debug_assertions) {
        "a debug build (figures not comparable)"
    } else {
        "the bench profile (release)"
    };
    let _ = write!(
        summary,
        "Measured {} by `cargo bench{}` on {profile}, commit {}, in {:.0} s. {}\n\n",
        started_at.format("%Y-%m-%d %H:%M UTC"),
        match (quick, every) {
            (true, _) => " -- --quick",
            (false, true) => "",
            (false, false) => " -- <some groups>",
        },
        support::commit(),
        took.as_secs_f64(),
        if every {
            String::new()
        } else {
            format!(
                "Only these groups ran: {}.",
                details
                    .iter()
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    summary.push_str(&support::machine(&scratch));
    let _ = write!(
        summary,
        "- Load average {load_before} at the start, {} at the end; other processes used {} of \
         the machine's CPU time during the run{}\n\n",
        support::load_average(),
        others.map_or_else(
            || "an unknown share".into(),
            |o| format!("{:.1}%", o * 100.0)
        ),
        if others.is_some_and(|o| o > 0.05) {
            " (more than 5%: the two-thread figures are not to be trusted; run it again on a \
             quiet machine)"
        } else {
            ""
        }
    );
    summary.push_str(&support::summary_table(&support::figures()));

    let template = std::fs::read_to_string(&out)
        .or_else(|_| std::fs::read_to_string(&committed))
        .unwrap_or_else(|_| "# Benchmarks\n".into());
    let mut doc = template;
    replace_block(&mut doc, "summary", "Summary", &summary);
    for (name, heading, text) in &details {
        let body = format!("```text\n{}\n```", text.trim_end());
        replace_block(&mut doc, name, heading, &body);
    }
    // Each block once, so that the next run finds them again.
    for name in std::iter::once("summary").chain(details.iter().map(|(n, _, _)| *n)) {
        assert_eq!(
            doc.matches(&begin(name)).count(),
            1,
            "BENCHMARKS.md must hold the block `{name}` once"
        );
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("create the output folder");
    }
    let tmp = out.with_extension("md.new");
    std::fs::write(&tmp, &doc).expect("write the benchmarks file");
    std::fs::rename(&tmp, &out).expect("rename the benchmarks file");
    println!("wrote {}", out.display());
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}
