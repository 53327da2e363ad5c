//! Crash safety: the real binary in a pseudo-terminal is killed with `SIGKILL` at hundreds of
//! random moments of sessions of the flagship runbook, and nothing it showed as done may be lost.
//!
//! A driver walks `csam-discovery` through the keyboard the way `tests/tui_e2e.rs` does (it reads
//! the journal to know the current step), with random notes, dialogs, decisions, command runs and
//! hashing in between. At each kill point it does a few acknowledged actions (it waits until the
//! journal has them), then puts the program in a random situation and kills it after a random
//! delay: idle, keys of a step in flight, half of an escape sequence or of a UTF-8 character sent
//! (mid-keystroke), a dialog open with text half typed, a note submitted a few milliseconds
//! before, a command or the hashing running, the report being written while sealing, or the
//! program only just started (before or while it journals the resumption).
//!
//! Just before the kill, the screen of the program's last *complete* frame is kept (a frame half
//! drawn is never read): what it showed is what the program acknowledged. After the kill:
//!
//! 1. `custody verify` on the session passes. A torn last line (a write cut short) is the one
//!    recoverable exception: it must be reported as torn, then `custody recover` must set it
//!    aside and `custody verify` pass. The summary says how many kills left a torn tail.
//! 2. Every journal line the screen's journal pane showed (time, sequence number and text) at
//!    this or any earlier kill point of the session is in the journal, unchanged; and the step
//!    the screen showed (the step pane's title) is the current step of the fold
//!    (`State::replay`) of the journal up to the last event that screen showed.
//! 3. `custody resume` comes back at the step the fold of the whole journal says is current,
//!    says it was interrupted, and journals the resumption without moving the step.
//!
//! Sessions go on from kill to kill (resume, act, kill again); a finished or sealed session is
//! followed by a new one. It prints one summary line, and fails (after printing it) if anything
//! acknowledged was lost, any verify failed or any resume went wrong.
//!
//! CI runs 200 kill points (about a minute in a debug build on 2 cores; 7 or 8 sessions). More:
//!
//! ```sh
//! CUSTODY_KILLS=2000 cargo test --test crash -- --nocapture
//! ```
//!
//! The moments are random from a seed, printed with the summary; `CUSTODY_SEED=N` replays a
//! run (the same drive; the moments a kill lands on still depend on the machine's speed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::pty::flagship::{
    K, current_name, events, is_form, journal_pane, pane_line, press, runbook, step_keys,
    step_shown, words,
};
use common::pty::{Rng, Term, custody_cli};
use custody::journal::Event;
use custody::runbook::{Runbook, StepKind};
use custody::session::State;

/// Wide enough that a dialog (72 columns, centred) never covers the start of the journal pane's
/// lines (`flagship::PREFIX`); tall enough for 8 of them.
const COLS: u16 = 140;
const ROWS: u16 = 40;
/// Every wait: generous, the machine is shared.
const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Stats {
    kills: usize,
    verified: usize,
    torn: usize,
    /// Kills that found no session event at all (the program killed while creating it).
    never_started: usize,
    sessions: usize,
    resumes: usize,
    resumes_right: usize,
    /// Kill points whose screen named a step, checked against the fold.
    steps_checked: usize,
    steps_right: usize,
    /// Journal lines the screens showed, checked after every later kill too.
    acknowledged: usize,
    lost: usize,
    failures: Vec<String>,
    /// What the program was doing at each kill.
    situations: BTreeMap<&'static str, usize>,
    /// Kills after which the journal held events the last frame had not shown yet.
    ahead: usize,
}

impl Stats {
    fn fail(&mut self, what: String) {
        eprintln!("crash: FAILURE: {what}");
        self.failures.push(what);
    }
}

/// One session being crashed again and again.
struct Crashing {
    /// The sessions folder (one session in it) and the program's working folder.
    dir: PathBuf,
    folder: Option<PathBuf>,
    /// Journal lines the screen showed at some kill point, by sequence number.
    acked: BTreeMap<u64, String>,
    /// Those found lost (each is reported once).
    lost: BTreeSet<u64>,
    runbook: Runbook,
    /// No more kill points on this session: finished (and resumed once), sealed, or never
    /// started.
    over: bool,
    /// A kill point found the runbook finished.
    finished: bool,
}

