//! Checks that need the whole runbook: references resolve, ids are unique, every step can be
//! reached and can reach an end, contacts exist for each jurisdiction, commands are safe, and
//! nothing declared is left unused.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::command;
use super::model::{Fact, Runbook, Scenario, StepKind};
use super::parse::{Draft, RefKind, Reference, ScenarioDraft};
use super::reader::{Help, Problems, Span, closest};
use super::{BUILT_IN_VARIABLES, jurisdiction};

pub fn validate(draft: Draft, text: &str, problems: &mut Problems) -> Runbook {
    let Draft { runbook, index } = draft;
    let lines = super::diagnostic::Source::new("", text);
    let line_of = |span: &Span| lines.location(span.start).line;
    let duplicates =
        |problems: &mut Problems, what: &str, ids: &mut dyn Iterator<Item = (&str, &Span)>| {
            let mut seen: BTreeMap<&str, &Span> = BTreeMap::new();
            let mut unique = true;
            for (id, span) in ids {
                if let Some(first) = seen.get(id) {
                    unique = false;
                    problems
                        .error(span.clone(), format!("duplicate {what} id `{id}`"))
                        .help(format!(
                            "ids must be unique; `{id}` is already the id on line {}",
                            line_of(first)
                        ));
                } else {
                    seen.insert(id, span);
                }
            }
            unique
        };
    let unique_steps = duplicates(
        problems,
        "step",
        &mut runbook
            .steps
            .iter()
            .map(|s| s.id.as_str())
            .zip(&index.step_ids),
    );
    duplicates(
        problems,
        "source",
        &mut runbook
            .sources
            .iter()
            .map(|s| s.id.as_str())
            .zip(&index.source_ids),
    );
    duplicates(
        problems,
        "deadline",
        &mut runbook
            .deadlines
            .iter()
            .map(|d| d.id.as_str())
            .zip(&index.deadline_ids),
    );
    duplicates(
        problems,
        "inject",
        &mut runbook
            .injects
            .iter()
            .map(|i| i.id.as_str())
            .zip(&index.inject_ids),
    );
    duplicates(
        problems,
        "milestone",
        &mut runbook
            .milestones
            .iter()
            .map(|m| m.id.as_str())
            .zip(&index.milestone_ids),
    );
    let mut by_owner: BTreeMap<&str, Vec<(&str, &Span)>> = BTreeMap::new();
    for (id, span, owner) in &index.inner_ids {
        by_owner.entry(owner).or_default().push((id, span));
    }
    for (owner, ids) in by_owner {
        duplicates(problems, owner, &mut ids.into_iter());
    }
    let mut facts: BTreeMap<Fact, (&Span, &str)> = BTreeMap::new();
    for (fact, span, field) in &index.facts {
        if let Some((first_span, first_field)) = facts.get(fact) {
            problems
                .error(
                    span.clone(),
                    format!(
                        "fact `{}` of {field} is already given by {first_field}",
                        fact.name()
                    ),
                )
                .help(format!(
                    "each fact is given by one field only; remove `fact` here or on line {}",
                    line_of(first_span)
                ));
        } else {
            facts.insert(*fact, (span, field));
        }
    }

    let resolved = references(&runbook, &index.references, false, problems);
    if resolved && unique_steps && index.structure_complete {
        graph(&runbook, &index.step_ids, problems);
    }
    contact_roles(&runbook, &index.references, &index.jurisdictions, problems);
    commands(&runbook, &index, problems);
    unused(&runbook, &index, problems);
    for (step, span) in runbook.steps.iter().zip(&index.step_ids) {
        if step.sources.is_empty() && !matches!(step.kind, StepKind::End { .. }) {
            problems
                .warning(span.clone(), format!("step `{}` cites no source", step.id))
                .help("add `sources = [\"...\"]` naming the guidance or law the step rests on");
        }
    }
    if runbook.jurisdictions.is_empty()
        && let Some(reference) = index
            .references
            .iter()
            .find(|r| r.kind == RefKind::ContactRole)
    {
        problems
            .error(reference.span.clone(), format!("{} names a contact role, but the runbook has no jurisdictions", reference.context))
            .help("add `[jurisdictions.XX]` tables with `[[jurisdictions.XX.contacts]]`, or use `to = \"...\"`");
    }
    runbook
}

