//! Evidence hashing (issue 6): digests against coreutils, `sha256sum -c` on what custody
//! writes, special files recorded and never read, unreadable files recorded with their error,
//! access times kept, the same manifest twice, flat memory, cancellation, and `custody hash`.
//!
//! The tests that need another user (unreadable files, the plain-read fallback) run the binary
//! through `setpriv --reuid=65534` when they run as root, since root reads a mode 000 file.
//! `memory_for_a_million_files` is ignored by default: `cargo test --release --test hash --
//! --ignored memory_for_a_million_files` (about a minute; it makes a million empty files under
//! the target folder and removes them at the end).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write as _;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use custody::evidence::hash::{self, Entry, HashAlgorithm, Kind, Options, Progress, ReadMode};
use custody::evidence::manifest::{self, Summary};

const ALL: [HashAlgorithm; 3] = [
    HashAlgorithm::Sha256,
    HashAlgorithm::Sha1,
    HashAlgorithm::Md5,
];

/// Runs `f` in a thread and fails the test if it takes longer than `secs` (a hang on a fifo,
/// a loop walked for ever).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s: a hang"))
}

fn options(algorithms: &[HashAlgorithm], follow: bool) -> Options {
    Options {
        algorithms: algorithms.to_vec(),
        follow_symlinks: follow,
        ..Options::default()
    }
}

/// Every entry of a run, in order.
fn entries(paths: &[PathBuf], options: &Options) -> (Vec<Entry>, hash::Finished) {
    let mut all = Vec::new();
    let finished = hash::run(
        paths,
        options,
        &Progress::new(),
        &AtomicBool::new(false),
        |e| {
            all.push(e);
            Ok(())
        },
    )
    .unwrap();
    (all, finished)
}

fn name(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// Awkward names, each a file of its own.
fn awkward_names() -> Vec<OsString> {
    [
        &b"plain.txt"[..],
        b"with space",
        b"new\nline",
        b"tab\there",
        b"back\\slash",
        b"carriage\rreturn",
        b"esc\x1b[31mred",
        b"bidi\xe2\x80\xaetxt.exe",
        b"not-utf8-\xff\xfe",
        b"-leading-dash",
        b"empty",
    ]
    .iter()
    .map(|b| name(b))
    .collect()
}

/// A tree with awkward names, empty files, a 5 MB file and nested folders. Returns its root and
/// the number of regular files in it.
fn awkward_tree(root: &Path) -> usize {
    let mut files = 0;
    for (i, n) in awkward_names().into_iter().enumerate() {
        let content: Vec<u8> = if n == "empty" {
            Vec::new()
        } else {
            format!("file {i} {}\n", n.to_string_lossy()).into_bytes()
        };
        fs::write(root.join(&n), content).unwrap();
        files += 1;
    }
    let deep = root.join("a").join(name(b"b\nb")).join("c");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("deep.txt"), b"deep").unwrap();
    fs::write(root.join("a").join("empty"), b"").unwrap();
    files += 2;
    // 5 MB of varied bytes (a simple generator: no two chunks alike).
    let mut big = Vec::with_capacity(5_000_000);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while big.len() < 5_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big.extend_from_slice(&x.to_le_bytes());
    }
    big.truncate(5_000_000);
    fs::write(root.join("a").join("big.bin"), &big).unwrap();
    files += 1;
    files
}

