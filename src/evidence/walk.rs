//! Walking the evidence paths: one [`Found`] per file system object, in the order the kernel
//! lists each folder (like `find`), a folder before what it holds.
//!
//! Nothing is sorted and nothing is read ahead: the walk holds one open folder per level of
//! depth, so its memory is the same for a folder of ten files and one of a million. Folders are
//! opened relative to their parent's descriptor, with `O_NOFOLLOW` (unless links are followed,
//! then a link back to a folder being walked is a loop, recorded and not entered) and
//! `O_NOATIME` where the kernel allows it, so that listing a folder does not change its access
//! time. Only `lstat` (`stat` when following links) and `readlink` are done on what is found;
//! nothing but folders is opened here.
//!
//! When hashing, the walk examines only what it has to enter (folders, and links when following
//! them): what the listing says is anything else (`d_type`) is handed on unexamined and
//! examined by a hashing thread with [`examine_later`], through an `O_PATH` handle that the
//! file is then read through. The walk then costs no system call per file, and the examining
//! is spread over the threads.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

use super::hash::{Kind, Meta, ReadMode};

/// One object found by the walk.
#[derive(Debug)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// `lstat` (or, when following links, `stat` of what the link points to), or why it failed.
    pub meta: Result<Meta, io::Error>,
    /// The link's target, when the path is a symbolic link.
    pub target: Option<OsString>,
    /// How a folder was opened to be listed.
    pub listed: Option<ReadMode>,
    /// What went wrong besides `meta`: a folder that cannot be opened, a loop, a link that
    /// cannot be read or followed.
    pub error: Option<String>,
    /// The folder it was found in, to open it relative to (`None` for the paths given, and when
    /// too many folders are shared already).
    pub parent: Option<Arc<Parent>>,
    /// Not examined yet: the listing said it is not a folder (nor, when following links, a
    /// link), so the walk left the examining to whoever takes it, with [`examine_later`]
    /// (a hashing thread, so that the walk itself only lists folders). `meta` is a placeholder
    /// until then.
    pub later: bool,
}

/// How many folders' descriptors may be shared with found files at once (each is one open
/// descriptor until the last file found in it is hashed). Past this, files are opened by
/// their whole path.
const MAX_SHARED: usize = 256;

/// A folder's descriptor, shared with the files found in it so that they are opened relative
/// to the very folder that was listed (one name to look up, and no link swapped in above it
/// can send the open elsewhere).
#[derive(Debug)]
pub(crate) struct Parent {
    fd: OwnedFd,
    live: Arc<AtomicUsize>,
}

impl Parent {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Parent {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A folder being listed.
struct Frame {
    dir: Dir,
    shared: Option<Arc<Parent>>,
    path: PathBuf,
    dev: u64,
    inode: u64,
}

/// The walk over a list of paths (see the module doc).
pub(crate) struct Walker<'a> {
    follow: bool,
    /// Leave objects that are not folders to be examined later ([`Found::later`]).
    defer: bool,
    /// Shared folder descriptors live now, or `None` when they are not shared (counting).
    live: Option<Arc<AtomicUsize>>,
    roots: std::slice::Iter<'a, PathBuf>,
    stack: Vec<Frame>,
}

impl std::fmt::Debug for Walker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walker")
            .field("follow", &self.follow)
            .field("depth", &self.stack.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Walker<'a> {
    /// `share`: give each file found the descriptor of its folder ([`Found::parent`]), and
    /// leave what the listing says is not a folder to be examined later ([`Found::later`]).
    pub fn new(roots: &'a [PathBuf], follow: bool, share: bool) -> Self {
        Self {
            follow,
            defer: share,
            live: share.then(|| Arc::new(AtomicUsize::new(0))),
            roots: roots.iter(),
            stack: Vec::new(),
        }
    }
}

impl Iterator for Walker<'_> {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        loop {
            let Some(frame) = self.stack.last_mut() else {
                let root = self.roots.next()?;
                let (found, frame) = examine(
                    rustix::fs::CWD,
                    root.as_os_str(),
                    root.clone(),
                    self.follow,
                    &[],
                    self.live.as_ref(),
                );
                self.stack.extend(frame);
                return Some(found);
            };
            let entry = match frame.dir.read() {
                None => {
                    self.stack.pop();
                    continue;
                }
                Some(Err(e)) => {
                    // Listing broke off: say so on an entry of its own, for the folder, and go on
                    // with the rest of the walk.
                    let frame = self.stack.pop()?;
                    return Some(Found {
                        meta: Err(io::Error::other("listing broke off")),
                        target: None,
                        listed: None,
                        error: Some(format!(
                            "the folder could not be listed to the end (entries after some \
                             point are missing): {}",
                            io::Error::from(e)
                        )),
                        parent: None,
                        later: false,
                        path: frame.path,
                    });
                }
                Some(Ok(entry)) => entry,
            };
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = OsStr::from_bytes(name);
            let Some(frame) = self.stack.last() else {
                continue;
            };
            let path = frame.path.join(name);
            let shared = frame.shared.clone();
            if self.defer && self.can_wait(entry.file_type()) {
                return Some(Found {
                    path,
                    // A placeholder without an allocation (one per file otherwise).
                    meta: Err(io::ErrorKind::Other.into()),
                    target: None,
                    listed: None,
                    error: None,
                    parent: shared,
                    later: true,
                });
            }
            let (mut found, child) = match frame.dir.fd() {
                Ok(parent) => examine(
                    parent,
                    name,
                    path,
                    self.follow,
                    &self.stack,
                    self.live.as_ref(),
                ),
                Err(e) => (
                    Found {
                        path,
                        meta: Err(e.into()),
                        target: None,
                        listed: None,
                        error: None,
                        parent: None,
                        later: false,
                    },
                    None,
                ),
            };
            found.parent = shared;
            self.stack.extend(child);
            return Some(found);
        }
    }
}

