//! Evidence hashing benchmarks (issue 6). Each custody figure is printed beside baselines
//! measured in the same run, on the same files, with the page cache warm:
//!
//! 1. **One large file** (1 GiB of pseudo-random bytes): `custody::evidence::hash::run` with
//!    its output made as `custody hash` makes it (the `SHA256SUMS` lines), against `openssl dgst
//!    -sha256` and `sha256sum` on the same file, and a plain loop (1 MiB reads, then `sha2`, one
//!    thread) for reference. Goal: at least 0.95x openssl's throughput.
//! 2. **Many small files** (10,000 files of 4 KiB in 10 folders): custody with one thread per
//!    core, and with one thread, against `openssl dgst -sha256` and `sha256sum` given all the
//!    files as arguments (through `xargs`, one process unless the list is too long). Goal: at
//!    least 1.7x openssl's throughput on 2 cores.
//!
//! The custody rows run without the counting walk (`count_totals: false`), which only a
//! progress display needs (the totals for time left); one more row in 2. runs with it, as a
//! run with a progress bar does, to show what it costs.
//!
//! The methods take turns in every round (custody, openssl, ..., then again), so that a shared
//! machine's noise falls on all of them; the table gives the median of the rounds. Process
//! rows include starting the process (a few ms). Below each table, the share of the machine's
//! CPU time that other processes took during the rounds: past 10%, one thread per core did not
//! get its cores (on 2 cores, one busy process takes half), and the figures are marked as not
//! to be trusted.
//!
//! Run it with `cargo bench -- hash` (about a minute on 2 cores), or `cargo bench -- hash
//! --quick` for a fast pass (a 256 MiB file, 2,000 small files, 3 rounds). Files go to
//! `$CUSTODY_BENCH_DIR` if set, else to `$CARGO_TARGET_DIR/bench-tmp` or `target/bench-tmp`, and
//! are removed at the end unless `CUSTODY_BENCH_KEEP` is set. MB are 10^6 bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Byte counts and durations become f64 only to be printed.
#![allow(clippy::cast_precision_loss)]

use crate::support;
use std::fs::File;
use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use custody::evidence::hash::{self, Options, Progress};
use sha2::{Digest as _, Sha256};

#[derive(Debug)]
struct Config {
    quick: bool,
    big_bytes: u64,
    small_files: usize,
    small_size: usize,
    rounds: usize,
}

impl Config {
    fn from_args() -> Self {
        // `cargo bench` passes `--bench`; anything but `--quick` is ignored.
        let quick = std::env::args().skip(1).any(|a| a == "--quick");
        Self {
            quick,
            big_bytes: if quick { 256 << 20 } else { 1 << 30 },
            small_files: if quick { 2_000 } else { 10_000 },
            small_size: 4096,
            rounds: if quick { 3 } else { 5 },
        }
    }
}

