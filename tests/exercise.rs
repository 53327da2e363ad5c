//! Exercises through the library, on a simulated clock: injects fire at their step and after
//! their delay on the exercise clock, pausing and moving that clock on change exercise time and
//! never the real time written in the journal, deadlines count in exercise time, answers and
//! clock changes are journaled, and the scenario is kept and checked like the runbook.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use custody::journal::event::{ClockChange, Mode, Participant};
use custody::journal::{self, Body, Role};
use custody::runbook::{Runbook, Scenario, bundled, is_scenario};
use custody::session::deadline::Status;
use custody::session::{Action, Clock as _, Error, ManualClock, Session, Start};

const RUNBOOK: &str = r#"
[runbook]
format = 1
id = "drill"
title = "A drill"
version = "1.0.0"
language = "en"
summary = "Four steps to exercise the exercise machinery."

[[sources]]
id = "s"
title = "A source"

[[deadlines]]
id = "day"
label = "Step c within a day"
within = "24h"
met_by = ["c"]
sources = ["s"]

[[injects]]
id = "at-b"
title = "When b starts"
body = "Body of at-b"
at = "b"
prompt = "What now?"
sources = ["s"]

[[injects]]
id = "after-30"
title = "Half an hour in"
after = "30m"
sources = ["s"]

[[injects]]
id = "b-plus-10"
title = "Ten minutes after b starts"
at = "b"
after = "10m"
sources = ["s"]

[[injects]]
id = "by-hand"
title = "Only when the facilitator says"
expect = "A good answer says who decides."
sources = ["s"]

[[milestones]]
id = "reach-c"
label = "Reached c"
reached_by = "c"
within = "1h"

[[steps]]
id = "a"
kind = "instruction"
title = "A"
sources = ["s"]

[[steps]]
id = "b"
kind = "decision"
title = "B"
sources = ["s"]

[[steps.choices]]
id = "x"
label = "X"
next = "c"

[[steps.choices]]
id = "y"
label = "Y"
next = "c"
expected = true

[[steps]]
id = "c"
kind = "instruction"
title = "C"
sources = ["s"]

[[steps]]
id = "done"
kind = "end"
title = "Done"
"#;

const SCENARIO: &str = r#"
[scenario]
format = 1
id = "drill-night"
title = "The drill at night"
version = "1.0.0"
runbook = "drill"
summary = "The drill, scripted."
briefing = "It is 3 a.m."

[[injects]]
id = "two-hours"
title = "Two hours in"
after = "2h"
sources = ["s"]

[[milestones]]
id = "left-a"
label = "Left a"
reached_by = ["a"]
within = "5m"

[[expected]]
step = "b"
choice = "x"
why = "In this story, x."
"#;

/// The simulated clock's reading at the start of each test.
fn t0() -> DateTime<Utc> {
    common::clock().now()
}

fn start(mode: Mode, scenario: Option<&str>) -> Start {
    Start {
        runbook_text: RUNBOOK.to_owned(),
        operator: "A. Jansen".into(),
        witness: None,
        facilitator: Some("C. Bakker".into()),
        case_id: "DRILL-1".into(),
        jurisdiction: "NL".into(),
        mode,
        variables: BTreeMap::new(),
        scenario_text: scenario.map(str::to_owned),
        participants: vec![
            Participant {
                name: "A. Jansen".into(),
                role: "on-call engineer".into(),
            },
            Participant {
                name: "D. Smit".into(),
                role: "manager".into(),
            },
        ],
    }
}

/// Applies `InjectDue` for every inject due, as the interface does on each tick; returns them.
fn fire_due(session: &mut Session<&ManualClock>) -> Vec<String> {
    let due: Vec<String> = session
        .injects_due()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for inject in &due {
        let event = session
            .apply(Action::InjectDue {
                inject: inject.clone(),
            })
            .expect("a due inject is released");
        assert_eq!(event.actor.role, Role::Custody);
    }
    due
}

fn events(folder: &Path) -> Vec<journal::Event> {
    let text = std::fs::read_to_string(folder.join("journal.jsonl")).unwrap();
    text.lines()
        .map(|l| journal::Event::from_line(l.as_bytes()).unwrap())
        .collect()
}

