//! Every rule of `custody check`: the message, the severity, and the exact line and column.
//!
//! Each case is a runbook body appended to a valid header of `HEADER_LINES` lines; expected
//! lines are counted within the body, so a case reads the way its TOML reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests say plainly what they expect

use custody::runbook::{Fact, Runbook, Severity, SourceText, StepKind};

const HEADER: &str = r#"[runbook]
format = 1
id = "t"
title = "T"
version = "1.0.0"
language = "en"
summary = "s"

[[sources]]
id = "s"
title = "S"
"#;
const HEADER_LINES: isize = 11;

const END: &str = r#"
[[steps]]
id = "z"
kind = "end"
title = "Z"
"#;

/// (severity, line within the body (0 and below: in the header), column, part of the message)
type Expected<'a> = (Severity, isize, usize, &'a str);

use Severity::{Error as E, Warning as W};

#[track_caller]
fn check_full(text: &str, first_line: isize, expected: &[Expected]) {
    let checked = Runbook::parse(text);
    let source = SourceText::new("t.toml", text);
    let found: Vec<(Severity, isize, usize, String)> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let at = source.location(d.span.start);
            let line = isize::try_from(at.line).unwrap_or(isize::MAX);
            (
                d.severity,
                line + 1 - first_line,
                at.column,
                d.message.clone(),
            )
        })
        .collect();
    let shown = || {
        found
            .iter()
            .map(|(s, l, c, m)| format!("{s:?} {l}:{c} {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(found.len(), expected.len(), "found:\n{}", shown());
    for ((sev, line, col, message), (esev, eline, ecol, part)) in found.iter().zip(expected) {
        assert_eq!(
            (sev, line, col),
            (esev, eline, ecol),
            "for `{part}`; found:\n{}",
            shown()
        );
        assert!(
            message.contains(part),
            "`{message}` should contain `{part}`"
        );
    }
    assert_eq!(
        checked.runbook.is_some(),
        expected.iter().all(|(s, ..)| *s == W),
        "a runbook is returned exactly when there are no errors"
    );
}

/// Checks `body` after the standard header.
#[track_caller]
fn check(body: &str, expected: &[Expected]) {
    check_full(&format!("{HEADER}{body}"), HEADER_LINES + 1, expected);
}

#[test]
fn a_valid_runbook_has_no_problems() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\n{END}"
        ),
        &[],
    );
}

#[test]
fn toml_syntax_errors_are_located() {
    check(
        "\n[[steps]]\nid = \"a\ntitle = \"A\"\n",
        &[(E, 3, 8, "TOML syntax")],
    );
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let text = format!(
        "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitel = \"A\"\nsources = [\"s\"]\n{END}"
    );
    check(
        &text,
        &[
            (E, 2, 1, "missing `title` in step `a`"),
            (E, 5, 1, "unknown key `titel`"),
        ],
    );
    let checked = Runbook::parse(&format!("{HEADER}{text}"));
    let unknown = checked
        .diagnostics
        .iter()
        .find(|d| d.message.contains("titel"));
    assert_eq!(
        unknown.and_then(|d| d.help.as_deref()),
        Some("did you mean `title`?")
    );
}

#[test]
fn keys_of_another_step_kind_say_where_they_belong() {
    let text = format!(
        "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nitems = [\"x\"]\nsources = [\"s\"]\n{END}"
    );
    check(&text, &[(E, 6, 1, "unknown key `items` in step `a`")]);
    let checked = Runbook::parse(&format!("{HEADER}{text}"));
    assert!(
        checked.diagnostics[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("checklist steps"))
    );
}

#[test]
fn wrong_types_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = 3\nsources = \"s\"\n{END}"
        ),
        &[
            (W, -1, 6, "source `s` is never cited"),
            (W, 3, 6, "step `a` cites no source"),
            (
                E,
                5,
                9,
                "`title` in step `a` must be a string, not a number",
            ),
            (
                E,
                6,
                11,
                "`sources` in step `a` must be an array of strings",
            ),
        ],
    );
}