impl Crashing {
    fn new(n: usize) -> Self {
        let dir = common::temp_dir("crash").join(format!("s{n}"));
        std::fs::create_dir_all(dir.join("sessions")).unwrap();
        // Private, as custody wants its sessions folder (else it warns on every start).
        std::fs::set_permissions(dir.join("sessions"), Permissions::from_mode(0o700)).unwrap();
        // What the record step's "path" names ("as listed"): a folder the evidence step hashes
        // and the restrict-access step changes, in this test's own folder.
        let evidence = dir.join("as listed");
        std::fs::create_dir_all(&evidence).unwrap();
        for i in 0..3 {
            std::fs::write(evidence.join(format!("file-{i}.bin")), vec![b'x'; 4096 * i]).unwrap();
        }
        Self {
            dir,
            folder: None,
            acked: BTreeMap::new(),
            lost: BTreeSet::new(),
            runbook: runbook(),
            over: false,
            finished: false,
        }
    }

    fn sessions(&self) -> PathBuf {
        self.dir.join("sessions")
    }

    fn find_folder(&mut self) -> Option<PathBuf> {
        if self.folder.is_none() {
            self.folder = custody::journal::session_folders(&self.sessions())
                .ok()
                .and_then(|f| f.into_iter().next());
        }
        self.folder.clone()
    }

    fn state(&self) -> Option<State> {
        State::replay(&self.runbook, &events(self.folder.as_ref()?))
    }

    fn spawn_start(&self) -> Term {
        let mut args = common::start_args(&self.sessions());
        args.push("--witness".into());
        args.push("B. de Vries".into());
        Term::custody()
            .args(&args)
            .cwd(&self.dir)
            .size(COLS, ROWS)
            .spawn()
    }

    fn spawn_resume(&self) -> Term {
        let folder = self.folder.as_ref().unwrap();
        Term::custody()
            .args(&[
                "resume",
                folder.to_str().unwrap(),
                "--dir",
                self.sessions().to_str().unwrap(),
            ])
            .cwd(&self.dir)
            .size(COLS, ROWS)
            .spawn()
    }