#[test]
fn injects_fire_at_their_step_and_after_their_delay_and_not_before() {
    let dir = common::temp_dir("exercise-injects-fire");
    let clock = common::clock();
    let mut s = Session::create(&dir, &start(Mode::Exercise, None), &clock).unwrap();
    assert!(fire_due(&mut s).is_empty(), "nothing is due at the start");
    clock.advance(Duration::minutes(29));
    assert!(
        fire_due(&mut s).is_empty(),
        "after-30 waits for its 30 minutes"
    );
    assert!(
        s.apply(Action::InjectDue {
            inject: "after-30".into()
        })
        .is_err_and(|e| e.to_string().contains("not due yet")),
        "an inject cannot be fired early"
    );
    clock.advance(Duration::minutes(1));
    assert_eq!(fire_due(&mut s), ["after-30"]);
    assert!(fire_due(&mut s).is_empty(), "an inject fires once");
    // b starts: at-b fires at once, b-plus-10 ten minutes later.
    s.apply(Action::Complete).unwrap();
    assert_eq!(fire_due(&mut s), ["at-b"]);
    clock.advance(Duration::minutes(9));
    assert!(fire_due(&mut s).is_empty());
    clock.advance(Duration::minutes(1));
    assert_eq!(fire_due(&mut s), ["b-plus-10"]);
    // by-hand never fires by itself, whatever the time.
    clock.advance(Duration::days(3));
    assert!(fire_due(&mut s).is_empty());
    let event = s
        .apply(Action::ReleaseInject {
            inject: "by-hand".into(),
        })
        .unwrap();
    assert_eq!(event.actor.role, Role::Facilitator);
    assert_eq!(event.actor.name.as_deref(), Some("C. Bakker"));
    let Body::InjectReleased(released) = &event.body else {
        panic!("{event:?}")
    };
    assert_eq!(released.title, "Only when the facilitator says");
    assert!(
        s.apply(Action::ReleaseInject {
            inject: "by-hand".into()
        })
        .is_err(),
        "released twice"
    );
    // The released inject carries what the participants saw.
    let at_b = events(s.folder())
        .into_iter()
        .find_map(|e| match e.body {
            Body::InjectReleased(i) if i.inject == "at-b" => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(at_b.body.as_deref(), Some("Body of at-b"));
    assert_eq!(at_b.prompt.as_deref(), Some("What now?"));
}

#[test]
fn a_paused_exercise_clock_holds_the_injects_and_moving_it_on_fires_them() {
    let dir = common::temp_dir("exercise-clock-injects");
    let clock = common::clock();
    let mut s = Session::create(&dir, &start(Mode::Exercise, None), &clock).unwrap();
    clock.advance(Duration::minutes(10));
    s.apply(Action::Clock {
        change: ClockChange::Pause,
        amount: 0,
    })
    .unwrap();
    clock.advance(Duration::hours(5));
    assert!(
        fire_due(&mut s).is_empty(),
        "the exercise clock stood still"
    );
    s.apply(Action::Clock {
        change: ClockChange::Advance,
        amount: 20 * 60,
    })
    .unwrap();
    assert_eq!(fire_due(&mut s), ["after-30"], "moved on to minute 30");
}

#[test]
fn pause_speed_and_moving_on_change_the_exercise_time_and_not_the_real_time() {
    let dir = common::temp_dir("exercise-clock-times");
    let clock = common::clock();
    let t0 = t0();
    let mut s = Session::create(&dir, &start(Mode::Exercise, None), &clock).unwrap();
    let real = |s: &Session<&ManualClock>| events(s.folder()).last().map(|e| e.time).unwrap();
    clock.advance(Duration::minutes(10));
    assert_eq!(
        s.session_time(),
        t0 + Duration::minutes(10),
        "runs with real time"
    );
    let e = s
        .apply(Action::Clock {
            change: ClockChange::Pause,
            amount: 0,
        })
        .unwrap();
    assert_eq!(
        e.time,
        t0 + Duration::minutes(10),
        "the event has the real time"
    );
    clock.advance(Duration::minutes(20));
    assert_eq!(s.session_time(), t0 + Duration::minutes(10), "paused");
    s.apply(Action::Note {
        text: "while paused".into(),
    })
    .unwrap();
    assert_eq!(real(&s), t0 + Duration::minutes(30), "real time went on");
    s.apply(Action::Clock {
        change: ClockChange::Resume,
        amount: 0,
    })
    .unwrap();
    s.apply(Action::Clock {
        change: ClockChange::Speed,
        amount: 24,
    })
    .unwrap();
    clock.advance(Duration::minutes(5));
    // 10 minutes before the pause, then 5 real minutes at 24 times: 2 hours.
    assert_eq!(s.session_time(), t0 + Duration::minutes(10 + 120));
    let e = s
        .apply(Action::Clock {
            change: ClockChange::Advance,
            amount: 6 * 3600,
        })
        .unwrap();
    assert_eq!(
        e.time,
        t0 + Duration::minutes(35),
        "real time, unchanged by the jump"
    );
    let Body::ClockChanged(c) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(c.exercise_time, t0 + Duration::minutes(10 + 120 + 360));
    assert_eq!(
        (c.speed, c.paused, c.advanced_secs),
        (24, false, Some(21_600))
    );
    // Every event's time in the journal is the machine's clock: strictly the real times.
    let times: Vec<_> = events(s.folder()).iter().map(|e| e.time).collect();
    assert!(
        times.iter().all(|t| *t <= t0 + Duration::minutes(35)),
        "{times:?}"
    );
    // Reopening replays the clock from the journal to the same reading.
    let before = s.session_time();
    let folder = s.folder().to_path_buf();
    drop(s);
    let s = Session::open(&folder, false, &clock).unwrap();
    assert_eq!(s.session_time(), before);
}

#[test]
fn a_day_long_deadline_passes_in_an_hour_of_exercise() {
    let dir = common::temp_dir("exercise-deadline");
    let clock = common::clock();
    let mut s = Session::create(&dir, &start(Mode::Exercise, None), &clock).unwrap();
    s.apply(Action::Clock {
        change: ClockChange::Speed,
        amount: 30,
    })
    .unwrap();
    clock.advance(Duration::minutes(47));
    // 23 h 30 of exercise: in the deadline's warning time, not yet overdue.
    assert_eq!(s.deadlines()[0].status, Status::Warning);
    assert!(s.deadlines_to_record().is_empty());
    clock.advance(Duration::minutes(1));
    // 48 real minutes at 30 times as fast: 24 hours of exercise.
    assert_eq!(s.deadlines()[0].status, Status::Overdue);
    assert_eq!(s.deadlines_to_record(), ["day"]);
    let e = s
        .apply(Action::DeadlinePassed {
            deadline: "day".into(),
        })
        .unwrap();
    let Body::DeadlinePassed(d) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(
        d.due,
        t0() + Duration::hours(24),
        "due on the exercise clock"
    );
    assert_eq!(
        e.time,
        t0() + Duration::minutes(48),
        "recorded at the real time"
    );
}

#[test]
fn in_a_real_session_the_clock_and_injects_are_refused() {
    let dir = common::temp_dir("exercise-real");
    let clock = common::clock();
    let mut s = Session::create(&dir, &start(Mode::Real, None), &clock).unwrap();
    clock.advance(Duration::hours(2));
    assert!(s.injects_due().is_empty());
    for action in [
        Action::Clock {
            change: ClockChange::Pause,
            amount: 0,
        },
        Action::Clock {
            change: ClockChange::Advance,
            amount: 60,
        },
        Action::ReleaseInject {
            inject: "by-hand".into(),
        },
        Action::InjectDue {
            inject: "after-30".into(),
        },
    ] {
        assert!(
            matches!(s.apply(action.clone()), Err(Error::Rejected(_))),
            "{action:?}"
        );
    }
    assert_eq!(s.session_time(), t0() + Duration::hours(2));
    assert_eq!(events(s.folder()).len(), 1, "nothing written");
    assert!(
        Session::create(&dir, &start(Mode::Real, Some(SCENARIO)), &clock)
            .is_err_and(|e| e.to_string().contains("belongs to an exercise"))
    );
}

#[test]
fn answers_are_journaled_once_for_released_injects_by_participants() {
    let dir = common::temp_dir("exercise-answers");
    let clock = common::clock();
    let mut s = Session::create(&dir, &start(Mode::Exercise, None), &clock).unwrap();
    let answer = |inject: &str, answer: &str, by: Option<&str>| Action::AnswerInject {
        inject: inject.into(),
        answer: answer.into(),
        by: by.map(str::to_owned),
    };
    assert!(
        s.apply(answer("by-hand", "early", None))
            .is_err_and(|e| e.to_string().contains("not been released"))
    );
    s.apply(Action::ReleaseInject {
        inject: "by-hand".into(),
    })
    .unwrap();
    assert_eq!(s.unanswered_injects(), ["by-hand"]);
    assert!(
        s.apply(answer("by-hand", "  ", None)).is_err(),
        "empty answer"
    );
    assert!(
        s.apply(answer("by-hand", "x", Some("Mallory")))
            .is_err_and(|e| e.to_string().contains("not a participant"))
    );
    clock.advance(Duration::minutes(3));
    let e = s
        .apply(answer("by-hand", " The manager decides. ", Some("D. Smit")))
        .unwrap();
    let Body::InjectAnswered(a) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(
        (a.answer.as_str(), a.by.as_deref()),
        ("The manager decides.", Some("D. Smit"))
    );
    assert!(s.unanswered_injects().is_empty());
    assert!(
        s.apply(answer("by-hand", "again", None))
            .is_err_and(|e| e.to_string().contains("already answered"))
    );
    assert_eq!(
        s.state().answered.get("by-hand"),
        Some(&(t0() + Duration::minutes(3)))
    );
}

#[test]
fn a_scenario_is_kept_beside_the_journal_applied_on_reopening_and_checked_by_verify() {
    let dir = common::temp_dir("exercise-scenario-copy");
    let clock = common::clock();
    let s = Session::create(&dir, &start(Mode::Exercise, Some(SCENARIO)), &clock).unwrap();
    let folder = s.folder().to_path_buf();
    assert!(
        s.state().started.session.starts_with("EXERCISE-"),
        "the session id, and every file name made from it, says EXERCISE"
    );
    let runbook = s.runbook().clone();
    // The scenario's inject comes on top of the runbook's, its expectation over the runbook's.
    let injects: Vec<&str> = runbook.injects.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        injects,
        ["at-b", "after-30", "b-plus-10", "by-hand", "two-hours"]
    );
    assert_eq!(
        runbook.expected_at("b").map(|e| e.choice.as_str()),
        Some("x")
    );
    assert_eq!(runbook.milestones.len(), 2);
    let started = &s.state().started;
    let reference = started.scenario.as_ref().unwrap();
    assert_eq!(
        (reference.id.as_str(), reference.file.as_str()),
        ("drill-night", "scenario.toml")
    );
    assert_eq!(reference.sha256, journal::Digest::of(SCENARIO.as_bytes()));
    assert_eq!(started.participants.len(), 2);
    assert_eq!(
        std::fs::read_to_string(folder.join("scenario.toml")).unwrap(),
        SCENARIO
    );
    drop(s);
    let s = Session::open(&folder, false, &clock).unwrap();
    assert_eq!(s.runbook(), &runbook);
    assert_eq!(
        s.scenario().unwrap().briefing.as_deref(),
        Some("It is 3 a.m.")
    );
    drop(s);
    assert!(journal::verify(&folder, None, None).unwrap().intact());
    // A changed scenario copy: the session cannot go on, and verify says so.
    let copy = folder.join("scenario.toml");
    std::fs::write(&copy, SCENARIO.replace("2h", "3h")).unwrap();
    let err = Session::open(&folder, false, &clock).unwrap_err();
    assert!(
        err.to_string().contains("scenario copy does not match"),
        "{err}"
    );
    let v = journal::verify(&folder, None, None).unwrap();
    assert!(!v.intact());
    assert!(v.runbook == journal::verify::RunbookCheck::Intact);
}

fn scenario_errors(text: &str) -> Vec<String> {
    let runbook = Runbook::parse(RUNBOOK).runbook.unwrap();
    let checked = Scenario::parse(text, Ok(&runbook));
    let source = custody::runbook::SourceText::new("drill-night.toml", text);
    checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let at = source.location(d.span.start);
            format!("{}:{}: {}", at.line, at.column, d.message)
        })
        .collect()
}

