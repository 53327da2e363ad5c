//! Reports: the journal turned into a document for management and the police.
//!
//! A report is a pure function of the session's journal, its runbook copy and what checking
//! them found ([`load`] reads those; [`model::build`] computes the [`Report`]; each format
//! renders it). The same journal always gives the same bytes, in every format: no clock is read
//! (the report's "now" is its last event), and nothing depends on the machine it runs on.

pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod review;
pub mod text;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::{Report, build};

use crate::journal::event::Event;
use crate::journal::reader::{Problem, ScanError, Scanner};
use crate::journal::sign::SignatureCheck;
use crate::journal::verify::{RunbookCheck, Sealing, Signature, Verification, verify};
use crate::runbook::Runbook;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Markdown,
    Html,
    Json,
    Pdf,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Markdown, Format::Html, Format::Json, Format::Pdf];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "md" | "markdown" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            "json" => Some(Format::Json),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// Whether this build can render the format (the PDF needs the `pdf` feature).
    pub fn available(self) -> bool {
        self != Format::Pdf || cfg!(feature = "pdf")
    }

    /// The file name of a session's report in this format. An exercise's begins with
    /// `EXERCISE-`, so that no file of an exercise can pass for a real incident's.
    pub fn file_name(self, report: &Report) -> String {
        let session = safe_file_part(&report.case.session);
        if report.exercise {
            // An exercise's session id already begins with EXERCISE- when custody made it.
            let session = session.strip_prefix("EXERCISE-").unwrap_or(&session);
            format!("EXERCISE-report-{session}.{}", self.extension())
        } else {
            format!("report-{session}.{}", self.extension())
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// A session id made safe for a file name (it is one already when custody made it).
pub(crate) fn safe_file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Why a format could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "this custody was built without PDF support; build it with the `pdf` feature \
         (cargo install custody --features pdf, or a default build), or choose \
         --format md, html or json"
    )]
    PdfUnavailable,
    #[error("the PDF could not be made: {0}")]
    Pdf(String),
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, RenderError> {
    Ok(match format {
        Format::Markdown => markdown::render(report).into_bytes(),
        Format::Html => html::render(report).into_bytes(),
        Format::Json => json::render(report),
        Format::Pdf => render_pdf(report)?,
    })
}

#[cfg(feature = "pdf")]
fn render_pdf(report: &Report) -> Result<Vec<u8>, RenderError> {
    pdf::render(report).map_err(RenderError::Pdf)
}

#[cfg(not(feature = "pdf"))]
fn render_pdf(_: &Report) -> Result<Vec<u8>, RenderError> {
    Err(RenderError::PdfUnavailable)
}

/// Everything a report is made from, read from a session folder.
#[derive(Debug)]
pub struct Input {
    pub folder: PathBuf,
    /// The good events, in order (up to the first damaged line, if any).
    pub events: Vec<Event>,
    /// The runbook copy, when it can be read and is valid.
    pub runbook: Option<Runbook>,
    pub verification: Verification,
    pub checked: model::Checked,
}

/// Why a session's report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the journal holds no event that can be read", path.display())]
    Empty { path: PathBuf },
}

/// Reads and checks the session at `path` (its folder or its journal): the journal's good
/// events, the runbook copy and what `custody verify` finds. A damaged journal still loads
/// (its events up to the damage), and the report says so: see [`Input::damaged`].
pub fn load(path: &Path) -> Result<Input, LoadError> {
    let verification = verify(path, None, None)
        .map_err(|(path, source)| LoadError::Unreadable { path, source })?;
    let journal = verification.journal.clone();
    let file = std::fs::File::open(&journal).map_err(|source| LoadError::Unreadable {
        path: journal.clone(),
        source,
    })?;
    // Read only as many events as verify checked: a live session may have grown since.
    let mut scanner = Scanner::new(std::io::BufReader::new(file));
    let mut events = Vec::new();
    while (events.len() as u64) < verification.events {
        match scanner.next_link() {
            Ok(Some(link)) => events.push(link.into_event()),
            Ok(None) | Err(ScanError::Bad(_)) => break,
            Err(ScanError::Io(source)) => {
                return Err(LoadError::Unreadable {
                    path: journal,
                    source,
                });
            }
        }
    }
    if events.is_empty() {
        return Err(LoadError::Empty { path: journal });
    }
    let runbook = verification.started.as_ref().and_then(|s| {
        let bytes =
            crate::journal::folder::read_copy(&verification.folder, &s.runbook.file).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        Runbook::parse(&text).runbook
    });
    let checked = checked(&verification);
    Ok(Input {
        folder: verification.folder.clone(),
        events,
        runbook,
        verification,
        checked,
    })
}

impl Input {
    /// The report of this input.
    pub fn report(&self) -> Option<Report> {
        build(&self.events, self.runbook.as_ref(), &self.checked)
    }

    /// Whether the journal or its runbook copy is damaged: a report of it would not be
    /// evidence without saying so (a torn last line, never acknowledged, is not damage).
    pub fn damaged(&self) -> bool {
        !self.checked.verified
    }
}

