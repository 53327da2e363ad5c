//! Writing a run's entries down: the JSON lines manifest (every entry, every field) and a
//! `SHA256SUMS` file exactly as GNU `sha256sum` writes one, so that `sha256sum -c` checks it.
//! Both formats are described in `docs/EVIDENCE.md`.
//!
//! The writers take any [`Write`]; [`write_to_folder`] puts both files into a folder (the
//! session's `evidence/`), created new, `0600`, flushed to disk, and returns their names, sizes
//! and SHA-256 so that the session can journal them.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ct_codecs::{Base64, Encoder as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::hash::{Entry, Error, HashAlgorithm, Kind, Options, Progress, run};
use crate::journal::Digest;
use crate::journal::event::FileRef;
use crate::sanitize::needs_escape;

/// How many error texts a [`Summary`] keeps (the manifest has them all).
pub const FIRST_ERRORS: usize = 10;

/// The manifest line of an entry, with its newline. Text that is not valid UTF-8 goes into the
/// `*_base64` field instead; characters that could act on a terminal (controls, bidi controls,
/// invisible formatting) are written as `\uXXXX` escapes, which JSON reads back as the same
/// characters.
pub fn manifest_line(entry: &Entry) -> Vec<u8> {
    #[derive(Serialize)]
    struct Line<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        path_base64: Option<String>,
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uid: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gid: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        inode: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dev: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        nlink: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mtime: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ctime: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        atime: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        target_base64: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sha1: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        md5: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        read: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    }
    let (path, path_base64) = text_or_base64(entry.path.as_os_str());
    let (target, target_base64) = entry.target.as_deref().map_or((None, None), text_or_base64);
    let meta = entry.meta.as_ref();
    let digests = entry.digests.as_ref();
    let line = Line {
        path,
        path_base64,
        kind: entry.kind().map_or("unknown", Kind::name),
        size: meta.map(|m| m.size),
        mode: meta.map(|m| format!("{:04o}", m.mode)),
        uid: meta.map(|m| m.uid),
        gid: meta.map(|m| m.gid),
        inode: meta.map(|m| m.inode),
        dev: meta.map(|m| m.dev),
        nlink: meta.map(|m| m.nlink),
        mtime: meta.map(|m| m.mtime.to_rfc3339()),
        ctime: meta.map(|m| m.ctime.to_rfc3339()),
        atime: meta.map(|m| m.atime.to_rfc3339()),
        target,
        target_base64,
        sha256: digests.map(|d| d.sha256.to_hex()),
        sha1: digests.and_then(|d| d.sha1.map(|h| hex(&h))),
        md5: digests.and_then(|d| d.md5.map(|h| hex(&h))),
        read: entry.read.map(super::hash::ReadMode::name),
        error: entry.error.as_deref(),
    };
    // Serialising plain strings and numbers cannot fail.
    let json = serde_json::to_string(&line).unwrap_or_default();
    let mut out = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    out.into_bytes()
}

