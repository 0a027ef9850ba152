//! The interceptors: wasi-libc's preview-1 calls, answered from the tree or
//! passed to the host with the host's own descriptor numbers.
//!
//! wasi-libc reaches WASI through functions named
//! `__imported_wasi_snapshot_preview1_<call>`, which it declares as imports.
//! Defining them here binds its references to these instead (the linker
//! prefers a definition to an import), so every descriptor and path that C
//! code, CPython included, uses passes through the table of `super::fs`.
//! Calls about neither (clocks, random, arguments, exit) stay imports.

use std::cell::RefCell;

use super::abi::{
    self, EBADF, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, ENOTSUP, EPERM, ESPIPE, EXDEV, Fallible, IoVec,
    host,
};
use super::fs::{Descriptor, OpenFile, Place, ROOT_FD, Vfs};
use super::tree::{self, Device, Dir, File, Node};

thread_local! {
    static VFS: RefCell<Option<Vfs>> = const { RefCell::new(None) };
}

/// Runs `operation` on the file system, made at the first call (in the
/// snapshot, wasi-libc's start-up makes the first).
pub fn with<T>(operation: impl FnOnce(&mut Vfs) -> Fallible<T>) -> Fallible<T> {
    VFS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Vfs::new()?);
        }
        operation(slot.as_mut().expect("made above"))
    })
}

fn status(result: Fallible<()>) -> i32 {
    i32::from(result.err().unwrap_or(abi::SUCCESS))
}

/// Reads a path argument.
///
/// # Safety
/// `ptr` points to `len` readable bytes.
unsafe fn path_arg<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Reads an iovec array argument.
///
/// # Safety
/// `ptr` points to `len` iovecs, each of which points to `len` bytes that
/// are not otherwise borrowed during the call.
unsafe fn iovecs<'a>(ptr: *const IoVec, len: usize) -> &'a [IoVec] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

fn iovec_bytes<'a>(iovec: &IoVec) -> &'a mut [u8] {
    if iovec.len == 0 {
        return &mut [];
    }
    // SAFETY: every iovec given to an interceptor comes from wasi-libc
    // (through `iovecs`, whose caller vouches for it) and points to memory
    // of the caller's that the call may read or fill.
    unsafe { std::slice::from_raw_parts_mut(iovec.buf, iovec.len) }
}

/// Writes an out-parameter.
///
/// # Safety
/// `out` is valid for a write of `T`.
unsafe fn put<T>(out: *mut T, value: T) {
    // SAFETY: the caller's promise.
    unsafe { out.write_unaligned(value) }
}

// ---- descriptors -----------------------------------------------------

/// Reads from a descriptor of the tree at `offset` (or its position when
/// `None`), filling `iovs` in order.
fn read_into(descriptor: &mut Descriptor, iovs: &[IoVec], offset: Option<u64>) -> Fallible<usize> {
    match descriptor {
        Descriptor::File(open) => {
            if open.rights & abi::RIGHTS_FD_READ == 0 {
                return Err(EBADF);
            }
            let mut at = offset.unwrap_or(open.position);
            let mut total = 0;
            for iovec in iovs {
                let count = open.file.read_at(at, iovec_bytes(iovec));
                at += count as u64;
                total += count;
                if count < iovec.len {
                    break;
                }
            }
            if offset.is_none() {
                open.position = at;
            }
            Ok(total)
        }
        Descriptor::Device(device) => {
            let mut total = 0;
            for iovec in iovs {
                let buf = iovec_bytes(iovec);
                match device {
                    Device::Null => break,
                    Device::Zero => buf.fill(0),
                    // SAFETY: the host fills exactly the buffer given.
                    Device::Random => abi::check(unsafe { host::random_get(buf.as_mut_ptr(), buf.len()) })?,
                }
                total += buf.len();
            }
            Ok(total)
        }
        Descriptor::Stdin => Ok(0),
        Descriptor::Dir(..) => Err(EISDIR),
        Descriptor::Output(_) => Err(EBADF),
        Descriptor::Host(_) => unreachable!("host descriptors are passed through before this"),
    }
}

