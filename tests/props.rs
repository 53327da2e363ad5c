//! Property tests of everything that reads outside input: the runbook and scenario loaders, the
//! journal reader and `verify`, and the report and after-action review renderers. Whatever the
//! input, they answer without panicking; the loaders locate every problem inside the text; a
//! changed journal is never called intact; every report renders, and its JSON still validates
//! against its published schema.
//!
//! Case counts. CI runs a sample of each suite (the `cases` given to [`config`] below, a few
//! hundred per suite, about half a minute in all in a debug build). A full run sets
//! `PROPTEST_CASES` for every suite at once, and `PROPTEST_PDF_CASES` for the PDF suites, which
//! typeset a whole document per case:
//!
//! ```sh
//! PROPTEST_CASES=20000 PROPTEST_PDF_CASES=50 cargo test --release --test props
//! ```
//!
//! A failing case is shrunk and saved under `proptest-regressions/` (commit it: it is replayed
//! first on every later run). The cargo-fuzz targets in `fuzz/` cover the same ground with
//! coverage guidance; see `fuzz/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use custody::journal::reader::{Problem, ScanError, Scanner};
use custody::journal::{Body, Digest, Event};
use custody::report::{self, Format};
use custody::runbook::{Runbook, Scenario, bundled};
use proptest::prelude::*;
use proptest::sample::Index;

// The fuzz targets' checks, shared: a text is loaded as `custody check` loads it, and every
// diagnostic checked for what the loaders promise (`load_everything`).
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;
use targets::{Scan, load_everything, scan_ahead};

/// The configuration of a suite: `ci` cases unless `PROPTEST_CASES` says otherwise.
fn config(ci: u32) -> ProptestConfig {
    config_from("PROPTEST_CASES", ci)
}

fn config_from(variable: &str, ci: u32) -> ProptestConfig {
    let cases = std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci);
    ProptestConfig {
        cases,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A folder of this test's own under the target directory, made empty.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("props")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Text that tries to break things
// ---------------------------------------------------------------------------------------------

/// Pieces of markup of every output format, terminal escapes, bidi and invisible characters,
/// wide and combining characters, and TOML and JSON syntax.
const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "</td></tr></table>",
    "<!--",
    "-->",
    "]]>",
    "&amp;",
    "&#0;",
    "<img src=x onerror=alert(1)>",
    "|",
    "| a | b |\n|---|---|",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "# ",
    "\n# heading\n",
    "---",
    "===",
    "> ",
    "1. ",
    "- ",
    "*",
    "**",
    "_",
    "`",
    "```",
    "~~~",
    "[link](javascript:alert(1))",
    "![x](http://x/y.png)",
    "\\",
    "$",
    "$math$",
    "#set page(fill: red)",
    "#import \"x\": *",
    "#{",
    "@ref",
    "<label>",
    "//",
    "/*",
    "*/",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "'",
    "{{case_id}}",
    "{{",
    "}}",
    "%s%n",
    "\u{1b}[31m",
    "\u{1b}]52;c;aGVsbG8=\u{7}",
    "\u{1b}[2J",
    "\u{7}",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{9b}",
    "\u{202e}",
    "\u{2066}",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{2028}",
    "\u{2029}",
    "\u{fffd}",
    "\u{10ffff}",
    "e\u{301}\u{301}\u{301}",
    "漢字",
    "שלום",
    "👩\u{200d}👩\u{200d}👧",
    "🏳️\u{200d}🌈",
    " ",
    "",
];

/// Hostile text: pieces of [`HOSTILE`] run together, any Unicode, or a long run of one piece.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(proptest::sample::select(HOSTILE), 0..12)
            .prop_map(|pieces| pieces.concat()),
        3 => any::<String>(),
        2 => "\\PC{0,60}",
        1 => (proptest::sample::select(HOSTILE), 100usize..3000)
            .prop_map(|(piece, n)| piece.repeat(n.min(20_000 / piece.len().max(1)))),
    ]
}

// ---------------------------------------------------------------------------------------------
// (a) The runbook and scenario loaders
// ---------------------------------------------------------------------------------------------

/// Every runbook and scenario the project ships, and the template: the seeds of the mutations.
fn seeds() -> &'static [(&'static str, &'static str)] {
    static SEEDS: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds: Vec<(&str, &str)> = bundled::ALL
            .iter()
            .chain(bundled::SCENARIOS)
            .map(|b| (b.file, b.text))
            .collect();
        seeds.push(("template.toml", include_str!("../runbooks/template.toml")));
        seeds.push(("drill.toml", include_str!("bad_runbooks/drill.toml")));
        seeds
    })
}

