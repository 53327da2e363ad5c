//! From TOML text to a runbook draft: every key read, typed and located, every reference to a
//! step, source or variable noted with its span for `validate` to resolve.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::de::DeTable;

use super::command::{self, CommandLine};
use super::diagnostic::Diagnostic;
use super::duration;
use super::model::{
    Anchor, Choice, Contact, Deadline, Expected, FORMAT_VERSION, Fact, Field, FieldKind,
    HashAlgorithm, Inject, Jurisdiction, Milestone, Purpose, Runbook, Scenario, Source, Step,
    StepKind, Variable,
};
use super::reader::{Help, Problems, Span, Table};
use super::template::{Template, is_variable_name};

/// What a name in the runbook refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Step,
    Source,
    Variable,
    /// A variable that a record field fills in.
    SetVariable,
    ContactRole,
    Jurisdiction,
}

/// A use of a name, to be resolved once everything is read.
#[derive(Debug, Clone)]
pub struct Reference {
    pub kind: RefKind,
    pub name: String,
    pub span: Span,
    /// Where the use stands, for messages: "`next` of step `stop`".
    pub context: String,
}

/// A command as written, with the spans of its arguments, for the command checks.
#[derive(Debug, Clone)]
pub struct CommandSpans {
    pub step: usize,
    pub arguments: Vec<Span>,
}

/// Spans and references kept beside the model for validation.
#[derive(Debug, Default)]
pub struct Index {
    pub step_ids: Vec<Span>,
    pub step_titles: Vec<Span>,
    pub source_ids: Vec<Span>,
    pub deadline_ids: Vec<Span>,
    pub inject_ids: Vec<Span>,
    pub milestone_ids: Vec<Span>,
    pub variables: BTreeMap<String, Span>,
    pub jurisdictions: BTreeMap<String, Span>,
    /// Choice and field ids per step, for duplicate checks.
    pub inner_ids: Vec<(String, Span, String)>,
    /// The `fact` of each record field, with the span of its value and the field it is on
    /// ("field `viewed` of step `record`"), for the check that each fact is given once.
    pub facts: Vec<(Fact, Span, String)>,
    pub references: Vec<Reference>,
    pub commands: Vec<CommandSpans>,
    pub runbook_table: Span,
    /// False when a step has no id or no way on, so the graph cannot be checked.
    pub structure_complete: bool,
}

/// A runbook as read, possibly with holes where there were errors.
#[derive(Debug)]
pub struct Draft {
    pub runbook: Runbook,
    pub index: Index,
}

/// Reads the whole document. Problems go to `problems`; the draft is always returned so that
/// later checks can report more problems in the same run.
pub fn read(text: &str, problems: &mut Problems) -> Option<Draft> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // The tree after a syntax error is a guess; checking it would report phantom problems.
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().trim().to_owned();
            problems.list.push(
                Diagnostic::error(span, format!("TOML syntax: {message}"))
                    .with_help("see https://toml.io for the syntax of strings, tables and arrays"),
            );
        }
        return None;
    }
    let mut reader = Builder {
        text,
        problems,
        index: Index {
            structure_complete: true,
            ..Index::default()
        },
        current_step: None,
        expected: Vec::new(),
    };
    let mut root = Table::new(document.get_ref(), 0..0, "the runbook file");
    let runbook = reader.document(&mut root);
    root.finish(reader.problems, |key| match key {
        "id" | "title" | "version" | "language" | "summary" | "format" => Some(format!(
            "`{key}` belongs in the `[runbook]` table at the top of the file"
        )),
        "step" => Some("steps are written `[[steps]]`".into()),
        _ => None,
    });
    Some(Draft {
        runbook,
        index: reader.index,
    })
}

struct Builder<'t, 'p> {
    text: &'t str,
    problems: &'p mut Problems,
    index: Index,
    /// The id of the step being read, for what its choices mark.
    current_step: Option<String>,
    /// Choices marked `expected = true`.
    expected: Vec<Expected>,
}

/// Identifier rules: step, source, deadline, choice and field ids.
fn is_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Runbook ids may also hold dots, for translations (`csam-discovery.nl`).
fn is_runbook_id(id: &str) -> bool {
    is_id(&id.replace('.', "-")) && !id.ends_with('.') && !id.contains("..")
}

/// `en`, `nl`, `fr-BE`, `pt-BR`: a BCP 47 language tag, loosely.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// "a" or "an" before a step kind's name.
pub(super) fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn kind_of_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "items" => "checklist",
        "choices" => "decision",
        "fields" => "record",
        "paths" | "hashes" | "follow_symlinks" => "evidence",
        "run" | "timeout" | "changes_system" => "command",
        "role" | "to" | "purpose" => "contact",
        "outcome" => "end",
        _ => return None,
    })
}

impl Builder<'_, '_> {
    fn reference(&mut self, kind: RefKind, name: &str, span: Span, context: impl Into<String>) {
        self.index.references.push(Reference {
            kind,
            name: name.to_owned(),
            span,
            context: context.into(),
        });
    }

    /// Parses a template, noting its variables as references and its oddities as warnings.
    fn template(&mut self, text: &str, span: &Span, context: &str) -> Template {
        let (template, oddities) = Template::parse(text);
        for name in template.variables().collect::<Vec<_>>() {
            let at = self.find_in(span, &format!("{{{{{name}}}}}"));
            self.reference(RefKind::Variable, name, at, context);
        }
        for oddity in oddities {
            let piece = &text[oddity.range.clone()];
            let at = self.find_in(span, piece);
            self.problems.warning(at, oddity.message);
        }
        template
    }

    /// The span of `needle` inside the value at `span`, or the whole value when it is not found
    /// verbatim (escapes in the source make offsets differ).
    fn find_in(&self, span: &Span, needle: &str) -> Span {
        self.text
            .get(span.clone())
            .and_then(|source| source.find(needle))
            .map_or(span.clone(), |at| {
                span.start + at..span.start + at + needle.len()
            })
    }

    fn optional_template(&mut self, table: &mut Table, key: &'static str) -> Option<Template> {
        let (text, span) = table.string(self.problems, key)?;
        let context = format!("`{key}` of {}", table.what);
        Some(self.template(&text, &span, &context))
    }