impl Walker<'_> {
    /// Whether an object the listing gives as `kind` can be examined later, by another thread:
    /// anything the walk need not enter. Folders, links when following them (they may lead to
    /// a folder), and objects whose kind the file system does not give (`DT_UNKNOWN`) are
    /// examined at once.
    fn can_wait(&self, kind: FileType) -> bool {
        match kind {
            FileType::RegularFile
            | FileType::Fifo
            | FileType::Socket
            | FileType::CharacterDevice
            | FileType::BlockDevice => true,
            FileType::Symlink => !self.follow,
            FileType::Directory | FileType::Unknown => false,
        }
    }
}

/// Examines an object the walk left for later ([`Found::later`]): opens it with `O_PATH |
/// O_NOFOLLOW` relative to the folder it was found in (which opens nothing underneath: no
/// device driver is called, a fifo is not opened) and `fstat`s that handle, which says what
/// `lstat` would, and reads a link's target. Fills in `found` and returns the handle, which
/// refers to that very object: a regular file is read through it, with no second lookup.
///
/// Should the object have become a folder since it was listed, it is recorded with an error
/// and not entered; with links followed, likewise a link (both only in a race with something
/// changing the folder).
///
/// `folder`: a descriptor of the folder it was found in to use instead of the shared one
/// ([`Found::parent`]), such as the hashing thread's own.
pub(crate) fn examine_later(
    found: &mut Found,
    folder: Option<BorrowedFd<'_>>,
    follow: bool,
) -> Option<OwnedFd> {
    found.later = false;
    let folder = folder.or_else(|| found.parent.as_deref().map(Parent::fd));
    let (dir, name) = place(&found.path, folder);
    let handle = match rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(handle) => handle,
        Err(e) => {
            found.meta = Err(e.into());
            return None;
        }
    };
    let meta = match rustix::fs::fstat(&handle) {
        Ok(stat) => Meta::from_stat(&stat),
        Err(e) => {
            found.meta = Err(e.into());
            return None;
        }
    };
    match meta.kind {
        Kind::Symlink => {
            // An empty name reads the link the `O_PATH | O_NOFOLLOW` handle refers to.
            match rustix::fs::readlinkat(&handle, "", Vec::new()) {
                Ok(target) => found.target = Some(OsString::from_vec(target.into_bytes())),
                Err(e) => {
                    found.error = Some(format!("cannot read the link: {}", io::Error::from(e)));
                }
            }
            if follow {
                found.error = Some(
                    "it became a symbolic link after its folder was listed; not followed: hash \
                     it again"
                        .into(),
                );
            }
        }
        Kind::Dir => {
            found.error = Some(
                "it became a folder after its folder was listed; not entered: hash it again".into(),
            );
        }
        _ => {}
    }
    found.meta = Ok(meta);
    Some(handle)
}

