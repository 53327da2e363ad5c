//! Exercises on the walk: the briefing read before the first step, injects (fired by custody
//! when their moment comes on the exercise clock, or released by the facilitator, then
//! answered by the team) and the facilitator's exercise clock.
//!
//! State and keys only: `view` draws these dialogs. Every change goes through
//! [`Walk::apply`], so an inject shows as released, an answer as recorded and the clock as
//! changed only once the journal has it. What the team has put off answering (Esc in the
//! inject dialog) is the one thing kept here and not in the journal: it is a matter of the
//! screen, not of the record.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Dialog, Status, Walk};
use super::describe;
use super::input::Input;
use crate::journal::event::{Body, ClockChange, Mode, Participant};
use crate::runbook::{Inject, Scenario};
use crate::session::{Action, Clock, Session};

/// The speeds the clock dialog offers (times real time).
pub const SPEEDS: [u32; 6] = [1, 2, 5, 10, 30, 60];

/// The steps the clock dialog offers for moving the clock on, in seconds.
pub const MOVES: [u64; 3] = [15 * 60, 3600, 4 * 3600];

/// What the start of an exercise knows besides the runbook (from the command line).
#[derive(Debug, Clone, Default)]
pub struct ExerciseSetup {
    /// The scenario file's text, exactly as read (the session keeps a copy).
    pub scenario_text: Option<String>,
    /// That scenario, read: its title and jurisdiction fill in the start form.
    pub scenario: Option<Scenario>,
    pub facilitator: Option<String>,
    pub participants: Vec<Participant>,
    /// Said on the start screen and when the walk begins: which scenario is followed.
    pub notice: Option<String>,
}

/// A participant written as `NAME=ROLE` (or `Name = role`), or why it cannot be read.
pub fn participant(text: &str) -> Result<Participant, String> {
    let Some((name, role)) = text.split_once('=') else {
        return Err(format!(
            "`{}` has no `=`: write the name, `=` and the part played, such as \"D. Smit=duty \
             manager\"",
            text.trim()
        ));
    };
    let (name, role) = (name.trim(), role.trim());
    if name.is_empty() || role.is_empty() {
        return Err(format!(
            "`{}` needs both a name and a part played, such as \"D. Smit=duty manager\"",
            text.trim()
        ));
    }
    Ok(Participant {
        name: name.to_owned(),
        role: role.to_owned(),
    })
}

/// Participants one per line (`Name = role`); empty lines are left out.
pub fn participants(text: &str) -> Result<Vec<Participant>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| participant(line).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect()
}

/// A duration as runbooks write it, in its largest units: `45m`, `1h30m`, `20h`, `2d`.
pub fn compact(seconds: u64) -> String {
    let parts = [
        (seconds / 86_400, "d"),
        ((seconds / 3600) % 24, "h"),
        ((seconds / 60) % 60, "m"),
        (seconds % 60, "s"),
    ];
    let mut text = String::new();
    for (n, unit) in parts.iter().filter(|(n, _)| *n > 0) {
        text.push_str(&n.to_string());
        text.push_str(unit);
    }
    if text.is_empty() { "0s".into() } else { text }
}

/// When an inject comes: `at step X`, `after 45m`, `X + 10m`, or `by hand`.
pub fn trigger(inject: &Inject) -> String {
    let after = inject.after.map(|d| compact(d.as_secs()));
    match (&inject.at, after) {
        (Some(step), None) => format!("at step {step}"),
        (None, Some(after)) => format!("after {after}"),
        (Some(step), Some(after)) => format!("{step} + {after}"),
        (None, None) => "by hand".into(),
    }
}

/// Where an inject stands. Times are on the exercise clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectStatus {
    /// Not released; its moment has not come (or it waits for the facilitator).
    Waiting,
    /// Its moment has come: custody releases it at the next tick.
    Due,
    Released(DateTime<Utc>),
    Answered(DateTime<Utc>),
}