    fn required_template(&mut self, table: &mut Table, key: &'static str) -> Option<Template> {
        let (text, span) = table.required_string(self.problems, key)?;
        let context = format!("`{key}` of {}", table.what);
        Some(self.template(&text, &span, &context))
    }

    fn duration(&mut self, table: &mut Table, key: &'static str) -> Option<(Duration, Span)> {
        let (text, span) = table.string(self.problems, key)?;
        match duration::parse(&text) {
            Ok(d) => Some((d, span)),
            Err(message) => {
                self.problems
                    .error(
                        span,
                        format!("bad duration in `{key}` of {}: {message}", table.what),
                    )
                    .help(
                        "a duration is whole numbers with units s, m, h, d or w (seconds, \
                         minutes, hours, days, weeks), such as `90s`, `30m`, `1h30m`, `24h`, \
                         `21d` or `2w`",
                    );
                None
            }
        }
    }

    fn id(&mut self, table: &mut Table, what: &str) -> Option<(String, Span)> {
        let (id, span) = table.required_string(self.problems, "id")?;
        if !is_id(&id) {
            self.problems
                .error(span.clone(), format!("{what} id `{id}` is not a valid id"))
                .help("ids are lower case letters, digits, `-` and `_`, starting with a letter or digit");
        }
        Some((id, span))
    }

    fn source_refs(&mut self, table: &mut Table) -> Vec<String> {
        let context = format!("`sources` of {}", table.what);
        let list = table.strings(self.problems, "sources").unwrap_or_default();
        for (name, span) in &list {
            self.reference(RefKind::Source, name, span.clone(), &context);
        }
        list.into_iter().map(|(name, _)| name).collect()
    }

    fn step_ref(&mut self, name: &str, span: Span, context: String) {
        self.reference(RefKind::Step, name, span, context);
    }

    fn document(&mut self, root: &mut Table) -> Runbook {
        let mut runbook = Runbook {
            id: String::new(),
            title: String::new(),
            version: String::new(),
            language: String::new(),
            summary: String::new(),
            authors: Vec::new(),
            reviewed: None,
            translation_of: None,
            start: String::new(),
            sources: Vec::new(),
            variables: BTreeMap::new(),
            jurisdictions: BTreeMap::new(),
            deadlines: Vec::new(),
            injects: Vec::new(),
            milestones: Vec::new(),
            expected: Vec::new(),
            steps: Vec::new(),
        };
        let mut start = None;
        if let Some(mut head) = root.table(self.problems, "runbook", "[runbook]") {
            self.index.runbook_table = head.span.clone();
            start = self.head(&mut head, &mut runbook);
            head.finish(self.problems, |_| None);
        } else if !root.contains("runbook") {
            self.problems
                .error(0..0, "missing the `[runbook]` table")
                .help("start the file with `[runbook]` and its id, title, version, language and summary");
        }
        self.sources(root, &mut runbook);
        self.variables(root, &mut runbook);
        self.jurisdictions(root, &mut runbook);
        self.deadlines(root, &mut runbook);
        self.injects(root, &mut runbook.injects);
        self.milestones(root, &mut runbook.milestones);
        self.steps(root, &mut runbook);
        runbook.expected = std::mem::take(&mut self.expected);
        runbook.start = match start {
            Some((id, span)) => {
                self.step_ref(&id, span, "`start` of [runbook]".into());
                id
            }
            None => runbook
                .steps
                .first()
                .map(|s| s.id.clone())
                .unwrap_or_default(),
        };
        runbook
    }

    fn head(&mut self, head: &mut Table, runbook: &mut Runbook) -> Option<(String, Span)> {
        let problems = &mut *self.problems;
        match head.integer(problems, "format") {
            Some((FORMAT_VERSION, _)) => {}
            Some((other, span)) if other > FORMAT_VERSION => {
                problems
                    .error(span, format!("runbook format {other} is newer than this custody reads ({FORMAT_VERSION})"))
                    .help("update custody to check this runbook");
            }
            Some((other, span)) => {
                problems.error(
                    span,
                    format!(
                        "unknown runbook format {other}; this custody reads format {FORMAT_VERSION}"
                    ),
                );
            }
            None if !head.contains("format") => {
                problems
                    .error(head.span.clone(), "missing `format` in [runbook]")
                    .help(format!("add `format = {FORMAT_VERSION}`"));
            }
            None => {}
        }
        if let Some((id, span)) = head.required_string(problems, "id") {
            if !is_runbook_id(&id) {
                problems
                    .error(span, format!("runbook id `{id}` is not a valid id"))
                    .help(
                        "use lower case letters, digits, `-` and `.`, such as `csam-discovery.nl`",
                    );
            }
            runbook.id = id;
        }
        if let Some((title, span)) = head.required_string(problems, "title") {
            if title.chars().count() > 70 {
                problems
                    .warning(span, "the title is longer than 70 characters and will be cut on an 80-column screen")
                    .help("shorten it; put the detail in `summary`");
            }
            runbook.title = title;
        }
        if let Some((version, span)) = head.required_string(problems, "version") {
            let parts: Vec<&str> = version.split(['.', '-', '+']).collect();
            if parts.len() < 2 || parts[..2].iter().any(|p| p.parse::<u64>().is_err()) {
                problems
                    .warning(
                        span,
                        format!("version `{version}` does not look like `MAJOR.MINOR.PATCH`"),
                    )
                    .help("a semantic version (1.0.0) tells reviewers what changed");
            }
            runbook.version = version;
        }
        if let Some((language, span)) = head.required_string(problems, "language") {
            if !is_language_tag(&language) {
                problems
                    .error(span, format!("`{language}` is not a language tag"))
                    .help("use a lower-case language code such as `en`, `nl` or `fr`, optionally with a region (`fr-BE`)");
            }
            runbook.language = language;
        }
        if let Some((summary, _)) = head.required_string(problems, "summary") {
            summary.trim().clone_into(&mut runbook.summary);
        }
        if let Some(authors) = head.strings(problems, "authors") {
            runbook.authors = authors.into_iter().map(|(a, _)| a).collect();
        }
        runbook.reviewed = head.date(problems, "reviewed");
        if let Some((of, span)) = head.string(problems, "translation_of") {
            if !is_runbook_id(&of) {
                problems.error(span, format!("`{of}` is not a valid runbook id"));
            }
            runbook.translation_of = Some(of);
        }
        head.string(problems, "start")
    }

