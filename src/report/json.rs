//! The JSON report: the [`Report`] model itself, pretty-printed, with bidi and invisible
//! characters written as `\u` escapes (see [`SafeJson`]). Its schema is
//! `docs/report.schema.json`; `schema` and `schema_version` name it in every file.

use serde::Serialize as _;

use super::Report;
use super::text::SafeJson;

/// The report as JSON, ending in a newline.
pub fn render(report: &Report) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SafeJson::new());
    // The model holds only strings, numbers, booleans, lists and maps with string keys, so
    // serialising it into memory cannot fail.
    if report.serialize(&mut serializer).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out.push(b'\n');
    out
}
