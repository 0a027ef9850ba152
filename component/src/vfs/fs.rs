//! The file system's state: the descriptor table, the granted directories
//! mounted into the tree, path resolution, and the output captured from the
//! standard streams.

use std::rc::Rc;

use super::abi::{self, EBADF, EBUSY, EINVAL, EMFILE, ENAMETOOLONG, ENOENT, ENOTDIR, Fallible};
use super::tree::{Device, Dir, File, Name, Node};

/// The descriptor wasi-libc knows as the one preopened directory, `/`.
pub const ROOT_FD: u32 = 3;

/// Where `HOME` and the working directory are.
pub const HOME: &str = "/home/user";

/// The most descriptors one instance holds open.
const MAX_DESCRIPTORS: usize = 1 << 16;

/// The most bytes one standard stream keeps per call; the rest is dropped
/// with a note, so that a print loop cannot fill the memory the host reads
/// back.
pub const MAX_OUTPUT: usize = 8 << 20;

/// What a descriptor refers to.
#[derive(Debug)]
pub enum Descriptor {
    /// A descriptor of the host's (in a granted directory), by its host number.
    Host(u32),
    /// Standard input: always at its end.
    Stdin,
    /// Standard output (0) or error (1), captured per call.
    Output(usize),
    /// An open regular file of the tree.
    File(OpenFile),
    /// An open directory of the tree, with its path from `/`.
    Dir(Rc<Dir>, Vec<Name>),
    /// An open device of `/dev`.
    Device(Device),
}

/// A regular file opened in the tree.
#[derive(Debug)]
pub struct OpenFile {
    pub file: Rc<File>,
    pub position: u64,
    pub append: bool,
    pub rights: u64,
}

/// A granted directory of the host and where the tree shows it.
#[derive(Debug)]
struct Mount {
    path: Vec<Name>,
    host_fd: u32,
}

/// Where a path leads.
#[derive(Debug)]
pub enum Place {
    /// Into a granted directory: the host's descriptor and the rest of the
    /// path below it.
    Host { fd: u32, path: Vec<u8> },
    /// Into the tree: the components from `/`, and whether the path ended
    /// in `/` (so it must name a directory).
    Memory { path: Vec<Name>, dir_only: bool },
}

/// Output captured from one standard stream since the last call ended.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub dropped: usize,
}

impl Captured {
    pub fn write(&mut self, data: &[u8]) {
        let room = MAX_OUTPUT.saturating_sub(self.bytes.len());
        let kept = data.len().min(room);
        self.bytes.extend_from_slice(&data[..kept]);
        self.dropped += data.len() - kept;
    }

    /// The text written, with a note of what was dropped; clears the stream.
    pub fn take(&mut self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.dropped > 0 {
            text.push_str(&format!("\n[pycomponent: {} more bytes of output dropped]\n", self.dropped));
        }
        *self = Captured::default();
        text
    }
}

/// The whole file system of one instance.
#[derive(Debug)]
pub struct Vfs {
    descriptors: Vec<Option<Descriptor>>,
    mounts: Vec<Mount>,
    pub root: Rc<Dir>,
    pub output: [Captured; 2],
}

impl Vfs {
    /// The tree every instance starts with (`/tmp`, the home directory,
    /// `/dev`), the standard streams, and the host's granted directories.
    pub fn new() -> Fallible<Vfs> {
        let root = Dir::new();
        root.ensure_dir(b"tmp")?;
        let mut home = root.clone();
        for name in HOME.split('/').filter(|name| !name.is_empty()) {
            home = home.ensure_dir(name.as_bytes())?;
        }
        let dev = root.ensure_dir(b"dev")?;
        dev.insert(b"null", Node::Device(Device::Null))?;
        dev.insert(b"zero", Node::Device(Device::Zero))?;
        dev.insert(b"urandom", Node::Device(Device::Random))?;
        dev.insert(b"random", Node::Device(Device::Random))?;
        let descriptors = vec![
            Some(Descriptor::Stdin),
            Some(Descriptor::Output(0)),
            Some(Descriptor::Output(1)),
            Some(Descriptor::Dir(root.clone(), Vec::new())),
        ];
        let mut vfs = Vfs { descriptors, mounts: Vec::new(), root, output: Default::default() };
        vfs.mount_granted();
        Ok(vfs)
    }