#[test]
fn scenario_mistakes_are_found_with_their_line_and_column() {
    assert!(
        scenario_errors(SCENARIO).is_empty(),
        "{:?}",
        scenario_errors(SCENARIO)
    );
    let cases: [(&str, &str, &str); 9] = [
        (
            "id = \"two-hours\"",
            "id = \"at-b\"",
            "inject `at-b` is already an inject of runbook `drill`",
        ),
        (
            "after = \"2h\"",
            "after = \"2x\"",
            "bad duration in `after` of inject `two-hours`",
        ),
        (
            "after = \"2h\"",
            "at = \"nowhere\"",
            "unknown step `nowhere` in `at` of inject `two-hours`",
        ),
        (
            "step = \"b\"",
            "step = \"a\"",
            "step `a` is an instruction step, not a decision",
        ),
        (
            "choice = \"x\"",
            "choice = \"z\"",
            "`z` is not a choice of decision `b`",
        ),
        (
            "reached_by = [\"a\"]",
            "reached_by = []",
            "`reached_by` of milestone `left-a` is empty",
        ),
        (
            "runbook = \"drill\"",
            "runbook = \"other\"",
            "exercises runbook `other`, but was checked against `drill`",
        ),
        (
            "[[expected]]",
            "[[steps]]\nid = \"z\"\n\n[[expected]]",
            "unknown key `steps`",
        ),
        (
            "id = \"left-a\"",
            "id = \"reach-c\"",
            "milestone `reach-c` is already a milestone of runbook `drill`",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(SCENARIO.contains(from), "{from}");
        let broken = SCENARIO.replacen(from, to, 1);
        let errors = scenario_errors(&broken);
        let line = broken[..broken.find(to).unwrap()].lines().count() + 1;
        assert!(
            errors
                .iter()
                .any(|e| e.contains(expected) && e.starts_with(&format!("{line}:"))),
            "{to}: expected `{expected}` on line {line}, got {errors:?}"
        );
    }
    // Two expected choices at one decision.
    let twice = format!("{SCENARIO}\n[[expected]]\nstep = \"b\"\nchoice = \"y\"\n");
    assert!(
        scenario_errors(&twice)
            .iter()
            .any(|e| e.contains("the choice expected at `b` is already given"))
    );
    // The runbook marks one expected choice per decision.
    let marked = RUNBOOK.replace(
        "next = \"c\"\n\n[[steps.choices]]",
        "next = \"c\"\nexpected = true\n\n[[steps.choices]]",
    );
    let checked = Runbook::parse(&marked);
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.message.contains("already expects choice `x`")),
        "{:?}",
        checked.diagnostics
    );
}

