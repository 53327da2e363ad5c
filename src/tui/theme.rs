//! How the screen looks: styles and border symbols, chosen once at start from the environment.
//!
//! Colour is a help, never the only signal: every state that has a colour also has a word or a
//! symbol (`done`, `OVERDUE`, `>`), so the screen reads the same under `NO_COLOR` and on a
//! monochrome console. Terminals whose locale is not UTF-8 get ASCII borders and symbols.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

use super::markdown::Symbols;

/// Styles and symbols for one run.
#[derive(Debug, Clone)]
pub struct Theme {
    pub color: bool,
    pub unicode: bool,
}

impl Theme {
    /// From the environment: `NO_COLOR` (any non-empty value) turns colour off; a locale that is
    /// not UTF-8 (`LC_ALL`, `LC_CTYPE`, `LANG`, in that order) gives ASCII symbols.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let locale = var("LC_ALL")
            .or_else(|| var("LC_CTYPE"))
            .or_else(|| var("LANG"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        Self {
            color: var("NO_COLOR").is_none(),
            unicode: locale.contains("utf-8") || locale.contains("utf8"),
        }
    }

    /// Plain: no colour, ASCII; what tests and snapshots use unless they test the others.
    pub fn plain() -> Self {
        Self {
            color: false,
            unicode: false,
        }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn border(&self) -> border::Set<'static> {
        if self.unicode {
            border::ROUNDED
        } else {
            ASCII_BORDER
        }
    }

    pub fn markdown(&self) -> &'static Symbols {
        if self.unicode {
            &Symbols::UNICODE
        } else {
            &Symbols::ASCII
        }
    }

    /// The exercise banner: reversed, so that it stands out with or without colour.
    pub fn banner(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn done(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn skipped(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn current(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn alarm(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// The line under the cursor in a list.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Symbols for the path: done, skipped, current, upcoming.
    pub fn marks(&self) -> Marks {
        if self.unicode {
            Marks {
                done: "✓",
                skipped: "↷",
                current: "▶",
                upcoming: "·",
                ticked: "[x]",
                unticked: "[ ]",
                chosen: "(•)",
                unchosen: "( )",
                ellipsis: "…",
            }
        } else {
            Marks {
                done: "+",
                skipped: "~",
                current: ">",
                upcoming: ".",
                ticked: "[x]",
                unticked: "[ ]",
                chosen: "(*)",
                unchosen: "( )",
                ellipsis: "...",
            }
        }
    }
}

/// Marks that stand for states in lists.
#[derive(Debug, Clone, Copy)]
pub struct Marks {
    pub done: &'static str,
    pub skipped: &'static str,
    pub current: &'static str,
    pub upcoming: &'static str,
    pub ticked: &'static str,
    pub unticked: &'static str,
    pub chosen: &'static str,
    pub unchosen: &'static str,
    pub ellipsis: &'static str,
}

const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};
