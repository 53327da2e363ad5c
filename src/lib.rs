//! custody: walks an on-call engineer through an incident-response runbook and keeps a
//! tamper-evident record of everything done.
//!
//! The library holds everything but the terminal: [`runbook`] (the TOML language, loading and
//! checks), [`journal`] (events, their hash chain, the writer, the reader, session folders,
//! verification and signing), [`session`] (state as a fold over the journal, and the actions
//! that append to it), [`host`] (host name, user, time zone and the kernel's clock state) and
//! [`sanitize`] (making outside text safe to show). The binary (`src/main.rs`) parses the command
//! line and maps errors to exit codes.

pub mod evidence;
pub mod host;
pub mod journal;
pub mod report;
pub mod runbook;
pub mod sanitize;
pub mod session;
pub mod tui;
