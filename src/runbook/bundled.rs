//! The runbooks shipped inside the binary, so that `custody start csam-discovery` works from any
//! directory. The same files live in `runbooks/`, where authors read and change them.

use super::{Checked, Runbook};

/// A runbook embedded at build time.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The file name in `runbooks/`.
    pub file: &'static str,
    pub text: &'static str,
}

/// Embeds files of `runbooks/` by name.
macro_rules! bundle {
    ($($file:literal),* $(,)?) => {
        &[$(Bundled { file: $file, text: include_str!(concat!("../../runbooks/", $file)) }),*]
    };
}

/// Every bundled runbook, the flagship first.
pub const ALL: &[Bundled] = bundle![
    "csam-discovery.toml",
    "csam-discovery.nl.toml",
    "csam-discovery.fr.toml",
    "hotline-notice.toml",
    "compromised-host.toml",
    "police-request.toml",
];

impl Bundled {
    pub fn check(&self) -> Checked {
        Runbook::parse(self.text)
    }
}

/// The bundled runbook with this id, if there is one.
pub fn find(id: &str) -> Option<(Bundled, Runbook)> {
    ALL.iter()
        .filter_map(|b| b.check().runbook.map(|r| (*b, r)))
        .find(|(_, r)| r.id == id)
}

/// Every bundled exercise scenario (`runbooks/exercises/`).
pub const SCENARIOS: &[Bundled] = bundle!["exercises/csam-discovery-night-shift.toml"];

/// The bundled scenarios for a runbook (or the runbook it translates), checked against it.
pub fn scenarios_for(runbook: &Runbook) -> Vec<(Bundled, super::Scenario)> {
    let id = runbook.translation_of.as_deref().unwrap_or(&runbook.id);
    SCENARIOS
        .iter()
        .filter(|b| super::Scenario::runbook_of(b.text).as_deref() == Some(id))
        .filter_map(|b| {
            super::Scenario::parse(b.text, Ok(runbook))
                .scenario
                .map(|s| (*b, s))
        })
        .collect()
}

/// The runbook a scenario file names, looked for beside the exercises folder (`../ID.toml`),
/// in the scenario's own folder (`ID.toml`), among the other runbooks there, and among the
/// bundled runbooks. Returns where it was found and its text, or why none was found.
pub fn locate_runbook(scenario: &std::path::Path, id: &str) -> Result<(String, String), String> {
    let folder = scenario.parent().unwrap_or(std::path::Path::new("."));
    let folder = if folder.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        folder
    };
    let file = format!("{id}.toml");
    let mut candidates = vec![folder.join("..").join(&file), folder.join(&file)];
    for dir in [folder.join(".."), folder.to_path_buf()] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut more: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            more.sort();
            candidates.extend(more);
        }
    }
    // The ids of the runbooks seen, to suggest one when none is found.
    let mut seen = Vec::new();
    for path in candidates {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if super::is_scenario(&text) {
            continue;
        }
        let named = path.file_name().is_some_and(|n| *n == *file.as_str());
        if named {
            return Ok((path.display().to_string(), text));
        }
        if let Some(r) = Runbook::parse(&text).runbook {
            if r.id == id {
                return Ok((path.display().to_string(), text));
            }
            seen.push(r.id);
        }
    }
    for b in ALL {
        if let Some(r) = b.check().runbook {
            if r.id == id {
                return Ok((format!("bundled {}", b.file), b.text.to_owned()));
            }
            seen.push(r.id);
        }
    }
    let seen: Vec<&str> = seen.iter().map(String::as_str).collect();
    let suggestion = super::reader::closest(id, &seen)
        .map(|close| format!("; did you mean `{close}`?"))
        .unwrap_or_default();
    Err(format!(
        "no file {file} beside the scenario or its folder, and no bundled runbook has this \
         id{suggestion}"
    ))
}
