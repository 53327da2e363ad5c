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

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::{AtFlags, Dir, Mode, OFlags};

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
    /// `share`: give each file found the descriptor of its folder ([`Found::parent`]).
    pub fn new(roots: &'a [PathBuf], follow: bool, share: bool) -> Self {
        Self {
            follow,
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
        meta: Err(io::Error::other("not examined")),
        target: None,
        listed: None,
        error: None,
        parent: None,
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

/// The current folder, for opening paths as they were given.
pub(crate) fn cwd() -> BorrowedFd<'static> {
    rustix::fs::CWD.as_fd()
}