#[test]
fn missing_required_keys_point_at_the_table() {
    check(
        &format!("\n[[steps]]\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\n{END}"),
        &[(E, 2, 1, "missing `id` in a step")],
    );
    check_full(
        "[[steps]]\nid = \"z\"\nkind = \"end\"\ntitle = \"Z\"\n",
        1,
        &[(E, 1, 1, "missing the `[runbook]` table")],
    );
    check_full(
        "[runbook]\nformat = 1\nid = \"t\"\ntitle = \"T\"\nlanguage = \"en\"\n\n[[steps]]\nid = \"z\"\nkind = \"end\"\ntitle = \"Z\"\n",
        1,
        &[
            (E, 1, 2, "missing `version` in [runbook]"),
            (E, 1, 2, "missing `summary` in [runbook]"),
        ],
    );
}

#[test]
fn duplicate_ids_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"B\"\nsources = [\"s\"]\n{END}"
        ),
        &[(E, 9, 6, "duplicate step id `a`")],
    );
}

#[test]
fn branches_to_unknown_steps_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"decision\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps.choices]]\nid = \"x\"\nlabel = \"X\"\nnext = \"zz\"\n\n[[steps.choices]]\nid = \"y\"\nlabel = \"Y\"\nnext = \"z\"\n{END}"
        ),
        &[(
            E,
            11,
            8,
            "unknown step `zz` in `next` of choice `x` of step `a`",
        )],
    );
}

#[test]
fn deadlines_naming_unknown_steps_are_errors() {
    check(
        &format!(
            "\n[[deadlines]]\nid = \"d\"\nlabel = \"D\"\nwithin = \"1h\"\nfrom = \"nope\"\nmet_by = [\"a\", \"z2\"]\n\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\n{END}"
        ),
        &[
            (E, 6, 8, "unknown step `nope` in `from` of deadline `d`"),
            (E, 7, 16, "unknown step `z2` in `met_by` of deadline `d`"),
        ],
    );
}

#[test]
fn unreachable_steps_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\nnext = \"z\"\n\n[[steps]]\nid = \"lost\"\nkind = \"instruction\"\ntitle = \"L\"\nsources = [\"s\"]\n{END}"
        ),
        &[(E, 10, 6, "step `lost` cannot be reached from the start")],
    );
}

#[test]
fn steps_that_cannot_reach_an_end_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"decision\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps.choices]]\nid = \"x\"\nlabel = \"X\"\nnext = \"loop\"\n\n[[steps.choices]]\nid = \"y\"\nlabel = \"Y\"\nnext = \"z\"\n\n[[steps]]\nid = \"loop\"\nkind = \"instruction\"\ntitle = \"L\"\nsources = [\"s\"]\nnext = \"loop\"\n{END}"
        ),
        &[(E, 19, 6, "no end step can be reached from step `loop`")],
    );
}

#[test]
fn a_runbook_without_an_end_is_an_error() {
    check(
        "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\nnext = \"a\"\n",
        &[(E, 3, 6, "the runbook has no end step")],
    );
}

#[test]
fn the_last_step_must_be_an_end_or_say_where_to_go() {
    check(
        "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\n",
        &[(E, 2, 1, "step `a` is the last step but not an end")],
    );
}

#[test]
fn bad_durations_are_errors() {
    check(
        &format!(
            "\n[[deadlines]]\nid = \"d\"\nlabel = \"D\"\nwithin = \"1 month\"\n\n[[deadlines]]\nid = \"e\"\nlabel = \"E\"\nwithin = \"1h\"\nwarn = \"2h\"\n\n[[steps]]\nid = \"a\"\nkind = \"command\"\ntitle = \"A\"\nrun = \"uptime\"\ntimeout = \"soon\"\nsources = [\"s\"]\n{END}"
        ),
        &[
            (E, 5, 10, "bad duration in `within` of deadline `d`"),
            (
                E,
                11,
                8,
                "`warn` of deadline `e` is not shorter than `within`",
            ),
            (E, 18, 11, "bad duration in `timeout` of step `a`"),
        ],
    );
}