/// Resolves every reference; returns whether all step references resolved. `in_scenario`: the
/// references are a scenario's, to the runbook it exercises (the help then says to change the
/// runbook, since a scenario declares no variables or sources of its own).
fn references(
    runbook: &Runbook,
    references: &[Reference],
    in_scenario: bool,
    problems: &mut Problems,
) -> bool {
    let mut steps: Vec<&str> = runbook.steps.iter().map(|s| s.id.as_str()).collect();
    steps.dedup();
    let sources: Vec<&str> = runbook.sources.iter().map(|s| s.id.as_str()).collect();
    let mut variables: Vec<&str> = runbook.variables.keys().map(String::as_str).collect();
    variables.extend(BUILT_IN_VARIABLES);
    let mut all_resolved = true;
    for reference in references {
        let name = reference.name.as_str();
        let (known, what): (&[&str], &str) = match reference.kind {
            RefKind::Step => (&steps, "step"),
            RefKind::Source => (&sources, "source"),
            RefKind::Variable => (&variables, "variable"),
            RefKind::SetVariable => {
                if BUILT_IN_VARIABLES.contains(&name) {
                    problems
                        .error(
                            reference.span.clone(),
                            format!("{} sets `{name}`, which is built in", reference.context),
                        )
                        .help("declare a variable of your own in `[variables]` and set that");
                    continue;
                }
                (&variables[..runbook.variables.len()], "variable")
            }
            RefKind::Jurisdiction => {
                if !jurisdiction::is_known(name) {
                    problems
                        .error(
                            reference.span.clone(),
                            format!("unknown jurisdiction `{name}` in {}", reference.context),
                        )
                        .help(jurisdiction::hint(name));
                } else if !runbook.jurisdictions.contains_key(name) {
                    problems
                        .warning(
                            reference.span.clone(),
                            format!(
                                "{} names `{name}`, which the runbook does not list",
                                reference.context
                            ),
                        )
                        .help(format!(
                            "add `[jurisdictions.{name}]`, or the deadline never applies"
                        ));
                }
                continue;
            }
            RefKind::ContactRole => continue,
        };
        if known.contains(&name) {
            continue;
        }
        if reference.kind == RefKind::Step {
            all_resolved = false;
        }
        let diagnostic = problems.error(
            reference.span.clone(),
            format!("unknown {what} `{name}` in {}", reference.context),
        );
        if let Some(close) = closest(name, known) {
            diagnostic.help(format!("did you mean `{close}`?"));
        } else if in_scenario && reference.kind == RefKind::Variable {
            diagnostic.help(format!(
                "a scenario uses the variables of runbook `{}` and the built-in ones ({}); \
                 correct the name, or declare `[variables.{name}]` in the runbook",
                runbook.id,
                BUILT_IN_VARIABLES.join(", ")
            ));
        } else if in_scenario && reference.kind == RefKind::Source {
            diagnostic.help(format!(
                "a scenario cites the `[[sources]]` of runbook `{}`; correct the id, or add \
                 the source to the runbook",
                runbook.id
            ));
        } else if reference.kind == RefKind::Variable || reference.kind == RefKind::SetVariable {
            diagnostic.help(format!(
                "declare it with `[variables.{name}]` and a `label`; built in are: {}",
                BUILT_IN_VARIABLES.join(", ")
            ));
        } else if reference.kind == RefKind::Source {
            diagnostic.help(format!("add a `[[sources]]` entry with `id = \"{name}\"`"));
        } else if !known.is_empty() {
            diagnostic.help(format!("the {what}s are: {}", abbreviate(known)));
        }
    }
    all_resolved
}

fn abbreviate(names: &[&str]) -> String {
    if names.len() <= 8 {
        names.join(", ")
    } else {
        format!("{}, ... ({} in all)", names[..8].join(", "), names.len())
    }
}

