//! The commands that open the terminal interface: the picker (`custody` in a terminal),
//! `custody start RUNBOOK` and `custody resume [SESSION]`. They find the runbook or the session,
//! then hand over to `custody::tui`.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use custody::journal::{self, Mode};
use custody::runbook::{Runbook, bundled};
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
        Ok(session) => {
            let recent = session::read_recent(session.folder(), 50);
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

/// `custody exercise RUNBOOK|SCENARIO`.
pub fn exercise(args: ExerciseArgs) -> Status {
    let _ = args;
    eprintln!("custody: exercise is not built yet");
    Status::Trouble
}
