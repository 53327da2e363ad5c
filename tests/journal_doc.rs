#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Keeps `docs/JOURNAL.md` honest. Its worked example must be a journal that custody's own
//! encoder writes byte for byte, whose hashes follow the documented rule (checked here with
//! `sha2`, independently of custody), whose chain holds, and whose signature is good; the outputs
//! shown for `sha256sum` and the example script must be the real ones; and every event kind
//! custody can write must have its section.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use custody::journal::event::{HASH_SUFFIX_LEN, JOURNAL_FORMAT};
use custody::journal::reader::{ScanError, Scanner};
use custody::journal::{Body, Draft, Event};
use sha2::Digest as _;

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/JOURNAL.md")).expect("docs/JOURNAL.md")
}

/// The fenced blocks of a Markdown text: (info string, content with a newline after each line).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match &mut open {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((info.trim().to_owned(), String::new()));
                }
            }
            Some((_, content)) => {
                if line == "```" {
                    out.push(open.take().unwrap());
                } else {
                    content.push_str(line);
                    content.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "a fenced block in docs/JOURNAL.md is not closed"
    );
    out
}

/// The files the worked example gives: blocks whose info string ends in `file=NAME`.
fn files(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (info, content) in blocks(text) {
        if let Some((_, name)) = info.split_once(" file=") {
            let previous = out.insert(name.to_owned(), content);
            assert!(previous.is_none(), "two blocks are the file {name}");
        }
    }
    out
}

/// The worked example's journal: the only `jsonl` block.
fn journal(text: &str) -> String {
    let mut found: Vec<(String, String)> = blocks(text)
        .into_iter()
        .filter(|(info, _)| info.split_whitespace().next() == Some("jsonl"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "docs/JOURNAL.md must have exactly one ```jsonl block"
    );
    let (info, content) = found.remove(0);
    assert_eq!(info, "jsonl file=journal.jsonl");
    content
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The hash written at the end of a line (without its newline).
fn written_hash(line: &str) -> &str {
    let hex = line
        .strip_suffix("\"}")
        .and_then(|rest| rest.get(rest.len() - 64..))
        .expect("a line ends in its hash");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "the hash is 64 lower-case hex digits: {hex}"
    );
    hex
}

/// The documented rule: SHA-256 of the line without its last member `,"hash":"<64 hex>"}`,
/// closed with `}`.
fn documented_hash(line: &str) -> String {
    let cut = line.len() - 75;
    assert_eq!(
        &line[cut..cut + 9],
        ",\"hash\":\"",
        "the last member is the hash"
    );
    sha256_hex(format!("{}}}", &line[..cut]).as_bytes())
}

fn lines(journal: &str) -> Vec<&str> {
    assert!(journal.ends_with('\n'));
    journal.lines().collect()
}

#[test]
fn the_example_lines_hash_by_the_documented_rule() {
    let doc = doc();
    let journal = journal(&doc);
    let lines = lines(&journal);
    assert!(
        (2..=3).contains(&lines.len()),
        "a tiny example: 2 or 3 events"
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(
            written_hash(line),
            documented_hash(line),
            "line {} does not hash as documented",
            i + 1
        );
    }
    // The numbers the page gives for the rule are the code's.
    assert_eq!(HASH_SUFFIX_LEN, 75);
    assert!(doc.contains("the last 75 bytes"));
}

#[test]
fn the_example_lines_form_a_chain() {
    let journal = journal(&doc());
    let lines = lines(&journal);
    let mut prev = ZEROS.to_owned();
    for (i, line) in lines.iter().enumerate() {
        let seq = i + 1;
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["seq"], seq, "line {seq}: seq");
        assert_eq!(value["prev"], prev.as_str(), "line {seq}: prev");
        assert_eq!(value["hash"], written_hash(line), "line {seq}: hash member");
        // The members in the documented order, without spaces.
        let mut at = 0;
        for member in [
            "{\"seq\":",
            ",\"time\":\"",
            ",\"offset\":\"",
            ",\"actor\":{\"role\":\"",
            ",\"step\":",
            ",\"kind\":\"",
            ",\"data\":{",
        ] {
            let found = line[at..].find(member).map(|p| p + at);
            assert!(found.is_some(), "line {seq}: {member} not after byte {at}");
            if at == 0 {
                assert_eq!(found, Some(0), "line {seq} begins with seq");
            }
            at = found.unwrap() + member.len();
        }
        let tail = format!(",\"prev\":\"{prev}\",\"hash\":\"{}\"}}", written_hash(line));
        assert!(line.ends_with(&tail), "line {seq}: prev then hash, last");
        let time = value["time"].as_str().unwrap();
        assert_eq!(time.len(), 27, "line {seq}: six decimals: {time}");
        assert!(time.ends_with('Z') && time.as_bytes()[19] == b'.', "{time}");
        let offset = value["offset"].as_str().unwrap();
        assert!(
            offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')),
            "{offset}"
        );
        if seq == 1 {
            assert_eq!(value["kind"], "session_started");
            assert_eq!(value["data"]["format"], JOURNAL_FORMAT);
        } else {
            assert_ne!(value["kind"], "session_started");
        }
        prev = written_hash(line).to_owned();
    }
}

