//! Journal benchmarks (issue 3). Each custody number is printed beside a baseline measured in
//! the same run, on the same file system:
//!
//! 1. **Append latency**: median and p99 of [`Writer::append`] (one `write` and one `fdatasync`
//!    per event) against a raw loop that writes a line of the same size to a file opened with
//!    `O_APPEND` and calls `File::sync_data`. The two take turns, one append each (the order
//!    flipped every round), so that a shared disk's stalls, which come in bursts, fall on both. Goal: custody within 1.2x of raw.
//! 2. **Verify throughput**: `custody::journal::verify` of a valid ~100 MB journal against plain
//!    SHA-256 of the same file (64 KiB reads, page cache warm), best of 3 runs each, with
//!    reference rows that show where the time goes: hashing line by line, decoding every event
//!    (from memory), the one-thread [`Scanner`] and the two-thread [`ReadAhead`] that verify
//!    uses. Goal: verify within 2x of SHA-256. Each row also gives the CPU time used (all
//!    threads, and the calling thread's) and how long the calling thread waited for a CPU, and
//!    the table says how busy other processes kept the machine: a two-thread row can only be as
//!    fast as the cores left to it.
//! 3. **Resume**: `Session::open` of a 100,000-event session (built through
//!    `Session::create` and `Session::apply`) against `journal::verify` of the same session and
//!    a child only reading the journal line by line, each in a fresh process (this binary run
//!    again), taking turns: the time (median) and the peak memory (`VmHWM`, highest).
//!    Goals: within 1.5x of verify's time, under 30 MB.
//!
//! Run it with `cargo bench -- journal` (about a minute on 2 cores), or `cargo bench -- journal
//! --quick` for a fast pass (fewer appends, a 10 MB journal, a 10,000-event session).
//! Files go to `$CUSTODY_BENCH_DIR` if set (to measure another file system), else to
//! `$CARGO_TARGET_DIR/bench-tmp` or `target/bench-tmp`, and are removed at the end unless
//! `CUSTODY_BENCH_KEEP` is set. `CUSTODY_BENCH_APPENDS` overrides the number of appends.
//! MB are 10^6 bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Byte counts and durations become f64 only to be printed.
#![allow(clippy::cast_precision_loss)]

use crate::{common, support};

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone as _, Utc};
use custody::journal::event::{
    Body, ClockState, Mode, NoteAdded, RunbookRef, SessionStarted, Tool,
};
use custody::journal::event::{check_line_hash, decode_checked_line};
use custody::journal::reader::{ReadAhead, Scanner};
use custody::journal::writer::Writer;
use custody::journal::{Actor, Digest, Draft, Role};
use custody::session::{Action, Session};
use sha2::{Digest as _, Sha256};

/// Set in the child process: `replay:<session folder>` or `lines:<journal file>`.
pub const CHILD_ENV: &str = "CUSTODY_BENCH_CHILD";
/// The bundled runbook the sessions follow.
const RUNBOOK: &str = "hotline-notice";

#[derive(Debug)]
struct Config {
    quick: bool,
    /// Appends per method, over all rounds.
    appends: usize,
    rounds: usize,
    verify_bytes: u64,
    verify_runs: usize,
    replay_events: u64,
    replay_runs: usize,
}

