//! Sessions for the report tests and benchmarks: a real incident handled the way the flagship
//! runbook asks, an exercise cut short, and a session with hostile text in every field.
//!
//! `normalise` gives a journal fixed host, time zone and clock facts and re-chains it, so that
//! the fixtures committed under `tests/fixtures/reports/` do not depend on the machine that
//! made them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Duration;
use custody::journal::event::{Body, ClockState, Mode, Party};
use custody::journal::{Digest, Draft, Event};
use custody::runbook::{FieldKind, StepKind};
use custody::session::{Action, Clock, ManualClock, Session};

use super::{clock, next_action, start};

/// What each scenario overrides: a value per field id, a choice per decision step, and what
/// to do at some steps besides.
/// A contact step's channel, reference, person and time given.
type Contact = (String, Option<String>, Option<String>, Option<String>);

#[derive(Default)]
struct Script {
    values: BTreeMap<&'static str, String>,
    choices: BTreeMap<&'static str, &'static str>,
    contacts: BTreeMap<&'static str, Contact>,
    skip: BTreeMap<&'static str, String>,
    notes: BTreeMap<&'static str, String>,
    /// Stop when this step becomes current.
    stop_at: Option<&'static str>,
    /// Minutes between actions.
    minutes: i64,
    text: Option<String>,
}

fn scripted<C: Clock>(session: &Session<C>, script: &Script) -> Option<Action> {
    let step = session.current_step()?;
    let id = step.id.as_str();
    if script.stop_at == Some(id) {
        return None;
    }
    if let Some(reason) = script.skip.get(id) {
        return Some(Action::Skip {
            reason: reason.clone(),
        });
    }
    Some(match &step.kind {
        StepKind::Decision { choices } => {
            let choice = script
                .choices
                .get(id)
                .map_or_else(|| choices[0].id.clone(), |c| (*c).to_owned());
            Action::Decide {
                choice,
                reason: script
                    .text
                    .clone()
                    .unwrap_or_else(|| reason_for(id).to_owned()),
            }
        }
        StepKind::Record { fields, .. } => Action::Record {
            values: fields
                .iter()
                .map(|f| {
                    let value =
                        script
                            .values
                            .get(f.id.as_str())
                            .cloned()
                            .unwrap_or_else(|| match (&f.kind, &script.text) {
                                (FieldKind::Choice { options }, _) => options[0].clone(),
                                (FieldKind::Yesno, _) => "no".into(),
                                (FieldKind::Datetime, _) => "2026-11-23T10:02:00+01:00".into(),
                                (FieldKind::Number, _) => "1".into(),
                                (FieldKind::Multiline, Some(text)) => text.clone(),
                                (_, Some(text)) => text.replace('\n', " "),
                                _ => "none".into(),
                            });
                    (f.id.clone(), value)
                })
                .collect(),
        },
        StepKind::Contact { .. } if id == "inform-management" && script.text.is_none() => {
            Action::Contact {
                to: Some("R. Peeters, head of operations".into()),
                channel: "in person".into(),
                at: None,
                reference: None,
                person: None,
                notes: Some("Told the facts only; no names of suspects given.".into()),
            }
        }
        StepKind::Contact { .. } => {
            let (channel, reference, person, at) = script
                .contacts
                .get(id)
                .cloned()
                .unwrap_or_else(|| ("phone".into(), None, script.text.clone(), None));
            Action::Contact {
                to: script.text.clone(),
                channel,
                at,
                reference,
                person,
                notes: script.text.clone(),
            }
        }
        StepKind::Transfer { .. } => match &script.text {
            Some(text) => Action::Transfer {
                items: text.clone(),
                from: Party {
                    name: text.clone(),
                    role: Some(text.clone()),
                    organisation: Some(text.clone()),
                },
                to: Party {
                    name: text.clone(),
                    role: Some(text.clone()),
                    organisation: Some(text.clone()),
                },
                at: Some(text.clone()),
                location: text.clone(),
            },
            None => Action::Transfer {
                items: "Disk image web-07-sda.img (SHA-256 in evidence/manifest-1.jsonl) on \
                        encrypted drive SN 4C530001"
                    .into(),
                from: Party {
                    name: "A. Jansen".into(),
                    role: Some("on-call engineer".into()),
                    organisation: Some("Example Hosting BV".into()),
                },
                to: Party {
                    name: "D. Visser".into(),
                    role: Some("digital investigator".into()),
                    organisation: Some("Politie, Eenheid Amsterdam".into()),
                },
                at: None,
                location: "Police evidence store, Amsterdam".into(),
            },
        },
        StepKind::Evidence { .. } | StepKind::Command { .. } => {
            match (next_action(session, 0)?, &script.text) {
                (Action::Evidence(mut e), Some(text)) => {
                    e.paths.push(text.clone());
                    e.errors.push(text.clone());
                    Action::Evidence(e)
                }
                (Action::Command(mut c), Some(text)) => {
                    c.argv.push(text.clone());
                    c.error = Some(text.clone());
                    Action::Command(c)
                }
                (other, _) => other,
            }
        }
        _ => next_action(session, 0)?,
    })
}

