//! Values for the journal's unit tests.

use std::collections::BTreeMap;

use super::event::{ClockState, Mode, RunbookRef, SessionStarted, Tool};
use super::hash::Digest;

pub fn started() -> SessionStarted {
    SessionStarted {
        format: super::event::JOURNAL_FORMAT,
        session: "20261123T091502Z-test-0000".into(),
        tool: Tool::this(),
        runbook: RunbookRef {
            id: "test".into(),
            version: "1".into(),
            title: "Test".into(),
            language: "en".into(),
            file: "runbook.toml".into(),
            sha256: Digest::of(b""),
        },
        host: "host".into(),
        operator: "A. Jansen".into(),
        witness: None,
        facilitator: None,
        case_id: "CASE-1".into(),
        jurisdiction: "NL".into(),
        mode: Mode::Exercise,
        timezone: None,
        clock: ClockState::unknown(),
        variables: BTreeMap::new(),
        scenario: None,
        participants: Vec::new(),
    }
}