    fn sources(&mut self, root: &mut Table, runbook: &mut Runbook) {
        for (table, span) in root.tables(self.problems, "sources").unwrap_or_default() {
            let mut t = Table::new(table, span, "a source");
            let id = self.id(&mut t, "source");
            if let Some((id, _)) = &id {
                t.what = format!("source `{id}`");
            }
            let title = t.required_string(self.problems, "title");
            let url = self.url(&mut t);
            let note = t.string(self.problems, "note").map(|(n, _)| n);
            t.finish(self.problems, |_| None);
            if let (Some((id, id_span)), Some((title, _))) = (id, title) {
                self.index.source_ids.push(id_span);
                runbook.sources.push(Source {
                    id,
                    title,
                    url,
                    note,
                });
            }
        }
    }

    fn url(&mut self, table: &mut Table) -> Option<String> {
        let (url, span) = table.string(self.problems, "url")?;
        if url.starts_with("http://") {
            self.problems
                .warning(span, "the address uses http, not https")
                .help("use the https address so that readers reach the real page");
        } else if !url.starts_with("https://") {
            self.problems
                .error(span, format!("`{url}` is not a web address"))
                .help("write the full address, starting with https://");
        }
        Some(url)
    }

    fn variables(&mut self, root: &mut Table, runbook: &mut Runbook) {
        let Some(variables) = root.table(self.problems, "variables", "[variables]") else {
            return;
        };
        for (name, key_span, value) in variables.entries() {
            if !is_variable_name(name) {
                self.problems
                    .error(key_span.clone(), format!("`{name}` is not a valid variable name"))
                    .help("variable names are lower case letters, digits and `_`, such as `evidence_path`");
            } else if super::BUILT_IN_VARIABLES.contains(&name) {
                self.problems
                    .error(
                        key_span.clone(),
                        format!("`{name}` is built in and cannot be declared"),
                    )
                    .help(format!(
                        "use {{{{{name}}}}} directly; the built-in variables are: {}",
                        super::BUILT_IN_VARIABLES.join(", ")
                    ));
            }
            let Some(table) = value.get_ref().as_table() else {
                self.problems
                    .error(value.span(), format!("variable `{name}` must be a table"))
                    .help(format!("write `[variables.{name}]` with a `label`"));
                continue;
            };
            let mut t = Table::new(table, key_span.clone(), format!("variable `{name}`"));
            let label = t.required_string(self.problems, "label");
            let default = t.string(self.problems, "default").map(|(d, _)| d);
            let evidence = t.boolean(self.problems, "evidence").unwrap_or(false);
            t.finish(self.problems, |_| None);
            self.index.variables.insert(name.to_owned(), key_span);
            if let Some((label, _)) = label {
                runbook.variables.insert(
                    name.to_owned(),
                    Variable {
                        label,
                        default,
                        evidence,
                    },
                );
            }
        }
    }

    fn jurisdictions(&mut self, root: &mut Table, runbook: &mut Runbook) {
        let Some(jurisdictions) = root.table(self.problems, "jurisdictions", "[jurisdictions]")
        else {
            return;
        };
        for (code, key_span, value) in jurisdictions.entries() {
            if !super::jurisdiction::is_known(code) {
                self.problems
                    .error(key_span.clone(), format!("unknown jurisdiction `{code}`"))
                    .help(super::jurisdiction::hint(code));
            }
            let Some(table) = value.get_ref().as_table() else {
                self.problems.error(
                    value.span(),
                    format!("jurisdiction `{code}` must be a table"),
                );
                continue;
            };
            let mut t = Table::new(table, key_span.clone(), format!("jurisdiction `{code}`"));
            let name = t.required_string(self.problems, "name");
            let emergency = t.string(self.problems, "emergency").map(|(e, _)| e);
            let notes = t.string(self.problems, "notes").map(|(n, _)| n);
            let sources = self.source_refs(&mut t);
            let mut contacts = Vec::new();
            for (table, span) in t.tables(self.problems, "contacts").unwrap_or_default() {
                let mut c = Table::new(table, span, format!("a contact of jurisdiction `{code}`"));
                let role = c.required_string(self.problems, "role");
                if let Some((role, span)) = &role
                    && !is_id(role)
                {
                    self.problems
                        .error(
                            span.clone(),
                            format!("contact role `{role}` is not a valid id"),
                        )
                        .help("roles are lower case words such as `police` or `hotline`");
                }
                let contact_name = c.required_string(self.problems, "name");
                let url = self.url(&mut c);
                let phone = c.string(self.problems, "phone").map(|(p, _)| p);
                let notes = c.string(self.problems, "notes").map(|(n, _)| n);
                let sources = self.source_refs(&mut c);
                c.finish(self.problems, |_| None);
                if let (Some((role, _)), Some((name, _))) = (role, contact_name) {
                    contacts.push(Contact {
                        role,
                        name,
                        url,
                        phone,
                        notes,
                        sources,
                    });
                }
            }
            t.finish(self.problems, |_| None);
            self.index.jurisdictions.insert(code.to_owned(), key_span);
            if let Some((name, _)) = name {
                runbook.jurisdictions.insert(
                    code.to_owned(),
                    Jurisdiction {
                        name,
                        emergency,
                        notes,
                        sources,
                        contacts,
                    },
                );
            }
        }
    }

