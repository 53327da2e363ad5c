//! A small text input for notes, reasons and record fields.
//!
//! [`Input`] owns the text being typed, the cursor, the keys that edit them (the usual
//! readline ones) and the layout of the text in a box of a given width: wrapped rows for a
//! multi-line input, a window that scrolls sideways for a single-line one, and where the
//! terminal cursor goes. Enter is never taken: the caller uses it to confirm. What is typed or
//! pasted is kept as it is, less control characters; what is shown passes through
//! [`for_terminal`], so a bidi override in a pasted note shows as `\u{202e}` rather than
//! turning the text around.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::text::Line;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::sanitize::{for_terminal, needs_escape};

/// Text being typed, with a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    text: String,
    /// Where the cursor is, in characters from the start of `text`.
    cursor: usize,
    /// Whether the text may hold line breaks.
    multiline: bool,
}

impl Input {
    /// An empty single-line input.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty input whose text may span lines (Ctrl-J or Alt-Enter breaks a line).
    pub fn multiline() -> Self {
        Self {
            multiline: true,
            ..Self::default()
        }
    }

    /// The input holding `text` (cleaned as a paste is), with the cursor at its end, for
    /// editing a value given before.
    #[must_use]
    pub fn with_text(mut self, text: &str) -> Self {
        self.text = clean(text, self.multiline);
        self.cursor = self.text.chars().count();
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn is_multiline(&self) -> bool {
        self.multiline
    }

    /// Where the cursor is, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// Empties the input and returns what it held.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// Applies a key; returns whether the input used it, so the caller can give the others
    /// (Enter, Esc, Tab, and Up and Down in a single-line input) their meaning.
    ///
    /// Printable characters are inserted. Backspace and Delete delete; Left, Right, Home and
    /// End move (Ctrl-A and Ctrl-E too; with Ctrl, Home and End go to the very start and end);
    /// Ctrl or Alt with Left and Right (Alt-B, Alt-F) moves by word; Ctrl-U and Ctrl-K delete
    /// to the start and end of the line; Ctrl-W and Alt-Backspace delete the word before the
    /// cursor, Alt-D and Ctrl-Delete the one after. A multi-line input also takes Ctrl-J,
    /// Alt-Enter and Shift-Enter (a line break) and Up and Down (the line above or below).
    /// Key releases are not used.
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        if key.kind == KeyEventKind::Release {
            return false;
        }
        let mods = key.modifiers;
        if mods.intersects(KeyModifiers::SUPER | KeyModifiers::HYPER | KeyModifiers::META) {
            return false;
        }
        let ctrl = mods.contains(KeyModifiers::CONTROL);
        let alt = mods.contains(KeyModifiers::ALT);
        match key.code {
            // Ctrl-Alt is AltGr on Windows, which types characters.
            KeyCode::Char(c) if ctrl && alt => self.type_char(c),
            KeyCode::Char(c) if ctrl => self.control(c.to_ascii_lowercase()),
            KeyCode::Char(c) if alt => self.alt(c.to_ascii_lowercase()),
            KeyCode::Char(c) => self.type_char(c),
            KeyCode::Enter if self.multiline && (alt || mods.contains(KeyModifiers::SHIFT)) => {
                self.insert("\n");
                true
            }
            KeyCode::Backspace if ctrl || alt => self.delete_to(self.word_left()),
            KeyCode::Backspace => self.delete_to(self.unit_left()),
            KeyCode::Delete if ctrl || alt => self.delete_to(self.word_right()),
            KeyCode::Delete => self.delete_to(self.unit_right()),
            KeyCode::Left if ctrl || alt => self.move_to(self.word_left()),
            KeyCode::Left => self.move_to(self.unit_left()),
            KeyCode::Right if ctrl || alt => self.move_to(self.word_right()),
            KeyCode::Right => self.move_to(self.unit_right()),
            KeyCode::Home if ctrl => self.move_to(0),
            KeyCode::Home => self.move_to(self.line_start()),
            KeyCode::End if ctrl => self.move_to(self.len()),
            KeyCode::End => self.move_to(self.line_end()),
            KeyCode::Up if self.multiline => self.move_to(self.line_above()),
            KeyCode::Down if self.multiline => self.move_to(self.line_below()),
            _ => false,
        }
    }

