//! The fuzz targets' seeds and regressions, replayed by a plain `cargo test` (stable, no
//! cargo-fuzz): every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes
//! through the very checks the cargo-fuzz target runs, from `fuzz/src/lib.rs`, included here.
//! See `fuzz/README.md`.
//!
//! ```sh
//! cargo test --test fuzz_corpus
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

/// The files of `fuzz/<folder>/<target>/`, sorted (none when the folder does not exist).
fn inputs(folder: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target`'s check on each of its seeds and regressions; names every file that fails.
fn replay(name: &str) {
    let (_, check) = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a target of that name");
    let seeds = inputs("corpus", name);
    assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ holds no seed");
    let mut failed = Vec::new();
    for path in seeds.iter().chain(&inputs("regressions", name)) {
        let bytes = std::fs::read(path).unwrap();
        if std::panic::catch_unwind(|| check(&bytes)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "the {name} check fails on {} file(s):\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn runbook_seeds_and_regressions() {
    replay("runbook");
}

#[test]
fn journal_seeds_and_regressions() {
    replay("journal");
}

#[test]
fn report_seeds_and_regressions() {
    replay("report");
}

/// Every target the fuzz crate has is replayed above.
#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["runbook", "journal", "report"]);
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml"))
            .unwrap();
    for name in names {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no target {name}"
        );
    }
}