/// Writes to a descriptor of the tree at `offset` (or its position).
fn write_from(vfs: &mut Vfs, fd: u32, iovs: &[IoVec], offset: Option<u64>) -> Fallible<usize> {
    let descriptor = vfs.get(fd)?;
    let total = iovs.iter().map(|iovec| iovec.len).sum();
    match descriptor {
        Descriptor::File(open) => {
            if open.rights & abi::RIGHTS_FD_WRITE == 0 {
                return Err(EBADF);
            }
            let mut at = match offset {
                Some(at) => at,
                None if open.append => open.file.data.borrow().len() as u64,
                None => open.position,
            };
            for iovec in iovs {
                open.file.write_at(at, iovec_bytes(iovec))?;
                at += iovec.len as u64;
            }
            if offset.is_none() {
                open.position = at;
            }
        }
        Descriptor::Output(stream) => {
            let stream = *stream;
            for iovec in iovs {
                vfs.output[stream].write(iovec_bytes(iovec));
            }
        }
        Descriptor::Device(_) => {}
        Descriptor::Stdin => return Err(EBADF),
        Descriptor::Dir(..) => return Err(EISDIR),
        Descriptor::Host(_) => unreachable!("host descriptors are passed through before this"),
    }
    Ok(total)
}

/// The host's number for `fd`, if it is the host's.
fn host_fd(vfs: &mut Vfs, fd: u32) -> Fallible<Option<u32>> {
    Ok(match vfs.get(fd)? {
        Descriptor::Host(host) => Some(*host),
        _ => None,
    })
}

/// `stat` of a standard stream: a character device that is not a terminal.
fn stream_stat(fd: u32) -> abi::Filestat {
    abi::Filestat {
        dev: tree::DEVICE_ID,
        ino: u64::MAX - 16 - u64::from(fd),
        filetype: abi::FILETYPE_CHARACTER_DEVICE,
        nlink: 1,
        ..Default::default()
    }
}

/// # Safety
/// `iovs` points to `len` iovecs and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_read(
    fd: u32,
    iovs: *const IoVec,
    len: usize,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        if let Some(host_fd) = host_fd(vfs, fd)? {
            // SAFETY: the caller's arguments, passed on.
            return abi::check(unsafe { host::fd_read(host_fd, iovs, len, out) });
        }
        // SAFETY: the caller's promise.
        let read = read_into(vfs.get(fd)?, unsafe { iovecs(iovs, len) }, None)?;
        // SAFETY: the caller's promise.
        unsafe { put(out, read) };
        Ok(())
    }))
}

/// # Safety
/// `iovs` points to `len` iovecs and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_pread(
    fd: u32,
    iovs: *const IoVec,
    len: usize,
    offset: u64,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        if let Some(host_fd) = host_fd(vfs, fd)? {
            // SAFETY: the caller's arguments, passed on.
            return abi::check(unsafe { host::fd_pread(host_fd, iovs, len, offset, out) });
        }
        let descriptor = vfs.get(fd)?;
        if !matches!(descriptor, Descriptor::File(_) | Descriptor::Device(_)) {
            return Err(ESPIPE);
        }
        // SAFETY: the caller's promise.
        let read = read_into(descriptor, unsafe { iovecs(iovs, len) }, Some(offset))?;
        // SAFETY: the caller's promise.
        unsafe { put(out, read) };
        Ok(())
    }))
}

/// # Safety
/// `iovs` points to `len` iovecs and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_write(
    fd: u32,
    iovs: *const IoVec,
    len: usize,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        if let Some(host_fd) = host_fd(vfs, fd)? {
            // SAFETY: the caller's arguments, passed on.
            return abi::check(unsafe { host::fd_write(host_fd, iovs, len, out) });
        }
        // SAFETY: the caller's promise.
        let written = write_from(vfs, fd, unsafe { iovecs(iovs, len) }, None)?;
        // SAFETY: the caller's promise.
        unsafe { put(out, written) };
        Ok(())
    }))
}

