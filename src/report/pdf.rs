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
use serde_json::{Map, Value};
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart, Str, Value as TypstValue};
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
    typeset_pdf(&Document {
        template: TEMPLATE,
        main_path: MAIN_PATH,
        data_path: DATA_PATH,
        data: data(report)?,
        files: Vec::new(),
        last: report.case.last_event.utc,
        ident: format!(
            "custody-report/{}/{}",
            report.case.session, report.integrity.final_hash
        ),
        creator: format!(
            "{} {} (typst)",
            report.generator.name, report.generator.version
        ),
    })
}

/// A document to typeset: a template, the data it reads with `json()`, and any other files it
/// reads (pictures), in a closed world.
pub(crate) struct Document {
    pub template: &'static str,
    pub main_path: &'static str,
    pub data_path: &'static str,
    pub data: Vec<u8>,
    /// Other files the template may read, by their path in the world (`/timeline-1.svg`).
    pub files: Vec<(String, Vec<u8>)>,
    /// The document's moment: "today" and the PDF's date.
    pub last: chrono::DateTime<chrono::Utc>,
    /// The PDF's identifier, from the journal.
    pub ident: String,
    pub creator: String,
}

/// Typesets `doc` as a PDF/A-2b document.
pub(crate) fn typeset_pdf(doc: &Document) -> Result<Vec<u8>, String> {
    let world = ClosedWorld::new(doc)?;
    let warned = typst::compile(&world);
    let document = warned.output.map_err(|errors| describe(&world, &errors))?;
    let last = doc.last;
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
        ident: Smart::Custom(doc.ident.clone()),
        creator: Smart::Custom(Some(doc.creator.clone())),
        timestamp,
        standards,
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| describe(&world, &errors));
    // Drop what typst memoised for this document: a long-running program renders many.
    typst::comemo::evict(0);
    pdf
}

/// A month, day, hour, minute or second (always below 256).
fn month_or_day(n: u32) -> u8 {
    u8::try_from(n).unwrap_or(0)
}

/// The report as the template reads it: the JSON model with every string (and every key)
/// cleaned, so that no control, bidi or invisible character reaches the page, and with the
/// text the template would otherwise work out character by character (see [`typeset`]).
fn data(report: &Report) -> Result<Vec<u8>, String> {
    let mut value = serde_json::to_value(report).map_err(|e| e.to_string())?;
    clean_all(&mut value);
    typeset(&mut value);
    serde_json::to_vec(&value).map_err(|e| e.to_string())
}

/// Cleans every string and every key of `value` in place.
pub(crate) fn clean_all(value: &mut Value) {
    match value {
        Value::String(s) => {
            let cleaned = text::clean(s);
            if let std::borrow::Cow::Owned(shown) = displayable(&cleaned) {
                *s = shown;
            } else if let std::borrow::Cow::Owned(cleaned) = cleaned {
                *s = cleaned;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_all),
        Value::Object(map) => {
            if map
                .keys()
                .any(|k| matches!(text::clean(k), std::borrow::Cow::Owned(_)) || !covered(k))
            {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (displayable(&text::clean(&k)).into_owned(), v))
                    .collect();
            }
            map.values_mut().for_each(clean_all);
        }
        _ => {}
    }
}