/// Where the inject `id` stands in the session.
pub fn inject_status<C: Clock>(session: &Session<C>, id: &str, due: &[&str]) -> InjectStatus {
    let state = session.state();
    match (state.injects.get(id), state.answered.get(id)) {
        (Some(_), Some(at)) => InjectStatus::Answered(state.session_time(*at)),
        (Some(at), None) => InjectStatus::Released(state.session_time(*at)),
        _ if due.contains(&id) => InjectStatus::Due,
        _ => InjectStatus::Waiting,
    }
}

/// An inject put to the team, and their answer being typed.
#[derive(Debug, Clone)]
pub struct InjectDialog {
    pub inject: String,
    /// As released (the journal's words), variables filled in.
    pub title: String,
    pub body: Option<String>,
    pub prompt: Option<String>,
    pub input: Input,
    /// Who can answer: the operator first, then the other participants, each with the part
    /// they play.
    pub people: Vec<(String, String)>,
    /// Who is answering, in `people`.
    pub by: usize,
    /// Why the last Enter did not record (an empty answer, a refusal).
    pub message: Option<String>,
}

/// The facilitator's list of every inject.
#[derive(Debug, Clone, Default)]
pub struct InjectList {
    pub selected: usize,
    /// Asking whether to release the selected inject.
    pub confirm: bool,
    pub message: Option<Status>,
}

/// One choice in the clock dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockRow {
    PauseOrResume,
    Speed(u32),
    MoveOn(u64),
    /// Move on by a duration typed in.
    MoveOnBy,
}

/// The clock dialog's choices, top to bottom.
pub fn clock_rows() -> Vec<ClockRow> {
    std::iter::once(ClockRow::PauseOrResume)
        .chain(SPEEDS.iter().map(|s| ClockRow::Speed(*s)))
        .chain(MOVES.iter().map(|m| ClockRow::MoveOn(*m)))
        .chain(std::iter::once(ClockRow::MoveOnBy))
        .collect()
}

/// The facilitator's exercise clock dialog.
#[derive(Debug, Clone, Default)]
pub struct ClockDialog {
    pub selected: usize,
    /// The duration being typed for "move on by".
    pub custom: Option<Input>,
    /// What the last change did, or why it was refused.
    pub message: Option<Status>,
}

/// Said when an exercise key is pressed in a real session.
const ONLY_IN_EXERCISES: &str =
    "Injects and the exercise clock are only in exercises; this session is real.";

