//! Laying out runbook Markdown for the terminal.
//!
//! Step texts, summaries and help in a runbook are Markdown. This module owns turning them
//! into ratatui [`Line`]s of a given width. It wraps words itself, by display width, rather than
//! leaving that to `Paragraph::wrap`, so that list items hang under their marker, block quotes
//! keep their bar on every line and code stays verbatim. It styles with text modifiers only,
//! never colours, so that its output honours `NO_COLOR`; and every piece of runbook text passes
//! through [`for_terminal`] before it is laid out, so nothing in a runbook reaches the terminal
//! as an escape sequence.

use std::collections::HashMap;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::sanitize::for_terminal;

/// `**strong**` text.
const STRONG: Modifier = Modifier::BOLD;
/// `*emphasised*` text.
const EMPHASIS: Modifier = Modifier::ITALIC;
/// Headings of every level: a step text is too short for levels to need telling apart.
const HEADING: Modifier = Modifier::BOLD;
/// `inline code`: reversed, so that its exact extent (spaces included) shows; it is usually
/// something to type.
const CODE: Modifier = Modifier::REVERSED;
/// The text of a link.
const LINK: Modifier = Modifier::UNDERLINED;
/// Code blocks are indented so that they stand apart from paragraphs without a colour.
const CODE_INDENT: &str = "  ";
/// Tabs in code blocks expand to the next multiple of this many columns.
const TAB_STOP: usize = 4;

/// The characters used to draw structure, so that terminals whose locale is not UTF-8 get
/// plain ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbols {
    /// Marks an item of an unordered list (a space follows it).
    pub bullet: &'static str,
    /// Runs down the left of a block quote (a space follows it).
    pub quote: &'static str,
    /// Ends a code line cut at the right edge, and stands for a character too wide for a line.
    pub cut: &'static str,
    /// Repeated across the width for a horizontal rule.
    pub rule: &'static str,
}

impl Symbols {
    /// For UTF-8 terminals.
    pub const UNICODE: Self = Self {
        bullet: "•",
        quote: "│",
        cut: "…",
        rule: "─",
    };

    /// For terminals whose locale is not UTF-8.
    pub const ASCII: Self = Self {
        bullet: "-",
        quote: "|",
        cut: ">",
        rule: "-",
    };
}

/// Lays out `markdown` in lines no wider than `width` columns.
///
/// Paragraphs are word-wrapped; list items hang under their marker ("• " or "1. "); block
/// quotes carry a bar on every line; code blocks are kept verbatim and cut, with a marker,
/// where they do not fit; words longer than a line are broken. Links show as "text (url)"
/// unless the text is the address itself. Nothing fits in zero columns, so a width of 0 gives
/// no lines.
pub fn render(markdown: &str, width: u16, symbols: &Symbols) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, Options::empty()).collect();
    let shapes = list_shapes(&events);
    let mut renderer = Renderer::new(usize::from(width), symbols);
    for (index, event) in events.into_iter().enumerate() {
        renderer.event(event, shapes.get(&index));
    }
    renderer.finish()
}

/// What a list needs to be known before its first item is drawn.
#[derive(Debug, Clone, Copy, Default)]
struct ListShape {
    /// How many items it has, to right-align the numbers of an ordered list.
    items: u64,
    /// Whether blank lines separate its items (its items hold paragraphs).
    loose: bool,
}

/// The shape of every list, keyed by the index of the event that starts it.
fn list_shapes(events: &[Event<'_>]) -> HashMap<usize, ListShape> {
    #[derive(PartialEq)]
    enum Open {
        List,
        Item,
        Other,
    }
    let mut shapes = HashMap::new();
    let mut lists: Vec<(usize, ListShape)> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        match event {
            Event::Start(Tag::List(_)) => {
                lists.push((index, ListShape::default()));
                open.push(Open::List);
            }
            Event::Start(Tag::Item) => {
                if let Some((_, shape)) = lists.last_mut() {
                    shape.items = shape.items.saturating_add(1);
                }
                open.push(Open::Item);
            }
            Event::Start(tag) => {
                if matches!(tag, Tag::Paragraph)
                    && open.last() == Some(&Open::Item)
                    && let Some((_, shape)) = lists.last_mut()
                {
                    shape.loose = true;
                }
                open.push(Open::Other);
            }
            Event::End(end) => {
                if open.pop() == Some(Open::List)
                    && let Some((start, shape)) = lists.pop()
                {
                    debug_assert!(matches!(end, TagEnd::List(_)));
                    shapes.insert(start, shape);
                }
            }
            _ => {}
        }
    }
    shapes
}