    fn deadlines(&mut self, root: &mut Table, runbook: &mut Runbook) {
        for (table, span) in root.tables(self.problems, "deadlines").unwrap_or_default() {
            let mut t = Table::new(table, span, "a deadline");
            let id = self.id(&mut t, "deadline");
            if let Some((id, _)) = &id {
                t.what = format!("deadline `{id}`");
            }
            let what = t.what.clone();
            let label = t.required_string(self.problems, "label");
            let within = if t.contains("within") {
                self.duration(&mut t, "within")
            } else {
                t.get("within");
                self.problems
                    .error(t.span.clone(), format!("missing `within` in {what}"))
                    .help("add `within = \"1h\"` (units s, m, h, d, w)");
                None
            };
            let from = match t.string(self.problems, "from") {
                None => Anchor::Start,
                Some((from, _)) if from == "start" => Anchor::Start,
                Some((step, span)) => {
                    self.step_ref(&step, span, format!("`from` of {what}"));
                    Anchor::Step(step)
                }
            };
            let met_by = t
                .string_or_strings(self.problems, "met_by")
                .unwrap_or_default();
            for (step, span) in &met_by {
                self.step_ref(step, span.clone(), format!("`met_by` of {what}"));
            }
            let warn = self.duration(&mut t, "warn");
            let jurisdictions = t
                .strings(self.problems, "jurisdictions")
                .unwrap_or_default();
            for (code, span) in &jurisdictions {
                self.reference(
                    RefKind::Jurisdiction,
                    code,
                    span.clone(),
                    format!("`jurisdictions` of {what}"),
                );
            }
            let sources = self.source_refs(&mut t);
            t.finish(self.problems, |_| None);
            let warn = match (warn, &within) {
                (Some((warn, span)), Some((within, _))) if warn >= *within => {
                    self.problems
                        .error(span, format!("`warn` of {what} is not shorter than `within`"))
                        .help("the warning shows this long before the deadline, so it must be shorter");
                    warn
                }
                (Some((warn, _)), _) => warn,
                (None, Some((within, _))) => *within / 4,
                (None, None) => Duration::ZERO,
            };
            if let (Some((id, id_span)), Some((label, _)), Some((within, _))) = (id, label, within)
            {
                self.index.deadline_ids.push(id_span);
                runbook.deadlines.push(Deadline {
                    id,
                    label,
                    within,
                    from,
                    met_by: met_by.into_iter().map(|(s, _)| s).collect(),
                    warn,
                    jurisdictions: jurisdictions.into_iter().map(|(j, _)| j).collect(),
                    sources,
                });
            }
        }
    }

    fn injects(&mut self, root: &mut Table, injects: &mut Vec<Inject>) {
        for (table, span) in root.tables(self.problems, "injects").unwrap_or_default() {
            let mut t = Table::new(table, span, "an inject");
            let id = self.id(&mut t, "inject");
            if let Some((id, _)) = &id {
                t.what = format!("inject `{id}`");
            }
            let what = t.what.clone();
            let title = self.required_template(&mut t, "title");
            let body = self.optional_template(&mut t, "body");
            let at = t.string(self.problems, "at");
            if let Some((step, span)) = &at {
                self.step_ref(step, span.clone(), format!("`at` of {what}"));
            }
            let after = self.duration(&mut t, "after").map(|(d, _)| d);
            let prompt = self.optional_template(&mut t, "prompt");
            let expect = self.optional_template(&mut t, "expect");
            let sources = self.source_refs(&mut t);
            t.finish(self.problems, |key| {
                (key == "expected")
                    .then(|| "an inject's guidance for the review is `expect`".into())
            });
            if let (Some((id, id_span)), Some(title)) = (id, title) {
                self.index.inject_ids.push(id_span);
                injects.push(Inject {
                    id,
                    title,
                    body,
                    at: at.map(|(a, _)| a),
                    after,
                    prompt,
                    expect,
                    sources,
                });
            }
        }
    }

    fn milestones(&mut self, root: &mut Table, milestones: &mut Vec<Milestone>) {
        for (table, span) in root.tables(self.problems, "milestones").unwrap_or_default() {
            let mut t = Table::new(table, span, "a milestone");
            let id = self.id(&mut t, "milestone");
            if let Some((id, _)) = &id {
                t.what = format!("milestone `{id}`");
            }
            let what = t.what.clone();
            let label = t.required_string(self.problems, "label");
            let reached_by = if t.contains("reached_by") {
                let at = t.key_span("reached_by").unwrap_or_else(|| t.span.clone());
                let list = t
                    .string_or_strings(self.problems, "reached_by")
                    .unwrap_or_default();
                if list.is_empty() {
                    self.problems
                        .error(at, format!("`reached_by` of {what} is empty"))
                        .help("name the step (or steps) whose completion reaches it");
                }
                list
            } else {
                t.get("reached_by");
                self.problems
                    .error(t.span.clone(), format!("missing `reached_by` in {what}"))
                    .help("name the step (or steps) whose completion reaches it: `reached_by = [\"report-police\"]`");
                Vec::new()
            };
            for (step, span) in &reached_by {
                self.step_ref(step, span.clone(), format!("`reached_by` of {what}"));
            }
            let within = self.duration(&mut t, "within").map(|(d, _)| d);
            let from = match t.string(self.problems, "from") {
                None => Anchor::Start,
                Some((from, _)) if from == "start" => Anchor::Start,
                Some((step, span)) => {
                    self.step_ref(&step, span, format!("`from` of {what}"));
                    Anchor::Step(step)
                }
            };
            t.finish(self.problems, |key| {
                (key == "met_by")
                    .then(|| "a milestone is reached by the steps in `reached_by`".into())
            });
            if let (Some((id, id_span)), Some((label, _))) = (id, label)
                && !reached_by.is_empty()
            {
                self.index.milestone_ids.push(id_span);
                milestones.push(Milestone {
                    id,
                    label,
                    reached_by: reached_by.into_iter().map(|(s, _)| s).collect(),
                    within,
                    from,
                });
            }
        }
    }

