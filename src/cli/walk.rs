//! The commands that open the terminal interface: the picker (`custody` in a terminal),
//! `custody start RUNBOOK` and `custody resume [SESSION]`. They find the runbook or the session,
//! then hand over to `custody::tui`.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use custody::journal::{self, Mode};
use custody::runbook::{Runbook, Scenario, bundled};
use custody::sanitize::for_terminal;
use custody::session::{self, Session, Start, SystemClock};
use custody::tui::{self, App, Given, Offer, Theme};

use crate::Status;

/// The runbooks on offer: the bundled ones, then valid `*.toml` files in `./runbooks` that are
/// not copies of them. Invalid files are reported in the second list.
pub fn offers() -> (Vec<Offer>, Vec<String>) {
    let mut offers = Vec::new();
    let mut problems = Vec::new();
    for b in bundled::ALL {
        match b.check().runbook {
            Some(runbook) => offers.push(Offer {
                runbook,
                text: b.text.to_owned(),
                origin: "bundled".into(),
            }),
            // The test suite keeps bundled runbooks valid; say so loudly if that ever breaks.
            None => problems.push(format!(
                "the bundled runbook {} is invalid; run `custody check` on runbooks/{}",
                b.file, b.file
            )),
        }
    }
    for path in crate::local_runbooks(Path::new("runbooks")) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if bundled::ALL.iter().any(|b| b.text == text) {
            continue;
        }
        let shown = for_terminal(&path.display().to_string()).into_owned();
        match Runbook::parse(&text).runbook {
            Some(runbook) => offers.push(Offer {
                runbook,
                text,
                origin: shown,
            }),
            None => problems.push(format!(
                "{shown} is not a valid runbook; run `custody check {shown}` to see why"
            )),
        }
    }
    (offers, problems)
}

/// The interface needs a terminal on both sides; say so instead of failing obscurely.
fn need_terminal(what: &str) -> Result<(), Status> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    eprintln!(
        "custody: {what} needs a terminal (standard input and output are not one). Run it in a \
         terminal, or over `ssh -t`."
    );
    Err(Status::Trouble)
}

fn finish(result: std::io::Result<String>) -> Status {
    match result {
        Ok(message) => {
            // The terminal may be gone (a hang-up): a message nobody can read is not an error.
            if !message.is_empty() {
                let _ = writeln!(std::io::stdout(), "{}", for_terminal(&message));
            }
            Status::Ok
        }
        Err(e) => {
            eprintln!("custody: the terminal failed: {e}");
            Status::Trouble
        }
    }
}

/// `custody` in a terminal: choose a runbook, then the start form.
pub fn pick(dir: &Path) -> Status {
    if let Err(status) = need_terminal("the runbook picker") {
        return status;
    }
    let (offers, problems) = offers();
    for p in &problems {
        eprintln!("custody: {p}");
    }
    let app = App::picker(offers, dir.to_owned(), SystemClock, Theme::from_env());
    finish(tui::run(app))
}

/// What `custody start` was given.
#[derive(Debug)]
pub struct StartArgs {
    pub runbook: PathBuf,
    pub given: Given,
    pub dir: PathBuf,
}