fn reason_for(step: &str) -> &'static str {
    match step {
        "public-check" => {
            "The folder is served by the customer's public web site, but no one \
                           has told us to remove access yet."
        }
        "choose-channel" => "Meldpunt is the channel for hosting providers in the Netherlands.",
        "hotline-advice" => "Meldpunt asked us to keep the material until the police decide.",
        "police-also" => "Meldpunt advised a report to the police as well.",
        "police-on-system" => "The duty officer asked us to keep the server running.",
        _ => "As the situation requires.",
    }
}

fn run(session: &mut Session<&ManualClock>, clock: &ManualClock, script: &Script) {
    let mut guard = 0;
    while let Some(action) = scripted(session, script) {
        let step = session
            .current_step()
            .map(|s| s.id.clone())
            .unwrap_or_default();
        clock.advance(Duration::minutes(script.minutes.max(1)) + Duration::seconds(7));
        session
            .apply(action)
            .expect("the scripted action is accepted");
        if let Some(note) = script.notes.get(step.as_str()) {
            clock.advance(Duration::seconds(40));
            session
                .apply(Action::Note { text: note.clone() })
                .expect("a note is accepted");
        }
        guard += 1;
        assert!(guard < 1000, "the script goes round in circles");
    }
}

/// A real incident, handled to the end and sealed: Meldpunt and the police informed, the
/// server kept running as the police asked, the disk image handed over.
pub fn real(dir: &Path) -> PathBuf {
    let clock = clock();
    let mut s = start("csam-discovery", Mode::Real);
    s.operator = "A. Jansen".into();
    s.witness = Some("B. de Vries".into());
    s.variables.insert(
        "evidence_path".into(),
        "/srv/www/customer-1042/uploads/2026/11".into(),
    );
    let mut session = Session::create(dir, &s, &clock).expect("a session");
    let mut script = Script {
        minutes: 3,
        ..Script::default()
    };
    for (k, v) in [
        (
            "found-how",
            "Abuse notice from Meldpunt Kinderporno by e-mail to abuse@, ticket 88412",
        ),
        ("found-at", "2026-11-23T09:40:00+01:00"),
        ("found-by", "M. de Boer, abuse desk, extension 4411"),
        (
            "system",
            "web-07.example.net (203.0.113.17), asset NL-SRV-0719",
        ),
        ("storage-kind", "customer storage"),
        ("path", "/srv/www/customer-1042/uploads/2026/11"),
        ("owner", "Customer 1042 (Example Photo BV)"),
        ("public", "yes"),
        ("viewed", "no"),
        ("viewed-details", ""),
        ("changed", "no"),
        ("changed-details", ""),
        (
            "log-locations",
            "/var/log/nginx/access.log*\n/var/log/auth.log*",
        ),
        ("log-retention", "14 days, rotated daily at 03:00 UTC"),
        (
            "account-data",
            "Customer 1042: contract, billing address, SFTP login history (90 days)",
        ),
        ("backups", "Nightly backup to backup-02, kept 30 days"),
        (
            "others",
            "No one besides the abuse desk (M. de Boer) and the duty manager.",
        ),
        ("written", "no"),
        ("written-where", ""),
    ] {
        script.values.insert(k, v.to_owned());
    }
    script.choices.insert("public-check", "public-wait");
    script.choices.insert("choose-channel", "hotline");
    script.choices.insert("hotline-advice", "keep");
    script.choices.insert("police-also", "yes");
    script.choices.insert("police-on-system", "keep-running");
    script.contacts.insert(
        "report-hotline",
        (
            "web form".into(),
            Some("MP-2026-118734".into()),
            None,
            Some("2026-11-23T10:32+01:00".into()),
        ),
    );
    script.contacts.insert(
        "report-police",
        (
            "phone (0900-8844)".into(),
            Some("PL1300-2026112300417".into()),
            Some("J. Smit, duty officer".into()),
            None,
        ),
    );
    script.contacts.insert(
        "inform-management",
        (
            "in person".into(),
            None,
            Some("R. Peeters, head of operations".into()),
            None,
        ),
    );
    script.skip.insert(
        "capture-journal",
        "This host has no systemd journal; the logs are in /var/log (recorded below).".into(),
    );
    script.notes.insert(
        "capture-order",
        "Witness B. de Vries joined at the console before the captures.".into(),
    );
    script.notes.insert(
        "report-police",
        "The duty officer asked us not to tell the customer.".into(),
    );
    script.stop_at = Some("support-people");
    run(&mut session, &clock, &script);
    clock.advance(Duration::minutes(5));
    session
        .apply(Action::Pause {
            reason: Some("handover to the day shift".into()),
        })
        .expect("pause");
    let folder = session.folder().to_path_buf();
    drop(session);
    clock.advance(Duration::minutes(47));
    let mut session = Session::open(&folder, false, &clock).expect("the session opens again");
    session.apply(Action::Resume).expect("resume");
    script.stop_at = None;
    run(&mut session, &clock, &script);
    clock.advance(Duration::minutes(2));
    session
        .seal(Some("Sealed by A. Jansen with B. de Vries".into()), None)
        .expect("seal");
    session.folder().to_path_buf()
}

