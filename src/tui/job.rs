//! Work that runs beside the screen: a command step's program, or an evidence step's hashing.
//! The screen keeps drawing and taking keys while it runs; the walk polls the job on every tick
//! and journals its result when it has ended. A job itself never writes to the journal.

use std::os::unix::fs::DirBuilderExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};

use crate::evidence::hash::{self, Options, Progress};
use crate::evidence::manifest;
use crate::evidence::run::{self, Outcome, Preview, Request};
use crate::journal::event::CommandRun;
use crate::session::Clock;

/// What runs beside the screen.
#[derive(Debug)]
pub enum Job {
    Command(CommandJob),
    Hash(HashJob),
}

impl Job {
    /// The step it belongs to.
    pub fn step(&self) -> &str {
        match self {
            Self::Command(j) => &j.step,
            Self::Hash(j) => &j.step,
        }
    }

    pub fn started(&self) -> Instant {
        match self {
            Self::Command(j) => j.started,
            Self::Hash(j) => j.started,
        }
    }

    pub fn stop(&self) {
        match self {
            Self::Command(j) => j.stop(),
            Self::Hash(j) => j.cancel.store(true, Ordering::Relaxed),
        }
    }

    pub fn stopping(&self) -> bool {
        match self {
            Self::Command(j) => j.stopping(),
            Self::Hash(j) => j.cancel.load(Ordering::Relaxed),
        }
    }

    pub fn finished(&self) -> bool {
        match self {
            Self::Command(j) => j.finished(),
            Self::Hash(j) => j.handle.as_ref().is_none_or(JoinHandle::is_finished),
        }
    }

    /// What the job is, for the screen: `the command`, `the hashing`.
    pub fn what(&self) -> &'static str {
        match self {
            Self::Command(_) => "the command",
            Self::Hash(_) => "the hashing",
        }
    }
}

/// An evidence step's files and folders, being hashed into the session's `evidence/` folder.
#[derive(Debug)]
pub struct HashJob {
    pub step: String,
    /// The paths as the step names them, variables filled in.
    pub paths: Vec<String>,
    pub options: Options,
    pub started: Instant,
    pub progress: Arc<Progress>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<manifest::Outcome, hash::Error>>>,
}

impl HashJob {
    /// Starts hashing `paths` into `<evidence_dir>/<stem>.manifest.jsonl` and
    /// `<stem>.SHA256SUMS`.
    pub fn start(
        step: &str,
        paths: Vec<String>,
        options: Options,
        evidence_dir: std::path::PathBuf,
        file_stem: String,
    ) -> Self {
        let progress = Arc::new(Progress::new());
        let cancel = Arc::new(AtomicBool::new(false));
        let (p, c, o) = (Arc::clone(&progress), Arc::clone(&cancel), options.clone());
        let targets: Vec<std::path::PathBuf> = paths.iter().map(std::path::PathBuf::from).collect();
        let handle = std::thread::spawn(move || {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&evidence_dir)
                .map_err(|source| hash::Error::Create {
                    path: evidence_dir.clone(),
                    source,
                })?;
            manifest::write_to_folder(&evidence_dir, &file_stem, &targets, &o, &p, &c)
        });
        Self {
            step: step.to_owned(),
            paths,
            options,
            started: Instant::now(),
            progress,
            cancel,
            handle: Some(handle),
        }
    }

    /// Whether the operator asked to stop it.
    pub fn cancel_asked(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Waits for the hashing to end and gives what it wrote.
    pub fn join(mut self) -> Result<manifest::Outcome, String> {
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result.map_err(|e| e.to_string()),
            _ => Err("custody lost track of the hashing (its thread failed)".into()),
        }
    }
}

/// The time the command started, for [`run::run`], which runs on a thread of its own (the
/// session's clock stays with the session).
struct StartedAt(DateTime<Utc>);

impl Clock for StartedAt {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }

    fn offset_at(&self, _time: DateTime<Utc>) -> FixedOffset {
        FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset"))
    }
}

/// A command step's program, running.
#[derive(Debug)]
pub struct CommandJob {
    /// The step it belongs to.
    pub step: String,
    pub argv: Vec<String>,
    pub changes_system: bool,
    pub timeout: Duration,
    /// When it started, for the elapsed time on the screen.
    pub started: Instant,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<Outcome>>,
}

impl CommandJob {
    /// Starts `request` on a thread of its own; `now` is the session clock's time.
    pub fn start(step: &str, request: Request, now: DateTime<Utc>) -> Self {
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let job = Self {
            step: step.to_owned(),
            argv: request.argv.clone(),
            changes_system: request.changes_system,
            timeout: request.timeout,
            started: Instant::now(),
            cancel,
            handle: None,
        };
        let handle = std::thread::spawn(move || run::run(&request, &StartedAt(now), &flag));
        Self {
            handle: Some(handle),
            ..job
        }
    }

    /// Asks the command to stop (its whole process group is ended, see [`run::run`]).
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn stopping(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    pub fn finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the command to end and gives its outcome. Call it when [`Self::finished`]
    /// says so, or after [`Self::stop`] (the wait is then the grace period at most).
    pub fn join(mut self, now: DateTime<Utc>) -> Outcome {
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            // `run` does not panic; should its thread fail anyway, the journal says so.
            _ => Outcome {
                run: CommandRun {
                    argv: self.argv.clone(),
                    changes_system: self.changes_system,
                    started: now,
                    duration_ms: u64::try_from(self.started.elapsed().as_millis())
                        .unwrap_or(u64::MAX),
                    exit_code: None,
                    signal: None,
                    timed_out: false,
                    stdout: None,
                    stderr: None,
                    error: Some(
                        "custody lost track of the command (its thread failed); look in the \
                         session's evidence/ folder for its output"
                            .into(),
                    ),
                },
                stdout: Preview::default(),
                stderr: Preview::default(),
            },
        }
    }
}

/// The last command's outcome, shown under its step until the step changes.
#[derive(Debug, Clone)]
pub struct Shown {
    pub step: String,
    pub outcome: Outcome,
}