    /// Inserts pasted text at the cursor: line breaks become spaces in a single-line input,
    /// tabs become spaces, other control characters are dropped.
    pub fn paste(&mut self, text: &str) {
        self.insert(&clean(text, self.multiline));
    }

    /// The text laid out in `width` columns, made safe to show, and where the cursor is in
    /// those lines as (column, row), for `Frame::set_cursor_position`.
    ///
    /// A single-line input gives one line, scrolled sideways so that the cursor shows. A
    /// multi-line input gives every row, wrapped at spaces where it can; its last column is
    /// kept free so that a cursor at the end of a full row still shows. Zero columns give no
    /// lines.
    pub fn lines(&self, width: u16) -> (Vec<Line<'static>>, (u16, u16)) {
        if width == 0 {
            return (Vec::new(), (0, 0));
        }
        if self.multiline {
            self.wrapped(usize::from(width))
        } else {
            self.scrolled(usize::from(width))
        }
    }

    fn scrolled(&self, width: usize) -> (Vec<Line<'static>>, (u16, u16)) {
        let chars: Vec<char> = self.text.chars().collect();
        let units = units(&chars, 0);
        let at = unit_at(&units, self.cursor);
        let widths: Vec<usize> = units.iter().map(|u| u.width.min(width)).collect();
        let sum = |range: std::ops::Range<usize>| -> usize { widths[range].iter().sum() };
        let cell = widths.get(at).copied().unwrap_or(1).max(1);
        let n = units.len();
        let start = if sum(0..n) < width || sum(0..at) + cell <= width {
            0
        } else if let Some(s) = (0..=at).find(|&s| sum(s..n) < width) {
            // The end of the text fits, with the cursor in it.
            s
        } else {
            (0..=at).find(|&s| sum(s..at) + cell <= width).unwrap_or(at)
        };
        let mut shown = String::new();
        let mut used = 0;
        for unit in &units[start..] {
            if used + unit.width > width {
                // A unit wider than the box (a long escape in a narrow field) shows cut.
                if used == 0 {
                    shown.push_str(&truncate(&unit.text, width));
                }
                break;
            }
            shown.push_str(&unit.text);
            used += unit.width;
        }
        let column = sum(start..at).min(width - 1);
        (vec![Line::from(shown)], (to_u16(column), 0))
    }

    fn wrapped(&self, width: usize) -> (Vec<Line<'static>>, (u16, u16)) {
        let room = width.saturating_sub(1).max(1);
        let chars: Vec<char> = self.text.chars().collect();
        let mut lines = Vec::new();
        let mut cursor = (0, 0);
        let mut offset = 0;
        for logical in chars.split(|&c| c == '\n') {
            let units = units(logical, offset);
            let rows = wrap(&units, room);
            let end = offset + logical.len();
            if (offset..=end).contains(&self.cursor) {
                let at = unit_at(&units, self.cursor);
                let row = rows
                    .iter()
                    .position(|r| at < r.next)
                    .unwrap_or(rows.len() - 1);
                let column: usize = units[rows[row].first..at]
                    .iter()
                    .map(|u| u.width.min(room))
                    .sum();
                cursor = (column.min(width - 1), lines.len() + row);
            }
            for row in &rows {
                let text: String = units[row.first..row.end]
                    .iter()
                    .map(|u| truncate(&u.text, room))
                    .collect();
                lines.push(Line::from(text));
            }
            offset = end + 1;
        }
        (lines, (to_u16(cursor.0), to_u16(cursor.1)))
    }

    fn control(&mut self, c: char) -> bool {
        match c {
            'a' => self.move_to(self.line_start()),
            'e' => self.move_to(self.line_end()),
            'u' => self.delete_to(self.line_start()),
            'k' => self.delete_to(self.line_end()),
            'w' => self.delete_to(self.word_left()),
            // What many terminals send for Backspace.
            'h' => self.delete_to(self.unit_left()),
            'j' if self.multiline => {
                self.insert("\n");
                true
            }
            _ => false,
        }
    }