/// An exercise with injects released, stopped before the police were called, not sealed.
pub fn exercise(dir: &Path) -> PathBuf {
    let clock = clock();
    let s = start("csam-discovery", Mode::Exercise);
    let mut session = Session::create(dir, &s, &clock).expect("a session");
    let script = Script {
        minutes: 25,
        stop_at: Some("capture-clock"),
        ..Script::default()
    };
    run(&mut session, &clock, &script);
    for inject in ["chat-question", "manager-delete"] {
        clock.advance(Duration::minutes(4));
        session
            .apply(Action::ReleaseInject {
                inject: inject.into(),
            })
            .expect("inject");
    }
    // A day passes on the exercise's clock, to exercise the 24-hour deadlines.
    clock.advance(Duration::hours(25));
    for id in session.deadlines_to_record() {
        session
            .apply(Action::DeadlinePassed { deadline: id })
            .expect("deadline passed");
    }
    session
        .apply(Action::Note {
            text: "The next day: the team discussed the manager's request to delete.".into(),
        })
        .expect("note");
    session.folder().to_path_buf()
}

/// Text that tries to break every format: markup of each, escape sequences, bidi overrides,
/// control characters.
pub const HOSTILE: &str = "<script>alert(1)</script> | cell\n# heading\n- item \
     [link](javascript:alert(1)) ![x](http://x/y.png) *bold* _it_ `code` \\ $math$ \
     #set page(fill: red) #import \"x\": * @ref <label> // comment /* c */ ] ) } \
     \u{1b}[31mred\u{1b}]52;c;aGVsbG8=\u{7} \u{202e}gnp.exe \u{200b} \u{0} &amp; \"'";