impl Config {
    fn from_args() -> Self {
        // `cargo bench` passes `--bench`; anything but `--quick` is ignored.
        let quick = std::env::args().skip(1).any(|a| a == "--quick");
        let appends = std::env::var("CUSTODY_BENCH_APPENDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(if quick { 400 } else { 2000 })
            .max(1);
        Self {
            quick,
            appends,
            rounds: appends.min(if quick { 2 } else { 6 }),
            verify_bytes: if quick { 10_000_000 } else { 100_000_000 },
            verify_runs: 3,
            replay_events: if quick { 10_000 } else { 100_000 },
            replay_runs: if quick { 2 } else { 5 },
        }
    }
}

pub fn main() {
    let config = Config::from_args();
    let dir = scratch_dir();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    say!(
        "custody journal benchmark ({}; {cores} cores)",
        if config.quick { "--quick" } else { "full run" }
    );
    say!(
        "scratch: {} ({})",
        dir.display(),
        support::file_system(&dir)
    );
    say!();
    let total = Instant::now();
    bench_append(&dir, &config);
    bench_verify(&dir, &config);
    bench_replay(&dir, &config);
    say!("total time {:.1} s", total.elapsed().as_secs_f64());
    if std::env::var_os("CUSTODY_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// A fresh folder for this run's files.
fn scratch_dir() -> PathBuf {
    let base = std::env::var_os("CUSTODY_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("bench-tmp"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp"));
    let dir = base.join(format!("journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir.canonicalize().unwrap_or(dir)
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 2)
        .single()
        .unwrap()
}

fn offset() -> FixedOffset {
    FixedOffset::east_opt(3600).unwrap()
}

/// Note text of exactly `len` bytes, different for each `i`, as an operator might write it.
fn note_text(i: u64, len: usize) -> String {
    let mut text = format!(
        "Observation {i}: outbound connection from 10.0.{}.{} to 203.0.113.{} on port 443 \
         seen in the proxy log; screenshot taken, host left running as the runbook says. ",
        i % 250,
        (i / 250) % 250,
        i % 199
    );
    while text.len() < len {
        text.push_str("Nothing else changed on the host. ");
    }
    text.truncate(len);
    text
}

fn note(time: DateTime<Utc>, text: String) -> Draft {
    Draft {
        time,
        offset: offset(),
        actor: Actor::person(Role::Operator, "A. Jansen"),
        step: Some("assess".into()),
        body: Body::NoteAdded(NoteAdded { text }),
    }
}

/// A `session_started` draft for the bundled runbook, whose copy is `runbook_text`.
fn started(time: DateTime<Utc>, runbook_text: &str) -> Draft {
    let (_, runbook) = custody::runbook::bundled::find(RUNBOOK).unwrap();
    let started = SessionStarted {
        format: custody::journal::event::JOURNAL_FORMAT,
        session: "20261123T091502Z-hotline-notice-be9c".into(),
        tool: Tool::this(),
        runbook: RunbookRef {
            id: runbook.id,
            version: runbook.version,
            title: runbook.title,
            language: runbook.language,
            file: "runbook.toml".into(),
            sha256: Digest::of(runbook_text.as_bytes()),
        },
        host: "bench-host".into(),
        operator: "A. Jansen".into(),
        witness: Some("B. de Vries".into()),
        facilitator: None,
        case_id: "CASE-2026-0042".into(),
        jurisdiction: "NL".into(),
        mode: Mode::Real,
        timezone: Some("Europe/Amsterdam".into()),
        clock: ClockState::unknown(),
        variables: BTreeMap::new(),
        scenario: None,
        participants: Vec::new(),
    };
    Draft {
        time,
        offset: offset(),
        actor: Actor::person(Role::Operator, "A. Jansen"),
        step: None,
        body: Body::SessionStarted(Box::new(started)),
    }
}

fn open_append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open a file for appending")
}

/// The `pct`-th percentile by nearest rank of sorted samples.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    percentile(&sorted, 50)
}

fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1e-3 {
        format!("{:.1} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    mb(bytes) / d.as_secs_f64()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// 1. Append latency

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Raw,
    Custody,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Method::Raw => "raw write+fdatasync",
            Method::Custody => "custody Writer::append",
        }
    }
}

/// Median and p99 of samples (sorted here).
fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    (percentile(samples, 50), percentile(samples, 99))
}