/// # Safety
/// `iovs` points to `len` iovecs and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_pwrite(
    fd: u32,
    iovs: *const IoVec,
    len: usize,
    offset: u64,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        if let Some(host_fd) = host_fd(vfs, fd)? {
            // SAFETY: the caller's arguments, passed on.
            return abi::check(unsafe { host::fd_pwrite(host_fd, iovs, len, offset, out) });
        }
        if !matches!(vfs.get(fd)?, Descriptor::File(_) | Descriptor::Device(_)) {
            return Err(ESPIPE);
        }
        // SAFETY: the caller's promise.
        let written = write_from(vfs, fd, unsafe { iovecs(iovs, len) }, Some(offset))?;
        // SAFETY: the caller's promise.
        unsafe { put(out, written) };
        Ok(())
    }))
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_seek(
    fd: u32,
    offset: i64,
    whence: u32,
    out: *mut u64,
) -> i32 {
    status(with(|vfs| {
        if let Some(host_fd) = host_fd(vfs, fd)? {
            // SAFETY: the caller's arguments, passed on.
            return abi::check(unsafe { host::fd_seek(host_fd, offset, whence, out) });
        }
        let position = match vfs.get(fd)? {
            Descriptor::File(open) => {
                let base = match whence as u8 {
                    abi::WHENCE_SET => 0,
                    abi::WHENCE_CUR => open.position,
                    abi::WHENCE_END => open.file.data.borrow().len() as u64,
                    _ => return Err(EINVAL),
                };
                let position = base.checked_add_signed(offset).ok_or(EINVAL)?;
                open.position = position;
                position
            }
            Descriptor::Device(_) => 0,
            Descriptor::Dir(..) => return Err(EBADF),
            _ => return Err(ESPIPE),
        };
        // SAFETY: the caller's promise.
        unsafe { put(out, position) };
        Ok(())
    }))
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_tell(fd: u32, out: *mut u64) -> i32 {
    // SAFETY: the caller's promise.
    unsafe { __imported_wasi_snapshot_preview1_fd_seek(fd, 0, u32::from(abi::WHENCE_CUR), out) }
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_close(fd: u32) -> i32 {
    status(with(|vfs| {
        if fd == ROOT_FD {
            // wasi-libc resolves every path through it: closing it would
            // leave the program without files.
            return Err(ENOTSUP);
        }
        match vfs.remove(fd)? {
            // SAFETY: a plain call with the host's own number.
            Descriptor::Host(host_fd) => abi::check(unsafe { host::fd_close(host_fd) }),
            _ => Ok(()),
        }
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_renumber(from: u32, to: u32) -> i32 {
    status(with(|vfs| {
        if from == ROOT_FD || to == ROOT_FD {
            return Err(ENOTSUP);
        }
        vfs.get(to)?;
        let descriptor = vfs.remove(from)?;
        if let Some(Descriptor::Host(host_fd)) = vfs.replace(to, descriptor) {
            // SAFETY: a plain call with the host's own number.
            abi::check(unsafe { host::fd_close(host_fd) })?;
        }
        Ok(())
    }))
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_fdstat_get(
    fd: u32,
    out: *mut abi::Fdstat,
) -> i32 {
    status(with(|vfs| {
        let (filetype, flags, rights_base, rights_inheriting) = match vfs.get(fd)? {
            // SAFETY: the caller's arguments, passed on.
            Descriptor::Host(host_fd) => return abi::check(unsafe { host::fd_fdstat_get(*host_fd, out) }),
            Descriptor::File(open) => {
                let flags = if open.append { abi::FDFLAGS_APPEND } else { 0 };
                (abi::FILETYPE_REGULAR_FILE, flags, open.rights, 0)
            }
            Descriptor::Dir(..) => (abi::FILETYPE_DIRECTORY, 0, abi::RIGHTS_ALL, abi::RIGHTS_ALL),
            // Seek and tell rights tell wasi-libc's `isatty` that these are
            // not terminals: captured output gets no terminal escapes.
            Descriptor::Device(_) | Descriptor::Stdin | Descriptor::Output(_) => (
                abi::FILETYPE_CHARACTER_DEVICE,
                0,
                abi::RIGHTS_FD_READ | abi::RIGHTS_FD_WRITE | abi::RIGHTS_FD_SEEK | abi::RIGHTS_FD_TELL,
                0,
            ),
        };
        // SAFETY: the caller's promise.
        unsafe { put(out, abi::Fdstat { filetype, flags, rights_base, rights_inheriting }) };
        Ok(())
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_fdstat_set_flags(fd: u32, flags: u32) -> i32 {
    status(with(|vfs| match vfs.get(fd)? {
        // SAFETY: a plain call with the host's own number.
        Descriptor::Host(host_fd) => abi::check(unsafe { host::fd_fdstat_set_flags(*host_fd, flags) }),
        Descriptor::File(open) => {
            open.append = flags as u16 & abi::FDFLAGS_APPEND != 0;
            Ok(())
        }
        _ => Ok(()),
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_fdstat_set_rights(
    fd: u32,
    base: u64,
    inheriting: u64,
) -> i32 {
    status(with(|vfs| match vfs.get(fd)? {
        Descriptor::Host(host_fd) => {
            // SAFETY: a plain call with the host's own number.
            abi::check(unsafe { host::fd_fdstat_set_rights(*host_fd, base, inheriting) })
        }
        Descriptor::File(open) => {
            open.rights &= base;
            Ok(())
        }
        _ => Ok(()),
    }))
}

/// The node behind a descriptor of the tree, for `stat` and friends.
fn node_of(descriptor: &Descriptor) -> Option<Node> {
    match descriptor {
        Descriptor::File(open) => Some(Node::File(open.file.clone())),
        Descriptor::Dir(dir, _) => Some(Node::Dir(dir.clone())),
        Descriptor::Device(device) => Some(Node::Device(*device)),
        _ => None,
    }
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_filestat_get(
    fd: u32,
    out: *mut abi::Filestat,
) -> i32 {
    status(with(|vfs| {
        let descriptor = vfs.get(fd)?;
        let stat = match descriptor {
            // SAFETY: the caller's arguments, passed on.
            Descriptor::Host(host_fd) => return abi::check(unsafe { host::fd_filestat_get(*host_fd, out) }),
            Descriptor::Stdin | Descriptor::Output(_) => stream_stat(fd),
            other => node_of(other).map(|node| node.stat()).ok_or(EBADF)?,
        };
        // SAFETY: the caller's promise.
        unsafe { put(out, stat) };
        Ok(())
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_filestat_set_size(fd: u32, size: u64) -> i32 {
    status(with(|vfs| match vfs.get(fd)? {
        // SAFETY: a plain call with the host's own number.
        Descriptor::Host(host_fd) => abi::check(unsafe { host::fd_filestat_set_size(*host_fd, size) }),
        Descriptor::File(open) if open.rights & abi::RIGHTS_FD_WRITE != 0 => open.file.resize(size),
        Descriptor::Dir(..) => Err(EISDIR),
        _ => Err(EINVAL),
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_allocate(fd: u32, offset: u64, len: u64) -> i32 {
    status(with(|vfs| match vfs.get(fd)? {
        // SAFETY: a plain call with the host's own number.
        Descriptor::Host(host_fd) => abi::check(unsafe { host::fd_allocate(*host_fd, offset, len) }),
        Descriptor::File(open) => {
            let end = offset.checked_add(len).ok_or(abi::EFBIG)?;
            if end > open.file.data.borrow().len() as u64 { open.file.resize(end) } else { Ok(()) }
        }
        _ => Err(ESPIPE),
    }))
}

/// Sets a node's times as `futimens` asks.
fn set_times(node: &Node, accessed: u64, modified: u64, flags: u16) -> Fallible<()> {
    let Some(times) = node.times() else { return Ok(()) };
    let now = abi::now();
    if flags & abi::FSTFLAGS_ATIM_NOW != 0 {
        times.accessed.set(now);
    } else if flags & abi::FSTFLAGS_ATIM != 0 {
        times.accessed.set(accessed);
    }
    if flags & abi::FSTFLAGS_MTIM_NOW != 0 {
        times.modified.set(now);
    } else if flags & abi::FSTFLAGS_MTIM != 0 {
        times.modified.set(modified);
    }
    times.changed.set(now);
    Ok(())
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_filestat_set_times(
    fd: u32,
    accessed: u64,
    modified: u64,
    flags: u32,
) -> i32 {
    status(with(|vfs| {
        let descriptor = vfs.get(fd)?;
        if let Descriptor::Host(host_fd) = descriptor {
            // SAFETY: a plain call with the host's own number.
            return abi::check(unsafe { host::fd_filestat_set_times(*host_fd, accessed, modified, flags) });
        }
        match node_of(descriptor) {
            Some(node) => set_times(&node, accessed, modified, flags as u16),
            None => Ok(()),
        }
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_advise(
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> i32 {
    status(with(|vfs| match host_fd(vfs, fd)? {
        // SAFETY: a plain call with the host's own number.
        Some(host_fd) => abi::check(unsafe { host::fd_advise(host_fd, offset, len, advice) }),
        None => Ok(()),
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_sync(fd: u32) -> i32 {
    status(with(|vfs| match host_fd(vfs, fd)? {
        // SAFETY: a plain call with the host's own number.
        Some(host_fd) => abi::check(unsafe { host::fd_sync(host_fd) }),
        None => Ok(()),
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_fd_datasync(fd: u32) -> i32 {
    status(with(|vfs| match host_fd(vfs, fd)? {
        // SAFETY: a plain call with the host's own number.
        Some(host_fd) => abi::check(unsafe { host::fd_datasync(host_fd) }),
        None => Ok(()),
    }))
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_prestat_get(
    fd: u32,
    out: *mut abi::Prestat,
) -> i32 {
    if fd != ROOT_FD {
        return i32::from(EBADF);
    }
    // SAFETY: the caller's promise.
    unsafe { put(out, abi::Prestat { tag: 0, name_len: 1 }) };
    // Made now, in wasi-libc's start-up, so that the snapshot holds it.
    status(with(|_| Ok(())))
}

/// # Safety
/// `path` is writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_prestat_dir_name(
    fd: u32,
    path: *mut u8,
    len: usize,
) -> i32 {
    if fd != ROOT_FD {
        return i32::from(EBADF);
    }
    if len < 1 {
        return i32::from(abi::ENAMETOOLONG);
    }
    // SAFETY: the caller's promise; one byte fits.
    unsafe { put(path, b'/') };
    0
}

/// Appends one directory entry to a `readdir` buffer, cut where the buffer
/// ends (wasi-libc then grows its buffer and asks again).
fn push_dirent(buffer: &mut [u8], used: &mut usize, next: u64, inode: u64, filetype: u8, name: &[u8]) {
    // `__wasi_dirent_t`, little-endian, its padding zeroed.
    let mut bytes = [0u8; size_of::<abi::Dirent>()];
    bytes[0..8].copy_from_slice(&next.to_le_bytes());
    bytes[8..16].copy_from_slice(&inode.to_le_bytes());
    bytes[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    bytes[20] = filetype;
    for chunk in [&bytes[..], name] {
        let room = buffer.len() - *used;
        let count = chunk.len().min(room);
        buffer[*used..*used + count].copy_from_slice(&chunk[..count]);
        *used += count;
    }
}

/// # Safety
/// `buf` is writable for `len` bytes and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_fd_readdir(
    fd: u32,
    buf: *mut u8,
    len: usize,
    cookie: u64,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        let (dir, path) = match vfs.get(fd)? {
            Descriptor::Host(host_fd) => {
                // SAFETY: the caller's arguments, passed on.
                return abi::check(unsafe { host::fd_readdir(*host_fd, buf, len, cookie, out) });
            }
            Descriptor::Dir(dir, path) => (dir.clone(), path.clone()),
            _ => return Err(ENOTDIR),
        };
        let parent = match path.split_last() {
            Some((_, above)) => vfs.lookup(above).map(|node| node.inode()).unwrap_or(dir.inode),
            None => dir.inode,
        };
        let buffer = iovec_bytes(&IoVec { buf, len });
        let mut used = 0;
        let entries = dir.entries.borrow();
        let listing =
            [(&b"."[..], dir.inode, abi::FILETYPE_DIRECTORY), (&b".."[..], parent, abi::FILETYPE_DIRECTORY)]
                .into_iter()
                .chain(entries.iter().map(|(name, node)| (&name[..], node.inode(), node.filetype())));
        for (index, (name, inode, filetype)) in listing.enumerate().skip(cookie as usize) {
            if used == len {
                break;
            }
            push_dirent(buffer, &mut used, index as u64 + 1, inode, filetype, name);
        }
        // SAFETY: the caller's promise.
        unsafe { put(out, used) };
        Ok(())
    }))
}

// ---- paths -----------------------------------------------------------

/// # Safety
/// `path` points to `len` bytes and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_open(
    dir_fd: u32,
    dirflags: u32,
    path: *const u8,
    len: usize,
    oflags: u32,
    rights_base: u64,
    rights_inheriting: u64,
    fdflags: u32,
    out: *mut u32,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        let path = unsafe { path_arg(path, len) };
        let oflags = oflags as u16;
        let descriptor = match vfs.locate(dir_fd, path)? {
            Place::Host { fd, path } => {
                let mut opened = 0;
                // SAFETY: a path of ours and a local out-parameter.
                abi::check(unsafe {
                    host::path_open(
                        fd,
                        dirflags,
                        path.as_ptr(),
                        path.len(),
                        u32::from(oflags),
                        rights_base,
                        rights_inheriting,
                        fdflags,
                        &mut opened,
                    )
                })?;
                Descriptor::Host(opened)
            }
            Place::Memory { path, dir_only } => {
                open_in_tree(vfs, path, dir_only, oflags, rights_base, fdflags as u16)?
            }
        };
        let fd = vfs.insert(descriptor)?;
        // SAFETY: the caller's promise.
        unsafe { put(out, fd) };
        Ok(())
    }))
}

fn open_in_tree(
    vfs: &mut Vfs,
    path: Vec<tree::Name>,
    dir_only: bool,
    oflags: u16,
    rights: u64,
    fdflags: u16,
) -> Fallible<Descriptor> {
    let writing = rights & abi::RIGHTS_FD_WRITE != 0;
    let node = match vfs.lookup(&path) {
        Ok(_) if oflags & abi::OFLAGS_CREAT != 0 && oflags & abi::OFLAGS_EXCL != 0 => {
            return Err(abi::EEXIST);
        }
        Ok(node) => node,
        Err(ENOENT) if oflags & abi::OFLAGS_CREAT != 0 => {
            if dir_only || oflags & abi::OFLAGS_DIRECTORY != 0 {
                return Err(EISDIR);
            }
            let (parent, name) = vfs.parent(&path)?;
            let file = File::new();
            parent.insert(name, Node::File(file.clone()))?;
            Node::File(file)
        }
        Err(errno) => return Err(errno),
    };
    let wants_dir = dir_only || oflags & abi::OFLAGS_DIRECTORY != 0;
    Ok(match node {
        Node::Dir(dir) => {
            if writing || oflags & abi::OFLAGS_TRUNC != 0 {
                return Err(EISDIR);
            }
            Descriptor::Dir(dir, path)
        }
        _ if wants_dir => return Err(ENOTDIR),
        Node::File(file) => {
            if oflags & abi::OFLAGS_TRUNC != 0 {
                file.resize(0)?;
            }
            let append = fdflags & abi::FDFLAGS_APPEND != 0;
            Descriptor::File(OpenFile { file, position: 0, append, rights })
        }
        Node::Device(device) => Descriptor::Device(device),
    })
}

/// # Safety
/// `path` points to `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_create_directory(
    dir_fd: u32,
    path: *const u8,
    len: usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(path, len) })? {
            Place::Host { fd, path } => {
                // SAFETY: a path of ours.
                abi::check(unsafe { host::path_create_directory(fd, path.as_ptr(), path.len()) })
            }
            Place::Memory { path, .. } => {
                let (parent, name) = vfs
                    .parent(&path)
                    .map_err(|errno| if errno == abi::EBUSY { abi::EEXIST } else { errno })?;
                parent.insert(name, Node::Dir(Dir::new()))
            }
        }
    }))
}

/// # Safety
/// `path` points to `len` bytes and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_filestat_get(
    dir_fd: u32,
    flags: u32,
    path: *const u8,
    len: usize,
    out: *mut abi::Filestat,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(path, len) })? {
            Place::Host { fd, path } => {
                // SAFETY: a path of ours; the caller's out-parameter.
                abi::check(unsafe { host::path_filestat_get(fd, flags, path.as_ptr(), path.len(), out) })
            }
            Place::Memory { path, dir_only } => {
                let node = vfs.lookup(&path)?;
                if dir_only && !matches!(node, Node::Dir(_)) {
                    return Err(ENOTDIR);
                }
                // SAFETY: the caller's promise.
                unsafe { put(out, node.stat()) };
                Ok(())
            }
        }
    }))
}

/// # Safety
/// `path` points to `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_filestat_set_times(
    dir_fd: u32,
    flags: u32,
    path: *const u8,
    len: usize,
    accessed: u64,
    modified: u64,
    fst_flags: u32,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(path, len) })? {
            // SAFETY: a path of ours.
            Place::Host { fd, path } => abi::check(unsafe {
                host::path_filestat_set_times(
                    fd,
                    flags,
                    path.as_ptr(),
                    path.len(),
                    accessed,
                    modified,
                    fst_flags,
                )
            }),
            Place::Memory { path, .. } => {
                set_times(&vfs.lookup(&path)?, accessed, modified, fst_flags as u16)
            }
        }
    }))
}

/// # Safety
/// Both paths point to their lengths in bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_link(
    old_fd: u32,
    old_flags: u32,
    old_path: *const u8,
    old_len: usize,
    new_fd: u32,
    new_path: *const u8,
    new_len: usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        let old = vfs.locate(old_fd, unsafe { path_arg(old_path, old_len) })?;
        // SAFETY: the caller's promise.
        let new = vfs.locate(new_fd, unsafe { path_arg(new_path, new_len) })?;
        match (old, new) {
            (Place::Host { fd: from_fd, path: from }, Place::Host { fd: to_fd, path: to }) => {
                // SAFETY: paths of ours.
                abi::check(unsafe {
                    host::path_link(
                        from_fd,
                        old_flags,
                        from.as_ptr(),
                        from.len(),
                        to_fd,
                        to.as_ptr(),
                        to.len(),
                    )
                })
            }
            (Place::Memory { path: from, .. }, Place::Memory { path: to, dir_only }) => {
                let node = vfs.lookup(&from)?;
                if matches!(node, Node::Dir(_)) {
                    return Err(EPERM);
                }
                if dir_only {
                    return Err(ENOTDIR);
                }
                let (parent, name) = vfs.parent(&to)?;
                parent.insert(name, node)
            }
            _ => Err(EXDEV),
        }
    }))
}

/// # Safety
/// `path` points to `len` bytes, `buf` is writable for `buf_len` bytes and
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_readlink(
    dir_fd: u32,
    path: *const u8,
    len: usize,
    buf: *mut u8,
    buf_len: usize,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(path, len) })? {
            Place::Host { fd, path } => {
                // SAFETY: a path of ours; the caller's buffer and out-parameter.
                abi::check(unsafe { host::path_readlink(fd, path.as_ptr(), path.len(), buf, buf_len, out) })
            }
            // The tree has no symbolic links.
            Place::Memory { path, .. } => vfs.lookup(&path).and(Err(EINVAL)),
        }
    }))
}

/// # Safety
/// `path` points to `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_remove_directory(
    dir_fd: u32,
    path: *const u8,
    len: usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(path, len) })? {
            Place::Host { fd, path } => {
                // SAFETY: a path of ours.
                abi::check(unsafe { host::path_remove_directory(fd, path.as_ptr(), path.len()) })
            }
            Place::Memory { path, .. } => {
                if vfs.holds_mount(&path) {
                    return Err(abi::EBUSY);
                }
                let (parent, name) = vfs.parent(&path)?;
                match parent.get(name) {
                    Some(Node::Dir(dir)) if dir.entries.borrow().is_empty() => {}
                    Some(Node::Dir(_)) => return Err(ENOTEMPTY),
                    Some(_) => return Err(ENOTDIR),
                    None => return Err(ENOENT),
                }
                parent.remove(name);
                Ok(())
            }
        }
    }))
}

