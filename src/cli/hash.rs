//! `custody hash PATH...`: hashes files and folders without showing them, printing
//! `sha256sum` lines (or the JSON lines manifest) on standard output.
//!
//! Standard output is exact when it is not a terminal, so that `custody hash dir > SUMS` and
//! `sha256sum -c SUMS` agree. On a terminal, names that could act on it (escape sequences, other
//! controls, bidi controls, bytes that are not UTF-8) are shown escaped and a note on standard
//! error says how to get exact lines. Errors go to standard error as they come, sanitised. A
//! progress bar is drawn on standard error when it is a terminal. Ctrl-C stops cleanly: what was
//! hashed is printed, and the exit status is 130.

use std::fmt::Write as _;
use std::io::{BufWriter, IsTerminal as _, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use custody::evidence::hash::{self, Entry, Error, HashAlgorithm, Options, Progress};
use custody::evidence::manifest::{Summary, manifest_line, sums_line};
use custody::sanitize::for_terminal;

/// The test hook documented in docs/EVIDENCE.md: when set, the peak resident memory is printed
/// on standard error at the end.
const PEAK_RSS_ENV: &str = "CUSTODY_REPORT_PEAK_RSS";

/// Exit statuses of `custody hash`.
const OK: u8 = 0;
const SOME_ERRORS: u8 = 1;
const USAGE: u8 = 2;
const CANCELLED: u8 = 130;

/// The arguments of `custody hash`.
#[derive(Debug)]
pub struct Args {
    pub paths: Vec<PathBuf>,
    pub hashes: Option<String>,
    pub json: bool,
    pub follow_symlinks: bool,
    pub threads: Option<usize>,
}

pub fn hash(args: &Args) -> ExitCode {
    let code = run(args);
    if std::env::var_os(PEAK_RSS_ENV).is_some() {
        report_peak_rss();
    }
    ExitCode::from(code)
}

fn run(args: &Args) -> u8 {
    let algorithms = match parse_hashes(args.hashes.as_deref().unwrap_or("sha256")) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("custody: {message}");
            return USAGE;
        }
    };
    let mut missing = false;
    for path in &args.paths {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "custody: {}: no such file or folder; check the path (nothing was hashed)",
                    shown(path.as_os_str().as_bytes())
                );
                missing = true;
            }
            Ok(meta) if meta.file_type().is_symlink() && !args.follow_symlinks => {
                let target = std::fs::read_link(path).unwrap_or_default();
                eprintln!(
                    "custody: note: {} is a symbolic link (to {}); it is recorded as a link, not \
                     followed. Give --follow-symlinks, or the target's path, to hash what it \
                     points to.",
                    shown(path.as_os_str().as_bytes()),
                    shown(target.as_os_str().as_bytes())
                );
            }
            _ => {}
        }
    }
    if missing {
        return USAGE;
    }
    let options = Options {
        algorithms,
        follow_symlinks: args.follow_symlinks,
        threads: args.threads.unwrap_or(0),
        // The totals are only for the progress bar's time left; counting costs a second walk.
        count_totals: std::io::stderr().is_terminal(),
    };

    let cancel = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&cancel)) {
        eprintln!("custody: note: Ctrl-C cannot be caught ({e}); it will end custody at once");
    }
    let progress = Progress::new();
    let stdout = std::io::stdout();
    let on_terminal = stdout.is_terminal();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut summary = Summary::new(&options);
    let mut escaped_names = 0u64;
    let bar = Bar::start(std::io::stderr().is_terminal());

    let finished = std::thread::scope(|scope| {
        let ticker = bar.as_ref().map(|bar| {
            let progress = &progress;
            let done = &bar.done;
            let pb = bar.bar.clone();
            scope.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    Bar::update(&pb, progress);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        });
        let finished = hash::run(&args.paths, &options, &progress, &cancel, |entry| {
            summary.add(&entry);
            let line = if args.json {
                Some(manifest_line(&entry))
            } else if on_terminal {
                terminal_line(&entry, &mut escaped_names)
            } else {
                sums_line(&entry)
            };
            if let Some(line) = line {
                let written = out
                    .write_all(&line)
                    .and_then(|()| if on_terminal { out.flush() } else { Ok(()) });
                written.map_err(|source| Error::Output {
                    what: "output",
                    source,
                })?;
            }
            if let Some(error) = &entry.error {
                let message = error_message(&entry, error);
                match &bar {
                    Some(bar) => bar.bar.suspend(|| eprintln!("{message}")),
                    None => eprintln!("{message}"),
                }
            }
            Ok(())
        });
        if let Some(bar) = &bar {
            bar.done.store(true, Ordering::Relaxed);
        }
        if let Some(ticker) = ticker {
            let _ = ticker.join();
        }
        finished
    });
    if let Some(bar) = &bar {
        bar.bar.finish_and_clear();
    }
    let flushed = out.flush();
    let finished = match (finished, flushed) {
        (Ok(f), Ok(())) => f,
        (Err(e), _) => {
            eprintln!("custody: {}", for_terminal(&e.to_string()));
            return USAGE;
        }
        (_, Err(e)) => {
            eprintln!("custody: cannot write the output: {e}");
            return USAGE;
        }
    };
    summary.cancelled = finished.cancelled;

    if escaped_names > 0 {
        eprintln!(
            "custody: note: {escaped_names} file name{} held control characters, bidi controls, \
             backslashes or bytes that are not UTF-8; on this terminal they are shown escaped, so \
             those lines are not exact sha256sum lines. For exact lines, redirect the output to \
             a file: custody hash ... > SHA256SUMS",
            if escaped_names == 1 { "" } else { "s" }
        );
    }
    let noisy = std::io::stderr().is_terminal() || summary.errors > 0 || summary.cancelled;
    if noisy {
        eprintln!("custody: {}", describe(&summary));
    }
    if summary.cancelled {
        let snapshot = progress.snapshot();
        eprintln!(
            "custody: CANCELLED (Ctrl-C): the lines above are the {} entries done before; \
             nothing after them was hashed{}. Run the command again to hash everything.",
            finished.entries,
            if snapshot.total_known {
                format!(" ({} entries in all)", snapshot.entries_total)
            } else {
                String::new()
            }
        );
        return CANCELLED;
    }
    if summary.errors > 0 { SOME_ERRORS } else { OK }
}