fn bench_append(dir: &Path, config: &Config) {
    const TEXT_LEN: usize = 200;
    const WARM_UP: usize = 20;
    let folder = dir.join("append");
    std::fs::create_dir_all(&folder).unwrap();
    // The custody journal is a valid one: it begins with `session_started` (not timed).
    let mut writer = Writer::new(
        open_append(&folder.join("journal.jsonl")),
        0,
        0,
        Digest::ZERO,
    );
    writer.append(started(Utc::now(), "")).unwrap();
    // A raw line as long as a typical custody line (seq in the thousands).
    let (sample, _) = note(Utc::now(), note_text(1000, TEXT_LEN))
        .seal(1000, Digest::ZERO)
        .unwrap();
    let mut raw_line = vec![b'x'; sample.len() - 1];
    raw_line.push(b'\n');
    let mut raw = open_append(&folder.join("raw.jsonl"));

    let mut i = 0u64;
    let mut once = |method: Method| -> Duration {
        i += 1;
        match method {
            Method::Raw => {
                let start = Instant::now();
                let n = raw.write(&raw_line).unwrap();
                raw.sync_data().unwrap();
                let took = start.elapsed();
                assert_eq!(n, raw_line.len(), "a short write");
                took
            }
            Method::Custody => {
                let draft = note(Utc::now(), note_text(i, TEXT_LEN));
                let start = Instant::now();
                writer.append(draft).unwrap();
                start.elapsed()
            }
        }
    };
    for _ in 0..WARM_UP {
        once(Method::Raw);
        once(Method::Custody);
    }
    // The appends are shared out over the rounds, the first rounds taking any remainder.
    let in_round = |round: usize| {
        config.appends / config.rounds + usize::from(round < config.appends % config.rounds)
    };
    let mut all: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut rows = Vec::new();
    for round in 0..config.rounds {
        let order = if round % 2 == 0 {
            [Method::Raw, Method::Custody]
        } else {
            [Method::Custody, Method::Raw]
        };
        // One append of each in turn, so that the disk's stalls, which come in bursts, fall
        // on both methods alike.
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..in_round(round) {
            for (k, method) in order.into_iter().enumerate() {
                samples[k].push(once(method));
            }
        }
        let mut medians = BTreeMap::new();
        for (method, mut samples) in order.into_iter().zip(samples) {
            all.entry(method.label())
                .or_default()
                .extend_from_slice(&samples);
            medians.insert(method.label(), stats(&mut samples));
        }
        rows.push(medians);
    }

    say!(
        "append: {} events per method in {} rounds, one of each in turn (A, B, A, B ... then \
         B, A ...), {}-byte note_added lines",
        config.appends,
        config.rounds,
        sample.len()
    );
    say!("{:<41}{:>12}{:>12}", "", "median", "p99");
    for (round, medians) in rows.iter().enumerate() {
        let (raw_med, raw_p99) = medians[Method::Raw.label()];
        let (c_med, c_p99) = medians[Method::Custody.label()];
        say!(
            "  round {:<2} {:<30}{:>12}{:>12}",
            round + 1,
            Method::Raw.label(),
            fmt_duration(raw_med),
            fmt_duration(raw_p99)
        );
        say!(
            "  round {:<2} {:<30}{:>12}{:>12}   ({:.2}x raw)",
            round + 1,
            Method::Custody.label(),
            fmt_duration(c_med),
            fmt_duration(c_p99),
            ratio(c_med, raw_med)
        );
    }
    let (raw_med, raw_p99) = stats(all.get_mut(Method::Raw.label()).unwrap());
    let (c_med, c_p99) = stats(all.get_mut(Method::Custody.label()).unwrap());
    say!(
        "  overall  {:<30}{:>12}{:>12}",
        Method::Raw.label(),
        fmt_duration(raw_med),
        fmt_duration(raw_p99)
    );
    say!(
        "  overall  {:<30}{:>12}{:>12}   ({:.2}x raw median, {:.2}x p99; goal <= 1.2x)",
        Method::Custody.label(),
        fmt_duration(c_med),
        fmt_duration(c_p99),
        ratio(c_med, raw_med),
        ratio(c_p99, raw_p99)
    );
    for (what, c, raw) in [("median", c_med, raw_med), ("p99", c_p99, raw_p99)] {
        support::figure(support::Figure {
            what: format!("Journal append (`Writer::append`), {what}"),
            custody: fmt_duration(c),
            baseline: format!("write + fdatasync, same file system: {}", fmt_duration(raw)),
            ratio: support::ratio(c, raw),
            goal: "≤ 1.2x".into(),
            met: Some(ratio(c, raw) <= 1.2),
        });
    }
    // Where custody's extra time goes: encoding and hashing the event, without the disk.
    let cpu: Vec<Duration> = (0..2000u64)
        .map(|i| {
            let draft = note(Utc::now(), note_text(i, TEXT_LEN));
            let start = Instant::now();
            let sealed = draft.seal(1000 + i, Digest::ZERO).unwrap();
            let took = start.elapsed();
            std::hint::black_box(sealed);
            took
        })
        .collect();
    say!(
        "  (of which encoding + hashing an event, Draft::seal alone: median {})",
        fmt_duration(median(&cpu))
    );
    say!();
}

