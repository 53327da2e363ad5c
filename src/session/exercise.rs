//! The exercise clock: the time an exercise's story runs on, which the facilitator can pause,
//! speed up and move on so that a 24-hour deadline can be rehearsed in an hour.
//!
//! Nothing here reads a clock. The exercise time of any moment is computed from the journal:
//! it starts equal to the real start time and runs at the speed of the last `clock_changed`
//! event, from the exercise time that event recorded. It stands still while the facilitator has
//! paused it, while the session is paused (the team stopped for the day), and across an
//! interruption (from the last event before custody stopped to the `resumed` after it). In a real
//! session the exercise time is the real time.

use chrono::{DateTime, Duration, Utc};

use crate::journal::Event;
use crate::journal::event::{Body, ClockChange, ClockChanged};

/// The fastest the exercise clock may run: an hour a second.
pub const MAX_SPEED: u32 = 3600;

/// From this real time on, exercise time is `exercise + rate * (real - self.real)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    real: DateTime<Utc>,
    exercise: DateTime<Utc>,
    /// 0 while the clock stands still.
    rate: u32,
}

/// The exercise clock as the journal gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseClock {
    exercise: bool,
    segments: Vec<Segment>,
    /// The facilitator's setting.
    speed: u32,
    /// The facilitator paused the clock.
    held: bool,
    /// The session is paused.
    session_paused: bool,
    /// The time of the last event applied.
    last_real: DateTime<Utc>,
}

impl ExerciseClock {
    /// The clock of a session started at `start`; `exercise` false gives the real time.
    pub fn new(start: DateTime<Utc>, exercise: bool) -> Self {
        Self {
            exercise,
            segments: vec![Segment {
                real: start,
                exercise: start,
                rate: 1,
            }],
            speed: 1,
            held: false,
            session_paused: false,
            last_real: start,
        }
    }

    /// The exercise time at real time `real` (any moment since the start; earlier moments are
    /// taken as the start). The real time itself in a real session.
    pub fn at(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        if !self.exercise {
            return real;
        }
        let i = self.segments.partition_point(|s| s.real <= real);
        let segment = self.segments[i.saturating_sub(1)];
        let elapsed = (real - segment.real).max(Duration::zero());
        segment
            .exercise
            .checked_add_signed(elapsed * i32::try_from(segment.rate).unwrap_or(i32::MAX))
            .unwrap_or(segment.exercise)
    }

    /// Whether exercise time differs from real time (an exercise).
    pub fn is_exercise(&self) -> bool {
        self.exercise
    }

    pub fn speed(&self) -> u32 {
        self.speed
    }

    /// The facilitator has paused the clock.
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Whether exercise time moves now.
    pub fn is_running(&self) -> bool {
        !self.held && !self.session_paused
    }

    fn rate(&self) -> u32 {
        if self.is_running() { self.speed } else { 0 }
    }

    fn restart_at(&mut self, real: DateTime<Utc>, exercise: DateTime<Utc>) {
        self.segments.push(Segment {
            real,
            exercise,
            rate: self.rate(),
        });
    }

    /// Folds one event in (after the first).
    pub fn apply(&mut self, event: &Event) {
        let before = self.last_real;
        self.last_real = event.time;
        if !self.exercise {
            return;
        }
        match &event.body {
            Body::ClockChanged(c) => {
                self.speed = c.speed.clamp(1, MAX_SPEED);
                self.held = c.paused;
                // The journal is the truth: the clock reads what the event recorded.
                self.restart_at(event.time, c.exercise_time);
            }
            Body::Paused(_) => {
                let now = self.at(event.time);
                self.session_paused = true;
                self.restart_at(event.time, now);
            }
            Body::Resumed(r) => {
                // Across an interruption, the clock stood still from the last event before it.
                let now = if r.interrupted {
                    self.at(before)
                } else {
                    self.at(event.time)
                };
                self.session_paused = false;
                self.restart_at(event.time, now);
            }
            _ => {}
        }
    }

