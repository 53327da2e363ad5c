//! Problems found in a runbook, and how they are shown: `path:line:col: error: message`, the
//! offending line with a caret under the problem (as rustc does), and a hint on what to do.

use std::fmt::Write as _;
use std::ops::Range;

use serde::Serialize;

use crate::sanitize;

/// How bad a problem is: errors make a runbook invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem, located by a byte range in the runbook's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Byte range in the source text that the problem is about.
    pub span: Range<usize>,
    /// What to do about it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            message: message.into(),
            span,
            help: None,
        }
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A line and column, both counted from 1; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// The text a runbook was read from, with its name, for turning byte offsets into locations.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    name: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(name: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name,
            text,
            line_starts,
        }
    }

    pub fn name(&self) -> &str {
        self.name
    }

    /// Where a byte offset lies. Offsets past the end, or inside a character, are moved back to
    /// the nearest character boundary.
    pub fn location(&self, offset: usize) -> Location {
        let offset = self.floor_boundary(offset);
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        Location {
            line: line + 1,
            column,
        }
    }

    fn floor_boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The text of a line (counted from 1), without its line ending.
    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }

    /// Renders one problem the way compilers do, ready to print.
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let at = self.location(diagnostic.span.start);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}:{}:{}: {}: {}",
            sanitize::for_terminal(self.name),
            at.line,
            at.column,
            diagnostic.severity.label(),
            sanitize::for_terminal(&diagnostic.message)
        );
        let line_text = self.line_text(at.line);
        let gutter = " ".repeat(at.line.to_string().len());
        let shown = sanitize::for_terminal(line_text);
        // The caret goes under the problem as shown, so count the characters shown before it.
        let before: String = line_text.chars().take(at.column - 1).collect();
        let pad = sanitize::for_terminal(&before).chars().count();
        let end = self.floor_boundary(diagnostic.span.end);
        let line_end = self.line_starts[at.line - 1] + line_text.len();
        let start = self.floor_boundary(diagnostic.span.start);
        let underlined = &self.text[start..end.clamp(start, line_end.max(start))];
        let width = sanitize::for_terminal(underlined).chars().count().max(1);
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{} | {}", at.line, shown);
        let _ = writeln!(out, "{gutter} | {}{}", " ".repeat(pad), "^".repeat(width));
        if let Some(help) = &diagnostic.help {
            let _ = writeln!(out, "{gutter} = help: {}", sanitize::for_terminal(help));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let source = Source::new("f.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(source.location(0), Location { line: 1, column: 1 });
        assert_eq!(source.location(6), Location { line: 2, column: 1 });
        // After "bé = " (é is two bytes) comes the string, at character 6.
        assert_eq!(source.location(12), Location { line: 2, column: 6 });
        assert_eq!(source.location(1000), Location { line: 3, column: 1 });
    }

    #[test]
    fn render_shows_the_line_and_a_caret_under_the_span() {
        let text = "[[steps]]\nnext = \"nowhere\"\n";
        let source = Source::new("rb.toml", text);
        let start = text.find("\"nowhere\"").unwrap_or_default();
        let diagnostic = Diagnostic::error(start..start + 9, "unknown step `nowhere`")
            .with_help("name one of the step ids");
        assert_eq!(
            source.render(&diagnostic),
            "rb.toml:2:8: error: unknown step `nowhere`\n  |\n2 | next = \"nowhere\"\n  |        ^^^^^^^^^\n  = help: name one of the step ids\n"
        );
    }

    #[test]
    fn render_escapes_control_characters_and_keeps_the_caret_aligned() {
        let text = "title = \"\u{1b}[2J\" x\n";
        let source = Source::new("rb.toml", text);
        let start = text.find('x').unwrap_or_default();
        let rendered = source.render(&Diagnostic::warning(start..start + 1, "odd"));
        assert!(!rendered.contains('\u{1b}'));
        let lines: Vec<&str> = rendered.lines().collect();
        let caret = lines[3].find('^').unwrap_or_default();
        assert_eq!(&lines[2][caret..=caret], "x");
    }
}
