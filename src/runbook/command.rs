//! Command steps: how a command line is written, split into arguments and checked.
//!
//! custody never runs a command through a shell. A command is a list of arguments, written either
//! as a TOML array or as one string that is split the way a POSIX shell splits words (quotes and
//! backslashes), without any of a shell's expansions. Variables are substituted inside one
//! argument after splitting, so a value can never become a second argument, an option or a
//! second command.
//!
//! The checks refuse commands that would destroy evidence, display or decode it, or read an
//! evidence path, and ask for `changes_system = true` on commands that change the system.

use std::ops::Range;

use serde::{Serialize, Serializer};

use super::template::Template;

/// A command's arguments, the program first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub argv: Vec<Template>,
    /// How the runbook wrote it (the string, or the array joined with spaces), for display.
    pub written: String,
}

impl Serialize for CommandLine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.argv.iter().map(Template::raw))
    }
}

/// One word of a command string, with where it stands in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub range: Range<usize>,
}

/// Why a command string could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// Splits a command string into words like a POSIX shell, refusing the shell syntax that would
/// do something else here (pipes, redirections, `$` expansions, globs, `;`).
pub fn split(line: &str) -> Result<Vec<Word>, SplitError> {
    split_words(line, true)
}

fn split_words(line: &str, strict: bool) -> Result<Vec<Word>, SplitError> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut current: Option<(String, usize)> = None;
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some((text, start)) = current.take() {
                    words.push(Word {
                        text,
                        range: start..i,
                    });
                }
            }
            '\'' => {
                let word = current.get_or_insert_with(|| (String::new(), i));
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => word.0.push(c),
                        None => {
                            return Err(SplitError {
                                range: i..line.len(),
                                message: "unclosed single quote".into(),
                                help: Some("close the quote with `'`".into()),
                            });
                        }
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(|| (String::new(), i));
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\' | '$' | '`'))) => word.0.push(c),
                            Some((_, '\n')) => {}
                            Some((_, c)) => {
                                word.0.push('\\');
                                word.0.push(c);
                            }
                            None => break,
                        },
                        Some((j, c @ ('$' | '`'))) if strict => {
                            return Err(shell_syntax(j, c, line));
                        }
                        Some((_, c)) => word.0.push(c),
                        None => {
                            return Err(SplitError {
                                range: i..line.len(),
                                message: "unclosed double quote".into(),
                                help: Some("close the quote with `\"`".into()),
                            });
                        }
                    }
                }
            }
            '\\' => {
                let word = current.get_or_insert_with(|| (String::new(), i));
                match chars.next() {
                    Some((_, '\n')) | None => {}
                    Some((_, c)) => word.0.push(c),
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '~'
                if strict && !(c == '~' && current.is_some()) =>
            {
                return Err(shell_syntax(i, c, line));
            }
            c => current.get_or_insert_with(|| (String::new(), i)).0.push(c),
        }
    }
    if let Some((text, start)) = current {
        words.push(Word {
            text,
            range: start..line.len(),
        });
    }
    Ok(words)
}

fn shell_syntax(at: usize, c: char, line: &str) -> SplitError {
    let what = match c {
        '|' => "a pipe",
        '&' => "a background or `&&` operator",
        ';' => "a command separator",
        '<' | '>' => "a redirection",
        '(' | ')' => "a subshell",
        '$' | '`' => "a shell expansion",
        '*' | '?' | '[' => "a glob",
        _ => "home-folder expansion",
    };
    let end = at + line[at..].chars().next().map_or(1, char::len_utf8);
    SplitError {
        range: at..end,
        message: format!(
            "{what} (`{c}`) needs a shell, and custody never runs commands through one"
        ),
        help: Some(
            "quote it if the program itself should receive it; use {{variable}} for values; \
             write one command per step (output is saved to a file for you)"
                .into(),
        ),
    }
}

/// What the checks say about one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The argument it is about.
    pub argument: usize,
    pub error: bool,
    pub message: String,
    pub help: Option<String>,
}

