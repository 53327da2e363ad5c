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

/// Every bundled runbook, the flagship first.
pub const ALL: &[Bundled] = &[
    Bundled {
        file: "csam-discovery.toml",
        text: include_str!("../../runbooks/csam-discovery.toml"),
    },
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
