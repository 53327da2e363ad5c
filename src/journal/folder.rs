//! The session folder: `<dir>/<session-id>/` (0700) with `journal.jsonl` (0600), `runbook.toml`
//! (the runbook as it was at the start), `evidence/` and a `lock` file. Creating, locking,
//! opening for appending, and recovering from a torn last line all happen here.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};

use super::event::{Actor, Body, Draft, Event, Recovered, SessionStarted};
use super::hash::Digest;
use super::reader::{Problem, ReadAhead, ScanError};
use super::writer::Writer;

pub const JOURNAL: &str = "journal.jsonl";
/// The journal while its first event is written, before it is named [`JOURNAL`].
pub const JOURNAL_NEW: &str = "journal.jsonl.new";
pub const RUNBOOK: &str = "runbook.toml";
/// The copy of an exercise's scenario file.
pub const SCENARIO: &str = "scenario.toml";
pub const EVIDENCE: &str = "evidence";
pub const LOCK: &str = "lock";
/// The minisign signature of a sealed, signed journal.
pub const SIGNATURE: &str = "journal.jsonl.minisig";

/// Why a session folder could not be created, opened or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot {doing}: {source}", path.display())]
    Io {
        path: PathBuf,
        doing: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}: the session is in use by {holder}; close custody there first (the lock is released \
         when that program ends)",
        path.display()
    )]
    Locked { path: PathBuf, holder: String },
    #[error(
        "{}: not a session: it has no {JOURNAL}; `custody sessions --dir DIR` lists sessions",
        path.display()
    )]
    NotASession { path: PathBuf },
    #[error("{}: {}", path.display(), problem.describe())]
    Bad { path: PathBuf, problem: Problem },
    #[error(
        "{}: the {what} copy does not match the hash recorded at the start (recorded {expected}, \
         found {found}); the session cannot go on with a changed {what}",
        path.display()
    )]
    RunbookChanged {
        path: PathBuf,
        /// `runbook` or `scenario`.
        what: &'static str,
        expected: Digest,
        found: Digest,
    },
    #[error("{}: the journal has no events; the session was never started", path.display())]
    Empty { path: PathBuf },
    #[error(
        "{}: the journal was written in format {found}, newer than this custody reads ({}); use a \
         newer custody",
        path.display(), super::event::JOURNAL_FORMAT
    )]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("{}: cannot sign: {why}", path.display())]
    Sign { path: PathBuf, why: String },
    #[error("{}: nothing to recover: the journal ends in a whole line", path.display())]
    NothingToRecover { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: super::writer::WriteError,
    },
}

fn io_error<'a>(path: &'a Path, doing: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        path: path.to_owned(),
        doing,
        source,
    }
}

/// The largest runbook or scenario copy read back (the largest bundled runbook is under 50 KB).
pub const MAX_COPY: u64 = 16 * 1024 * 1024;

/// Reads a copy that the first event names (the runbook's or the scenario's), from the session
/// folder only. custody names its copies by a plain file name; a journal that names a path
/// (`/dev/zero`, `../x`), a link, a fifo or a device, or a copy larger than [`MAX_COPY`], was
/// written by something else, and reading it could hang, exhaust memory or read the machine's
/// files: it is refused with a message that says so, and nothing is opened outside the folder.
pub fn read_copy(folder: &Path, file: &str) -> io::Result<Vec<u8>> {
    let plain = matches!(
        Path::new(file).components().collect::<Vec<_>>().as_slice(),
        [std::path::Component::Normal(_)]
    ) && !file.contains('/');
    if !plain {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the journal names the copy `{}`, which is not a file name in the session \
                 folder (custody names its copies by file name only): the journal was changed",
                crate::sanitize::for_terminal(file)
            ),
        ));
    }
    // O_NONBLOCK: a fifo does not hold up the open; it is then refused as not a regular file.
    let mut handle = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(folder.join(file))?;
    if !handle.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file (custody writes its copies as plain files): the folder was changed",
        ));
    }
    let mut bytes = Vec::new();
    io::Read::by_ref(&mut handle)
        .take(MAX_COPY + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_COPY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than any runbook custody copies ({MAX_COPY} bytes at most)"),
        ));
    }
    Ok(bytes)
}

/// The folder of a session named by the user: the folder itself, or its journal file.
pub fn resolve(path: &Path) -> PathBuf {
    if path.file_name().is_some_and(|n| n == JOURNAL) && path.is_file() {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned)
    } else {
        path.to_owned()
    }
}

