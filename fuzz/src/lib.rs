//! What the fuzz targets check, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, which
//! call these functions) and by `tests/fuzz_corpus.rs` (which includes this file with `#[path]`
//! and feeds it every file of `fuzz/corpus/` and `fuzz/regressions/`), so that the two never
//! drift apart. Only `custody`, `serde_json` and `std` are used: the main crate's tests have
//! them too.
//!
//! Every function takes any bytes at all and panics only when custody breaks a promise: a panic
//! inside custody, or one of the cheap invariants asserted here (a diagnostic inside the text,
//! the two journal readers agreeing, rendering twice giving the same bytes, ...).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a fuzz check says plainly what it expects

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use custody::journal::event::HASH_SUFFIX_LEN;
use custody::journal::reader::{Problem, ReadAhead, ScanError, Scanner};
use custody::journal::{Body, Digest, Draft, Event, Mode};
use custody::report::{self, Format};
use custody::runbook::{Diagnostic, Runbook, Scenario, SourceText, bundled};

/// A target's check: any bytes at all; a panic is a bug found.
pub type Check = fn(&[u8]);

/// The targets by name: the name of the cargo-fuzz target, of its folder under `fuzz/corpus/`
/// and `fuzz/regressions/`, and the check it runs.
pub const TARGETS: &[(&str, Check)] = &[
    ("runbook", runbook),
    ("journal", journal),
    ("report", report),
];

// ---------------------------------------------------------------------------------------------
// The runbook and scenario loaders
// ---------------------------------------------------------------------------------------------

/// The bundled runbooks, parsed once (`bundled::find` parses them all at every call).
fn bundled_runbooks() -> &'static [(bundled::Bundled, Runbook)] {
    static RUNBOOKS: OnceLock<Vec<(bundled::Bundled, Runbook)>> = OnceLock::new();
    RUNBOOKS.get_or_init(|| {
        bundled::ALL
            .iter()
            .map(|b| (*b, b.check().runbook.expect("a bundled runbook is valid")))
            .collect()
    })
}

fn bundled_runbook(id: &str) -> Option<&'static (bundled::Bundled, Runbook)> {
    bundled_runbooks().iter().find(|(_, r)| r.id == id)
}

/// The bundled scenarios, checked against each bundled runbook they exercise: (runbook id,
/// file, scenario).
fn bundled_scenarios() -> &'static [(String, bundled::Bundled, Scenario)] {
    static SCENARIOS: OnceLock<Vec<(String, bundled::Bundled, Scenario)>> = OnceLock::new();
    SCENARIOS.get_or_init(|| {
        bundled_runbooks()
            .iter()
            .flat_map(|(_, r)| {
                bundled::scenarios_for(r)
                    .into_iter()
                    .map(|(b, s)| (r.id.clone(), b, s))
            })
            .collect()
    })
}

fn bundled_scenario(
    runbook: &str,
    id: &str,
) -> Option<&'static (String, bundled::Bundled, Scenario)> {
    bundled_scenarios()
        .iter()
        .find(|(r, _, s)| r == runbook && s.id == id)
}

/// The flagship runbook, which the bundled scenario exercises.
fn flagship() -> &'static Runbook {
    &bundled_runbooks()[0].1
}

/// A runbook file's bytes, read as `custody check` reads them (`read_runbook` in
/// `src/main.rs`): UTF-8 text is loaded; other bytes get the "not UTF-8" diagnostic at the first
/// bad byte of the lossy text. The lossy text is loaded too, as `tests/props.rs` does.
pub fn runbook(data: &[u8]) {
    match std::str::from_utf8(data) {
        Ok(text) => load_everything(text),
        Err(e) => {
            let lossy = String::from_utf8_lossy(data);
            let offset = e.valid_up_to();
            let source = SourceText::new("fuzz.toml", &lossy);
            let diagnostic = Diagnostic::error(offset..offset + 1, "the file is not UTF-8 text")
                .with_help("save the runbook as UTF-8");
            // This span ends inside the replacement character: the renderer must cope.
            check_location(&lossy, &source, &diagnostic);
            load_everything(&lossy);
        }
    }
}

