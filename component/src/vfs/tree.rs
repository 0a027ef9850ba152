//! The in-memory part of the file system: directories, regular files and
//! the devices of `/dev`, with the byte budget that caps them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use super::abi::{self, ENOSPC, Fallible};

/// What one directory entry costs in the budget besides its name: the
/// memory of a node and its place in the map, so that a program creating
/// empty files without end meets the cap too.
pub const ENTRY_COST: u64 = 128;

/// The device number the in-memory tree reports (`st_dev`).
pub const DEVICE_ID: u64 = 0x706d_6673;

thread_local! {
    /// Bytes held by the tree: file data and entries.
    static USED: Cell<u64> = const { Cell::new(0) };
    /// The most `USED` may reach.
    static CAPACITY: Cell<u64> = const { Cell::new(DEFAULT_CAPACITY) };
    /// The last inode number handed out.
    static LAST_INODE: Cell<u64> = const { Cell::new(0) };
}

/// The budget an instance starts with: 64 MiB.
pub const DEFAULT_CAPACITY: u64 = 64 << 20;

/// Takes `bytes` from the budget, or fails with `ENOSPC`.
pub fn charge(bytes: u64) -> Fallible<()> {
    let used = USED.get();
    match used.checked_add(bytes) {
        Some(total) if total <= CAPACITY.get() => {
            USED.set(total);
            Ok(())
        }
        _ => Err(ENOSPC),
    }
}

/// Gives `bytes` back to the budget.
pub fn release(bytes: u64) {
    USED.set(USED.get().saturating_sub(bytes));
}

/// Bytes the tree holds now, and the most it may hold.
pub fn usage() -> (u64, u64) {
    (USED.get(), CAPACITY.get())
}

/// Sets the most the tree may hold. What it already holds stays; only
/// growth is refused past the new cap.
pub fn set_capacity(bytes: u64) {
    CAPACITY.set(bytes);
}

fn next_inode() -> u64 {
    let inode = LAST_INODE.get() + 1;
    LAST_INODE.set(inode);
    inode
}

/// A file name: one path component, any bytes but `/` and NUL.
pub type Name = Box<[u8]>;

/// Access, modification and status-change times, in nanoseconds.
#[derive(Debug)]
pub struct Times {
    pub accessed: Cell<u64>,
    pub modified: Cell<u64>,
    pub changed: Cell<u64>,
}

impl Times {
    fn now() -> Times {
        let now = abi::now();
        Times { accessed: Cell::new(now), modified: Cell::new(now), changed: Cell::new(now) }
    }

    /// Marks a change of content: modification and status change.
    pub fn touch(&self) {
        let now = abi::now();
        self.modified.set(now);
        self.changed.set(now);
    }
}

/// A directory: its entries by name, in byte order.
#[derive(Debug)]
pub struct Dir {
    pub inode: u64,
    pub times: Times,
    pub entries: RefCell<BTreeMap<Name, Node>>,
}

/// A regular file's bytes.
#[derive(Debug)]
pub struct File {
    pub inode: u64,
    pub times: Times,
    pub data: RefCell<Vec<u8>>,
}

impl Drop for File {
    fn drop(&mut self) {
        // The data of an unlinked file is given back when its last open
        // descriptor closes, as on Linux.
        release(self.data.get_mut().len() as u64);
    }
}

/// The character devices of `/dev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// `/dev/null`: reads nothing, takes every write.
    Null,
    /// `/dev/zero`: reads zeros, takes every write.
    Zero,
    /// `/dev/urandom` (and `/dev/random`): reads the host's random bytes.
    Random,
}

impl Device {
    fn inode(self) -> u64 {
        // Above every number `next_inode` will reach.
        u64::MAX - self as u64
    }
}

/// What a directory entry names.
#[derive(Clone, Debug)]
pub enum Node {
    Dir(Rc<Dir>),
    File(Rc<File>),
    Device(Device),
}

impl Dir {
    pub fn new() -> Rc<Dir> {
        Rc::new(Dir { inode: next_inode(), times: Times::now(), entries: RefCell::new(BTreeMap::new()) })
    }

    /// The entry `name`, if there is one.
    pub fn get(&self, name: &[u8]) -> Option<Node> {
        self.entries.borrow().get(name).cloned()
    }

