//! The after-action review: its figures against a scripted exercise (computed by hand from the
//! script in `tests/common/scenarios.rs`, `night_shift`), golden Markdown and JSON, the
//! markings in every format and file name (and that nothing can take them away), several
//! sessions side by side, refusal of a real session, determinism, and hostile text.
//!
//! The fixture in `tests/fixtures/review/night-shift/` is that session with its machine facts
//! fixed. To make it again:
//!
//!     cargo test --test review -- --ignored make_fixture
//!
//! and to accept changed reviews as the new golden files (then review the diff):
//!
//!     UPDATE_GOLDEN=1 cargo test --test review golden

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use custody::report::review::{self, Review};
use custody::report::{self, Format};
use custody::session::Clock as _;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/review/night-shift")
}

fn report_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

fn review_of(folders: &[&Path]) -> Review {
    let inputs: Vec<review::SessionInput> = folders
        .iter()
        .map(|f| review::load(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect();
    review::build(&inputs).expect("a review")
}

fn render(r: &Review, format: Format) -> String {
    String::from_utf8(review::render(r, format).expect("renders")).expect("UTF-8")
}

/// A fresh night-shift session under a new folder.
fn fresh(name: &str, text: Option<&str>) -> PathBuf {
    let dir = common::temp_dir(name);
    common::scenarios::night_shift(&dir, text)
}

const MIN: i64 = 60;

#[test]
fn the_figures_are_those_of_the_script() {
    let folder = fresh("review-figures", None);
    let r = review_of(&[&folder]);
    assert!(r.exercise);
    assert_eq!(r.sessions.len(), 1);
    let s = &r.sessions[0];
    assert!(s.verification.verified);
    assert_eq!(
        r.title,
        "EXERCISE: After-action review: Night shift: suspect files on a private backup server"
    );

    // The last event (the seal) is at real minute 131, exercise minute 1568.
    let f = &s.figures;
    assert_eq!(f.exercise_secs, 1568 * MIN);
    assert_eq!(f.real_secs, 131 * MIN);
    assert_eq!((f.milestones_met, f.milestones), (4, 7));
    assert_eq!((f.deadlines_missed, f.deadlines), (1, 3));
    assert_eq!(
        (f.decisions_as_expected, f.decisions_with_expectation),
        (3, 5)
    );
    assert_eq!((f.injects_answered, f.injects_released), (9, 11));
    // 300 + 600 + 900 + 120 + 360 + 180 + 240 + 120 + 240 = 3060 s over 9 answers.
    assert_eq!(f.response_mean_secs, Some(340));
    assert_eq!(f.response_max_secs, Some(900));
    assert_eq!(f.skipped, 1);
    assert_eq!(f.notes, 3);
    assert_eq!(f.clock_changes, 6);

    // Milestones: (id, status, time taken from its anchor, late by).
    let milestones: Vec<(&str, &str, Option<i64>, Option<i64>)> = s
        .milestones
        .iter()
        .map(|m| (m.id.as_str(), m.status, m.elapsed_secs, m.late_by_secs))
        .collect();
    assert_eq!(
        milestones,
        [
            ("hands-off", "met", Some(4 * MIN), None),
            (
                "live-state-recorded",
                "late",
                Some(66 * MIN),
                Some(21 * MIN)
            ),
            ("files-hashed", "late", Some(72 * MIN), Some(12 * MIN)),
            ("police-informed", "met", Some(92 * MIN), None),
            // Counted from the police report (E92), reached at E97.
            ("management-told", "met", Some(5 * MIN), None),
            ("custody-recorded", "met", Some(113 * MIN), None),
            ("record-complete", "late", Some(1565 * MIN), Some(125 * MIN)),
        ]
    );
    let told = &s.milestones[4];
    assert_eq!(
        told.counted_from.as_ref().map(|m| m.elapsed_secs),
        Some(92 * MIN)
    );
    assert_eq!(
        told.reached.as_ref().and_then(|m| m.real).map(|r| r.utc),
        Some(common::clock().now() + chrono::Duration::minutes(80))
    );

    // Deadlines in NL: the first report (met by the hotline report at E82), public access
    // removed within 24 h of the hotline report (never: missed, due E82 + 24 h), police
    // informed (E92).
    let deadlines: Vec<(&str, &str, Option<i64>, Option<i64>, bool)> = s
        .deadlines
        .iter()
        .map(|d| {
            (
                d.id.as_str(),
                d.status,
                d.due.as_ref().map(|m| m.elapsed_secs),
                d.met.as_ref().map(|m| m.elapsed_secs),
                d.passed_recorded,
            )
        })
        .collect();
    assert_eq!(
        deadlines,
        [
            (
                "report-target",
                "met",
                Some(1440 * MIN),
                Some(82 * MIN),
                false
            ),
            ("nl-remove", "missed", Some((82 + 1440) * MIN), None, true),
            (
                "eu-police-informed",
                "met",
                Some(1440 * MIN),
                Some(92 * MIN),
                false
            ),
        ]
    );
    assert_eq!(s.deadlines[1].late_by_secs, Some((1568 - 1522) * MIN));

    // Decisions against the scenario's expected choices.
    let decisions: Vec<(&str, Option<&str>, &str)> = s
        .decisions
        .iter()
        .map(|d| (d.step.id.as_str(), d.choice.as_deref(), d.matches))
        .collect();
    assert_eq!(
        decisions,
        [
            ("public-check", Some("not-public"), "yes"),
            ("choose-channel", Some("hotline"), "no"),
            ("hotline-advice", Some("no-instruction"), "yes"),
            ("police-also", Some("yes"), "yes"),
            ("police-on-system", Some("take-offline"), "no"),
        ]
    );
    let channel = &s.decisions[1];
    assert_eq!(channel.expected.as_ref().unwrap().choice, "police");
    assert!(
        channel
            .expected
            .as_ref()
            .unwrap()
            .why
            .as_deref()
            .unwrap()
            .starts_with("The files are not public")
    );
    assert_eq!(
        channel.reason.as_deref(),
        Some("Meldpunt is the channel we know.")
    );

    // Injects: (id, released by, released at, answered at, response), exercise seconds.
    let injects: Vec<(&str, Option<&str>, Option<i64>, Option<i64>, Option<i64>)> = s
        .injects
        .iter()
        .map(|i| {
            (
                i.id.as_str(),
                i.released_by,
                i.released.as_ref().map(|m| m.elapsed_secs),
                i.answered.as_ref().map(|m| m.elapsed_secs),
                i.response_secs,
            )
        })
        .collect();
    let c = Some("custody");
    assert_eq!(
        injects,
        [
            (
                "finder-opened-files",
                c,
                Some(7 * MIN),
                Some(12 * MIN),
                Some(5 * MIN)
            ),
            (
                "team-chat",
                c,
                Some(36 * MIN),
                Some(46 * MIN),
                Some(10 * MIN)
            ),
            (
                "disk-full-cleanup",
                c,
                Some(46 * MIN),
                Some(61 * MIN),
                Some(15 * MIN)
            ),
            ("log-rotation", c, Some(66 * MIN), None, None),
            ("usb-copy", c, Some(72 * MIN), Some(74 * MIN), Some(2 * MIN)),
            (
                "hotline-refers",
                c,
                Some(77 * MIN),
                Some(83 * MIN),
                Some(6 * MIN)
            ),
            (
                "manager-delete",
                c,
                Some(92 * MIN),
                Some(95 * MIN),
                Some(3 * MIN)
            ),
            (
                "hr-tip",
                Some("facilitator"),
                Some(98 * MIN),
                Some(102 * MIN),
                Some(4 * MIN)
            ),
            ("customer-calls", c, Some(101 * MIN), None, None),
            (
                "police-keep-running",
                c,
                Some(104 * MIN),
                Some(106 * MIN),
                Some(2 * MIN)
            ),
            (
                "shift-change",
                c,
                Some(1316 * MIN),
                Some(1320 * MIN),
                Some(4 * MIN)
            ),
        ]
    );
    // Real time beside exercise time: the team chat was answered a real minute after it
    // fired (the clock ran 10x); the disk alert 16 real minutes (the clock stood still 10).
    assert_eq!(s.injects[1].response_real_secs, Some(MIN));
    assert_eq!(s.injects[2].response_real_secs, Some(16 * MIN));
    assert_eq!(s.injects[7].how, "released by the facilitator, C. Bakker");
    assert_eq!(
        s.injects[1].how,
        "fired 10m after step \"Capture the live state, most volatile first\" started (exercise time)"
    );
    assert_eq!(s.injects[2].answered_by.as_deref(), Some("R. Bakker"));
    assert!(
        s.injects[4]
            .expect
            .as_deref()
            .unwrap()
            .starts_with("- Nobody opens, plugs in, copies or wipes the stick.")
    );

    // The skipped step with its reason, and the notes as lessons.
    assert_eq!(s.skipped.len(), 1);
    assert_eq!(s.skipped[0].step.id, "capture-network");
    assert_eq!(s.skipped[0].reason, "No network tools on the lab machine.");
    assert_eq!(s.skipped[0].at.elapsed_secs, 22 * MIN);
    let lessons: Vec<(i64, &str)> = s
        .lessons
        .iter()
        .map(|l| (l.at.elapsed_secs, l.text.as_str()))
        .collect();
    assert_eq!(
        lessons,
        [
            (
                18 * MIN,
                "Lesson: we did not know at once who may see the chat thread."
            ),
            (
                1562 * MIN,
                "Discussed in the break: the hotline takes public material only."
            ),
            (
                1567 * MIN,
                "Lesson: print the channel table for the night shift."
            ),
        ]
    );

    // The clock: (change, exercise time after it, stood still in real time).
    let clock: Vec<(&str, i64, Option<i64>)> = s
        .clock
        .iter()
        .map(|c| (c.change, c.at.elapsed_secs, c.stood_still_secs))
        .collect();
    assert_eq!(
        clock,
        [
            ("speed", 26 * MIN, None),
            ("speed", 56 * MIN, None),
            ("pause", 59 * MIN, Some(10 * MIN)),
            ("resume", 59 * MIN, None),
            ("advance", 1316 * MIN, None),
            ("advance", 1561 * MIN, None),
            ("session_paused", 1562 * MIN, Some(20 * MIN)),
            ("session_resumed", 1562 * MIN, None),
        ]
    );

    // The visits: the first step, the skipped one, the last.
    let first = &s.visits[0];
    assert_eq!(
        (
            first.step.id.as_str(),
            first.entered.elapsed_secs,
            first.left.elapsed_secs,
            first.outcome
        ),
        ("stop", 0, 4 * MIN, "done")
    );
    let skipped = s.visits.iter().find(|v| v.outcome == "skipped").unwrap();
    assert_eq!(
        (
            skipped.step.id.as_str(),
            skipped.entered.elapsed_secs,
            skipped.left.elapsed_secs
        ),
        ("capture-network", 21 * MIN, 22 * MIN)
    );
    let last = s.visits.last().unwrap();
    assert_eq!(
        (
            last.step.id.as_str(),
            last.entered.elapsed_secs,
            last.left.elapsed_secs,
            last.outcome
        ),
        ("done", 1564 * MIN, 1565 * MIN, "done")
    );
    // One timeline entry per event, with the exercise time beside the real time.
    assert_eq!(s.timeline.len() as u64, s.verification.events);
    assert!(
        s.timeline
            .windows(2)
            .all(|w| w[0].at.elapsed_secs <= w[1].at.elapsed_secs)
    );
    // The header: scenario, participants, facilitator.
    let scenario = s.scenario.as_ref().unwrap();
    assert_eq!(
        (scenario.id.as_str(), scenario.version.as_str()),
        ("csam-discovery-night-shift", "1.0.0")
    );
    assert!(scenario.briefing.as_deref().unwrap().contains("bak-ams-07"));
    assert_eq!(s.participants.len(), 3);
    assert_eq!(s.facilitator.as_deref(), Some("C. Bakker"));
}

#[test]
fn a_decision_taken_again_counts_once_and_the_revisit_shows() {
    use custody::journal::event::Mode;
    use custody::session::{Action, Session};
    let dir = common::temp_dir("review-revisit");
    let clock = common::clock();
    let mut start = common::start("csam-discovery", Mode::Exercise);
    start.scenario_text = Some(common::scenarios::NIGHT_SHIFT.to_owned());
    let mut s = Session::create(&dir, &start, &clock).unwrap();
    while s.current_step().map(|st| st.id.as_str()) != Some("public-check") {
        let action = common::next_action(&s, 0).unwrap();
        clock.advance(chrono::Duration::seconds(60));
        s.apply(action).unwrap();
    }
    let decide = |s: &mut Session<&custody::session::ManualClock>, choice: &str| {
        clock.advance(chrono::Duration::seconds(60));
        s.apply(Action::Decide {
            choice: choice.into(),
            reason: format!("{choice} it is"),
        })
        .unwrap();
    };
    decide(&mut s, "public-wait");
    clock.advance(chrono::Duration::seconds(120));
    s.apply(Action::Revisit {
        step: "public-check".into(),
        reason: "The server has no public address after all.".into(),
    })
    .unwrap();
    decide(&mut s, "not-public");
    let r = review_of(&[s.folder()]);
    let rs = &r.sessions[0];
    let taken: Vec<(Option<&str>, &str, bool)> = rs
        .decisions
        .iter()
        .filter(|d| d.step.id == "public-check")
        .map(|d| (d.choice.as_deref(), d.matches, d.superseded))
        .collect();
    assert_eq!(
        taken,
        [
            (Some("public-wait"), "no", true),
            (Some("not-public"), "yes", false)
        ]
    );
    // The last choice at each step counts.
    assert_eq!(
        (
            rs.figures.decisions_as_expected,
            rs.figures.decisions_with_expectation
        ),
        (1, 1)
    );
    // The four expected decisions not reached are listed as such.
    assert_eq!(
        rs.decisions
            .iter()
            .filter(|d| d.matches == "not_reached")
            .count(),
        4
    );
    let outcomes: Vec<(&str, &str, bool)> = rs
        .visits
        .iter()
        .rev()
        .take(4)
        .map(|v| (v.step.id.as_str(), v.outcome, v.revisit.is_some()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("capture-order", "current", false),
            ("public-check", "done", true),
            ("capture-order", "left", false),
            ("public-check", "done", false),
        ]
    );
    let md = render(&r, Format::Markdown);
    assert!(md.contains("✗ no (changed later)"), "{md:.300}");
}

/// Compares `actual` with the golden file, or writes it when `UPDATE_GOLDEN` is set.
fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; make it with UPDATE_GOLDEN=1 cargo test --test review golden",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs at line {}:\n  expected: {}\n  actual:   {}\n\
             (if the change is intended: UPDATE_GOLDEN=1 cargo test --test review golden, \
             then review the diff)",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>")
        );
    }
}