/// A block that puts something before each of the lines inside it.
#[derive(Debug)]
enum Container {
    Quote,
    Item {
        /// "• " or " 9. ", shown on the item's first line.
        marker: String,
        /// Whether the first line has been drawn, so later lines hang under it.
        used: bool,
        /// Whether the item is in a tight list (no blank lines between items).
        tight: bool,
    },
}

/// An open list.
#[derive(Debug)]
struct ListState {
    /// The next number, for an ordered list.
    next: Option<u64>,
    /// The width of the largest number, to right-align the others.
    digits: usize,
    loose: bool,
}

/// An open link (or image), whose address follows its text unless the text is the address.
#[derive(Debug)]
struct LinkState {
    url: String,
    text: String,
}

/// Inline content of the paragraph being collected, already made safe.
#[derive(Debug)]
enum Inline {
    Text(String, Style),
    Break,
}

/// Inline content split for wrapping.
#[derive(Debug)]
enum Token {
    /// Characters between spaces, possibly in several styles ("**bold**,").
    Word(Vec<Piece>),
    /// One or more spaces, where a line may break.
    Space(Style),
    /// A hard line break.
    Break,
}

#[derive(Debug)]
struct Piece {
    text: String,
    style: Style,
    width: usize,
}

/// Walks the events and lays out lines.
#[derive(Debug)]
struct Renderer<'s> {
    width: usize,
    symbols: &'s Symbols,
    lines: Vec<Line<'static>>,
    containers: Vec<Container>,
    lists: Vec<ListState>,
    inline: Vec<Inline>,
    strong: usize,
    emphasis: usize,
    heading: bool,
    links: Vec<LinkState>,
    /// The text of the code or HTML block being collected.
    verbatim: Option<String>,
    /// Whether a blank line goes before the next block.
    pending_blank: bool,
}

impl<'s> Renderer<'s> {
    fn new(width: usize, symbols: &'s Symbols) -> Self {
        Self {
            width,
            symbols,
            lines: Vec::new(),
            containers: Vec::new(),
            lists: Vec::new(),
            inline: Vec::new(),
            strong: 0,
            emphasis: 0,
            heading: false,
            links: Vec::new(),
            verbatim: None,
            pending_blank: false,
        }
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        self.flush_inline();
        self.lines
    }

    fn event(&mut self, event: Event<'_>, shape: Option<&ListShape>) {
        match event {
            Event::Start(tag) => self.start(tag, shape.copied().unwrap_or_default()),
            Event::End(end) => self.end(end),
            Event::Text(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::InlineHtml(text) => self.text(&text, self.style()),
            Event::Html(html) => {
                if let Some(block) = &mut self.verbatim {
                    block.push_str(&html);
                } else {
                    self.text(&html.replace('\n', " "), self.style());
                }
            }
            Event::Code(code) => self.text(&code, self.style().add_modifier(CODE)),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]"), self.style()),
            Event::TaskListMarker(done) => {
                self.text(if done { "[x] " } else { "[ ] " }, self.style());
            }
            Event::SoftBreak => self.text(" ", self.style()),
            Event::HardBreak => self.inline.push(Inline::Break),
            Event::Rule => self.rule(),
        }
    }

