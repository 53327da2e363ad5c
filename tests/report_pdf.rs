//! The PDF report: the same journal gives the same bytes; its text (as `pdftotext` extracts
//! it) holds the sections and the final hash; an exercise says so on every page; recorded
//! text, however hostile, is shown as it was recorded and never acts on the document.
//!
//! The text checks need `pdftotext` (poppler-utils). Without it they print a note and pass,
//! unless `CUSTODY_REQUIRE_PDFTOTEXT=1` is set (as CI does), when they fail.
//! Set `CUSTODY_PDF_OUT` to a folder to keep the PDFs made here, to look at them.
#![cfg(feature = "pdf")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use custody::journal::event::Mode;
use custody::report::{self, Report};
use custody::session::{Action, Session, Start};

/// A session on `runbook` walked to its end (with `notes` added on the way) and sealed; its
/// report.
fn report_of(name: &str, start: &Start, notes: &[String]) -> Report {
    let dir = common::temp_dir("report_pdf");
    let clock = common::clock();
    let mut s = Session::create(&dir, start, &clock).unwrap();
    for text in notes {
        clock.advance(chrono::Duration::seconds(17));
        s.apply(Action::Note { text: text.clone() }).unwrap();
    }
    common::walk(&mut s, &clock, 0);
    s.apply(Action::Seal {
        note: Some(format!("{name} done")),
        signed_by: None,
    })
    .unwrap();
    report::load(s.folder()).unwrap().report().unwrap()
}

fn render(report: &Report, name: &str) -> Vec<u8> {
    let pdf = report::pdf::render(report).unwrap_or_else(|e| panic!("{name}: {e}"));
    if let Some(out) = std::env::var_os("CUSTODY_PDF_OUT") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(format!("{name}.pdf")), &pdf).unwrap();
    }
    pdf
}

/// Whether a tool runs; when it does not, fails if `CUSTODY_REQUIRE_PDFTOTEXT` is set and
/// otherwise says so and lets the caller skip its checks.
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CUSTODY_REQUIRE_PDFTOTEXT").is_none_or(|v| v != "1"),
            "{tool} (poppler-utils) is needed to check the PDF's text: install poppler-utils \
             (apt-get install poppler-utils), or unset CUSTODY_REQUIRE_PDFTOTEXT"
        );
        eprintln!("note: {tool} (poppler-utils) is not installed; the PDF's text is not checked");
    }
    found
}

fn write_pdf(pdf: &[u8], name: &str) -> PathBuf {
    let file = common::temp_dir("report_pdf").join(format!("{name}.pdf"));
    std::fs::write(&file, pdf).unwrap();
    file
}

/// The PDF's text, one string per page; `None` without pdftotext.
fn pages(pdf: &[u8], name: &str) -> Option<Vec<String>> {
    if !have("pdftotext") {
        return None;
    }
    let file = write_pdf(pdf, name);
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    // pdftotext ends every page with a form feed: the last piece is empty.
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    Some(pages)
}

/// Text without white space and hyphens, so that values broken across lines can be found
/// (pdftotext drops a hyphen that ends a line, taking it for a hyphenation).
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

#[test]
fn the_same_journal_gives_the_same_pdf_holding_the_sections_and_the_final_hash() {
    let report = report_of("real", &common::start("csam-discovery", Mode::Real), &[]);
    let first = render(&report, "real");
    let second = render(&report, "real");
    assert!(first.starts_with(b"%PDF-"), "not a PDF");
    assert!(
        first == second,
        "two renders of the same report differ ({} and {} bytes)",
        first.len(),
        second.len()
    );
    // PDF/A-2b: the identification schema is in the XMP metadata.
    let raw = String::from_utf8_lossy(&first);
    assert!(raw.contains("pdfaid:part"), "no PDF/A identification");
    // The dates come from the journal, not from the clock.
    assert!(
        raw.contains("2026-11-23"),
        "the PDF's date is not the journal's"
    );

    let Some(pages) = pages(&first, "real") else {
        return;
    };
    let text = pages.concat();
    for section in [
        "Management summary",
        "Reports made",
        "Who was informed",
        "Deadlines",
        "Open actions",
        "Record for the police",
        "Case",
        "Statements",
        "People",
        "Systems",
        "Timeline",
        "Decisions",
        "Recorded facts",
        "Notes",
        "Skipped steps",
        "Evidence manifest",
        "Commands run",
        "Chain of custody",
        "Disclosure register",
        "Runbook",
        "Integrity statement",
        "Signatures",
        "Operator",
        "Witness",
        "Manager",
    ] {
        assert!(
            text.contains(section),
            "the PDF has no {section:?}:\n{text}"
        );
    }
    assert!(
        text.find("Management summary") < text.find("Record for the police"),
        "the management summary comes first"
    );
    let hash = &report.integrity.final_hash;
    assert_eq!(hash.len(), 64);
    assert!(
        squeezed(&text).contains(hash.as_str()),
        "the final hash {hash} is not in the PDF's text"
    );
    assert!(text.contains("CASE-2026-0042"));
    assert!(
        !text.contains("EXERCISE"),
        "a real incident is not marked as an exercise"
    );
    let last = pages.len();
    assert!(
        pages[0].contains(&format!("Page 1 of {last}")),
        "no page numbers: {}",
        pages[0]
    );
}

#[test]
fn every_page_of_an_exercise_says_so() {
    let report = report_of(
        "exercise",
        &common::start("csam-discovery", Mode::Exercise),
        &[],
    );
    let pdf = render(&report, "exercise");
    let Some(pages) = pages(&pdf, "exercise") else {
        return;
    };
    assert!(pages.len() > 1, "the report fits one page?");
    for (n, page) in pages.iter().enumerate() {
        assert!(
            page.matches("EXERCISE — NOT A REAL INCIDENT").count() >= 2,
            "page {} is not marked as an exercise in its header and footer:\n{page}",
            n + 1
        );
    }
}