/// The flagship runbook, which the bundled scenario exercises.
fn flagship() -> &'static Runbook {
    static RUNBOOK: OnceLock<Runbook> = OnceLock::new();
    RUNBOOK.get_or_init(|| bundled::find("csam-discovery").expect("the flagship").1)
}

/// A change to a runbook's text, line by line (structure-aware) or character by character.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    MoveLine(Index, Index),
    /// The value after `=` on a line, replaced.
    Value(Index, String),
    /// The key before `=` on a line, replaced.
    Key(Index, String),
    /// Text inserted into a line, at a character.
    Insert(Index, Index, String),
    /// A line of another seed inserted.
    Graft(Index, Index, Index),
    Truncate(Index),
}

/// TOML values of every type and some broken ones.
const VALUES: &[&str] = &[
    "\"\"",
    "\"   \"",
    "\"x\"",
    "0",
    "-1",
    "2",
    "99999999999999999999",
    "1.5",
    "nan",
    "inf",
    "true",
    "false",
    "2026-11-23",
    "2026-11-23T09:15:02Z",
    "09:15:02",
    "[]",
    "[\"\"]",
    "[1, \"a\"]",
    "[[]]",
    "{}",
    "{ id = \"a\" }",
    "[{ id = \"a\" }]",
    "\"\"\"\nmulti\nline\n\"\"\"",
    "'''raw'''",
    "\"0s\"",
    "\"1mo\"",
    "\"1y\"",
    "\"99999999999999999999w\"",
    "\"1h30\"",
    "\"done\"",
    "\"end\"",
    "\"decision\"",
    "\"checklist\"",
    "\"record\"",
    "\"evidence\"",
    "\"command\"",
    "\"contact\"",
    "\"transfer\"",
    "\"instruction\"",
    "\"rm -rf /\"",
    "\"eog {{evidence_path}}\"",
    "\"sh -c 'ls {{host}}'\"",
    "\"ls | sort > x\"",
    "[\"sudo\", \"env\", \"timeout\", \"5\", \"shred\", \"x\"]",
    "\"{{\"",
    "\"{{Nope}}\"",
    "\"{{nope}}\"",
    "\"http://example.org\"",
    "\"viewed\"",
    "\"yesno\"",
    "\"NL\"",
    "\"nl\"",
    "\"XX\"",
    "\"\u{1b}[31m\"",
    "\"\u{202e}\"",
    "\"漢字\"",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "\"unterminated",
    "",
];

/// Keys the runbook language knows, and near misses.
const KEYS: &[&str] = &[
    "id",
    "kind",
    "next",
    "nxt",
    "title",
    "body",
    "items",
    "choices",
    "fields",
    "run",
    "paths",
    "hashes",
    "role",
    "to",
    "purpose",
    "sources",
    "start",
    "format",
    "within",
    "warn",
    "met_by",
    "reached_by",
    "from",
    "at",
    "after",
    "expected",
    "expect",
    "reason",
    "why",
    "fact",
    "type",
    "options",
    "sets",
    "timeout",
    "changes_system",
    "evidence",
    "label",
    "default",
    "runbook",
    "runbook_injects",
    "jurisdictions",
    "translation_of",
    "step",
    "choice",
    "\"quoted key\"",
    "a.b.c",
    "[[steps]]",
    "[runbook]",
    "[scenario]",
    "[[steps.choices]]",
    "[[injects]]",
    "[[milestones]]",
    "[[expected]]",
    "[variables.x]",
    "[jurisdictions.NL]",
];

