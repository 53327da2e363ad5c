//! The loader meets arbitrary text and damaged runbooks: it must answer with diagnostics, never
//! panic, and every diagnostic must point inside the text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

use custody::runbook::{Runbook, SourceText, bundled};
use proptest::prelude::*;

/// Parses and renders every diagnostic, checking spans are sane.
fn load(text: &str) {
    let checked = Runbook::parse(text);
    let source = SourceText::new("fuzz.toml", text);
    for diagnostic in &checked.diagnostics {
        assert!(
            diagnostic.span.start <= text.len(),
            "span starts past the end"
        );
        assert!(diagnostic.span.start <= diagnostic.span.end || diagnostic.span.end == 0);
        let rendered = source.render(diagnostic);
        assert!(rendered.starts_with("fuzz.toml:"));
        assert!(
            !rendered.contains('\u{1b}'),
            "escape sequences reach the terminal"
        );
    }
    assert_eq!(checked.runbook.is_some(), checked.errors() == 0);
}

fn template() -> &'static str {
    include_str!("../runbooks/template.toml")
}

/// Pieces that make structurally interesting damage.
const PIECES: &[&str] = &[
    "[[steps]]",
    "[runbook]",
    "next = \"x\"",
    "kind = \"end\"",
    "id = \"a\"",
    "\"",
    "'",
    "[",
    "]",
    "{{",
    "}}",
    "=",
    "\n",
    "run = \"rm -rf /\"",
    "within = \"1y\"",
    "\u{1b}[31m",
    "\u{202e}",
    "é",
    "[[steps.choices]]",
    "items = []",
    "{{host}}",
    "sources = [\"nope\"]",
    "#",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        load(&text);
    }

    #[test]
    fn toml_like_text_never_panics(lines in proptest::collection::vec(
        "(\\[\\[?[a-z.]{0,12}\\]\\]?|[a-z_]{1,10} = (\"[^\"]{0,20}\"|[0-9]{1,3}|true|\\[\\]|\\[\"[a-z]{0,5}\"\\]))",
        0..40,
    )) {
        load(&lines.join("\n"));
    }

    /// Cuts, duplicates and overwrites parts of the template and of the flagship.
    #[test]
    fn damaged_runbooks_never_panic(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0usize..PIECES.len(), 0usize..200), 1..8),
    ) {
        let mut text: String = if which == 0 { template().to_owned() } else { bundled::ALL[0].text.to_owned() };
        for (at, op, piece, len) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            let mut j = (i + len).min(text.len());
            while !text.is_char_boundary(j) { j -= 1; }
            match op {
                0 => text.replace_range(i..j, ""),
                1 => text.insert_str(i, PIECES[piece]),
                2 => { let copy = text[i..j].to_owned(); text.insert_str(j, &copy); }
                _ => text.replace_range(i..j, PIECES[piece]),
            }
        }
        load(&text);
    }
}

#[test]
fn deeply_nested_or_huge_input_does_not_panic() {
    load(&"[".repeat(10_000));
    load(&format!("a = {}1{}", "[".repeat(2_000), "]".repeat(2_000)));
    load(&"x".repeat(1_000_000));
    load(&format!(
        "{}\n[[steps]]\ntitle = \"{}\"",
        template(),
        "t".repeat(100_000)
    ));
}