    /// Adds an entry, charging the budget; `EEXIST` if the name is taken.
    pub fn insert(&self, name: &[u8], node: Node) -> Fallible<()> {
        if self.entries.borrow().contains_key(name) {
            return Err(abi::EEXIST);
        }
        charge(ENTRY_COST + name.len() as u64)?;
        self.entries.borrow_mut().insert(name.into(), node);
        self.times.touch();
        Ok(())
    }

    /// Removes an entry, giving its cost back.
    pub fn remove(&self, name: &[u8]) -> Option<Node> {
        let node = self.entries.borrow_mut().remove(name)?;
        release(ENTRY_COST + name.len() as u64);
        self.times.touch();
        Some(node)
    }

    /// The subdirectory `name`, made if missing (for the tree's fixed
    /// directories and the mount points of granted directories).
    pub fn ensure_dir(&self, name: &[u8]) -> Fallible<Rc<Dir>> {
        match self.get(name) {
            Some(Node::Dir(dir)) => Ok(dir),
            Some(_) => Err(abi::ENOTDIR),
            None => {
                let dir = Dir::new();
                self.insert(name, Node::Dir(dir.clone()))?;
                Ok(dir)
            }
        }
    }
}

impl File {
    pub fn new() -> Rc<File> {
        Rc::new(File { inode: next_inode(), times: Times::now(), data: RefCell::new(Vec::new()) })
    }

    /// Sets the length, charging or releasing the difference.
    pub fn resize(&self, len: u64) -> Fallible<()> {
        let old = self.data.borrow().len() as u64;
        if len > old {
            charge(len - old)?;
        } else {
            release(old - len);
        }
        let len = usize::try_from(len).map_err(|_| abi::EFBIG)?;
        self.data.borrow_mut().resize(len, 0);
        self.times.touch();
        Ok(())
    }

    /// Writes `bytes` at `offset`, growing the file (zeros fill a gap).
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Fallible<()> {
        let end = offset.checked_add(bytes.len() as u64).ok_or(abi::EFBIG)?;
        let len = self.data.borrow().len() as u64;
        if end > len {
            self.resize(end)?;
        }
        let start = offset as usize;
        self.data.borrow_mut()[start..start + bytes.len()].copy_from_slice(bytes);
        self.times.touch();
        Ok(())
    }

    /// Copies bytes from `offset` into `out`; returns how many.
    pub fn read_at(&self, offset: u64, out: &mut [u8]) -> usize {
        let data = self.data.borrow();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let count = out.len().min(data.len() - start);
        out[..count].copy_from_slice(&data[start..start + count]);
        count
    }
}

impl Node {
    /// `st_ino`.
    pub fn inode(&self) -> u64 {
        match self {
            Node::Dir(dir) => dir.inode,
            Node::File(file) => file.inode,
            Node::Device(device) => device.inode(),
        }
    }

    /// The preview-1 file type.
    pub fn filetype(&self) -> u8 {
        match self {
            Node::Dir(_) => abi::FILETYPE_DIRECTORY,
            Node::File(_) => abi::FILETYPE_REGULAR_FILE,
            Node::Device(_) => abi::FILETYPE_CHARACTER_DEVICE,
        }
    }

    /// `stat` of the node.
    pub fn stat(&self) -> abi::Filestat {
        let (times, size, nlink) = match self {
            Node::Dir(dir) => {
                let subdirs = dir.entries.borrow().values().filter(|n| matches!(n, Node::Dir(_))).count();
                (Some(&dir.times), 0, 2 + subdirs as u64)
            }
            Node::File(file) => (Some(&file.times), file.data.borrow().len() as u64, 1),
            Node::Device(_) => (None, 0, 1),
        };
        let (atim, mtim, ctim) =
            times.map(|t| (t.accessed.get(), t.modified.get(), t.changed.get())).unwrap_or_default();
        abi::Filestat {
            dev: DEVICE_ID,
            ino: self.inode(),
            filetype: self.filetype(),
            nlink,
            size,
            atim,
            mtim,
            ctim,
        }
    }

    /// The node's times, if it keeps any (devices do not).
    pub fn times(&self) -> Option<&Times> {
        match self {
            Node::Dir(dir) => Some(&dir.times),
            Node::File(file) => Some(&file.times),
            Node::Device(_) => None,
        }
    }
}