    fn start(&mut self, tag: Tag<'_>, shape: ListShape) {
        match tag {
            Tag::Paragraph
            | Tag::Table(_)
            | Tag::TableHead
            | Tag::TableRow
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => self.block_start(),
            Tag::Heading { .. } => {
                self.block_start();
                self.heading = true;
            }
            Tag::BlockQuote(_) => {
                self.block_start();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(_) | Tag::HtmlBlock => {
                self.block_start();
                self.verbatim = Some(String::new());
            }
            Tag::List(first) => {
                self.block_start();
                let last = first.map(|n| n.saturating_add(shape.items.saturating_sub(1)));
                self.lists.push(ListState {
                    next: first,
                    digits: last.map_or(0, |n| n.to_string().len()),
                    loose: shape.loose,
                });
            }
            Tag::Item => {
                self.block_start();
                let (marker, tight) = match self.lists.last_mut() {
                    Some(ListState {
                        next: Some(n),
                        digits,
                        loose,
                    }) => {
                        let marker = format!("{n:>digits$}. ");
                        *n = n.saturating_add(1);
                        (marker, !*loose)
                    }
                    Some(list) => (format!("{} ", self.symbols.bullet), !list.loose),
                    None => (format!("{} ", self.symbols.bullet), true),
                };
                self.containers.push(Container::Item {
                    marker,
                    used: false,
                    tight,
                });
            }
            Tag::Emphasis => self.emphasis += 1,
            Tag::Strong => self.strong += 1,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(LinkState {
                    url: dest_url.into_string(),
                    text: String::new(),
                });
            }
            Tag::TableCell | Tag::Strikethrough | Tag::Superscript | Tag::Subscript => {}
        }
    }

    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Paragraph
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => {
                self.flush_inline();
                self.pending_blank = true;
            }
            TagEnd::Heading(_) => {
                self.flush_inline();
                self.heading = false;
                self.pending_blank = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush_inline();
                self.containers.pop();
                self.pending_blank = true;
            }
            TagEnd::CodeBlock | TagEnd::HtmlBlock => {
                if let Some(block) = self.verbatim.take() {
                    self.verbatim_block(&block);
                }
                self.pending_blank = true;
            }
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
                // A list nested in a tight item is part of that item, not a block of its own.
                self.pending_blank = !matches!(
                    self.containers.last(),
                    Some(Container::Item { tight: true, .. })
                );
            }
            TagEnd::Item => {
                self.flush_inline();
                if matches!(
                    self.containers.last(),
                    Some(Container::Item { used: false, .. })
                ) {
                    // An empty item still shows its marker.
                    let line = self.start_line();
                    self.finish_line(line);
                }
                self.containers.pop();
            }
            TagEnd::Emphasis => self.emphasis = self.emphasis.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Link | TagEnd::Image => {
                if let Some(link) = self.links.pop() {
                    self.link_end(&link);
                }
            }
            TagEnd::TableCell | TagEnd::Strikethrough | TagEnd::Superscript | TagEnd::Subscript => {
            }
        }
    }

    /// The style of inline text at this point.
    fn style(&self) -> Style {
        let mut modifier = Modifier::empty();
        if self.heading {
            modifier |= HEADING;
        }
        if self.strong > 0 {
            modifier |= STRONG;
        }
        if self.emphasis > 0 {
            modifier |= EMPHASIS;
        }
        if !self.links.is_empty() {
            modifier |= LINK;
        }
        Style::new().add_modifier(modifier)
    }

    fn text(&mut self, text: &str, style: Style) {
        if let Some(block) = &mut self.verbatim {
            block.push_str(text);
            return;
        }
        for link in &mut self.links {
            link.text.push_str(text);
        }
        self.inline
            .push(Inline::Text(for_terminal(text).into_owned(), style));
    }

    /// Shows the address after a link's text, or instead of it when the text is empty.
    fn link_end(&mut self, link: &LinkState) {
        let url = for_terminal(&link.url).into_owned();
        let style = self.style();
        if link.text.trim().is_empty() {
            self.inline
                .push(Inline::Text(url, style.add_modifier(LINK)));
        } else if link.text != link.url
            && link.url.strip_prefix("mailto:") != Some(link.text.as_str())
        {
            self.inline.push(Inline::Text(format!(" ({url})"), style));
        }
    }

    /// Ends the paragraph in progress and, if a block ended before, leaves a blank line.
    fn block_start(&mut self) {
        self.flush_inline();
        if std::mem::take(&mut self.pending_blank) && !self.lines.is_empty() {
            let mut line = LineBuilder::default();
            let prefix = self.prefix(true);
            line.push_prefix(prefix.trim_end(), self.width.saturating_sub(1));
            self.lines.push(line.finish(self.width));
        }
    }

    /// What goes before a line's text: quote bars, and list markers or the indent that hangs
    /// under them. Blank lines show no markers.
    fn prefix(&self, blank: bool) -> String {
        let mut prefix = String::new();
        for container in &self.containers {
            match container {
                Container::Quote => {
                    prefix.push_str(self.symbols.quote);
                    prefix.push(' ');
                }
                Container::Item { marker, used, .. } => {
                    if *used || blank {
                        prefix.extend(std::iter::repeat_n(' ', marker.width()));
                    } else {
                        prefix.push_str(marker);
                    }
                }
            }
        }
        prefix
    }

    /// A new line holding its prefix, cut if need be to leave at least one column for text.
    fn start_line(&self) -> LineBuilder {
        let mut line = LineBuilder::default();
        line.push_prefix(&self.prefix(false), self.width.saturating_sub(1));
        line
    }

    fn finish_line(&mut self, line: LineBuilder) {
        self.lines.push(line.finish(self.width));
        for container in &mut self.containers {
            if let Container::Item { used, .. } = container {
                *used = true;
            }
        }
    }

    /// Wraps the inline content collected so far, if any.
    fn flush_inline(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let tokens = tokenize(std::mem::take(&mut self.inline));
        let mut line = self.start_line();
        let mut space: Option<Style> = None;
        for token in tokens {
            match token {
                Token::Space(style) => {
                    if line.has_text {
                        space = Some(style);
                    }
                }
                Token::Break => {
                    self.finish_line(std::mem::take(&mut line));
                    line = self.start_line();
                    space = None;
                }
                Token::Word(pieces) => {
                    let word: usize = pieces.iter().map(|p| p.width).sum();
                    let gap = usize::from(space.is_some());
                    if line.width + gap + word <= self.width {
                        if let Some(style) = space.take() {
                            line.push(" ".to_owned(), style, 1);
                        }
                        for piece in pieces {
                            line.push(piece.text, piece.style, piece.width);
                        }
                        continue;
                    }
                    space = None;
                    if line.has_text {
                        self.finish_line(std::mem::take(&mut line));
                        line = self.start_line();
                    }
                    if line.width + word <= self.width {
                        for piece in pieces {
                            line.push(piece.text, piece.style, piece.width);
                        }
                    } else {
                        line = self.break_word(line, pieces);
                    }
                }
            }
        }
        if line.has_text {
            self.finish_line(line);
        }
    }

    /// Lays out a word longer than a line, breaking it between characters; returns the line
    /// holding its end.
    fn break_word(&mut self, mut line: LineBuilder, pieces: Vec<Piece>) -> LineBuilder {
        for piece in pieces {
            for cluster in clusters(&piece.text) {
                let width = cluster.width();
                if line.width + width > self.width && line.has_text {
                    self.finish_line(std::mem::take(&mut line));
                    line = self.start_line();
                }
                if line.width + width <= self.width {
                    line.push(cluster.to_owned(), piece.style, width);
                } else {
                    // Wider than a whole line (a wide character in one column).
                    let cut = self.symbols.cut;
                    if line.width + cut.width() <= self.width {
                        line.push(cut.to_owned(), piece.style, cut.width());
                    }
                }
            }
        }
        line
    }

    /// Draws a code or HTML block line by line, cutting lines that do not fit.
    fn verbatim_block(&mut self, block: &str) {
        let block = block.strip_suffix('\n').unwrap_or(block);
        for raw in block.split('\n') {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let text = format!("{CODE_INDENT}{}", for_terminal(&expand_tabs(raw)));
            let mut line = self.start_line();
            let room = self.width.saturating_sub(line.width);
            if text.width() <= room {
                let width = text.width();
                line.push(text, Style::new(), width);
            } else {
                let cut = self.symbols.cut;
                let (kept, width) = fit(&text, room.saturating_sub(cut.width()));
                line.push(kept.to_owned(), Style::new(), width);
                if line.width + cut.width() <= self.width {
                    line.push(cut.to_owned(), Style::new(), cut.width());
                }
            }
            self.finish_line(line);
        }
    }

    fn rule(&mut self) {
        self.block_start();
        let mut line = self.start_line();
        let rule = self.symbols.rule;
        let width = rule.width();
        if width > 0 {
            while line.width + width <= self.width {
                line.push(rule.to_owned(), Style::new(), width);
            }
        }
        self.finish_line(line);
        self.pending_blank = true;
    }
}

