//! The after-action review of tabletop exercises: what the team did set beside what the
//! script expected, for one session or several side by side (teams, rounds).
//!
//! Like the report, the review is a pure function of the sessions' journals, their runbook and
//! scenario copies and what checking them found ([`load`] reads those; [`build`] computes the
//! [`Review`]; each format renders it). The same input always gives the same bytes: no clock is
//! read, and times come from the journals, on the exercise clock they record.
//!
//! Only exercises have a review: [`build`] refuses a real session. Every format says EXERCISE
//! whatever the model holds (the renderers write the marking themselves, unconditionally), and
//! every file name begins with `EXERCISE-` ([`file_name`]), so that nothing from an exercise
//! can pass for a real incident.

mod html;
mod markdown;
pub mod model;
#[cfg(feature = "pdf")]
mod pdf;
mod svg;

use std::path::{Path, PathBuf};

pub use model::{Review, ReviewError, SessionInput, build};
pub use svg::timeline as timeline_svg;

use super::{Format, RenderError, WriteError, Written};
use crate::journal::event::{Body, FileRef, Mode};

/// The folder inside a session folder that holds the review written at the end of an
/// exercise.
pub const REVIEW_DIR: &str = "review";

/// Reads and checks the session at `path` (its folder or its journal), as the report does, and
/// its runbook with its scenario applied.
pub fn load(path: &Path) -> Result<SessionInput, super::LoadError> {
    Ok(SessionInput::from(&super::load(path)?))
}

impl From<&super::Input> for SessionInput {
    fn from(input: &super::Input) -> Self {
        let started = match input.events.first().map(|e| &e.body) {
            Some(Body::SessionStarted(s)) => Some(s),
            _ => None,
        };
        let mut notes = Vec::new();
        let (runbook, scenario) =
            match started.map(|s| crate::session::load_runbook(&input.folder, s)) {
                Some(Ok(loaded)) => (Some(loaded.runbook), loaded.scenario),
                Some(Err(e)) => {
                    if started.is_some_and(|s| s.scenario.is_some()) {
                        notes.push(format!(
                            "The scenario copy could not be read ({e}): the scenario's milestones, \
                         expected choices and inject guidance are missing from this review."
                        ));
                    }
                    (input.runbook.clone(), None)
                }
                None => (input.runbook.clone(), None),
            };
        Self {
            events: input.events.clone(),
            runbook,
            scenario,
            checked: input.checked.clone(),
            notes,
        }
    }
}

/// Whether the session that `input` holds is an exercise.
pub fn is_exercise(input: &SessionInput) -> bool {
    matches!(
        input.events.first().map(|e| &e.body),
        Some(Body::SessionStarted(s)) if s.mode == Mode::Exercise
    )
}

/// Renders `review` in `format`.
pub fn render(review: &Review, format: Format) -> Result<Vec<u8>, RenderError> {
    Ok(match format {
        Format::Markdown => markdown::render(review).into_bytes(),
        Format::Html => html::render(review).into_bytes(),
        Format::Json => json(review),
        Format::Pdf => render_pdf(review)?,
    })
}

/// The review as JSON (the model itself, with its marks set whatever the model holds), ending
/// in a newline; bidi and invisible characters are written as `\u` escapes.
fn json(review: &Review) -> Vec<u8> {
    use serde::Serialize as _;
    let mut out = Vec::with_capacity(64 * 1024);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, super::text::SafeJson::new());
    let marked = if review.exercise
        && review.marking == model::MARKING
        && review.marking_text == model::MARKING_TEXT
        && review.title.starts_with(model::MARKING)
    {
        std::borrow::Cow::Borrowed(review)
    } else {
        let mut r = review.clone();
        r.exercise = true;
        r.marking = model::MARKING;
        r.marking_text = model::MARKING_TEXT;
        if !r.title.starts_with(model::MARKING) {
            r.title = format!("{}: {}", model::MARKING, r.title);
        }
        std::borrow::Cow::Owned(r)
    };
    // Strings, numbers, booleans, lists and maps with string keys: this cannot fail.
    if marked.serialize(&mut serializer).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out.push(b'\n');
    out
}

#[cfg(feature = "pdf")]
fn render_pdf(review: &Review) -> Result<Vec<u8>, RenderError> {
    pdf::render(review).map_err(RenderError::Pdf)
}

#[cfg(not(feature = "pdf"))]
fn render_pdf(_: &Review) -> Result<Vec<u8>, RenderError> {
    Err(RenderError::PdfUnavailable)
}

/// The file name of `review` in `format`: `EXERCISE-review-SESSION.EXT` for one session
/// (`SESSION` without its own `EXERCISE-`), `EXERCISE-review-N-sessions-HASH.EXT` for several
/// (`HASH`: the first 8 hex digits of the SHA-256 of their ids and final hashes, in order).
/// Always begins with `EXERCISE-`.
pub fn file_name(review: &Review, format: Format) -> String {
    let ext = format.extension();
    if let [one] = &review.sessions[..] {
        let session = super::safe_file_part(&one.session);
        let session = session.strip_prefix("EXERCISE-").unwrap_or(&session);
        return format!("EXERCISE-review-{session}.{ext}");
    }
    let mut ids = String::new();
    for s in &review.sessions {
        ids.push_str(&s.session);
        ids.push('\t');
        ids.push_str(&s.verification.final_hash);
        ids.push('\n');
    }
    let hash = crate::journal::Digest::of(ids.as_bytes()).to_hex();
    format!(
        "EXERCISE-review-{}-sessions-{}.{ext}",
        review.sessions.len(),
        &hash[..8]
    )
}

/// Renders `review` in `format` and writes it into the folder `dir` (which must exist) under
/// its [`file_name`], whole or not at all, readable by its owner only.
pub fn write_file(review: &Review, format: Format, dir: &Path) -> Result<Written, WriteError> {
    let bytes = render(review, format)?;
    let path = dir.join(file_name(review, format));
    write_to(&path, format, &bytes)
}

/// Writes rendered bytes to `path` (whole or not at all).
pub fn write_to(path: &Path, format: Format, bytes: &[u8]) -> Result<Written, WriteError> {
    super::write_file(path, bytes).map_err(|source| WriteError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Written {
        format,
        path: path.to_owned(),
        size: bytes.len() as u64,
        sha256: crate::journal::Digest::of(bytes),
    })
}

/// Writes the review of the session that `input` holds, in every format this build has, into
/// its folder's `review/`, and returns the files written (relative to the session folder). A
/// format that fails is left out; `Err` when none could be written. A real session has no
/// review: `Ok` with no file.
pub fn write_into_session(input: &super::Input) -> Result<Vec<FileRef>, String> {
    let input_review = SessionInput::from(input);
    if !is_exercise(&input_review) {
        return Ok(Vec::new());
    }
    let review = build(std::slice::from_ref(&input_review)).map_err(|e| e.to_string())?;
    let dir: PathBuf = input.folder.join(REVIEW_DIR);
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: cannot be made: {e}", dir.display()))?;
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for format in Format::ALL.into_iter().filter(|f| f.available()) {
        match write_file(&review, format, &dir) {
            Ok(w) => files.push(FileRef {
                file: format!(
                    "{REVIEW_DIR}/{}",
                    w.path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ),
                size: w.size,
                sha256: w.sha256,
            }),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if files.is_empty() && !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(files)
}
