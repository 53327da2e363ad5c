//! The runbook as the rest of custody sees it: plain data, already checked. It is built only by
//! the loader (`Runbook::parse`), so every reference in it (next steps, sources, variables,
//! deadlines) is known to resolve.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::command::CommandLine;
use super::template::Template;

/// The version of the runbook format this build reads.
pub const FORMAT_VERSION: i64 = 1;

/// A checked runbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    pub version: String,
    pub language: String,
    pub summary: String,
    pub authors: Vec<String>,
    /// When the legal content was last reviewed, as written (a TOML date).
    pub reviewed: Option<String>,
    /// The id of the runbook this one translates, if any.
    pub translation_of: Option<String>,
    /// The id of the first step.
    pub start: String,
    pub sources: Vec<Source>,
    pub variables: BTreeMap<String, Variable>,
    pub jurisdictions: BTreeMap<String, Jurisdiction>,
    pub deadlines: Vec<Deadline>,
    pub injects: Vec<Inject>,
    /// Points an exercise review measures the time to.
    pub milestones: Vec<Milestone>,
    /// The choice expected at a decision in an exercise: marked in the runbook with
    /// `expected = true`, or given by a scenario.
    pub expected: Vec<Expected>,
    pub steps: Vec<Step>,
}

impl Runbook {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|source| source.id == id)
    }

    /// The choice expected at a decision step, if the runbook or its scenario names one.
    pub fn expected_at(&self, step: &str) -> Option<&Expected> {
        self.expected.iter().find(|e| e.step == step)
    }
}

/// A document a runbook relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    pub note: Option<String>,
}

/// A value asked for at the start of a session, or recorded by a field that `sets` it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    pub label: String,
    pub default: Option<String>,
    /// The value names evidence: commands may never read it.
    pub evidence: bool,
}

/// A country (or `EU`, `OTHER`) with its reporting channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jurisdiction {
    pub name: String,
    pub emergency: Option<String>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
    pub contacts: Vec<Contact>,
}

impl Jurisdiction {
    pub fn contacts_with_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a Contact> {
        self.contacts.iter().filter(move |c| c.role == role)
    }
}

/// One reporting or notification channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub role: String,
    pub name: String,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// Where a deadline is counted from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The start of the session.
    Start,
    /// The completion of a step.
    Step(String),
}

/// A time limit: something must happen (`met_by`), or a period must be respected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub id: String,
    pub label: String,
    #[serde(with = "duration_secs")]
    pub within: Duration,
    pub from: Anchor,
    /// Completing any of these steps meets the deadline; empty for a period such as a legal
    /// preservation time.
    pub met_by: Vec<String>,
    /// How long before it is due a warning is shown.
    #[serde(with = "duration_secs")]
    pub warn: Duration,
    /// The jurisdictions it applies in; empty for all.
    pub jurisdictions: Vec<String>,
    pub sources: Vec<String>,
}

impl Deadline {
    pub fn applies_in(&self, jurisdiction: &str) -> bool {
        self.jurisdictions.is_empty() || self.jurisdictions.iter().any(|j| j == jurisdiction)
    }
}

/// An event a facilitator releases during an exercise, or that fires by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inject {
    pub id: String,
    pub title: Template,
    pub body: Option<Template>,
    /// Fires when this step starts.
    pub at: Option<String>,
    /// Fires this long after the start (or after `at`, when both are given).
    #[serde(with = "option_duration_secs")]
    pub after: Option<Duration>,
    pub prompt: Option<Template>,
    /// What a good answer covers: for the facilitator and the review, never shown to the
    /// participants while the exercise runs.
    pub expect: Option<Template>,
    pub sources: Vec<String>,
}

/// A point of the runbook an exercise review measures the time to: reached when any of its
/// steps is first completed, with an optional target time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Milestone {
    pub id: String,
    pub label: String,
    pub reached_by: Vec<String>,
    #[serde(with = "option_duration_secs")]
    pub within: Option<Duration>,
    pub from: Anchor,
}

/// The choice an exercise expects at a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expected {
    pub step: String,
    pub choice: String,
    /// Why, for the review.
    pub why: Option<String>,
}

/// An exercise scenario: the story and the script for exercising one runbook, kept in its own
/// file (`runbooks/exercises/*.toml`) so that a runbook can be rehearsed in several ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub version: String,
    pub language: String,
    pub summary: String,
    pub authors: Vec<String>,
    /// The id of the runbook it exercises.
    pub runbook: String,
    /// The story read to the participants at the start.
    pub briefing: Option<String>,
    /// The jurisdiction the story takes place in, offered when the exercise starts.
    pub jurisdiction: Option<String>,
    /// Whether the runbook's own injects run too.
    pub runbook_injects: bool,
    pub injects: Vec<Inject>,
    pub milestones: Vec<Milestone>,
    pub expected: Vec<Expected>,
}

impl Scenario {
    /// The runbook as this scenario exercises it: its injects (with or without the runbook's
    /// own), the milestones of both, and the scenario's expected choices over the runbook's.
    pub fn apply_to(&self, runbook: &Runbook) -> Runbook {
        let mut merged = runbook.clone();
        if !self.runbook_injects {
            merged.injects.clear();
        }
        merged.injects.extend(self.injects.iter().cloned());
        merged.milestones.extend(self.milestones.iter().cloned());
        for expected in &self.expected {
            merged.expected.retain(|e| e.step != expected.step);
            merged.expected.push(expected.clone());
        }
        merged
    }
}

/// One step of a runbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: String,
    pub title: Template,
    pub body: Option<Template>,
    pub sources: Vec<String>,
    pub kind: StepKind,
}