/// `custody start RUNBOOK`: straight into the walk when everything is given, else the form.
pub fn start(args: StartArgs) -> Status {
    let (text, origin) = match crate::read_runbook(&args.runbook) {
        Ok(text) => {
            let origin = if args.runbook.exists() {
                args.runbook.display().to_string()
            } else {
                "bundled".into()
            };
            (text, origin)
        }
        Err(crate::Unreadable::Io(why)) => {
            eprintln!(
                "custody: {}: {}",
                for_terminal(&args.runbook.display().to_string()),
                for_terminal(&why)
            );
            return Status::Trouble;
        }
        Err(crate::Unreadable::NotUtf8 { .. }) => {
            eprintln!(
                "custody: {}: not UTF-8 text; run `custody check` on it",
                for_terminal(&args.runbook.display().to_string())
            );
            return Status::Bad;
        }
    };
    let Some(runbook) = Runbook::parse(&text).runbook else {
        eprintln!(
            "custody: {} is not a valid runbook; run `custody check {}` to see why",
            for_terminal(&args.runbook.display().to_string()),
            for_terminal(&args.runbook.display().to_string())
        );
        return Status::Bad;
    };
    if let Err(status) = need_terminal("custody start") {
        return status;
    }
    let given = args.given;
    // With one jurisdiction in the runbook there is nothing to choose.
    let jurisdiction = given.jurisdiction.clone().or_else(|| {
        (runbook.jurisdictions.len() == 1)
            .then(|| runbook.jurisdictions.keys().next().cloned())
            .flatten()
    });
    let everything = given.operator.is_some()
        && given.case_id.is_some()
        && jurisdiction.is_some()
        && session::missing_variables(&runbook, &std::collections::BTreeMap::new()).is_empty();
    let theme = Theme::from_env();
    let offer = Offer {
        runbook,
        text,
        origin,
    };
    if everything {
        let start = Start {
            runbook_text: offer.text.clone(),
            operator: given.operator.clone().unwrap_or_default(),
            witness: given.witness.clone(),
            facilitator: None,
            case_id: given.case_id.clone().unwrap_or_default(),
            jurisdiction: jurisdiction.unwrap_or_default().to_uppercase(),
            mode: if given.exercise {
                Mode::Exercise
            } else {
                Mode::Real
            },
            variables: std::collections::BTreeMap::new(),
            scenario_text: None,
            participants: Vec::new(),
        };
        return match Session::create(&args.dir, &start, SystemClock) {
            Ok(session) => {
                let recent = session::read_recent(session.folder(), 50);
                finish(tui::run(App::walk(session, recent, theme, args.dir)))
            }
            Err(e) => {
                eprintln!("custody: cannot start: {}", for_terminal(&e.to_string()));
                Status::Bad
            }
        };
    }
    finish(tui::run(App::start(
        offer,
        given,
        args.dir,
        SystemClock,
        theme,
    )))
}

/// The open session (not sealed) whose last event is the latest.
fn latest_open(dir: &Path) -> Option<PathBuf> {
    let folders = journal::session_folders(dir).ok()?;
    folders
        .into_iter()
        .filter_map(|folder| {
            let v = journal::verify(&folder, None, None).ok()?;
            (v.sealed.is_none() && v.events > 0).then_some((v.last_time, folder))
        })
        .max_by_key(|(time, _)| *time)
        .map(|(_, folder)| folder)
}

/// `custody resume [SESSION]`: back where the session was, after a quit or a crash.
pub fn resume(session: Option<&Path>, dir: &Path) -> Status {
    let path = if let Some(s) = session {
        crate::cli::sessions::locate(s, dir)
    } else {
        let Some(p) = latest_open(dir) else {
            eprintln!(
                "custody: no open session in {}; `custody sessions` lists them all",
                for_terminal(&dir.display().to_string())
            );
            return Status::Bad;
        };
        p
    };
    if let Err(status) = need_terminal("custody resume") {
        return status;
    }
    match Session::open(&path, false, SystemClock) {
        Ok(session) if session.state().sealed.is_some() => {
            let id = session.state().started.session.clone();
            eprintln!(
                "custody: session {} is sealed: nothing more can be added. `custody verify {}` \
                 checks it.",
                for_terminal(&id),
                for_terminal(&id)
            );
            Status::Bad
        }
        Ok(mut session) => {
            let recent = session.take_recent_at_open();
            finish(tui::run(App::resumed(
                session,
                recent,
                Theme::from_env(),
                dir.to_owned(),
            )))
        }
        Err(e) => crate::cli::sessions::report_open_error(&e, &path),
    }
}

/// What `custody exercise` was given.
#[derive(Debug)]
pub struct ExerciseArgs {
    pub runbook: PathBuf,
    pub scenario: Option<PathBuf>,
    pub no_scenario: bool,
    pub facilitator: Option<String>,
    pub participants: Vec<String>,
    pub operator: Option<String>,
    pub case_id: Option<String>,
    pub jurisdiction: Option<String>,
    pub dir: PathBuf,
}

/// What an exercise runs on: the runbook and, unless there is none, the scenario.
struct Script {
    runbook: Runbook,
    runbook_text: String,
    /// `bundled`, or where the runbook was read from.
    origin: String,
    scenario: Option<(String, Scenario)>,
    /// Which scenario was chosen for the team, when custody chose it.
    notice: Option<String>,
}

/// The first problems of a scenario that does not check, one a line, for the message.
fn scenario_problems(checked: &custody::runbook::CheckedScenario) -> String {
    let mut text = String::new();
    for d in checked.diagnostics.iter().filter(|d| d.is_error()).take(3) {
        text.push_str("\n  ");
        text.push_str(&for_terminal(&d.message));
    }
    text
}