#[test]
fn golden_markdown_and_json() {
    let r = review_of(&[&fixture()]);
    for format in [Format::Markdown, Format::Json] {
        let path = fixture().join(format!("expected.{}", format.extension()));
        golden(&path, &render(&r, format));
    }
}

#[test]
fn the_fixture_has_the_figures_of_a_fresh_session() {
    // The fixture is the script's session with its machine facts fixed: same figures.
    let fixed = review_of(&[&fixture()]);
    let fresh = review_of(&[&fresh("review-fixture-check", None)]);
    assert_eq!(fixed.sessions[0].figures, fresh.sessions[0].figures);
}

#[test]
fn json_validates_against_its_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/review.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
    let two = review_of(&[&fixture(), &report_fixture("exercise")]);
    for r in [review_of(&[&fixture()]), two] {
        let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        assert_eq!(json["schema"], "custody-review");
        assert_eq!(json["exercise"], true);
        assert_eq!(json["marking"], "EXERCISE");
    }
    // The schema refuses a review that is not marked as an exercise.
    let mut bad: serde_json::Value =
        serde_json::from_str(&render(&review_of(&[&fixture()]), Format::Json)).unwrap();
    bad["exercise"] = false.into();
    assert!(!validator.is_valid(&bad));
}

/// Whether pdftotext runs; when it does not, fails if `CUSTODY_REQUIRE_PDFTOTEXT` is set (as
/// CI does) and otherwise says so and lets the caller skip its checks.
#[cfg(feature = "pdf")]
fn have_pdftotext() -> bool {
    let found = Command::new("pdftotext").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CUSTODY_REQUIRE_PDFTOTEXT").is_none_or(|v| v != "1"),
            "pdftotext (poppler-utils) is needed to check the PDF's text"
        );
        eprintln!(
            "note: pdftotext (poppler-utils) is not installed; the PDF's text is not checked"
        );
    }
    found
}