impl Step {
    /// The steps that can come right after this one.
    pub fn successors(&self) -> Vec<&str> {
        match &self.kind {
            StepKind::Decision { choices } => choices.iter().map(|c| c.next.as_str()).collect(),
            StepKind::End { .. } => Vec::new(),
            StepKind::Instruction { next }
            | StepKind::Checklist { next, .. }
            | StepKind::Record { next, .. }
            | StepKind::Evidence { next, .. }
            | StepKind::Command { next, .. }
            | StepKind::Contact { next, .. }
            | StepKind::Transfer { next } => vec![next.as_str()],
        }
    }

    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

/// What a step asks of the operator, with what belongs to that kind only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Read and confirm.
    Instruction { next: String },
    /// Confirm each item.
    Checklist { items: Vec<Template>, next: String },
    /// Pick one choice and give a reason.
    Decision { choices: Vec<Choice> },
    /// Fill in typed fields.
    Record { fields: Vec<Field>, next: String },
    /// Hash files and folders, never opening them for display.
    Evidence {
        paths: Vec<Template>,
        hashes: Vec<HashAlgorithm>,
        follow_symlinks: bool,
        next: String,
    },
    /// Run a command after confirmation; its output is kept as evidence.
    Command {
        run: CommandLine,
        #[serde(with = "duration_secs")]
        timeout: Duration,
        changes_system: bool,
        next: String,
    },
    /// Make a report or tell someone; recorded with channel, time, reference and person.
    Contact {
        role: Option<String>,
        to: Option<Template>,
        purpose: Purpose,
        next: String,
    },
    /// Hand evidence over: items, from, to, when and where they are now.
    Transfer { next: String },
    /// The end of the runbook.
    End { outcome: Option<Template> },
}

impl StepKind {
    pub const NAMES: [&'static str; 9] = [
        "instruction",
        "checklist",
        "decision",
        "record",
        "evidence",
        "command",
        "contact",
        "transfer",
        "end",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Instruction { .. } => "instruction",
            StepKind::Checklist { .. } => "checklist",
            StepKind::Decision { .. } => "decision",
            StepKind::Record { .. } => "record",
            StepKind::Evidence { .. } => "evidence",
            StepKind::Command { .. } => "command",
            StepKind::Contact { .. } => "contact",
            StepKind::Transfer { .. } => "transfer",
            StepKind::End { .. } => "end",
        }
    }
}

/// One way out of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub id: String,
    pub label: Template,
    pub next: String,
}

/// One typed value a record step asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub id: String,
    pub label: Template,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub required: bool,
    pub help: Option<Template>,
    /// The variable that receives the value.
    pub sets: Option<String>,
    /// What the answer tells the report, when it is one of the facts the report states
    /// (how it was found, whether anyone viewed the material ...).
    pub fact: Option<Fact>,
}

/// A fact the report states in its summary and its police section, taken from the record
/// field that the runbook marks with it (`fact = "viewed"`). Each fact may be asked once in a
/// runbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// How the matter came to light (alert, notice, police, complaint, chance).
    HowFound,
    /// When it was found or first reported.
    FoundAt,
    /// Who found it or reported it.
    FoundBy,
    /// The system holding it: host name, addresses, asset tag.
    System,
    /// Where on that system: a path, bucket or mailbox, as listed.
    Location,
    /// The account or customer that owns it, as listed.
    Owner,
    /// Whether it can be reached from the public internet.
    Public,
    /// Whether anyone viewed the material (a `yesno` field).
    Viewed,
    /// Who viewed it, when and how.
    ViewedDetails,
    /// Whether anything was deleted, moved or changed since it was found (a `yesno` field).
    Changed,
    /// What was changed, when and by whom.
    ChangedDetails,
}

impl Fact {
    pub const NAMES: [&'static str; 11] = [
        "how_found",
        "found_at",
        "found_by",
        "system",
        "location",
        "owner",
        "public",
        "viewed",
        "viewed_details",
        "changed",
        "changed_details",
    ];

    pub const ALL: [Fact; 11] = [
        Fact::HowFound,
        Fact::FoundAt,
        Fact::FoundBy,
        Fact::System,
        Fact::Location,
        Fact::Owner,
        Fact::Public,
        Fact::Viewed,
        Fact::ViewedDetails,
        Fact::Changed,
        Fact::ChangedDetails,
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// Whether the fact is a yes-or-no answer (its field must be of type `yesno`).
    pub fn is_yes_no(self) -> bool {
        matches!(self, Fact::Viewed | Fact::Changed)
    }
}

/// The type of a record field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Multiline,
    Datetime,
    Choice { options: Vec<String> },
    Reference,
    Number,
    Yesno,
}

impl FieldKind {
    pub const NAMES: [&'static str; 7] = [
        "text",
        "multiline",
        "datetime",
        "choice",
        "reference",
        "number",
        "yesno",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Multiline => "multiline",
            FieldKind::Datetime => "datetime",
            FieldKind::Choice { .. } => "choice",
            FieldKind::Reference => "reference",
            FieldKind::Number => "number",
            FieldKind::Yesno => "yesno",
        }
    }
}

/// Hash functions an evidence step can ask for; SHA-256 is always computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    Sha256,
    Sha1,
    Md5,
}

impl HashAlgorithm {
    pub const NAMES: [&'static str; 3] = ["sha256", "sha1", "md5"];

    /// The name a runbook and the journal use: `sha256`, `sha1`, `md5`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha1 => "sha1",
            Self::Md5 => "md5",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha1" => Some(Self::Sha1),
            "md5" => Some(Self::Md5),
            _ => None,
        }
    }
}

/// Why a contact is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An official report (police, hotline), with a reference number.
    Report,
    /// Telling someone (management, counsel); goes into the disclosure register.
    Inform,
}

mod duration_secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

mod option_duration_secs {
    use std::time::Duration;

    #[allow(clippy::ref_option)]
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }
}