fn edit() -> impl Strategy<Value = Edit> {
    let i = || any::<Index>();
    prop_oneof![
        2 => i().prop_map(Edit::DeleteLine),
        2 => i().prop_map(Edit::DuplicateLine),
        2 => (i(), i()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        1 => (i(), i()).prop_map(|(a, b)| Edit::MoveLine(a, b)),
        4 => (i(), prop_oneof![
            3 => proptest::sample::select(VALUES).prop_map(str::to_owned),
            1 => hostile_text().prop_map(|t| format!("{t:?}")),
        ]).prop_map(|(a, v)| Edit::Value(a, v)),
        2 => (i(), proptest::sample::select(KEYS)).prop_map(|(a, k)| Edit::Key(a, k.to_owned())),
        3 => (i(), i(), prop_oneof![
            proptest::sample::select(HOSTILE).prop_map(str::to_owned),
            hostile_text(),
        ]).prop_map(|(a, b, t)| Edit::Insert(a, b, t)),
        2 => (i(), i(), i()).prop_map(|(a, b, c)| Edit::Graft(a, b, c)),
        1 => i().prop_map(Edit::Truncate),
    ]
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    for edit in edits {
        let n = lines.len();
        match edit {
            Edit::DeleteLine(a) if n > 1 => {
                lines.remove(a.index(n));
            }
            Edit::DeleteLine(_) => {}
            Edit::DuplicateLine(a) => {
                let at = a.index(n);
                let copy = lines[at].clone();
                lines.insert(at, copy);
            }
            Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
            Edit::MoveLine(a, b) => {
                let line = lines.remove(a.index(n));
                lines.insert(b.index(n), line);
            }
            Edit::Value(a, value) => {
                // The nearest line at or after `a` that has a value.
                let start = a.index(n);
                if let Some(at) = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&k| lines[k].contains('='))
                {
                    let key = lines[at].split('=').next().unwrap_or_default().to_owned();
                    lines[at] = format!("{key}= {value}");
                }
            }
            Edit::Key(a, key) => {
                let at = a.index(n);
                let rest = lines[at].split_once('=').map(|(_, v)| v.to_owned());
                lines[at] = match rest {
                    Some(value) if !key.starts_with('[') => format!("{key} ={value}"),
                    _ => key.clone(),
                };
            }
            Edit::Insert(a, b, piece) => {
                let line = &mut lines[a.index(n)];
                let chars = line.chars().count();
                let at = line
                    .char_indices()
                    .nth(b.index(chars + 1))
                    .map_or(line.len(), |(i, _)| i);
                line.insert_str(at, piece);
            }
            Edit::Graft(which, from, to) => {
                let (_, other) = seeds()[which.index(seeds().len())];
                let other: Vec<&str> = other.lines().collect();
                if !other.is_empty() {
                    let line = other[from.index(other.len())].to_owned();
                    lines.insert(to.index(n + 1), line);
                }
            }
            Edit::Truncate(a) => {
                let keep = a.index(n) + 1;
                lines.truncate(keep);
                if let Some(last) = lines.last_mut() {
                    let chars = last.chars().count();
                    let cut = last
                        .char_indices()
                        .nth(a.index(chars + 1))
                        .map_or(last.len(), |(i, _)| i);
                    last.truncate(cut);
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(config(256))]

    /// Any Unicode text at all, and any bytes read as the CLI reads a file that is not UTF-8.
    #[test]
    fn loaders_take_any_text(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        load_everything(&text);
        load_everything(&String::from_utf8_lossy(&bytes));
    }

    /// Every shipped runbook and scenario, with lines deleted, duplicated, swapped and moved,
    /// values and keys replaced, hostile text inserted, lines of other files grafted in, and
    /// the end cut off.
    #[test]
    fn loaders_take_damaged_runbooks(
        seed in any::<Index>(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let (_, text) = seeds()[seed.index(seeds().len())];
        load_everything(&apply_edits(text, &edits));
    }
}

/// The properties hold for the files as shipped too: no diagnostic at all but for those the
/// damaged files have, and every span inside the text.
#[test]
fn the_shipped_files_load_cleanly() {
    for (name, text) in seeds() {
        load_everything(text);
        let checked = if custody::runbook::is_scenario(text) {
            Scenario::parse(text, Ok(flagship())).diagnostics
        } else {
            Runbook::parse(text).diagnostics
        };
        assert!(checked.iter().all(|d| !d.is_error()), "{name}: {checked:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// (b) The journal reader and `verify`
// ---------------------------------------------------------------------------------------------

/// A journal made by custody (a fixture written through the library by `tests/report.rs`'s
/// scenarios), with its runbook copy.
struct Journal {
    name: &'static str,
    bytes: &'static [u8],
    runbook: &'static [u8],
    final_hash: Digest,
    /// Where each line starts, and one past the end.
    bounds: Vec<usize>,
}

fn journals() -> &'static [Journal] {
    static JOURNALS: OnceLock<Vec<Journal>> = OnceLock::new();
    JOURNALS.get_or_init(|| {
        let made = |name, bytes: &'static [u8], runbook| {
            let events = Scanner::new(bytes)
                .read_all()
                .expect("the fixture is intact");
            let mut bounds = vec![0];
            bounds.extend(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            );
            Journal {
                name,
                bytes,
                runbook,
                final_hash: events.last().expect("events").hash,
                bounds,
            }
        };
        vec![
            // An exercise, not sealed (9 KB).
            made(
                "exercise",
                include_bytes!("fixtures/reports/exercise/journal.jsonl"),
                include_bytes!("fixtures/reports/exercise/runbook.toml"),
            ),
            // A real incident, sealed (31 KB).
            made(
                "real",
                include_bytes!("fixtures/reports/real/journal.jsonl"),
                include_bytes!("fixtures/reports/real/runbook.toml"),
            ),
        ]
    })
}

/// A change to a journal's bytes.
#[derive(Debug, Clone)]
enum Damage {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
    RemoveLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// A line of the other journal put in.
    Graft(Index, Index),
    Append(Vec<u8>),
    /// A string of the line replaced by hostile text (the hash is then wrong).
    Text(Index, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    let i = || any::<Index>();
    prop_oneof![
        4 => (i(), 0u8..8).prop_map(|(a, bit)| Damage::FlipBit(a, bit)),
        2 => (i(), any::<u8>()).prop_map(|(a, b)| Damage::SetByte(a, b)),
        2 => (i(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(a, b)| Damage::Insert(a, b)),
        2 => (i(), 1usize..200).prop_map(|(a, n)| Damage::Delete(a, n)),
        2 => i().prop_map(Damage::Truncate),
        2 => i().prop_map(Damage::RemoveLine),
        1 => i().prop_map(Damage::DuplicateLine),
        2 => (i(), i()).prop_map(|(a, b)| Damage::SwapLines(a, b)),
        1 => (i(), i()).prop_map(|(a, b)| Damage::Graft(a, b)),
        1 => proptest::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
        2 => (i(), hostile_text()).prop_map(|(a, t)| Damage::Text(a, t)),
    ]
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

#[allow(clippy::many_single_char_names)] // a, b: the two places of a damage
fn apply_damage(journal: &Journal, damages: &[Damage]) -> Vec<u8> {
    let mut bytes = journal.bytes.to_vec();
    for damage in damages {
        let n = bytes.len();
        match damage {
            Damage::FlipBit(a, bit) if n > 0 => bytes[a.index(n)] ^= 1 << bit,
            Damage::SetByte(a, b) if n > 0 => bytes[a.index(n)] = *b,
            Damage::FlipBit(..) | Damage::SetByte(..) => {}
            Damage::Insert(a, more) => {
                let at = a.index(n + 1);
                bytes.splice(at..at, more.iter().copied());
            }
            Damage::Delete(a, len) => {
                let at = a.index(n + 1);
                bytes.drain(at..(at + len).min(n));
            }
            Damage::Truncate(a) => bytes.truncate(a.index(n + 1)),
            Damage::RemoveLine(a) | Damage::DuplicateLine(a) => {
                let mut lines = lines_of(&bytes);
                if !lines.is_empty() {
                    let at = a.index(lines.len());
                    if matches!(damage, Damage::RemoveLine(_)) {
                        lines.remove(at);
                    } else {
                        let copy = lines[at].clone();
                        lines.insert(at, copy);
                    }
                }
                bytes = lines.concat();
            }
            Damage::SwapLines(a, b) => {
                let mut lines = lines_of(&bytes);
                if !lines.is_empty() {
                    let (x, y) = (a.index(lines.len()), b.index(lines.len()));
                    lines.swap(x, y);
                }
                bytes = lines.concat();
            }
            Damage::Graft(from, to) => {
                let other = journals()
                    .iter()
                    .find(|j| j.name != journal.name)
                    .unwrap_or(journal);
                let theirs = lines_of(other.bytes);
                let mut lines = lines_of(&bytes);
                let at = to.index(lines.len() + 1);
                lines.insert(at, theirs[from.index(theirs.len())].clone());
                bytes = lines.concat();
            }
            Damage::Append(more) => bytes.extend_from_slice(more),
            Damage::Text(a, text) => {
                // The string value that holds the byte `a`, replaced.
                let quotes: Vec<usize> = bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'"')
                    .map(|(i, _)| i)
                    .collect();
                if quotes.len() >= 2 {
                    let k = a.index(quotes.len() - 1);
                    let json = serde_json::to_string(text).unwrap();
                    bytes.splice(quotes[k]..=quotes[k + 1], json.into_bytes());
                }
            }
        }
    }
    bytes
}

fn scan(bytes: &[u8]) -> Scan {
    let mut s = Scanner::new(bytes);
    let problem = loop {
        match s.next_link() {
            Ok(Some(link)) => {
                // The event decoded is the line read.
                let event = link.as_event();
                assert_eq!(event.hash, link.hash);
                assert_eq!(event.seq, link.seq);
            }
            Ok(None) => break None,
            Err(ScanError::Bad(p)) => break Some(p),
            Err(ScanError::Io(e)) => panic!("reading from memory failed: {e}"),
        }
    };
    Scan {
        events: s.events(),
        offset: s.offset(),
        last_hash: s.last_hash(),
        problem,
    }
}

/// Writes a session folder (journal and runbook copy) for `verify` and `report::load`.
fn session_folder(dir: &Path, journal: &[u8], runbook: &[u8]) {
    std::fs::write(dir.join("journal.jsonl"), journal).unwrap();
    std::fs::write(dir.join("runbook.toml"), runbook).unwrap();
}

/// The reader, `verify` and the report of a damaged journal: never a panic; the two readers
/// agree; a changed journal is never intact against its final hash; and without that hash,
/// only a journal cut at the end of a line (the documented limit) can pass.
fn check_damaged(journal: &Journal, bytes: &[u8], runbook: &[u8], dir: &Path) {
    let scanned = scan(bytes);
    assert_eq!(scan_ahead(bytes), scanned, "the two readers disagree");
    assert!(scanned.offset <= bytes.len() as u64);
    if scanned.problem.is_none() {
        // Every line read is a line custody wrote, in its place: a prefix of the journal.
        assert!(
            journal.bytes.starts_with(bytes),
            "{}: a changed journal reads as whole ({} events)",
            journal.name,
            scanned.events
        );
    }
    session_folder(dir, bytes, runbook);
    let unchanged = bytes == journal.bytes && runbook == journal.runbook;
    let against_hash = custody::journal::verify(dir, None, Some(journal.final_hash))
        .expect("the journal can be read");
    assert_eq!(
        against_hash.intact(),
        unchanged,
        "{}: intact = {} for a journal that was {}changed: {:?}",
        journal.name,
        against_hash.intact(),
        if unchanged { "not " } else { "" },
        against_hash.problem.as_ref().map(Problem::describe)
    );
    let alone = custody::journal::verify(dir, None, None).expect("the journal can be read");
    if alone.intact() {
        let cut_at_line = journal.bounds.contains(&bytes.len());
        assert!(
            runbook == journal.runbook && cut_at_line && journal.bytes.starts_with(bytes),
            "{}: a journal changed otherwise than cut at the end of a line is intact",
            journal.name
        );
    }
    assert_eq!(alone.events, scanned.events);
    assert_eq!(alone.final_hash, scanned.last_hash);
    assert_eq!(alone.problem, scanned.problem);
    // The report of what can be read (`custody report --damaged`).
    if let Ok(input) = report::load(dir)
        && let Some(r) = input.report()
    {
        for format in [Format::Markdown, Format::Html, Format::Json] {
            let bytes = report::render(&r, format).expect("renders");
            if format == Format::Json {
                serde_json::from_slice::<serde_json::Value>(&bytes).expect("the JSON parses");
            }
        }
    }
}

/// The line with `body` (a line without its `,"hash":...}` ending) and its own hash.
fn with_hash(body: &[u8]) -> Vec<u8> {
    let mut hashed = body.to_vec();
    hashed.push(b'}');
    let hash = Digest::of(&hashed);
    let mut line = body.to_vec();
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hash.to_hex().as_bytes());
    line.extend_from_slice(b"\"}");
    line
}

/// JSON that a changed line may hold.
const JSON_PIECES: &[&str] = &[
    "null",
    "true",
    "0",
    "-1",
    "1e400",
    "18446744073709551616",
    "0.5",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\\"\"",
    "{}",
    "[]",
    "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
    ",",
    ":",
    " ",
    "\"hash\":\"0000000000000000000000000000000000000000000000000000000000000000\",",
    "\"seq\":1,",
    "\"kind\":\"note_added\",",
    "\"extra\":{\"a\":[1,2]},",
    "\"2026-11-23T09:15:02.123456Z\"",
    "\"2026-11-23T09:15:02Z\"",
    "\"+01:00\"",
    "\"Z\"",
    "\"operator\"",
    "\"custody\"",
    "\u{e9}",
    "\u{202e}",
];

#[derive(Debug, Clone)]
enum LineEdit {
    /// A string token (from one quote to another) replaced by a JSON string of this text.
    Text(Index, String),
    /// A range replaced by a piece of JSON.
    Piece(Index, usize, &'static str),
    Delete(Index, usize),
}

fn line_edit() -> impl Strategy<Value = LineEdit> {
    let i = || any::<Index>();
    prop_oneof![
        3 => (i(), hostile_text()).prop_map(|(a, t)| LineEdit::Text(a, t)),
        3 => (i(), 0usize..12, proptest::sample::select(JSON_PIECES)).prop_map(|(a, n, p)| LineEdit::Piece(a, n, p)),
        1 => (i(), 1usize..24).prop_map(|(a, n)| LineEdit::Delete(a, n)),
    ]
}

fn edit_line(body: &mut Vec<u8>, edit: &LineEdit) {
    let n = body.len();
    match edit {
        LineEdit::Text(a, text) => {
            let quotes: Vec<usize> = (0..n).filter(|&i| body[i] == b'"').collect();
            if quotes.len() >= 2 {
                let k = a.index(quotes.len() - 1);
                let json = serde_json::to_string(text).unwrap();
                body.splice(quotes[k]..=quotes[k + 1], json.into_bytes());
            }
        }
        LineEdit::Piece(a, len, piece) => {
            let at = a.index(n + 1);
            body.splice(at..(at + len).min(n), piece.bytes());
        }
        LineEdit::Delete(a, len) => {
            let at = a.index(n + 1);
            body.drain(at..(at + len).min(n));
        }
    }
}

proptest! {
    #![proptest_config(config(192))]

    /// Damaged journals: bits flipped, bytes set, inserted and deleted, lines removed,
    /// duplicated, swapped and grafted from another journal, text replaced, the end cut or
    /// added to; and sometimes the runbook copy changed too.
    #[test]
    fn a_changed_journal_is_never_intact(
        which in any::<Index>(),
        damages in proptest::collection::vec(damage(), 1..4),
        runbook_flip in proptest::option::weighted(0.1, any::<Index>()),
    ) {
        let journal = &journals()[which.index(journals().len())];
        let bytes = apply_damage(journal, &damages);
        let mut runbook = journal.runbook.to_vec();
        if let Some(at) = runbook_flip {
            let i = at.index(runbook.len());
            runbook[i] ^= 0x20;
        }
        let dir = scratch("journal");
        check_damaged(journal, &bytes, &runbook, &dir);
    }

    /// Lines changed inside and given a correct hash again, so that the decoder meets them:
    /// it never panics, and the fast decoder of lines written as custody writes them agrees
    /// with the general one (reached by a space after the opening brace).
    #[test]
    fn changed_lines_with_a_good_hash_decode_as_serde_would(
        which in any::<Index>(),
        line in any::<Index>(),
        edits in proptest::collection::vec(line_edit(), 1..4),
    ) {
        let journal = &journals()[which.index(journals().len())];
        let lines = lines_of(journal.bytes);
        let original = &lines[line.index(lines.len())];
        let suffix = custody::journal::event::HASH_SUFFIX_LEN + 1; // and the newline
        let mut body = original[..original.len() - suffix].to_vec();
        for e in &edits {
            edit_line(&mut body, e);
        }
        let fast = Event::from_line(&with_hash(&body));
        let mut spaced = body.clone();
        if spaced.first() == Some(&b'{') {
            spaced.insert(1, b' ');
        }
        let general = Event::from_line(&with_hash(&spaced));
        match (fast, general) {
            (Ok(mut a), Ok(mut b)) => {
                a.hash = Digest::ZERO;
                b.hash = Digest::ZERO;
                prop_assert_eq!(a, b);
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(
                false,
                "the two decoders disagree on {:?}: {:?} / {:?}",
                String::from_utf8_lossy(&body),
                a.map(|e| e.body.kind()),
                b.map(|e| e.body.kind())
            ),
        }
        // The whole journal with this line in place: the chain reader takes it too.
        let mut journal_bytes = Vec::new();
        for (k, l) in lines.iter().enumerate() {
            if k == line.index(lines.len()) {
                journal_bytes.extend_from_slice(&with_hash(&body));
                journal_bytes.push(b'\n');
            } else {
                journal_bytes.extend_from_slice(l);
            }
        }
        let scanned = scan(&journal_bytes);
        prop_assert_eq!(scan_ahead(&journal_bytes), scanned);
    }
}

#[test]
fn the_journals_are_intact_before_any_change() {
    for journal in journals() {
        let dir = scratch(&format!("intact-{}", journal.name));
        check_damaged(journal, journal.bytes, journal.runbook, &dir);
        session_folder(&dir, journal.bytes, journal.runbook);
        let v = custody::journal::verify(&dir, None, Some(journal.final_hash)).unwrap();
        assert!(v.intact(), "{}: {:?}", journal.name, v.problem);
    }
}

// ---------------------------------------------------------------------------------------------
// (c) Reports and after-action reviews of journals with hostile text
// ---------------------------------------------------------------------------------------------

/// A report's input read once from a fixture folder.
fn report_input(name: &str) -> &'static report::Input {
    static INPUTS: OnceLock<Vec<(String, report::Input)>> = OnceLock::new();
    let inputs = INPUTS.get_or_init(|| {
        ["real", "exercise", "hostile"]
            .into_iter()
            .map(|n| {
                let input = report::load(&root().join("tests/fixtures/reports").join(n))
                    .expect("the fixture loads");
                (n.to_owned(), input)
            })
            .collect()
    });
    &inputs.iter().find(|(n, _)| n == name).expect("a fixture").1
}

fn review_input() -> &'static report::review::SessionInput {
    static INPUT: OnceLock<report::review::SessionInput> = OnceLock::new();
    INPUT.get_or_init(|| {
        report::review::load(&root().join("tests/fixtures/review/night-shift"))
            .expect("the fixture loads")
    })
}

fn validator(schema: &str) -> &'static jsonschema::Validator {
    static REPORT: OnceLock<jsonschema::Validator> = OnceLock::new();
    static REVIEW: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = if schema == "report" { &REPORT } else { &REVIEW };
    cell.get_or_init(|| {
        let text =
            std::fs::read_to_string(root().join(format!("docs/{schema}.schema.json"))).unwrap();
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::validator_for(&schema).expect("a valid schema")
    })
}

fn assert_valid(schema: &str, json: &[u8]) {
    let value: serde_json::Value = serde_json::from_slice(json).expect("the JSON parses");
    let errors: Vec<String> = validator(schema)
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "the {schema} JSON does not validate: {}",
        errors.join("; ")
    );
}

/// Members of `data` that name steps, choices, injects and deadlines, or say what kind a value
/// is: changed, they make another session rather than the same one with other text. One case in
/// eight changes them too.
const STRUCTURAL: &[&str] = &[
    "next",
    "choice",
    "inject",
    "deadline",
    "mode",
    "purpose",
    "change",
    "session",
    "id",
    "jurisdiction",
    "format",
];

/// Hostile text put into events: (event, string of that event, text), and whether structural
/// members may be changed too.
type TextPlan = (Vec<(Index, Index, String)>, bool);

fn text_plan() -> impl Strategy<Value = TextPlan> {
    (
        proptest::collection::vec((any::<Index>(), any::<Index>(), hostile_text()), 1..10),
        proptest::bool::weighted(0.125),
    )
}

/// A plan for the PDF: fewer and shorter texts (at most 400 characters each). Typesetting is
/// what a PDF case costs, and a text of thousands of characters from many scripts, each looked
/// up in every font, takes minutes in a debug build; long texts are the other formats' cases.
fn pdf_text_plan() -> impl Strategy<Value = TextPlan> {
    (
        proptest::collection::vec(
            (
                any::<Index>(),
                any::<Index>(),
                hostile_text().prop_map(|t| t.chars().take(400).collect()),
            ),
            1..5,
        ),
        proptest::bool::weighted(0.125),
    )
}

/// The paths of the string leaves of a JSON value, with the member each is under.
fn string_leaves(value: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        serde_json::Value::String(_) => out.push(path.clone()),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                string_leaves(item, path, out);
                path.pop();
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                string_leaves(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set_leaf(value: &mut serde_json::Value, path: &[String], text: &str) {
    let mut at = value;
    for part in path {
        at = match at {
            serde_json::Value::Array(items) => &mut items[part.parse::<usize>().unwrap()],
            serde_json::Value::Object(map) => map.get_mut(part).unwrap(),
            _ => return,
        };
    }
    *at = serde_json::Value::String(text.to_owned());
}

/// The events with hostile text put in as planned. A string of a type that refuses the text
/// (a hash, a time, an enumeration) keeps its value.
fn with_text(events: &[Event], plan: &TextPlan) -> Vec<Event> {
    let (changes, structural) = plan;
    let mut events = events.to_vec();
    for (which, leaf, text) in changes {
        let at = which.index(events.len());
        let event = &mut events[at];
        let mut value = serde_json::to_value(&event.body).unwrap();
        let mut leaves = Vec::new();
        string_leaves(&value["data"], &mut vec!["data".to_owned()], &mut leaves);
        leaves.retain(|path| {
            *structural || !path.iter().any(|part| STRUCTURAL.contains(&part.as_str()))
        });
        // The actor's name is a leaf too (the last one).
        let pick = leaf.index(leaves.len() + 1);
        if pick == leaves.len() {
            event.actor.name = Some(text.clone());
            continue;
        }
        set_leaf(&mut value, &leaves[pick], text);
        if let Ok(body) = serde_json::from_value::<Body>(value) {
            event.body = body;
        }
    }
    events
}

fn render_report(input: &report::Input, events: &[Event], formats: &[Format]) {
    let Some(r) = report::build(events, input.runbook.as_ref(), &input.checked) else {
        return;
    };
    for &format in formats {
        let bytes = report::render(&r, format).expect("the report renders");
        assert!(!bytes.is_empty());
        // The same journal gives the same bytes.
        assert_eq!(
            report::render(&r, format).expect("the report renders"),
            bytes,
            "{format} is not deterministic"
        );
        match format {
            Format::Json => assert_valid("report", &bytes),
            Format::Pdf => assert!(bytes.starts_with(b"%PDF-")),
            Format::Markdown | Format::Html => {
                assert!(std::str::from_utf8(&bytes).is_ok());
            }
        }
    }
}

fn render_review(events: Vec<Event>, formats: &[Format]) {
    let input = report::review::SessionInput {
        events,
        ..review_input().clone()
    };
    let Ok(review) = report::review::build(std::slice::from_ref(&input)) else {
        return;
    };
    for &format in formats {
        let bytes = report::review::render(&review, format).expect("the review renders");
        assert!(!bytes.is_empty());
        match format {
            Format::Json => assert_valid("review", &bytes),
            Format::Pdf => assert!(bytes.starts_with(b"%PDF-")),
            Format::Markdown | Format::Html => {
                let text = std::str::from_utf8(&bytes).unwrap();
                assert!(text.contains("EXERCISE"), "a review is always marked");
            }
        }
    }
}

const TEXT_FORMATS: [Format; 3] = [Format::Markdown, Format::Html, Format::Json];

proptest! {
    #![proptest_config(config(128))]

    /// Reports of a real incident, an exercise and a hostile session, with hostile text in
    /// notes, reasons, fields, contacts, names, paths and every other string of the events.
    #[test]
    fn reports_render_any_text(which in 0usize..3, plan in text_plan()) {
        let input = report_input(["real", "exercise", "hostile"][which]);
        render_report(input, &with_text(&input.events, &plan), &TEXT_FORMATS);
    }

    /// The after-action review of the night-shift exercise, with hostile text likewise.
    #[test]
    fn reviews_render_any_text(plan in text_plan()) {
        render_review(with_text(&review_input().events, &plan), &TEXT_FORMATS);
    }

    /// Reports and reviews of journals cut short after any event.
    #[test]
    fn reports_render_any_prefix(which in 0usize..3, cut in any::<Index>()) {
        let input = report_input(["real", "exercise", "hostile"][which]);
        let n = cut.index(input.events.len()) + 1;
        render_report(input, &input.events[..n], &TEXT_FORMATS);
        let events = &review_input().events;
        render_review(events[..=cut.index(events.len())].to_vec(), &TEXT_FORMATS);
    }
}

#[cfg(feature = "pdf")]
proptest! {
    #![proptest_config(config_from("PROPTEST_PDF_CASES", 2))]

    /// The PDF report and review with hostile text: sampled, since each case typesets a whole
    /// document.
    #[test]
    fn pdfs_render_any_text(which in 0usize..3, plan in pdf_text_plan()) {
        let input = report_input(["real", "exercise", "hostile"][which]);
        render_report(input, &with_text(&input.events, &plan), &[Format::Pdf]);
        render_review(with_text(&review_input().events, &plan), &[Format::Pdf]);
    }
}

/// Found by `reports_render_any_text`: an `evidence_recorded` event naming a hash function
/// custody does not compute decoded, and the JSON report then listed it where its schema allows
/// only `sha256`, `sha1` and `md5`. Such a line is now not well-formed, like any `data` that
/// does not fit its kind.
#[test]
fn evidence_naming_an_unknown_hash_function_does_not_decode() {
    const NEEDLE: &[u8] = b"\"algorithms\":[";
    let journal = journals().iter().find(|j| j.name == "real").unwrap();
    let lines = lines_of(journal.bytes);
    let line = lines
        .iter()
        .find(|l| l.windows(NEEDLE.len()).any(|w| w == NEEDLE))
        .expect("an evidence event");
    let body = &line[..line.len() - custody::journal::event::HASH_SUFFIX_LEN - 1];
    let text = String::from_utf8(body.to_vec()).unwrap();
    let start = text.find("\"algorithms\":[").unwrap() + "\"algorithms\":".len();
    let end = start + text[start..].find(']').unwrap() + 1;
    for (algorithms, decodes) in [
        ("[\"sha256\",\"sha1\",\"md5\"]", true),
        ("[]", true),
        ("[\"crc32\"]", false),
        ("[\"sha256\",\"SHA1\"]", false),
    ] {
        let changed = format!("{}{algorithms}{}", &text[..start], &text[end..]);
        let decoded = Event::from_line(&with_hash(changed.as_bytes()));
        assert_eq!(decoded.is_ok(), decodes, "{algorithms}: {decoded:?}");
    }
}