#[test]
fn custody_reads_the_example_and_writes_the_same_bytes() {
    let journal = journal(&doc());
    let bytes = journal.as_bytes();
    let mut scanner = Scanner::new(bytes);
    let mut events = Vec::new();
    loop {
        match scanner.next_link() {
            Ok(Some(link)) => events.push(link.event().unwrap()),
            Ok(None) => break,
            Err(ScanError::Bad(p)) => panic!("custody's reader refuses the example: {p:?}"),
            Err(ScanError::Io(e)) => panic!("{e}"),
        }
    }
    let lines = lines(&journal);
    assert_eq!(events.len(), lines.len());
    assert_eq!(
        scanner.last_hash().to_hex(),
        written_hash(lines[lines.len() - 1])
    );
    // Written again by custody's encoder, each event gives exactly its line: the example was
    // not typed by hand.
    for (event, line) in events.iter().zip(&lines) {
        assert_eq!(Event::from_line(line.as_bytes()).unwrap(), *event);
        let (written, again) = Draft {
            time: event.time,
            offset: event.offset,
            actor: event.actor.clone(),
            step: event.step.clone(),
            body: event.body.clone(),
        }
        .seal(event.seq, event.prev)
        .unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            format!("{line}\n"),
            "custody's encoder writes event {} differently",
            event.seq
        );
        assert_eq!(again.hash, event.hash);
    }
}

/// The line after the first shell prompt line that is exactly `$ command`.
fn output_after<'a>(doc: &'a str, command: &str) -> &'a str {
    let prompt = format!("$ {command}");
    let mut lines = doc.lines();
    lines
        .by_ref()
        .find(|l| *l == prompt)
        .unwrap_or_else(|| panic!("docs/JOURNAL.md does not show `{prompt}`"));
    lines.next().unwrap()
}

