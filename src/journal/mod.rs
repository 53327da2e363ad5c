//! The journal: the append-only, hash-chained record of a session, and the only place its state
//! is kept.
//!
//! - [`event`]: the events and the exact bytes written for each (one JSON line, hashed);
//! - [`writer`]: appending, one `write` and one `fdatasync` per event, undone if it fails;
//! - [`reader`]: reading back while checking the chain; torn last lines are reported;
//! - [`folder`]: the session folder, its permissions, its lock, and recovery from a torn line;
//! - [`verify`]: the read-only check behind `custody verify`;
//! - [`sign`]: minisign signatures of sealed journals.
//!
//! `docs/JOURNAL.md` describes the format for anyone who wants to check a journal by other means.

pub mod event;
pub mod folder;
mod hash;
pub mod reader;
pub mod sign;
pub mod verify;
pub mod writer;

#[cfg(test)]
pub(crate) mod testing;

use std::path::{Path, PathBuf};

pub use event::{Actor, Body, Draft, Event, Mode, Role};
pub use folder::{Error, Opened, SessionFolder, Torn};
pub use hash::Digest;
pub use verify::{Verification, verify};

/// The session folders under `dir` (those holding a journal), sorted by name.
pub fn session_folders(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(folder::JOURNAL).is_file())
        .collect();
    found.sort();
    Ok(found)
}
