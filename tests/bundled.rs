//! The bundled runbooks: all valid without a single warning, all cite their sources, all files
//! in `runbooks/` are bundled, and translations keep the structure of their original.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

use std::collections::BTreeMap;

use custody::runbook::{Runbook, SourceText, StepKind, bundled};
use serde_json::Value;

fn all() -> Vec<(&'static str, Runbook)> {
    bundled::ALL
        .iter()
        .map(|b| {
            let checked = b.check();
            let source = SourceText::new(b.file, b.text);
            let shown: String = checked
                .diagnostics
                .iter()
                .map(|d| source.render(d))
                .collect();
            assert!(checked.diagnostics.is_empty(), "{}:\n{shown}", b.file);
            (
                b.file,
                checked
                    .runbook
                    .unwrap_or_else(|| panic!("{} is invalid", b.file)),
            )
        })
        .collect()
}

#[test]
fn bundled_runbooks_are_valid_without_warnings() {
    let runbooks = all();
    assert!(runbooks.len() >= 4);
    assert_eq!(
        runbooks[0].1.id, "csam-discovery",
        "the flagship comes first"
    );
    for id in ["hotline-notice", "compromised-host", "police-request"] {
        assert!(runbooks.iter().any(|(_, r)| r.id == id), "{id} is bundled");
    }
}

#[test]
fn ids_are_unique_and_match_file_names() {
    let mut seen = BTreeMap::new();
    for (file, runbook) in all() {
        assert_eq!(
            format!("{}.toml", runbook.id),
            file,
            "file names follow ids"
        );
        assert!(
            seen.insert(runbook.id.clone(), file).is_none(),
            "{} twice",
            runbook.id
        );
    }
}

#[test]
fn every_runbook_file_is_bundled() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks");
    for entry in std::fs::read_dir(folder).expect("runbooks/ exists") {
        let path = entry.expect("readable entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if path.extension().is_none_or(|e| e != "toml") || name == "template.toml" {
            continue;
        }
        let bundled = bundled::ALL.iter().find(|b| b.file == name);
        let text = std::fs::read_to_string(&path).expect("readable runbook");
        assert!(
            bundled.is_some_and(|b| b.text == text),
            "{name} is not bundled (src/runbook/bundled.rs)"
        );
    }
}

#[test]
fn the_template_is_valid_and_uses_every_step_kind() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/runbooks/template.toml"
    ))
    .expect("template exists");
    let checked = Runbook::parse(&text);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let runbook = checked.runbook.expect("valid");
    for kind in StepKind::NAMES {
        assert!(
            runbook.steps.iter().any(|s| s.kind_name() == kind),
            "template has a {kind} step"
        );
    }
    assert!(!runbook.deadlines.is_empty() && !runbook.injects.is_empty());
    assert!(!runbook.variables.is_empty() && !runbook.jurisdictions.is_empty());
}

#[test]
fn every_step_but_the_ends_cites_a_source() {
    for (file, runbook) in all() {
        for step in &runbook.steps {
            if !matches!(step.kind, StepKind::End { .. }) {
                assert!(
                    !step.sources.is_empty(),
                    "{file}: step {} cites no source",
                    step.id
                );
            }
        }
    }
}

#[test]
fn the_flagship_covers_every_required_jurisdiction_and_channel() {
    let runbooks = all();
    let flagship = &runbooks[0].1;
    for code in ["BE", "NL", "UK", "US", "CA", "AU", "OTHER"] {
        let jurisdiction = flagship
            .jurisdictions
            .get(code)
            .unwrap_or_else(|| panic!("{code}"));
        for role in ["police", "hotline"] {
            assert!(
                jurisdiction.contacts_with_role(role).next().is_some(),
                "{code} has a {role}"
            );
        }
        assert!(
            jurisdiction.emergency.is_some(),
            "{code} has an emergency number"
        );
    }
}

/// The runbook as JSON with every translatable text blanked out: what must not differ between
/// a runbook and its translations.
fn structure(runbook: &Runbook) -> Value {
    const TEXT: [&str; 13] = [
        "title", "body", "summary", "label", "items", "options", "prompt", "help", "outcome",
        "notes", "note", "name", "to",
    ];
    fn blank(value: &mut Value, key: Option<&str>) {
        match value {
            Value::String(s) if key.is_some_and(|k| TEXT.contains(&k)) => *s = "<text>".into(),
            Value::Array(items) => items.iter_mut().for_each(|v| blank(v, key)),
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    blank(v, Some(k));
                }
            }
            _ => {}
        }
    }
    let mut value = serde_json::to_value(runbook).expect("serialisable");
    blank(&mut value, None);
    if let Value::Object(map) = &mut value {
        for key in ["id", "language", "translation_of"] {
            map.remove(key);
        }
        // Variable labels and defaults are prose; names and the evidence flag are structure.
        if let Some(Value::Object(vars)) = map.get_mut("variables") {
            for var in vars.values_mut() {
                if let Value::Object(v) = var {
                    v.remove("default");
                }
            }
        }
    }
    value
}

#[test]
fn translations_keep_the_structure_of_their_original() {
    let runbooks = all();
    let mut translated = 0;
    for (file, runbook) in &runbooks {
        let Some(of) = &runbook.translation_of else {
            continue;
        };
        let (_, original) = runbooks
            .iter()
            .find(|(_, r)| &r.id == of)
            .unwrap_or_else(|| panic!("{file} translates `{of}`, which is not bundled"));
        assert_ne!(runbook.language, original.language, "{file}");
        assert_eq!(
            runbook.id,
            format!("{of}.{}", runbook.language),
            "{file}: id is ORIGINAL.LANG"
        );
        let (a, b) = (structure(original), structure(runbook));
        if a != b {
            let (a, b) = (
                serde_json::to_string_pretty(&a).unwrap_or_default(),
                serde_json::to_string_pretty(&b).unwrap_or_default(),
            );
            let first = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            panic!(
                "{file} differs from {of} in structure near:\n  original:    {}\n  translation: {}",
                a.lines().nth(first).unwrap_or_default(),
                b.lines().nth(first).unwrap_or_default()
            );
        }
        translated += 1;
    }
    let languages: Vec<&str> = runbooks
        .iter()
        .filter(|(_, r)| r.translation_of.as_deref() == Some("csam-discovery"))
        .map(|(_, r)| r.language.as_str())
        .collect();
    assert!(translated >= languages.len());
    for language in ["nl", "fr"] {
        assert!(
            languages.contains(&language),
            "the flagship has a `{language}` translation"
        );
    }
}