/// A line being filled, with its width so far counted as ratatui counts it (the sum of its
/// spans' widths).
#[derive(Debug, Default)]
struct LineBuilder {
    spans: Vec<Span<'static>>,
    width: usize,
    has_text: bool,
}

impl LineBuilder {
    /// Adds the prefix, cut to at most `room` columns.
    fn push_prefix(&mut self, prefix: &str, room: usize) {
        let (kept, width) = fit(prefix, room);
        if !kept.is_empty() {
            self.spans.push(Span::raw(kept.to_owned()));
            self.width += width;
        }
    }

    /// Adds text measured by the caller (as one span, so the measure is exact).
    fn push(&mut self, text: String, style: Style, width: usize) {
        self.spans.push(Span::styled(text, style));
        self.width += width;
        self.has_text = true;
    }

    /// The finished line: spans of one style joined, trailing spaces after a bare prefix
    /// dropped. Joining can only change the measured width through ligatures and emoji
    /// sequences split between spans; should that ever widen the line past `limit`, the spans
    /// stay apart.
    fn finish(mut self, limit: usize) -> Line<'static> {
        if !self.has_text
            && let Some(last) = self.spans.last_mut()
        {
            let trimmed = last.content.trim_end().to_owned();
            last.content = trimmed.into();
            if last.content.is_empty() {
                self.spans.pop();
            }
        }
        let mut joined: Vec<Span<'static>> = Vec::with_capacity(self.spans.len());
        for span in &self.spans {
            match joined.last_mut() {
                Some(last) if last.style == span.style => {
                    last.content.to_mut().push_str(&span.content);
                }
                _ => joined.push(span.clone()),
            }
        }
        let line = Line::from(joined);
        if line.width() <= limit {
            line
        } else {
            Line::from(self.spans)
        }
    }
}