/// A session with hostile text in every value it records, sealed.
pub fn hostile(dir: &Path) -> PathBuf {
    let clock = clock();
    let mut s = start("csam-discovery", Mode::Real);
    // Names and the case id cannot hold control characters (custody refuses them at the
    // start); `normalise` puts the whole hostile text into the first event afterwards, as a
    // forged journal could.
    let line: String = HOSTILE.chars().filter(|c| !c.is_control()).collect();
    s.operator = format!("op {line}");
    s.witness = Some(format!("wit {line}"));
    s.case_id = format!("case {line}");
    s.variables
        .insert("evidence_path".into(), format!("/tmp/{HOSTILE}"));
    let mut session = Session::create(dir, &s, &clock).expect("a session");
    let mut script = Script {
        minutes: 2,
        text: Some(HOSTILE.to_owned()),
        ..Script::default()
    };
    script.values.insert("viewed", "yes".into());
    script.values.insert("changed", "yes".into());
    script.choices.insert("choose-channel", "police");
    script.choices.insert("police-on-system", "keep-running");
    script.notes.insert("stop", HOSTILE.to_owned());
    script.skip.insert("capture-users", HOSTILE.to_owned());
    run(&mut session, &clock, &script);
    session.seal(Some(HOSTILE.to_owned()), None).expect("seal");
    session.folder().to_path_buf()
}

/// Copies the session at `from` into `to` with the machine's facts replaced by fixed ones
/// (`host`, time zone, clock state, the recording tool's version) and the chain recomputed.
pub fn normalise(from: &Path, to: &Path, host: &str, hostile: bool) {
    std::fs::create_dir_all(to).expect("the fixture folder");
    let file = std::fs::File::open(from.join("journal.jsonl")).expect("the journal");
    let events = custody::journal::reader::Scanner::new(std::io::BufReader::new(file))
        .read_all()
        .unwrap_or_else(|_| panic!("{} reads", from.display()));
    // The session folder's path on the machine that made the fixture appears in runbook text
    // that names it: replace it with a fixed one.
    let here = from.to_string_lossy().into_owned();
    let fixed = format!(
        "/var/lib/custody/sessions/{}",
        from.file_name().unwrap_or_default().to_string_lossy()
    );
    let mut prev = Digest::ZERO;
    let mut out = Vec::new();
    for event in events {
        let Event {
            seq,
            time,
            offset,
            actor,
            step,
            mut body,
            ..
        } = event;
        match &mut body {
            Body::SessionStarted(s) => {
                host.clone_into(&mut s.host);
                s.timezone = Some("Europe/Amsterdam".into());
                s.clock = ClockState {
                    source: "adjtimex".into(),
                    synchronised: Some(true),
                    estimated_error_us: Some(1_200),
                    maximum_error_us: Some(48_000),
                };
                s.tool.version = "0.1.0".into();
                if hostile {
                    s.case_id = format!("case {HOSTILE}");
                    s.timezone = Some(HOSTILE.into());
                    s.variables.insert(HOSTILE.into(), HOSTILE.into());
                }
            }
            Body::Resumed(r) => {
                host.clone_into(&mut r.host);
                r.tool.version = "0.1.0".into();
            }
            Body::ItemConfirmed(i) => i.text = i.text.replace(&here, &fixed),
            _ => {}
        }
        let (line, sealed) = Draft {
            time,
            offset,
            actor,
            step,
            body,
        }
        .seal(seq, prev)
        .expect("an event encodes");
        prev = sealed.hash;
        out.extend_from_slice(&line);
    }
    std::fs::write(to.join("journal.jsonl"), out).expect("the fixture journal");
    std::fs::copy(from.join("runbook.toml"), to.join("runbook.toml")).expect("the runbook copy");
}

/// The bundled night-shift scenario's text.
pub const NIGHT_SHIFT: &str =
    include_str!("../../runbooks/exercises/csam-discovery-night-shift.toml");

/// An exercise session driven minute by minute (real time since the start), firing every
/// inject and recording every deadline custody would, as the session screen does after each
/// action.
struct Drill<'c> {
    session: Session<&'c ManualClock>,
    clock: &'c ManualClock,
    start: chrono::DateTime<chrono::Utc>,
}