/// Reads a scenario file's text against the runbook it names (found as `custody check` finds
/// it: beside the exercises folder first, then the bundled runbooks).
fn scenario_script(path: &Path, text: String, bundled_scenario: bool) -> Result<Script, Status> {
    let shown = for_terminal(&path.display().to_string()).into_owned();
    let Some(id) = Scenario::runbook_of(&text) else {
        eprintln!(
            "custody: {shown} names no runbook (`runbook` in [scenario]); run `custody check \
             {shown}` to see why"
        );
        return Err(Status::Bad);
    };
    let found = if bundled_scenario {
        bundled::find(&id)
            .map(|(b, _)| (format!("bundled {}", b.file), b.text.to_owned()))
            .ok_or_else(|| "no bundled runbook has this id".to_owned())
    } else {
        bundled::locate_runbook(path, &id)
    };
    let (origin, runbook_text) = match found {
        Ok(found) => found,
        Err(why) => {
            eprintln!(
                "custody: {shown} exercises runbook `{}`: {}",
                for_terminal(&id),
                for_terminal(&why)
            );
            return Err(Status::Trouble);
        }
    };
    let Some(runbook) = Runbook::parse(&runbook_text).runbook else {
        eprintln!(
            "custody: the runbook `{}` that {shown} exercises ({}) is not valid; run `custody \
             check {shown}` to see why",
            for_terminal(&id),
            for_terminal(&origin)
        );
        return Err(Status::Bad);
    };
    let checked = Scenario::parse(&text, Ok(&runbook));
    let Some(scenario) = checked.scenario.clone() else {
        eprintln!(
            "custody: {shown} is not a valid scenario for runbook `{}`:{}\nrun `custody check \
             {shown}` to see every problem with its line",
            for_terminal(&id),
            scenario_problems(&checked)
        );
        return Err(Status::Bad);
    };
    Ok(Script {
        runbook,
        runbook_text,
        origin,
        scenario: Some((text, scenario)),
        notice: None,
    })
}

/// The runbook and scenario `custody exercise` was given, or the message already printed and
/// the exit status.
fn script(args: &ExerciseArgs) -> Result<Script, Status> {
    let path = &args.runbook;
    let shown = for_terminal(&path.display().to_string()).into_owned();
    // A bundled scenario named by its id, as `custody runbooks` lists them.
    let bundled_scenario = if path.exists() {
        None
    } else {
        bundled::SCENARIOS.iter().find(|b| {
            Scenario::runbook_of(b.text)
                .and_then(|id| bundled::find(&id))
                .and_then(|(_, r)| Scenario::parse(b.text, Ok(&r)).scenario)
                .is_some_and(|s| s.id == path.to_string_lossy())
        })
    };
    let text = match bundled_scenario {
        Some(b) => b.text.to_owned(),
        None => match crate::read_runbook(path) {
            Ok(text) => text,
            Err(crate::Unreadable::Io(why)) => {
                eprintln!(
                    "custody: {shown}: {}{}",
                    for_terminal(&why),
                    if path.exists() {
                        ""
                    } else {
                        " (nor a bundled scenario's)"
                    }
                );
                return Err(Status::Trouble);
            }
            Err(crate::Unreadable::NotUtf8 { .. }) => {
                eprintln!("custody: {shown}: not UTF-8 text; run `custody check {shown}` on it");
                return Err(Status::Bad);
            }
        },
    };
    if custody::runbook::is_scenario(&text) {
        if args.scenario.is_some() || args.no_scenario {
            eprintln!(
                "custody: {shown} is a scenario file, which names its runbook itself; give \
                 --scenario or --no-scenario with a runbook instead"
            );
            return Err(Status::Trouble);
        }
        return scenario_script(path, text, bundled_scenario.is_some());
    }
    let origin = if path.exists() {
        shown.clone()
    } else {
        "bundled".into()
    };
    let Some(runbook) = Runbook::parse(&text).runbook else {
        eprintln!(
            "custody: {shown} is not a valid runbook; run `custody check {shown}` to see why"
        );
        return Err(Status::Bad);
    };
    let mut notice = None;
    let scenario = if let Some(file) = &args.scenario {
        let file_shown = for_terminal(&file.display().to_string()).into_owned();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!(
                    "custody: --scenario {file_shown}: cannot be read: {}",
                    for_terminal(&e.to_string())
                );
                return Err(Status::Trouble);
            }
        };
        if !custody::runbook::is_scenario(&text) {
            eprintln!(
                "custody: --scenario {file_shown} is not a scenario file (it has no [scenario] \
                 table); run `custody check {file_shown}` on it"
            );
            return Err(Status::Bad);
        }
        let checked = Scenario::parse(&text, Ok(&runbook));
        let Some(scenario) = checked.scenario.clone() else {
            eprintln!(
                "custody: --scenario {file_shown} is not a valid scenario for runbook `{}`:{}\n\
                 run `custody check {file_shown}` to see every problem with its line",
                for_terminal(&runbook.id),
                scenario_problems(&checked)
            );
            return Err(Status::Bad);
        };
        Some((text, scenario))
    } else if args.no_scenario {
        None
    } else {
        let mut bundled = bundled::scenarios_for(&runbook);
        let count = bundled.len();
        if bundled.is_empty() {
            notice = Some(
                "No bundled scenario for this runbook: only its own injects; --scenario FILE \
                 follows one."
                    .to_owned(),
            );
            None
        } else {
            let (b, scenario) = bundled.swap_remove(0);
            notice = Some(if count > 1 {
                format!(
                    "Scenario: {} (bundled, 1 of {count}; --scenario FILE for another)",
                    scenario.id
                )
            } else {
                format!(
                    "Scenario: {} (bundled; --no-scenario for none)",
                    scenario.id
                )
            });
            Some((b.text.to_owned(), scenario))
        }
    };
    Ok(Script {
        runbook,
        runbook_text: text,
        origin,
        scenario,
        notice,
    })
}