fn ctrl_c(key: KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

impl<C: Clock> Walk<C> {
    pub fn is_exercise(&self) -> bool {
        self.session.state().mode() == Mode::Exercise
    }

    /// The scenario's briefing, if the exercise follows a scenario that has one.
    pub fn briefing(&self) -> Option<&str> {
        self.session
            .scenario()
            .and_then(|s| s.briefing.as_deref())
            .filter(|b| !b.trim().is_empty())
    }

    /// Injects released and not answered yet, oldest first.
    pub fn pending_injects(&self) -> Vec<String> {
        self.session
            .unanswered_injects()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// What the status line says while released injects wait for an answer.
    pub fn pending_hint(&self) -> Option<String> {
        let n = self.session.unanswered_injects().len();
        (n > 0 && self.is_exercise()).then(|| {
            format!(
                "{} to answer: {}press a when the team is ready.",
                injects_count(n),
                if self.typing && self.form.is_some() {
                    "Esc, then "
                } else {
                    ""
                }
            )
        })
    }

    /// The keys `i`, `t`, `a` and `b` on the walk. True if the key was one of them.
    pub fn exercise_key(&mut self, key: KeyEvent) -> bool {
        let KeyCode::Char(c @ ('i' | 't' | 'a' | 'b')) = key.code else {
            return false;
        };
        if !key.modifiers.difference(KeyModifiers::SHIFT).is_empty() {
            return false;
        }
        if !self.is_exercise() {
            self.status = Some(Status::Info(ONLY_IN_EXERCISES.into()));
            return true;
        }
        if self.session.state().sealed.is_some() && c != 'b' {
            self.status = Some(Status::Info(
                "The exercise is sealed: nothing more can be released, answered or changed.".into(),
            ));
            return true;
        }
        match c {
            'i' => self.dialog = Some(Dialog::Injects(InjectList::default())),
            't' => self.dialog = Some(Dialog::Clock(ClockDialog::default())),
            'a' => match self.pending_injects().first() {
                Some(id) => {
                    let id = id.clone();
                    self.open_inject(&id);
                }
                None => {
                    self.status = Some(Status::Info("No inject is waiting for an answer.".into()));
                }
            },
            _ => {
                if self.briefing().is_some() {
                    self.dialog = Some(Dialog::Briefing { scroll: 0 });
                } else {
                    self.status = Some(Status::Info("This exercise follows no briefing.".into()));
                }
            }
        }
        true
    }

    /// Releases the injects whose moment has come on the exercise clock (custody is the
    /// actor). Waits while a dialog is open, so that an inject is released when the team can
    /// see it.
    pub fn release_due_injects(&mut self) {
        if self.dialog.is_some() || !self.is_exercise() {
            return;
        }
        let due: Vec<String> = self
            .session
            .injects_due()
            .into_iter()
            .map(str::to_owned)
            .collect();
        for inject in due {
            if !self.apply(Action::InjectDue { inject }) {
                break;
            }
        }
    }

    /// Puts the oldest released, unanswered inject that the team has not put off in front of
    /// them, when nothing else is open.
    pub fn show_next_inject(&mut self) {
        if self.dialog.is_some() || !self.is_exercise() {
            return;
        }
        let next = self
            .pending_injects()
            .into_iter()
            .find(|id| !self.deferred.contains(id));
        if let Some(id) = next {
            self.open_inject(&id);
        }
    }

    /// Opens the answer dialog of a released inject, with the words it was released with.
    pub fn open_inject(&mut self, id: &str) {
        self.deferred.retain(|d| d != id);
        let released = self.recent.iter().rev().find_map(|e| match &e.body {
            Body::InjectReleased(r) if r.inject == id => Some(r.clone()),
            _ => None,
        });
        let (title, body, prompt) = if let Some(r) = released {
            (r.title, r.body, r.prompt)
        } else {
            let Some(inject) = self.session.runbook().injects.iter().find(|i| i.id == id) else {
                return;
            };
            (
                self.session.render(&inject.title),
                inject.body.as_ref().map(|b| self.session.render(b)),
                inject.prompt.as_ref().map(|p| self.session.render(p)),
            )
        };
        let started = &self.session.state().started;
        let role_of = |name: &str| {
            started
                .participants
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.role.clone())
        };
        let mut people = vec![(
            started.operator.clone(),
            role_of(&started.operator).unwrap_or_else(|| "operator".into()),
        )];
        people.extend(
            started
                .participants
                .iter()
                .filter(|p| p.name != started.operator)
                .map(|p| (p.name.clone(), p.role.clone())),
        );
        self.dialog = Some(Dialog::Inject(Box::new(InjectDialog {
            inject: id.to_owned(),
            title,
            body,
            prompt,
            input: Input::multiline(),
            people,
            by: 0,
            message: None,
        })));
    }

    /// The inject dialog: Enter (or Ctrl-S) records the answer, Tab and Shift-Tab change who
    /// answers, Esc leaves it for later.
    pub(super) fn inject_key(&mut self, mut d: Box<InjectDialog>, key: KeyEvent) -> Option<Dialog> {
        let mods = key.modifiers;
        let save = (key.code == KeyCode::Enter
            && !mods.intersects(KeyModifiers::ALT | KeyModifiers::SHIFT))
            || (key.code == KeyCode::Char('s') && mods.contains(KeyModifiers::CONTROL));
        if key.code == KeyCode::Esc || ctrl_c(key) {
            self.answer_later(&d.inject);
            return None;
        }
        if save {
            let answer = d.input.text().trim().to_owned();
            if answer.is_empty() {
                d.message = Some("Type the team's answer first, or Esc to answer later.".into());
                return Some(Dialog::Inject(d));
            }
            let by = d.people.get(d.by).map(|(name, _)| name.clone());
            let inject = d.inject.clone();
            if self.apply(Action::AnswerInject { inject, answer, by }) {
                self.status = Some(Status::Info(format!(
                    "Answer recorded: {}",
                    crate::sanitize::for_terminal(&d.title)
                )));
                return self.dialog.take();
            }
            if let Some(Status::Warning(why)) = self.status.take() {
                d.message = Some(why);
            }
            return self.dialog.take().or(Some(Dialog::Inject(d)));
        }
        match key.code {
            KeyCode::Tab if !d.people.is_empty() => d.by = (d.by + 1) % d.people.len(),
            KeyCode::BackTab if !d.people.is_empty() => {
                d.by = (d.by + d.people.len() - 1) % d.people.len();
            }
            _ => {
                if d.input.handle(key) {
                    d.message = None;
                }
            }
        }
        Some(Dialog::Inject(d))
    }

    /// The team answers `inject` later: it waits, and the status line says how to come back.
    fn answer_later(&mut self, inject: &str) {
        if !self.deferred.iter().any(|d| d == inject) {
            self.deferred.push(inject.to_owned());
        }
        // The status line then says how many wait, and how to come back to them.
        self.status = None;
    }

    /// The facilitator's inject list: Up/Down, Enter releases (after y), Esc closes.
    pub(super) fn injects_key(&mut self, mut list: InjectList, key: KeyEvent) -> Option<Dialog> {
        let ids: Vec<String> = self
            .session
            .runbook()
            .injects
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let Some(id) = ids.get(list.selected).cloned() else {
            return match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q' | 'i') => None,
                _ if ctrl_c(key) => None,
                _ => Some(Dialog::Injects(list)),
            };
        };
        if list.confirm {
            return match key.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    list.confirm = false;
                    if self.apply(Action::ReleaseInject { inject: id.clone() }) {
                        self.open_inject(&id);
                        return self.dialog.take();
                    }
                    if let Some(Status::Warning(why)) = self.status.take() {
                        list.message = Some(Status::Warning(why));
                    }
                    self.dialog.take().or(Some(Dialog::Injects(list)))
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => {
                    list.confirm = false;
                    Some(Dialog::Injects(list))
                }
                _ if ctrl_c(key) => None,
                _ => Some(Dialog::Injects(list)),
            };
        }
        match key.code {
            KeyCode::Esc | KeyCode::Char('q' | 'i') => return None,
            _ if ctrl_c(key) => return None,
            KeyCode::Up | KeyCode::Char('k') => {
                list.selected = list.selected.saturating_sub(1);
                list.message = None;
            }
            KeyCode::Down | KeyCode::Char('j') if list.selected + 1 < ids.len() => {
                list.selected += 1;
                list.message = None;
            }
            KeyCode::Enter => {
                let due = self.session.injects_due();
                match inject_status(&self.session, &id, &due) {
                    InjectStatus::Waiting | InjectStatus::Due => list.confirm = true,
                    InjectStatus::Released(_) => {
                        self.open_inject(&id);
                        return self.dialog.take();
                    }
                    InjectStatus::Answered(_) => {
                        list.message = Some(Status::Info(
                            "Already answered; a note (n) can add to the record.".into(),
                        ));
                    }
                }
            }
            _ => {}
        }
        Some(Dialog::Injects(list))
    }

    /// The exercise clock dialog: Up/Down and Enter, or p to pause and resume; each change is
    /// journaled and the dialog stays open to show it.
    pub(super) fn clock_key(&mut self, mut d: ClockDialog, key: KeyEvent) -> Option<Dialog> {
        if let Some(mut input) = d.custom.take() {
            match key.code {
                KeyCode::Esc => {}
                _ if ctrl_c(key) => {}
                KeyCode::Enter => match crate::runbook::duration::parse(input.text()) {
                    Ok(by) => return self.change_clock(d, ClockChange::Advance, by.as_secs()),
                    Err(why) => {
                        d.message = Some(Status::Warning(why));
                        d.custom = Some(input);
                    }
                },
                _ => {
                    input.handle(key);
                    d.custom = Some(input);
                }
            }
            return Some(Dialog::Clock(d));
        }
        let rows = clock_rows();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q' | 't') => return None,
            _ if ctrl_c(key) => return None,
            KeyCode::Up | KeyCode::Char('k') => d.selected = d.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if d.selected + 1 < rows.len() => d.selected += 1,
            KeyCode::Char('p' | 'P' | ' ') => return self.pause_or_resume(d),
            KeyCode::Enter => match rows.get(d.selected) {
                Some(ClockRow::PauseOrResume) => return self.pause_or_resume(d),
                Some(ClockRow::Speed(s)) => {
                    return self.change_clock(d, ClockChange::Speed, u64::from(*s));
                }
                Some(ClockRow::MoveOn(secs)) => {
                    return self.change_clock(d, ClockChange::Advance, *secs);
                }
                Some(ClockRow::MoveOnBy) => {
                    d.custom = Some(Input::new());
                    d.message = None;
                }
                None => {}
            },
            _ => {}
        }
        Some(Dialog::Clock(d))
    }

    fn pause_or_resume(&mut self, d: ClockDialog) -> Option<Dialog> {
        let change = if self.session.state().clock.is_held() {
            ClockChange::Resume
        } else {
            ClockChange::Pause
        };
        self.change_clock(d, change, 0)
    }

    fn change_clock(
        &mut self,
        mut d: ClockDialog,
        change: ClockChange,
        amount: u64,
    ) -> Option<Dialog> {
        if self.apply(Action::Clock { change, amount }) {
            let said = self.recent.back().and_then(|e| match &e.body {
                Body::ClockChanged(c) => Some(describe::clock_change(c)),
                _ => None,
            });
            d.message = said.map(|s| Status::Info(format!("Journaled: {s}.")));
        } else if let Some(Status::Warning(why)) = self.status.take() {
            d.message = Some(Status::Warning(why));
        }
        self.dialog.take().or(Some(Dialog::Clock(d)))
    }

    /// The briefing: Up/Down and PgUp/PgDn scroll, Enter (or Esc) closes.
    pub(super) fn briefing_key(&mut self, scroll: u16, key: KeyEvent) -> Option<Dialog> {
        let max = self.briefing().map_or(0, |b| {
            u16::try_from(b.lines().count() * 2).unwrap_or(u16::MAX)
        });
        let scroll = match key.code {
            KeyCode::Enter | KeyCode::Esc => return None,
            _ if ctrl_c(key) => return None,
            KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
            KeyCode::PageUp => scroll.saturating_sub(10),
            KeyCode::Home => 0,
            _ => scroll,
        };
        Some(Dialog::Briefing {
            scroll: scroll.min(max),
        })
    }
}