/// Every step reachable from the start; an end reachable from every step.
fn graph(runbook: &Runbook, step_ids: &[Span], problems: &mut Problems) {
    let position: BTreeMap<&str, usize> = runbook
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let successors: Vec<Vec<usize>> = runbook
        .steps
        .iter()
        .map(|s| {
            s.successors()
                .iter()
                .filter_map(|n| position.get(n).copied())
                .collect()
        })
        .collect();
    let Some(&start) = position.get(runbook.start.as_str()) else {
        return;
    };
    let reachable = reach(&[start], |i| successors[i].clone(), runbook.steps.len());
    let ends: Vec<usize> = runbook
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.kind, StepKind::End { .. }))
        .map(|(i, _)| i)
        .collect();
    if ends.is_empty() {
        problems
            .error(
                step_ids.last().cloned().unwrap_or(0..0),
                "the runbook has no end step",
            )
            .help("add a last step with `kind = \"end\"`");
        return;
    }
    let mut predecessors = vec![Vec::new(); runbook.steps.len()];
    for (from, nexts) in successors.iter().enumerate() {
        for &to in nexts {
            predecessors[to].push(from);
        }
    }
    let finishing = reach(&ends, |i| predecessors[i].clone(), runbook.steps.len());
    for (i, step) in runbook.steps.iter().enumerate() {
        if !reachable[i] {
            problems
                .error(
                    step_ids[i].clone(),
                    format!("step `{}` cannot be reached from the start", step.id),
                )
                .help("point a `next` or a choice at it, or remove it");
        } else if !finishing[i] {
            problems
                .error(
                    step_ids[i].clone(),
                    format!("no end step can be reached from step `{}`", step.id),
                )
                .help("the steps after it go round in a loop; lead one of them to an end step");
        }
    }
}

fn reach(from: &[usize], next: impl Fn(usize) -> Vec<usize>, len: usize) -> Vec<bool> {
    let mut seen = vec![false; len];
    let mut queue: VecDeque<usize> = from.iter().copied().collect();
    for &i in from {
        seen[i] = true;
    }
    while let Some(i) = queue.pop_front() {
        for n in next(i) {
            if !seen[n] {
                seen[n] = true;
                queue.push_back(n);
            }
        }
    }
    seen
}

/// A contact role must exist somewhere; where a jurisdiction lacks it, say so.
fn contact_roles(
    runbook: &Runbook,
    references: &[Reference],
    jurisdiction_spans: &BTreeMap<String, Span>,
    problems: &mut Problems,
) {
    if runbook.jurisdictions.is_empty() {
        return;
    }
    let all_roles: BTreeSet<&str> = runbook
        .jurisdictions
        .values()
        .flat_map(|j| j.contacts.iter().map(|c| c.role.as_str()))
        .collect();
    let mut reported = BTreeSet::new();
    for reference in references.iter().filter(|r| r.kind == RefKind::ContactRole) {
        let role = reference.name.as_str();
        if !all_roles.contains(role) {
            let known: Vec<&str> = all_roles.iter().copied().collect();
            let diagnostic = problems.error(
                reference.span.clone(),
                format!(
                    "no jurisdiction has a contact with role `{role}` ({})",
                    reference.context
                ),
            );
            match closest(role, &known) {
                Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
                None => diagnostic.help(format!(
                    "add `[[jurisdictions.XX.contacts]]` with `role = \"{role}\"`"
                )),
            }
            continue;
        }
        for (code, jurisdiction) in &runbook.jurisdictions {
            if jurisdiction.contacts_with_role(role).next().is_none()
                && reported.insert((code, role))
            {
                let at = jurisdiction_spans.get(code).cloned().unwrap_or(0..0);
                problems
                    .warning(at, format!("jurisdiction `{code}` has no contact with role `{role}`, which {} uses", reference.context))
                    .help(format!("add a contact with `role = \"{role}\"` to `[jurisdictions.{code}]`"));
            }
        }
    }
}