    fn steps(&mut self, root: &mut Table, runbook: &mut Runbook) {
        let tables = root.tables(self.problems, "steps").unwrap_or_default();
        if tables.is_empty() {
            self.problems
                .error(self.index.runbook_table.clone(), "the runbook has no steps")
                .help("add steps with `[[steps]]`, ending with a step of kind \"end\"");
            return;
        }
        // Ids first, so that a step can default to the one after it.
        let ids: Vec<Option<String>> = tables
            .iter()
            .map(|(table, _)| {
                table
                    .get("id")
                    .and_then(|v| v.get_ref().as_str())
                    .map(str::to_owned)
            })
            .collect();
        for (position, (table, span)) in tables.into_iter().enumerate() {
            let following = ids.get(position + 1).cloned().flatten();
            let commands = self.index.commands.len();
            if let Some(step) = self.step(table, span, following) {
                if let Some(command) = self.index.commands.get_mut(commands) {
                    command.step = runbook.steps.len();
                }
                runbook.steps.push(step);
            } else {
                self.index.commands.truncate(commands);
            }
        }
    }

    fn step(&mut self, table: &DeTable, span: Span, following: Option<String>) -> Option<Step> {
        let mut t = Table::new(table, span, "a step");
        let id = self.id(&mut t, "step");
        if let Some((id, _)) = &id {
            t.what = format!("step `{id}`");
        }
        self.current_step = id.as_ref().map(|(id, _)| id.clone());
        let what = t.what.clone();
        let kind_name = t.required_string(self.problems, "kind");
        let title = if let Some((title, span)) = t.required_string(self.problems, "title") {
            if title.chars().count() > 70 {
                self.problems
                    .warning(span.clone(), format!("the title of {what} is longer than 70 characters and will be cut on an 80-column screen"))
                    .help("shorten it and put the detail in `body`");
            }
            self.index.step_titles.push(span.clone());
            Some(self.template(&title, &span, &format!("`title` of {what}")))
        } else {
            None
        };
        let body = self.optional_template(&mut t, "body");
        let sources = self.source_refs(&mut t);
        let next = t.string(self.problems, "next");
        let kind_name_str = kind_name.as_ref().map(|(k, _)| k.as_str());
        let is_branching = matches!(kind_name_str, Some("decision" | "end"));
        let next = match (next, is_branching) {
            (Some((_, span)), true) => {
                let help = if kind_name_str == Some("decision") {
                    "a decision goes on through the `next` of each of its choices"
                } else {
                    "an end step is the last step of its path"
                };
                self.problems
                    .error(
                        span,
                        format!(
                            "{what} cannot have `next`: it is {}",
                            if kind_name_str == Some("end") {
                                "an end step"
                            } else {
                                "a decision step"
                            }
                        ),
                    )
                    .help(help);
                String::new()
            }
            (Some((next, span)), false) => {
                self.step_ref(&next, span, format!("`next` of {what}"));
                next
            }
            (None, true) => String::new(),
            (None, false) => {
                if let Some(following) = following {
                    following
                } else {
                    if kind_name.is_some() {
                        self.problems
                            .error(
                                t.span.clone(),
                                format!(
                                    "{what} is the last step but not an end, and has no `next`"
                                ),
                            )
                            .help("add a step with `kind = \"end\"` after it, or give it a `next`");
                    }
                    self.index.structure_complete = false;
                    String::new()
                }
            }
        };
        let kind = match kind_name {
            Some((name, span)) => self.step_kind(&mut t, &name, span, next.clone()),
            None => None,
        };
        let step_kind = kind.as_ref().map(StepKind::name);
        t.finish(self.problems, |key| {
            let belongs = kind_of_key(key)?;
            Some(match step_kind {
                Some(kind) => {
                    format!(
                        "`{key}` belongs to {belongs} steps, and this one is {} {kind} step",
                        article(kind)
                    )
                }
                None => format!("`{key}` belongs to {belongs} steps"),
            })
        });
        let Some((id, id_span)) = id else {
            self.index.structure_complete = false;
            return None;
        };
        self.index.step_ids.push(id_span);
        Some(Step {
            id,
            title: title.unwrap_or_else(|| Template::literal("")),
            body,
            sources,
            // A kind that could not be read was reported; an instruction keeps the graph checkable.
            kind: kind.unwrap_or(StepKind::Instruction { next }),
        })
    }