/// Loads `text` as a runbook and as a scenario (against the flagship, and with no runbook), as
/// `custody check` does, and checks every diagnostic.
pub fn load_everything(text: &str) {
    let source = SourceText::new("fuzz.toml", text);
    let checked = Runbook::parse(text);
    for d in &checked.diagnostics {
        check_diagnostic(text, &source, d);
    }
    assert_eq!(checked.runbook.is_some(), checked.errors() == 0);
    assert!(
        checked
            .diagnostics
            .windows(2)
            .all(|w| w[0].span.start <= w[1].span.start),
        "diagnostics are listed in the order of the file"
    );
    // The same text, the same diagnostics.
    assert_eq!(Runbook::parse(text).diagnostics, checked.diagnostics);

    for against in [true, false] {
        let target = if against {
            Ok(flagship())
        } else {
            Err("no runbook (a fuzz test)".to_owned())
        };
        let scenario = Scenario::parse(text, target);
        for d in &scenario.diagnostics {
            check_diagnostic(text, &source, d);
        }
        assert_eq!(scenario.scenario.is_some(), scenario.errors() == 0);
        if let Some(s) = &scenario.scenario {
            let _ = s.apply_to(flagship());
        }
    }

    // `custody check` on a scenario: against the bundled runbook it names.
    if custody::runbook::is_scenario(text) {
        let id = Scenario::runbook_of(text).unwrap_or_default();
        let target = bundled_runbook(&id)
            .map(|(_, r)| r)
            .ok_or_else(|| format!("no bundled runbook has the id {id}"));
        let scenario = Scenario::parse(text, target);
        for d in &scenario.diagnostics {
            check_diagnostic(text, &source, d);
        }
    } else {
        let _ = Scenario::runbook_of(text);
    }

    // A runbook that loads: the bundled scenario checked against it.
    if let Some(r) = &checked.runbook {
        for b in bundled::SCENARIOS {
            let scenario = Scenario::parse(b.text, Ok(r));
            let source = SourceText::new(b.file, b.text);
            for d in &scenario.diagnostics {
                check_location(b.text, &source, d);
            }
            if let Some(s) = &scenario.scenario {
                let _ = s.apply_to(r);
            }
        }
    }
}

/// What the loaders promise for a diagnostic of theirs: its span inside the text, on
/// character boundaries, a message, and a rendering that names its place.
fn check_diagnostic(text: &str, source: &SourceText<'_>, d: &Diagnostic) {
    let span = &d.span;
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "span {span:?} of `{}` is not inside the text ({} bytes)",
        d.message,
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "span {span:?} of `{}` cuts a character",
        d.message
    );
    assert!(!d.message.trim().is_empty(), "an empty message");
    check_location(text, source, d);
}

/// The line and column of a diagnostic are inside the text, its rendering starts with them and
/// quotes that line, and no control or bidi character reaches the terminal.
fn check_location(text: &str, source: &SourceText<'_>, d: &Diagnostic) {
    let at = source.location(d.span.start);
    let lines = text.split('\n').count();
    assert!(
        at.line >= 1 && at.line <= lines,
        "line {} of a text of {lines} lines",
        at.line
    );
    let line = text.split('\n').nth(at.line - 1).unwrap_or_default();
    assert!(
        at.column >= 1 && at.column <= line.chars().count() + 1,
        "column {} of a line of {} characters",
        at.column,
        line.chars().count()
    );
    let rendered = source.render(d);
    let head = format!(
        "{}:{}:{}: {}: ",
        source.name(),
        at.line,
        at.column,
        d.severity.label()
    );
    assert!(
        rendered.starts_with(&head),
        "`{rendered}` should start with `{head}`"
    );
    assert!(
        !rendered.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
        "control or bidi characters reach the terminal: {rendered:?}"
    );
    let quoted = rendered.lines().nth(2).unwrap_or_default();
    assert!(
        quoted.starts_with(&format!("{} | ", at.line)),
        "the quoted line is not line {}: {rendered}",
        at.line
    );
}