/// The `sha256sum` line of an entry, with its newline; `None` unless it is a regular file that
/// was hashed. Like GNU coreutils 9: a name holding `\`, a newline or a carriage return is
/// written with those escaped (`\\`, `\n`, `\r`) and the line starts with a `\`.
pub fn sums_line(entry: &Entry) -> Option<Vec<u8>> {
    let digests = entry.digests.as_ref()?;
    let name = entry.path.as_os_str().as_bytes();
    let escape = name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut line = Vec::with_capacity(name.len() + 68);
    if escape {
        line.push(b'\\');
    }
    line.extend_from_slice(digests.sha256.to_hex().as_bytes());
    line.extend_from_slice(b"  ");
    for &b in name {
        match b {
            b'\\' if escape => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    Some(line)
}

/// What a run hashed, counted, for the journal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Regular files hashed.
    pub files: u64,
    /// Folders.
    pub dirs: u64,
    /// Symbolic links recorded as links.
    pub symlinks: u64,
    /// Everything else: fifos, sockets, devices, regular files not hashed, objects that could
    /// not be examined.
    pub other: u64,
    /// Bytes hashed (the sum of the hashed files' sizes).
    pub bytes: u64,
    /// Entries with an error.
    pub errors: u64,
    /// The first [`FIRST_ERRORS`] errors, as `path: error` (the path lossily as UTF-8).
    pub first_errors: Vec<String>,
    /// The run was cancelled: the entries are the start of the full list.
    pub cancelled: bool,
    /// The hash functions computed.
    pub algorithms: Vec<HashAlgorithm>,
}

impl Summary {
    pub fn new(options: &Options) -> Self {
        Self {
            algorithms: options.algorithms(),
            ..Self::default()
        }
    }

    pub fn add(&mut self, entry: &Entry) {
        match (entry.kind(), &entry.digests) {
            (Some(Kind::File), Some(_)) => {
                self.files += 1;
                self.bytes += entry.meta.map_or(0, |m| m.size);
            }
            (Some(Kind::Dir), _) => self.dirs += 1,
            (Some(Kind::Symlink), _) => self.symlinks += 1,
            _ => self.other += 1,
        }
        if let Some(error) = &entry.error {
            self.errors += 1;
            if self.first_errors.len() < FIRST_ERRORS {
                self.first_errors
                    .push(format!("{}: {error}", entry.path.to_string_lossy()));
            }
        }
    }
}

/// Runs over `paths`, writing the manifest and the `SHA256SUMS` lines to the two sinks (either
/// may be [`io::sink()`]), and returns the summary.
pub fn hash_into(
    paths: &[PathBuf],
    options: &Options,
    progress: &Progress,
    cancel: &AtomicBool,
    mut manifest: impl Write,
    mut sums: impl Write,
) -> Result<Summary, Error> {
    let mut summary = Summary::new(options);
    let finished = run(paths, options, progress, cancel, |entry| {
        summary.add(&entry);
        manifest
            .write_all(&manifest_line(&entry))
            .map_err(|source| Error::Output {
                what: "manifest",
                source,
            })?;
        if let Some(line) = sums_line(&entry) {
            sums.write_all(&line).map_err(|source| Error::Output {
                what: "SHA256SUMS file",
                source,
            })?;
        }
        Ok(())
    })?;
    manifest.flush().map_err(|source| Error::Output {
        what: "manifest",
        source,
    })?;
    sums.flush().map_err(|source| Error::Output {
        what: "SHA256SUMS file",
        source,
    })?;
    summary.cancelled = finished.cancelled;
    Ok(summary)
}

/// A file written into the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Its name in the folder.
    pub name: String,
    pub size: u64,
    pub sha256: Digest,
}

impl From<Written> for FileRef {
    fn from(w: Written) -> Self {
        FileRef {
            file: w.name,
            size: w.size,
            sha256: w.sha256,
        }
    }
}

/// What [`write_to_folder`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub summary: Summary,
    /// `<stem>.manifest.jsonl`
    pub manifest: Written,
    /// `<stem>.SHA256SUMS`
    pub sums: Written,
}

/// Hashes `paths` into two new files in `dir`: `<stem>.manifest.jsonl` and `<stem>.SHA256SUMS`
/// (created new, never overwritten, mode `0600`, synced to disk with the folder). A cancelled
/// run still writes what it did (the summary says it was cancelled).
pub fn write_to_folder(
    dir: &Path,
    stem: &str,
    paths: &[PathBuf],
    options: &Options,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<Outcome, Error> {
    if stem.is_empty() || stem.contains('/') || stem == "." || stem == ".." || stem.contains('\0') {
        return Err(Error::Stem(stem.to_owned()));
    }
    let manifest_name = format!("{stem}.manifest.jsonl");
    let sums_name = format!("{stem}.SHA256SUMS");
    let mut manifest = Counted::create(&dir.join(&manifest_name))?;
    let mut sums = Counted::create(&dir.join(&sums_name))?;
    let summary = hash_into(
        paths,
        options,
        progress,
        cancel,
        BufWriter::with_capacity(1 << 16, &mut manifest),
        BufWriter::with_capacity(1 << 16, &mut sums),
    )?;
    let manifest = manifest.finish(manifest_name, "manifest")?;
    let sums = sums.finish(sums_name, "SHA256SUMS file")?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Output {
            what: "folder's entries",
            source,
        })?;
    Ok(Outcome {
        summary,
        manifest,
        sums,
    })
}

/// A new file that counts and hashes what is written to it.
struct Counted {
    file: File,
    size: u64,
    sha256: Sha256,
}

