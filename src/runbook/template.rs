//! Text with `{{variable}}` placeholders, and their safe substitution.
//!
//! A placeholder is `{{name}}` (spaces inside the braces allowed) where `name` is lower case
//! letters, digits and `_`, starting with a letter or `_`. Anything else between double braces
//! (`{{.Names}}` in a `docker` format string, say) is kept as written. Substitution never
//! re-reads its result, so a value that itself contains `{{...}}` is inserted literally.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Serialize, Serializer};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Variable(String),
}

/// A string with placeholders, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    raw: String,
    parts: Vec<Part>,
}

/// Something in a template that is probably a mistake, located in the template's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oddity {
    pub range: Range<usize>,
    pub message: String,
}

impl Template {
    /// Parses `raw`; oddities (such as `{{Host}}`, which is kept as written) are returned beside.
    pub fn parse(raw: &str) -> (Self, Vec<Oddity>) {
        let mut parts = Vec::new();
        let mut oddities = Vec::new();
        let mut text = String::new();
        let mut rest = raw;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            let after_open = &rest[open + 2..];
            let Some(close) = after_open.find("}}") else {
                oddities.push(Oddity {
                    range: offset + open..offset + open + 2,
                    message: "`{{` without a closing `}}` is kept as written".to_owned(),
                });
                break;
            };
            let inner = &after_open[..close];
            let name = inner.trim();
            let whole = open + 2 + close + 2;
            if is_variable_name(name) {
                text.push_str(&rest[..open]);
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Variable(name.to_owned()));
            } else {
                if looks_like_a_variable(name) {
                    oddities.push(Oddity {
                        range: offset + open..offset + whole,
                        message: format!(
                            "`{{{{{name}}}}}` is not a variable name (lower case letters, digits \
                             and `_`), so it is kept as written"
                        ),
                    });
                }
                text.push_str(&rest[..whole]);
            }
            rest = &rest[whole..];
            offset += whole;
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        (
            Self {
                raw: raw.to_owned(),
                parts,
            },
            oddities,
        )
    }

    /// A template without placeholders (or one whose oddities do not matter).
    pub fn literal(raw: &str) -> Self {
        Self::parse(raw).0
    }

    /// The text as written in the runbook.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The names of the variables it uses, in order, with repeats.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    pub fn has_variables(&self) -> bool {
        self.variables().next().is_some()
    }

    /// Fills in the placeholders with `value(name)`. Values are inserted as they are and never
    /// parsed again.
    pub fn render<'v>(&self, mut value: impl FnMut(&str) -> Cow<'v, str>) -> String {
        let mut out = String::with_capacity(self.raw.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(&value(name)),
            }
        }
        out
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

/// `[a-z_][a-z0-9_]*`
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Words and dashes only: someone probably meant a variable (`{{Host}}`, `{{case-id}}`).
fn looks_like_a_variable(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(t: &Template) -> Vec<&str> {
        t.variables().collect()
    }

    #[test]
    fn placeholders_are_found_with_or_without_spaces() {
        let (t, odd) = Template::parse("host {{host}} case {{ case_id }}.");
        assert!(odd.is_empty());
        assert_eq!(vars(&t), ["host", "case_id"]);
        assert_eq!(
            t.render(|name| Cow::Owned(name.to_uppercase())),
            "host HOST case CASE_ID."
        );
    }

    #[test]
    fn other_double_braces_are_kept_and_odd_ones_reported() {
        let (t, odd) = Template::parse("docker ps --format '{{.Names}}' {{Host}}");
        assert!(vars(&t).is_empty());
        assert_eq!(t.render(|_| Cow::Borrowed("x")), t.raw());
        assert_eq!(odd.len(), 1);
        assert_eq!(odd[0].range, 32..40);
    }

    #[test]
    fn unclosed_braces_are_reported() {
        let (t, odd) = Template::parse("a {{host");
        assert_eq!(t.render(|_| Cow::Borrowed("x")), "a {{host");
        assert_eq!(odd[0].range, 2..4);
    }

    #[test]
    fn substituted_values_are_never_expanded_again() {
        let (t, _) = Template::parse("{{a}}{{b}}");
        let out = t.render(|name| Cow::Borrowed(if name == "a" { "{{b}}" } else { "B" }));
        assert_eq!(out, "{{b}}B");
    }
}
