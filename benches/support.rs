//! What the benchmark groups share: the figures they record, the text they print (kept for
//! BENCHMARKS.md), the machine they ran on, and writing BENCHMARKS.md.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// One figure of the summary table: custody's number beside its same-run baseline.
#[derive(Debug, Clone)]
pub struct Figure {
    pub what: String,
    pub custody: String,
    /// What the baseline is and its number, or "none".
    pub baseline: String,
    /// custody against the baseline, as the goal reads it ("1.03x"), or empty.
    pub ratio: String,
    pub goal: String,
    /// Whether the goal was met; `None` where there is no goal to meet (stated figures).
    pub met: Option<bool>,
}

static FIGURES: Mutex<Vec<Figure>> = Mutex::new(Vec::new());
static TEXT: Mutex<String> = Mutex::new(String::new());

/// Records a figure for the summary table.
pub fn figure(figure: Figure) {
    FIGURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(figure);
}

pub fn figures() -> Vec<Figure> {
    FIGURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Prints a line and keeps it for the group's details in BENCHMARKS.md (see `say!`).
pub fn say(line: &str) {
    println!("{line}");
    let mut text = TEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    text.push_str(line);
    text.push('\n');
}

/// The text printed since the last call.
pub fn take_text() -> String {
    std::mem::take(
        &mut *TEXT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// "1.03x", the ratio of two durations.
pub fn ratio(custody: Duration, baseline: Duration) -> String {
    format!("{:.2}x", custody.as_secs_f64() / baseline.as_secs_f64())
}

/// 100000 as "100,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The machine

/// CPU time (clock ticks) of the whole machine and of this process with its waited-for
/// children, to tell how much other processes took meanwhile: on 2 cores, a benchmark with two
/// threads is only as fast as the cores left to it.
#[derive(Debug, Clone, Copy)]
pub struct Ticks {
    busy: u64,
    total: u64,
    own: u64,
}

impl Ticks {
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is within user).
        let total: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3)? + cpu.get(4)?;
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // After the command name in parentheses: utime, stime, cutime, cstime are fields
        // 14 to 17 of the line, 12 to 15 after it.
        let after_name = own_stat.rsplit_once(") ")?.1;
        let own = after_name
            .split_whitespace()
            .skip(11)
            .take(4)
            .map(|n| n.parse::<u64>().unwrap_or(0))
            .sum();
        Some(Self {
            busy: total - idle,
            total,
            own,
        })
    }

    /// The share of the machine's CPU time that other processes used since `self`.
    pub fn others_share(&self) -> Option<f64> {
        let (before, after) = (self, Self::now()?);
        let total = after.total.checked_sub(before.total)?;
        let busy = after.busy.saturating_sub(before.busy);
        let own = after.own.saturating_sub(before.own);
        (total > 0).then(|| busy.saturating_sub(own) as f64 / total as f64)
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first line a tool prints for `arg`, or "not found".
pub fn tool_version(tool: &str, arg: &str) -> String {
    Command::new(tool)
        .arg(arg)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "not found".into())
}

/// The machine, as one Markdown list.
pub fn machine(scratch: &Path) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let sha_ni = cpuinfo.contains(" sha_ni");
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- CPU: {model}, {cores} cores available to the run, SHA extensions {}",
        if sha_ni { "yes" } else { "no" }
    );
    let _ = writeln!(out, "- Memory: {memory}; Linux {kernel}");
    let _ = writeln!(
        out,
        "- Scratch files on {} ({})",
        scratch.display(),
        file_system(scratch)
    );
    let _ = writeln!(
        out,
        "- Tools: {}; {}; {}",
        tool_version("rustc", "-V"),
        tool_version("openssl", "version"),
        tool_version("sha256sum", "--version")
    );
    out
}

/// The type and device of the file system holding `path` (from `/proc/self/mountinfo`).
pub fn file_system(path: &Path) -> String {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return "unknown".into();
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    // Fields: id parent major:minor root mount-point options ... - fstype source options.
    let mut best: Option<(usize, String)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(mount), Some(dash)) = (fields.get(4), fields.iter().position(|f| *f == "-"))
        else {
            continue;
        };
        if !path.starts_with(mount) {
            continue;
        }
        let fs_type = fields.get(dash + 1).copied().unwrap_or("?");
        let source = fields.get(dash + 2).copied().unwrap_or("?");
        if best.as_ref().is_none_or(|(len, _)| mount.len() >= *len) {
            best = Some((mount.len(), format!("{fs_type} on {source}")));
        }
    }
    best.map_or_else(|| "unknown".into(), |(_, fs)| fs)
}

/// The commit measured, with "+ uncommitted changes" when the code built differs from it.
pub fn commit() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        None => "unknown (not a git checkout)".into(),
        // Only what is built counts: notes in README.md or BENCHMARKS.md change no figure.
        Some(hash) => match run(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "src",
            "benches",
            "tests/common",
            "runbooks",
            "Cargo.toml",
            "Cargo.lock",
        ]) {
            Some(changes) if !changes.is_empty() => {
                format!("{hash} + uncommitted changes to the code")
            }
            _ => hash,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md

/// Where a generated block begins; it ends at the next [`END`].
pub fn begin(name: &str) -> String {
    format!("<!-- custody-bench: {name} (written by `cargo bench`; edits inside are lost) -->")
}
pub const END: &str = "<!-- custody-bench: end -->";

/// Replaces the generated block `name` in `doc` by `body`, or appends it under `heading` when
/// the document has none.
pub fn replace_block(doc: &mut String, name: &str, heading: &str, body: &str) {
    let begin = begin(name);
    let block = format!("{begin}\n{}\n{END}", body.trim_end());
    if let Some(start) = doc.find(&begin)
        && let Some(len) = doc[start..].find(END)
    {
        doc.replace_range(start..start + len + END.len(), &block);
        return;
    }
    if !doc.ends_with('\n') && !doc.is_empty() {
        doc.push('\n');
    }
    let _ = write!(doc, "\n## {heading}\n\n{block}\n");
}

/// The summary table of this run's figures.
pub fn summary_table(figures: &[Figure]) -> String {
    let mut out = String::from(
        "| Figure | custody | Baseline, same run | Ratio | Goal | Result |\n\
         |---|---|---|---|---|---|\n",
    );
    for f in figures {
        let result = match f.met {
            _ if cfg!(debug_assertions) => "not judged (debug build)",
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "stated",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {result} |",
            f.what, f.custody, f.baseline, f.ratio, f.goal
        );
    }
    out
}
