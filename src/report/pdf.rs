//! The PDF report: PDF/A-2b with every font embedded, typeset in-process by typst.
//!
//! The layout is the typst template `report.typ`, compiled into the program. The report
//! reaches it only as data: the model is serialised to JSON, every string in it cleaned with
//! [`text::clean`] (control, bidi and invisible characters shown as visible escapes such as
//! `\u{202e}`), and the template reads that file with `json()` and shows each value as text.
//! A string shown as text is never markup in typst (the template never calls `eval`), so
//! nothing recorded can act on the document.
//!
//! The typst world is closed: one source (the template), one data file, the fonts shipped with
//! typst, no package, no file of the machine, and no clock: "today" is the day of the report's
//! last event, and the PDF's dates and identifier come from the journal. The same report
//! therefore always gives the same bytes.

use std::fmt::Write as _;
use std::sync::OnceLock;

use chrono::{Datelike as _, Timelike as _};
use serde_json::Value;
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt as _, World, WorldExt as _};
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use super::Report;
use super::text;

/// The template, in typst markup.
const TEMPLATE: &str = include_str!("report.typ");
/// Where the template finds the report, in the world's virtual file system.
const DATA_PATH: &str = "/report.json";
const MAIN_PATH: &str = "/report.typ";

/// The report as a PDF/A-2b document.
pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let world = ReportWorld::new(report)?;
    let warned = typst::compile(&world);
    let document = warned.output.map_err(|errors| describe(&world, &errors))?;
    let last = report.case.last_event.utc;
    let timestamp = Datetime::from_ymd_hms(
        last.year(),
        month_or_day(last.month()),
        month_or_day(last.day()),
        month_or_day(last.hour()),
        month_or_day(last.minute()),
        month_or_day(last.second()),
    )
    .map(Timestamp::new_utc);
    let standards = PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| e.message().to_string())?;
    let options = PdfOptions {
        ident: Smart::Custom(format!(
            "custody-report/{}/{}",
            report.case.session, report.integrity.final_hash
        )),
        creator: Smart::Custom(Some(format!(
            "{} {} (typst)",
            report.generator.name, report.generator.version
        ))),
        timestamp,
        standards,
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| describe(&world, &errors));
    // Drop what typst memoised for this report: a long-running program renders many.
    typst::comemo::evict(0);
    pdf
}

/// A month, day, hour, minute or second (always below 256).
fn month_or_day(n: u32) -> u8 {
    u8::try_from(n).unwrap_or(0)
}

/// The report as the template reads it: the JSON model with every string (and every key)
/// cleaned, so that no control, bidi or invisible character reaches the page.
fn data(report: &Report) -> Result<Vec<u8>, String> {
    let value = serde_json::to_value(report).map_err(|e| e.to_string())?;
    serde_json::to_vec(&cleaned(value)).map_err(|e| e.to_string())
}

fn cleaned(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(clean_owned(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(cleaned).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (clean_owned(k), cleaned(v)))
                .collect(),
        ),
        other => other,
    }
}

fn clean_owned(s: String) -> String {
    match text::clean(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(c) => c,
    }
}

/// The fonts shipped with typst, read once.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: OnceLock<(LazyHash<FontBook>, Vec<Font>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

/// typst's standard library, built once (the template takes no input).
fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::default()))
}

fn file_id(path: &str) -> Result<FileId, String> {
    let vpath = VirtualPath::new(path).map_err(|e| format!("{path}: {e:?}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

/// The closed world the template is compiled in.
struct ReportWorld {
    main: Source,
    data_id: FileId,
    data: Bytes,
    today: Option<Datetime>,
}

impl ReportWorld {
    fn new(report: &Report) -> Result<Self, String> {
        let main = Source::new(file_id(MAIN_PATH)?, TEMPLATE.to_owned());
        let last = report.case.last_event.utc;
        Ok(Self {
            main,
            data_id: file_id(DATA_PATH)?,
            data: Bytes::new(data(report)?),
            today: Datetime::from_ymd(
                last.year(),
                month_or_day(last.month()),
                month_or_day(last.day()),
            ),
        })
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if id == self.data_id {
            Err(FileError::NotSource)
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }

    /// The day of the report's last event, whatever the offset asked for: the report never
    /// reads the clock.
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

/// typst's errors in one message, each with its line in the template.
fn describe(world: &ReportWorld, diagnostics: &[SourceDiagnostic]) -> String {
    let mut parts = Vec::new();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        let mut part = d.message.to_string();
        if d.span.id() == Some(world.main.id())
            && let Some(range) = world.range(d.span)
            && let Some(line) = world.main.lines().byte_to_line(range.start)
        {
            let _ = write!(part, " (report.typ line {})", line + 1);
        }
        for hint in &d.hints {
            let _ = write!(part, "; hint: {}", hint.v);
        }
        parts.push(part);
    }
    if parts.is_empty() {
        "typst failed without saying why".to_owned()
    } else {
        parts.join("; ")
    }
}