#[test]
fn the_sha256sum_output_shown_is_the_hash_of_line_one() {
    let doc = doc();
    let journal = journal(&doc);
    let first = lines(&journal)[0];
    let expected = format!("{}  -", documented_hash(first));
    let command = r#"head -n1 journal.jsonl | sed 's/,"hash":"[0-9a-f]\{64\}"}$/}/' | tr -d '\n' | sha256sum"#;
    assert_eq!(output_after(&doc, command), expected);
    // Every `sha256sum` output on the page is of line 1.
    let shown: Vec<&str> = doc
        .lines()
        .filter(|l| {
            l.len() == 67 && l.ends_with("  -") && l[..64].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .collect();
    assert!(shown.len() >= 2, "{shown:?}");
    assert!(shown.iter().all(|l| *l == expected), "{shown:?}");
    // And `prev` of line 2 is shown as line 1's hash.
    let prev_command =
        r#"sed -n 2p journal.jsonl | sed 's/.*,"prev":"\([0-9a-f]\{64\}\)","hash":.*/\1/'"#;
    assert_eq!(output_after(&doc, prev_command), written_hash(first));
}

#[test]
fn the_example_signature_checks_out() {
    let doc = doc();
    let files = files(&doc);
    let journal = journal(&doc);
    let lines = lines(&journal);
    let public_key = minisign::PublicKeyBox::from_string(&files["key.pub"])
        .unwrap()
        .into_public_key()
        .unwrap();
    let signature = minisign::SignatureBox::from_string(&files["journal.jsonl.minisig"]).unwrap();
    minisign::verify(
        &public_key,
        &signature,
        std::io::Cursor::new(journal.as_bytes()),
        true,
        false,
        false,
    )
    .expect("the example's signature is good for the example's journal");
    // The seal names this key, and the trusted comment is as documented.
    let first = Event::from_line(lines[0].as_bytes()).unwrap();
    let last = Event::from_line(lines[lines.len() - 1].as_bytes()).unwrap();
    let (Body::SessionStarted(started), Body::Sealed(sealed)) = (&first.body, &last.body) else {
        panic!("the example begins with session_started and ends with sealed");
    };
    let signer = sealed.signed_by.as_ref().expect("the seal names its key");
    assert_eq!(
        signer.key_id,
        custody::journal::sign::key_id(public_key.keynum())
    );
    assert_eq!(signer.public_key, public_key.to_base64());
    let comment = format!(
        "custody journal {}, sealed {}, {} events, final hash {}",
        started.session,
        custody::journal::event::format_time(&last.time),
        last.seq,
        last.hash
    );
    assert_eq!(signature.trusted_comment().unwrap(), comment);
    assert!(doc.contains(&format!("Trusted comment: {comment}")));
    assert!(doc.contains(
        "trusted comment: custody journal SESSION-ID, sealed SEAL-TIME, N events, final hash \
         FINAL-HASH"
    ));
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_example_script_says_what_the_page_shows() {
    let doc = doc();
    let files = files(&doc);
    let journal = journal(&doc);
    let lines = lines(&journal);
    let shown = output_after(&doc, "sh check-journal.sh journal.jsonl");
    assert_eq!(
        shown,
        format!(
            "{} events, chain intact, final hash {}",
            lines.len(),
            written_hash(lines[lines.len() - 1])
        )
    );
    if !(have("sha256sum") && Path::new("/bin/sh").exists()) {
        eprintln!("sh or sha256sum is missing: the example script was not run");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("journal_doc")
        .join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    for (name, content) in &files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let run = |journal: &str| {
        Command::new("sh")
            .args(["check-journal.sh", journal])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let good = run("journal.jsonl");
    assert!(good.status.success(), "{good:?}");
    assert_eq!(
        String::from_utf8(good.stdout).unwrap(),
        format!("{shown}\n")
    );
    // One changed byte in line 2 is found.
    let changed = journal.replacen("disk full", "disk fall", 1);
    assert_ne!(
        changed, journal,
        "the example's note mentions the disk full alert"
    );
    std::fs::write(dir.join("changed.jsonl"), changed).unwrap();
    let bad = run("changed.jsonl");
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).starts_with("event 2: hash mismatch"),
        "{bad:?}"
    );
}

/// The kinds `Body::kind` returns, read from its source, so that a kind added there fails this
/// test until it is documented.
fn kinds_in_the_source() -> Vec<String> {
    let source = std::fs::read_to_string(root().join("src/journal/event.rs")).unwrap();
    let start = source
        .find("fn kind(&self)")
        .expect("Body::kind in event.rs");
    let body = &source[start..];
    let end = body[1..]
        .find("\n    pub fn ")
        .map_or(body.len(), |e| e + 1);
    let mut kinds = Vec::new();
    for piece in body[..end].split("=> \"").skip(1) {
        kinds.push(piece[..piece.find('"').unwrap()].to_owned());
    }
    // As many kinds as `Body` has variants.
    let start = source
        .find("pub enum Body {")
        .expect("enum Body in event.rs");
    let end = source[start..].find("\n}").unwrap() + start;
    let variants = source[start..end]
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with(|c: char| c.is_ascii_uppercase()) && l.contains('(')
        })
        .count();
    assert_eq!(kinds.len(), variants, "{kinds:?}");
    kinds
}

#[test]
fn every_kind_custody_writes_is_documented() {
    let doc = doc();
    let kinds = kinds_in_the_source();
    assert!(kinds.len() >= 18, "{kinds:?}");
    for k in ["session_started", "note_added", "recovered", "sealed"] {
        assert!(kinds.iter().any(|x| x == k), "{k} not found in {kinds:?}");
    }
    let headings: Vec<&str> = doc.lines().filter(|l| l.starts_with("### ")).collect();
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
    for kind in &kinds {
        let name = format!("`{kind}`");
        assert!(
            headings.iter().any(|h| *h == format!("### {name}")),
            "docs/JOURNAL.md has no section \"### {name}\" for the event kind {kind}: \
             describe its data members there"
        );
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("| {name} |"))),
            "the table of event kinds in docs/JOURNAL.md has no row for {kind}"
        );
    }
    // The example's kinds are among them.
    for line in lines(&journal(&doc)) {
        let event = Event::from_line(line.as_bytes()).unwrap();
        assert!(kinds.iter().any(|k| k == event.body.kind()));
    }
}

