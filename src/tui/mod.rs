//! The terminal interface: a picker, a start form and the walk through a runbook.
//!
//! Three parts, kept apart: [`app`] holds the state and maps keys to actions (every change of
//! the session goes through [`crate::session::Session::apply`], so the journal is written before
//! the screen shows anything as done); [`view`] draws that state and nothing else; this module
//! runs the loop that joins them to the terminal. [`exercise`] adds what only exercises have:
//! the briefing, injects and the facilitator's clock. [`form`], [`input`] and [`markdown`] are
//! the pieces the view and the app share; [`theme`] decides colours and symbols from the
//! environment (`NO_COLOR`, the locale).
//!
//! The loop is synchronous: it draws, waits up to a quarter of a second for a key (so that the
//! clocks and countdowns move), and lets the app record deadlines that ran out. It waits with
//! `poll(2)` itself, so that a terminal that hangs up ends the loop (paused, with the reason)
//! even when no SIGHUP arrives. SIGTERM, SIGHUP
//! (an SSH connection dropped) and SIGINT end it cleanly: the session is paused with the signal
//! as the reason and the terminal is restored.

pub mod app;
pub mod describe;
pub mod exercise;
pub mod form;
pub mod input;
pub mod job;
pub mod markdown;
pub mod theme;
pub mod view;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::{
    event::{DisableBracketedPaste, EnableBracketedPaste},
    execute,
};

pub use app::{App, Given, Offer};
pub use theme::Theme;

use crate::session::Clock;

/// How often the screen is redrawn when nothing happens, for the clocks.
const TICK: Duration = Duration::from_millis(250);

/// Signals that end the program cleanly, with the names the journal gives them.
const SIGNALS: [(i32, &str); 3] = [
    (signal_hook::consts::SIGTERM, "SIGTERM"),
    (
        signal_hook::consts::SIGHUP,
        "SIGHUP (the terminal was closed)",
    ),
    (signal_hook::consts::SIGINT, "SIGINT"),
];

/// Flags set by the signal handlers.
struct Signals(Vec<(Arc<AtomicBool>, &'static str)>);

impl Signals {
    fn register() -> io::Result<Self> {
        let mut flags = Vec::new();
        for (signal, name) in SIGNALS {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(signal, Arc::clone(&flag))?;
            flags.push((flag, name));
        }
        Ok(Self(flags))
    }

    fn take(&self) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(flag, _)| flag.swap(false, Ordering::SeqCst))
            .map(|(_, name)| *name)
    }
}

/// Runs the application on the terminal until it is done; returns the message to print once
/// the terminal is restored.
pub fn run<C: Clock + Clone>(mut app: App<C>) -> io::Result<String> {
    let signals = Signals::register()?;
    // `try_init` rather than `ratatui::run`, so that a missing terminal is an error to report,
    // not a panic. It installs the panic hook that restores the terminal.
    let mut terminal = ratatui::try_init()?;
    let nonblocking = crate::host::NonBlockingStdin::new();
    let _ = execute!(io::stdout(), EnableBracketedPaste);
    let result = event_loop(&mut terminal, &mut app, &signals);
    if let Err(e) = &result {
        // The terminal failed (it may be gone): pause the session with the reason, first.
        app.on_signal(&format!("a terminal error ({e})"));
    }
    let _ = execute!(io::stdout(), DisableBracketedPaste);
    drop(nonblocking);
    let _ = ratatui::try_restore();
    // Restoring a terminal that is gone fails; ratatui would then report it on standard error,
    // which is gone too, and that would abort the program. Such a terminal is let go instead.
    if matches!(result, Ok(true) | Err(_)) || terminal.show_cursor().is_err() {
        std::mem::forget(terminal);
    }
    result.map(|_| app.done.unwrap_or_default())
}

/// Runs until the app is done; true if the terminal hung up.
fn event_loop<C: Clock + Clone>(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App<C>,
    signals: &Signals,
) -> io::Result<bool> {
    loop {
        if let Some(name) = signals.take() {
            app.on_signal(name);
        }
        if app.done.is_some() {
            return Ok(false);
        }
        terminal.draw(|frame| view::render(app, frame))?;
        // Wait for input here rather than in crossterm, which reads a terminal that hung up in
        // an endless loop; then take every event crossterm has, without waiting.
        if crate::host::wait_for_input(TICK) == crate::host::Input::HungUp {
            app.on_signal("a hang-up (the terminal was closed)");
            return Ok(true);
        }
        // crossterm's poll returns at once only with a timeout above zero.
        while app.done.is_none() && event::poll(Duration::from_millis(1))? {
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => app.on_key(key),
                Event::Paste(text) => app.on_paste(&text),
                // A size that went and came back before a frame was drawn (100x40, 1x1,
                // 100x40) looks unchanged to ratatui, which would then draw nothing: the next
                // frame is drawn whole.
                Event::Resize(..) => terminal.clear()?,
                _ => {}
            }
        }
        app.on_tick();
    }
}