impl Drill<'_> {
    fn at(&self, minute: i64) {
        self.clock.set(self.start + Duration::minutes(minute));
    }

    fn apply(&mut self, action: Action) {
        let what = format!("{action:?}");
        self.session
            .apply(action)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        loop {
            let due: Vec<String> = self
                .session
                .injects_due()
                .into_iter()
                .map(str::to_owned)
                .collect();
            if due.is_empty() {
                break;
            }
            for inject in due {
                self.session
                    .apply(Action::InjectDue { inject })
                    .expect("a due inject is released");
            }
        }
        for deadline in self.session.deadlines_to_record() {
            self.session
                .apply(Action::DeadlinePassed { deadline })
                .expect("a deadline's passing is recorded");
        }
    }

    /// Does everything the current step asks, at `minute`.
    fn step(&mut self, minute: i64) {
        self.at(minute);
        let id = self.session.current_step().expect("a step").id.clone();
        while self.session.current_step().map(|s| s.id.as_str()) == Some(id.as_str()) {
            let action = next_action(&self.session, 0).expect("an action");
            self.apply(action);
        }
    }

    fn decide(&mut self, minute: i64, step: &str, choice: &str, reason: &str) {
        self.at(minute);
        assert_eq!(
            self.session.current_step().map(|s| s.id.as_str()),
            Some(step)
        );
        self.apply(Action::Decide {
            choice: choice.into(),
            reason: reason.into(),
        });
    }

    fn answer(&mut self, minute: i64, inject: &str, answer: &str, by: &str) {
        self.at(minute);
        self.apply(Action::AnswerInject {
            inject: inject.into(),
            answer: answer.into(),
            by: Some(by.into()),
        });
    }

    fn clock_change(
        &mut self,
        minute: i64,
        change: custody::journal::event::ClockChange,
        amount: u64,
    ) {
        self.at(minute);
        self.apply(Action::Clock { change, amount });
    }

    fn note(&mut self, minute: i64, text: &str) {
        self.at(minute);
        self.apply(Action::Note { text: text.into() });
    }
}