#[test]
fn the_format_number_documented_is_the_one_written() {
    let doc = doc();
    assert!(
        doc.contains(&format!("JOURNAL_FORMAT = {JOURNAL_FORMAT}")),
        "docs/JOURNAL.md must name the journal format custody writes ({JOURNAL_FORMAT})"
    );
    assert!(doc.contains(&format!(
        "This page describes journal format {JOURNAL_FORMAT}"
    )));
}

#[test]
fn the_report_schema_lists_every_kind_of_event() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let mut found = None;
    let mut stack = vec![&schema];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(kinds) = map.get("kind").and_then(|k| k.get("enum")) {
                    found = Some(kinds.clone());
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    let listed: Vec<String> = found
        .and_then(|k| serde_json::from_value(k).ok())
        .expect("a `kind` enum in the schema");
    assert_eq!(
        listed,
        custody::journal::Body::KINDS,
        "docs/report.schema.json"
    );
}

/// docs/THREATS.md backs each claim with tests: every test file it names exists, and every test
/// it names after a file is a function of that file.
#[test]
fn the_threat_model_cites_tests_that_exist() {
    let doc = std::fs::read_to_string(root().join("docs/THREATS.md")).unwrap();
    let mut file: Option<String> = None;
    let mut cited = 0;
    for token in doc.split('`').skip(1).step_by(2) {
        if token.starts_with("tests/") || token.starts_with("src/") || token == "fuzz/" {
            assert!(
                root().join(token).exists(),
                "docs/THREATS.md names {token}, not found"
            );
            file = std::path::Path::new(token)
                .extension()
                .is_some_and(|e| e == "rs")
                .then(|| token.to_owned());
            continue;
        }
        let is_test_name = token.len() > 12
            && token.contains('_')
            && token
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !is_test_name {
            continue;
        }
        let Some(file) = &file else {
            panic!("docs/THREATS.md names `{token}` before any test file");
        };
        let source = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            source.contains(&format!("fn {token}(")),
            "docs/THREATS.md cites `{token}` in {file}, which has no such function"
        );
        cited += 1;
    }
    assert!(cited >= 20, "only {cited} tests cited");
}