/// # Safety
/// `path` points to `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_unlink_file(
    dir_fd: u32,
    path: *const u8,
    len: usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(path, len) })? {
            Place::Host { fd, path } => {
                // SAFETY: a path of ours.
                abi::check(unsafe { host::path_unlink_file(fd, path.as_ptr(), path.len()) })
            }
            Place::Memory { path, dir_only } => {
                let (parent, name) = vfs.parent(&path)?;
                match parent.get(name) {
                    Some(Node::Dir(_)) => return Err(EISDIR),
                    Some(_) if dir_only => return Err(ENOTDIR),
                    Some(_) => {}
                    None => return Err(ENOENT),
                }
                parent.remove(name);
                Ok(())
            }
        }
    }))
}

/// # Safety
/// Both paths point to their lengths in bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_rename(
    old_fd: u32,
    old_path: *const u8,
    old_len: usize,
    new_fd: u32,
    new_path: *const u8,
    new_len: usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        let old = vfs.locate(old_fd, unsafe { path_arg(old_path, old_len) })?;
        // SAFETY: the caller's promise.
        let new = vfs.locate(new_fd, unsafe { path_arg(new_path, new_len) })?;
        match (old, new) {
            (Place::Host { fd: from_fd, path: from }, Place::Host { fd: to_fd, path: to }) => {
                // SAFETY: paths of ours.
                abi::check(unsafe {
                    host::path_rename(from_fd, from.as_ptr(), from.len(), to_fd, to.as_ptr(), to.len())
                })
            }
            (Place::Memory { path: from, .. }, Place::Memory { path: to, .. }) => {
                rename_in_tree(vfs, &from, &to)
            }
            // Between the tree and a granted directory: `shutil.move`
            // copies instead, as across Linux file systems.
            _ => Err(EXDEV),
        }
    }))
}