const HOSTILE: &str =
    "<script>alert(1)</script> #set page(fill: red) $x$ *b* \u{202e}gnp.exe \u{1b}[31m";

#[test]
fn hostile_text_is_shown_as_recorded_and_never_acts() {
    let mut start = common::start("csam-discovery", Mode::Real);
    start.operator = HOSTILE.to_owned();
    start.case_id = format!("CASE-{}-#set text(red) \u{202e}fdp.exe", "9".repeat(300));
    let long = format!("{}\\\"]) #{{panic()}}", "A".repeat(1000));
    let notes = vec![
        format!("note {HOSTILE}"),
        "#eval(\"#pagebreak()\") = Heading? \\ #image(\"/etc/passwd\") @ref <label>".to_owned(),
        long.clone(),
    ];
    let report = report_of("hostile", &start, &notes);
    let pdf = render(&report, "hostile");
    assert_eq!(pdf, render(&report, "hostile"));
    if let Some(pages) = pages(&pdf, "hostile") {
        let text = pages.concat();
        let flat = squeezed(&text);
        for literal in [
            "<script>alert(1)</script>",
            "#set page(fill: red)",
            "$x$",
            "*b*",
            "\\u{202e}gnp.exe",
            "\\u{1b}[31m",
            "#eval(\"#pagebreak()\")",
            "#image(\"/etc/passwd\")",
            "@ref <label>",
            &start.case_id.replace('\u{202e}', "\\u{202e}"),
        ] {
            assert!(
                flat.contains(&squeezed(literal)),
                "{literal:?} is not shown as recorded"
            );
        }
        assert!(flat.contains(&squeezed(&long)), "the long note is cut");
        for c in ['\u{202e}', '\u{1b}'] {
            assert!(!text.contains(c), "{c:?} reached the page");
        }
    }
    if have("pdftoppm") {
        // No page is red: the first page's corner is paper white.
        let file = write_pdf(&pdf, "hostile-page");
        let prefix = file.with_extension("");
        let ok = Command::new("pdftoppm")
            .args(["-r", "10"])
            .arg(&file)
            .arg(&prefix)
            .status()
            .unwrap()
            .success();
        assert!(ok, "pdftoppm failed");
        let dir = file.parent().unwrap();
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ppm") {
                assert_eq!(
                    corner_pixel(&path),
                    [255, 255, 255],
                    "{} is not white",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "pdftoppm made no page image");
    }
}

/// The top-left pixel of a binary PPM (P6) image.
fn corner_pixel(path: &Path) -> [u8; 3] {
    let bytes = std::fs::read(path).unwrap();
    // Header: "P6", width, height, maximum value, each after white space, then one byte.
    let mut fields = 0;
    let mut i = 0;
    while fields < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields += 1;
    }
    let start = i + 1;
    [bytes[start], bytes[start + 1], bytes[start + 2]]
}

/// A long session (its timeline set as a long table, row by row): the header row repeats on
/// every page the timeline runs on to, a note longer than a page breaks across pages with
/// none of its text lost, and two renders are the same bytes.
#[test]
fn a_long_timeline_repeats_its_header_and_keeps_a_note_longer_than_a_page() {
    let mut notes: Vec<String> = (1..=240)
        .map(|n| format!("observation {n}: checked the share listing and the access log again"))
        .collect();
    let long = (1..=700)
        .map(|n| format!("w{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    notes[120] = format!("LONGSTART {long} LONGEND");
    let report = report_of("long", &common::start("csam-discovery", Mode::Real), &notes);
    let pdf = render(&report, "long");
    assert_eq!(pdf, render(&report, "long"), "two renders differ");
    let Some(pages) = pages(&pdf, "long") else {
        return;
    };
    let first = pages
        .iter()
        .position(|p| p.contains("Timeline"))
        .expect("no Timeline section");
    let last = pages
        .iter()
        .position(|p| p.contains("observation 240:"))
        .expect("the last note is missing");
    assert!(
        last > first + 3,
        "the timeline should run over several pages"
    );
    for (n, page) in pages.iter().enumerate().take(last + 1).skip(first) {
        assert!(
            page.contains("Time (UTC)") && page.contains("What"),
            "page {} of the timeline has no header row:\n{page}",
            n + 1
        );
    }
    let words: std::collections::HashSet<&str> =
        pages.iter().flat_map(|p| p.split_whitespace()).collect();
    for n in 1..=700 {
        let word = format!("w{n}");
        assert!(
            words.contains(word.as_str()),
            "word {word} of the long note is lost"
        );
    }
    let on = |marker: &str| pages.iter().position(|p| p.contains(marker)).unwrap();
    assert!(
        on("LONGEND") > on("LONGSTART"),
        "the long note should run on to the next page"
    );
}

/// A session just started (nothing done, not sealed): every empty section says so.
#[test]
fn a_session_just_started_says_what_is_not_there_yet() {
    let dir = common::temp_dir("report_pdf");
    let clock = common::clock();
    let s = Session::create(&dir, &common::start("hotline-notice", Mode::Real), &clock).unwrap();
    let report = report::load(s.folder()).unwrap().report().unwrap();
    let pdf = render(&report, "started");
    let Some(pages) = pages(&pdf, "started") else {
        return;
    };
    let text = pages.concat();
    for empty in [
        "No official report has been recorded.",
        "No decision was recorded.",
        "No evidence was hashed.",
        "No command was run.",
        "no: events could still be added",
        "IN PROGRESS",
    ] {
        assert!(text.contains(empty), "{empty:?} is missing:\n{text}");
    }
}