/// The PDF's text, one string per page; `None` without pdftotext.
#[cfg(feature = "pdf")]
fn pdf_pages(pdf: &[u8], name: &str) -> Option<Vec<String>> {
    if !have_pdftotext() {
        return None;
    }
    let file = common::temp_dir("review-pdf").join(format!("{name}.pdf"));
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        file.display()
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    Some(pages)
}

#[test]
#[cfg(feature = "pdf")]
fn every_format_and_every_pdf_page_says_exercise_and_nothing_takes_it_away() {
    let mut r = review_of(&[&fixture()]);
    // Even a model stripped of its marks is rendered with them.
    r.title = "After-action review".into();
    r.exercise = false;
    r.marking = "";
    r.marking_text = "";
    r.sessions[0].session = "20261123T091502Z-csam-discovery-d5dc".into();
    let md = render(&r, Format::Markdown);
    assert!(md.starts_with("> **EXERCISE. This document reviews a training exercise"));
    assert!(md.trim_end().ends_with("not a real incident.**"));
    assert!(md.contains("# EXERCISE: After-action review"));
    let html = render(&r, Format::Html);
    assert!(html.contains("<title>EXERCISE: After-action review"));
    assert!(html.contains("class=\"exercise-mark\""));
    assert_eq!(html.matches("class=\"banner exercise-banner\"").count(), 2);
    assert!(
        html.contains("@top-center { content: \"EXERCISE"),
        "print header"
    );
    assert!(html.contains(">EXERCISE</text>"), "the picture says so too");
    for format in Format::ALL {
        let name = review::file_name(&r, format);
        assert!(name.starts_with("EXERCISE-review-"), "{name}");
    }
    assert_eq!(
        review::file_name(&r, Format::Pdf),
        "EXERCISE-review-20261123T091502Z-csam-discovery-d5dc.pdf"
    );
    let pdf = review::render(&r, Format::Pdf).unwrap();
    if let Some(pages) = pdf_pages(&pdf, "stripped") {
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for (n, page) in pages.iter().enumerate() {
            assert!(
                page.contains("EXERCISE — NOT A REAL INCIDENT"),
                "page {} does not say EXERCISE:\n{page:.300}",
                n + 1
            );
        }
    }
    // The JSON sets its marks too (and the schema refuses a review without them: see
    // json_validates_against_its_schema).
    let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
    assert_eq!(json["exercise"], true);
    assert_eq!(json["marking"], "EXERCISE");
    assert_eq!(json["title"], "EXERCISE: After-action review");
    assert!(
        json["marking_text"]
            .as_str()
            .unwrap()
            .starts_with("EXERCISE.")
    );
}