/// Adds to the (cleaned) data what the template shows but would otherwise compute in typst
/// script, which is slow for thousands of events:
///
/// - to every time stamp, `utc_text` (`2026-11-23 09:15:02`) and `local_text` (`10:15:02
///   +01:00`, with the date when it differs from the UTC date);
/// - to everyone who did something (`role` and `name`), `name_role`: `A. Jansen (operator)`,
///   or the role alone;
/// - `typeset.breaks`: every string with a word longer than [`BREAK_LIMIT`] bytes, with the
///   pieces the template joins with an empty break point (see [`break_pieces`]);
/// - `typeset.tall`: for each list of the report (`timeline`, `notes`, ...), the positions of
///   the items with more than [`TALL_BYTES`] of text, which the template sets so that they can
///   break across pages.
pub(crate) fn typeset(value: &mut Value) {
    add_texts(value);
    let mut breaks = Map::new();
    collect_breaks(value, &mut breaks);
    let Value::Object(map) = value else {
        return;
    };
    let tall: Map<String, Value> = map
        .iter()
        .filter_map(|(key, list)| {
            let Value::Array(items) = list else {
                return None;
            };
            let positions = items
                .iter()
                .enumerate()
                .filter(|(_, item)| text_bytes(item) > TALL_BYTES)
                .map(|(n, _)| Value::from(n))
                .collect();
            Some((key.clone(), Value::Array(positions)))
        })
        .collect();
    let mut typeset = Map::new();
    typeset.insert("breaks".to_owned(), Value::Object(breaks));
    typeset.insert("tall".to_owned(), Value::Object(tall));
    map.insert("typeset".to_owned(), Value::Object(typeset));
}

/// An item of a list with more text than this (in bytes) may not fit on a page in one row.
pub(crate) const TALL_BYTES: usize = 1500;

/// The bytes of text in `value`.
pub(crate) fn text_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(text_bytes).sum(),
        Value::Object(map) => map.values().map(text_bytes).sum(),
        _ => 0,
    }
}

fn add_texts(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(add_texts),
        Value::Object(map) => {
            if let Some((utc, local)) = stamp_texts(map) {
                map.insert("utc_text".to_owned(), Value::String(utc));
                map.insert("local_text".to_owned(), Value::String(local));
            } else if let Some(name_role) = name_role(map) {
                map.insert("name_role".to_owned(), Value::String(name_role));
            } else {
                map.values_mut().for_each(add_texts);
            }
        }
        _ => {}
    }
}

/// A time stamp's UTC and local text, if `map` is one (`utc`, `offset`, `local`, as
/// `Stamp` writes them: `2026-11-23T09:15:02.000000Z` and `2026-11-23T10:15:02+01:00`).
fn stamp_texts(map: &Map<String, Value>) -> Option<(String, String)> {
    if map.len() != 3 || !map.contains_key("offset") {
        return None;
    }
    let (Some(Value::String(utc)), Some(Value::String(local))) = (map.get("utc"), map.get("local"))
    else {
        return None;
    };
    let (utc_day, utc_time) = (utc.get(..10)?, utc.get(11..19)?);
    let (day, time, offset) = (local.get(..10)?, local.get(11..19)?, local.get(19..)?);
    let local = if day == utc_day {
        format!("{time} {offset}")
    } else {
        format!("{day} {time} {offset}")
    };
    Some((format!("{utc_day} {utc_time}"), local))
}

/// `name (role)`, or the role alone, if `map` is someone who did something (`role`, `name`).
fn name_role(map: &Map<String, Value>) -> Option<String> {
    if map.len() != 2 {
        return None;
    }
    let Some(Value::String(role)) = map.get("role") else {
        return None;
    };
    match map.get("name")? {
        Value::String(name) => Some(format!("{name} ({role})")),
        Value::Null => Some(role.clone()),
        _ => None,
    }
}

/// A word longer than this (in bytes) may break inside.
const BREAK_LIMIT: usize = 14;
/// A long word may break after these.
const BREAKERS: [&str; 18] = [
    "/", "\\", ".", ":", "_", "-", "=", ",", ";", "&", "?", "+", "@", "|", ")", "]", "}", ">",
];

