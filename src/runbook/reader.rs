//! Reading a TOML table key by key, collecting every problem instead of stopping at the first.
//!
//! serde's derive stops at the first unknown key or wrong type; an author fixing a runbook wants
//! all of them at once, each at its line and column. `Table` reads from the spanned tree that the
//! `toml` crate parses, remembers which keys were asked for, and reports the rest as unknown, with
//! a suggestion when one is close to a known key.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;

pub type Span = Range<usize>;
pub type Value<'i> = Spanned<DeValue<'i>>;

/// Where the problems go.
#[derive(Debug, Default)]
pub struct Problems {
    pub list: Vec<Diagnostic>,
}

impl Problems {
    pub fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.push(Diagnostic::error(span, message))
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.push(Diagnostic::warning(span, message))
    }

    fn push(&mut self, diagnostic: Diagnostic) -> &mut Diagnostic {
        let index = self.list.len();
        self.list.push(diagnostic);
        &mut self.list[index]
    }
}

/// Adds a hint to the problem just reported.
pub trait Help {
    fn help(&mut self, help: impl Into<String>);
}

impl Help for Diagnostic {
    fn help(&mut self, help: impl Into<String>) {
        self.help = Some(help.into());
    }
}

/// A table being read.
#[derive(Debug)]
pub struct Table<'a, 'i> {
    map: &'a DeTable<'i>,
    /// Where to point when a key is missing.
    pub span: Span,
    /// How the table is named in messages: "[runbook]", "step `stop`".
    pub what: String,
    asked: Vec<&'static str>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, span: Span, what: impl Into<String>) -> Self {
        Self {
            map: table,
            span,
            what: what.into(),
            asked: Vec::new(),
        }
    }

    /// The value of `key`, if present; the key counts as known either way.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value<'i>> {
        self.asked.push(key);
        self.map.get(key)
    }

    /// The span of the key itself, for problems about the key rather than its value.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.map.get_key_value(key).map(|(k, _)| k.span())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn missing(&self, problems: &mut Problems, key: &str, expected: &str) {
        problems
            .error(
                self.span.clone(),
                format!("missing `{key}` in {}", self.what),
            )
            .help(format!("add `{key} = {expected}`"));
    }

    fn wrong_type(&self, problems: &mut Problems, key: &str, value: &Value<'i>, expected: &str) {
        let diagnostic = problems.error(
            value.span(),
            format!(
                "`{key}` in {} must be {expected}, not {}",
                self.what,
                type_name(value.get_ref())
            ),
        );
        let help = match expected {
            "a string" => Some(format!("write the value in quotes: `{key} = \"...\"`")),
            "true or false" => Some(format!(
                "write `{key} = true` or `{key} = false`, without quotes"
            )),
            "a whole number" => Some(format!(
                "write a number without quotes or decimals, such as `{key} = 1`"
            )),
            "an array of strings" => Some(format!("write `{key} = [\"...\", \"...\"]`")),
            _ if expected.starts_with("an array of tables") => Some(format!(
                "write each one as a table under its own `[[{key}]]` header"
            )),
            _ => None,
        };
        if let Some(help) = help {
            diagnostic.help(help);
        }
    }

    pub fn string(&mut self, problems: &mut Problems, key: &'static str) -> Option<(String, Span)> {
        let value = self.get(key)?;
        if let Some(s) = value.get_ref().as_str() {
            Some((s.to_owned(), value.span()))
        } else {
            self.wrong_type(problems, key, value, "a string");
            None
        }
    }

    /// A string that must be there and must not be blank.
    pub fn required_string(
        &mut self,
        problems: &mut Problems,
        key: &'static str,
    ) -> Option<(String, Span)> {
        if !self.contains(key) {
            self.get(key);
            self.missing(problems, key, "\"...\"");
            return None;
        }
        let (text, span) = self.string(problems, key)?;
        if text.trim().is_empty() {
            problems
                .error(span, format!("`{key}` in {} is empty", self.what))
                .help(format!(
                    "write the {key}: it is required, and spaces alone do not count"
                ));
            return None;
        }
        Some((text, span))
    }

    pub fn boolean(&mut self, problems: &mut Problems, key: &'static str) -> Option<bool> {
        let value = self.get(key)?;
        if let Some(b) = value.get_ref().as_bool() {
            Some(b)
        } else {
            self.wrong_type(problems, key, value, "true or false");
            None
        }
    }

    pub fn integer(&mut self, problems: &mut Problems, key: &'static str) -> Option<(i64, Span)> {
        let value = self.get(key)?;
        let parsed = value
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok());
        if let Some(i) = parsed {
            Some((i, value.span()))
        } else {
            self.wrong_type(problems, key, value, "a whole number");
            None
        }
    }

    /// A TOML date (not a string), returned as written.
    pub fn date(&mut self, problems: &mut Problems, key: &'static str) -> Option<String> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Datetime(d) if d.date.is_some() && d.time.is_none() => Some(d.to_string()),
            _ => {
                self.wrong_type(
                    problems,
                    key,
                    value,
                    "a date such as 2026-11-23 (without quotes)",
                );
                None
            }
        }
    }

    /// An array of strings; each string with its span.
    pub fn strings(
        &mut self,
        problems: &mut Problems,
        key: &'static str,
    ) -> Option<Vec<(String, Span)>> {
        let value = self.get(key)?;
        let Some(array) = value.get_ref().as_array() else {
            self.wrong_type(problems, key, value, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(array.len());
        for item in &**array {
            if let Some(s) = item.get_ref().as_str() {
                out.push((s.to_owned(), item.span()));
            } else {
                problems
                    .error(
                        item.span(),
                        format!(
                            "`{key}` in {} must hold strings only, not {}",
                            self.what,
                            type_name(item.get_ref())
                        ),
                    )
                    .help("write each element in quotes: `[\"...\", \"...\"]`");
            }
        }
        Some(out)
    }

    /// One string or an array of them (`met_by = "a"` or `met_by = ["a", "b"]`).
    pub fn string_or_strings(
        &mut self,
        problems: &mut Problems,
        key: &'static str,
    ) -> Option<Vec<(String, Span)>> {
        let value = self.map.get(key)?;
        if let Some(s) = value.get_ref().as_str() {
            self.asked.push(key);
            return Some(vec![(s.to_owned(), value.span())]);
        }
        self.strings(problems, key)
    }

    /// A sub-table.
    pub fn table(
        &mut self,
        problems: &mut Problems,
        key: &'static str,
        what: impl Into<String>,
    ) -> Option<Table<'a, 'i>> {
        let value = self.get(key)?;
        let span = self.key_span(key).unwrap_or_else(|| value.span());
        if let Some(table) = value.get_ref().as_table() {
            Some(Table::new(table, span, what))
        } else {
            self.wrong_type(problems, key, value, "a table");
            None
        }
    }

    /// An array of tables (`[[steps]]`); each with the span to point at when a key is missing.
    pub fn tables(
        &mut self,
        problems: &mut Problems,
        key: &'static str,
    ) -> Option<Vec<(&'a DeTable<'i>, Span)>> {
        let value = self.get(key)?;
        let Some(array) = value.get_ref().as_array() else {
            self.wrong_type(
                problems,
                key,
                value,
                &format!("an array of tables (`[[{key}]]`)"),
            );
            return None;
        };
        let mut out = Vec::with_capacity(array.len());
        for item in &**array {
            if let Some(table) = item.get_ref().as_table() {
                out.push((table, item.span()));
            } else {
                problems
                    .error(
                        item.span(),
                        format!(
                            "`{key}` in {} must hold tables only, not {}",
                            self.what,
                            type_name(item.get_ref())
                        ),
                    )
                    .help(format!(
                        "write each element as a table under its own `[[{key}]]` header"
                    ));
            }
        }
        Some(out)
    }

    /// The entries of a table whose keys are names chosen by the author (`[variables.NAME]`).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Span, &'a Value<'i>)> {
        self.map
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
    }

    /// Reports every key that was never asked for. `elsewhere` may say where a key belongs
    /// instead ("`items` belongs to checklist steps").
    pub fn finish(self, problems: &mut Problems, elsewhere: impl Fn(&str) -> Option<String>) {
        for (key, _) in self.map {
            let name: &str = key.get_ref();
            if self.asked.contains(&name) {
                continue;
            }
            let diagnostic =
                problems.error(key.span(), format!("unknown key `{name}` in {}", self.what));
            if let Some(hint) = elsewhere(name) {
                diagnostic.help(hint);
            } else if let Some(close) = closest(name, &self.asked) {
                diagnostic.help(format!("did you mean `{close}`?"));
            } else {
                let mut known = self.asked.clone();
                known.sort_unstable();
                known.dedup();
                diagnostic.help(format!("known keys here: {}", known.join(", ")));
            }
        }
    }
}

/// How a TOML value's type is named in messages.
pub fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "a number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "a date or time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        // On a tie, the candidate that starts like the word.
        .min_by_key(|(d, c)| (*d, usize::MAX - common_prefix(word, c)))
        .map(|(_, c)| c)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Edit distance on characters, counting a swap of two neighbours as one edit (`itme`, `items`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(closest("titel", &["title", "body"]), Some("title"));
        assert_eq!(closest("nxt", &["next", "id"]), Some("next"));
        assert_eq!(closest("zzzzzz", &["next", "id"]), None);
        assert_eq!(closest("itme", &["title", "items"]), Some("items"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