#[test]
#[cfg(feature = "pdf")]
fn the_pdf_holds_the_sections_the_picture_and_the_final_hash() {
    let r = review_of(&[&fixture()]);
    let a = review::render(&r, Format::Pdf).unwrap();
    let b = review::render(&review_of(&[&fixture()]), Format::Pdf).unwrap();
    assert!(a == b, "two renders of the same sessions differ");
    assert!(a.starts_with(b"%PDF-"));
    if let Some(pages) = pdf_pages(&a, "night-shift") {
        let text = pages.join("\n");
        for needle in [
            "Summary",
            "Timeline of session 1, exercise time",
            "Milestones",
            "Deadlines",
            "Decisions",
            "Injects",
            "Skipped steps",
            "Lessons learned",
            "The exercise clock",
            "Briefing",
            "No network tools on the lab machine.",
        ] {
            assert!(text.contains(needle), "the PDF lacks {needle:?}");
        }
        let hash = &r.sessions[0].verification.final_hash;
        assert!(
            text.contains(&hash[..32]) && text.contains(&hash[32..]),
            "final hash"
        );
    }
}

#[test]
fn the_same_sessions_give_the_same_bytes() {
    let a = review_of(&[&fixture(), &report_fixture("exercise")]);
    let b = review_of(&[&fixture(), &report_fixture("exercise")]);
    for format in [Format::Markdown, Format::Html, Format::Json] {
        assert!(
            review::render(&a, format).unwrap() == review::render(&b, format).unwrap(),
            "{format}"
        );
    }
    assert_eq!(
        review::timeline_svg(&a.sessions[0]),
        review::timeline_svg(&b.sessions[0])
    );
}