fn rename_in_tree(vfs: &mut Vfs, from: &[tree::Name], to: &[tree::Name]) -> Fallible<()> {
    let (from_parent, from_name) = vfs.parent(from)?;
    let node = from_parent.get(from_name).ok_or(ENOENT)?;
    if from == to {
        return Ok(());
    }
    if vfs.holds_mount(from) {
        return Err(abi::EBUSY);
    }
    if matches!(node, Node::Dir(_)) && to.starts_with(from) {
        return Err(EINVAL);
    }
    let (to_parent, to_name) = vfs.parent(to)?;
    match (&node, to_parent.get(to_name)) {
        (Node::Dir(_), Some(Node::Dir(target))) if !target.entries.borrow().is_empty() => {
            return Err(ENOTEMPTY);
        }
        (Node::Dir(_), Some(Node::Dir(_))) => {}
        (Node::Dir(_), Some(_)) => return Err(ENOTDIR),
        (_, Some(Node::Dir(_))) => return Err(EISDIR),
        _ => {}
    }
    if to_parent.get(to_name).is_some() && vfs.holds_mount(to) {
        return Err(abi::EBUSY);
    }
    // Charge the new entry before anything is removed, so that a full
    // budget loses nothing.
    let cost = tree::ENTRY_COST + to_name.len() as u64;
    tree::charge(cost)?;
    to_parent.remove(to_name);
    from_parent.remove(from_name);
    tree::release(cost);
    to_parent.insert(to_name, node)
}