#[test]
fn undeclared_variables_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"Host {{{{host}}}}\"\nbody = \"Path {{{{evidence_pth}}}}\"\nsources = [\"s\"]\n{END}"
        ),
        &[(
            E,
            6,
            14,
            "unknown variable `evidence_pth` in `body` of step `a`",
        )],
    );
}

#[test]
fn unknown_jurisdictions_are_errors() {
    check(
        &format!(
            "\n[jurisdictions.XX]\nname = \"X\"\n\n[jurisdictions.nl]\nname = \"N\"\n\n[[deadlines]]\nid = \"d\"\nlabel = \"D\"\nwithin = \"1h\"\njurisdictions = [\"ZZ\"]\n\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"A\"\nsources = [\"s\"]\n{END}"
        ),
        &[
            (E, 2, 16, "unknown jurisdiction `XX`"),
            (E, 5, 16, "unknown jurisdiction `nl`"),
            (E, 12, 18, "unknown jurisdiction `ZZ`"),
        ],
    );
}

#[test]
fn empty_titles_are_errors() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"  \"\nsources = [\"s\"]\n{END}"
        ),
        &[(E, 5, 9, "`title` in step `a` is empty")],
    );
}

/// A command step's body for `run`, with an evidence variable declared.
fn command_case(run: &str) -> String {
    format!(
        "\n[variables.evidence_path]\nlabel = \"P\"\nevidence = true\n\n[[steps]]\nid = \"a\"\nkind = \"command\"\ntitle = \"A {{{{evidence_path}}}}\"\nsources = [\"s\"]\nrun = {run}\n{END}"
    )
}

#[test]
fn commands_that_destroy_evidence_are_errors() {
    check(
        &command_case("\"rm -rf /srv/x\""),
        &[(E, 11, 8, "`rm` deletes")],
    );
    check(
        &command_case("[\"sudo\", \"shred\", \"x\"]"),
        &[(E, 11, 16, "`shred` deletes")],
    );
    check(
        &command_case("\"find /srv -name x -delete\""),
        &[(E, 11, 26, "`find -delete`")],
    );
}

#[test]
fn commands_that_view_evidence_are_errors() {
    check(
        &command_case("\"xdg-open /srv/a.jpg\""),
        &[(E, 11, 8, "`xdg-open` displays")],
    );
    check(
        &command_case("\"ffmpeg -i x out.png\""),
        &[(E, 11, 8, "`ffmpeg` displays or decodes")],
    );
}

#[test]
fn commands_that_read_an_evidence_path_are_errors() {
    check(
        &command_case("\"cat {{evidence_path}}/a\""),
        &[(
            E,
            11,
            12,
            "`cat` would read the content of an evidence path",
        )],
    );
    check(
        &command_case("[\"strings\", \"{{evidence_path}}\"]"),
        &[(E, 11, 19, "`strings` would read")],
    );
    // Listing names is how the runbooks work without looking.
    check(&command_case("\"ls -la {{evidence_path}}\""), &[]);
}

#[test]
fn variables_inside_a_shell_script_are_errors() {
    check(
        &command_case("[\"sh\", \"-c\", \"ls {{evidence_path}}\"]"),
        &[(E, 11, 20, "reaches the shell unquoted")],
    );
}

#[test]
fn shell_syntax_in_a_command_string_is_an_error() {
    check(
        &command_case("\"ps aux | grep x\""),
        &[(E, 11, 15, "a pipe (`|`) needs a shell")],
    );
}

#[test]
fn undeclared_system_changes_are_errors() {
    check(
        &command_case("\"shutdown -h now\""),
        &[(E, 11, 8, "`shutdown` changes the system")],
    );
}

#[test]
fn copying_evidence_is_a_warning() {
    check(
        &command_case("\"cp -a {{evidence_path}} /tmp/x\""),
        &[(W, 11, 14, "`cp` copies or moves evidence")],
    );
}