#[test]
fn two_teams_side_by_side() {
    let other = fresh("review-two", None);
    let r = review_of(&[&fixture(), &other]);
    let c = r.comparison.as_ref().expect("a comparison");
    assert!(c.same_script);
    assert!(c.note.is_none());
    assert_eq!(c.columns.len(), 2);
    assert!(
        r.title
            .starts_with("EXERCISE: After-action review of 2 sessions: Night shift")
    );
    let row = |label: &str| {
        c.rows
            .iter()
            .find(|row| row.label == label)
            .unwrap_or_else(|| panic!("no row {label}"))
    };
    assert_eq!(row("Decisions as expected").cells[1].text, "3 of 5");
    assert_eq!(row("Injects answered").cells[0].text, "9 of 11");
    assert_eq!(row("Mean response to an inject").cells[1].text, "5m 40s");
    assert_eq!(
        row("M2 Live state and logs recorded, most volatile first").cells[0].text,
        "1h 06m (LATE by 21m)"
    );
    assert_eq!(
        row("M1 Stopped: nothing opened, copied or deleted").cells[1].status,
        "good"
    );
    let name = review::file_name(&r, Format::Html);
    assert!(
        name.starts_with("EXERCISE-review-2-sessions-")
            && Path::new(&name).extension().is_some_and(|e| e == "html"),
        "{name}"
    );
    assert_eq!(name.len(), "EXERCISE-review-2-sessions-12345678.html".len());
    let md = render(&r, Format::Markdown);
    assert!(md.contains("## Side by side"));
    assert!(md.contains("## Session 2: A. Jansen, case CASE-2026-0042"));
    // The comparison comes before the sessions.
    assert!(md.find("## Side by side").unwrap() < md.find("## Session 1").unwrap());

    // Sessions of different scripts: compared on the milestones they share, and it says so.
    let r = review_of(&[&fixture(), &report_fixture("exercise")]);
    let c = r.comparison.as_ref().unwrap();
    assert!(!c.same_script);
    let note = c.note.as_deref().unwrap();
    assert!(note.contains("only the milestones they share"), "{note}");
    assert!(note.contains("they share none"), "{note}");
    assert!(!c.rows.iter().any(|row| row.label.starts_with('M')
        && row.label[1..].starts_with(|ch: char| ch.is_ascii_digit())));
    assert!(render(&r, Format::Html).contains(&custody::report::text::html(note)));
}