fn collect_breaks(value: &Value, breaks: &mut Map<String, Value>) {
    match value {
        Value::String(s) => {
            if !breaks.contains_key(s.as_str())
                && let Some(pieces) = break_pieces(s)
            {
                breaks.insert(
                    s.clone(),
                    Value::Array(pieces.into_iter().map(Value::String).collect()),
                );
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_breaks(v, breaks)),
        // A time stamp is shown by its `utc_text` and `local_text`, which never break.
        Value::Object(map) if map.contains_key("utc_text") => {}
        Value::Object(map) => map.values().for_each(|v| collect_breaks(v, breaks)),
        _ => {}
    }
}

/// `s` cut at the points where it may break, if it has a word (between spaces) longer than
/// [`BREAK_LIMIT`] bytes: in such a word, after each of the [`BREAKERS`], and in a run of 12
/// grapheme clusters without one, after the 12th and then every 4th. The template shows the
/// pieces with an empty space between them where a line may break: no character is added,
/// so the text copied from the PDF is `s`.
fn break_pieces(s: &str) -> Option<Vec<String>> {
    if !s.split(' ').any(|w| w.len() > BREAK_LIMIT) {
        return None;
    }
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for (n, word) in s.split(' ').enumerate() {
        if n > 0 {
            piece.push(' ');
        }
        if word.len() <= BREAK_LIMIT {
            piece.push_str(word);
            continue;
        }
        let mut run = 0_usize;
        // typst's own clusters, as the template would split the word.
        for cluster in Str::from(word).clusters() {
            let TypstValue::Str(cluster) = cluster else {
                continue;
            };
            piece.push_str(&cluster);
            run += 1;
            let breaker = BREAKERS.contains(&cluster.as_str());
            if breaker || (run >= 12 && run.is_multiple_of(4)) {
                pieces.push(std::mem::take(&mut piece));
                if breaker {
                    run = 0;
                }
            }
        }
    }
    pieces.push(piece);
    Some(pieces)
}

/// Whether every character of `s` has a glyph in one of the shipped fonts.
fn covered(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() || has_glyph(c))
}

fn has_glyph(c: char) -> bool {
    fonts()
        .1
        .iter()
        .any(|font| font.info().coverage.contains(u32::from(c)))
}