/// What the checks need to know about the rest of the runbook.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// Variables marked `evidence = true`.
    pub evidence_variables: Vec<&'a str>,
    /// Paths named in evidence steps, as written.
    pub evidence_paths: Vec<&'a str>,
    pub changes_system: bool,
}

impl Context<'_> {
    fn names_evidence(&self, arg: &Template) -> bool {
        arg.variables()
            .any(|v| self.evidence_variables.contains(&v))
            || self.evidence_paths.iter().any(|path| {
                let raw = arg.raw();
                !path.is_empty()
                    && (raw == *path
                        || raw
                            .strip_prefix(path)
                            .is_some_and(|rest| rest.starts_with('/') || path.ends_with('/')))
            })
    }
}

const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh",
];

/// Programs that delete or overwrite data.
const DESTROY: &[&str] = &[
    "rm",
    "rmdir",
    "unlink",
    "shred",
    "wipe",
    "srm",
    "wipefs",
    "truncate",
    "fstrim",
    "blkdiscard",
    "sfill",
    "sdelete",
];

/// Programs that display, render or decode images, video or documents.
const VIEW: &[&str] = &[
    "xdg-open",
    "open",
    "see",
    "run-mailcap",
    "eog",
    "eom",
    "feh",
    "display",
    "gimp",
    "sxiv",
    "nsxiv",
    "imv",
    "fim",
    "fbi",
    "gpicview",
    "ristretto",
    "xviewer",
    "gthumb",
    "shotwell",
    "gwenview",
    "viewnior",
    "qimgv",
    "mpv",
    "vlc",
    "cvlc",
    "mplayer",
    "ffplay",
    "totem",
    "smplayer",
    "celluloid",
    "firefox",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "w3m",
    "lynx",
    "links",
    "elinks",
    "evince",
    "okular",
    "zathura",
    "xpdf",
    "mupdf",
    "catimg",
    "chafa",
    "viu",
    "timg",
    "img2txt",
    "jp2a",
    "tiv",
    "ffmpeg",
    "convert",
    "magick",
    "montage",
    "ffmpegthumbnailer",
    "gm",
    "vipsthumbnail",
    "vips",
    "exiftool",
    "identify",
];

/// Programs that print or extract a file's content.
const READ: &[&str] = &[
    "cat", "tac", "less", "more", "most", "head", "tail", "xxd", "hexdump", "hd", "od", "strings",
    "base64", "base32", "basenc", "vi", "vim", "nvim", "view", "nano", "emacs", "ed", "pico",
    "bat", "batcat", "nl", "zcat", "zless", "zmore", "bzcat", "xzcat", "zstdcat", "unzip", "7z",
    "7za", "unrar", "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "awk", "gawk", "sed", "sort",
    "uniq", "cut", "tr", "dd", "cpio", "mc", "ranger", "nnn", "lf", "vifm",
];

/// Programs that copy or move data elsewhere.
const COPY: &[&str] = &[
    "cp", "mv", "scp", "rsync", "sftp", "tar", "zip", "gzip", "bzip2", "xz", "zstd", "install",
    "ln", "curl", "wget", "nc", "ncat", "socat", "rclone", "aws", "gsutil",
];

/// Programs that change the system's state.
const CHANGE: &[&str] = &[
    "shutdown",
    "poweroff",
    "reboot",
    "halt",
    "init",
    "telinit",
    "kill",
    "pkill",
    "killall",
    "chmod",
    "chown",
    "chgrp",
    "chattr",
    "setfacl",
    "iptables",
    "ip6tables",
    "nft",
    "ufw",
    "firewall-cmd",
    "ifdown",
    "ifconfig",
    "umount",
    "mount",
    "usermod",
    "userdel",
    "passwd",
    "chage",
    "crontab",
    "docker",
    "podman",
    "kubectl",
    "virsh",
    "mv",
    "touch",
    "mkdir",
    "apt",
    "apt-get",
    "dnf",
    "yum",
    "zypper",
    "pacman",
];

