//! Binary size: the `custody` binary this run measured (with the default `pdf` feature), and
//! the same built without it (`cargo build --release --no-default-features`, into
//! `target/bench-nopdf`), each as built (the release profile keeps line tables, for
//! backtraces) and stripped (`strip` on a copy), which is what an installed binary would be.
//! Stated, with no goal. The build without `pdf` is skipped on a debug build (`--quick` under
//! `cargo test`), where it would compile everything again for a figure that means nothing.
#![allow(clippy::cast_precision_loss)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::support;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// The file's size, and its size once stripped (`None` without `strip`).
fn sizes(binary: &Path, scratch: &Path) -> (u64, Option<u64>) {
    let size = std::fs::metadata(binary).map_or(0, |m| m.len());
    let copy = scratch.join("custody-stripped");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(binary)
        .status()
        .ok()
        .filter(std::process::ExitStatus::success)
        .and_then(|_| std::fs::metadata(&copy).ok())
        .map(|m| m.len());
    let _ = std::fs::remove_file(&copy);
    (size, stripped)
}

fn record(what: &str, (size, stripped): (u64, Option<u64>)) {
    let stripped = stripped.map_or_else(|| "`strip` not found".into(), mib);
    support::say(&format!(
        "  {what:<46}{:>12}   stripped {stripped}",
        mib(size)
    ));
    support::figure(support::Figure {
        what: format!("Binary size, {what}"),
        custody: format!("{} (stripped {stripped})", mib(size)),
        baseline: "none".into(),
        ratio: String::new(),
        goal: "stated".into(),
        met: None,
    });
}

pub fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = root.join("target/bench-tmp");
    let _ = std::fs::create_dir_all(&scratch);
    let with_pdf = PathBuf::from(env!("CARGO_BIN_EXE_custody"));
    let release = !cfg!(debug_assertions);
    say!(
        "binary size ({} build)",
        if release { "release" } else { "debug" }
    );
    record("with `pdf` (the default)", sizes(&with_pdf, &scratch));
    if !release {
        say!("  without `pdf`: skipped on a debug build");
        return;
    }
    let target = root.join("target/bench-nopdf");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--no-default-features"])
        .args(["--bin", "custody", "--target-dir"])
        .arg(&target)
        .current_dir(root)
        .status();
    match status {
        Ok(s) if s.success() => {
            let binary = target.join("release/custody");
            record("without `pdf`", sizes(&binary, &scratch));
            say!(
                "  (built without `pdf` in {:.0} s, into {})",
                started.elapsed().as_secs_f64(),
                target.display()
            );
        }
        Ok(s) => say!("  without `pdf`: the build failed ({s})"),
        Err(e) => say!("  without `pdf`: cargo could not be run: {e}"),
    }
}