/// Splits inline content into words and spaces. Runs of spaces count as one.
fn tokenize(inline: Vec<Inline>) -> Vec<Token> {
    fn end_word(word: &mut Vec<Piece>, tokens: &mut Vec<Token>) {
        if word.is_empty() {
            return;
        }
        for piece in word.iter_mut() {
            piece.width = piece.text.width();
        }
        tokens.push(Token::Word(std::mem::take(word)));
    }

    let mut tokens = Vec::new();
    let mut word: Vec<Piece> = Vec::new();
    for item in inline {
        match item {
            Inline::Break => {
                end_word(&mut word, &mut tokens);
                tokens.push(Token::Break);
            }
            Inline::Text(text, style) => {
                for c in text.chars() {
                    if c == ' ' {
                        end_word(&mut word, &mut tokens);
                        if !matches!(tokens.last(), Some(Token::Space(_))) {
                            tokens.push(Token::Space(style));
                        }
                    } else {
                        match word.last_mut() {
                            Some(piece) if piece.style == style => piece.text.push(c),
                            _ => word.push(Piece {
                                text: c.to_string(),
                                style,
                                width: 0,
                            }),
                        }
                    }
                }
            }
        }
    }
    end_word(&mut word, &mut tokens);
    tokens
}

/// Splits text where a line may break inside a word: before every character that takes up
/// room, so that combining marks and variation selectors stay with the character they modify.
fn clusters(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let mut chars = rest.char_indices();
        chars.next()?;
        let end = chars
            .find(|(_, c)| c.width() != Some(0))
            .map_or(rest.len(), |(i, _)| i);
        let (cluster, tail) = rest.split_at(end);
        rest = tail;
        Some(cluster)
    })
}

/// The longest start of `text` no wider than `room` columns, and its width.
fn fit(text: &str, room: usize) -> (&str, usize) {
    let mut end = 0;
    let mut width = 0;
    for cluster in clusters(text) {
        let w = cluster.width();
        if width + w > room {
            break;
        }
        width += w;
        end += cluster.len();
    }
    (&text[..end], width)
}