/// The digest a coreutils tool gives for a file, read on its standard input (so that no name
/// escaping is involved).
fn coreutils(tool: &str, path: &Path) -> String {
    let out = Command::new(tool)
        .stdin(fs::File::open(path).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{tool} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[test]
fn every_digest_matches_coreutils() {
    let root = common::temp_dir("hash-coreutils");
    let files = awkward_tree(&root);
    let (entries, finished) = within(60, {
        let root = root.clone();
        move || entries(&[root], &options(&ALL, false))
    });
    assert!(!finished.cancelled);
    let hashed: Vec<&Entry> = entries.iter().filter(|e| e.digests.is_some()).collect();
    assert_eq!(hashed.len(), files, "every regular file is hashed");
    for entry in &entries {
        assert!(entry.error.is_none(), "{:?}: {:?}", entry.path, entry.error);
    }
    for entry in hashed {
        let d = entry.digests.unwrap();
        let shown = entry.path.to_string_lossy();
        assert_eq!(
            d.sha256.to_hex(),
            coreutils("sha256sum", &entry.path),
            "{shown}"
        );
        assert_eq!(
            hex(&d.sha1.unwrap()),
            coreutils("sha1sum", &entry.path),
            "{shown}"
        );
        assert_eq!(
            hex(&d.md5.unwrap()),
            coreutils("md5sum", &entry.path),
            "{shown}"
        );
        assert_eq!(entry.read, Some(ReadMode::Noatime), "{shown}");
        let meta = fs::symlink_metadata(&entry.path).unwrap();
        let m = entry.meta.unwrap();
        assert_eq!(m.size, meta.len(), "{shown}");
        assert_eq!(
            (m.inode, m.dev, m.nlink),
            (meta.ino(), meta.dev(), meta.nlink())
        );
        assert_eq!(m.mode, meta.mode() & 0o7777);
        assert_eq!(
            (m.mtime.secs, i64::from(m.mtime.nanos)),
            (meta.mtime(), meta.mtime_nsec())
        );
    }
    // Every object is there once: the root, 13 files, folders a, a/b\nb, a/b\nb/c.
    assert_eq!(entries.len(), 1 + files + 3);
    let paths: BTreeSet<&Path> = entries.iter().map(|e| e.path.as_path()).collect();
    assert_eq!(paths.len(), entries.len(), "no path twice");
}

#[test]
fn sha256sums_written_by_custody_pass_sha256sum_check() {
    let root = common::temp_dir("hash-sums");
    let tree = root.join("tree");
    fs::create_dir(&tree).unwrap();
    let files = awkward_tree(&tree);
    let out = root.join("evidence");
    fs::create_dir(&out).unwrap();
    let outcome = within(60, {
        let (out, tree) = (out.clone(), tree.clone());
        move || {
            manifest::write_to_folder(
                &out,
                "E1",
                &[tree],
                &options(&ALL, false),
                &Progress::new(),
                &AtomicBool::new(false),
            )
            .unwrap()
        }
    });
    assert_eq!(outcome.summary.files, files as u64);
    assert_eq!(outcome.summary.errors, 0);
    assert!(!outcome.summary.cancelled);
    assert_eq!(outcome.sums.name, "E1.SHA256SUMS");
    assert_eq!(outcome.manifest.name, "E1.manifest.jsonl");
    for written in [&outcome.sums, &outcome.manifest] {
        let path = out.join(&written.name);
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600, "{}", written.name);
        assert_eq!(meta.len(), written.size);
        assert_eq!(written.sha256.to_hex(), coreutils("sha256sum", &path));
    }
    // Absolute paths: sha256sum -c checks from anywhere.
    let check = Command::new("sha256sum")
        .args(["-c", "--strict"])
        .arg(out.join("E1.SHA256SUMS"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "sha256sum -c failed:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let ok_lines = check
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| l.ends_with(b": OK"))
        .count();
    assert_eq!(ok_lines, files, "sha256sum checked every file");
    // And a file changed afterwards is caught by it (the check can fail).
    fs::write(tree.join("empty"), b"changed").unwrap();
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg(out.join("E1.SHA256SUMS"))
        .output()
        .unwrap();
    assert!(!check.status.success());

    // The folder's files are created new: a second run with the same stem is refused.
    let again = manifest::write_to_folder(
        &out,
        "E1",
        std::slice::from_ref(&tree),
        &Options::default(),
        &Progress::new(),
        &AtomicBool::new(false),
    );
    assert!(
        matches!(again, Err(hash::Error::Create { .. })),
        "{again:?}"
    );
    assert!(matches!(
        manifest::write_to_folder(
            &out,
            "../x",
            &[tree],
            &Options::default(),
            &Progress::new(),
            &AtomicBool::new(false)
        ),
        Err(hash::Error::Stem(_))
    ));
}

#[test]
fn manifest_lines_carry_every_field_and_exact_names() {
    let root = common::temp_dir("hash-manifest");
    awkward_tree(&root);
    let mut manifest = Vec::new();
    let summary = manifest::hash_into(
        std::slice::from_ref(&root),
        &options(&ALL, false),
        &Progress::new(),
        &AtomicBool::new(false),
        &mut manifest,
        std::io::sink(),
    )
    .unwrap();
    let text = String::from_utf8(manifest).expect("the manifest is UTF-8");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "nothing raw for a terminal"
    );
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = match (v.get("path"), v.get("path_base64")) {
            (Some(p), None) => p.as_str().unwrap().as_bytes().to_vec(),
            (None, Some(b)) => base64(b.as_str().unwrap()),
            other => panic!("exactly one of path and path_base64: {other:?}"),
        };
        let on_disk = fs::symlink_metadata(OsStr::from_bytes(&path)).unwrap();
        let kind = v["kind"].as_str().unwrap();
        assert_eq!(kind == "file", on_disk.is_file());
        assert_eq!(kind == "dir", on_disk.is_dir());
        assert_eq!(
            v["mode"].as_str().unwrap(),
            format!("{:04o}", on_disk.mode() & 0o7777)
        );
        for time in ["mtime", "ctime", "atime"] {
            let t = v[time].as_str().unwrap();
            assert!(t.ends_with('Z') && t.len() == 30, "{time}: {t}");
            chrono::DateTime::parse_from_rfc3339(t).unwrap();
        }
        for field in ["size", "uid", "gid", "inode", "dev", "nlink"] {
            assert!(v[field].is_u64(), "{field} in {line}");
        }
        if kind == "file" {
            assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
            assert_eq!(v["sha1"].as_str().unwrap().len(), 40);
            assert_eq!(v["md5"].as_str().unwrap().len(), 32);
            assert_eq!(v["read"], "noatime");
        }
        assert!(v.get("error").is_none());
        names.insert(path);
    }
    for n in awkward_names() {
        let mut full = root.as_os_str().as_bytes().to_vec();
        full.push(b'/');
        full.extend_from_slice(n.as_bytes());
        assert!(names.contains(&full), "{n:?} is in the manifest, exactly");
    }
    assert_eq!(summary.errors, 0);
    assert_eq!(summary.algorithms, ALL.to_vec());
}