#[test]
fn decisions_need_two_choices() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"decision\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps.choices]]\nid = \"x\"\nlabel = \"X\"\nnext = \"z\"\n{END}"
        ),
        &[(E, 8, 9, "needs at least two")],
    );
}

#[test]
fn unknown_kinds_and_types_suggest_the_right_one() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"checklst\"\ntitle = \"A\"\nsources = [\"s\"]\n{END}"
        ),
        &[(E, 4, 8, "unknown step kind `checklst`")],
    );
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"record\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps.fields]]\nid = \"f\"\nlabel = \"F\"\ntype = \"date\"\n\n[[steps.fields]]\nid = \"g\"\nlabel = \"G\"\ntype = \"choice\"\n{END}"
        ),
        &[
            (E, 11, 8, "unknown field type `date`"),
            (E, 16, 8, "is a choice without options"),
        ],
    );
}

#[test]
fn next_is_refused_on_decisions_and_ends() {
    check(
        "\n[[steps]]\nid = \"z\"\nkind = \"end\"\ntitle = \"Z\"\nnext = \"z\"\nsources = [\"s\"]\n",
        &[(E, 6, 8, "step `z` cannot have `next`: it is an end step")],
    );
}

#[test]
fn contacts_need_a_role_or_a_recipient_and_roles_must_exist() {
    check(
        &format!(
            "\n[jurisdictions.BE]\nname = \"Belgium\"\n\n[[jurisdictions.BE.contacts]]\nrole = \"police\"\nname = \"Police\"\n\n[jurisdictions.NL]\nname = \"Netherlands\"\n\n[[steps]]\nid = \"a\"\nkind = \"contact\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps]]\nid = \"b\"\nkind = \"contact\"\ntitle = \"B\"\nrole = \"police\"\nsources = [\"s\"]\n\n[[steps]]\nid = \"c\"\nkind = \"contact\"\ntitle = \"C\"\nrole = \"hotlne\"\nsources = [\"s\"]\n{END}"
        ),
        &[
            (
                W,
                9,
                16,
                "jurisdiction `NL` has no contact with role `police`",
            ),
            (E, 12, 1, "step `a` says neither `role` nor `to`"),
            (E, 29, 8, "no jurisdiction has a contact with role `hotlne`"),
        ],
    );
}

#[test]
fn declaring_or_setting_built_in_variables_is_an_error() {
    check(
        &format!(
            "\n[variables.host]\nlabel = \"H\"\n\n[[steps]]\nid = \"a\"\nkind = \"record\"\ntitle = \"A {{{{host}}}}\"\nsources = [\"s\"]\n\n[[steps.fields]]\nid = \"f\"\nlabel = \"F\"\ntype = \"text\"\nsets = \"case_id\"\n{END}"
        ),
        &[
            (E, 2, 12, "`host` is built in"),
            (E, 15, 8, "sets `case_id`, which is built in"),
        ],
    );
}

#[test]
fn newer_formats_are_refused() {
    let text = HEADER.replace("format = 1", "format = 2") + END;
    check_full(
        &text,
        1,
        &[
            (E, 2, 10, "runbook format 2 is newer"),
            (W, 10, 6, "source `s` is never cited"),
        ],
    );
}

#[test]
fn smaller_things_are_warnings() {
    check(
        &format!(
            "\n[[sources]]\nid = \"unused\"\ntitle = \"U\"\nurl = \"http://example.org\"\n\n[variables.idle]\nlabel = \"I\"\n\n[[steps]]\nid = \"a\"\nkind = \"instruction\"\ntitle = \"{long} {{{{Host}}}}\"\n{END}",
            long = "x".repeat(70)
        ),
        &[
            (W, -1, 6, "source `s` is never cited"),
            (W, 3, 6, "source `unused` is never cited"),
            (W, 5, 7, "the address uses http"),
            (W, 7, 12, "variable `idle` is never used"),
            (W, 11, 6, "step `a` cites no source"),
            (W, 13, 9, "longer than 70 characters"),
            (W, 13, 81, "`{{Host}}` is not a variable name"),
        ],
    );
}