    /// The `clock_changed` data for a change made at real time `real`, or why it cannot be made.
    pub fn change(
        &self,
        change: ClockChange,
        real: DateTime<Utc>,
        amount: u64,
    ) -> Result<ClockChanged, String> {
        if !self.exercise {
            return Err("the exercise clock belongs to exercises; this session is real".into());
        }
        let now = self.at(real);
        let mut next = ClockChanged {
            change,
            exercise_time: now,
            speed: self.speed,
            paused: self.held,
            advanced_secs: None,
        };
        match change {
            ClockChange::Pause if self.held => {
                return Err("the exercise clock is already paused".into());
            }
            ClockChange::Pause => next.paused = true,
            ClockChange::Resume if !self.held => {
                return Err("the exercise clock is not paused".into());
            }
            ClockChange::Resume => next.paused = false,
            ClockChange::Advance => {
                let secs = i64::try_from(amount)
                    .ok()
                    .filter(|s| *s > 0 && *s <= 366 * 86_400);
                let Some(secs) = secs else {
                    return Err("move the clock on by between 1 second and 366 days".into());
                };
                next.exercise_time = now + Duration::seconds(secs);
                next.advanced_secs = Some(amount);
            }
            ClockChange::Speed => {
                let speed = u32::try_from(amount)
                    .ok()
                    .filter(|s| (1..=MAX_SPEED).contains(s));
                let Some(speed) = speed else {
                    return Err(format!(
                        "the speed is from 1 to {MAX_SPEED} times real time"
                    ));
                };
                if speed == self.speed {
                    return Err(format!("the exercise clock already runs at {speed}x"));
                }
                next.speed = speed;
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::event::{Paused, Resumed, Tool};
    use crate::journal::{Actor, Digest};
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn event(min: i64, body: Body) -> Event {
        Event {
            seq: 2,
            time: t(min),
            offset: chrono::FixedOffset::east_opt(0).unwrap(),
            actor: Actor::custody(),
            step: None,
            body,
            prev: Digest::ZERO,
            hash: Digest::ZERO,
        }
    }

    fn change(clock: &mut ExerciseClock, min: i64, change: ClockChange, amount: u64) {
        let data = clock.change(change, t(min), amount).expect("change");
        clock.apply(&event(min, Body::ClockChanged(data)));
    }

    #[test]
    fn a_real_session_runs_on_real_time() {
        let mut clock = ExerciseClock::new(t(0), false);
        assert!(clock.change(ClockChange::Pause, t(1), 0).is_err());
        clock.apply(&event(5, Body::Paused(Paused { reason: None })));
        assert_eq!(clock.at(t(30)), t(30));
    }

    #[test]
    fn pause_speed_and_advance_change_exercise_time_only() {
        let mut clock = ExerciseClock::new(t(0), true);
        assert_eq!(clock.at(t(10)), t(10));
        change(&mut clock, 10, ClockChange::Pause, 0);
        assert_eq!(clock.at(t(25)), t(10), "paused: stands still");
        assert!(clock.change(ClockChange::Pause, t(26), 0).is_err());
        change(&mut clock, 30, ClockChange::Resume, 0);
        assert_eq!(clock.at(t(31)), t(11));
        change(&mut clock, 40, ClockChange::Speed, 24);
        // 20 exercise minutes by the change, then 24 times as fast.
        assert_eq!(clock.at(t(45)), t(20 + 5 * 24));
        change(&mut clock, 50, ClockChange::Advance, 3600);
        assert_eq!(clock.at(t(50)), t(20 + 10 * 24 + 60));
        // Earlier moments keep the reading they had.
        assert_eq!(clock.at(t(20)), t(10));
        assert_eq!(clock.at(t(-5)), t(0));
    }

    #[test]
    fn a_session_pause_and_an_interruption_stop_the_clock() {
        let mut clock = ExerciseClock::new(t(0), true);
        change(&mut clock, 0, ClockChange::Speed, 2);
        clock.apply(&event(10, Body::Paused(Paused { reason: None })));
        let resumed = |interrupted| {
            Body::Resumed(Resumed {
                interrupted,
                gap_seconds: 0,
                host: "h".into(),
                tool: Tool::this(),
            })
        };
        clock.apply(&event(70, resumed(false)));
        assert_eq!(clock.at(t(75)), t(30));
        clock.apply(&event(
            80,
            Body::NoteAdded(crate::journal::event::NoteAdded { text: "n".into() }),
        ));
        // custody stopped after minute 80 and came back at 200.
        clock.apply(&event(200, resumed(true)));
        assert_eq!(clock.at(t(200)), t(40));
        assert_eq!(clock.at(t(201)), t(42));
    }

    #[test]
    fn bad_changes_are_refused() {
        let clock = ExerciseClock::new(t(0), true);
        assert!(clock.change(ClockChange::Resume, t(1), 0).is_err());
        assert!(clock.change(ClockChange::Speed, t(1), 0).is_err());
        assert!(clock.change(ClockChange::Speed, t(1), 1).is_err());
        assert!(
            clock
                .change(ClockChange::Speed, t(1), u64::from(MAX_SPEED) + 1)
                .is_err()
        );
        assert!(clock.change(ClockChange::Advance, t(1), 0).is_err());
    }
}