fn base64(text: &str) -> Vec<u8> {
    use ct_codecs::{Base64, Decoder as _};
    Base64::decode_to_vec(text, None).unwrap()
}

#[test]
fn special_files_are_recorded_and_never_read() {
    let root = common::temp_dir("hash-special");
    fs::write(root.join("file"), b"content").unwrap();
    let fifo = root.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let _socket = std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();
    std::os::unix::fs::symlink("file", root.join("link")).unwrap();
    std::os::unix::fs::symlink("loop-b", root.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", root.join("loop-b")).unwrap();
    std::os::unix::fs::symlink("nothing-here", root.join("dangling")).unwrap();
    fs::create_dir(root.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", root.join("sub").join("up")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("to-device")).unwrap();

    for follow in [false, true] {
        let (entries, finished) = within(30, {
            let root = root.clone();
            move || entries(&[root], &options(&[], follow))
        });
        assert!(!finished.cancelled);
        let get = |n: &str| {
            entries
                .iter()
                .find(|e| e.path == root.join(n))
                .unwrap_or_else(|| panic!("{n} is recorded (follow {follow})"))
        };
        let fifo = get("fifo");
        assert_eq!(fifo.kind(), Some(Kind::Fifo));
        assert!(fifo.digests.is_none() && fifo.read.is_none() && fifo.error.is_none());
        let socket = get("socket");
        assert_eq!(socket.kind(), Some(Kind::Socket));
        assert!(socket.digests.is_none() && socket.read.is_none());
        assert_eq!(get("file").kind(), Some(Kind::File));
        for link in ["link", "loop-a", "loop-b", "dangling", "to-device"] {
            assert!(get(link).target.is_some(), "{link} has its target");
        }
        assert_eq!(get("loop-a").target.as_deref(), Some(OsStr::new("loop-b")));
        assert_eq!(get("dangling").kind(), Some(Kind::Symlink));
        assert!(get("dangling").error.is_none());
        if follow {
            // A link is recorded as what it points to, with its target; loops are errors.
            let link = get("link");
            assert_eq!(link.kind(), Some(Kind::File));
            assert_eq!(link.digests, get("file").digests);
            assert!(get("loop-a").error.as_deref().unwrap().contains("loop"));
            assert_eq!(get("loop-a").kind(), Some(Kind::Symlink));
            let up = get("sub/up");
            assert_eq!(up.kind(), Some(Kind::Dir));
            assert!(up.error.as_deref().unwrap().contains("loop"), "{up:?}");
            let device = get("to-device");
            assert_eq!(device.kind(), Some(Kind::CharDevice));
            assert!(device.digests.is_none() && device.read.is_none());
            // Nothing under the loop was walked again.
            let up = root.join("sub/up");
            assert!(
                !entries
                    .iter()
                    .any(|e| e.path != up && e.path.starts_with(&up))
            );
        } else {
            for link in ["link", "loop-a", "loop-b", "sub/up", "to-device"] {
                let e = get(link);
                assert_eq!(e.kind(), Some(Kind::Symlink), "{link}");
                assert!(e.digests.is_none() && e.error.is_none(), "{link}: {e:?}");
            }
        }
        assert_eq!(entries.len(), 11, "{entries:#?}");
    }
}

/// `Some(args)` to run a command as the unprivileged user 65534 when this test runs as root,
/// `Some(empty)` when it does not run as root, `None` when that cannot be done here.
fn unprivileged() -> Option<Vec<&'static str>> {
    let me = fs::read_to_string("/proc/self/status").ok()?;
    let uid_line = me.lines().find(|l| l.starts_with("Uid:"))?;
    let euid = uid_line.split_whitespace().nth(2)?;
    if euid != "0" {
        return Some(Vec::new());
    }
    let has_setpriv = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    has_setpriv.then(|| {
        vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
    })
}

fn custody_as(prefix: &[&str], args: &[&OsStr], cwd: &Path) -> Output {
    let mut command_line: Vec<&OsStr> = prefix.iter().map(OsStr::new).collect();
    command_line.push(OsStr::new(env!("CARGO_BIN_EXE_custody")));
    command_line.extend_from_slice(args);
    Command::new(command_line[0])
        .args(&command_line[1..])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn custody(args: &[&str], cwd: &Path) -> Output {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    custody_as(&[], &args, cwd)
}

#[test]
fn unreadable_files_and_folders_are_entries_with_their_error() {
    let Some(prefix) = unprivileged() else {
        eprintln!("note: running as root without setpriv: unreadable files cannot be tested");
        return;
    };
    let root = common::temp_dir("hash-unreadable");
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(root.join("readable"), b"anyone may read this").unwrap();
    fs::set_permissions(root.join("readable"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(root.join("secret"), b"no one may read this").unwrap();
    fs::set_permissions(root.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir(root.join("locked")).unwrap();
    fs::write(root.join("locked").join("inside"), b"x").unwrap();
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();

    let out = within(30, {
        let (root, prefix) = (root.clone(), prefix.clone());
        move || {
            custody_as(
                &prefix,
                &[OsStr::new("hash"), OsStr::new("--json"), root.as_os_str()],
                Path::new("/"),
            )
        }
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("secret") && stderr.contains("Permission denied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("locked") && stderr.contains("what to do"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let get = |n: &str| {
        let want = root.join(n);
        lines
            .iter()
            .find(|v| v["path"].as_str() == want.to_str())
            .unwrap_or_else(|| panic!("{n} is in the manifest"))
    };
    let secret = get("secret");
    assert!(
        secret["error"]
            .as_str()
            .unwrap()
            .contains("Permission denied")
    );
    assert!(secret.get("sha256").is_none());
    assert_eq!(secret["kind"], "file");
    let locked = get("locked");
    assert!(
        locked["error"]
            .as_str()
            .unwrap()
            .contains("Permission denied")
    );
    assert_eq!(locked["kind"], "dir");
    assert!(get("readable").get("sha256").is_some());
    if !prefix.is_empty() {
        // Another user's file: the kernel refuses O_NOATIME, so it was read plainly.
        assert_eq!(get("readable")["read"], "plain");
    }
    assert_eq!(lines.len(), 4, "root, readable, secret, locked");
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
}

fn atime(path: &Path) -> (i64, i64) {
    let m = fs::metadata(path).unwrap();
    (m.atime(), m.atime_nsec())
}

fn set_old_atime(path: &Path) {
    let ok = Command::new("touch")
        .args(["-a", "-d", "2001-02-03 04:05:06"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "touch -a");
}

#[test]
fn access_time_is_kept_where_noatime_applies() {
    let root = common::temp_dir("hash-atime");
    let file = root.join("evidence.bin");
    fs::write(&file, vec![7u8; 100_000]).unwrap();
    fs::create_dir(root.join("folder")).unwrap();
    fs::write(root.join("folder").join("inner"), b"inner").unwrap();

    // The control: does a plain read change an old access time on this file system?
    set_old_atime(&file);
    let before = atime(&file);
    let _ = fs::read(&file).unwrap();
    let plain_changes_atime = atime(&file) != before;
    if !plain_changes_atime {
        eprintln!(
            "note: a plain read does not change access times here (noatime mount?): only the \
             read mode is checked"
        );
    }

    for p in [
        &file,
        &root.join("folder"),
        &root.join("folder").join("inner"),
    ] {
        set_old_atime(p);
    }
    let before: Vec<_> = [
        &file,
        &root.join("folder"),
        &root.join("folder").join("inner"),
    ]
    .iter()
    .map(|p| atime(p))
    .collect();
    let (entries, _) = entries(std::slice::from_ref(&root), &options(&[], false));
    let after: Vec<_> = [
        &file,
        &root.join("folder"),
        &root.join("folder").join("inner"),
    ]
    .iter()
    .map(|p| atime(p))
    .collect();
    let read = |p: &Path| entries.iter().find(|e| e.path == p).unwrap().read;
    assert_eq!(read(&file), Some(ReadMode::Noatime));
    assert_eq!(read(&root.join("folder")), Some(ReadMode::Noatime));
    assert_eq!(
        read(&root.join("folder").join("inner")),
        Some(ReadMode::Noatime)
    );
    assert_eq!(
        before, after,
        "access times (file, folder, file in folder) unchanged"
    );
    // The entry has the access time from before the read.
    let e = entries.iter().find(|e| e.path == file).unwrap();
    assert_eq!(e.meta.unwrap().atime.secs, before[0].0);
}

#[test]
fn two_runs_give_identical_manifests() {
    let root = common::temp_dir("hash-determinism");
    awkward_tree(&root);
    for i in 0..300 {
        let dir = root.join(format!("d{}", i % 7));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i}")), i.to_string().repeat(i)).unwrap();
    }
    let manifest = |threads: usize| {
        let mut out = Vec::new();
        let mut sums = Vec::new();
        manifest::hash_into(
            std::slice::from_ref(&root),
            &Options {
                algorithms: ALL.to_vec(),
                threads,
                ..Options::default()
            },
            &Progress::new(),
            &AtomicBool::new(false),
            &mut out,
            &mut sums,
        )
        .unwrap();
        (out, sums)
    };
    let first = manifest(0);
    for threads in [0, 1, 3] {
        let again = manifest(threads);
        let (a, b) = (&first.0, &again.0);
        if a != b {
            let line = a
                .split(|c| *c == b'\n')
                .zip(b.split(|c| *c == b'\n'))
                .position(|(x, y)| x != y);
            panic!("manifests differ ({threads} threads), first at line {line:?}");
        }
        assert!(first.1 == again.1, "SHA256SUMS differ ({threads} threads)");
    }
    assert_eq!(
        first.0.split(|c| *c == b'\n').count() - 1,
        1 + 14 + 3 + 7 + 300
    );
}

/// Makes `count` empty files in a new folder.
fn many_files(dir: &Path, count: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        fs::File::create(dir.join(format!("f{i:07}"))).unwrap();
    }
}

/// `VmHWM` in kB of `custody hash dir` (output thrown away).
fn peak_rss_kb(dir: &Path) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(["hash", "--json"])
        .arg(dir)
        .env("CUSTODY_REPORT_PEAK_RSS", "1")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("custody: peak resident memory (VmHWM): "))
        .and_then(|kb| kb.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in: {stderr}"))
}

/// Hashes a folder of 10,000 empty files and one of `many`, and fails if the peak memory grew
/// by 4 MB or more.
fn memory_stays_flat(name: &str, many: usize) {
    let root = common::temp_dir(name);
    many_files(&root.join("small"), 10_000);
    many_files(&root.join("many"), many);
    let small = peak_rss_kb(&root.join("small"));
    let large = peak_rss_kb(&root.join("many"));
    eprintln!("peak RSS: 10,000 files {small} kB; {many} files {large} kB");
    assert!(
        large < small + 4096,
        "memory grew by {} kB from 10,000 to {many} files",
        large.saturating_sub(small)
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn memory_stays_flat_from_ten_thousand_to_a_hundred_thousand_files() {
    memory_stays_flat("hash-memory", 100_000);
}

#[test]
#[ignore = "a million files: run with --ignored (about a minute)"]
fn memory_for_a_million_files() {
    memory_stays_flat("hash-memory-million", 1_000_000);
}

#[test]
fn a_cancelled_run_gives_the_start_of_the_full_list() {
    let root = common::temp_dir("hash-cancel");
    for d in 0..4 {
        let dir = root.join(format!("d{d}"));
        fs::create_dir(&dir).unwrap();
        for i in 0..500 {
            fs::write(
                dir.join(format!("f{i}")),
                vec![u8::try_from(i % 251).unwrap(); 4096],
            )
            .unwrap();
        }
    }
    let opts = options(&ALL, false);
    let (full, _) = entries(std::slice::from_ref(&root), &opts);
    assert_eq!(full.len(), 1 + 4 + 2000);

    let cancel = AtomicBool::new(false);
    let mut got = Vec::new();
    let finished = hash::run(
        std::slice::from_ref(&root),
        &opts,
        &Progress::new(),
        &cancel,
        |e| {
            got.push(e);
            if got.len() == 100 {
                cancel.store(true, Ordering::Relaxed);
            }
            Ok(())
        },
    )
    .unwrap();
    assert!(finished.cancelled);
    assert_eq!(finished.entries, got.len() as u64);
    assert!(
        got.len() >= 100 && got.len() < full.len(),
        "{} entries",
        got.len()
    );
    assert!(
        got[..] == full[..got.len()],
        "a cancelled run gives a prefix of the full run"
    );
    assert!(got.iter().all(|e| e.error.is_none()));

    // Through the folder writer: both files are written, valid, and say nothing more.
    let out = common::temp_dir("hash-cancel-out");
    let outcome = manifest::write_to_folder(
        &out,
        "cut",
        std::slice::from_ref(&root),
        &opts,
        &Progress::new(),
        &AtomicBool::new(true),
    )
    .unwrap();
    assert!(outcome.summary.cancelled);
    let text = fs::read_to_string(out.join("cut.manifest.jsonl")).unwrap();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert!(text.lines().count() < full.len());
}

#[test]
fn progress_counts_and_totals() {
    let root = common::temp_dir("hash-progress");
    for i in 0..50 {
        fs::write(root.join(format!("f{i}")), vec![1u8; 1000]).unwrap();
    }
    let progress = Progress::new();
    let mut summary = Summary::new(&Options::default());
    hash::run(
        std::slice::from_ref(&root),
        &Options::default(),
        &progress,
        &AtomicBool::new(false),
        |e| {
            summary.add(&e);
            Ok(())
        },
    )
    .unwrap();
    let s = progress.snapshot();
    assert!(s.total_known);
    assert_eq!((s.files_done, s.files_total), (50, 50));
    assert_eq!((s.bytes_done, s.bytes_total), (50_000, 50_000));
    assert_eq!((s.entries_done, s.entries_total), (51, 51));
    assert_eq!(
        (summary.files, summary.dirs, summary.bytes),
        (50, 1, 50_000)
    );
}

// ---- the command ----

#[test]
fn cli_output_is_exactly_what_sha256sum_prints() {
    let root = common::temp_dir("hash-cli");
    fs::create_dir(root.join("tree")).unwrap();
    awkward_tree(&root.join("tree"));
    let out = custody(&["hash", "tree"], &root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "quiet on success when stderr is not a terminal"
    );
    // sha256sum itself on the same files, from the same folder.
    let files: Vec<Vec<u8>> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let mut list = Vec::new();
    for entry in walk(&root.join("tree")) {
        if entry.is_file() {
            list.push(entry.strip_prefix(&root).unwrap().to_path_buf());
        }
    }
    let theirs = Command::new("sha256sum")
        .arg("--")
        .args(&list)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(theirs.status.success());
    let theirs: BTreeSet<Vec<u8>> = theirs
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let ours: BTreeSet<Vec<u8>> = files.into_iter().collect();
    assert!(
        ours == theirs,
        "custody's lines are sha256sum's lines, byte for byte"
    );

    fs::write(root.join("SUMS"), &out.stdout).unwrap();
    let check = Command::new("sha256sum")
        .args(["-c", "SUMS"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// Every path under `dir` (std's own walk, for comparison).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.symlink_metadata().unwrap().is_dir() {
            all.extend(walk(&p));
        }
        all.push(p);
    }
    all
}

#[test]
fn cli_json_parses_and_keeps_bytes() {
    let root = common::temp_dir("hash-cli-json");
    fs::write(root.join(name(b"x\xffy")), b"bytes").unwrap();
    let out = custody(&["hash", "--json", "--hashes", "md5,sha1", "."], &root);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["path"], ".");
    assert_eq!(
        base64(lines[1]["path_base64"].as_str().unwrap()),
        b"./x\xffy"
    );
    assert_eq!(
        lines[1]["md5"],
        coreutils("md5sum", &root.join(name(b"x\xffy")))
    );
}

#[test]
fn cli_usage_errors_exit_2_and_hash_nothing() {
    let root = common::temp_dir("hash-cli-usage");
    fs::write(root.join("there"), b"x").unwrap();
    let out = custody(&["hash", "there", "not-there"], &root);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing is hashed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not-there: no such file or folder"),
        "{stderr}"
    );

    let out = custody(&["hash", "--hashes", "sha512", "there"], &root);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown hash"));
    let out = custody(&["hash"], &root);
    assert_eq!(out.status.code(), Some(2));
    let out = custody(&["hash", "--threads", "0", "there"], &root);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cli_ctrl_c_prints_what_was_done_and_exits_130() {
    let root = common::temp_dir("hash-cli-cancel");
    fs::write(root.join("small"), b"small").unwrap();
    // A sparse file: large, read fast, but not in the blink of an eye (about 8 GiB).
    let big = fs::File::create(root.join("big")).unwrap();
    big.set_len(8 << 30).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(["hash", "small", "big"])
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = Instant::now();
    let out = within(20, move || child.wait_with_output().unwrap());
    assert!(started.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("CANCELLED"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("  small\n") && !stdout.contains("big"),
        "{stdout}"
    );
}

#[test]
fn cli_on_a_terminal_shows_names_escaped_and_says_so() {
    use common::pty::{DEFAULT_TIMEOUT, Term};
    let root = common::temp_dir("hash-cli-tty");
    fs::write(root.join(name(b"evil\x1b[31mred")), b"1").unwrap();
    fs::write(root.join(name(b"bidi\xe2\x80\xaetxt.exe")), b"2").unwrap();
    let mut term = Term::custody()
        .args(&["hash", "."])
        .cwd(&root)
        .size(200, 30)
        .spawn();
    let status = term.wait_exit(DEFAULT_TIMEOUT);
    assert_eq!(status, Some(0), "{}", term.screen());
    let screen = term.screen();
    assert!(screen.contains("./evil\\u{1b}[31mred"), "{screen}");
    assert!(screen.contains("./bidi\\u{202e}txt.exe"), "{screen}");
    assert!(screen.contains("redirect the output to"), "{screen}");
    let raw = term.raw();
    assert!(
        !raw.windows(5).any(|w| w == b"\x1b[31m"),
        "no raw escape reaches the terminal"
    );
    assert!(
        !raw.windows(3).any(|w| w == "\u{202e}".as_bytes()),
        "no raw bidi override"
    );
    let _ = std::io::stderr().flush();
}