// ---------------------------------------------------------------------------------------------
// The journal reader and `verify`
// ---------------------------------------------------------------------------------------------

/// A journal's bytes, as they are and with every line given its right `seq`, `prev` and hash
/// ([`rechain`]: the fuzzer cannot forge SHA-256, so without it almost no changed line would
/// get past the hash check to the decoder): both readers, `Event::from_line` on every line,
/// and `verify` of a session folder holding them.
pub fn journal(data: &[u8]) {
    check_journal(data);
    let rechained = rechain(data);
    if rechained != data {
        check_journal(&rechained);
    }
}

/// What a reader made of a journal: the good events and their last hash, and the problem.
#[derive(Debug, PartialEq)]
pub struct Scan {
    pub events: u64,
    pub offset: u64,
    pub last_hash: Digest,
    pub problem: Option<Problem>,
}

/// Reads `bytes` with [`Scanner`], checking each good line against `Event::from_line`.
fn scan(bytes: &[u8]) -> (Scan, Vec<Event>) {
    let mut s = Scanner::new(bytes);
    let mut decoded = Vec::new();
    let problem = loop {
        match s.next_link() {
            Ok(Some(link)) => {
                let event = link.as_event();
                assert_eq!(event.hash, link.hash);
                assert_eq!(event.seq, link.seq);
                assert_eq!(
                    link.seq,
                    decoded.len() as u64 + 1,
                    "events are numbered from 1"
                );
                assert_eq!(link.kind, event.body.kind());
                assert!(link.offset + link.line.len() as u64 <= bytes.len() as u64);
                // The decoder on its own reads the line as the reader did.
                let alone = Event::from_line(link.line).expect("a good line decodes alone");
                assert_eq!(&alone, event, "Event::from_line and the reader disagree");
                round_trip(event);
                decoded.push(link.into_event());
            }
            Ok(None) => break None,
            Err(ScanError::Bad(p)) => break Some(p),
            Err(ScanError::Io(e)) => panic!("reading from memory failed: {e}"),
        }
    };
    let scan = Scan {
        events: s.events(),
        offset: s.offset(),
        last_hash: s.last_hash(),
        problem,
    };
    (scan, decoded)
}

/// An event the reader accepts, written again as the writer writes it (`Draft::seal`), reads
/// back as the same event: what custody can read, it can also write, and the other way round.
fn round_trip(event: &Event) {
    let draft = Draft {
        time: event.time,
        offset: event.offset,
        actor: event.actor.clone(),
        step: event.step.clone(),
        body: event.body.clone(),
    };
    let (line, sealed) = draft
        .seal(event.seq, event.prev)
        .expect("an event read is written again");
    let line = line
        .strip_suffix(b"\n")
        .expect("a written line ends in a newline");
    let read = Event::from_line(line).unwrap_or_else(|e| {
        panic!(
            "an event written again does not read back ({e:?}): {}",
            String::from_utf8_lossy(line)
        )
    });
    assert_eq!(read, sealed, "an event written again reads back otherwise");
    let mut unhashed = read;
    unhashed.hash = event.hash;
    assert_eq!(
        &unhashed,
        event,
        "an event written again is another event: {}",
        String::from_utf8_lossy(line)
    );
}

