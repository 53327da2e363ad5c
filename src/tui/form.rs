//! A form of typed fields: what record, contact and transfer steps and the start screen ask
//! for. It holds the values being typed and says which are wrong; it writes nothing. The step
//! turns its values into one [`crate::session::Action`] when the user submits.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::input::Input;
use crate::runbook::FieldKind;
use crate::session::check_field;

/// One field being filled in.
#[derive(Debug, Clone)]
pub struct FormField {
    pub id: String,
    pub label: String,
    pub help: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    pub input: Input,
    /// The chosen option of a choice or yes/no field.
    pub option: Option<usize>,
    /// Why the value is refused, after a submit.
    pub error: Option<String>,
}

impl FormField {
    pub fn new(id: &str, label: impl Into<String>, kind: FieldKind, required: bool) -> Self {
        let input = if kind == FieldKind::Multiline {
            Input::multiline()
        } else {
            Input::new()
        };
        Self {
            id: id.to_owned(),
            label: label.into(),
            help: None,
            kind,
            required,
            input,
            option: None,
            error: None,
        }
    }

    #[must_use]
    pub fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    #[must_use]
    pub fn value(mut self, value: &str) -> Self {
        if let Some(options) = self.options() {
            self.option = options.iter().position(|o| o == value);
        } else {
            self.input = if self.kind == FieldKind::Multiline {
                Input::multiline().with_text(value)
            } else {
                Input::new().with_text(value)
            };
        }
        self
    }

    /// The options of a field chosen from a list (choice, yes/no).
    pub fn options(&self) -> Option<Vec<String>> {
        match &self.kind {
            FieldKind::Choice { options } => Some(options.clone()),
            FieldKind::Yesno => Some(vec!["yes".into(), "no".into()]),
            _ => None,
        }
    }

    /// The value as typed or chosen (before checking).
    pub fn raw(&self) -> String {
        match self.options() {
            Some(options) => self
                .option
                .and_then(|i| options.get(i).cloned())
                .unwrap_or_default(),
            None => self.input.text().to_owned(),
        }
    }

    /// What the field's type asks for, as a hint under an empty field.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            FieldKind::Datetime => {
                "date and time with offset, e.g. 2026-11-23 09:15+01:00, or `now`"
            }
            FieldKind::Number => "a number",
            FieldKind::Multiline => "Ctrl-J for a new line",
            FieldKind::Choice { .. } | FieldKind::Yesno => "Left/Right or Space to choose",
            FieldKind::Reference => "a reference number, as given",
            FieldKind::Text => "",
        }
    }
}

/// What a key did to the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    /// Used by the form.
    Used,
    /// Enter on the last field: the user wants to save.
    Submit,
    /// Not a key the form uses.
    Ignored,
}

/// Fields and the one that has the cursor.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<FormField>,
    pub focus: usize,
}

impl Form {
    pub fn new(fields: Vec<FormField>) -> Self {
        Self { fields, focus: 0 }
    }

    pub fn focused(&self) -> Option<&FormField> {
        self.fields.get(self.focus)
    }

    fn next(&mut self) {
        if self.focus + 1 < self.fields.len() {
            self.focus += 1;
        }
    }

    fn previous(&mut self) {
        self.focus = self.focus.saturating_sub(1);
    }