    /// Waits until the journal's fold passes `check`.
    fn wait_state(&self, term: &Term, what: &str, mut check: impl FnMut(&State) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.state().is_some_and(|st| check(&st)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what}\n{}",
                term.framed_screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the last complete frame passes `check`.
    fn wait_frame(term: &Term, what: &str, mut check: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let frame = term.last_frame();
            if check(&frame) {
                return frame;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what}\n{}",
                term.framed_screen()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// After `custody resume`: it says it was interrupted, comes back at the step the fold says
    /// is current, and journals the resumption without moving the step.
    fn check_resumed(&self, term: &Term, before: &State, stats: &mut Stats) {
        stats.resumes += 1;
        let frame = Self::wait_frame(term, "the resumed walk", |f| {
            f.contains("Resumed after an interruption") && step_shown(f, &self.runbook).is_some()
        });
        let shown = step_shown(&frame, &self.runbook).unwrap();
        let all = events(self.folder.as_ref().unwrap());
        let after = State::replay(&self.runbook, &all).unwrap();
        let resumed = all[usize::try_from(before.events).unwrap()..]
            .iter()
            .any(|e| e.body.kind() == "resumed");
        let pane = journal_pane(&frame);
        let last_shown = pane.last().map(|(seq, _)| *seq);
        if resumed
            && after.current == before.current
            && shown == current_name(&after)
            && after.interruptions == before.interruptions + 1
            && last_shown.is_some_and(|seq| seq > before.last_seq)
        {
            stats.resumes_right += 1;
        } else {
            stats.fail(format!(
                "resume: the fold before says {:?}, after {:?} ({} interruptions before, {} \
                 after; resumed journaled: {resumed}); the screen shows {shown:?}, its journal \
                 pane ends at {last_shown:?} (the journal had {} events before)\n{frame}",
                before.current,
                after.current,
                before.interruptions,
                after.interruptions,
                before.last_seq
            ));
        }
    }

    /// One kill point: start or resume the program, act, kill it, check.
    fn kill_point(&mut self, rng: &mut Rng, stats: &mut Stats) {
        let fresh = self.folder.is_none();
        let before = self.state();
        let mut term = if fresh {
            stats.sessions += 1;
            self.spawn_start()
        } else {
            self.spawn_resume()
        };
        // Now and then the kill comes while the program starts: before, while or after it
        // creates the session or journals the resumption.
        let situation = if rng.chance(8) {
            let most = *rng.pick(&[5, 30, 100, 400]);
            std::thread::sleep(Duration::from_millis(rng.range(0, most)));
            "starting"
        } else {
            if fresh {
                Self::wait_frame(&term, "the walk of a new session", |f| {
                    step_shown(f, &self.runbook).is_some()
                });
                self.find_folder().expect("the session's folder");
            } else {
                self.check_resumed(&term, before.as_ref().unwrap(), stats);
            }
            for _ in 0..rng.range(0, 3) {
                if !self.acknowledged_action(&mut term, rng) {
                    break;
                }
            }
            self.kill_phase(&mut term, rng)
        };
        *stats.situations.entry(situation).or_default() += 1;
        let frame = term.last_frame();
        term.kill9();
        let exit = term.wait_exit(WAIT);
        stats.kills += 1;
        if exit != Some(-9) {
            stats.fail(format!(
                "the program was to be killed, but it ended with {exit:?}\n{}",
                term.framed_screen()
            ));
            self.over = true;
        }
        drop(term);
        self.after_kill(&frame, stats);
    }

    /// Does something and waits until the journal has it. False when there is nothing more to
    /// do on this session.
    fn acknowledged_action(&mut self, term: &mut Term, rng: &mut Rng) -> bool {
        let Some(st) = self.state() else {
            return false;
        };
        if st.current.is_none() {
            return false;
        }
        let n = st.events;
        let id = st.current.clone().unwrap();
        let step = self.runbook.step(&id).unwrap().clone();
        if rng.chance(25) {
            // A note; on a form, leave it first (keys go to its fields) and come back after.
            let form = is_form(&step.kind);
            if form {
                press(term, &K::Key("Esc"));
            }
            for k in [
                K::Key("n"),
                K::Text(format!("note {}", words(rng, 3))),
                K::Key("Enter"),
            ] {
                press(term, &k);
            }
            self.wait_state(term, "the note in the journal", |s| s.events > n);
            if form {
                press(term, &K::Key("e"));
            }
            return true;
        }
        let run = match &step.kind {
            StepKind::Command { .. } | StepKind::Evidence { .. } => rng.chance(50),
            _ => false,
        };
        if run {
            // Run the command (twice confirmed when it changes the system) or hash the
            // evidence, wait for its result, then go on.
            let confirm = match &step.kind {
                StepKind::Command {
                    changes_system: true,
                    ..
                } => 2,
                _ => 1,
            };
            press(term, &K::Key("Enter"));
            for _ in 0..confirm {
                press(term, &K::Key("y"));
            }
            let kind = match step.kind {
                StepKind::Command { .. } => "commands",
                _ => "evidence",
            };
            self.wait_state(term, &format!("the step's {kind} in the journal"), |s| {
                let ss = s.step(&id).cloned().unwrap_or_default();
                ss.commands + ss.evidence > 0
            });
            press(term, &K::Key("Enter"));
        } else {
            for k in step_keys(&st, &self.runbook, rng) {
                press(term, &k);
            }
        }
        self.wait_state(term, &format!("the step {id} done"), |s| {
            s.current.as_deref() != Some(id.as_str())
        });
        true
    }

    /// Puts the program in a random situation, then waits a random moment.
    fn kill_phase(&mut self, term: &mut Term, rng: &mut Rng) -> &'static str {
        let Some(st) = self.state() else {
            return "no session";
        };
        if st.current.is_none() {
            // Finished: seal now and then (killed while the report is written or just after),
            // resume once more, then go on with a new session.
            self.over = self.finished;
            self.finished = true;
            if st.sealed.is_none() && rng.chance(50) {
                press(term, &K::Key("Enter"));
                press(term, &K::Key("y"));
                std::thread::sleep(Duration::from_millis(rng.range(0, 3000)));
                return "sealing";
            }
            return "finished";
        }
        let id = st.current.clone().unwrap();
        let step = self.runbook.step(&id).unwrap().clone();
        let situation = match rng.below(7) {
            // Idle.
            0 => "idle",
            // The keys of the step in flight, cut anywhere.
            1 | 2 => {
                let keys = step_keys(&st, &self.runbook, rng);
                let cut = usize::try_from(rng.range(1, keys.len() as u64)).unwrap();
                for k in &keys[..cut] {
                    press(term, k);
                }
                "keys in flight"
            }
            // Mid-keystroke: half an escape sequence or half a character, in a note.
            3 => {
                press(term, &K::Key("n"));
                press(term, &K::Text(words(rng, 2)));
                let half: &[&[u8]] = &[b"\x1b[", b"\x1bO", b"\x1b[1;5", b"\xc3", b"\xe2\x82"];
                press(term, &K::Bytes(rng.pick(half).to_vec()));
                "mid-keystroke"
            }
            // A dialog open, text half typed.
            4 => {
                let opener = *rng.pick(&["n", "s", "q", "?"]);
                press(term, &K::Key(opener));
                if opener == "n" || opener == "s" {
                    press(term, &K::Text(words(rng, 2)));
                }
                if is_form(&step.kind) {
                    "mid-typing in a form"
                } else {
                    "mid-dialog"
                }
            }
            // A note submitted just before.
            5 => {
                for k in [
                    K::Key("n"),
                    K::Text(format!("last words {}", words(rng, 2))),
                    K::Key("Enter"),
                ] {
                    press(term, &k);
                }
                "note just submitted"
            }
            // A command running, or the hashing.
            _ => match &step.kind {
                StepKind::Command { changes_system, .. } => {
                    press(term, &K::Key("r"));
                    press(term, &K::Key("y"));
                    if *changes_system {
                        press(term, &K::Key("y"));
                    }
                    "command running"
                }
                StepKind::Evidence { .. } => {
                    press(term, &K::Key("Enter"));
                    press(term, &K::Key("y"));
                    "hashing"
                }
                _ => {
                    for k in step_keys(&st, &self.runbook, rng) {
                        press(term, &k);
                    }
                    "step keys in flight"
                }
            },
        };
        let delay = match rng.below(4) {
            0 => 0,
            1 => rng.range(0, 20),
            2 => rng.range(0, 120),
            _ => rng.range(0, 500),
        };
        std::thread::sleep(Duration::from_millis(delay));
        situation
    }

    /// After a kill: verify (recovering a torn tail), then check what the screen showed.
    fn after_kill(&mut self, frame: &str, stats: &mut Stats) {
        let Some(folder) = self.find_folder() else {
            // Killed before the session folder existed: nothing can have been shown as done.
            stats.never_started += 1;
            if step_shown(frame, &self.runbook).is_some() {
                stats.fail(format!(
                    "the screen showed a walk, but there is no session\n{frame}"
                ));
            }
            return;
        };
        let verify = custody_cli(&["verify", folder.to_str().unwrap()]);
        if verify.code == Some(0) {
            stats.verified += 1;
        } else if verify.code == Some(1) && verify.stdout.contains("torn") {
            let recover = custody_cli(&["recover", folder.to_str().unwrap()]);
            let again = custody_cli(&["verify", folder.to_str().unwrap()]);
            if recover.code == Some(0) && again.code == Some(0) {
                stats.torn += 1;
                stats.verified += 1;
            } else if events(&folder).is_empty() {
                // The first event itself torn: the session never started.
                stats.never_started += 1;
            } else {
                stats.fail(format!(
                    "a torn tail that did not recover:\n{}\n{}\n{}",
                    verify.text(),
                    recover.text(),
                    again.text()
                ));
                self.over = true;
            }
        } else if events(&folder).is_empty() {
            stats.never_started += 1;
        } else {
            stats.fail(format!(
                "custody verify failed after a kill:\n{}",
                verify.text()
            ));
            self.over = true;
        }
        let all = events(&folder);
        if all.is_empty() {
            // Killed between creating the journal and writing its first event.
            if step_shown(frame, &self.runbook).is_some() {
                stats.fail(format!(
                    "the screen showed a walk, but the journal is empty\n{frame}"
                ));
            }
            self.over = true;
            return;
        }
        // Every line the screen showed, now and at earlier kills, is in the journal as shown.
        let pane = journal_pane(frame);
        for (seq, line) in &pane {
            if let Some(old) = self.acked.insert(*seq, line.clone())
                && old != *line
            {
                stats.fail(format!(
                    "event #{seq} was shown as {old:?} before and as {line:?} now"
                ));
            }
        }
        let by_seq: BTreeMap<u64, &Event> = all.iter().map(|e| (e.seq, e)).collect();
        for (seq, line) in &self.acked {
            let found = by_seq.get(seq).map(|e| pane_line(e));
            if found.as_deref() != Some(line.as_str()) && self.lost.insert(*seq) {
                stats.lost += 1;
                stats.fail(format!(
                    "acknowledged event #{seq} {line:?} is not in the journal as shown (the \
                     journal has {found:?})\nthe screen was:\n{frame}"
                ));
            }
        }
        if pane
            .last()
            .is_some_and(|(seq, _)| all.last().is_some_and(|e| e.seq > *seq))
        {
            stats.ahead += 1;
        }
        // The step the screen showed is the fold's current step as of the last event it showed.
        if let (Some((last, _)), Some(shown)) = (pane.last(), step_shown(frame, &self.runbook))
            && let Some(k) = all.iter().position(|e| e.seq == *last)
        {
            stats.steps_checked += 1;
            let st = State::replay(&self.runbook, &all[..=k]).unwrap();
            if current_name(&st) == shown {
                stats.steps_right += 1;
            } else {
                stats.fail(format!(
                    "the screen showed step {shown:?} after event #{last}, but the fold of the \
                     journal up to it says {:?}\n{frame}",
                    st.current
                ));
            }
        }
        let st = State::replay(&self.runbook, &all).unwrap();
        if st.sealed.is_some() {
            self.over = true;
        }
    }
}

fn kills_wanted() -> usize {
    common::pty::env_count("CUSTODY_KILLS", 200)
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let seed = Rng::seed("crash");
    let mut rng = Rng::new(seed);
    let wanted = kills_wanted();
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut n = 0;
    let mut current = Crashing::new(n);
    while stats.kills < wanted {
        if current.over {
            stats.acknowledged += current.acked.len();
            n += 1;
            current = Crashing::new(n);
        }
        current.kill_point(&mut rng, &mut stats);
    }
    stats.acknowledged += current.acked.len();
    eprintln!(
        "crash: {} of {wanted} kill points: {} acknowledged events lost (of {} shown), {} \
         verified, {} torn tails recovered, {} never started, resume right {} of {}, step shown \
         right {} of {} checked, {} sessions (seed {seed}, {:.0} s)",
        stats.kills,
        stats.lost,
        stats.acknowledged,
        stats.verified,
        stats.torn,
        stats.never_started,
        stats.resumes_right,
        stats.resumes,
        stats.steps_right,
        stats.steps_checked,
        stats.sessions,
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "crash: killed while {}; {} kills left the journal ahead of the last frame",
        stats
            .situations
            .iter()
            .map(|(what, n)| format!("{what} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        stats.ahead
    );
    assert!(
        stats.failures.is_empty(),
        "{} failures (seed {seed}); the first:\n{}",
        stats.failures.len(),
        stats.failures[0]
    );
    assert_eq!(stats.verified + stats.never_started, stats.kills);
    assert!(
        stats.acknowledged > 0,
        "no screen ever showed a journal line"
    );
}

/// The torn-tail path of the check above, which a `SIGKILL` rarely takes (the kernel finishes a
/// small write it has begun): a power cut that left half of the last line. `custody verify` must
/// report it as torn, `custody recover` set it aside, and the session resume where it was.
#[test]
fn a_torn_tail_is_reported_recovered_and_resumed() {
    let seed = Rng::seed("crash torn tail");
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    let mut crashing = Crashing::new(1_000_000);
    while crashing.folder.is_none() || crashing.acked.len() < 3 {
        assert!(stats.kills < 20, "no session after {} kills", stats.kills);
        crashing.kill_point(&mut rng, &mut stats);
    }
    let folder = crashing.folder.clone().unwrap();
    let journal = folder.join("journal.jsonl");
    let bytes = std::fs::read(&journal).unwrap();
    let last = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    let half = bytes[last..].len() / 2;
    let mut torn = bytes.clone();
    torn.extend_from_slice(&bytes[last..last + half]);
    std::fs::write(&journal, &torn).unwrap();
    let verify = custody_cli(&["verify", folder.to_str().unwrap()]);
    assert_eq!(verify.code, Some(1), "{}", verify.text());
    assert!(verify.stdout.contains("torn"), "{}", verify.text());
    let before = stats.kills;
    stats.kills += 1;
    crashing.after_kill("", &mut stats);
    assert_eq!(stats.torn, 1, "{:?}", stats.failures);
    assert_eq!(stats.verified + stats.never_started, stats.kills);
    // The torn bytes were set aside, not deleted, and the recovery journaled.
    let set_aside: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("torn-"))
        .collect();
    assert_eq!(set_aside.len(), 1);
    assert_eq!(
        std::fs::read(set_aside[0].path()).unwrap(),
        bytes[last..last + half]
    );
    assert_eq!(events(&folder).last().unwrap().body.kind(), "recovered");
    // And the session resumes where it was, with nothing acknowledged lost.
    let resumes = stats.resumes;
    while stats.resumes == resumes {
        crashing.kill_point(&mut rng, &mut stats);
    }
    assert!(
        stats.failures.is_empty(),
        "seed {seed}: {}",
        stats.failures.join("\n")
    );
    assert!(stats.kills > before);
    eprintln!(
        "crash: a torn tail was reported, recovered and resumed; resume right {} of {} (seed \
         {seed})",
        stats.resumes_right, stats.resumes
    );
}