/// `systemctl`, `service` and `ip` change the system only with some sub-commands.
fn changes_with_subcommand(program: &str, args: &[&str]) -> bool {
    match program {
        "systemctl" => args.iter().any(|a| {
            matches!(
                *a,
                "stop"
                    | "kill"
                    | "poweroff"
                    | "reboot"
                    | "halt"
                    | "isolate"
                    | "disable"
                    | "mask"
                    | "restart"
                    | "start"
                    | "enable"
                    | "reload"
                    | "suspend"
                    | "hibernate"
            )
        }),
        "service" => args
            .iter()
            .any(|a| matches!(*a, "stop" | "restart" | "start" | "reload")),
        "ip" => args
            .iter()
            .any(|a| matches!(*a, "set" | "add" | "del" | "flush" | "delete")),
        _ => false,
    }
}

/// Checks one command; findings name the argument they are about.
pub fn check(argv: &[Template], context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let words: Vec<&str> = argv.iter().map(Template::raw).collect();
    check_words(&words, 0, argv, context, &mut findings, 0);
    findings
}

/// Basename of a program path: `/usr/bin/rm` is `rm`.
fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The index of the program actually run, looking through wrappers such as `sudo` and `env`.
fn skip_wrappers(words: &[&str], mut i: usize) -> usize {
    while i < words.len() {
        let name = program_name(words[i]);
        let takes_value: &[&str] = match name {
            "sudo" | "doas" => &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"],
            "env" => &["-u", "-C", "-S"],
            "nice" => &["-n"],
            "ionice" => &["-c", "-n", "-p"],
            "timeout" => &["-s", "-k", "--signal", "--kill-after"],
            "stdbuf" | "nohup" | "setsid" | "time" | "command" | "exec" | "builtin"
            | "unbuffer" | "chrt" | "taskset" | "xargs" | "busybox" | "flock" | "runuser"
            | "su" => &[],
            _ => return i,
        };
        i += 1;
        while i < words.len() {
            let w = words[i];
            if takes_value.contains(&w) {
                i += 2;
            } else if w.starts_with('-') || (name == "env" && w.contains('=')) {
                i += 1;
            } else {
                break;
            }
        }
        // `timeout DURATION cmd`, `chrt PRIO cmd`, `taskset MASK cmd`, `flock FILE cmd`: one
        // positional argument before the program.
        if matches!(name, "timeout" | "chrt" | "taskset" | "flock") && i < words.len() {
            i += 1;
        }
    }
    i
}

