//! The review as a PDF/A-2b document, typeset in-process by typst like the report (see
//! [`crate::report::pdf`]): the template `review.typ` reads the review as data (every string
//! cleaned of control, bidi and invisible characters, never markup) and each session's
//! timeline picture as an SVG file of the closed world. Every page says EXERCISE: the template
//! writes it in the header, the footer and across the page, whatever the data holds.

use serde_json::{Map, Value};

use super::model::Review;
use crate::report::pdf::{Document, TALL_BYTES, clean_all, text_bytes, typeset, typeset_pdf};

const TEMPLATE: &str = include_str!("review.typ");

/// The lists of a session that may hold rows too tall for a page (set so that they break).
const LISTS: [&str; 5] = ["timeline", "lessons", "decisions", "skipped", "clock"];

/// The review as a PDF/A-2b document.
pub fn render(review: &Review) -> Result<Vec<u8>, String> {
    let mut value = serde_json::to_value(review).map_err(|e| e.to_string())?;
    clean_all(&mut value);
    typeset(&mut value);
    if let Some(Value::Array(sessions)) = value.get_mut("sessions") {
        for session in sessions {
            let Value::Object(map) = session else {
                continue;
            };
            let mut tall = Map::new();
            for list in LISTS {
                let positions: Vec<Value> = match map.get(list) {
                    Some(Value::Array(items)) => items
                        .iter()
                        .enumerate()
                        .filter(|(_, item)| text_bytes(item) > TALL_BYTES)
                        .map(|(n, _)| Value::from(n))
                        .collect(),
                    _ => Vec::new(),
                };
                tall.insert(list.to_owned(), Value::Array(positions));
            }
            map.insert("tall".to_owned(), Value::Object(tall));
        }
    }
    let data = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    let files = review
        .sessions
        .iter()
        .map(|s| {
            (
                format!("/timeline-{}.svg", s.number),
                super::svg::timeline(s).into_bytes(),
            )
        })
        .collect();
    // The document's moment: the latest last event of the sessions, never the clock.
    let last = review
        .sessions
        .iter()
        .filter_map(|s| s.ended.real.map(|r| r.utc))
        .max()
        .unwrap_or_default();
    let ident: Vec<String> = review
        .sessions
        .iter()
        .map(|s| format!("{}/{}", s.session, s.verification.final_hash))
        .collect();
    typeset_pdf(&Document {
        template: TEMPLATE,
        main_path: "/review.typ",
        data_path: "/review.json",
        data,
        files,
        last,
        ident: format!("custody-review/{}", ident.join("+")),
        creator: format!(
            "{} {} (typst)",
            review.generator.name, review.generator.version
        ),
    })
}
