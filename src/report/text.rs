//! Making recorded text safe for each format.
//!
//! Names, notes, reasons, paths, references and command lines come from outside: a person typed
//! them, or a file system or a command produced them. They can carry escape sequences, bidi
//! overrides (U+202E makes `exe.txt` read as `txt.exe`), invisible characters, and markup of the
//! report's own formats. Every format shows such characters as visible escapes (`\u{202e}`)
//! and escapes its own markup, so that what is shown is what was recorded and nothing in it
//! acts as markup.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::sanitize::needs_escape;

/// `text` with every control character other than a line break, every bidi control and every
/// invisible formatting character replaced by a visible escape such as `\u{202e}`. Tabs become
/// a space. Line breaks are kept (as `\n`); `\r\n` and a lone `\r` become `\n`.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\t' => out.push(' '),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Markdown for inline text: cleaned, then every character that Markdown (`CommonMark` with GFM
/// tables) or the HTML inside it could read as markup is escaped, and line breaks become
/// `<br>`, so that a value stays in its table cell or list item.
pub fn markdown(text: &str) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown for a value that begins a line or a list item, where `- x`, `+ x`, `= x` or
/// `1. x` would start a block of its own (a nested list, a heading underline): as [`markdown`],
/// with that first character escaped.
pub fn markdown_item(text: &str) -> String {
    let mut out = markdown(text);
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
    } else if let Some(pos) = out.find(|c: char| !c.is_ascii_digit())
        && pos > 0
        && matches!(out.as_bytes()[pos], b'.' | b')')
    {
        out.insert(pos, '\\');
    }
    out
}

/// Markdown for a name, a path or a command: a code span when the text is plain (printable
/// ASCII without the characters that matter to Markdown tables and HTML), else escaped text as
/// [`markdown`] gives it, so that nothing recorded can close the span or split a table cell.
pub fn markdown_code(text: &str) -> String {
    let plain = !text.is_empty()
        && text.chars().all(|c| {
            (c.is_ascii_graphic() || c == ' ') && !matches!(c, '`' | '|' | '<' | '>' | '&' | '\\')
        })
        && !text.starts_with(' ')
        && !text.ends_with(' ');
    if plain {
        format!("`{text}`")
    } else {
        markdown(text)
    }
}

/// HTML text content: cleaned, the five special characters escaped, line breaks as `<br>`.
pub fn html(text: &str) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON formatter that, besides what JSON requires, writes every character
/// [`needs_escape`] names (bidi controls, C1 controls, invisible characters) as a `\uXXXX`
/// escape: the value is unchanged for a program, and a person reading the file sees them.
#[derive(Debug)]
pub struct SafeJson<'a> {
    inner: serde_json::ser::PrettyFormatter<'a>,
}

impl SafeJson<'_> {
    pub fn new() -> Self {
        Self {
            inner: serde_json::ser::PrettyFormatter::with_indent(b"  "),
        }
    }
}

impl Default for SafeJson<'_> {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $name<W: ?Sized + std::io::Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
                self.inner.$name(writer $(, $arg)*)
            }
        )*
    };
}

impl serde_json::ser::Formatter for SafeJson<'_> {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if needs_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_line_breaks_and_shows_the_rest() {
        assert_eq!(clean("a\r\nb\rc\nd"), "a\nb\nc\nd");
        assert_eq!(
            clean("x\u{1b}[31my\u{202e}z\u{0}"),
            "x\\u{1b}[31my\\u{202e}z\\u{0}"
        );
        assert!(matches!(clean("plain é"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_escapes_markup_and_keeps_cells_whole() {
        assert_eq!(markdown("a|b\nc"), "a\\|b<br>c");
        assert_eq!(
            markdown("<script>x</script>"),
            "&lt;script&gt;x&lt;/script&gt;"
        );
        assert_eq!(markdown("*[link](http://x)*"), "\\*\\[link\\](http://x)\\*");
        assert_eq!(markdown("- item"), "- item");
        assert_eq!(markdown_item("- item"), "\\- item");
        assert_eq!(markdown_item("1. item"), "1\\. item");
        assert_eq!(markdown_item("1.0.0"), "1\\.0.0");
        assert_eq!(markdown("1.0.0"), "1.0.0");
        assert_eq!(markdown("&lt;"), "&amp;lt;");
    }

    #[test]
    fn code_spans_cannot_be_closed_from_inside() {
        assert_eq!(markdown_code("ls -l /srv/a_b"), "`ls -l /srv/a_b`");
        assert_eq!(markdown_code("a`b"), "a\\`b");
        assert_eq!(markdown_code("a|b"), "a\\|b");
        assert_eq!(markdown_code("<x>"), "&lt;x&gt;");
        assert_eq!(markdown_code("é"), "é");
    }

    #[test]
    fn html_escapes_the_five_and_line_breaks() {
        assert_eq!(
            html("<script>alert('x\"')</script>&\n"),
            "&lt;script&gt;alert(&#39;x&quot;&#39;)&lt;/script&gt;&amp;<br>"
        );
        assert_eq!(html("abc\u{202e}txt"), "abc\\u{202e}txt");
    }

    #[test]
    fn json_escapes_bidi_and_invisible_characters_losslessly() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{200b}c\u{85}d\u{1b}"});
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeJson::new());
        serde::Serialize::serialize(&value, &mut ser).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r"a\u202eb\u200bc\u0085d\u001b"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