    fn step_kind(
        &mut self,
        t: &mut Table,
        name: &str,
        span: Span,
        next: String,
    ) -> Option<StepKind> {
        let what = t.what.clone();
        let kind = match name {
            "instruction" => StepKind::Instruction { next },
            "checklist" => {
                let mut items = Vec::new();
                match t.strings(self.problems, "items") {
                    None if !t.contains("items") => {
                        self.problems
                            .error(t.span.clone(), format!("missing `items` in {what}"))
                            .help("a checklist needs `items = [\"...\", \"...\"]`; for a step without items use kind \"instruction\"");
                    }
                    None => {}
                    Some(list) if list.is_empty() => {
                        let at = t.key_span("items").unwrap_or_else(|| t.span.clone());
                        self.problems
                            .error(at, format!("`items` of {what} is empty"))
                            .help("write the things to confirm, `items = [\"...\", \"...\"]`, or use kind \"instruction\"");
                    }
                    Some(list) => {
                        for (item, span) in list {
                            if item.trim().is_empty() {
                                self.problems
                                    .error(span.clone(), format!("an item of {what} is empty"))
                                    .help("write the item, or remove it");
                            }
                            items.push(self.template(&item, &span, &format!("an item of {what}")));
                        }
                    }
                }
                StepKind::Checklist { items, next }
            }
            "decision" => StepKind::Decision {
                choices: self.choices(t),
            },
            "record" => StepKind::Record {
                fields: self.fields(t),
                next,
            },
            "evidence" => {
                let mut paths = Vec::new();
                for (path, span) in t.strings(self.problems, "paths").unwrap_or_default() {
                    if path.trim().is_empty() {
                        self.problems
                            .error(span.clone(), format!("a path of {what} is empty"))
                            .help("write the path, or remove it");
                    }
                    paths.push(self.template(&path, &span, &format!("a path of {what}")));
                }
                let mut hashes = vec![HashAlgorithm::Sha256];
                for (name, span) in t.strings(self.problems, "hashes").unwrap_or_default() {
                    match HashAlgorithm::from_name(&name) {
                        Some(h) if !hashes.contains(&h) => hashes.push(h),
                        Some(_) => {}
                        None => {
                            self.problems
                                .error(span, format!("unknown hash `{name}` in {what}"))
                                .help(format!("use {}", HashAlgorithm::NAMES.join(", ")));
                        }
                    }
                }
                hashes.sort();
                let follow_symlinks = t.boolean(self.problems, "follow_symlinks").unwrap_or(false);
                StepKind::Evidence {
                    paths,
                    hashes,
                    follow_symlinks,
                    next,
                }
            }
            "command" => {
                let run = self.command_line(t)?;
                let timeout = self
                    .duration(t, "timeout")
                    .map_or(Duration::from_mins(5), |(d, _)| d);
                let changes_system = t.boolean(self.problems, "changes_system").unwrap_or(false);
                StepKind::Command {
                    run,
                    timeout,
                    changes_system,
                    next,
                }
            }
            "contact" => {
                let role = t.string(self.problems, "role");
                if let Some((role, span)) = &role {
                    self.reference(
                        RefKind::ContactRole,
                        role,
                        span.clone(),
                        format!("`role` of {what}"),
                    );
                }
                let to = self.optional_template(t, "to");
                if role.is_none() && to.is_none() {
                    self.problems
                        .error(t.span.clone(), format!("{what} says neither `role` nor `to`"))
                        .help("name a contact role of the jurisdictions (`role = \"police\"`) or who to contact (`to = \"Your line manager\"`)");
                }
                let purpose = match t.string(self.problems, "purpose") {
                    None => Purpose::Inform,
                    Some((p, _)) if p == "inform" => Purpose::Inform,
                    Some((p, _)) if p == "report" => Purpose::Report,
                    Some((p, span)) => {
                        self.problems
                            .error(span, format!("unknown purpose `{p}` in {what}"))
                            .help("use \"report\" (an official report with a reference number) or \"inform\" (telling someone)");
                        Purpose::Inform
                    }
                };
                StepKind::Contact {
                    role: role.map(|(r, _)| r),
                    to,
                    purpose,
                    next,
                }
            }
            "transfer" => StepKind::Transfer { next },
            "end" => StepKind::End {
                outcome: self.optional_template(t, "outcome"),
            },
            other => {
                let diagnostic = self
                    .problems
                    .error(span, format!("unknown step kind `{other}` in {what}"));
                match super::reader::closest(other, &StepKind::NAMES) {
                    Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
                    None => {
                        diagnostic.help(format!("the kinds are: {}", StepKind::NAMES.join(", ")));
                    }
                }
                return None;
            }
        };
        Some(kind)
    }

    fn choices(&mut self, t: &mut Table) -> Vec<Choice> {
        let what = t.what.clone();
        let tables = t.tables(self.problems, "choices").unwrap_or_default();
        if tables.len() < 2 {
            let at = t.key_span("choices").unwrap_or_else(|| t.span.clone());
            let how_many = if tables.is_empty() {
                "no choices"
            } else {
                "only one choice"
            };
            self.problems
                .error(at, format!("{what} is a decision with {how_many}; it needs at least two"))
                .help("add choices with `[[steps.choices]]`, each with an id, a label and a next step");
        }
        let mut choices = Vec::new();
        let mut expected: Option<String> = None;
        for (table, span) in tables {
            let mut c = Table::new(table, span, format!("a choice of {what}"));
            let id = self.id(&mut c, "choice");
            if let Some((id, _)) = &id {
                c.what = format!("choice `{id}` of {what}");
            }
            let choice_what = c.what.clone();
            let label = self.required_template(&mut c, "label");
            let marked = c.key_span("expected");
            if c.boolean(self.problems, "expected") == Some(true)
                && let (Some((id, _)), Some(span)) = (&id, marked)
            {
                if let Some(first) = &expected {
                    self.problems
                        .error(span, format!("{what} already expects choice `{first}`"))
                        .help("mark one choice per decision with `expected = true`");
                } else {
                    expected = Some(id.clone());
                }
            }
            let next = c.required_string(self.problems, "next");
            if let Some((next, span)) = &next {
                self.step_ref(next, span.clone(), format!("`next` of {choice_what}"));
            } else {
                self.index.structure_complete = false;
            }
            c.finish(self.problems, |key| {
                (key == "reason").then(|| {
                    "the operator always gives a reason for a decision; nothing to configure"
                        .to_owned()
                })
            });
            if let (Some((id, id_span)), Some(label), Some((next, _))) = (id, label, next) {
                self.index
                    .inner_ids
                    .push((id.clone(), id_span, format!("choice of {what}")));
                choices.push(Choice { id, label, next });
            }
        }
        if let (Some(choice), Some(step)) = (expected, self.current_step.clone()) {
            self.expected.push(Expected {
                step,
                choice,
                why: None,
            });
        }
        choices
    }