// ---------------------------------------------------------------------------------------------
// 2. Verify throughput

/// Writes a valid journal of about `target` bytes and its runbook copy into `folder`; returns
/// the journal's size and its number of events.
fn build_journal(folder: &Path, target: u64) -> (u64, u64) {
    std::fs::create_dir_all(folder).unwrap();
    let runbook = custody::runbook::bundled::find(RUNBOOK).unwrap().0.text;
    std::fs::write(folder.join("runbook.toml"), runbook).unwrap();
    let time = base_time();
    let capacity = usize::try_from(target).unwrap() + (1 << 16);
    let mut bytes = Vec::with_capacity(capacity);
    let (line, first) = started(time, runbook).seal(1, Digest::ZERO).unwrap();
    bytes.extend_from_slice(&line);
    let mut prev = first.hash;
    let mut seq = 1;
    while (bytes.len() as u64) < target {
        seq += 1;
        let (line, event) = note(
            time + chrono::Duration::seconds(i64::try_from(seq).unwrap()),
            note_text(seq, 200),
        )
        .seal(seq, prev)
        .unwrap();
        prev = event.hash;
        bytes.extend_from_slice(&line);
    }
    std::fs::write(folder.join("journal.jsonl"), &bytes).unwrap();
    (bytes.len() as u64, seq)
}

/// Plain SHA-256 of the file, read in 64 KiB pieces (as verify reads it).
fn sha256_file(path: &Path) -> Digest {
    let mut file = File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Digest(hasher.finalize().into())
}

/// Calls `f` on each line of the file (newline included), read through a 64 KiB `BufReader`;
/// returns the number of lines.
fn for_each_line(path: &Path, mut f: impl FnMut(&[u8])) -> u64 {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).unwrap());
    let mut line = Vec::new();
    let mut lines = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap() == 0 {
            break;
        }
        f(&line);
        lines += 1;
    }
    lines
}

/// SHA-256 of each line on its own: the hashing verify cannot avoid, without any JSON.
fn sha256_lines(path: &Path) -> u64 {
    for_each_line(path, |line| {
        std::hint::black_box(Sha256::digest(line));
    })
}

/// Decoding every event in full (`decode_checked_line`, as the scanners do), from lines already
/// in memory and hashes already checked: the other half of verify's work.
fn decode_lines(lines: &[(&[u8], Digest)]) -> u64 {
    for (line, hash) in lines {
        std::hint::black_box(decode_checked_line(line, *hash).unwrap());
    }
    lines.len() as u64
}

/// Every check of verify's journal part on the calling thread alone: `Scanner::next_link` to
/// the end (read, hash, decode in full, chain rules).
fn scan_one_thread(path: &Path) -> u64 {
    let file = File::open(path).unwrap();
    let mut scanner = Scanner::new(BufReader::with_capacity(1 << 16, file));
    while scanner
        .next_link()
        .unwrap_or_else(|_| panic!("a bad line"))
        .is_some()
    {}
    scanner.events()
}

/// The same with `ReadAhead`, as verify reads: the file read and hashed on a second thread,
/// which also decodes lines whenever the calling thread falls behind.
fn scan_two_threads(path: &Path) -> u64 {
    let mut scanner = ReadAhead::new(File::open(path).unwrap());
    assert!(scanner.is_threaded(), "no second thread could be started");
    while scanner
        .next_link()
        .unwrap_or_else(|_| panic!("a bad line"))
        .is_some()
    {}
    scanner.events()
}

/// CPU time this process has used (all its threads, ended ones included), from
/// `/proc/self/stat`, in clock ticks of 10 ms; zero where there is no `/proc`.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11) // state ... cmajflt; then utime and stime
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The calling thread's time on a CPU and time spent waiting for one (runnable, but another
/// task had the CPU), from `/proc/thread-self/schedstat`, in ns; zeros where there is none.
fn thread_sched() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut ns = stat.split_whitespace().map(|t| t.parse().unwrap_or(0));
    (
        Duration::from_nanos(ns.next().unwrap_or(0)),
        Duration::from_nanos(ns.next().unwrap_or(0)),
    )
}