fn commands(runbook: &Runbook, index: &super::parse::Index, problems: &mut Problems) {
    let evidence_variables: Vec<&str> = runbook
        .variables
        .iter()
        .filter(|(_, v)| v.evidence)
        .map(|(name, _)| name.as_str())
        .collect();
    let evidence_paths: Vec<&str> = runbook
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Evidence { paths, .. } => {
                Some(paths.iter().map(super::template::Template::raw))
            }
            _ => None,
        })
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect();
    for spans in &index.commands {
        let Some(step) = runbook.steps.get(spans.step) else {
            continue;
        };
        let StepKind::Command {
            run,
            changes_system,
            ..
        } = &step.kind
        else {
            continue;
        };
        let context = command::Context {
            evidence_variables: evidence_variables.clone(),
            evidence_paths: evidence_paths.clone(),
            changes_system: *changes_system,
        };
        for finding in command::check(&run.argv, &context) {
            let span = spans
                .arguments
                .get(finding.argument)
                .cloned()
                .unwrap_or(0..0);
            let message = format!("step `{}`: {}", step.id, finding.message);
            let diagnostic = if finding.error {
                problems.error(span, message)
            } else {
                problems.warning(span, message)
            };
            if let Some(help) = finding.help {
                diagnostic.help(help);
            }
        }
    }
}

fn unused(runbook: &Runbook, index: &super::parse::Index, problems: &mut Problems) {
    let cited: BTreeSet<&str> = index
        .references
        .iter()
        .filter(|r| r.kind == RefKind::Source)
        .map(|r| r.name.as_str())
        .collect();
    for (source, span) in runbook.sources.iter().zip(&index.source_ids) {
        if !cited.contains(source.id.as_str()) {
            problems
                .warning(
                    span.clone(),
                    format!("source `{}` is never cited", source.id),
                )
                .help("cite it in a step's `sources`, or remove it");
        }
    }
    let used: BTreeSet<&str> = index
        .references
        .iter()
        .filter(|r| r.kind == RefKind::Variable)
        .map(|r| r.name.as_str())
        .collect();
    for (name, span) in &index.variables {
        if !used.contains(name.as_str()) {
            problems
                .warning(span.clone(), format!("variable `{name}` is never used"))
                .help(format!("use it as {{{{{name}}}}} in a step, or remove it"));
        }
    }
}