/// What the check found, in the words the report uses.
fn checked(v: &Verification) -> model::Checked {
    let problem = v.problem.as_ref().map(Problem::describe);
    let torn_only = v.problem.as_ref().is_some_and(Problem::is_torn);
    let signature = match &v.signature {
        Signature::None => "not signed".to_owned(),
        Signature::Checked(SignatureCheck::Valid { key_id, .. }) => {
            format!("valid, checked with the key given (key id {key_id})")
        }
        Signature::CheckedWithRecordedKey(SignatureCheck::Valid { key_id, .. }) => format!(
            "valid for the key recorded in the seal (key id {key_id}); compare the key id \
             with the signer's published key to know who signed"
        ),
        Signature::Checked(SignatureCheck::Invalid(why))
        | Signature::CheckedWithRecordedKey(SignatureCheck::Invalid(why)) => {
            format!("INVALID: {why}")
        }
        Signature::Missing { key_id } => {
            format!("MISSING: the seal names key {key_id} but the signature file is gone")
        }
        Signature::Unchecked(why) => format!("not checked: {why}"),
    };
    let runbook_copy = match &v.runbook {
        RunbookCheck::Intact => "intact: its SHA-256 matches the one recorded at the start".into(),
        RunbookCheck::Changed { expected, found } => format!(
            "CHANGED: recorded {} but the copy now hashes to {}",
            expected.to_hex(),
            found.to_hex()
        ),
        RunbookCheck::Missing(why) => format!("MISSING: {why}"),
        RunbookCheck::NotChecked => "not checked".into(),
    };
    let mut notes = v.notes.clone();
    if torn_only {
        notes.push(
            "the journal ends in a torn line (a write cut short, never acknowledged); the \
             report covers the events before it"
                .into(),
        );
    }
    if matches!(v.sealing(), Sealing::Unknown) {
        notes.push(
            "the journal is damaged before any seal could be read: whether the session was \
             sealed is unknown"
                .into(),
        );
    }
    let verified = (v.problem.is_none() || torn_only)
        && v.events > 0
        && v.copies_intact()
        && !matches!(
            v.signature,
            Signature::Checked(SignatureCheck::Invalid(_))
                | Signature::CheckedWithRecordedKey(SignatureCheck::Invalid(_))
                | Signature::Missing { .. }
        );
    model::Checked {
        verified,
        sealing_unknown: matches!(v.sealing(), Sealing::Unknown),
        bytes: v.bytes,
        problem: if torn_only { None } else { problem },
        signature,
        runbook_copy,
        notes,
        for_seal: false,
    }
}

/// A report file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub format: Format,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: crate::journal::Digest,
}

/// Why a report file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{}: cannot be written: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Renders `report` in each of `formats` and writes them into the folder `dir` (which must
/// exist) under their [`Format::file_name`]. Each file is written whole or not at all (a
/// temporary file, flushed to disk, then renamed), readable by its owner only, as the session's
/// own files are.
pub fn write_files(
    report: &Report,
    formats: &[Format],
    dir: &Path,
) -> Result<Vec<Written>, WriteError> {
    let mut written = Vec::with_capacity(formats.len());
    for &format in formats {
        let bytes = render(report, format)?;
        let path = dir.join(format.file_name(report));
        write_file(&path, &bytes).map_err(|source| WriteError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(Written {
            format,
            path,
            size: bytes.len() as u64,
            sha256: crate::journal::Digest::of(&bytes),
        });
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed and renamed.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The folder inside a session folder that holds the reports written at its end.
pub const REPORT_DIR: &str = "report";

/// Writes every format this build has, of the journal as it stands, into the session folder's
/// `report/` folder (and for an exercise, its after-action review into `review/`), and returns
/// the files (relative to the session folder) for a `report_written` event. Used at the end of
/// a session, before the seal.
pub fn write_into_session(folder: &Path) -> Result<SessionFiles, String> {
    let mut input = load(folder).map_err(|e| e.to_string())?;
    // Written for the seal, which follows in the journal: not "not sealed, events could still
    // be added", which is what `verify` says of the journal as it stands.
    input.checked.for_seal = true;
    if let Some(note) = input
        .checked
        .notes
        .iter_mut()
        .find(|n| n.starts_with(crate::journal::verify::NOT_SEALED))
    {
        "this report was written as the session was sealed: the seal follows it in the \
         journal, after the event that records this report's hashes; `custody verify` shows \
         the seal and the final hash"
            .clone_into(note);
    }
    let report = input
        .report()
        .ok_or_else(|| "the journal does not begin with `session_started`".to_owned())?;
    let dir = input.folder.join(REPORT_DIR);
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: cannot be made: {e}", dir.display()))?;
    }
    let formats: Vec<Format> = Format::ALL.into_iter().filter(|f| f.available()).collect();
    let written = write_files(&report, &formats, &dir).map_err(|e| e.to_string())?;
    let mut files: Vec<crate::journal::event::FileRef> = written
        .into_iter()
        .map(|w| crate::journal::event::FileRef {
            file: format!(
                "{REPORT_DIR}/{}",
                w.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            size: w.size,
            sha256: w.sha256,
        })
        .collect();
    // An exercise's after-action review goes beside it, into `review/`. The review is made from
    // the same journal and can be made again at any time (`custody review`), so a review that
    // cannot be written does not hold up the report or the seal.
    let mut review_error = None;
    if report.exercise {
        match review::write_into_session(&input) {
            Ok(review) => files.extend(review),
            Err(why) => review_error = Some(why),
        }
    }
    Ok(SessionFiles {
        files,
        review_error,
    })
}

/// What [`write_into_session`] wrote.
#[derive(Debug, Clone)]
pub struct SessionFiles {
    /// The report files, and for an exercise the review files, relative to the session folder.
    pub files: Vec<crate::journal::event::FileRef>,
    /// Why an exercise's review could not be written, if it could not.
    pub review_error: Option<String>,
}