    fn fields(&mut self, t: &mut Table) -> Vec<Field> {
        let what = t.what.clone();
        let tables = t.tables(self.problems, "fields").unwrap_or_default();
        if tables.is_empty() {
            let at = t.key_span("fields").unwrap_or_else(|| t.span.clone());
            self.problems
                .error(at, format!("{what} is a record step without fields"))
                .help("add fields with `[[steps.fields]]`, each with an id, a label and a type");
        }
        let mut fields = Vec::new();
        for (table, span) in tables {
            let mut f = Table::new(table, span, format!("a field of {what}"));
            let id = self.id(&mut f, "field");
            if let Some((id, _)) = &id {
                f.what = format!("field `{id}` of {what}");
            }
            let field_what = f.what.clone();
            let label = self.required_template(&mut f, "label");
            let type_name = f.required_string(self.problems, "type");
            let options = f.strings(self.problems, "options");
            let kind = type_name.and_then(|(name, span)| match name.as_str() {
                "text" => Some(FieldKind::Text),
                "multiline" => Some(FieldKind::Multiline),
                "datetime" => Some(FieldKind::Datetime),
                "reference" => Some(FieldKind::Reference),
                "number" => Some(FieldKind::Number),
                "yesno" => Some(FieldKind::Yesno),
                "choice" => {
                    let list = options.clone().unwrap_or_default();
                    if list.is_empty() {
                        self.problems
                            .error(
                                f.key_span("options").unwrap_or(span),
                                format!("{field_what} is a choice without options"),
                            )
                            .help("add `options = [\"...\", \"...\"]`");
                    }
                    let mut seen: Vec<&str> = Vec::new();
                    for (option, span) in &list {
                        if seen.contains(&option.as_str()) {
                            self.problems.error(
                                span.clone(),
                                format!("option `{option}` appears twice in {field_what}"),
                            );
                        }
                        seen.push(option);
                    }
                    Some(FieldKind::Choice {
                        options: list.into_iter().map(|(o, _)| o).collect(),
                    })
                }
                other => {
                    let diagnostic = self.problems.error(
                        span,
                        format!("unknown field type `{other}` in {field_what}"),
                    );
                    match super::reader::closest(other, &FieldKind::NAMES) {
                        Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
                        None => diagnostic
                            .help(format!("the types are: {}", FieldKind::NAMES.join(", "))),
                    }
                    None
                }
            });
            if options.is_some()
                && kind
                    .as_ref()
                    .is_some_and(|k| !matches!(k, FieldKind::Choice { .. }))
                && let Some(at) = f.key_span("options")
            {
                self.problems
                    .error(at, format!("`options` only belongs to fields of type \"choice\", and {field_what} is not one"));
            }
            let required = f.boolean(self.problems, "required").unwrap_or(true);
            let help = self.optional_template(&mut f, "help");
            let sets = f.string(self.problems, "sets");
            if let Some((var, span)) = &sets {
                self.reference(
                    RefKind::SetVariable,
                    var,
                    span.clone(),
                    format!("`sets` of {field_what}"),
                );
            }
            let fact = self.fact(&mut f, kind.as_ref());
            f.finish(self.problems, |_| None);
            if let (Some((id, id_span)), Some(label), Some(kind)) = (id, label, kind) {
                self.index
                    .inner_ids
                    .push((id.clone(), id_span, format!("field of {what}")));
                fields.push(Field {
                    id,
                    label,
                    kind,
                    required,
                    help,
                    sets: sets.map(|(s, _)| s),
                    fact,
                });
            }
        }
        fields
    }

    /// The `fact` of a record field: a known fact name, and `viewed` or `changed` only on a
    /// `yesno` field. Each fact read is noted in the index for the check that it is given once.
    fn fact(&mut self, f: &mut Table, kind: Option<&FieldKind>) -> Option<Fact> {
        let (name, span) = f.string(self.problems, "fact")?;
        let field_what = f.what.clone();
        let Some(fact) = Fact::from_name(&name) else {
            let diagnostic = self
                .problems
                .error(span, format!("unknown fact `{name}` in {field_what}"));
            match super::reader::closest(&name, &Fact::NAMES) {
                Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
                None => diagnostic.help(format!("the facts are: {}", Fact::NAMES.join(", "))),
            }
            return None;
        };
        if fact.is_yes_no()
            && let Some(kind) = kind
            && *kind != FieldKind::Yesno
        {
            self.problems
                .error(
                    span.clone(),
                    format!(
                        "`fact = \"{name}\"` needs a field of type \"yesno\", and {field_what} is of type \"{}\"",
                        kind.name()
                    ),
                )
                .help(format!(
                    "write `type = \"yesno\"`, and put the details in another field with `fact = \"{name}_details\"`"
                ));
        }
        self.index.facts.push((fact, span, field_what));
        Some(fact)
    }

    fn command_line(&mut self, t: &mut Table) -> Option<CommandLine> {
        let what = t.what.clone();
        let context = format!("`run` of {what}");
        let Some(value) = t.get("run") else {
            self.problems
                .error(t.span.clone(), format!("missing `run` in {what}"))
                .help("add `run = \"ps -eo pid,user,args\"` or `run = [\"ls\", \"-la\", \"{{path}}\"]`");
            return None;
        };
        let (words, written): (Vec<(String, Span)>, String) =
            if let Some(line) = value.get_ref().as_str() {
                let span = value.span();
                match command::split(line) {
                    Ok(words) => {
                        // Locate each word in the source when the string is written without escapes.
                        let source = self.text.get(span.clone()).unwrap_or_default();
                        let offset = source.find(line).map(|at| span.start + at);
                        let words = words
                            .into_iter()
                            .map(|w| {
                                let at = offset
                                    .map_or(span.clone(), |o| o + w.range.start..o + w.range.end);
                                (w.text, at)
                            })
                            .collect();
                        (words, line.to_owned())
                    }
                    Err(error) => {
                        let source = self.text.get(span.clone()).unwrap_or_default();
                        let at = source.find(line).map_or(span.clone(), |o| {
                            span.start + o + error.range.start..span.start + o + error.range.end
                        });
                        let diagnostic = self
                            .problems
                            .error(at, format!("{context}: {}", error.message));
                        if let Some(help) = error.help {
                            diagnostic.help(help);
                        }
                        return None;
                    }
                }
            } else if value.get_ref().as_array().is_some() {
                let list = t.strings(self.problems, "run").unwrap_or_default();
                let written = list
                    .iter()
                    .map(|(w, _)| w.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                (list, written)
            } else {
                self.problems.error(
                    value.span(),
                    format!(
                        "`run` of {what} must be a string or an array of strings, not {}",
                        super::reader::type_name(value.get_ref())
                    ),
                );
                return None;
            };
        if words.is_empty() || words[0].0.trim().is_empty() {
            self.problems
                .error(value.span(), format!("`run` of {what} names no program"));
            return None;
        }
        let mut argv = Vec::with_capacity(words.len());
        let mut spans = Vec::with_capacity(words.len());
        for (word, span) in words {
            argv.push(self.template(&word, &span, &context));
            spans.push(span);
        }
        self.index.commands.push(CommandSpans {
            step: usize::MAX, // set by `steps` once the step has its place
            arguments: spans,
        });
        Some(CommandLine { argv, written })
    }
}

/// A scenario as read, before it is checked against its runbook.
#[derive(Debug)]
pub struct ScenarioDraft {
    pub scenario: Scenario,
    pub index: Index,
    /// For each `[[expected]]`: the spans of its `step` and `choice` values.
    pub expected_spans: Vec<(Span, Span)>,
    /// The span of the `runbook` value.
    pub runbook_span: Span,
}

/// Reads a scenario file (`runbooks/exercises/*.toml`). Problems go to `problems`.
pub fn read_scenario(text: &str, problems: &mut Problems) -> Option<ScenarioDraft> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().trim().to_owned();
            problems.list.push(
                Diagnostic::error(span, format!("TOML syntax: {message}"))
                    .with_help("see https://toml.io for the syntax of strings, tables and arrays"),
            );
        }
        return None;
    }
    let mut b = Builder {
        text,
        problems,
        index: Index {
            structure_complete: true,
            ..Index::default()
        },
        current_step: None,
        expected: Vec::new(),
    };
    let mut root = Table::new(document.get_ref(), 0..0, "the scenario file");
    let mut scenario = Scenario {
        id: String::new(),
        title: String::new(),
        version: String::new(),
        language: String::new(),
        summary: String::new(),
        authors: Vec::new(),
        runbook: String::new(),
        briefing: None,
        jurisdiction: None,
        runbook_injects: true,
        injects: Vec::new(),
        milestones: Vec::new(),
        expected: Vec::new(),
    };
    let mut runbook_span = 0..0;
    if let Some(mut head) = root.table(b.problems, "scenario", "[scenario]") {
        runbook_span = b.scenario_head(&mut head, &mut scenario);
        head.finish(b.problems, |key| {
            (key == "start").then(|| "a scenario follows its runbook's steps from its start".into())
        });
    } else if !root.contains("scenario") {
        b.problems
            .error(0..0, "missing the `[scenario]` table")
            .help(
                "start the file with `[scenario]` and its id, title, version, runbook and summary",
            );
    }
    b.injects(&mut root, &mut scenario.injects);
    b.milestones(&mut root, &mut scenario.milestones);
    let expected_spans = b.scenario_expected(&mut root, &mut scenario.expected);
    root.finish(b.problems, |key| match key {
        "steps" | "sources" | "variables" | "jurisdictions" | "deadlines" => Some(format!(
            "`{key}` belong in the runbook; a scenario adds injects, milestones and expected \
             choices"
        )),
        "runbook" => Some("the runbook a scenario exercises is named in `[scenario]`".into()),
        _ => None,
    });
    Some(ScenarioDraft {
        scenario,
        index: b.index,
        expected_spans,
        runbook_span,
    })
}