/// One timed run: wall-clock time, the CPU time of the whole process (all threads) and of the
/// calling thread, and how long the calling thread waited for a CPU.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    own: Duration,
    waited: Duration,
}

fn timed(f: impl FnOnce()) -> Run {
    let (cpu, (own, waited), start) = (process_cpu(), thread_sched(), Instant::now());
    f();
    let wall = start.elapsed();
    let (own_after, waited_after) = thread_sched();
    Run {
        wall,
        cpu: process_cpu().saturating_sub(cpu),
        own: own_after.saturating_sub(own),
        waited: waited_after.saturating_sub(waited),
    }
}

fn bench_verify(dir: &Path, config: &Config) {
    let folder = dir.join("verify");
    let built = Instant::now();
    let (size, events) = build_journal(&folder, config.verify_bytes);
    let built = built.elapsed();
    let journal = folder.join("journal.jsonl");
    // Warm the page cache.
    std::hint::black_box(std::fs::read(&journal).unwrap());

    let bytes = std::fs::read(&journal).unwrap();
    let checked: Vec<(&[u8], Digest)> = bytes
        .split_inclusive(|b| *b == b'\n')
        .map(|l| {
            let line = &l[..l.len() - 1];
            (line, check_line_hash(line).unwrap())
        })
        .collect();
    let mut sha = Vec::new();
    let mut lines = Vec::new();
    let mut decode = Vec::new();
    let mut one = Vec::new();
    let mut two = Vec::new();
    let mut verify = Vec::new();
    let ticks = support::Ticks::now();
    let have_openssl = support::tool_version("openssl", "version") != "not found";
    let mut openssl = Vec::new();
    for _ in 0..config.verify_runs {
        sha.push(timed(|| {
            std::hint::black_box(sha256_file(&journal));
        }));
        if have_openssl {
            openssl.push(timed(|| {
                let out = Command::new("openssl")
                    .args(["dgst", "-sha256"])
                    .arg(&journal)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "openssl dgst failed");
            }));
        }

        let mut v = None;
        verify.push(timed(|| {
            v = Some(custody::journal::verify(&folder, None, None).unwrap());
        }));
        let v = v.unwrap();
        assert!(v.intact(), "the benchmark journal must verify: {v:?}");
        assert_eq!((v.bytes, v.events), (size, events));

        lines.push(timed(|| assert_eq!(sha256_lines(&journal), events)));
        decode.push(timed(|| assert_eq!(decode_lines(&checked), events)));
        one.push(timed(|| assert_eq!(scan_one_thread(&journal), events)));
        two.push(timed(|| assert_eq!(scan_two_threads(&journal), events)));
    }
    // What the rest of the machine did meanwhile (openssl, a child, counts as this process):
    // the two-thread rows can only be as fast as the cores left to them.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let others_cores = ticks
        .as_ref()
        .and_then(support::Ticks::others_share)
        .unwrap_or(0.0)
        * cores as f64;

    let best = |runs: &[Run]| runs.iter().map(|r| r.wall).min().unwrap();
    let (sha_best, verify_best) = (best(&sha), best(&verify));

    say!(
        "verify: {:.1} MB journal, {events} events (avg {} bytes/line; built in {:.1} s), \
         page cache warm, {} runs each",
        mb(size),
        size / events,
        built.as_secs_f64(),
        config.verify_runs
    );
    say!(
        "  other processes kept {others_cores:.2} of the machine's cores busy on average meanwhile"
    );
    say!(
        "  per run, averaged: CPU = this process's CPU time, all threads (10 ms ticks); own = \
         the calling thread's;\n  waited = the calling thread's time ready to run while other \
         tasks had the CPUs"
    );
    say!(
        "{:<40}{:>10}{:>8}{:>10}{:>10}{:>10}{:>10}",
        "",
        "best",
        "MB/s",
        "median",
        "CPU",
        "own",
        "waited"
    );
    let row = |label: &str, runs: &[Run], note: &str| {
        let b = best(runs);
        let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        let n = u32::try_from(runs.len()).unwrap();
        let mean = |f: fn(&Run) -> Duration| runs.iter().map(f).sum::<Duration>() / n;
        say!(
            "  {label:<38}{:>10}{:>8.0}{:>10}{:>10}{:>10}{:>10}{note}",
            fmt_duration(b),
            mb_per_s(size, b),
            fmt_duration(median(&walls)),
            fmt_duration(mean(|r| r.cpu)),
            fmt_duration(mean(|r| r.own)),
            fmt_duration(mean(|r| r.waited)),
        );
    };
    row("SHA-256 of the file (sha2)", &sha, "");
    if have_openssl {
        row(
            "openssl dgst -sha256 (a process)",
            &openssl,
            &format!(
                "   (verify takes {} its time; goal <= 2x)",
                support::ratio(verify_best, best(&openssl))
            ),
        );
    }
    row(
        "custody::journal::verify",
        &verify,
        &format!("   ({:.2}x sha2's time)", ratio(verify_best, sha_best)),
    );
    let (base_label, base_best) = if have_openssl {
        ("`openssl dgst -sha256` of the file", best(&openssl))
    } else {
        ("SHA-256 of the file (openssl not found)", sha_best)
    };
    support::figure(support::Figure {
        what: format!(
            "Verify a {:.0} MB journal (`journal::verify`), best of {}",
            mb(size),
            config.verify_runs
        ),
        custody: fmt_duration(verify_best),
        baseline: format!("{base_label}: {}", fmt_duration(base_best)),
        ratio: support::ratio(verify_best, base_best),
        goal: "≤ 2x".into(),
        met: Some(ratio(verify_best, base_best) <= 2.0),
    });
    say!("  for reference, where verify's time goes:");
    for (label, runs) in [
        ("  SHA-256 line by line", &lines),
        ("  decoding every event (in memory)", &decode),
        ("  Scanner: all on one thread", &one),
        ("  ReadAhead: two threads", &two),
    ] {
        let note = format!("   ({:.2}x SHA-256 time)", ratio(best(runs), sha_best));
        row(label, runs, &note);
    }
    say!();
}

