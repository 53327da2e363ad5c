//! Making text from outside safe to show on a terminal.
//!
//! File names, command output, notes and runbook text can carry escape sequences (ANSI colours,
//! OSC 52 clipboard writes, cursor movement), other control characters and Unicode bidi overrides
//! that make text read differently from what it is. Everything custody shows that it did not write
//! itself goes through [`for_terminal`] first.

use std::borrow::Cow;

/// Returns `text` with every control character, bidi control and other invisible formatting
/// character replaced by a visible escape such as `\u{1b}`, so that what is shown is exactly
/// what is there and nothing is interpreted by the terminal. Tabs become one space each, so that
/// columns still line up under a caret.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\t' {
            out.push(' ');
        } else if needs_escape(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether a character must not reach a terminal as it is.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible_format(c)
}

/// The Unicode bidirectional formatting characters (embeddings, overrides, isolates, marks).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Zero-width and other invisible characters that can hide or disguise text.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            for_terminal("plain text é"),
            Cow::Borrowed("plain text é")
        ));
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(for_terminal("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(
            for_terminal("\u{1b}]52;c;aGk=\u{7}"),
            "\\u{1b}]52;c;aGk=\\u{7}"
        );
    }

    #[test]
    fn bidi_overrides_and_invisible_characters_become_visible() {
        assert_eq!(for_terminal("abc\u{202E}txt.exe"), "abc\\u{202e}txt.exe");
        assert_eq!(for_terminal("a\u{200B}b"), "a\\u{200b}b");
    }

    #[test]
    fn tabs_become_single_spaces_and_newlines_are_escaped() {
        assert_eq!(for_terminal("a\tb\nc"), "a b\\u{a}c");
    }
}