/// Replaces tabs with spaces up to the next tab stop, so code keeps its indentation (the
/// sanitiser would make each tab a single space).
fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let spaces = TAB_STOP - column % TAB_STOP;
            out.extend(std::iter::repeat_n(' ', spaces));
            column += spaces;
        } else {
            out.push(c);
            column += c.width().unwrap_or(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(ToString::to_string).collect()
    }

    fn plain(markdown: &str, width: u16) -> Vec<String> {
        text(&render(markdown, width, &Symbols::UNICODE))
    }

    /// The style of the span holding `needle`.
    fn style_of(lines: &[Line<'_>], needle: &str) -> Style {
        lines
            .iter()
            .flat_map(|l| l.spans.iter())
            .find(|s| s.content.contains(needle))
            .map_or_else(|| panic!("no span holds {needle:?}"), |s| s.style)
    }

    #[test]
    fn paragraph_wraps_at_word_boundaries() {
        assert_eq!(
            plain(
                "Stay calm: this runbook guides you. Work only with names, sizes,\npaths and hashes.",
                20
            ),
            [
                "Stay calm: this",
                "runbook guides you.",
                "Work only with",
                "names, sizes, paths",
                "and hashes.",
            ]
        );
    }

    #[test]
    fn paragraphs_are_separated_by_a_blank_line() {
        assert_eq!(plain("One.\n\nTwo.", 20), ["One.", "", "Two."]);
    }

    #[test]
    fn nested_lists_hang_under_their_markers() {
        let markdown = "Before:\n- Viewing or copying can itself be an offence.\n  - Confirm with counsel first.\n- Deleting destroys evidence.\n\nAfter.";
        assert_eq!(
            plain(markdown, 24),
            [
                "Before:",
                "",
                "• Viewing or copying can",
                "  itself be an offence.",
                "  • Confirm with counsel",
                "    first.",
                "• Deleting destroys",
                "  evidence.",
                "",
                "After.",
            ]
        );
    }

    #[test]
    fn ordered_lists_number_and_align() {
        let markdown = (1..=10)
            .map(|n| format!("{n}. item {n}\n"))
            .collect::<Vec<_>>()
            .concat();
        let lines = plain(&markdown, 20);
        assert_eq!(lines[0], " 1. item 1");
        assert_eq!(lines[8], " 9. item 9");
        assert_eq!(lines[9], "10. item 10");
        assert_eq!(
            plain("3. Call the police and give them the number.", 16),
            [
                "3. Call the",
                "   police and",
                "   give them the",
                "   number."
            ]
        );
    }

    #[test]
    fn loose_list_items_are_separated() {
        assert_eq!(
            plain("- one\n\n- two\n  - three", 20),
            ["• one", "", "• two", "", "  • three"]
        );
    }

    #[test]
    fn ascii_symbols() {
        let lines = text(&render("- item\n\n> quoted\n\n---", 10, &Symbols::ASCII));
        assert_eq!(lines, ["- item", "", "| quoted", "", "----------"]);
    }

    #[test]
    fn long_words_are_broken() {
        assert_eq!(
            plain("see https://example.org/a/very/long/path now", 12),
            ["see", "https://exam", "ple.org/a/ve", "ry/long/path", "now"]
        );
        assert_eq!(plain("- abcdefghij", 6), ["• abcd", "  efgh", "  ij"]);
    }

    #[test]
    fn wide_characters_are_measured_by_columns() {
        assert_eq!(plain("日本語のテキスト", 6), ["日本語", "のテキ", "スト"]);
        // A wide character cannot be shown in one column.
        assert_eq!(plain("日本", 1), ["…", "…"]);
    }

    #[test]
    fn links_show_their_address() {
        let lines = render(
            "Report to [the IWF](https://report.iwf.org.uk/en).",
            32,
            &Symbols::UNICODE,
        );
        assert_eq!(
            text(&lines),
            ["Report to the IWF", "(https://report.iwf.org.uk/en)."]
        );
        assert_eq!(style_of(&lines, "IWF"), Style::new().underlined());
        assert_eq!(style_of(&lines, "https"), Style::new());
    }

    #[test]
    fn links_whose_text_is_the_address_show_it_once() {
        assert_eq!(
            plain("See <https://example.org> or <abuse@example.org>.", 60),
            ["See https://example.org or abuse@example.org."]
        );
        assert_eq!(
            plain("[https://example.org](https://example.org)", 60),
            ["https://example.org"]
        );
        assert_eq!(
            plain("[](https://example.org)", 60),
            ["https://example.org"]
        );
    }

    #[test]
    fn headings_are_bold() {
        let lines = render("# Report\nthe material.", 20, &Symbols::UNICODE);
        assert_eq!(text(&lines), ["Report", "", "the material."]);
        assert_eq!(lines[0].spans[0].style, Style::new().bold());
        assert_eq!(style_of(&lines, "material"), Style::new());
    }

    #[test]
    fn inline_styles_use_modifiers_only() {
        let lines = render(
            "Do **not** *open* `{{evidence_path}}`.",
            60,
            &Symbols::UNICODE,
        );
        assert_eq!(text(&lines), ["Do not open {{evidence_path}}."]);
        assert_eq!(style_of(&lines, "not"), Style::new().bold());
        assert_eq!(style_of(&lines, "open"), Style::new().italic());
        assert_eq!(style_of(&lines, "{{"), Style::new().reversed());
        assert_eq!(style_of(&lines, "."), Style::new());
        for span in lines.iter().flat_map(|l| l.spans.iter()) {
            assert_eq!(span.style.fg, None);
            assert_eq!(span.style.bg, None);
        }
    }

    #[test]
    fn block_quotes_carry_their_bar() {
        assert_eq!(
            plain("> Do not delete anything at all.\n>\n> Ask first.", 16),
            [
                "│ Do not delete",
                "│ anything at",
                "│ all.",
                "│",
                "│ Ask first."
            ]
        );
    }

    #[test]
    fn code_blocks_are_verbatim_and_cut() {
        assert_eq!(
            plain(
                "Run:\n\n```\nsha256sum  /srv/a\n\tls -la /very/long/path\n```\nDone.",
                16
            ),
            [
                "Run:",
                "",
                "  sha256sum  /s…",
                "      ls -la /v…",
                "",
                "Done."
            ]
        );
    }

    #[test]
    fn hard_breaks_start_a_new_line() {
        assert_eq!(plain("one\\\ntwo", 20), ["one", "two"]);
    }

    #[test]
    fn empty_items_show_their_marker() {
        assert_eq!(plain("-\n- b", 10), ["•", "• b"]);
    }

    #[test]
    fn hostile_text_comes_out_escaped() {
        let markdown = "a \u{1b}[31mred\u{1b}[0m and \u{1b}]52;c;aGk=\u{7} and abc\u{202E}txt.exe";
        assert_eq!(
            plain(markdown, 80),
            ["a \\u{1b}[31mred\\u{1b}[0m and \\u{1b}]52;c;aGk=\\u{7} and abc\\u{202e}txt.exe"]
        );
        // In code, in links and their addresses too.
        assert_eq!(
            plain(
                "`\u{1b}[2J` [x\u{1b}(0](http://e\u{202E}x)\n\n```\n\u{1b}[31m\n```",
                80
            ),
            [
                "\\u{1b}[2J x\\u{1b}(0 (http://e\\u{202e}x)",
                "",
                "  \\u{1b}[31m"
            ]
        );
    }

    #[test]
    fn zero_width_gives_no_lines() {
        assert!(render("text", 0, &Symbols::UNICODE).is_empty());
    }

    #[test]
    fn narrow_widths_still_show_text() {
        assert_eq!(plain("> - ab", 1), ["a", "b"]);
        // The prefix gives way first.
        assert_eq!(plain("> - ab", 3), ["│ a", "│ b"]);
        assert_eq!(plain("> - ab", 5), ["│ • a", "│   b"]);
    }

    #[test]
    fn the_shipped_runbook_bodies_fit() {
        let runbook = include_str!("../../runbooks/csam-discovery.toml");
        for body in runbook.split("body = \"\"\"").skip(1) {
            let body = body.split("\"\"\"").next().unwrap_or_default();
            for width in [20, 40, 80] {
                for line in render(body, width, &Symbols::UNICODE) {
                    assert!(line.width() <= usize::from(width), "{line}");
                }
            }
        }
    }

    fn markdownish() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "([-*>#`_\\[\\]()!<>|~\\\\ \n\t0-9a-zé日😀\u{1b}\u{202e}\u{301}\u{fe0f}]|https://x|```|1\\. |  ){0,60}",
        ]
    }

    proptest! {
        #[test]
        fn never_panics_nor_overflows(markdown in markdownish(), width in 0u16..50) {
            let lines = render(&markdown, width, &Symbols::UNICODE);
            if width == 0 {
                prop_assert!(lines.is_empty());
            }
            for line in &lines {
                prop_assert!(line.width() <= usize::from(width), "{:?} wider than {}", line, width);
                for span in &line.spans {
                    prop_assert!(!span.content.chars().any(crate::sanitize::needs_escape));
                }
            }
        }
    }
}