/// The night-shift exercise of the flagship runbook, played to the end with known times and
/// sealed: `tests/review.rs` checks the review's figures against this script. With `text`, every
/// free text the team writes (answers, reasons, notes, the skip's reason) and the participants'
/// names carry it (hostile text, say).
///
/// Real time, in minutes since the start (`R`), and the exercise time it gives (`E`):
/// the clock runs 10x from R26 to R29, is paused from R32 to R42, moved on by 20 h at R99 and by
/// 4 h at R104, and stands still while work is paused from R105 to R125.
pub fn night_shift(dir: &Path, text: Option<&str>) -> PathBuf {
    use custody::journal::event::{ClockChange, Participant};
    let clock = clock();
    let mut s = start("csam-discovery", Mode::Exercise);
    let say = |words: &str| text.map_or_else(|| words.to_owned(), str::to_owned);
    // Names cannot hold control characters.
    let name = |base: &str| match text {
        Some(t) => format!(
            "{base} {}",
            t.chars().filter(|c| !c.is_control()).collect::<String>()
        ),
        None => base.to_owned(),
    };
    s.scenario_text = Some(NIGHT_SHIFT.to_owned());
    s.facilitator = Some(name("C. Bakker"));
    s.participants = vec![
        Participant {
            name: name("A. Jansen"),
            role: "on-call security engineer".into(),
        },
        Participant {
            name: name("R. Bakker"),
            role: "duty manager".into(),
        },
        Participant {
            name: name("S. Visser"),
            role: "backup engineer".into(),
        },
    ];
    let engineer = name("A. Jansen");
    let manager = name("R. Bakker");
    let session = Session::create(dir, &s, &clock).expect("an exercise session");
    let start = clock.now();
    let mut d = Drill {
        session,
        clock: &clock,
        start,
    };
    d.step(4); // stop
    d.step(7); // keep-it-quiet; record-discovery starts: `finder-opened-files` fires at R7
    d.answer(
        12,
        "finder-opened-files",
        &say("Record it as a fact in the viewed field: Sam opened two files at 02:47. Sam stops now."),
        &engineer,
    );
    d.step(15); // record-discovery
    d.decide(
        17,
        "public-check",
        "not-public",
        &say("bak-ams-07 has no public address."),
    );
    d.note(
        18,
        &say("Lesson: we did not know at once who may see the chat thread."),
    );
    d.step(19); // capture-order
    d.step(21); // capture-clock
    d.at(22);
    d.apply(Action::Skip {
        reason: say("No network tools on the lab machine."),
    });
    d.step(25); // capture-processes
    d.clock_change(26, ClockChange::Speed, 10);
    d.step(27); // capture-users; `team-chat` fires (E36)
    d.answer(
        28,
        "team-chat",
        &say("Busy on an incident, nothing needed. Nothing deleted."),
        &engineer,
    ); // `disk-full-cleanup` fires (E46)
    d.clock_change(29, ClockChange::Speed, 1);
    d.step(31); // capture-addresses
    d.clock_change(32, ClockChange::Pause, 0);
    d.clock_change(42, ClockChange::Resume, 0);
    d.answer(
        44,
        "disk-full-cleanup",
        &say("No purge: move other customers' backups to bak-ams-09; the duty manager decides."),
        &manager,
    );
    d.step(45); // capture-logins
    d.step(47); // capture-listing
    d.step(49); // capture-journal; record-logs starts: `log-rotation` fires (never answered)
    d.step(52); // record-logs
    d.step(55); // hash-evidence; store-securely starts: `usb-copy` fires
    d.answer(
        57,
        "usb-copy",
        &say("The stick is evidence: bagged, locked away, recorded."),
        &engineer,
    );
    d.step(58); // store-securely
    d.decide(
        60,
        "choose-channel",
        "hotline",
        &say("Meldpunt is the channel we know."),
    ); // `hotline-refers` fires
    d.step(65); // report-hotline
    d.answer(
        66,
        "hotline-refers",
        &say("Record the refusal, go to the police now."),
        &engineer,
    );
    d.decide(
        68,
        "hotline-advice",
        "no-instruction",
        &say("The hotline gave no instruction."),
    );
    d.decide(70, "police-also", "yes", &say("Not public: police."));
    d.step(75); // report-police; inform-management starts: `manager-delete` fires
    d.answer(
        78,
        "manager-delete",
        &say("No: the police know of it; deleting destroys evidence."),
        &manager,
    );
    d.step(80); // inform-management
    d.at(81);
    d.apply(Action::ReleaseInject {
        inject: "hr-tip".into(),
    });
    d.step(84); // disclosure-register; facts-not-conclusions starts: `customer-calls` fires
    d.answer(
        85,
        "hr-tip",
        &say("Facts only, to the police under their reference; no suspension."),
        &manager,
    );
    d.step(87); // facts-not-conclusions; police-on-system starts: `police-keep-running` fires
    d.answer(
        89,
        "police-keep-running",
        &say("Keep it running; tell the two admins only."),
        &engineer,
    );
    d.decide(
        90,
        "police-on-system",
        "take-offline",
        &say("A server with this on it must go offline."),
    );
    d.step(93); // take-offline
    d.step(96); // handover
    d.step(98); // preservation
    d.clock_change(99, ClockChange::Advance, 20 * 3600); // `shift-change` fires (E1316)
    d.step(101); // support-people
    d.answer(
        103,
        "shift-change",
        &say("Both reports made with references; the server stays as it is."),
        &engineer,
    );
    d.clock_change(104, ClockChange::Advance, 4 * 3600); // `nl-remove` passes (due E1522)
    d.at(105);
    d.apply(Action::Pause {
        reason: Some("lunch".into()),
    });
    d.note(
        110,
        &say("Discussed in the break: the hotline takes public material only."),
    );
    d.at(125);
    d.apply(Action::Resume);
    d.step(127); // aftercare
    d.step(128); // done
    d.note(
        130,
        &say("Lesson: print the channel table for the night shift."),
    );
    d.at(131);
    d.session
        .seal(Some(say("End of the tabletop.")), None)
        .expect("seal");
    d.session.folder().to_path_buf()
}
