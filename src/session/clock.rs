//! Where the session gets the time. The system clock in use; a clock that is set by hand in
//! tests, so that journals and deadlines can be checked to the microsecond.

use std::cell::Cell;

use chrono::{DateTime, FixedOffset, Local, Offset as _, Utc};

/// A source of the current time and the local offset from UTC.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
    /// The local offset at `time`, as the machine's time zone has it.
    fn offset_at(&self, time: DateTime<Utc>) -> FixedOffset;
}

/// The machine's clock and time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn offset_at(&self, time: DateTime<Utc>) -> FixedOffset {
        time.with_timezone(&Local).offset().fix()
    }
}

/// A clock that shows what it is told, at a fixed offset; for tests and replays.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Cell<DateTime<Utc>>,
    offset: FixedOffset,
}

impl ManualClock {
    pub fn new(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        Self {
            now: Cell::new(now),
            offset,
        }
    }

    pub fn set(&self, now: DateTime<Utc>) {
        self.now.set(now);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.now.set(self.now.get() + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }

    fn offset_at(&self, _time: DateTime<Utc>) -> FixedOffset {
        self.offset
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }

    fn offset_at(&self, time: DateTime<Utc>) -> FixedOffset {
        (**self).offset_at(time)
    }
}