/// Checks a scenario against the runbook it exercises: the runbook is the one it names, its
/// references resolve in the runbook, its ids do not clash with the runbook's, and each expected
/// choice is a choice of a decision.
pub fn validate_scenario(
    draft: ScenarioDraft,
    text: &str,
    runbook: Result<&Runbook, String>,
    problems: &mut Problems,
) -> Scenario {
    let ScenarioDraft {
        scenario,
        index,
        expected_spans,
        runbook_span,
    } = draft;
    let runbook =
        match runbook {
            Ok(runbook) => runbook,
            Err(why) => {
                if !scenario.runbook.is_empty() {
                    problems
                    .error(runbook_span, format!("runbook `{}`: {why}", scenario.runbook))
                    .help(format!(
                        "keep the runbook next to the exercises folder as ../{}.toml, or name a \
                         bundled runbook (`custody runbooks` lists them)",
                        scenario.runbook
                    ));
                }
                return scenario;
            }
        };
    let lines = super::diagnostic::Source::new("", text);
    let line_of = |span: &Span| lines.location(span.start).line;
    if !scenario.runbook.is_empty()
        && scenario.runbook != runbook.id
        && runbook.translation_of.as_deref() != Some(scenario.runbook.as_str())
    {
        problems
            .error(
                runbook_span,
                format!(
                    "the scenario exercises runbook `{}`, but was checked against `{}`",
                    scenario.runbook, runbook.id
                ),
            )
            .help("name the runbook it was written for, or give custody that runbook");
    }
    let mut seen: BTreeMap<&str, &Span> = BTreeMap::new();
    for (inject, span) in scenario.injects.iter().zip(&index.inject_ids) {
        if let Some(first) = seen.get(inject.id.as_str()) {
            problems
                .error(span.clone(), format!("duplicate inject id `{}`", inject.id))
                .help(format!(
                    "ids must be unique; `{}` is already the id on line {}",
                    inject.id,
                    line_of(first)
                ));
        } else if scenario.runbook_injects && runbook.injects.iter().any(|i| i.id == inject.id) {
            problems
                .error(
                    span.clone(),
                    format!(
                        "inject `{}` is already an inject of runbook `{}`",
                        inject.id, runbook.id
                    ),
                )
                .help(
                    "give it another id, or set `runbook_injects = false` in [scenario] to \
                     leave out the runbook's own injects",
                );
        }
        seen.insert(&inject.id, span);
    }
    let mut seen: BTreeMap<&str, &Span> = BTreeMap::new();
    for (milestone, span) in scenario.milestones.iter().zip(&index.milestone_ids) {
        if let Some(first) = seen.get(milestone.id.as_str()) {
            problems
                .error(
                    span.clone(),
                    format!("duplicate milestone id `{}`", milestone.id),
                )
                .help(format!(
                    "ids must be unique; `{}` is already the id on line {}",
                    milestone.id,
                    line_of(first)
                ));
        } else if runbook.milestones.iter().any(|m| m.id == milestone.id) {
            problems
                .error(
                    span.clone(),
                    format!(
                        "milestone `{}` is already a milestone of runbook `{}`",
                        milestone.id, runbook.id
                    ),
                )
                .help("the runbook's milestones count in every exercise; give this one another id");
        }
        seen.insert(&milestone.id, span);
    }
    references(runbook, &index.references, true, problems);
    if let Some((code, span)) = index.jurisdictions.iter().next() {
        let known = if runbook.jurisdictions.is_empty() {
            jurisdiction::is_known(code)
        } else {
            runbook.jurisdictions.contains_key(code)
        };
        if !known {
            let codes: Vec<&str> = runbook.jurisdictions.keys().map(String::as_str).collect();
            problems
                .error(
                    span.clone(),
                    format!("runbook `{}` has no jurisdiction `{code}`", runbook.id),
                )
                .help(if codes.is_empty() {
                    jurisdiction::hint(code)
                } else {
                    format!("its jurisdictions are: {}", codes.join(", "))
                });
        }
    }
    let steps: Vec<&str> = runbook.steps.iter().map(|s| s.id.as_str()).collect();
    let mut seen: BTreeMap<&str, &Span> = BTreeMap::new();
    for (expected, (step_span, choice_span)) in scenario.expected.iter().zip(&expected_spans) {
        let Some(step) = runbook.step(&expected.step) else {
            let d = problems.error(
                step_span.clone(),
                format!(
                    "unknown step `{}` in `step` of an expected choice",
                    expected.step
                ),
            );
            if let Some(close) = closest(&expected.step, &steps) {
                d.help(format!("did you mean `{close}`?"));
            }
            continue;
        };
        let StepKind::Decision { choices } = &step.kind else {
            problems
                .error(
                    step_span.clone(),
                    format!(
                        "step `{}` is {} {} step, not a decision",
                        step.id,
                        super::parse::article(step.kind_name()),
                        step.kind_name()
                    ),
                )
                .help("an expected choice belongs to a decision step");
            continue;
        };
        if let Some(first) = seen.get(expected.step.as_str()) {
            problems
                .error(
                    step_span.clone(),
                    format!(
                        "the choice expected at `{}` is already given",
                        expected.step
                    ),
                )
                .help(format!(
                    "keep one `[[expected]]` per decision; the other is on line {}",
                    line_of(first)
                ));
            continue;
        }
        seen.insert(&expected.step, step_span);
        if !choices.iter().any(|c| c.id == expected.choice) {
            let ids: Vec<&str> = choices.iter().map(|c| c.id.as_str()).collect();
            problems
                .error(
                    choice_span.clone(),
                    format!(
                        "`{}` is not a choice of decision `{}`",
                        expected.choice, step.id
                    ),
                )
                .help(match closest(&expected.choice, &ids) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("its choices are: {}", ids.join(", ")),
                });
        }
    }
    scenario
}