/// A record step with one field per `(id, type, fact)`.
fn record_with_facts(step: &str, fields: &[(&str, &str, &str)]) -> String {
    use std::fmt::Write as _;
    let mut body = format!(
        "\n[[steps]]\nid = \"{step}\"\nkind = \"record\"\ntitle = \"A\"\nsources = [\"s\"]\n"
    );
    for (id, kind, fact) in fields {
        write!(
            body,
            "\n[[steps.fields]]\nid = \"{id}\"\nlabel = \"L\"\ntype = \"{kind}\"\nfact = \"{fact}\"\n"
        )
        .unwrap();
    }
    body
}

#[test]
fn facts_are_read_into_the_fields() {
    let body = record_with_facts(
        "a",
        &[("seen", "yesno", "viewed"), ("where", "text", "location")],
    );
    check(&format!("{body}{END}"), &[]);
    let runbook = Runbook::parse(&format!("{HEADER}{body}{END}"))
        .runbook
        .unwrap();
    let StepKind::Record { fields, .. } = &runbook.steps[0].kind else {
        panic!("step `a` should be a record step");
    };
    let facts: Vec<_> = fields.iter().map(|f| (f.id.as_str(), f.fact)).collect();
    assert_eq!(
        facts,
        [
            ("seen", Some(Fact::Viewed)),
            ("where", Some(Fact::Location))
        ]
    );
}

#[test]
fn unknown_facts_suggest_the_right_one() {
    let text = format!(
        "{HEADER}{}{END}",
        record_with_facts("a", &[("seen", "yesno", "viewd"), ("x", "text", "weather")])
    );
    check_full(
        &text,
        HEADER_LINES + 1,
        &[
            (E, 12, 8, "unknown fact `viewd` in field `seen` of step `a`"),
            (E, 18, 8, "unknown fact `weather` in field `x` of step `a`"),
        ],
    );
    let helps: Vec<_> = Runbook::parse(&text)
        .diagnostics
        .iter()
        .map(|d| d.help.clone().unwrap_or_default())
        .collect();
    assert_eq!(helps[0], "did you mean `viewed`?");
    assert!(helps[1].contains("how_found, found_at"), "{}", helps[1]);
}

#[test]
fn viewed_and_changed_need_a_yesno_field() {
    check(
        &format!(
            "\n[[steps]]\nid = \"a\"\nkind = \"record\"\ntitle = \"A\"\nsources = [\"s\"]\n\n[[steps.fields]]\nid = \"seen\"\nlabel = \"L\"\ntype = \"choice\"\noptions = [\"yes\", \"no\"]\nfact = \"viewed\"\n{END}"
        ),
        &[(
            E,
            13,
            8,
            "`fact = \"viewed\"` needs a field of type \"yesno\", and field `seen` of step `a` is of type \"choice\"",
        )],
    );
    check(
        &format!(
            "{}{END}",
            record_with_facts(
                "a",
                &[
                    ("altered", "text", "changed"),
                    ("seen", "yesno", "viewed"),
                    ("how", "text", "changed_details"),
                ]
            )
        ),
        &[(
            E,
            12,
            8,
            "`fact = \"changed\"` needs a field of type \"yesno\"",
        )],
    );
}

#[test]
fn a_fact_is_given_by_one_field_only() {
    let first = record_with_facts(
        "a",
        &[("seen", "yesno", "viewed"), ("who", "text", "found_by")],
    );
    let second = record_with_facts("b", &[("seen-again", "yesno", "viewed")]);
    let text = format!("{HEADER}{first}{second}{END}");
    check_full(
        &text,
        HEADER_LINES + 1,
        &[(
            E,
            30,
            8,
            "fact `viewed` of field `seen-again` of step `b` is already given by field `seen` of step `a`",
        )],
    );
    let checked = Runbook::parse(&text);
    let help = checked.diagnostics[0].help.as_deref().unwrap_or_default();
    let first_line = usize::try_from(HEADER_LINES).unwrap() + 12;
    assert!(help.contains(&format!("on line {first_line}")), "{help}");
}