pub fn main() {
    let config = Config::from_args();
    let dir = scratch_dir();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let sha_ni = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .contains(" sha_ni");
    say!(
        "custody hash benchmark ({}; {cores} cores; SHA-NI {}; load average {})",
        if config.quick { "--quick" } else { "full run" },
        if sha_ni { "yes" } else { "no" },
        support::load_average()
    );
    say!("openssl: {}", support::tool_version("openssl", "version"));
    say!(
        "sha256sum: {}",
        support::tool_version("sha256sum", "--version")
    );
    say!("scratch: {}", dir.display());
    say!();
    let total = Instant::now();
    bench_big(&dir, &config);
    bench_small(&dir, &config);
    say!(
        "total time {:.1} s; load average at the end {}",
        total.elapsed().as_secs_f64(),
        support::load_average()
    );
    if std::env::var_os("CUSTODY_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

fn scratch_dir() -> PathBuf {
    let base = std::env::var_os("CUSTODY_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("bench-tmp"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp"));
    let dir = base.join(format!("hash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir.canonicalize().unwrap_or(dir)
}

/// Pseudo-random bytes (xorshift), fast to make and not compressible.
fn fill(buf: &mut [u8], seed: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let bytes = seed.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// A method measured in rounds.
struct Method {
    label: &'static str,
    run: Box<dyn Fn() -> String>,
    samples: Vec<Duration>,
}

impl Method {
    fn new(label: &'static str, run: impl Fn() -> String + 'static) -> Self {
        Self {
            label,
            run: Box::new(run),
            samples: Vec::new(),
        }
    }
}

/// Runs every method once per round, in turns, checking each gives `expected` (a digest, or a
/// count), and prints the table with throughput against the method named `baseline`.
/// What a table's summary figure is: its row, its name in the summary, and the goal.
struct Goal<'a> {
    what: &'a str,
    custody: &'a str,
    text: &'a str,
    at_least: f64,
}

fn measure(methods: &mut [Method], rounds: usize, bytes: u64, baseline: &str, goal: &Goal) {
    // One untimed pass warms the page cache (and checks every method's answer).
    let answers: Vec<String> = methods.iter().map(|m| (m.run)()).collect();
    for (m, a) in methods.iter().zip(&answers) {
        say!("  check: {:<44} {a}", m.label);
    }
    let before = support::Ticks::now();
    for round in 0..rounds {
        // Alternate the order each round.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..methods.len()).collect()
        } else {
            (0..methods.len()).rev().collect()
        };
        for i in order {
            let start = Instant::now();
            let answer = (methods[i].run)();
            methods[i].samples.push(start.elapsed());
            assert_eq!(
                answer, answers[i],
                "{} gave another answer",
                methods[i].label
            );
        }
    }
    let base = methods
        .iter()
        .find(|m| m.label == baseline)
        .map(|m| mb_per_s(bytes, median(&m.samples)))
        .unwrap();
    say!();
    say!("| method | median | best | MB/s (median) | vs {baseline} |");
    say!("|---|---:|---:|---:|---:|");
    for m in methods.iter() {
        let med = median(&m.samples);
        let best = m.samples.iter().min().copied().unwrap();
        let rate = mb_per_s(bytes, med);
        say!(
            "| {} | {:.3} s | {:.3} s | {rate:.0} | {:.2}x |",
            m.label,
            med.as_secs_f64(),
            best.as_secs_f64(),
            rate / base
        );
    }
    say!();
    say!("goal: {}", goal.text);
    let rate_of = |label: &str| {
        methods
            .iter()
            .find(|m| m.label == label)
            .map(|m| (median(&m.samples), mb_per_s(bytes, median(&m.samples))))
            .unwrap()
    };
    let (c_time, c_rate) = rate_of(goal.custody);
    let baselines: Vec<String> = methods
        .iter()
        .filter(|m| !m.label.starts_with("custody") && !m.label.starts_with("reference"))
        .map(|m| {
            let t = median(&m.samples);
            format!("`{}`: {:.3} s", m.label, t.as_secs_f64())
        })
        .collect();
    support::figure(support::Figure {
        what: goal.what.to_owned(),
        custody: format!("{:.3} s ({c_rate:.0} MB/s)", c_time.as_secs_f64()),
        baseline: baselines.join("; "),
        ratio: format!("{:.2}x openssl's speed", c_rate / base),
        goal: format!("≥ {:.2}x", goal.at_least),
        met: Some(c_rate / base >= goal.at_least),
    });
    if let Some(others) = before.as_ref().and_then(support::Ticks::others_share) {
        say!(
            "other processes used {:.0}% of the machine's CPU time during the rounds{}",
            others * 100.0,
            if others > 0.1 {
                ": these figures are not to be trusted (threads were short of cores); run it \
                 again on a quiet machine"
            } else {
                ""
            }
        );
    }
    say!();
}

/// custody's engine over `paths`, as `custody hash` runs it: the SHA-256 of its SHA256SUMS
/// output, so that every digest is checked between rounds. `count_totals`: with the counting
/// walk (for a progress display's time left).
fn custody_run(paths: &[PathBuf], threads: usize, count_totals: bool) -> String {
    let mut sums = Sha256::new();
    let mut files = 0u64;
    let finished = hash::run(
        paths,
        &Options {
            threads,
            count_totals,
            ..Options::default()
        },
        &Progress::new(),
        &AtomicBool::new(false),
        |entry| {
            if let Some(line) = custody::evidence::manifest::sums_line(&entry) {
                sums.update(&line);
                files += 1;
            }
            assert!(entry.error.is_none(), "{entry:?}");
            Ok(())
        },
    )
    .unwrap();
    assert!(!finished.cancelled);
    format!("{files} files, output sha256 {}", hex(&sums.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A shell command's standard output, hashed (the digests it printed), with the line count.
fn tool_run(script: &str, cwd: &Path) -> String {
    let out = Command::new("sh")
        .args(["-c", script])
        .current_dir(cwd)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script} failed");
    // Only the digests, so that the answer does not depend on the tool's line format.
    let mut digests: Vec<&[u8]> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(|b| *b == b' ' || *b == b'=')
                .find(|w| w.len() == 64)
                .unwrap_or(l)
        })
        .collect();
    digests.sort_unstable();
    let mut h = Sha256::new();
    for d in &digests {
        h.update(d);
    }
    format!(
        "{} digests, sha256 of them {}",
        digests.len(),
        &hex(&h.finalize())[..16]
    )
}

// ---------------------------------------------------------------------------------------------
// 1. One large file

fn bench_big(dir: &Path, config: &Config) {
    let path = dir.join("big.bin");
    let made = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).unwrap());
        let mut buf = vec![0u8; 1 << 20];
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let mut left = config.big_bytes;
        while left > 0 {
            fill(&mut buf, &mut seed);
            let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
            out.write_all(&buf[..n]).unwrap();
            left -= n as u64;
        }
        out.flush().unwrap();
    }
    say!(
        "1. one file of {} MiB (made in {:.1} s), page cache warm, {} rounds",
        config.big_bytes >> 20,
        made.elapsed().as_secs_f64(),
        config.rounds
    );
    let quoted = path.display().to_string();
    let mut methods = vec![
        Method::new("custody engine (hash::run)", {
            let path = path.clone();
            move || custody_run(std::slice::from_ref(&path), 0, false)
        }),
        Method::new("openssl dgst -sha256", {
            let (q, d) = (quoted.clone(), dir.to_owned());
            move || tool_run(&format!("openssl dgst -sha256 '{q}'"), &d)
        }),
        Method::new("sha256sum", {
            let (q, d) = (quoted.clone(), dir.to_owned());
            move || tool_run(&format!("sha256sum '{q}'"), &d)
        }),
        Method::new("reference: read 1 MiB, then sha2, one thread", {
            let path = path.clone();
            move || {
                let mut file = File::open(&path).unwrap();
                let mut buf = vec![0u8; 1 << 20];
                let mut h = Sha256::new();
                loop {
                    let n = file.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                format!("digest {}", hex(&h.finalize()))
            }
        }),
    ];
    measure(
        &mut methods,
        config.rounds,
        config.big_bytes,
        "openssl dgst -sha256",
        &Goal {
            what: &format!("Hash one {} MiB file (SHA-256)", config.big_bytes >> 20),
            custody: "custody engine (hash::run)",
            text: "custody engine at least 0.95x openssl's throughput",
            at_least: 0.95,
        },
    );
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------------------------------------
// 2. Many small files

fn bench_small(dir: &Path, config: &Config) {
    let root = dir.join("small");
    let made = Instant::now();
    let mut seed = 0x2545_f491_4f6c_dd1d;
    let mut buf = vec![0u8; config.small_size];
    for i in 0..config.small_files {
        let sub = root.join(format!("d{}", i % 10));
        if i < 10 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        fill(&mut buf, &mut seed);
        std::fs::write(sub.join(format!("f{i:05}")), &buf).unwrap();
    }
    let bytes = (config.small_files * config.small_size) as u64;
    say!(
        "2. {} files of {} KiB in 10 folders (made in {:.1} s), page cache warm, {} rounds",
        config.small_files,
        config.small_size / 1024,
        made.elapsed().as_secs_f64(),
        config.rounds
    );
    let mut methods = vec![
        Method::new("custody engine, one thread per core", {
            let root = root.clone();
            move || custody_run(std::slice::from_ref(&root), 0, false)
        }),
        Method::new("custody engine, one thread per core, counting walk", {
            let root = root.clone();
            move || custody_run(std::slice::from_ref(&root), 0, true)
        }),
        Method::new("custody engine, one thread", {
            let root = root.clone();
            move || custody_run(std::slice::from_ref(&root), 1, false)
        }),
        Method::new("openssl dgst -sha256 (xargs)", {
            let d = root.clone();
            move || tool_run("find . -type f -print0 | xargs -0 openssl dgst -sha256", &d)
        }),
        Method::new("sha256sum (xargs)", {
            let d = root.clone();
            move || tool_run("find . -type f -print0 | xargs -0 sha256sum", &d)
        }),
    ];
    measure(
        &mut methods,
        config.rounds,
        bytes,
        "openssl dgst -sha256 (xargs)",
        &Goal {
            what: &format!(
                "Hash {} files of {} KiB (SHA-256, a thread per core)",
                support::thousands(config.small_files as u64),
                config.small_size / 1024
            ),
            custody: "custody engine, one thread per core",
            text: "custody engine (one thread per core) at least 1.7x openssl's throughput on 2 cores",
            at_least: 1.7,
        },
    );
}