// `argv` (the templates) and `args` (the words after the program) are the usual names.
#[allow(clippy::similar_names)]
fn check_words(
    words: &[&str],
    first: usize,
    argv: &[Template],
    context: &Context<'_>,
    findings: &mut Vec<Finding>,
    depth: usize,
) {
    // `argv` indices are only meaningful at the top level; inside `sh -c` or `find -exec`
    // findings point at the argument that holds the inner command.
    let at = |i: usize| if depth == 0 { i } else { first };
    let start = skip_wrappers(words, 0);
    let Some(&program_word) = words.get(start) else {
        return;
    };
    let program = program_name(program_word);
    let args = &words[start + 1..];
    if depth == 0 && program.contains("{{") {
        note(
            findings,
            start,
            false,
            "the program to run comes from a variable, so it cannot be checked".into(),
            Some("name the program in the runbook and pass values as arguments"),
        );
    }
    let names_evidence = |i: usize| {
        if depth == 0 {
            context.names_evidence(&argv[i])
        } else {
            context.names_evidence(&Template::literal(words[i]))
        }
    };
    let evidence_arg = (start + 1..words.len()).find(|&i| names_evidence(i));
    // For copies only the sources count: writing into the session's evidence folder is how
    // logs are preserved.
    let copied_evidence = (start + 1..words.len().saturating_sub(1)).find(|&i| names_evidence(i));

    if SHELLS.contains(&program) {
        if let Some(c) = args
            .iter()
            .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
            && let Some(script) = args.get(c + 1)
        {
            let script_index = start + 2 + c;
            if depth == 0 && argv[script_index].has_variables() {
                note(
                    findings,
                    at(script_index),
                    true,
                    "a variable inside a shell script reaches the shell unquoted".into(),
                    Some(
                        "pass the value as a separate argument and use \"$1\" in the script: \
                             run = [\"sh\", \"-c\", \"ls -la -- \\\"$1\\\"\", \"sh\", \"{{path}}\"]",
                    ),
                );
            }
            for part in script.split(['\n', ';', '|', '&']) {
                if let Ok(inner) = split_words(part, false) {
                    let inner: Vec<&str> = inner.iter().map(|w| w.text.as_str()).collect();
                    check_words(&inner, at(script_index), argv, context, findings, depth + 1);
                }
            }
        }
        return;
    }
    if program == "find" {
        if let Some(i) = args.iter().position(|a| *a == "-delete") {
            note(
                findings,
                at(start + 1 + i),
                true,
                "`find -delete` deletes files, and evidence must never be deleted".into(),
                Some("list or hash the files instead; restrict access if it must be removed"),
            );
        }
        if let Some(i) = args
            .iter()
            .position(|a| matches!(*a, "-exec" | "-execdir" | "-ok" | "-okdir"))
        {
            let inner: Vec<&str> = args[i + 1..]
                .iter()
                .copied()
                .take_while(|a| *a != ";" && *a != "+")
                .collect();
            check_words(
                &inner,
                at(start + 2 + i),
                argv,
                context,
                findings,
                depth + 1,
            );
        }
    }
    if program == "rsync"
        && let Some(i) = args
            .iter()
            .position(|a| a.starts_with("--delete") || *a == "--remove-source-files")
    {
        note(
            findings,
            at(start + 1 + i),
            true,
            format!(
                "`rsync {}` deletes files, and evidence must never be deleted",
                args[i]
            ),
            None,
        );
    }
    if program == "git" && args.first() == Some(&"clean") {
        note(
            findings,
            at(start),
            true,
            "`git clean` deletes files".into(),
            None,
        );
    }
    if DESTROY.contains(&program)
        || program.starts_with("mkfs")
        || (program == "dd" && args.iter().any(|a| a.starts_with("of=")))
    {
        note(
            findings,
            at(start),
            true,
            format!("`{program}` deletes or overwrites data, and evidence must never be deleted"),
            Some(
                "restrict access instead (permissions, disable the public link), as the police or hotline agree",
            ),
        );
    }
    if VIEW.contains(&program) {
        note(
            findings,
            at(start),
            true,
            format!(
                "`{program}` displays or decodes file content, and the material must never be viewed"
            ),
            Some(
                "work with names, sizes, timestamps and hashes only (an evidence step hashes without opening)",
            ),
        );
    }
    if let Some(i) = evidence_arg.filter(|_| READ.contains(&program)) {
        note(
            findings,
            at(i),
            true,
            format!("`{program}` would read the content of an evidence path"),
            Some("use an evidence step to hash it, or `ls -la` to list names and sizes"),
        );
    } else if let Some(i) = copied_evidence.filter(|_| COPY.contains(&program)) {
        note(
            findings,
            at(i),
            false,
            format!(
                "`{program}` copies or moves evidence; preserve it where it is unless the police ask otherwise"
            ),
            None,
        );
    }
    if !context.changes_system
        && (CHANGE.contains(&program) || changes_with_subcommand(program, args))
    {
        note(
            findings,
            at(start),
            true,
            format!("`{program}` changes the system, but the step does not say so"),
            Some(
                "add `changes_system = true`: the operator then confirms twice, and the report shows it",
            ),
        );
    }
}

