//! The `custody` command line.
//!
//! This file only parses arguments, calls into the library (`custody::runbook`, ...) and turns
//! the outcome into text and an exit status: 0 success, 1 the thing checked is bad (an invalid
//! runbook, a changed or torn journal), 2 a usage or I/O error. Everything with a rule in it
//! lives in the library; `cli/` holds the printing of the session commands.

mod cli;

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use custody::runbook::{self, Checked, Runbook, SourceText, bundled};
use custody::sanitize::for_terminal;

/// Exit statuses, the same for every subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    Ok = 0,
    /// What was checked is bad: an invalid runbook.
    Bad = 1,
    /// Usage or I/O error: a file that cannot be read.
    Trouble = 2,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        ExitCode::from(status as u8)
    }
}

const EXAMPLES: &str = "\
Examples:
  custody                               choose a runbook and start (in a terminal)
  custody start csam-discovery          start a session with the flagship runbook
  custody resume                        take the latest open session up again
  custody runbooks                      list the bundled runbooks
  custody check runbooks/*.toml         check runbook files before use
  custody check csam-discovery          check a bundled runbook by its id
  custody sessions                      list the sessions kept on this machine
  custody verify SESSION                check a session's journal; prints its final hash
  custody report SESSION                write the session's report (md, html, json, pdf)
  custody hash /srv/share > SHA256SUMS  hash files and folders without opening them for view

Exit status: 0 success, 1 what was checked is bad, 2 usage or I/O error.";

/// Incident response at the console: walk a runbook step by step and keep a tamper-evident
/// record of every action.
#[derive(Debug, Parser)]
#[command(name = "custody", version, after_help = EXAMPLES)]
struct Cli {
    /// Without a subcommand: in a terminal, the runbook picker; otherwise the list of runbooks.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the bundled runbooks (id, language, version, title)
    #[command(after_help = "\
Examples:
  custody runbooks           a table of the runbooks built into custody
  custody runbooks --json    the same as JSON lines, for scripts

Runbook files in ./runbooks that differ from the bundled ones are listed too.")]
    Runbooks {
        /// Print one JSON object per runbook instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Check runbook files and report every problem with its line and column
    #[command(after_help = "\
Examples:
  custody check my-runbook.toml
  custody check runbooks/*.toml
  custody check --deny-warnings runbooks/*.toml    (for CI: warnings fail too)
  custody check csam-discovery                     (a bundled runbook, by id)

Each problem is printed as `path:line:col: error: message`, with the line and a caret.
Exit status: 0 all valid (warnings allowed), 1 a runbook is invalid, 2 a file cannot be read.")]
    Check {
        /// Runbook files (TOML), or ids of bundled runbooks
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Treat warnings as errors
        #[arg(long)]
        deny_warnings: bool,
    },
    /// List the sessions in the sessions folder (id, runbook, case, operator, times, state)
    #[command(after_help = "\
Examples:
  custody sessions
  custody sessions --dir /mnt/usb/custody     (sessions kept on a USB stick)
  custody sessions --json                     (one JSON object per session)

STATE is open, paused, sealed, torn (the last write was cut short; see `custody recover`) or
CHANGED (the journal is not as written; see `custody verify`).")]
    Sessions {
        #[command(flatten)]
        dir: DirArg,
        /// Print one JSON object per session instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Check a session's journal: every hash, the chain, the runbook copy and any signature
    #[command(after_help = "\
Examples:
  custody verify 20261123T091502Z-csam-discovery-3fa1
  custody verify /mnt/usb/custody/20261123T091502Z-csam-discovery-3fa1/journal.jsonl
  custody verify SESSION --pubkey custody.pub      (check the seal's signature with this key)
  custody verify SESSION --expect 9f86d081...      (check a final hash written down earlier)

It prints a summary and the final hash (64 hex digits) to compare with one written down.
Nothing is changed and no lock is taken, so a session in use can be checked too.
Exit status: 0 intact, 1 changed, torn, or a bad signature (the first bad event and its byte
offset are named), 2 the journal cannot be read.")]
    Verify {
        /// The session: its folder, its journal.jsonl, or its id under --dir
        session: PathBuf,
        #[command(flatten)]
        dir: DirArg,
        /// A minisign public key (a .pub file, or the key in base64) to check the signature with
        #[arg(long, value_name = "KEY")]
        pubkey: Option<String>,
        /// A hash written down earlier that must be in the chain
        #[arg(long, value_name = "HASH")]
        expect: Option<String>,
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Close a session for good, optionally signing its journal with a minisign key
    #[command(after_help = "\
Examples:
  custody seal SESSION
  custody seal SESSION --sign ~/.minisign/custody.key --note \"handed to police, ref 2026/4411\"

After the seal nothing can be added. With --sign, the journal is signed into
journal.jsonl.minisig, which `minisign -Vm journal.jsonl -p KEY.pub` checks too.
A password-protected key asks for its password on the terminal.")]
    Seal {
        /// The session: its folder, its journal.jsonl, or its id under --dir
        session: PathBuf,
        #[command(flatten)]
        dir: DirArg,
        /// A minisign secret key file to sign the sealed journal with
        #[arg(long, value_name = "KEY")]
        sign: Option<PathBuf>,
        /// A closing note, kept in the seal event
        #[arg(long)]
        note: Option<String>,
    },
    /// Write a session's report for management and the police (Markdown, HTML, JSON, PDF)
    #[command(after_help = "\
Examples:
  custody report SESSION                         every format, into the current folder
  custody report SESSION --format pdf -o case-0042.pdf
  custody report SESSION --format html,pdf -o /mnt/usb/reports/
  custody report SESSION --format md -o -        Markdown on standard output

The report is computed from the journal and the runbook copy alone: the same journal always
gives the same bytes. Each file written is printed with its SHA-256. An exercise's reports are
marked EXERCISE on every page and in their file names. A journal that does not verify gets no
report unless --damaged is given; that report then says so on its first page.
Exit status: 0 written, 1 the journal does not verify, 2 usage or I/O error.")]
    Report {
        /// The session: its folder, its journal.jsonl, or its id under --dir
        session: PathBuf,
        #[command(flatten)]
        dir: DirArg,
        /// Formats, separated by commas: md, html, json, pdf, or all
        #[arg(long, short = 'f', default_value = "all", value_name = "FORMATS")]
        format: String,
        /// Where to write: a folder, a file (one format), or - for standard output (one format)
        #[arg(long, short = 'o', value_name = "PATH")]
        output: Option<PathBuf>,
        /// Write a report even when the journal does not verify (marked as not verified)
        #[arg(long)]
        damaged: bool,
    },
    /// Run a tabletop exercise of a runbook, with a facilitator, injects and an exercise clock
    #[command(after_help = "\
Examples:
  custody exercise csam-discovery                      the bundled scenario, if the runbook has one
  custody exercise runbooks/exercises/csam-discovery-night-shift.toml
  custody exercise csam-discovery --scenario my-scenario.toml --facilitator \"C. Bakker\" \\
      --participant \"A. Jansen=on-call engineer\" --participant \"D. Smit=manager\"

An exercise is a session like any other (same journal, same verify), marked EXERCISE on every
screen, page and file name. The facilitator releases injects (key i), pauses or speeds up the
exercise clock (key t); injects also fire at their step or after their delay on that clock.
When it ends, the after-action review is written beside the report; `custody review` writes it
again, for one session or several side by side.")]
    Exercise {
        /// A runbook (file or bundled id) or a scenario file (runbooks/exercises/*.toml)
        runbook: PathBuf,
        /// A scenario file to follow (when RUNBOOK is a runbook)
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Follow no scenario: only the runbook's own injects
        #[arg(long, conflicts_with = "scenario")]
        no_scenario: bool,
        /// The facilitator's name
        #[arg(long)]
        facilitator: Option<String>,
        /// A participant and the part they play, as NAME=ROLE (repeat for each)
        #[arg(long = "participant", value_name = "NAME=ROLE")]
        participants: Vec<String>,
        /// The name of the person at the keyboard: the operator
        #[arg(long)]
        operator: Option<String>,
        /// The case id of the exercise
        #[arg(long = "case", value_name = "ID")]
        case_id: Option<String>,
        /// The jurisdiction code to play in (the scenario's, by default)
        #[arg(long, value_name = "CC")]
        jurisdiction: Option<String>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Write the after-action review of one or more exercise sessions (side by side)
    #[command(after_help = "\
Examples:
  custody review SESSION                              every format, into the current folder
  custody review TEAM-A TEAM-B --format html -o review.html    two teams side by side
  custody review SESSION --format md -o -             Markdown on standard output

The review is computed from the journals and their runbook and scenario copies alone: the
timeline, time to each milestone against its target, deadlines missed, skipped steps and their
reasons, decisions against the expected ones, answers to injects and the notes as lessons
learned. Its files are marked EXERCISE. Each file written is printed with its SHA-256.
Exit status: 0 written, 1 a journal does not verify or is not an exercise, 2 usage or I/O error.")]
    Review {
        /// The sessions: folders, journal.jsonl files, or ids under --dir
        #[arg(required = true, value_name = "SESSION")]
        sessions: Vec<PathBuf>,
        #[command(flatten)]
        dir: DirArg,
        /// Formats, separated by commas: md, html, json, pdf, or all
        #[arg(long, short = 'f', default_value = "all", value_name = "FORMATS")]
        format: String,
        /// Where to write: a folder, a file (one format), or - for standard output (one format)
        #[arg(long, short = 'o', value_name = "PATH")]
        output: Option<PathBuf>,
        /// Review a journal even when it does not verify (marked as not verified)
        #[arg(long)]
        damaged: bool,
    },
    /// Start a session: walk a runbook step by step in the terminal
    #[command(after_help = "\
Examples:
  custody start csam-discovery
  custody start csam-discovery --operator \"A. Jansen\" --case CASE-2026-0042 --jurisdiction NL
  custody start my-runbook.toml --exercise

Without --operator, --case and --jurisdiction (when the runbook has several), a short form asks
for them. Every step is written to the journal in DIR/<session>/journal.jsonl.")]
    Start {
        /// A runbook file, or the id of a bundled runbook
        runbook: PathBuf,
        /// Your name: the operator
        #[arg(long)]
        operator: Option<String>,
        /// The case id (a ticket number, say)
        #[arg(long = "case", value_name = "ID")]
        case_id: Option<String>,
        /// A witness watching and confirming
        #[arg(long)]
        witness: Option<String>,
        /// The jurisdiction code the runbook lists (BE, NL, UK, US ...)
        #[arg(long, value_name = "CC")]
        jurisdiction: Option<String>,
        /// A tabletop exercise, not a real incident (marked on every screen and page)
        #[arg(long)]
        exercise: bool,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Hash files and folders as evidence, without showing them (sha256sum lines or a manifest)
    #[command(after_help = "\
Examples:
  custody hash /srv/share/upload > SHA256SUMS      then: sha256sum -c SHA256SUMS
  custody hash --json --hashes sha256,sha1,md5 /srv/share/upload > manifest.jsonl
  custody hash --follow-symlinks /home/jdoe/Downloads

Files are read only to hash them, with O_NOATIME where the system allows it (their access time
is kept); nothing is shown, changed or deleted. Devices, fifos and sockets are listed, never
opened; links are listed with their target and followed only with --follow-symlinks. On a
terminal, names with control characters are shown escaped; redirect the output to a file for
exact lines. Ctrl-C stops: what was done is printed. docs/EVIDENCE.md describes the formats.
Exit status: 0 all hashed, 1 some entries had errors (each is printed), 2 usage error or a path
that does not exist (nothing hashed), 130 cancelled with Ctrl-C.")]
    Hash {
        /// Files and folders (folders are hashed with everything under them)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Hash functions, separated by commas: sha256 (always), sha1, md5 (shown with --json)
        #[arg(long, value_name = "HASHES")]
        hashes: Option<String>,
        /// Print the manifest: one JSON object per file, folder, link or other object
        #[arg(long)]
        json: bool,
        /// Follow symbolic links (loops are detected and recorded)
        #[arg(long)]
        follow_symlinks: bool,
        /// Hashing threads [default: one per core]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
    },
    /// Take a session up again where it was (after a quit, a crash or a dropped connection)
    #[command(after_help = "\
Examples:
  custody resume                 the open session with the latest activity
  custody resume 20261123T091502Z-csam-discovery-3fa1

The screen comes back at the step where the session was; how long it was interrupted is
journaled and shown.")]
    Resume {
        /// The session: its folder, its journal.jsonl, or its id under --dir
        session: Option<PathBuf>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Set aside a torn last line (a write cut short by a crash) so that a session can go on
    #[command(after_help = "\
Examples:
  custody recover SESSION

The torn bytes are moved into torn-<offset>.bin in the session folder, never deleted; the
journal is cut back to its last whole line and a `recovered` event records what was moved,
with its SHA-256. A journal that was changed (not torn) is refused and left as it is.")]
    Recover {
        /// The session: its folder, its journal.jsonl, or its id under --dir
        session: PathBuf,
        #[command(flatten)]
        dir: DirArg,
    },
}

/// The folder that holds session folders.
#[derive(Debug, clap::Args)]
struct DirArg {
    /// The sessions folder [default: $`CUSTODY_DIR`, else ~/.local/share/custody/sessions]
    #[arg(long, value_name = "DIR", env = "CUSTODY_DIR", hide_env = true)]
    dir: Option<PathBuf>,
}

impl DirArg {
    fn get(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(cli::sessions::default_dir)
    }

    /// The folder, after a warning if other users can read it.
    fn warned(&self) -> PathBuf {
        let dir = self.get();
        cli::sessions::warn_if_open(&dir);
        dir
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            let dir = cli::sessions::default_dir_from_env();
            cli::sessions::warn_if_open(&dir);
            cli::walk::pick(&dir)
        }
        None => list_runbooks(false),
        Some(Command::Runbooks { json }) => list_runbooks(json),
        Some(Command::Check {
            files,
            deny_warnings,
        }) => check(&files, deny_warnings),
        Some(Command::Sessions { dir, json }) => cli::sessions::list(&dir.warned(), json),
        Some(Command::Verify {
            session,
            dir,
            pubkey,
            expect,
            json,
        }) => cli::sessions::verify(
            &session,
            &dir.get(),
            pubkey.as_deref(),
            expect.as_deref(),
            json,
        ),
        Some(Command::Seal {
            session,
            dir,
            sign,
            note,
        }) => cli::sessions::seal(&session, &dir.get(), sign.as_deref(), note),
        Some(Command::Recover { session, dir }) => cli::sessions::recover(&session, &dir.get()),
        Some(Command::Start {
            runbook,
            operator,
            case_id,
            witness,
            jurisdiction,
            exercise,
            dir,
        }) => cli::walk::start(cli::walk::StartArgs {
            runbook,
            given: custody::tui::Given {
                operator,
                witness,
                case_id,
                jurisdiction,
                exercise,
            },
            dir: dir.warned(),
        }),
        Some(Command::Exercise {
            runbook,
            scenario,
            no_scenario,
            facilitator,
            participants,
            operator,
            case_id,
            jurisdiction,
            dir,
        }) => cli::walk::exercise(cli::walk::ExerciseArgs {
            runbook,
            scenario,
            no_scenario,
            facilitator,
            participants,
            operator,
            case_id,
            jurisdiction,
            dir: dir.warned(),
        }),
        Some(Command::Review {
            sessions,
            dir,
            format,
            output,
            damaged,
        }) => cli::review::review(&sessions, &dir.get(), &format, output.as_deref(), damaged),
        Some(Command::Hash {
            paths,
            hashes,
            json,
            follow_symlinks,
            threads,
        }) => {
            return cli::hash::hash(&cli::hash::Args {
                paths,
                hashes,
                json,
                follow_symlinks,
                threads: threads.map(usize::from),
            });
        }
        Some(Command::Resume { session, dir }) => {
            cli::walk::resume(session.as_deref(), &dir.warned())
        }
        Some(Command::Report {
            session,
            dir,
            format,
            output,
            damaged,
        }) => cli::report::report(&session, &dir.get(), &format, output.as_deref(), damaged),
    };
    status.into()
}

/// A runbook to show in the list: bundled or found in ./runbooks.
struct Listed {
    runbook: Runbook,
    origin: String,
}

fn list_runbooks(json: bool) -> Status {
    let mut listed: Vec<Listed> = Vec::new();
    for b in bundled::ALL {
        match b.check().runbook {
            Some(runbook) => listed.push(Listed {
                runbook,
                origin: "bundled".into(),
            }),
            // The test suite keeps bundled runbooks valid; say so loudly if that ever breaks.
            None => eprintln!(
                "custody: the bundled runbook {} is invalid; run `custody check` on runbooks/{}",
                b.file, b.file
            ),
        }
    }
    let mut status = Status::Ok;
    for path in local_runbooks(Path::new("runbooks")) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if bundled::ALL.iter().any(|b| b.text == text) {
            continue;
        }
        let shown = path.display().to_string();
        if let Some(runbook) = Runbook::parse(&text).runbook {
            listed.push(Listed {
                runbook,
                origin: shown,
            });
        } else {
            let shown = for_terminal(&shown);
            eprintln!(
                "custody: {shown} is not a valid runbook; run `custody check {shown}` to see why"
            );
            status = Status::Bad;
        }
    }
    let (scenarios, bad) = list_scenarios();
    if bad {
        status = Status::Bad;
    }
    if json {
        for l in &listed {
            let r = &l.runbook;
            let line = serde_json::json!({
                "kind": "runbook",
                "id": r.id,
                "language": r.language,
                "version": r.version,
                "title": r.title,
                "steps": r.steps.len(),
                "translation_of": r.translation_of,
                "origin": l.origin,
            });
            println!("{line}");
        }
        for (s, origin) in &scenarios {
            let line = serde_json::json!({
                "kind": "scenario",
                "id": s.id,
                "language": s.language,
                "version": s.version,
                "title": s.title,
                "runbook": s.runbook,
                "injects": s.injects.len(),
                "origin": origin,
            });
            println!("{line}");
        }
        return status;
    }
    let id_width = listed
        .iter()
        .map(|l| l.runbook.id.chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    println!("{:<id_width$}  LANG  VERSION  STEPS  TITLE", "ID");
    for l in &listed {
        let r = &l.runbook;
        let mut line = format!(
            "{:<id_width$}  {:<4}  {:<7}  {:>5}  {}",
            for_terminal(&r.id),
            for_terminal(&r.language),
            for_terminal(&r.version),
            r.steps.len(),
            for_terminal(&r.title)
        );
        if l.origin != "bundled" {
            let _ = write!(line, "  ({})", for_terminal(&l.origin));
        }
        println!("{line}");
    }
    if !scenarios.is_empty() {
        let width = scenarios
            .iter()
            .map(|(s, _)| s.id.chars().count())
            .max()
            .unwrap_or(2);
        let rb_width = scenarios
            .iter()
            .map(|(s, _)| s.runbook.chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        println!();
        println!("Exercise scenarios (custody exercise ID):");
        println!("{:<width$}  {:<rb_width$}  INJECTS  TITLE", "ID", "RUNBOOK");
        for (s, origin) in &scenarios {
            let mut line = format!(
                "{:<width$}  {:<rb_width$}  {:>7}  {}",
                for_terminal(&s.id),
                for_terminal(&s.runbook),
                s.injects.len(),
                for_terminal(&s.title)
            );
            if origin != "bundled" {
                let _ = write!(line, "  ({})", for_terminal(origin));
            }
            println!("{line}");
        }
    }
    println!();
    println!("Check a runbook: custody check FILE");
    status
}

/// The bundled scenarios, then valid scenario files in ./runbooks/exercises that are not copies
/// of them; whether an invalid one was found (it is reported).
fn list_scenarios() -> (Vec<(runbook::Scenario, String)>, bool) {
    let mut listed = Vec::new();
    let mut bad = false;
    let folder = Path::new("runbooks/exercises");
    let mut texts: Vec<(String, String, PathBuf)> = bundled::SCENARIOS
        .iter()
        .map(|b| {
            (
                b.text.to_owned(),
                "bundled".to_owned(),
                folder.join(b.file.trim_start_matches("exercises/")),
            )
        })
        .collect();
    for path in local_runbooks(folder) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if bundled::SCENARIOS.iter().any(|b| b.text == text) || !runbook::is_scenario(&text) {
            continue;
        }
        texts.push((text, path.display().to_string(), path));
    }
    for (text, origin, path) in texts {
        let id = runbook::Scenario::runbook_of(&text).unwrap_or_default();
        let target = if origin == "bundled" {
            bundled::find(&id).map(|(_, r)| r)
        } else {
            bundled::locate_runbook(&path, &id)
                .ok()
                .and_then(|(_, text)| Runbook::parse(&text).runbook)
        };
        let scenario = target.and_then(|r| runbook::Scenario::parse(&text, Ok(&r)).scenario);
        if let Some(s) = scenario {
            listed.push((s, origin));
        } else {
            bad = true;
            let shown = for_terminal(&origin);
            eprintln!(
                "custody: {shown} is not a valid scenario; run `custody check {shown}` to see why"
            );
        }
    }
    (listed, bad)
}

/// `*.toml` files in a folder, sorted by name; none when the folder does not exist.
pub(crate) fn local_runbooks(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths
}

fn check(files: &[PathBuf], deny_warnings: bool) -> Status {
    let mut status = Status::Ok;
    let (mut errors, mut warnings, mut bad_files) = (0, 0, 0);
    for path in files {
        let shown = path.display().to_string();
        let text = match read_runbook(path) {
            Ok(text) => text,
            Err(Unreadable::Io(message)) => {
                eprintln!(
                    "{}: error: {}",
                    for_terminal(&shown),
                    for_terminal(&message)
                );
                status = status.max(Status::Trouble);
                bad_files += 1;
                continue;
            }
            Err(Unreadable::NotUtf8 { lossy, offset }) => {
                let source = SourceText::new(&shown, &lossy);
                let diagnostic =
                    runbook::Diagnostic::error(offset..offset + 1, "the file is not UTF-8 text")
                        .with_help("save the runbook as UTF-8");
                println!("{}", source.render(&diagnostic));
                status = status.max(Status::Bad);
                errors += 1;
                bad_files += 1;
                continue;
            }
        };
        if runbook::is_scenario(&text) {
            let (e, w) = check_scenario(path, &shown, &text);
            errors += e;
            warnings += w;
            if e > 0 || (deny_warnings && w > 0) {
                status = status.max(Status::Bad);
                bad_files += 1;
            }
            continue;
        }
        let checked: Checked = Runbook::parse(&text);
        let source = SourceText::new(&shown, &text);
        for diagnostic in &checked.diagnostics {
            print!("{}", source.render(diagnostic));
            println!();
        }
        errors += checked.errors();
        warnings += checked.warnings();
        let fails = checked.errors() > 0 || (deny_warnings && checked.warnings() > 0);
        if fails {
            status = status.max(Status::Bad);
            bad_files += 1;
        } else if let Some(r) = &checked.runbook {
            println!(
                "{}: ok: {} {} ({}, {} steps)",
                for_terminal(&shown),
                for_terminal(&r.id),
                for_terminal(&r.version),
                for_terminal(&r.language),
                r.steps.len()
            );
        }
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!(
        "checked {}: {}, {}{}",
        plural(files.len(), "file"),
        plural(errors, "error"),
        plural(warnings, "warning"),
        if bad_files > 0 {
            format!("; {} failed", plural(bad_files, "file"))
        } else {
            String::new()
        }
    );
    status
}

/// Checks a scenario file against the runbook it names; prints its problems and returns the
/// number of errors and warnings.
fn check_scenario(path: &Path, shown: &str, text: &str) -> (usize, usize) {
    let id = runbook::Scenario::runbook_of(text).unwrap_or_default();
    let located = bundled::locate_runbook(path, &id);
    let parsed = located
        .as_ref()
        .map(|(origin, text)| (origin, Runbook::parse(text).runbook));
    let target = match &parsed {
        Ok((_, Some(runbook))) => Ok(runbook),
        Ok((origin, None)) => Err(format!(
            "{} is not a valid runbook; run `custody check` on it",
            for_terminal(origin)
        )),
        Err(why) => Err((*why).clone()),
    };
    let checked = runbook::Scenario::parse(text, target);
    let source = SourceText::new(shown, text);
    for diagnostic in &checked.diagnostics {
        print!("{}", source.render(diagnostic));
        println!();
    }
    if let (Some(s), Ok((origin, _))) = (&checked.scenario, &parsed) {
        println!(
            "{}: ok: scenario {} {} for runbook {} ({}; {} injects, {} milestones, {} expected \
             choices)",
            for_terminal(shown),
            for_terminal(&s.id),
            for_terminal(&s.version),
            for_terminal(&s.runbook),
            for_terminal(origin),
            s.injects.len(),
            s.milestones.len(),
            s.expected.len()
        );
    }
    (checked.errors(), checked.warnings())
}

/// Why a runbook's text could not be had.
pub(crate) enum Unreadable {
    /// The file could not be read at all.
    Io(String),
    /// The file is not UTF-8; `offset` is where the first bad byte is in `lossy`.
    NotUtf8 { lossy: String, offset: usize },
}

/// The text of a runbook file, or of a bundled runbook named by id when no such file exists.
pub(crate) fn read_runbook(path: &Path) -> Result<String, Unreadable> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            Unreadable::NotUtf8 {
                lossy: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                offset,
            }
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = path.to_string_lossy();
            if let Some((b, _)) = runbook::bundled::find(&id) {
                return Ok(b.text.to_owned());
            }
            Err(Unreadable::Io(
                "no such file, and no bundled runbook has this id; `custody runbooks` lists them"
                    .into(),
            ))
        }
        Err(e) if path.is_dir() => Err(Unreadable::Io(format!(
            "is a folder ({e}); pass the runbook files, such as {}/*.toml",
            path.display()
        ))),
        Err(e) => Err(Unreadable::Io(format!("cannot read: {e}"))),
    }
}
