//! `custody report`: renders a session's report into files (or one format to standard output)
//! and prints each file's SHA-256.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use custody::report::{self, Format};
use custody::sanitize::for_terminal;

use crate::Status;

fn shown(path: &Path) -> String {
    for_terminal(&path.display().to_string()).into_owned()
}

/// The formats named by `--format`: a comma-separated list of md, html, json, pdf, or `all`
/// (every format this build has).
pub fn parse_formats(text: &str) -> Result<Vec<Format>, String> {
    let mut formats = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            formats.extend(Format::ALL.into_iter().filter(|f| f.available()));
            continue;
        }
        match Format::from_name(&name.to_ascii_lowercase()) {
            Some(f) => formats.push(f),
            None => {
                return Err(format!(
                    "unknown report format `{}`; the formats are: md, html, json, pdf (or all)",
                    for_terminal(name)
                ));
            }
        }
    }
    if formats.is_empty() {
        return Err("no report format given; the formats are: md, html, json, pdf (or all)".into());
    }
    formats.sort();
    formats.dedup();
    Ok(formats)
}

pub fn report(
    session: &Path,
    dir: &Path,
    formats: &str,
    output: Option<&Path>,
    damaged: bool,
) -> Status {
    let formats = match parse_formats(formats) {
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
            return Status::Trouble;
        }
    };
    if input.damaged() && !damaged {
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
            "  A report of it would not be evidence without saying so. Run `custody verify` for \
             the details, or add --damaged for a report of the events before the damage, \
             marked on its first page as not verified."
        );
        return Status::Bad;
    }
    let Some(report) = input.report() else {
        eprintln!(
            "custody: {}: the journal does not begin with `session_started`",
            shown(&input.folder)
        );
        return Status::Bad;
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
        return match report::render(&report, format) {
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
            Some(p.to_owned()),
        ),
    };
    if let Err(e) = std::fs::create_dir_all(&folder) {
        eprintln!("custody: {}: cannot be made: {e}", shown(&folder));
        return Status::Trouble;
    }
    let mut status = Status::Ok;
    for format in formats {
        let written = match &single_name {
            Some(file) => report::render(&report, format)
                .map_err(report::WriteError::from)
                .and_then(|bytes| {
                    report::write_file(file, &bytes)
                        .map(|()| report::Written {
                            format,
                            path: file.clone(),
                            size: bytes.len() as u64,
                            sha256: custody::journal::Digest::of(&bytes),
                        })
                        .map_err(|source| report::WriteError::Io {
                            path: file.clone(),
                            source,
                        })
                }),
            None => report::write_files(&report, &[format], &folder).map(|mut w| w.remove(0)),
        };
        match written {
            Ok(w) => println!(
                "{:<5} {}  {}  ({} bytes)",
                w.format.to_string(),
                w.sha256.to_hex(),
                shown(&w.path),
                w.size
            ),
            Err(e) => {
                eprintln!("custody: {}", for_terminal(&e.to_string()));
                status = Status::Trouble;
            }
        }
    }
    if report.exercise {
        println!("(an exercise: the reports are marked EXERCISE on every page and in their names)");
    }
    if input.damaged() {
        eprintln!(
            "custody: the journal does not verify; the reports cover the events before the \
             damage and say so on their first page"
        );
    }
    status
}