/// `s` with every character that none of the shipped fonts can show written as its code point
/// (`\u{11c3b}`), as [`text::clean`] writes control characters. A PDF/A document may not show
/// a missing glyph, so without this a note in a script the fonts lack (or an emoji) would stop
/// the whole PDF from being written; this way the page shows exactly which character it was,
/// and the other formats and the journal keep it as it was typed.
fn displayable(s: &str) -> std::borrow::Cow<'_, str> {
    if covered(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii() || has_glyph(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    std::borrow::Cow::Owned(out)
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

/// The closed world a template is compiled in: the template, its data, the files given, the
/// fonts shipped with typst; nothing of the machine.
struct ClosedWorld {
    main: Source,
    /// The data file (never a source) and the other files.
    data_id: FileId,
    files: Vec<(FileId, Bytes)>,
    today: Option<Datetime>,
}

impl ClosedWorld {
    fn new(doc: &Document) -> Result<Self, String> {
        let main = Source::new(file_id(doc.main_path)?, doc.template.to_owned());
        let data_id = file_id(doc.data_path)?;
        let mut files = vec![(data_id, Bytes::new(doc.data.clone()))];
        for (path, bytes) in &doc.files {
            files.push((file_id(path)?, Bytes::new(bytes.clone())));
        }
        let last = doc.last;
        Ok(Self {
            main,
            data_id,
            files,
            today: Datetime::from_ymd(
                last.year(),
                month_or_day(last.month()),
                month_or_day(last.day()),
            ),
        })
    }
}

impl World for ClosedWorld {
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
        } else if id == self.data_id || self.files.iter().any(|(f, _)| *f == id) {
            Err(FileError::NotSource)
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some((_, bytes)) = self.files.iter().find(|(f, _)| *f == id) {
            Ok(bytes.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }

    /// The day of the document's last event, whatever the offset asked for: no document
    /// reads the clock.
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

/// typst's errors in one message, each with its line in the template.
fn describe(world: &ClosedWorld, diagnostics: &[SourceDiagnostic]) -> String {
    let mut parts = Vec::new();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        let mut part = d.message.to_string();
        if d.span.id() == Some(world.main.id())
            && let Some(range) = world.range(d.span)
            && let Some(line) = world.main.lines().byte_to_line(range.start)
        {
            let name = world
                .main
                .id()
                .get()
                .vpath()
                .file_name()
                .unwrap_or("template");
            let _ = write!(part, " ({name} line {})", line + 1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_no_font_has_are_written_as_code_points_and_others_kept() {
        // Found by the property test: one such character stopped the whole PDF.
        assert_eq!(displayable("Ünïcødé café"), "Ünïcødé café");
        assert!(matches!(
            displayable("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(displayable("w\u{11c3b}x"), "w\\u{11c3b}x");
        assert_eq!(displayable("\u{10a0c}"), "\\u{10a0c}");
        let mut value = serde_json::json!({"note": "a\u{1b}b \u{10a0c}", "k\u{10a0c}": 1});
        clean_all(&mut value);
        assert_eq!(value["note"], "a\\u{1b}b \\u{10a0c}");
        assert_eq!(value["k\\u{10a0c}"], 1);
    }

    #[test]
    fn short_words_are_not_split() {
        assert_eq!(break_pieces("Confirmed: I will not look"), None);
    }

    #[test]
    fn a_long_word_breaks_after_its_punctuation_and_the_pieces_are_the_text() {
        let s = "see /srv/www/customer-1042/uploads now";
        let pieces = break_pieces(s).unwrap();
        assert_eq!(pieces.concat(), s);
        assert_eq!(pieces[0], "see /");
        assert!(pieces.contains(&"customer-".to_owned()), "{pieces:?}");
    }

    #[test]
    fn a_long_run_without_punctuation_breaks_every_few_clusters() {
        let s = "a".repeat(30);
        let pieces = break_pieces(&s).unwrap();
        assert_eq!(pieces.concat(), s);
        let lengths: Vec<usize> = pieces.iter().map(String::len).collect();
        assert_eq!(lengths, [12, 4, 4, 4, 4, 2]);
    }

    #[test]
    fn clusters_are_not_cut() {
        // "e" and a combining acute accent are one cluster: no break between them.
        let s = "e\u{301}".repeat(20);
        let pieces = break_pieces(&s).unwrap();
        assert_eq!(pieces.concat(), s);
        assert!(
            pieces.iter().all(|p| !p.starts_with('\u{301}')),
            "{pieces:?}"
        );
    }

    #[test]
    fn stamps_get_their_texts_and_the_local_date_when_it_differs() {
        let stamp = |utc: &str, local: &str| {
            let value = serde_json::json!({"utc": utc, "offset": "+01:00", "local": local});
            let Value::Object(map) = value else {
                unreachable!()
            };
            stamp_texts(&map)
        };
        assert_eq!(
            stamp("2026-11-23T09:15:02.000000Z", "2026-11-23T10:15:02+01:00"),
            Some(("2026-11-23 09:15:02".into(), "10:15:02 +01:00".into()))
        );
        assert_eq!(
            stamp("2026-11-23T23:30:00.000000Z", "2026-11-24T00:30:00+01:00"),
            Some((
                "2026-11-23 23:30:00".into(),
                "2026-11-24 00:30:00 +01:00".into()
            ))
        );
    }

    #[test]
    fn someone_is_shown_by_name_and_role_or_the_role_alone() {
        let map = |v: Value| {
            let Value::Object(map) = v else {
                unreachable!()
            };
            map
        };
        assert_eq!(
            name_role(&map(
                serde_json::json!({"role": "operator", "name": "A. Jansen"})
            )),
            Some("A. Jansen (operator)".into())
        );
        assert_eq!(
            name_role(&map(serde_json::json!({"role": "witness", "name": null}))),
            Some("witness".into())
        );
    }

    #[test]
    fn only_items_with_much_text_are_tall() {
        let mut value = serde_json::json!({
            "timeline": [{"text": "short"}, {"text": "x ".repeat(TALL_BYTES)}],
        });
        typeset(&mut value);
        assert_eq!(value["typeset"]["tall"]["timeline"], serde_json::json!([1]));
    }
}