/// # Safety
/// Both paths point to their lengths in bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_path_symlink(
    old_path: *const u8,
    old_len: usize,
    dir_fd: u32,
    new_path: *const u8,
    new_len: usize,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's promise.
        match vfs.locate(dir_fd, unsafe { path_arg(new_path, new_len) })? {
            Place::Host { fd, path } => {
                // SAFETY: the caller's target and a path of ours.
                abi::check(unsafe { host::path_symlink(old_path, old_len, fd, path.as_ptr(), path.len()) })
            }
            // The tree keeps no symbolic links (see docs/COMPONENT.md).
            Place::Memory { .. } => Err(ENOTSUP),
        }
    }))
}

// ---- polling and sockets ----------------------------------------------

/// # Safety
/// `subscriptions` points to `count` subscriptions, `events` is writable
/// for `count` events and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_poll_oneoff(
    subscriptions: *const abi::Subscription,
    events: *mut abi::Event,
    count: usize,
    out: *mut usize,
) -> i32 {
    status(with(|vfs| {
        if count == 0 {
            return Err(EINVAL);
        }
        // SAFETY: the caller's promise.
        let mut list = unsafe { std::slice::from_raw_parts(subscriptions, count) }.to_vec();
        // Descriptors of the tree are always ready; the host's are asked
        // about by their own numbers.
        let mut ready = Vec::new();
        let mut for_host = Vec::new();
        for subscription in &mut list {
            if subscription.tag == abi::EVENTTYPE_CLOCK {
                for_host.push(*subscription);
                continue;
            }
            let fd = subscription.contents[0] as u32;
            match vfs.get(fd) {
                Ok(Descriptor::Host(host_fd)) => {
                    subscription.contents[0] = u64::from(*host_fd);
                    for_host.push(*subscription);
                }
                found => ready.push(abi::Event {
                    userdata: subscription.userdata,
                    error: found.err().unwrap_or(abi::SUCCESS),
                    kind: subscription.tag,
                    nbytes: 0,
                    flags: 0,
                }),
            }
        }
        if !ready.is_empty() {
            for (index, event) in ready.iter().enumerate() {
                // SAFETY: at most `count` events, the caller's promise.
                unsafe { put(events.add(index), *event) };
            }
            // SAFETY: the caller's promise.
            unsafe { put(out, ready.len()) };
            return Ok(());
        }
        // SAFETY: a local list and the caller's buffers, of `count` items.
        abi::check(unsafe { host::poll_oneoff(for_host.as_ptr(), events, for_host.len(), out) })
    }))
}