impl Builder<'_, '_> {
    /// Reads `[scenario]`; returns the span of its `runbook` value.
    fn scenario_head(&mut self, head: &mut Table, scenario: &mut Scenario) -> Span {
        let problems = &mut *self.problems;
        match head.integer(problems, "format") {
            Some((FORMAT_VERSION, _)) => {}
            Some((other, span)) => {
                problems
                    .error(span, format!("scenario format {other} is not the one this custody reads ({FORMAT_VERSION})"))
                    .help(format!("write `format = {FORMAT_VERSION}`, or update custody"));
            }
            None if !head.contains("format") => {
                problems
                    .error(head.span.clone(), "missing `format` in [scenario]")
                    .help(format!("add `format = {FORMAT_VERSION}`"));
            }
            None => {}
        }
        if let Some((id, span)) = head.required_string(problems, "id") {
            if !is_runbook_id(&id) {
                problems
                    .error(span, format!("scenario id `{id}` is not a valid id"))
                    .help(
                        "use lower case letters, digits, `-` and `.`, such as `csam-night-shift`",
                    );
            }
            scenario.id = id;
        }
        if let Some((title, _)) = head.required_string(problems, "title") {
            scenario.title = title;
        }
        if let Some((version, _)) = head.required_string(problems, "version") {
            scenario.version = version;
        }
        if let Some((language, span)) = head.string(problems, "language") {
            if !is_language_tag(&language) {
                problems
                    .error(span, format!("`{language}` is not a language tag"))
                    .help("use a lower-case language code such as `en`, `nl` or `fr`");
            }
            scenario.language = language;
        }
        if let Some((summary, _)) = head.required_string(problems, "summary") {
            summary.trim().clone_into(&mut scenario.summary);
        }
        if let Some(authors) = head.strings(problems, "authors") {
            scenario.authors = authors.into_iter().map(|(a, _)| a).collect();
        }
        scenario.briefing = head
            .string(problems, "briefing")
            .map(|(b, _)| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        if let Some((code, span)) = head.string(problems, "jurisdiction") {
            self.index.jurisdictions.insert(code.clone(), span);
            scenario.jurisdiction = Some(code);
        }
        let problems = &mut *self.problems;
        if let Some(keep) = head.boolean(problems, "runbook_injects") {
            scenario.runbook_injects = keep;
        }
        match head.required_string(problems, "runbook") {
            Some((id, span)) => {
                if !is_runbook_id(&id) {
                    problems
                        .error(span.clone(), format!("`{id}` is not a valid runbook id"))
                        .help("name the runbook by the `id` in its [runbook] table");
                }
                scenario.runbook = id;
                span
            }
            None => head.span.clone(),
        }
    }

    fn scenario_expected(
        &mut self,
        root: &mut Table,
        expected: &mut Vec<Expected>,
    ) -> Vec<(Span, Span)> {
        let mut spans = Vec::new();
        for (table, span) in root.tables(self.problems, "expected").unwrap_or_default() {
            let mut t = Table::new(table, span, "an expected choice");
            let step = t.required_string(self.problems, "step");
            let choice = t.required_string(self.problems, "choice");
            let why = t
                .string(self.problems, "why")
                .map(|(w, _)| w.trim().to_owned())
                .filter(|w| !w.is_empty());
            t.finish(self.problems, |key| {
                (key == "reason").then(|| "the explanation of an expected choice is `why`".into())
            });
            if let (Some((step, step_span)), Some((choice, choice_span))) = (step, choice) {
                spans.push((step_span, choice_span));
                expected.push(Expected { step, choice, why });
            }
        }
        spans
    }
}