/// `custody exercise RUNBOOK|SCENARIO`: the scenario (named, or the runbook's bundled one),
/// then the start form, or straight in when everything is given.
pub fn exercise(args: ExerciseArgs) -> Status {
    let mut participants = Vec::new();
    for text in &args.participants {
        match tui::exercise::participant(text) {
            Ok(p) => participants.push(p),
            Err(why) => {
                eprintln!("custody: --participant: {}", for_terminal(&why));
                return Status::Trouble;
            }
        }
    }
    let script = match script(&args) {
        Ok(script) => script,
        Err(status) => return status,
    };
    if let Err(status) = need_terminal("custody exercise") {
        return status;
    }
    let runbook = &script.runbook;
    let scenario = script.scenario.as_ref().map(|(_, s)| s);
    // The jurisdiction given, else the one the story takes place in, else the only one.
    let jurisdiction = args
        .jurisdiction
        .clone()
        .or_else(|| scenario.and_then(|s| s.jurisdiction.clone()))
        .or_else(|| {
            (runbook.jurisdictions.len() == 1)
                .then(|| runbook.jurisdictions.keys().next().cloned())
                .flatten()
        });
    let everything = args.operator.is_some()
        && args.case_id.is_some()
        && jurisdiction.is_some()
        && session::missing_variables(runbook, &std::collections::BTreeMap::new()).is_empty();
    let theme = Theme::from_env();
    if everything {
        let start = Start {
            runbook_text: script.runbook_text.clone(),
            operator: args.operator.clone().unwrap_or_default(),
            witness: None,
            facilitator: args.facilitator.clone(),
            case_id: args.case_id.clone().unwrap_or_default(),
            jurisdiction: jurisdiction.unwrap_or_default().to_uppercase(),
            mode: Mode::Exercise,
            variables: std::collections::BTreeMap::new(),
            scenario_text: script.scenario.as_ref().map(|(text, _)| text.clone()),
            participants,
        };
        return match Session::create(&args.dir, &start, SystemClock) {
            Ok(session) => {
                let recent = session::read_recent(session.folder(), 50);
                let mut app = App::walk(session, recent, theme, args.dir);
                if let Some(notice) = &script.notice {
                    app.notify(notice);
                }
                finish(tui::run(app))
            }
            Err(e) => {
                eprintln!("custody: cannot start: {}", for_terminal(&e.to_string()));
                Status::Bad
            }
        };
    }
    let offer = Offer {
        runbook: script.runbook.clone(),
        text: script.runbook_text.clone(),
        origin: script.origin.clone(),
    };
    let given = Given {
        operator: args.operator.clone(),
        witness: None,
        case_id: args.case_id.clone(),
        jurisdiction,
        exercise: true,
    };
    let (scenario_text, scenario) = match script.scenario {
        Some((text, scenario)) => (Some(text), Some(scenario)),
        None => (None, None),
    };
    let setup = tui::exercise::ExerciseSetup {
        scenario_text,
        scenario,
        facilitator: args.facilitator.clone(),
        participants,
        notice: script.notice,
    };
    finish(tui::run(App::exercise(
        offer,
        given,
        setup,
        args.dir,
        SystemClock,
        theme,
    )))
}
