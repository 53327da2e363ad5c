//! What custody learns about the machine it runs on: its name, the user, the time zone, whether
//! the clock is synchronised, and random bytes for session ids. Nothing here changes the machine.
//!
//! This is the one module with `unsafe` code: a read-only `adjtimex(2)` call, which no
//! maintained crate wraps (the call passes a zeroed `timex`, and `modes == 0` asks the kernel to
//! change nothing), and a `poll(2)` on standard input, to see a terminal that hung up (crossterm
//! reads such a terminal in an endless loop).
#![allow(unsafe_code)]

use std::io::Read as _;

use crate::journal::event::ClockState;

/// The machine's host name, from the kernel; `unknown` when it cannot be read.
pub fn name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The user running custody, for lock messages: `$USER`, else the numeric uid.
pub fn user() -> String {
    if let Some(user) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    {
        return user;
    }
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| {
                    rest.split_whitespace()
                        .next()
                        .map(|uid| format!("uid {uid}"))
                })
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The IANA time zone name (`Europe/Amsterdam`), when the machine says it: `$TZ`, the target of
/// `/etc/localtime`, or `/etc/timezone`.
pub fn timezone() -> Option<String> {
    let looks_like_a_zone = |s: &str| {
        !s.is_empty()
            && s.len() < 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
    };
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        let tz = tz.rsplit_once("zoneinfo/").map_or(tz, |(_, zone)| zone);
        if looks_like_a_zone(tz) {
            return Some(tz.to_owned());
        }
    }
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let target = target.to_string_lossy().into_owned();
        if let Some((_, zone)) = target.rsplit_once("zoneinfo/")
            && looks_like_a_zone(zone)
        {
            return Some(zone.to_owned());
        }
    }
    std::fs::read_to_string("/etc/timezone")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| looks_like_a_zone(s))
}

/// `count` random bytes from the kernel, or, failing that, bytes derived from the time and the
/// process id (good enough to keep two session ids apart; not a secret).
pub fn random_bytes(count: usize) -> Vec<u8> {
    let mut out = vec![0; count];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .is_ok()
    {
        return out;
    }
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    let digest = crate::journal::Digest::of(seed.as_bytes());
    digest.0.iter().copied().cycle().take(count).collect()
}

/// The kernel's view of the clock: synchronised or not, and its error estimates.
#[cfg(target_os = "linux")]
pub fn clock_state() -> ClockState {
    // TIME_ERROR: the clock is not synchronised.
    const TIME_ERROR: libc::c_int = 5;
    const STA_UNSYNC: libc::c_int = 0x0040;
    // SAFETY: `timex` is a plain C struct of integers, for which all zeros is a valid value; with
    // `modes == 0` adjtimex only reads the kernel's state into it. The pointer is to a live,
    // exclusively borrowed local for the duration of the call.
    let mut timex: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&raw mut timex) };
    if state < 0 {
        return ClockState::unknown();
    }
    let synchronised = state != TIME_ERROR && timex.status & STA_UNSYNC == 0;
    ClockState {
        source: "adjtimex".into(),
        synchronised: Some(synchronised),
        estimated_error_us: Some(timex.esterror),
        maximum_error_us: Some(timex.maxerror),
    }
}

/// The kernel's view of the clock; not known on this system.
#[cfg(not(target_os = "linux"))]
pub fn clock_state() -> ClockState {
    ClockState::unknown()
}

/// What waiting on the terminal gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Something to read (a key, a paste, a resize report).
    Ready,
    /// Nothing within the time.
    Timeout,
    /// The terminal is gone (an SSH connection dropped, the window closed).
    HungUp,
}

/// Standard input made non-blocking for as long as this lives (while the interface runs), and
/// given back as it was. crossterm reads a key's bytes until the key is whole; on a blocking
/// terminal half a key (Esc and `[`, alone) held the whole loop in `read`, and with it the
/// signals and the clock (found by `tests/signals.rs`).
#[derive(Debug)]
pub struct NonBlockingStdin(Option<rustix::fs::OFlags>);

impl NonBlockingStdin {
    pub fn new() -> Self {
        let stdin = rustix::stdio::stdin();
        let Ok(flags) = rustix::fs::fcntl_getfl(stdin) else {
            return Self(None);
        };
        if flags.contains(rustix::fs::OFlags::NONBLOCK)
            || rustix::fs::fcntl_setfl(stdin, flags | rustix::fs::OFlags::NONBLOCK).is_err()
        {
            return Self(None);
        }
        Self(Some(flags))
    }
}

impl Default for NonBlockingStdin {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NonBlockingStdin {
    fn drop(&mut self) {
        if let Some(flags) = self.0 {
            let _ = rustix::fs::fcntl_setfl(rustix::stdio::stdin(), flags);
        }
    }
}

/// Waits up to `timeout` for standard input to have something to read, or to hang up.
pub fn wait_for_input(timeout: std::time::Duration) -> Input {
    let mut fds = [libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    }];
    let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid array of one `pollfd` that lives across the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, millis) };
    let revents = fds[0].revents;
    if n < 0 {
        // Interrupted by a signal (a resize, SIGTERM): the caller looks at its flags.
        return Input::Timeout;
    }
    if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Input::HungUp
    } else if revents & libc::POLLIN != 0 {
        Input::Ready
    } else {
        Input::Timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_answers() {
        assert!(!name().is_empty());
        assert!(!user().is_empty());
        let a = random_bytes(8);
        let b = random_bytes(8);
        assert_eq!(a.len(), 8);
        assert_ne!(a, b);
        let clock = clock_state();
        if cfg!(target_os = "linux") {
            assert_eq!(clock.source, "adjtimex");
            assert!(clock.synchronised.is_some());
        }
    }
}