/// `1 inject`, `3 injects`.
pub fn injects_count(n: usize) -> String {
    if n == 1 {
        "1 inject".into()
    } else {
        format!("{n} injects")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_are_name_equals_role() {
        let p = participant(" D. Smit = duty manager ").unwrap();
        assert_eq!(
            (p.name.as_str(), p.role.as_str()),
            ("D. Smit", "duty manager")
        );
        let p = participant("A=b=c").unwrap();
        assert_eq!((p.name.as_str(), p.role.as_str()), ("A", "b=c"));
        assert!(participant("D. Smit").unwrap_err().contains("no `=`"));
        assert!(participant("=manager").is_err());
        assert!(participant("D. Smit=  ").is_err());
        let all = participants("A = one\n\n  \nB=two\n").unwrap();
        assert_eq!(all.len(), 2);
        assert!(
            participants("A = one\nB")
                .unwrap_err()
                .starts_with("line 2:")
        );
    }

    #[test]
    fn durations_and_triggers_read_as_runbooks_write_them() {
        assert_eq!(compact(45 * 60), "45m");
        assert_eq!(compact(5400), "1h30m");
        assert_eq!(compact(20 * 3600), "20h");
        assert_eq!(compact(2 * 86_400 + 30), "2d30s");
        assert_eq!(compact(0), "0s");
        assert_eq!(injects_count(1), "1 inject");
        assert_eq!(injects_count(2), "2 injects");
    }
}