impl Counted {
    fn create(path: &Path) -> Result<Self, Error> {
        let created = |source| Error::Create {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(created)?;
        // Under a umask such as 077 the mode above is already 0600; under 777 it is 0000.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(created)?;
        Ok(Self {
            file,
            size: 0,
            sha256: Sha256::new(),
        })
    }

    fn finish(self, name: String, what: &'static str) -> Result<Written, Error> {
        self.file
            .sync_all()
            .map_err(|source| Error::Output { what, source })?;
        Ok(Written {
            name,
            size: self.size,
            sha256: Digest(self.sha256.finalize().into()),
        })
    }
}

impl Write for &mut Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// `(Some(text), None)` for valid UTF-8, else `(None, Some(base64 of the bytes))`.
fn text_or_base64(name: &OsStr) -> (Option<&str>, Option<String>) {
    match name.to_str() {
        Some(text) => (Some(text), None),
        None => (None, Base64::encode_to_string(name.as_bytes()).ok()),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;

    use super::*;
    use crate::evidence::hash::{Digests, Meta, ReadMode, Time};

    fn file(name: &[u8]) -> Entry {
        let t = Time {
            secs: 1_795_000_000,
            nanos: 5,
        };
        Entry {
            path: PathBuf::from(OsString::from_vec(name.to_vec())),
            meta: Some(Meta {
                kind: Kind::File,
                size: 0,
                mode: 0o4755,
                uid: 1,
                gid: 2,
                inode: 3,
                dev: 4,
                nlink: 1,
                mtime: t,
                ctime: t,
                atime: t,
            }),
            target: None,
            digests: Some(Digests {
                sha256: Digest::of(b""),
                sha1: None,
                md5: Some([0xab; 16]),
            }),
            read: Some(ReadMode::Plain),
            error: None,
        }
    }

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn sums_lines_escape_like_gnu_coreutils() {
        let line = |name: &[u8]| String::from_utf8(sums_line(&file(name)).unwrap()).unwrap();
        assert_eq!(line(b"dir/plain"), format!("{EMPTY}  dir/plain\n"));
        assert_eq!(line(b"a\\b"), format!("\\{EMPTY}  a\\\\b\n"));
        assert_eq!(line(b"a\nb"), format!("\\{EMPTY}  a\\nb\n"));
        assert_eq!(line(b"a\rb"), format!("\\{EMPTY}  a\\rb\n"));
        // Tabs and escape sequences are written as they are (sha256sum does the same).
        assert_eq!(line(b"a\tb\x1b[0m"), format!("{EMPTY}  a\tb\x1b[0m\n"));
        assert_eq!(
            sums_line(&file(b"\xff")).unwrap(),
            format!("{EMPTY}  ")
                .into_bytes()
                .into_iter()
                .chain([0xff, b'\n'])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn only_hashed_files_have_sums_lines() {
        let mut e = file(b"x");
        e.digests = None;
        e.error = Some("Permission denied".into());
        assert!(sums_line(&e).is_none());
    }

    #[test]
    fn manifest_lines_are_terminal_safe_json_with_base64_for_bytes() {
        let text = String::from_utf8(manifest_line(&file(b"a\x1b[31m\xe2\x80\xaeb"))).unwrap();
        assert!(text.ends_with('\n'));
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["path"], "a\u{1b}[31m\u{202e}b",
            "the same characters, escaped"
        );
        assert_eq!(v["kind"], "file");
        assert_eq!(v["mode"], "4755");
        assert_eq!(v["mtime"], "2026-11-18T11:06:40.000000005Z");
        assert_eq!(v["sha256"], EMPTY);
        assert_eq!(v["md5"], "ab".repeat(16));
        assert!(v.get("sha1").is_none() && v.get("error").is_none());
        assert_eq!(v["read"], "plain");

        let v: serde_json::Value =
            serde_json::from_slice(&manifest_line(&file(b"x\xffy"))).unwrap();
        assert!(v.get("path").is_none());
        assert_eq!(v["path_base64"], "eP95");
    }

    #[test]
    fn summary_counts_kinds_errors_and_keeps_the_first_errors() {
        let mut summary = Summary::new(&Options::default());
        for i in 0..15 {
            let mut e = file(format!("f{i}").as_bytes());
            if i % 3 == 0 {
                e.digests = None;
                e.error = Some(format!("error {i}"));
            }
            summary.add(&e);
        }
        assert_eq!(summary.files, 10);
        assert_eq!(summary.other, 5);
        assert_eq!(summary.errors, 5);
        assert_eq!(summary.first_errors[0], "f0: error 0");
        assert_eq!(summary.algorithms, vec![HashAlgorithm::Sha256]);
    }
}