/// `lstat` (and `readlink`, and `stat` when following) of `name` in the folder `parent`; opens
/// it for listing when it is a folder to enter.
fn examine(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    path: PathBuf,
    follow: bool,
    ancestors: &[Frame],
    live: Option<&Arc<AtomicUsize>>,
) -> (Found, Option<Frame>) {
    let mut found = Found {
        path,
        meta: Err(io::ErrorKind::Other.into()),
        target: None,
        listed: None,
        error: None,
        parent: None,
        later: false,
    };
    let lstat = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(e) => {
            found.meta = Err(e.into());
            return (found, None);
        }
    };
    let mut meta = Meta::from_stat(&lstat);
    if meta.kind == Kind::Symlink {
        match rustix::fs::readlinkat(parent, name, Vec::new()) {
            Ok(target) => found.target = Some(OsString::from_vec(target.into_bytes())),
            Err(e) => found.error = Some(format!("cannot read the link: {}", io::Error::from(e))),
        }
        if follow {
            match rustix::fs::statat(parent, name, AtFlags::empty()) {
                Ok(stat) => meta = Meta::from_stat(&stat),
                // A link to nothing is recorded as the link it is (like `find -L`).
                Err(rustix::io::Errno::NOENT) => {}
                Err(rustix::io::Errno::LOOP) => {
                    found.error = Some(
                        "a loop of symbolic links: it leads to no file; recorded as a link".into(),
                    );
                }
                Err(e) => {
                    found.error = Some(format!("cannot follow the link: {}", io::Error::from(e)));
                }
            }
        }
    }
    let mut frame = None;
    if meta.kind == Kind::Dir && found.error.is_none() {
        if let Some(again) = ancestors
            .iter()
            .find(|a| a.dev == meta.dev && a.inode == meta.inode)
        {
            found.error = Some(format!(
                "a loop: this is the folder {} again; not entered again",
                again.path.display()
            ));
        } else {
            match open_dir(parent, name, follow, &meta) {
                Ok((dir, how)) => {
                    found.listed = Some(how);
                    frame = Some(Frame {
                        shared: live.and_then(|live| share(&dir, live)),
                        dir,
                        path: found.path.clone(),
                        dev: meta.dev,
                        inode: meta.inode,
                    });
                }
                Err(e) => found.error = Some(format!("cannot open the folder: {e}")),
            }
        }
    }
    found.meta = Ok(meta);
    (found, frame)
}

/// A copy of a folder's descriptor to share with its files, unless too many are shared now.
fn share(dir: &Dir, live: &Arc<AtomicUsize>) -> Option<Arc<Parent>> {
    if live.load(Ordering::Relaxed) >= MAX_SHARED {
        return None;
    }
    let fd = rustix::io::fcntl_dupfd_cloexec(dir.fd().ok()?, 0).ok()?;
    live.fetch_add(1, Ordering::Relaxed);
    Some(Arc::new(Parent {
        fd,
        live: Arc::clone(live),
    }))
}

/// Opens a folder to list it, with `O_NOATIME` when the kernel allows it (the owner, or
/// `CAP_FOWNER`), and checks that what was opened is what was examined.
fn open_dir(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    follow: bool,
    meta: &Meta,
) -> io::Result<(Dir, ReadMode)> {
    let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let (fd, how) = open_noatime(parent, name, flags)?;
    let now = Meta::from_stat(&rustix::fs::fstat(&fd)?);
    if now.dev != meta.dev || now.inode != meta.inode {
        return Err(io::Error::other(
            "it was replaced between being examined and being opened",
        ));
    }
    Ok((Dir::new(fd)?, how))
}

/// `openat` with `O_NOATIME`, and again without it when the kernel refuses it (`EPERM`: not the
/// owner and no `CAP_FOWNER`).
pub(crate) fn open_noatime<P: AsRef<Path>>(
    parent: BorrowedFd<'_>,
    path: P,
    flags: OFlags,
) -> io::Result<(OwnedFd, ReadMode)> {
    let path = path.as_ref();
    match rustix::fs::openat(parent, path, flags | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => Ok((fd, ReadMode::Noatime)),
        Err(rustix::io::Errno::PERM) => {
            let fd = rustix::fs::openat(parent, path, flags, Mode::empty())?;
            Ok((fd, ReadMode::Plain))
        }
        Err(e) => Err(e.into()),
    }
}