// ---------------------------------------------------------------------------------------------
// 3. Replay peak memory

/// A session of `events` events built as the program builds one: `Session::create`, then
/// `Session::apply` (a write and an fdatasync each). Returns its folder.
fn build_session(dir: &Path, events: u64) -> PathBuf {
    let clock = common::clock();
    let mut session = Session::create(dir, &common::start(RUNBOOK, Mode::Real), &clock).unwrap();
    for i in 2..=events {
        clock.advance(chrono::Duration::seconds(1));
        session
            .apply(Action::Note {
                text: note_text(i, 150),
            })
            .unwrap();
    }
    assert_eq!(session.state().events, events);
    session.folder().to_owned()
}

/// What a child reported.
#[derive(Debug, Default)]
struct ChildReport {
    vmhwm_kb: u64,
    elapsed_us: u64,
    events: u64,
}

fn run_child(job: &str) -> ChildReport {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, job)
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "the child `{job}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut report = ChildReport::default();
    for pair in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.parse().unwrap();
        match key {
            "vmhwm_kb" => report.vmhwm_kb = value,
            "elapsed_us" => report.elapsed_us = value,
            "events" => report.events = value,
            _ => {}
        }
    }
    assert!(report.vmhwm_kb > 0, "the child reported no VmHWM");
    report
}

/// The child's side: do the job, then print `VmHWM` from `/proc/self/status`.
pub fn child(job: &str) {
    let (mode, path) = job.split_once(':').expect("CUSTODY_BENCH_CHILD=mode:path");
    let path = Path::new(path);
    let start = Instant::now();
    let events = match mode {
        "replay" => {
            let session = Session::open(path, false, common::clock()).unwrap();
            let events = session.state().events;
            std::hint::black_box(&session);
            events
        }
        "verify" => {
            let v = custody::journal::verify(path, None, None).unwrap();
            assert!(v.intact(), "the benchmark session must verify: {v:?}");
            v.events
        }
        "lines" => for_each_line(path, |line| {
            std::hint::black_box(line);
        }),
        _ => panic!("unknown child mode `{mode}`"),
    };
    let elapsed = start.elapsed();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vmhwm: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "vmhwm_kb={vmhwm} elapsed_us={} events={events}",
        elapsed.as_micros()
    )
    .unwrap();
}

