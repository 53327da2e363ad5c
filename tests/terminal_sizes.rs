//! Terminal sizes: every screen of the interface drawn at sizes from 1x1 to 300x100 never
//! panics, and resize storms in a real pseudo-terminal leave the program responsive and its
//! journal intact.
//!
//! 1. **Every screen at every size** (`every_screen_at_every_size`): the picker, the start
//!    forms (real and exercise, with an error), the walk at every kind of step (real and
//!    exercise), every dialog (help, quit, note, skip, reason, seal, sealing, write failed,
//!    run twice, hash, stop, briefing, inject, inject list, clock), a command's output, hostile
//!    and very long text, the finished and the sealed screens: each drawn through
//!    `view::render` into a `TestBackend`, in the Unicode colour theme and the plain ASCII
//!    one. By default (CI) the grid is every width 1..=300 at the heights 1, 2, 17, 18, 19, 24,
//!    40 and 100, every height 1..=100 at the widths 1, 2, 59, 60, 61, 80, 120 and 300, and a
//!    coarse grid over the whole area (every 13th width by every 7th height). With
//!    `CUSTODY_SIZES=full` every size from 1x1 to 300x100 (30,000 sizes per screen):
//!
//!    ```sh
//!    CUSTODY_SIZES=full cargo test --release --test terminal_sizes -- --nocapture every_screen
//!    ```
//!
//! 2. **Resize storms** (`resize_storms_*`): the real binary in a pseudo-terminal gets many
//!    rapid size changes (random sizes, 1x1 and 300x100 among them) while keys arrive, on the
//!    walk with a dialog open, mid-typing in a form and on the picker and start form; then it
//!    must still answer keys, show its screen at 100x40, quit cleanly, give the terminal back,
//!    and its journal must verify. CI runs 300 resizes per storm; more with
//!    `CUSTODY_STORM=N`:
//!
//!    ```sh
//!    CUSTODY_STORM=5000 cargo test --release --test terminal_sizes -- --nocapture resize_storms
//!    ```
//!
//!    Two bugs these storms found have tests of their own, fixed since: keys that arrived with
//!    a resize were left unread until the next key (the storms fail if a key that does
//!    nothing, F5, is needed to bring them in), and a shrink and restore too quick to draw in
//!    between was never repainted.
//!
//! The sizes are random from a seed, printed with each run; `CUSTODY_SEED=N` replays one.
//! Each test prints a summary line (`--nocapture` shows it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use custody::journal::event::Mode;
use custody::runbook::bundled;
use custody::session::{self, Action, ManualClock, Session};
use custody::tui::app::{Dialog, Screen, Status};
use custody::tui::input::Input;
use custody::tui::{App, Given, Offer, Theme, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use common::pty::{Rng, Term, screen_text};

type TestApp = App<&'static ManualClock>;
/// A terminal size, (width, height).
type Size = (u16, u16);
/// Makes a dialog to open on a screen.
type MakeDialog = Box<dyn Fn() -> Dialog>;

fn key(app: &mut TestApp, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn ctrl(app: &mut TestApp, c: char) {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn type_text(app: &mut TestApp, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn walk_mut(app: &mut TestApp) -> &mut custody::tui::app::Walk<&'static ManualClock> {
    match &mut app.screen {
        Screen::Walk(w) => w,
        _ => panic!("not on the walk screen"),
    }
}

/// A clock for one thread's screens; it lives as long as the test process.
fn clock() -> &'static ManualClock {
    Box::leak(Box::new(common::clock()))
}

/// Text that is hard to lay out: very long words, wide characters, combining marks, emoji,
/// control characters and bidi overrides.
const HOSTILE: &str = "Een_heel_lang_woord_zonder_spaties_dat_nergens_past_\
    ________________________________________________________________________________ \
    漢字とかなの混じった長い文章がここに続きます。全角文字は二列を使います。 \
    e\u{301}e\u{301}e\u{301} 👩‍👩‍👧‍👦🏳️‍🌈 \u{1b}[31mred\u{1b}[0m \u{202e}desrever\u{202c} tab\there \
    end";

/// A session of the flagship runbook (real or exercise) walked until its current step is of
/// `kind` (choosing the first way out of every decision), a minute per action.
fn walk_at(clock: &'static ManualClock, kind: &str, mode: Mode, scenario: bool) -> TestApp {
    let dir = common::temp_dir("sizes");
    let mut start = common::start("csam-discovery", mode);
    if scenario {
        start.scenario_text = Some(bundled::SCENARIOS[0].text.to_owned());
        start.participants = vec![custody::journal::event::Participant {
            name: "Sam Visser".into(),
            role: "backup engineer".into(),
        }];
    }
    let mut s = Session::create(&dir, &start, clock).unwrap();
    s.apply(Action::Note {
        text: HOSTILE.into(),
    })
    .unwrap();
    while s.current_step().map(custody::runbook::Step::kind_name) != Some(kind) {
        let action = common::next_action(&s, 0).expect("the runbook has a step of this kind");
        clock.advance(Span::seconds(61));
        s.apply(action).unwrap();
    }
    clock.advance(Span::seconds(30));
    let recent = session::read_recent(s.folder(), 50);
    let mut app = App::walk(s, recent, Theme::plain(), dir);
    // The exercise's briefing is a screen of its own below; here it is read.
    if matches!(walk_mut(&mut app).dialog, Some(Dialog::Briefing { .. })) {
        key(&mut app, KeyCode::Enter);
    }
    app
}

fn offers() -> Vec<Offer> {
    bundled::ALL
        .iter()
        .map(|b| Offer {
            runbook: b.check().runbook.unwrap(),
            text: b.text.to_owned(),
            origin: "bundled".into(),
        })
        .collect()
}

/// A one-step runbook whose step is `step`, with the variable `value` set to `value`.
fn one_step(clock: &'static ManualClock, step: &str, value: &str) -> TestApp {
    let mut start = common::start("csam-discovery", Mode::Real);
    start.runbook_text = common::one_step_runbook("sizes-one-step", step);
    start.variables = [("value".to_owned(), value.to_owned())].into();
    let dir = common::temp_dir("sizes-one-step");
    let s = Session::create(&dir, &start, clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    App::walk(s, recent, Theme::plain(), dir)
}

/// Every screen the interface has, each with a name for failure messages.
fn screens(clock: &'static ManualClock) -> Vec<(String, TestApp)> {
    let mut out: Vec<(String, TestApp)> = Vec::new();
    let dir = common::temp_dir("sizes-start");

    // The picker, at its first and its last runbook.
    let mut app = App::picker(offers(), dir.clone(), clock, Theme::plain());
    out.push(("picker".into(), app));
    app = App::picker(offers(), dir.clone(), clock, Theme::plain());
    for _ in 0..20 {
        key(&mut app, KeyCode::Down);
    }
    out.push(("picker at the last runbook".into(), app));

    // The start form, fresh, then refused (no operator) with hostile text in a field.
    let (b, runbook) = bundled::find("csam-discovery").unwrap();
    let offer = Offer {
        runbook: runbook.clone(),
        text: b.text.to_owned(),
        origin: "bundled".into(),
    };
    let app = App::start(
        offer.clone(),
        Given::default(),
        dir.clone(),
        clock,
        Theme::plain(),
    );
    out.push(("start form".into(), app));
    let mut app = App::start(
        offer.clone(),
        Given::default(),
        dir.clone(),
        clock,
        Theme::plain(),
    );
    ctrl(&mut app, 'u');
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, HOSTILE);
    for _ in 0..8 {
        key(&mut app, KeyCode::Enter);
    }
    out.push(("start form, refused".into(), app));

    // The exercise's start form.
    let scenario_text = bundled::SCENARIOS[0].text.to_owned();
    let scenario = custody::runbook::Scenario::parse(&scenario_text, Ok(&runbook))
        .scenario
        .unwrap();
    let setup = custody::tui::exercise::ExerciseSetup {
        scenario_text: Some(scenario_text),
        scenario: Some(scenario),
        facilitator: Some("C. Bakker".into()),
        participants: Vec::new(),
        notice: Some("Scenario: csam-discovery-night-shift".into()),
    };
    let mut app = App::exercise(
        offer,
        Given::default(),
        setup,
        dir.clone(),
        clock,
        Theme::plain(),
    );
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    for i in 0..12 {
        type_text(&mut app, &format!("Person {i} {HOSTILE} = role {i}"));
        ctrl(&mut app, 'j');
    }
    out.push(("exercise start form".into(), app));

    // The walk at every kind of step, real and exercise.
    for kind in [
        "checklist",
        "decision",
        "record",
        "evidence",
        "command",
        "contact",
        "transfer",
        "instruction",
        "end",
    ] {
        out.push((
            format!("walk at a {kind} step"),
            walk_at(clock, kind, Mode::Real, false),
        ));
        out.push((
            format!("exercise at a {kind} step"),
            walk_at(clock, kind, Mode::Exercise, true),
        ));
    }
    // A record form mid-typing, with an error on a field and a long status line.
    let mut app = walk_at(clock, "record", Mode::Real, false);
    type_text(&mut app, HOSTILE);
    for _ in 0..30 {
        key(&mut app, KeyCode::Enter);
    }
    walk_mut(&mut app).status = Some(Status::Warning(HOSTILE.repeat(3)));
    out.push(("record form with errors".into(), app));

    // The dialogs over a checklist step.
    let dialogs: Vec<(&str, MakeDialog)> = vec![
        ("help", Box::new(|| Dialog::Help)),
        ("quit", Box::new(|| Dialog::Quit)),
        (
            "note",
            Box::new(|| {
                let mut input = Input::multiline();
                input.paste(&format!("{HOSTILE}\n").repeat(12));
                Dialog::Note(input)
            }),
        ),
        (
            "skip",
            Box::new(|| Dialog::Skip(Input::new().with_text(HOSTILE))),
        ),
        (
            "reason",
            Box::new(|| Dialog::Reason {
                choice: "not-public".into(),
                label: HOSTILE.into(),
                input: Input::new().with_text(HOSTILE),
            }),
        ),
        ("seal", Box::new(|| Dialog::Seal)),
        ("sealing", Box::new(|| Dialog::Sealing)),
        (
            "write failed",
            Box::new(|| Dialog::WriteFailed {
                message: format!("journal.jsonl: No space left on device {HOSTILE}"),
                action: Action::Complete,
            }),
        ),
        (
            "run",
            Box::new(|| Dialog::Run {
                argv: vec!["printf".into(), HOSTILE.into(), "%s\n".into()],
                changes_system: true,
                timeout: Duration::from_secs(3 * 3600 + 7),
                second: false,
            }),
        ),
        (
            "run, second time",
            Box::new(|| Dialog::Run {
                argv: vec!["chmod".into(), "o-rwx".into(), HOSTILE.into()],
                changes_system: true,
                timeout: Duration::from_secs(10),
                second: true,
            }),
        ),
        (
            "hash",
            Box::new(|| Dialog::Hash {
                paths: (0..30).map(|i| format!("/srv/{i}/{HOSTILE}")).collect(),
                options: custody::evidence::hash::Options::default(),
            }),
        ),
        ("stop", Box::new(|| Dialog::StopJob)),
    ];
    for (name, dialog) in &dialogs {
        let mut app = walk_at(clock, "checklist", Mode::Real, false);
        walk_mut(&mut app).dialog = Some(dialog());
        out.push((format!("{name} dialog"), app));
    }

    // The exercise's own dialogs: the briefing, the clock (typing), the inject list, an inject.
    let dir = common::temp_dir("sizes-exercise");
    let mut start = common::start("csam-discovery", Mode::Exercise);
    start.scenario_text = Some(bundled::SCENARIOS[0].text.to_owned());
    let s = Session::create(&dir, &start, clock).unwrap();
    let recent = session::read_recent(s.folder(), 50);
    let app = App::walk(s, recent, Theme::plain(), dir.clone());
    out.push(("briefing".into(), app));
    let make = || {
        let dir = common::temp_dir("sizes-exercise");
        let s = Session::create(&dir, &start, clock).unwrap();
        let recent = session::read_recent(s.folder(), 50);
        let mut app = App::walk(s, recent, Theme::plain(), dir);
        key(&mut app, KeyCode::Enter);
        app
    };
    let mut app = make();
    key(&mut app, KeyCode::Char('t'));
    for _ in 0..20 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, &"9".repeat(300));
    out.push(("clock dialog, typing".into(), app));
    let mut app = make();
    key(&mut app, KeyCode::Char('i'));
    for _ in 0..20 {
        key(&mut app, KeyCode::Down);
    }
    out.push(("inject list".into(), app));
    let mut app = make();
    key(&mut app, KeyCode::Char('i'));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    for line in 0..30 {
        type_text(&mut app, &format!("line {line} {HOSTILE}"));
        ctrl(&mut app, 'j');
    }
    out.push(("inject dialog, a long answer".into(), app));

    // A command's output under its step, hostile on purpose.
    let mut app = one_step(
        clock,
        "kind = \"command\"\nrun = [\"printf\", \"%s\\n%s\\n\", \"{{value}}\", \"{{value}}\"]\n\
         timeout = \"5s\"",
        HOSTILE,
    );
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    let until = Instant::now() + Duration::from_secs(20);
    while walk_mut(&mut app).job.is_some() {
        assert!(Instant::now() < until, "the command did not end");
        std::thread::sleep(Duration::from_millis(10));
        app.on_tick();
    }
    out.push(("command output".into(), app));

    // The finished screen, and the sealed one.
    let mut app = walk_at(clock, "end", Mode::Real, false);
    key(&mut app, KeyCode::Enter);
    out.push(("finished".into(), app));
    let mut app = walk_at(clock, "end", Mode::Exercise, true);
    key(&mut app, KeyCode::Enter);
    walk_mut(&mut app)
        .session
        .apply(Action::Seal {
            note: None,
            signed_by: None,
        })
        .unwrap();
    out.push(("sealed exercise".into(), app));
    out
}

/// The sizes to draw every screen at, (width, height), and those below the minimum drawn for one
/// screen only (the "too small" message is the same on every screen; the full grid draws them
/// for every screen too).
fn sizes(full: bool, rng: &mut Rng) -> (Vec<Size>, Vec<Size>) {
    let usable = |&(w, h): &(u16, u16)| w >= view::MIN_WIDTH && h >= view::MIN_HEIGHT;
    let all: Vec<(u16, u16)> = (1..=300u16)
        .flat_map(|w| (1..=100u16).map(move |h| (w, h)))
        .collect();
    if full {
        return (all, Vec::new());
    }
    let small: Vec<(u16, u16)> = all.iter().copied().filter(|s| !usable(s)).collect();
    let mut every = Vec::new();
    // The smallest usable heights at every usable width, the smallest usable widths (and 80) at
    // every usable height, the largest size, and a random sample of the rest.
    for h in [view::MIN_HEIGHT, view::MIN_HEIGHT + 1, 24, 100] {
        every.extend((view::MIN_WIDTH..=300).map(|w| (w, h)));
    }
    for w in [view::MIN_WIDTH, view::MIN_WIDTH + 1, 80, 300] {
        every.extend((view::MIN_HEIGHT..=100).map(|h| (w, h)));
    }
    for _ in 0..60 {
        let w = u16::try_from(rng.range(u64::from(view::MIN_WIDTH), 300)).unwrap();
        let h = u16::try_from(rng.range(u64::from(view::MIN_HEIGHT), 100)).unwrap();
        every.push((w, h));
    }
    every.sort_unstable();
    every.dedup();
    (every, small)
}

/// Draws `app` into `terminal`'s buffer (the whole of `view::render`; the buffer is not sent
/// anywhere), returning the panic's message if it panics.
fn draw_at(terminal: &mut Terminal<TestBackend>, app: &TestApp) -> Result<(), String> {
    terminal.current_buffer_mut().reset();
    let mut frame = terminal.get_frame();
    catch_unwind(AssertUnwindSafe(|| view::render(app, &mut frame))).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

#[test]
fn every_screen_at_every_size() {
    let full = std::env::var("CUSTODY_SIZES").is_ok_and(|v| v == "full");
    let mut rng = Rng::new(Rng::seed("every_screen_at_every_size"));
    let (every, small) = sizes(full, &mut rng);
    let theme = |unicode: bool| Theme {
        color: unicode,
        unicode,
    };
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let started = Instant::now();
    // Each thread draws every screen at its share of the sizes.
    let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (every, small) = (&every, &small);
                scope.spawn(move || {
                    let mut screens = screens(clock());
                    let count = screens.len();
                    let mut drawn = 0;
                    let mut failures = Vec::new();
                    let jobs = every
                        .iter()
                        .map(|&s| (s, count))
                        .chain(small.iter().map(|&s| (s, 1)));
                    for (n, ((w, h), count)) in jobs.enumerate() {
                        if n % threads != t {
                            continue;
                        }
                        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
                        for (i, (name, app)) in screens.iter_mut().take(count).enumerate() {
                            // Both themes at every size would double the time: they take
                            // turns, and both draw every size in the full run.
                            for unicode in [false, true] {
                                if !full && (n + i + usize::from(unicode)) % 2 == 1 {
                                    continue;
                                }
                                app.theme = theme(unicode);
                                drawn += 1;
                                if let Err(e) = draw_at(&mut terminal, app) {
                                    failures.push(format!(
                                        "{name} at {w}x{h} ({}): {e}",
                                        if unicode { "unicode" } else { "ascii" }
                                    ));
                                }
                            }
                        }
                    }
                    (count, drawn, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let screens = results[0].0;
    let drawn: usize = results.iter().map(|r| r.1).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.2).collect();
    eprintln!(
        "terminal sizes: {screens} screens, {} sizes from 1x1 to 300x100 ({}), {drawn} draws, \
         {} panics, in {:.1} s",
        every.len() + small.len(),
        if full {
            "every size, every screen, both themes".to_owned()
        } else {
            format!(
                "CI sample: {} usable sizes for every screen, {} too small for one",
                every.len(),
                small.len()
            )
        },
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} draws panicked; the first:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---- Resize storms: the real binary in a pseudo-terminal ----

/// How many resizes each storm has: 300, or `CUSTODY_STORM`.
fn storm_length() -> usize {
    common::pty::env_count("CUSTODY_STORM", 300)
}

/// Every wait in a pty: generous, the machine is shared.
const PTY_WAIT: Duration = Duration::from_secs(30);

/// The size every storm ends at, where the screen is checked.
const AFTER: Size = (100, 40);

/// What a storm did.
#[derive(Debug, Default)]
struct Storm {
    resizes: usize,
    /// Frames the program finished drawing during the storm.
    frames: usize,
    /// Sizes below the minimum (60x18), where the program says the terminal is too small.
    too_small: usize,
    /// Keys sent between the resizes.
    keys: usize,
}

/// `n` rapid resizes to random sizes (1x1 and 300x100 among them, a third below the minimum),
/// with `key` called between them now and then to send a key; now and then a pause of a few
/// milliseconds lets the program draw at the size it has. It ends at 100x40.
fn storm(term: &mut Term, rng: &mut Rng, n: usize, mut key: impl FnMut(&mut Term)) -> Storm {
    let mut done = Storm::default();
    let frames = term.frames();
    let one = usize::try_from(rng.below(n as u64)).unwrap();
    let big = (one + 1 + usize::try_from(rng.below(n as u64 - 1)).unwrap()) % n;
    let size = |rng: &mut Rng, lo: (u16, u16), hi: (u16, u16)| -> Size {
        let w = rng.range(u64::from(lo.0), u64::from(hi.0));
        let h = rng.range(u64::from(lo.1), u64::from(hi.1));
        (u16::try_from(w).unwrap(), u16::try_from(h).unwrap())
    };
    for i in 0..n {
        let (w, h) = if i == one {
            (1, 1)
        } else if i == big {
            (300, 100)
        } else {
            match rng.below(3) {
                0 => size(rng, (1, 1), (view::MIN_WIDTH - 1, 100)),
                1 => size(rng, (view::MIN_WIDTH, view::MIN_HEIGHT), (300, 100)),
                _ => size(rng, (1, 1), (300, 100)),
            }
        };
        term.resize(w, h);
        done.resizes += 1;
        if w < view::MIN_WIDTH || h < view::MIN_HEIGHT {
            done.too_small += 1;
        }
        if rng.chance(40) {
            key(term);
            done.keys += 1;
        }
        if rng.chance(8) {
            std::thread::sleep(Duration::from_millis(rng.range(1, 30)));
        }
    }
    term.resize(AFTER.0, AFTER.1);
    done.resizes += 1;
    done.frames = term.frames() - frames;
    done
}

/// The character in a cell, or "" outside the screen.
fn at(s: &vt100::Screen, row: u16, col: u16) -> String {
    s.cell(row, col)
        .map(|c| c.contents().to_owned())
        .unwrap_or_default()
}

fn row_text(s: &vt100::Screen, row: u16) -> String {
    let (_, cols) = s.size();
    s.rows(0, cols.get())
        .nth(usize::from(row))
        .map(|r| r.trim_end().to_owned())
        .unwrap_or_default()
}

/// Checks that `rows` are framed on both sides at the screen's edges: a stale frame drawn for
/// another size, or one left half drawn, does not have its borders in column 0 and 99.
fn framed(s: &vt100::Screen, rows: std::ops::RangeInclusive<u16>) -> Result<(), String> {
    let (_, cols) = s.size();
    let right = cols.get() - 1;
    for r in rows {
        let (l, rr) = (at(s, r, 0), at(s, r, right));
        if !["│", "╭", "╰", "┌", "└"].contains(&l.as_str())
            || !["│", "╮", "╯", "┐", "┘"].contains(&rr.as_str())
        {
            return Err(format!("row {r} is not framed: {l:?} ... {rr:?}"));
        }
    }
    Ok(())
}

fn screen_size_is(s: &vt100::Screen, (w, h): Size) -> Result<(), String> {
    let (rows, cols) = s.size();
    if (cols.get(), rows.get()) != (w, h) {
        return Err(format!("the emulator is {}x{}", cols.get(), rows.get()));
    }
    if screen_text(s).contains("terminal too small") {
        return Err("it still says the terminal is too small".into());
    }
    Ok(())
}

/// The walk at 100x40: the header, the step pane and the path framed to the right edge, the
/// journal pane (10 rows) above the status and keys lines, and `dialog` (a title) centred, 72
/// columns wide.
fn walk_drawn(s: &vt100::Screen, dialog: Option<&str>) -> Result<(), String> {
    screen_size_is(s, AFTER)?;
    let header = row_text(s, 0);
    if !header.starts_with("csam-discovery 1.0.0 | case ") {
        return Err(format!("row 0 is {header:?}"));
    }
    if !row_text(s, 1).ends_with("REAL INCIDENT") || at(s, 1, 99) != "T" {
        return Err(format!("row 1 is {:?}", row_text(s, 1)));
    }
    let journal = (27..=29)
        // A dialog (from column 14) may cover the rest of the title.
        .find(|&r| row_text(s, r).starts_with("╭ Journal (loc"))
        .ok_or("no journal pane at rows 28-29")?;
    framed(s, 2..=journal + 9)?;
    if at(s, journal + 9, 0) != "╰" || journal + 9 + 1 + 1 < 39 {
        return Err(format!(
            "the journal pane does not end at row {}",
            journal + 9
        ));
    }
    if row_text(s, 39).is_empty() {
        return Err("no keys line".into());
    }
    if let Some(title) = dialog {
        let top = (1..39)
            .find(|&r| at(s, r, 14) == "╭" && row_text(s, r).contains(title))
            .ok_or(format!("no {title:?} dialog from column 14"))?;
        if at(s, top, 85) != "╮"
            || at(s, top + 1, 14) != "│"
            || at(s, top + 1, 85) != "│"
            || at(s, top, 13) == "─"
            || at(s, top, 86) == "─"
        {
            return Err(format!(
                "the {title:?} dialog is not 72 columns from column 14"
            ));
        }
    }
    Ok(())
}

/// The start form at 100x40, with `typed` in it.
fn start_drawn(s: &vt100::Screen, typed: &str) -> Result<(), String> {
    screen_size_is(s, AFTER)?;
    if !row_text(s, 0).starts_with("Start: ") {
        return Err(format!("row 0 is {:?}", row_text(s, 0)));
    }
    if !row_text(s, 2).starts_with("╭ New session ") {
        return Err(format!("row 2 is {:?}", row_text(s, 2)));
    }
    framed(s, 2..=38)?;
    if at(s, 38, 0) != "╰" || !row_text(s, 39).contains("Esc cancel") {
        return Err("the form does not end at row 38 above the keys".into());
    }
    if !screen_text(s).contains(typed) {
        return Err(format!("{typed:?} is not in the form"));
    }
    Ok(())
}

/// The picker at 100x40, with `title` (the selected runbook's) under the list.
fn picker_drawn(s: &vt100::Screen, title: &str) -> Result<(), String> {
    screen_size_is(s, AFTER)?;
    if row_text(s, 0) != "custody: choose a runbook" {
        return Err(format!("row 0 is {:?}", row_text(s, 0)));
    }
    if !row_text(s, 2).starts_with("╭ Runbooks ") {
        return Err(format!("row 2 is {:?}", row_text(s, 2)));
    }
    framed(s, 2..=31)?;
    if at(s, 31, 0) != "╰" || !row_text(s, 39).contains("Up/Down choose") {
        return Err("the list does not end at row 31 above the keys".into());
    }
    let shown = row_text(s, 32);
    let want: String = title.chars().take(90).collect();
    if !shown.starts_with(&want) {
        return Err(format!(
            "the selected runbook is shown as {shown:?}, not {title:?}"
        ));
    }
    Ok(())
}

/// Waits until `check` passes at 100x40; the error shows the screen and why.
fn wait_drawn(
    term: &Term,
    what: &str,
    mut check: impl FnMut(&vt100::Screen) -> Result<(), String>,
) {
    let mut why = String::new();
    let result = term.wait_until(what, PTY_WAIT, |s| match check(s) {
        Ok(()) => true,
        Err(e) => {
            why = e;
            false
        }
    });
    if let Err(e) = result {
        panic!("{e}\nlast problem: {why}");
    }
}

/// Waits until `check` passes; if it does not within a few seconds, presses a key that does
/// nothing on these screens (F5) and waits again. True if that was needed: keys that arrived
/// with a resize were left unread until the next key (see
/// [`keys_that_arrive_with_a_resize_are_read_without_waiting_for_another`]).
fn settle(
    term: &mut Term,
    what: &str,
    mut check: impl FnMut(&vt100::Screen) -> Result<(), String>,
) -> bool {
    if term
        .wait_until(what, Duration::from_secs(3), |s| check(s).is_ok())
        .is_ok()
    {
        return false;
    }
    term.key("F5");
    wait_drawn(term, what, check);
    true
}

/// The text typed during a storm, one character per key: letters, digits and spaces only, which
/// every field and dialog takes as text.
fn storm_text(rng: &mut Rng, n: usize) -> Vec<char> {
    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789 ".chars().collect();
    (0..n).map(|_| *rng.pick(&alphabet)).collect()
}

/// Sends the next character of `text` (nothing once all are sent); counts what was sent.
fn typer(text: &[char]) -> impl FnMut(&mut Term) + '_ {
    let mut next = 0;
    move |term: &mut Term| {
        if let Some(c) = text.get(next) {
            term.type_text(&c.to_string());
            next += 1;
        }
    }
}

fn pty_sessions(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    let sessions = dir.join("sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    // Private, as custody wants its sessions folder (else it warns on every start).
    std::fs::set_permissions(
        &sessions,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    (dir, sessions)
}

fn verify_cli(folder: &std::path::Path) {
    let out = common::pty::custody_cli(&["verify", folder.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "custody verify:\n{}", out.text());
}

/// Quits the walk (Ctrl-C, y): status 0 and the terminal restored.
fn quit_walk(term: &mut Term) {
    term.key("Ctrl-C");
    term.wait_for("Quit?", PTY_WAIT).unwrap();
    term.key("y");
    assert_eq!(
        term.wait_exit(PTY_WAIT),
        Some(0),
        "{}",
        term.framed_screen()
    );
    term.assert_restored();
}

/// The flagship started with everything given, walked `steps` steps through the keyboard.
fn walk_started(
    dir: &std::path::Path,
    sessions: &std::path::Path,
    steps: usize,
) -> (Term, std::path::PathBuf) {
    use common::pty::flagship;
    let runbook = flagship::runbook();
    let mut term = Term::custody()
        .args(&common::start_args(sessions))
        .cwd(dir)
        .size(80, 24)
        .spawn();
    term.wait_for("REAL INCIDENT", PTY_WAIT).unwrap();
    let folder = custody::journal::session_folders(sessions).unwrap()[0].clone();
    let mut rng = Rng::new(0);
    for _ in 0..steps {
        let st = flagship::state(&folder, &runbook).unwrap();
        let id = st.current.clone().unwrap();
        for k in flagship::step_keys(&st, &runbook, &mut rng) {
            flagship::press(&mut term, &k);
        }
        let deadline = Instant::now() + PTY_WAIT;
        while flagship::state(&folder, &runbook)
            .unwrap()
            .current
            .as_deref()
            == Some(&id)
        {
            assert!(Instant::now() < deadline, "{}", term.framed_screen());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    (term, folder)
}

fn summary(what: &str, s: &Storm, journal: bool, stuck: bool, seed: u64, started: Instant) {
    eprintln!(
        "resize storm {what}: {} resizes (1x1 and 300x100 among them, {} below 60x18), {} keys \
         during it, none lost{}, {} frames drawn meanwhile; then it answered keys, drew 100x40 \
         right, quit with 0 and restored the terminal{} (seed {seed}, {:.1} s)",
        s.resizes,
        s.too_small,
        s.keys,
        if stuck {
            " (the last ones read only once another key came)"
        } else {
            ""
        },
        s.frames,
        if journal {
            ", and its journal verified"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn resize_storms_on_the_walk_with_a_dialog_open() {
    let seed = Rng::seed("resize_storms_on_the_walk_with_a_dialog_open");
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let (dir, sessions) = pty_sessions("storm-walk");
    let (mut term, folder) = walk_started(&dir, &sessions, 1);
    let before = common::pty::flagship::events(&folder).len();
    term.key("n");
    term.wait_for("Write what happened", PTY_WAIT).unwrap();
    let n = storm_length();
    let text = storm_text(&mut rng, n);
    let done = storm(&mut term, &mut rng, n, typer(&text));
    let typed: String = text[..done.keys].iter().collect();
    wait_drawn(&term, "the walk with its note dialog at 100x40", |s| {
        walk_drawn(s, Some("Note"))
    });
    // It still answers keys: the end of the note shows, and Enter journals all of it.
    term.type_text(" END");
    term.expect_screen(" END");
    term.key("Enter");
    term.wait_gone("Write what happened", PTY_WAIT).unwrap();
    wait_drawn(&term, "the walk at 100x40", |s| walk_drawn(s, None));
    let all = common::pty::flagship::events(&folder);
    assert_eq!(all.len(), before + 1, "one note, nothing else");
    let custody::journal::Body::NoteAdded(note) = &all[before].body else {
        panic!("not a note: {:?}", all[before].body);
    };
    assert_eq!(
        note.text,
        format!("{typed} END").trim(),
        "keys were lost or mixed up"
    );
    quit_walk(&mut term);
    verify_cli(&folder);
    summary(
        "on the walk with a note dialog open",
        &done,
        true,
        false,
        seed,
        started,
    );
}

#[test]
fn resize_storms_mid_typing_in_a_form() {
    use common::pty::flagship;
    let seed = Rng::seed("resize_storms_mid_typing_in_a_form");
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let (dir, sessions) = pty_sessions("storm-form");
    // Two checklists, then the record form of what was found.
    let (mut term, folder) = walk_started(&dir, &sessions, 2);
    let runbook = flagship::runbook();
    let st = flagship::state(&folder, &runbook).unwrap();
    assert_eq!(st.current.as_deref(), Some("record-discovery"));
    term.wait_for("record-discovery (record)", PTY_WAIT)
        .unwrap();
    let n = storm_length();
    let text = storm_text(&mut rng, n);
    let done = storm(&mut term, &mut rng, n, typer(&text));
    let typed: String = text[..done.keys].iter().collect();
    wait_drawn(&term, "the record form at 100x40", |s| walk_drawn(s, None));
    // The rest of the form, as the driver fills it, without the first field's text.
    let keys = flagship::step_keys(&st, &runbook, &mut rng);
    for k in &keys[1..] {
        flagship::press(&mut term, k);
    }
    let deadline = Instant::now() + PTY_WAIT;
    while flagship::state(&folder, &runbook)
        .unwrap()
        .current
        .as_deref()
        == Some("record-discovery")
    {
        assert!(Instant::now() < deadline, "{}", term.framed_screen());
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_drawn(&term, "the next step at 100x40", |s| walk_drawn(s, None));
    let all = flagship::events(&folder);
    let recorded = all
        .iter()
        .find_map(|e| match &e.body {
            custody::journal::Body::FieldsRecorded(f) => Some(f.values.clone()),
            _ => None,
        })
        .expect("the record in the journal");
    assert_eq!(
        recorded.get("found-how").map(String::as_str),
        Some(typed.trim()),
        "keys were lost or mixed up"
    );
    quit_walk(&mut term);
    verify_cli(&folder);
    summary(
        "mid-typing in a record form",
        &done,
        true,
        false,
        seed,
        started,
    );
}

#[test]
fn resize_storms_on_the_picker_and_the_start_form() {
    let seed = Rng::seed("resize_storms_on_the_picker_and_the_start_form");
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let (dir, sessions) = pty_sessions("storm-picker");
    let titles: Vec<String> = offers().iter().map(|o| o.runbook.title.clone()).collect();

    // The picker, the cursor moving during the storm.
    let mut term = Term::custody()
        .env("CUSTODY_DIR", &sessions)
        .cwd(&dir)
        .size(80, 24)
        .spawn();
    term.wait_for("choose a runbook", PTY_WAIT).unwrap();
    let n = storm_length();
    let mut selected = 0usize;
    let mut moves = Rng::new(seed ^ 0x5eed);
    let done = storm(&mut term, &mut rng, n, |term| {
        if moves.chance(50) {
            term.key(if moves.chance(50) { "Down" } else { "j" });
            selected = (selected + 1).min(titles.len() - 1);
        } else {
            term.key(if moves.chance(50) { "Up" } else { "k" });
            selected = selected.saturating_sub(1);
        }
    });
    let stuck = settle(&mut term, "the picker at 100x40", |s| {
        picker_drawn(s, &titles[selected])
    });
    term.key("Enter");
    term.wait_for(&format!("Start: {}", &titles[selected]), PTY_WAIT)
        .unwrap();
    term.key("Esc");
    assert_eq!(
        term.wait_exit(PTY_WAIT),
        Some(0),
        "{}",
        term.framed_screen()
    );
    term.assert_restored();
    assert!(
        !stuck,
        "keys typed during the storm were read only once another key came"
    );
    summary("on the picker", &done, false, stuck, seed, started);

    // The start form, the operator's name typed during the storm.
    let started = Instant::now();
    let mut term = Term::custody()
        .args(&[
            "start",
            "csam-discovery",
            "--dir",
            sessions.to_str().unwrap(),
        ])
        .cwd(&dir)
        .size(80, 24)
        .spawn();
    term.wait_for("New session", PTY_WAIT).unwrap();
    let letters: Vec<char> = storm_text(&mut rng, n)
        .into_iter()
        .filter(|c| !c.is_whitespace())
        .collect();
    let done = storm(&mut term, &mut rng, n, typer(&letters));
    let typed: String = letters[..done.keys.min(letters.len())].iter().collect();
    let stuck = settle(&mut term, "the start form at 100x40", |s| {
        start_drawn(s, &typed[typed.len().saturating_sub(20)..])
    });
    // The rest of the form as tests/tui_e2e.rs fills it: witness, case, jurisdiction NL.
    term.key("Tab");
    term.key("Tab");
    term.key("Tab");
    for _ in 0..4 {
        term.key("Right");
    }
    term.key("Tab");
    term.key("Enter");
    term.wait_for("REAL INCIDENT", PTY_WAIT).unwrap();
    wait_drawn(&term, "the walk at 100x40", |s| walk_drawn(s, None));
    let folder = custody::journal::session_folders(&sessions).unwrap()[0].clone();
    let st = common::pty::flagship::state(&folder, &common::pty::flagship::runbook()).unwrap();
    assert_eq!(st.started.operator, typed, "keys were lost or mixed up");
    assert_eq!(st.started.jurisdiction, "NL");
    quit_walk(&mut term);
    verify_cli(&folder);
    assert!(
        !stuck,
        "keys typed during the storm were read only once another key came"
    );
    summary("on the start form", &done, true, stuck, seed, started);
}

/// A shrink and a restore too quick for the program to draw in between (100x40, 1x1, 100x40
/// back to back, as a window manager's zoom or tmux's can do) must be redrawn: the terminal
/// cropped what it showed, so the program has to paint the whole screen again.
///
/// It was not (found by the storms): `tui::event_loop` dropped crossterm's `Event::Resize` and
/// left it to ratatui's `autoresize` at the next draw, which compares the size with the one of
/// the last frame; both were 100x40, so only the cells that changed since (the clock) were
/// written and the rest of the screen stayed blank. Fixed: a resize makes the next frame whole.
#[test]
fn a_shrink_and_restore_between_two_frames_is_redrawn() {
    let (dir, sessions) = pty_sessions("storm-shrink");
    let (mut term, folder) = walk_started(&dir, &sessions, 1);
    term.resize(AFTER.0, AFTER.1);
    wait_drawn(&term, "the walk at 100x40", |s| walk_drawn(s, None));
    std::thread::sleep(Duration::from_millis(500));
    term.resize(1, 1);
    term.resize(AFTER.0, AFTER.1);
    wait_drawn(&term, "the walk redrawn at 100x40", |s| walk_drawn(s, None));
    quit_walk(&mut term);
    verify_cli(&folder);
}

/// Keys that arrive together with a resize must be read at once, not when the next key comes.
///
/// They were not always (found by the storms), and meanwhile the program spun at 100% CPU:
/// crossterm's default event source waits with mio, edge-triggered, and returns the `Resize` of
/// a SIGWINCH without reading the terminal when both are ready at once, so the readiness of the
/// keys already waiting was used up; `tui::event_loop` then saw them with its own
/// (level-triggered) `poll(2)`, which returned at once, while crossterm had nothing to give,
/// round and round until another byte arrived. Fixed: crossterm's `use-dev-tty` source, which
/// waits with `poll(2)`. This test runs picker storms and fails if one leaves the cursor short
/// of where the keys put it for 3 s.
#[test]
fn keys_that_arrive_with_a_resize_are_read_without_waiting_for_another() {
    fn cpu_ticks(pid: u32) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        fields
            .get(11..13)
            .map_or(0, |f| f.iter().map(|n| n.parse::<u64>().unwrap_or(0)).sum())
    }
    let seed = Rng::seed("keys_that_arrive_with_a_resize_are_read_without_waiting_for_another");
    let mut rng = Rng::new(seed);
    let titles: Vec<String> = offers().iter().map(|o| o.runbook.title.clone()).collect();
    for round in 0..20 {
        let (dir, sessions) = pty_sessions("storm-keys");
        let mut term = Term::custody()
            .env("CUSTODY_DIR", &sessions)
            .cwd(&dir)
            .size(80, 24)
            .spawn();
        term.wait_for("choose a runbook", PTY_WAIT).unwrap();
        let mut moves = Rng::new(rng.next_u64());
        let mut selected = 0usize;
        storm(&mut term, &mut rng, 300, |term| {
            if moves.chance(50) {
                term.key(if moves.chance(50) { "Down" } else { "j" });
                selected = (selected + 1).min(titles.len() - 1);
            } else {
                term.key(if moves.chance(50) { "Up" } else { "k" });
                selected = selected.saturating_sub(1);
            }
        });
        let shown = term.wait_until("the keys read", Duration::from_secs(3), |s| {
            picker_drawn(s, &titles[selected]).is_ok()
        });
        if let Err(e) = shown {
            let before = cpu_ticks(term.pid());
            std::thread::sleep(Duration::from_secs(1));
            let spent = cpu_ticks(term.pid()) - before;
            panic!(
                "storm {round} (seed {seed}): keys sent during the storm were still unread 3 s \
                 after it, and the program used {spent} CPU ticks (of 100) in the next second\n{e}"
            );
        }
        term.key("q");
        assert_eq!(term.wait_exit(PTY_WAIT), Some(0));
    }
}