    fn alt(&mut self, c: char) -> bool {
        match c {
            'b' => self.move_to(self.word_left()),
            'f' => self.move_to(self.word_right()),
            'd' => self.delete_to(self.word_right()),
            _ => false,
        }
    }

    fn type_char(&mut self, c: char) -> bool {
        if c.is_control() {
            return false;
        }
        let mut buf = [0; 4];
        self.insert(c.encode_utf8(&mut buf));
        true
    }

    /// Inserts text already cleaned.
    fn insert(&mut self, text: &str) {
        let at = self.byte(self.cursor);
        self.text.insert_str(at, text);
        self.cursor += text.chars().count();
    }

    fn move_to(&mut self, position: usize) -> bool {
        self.cursor = position.min(self.len());
        true
    }

    /// Deletes between the cursor and `position`, on either side of it.
    fn delete_to(&mut self, position: usize) -> bool {
        let (from, to) = if position < self.cursor {
            (position, self.cursor)
        } else {
            (self.cursor, position.min(self.len()))
        };
        let range = self.byte(from)..self.byte(to);
        self.text.replace_range(range, "");
        self.cursor = from;
        true
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    fn chars(&self) -> Vec<char> {
        self.text.chars().collect()
    }

    /// The byte offset of a character position.
    fn byte(&self, position: usize) -> usize {
        self.text
            .char_indices()
            .nth(position)
            .map_or(self.text.len(), |(b, _)| b)
    }

    /// The start of what shows as one character before the cursor (a letter and its
    /// combining marks move and delete together).
    fn unit_left(&self) -> usize {
        let chars = self.chars();
        let mut p = self.cursor.min(chars.len()).saturating_sub(1);
        while !is_boundary(&chars, p) {
            p -= 1;
        }
        p
    }

    fn unit_right(&self) -> usize {
        let chars = self.chars();
        let mut p = (self.cursor + 1).min(chars.len());
        while !is_boundary(&chars, p) {
            p += 1;
        }
        p
    }

    /// The start of the word before the cursor (words are separated by white space).
    fn word_left(&self) -> usize {
        let chars = self.chars();
        let mut p = self.cursor.min(chars.len());
        while p > 0 && chars[p - 1].is_whitespace() {
            p -= 1;
        }
        while p > 0 && !chars[p - 1].is_whitespace() {
            p -= 1;
        }
        p
    }

    /// The end of the word after the cursor.
    fn word_right(&self) -> usize {
        let chars = self.chars();
        let mut p = self.cursor.min(chars.len());
        while p < chars.len() && chars[p].is_whitespace() {
            p += 1;
        }
        while p < chars.len() && !chars[p].is_whitespace() {
            p += 1;
        }
        p
    }

    fn line_start(&self) -> usize {
        line_start(&self.chars(), self.cursor)
    }

    fn line_end(&self) -> usize {
        line_end(&self.chars(), self.cursor)
    }

    /// The same column on the line above, or the start of the text on the first line.
    fn line_above(&self) -> usize {
        let chars = self.chars();
        let start = line_start(&chars, self.cursor);
        if start == 0 {
            return 0;
        }
        let column = column(&chars, start, self.cursor);
        let above = line_start(&chars, start - 1);
        at_column(&chars, above, column)
    }

    /// The same column on the line below, or the end of the text on the last line.
    fn line_below(&self) -> usize {
        let chars = self.chars();
        let end = line_end(&chars, self.cursor);
        if end == chars.len() {
            return end;
        }
        let column = column(&chars, line_start(&chars, self.cursor), self.cursor);
        at_column(&chars, end + 1, column)
    }
}

/// Text to insert: line breaks kept in a multi-line input and made spaces otherwise, tabs made
/// spaces, other control characters dropped.
fn clean(text: &str, multiline: bool) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .filter_map(|c| match c {
            '\n' if multiline => Some('\n'),
            '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// What shows as one character: a character and the combining marks and variation selectors
/// after it.
#[derive(Debug)]
struct Unit {
    /// The position (in the whole text) after its last character.
    end: usize,
    /// How it shows: itself, or an escape such as `\u{202e}`.
    text: String,
    width: usize,
    space: bool,
}

/// A character that shows as part of the one before it.
fn is_extension(c: char) -> bool {
    !needs_escape(c) && c.width() == Some(0)
}

/// Whether a unit starts (or the text ends) at `p`.
fn is_boundary(chars: &[char], p: usize) -> bool {
    p == 0 || p >= chars.len() || chars[p - 1] == '\n' || !is_extension(chars[p])
}

/// The units of a line of text that starts at character `offset`.
fn units(line: &[char], offset: usize) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for (i, &c) in line.iter().enumerate() {
        match units.last_mut() {
            Some(last) if is_extension(c) => {
                last.text.push(c);
                last.end = offset + i + 1;
            }
            _ => {
                let mut buf = [0; 4];
                units.push(Unit {
                    end: offset + i + 1,
                    text: for_terminal(c.encode_utf8(&mut buf)).into_owned(),
                    width: 0,
                    space: c == ' ',
                });
            }
        }
    }
    for unit in &mut units {
        unit.width = unit.text.width();
    }
    units
}

/// The index of the unit holding or starting at `cursor` (the number of units when the cursor
/// is after them all).
fn unit_at(units: &[Unit], cursor: usize) -> usize {
    units
        .iter()
        .position(|u| u.end > cursor)
        .unwrap_or(units.len())
}

/// A row of a wrapped line: the units it shows, and where the next row starts (after a space
/// that ended the row and is not shown).
#[derive(Debug)]
struct Row {
    first: usize,
    end: usize,
    next: usize,
}

/// Breaks a line into rows of at most `room` columns, at spaces where it can and between
/// characters where a word is longer than a row.
fn wrap(units: &[Unit], room: usize) -> Vec<Row> {
    let width = |u: &Unit| u.width.min(room);
    let mut rows = Vec::new();
    let (mut start, mut column, mut last_space) = (0, 0, None);
    let mut i = 0;
    while i < units.len() {
        let w = width(&units[i]);
        if column + w <= room {
            if units[i].space {
                last_space = Some(i);
            }
            column += w;
            i += 1;
            continue;
        }
        if units[i].space {
            rows.push(Row {
                first: start,
                end: i,
                next: i + 1,
            });
            i += 1;
            start = i;
        } else if let Some(space) = last_space {
            rows.push(Row {
                first: start,
                end: space + 1,
                next: space + 1,
            });
            start = space + 1;
        } else {
            rows.push(Row {
                first: start,
                end: i,
                next: i,
            });
            start = i;
        }
        column = units[start..i].iter().map(width).sum();
        last_space = None;
    }
    rows.push(Row {
        first: start,
        end: units.len(),
        next: units.len(),
    });
    rows
}

fn line_start(chars: &[char], position: usize) -> usize {
    chars[..position.min(chars.len())]
        .iter()
        .rposition(|&c| c == '\n')
        .map_or(0, |i| i + 1)
}

fn line_end(chars: &[char], position: usize) -> usize {
    let position = position.min(chars.len());
    chars[position..]
        .iter()
        .position(|&c| c == '\n')
        .map_or(chars.len(), |i| position + i)
}

/// The columns taken by the characters from `start` to `position` on one line.
fn column(chars: &[char], start: usize, position: usize) -> usize {
    let end = line_end(chars, start);
    units(&chars[start..end], start)
        .iter()
        .take_while(|u| u.end <= position)
        .map(|u| u.width)
        .sum()
}

/// The position on the line starting at `start` that is at, or just before, `column`.
fn at_column(chars: &[char], start: usize, column: usize) -> usize {
    let end = line_end(chars, start);
    let mut position = start;
    let mut used = 0;
    for unit in units(&chars[start..end], start) {
        if used + unit.width > column {
            break;
        }
        used += unit.width;
        position = unit.end;
    }
    position
}

/// The longest start of `text` no wider than `room` columns.
fn truncate(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_owned();
    }
    let mut used = 0;
    text.chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= room
        })
        .collect()
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn alt(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::ALT)
    }

    fn with_ctrl(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::CONTROL)
    }

    /// An input holding `text` with the cursor where `|` is.
    fn at(text: &str, multiline: bool) -> Input {
        let cursor = text.chars().position(|c| c == '|').unwrap_or(0);
        let base = if multiline {
            Input::multiline()
        } else {
            Input::new()
        };
        let mut input = base.with_text(&text.replace('|', ""));
        input.cursor = cursor;
        input
    }

    /// The text with `|` where the cursor is.
    fn shown(input: &Input) -> String {
        let mut text = input.text().to_owned();
        text.insert(input.byte(input.cursor), '|');
        text
    }

    fn after(text: &str, multiline: bool, keys: &[KeyEvent]) -> String {
        let mut input = at(text, multiline);
        for k in keys {
            input.handle(*k);
        }
        shown(&input)
    }

    fn single(text: &str, keys: &[KeyEvent]) -> String {
        after(text, false, keys)
    }

    fn multi(text: &str, keys: &[KeyEvent]) -> String {
        after(text, true, keys)
    }

    fn text_of(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn typing_inserts_at_the_cursor() {
        let mut input = Input::new();
        for c in "ab".chars() {
            assert!(input.handle(key(KeyCode::Char(c))));
        }
        assert!(input.handle(KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT)));
        assert_eq!(shown(&input), "abC|");
        assert_eq!(single("a|c", &[key(KeyCode::Char('b'))]), "ab|c");
        assert_eq!(single("|", &[key(KeyCode::Char('日'))]), "日|");
    }

    #[test]
    fn altgr_characters_are_typed() {
        let altgr = KeyEvent::new(
            KeyCode::Char('@'),
            KeyModifiers::CONTROL | KeyModifiers::ALT,
        );
        assert_eq!(single("a|", &[altgr]), "a@|");
    }

    #[test]
    fn control_characters_are_not_typed() {
        let mut input = Input::new();
        assert!(!input.handle(key(KeyCode::Char('\u{1b}'))));
        assert!(!input.handle(key(KeyCode::Char('\u{7}'))));
        assert!(input.is_empty());
    }

    #[test]
    fn releases_are_ignored() {
        let mut input = Input::new();
        let release = KeyEvent::new_with_kind(
            KeyCode::Char('a'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        );
        assert!(!input.handle(release));
        assert!(input.is_empty());
    }

    #[test]
    fn backspace_and_delete() {
        assert_eq!(single("ab|c", &[key(KeyCode::Backspace)]), "a|c");
        assert_eq!(single("|abc", &[key(KeyCode::Backspace)]), "|abc");
        assert_eq!(single("ab|c", &[key(KeyCode::Delete)]), "ab|");
        assert_eq!(single("abc|", &[key(KeyCode::Delete)]), "abc|");
        assert_eq!(single("ab|c", &[ctrl('h')]), "a|c");
        // A letter and its combining accent go together.
        assert_eq!(single("ae\u{301}|", &[key(KeyCode::Backspace)]), "a|");
        assert_eq!(single("a|e\u{301}b", &[key(KeyCode::Delete)]), "a|b");
    }

    #[test]
    fn left_right_home_end() {
        assert_eq!(single("ab|c", &[key(KeyCode::Left)]), "a|bc");
        assert_eq!(single("|abc", &[key(KeyCode::Left)]), "|abc");
        assert_eq!(single("ab|c", &[key(KeyCode::Right)]), "abc|");
        assert_eq!(single("abc|", &[key(KeyCode::Right)]), "abc|");
        assert_eq!(single("ab|c", &[key(KeyCode::Home)]), "|abc");
        assert_eq!(single("a|bc", &[key(KeyCode::End)]), "abc|");
        assert_eq!(single("ab|c", &[ctrl('a')]), "|abc");
        assert_eq!(single("a|bc", &[ctrl('e')]), "abc|");
        assert_eq!(single("e\u{301}|x", &[key(KeyCode::Left)]), "|e\u{301}x");
        assert_eq!(single("|e\u{301}x", &[key(KeyCode::Right)]), "e\u{301}|x");
    }

    #[test]
    fn kill_to_start_and_end() {
        assert_eq!(single("ab|cd", &[ctrl('u')]), "|cd");
        assert_eq!(single("ab|cd", &[ctrl('k')]), "ab|");
        assert_eq!(multi("ab\ncd|ef\ngh", &[ctrl('u')]), "ab\n|ef\ngh");
        assert_eq!(multi("ab\ncd|ef\ngh", &[ctrl('k')]), "ab\ncd|\ngh");
    }

    #[test]
    fn words() {
        assert_eq!(single("rm -rf /srv/x  |", &[ctrl('w')]), "rm -rf |");
        assert_eq!(single("rm -rf| /srv", &[ctrl('w')]), "rm | /srv");
        assert_eq!(single("|abc", &[ctrl('w')]), "|abc");
        assert_eq!(single("one two|", &[alt(KeyCode::Backspace)]), "one |");
        assert_eq!(
            single("one |two three", &[alt(KeyCode::Char('d'))]),
            "one | three"
        );
        assert_eq!(
            single("one |two three", &[with_ctrl(KeyCode::Delete)]),
            "one | three"
        );
        for back in [
            alt(KeyCode::Left),
            with_ctrl(KeyCode::Left),
            alt(KeyCode::Char('b')),
        ] {
            assert_eq!(single("one two th|ree", &[back]), "one two |three");
            assert_eq!(single("one two |three", &[back]), "one |two three");
        }
        for forward in [
            alt(KeyCode::Right),
            with_ctrl(KeyCode::Right),
            alt(KeyCode::Char('f')),
        ] {
            assert_eq!(single("o|ne two", &[forward]), "one| two");
            assert_eq!(single("one| two", &[forward]), "one two|");
        }
    }

    #[test]
    fn whole_text_with_ctrl_home_and_end() {
        assert_eq!(multi("ab\nc|d", &[with_ctrl(KeyCode::Home)]), "|ab\ncd");
        assert_eq!(multi("a|b\ncd", &[with_ctrl(KeyCode::End)]), "ab\ncd|");
    }

    #[test]
    fn line_breaks_only_in_multiline_inputs() {
        let alt_enter = alt(KeyCode::Enter);
        let shift_enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT);
        assert_eq!(multi("ab|c", &[ctrl('j')]), "ab\n|c");
        assert_eq!(multi("ab|c", &[alt_enter]), "ab\n|c");
        assert_eq!(multi("ab|c", &[shift_enter]), "ab\n|c");
        let mut input = at("ab|c", false);
        assert!(!input.handle(ctrl('j')));
        assert!(!input.handle(alt_enter));
        assert_eq!(shown(&input), "ab|c");
    }

    #[test]
    fn keys_for_the_caller_are_not_used() {
        for multiline in [false, true] {
            let mut input = at("ab|c", multiline);
            for k in [
                key(KeyCode::Enter),
                key(KeyCode::Esc),
                key(KeyCode::Tab),
                key(KeyCode::BackTab),
                ctrl('c'),
                ctrl('s'),
            ] {
                assert!(!input.handle(k), "{k:?}");
            }
            assert_eq!(shown(&input), "ab|c");
        }
        let mut input = at("ab|c", false);
        assert!(!input.handle(key(KeyCode::Up)));
        assert!(!input.handle(key(KeyCode::Down)));
    }

    #[test]
    fn up_and_down_keep_the_column() {
        let up = key(KeyCode::Up);
        let down = key(KeyCode::Down);
        assert_eq!(multi("abcd\nef|gh", &[up]), "ab|cd\nefgh");
        assert_eq!(multi("ab|cd\nefgh", &[down]), "abcd\nef|gh");
        // A shorter line: its end.
        assert_eq!(multi("a\nbcd|", &[up]), "a|\nbcd");
        // First and last lines: the very start and end.
        assert_eq!(multi("ab|c\nd", &[up]), "|abc\nd");
        assert_eq!(multi("abc\nd|e", &[down]), "abc\nde|");
        // Columns, not characters: two wide characters are four columns.
        assert_eq!(multi("abcd|\n日本語", &[down]), "abcd\n日本|語");
        assert_eq!(multi("abcd\n日本|語", &[up]), "abcd|\n日本語");
        // Half-way through a wide character: before it.
        assert_eq!(multi("abc|\n日本", &[down]), "abc\n日|本");
    }

    #[test]
    fn paste_cleans_the_text() {
        let mut input = Input::new();
        input.paste("one\r\ntwo\nthree\tfour\u{1b}[31m\u{7}");
        assert_eq!(input.text(), "one two three four[31m");
        assert_eq!(input.cursor(), input.text().chars().count());
        let mut input = at("a|b", true);
        input.paste("1\r\n2\r3");
        assert_eq!(shown(&input), "a1\n2\n3|b");
        // Bidi controls are kept (they are what was pasted) but show escaped.
        let mut input = Input::new();
        input.paste("abc\u{202E}txt");
        assert_eq!(input.text(), "abc\u{202E}txt");
        assert_eq!(text_of(&input.lines(40).0), ["abc\\u{202e}txt"]);
    }

    #[test]
    fn with_text_clear_and_take() {
        let mut input = Input::new().with_text("a\nb");
        assert_eq!(input.text(), "a b");
        assert_eq!(input.cursor(), 3);
        assert!(!input.is_empty());
        assert_eq!(input.take(), "a b");
        assert!(input.is_empty());
        assert_eq!(input.cursor(), 0);
        let mut input = Input::multiline().with_text("a\nb");
        assert!(input.is_multiline());
        assert_eq!(input.text(), "a\nb");
        input.clear();
        assert!(input.is_empty());
        assert_eq!(input.cursor(), 0);
    }

    #[test]
    fn single_line_layout_and_cursor() {
        let input = at("hello|", false);
        assert_eq!(input.lines(10), (vec![Line::from("hello")], (5, 0)));
        let input = at("he|llo", false);
        assert_eq!(input.lines(10).1, (2, 0));
        assert_eq!(Input::new().lines(10), (vec![Line::from("")], (0, 0)));
        assert_eq!(Input::new().lines(0), (vec![], (0, 0)));
    }

    #[test]
    fn single_line_scrolls_to_keep_the_cursor_in_view() {
        // At the end: the end shows, with a free column for the cursor.
        let input = at("0123456789|", false);
        assert_eq!(text_of(&input.lines(5).0), ["6789"]);
        assert_eq!(input.lines(5).1, (4, 0));
        // Near the start: the start shows.
        let input = at("01|23456789", false);
        assert_eq!(text_of(&input.lines(5).0), ["01234"]);
        assert_eq!(input.lines(5).1, (2, 0));
        // Near the end: the end shows, with the cursor in it.
        let input = at("0123456|789", false);
        assert_eq!(text_of(&input.lines(5).0), ["6789"]);
        assert_eq!(input.lines(5).1, (1, 0));
        // In the middle: the cursor at the right edge.
        let input = at("0123|456789", false);
        assert_eq!(text_of(&input.lines(3).0), ["234"]);
        assert_eq!(input.lines(3).1, (2, 0));
    }

    #[test]
    fn wide_characters_take_two_columns() {
        let input = at("日本|語", false);
        assert_eq!(input.lines(20), (vec![Line::from("日本語")], (4, 0)));
        let input = at("a😀|b", false);
        assert_eq!(input.lines(20).1, (3, 0));
        // A wide character under the cursor shows whole.
        let input = at("日本語|", false);
        assert_eq!(text_of(&input.lines(5).0), ["本語"]);
        assert_eq!(input.lines(5).1, (4, 0));
        let input = at("日本|語", false);
        assert_eq!(text_of(&input.lines(5).0), ["本語"]);
        assert_eq!(input.lines(5).1, (2, 0));
        // Combining marks take none.
        let input = at("e\u{301}e\u{301}|", false);
        assert_eq!(input.lines(20).1, (2, 0));
        // Nor does a variation selector; the emoji it selects takes two.
        let input = at("\u{2764}\u{fe0f}|", false);
        assert_eq!(input.lines(20).1, (2, 0));
    }

    #[test]
    fn multiline_wraps_at_spaces() {
        let input = Input::multiline().with_text("one two three\nfour");
        let (lines, cursor) = input.lines(10);
        assert_eq!(text_of(&lines), ["one two ", "three", "four"]);
        assert_eq!(cursor, (4, 2));
        for line in &lines {
            assert!(line.width() < 10);
        }
    }

    #[test]
    fn multiline_breaks_long_words_and_wide_characters() {
        let input = Input::multiline().with_text("abcdefghij");
        assert_eq!(text_of(&input.lines(5).0), ["abcd", "efgh", "ij"]);
        let input = Input::multiline().with_text("日本語のテ");
        assert_eq!(text_of(&input.lines(6).0), ["日本", "語の", "テ"]);
        assert_eq!(input.lines(6).1, (2, 2));
    }

    #[test]
    fn multiline_cursor_positions() {
        // On the space that ended a full row: at the end of that row.
        let input = at("abcd| efgh", true);
        assert_eq!(text_of(&input.lines(5).0), ["abcd", "efgh"]);
        assert_eq!(input.lines(5).1, (4, 0));
        let input = at("abcd |efgh", true);
        assert_eq!(input.lines(5).1, (0, 1));
        // At the end of a full row: in the free last column.
        let input = at("abcd|", true);
        assert_eq!(input.lines(5).1, (4, 0));
        // On an empty line.
        let input = at("ab\n|\ncd", true);
        assert_eq!(text_of(&input.lines(5).0), ["ab", "", "cd"]);
        assert_eq!(input.lines(5).1, (0, 1));
        // After a trailing line break.
        let input = at("ab\n|", true);
        assert_eq!(text_of(&input.lines(5).0), ["ab", ""]);
        assert_eq!(input.lines(5).1, (0, 1));
    }

    #[test]
    fn escapes_show_and_are_measured_as_shown() {
        let mut input = Input::multiline();
        input.paste("a\u{200B}b");
        let (lines, cursor) = input.lines(40);
        assert_eq!(text_of(&lines), ["a\\u{200b}b"]);
        assert_eq!(cursor, (10, 0));
        // Too wide for the box: cut, never wider than it.
        let (lines, _) = input.lines(4);
        for line in &lines {
            assert!(line.width() <= 4, "{line}");
        }
        let mut single = Input::new();
        single.paste("\u{202E}");
        single.cursor = 0;
        let (lines, cursor) = single.lines(4);
        assert_eq!(text_of(&lines), ["\\u{2"]);
        assert_eq!(cursor, (0, 0));
    }

    #[test]
    fn narrow_boxes_do_not_panic() {
        for text in [
            "",
            "a",
            "日本",
            "a b c",
            "ab\n\ncd",
            "\u{202e}x",
            "e\u{301}",
        ] {
            for width in 0..6 {
                for multiline in [false, true] {
                    let base = if multiline {
                        Input::multiline()
                    } else {
                        Input::new()
                    };
                    let mut input = base.with_text(text);
                    for cursor in 0..=text.chars().count() {
                        input.cursor = cursor;
                        let (lines, (x, y)) = input.lines(width);
                        if width > 0 {
                            assert!(x < width, "{text:?} {width} {cursor}");
                            assert!(usize::from(y) < lines.len());
                        }
                        for line in &lines {
                            assert!(line.width() <= usize::from(width).max(1));
                        }
                    }
                }
            }
        }
    }
}
