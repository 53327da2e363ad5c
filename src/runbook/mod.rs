//! Runbooks: the TOML language security teams write, its loading and its checks.
//!
//! `Runbook::parse` reads a runbook's text and returns either the checked [`Runbook`] or every
//! problem found, each located at a line and column ([`Diagnostic`]). The steps of loading:
//! `reader` walks the TOML tree key by key, `parse` builds the model and notes every reference,
//! `validate` resolves the references and checks the step graph and the commands.

pub mod bundled;
pub mod command;
pub mod diagnostic;
pub mod duration;
pub mod jurisdiction;
mod model;
mod parse;
mod reader;
pub mod template;
mod validate;

pub use diagnostic::{Diagnostic, Location, Severity, Source as SourceText};
pub use model::*;

/// Variables every session has, without declaring them.
pub const BUILT_IN_VARIABLES: [&str; 7] = [
    "case_id",
    "operator",
    "witness",
    "host",
    "jurisdiction",
    "session_dir",
    "evidence_dir",
];

/// The outcome of reading a runbook: the runbook when it has no errors, and every problem.
#[derive(Debug, Clone)]
pub struct Checked {
    pub runbook: Option<Runbook>,
    /// Errors and warnings, in the order they appear in the file.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

impl Runbook {
    /// Reads and checks a runbook's text.
    pub fn parse(text: &str) -> Checked {
        let mut problems = reader::Problems::default();
        let draft = parse::read(text, &mut problems);
        let runbook = draft.map(|draft| validate::validate(draft, text, &mut problems));
        let mut diagnostics = problems.list;
        diagnostics.sort_by_key(|d| (d.span.start, d.severity));
        diagnostics.dedup();
        let has_errors = diagnostics.iter().any(Diagnostic::is_error);
        Checked {
            runbook: runbook.filter(|_| !has_errors),
            diagnostics,
        }
    }
}

/// The outcome of reading a scenario against its runbook.
#[derive(Debug, Clone)]
pub struct CheckedScenario {
    pub scenario: Option<Scenario>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckedScenario {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Whether a TOML text is a scenario file (it has a `[scenario]` table) rather than a runbook.
pub fn is_scenario(text: &str) -> bool {
    toml::de::DeTable::parse(text).is_ok_and(|doc| {
        doc.get_ref()
            .get("scenario")
            .is_some_and(|v| v.get_ref().is_table())
    })
}

impl Scenario {
    /// The id of the runbook a scenario names in `[scenario] runbook`, if it can be read.
    pub fn runbook_of(text: &str) -> Option<String> {
        let doc = toml::de::DeTable::parse(text).ok()?;
        let head = doc.get_ref().get("scenario")?;
        let id = head.get_ref().as_table()?.get("runbook")?;
        id.get_ref().as_str().map(str::to_owned)
    }

    /// Reads a scenario and checks it against the runbook it exercises, or, when that runbook
    /// could not be had, reports why at the scenario's `runbook` key.
    pub fn parse(text: &str, runbook: Result<&Runbook, String>) -> CheckedScenario {
        let mut problems = reader::Problems::default();
        let scenario = parse::read_scenario(text, &mut problems)
            .map(|draft| validate::validate_scenario(draft, text, runbook, &mut problems));
        let mut diagnostics = problems.list;
        diagnostics.sort_by_key(|d| (d.span.start, d.severity));
        diagnostics.dedup();
        let has_errors = diagnostics.iter().any(Diagnostic::is_error);
        CheckedScenario {
            scenario: scenario.filter(|_| !has_errors),
            diagnostics,
        }
    }
}