/// Reads `bytes` with [`ReadAhead`], the two-thread reader.
pub fn scan_ahead(bytes: &[u8]) -> Scan {
    let mut s = ReadAhead::new(Cursor::new(bytes.to_vec()));
    let problem = loop {
        match s.next_link() {
            Ok(Some(_)) => {}
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

fn check_journal(bytes: &[u8]) {
    let (scanned, events) = scan(bytes);
    assert_eq!(scan_ahead(bytes), scanned, "Scanner and ReadAhead disagree");
    assert_eq!(scanned.events, events.len() as u64);
    assert_eq!(
        scanned.last_hash,
        events.last().map_or(Digest::ZERO, |e| e.hash)
    );
    let len = bytes.len() as u64;
    assert!(scanned.offset <= len);
    match &scanned.problem {
        None => assert_eq!(scanned.offset, len, "a clean end is the end of the bytes"),
        Some(p) => {
            assert_eq!(
                p.offset, scanned.offset,
                "the bad line starts after the good ones"
            );
            assert_eq!(p.seq, scanned.events + 1, "the bad line is the next event");
            assert!(!p.describe().trim().is_empty());
        }
    }
    // `read_all` says the same.
    match Scanner::new(bytes).read_all() {
        Ok(all) => {
            assert!(scanned.problem.is_none(), "read_all took a bad journal");
            assert_eq!(all, events);
        }
        Err(ScanError::Bad(p)) => assert_eq!(Some(p), scanned.problem),
        Err(ScanError::Io(e)) => panic!("reading from memory failed: {e}"),
    }
    // The good lines alone are a good journal.
    let offset = usize::try_from(scanned.offset).expect("an offset in memory");
    let (prefix, _) = scan(&bytes[..offset]);
    assert_eq!(
        prefix.problem, None,
        "the good lines alone read with a problem"
    );
    assert_eq!(prefix.events, scanned.events);
    assert_eq!(prefix.last_hash, scanned.last_hash);
    // The decoder on any line at all.
    for line in bytes.split(|b| *b == b'\n') {
        if let Ok(event) = Event::from_line(line) {
            assert_eq!(
                Some(&line[line.len() - HASH_SUFFIX_LEN..]),
                hash_suffix(line)
            );
            let _ = event.body.kind();
        }
    }
    // `custody verify` of a session folder holding these bytes.
    if let Some(dir) = session_folder(bytes, events.first()) {
        let v = custody::journal::verify(&dir, None, None).expect("the journal can be read");
        assert_eq!(v.events, scanned.events, "verify and the reader disagree");
        assert_eq!(v.final_hash, scanned.last_hash);
        assert_eq!(v.problem, scanned.problem);
        assert_eq!(v.bytes, scanned.offset);
        let expect = custody::journal::verify(&dir, None, Some(scanned.last_hash))
            .expect("the journal can be read");
        assert_eq!(
            expect.expected_found,
            Some(scanned.events > 0),
            "the final hash is in the chain"
        );
    }
}

/// The `,"hash":"<64 hex>"}` ending of a line, if it has one.
fn hash_suffix(line: &[u8]) -> Option<&[u8]> {
    let cut = line.len().checked_sub(HASH_SUFFIX_LEN)?;
    let suffix = &line[cut..];
    let hex = suffix.strip_prefix(b",\"hash\":\"")?.strip_suffix(b"\"}")?;
    hex.iter().all(u8::is_ascii_hexdigit).then_some(suffix)
}

/// `bytes` with every line made a link of the chain: its first `"seq":<digits>` set to its
/// number, its last `"prev":"<64 hex>"` set to the hash of the line before, and its hash ending
/// (added when missing, in place of a closing `}`) set to its SHA-256. Newlines, and a last
/// line without one, are kept.
pub fn rechain(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 128);
    let mut prev = Digest::ZERO;
    for (n, piece) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let (line, newline) = match piece.strip_suffix(b"\n") {
            Some(line) => (line, true),
            None => (piece, false),
        };
        let body = if hash_suffix(line).is_some() {
            &line[..line.len() - HASH_SUFFIX_LEN]
        } else {
            line.strip_suffix(b"}").unwrap_or(line)
        };
        let mut body = body.to_vec();
        set_seq(&mut body, n as u64 + 1);
        set_prev(&mut body, prev);
        let mut hashed = body.clone();
        hashed.push(b'}');
        let hash = Digest::of(&hashed);
        out.extend_from_slice(&body);
        out.extend_from_slice(b",\"hash\":\"");
        out.extend_from_slice(hash.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        if newline {
            out.push(b'\n');
        }
        prev = hash;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn set_seq(body: &mut Vec<u8>, seq: u64) {
    const KEY: &[u8] = b"\"seq\":";
    if let Some(at) = find(body, KEY) {
        let start = at + KEY.len();
        let digits = body[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 {
            body.splice(start..start + digits, seq.to_string().into_bytes());
        }
    }
}

fn set_prev(body: &mut [u8], prev: Digest) {
    const KEY: &[u8] = b"\"prev\":\"";
    if let Some(at) = rfind(body, KEY) {
        let start = at + KEY.len();
        if body.len() >= start + 65 && body[start + 64] == b'"' {
            body[start..start + 64].copy_from_slice(prev.to_hex().as_bytes());
        }
    }
}

/// A file name custody itself would give a copy in the session folder. The first event names
/// the copies `verify` and the report read; a path out of the folder would make the fuzzer read
/// files of the machine it runs on (`/dev/zero` never ends), so such sessions get no folder.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && name != "journal.jsonl.minisig"
}

/// A folder of this thread's own, holding `journal` as `journal.jsonl` and the copies its first
/// event names (the bundled runbook and scenario of those ids, or the flagship's text). `None`
/// when the first event names a copy outside the folder.
fn session_folder(journal: &[u8], first: Option<&Event>) -> Option<PathBuf> {
    thread_local! {
        static DIR: PathBuf = {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("custody-fuzz-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a scratch folder");
            dir
        };
    }
    let mut copies = Vec::new();
    if let Some(Event {
        body: Body::SessionStarted(started),
        ..
    }) = first
    {
        let runbook =
            bundled_runbook(&started.runbook.id).map_or(bundled::ALL[0].text, |b| b.0.text);
        copies.push((started.runbook.file.as_str(), runbook));
        if let Some(s) = &started.scenario {
            let scenario = bundled_scenario(&started.runbook.id, &s.id)
                .map_or(bundled::SCENARIOS[0].text, |(_, b, _)| b.text);
            copies.push((s.file.as_str(), scenario));
        }
    }
    if !copies.iter().all(|(name, _)| plain_file_name(name)) {
        return None;
    }
    DIR.with(|dir| {
        for entry in std::fs::read_dir(dir)
            .expect("the scratch folder")
            .flatten()
        {
            std::fs::remove_file(entry.path()).expect("a scratch file removed");
        }
        std::fs::write(dir.join("journal.jsonl"), journal).expect("the journal written");
        for (name, text) in &copies {
            if *name != "journal.jsonl" {
                std::fs::write(dir.join(name), text).expect("a copy written");
            }
        }
        Some(dir.clone())
    })
}

// ---------------------------------------------------------------------------------------------
// Reports and after-action reviews
// ---------------------------------------------------------------------------------------------

/// The text formats (the PDF typesets a whole document: far too slow for a fuzzer).
const TEXT_FORMATS: [Format; 3] = [Format::Markdown, Format::Html, Format::Json];

/// A journal's bytes, rechained ([`rechain`]), read as `custody report --damaged` reads them
/// (the good events up to the first bad line). When they begin with `session_started`: the
/// report, built with the bundled runbook the session names (none when no bundled runbook has
/// that id: step titles are then their ids), rendered in Markdown, HTML and JSON, each twice
/// from two builds, which must give the same bytes; for an exercise, the after-action review
/// likewise, and the review of two such sessions side by side; and the report and review of a
/// session folder holding the bytes (`report::load`, with `verify`'s findings), for one input in
/// eight.
///
/// Each document is rendered as few times as the checks need: rendering is most of the time.
pub fn report(data: &[u8]) {
    let bytes = rechain(data);
    let (scanned, events) = scan(&bytes);
    let checked = report::model::Checked {
        verified: scanned.problem.is_none(),
        sealing_unknown: scanned.problem.as_ref().is_some_and(|p| !p.is_torn())
            && !events.iter().any(|e| matches!(e.body, Body::Sealed(_))),
        bytes: scanned.offset,
        problem: scanned.problem.as_ref().map(Problem::describe),
        signature: "not signed".to_owned(),
        runbook_copy: "not checked (a fuzz test)".to_owned(),
        // Members added later keep their defaults.
        ..report::model::Checked::default()
    };
    let started = match events.first().map(|e| &e.body) {
        Some(Body::SessionStarted(s)) => Some(s),
        _ => None,
    };
    let runbook = started.and_then(|s| bundled_runbook(&s.runbook.id).map(|(_, r)| r));
    let built = report::build(&events, runbook, &checked);
    assert_eq!(
        built.is_some(),
        started.is_some(),
        "a report iff the events begin with session_started"
    );
    if let Some(r) = built {
        // Built and rendered twice, the same bytes: the report is a pure function of its input.
        let again = report::build(&events, runbook, &checked).expect("built before");
        for format in TEXT_FORMATS {
            let bytes = render_report(&r, format);
            assert!(
                render_report(&again, format) == bytes,
                "the {format} report is not the same twice"
            );
        }
        let _ = Format::Markdown.file_name(&r);
    }
    if let Some(started) = started.filter(|s| s.mode == Mode::Exercise) {
        let (runbook, scenario) = match runbook {
            Some(r) => {
                let scenario = started.scenario.as_ref().and_then(|s| {
                    bundled_scenario(&r.id, &s.id).map(|(_, _, scenario)| scenario.clone())
                });
                let applied = scenario
                    .as_ref()
                    .map_or_else(|| r.clone(), |s| s.apply_to(r));
                (Some(applied), scenario)
            }
            None => (None, None),
        };
        let input = report::review::SessionInput {
            events: events.clone(),
            runbook,
            scenario,
            checked: checked.clone(),
            notes: Vec::new(),
        };
        if let Ok(review) = report::review::build(std::slice::from_ref(&input)) {
            for format in TEXT_FORMATS {
                let bytes = render_review(&review, format);
                assert!(
                    render_review(&review, format) == bytes,
                    "the {format} review is not the same twice"
                );
            }
            assert!(report::review::file_name(&review, Format::Html).starts_with("EXERCISE-"));
        }
        // Two teams side by side (the comparison).
        if let Ok(review) = report::review::build(&[input.clone(), input]) {
            render_review(&review, Format::Json);
        }
    }
    // The report and review of a session folder holding the bytes, as `custody report` and
    // `custody review` make them. They parse the runbook and scenario copies again (two thirds
    // of the time of a run), so only one input in eight, chosen by its last hash, takes this way.
    if scanned.last_hash.to_hex().ends_with(['0', '1'])
        && let Some(dir) = session_folder(&bytes, events.first())
    {
        match report::load(&dir) {
            Ok(input) => {
                assert_eq!(input.events, events, "report::load and the reader disagree");
                if let Some(r) = input.report() {
                    render_report(&r, Format::Markdown);
                }
                let review = report::review::SessionInput::from(&input);
                if let Ok(review) = report::review::build(&[review]) {
                    render_review(&review, Format::Html);
                }
            }
            Err(report::LoadError::Empty { .. }) => assert!(events.is_empty()),
            Err(e) => panic!("the session folder cannot be read: {e}"),
        }
    }
}

fn render_report(r: &report::Report, format: Format) -> Vec<u8> {
    let bytes = report::render(r, format).expect("the report renders");
    check_document(format, &bytes, r.exercise);
    bytes
}

fn render_review(review: &report::review::Review, format: Format) -> Vec<u8> {
    let bytes = report::review::render(review, format).expect("the review renders");
    check_document(format, &bytes, true);
    bytes
}

/// A rendered document: JSON that parses; Markdown and HTML that say EXERCISE when they are
/// an exercise's.
fn check_document(format: Format, bytes: &[u8], exercise: bool) {
    assert!(!bytes.is_empty(), "an empty {format} document");
    match format {
        Format::Json => {
            serde_json::from_slice::<serde_json::Value>(bytes).expect("the JSON parses");
        }
        Format::Markdown | Format::Html => {
            let text = std::str::from_utf8(bytes).expect("UTF-8 text");
            if exercise {
                assert!(
                    text.contains("EXERCISE"),
                    "an exercise's {format} is not marked"
                );
            }
        }
        Format::Pdf => {}
    }
}