/// An open session folder whose lock this process holds, with the journal's writer.
#[derive(Debug)]
pub struct SessionFolder {
    path: PathBuf,
    /// Held for as long as the folder is open; the kernel releases it if the process dies.
    _lock: File,
    writer: Writer<File>,
}

/// What opening a session folder found.
#[derive(Debug)]
pub struct Opened {
    pub folder: SessionFolder,
    pub started: SessionStarted,
    pub runbook_text: String,
    /// The scenario copy's text, for an exercise that follows one.
    pub scenario_text: Option<String>,
    /// The `recovered` event written, when a torn last line was set aside.
    pub recovered: Option<Event>,
}

/// What to do with a torn last line when opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Torn {
    /// Refuse to open: the user must choose to recover.
    Refuse,
    /// Set the torn bytes aside in a file, cut the journal back and journal the recovery.
    Recover {
        time: DateTime<Utc>,
        offset: FixedOffset,
    },
}

impl SessionFolder {
    /// Creates `<dir>/<id>/` with the runbook copy and the journal, and writes the first event.
    /// `first` receives the hashes of the runbook copy and of the scenario copy (an exercise that
    /// follows a scenario) and returns the `session_started` draft.
    pub fn create(
        dir: &Path,
        id: &str,
        runbook_text: &str,
        scenario_text: Option<&str>,
        first: impl FnOnce(Digest, Option<Digest>) -> Draft,
    ) -> Result<(Self, Event), Error> {
        make_private_dir_all(dir)?;
        let path = dir.join(id);
        make_private_dir(&path)?;
        let lock = take_lock(&path)?;
        write_private_file(&path.join(RUNBOOK), runbook_text.as_bytes())?;
        if let Some(text) = scenario_text {
            write_private_file(&path.join(SCENARIO), text.as_bytes())?;
        }
        make_private_dir(&path.join(EVIDENCE))?;
        // The journal is written under a name of its own until its first event is on disk, and
        // only then named `journal.jsonl`: a crash in between leaves no empty journal that
        // would pass for an open session (nothing had been acknowledged yet).
        let journal_path = path.join(JOURNAL);
        let new_path = path.join(JOURNAL_NEW);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&new_path)
            .map_err(io_error(&new_path, "create the journal"))?;
        set_mode(&file, 0o600, &new_path)?;
        let mut writer = Writer::new(file, 0, 0, Digest::ZERO);
        let event = writer
            .append(first(
                Digest::of(runbook_text.as_bytes()),
                scenario_text.map(|t| Digest::of(t.as_bytes())),
            ))
            .map_err(|source| Error::Write {
                path: new_path.clone(),
                source,
            })?;
        fs::rename(&new_path, &journal_path)
            .map_err(io_error(&journal_path, "name the journal"))?;
        sync_dir(&path)?;
        sync_dir(dir)?;
        Ok((
            Self {
                path,
                _lock: lock,
                writer,
            },
            event,
        ))
    }

    /// Locks and reads a session folder, passing each event to `on_event` in order, and returns
    /// it ready for appending. A torn last line is refused or recovered as `torn` says; any
    /// other damage is refused.
    pub fn open(path: &Path, torn: Torn, mut on_event: impl FnMut(Event)) -> Result<Opened, Error> {
        let path = resolve(path);
        let journal_path = path.join(JOURNAL);
        if !journal_path.is_file() {
            return Err(Error::NotASession { path });
        }
        let lock = take_lock(&path)?;
        let file =
            File::open(&journal_path).map_err(io_error(&journal_path, "read the journal"))?;
        // Read and hashed on a second thread while this one decodes and folds, as verify does.
        let mut scanner = ReadAhead::new(file);
        let mut started: Option<SessionStarted> = None;
        let mut torn_at: Option<Problem> = None;
        loop {
            match scanner.next_link() {
                Ok(Some(link)) => {
                    let event = link.event().map_err(|problem| Error::Bad {
                        path: journal_path.clone(),
                        problem,
                    })?;
                    if let Body::SessionStarted(s) = &event.body {
                        started = Some((**s).clone());
                    }
                    on_event(event);
                }
                Ok(None) => break,
                Err(ScanError::Io(e)) => {
                    return Err(io_error(&journal_path, "read the journal")(e));
                }
                Err(ScanError::Bad(problem)) if problem.is_torn() && started.is_some() => {
                    torn_at = Some(problem);
                    break;
                }
                Err(ScanError::Bad(problem)) => {
                    return Err(Error::Bad {
                        path: journal_path,
                        problem,
                    });
                }
            }
        }
        let Some(started) = started else {
            return Err(Error::Empty { path: journal_path });
        };
        if started.format > super::event::JOURNAL_FORMAT {
            return Err(Error::NewerFormat {
                path: journal_path,
                found: started.format,
            });
        }
        let runbook_path = path.join(&started.runbook.file);
        let runbook_bytes = read_copy(&path, &started.runbook.file)
            .map_err(io_error(&runbook_path, "read the runbook copy"))?;
        let found = Digest::of(&runbook_bytes);
        if found != started.runbook.sha256 {
            return Err(Error::RunbookChanged {
                path: runbook_path,
                what: "runbook",
                expected: started.runbook.sha256,
                found,
            });
        }
        let runbook_text = String::from_utf8(runbook_bytes).map_err(|_| {
            io_error(&runbook_path, "read the runbook copy")(io::Error::new(
                io::ErrorKind::InvalidData,
                "not UTF-8",
            ))
        })?;
        let scenario_text = match &started.scenario {
            None => None,
            Some(scenario) => {
                let copy = path.join(&scenario.file);
                let bytes = read_copy(&path, &scenario.file)
                    .map_err(io_error(&copy, "read the scenario copy"))?;
                let found = Digest::of(&bytes);
                if found != scenario.sha256 {
                    return Err(Error::RunbookChanged {
                        path: copy,
                        what: "scenario",
                        expected: scenario.sha256,
                        found,
                    });
                }
                Some(String::from_utf8(bytes).map_err(|_| {
                    io_error(&copy, "read the scenario copy")(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "not UTF-8",
                    ))
                })?)
            }
        };
        let good_len = scanner.offset();
        let file = OpenOptions::new()
            .append(true)
            .open(&journal_path)
            .map_err(io_error(&journal_path, "open the journal for writing"))?;
        let mut writer = Writer::new(file, good_len, scanner.events(), scanner.last_hash());
        let mut recovered = None;
        if let Some(problem) = torn_at {
            let Torn::Recover { time, offset } = torn else {
                return Err(Error::Bad {
                    path: journal_path,
                    problem,
                });
            };
            let body = set_aside(&path, &journal_path, good_len)?;
            let event = writer
                .append(Draft {
                    time,
                    offset,
                    actor: Actor::custody(),
                    step: None,
                    body: Body::Recovered(body),
                })
                .map_err(|source| Error::Write {
                    path: journal_path.clone(),
                    source,
                })?;
            on_event(event.clone());
            recovered = Some(event);
        }
        Ok(Opened {
            folder: Self {
                path,
                _lock: lock,
                writer,
            },
            started,
            runbook_text,
            scenario_text,
            recovered,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn journal_path(&self) -> PathBuf {
        self.path.join(JOURNAL)
    }

    pub fn evidence_dir(&self) -> PathBuf {
        self.path.join(EVIDENCE)
    }

    pub fn writer(&mut self) -> &mut Writer<File> {
        &mut self.writer
    }

    pub fn last_hash(&self) -> Digest {
        self.writer.last_hash()
    }
}

/// Signs the sealed journal in `folder` and writes `journal.jsonl.minisig` (0600). Used right
/// after sealing, and again if a crash came between the seal and its signature.
pub fn write_signature(
    folder: &Path,
    signer: &super::sign::Signer,
    session: &str,
) -> Result<(), Error> {
    let journal = folder.join(JOURNAL);
    let v = super::verify::verify(folder, None, None).map_err(|(path, source)| Error::Io {
        path,
        doing: "read the journal",
        source,
    })?;
    if let Some(problem) = v.problem {
        return Err(Error::Bad {
            path: journal,
            problem,
        });
    }
    let Some((sealed_at, sealed)) = &v.sealed else {
        return Err(Error::Sign {
            path: journal,
            why: "the session is not sealed; seal it first".into(),
        });
    };
    let reference = signer.reference();
    if sealed.signed_by.as_ref() != Some(&reference) {
        return Err(Error::Sign {
            path: journal,
            why: format!(
                "the seal names {}, not this key ({})",
                sealed
                    .signed_by
                    .as_ref()
                    .map_or_else(|| "no key".to_owned(), |s| format!("key {}", s.key_id)),
                reference.key_id
            ),
        });
    }
    let comment = format!(
        "custody journal {session}, sealed {}, {} events, final hash {}",
        super::event::format_time(sealed_at),
        v.events,
        v.final_hash
    );
    let signature = signer.sign(&journal, &comment).map_err(|e| Error::Sign {
        path: journal.clone(),
        why: e.to_string(),
    })?;
    let path = folder.join(SIGNATURE);
    write_private_file(&path, signature.as_bytes())?;
    sync_dir(folder)
}

/// Copies the torn bytes after `good_len` into `torn-<offset>.bin`, then cuts the journal back.
fn set_aside(folder: &Path, journal_path: &Path, good_len: u64) -> Result<Recovered, Error> {
    let mut file = File::open(journal_path).map_err(io_error(journal_path, "read the journal"))?;
    file.seek(SeekFrom::Start(good_len))
        .map_err(io_error(journal_path, "read the journal"))?;
    let mut torn = Vec::new();
    file.read_to_end(&mut torn)
        .map_err(io_error(journal_path, "read the journal"))?;
    let name = format!("torn-{good_len}.bin");
    let saved = folder.join(&name);
    write_private_file(&saved, &torn)?;
    sync_dir(folder)?;
    let journal = OpenOptions::new()
        .write(true)
        .open(journal_path)
        .map_err(io_error(journal_path, "open the journal for writing"))?;
    journal
        .set_len(good_len)
        .and_then(|()| journal.sync_all())
        .map_err(io_error(
            journal_path,
            "cut the journal back to its last whole line",
        ))?;
    Ok(Recovered {
        offset: good_len,
        length: torn.len() as u64,
        sha256: Digest::of(&torn),
        saved_as: name,
    })
}

/// The line the holder of a lock wrote into the lock file (read from its start).
fn lock_holder(file: &File) -> String {
    let mut holder = String::new();
    let mut reader = file;
    let _ = reader.seek(SeekFrom::Start(0));
    let _ = reader.read_to_string(&mut holder);
    holder
}

/// Takes the session's lock, writing who holds it; refuses, naming the holder, when taken.
fn take_lock(folder: &Path) -> Result<File, Error> {
    let path = folder.join(LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_error(&path, "open the lock file"))?;
    let mut result = file.try_lock();
    // A lock that this very process let go a moment ago can still be held for an instant by a
    // child it forked meanwhile (for a command step or a test), through the copy of the
    // descriptor that the child closes when it starts its program: that is waited out, for a
    // little while, and only that.
    let own = format!("custody (pid {} on ", std::process::id());
    for _ in 0..200 {
        if !matches!(result, Err(fs::TryLockError::WouldBlock)) {
            break;
        }
        if !lock_holder(&file).starts_with(&own) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        result = file.try_lock();
    }
    match result {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let holder = lock_holder(&file);
            let holder = holder.trim();
            return Err(Error::Locked {
                path: folder.to_owned(),
                holder: if holder.is_empty() {
                    "another custody".to_owned()
                } else {
                    crate::sanitize::for_terminal(holder).into_owned()
                },
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(io_error(&path, "lock the session")(e)),
    }
    set_mode(&file, 0o600, &path)?;
    let holder = format!(
        "custody (pid {} on {}, user {}, since {})\n",
        std::process::id(),
        crate::host::name(),
        crate::host::user(),
        super::event::format_time(&Utc::now()),
    );
    file.set_len(0)
        .and_then(|()| file.write_all(holder.as_bytes()))
        .map_err(io_error(&path, "write the lock file"))?;
    Ok(file)
}

/// Creates a folder with mode 0700 whatever the umask (an existing one is left as it is).
fn make_private_dir_all(path: &Path) -> Result<(), Error> {
    if path.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_error(path, "create the sessions folder"))?;
    fs::set_permissions(path, Permissions::from_mode(0o700))
        .map_err(io_error(path, "set the sessions folder's permissions"))
}

fn make_private_dir(path: &Path) -> Result<(), Error> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(io_error(path, "create the folder"))?;
    fs::set_permissions(path, Permissions::from_mode(0o700))
        .map_err(io_error(path, "set the folder's permissions"))
}

/// Writes a new file with mode 0600 whatever the umask, and makes it durable.
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path, "create the file"))?;
    set_mode(&file, 0o600, path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(path, "write the file"))
}

fn set_mode(file: &File, mode: u32, path: &Path) -> Result<(), Error> {
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(io_error(path, "set the file's permissions"))
}

/// Makes a folder's entries durable (a new file's name survives a power cut).
fn sync_dir(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(path, "sync the folder"))
}

/// Whether a folder can be read by users other than its owner (mode bits for group or others).
pub fn readable_by_others(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}
