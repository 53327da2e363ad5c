//! `custody review`: the after-action review of one or more exercise sessions, written into
//! files (or one format to standard output), each printed with its SHA-256. It mirrors
//! `custody report`: the same formats, output handling, refusal of a journal that does not
//! verify (unless `--damaged`), and exit statuses; a real session is refused, because only
//! exercises have a review.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use custody::report::review::{self, Review};
use custody::report::{self, Format};
use custody::sanitize::for_terminal;

use crate::Status;

fn shown(path: &Path) -> String {
    for_terminal(&path.display().to_string()).into_owned()
}

/// Reads and checks every session; the review, or the status to exit with.
fn load_all(sessions: &[PathBuf], dir: &Path, damaged: bool) -> Result<(Review, bool), Status> {
    let mut inputs = Vec::with_capacity(sessions.len());
    let mut any_damaged = false;
    for session in sessions {
        let path = super::sessions::locate(session, dir);
        let input = match report::load(&path) {
            Ok(input) => input,
            Err(e) => {
                eprintln!("custody: {}", for_terminal(&e.to_string()));
                if matches!(&e, report::LoadError::Unreadable { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
                {
                    eprintln!(
                        "  give a session folder, its journal.jsonl, or a session id (`custody \
                         sessions` lists them)"
                    );
                }
                return Err(Status::Trouble);
            }
        };
        let review_input = review::SessionInput::from(&input);
        if !review::is_exercise(&review_input) {
            eprintln!(
                "custody: {}: this session is a real incident, not an exercise: it has no \
                 after-action review.",
                shown(&input.folder)
            );
            eprintln!(
                "  Its report, for management and the police, is made with `custody report {}`.",
                shown(session)
            );
            return Err(Status::Bad);
        }
        if input.damaged() {
            if !damaged {
                let why = input.checked.problem.clone().unwrap_or_else(|| {
                    format!(
                        "the runbook copy is {}; the signature is {}",
                        input.checked.runbook_copy, input.checked.signature
                    )
                });
                eprintln!(
                    "custody: {}: the journal does not verify: {}",
                    shown(&input.folder),
                    for_terminal(&why)
                );
                eprintln!(
                    "  Run `custody verify` for the details, or add --damaged for a review of \
                     the events before the damage, marked as not verified."
                );
                return Err(Status::Bad);
            }
            any_damaged = true;
        }
        inputs.push(review_input);
    }
    match review::build(&inputs) {
        Ok(r) => Ok((r, any_damaged)),
        Err(e) => {
            eprintln!("custody: {}", for_terminal(&e.to_string()));
            Err(Status::Bad)
        }
    }
}

/// Prints a line on standard output; a closed pipe (`| head`) is not an error worth a panic:
/// the files are written either way.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// `path` with `EXERCISE-` put before its file name when the name does not say EXERCISE, so
/// that no file of a review can pass for a real incident's, even one named with `-o FILE`.
fn marked(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.contains("EXERCISE") {
        path.to_owned()
    } else {
        path.with_file_name(format!("EXERCISE-{name}"))
    }
}

pub fn review(
    sessions: &[PathBuf],
    dir: &Path,
    formats: &str,
    output: Option<&Path>,
    damaged: bool,
) -> Status {
    let formats = match super::report::parse_formats(formats) {
        Ok(f) => f,
        Err(why) => {
            eprintln!("custody: --format: {why}");
            return Status::Trouble;
        }
    };
    if let Some(f) = formats.iter().find(|f| !f.available()) {
        eprintln!(
            "custody: --format {f}: {}",
            report::RenderError::PdfUnavailable
        );
        return Status::Trouble;
    }
    let (review, any_damaged) = match load_all(sessions, dir, damaged) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };

    // One format to standard output.
    if output == Some(Path::new("-")) {
        let [format] = formats[..] else {
            eprintln!(
                "custody: -o -: standard output takes one format; give --format md, html, json or pdf"
            );
            return Status::Trouble;
        };
        if format == Format::Pdf && std::io::stdout().is_terminal() {
            eprintln!(
                "custody: -o -: a PDF is not shown on a terminal; redirect it to a file, or give -o FILE.pdf"
            );
            return Status::Trouble;
        }
        return match review::render(&review, format) {
            Ok(bytes) => {
                let mut out = std::io::stdout().lock();
                if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                    return Status::Trouble;
                }
                Status::Ok
            }
            Err(e) => {
                eprintln!("custody: {e}");
                Status::Trouble
            }
        };
    }

    // Files: into a folder (several formats, or an existing folder), or one file by its name.
    let (folder, single_name): (PathBuf, Option<PathBuf>) = match output {
        None => (PathBuf::from("."), None),
        Some(p) if p.is_dir() || formats.len() > 1 || p.to_string_lossy().ends_with('/') => {
            (p.to_owned(), None)
        }
        Some(p) => (
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_owned),
            Some(marked(p)),
        ),
    };
    if let Err(e) = std::fs::create_dir_all(&folder) {
        eprintln!("custody: {}: cannot be made: {e}", shown(&folder));
        return Status::Trouble;
    }
    let mut status = Status::Ok;
    for format in formats {
        let written = match &single_name {
            Some(file) => review::render(&review, format)
                .map_err(report::WriteError::from)
                .and_then(|bytes| review::write_to(file, format, &bytes)),
            None => review::write_file(&review, format, &folder),
        };
        match written {
            Ok(w) => say(&format!(
                "{:<5} {}  {}  ({} bytes)",
                w.format.to_string(),
                w.sha256.to_hex(),
                shown(&w.path),
                w.size
            )),
            Err(e) => {
                eprintln!("custody: {}", for_terminal(&e.to_string()));
                status = Status::Trouble;
            }
        }
    }
    say(
        "(an exercise: the review is marked EXERCISE on every page and in its file names; its \
         durations are in exercise time)",
    );
    if any_damaged {
        eprintln!(
            "custody: a journal does not verify; its review covers the events before the damage \
             and says so at its top"
        );
    }
    status
}