fn bench_replay(dir: &Path, config: &Config) {
    let sessions = dir.join("sessions");
    let built = Instant::now();
    let folder = build_session(&sessions, config.replay_events);
    let built = built.elapsed();
    let journal = folder.join("journal.jsonl");
    let size = std::fs::metadata(&journal).unwrap().len();

    // Each a fresh process, taking turns, page cache warm: the time is the job's (from inside
    // the child), the memory the child's peak.
    let jobs = [
        ("lines", journal.display().to_string()),
        ("verify", folder.display().to_string()),
        ("replay", folder.display().to_string()),
    ];
    let mut reports: Vec<Vec<ChildReport>> = jobs.iter().map(|_| Vec::new()).collect();
    for round in 0..config.replay_runs {
        for turn in 0..jobs.len() {
            let i = if round % 2 == 0 {
                turn
            } else {
                jobs.len() - 1 - turn
            };
            let (mode, path) = &jobs[i];
            let report = run_child(&format!("{mode}:{path}"));
            assert_eq!(report.events, config.replay_events, "{mode}");
            reports[i].push(report);
        }
    }
    let time = |i: usize| {
        let mut t: Vec<Duration> = reports[i]
            .iter()
            .map(|r| Duration::from_micros(r.elapsed_us))
            .collect();
        t.sort_unstable();
        t[t.len() / 2]
    };
    let peak = |i: usize| reports[i].iter().map(|r| r.vmhwm_kb).max().unwrap();
    let (floor_t, verify_t, replay_t) = (time(0), time(1), time(2));
    let (floor_m, verify_m, replay_m) = (peak(0), peak(1), peak(2));

    let kb_to_mb = |kb: u64| kb as f64 * 1024.0 / 1e6;
    say!(
        "resume: {} events, {:.1} MB journal (built with Session::apply in {:.1} s), each job \
         a fresh process, {} runs each, taking turns: median time, highest peak RSS (VmHWM)",
        config.replay_events,
        mb(size),
        built.as_secs_f64(),
        config.replay_runs
    );
    say!("{:<40}{:>12}{:>12}", "", "VmHWM", "time");
    for (label, m, t, note) in [
        (
            "child reading the journal's lines",
            floor_m,
            floor_t,
            String::new(),
        ),
        (
            "journal::verify (baseline)",
            verify_m,
            verify_t,
            String::new(),
        ),
        (
            "custody Session::open (resume)",
            replay_m,
            replay_t,
            format!(
                "   ({} verify's time; goal <= 1.5x; +{:.1} MB over reading the lines; goal < 30 MB)",
                support::ratio(replay_t, verify_t),
                kb_to_mb(replay_m.saturating_sub(floor_m))
            ),
        ),
    ] {
        say!(
            "  {label:<38}{:>9.1} MB{:>12}{note}",
            kb_to_mb(m),
            fmt_duration(t)
        );
    }
    say!();
    let events = support::thousands(config.replay_events);
    support::figure(support::Figure {
        what: format!("Resume a {events}-event session (`Session::open`), time"),
        custody: fmt_duration(replay_t),
        baseline: format!("`journal::verify`: {}", fmt_duration(verify_t)),
        ratio: support::ratio(replay_t, verify_t),
        goal: "≤ 1.5x".into(),
        met: Some(replay_t.as_secs_f64() <= 1.5 * verify_t.as_secs_f64()),
    });
    support::figure(support::Figure {
        what: format!("Resume a {events}-event session, peak memory (VmHWM)"),
        custody: format!("{:.1} MB", kb_to_mb(replay_m)),
        baseline: format!(
            "`journal::verify`: {:.1} MB; reading the lines: {:.1} MB",
            kb_to_mb(verify_m),
            kb_to_mb(floor_m)
        ),
        ratio: format!("{:.2}x", replay_m as f64 / verify_m as f64),
        goal: "< 30 MB".into(),
        met: Some(kb_to_mb(replay_m) < 30.0),
    });
}