fn note(
    findings: &mut Vec<Finding>,
    argument: usize,
    error: bool,
    message: String,
    help: Option<&str>,
) {
    findings.push(Finding {
        argument,
        error,
        message,
        help: help.map(str::to_owned),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line)
            .unwrap_or_default()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    fn findings(argv: &[&str], context: &Context<'_>) -> Vec<(usize, bool)> {
        let argv: Vec<Template> = argv.iter().map(|a| Template::literal(a)).collect();
        check(&argv, context)
            .into_iter()
            .map(|f| (f.argument, f.error))
            .collect()
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(words("ps -eo pid,args"), ["ps", "-eo", "pid,args"]);
        assert_eq!(
            words(r#"a 'b c' "d \"e\"" f\ g"#),
            ["a", "b c", "d \"e\"", "f g"]
        );
        assert_eq!(words("ls '{{path}}'"), ["ls", "{{path}}"]);
        assert_eq!(
            split("ls -la")
                .unwrap_or_default()
                .iter()
                .map(|w| w.range.clone())
                .collect::<Vec<_>>(),
            [0..2, 3..6]
        );
    }

    #[test]
    fn refuses_shell_syntax() {
        for line in [
            "ps | grep x",
            "ls > out",
            "a; b",
            "echo $HOME",
            "ls *.jpg",
            "echo `id`",
            "x && y",
        ] {
            assert!(split(line).is_err(), "{line}");
        }
        assert!(split("find / -name '*.jpg'").is_ok());
        assert!(split("'unclosed").unwrap_err().message.contains("unclosed"));
    }

    #[test]
    fn refuses_deleting_viewing_and_reading_evidence() {
        let context = Context {
            evidence_variables: vec!["evidence_path"],
            evidence_paths: vec!["/srv/share"],
            changes_system: false,
        };
        assert_eq!(findings(&["rm", "-rf", "/tmp/x"], &context), [(0, true)]);
        assert_eq!(
            findings(&["sudo", "-u", "root", "shred", "x"], &context),
            [(3, true)]
        );
        assert_eq!(findings(&["find", "/", "-delete"], &context), [(2, true)]);
        assert_eq!(
            findings(&["find", "/", "-exec", "rm", "{}", ";"], &context),
            [(3, true)]
        );
        assert_eq!(findings(&["eog", "x.jpg"], &context), [(0, true)]);
        assert_eq!(
            findings(&["cat", "{{evidence_path}}"], &context),
            [(1, true)]
        );
        assert_eq!(
            findings(&["cat", "/srv/share/a.jpg"], &context),
            [(1, true)]
        );
        assert!(findings(&["cat", "/srv/shared-notes"], &context).is_empty());
        assert!(findings(&["cat", "/var/log/auth.log"], &context).is_empty());
        assert!(findings(&["ls", "-la", "{{evidence_path}}"], &context).is_empty());
        assert_eq!(
            findings(&["sh", "-c", "rm -rf /srv"], &context),
            [(2, true)]
        );
        assert_eq!(
            findings(&["bash", "--norc", "-c", "rm x"], &context),
            [(3, true)]
        );
        assert_eq!(
            findings(&["dd", "if=/dev/zero", "of=/dev/sda"], &context),
            [(0, true)]
        );
        assert_eq!(
            findings(&["sh", "-c", "ls {{evidence_path}}"], &context),
            [(2, true)]
        );
        assert_eq!(
            findings(&["cp", "-a", "{{evidence_path}}", "/tmp"], &context),
            [(2, false)]
        );
        assert!(
            findings(
                &["cp", "-a", "/var/log", "{{evidence_path}}/logs"],
                &context
            )
            .is_empty()
        );
        assert!(findings(&["{{tools}}/ps", "aux"], &context).is_empty());
        assert_eq!(findings(&["{{tool}}", "aux"], &context), [(0, false)]);
    }

    #[test]
    fn system_changes_must_be_declared() {
        let mut context = Context::default();
        assert_eq!(findings(&["chmod", "0700", "/srv"], &context), [(0, true)]);
        assert_eq!(
            findings(&["systemctl", "stop", "nginx"], &context),
            [(0, true)]
        );
        assert!(findings(&["systemctl", "status", "nginx"], &context).is_empty());
        context.changes_system = true;
        assert!(findings(&["chmod", "0700", "/srv"], &context).is_empty());
        assert!(findings(&["shutdown", "-h", "now"], &context).is_empty());
    }
}