    pub fn handle(&mut self, key: KeyEvent) -> FormKey {
        let last = self.focus + 1 >= self.fields.len();
        let Some(field) = self.fields.get_mut(self.focus) else {
            return FormKey::Ignored;
        };
        match key.code {
            // Ctrl-S records the form from any field, as it records an inject's answer.
            KeyCode::Char('s') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                return FormKey::Submit;
            }
            KeyCode::Enter
                if key.modifiers.contains(KeyModifiers::ALT) && field.input.handle(key) =>
            {
                return FormKey::Used;
            }
            KeyCode::Enter if last => return FormKey::Submit,
            KeyCode::Enter | KeyCode::Tab => {
                self.next();
                return FormKey::Used;
            }
            KeyCode::BackTab => {
                self.previous();
                return FormKey::Used;
            }
            _ => {}
        }
        if let Some(options) = field.options() {
            let n = options.len();
            if n == 0 {
                return FormKey::Ignored;
            }
            let step = |i: Option<usize>, forward: bool| match (i, forward) {
                (None, true) => 0,
                (None, false) => n - 1,
                (Some(i), true) => (i + 1) % n,
                (Some(i), false) => (i + n - 1) % n,
            };
            match key.code {
                KeyCode::Right | KeyCode::Char(' ') => {
                    field.option = Some(step(field.option, true));
                }
                KeyCode::Left => field.option = Some(step(field.option, false)),
                KeyCode::Char(c) if key.modifiers.difference(KeyModifiers::SHIFT).is_empty() => {
                    // A letter picks the first option it begins (y/n for yes/no).
                    let lower = c.to_lowercase().to_string();
                    match options
                        .iter()
                        .position(|o| o.to_lowercase().starts_with(&lower))
                    {
                        Some(i) => field.option = Some(i),
                        None => return FormKey::Ignored,
                    }
                }
                KeyCode::Down => self.next(),
                KeyCode::Up => self.previous(),
                _ => return FormKey::Ignored,
            }
            if let Some(f) = self.fields.get_mut(self.focus) {
                f.error = None;
            }
            return FormKey::Used;
        }
        if field.input.handle(key) {
            field.error = None;
            return FormKey::Used;
        }
        match key.code {
            KeyCode::Down => self.next(),
            KeyCode::Up => self.previous(),
            _ => return FormKey::Ignored,
        }
        FormKey::Used
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(field) = self.fields.get_mut(self.focus)
            && field.options().is_none()
        {
            field.input.paste(text);
            field.error = None;
        }
    }

    /// Checks every field as the session will; marks the wrong ones, moves the cursor to the
    /// first and returns the values (datetimes given as `now` replaced by `now`) when all are
    /// good.
    pub fn check(&mut self, now: &str) -> Option<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        let mut first_bad = None;
        for (i, field) in self.fields.iter_mut().enumerate() {
            let mut raw = field.raw().trim().to_owned();
            if field.kind == FieldKind::Datetime && raw.eq_ignore_ascii_case("now") {
                now.clone_into(&mut raw);
            }
            field.error = if raw.is_empty() {
                field.required.then(|| "needed".to_owned())
            } else {
                check_field(&field.kind, &raw).err()
            };
            if field.error.is_some() {
                first_bad.get_or_insert(i);
            } else if !raw.is_empty() {
                values.insert(field.id.clone(), raw);
            }
        }
        match first_bad {
            Some(i) => {
                self.focus = i;
                None
            }
            None => Some(values),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn form() -> Form {
        Form::new(vec![
            FormField::new("who", "Who", FieldKind::Text, true),
            FormField::new("when", "When", FieldKind::Datetime, false),
            FormField::new("ok", "OK?", FieldKind::Yesno, true),
        ])
    }

    #[test]
    fn enter_moves_on_and_submits_on_the_last_field() {
        let mut f = form();
        assert_eq!(f.handle(key(KeyCode::Char('A'))), FormKey::Used);
        assert_eq!(f.handle(key(KeyCode::Enter)), FormKey::Used);
        assert_eq!(f.focus, 1);
        assert_eq!(f.handle(key(KeyCode::Tab)), FormKey::Used);
        assert_eq!(f.focus, 2);
        assert_eq!(f.handle(key(KeyCode::Char('y'))), FormKey::Used);
        assert_eq!(f.fields[2].raw(), "yes");
        assert_eq!(f.handle(key(KeyCode::Right)), FormKey::Used);
        assert_eq!(f.fields[2].raw(), "no");
        assert_eq!(f.handle(key(KeyCode::Enter)), FormKey::Submit);
        assert_eq!(f.handle(key(KeyCode::BackTab)), FormKey::Used);
        assert_eq!(f.focus, 1);
    }

    #[test]
    fn check_marks_bad_fields_and_focuses_the_first() {
        let mut f = form();
        f.focus = 2;
        assert!(f.check("2026-11-23T09:00:00Z").is_none());
        assert_eq!(f.focus, 0);
        assert_eq!(f.fields[0].error.as_deref(), Some("needed"));
        assert_eq!(f.fields[2].error.as_deref(), Some("needed"));
        f.fields[0] = f.fields[0].clone().value("A. Jansen");
        f.fields[1] = f.fields[1].clone().value("yesterday");
        f.fields[2] = f.fields[2].clone().value("no");
        assert!(f.check("2026-11-23T09:00:00Z").is_none());
        assert_eq!(f.focus, 1);
        assert!(
            f.fields[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("offset"))
        );
        f.fields[1] = f.fields[1].clone().value("NOW");
        let values = f.check("2026-11-23T09:00:00Z").unwrap();
        assert_eq!(values["when"], "2026-11-23T09:00:00Z");
        assert_eq!(values["ok"], "no");
        assert_eq!(values["who"], "A. Jansen");
    }
}