fn custody() -> Command {
    Command::new(env!("CARGO_BIN_EXE_custody"))
}

#[test]
fn a_real_session_has_no_review() {
    let real = review::load(&report_fixture("real")).unwrap();
    let err = review::build(&[real]).unwrap_err();
    assert!(err.to_string().contains("custody report"), "{err}");

    let out = common::temp_dir("review-real");
    let result = custody()
        .args(["review", report_fixture("real").to_str().unwrap(), "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("real incident"), "{stderr}");
    assert!(stderr.contains("custody report"), "{stderr}");
    assert!(result.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing written"
    );
    // Not even beside an exercise.
    let result = custody()
        .args([
            "review",
            fixture().to_str().unwrap(),
            report_fixture("real").to_str().unwrap(),
            "--format",
            "md",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1));
    assert!(result.stdout.is_empty());
}

#[test]
fn the_review_command_writes_every_format_and_prints_their_hashes() {
    let out = common::temp_dir("review-cli");
    let result = custody()
        .args([
            "review",
            fixture().to_str().unwrap(),
            "--format",
            "md,html,json",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let r = review_of(&[&fixture()]);
    for format in [Format::Markdown, Format::Html, Format::Json] {
        let name = review::file_name(&r, format);
        assert!(name.starts_with("EXERCISE-review-"));
        let bytes = std::fs::read(out.join(&name)).unwrap();
        let hash = custody::journal::Digest::of(&bytes).to_hex();
        assert!(
            bytes == review::render(&r, format).unwrap(),
            "{name}: not the review's bytes"
        );
        assert!(stdout.contains(&hash), "{stdout}");
    }
    assert!(stdout.contains("EXERCISE"));

    // A file named with -o gets the marking in its name too.
    let result = custody()
        .args([
            "review",
            fixture().to_str().unwrap(),
            "--format",
            "md",
            "-o",
        ])
        .arg(out.join("team-a.md"))
        .output()
        .unwrap();
    assert!(result.status.success());
    assert!(!out.join("team-a.md").exists());
    let named = out.join("EXERCISE-team-a.md");
    assert!(
        std::fs::read(&named).unwrap() == review::render(&r, Format::Markdown).unwrap(),
        "{}",
        named.display()
    );
    assert!(String::from_utf8_lossy(&result.stdout).contains("EXERCISE-team-a.md"));

    // One format to standard output, two sessions.
    let result = custody()
        .args([
            "review",
            fixture().to_str().unwrap(),
            report_fixture("exercise").to_str().unwrap(),
            "--format",
            "md",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(result.status.success());
    let two = review_of(&[&fixture(), &report_fixture("exercise")]);
    assert!(result.stdout == review::render(&two, Format::Markdown).unwrap());
}

#[test]
fn a_damaged_journal_gets_no_review_without_saying_so() {
    let dir = common::temp_dir("review-damaged");
    let folder = dir.join("s");
    std::fs::create_dir_all(&folder).unwrap();
    let journal = std::fs::read_to_string(fixture().join("journal.jsonl")).unwrap();
    let changed = journal.replacen("No network tools", "No network taols", 1);
    assert_ne!(journal, changed);
    std::fs::write(folder.join("journal.jsonl"), changed).unwrap();
    for file in ["runbook.toml", "scenario.toml"] {
        std::fs::copy(fixture().join(file), folder.join(file)).unwrap();
    }
    let args = [
        "review",
        folder.to_str().unwrap(),
        "--format",
        "md",
        "-o",
        "-",
    ];
    let result = custody().args(args).output().unwrap();
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("does not verify") && stderr.contains("--damaged"),
        "{stderr}"
    );
    assert!(result.stdout.is_empty());

    let result = custody().args(args).arg("--damaged").output().unwrap();
    assert!(result.status.success());
    let md = String::from_utf8_lossy(&result.stdout);
    assert!(md.contains("WARNING: NOT VERIFIED"), "{md:.600}");
    assert!(md.starts_with("> **EXERCISE"));
    assert!(!md.contains("taols"), "the changed event is not reviewed");
}

#[test]
fn hostile_text_is_escaped_in_every_format() {
    use common::scenarios::HOSTILE;
    let folder = fresh("review-hostile", Some(HOSTILE));
    let r = review_of(&[&folder]);
    let s = &r.sessions[0];
    assert_eq!(
        s.lessons[0].text, HOSTILE,
        "the model keeps the text as recorded"
    );
    let md = render(&r, Format::Markdown);
    let html = render(&r, Format::Html);
    let json = render(&r, Format::Json);
    let svg = review::timeline_svg(s);
    for (name, text) in [("md", &md), ("html", &html), ("json", &json), ("svg", &svg)] {
        for c in ['\u{1b}', '\u{202e}', '\u{200b}', '\u{0}', '\u{7}'] {
            assert!(!text.contains(c), "{name}: {c:?} got through");
        }
    }
    for (name, text) in [("md", &md), ("html", &html), ("svg", &svg)] {
        assert!(
            !text.contains("<script>"),
            "{name}: a script tag got through"
        );
    }
    assert!(md.contains("\\u{202e}gnp.exe") && html.contains("\\u{202e}gnp.exe"));
    assert!(!md.contains("\n# heading") && !md.contains("[link](javascript"));
    assert!(json.contains("\\u202egnp.exe"));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["sessions"][0]["lessons"][0]["text"].as_str(),
        Some(HOSTILE),
        "the JSON is lossless"
    );
    // Every Markdown table keeps its cells.
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let mut pipes = 0;
        let mut escaped = false;
        let mut in_code = false;
        for ch in line.chars() {
            match ch {
                '\\' if !escaped && !in_code => {
                    escaped = true;
                    continue;
                }
                '`' if !escaped => in_code = !in_code,
                '|' if !escaped && !in_code => pipes += 1,
                _ => {}
            }
            escaped = false;
        }
        assert!(pipes >= 3, "a broken row: {line:.160}");
    }
    #[cfg(feature = "pdf")]
    {
        let pdf = review::render(&r, Format::Pdf).unwrap();
        if let Some(pages) = pdf_pages(&pdf, "hostile") {
            let text = pages.join("\n");
            assert!(!text.contains('\u{202e}'));
            assert!(text.contains("gnp.exe"));
            assert!(pages.iter().all(|p| p.contains("EXERCISE")));
        }
    }
}

#[test]
fn the_end_of_an_exercise_writes_the_review_beside_the_report() {
    // An exercise: the report and the review, all formats, in report/ and review/.
    let dir = common::temp_dir("review-into-session");
    let folder = dir.join("s");
    std::fs::create_dir_all(&folder).unwrap();
    for file in ["journal.jsonl", "runbook.toml", "scenario.toml"] {
        std::fs::copy(fixture().join(file), folder.join(file)).unwrap();
    }
    let written = report::write_into_session(&folder).unwrap();
    assert_eq!(written.review_error, None);
    let files = written.files;
    let reviews: Vec<_> = files
        .iter()
        .filter(|f| f.file.starts_with("review/"))
        .collect();
    let available = Format::ALL.iter().filter(|f| f.available()).count();
    assert_eq!(reviews.len(), available, "{files:#?}");
    assert_eq!(files.len(), 2 * available);
    for f in &reviews {
        assert!(f.file.starts_with("review/EXERCISE-review-"), "{}", f.file);
        let bytes = std::fs::read(folder.join(&f.file)).unwrap();
        assert_eq!(custody::journal::Digest::of(&bytes), f.sha256);
    }
    // A real session: the report only.
    let folder = dir.join("real");
    std::fs::create_dir_all(&folder).unwrap();
    for file in ["journal.jsonl", "runbook.toml"] {
        std::fs::copy(report_fixture("real").join(file), folder.join(file)).unwrap();
    }
    let written = report::write_into_session(&folder).unwrap();
    assert_eq!(
        written.review_error, None,
        "a real session has no review, and no error"
    );
    assert!(written.files.iter().all(|f| f.file.starts_with("report/")));
    assert!(!folder.join("review").exists());
}

/// Makes the fixture again. Run by hand (see the top of this file).
#[test]
#[ignore = "writes tests/fixtures/review; run by hand after changing the scenario script"]
fn make_fixture() {
    let made = fresh("review-fixture", None);
    let to = fixture();
    let _ = std::fs::remove_dir_all(&to);
    common::scenarios::normalise(&made, &to, "tabletop-laptop", false);
    std::fs::copy(made.join("scenario.toml"), to.join("scenario.toml")).unwrap();
    let v = custody::journal::verify(&to, None, None).unwrap();
    assert!(v.problem.is_none() && v.copies_intact(), "{:?}", v.problem);
}