/// The hash functions named by `--hashes` (commas between them).
fn parse_hashes(text: &str) -> Result<Vec<HashAlgorithm>, String> {
    let mut all = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match HashAlgorithm::from_name(&name.to_ascii_lowercase()) {
            Some(a) => all.push(a),
            None => {
                return Err(format!(
                    "unknown hash `{}` in --hashes; the hashes are: {}",
                    for_terminal(name),
                    HashAlgorithm::NAMES.join(", ")
                ));
            }
        }
    }
    Ok(all)
}

/// A `sha256sum` line for a terminal: the name shown safely. Counts the names that had to be
/// changed for that.
fn terminal_line(entry: &Entry, escaped: &mut u64) -> Option<Vec<u8>> {
    let digests = entry.digests.as_ref()?;
    let bytes = entry.path.as_os_str().as_bytes();
    let name = shown(bytes);
    if name.as_bytes() != bytes || bytes.contains(&b'\\') {
        *escaped += 1;
    }
    Some(format!("{}  {name}\n", digests.sha256).into_bytes())
}

/// Bytes from outside, safe for a terminal: valid UTF-8 through [`for_terminal`], other bytes as
/// `\x{NN}`.
fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&for_terminal(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{{{b:02x}}}");
        }
    }
    out
}

/// An entry's error as printed: the path, what went wrong and what to do.
fn error_message(entry: &Entry, error: &str) -> String {
    let what_to_do = if error.contains("Permission denied") {
        "run custody as a user who may read it (root), or write down in the journal why it \
         could not be hashed"
    } else if error.contains("loop") {
        "nothing to do: the loop is recorded and the folder was hashed once"
    } else if error.contains("changed") || error.contains("replaced") {
        "something is writing to it: hash it again, and write down that it was changing"
    } else {
        "check it, then hash it again or write down in the journal why it could not be hashed"
    };
    format!(
        "custody: {}: {}\n  what to do: {what_to_do}",
        shown(entry.path.as_os_str().as_bytes()),
        for_terminal(error)
    )
}

fn describe(s: &Summary) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "hashed {} ({}), {}, {}, {} other; {}",
        plural(s.files, "file"),
        bytes(s.bytes),
        plural(s.dirs, "folder"),
        plural(s.symlinks, "link"),
        s.other,
        plural(s.errors, "error")
    )
}

#[allow(clippy::cast_precision_loss)] // shown with one decimal
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The progress bar on standard error.
struct Bar {
    bar: indicatif::ProgressBar,
    done: AtomicBool,
}

impl Bar {
    fn start(on_terminal: bool) -> Option<Self> {
        if !on_terminal {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr(),
        );
        let style = indicatif::ProgressStyle::with_template(
            "{msg} {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} \
             {eta} left",
        )
        .ok()?;
        bar.set_style(style);
        Some(Self {
            bar,
            done: AtomicBool::new(false),
        })
    }

    fn update(bar: &indicatif::ProgressBar, progress: &Progress) {
        let s = progress.snapshot();
        bar.set_length(s.bytes_total.max(s.bytes_done));
        bar.set_position(s.bytes_done);
        let more = if s.total_known { "" } else { "+" };
        bar.set_message(format!("{}/{}{more} files", s.files_done, s.files_total));
    }
}

/// Prints `VmHWM` from /proc/self/status (the test hook, see [`PEAK_RSS_ENV`]).
fn report_peak_rss() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map_or("unknown", str::trim);
    eprintln!("custody: peak resident memory (VmHWM): {peak}");
}