/// Where to open `path` from: its last name relative to `folder`, the folder it was found in,
/// when there is one; else the whole path, from the current folder.
pub(crate) fn place<'a>(
    path: &'a Path,
    folder: Option<BorrowedFd<'a>>,
) -> (BorrowedFd<'a>, &'a Path) {
    match (folder, path.file_name()) {
        (Some(folder), Some(name)) => (folder, Path::new(name)),
        _ => (cwd(), path),
    }
}

/// The current folder, for opening paths as they were given.
pub(crate) fn cwd() -> BorrowedFd<'static> {
    rustix::fs::CWD.as_fd()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later(path: PathBuf) -> Found {
        Found {
            path,
            meta: Err(io::ErrorKind::Other.into()),
            target: None,
            listed: None,
            error: None,
            parent: None,
            later: true,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("custody-walk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_walk_leaves_all_but_folders_for_later_when_hashing() {
        let root = scratch("defer");
        std::fs::write(root.join("file"), b"x").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub").join("inner"), b"y").unwrap();
        std::os::unix::fs::symlink("file", root.join("link")).unwrap();
        let roots = [root.clone()];
        for follow in [false, true] {
            let found: Vec<Found> = Walker::new(&roots, follow, true).collect();
            let get = |n: &str| found.iter().find(|f| f.path == root.join(n)).unwrap();
            assert!(!found[0].later, "a path given is examined at once");
            assert!(!get("sub").later && get("sub").listed.is_some());
            assert!(get("file").later && get("sub/inner").later);
            // Links are examined at once only when they are followed (they may be folders).
            assert_eq!(get("link").later, !follow);
            // Counting (no sharing) examines everything.
            assert!(Walker::new(&roots, follow, false).all(|f| !f.later && f.meta.is_ok()));
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn examined_later_is_what_lstat_says_and_a_race_is_recorded() {
        let root = scratch("later");
        std::fs::write(root.join("file"), b"abc").unwrap();
        std::os::unix::fs::symlink("file", root.join("link")).unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();

        let mut file = later(root.join("file"));
        let handle = examine_later(&mut file, None, false);
        let meta = file.meta.as_ref().unwrap();
        let lstat = std::fs::symlink_metadata(root.join("file")).unwrap();
        assert_eq!(meta.kind, Kind::File);
        assert_eq!(meta.size, 3);
        assert_eq!(meta.inode, std::os::unix::fs::MetadataExt::ino(&lstat));
        assert!(handle.is_some() && file.error.is_none() && !file.later);

        let mut link = later(root.join("link"));
        examine_later(&mut link, None, false);
        assert_eq!(link.meta.as_ref().unwrap().kind, Kind::Symlink);
        assert_eq!(link.target.as_deref(), Some(OsStr::new("file")));
        assert!(link.error.is_none());
        // Following links, a link is never left for later: one found there came in a race.
        let mut link = later(root.join("link"));
        examine_later(&mut link, None, true);
        assert_eq!(link.meta.as_ref().unwrap().kind, Kind::Symlink);
        assert!(link.error.as_deref().unwrap().contains("not followed"));

        // A folder swapped in after the listing is recorded, not entered.
        let mut dir = later(root.join("dir"));
        examine_later(&mut dir, None, false);
        assert_eq!(dir.meta.as_ref().unwrap().kind, Kind::Dir);
        assert!(dir.error.as_deref().unwrap().contains("not entered"));

        // Gone since the listing: cannot be examined.
        let mut gone = later(root.join("gone"));
        assert!(examine_later(&mut gone, None, false).is_none());
        assert_eq!(
            gone.meta.as_ref().unwrap_err().kind(),
            io::ErrorKind::NotFound
        );

        // A device is examined through a handle that opens nothing.
        let mut null = later(PathBuf::from("/dev/null"));
        examine_later(&mut null, None, false);
        assert_eq!(null.meta.as_ref().unwrap().kind, Kind::CharDevice);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