/// The host's number of socket `fd` (the tree has no sockets).
fn socket(vfs: &mut Vfs, fd: u32) -> Fallible<u32> {
    host_fd(vfs, fd)?.ok_or(abi::ENOTSOCK)
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_sock_accept(
    fd: u32,
    flags: u32,
    out: *mut u32,
) -> i32 {
    status(with(|vfs| {
        let mut accepted = 0;
        // SAFETY: the host's number and a local out-parameter.
        abi::check(unsafe { host::sock_accept(socket(vfs, fd)?, flags, &mut accepted) })?;
        let fd = vfs.insert(Descriptor::Host(accepted))?;
        // SAFETY: the caller's promise.
        unsafe { put(out, fd) };
        Ok(())
    }))
}

/// # Safety
/// `iovs` points to `len` iovecs and both outs are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_sock_recv(
    fd: u32,
    iovs: *const IoVec,
    len: usize,
    flags: u32,
    out_len: *mut usize,
    out_flags: *mut u16,
) -> i32 {
    status(with(|vfs| {
        // SAFETY: the caller's arguments, passed on.
        abi::check(unsafe { host::sock_recv(socket(vfs, fd)?, iovs, len, flags, out_len, out_flags) })
    }))
}

/// # Safety
/// `iovs` points to `len` iovecs and `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __imported_wasi_snapshot_preview1_sock_send(
    fd: u32,
    iovs: *const IoVec,
    len: usize,
    flags: u32,
    out: *mut usize,
) -> i32 {
    // SAFETY: the caller's arguments, passed on.
    status(with(|vfs| abi::check(unsafe { host::sock_send(socket(vfs, fd)?, iovs, len, flags, out) })))
}

#[unsafe(no_mangle)]
pub extern "C" fn __imported_wasi_snapshot_preview1_sock_shutdown(fd: u32, how: u32) -> i32 {
    // SAFETY: a plain call with the host's own number.
    status(with(|vfs| abi::check(unsafe { host::sock_shutdown(socket(vfs, fd)?, how) })))
}