    /// Mounts the directories the host grants now, in place of any mounted
    /// before (those of the run that made the snapshot). Descriptors of the
    /// host's that are still open belong to that run too, and are dropped.
    pub fn mount_granted(&mut self) {
        for slot in &mut self.descriptors {
            if matches!(slot, Some(Descriptor::Host(_))) {
                *slot = None;
            }
        }
        self.mounts.clear();
        for host_fd in 3u32.. {
            let mut prestat = abi::Prestat { tag: 0, name_len: 0 };
            // SAFETY: the host writes one prestat into a local.
            if unsafe { abi::host::fd_prestat_get(host_fd, &mut prestat) } != abi::SUCCESS {
                // EBADF: no more granted directories.
                break;
            }
            if prestat.tag != 0 {
                continue;
            }
            let mut name = vec![0u8; prestat.name_len as usize];
            // SAFETY: the buffer has exactly the length the call is given.
            if unsafe { abi::host::fd_prestat_dir_name(host_fd, name.as_mut_ptr(), name.len()) }
                != abi::SUCCESS
            {
                continue;
            }
            // A relative name ("." or "data") is taken from `/`.
            let path = normalize(Vec::new(), &name).map(|(path, _)| path);
            let Ok(path) = path else { continue };
            let mut dir = self.root.clone();
            // The mount point is a directory of the tree, so that listing
            // its parent shows it.
            for component in &path {
                match dir.ensure_dir(component) {
                    Ok(next) => dir = next,
                    Err(_) => break,
                }
            }
            self.mounts.push(Mount { path, host_fd });
        }
        // Longest first: the innermost grant wins.
        self.mounts.sort_by_key(|mount| std::cmp::Reverse(mount.path.len()));
    }

    /// The descriptor `fd`.
    pub fn get(&mut self, fd: u32) -> Fallible<&mut Descriptor> {
        self.descriptors.get_mut(fd as usize).and_then(Option::as_mut).ok_or(EBADF)
    }

    /// Gives `descriptor` the lowest free number, as POSIX does.
    pub fn insert(&mut self, descriptor: Descriptor) -> Fallible<u32> {
        let fd = match self.descriptors.iter().position(Option::is_none) {
            Some(fd) => fd,
            None if self.descriptors.len() < MAX_DESCRIPTORS => {
                self.descriptors.push(None);
                self.descriptors.len() - 1
            }
            None => return Err(EMFILE),
        };
        self.descriptors[fd] = Some(descriptor);
        Ok(fd as u32)
    }

    /// Takes descriptor `fd` out of the table.
    pub fn remove(&mut self, fd: u32) -> Fallible<Descriptor> {
        self.descriptors.get_mut(fd as usize).and_then(Option::take).ok_or(EBADF)
    }

    /// Puts `descriptor` at number `fd`, returning what was there.
    pub fn replace(&mut self, fd: u32, descriptor: Descriptor) -> Option<Descriptor> {
        let slot = self.descriptors.get_mut(fd as usize)?;
        slot.replace(descriptor)
    }

    /// Where `path`, relative to directory descriptor `dir_fd`, leads.
    /// `..` is resolved by name (the tree has no symbolic links), so a path
    /// can leave a granted directory for the tree and enter another.
    pub fn locate(&mut self, dir_fd: u32, path: &[u8]) -> Fallible<Place> {
        let base = match self.get(dir_fd)? {
            Descriptor::Host(fd) => return Ok(Place::Host { fd: *fd, path: path.to_vec() }),
            Descriptor::Dir(_, base) => base.clone(),
            _ => return Err(ENOTDIR),
        };
        if path.is_empty() {
            return Err(ENOENT);
        }
        let (path, dir_only) = normalize(base, path)?;
        if let Some(mount) = self.mounts.iter().find(|mount| path.starts_with(&mount.path)) {
            let mut rest = path[mount.path.len()..].join(&b'/');
            if rest.is_empty() {
                rest.push(b'.');
            }
            if dir_only {
                rest.push(b'/');
            }
            return Ok(Place::Host { fd: mount.host_fd, path: rest });
        }
        Ok(Place::Memory { path, dir_only })
    }

    /// Whether `path` is a granted directory or holds one: such a
    /// directory of the tree cannot be removed or renamed.
    pub fn holds_mount(&self, path: &[Name]) -> bool {
        self.mounts.iter().any(|mount| mount.path.starts_with(path))
    }

    /// The node at `path` in the tree.
    pub fn lookup(&self, path: &[Name]) -> Fallible<Node> {
        let mut node = Node::Dir(self.root.clone());
        for name in path {
            let Node::Dir(dir) = &node else { return Err(ENOTDIR) };
            let next = dir.get(name).ok_or(ENOENT)?;
            node = next;
        }
        Ok(node)
    }

    /// The directory holding `path`, and the last name of `path`. The root
    /// has no parent: `EBUSY`.
    pub fn parent<'p>(&self, path: &'p [Name]) -> Fallible<(Rc<Dir>, &'p [u8])> {
        let (name, dirs) = path.split_last().ok_or(EBUSY)?;
        match self.lookup(dirs)? {
            Node::Dir(dir) => Ok((dir, name)),
            _ => Err(ENOTDIR),
        }
    }
}

/// Joins `path` to `base` by name: empty and `.` components are skipped,
/// `..` goes up (never above `/`). Returns the components and whether the
/// path ended in `/`.
pub fn normalize(mut base: Vec<Name>, path: &[u8]) -> Fallible<(Vec<Name>, bool)> {
    if path.contains(&0) {
        return Err(EINVAL);
    }
    for component in path.split(|&byte| byte == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                base.pop();
            }
            name if name.len() > 255 => return Err(ENAMETOOLONG),
            name => base.push(name.into()),
        }
    }
    let dir_only = path.ends_with(b"/") || path.ends_with(b"/.") || path == b"." || path.ends_with(b"/..");
    Ok((base, dir_only))
}
