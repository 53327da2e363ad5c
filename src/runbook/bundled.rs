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
