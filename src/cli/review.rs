//! `custody review`: the after-action review of one or more exercise sessions.

use std::path::{Path, PathBuf};

use crate::Status;

pub fn review(
    sessions: &[PathBuf],
    dir: &Path,
    formats: &str,
    output: Option<&Path>,
    damaged: bool,
) -> Status {
    let _ = (sessions, dir, formats, output, damaged);
    eprintln!("custody: review is not built yet");
    Status::Trouble
}