#[test]
fn custody_check_checks_a_scenario_against_its_runbook_beside_it() {
    let dir = common::temp_dir("exercise-check-cli");
    std::fs::create_dir_all(dir.join("exercises")).unwrap();
    std::fs::write(dir.join("drill.toml"), RUNBOOK).unwrap();
    let scenario = dir.join("exercises/drill-night.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let run = |path: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
            .arg("check")
            .arg(path)
            .output()
            .unwrap()
    };
    let out = run(&scenario);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ok: scenario drill-night 1.0.0 for runbook drill"),
        "{stdout}"
    );
    std::fs::write(
        &scenario,
        SCENARIO.replace("choice = \"x\"", "choice = \"q\""),
    )
    .unwrap();
    let out = run(&scenario);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("drill-night.toml:"), "{stdout}");
    assert!(
        stdout.contains("`q` is not a choice of decision `b`"),
        "{stdout}"
    );
    // Without its runbook anywhere, the scenario's `runbook` key is blamed.
    std::fs::remove_file(dir.join("drill.toml")).unwrap();
    let out = run(&scenario);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(":7:11: error: runbook `drill`: no file drill.toml"),
        "{stdout}"
    );
}

#[test]
fn the_bundled_scenario_is_valid_and_scripts_the_flagship() {
    assert!(!bundled::SCENARIOS.is_empty());
    let mut files: Vec<String> = std::fs::read_dir("runbooks/exercises")
        .unwrap()
        .map(|e| format!("exercises/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.rsplit_once('.').is_some_and(|(_, e)| e == "toml"))
        .collect();
    files.sort();
    let bundled_files: Vec<&str> = bundled::SCENARIOS.iter().map(|b| b.file).collect();
    assert_eq!(files, bundled_files, "every scenario file is bundled");
    for b in bundled::SCENARIOS {
        assert!(is_scenario(b.text));
        let id = Scenario::runbook_of(b.text).unwrap();
        let (_, runbook) = bundled::find(&id).unwrap();
        let checked = Scenario::parse(b.text, Ok(&runbook));
        assert!(
            checked.diagnostics.is_empty(),
            "{}: {:?}",
            b.file,
            checked.diagnostics
        );
        let scenario = checked.scenario.unwrap();
        assert_eq!(
            format!("exercises/{}.toml", scenario.id),
            b.file,
            "file named by its id"
        );
        assert!(scenario.injects.len() >= 5, "at least five injects");
        assert!(
            scenario
                .injects
                .iter()
                .all(|i| !i.sources.is_empty() && i.prompt.is_some())
        );
        assert!(
            scenario.injects.iter().all(|i| i.expect.is_some()),
            "guidance for the review"
        );
        assert!(!scenario.milestones.is_empty() && !scenario.expected.is_empty());
        assert!(scenario.briefing.is_some());
        assert_eq!(bundled::scenarios_for(&runbook).len(), 1);
    }
    // The flagship's scenario covers the situations the field warns about.
    let text = bundled::SCENARIOS[0].text.to_lowercase();
    for theme in ["keep", "chat", "customer", "disk", "delete"] {
        assert!(text.contains(theme), "{theme}");
    }
}

#[test]
fn an_exercise_of_the_bundled_scenario_runs_to_its_end_with_every_inject_answered() {
    let dir = common::temp_dir("exercise-bundled-run");
    let clock = common::clock();
    let b = bundled::SCENARIOS[0];
    let (runbook_file, _) = bundled::find("csam-discovery").unwrap();
    let mut start = common::start("csam-discovery", Mode::Exercise);
    assert_eq!(start.runbook_text, runbook_file.text);
    start.scenario_text = Some(b.text.to_owned());
    start.participants = vec![Participant {
        name: "D. Smit".into(),
        role: "manager".into(),
    }];
    let mut s = Session::create(&dir, &start, &clock).unwrap();
    let mut answered = 0;
    let mut guard = 0;
    while s.state().current.is_some() {
        guard += 1;
        assert!(guard < 500, "the walk ends");
        clock.advance(Duration::minutes(2));
        for inject in fire_due(&mut s) {
            s.apply(Action::AnswerInject {
                inject,
                answer: "We record it and tell management only.".into(),
                by: Some("D. Smit".into()),
            })
            .unwrap();
            answered += 1;
        }
        let action = common::next_action(&s, 0).expect("an action for the step");
        s.apply(action).unwrap();
    }
    assert!(answered >= 3, "{answered} injects fired on the way");
    assert!(s.unanswered_injects().is_empty());
    s.seal(None, None).unwrap();
    assert!(journal::verify(s.folder(), None, None).unwrap().intact());
}

#[test]
fn custody_report_of_an_exercise_marks_every_file_and_every_format() {
    let dir = common::temp_dir("exercise-report-marks");
    let clock = common::clock();
    let mut s = Session::create(&dir, &start(Mode::Exercise, Some(SCENARIO)), &clock).unwrap();
    clock.advance(Duration::minutes(31));
    fire_due(&mut s);
    s.apply(Action::Clock {
        change: ClockChange::Advance,
        amount: 3600,
    })
    .unwrap();
    let folder = s.folder().to_path_buf();
    drop(s);
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(["report", "--format", "md,html,json", "-o"])
        .arg(&out_dir)
        .arg(&folder)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in &names {
        assert!(name.starts_with("EXERCISE-"), "{name}");
        let text = std::fs::read_to_string(out_dir.join(name)).unwrap();
        assert!(text.contains("EXERCISE"), "{name} is marked inside too");
    }
    let json = std::fs::read_to_string(
        out_dir.join(
            names
                .iter()
                .find(|n| n.rsplit_once('.').is_some_and(|(_, e)| e == "json"))
                .unwrap(),
        ),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["exercise"], true, "the JSON says so for programs");
    let md = std::fs::read_to_string(
        out_dir.join(
            names
                .iter()
                .find(|n| n.rsplit_once('.').is_some_and(|(_, e)| e == "md"))
                .unwrap(),
        ),
    )
    .unwrap();
    assert!(
        md.contains("Exercise clock moved on by 1h"),
        "clock changes are in the timeline"
    );
}
