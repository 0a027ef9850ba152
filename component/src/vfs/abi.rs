//! WASI preview 1 as the interceptors see it: error numbers, flags, the
//! layout of the structures they read and write, and the real imports that
//! reach the host (through the preview-1 component adapter).

/// A preview-1 error number (`__wasi_errno_t`).
pub type Errno = u16;

/// The result of a file-system operation.
pub type Fallible<T> = Result<T, Errno>;

pub const SUCCESS: Errno = 0;
pub const EBADF: Errno = 8;
pub const EBUSY: Errno = 10;
pub const EEXIST: Errno = 20;
pub const EFBIG: Errno = 22;
pub const EINVAL: Errno = 28;
pub const EISDIR: Errno = 31;
pub const EMFILE: Errno = 33;
pub const ENAMETOOLONG: Errno = 37;
pub const ENOENT: Errno = 44;
pub const ENOSPC: Errno = 51;
pub const ENOTDIR: Errno = 54;
pub const ENOTEMPTY: Errno = 55;
pub const ENOTSOCK: Errno = 57;
pub const ENOTSUP: Errno = 58;
pub const EPERM: Errno = 63;
pub const ESPIPE: Errno = 70;
pub const EXDEV: Errno = 75;

pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub const FILETYPE_DIRECTORY: u8 = 3;
pub const FILETYPE_REGULAR_FILE: u8 = 4;

pub const OFLAGS_CREAT: u16 = 1;
pub const OFLAGS_DIRECTORY: u16 = 2;
pub const OFLAGS_EXCL: u16 = 4;
pub const OFLAGS_TRUNC: u16 = 8;

pub const FDFLAGS_APPEND: u16 = 1;

pub const FSTFLAGS_ATIM: u16 = 1;
pub const FSTFLAGS_ATIM_NOW: u16 = 2;
pub const FSTFLAGS_MTIM: u16 = 4;
pub const FSTFLAGS_MTIM_NOW: u16 = 8;

pub const WHENCE_SET: u8 = 0;
pub const WHENCE_CUR: u8 = 1;
pub const WHENCE_END: u8 = 2;

pub const RIGHTS_FD_READ: u64 = 1 << 1;
pub const RIGHTS_FD_SEEK: u64 = 1 << 2;
pub const RIGHTS_FD_TELL: u64 = 1 << 5;
pub const RIGHTS_FD_WRITE: u64 = 1 << 6;
/// Every right preview 1 defines: the in-memory tree restricts nothing.
pub const RIGHTS_ALL: u64 = (1 << 30) - 1;

pub const EVENTTYPE_CLOCK: u8 = 0;

pub const CLOCK_REALTIME: u32 = 0;

/// `__wasi_iovec_t` and `__wasi_ciovec_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    pub buf: *mut u8,
    pub len: usize,
}

/// `__wasi_filestat_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

/// `__wasi_fdstat_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Fdstat {
    pub filetype: u8,
    pub flags: u16,
    pub rights_base: u64,
    pub rights_inheriting: u64,
}

/// `__wasi_prestat_t` for a directory: tag 0 and the length of its name.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Prestat {
    pub tag: u8,
    pub name_len: u32,
}

/// The fixed part of `__wasi_dirent_t`; the name follows it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Dirent {
    pub next: u64,
    pub ino: u64,
    pub name_len: u32,
    pub filetype: u8,
}

/// `__wasi_subscription_t`: the union is read through `tag` and the
/// first words of `contents` (a clock's id, or a descriptor).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Subscription {
    pub userdata: u64,
    pub tag: u8,
    pub contents: [u64; 4],
}

/// `__wasi_event_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub userdata: u64,
    pub error: u16,
    pub kind: u8,
    pub nbytes: u64,
    pub flags: u16,
}

const _: () = {
    assert!(size_of::<IoVec>() == 8);
    assert!(size_of::<Filestat>() == 64);
    assert!(size_of::<Fdstat>() == 24);
    assert!(size_of::<Prestat>() == 8);
    assert!(size_of::<Dirent>() == 24);
    assert!(size_of::<Subscription>() == 48);
    assert!(size_of::<Event>() == 32);
};

/// The host's preview-1 functions. wasi-libc's own references to them
/// (`__imported_wasi_snapshot_preview1_*`) are bound to the interceptors of
/// `super::calls`; these are the only calls that leave the guest.
pub mod host {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        pub fn fd_advise(fd: u32, offset: u64, len: u64, advice: u32) -> u16;
        pub fn fd_allocate(fd: u32, offset: u64, len: u64) -> u16;
        pub fn fd_close(fd: u32) -> u16;
        pub fn fd_datasync(fd: u32) -> u16;
        pub fn fd_fdstat_get(fd: u32, out: *mut super::Fdstat) -> u16;
        pub fn fd_fdstat_set_flags(fd: u32, flags: u32) -> u16;
        pub fn fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64) -> u16;
        pub fn fd_filestat_get(fd: u32, out: *mut super::Filestat) -> u16;
        pub fn fd_filestat_set_size(fd: u32, size: u64) -> u16;
        pub fn fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, flags: u32) -> u16;
        pub fn fd_pread(fd: u32, iovs: *const super::IoVec, len: usize, offset: u64, out: *mut usize) -> u16;
        pub fn fd_prestat_get(fd: u32, out: *mut super::Prestat) -> u16;
        pub fn fd_prestat_dir_name(fd: u32, path: *mut u8, len: usize) -> u16;
        pub fn fd_pwrite(fd: u32, iovs: *const super::IoVec, len: usize, offset: u64, out: *mut usize)
        -> u16;
        pub fn fd_read(fd: u32, iovs: *const super::IoVec, len: usize, out: *mut usize) -> u16;
        pub fn fd_readdir(fd: u32, buf: *mut u8, len: usize, cookie: u64, out: *mut usize) -> u16;
        pub fn fd_seek(fd: u32, offset: i64, whence: u32, out: *mut u64) -> u16;
        pub fn fd_sync(fd: u32) -> u16;
        pub fn fd_write(fd: u32, iovs: *const super::IoVec, len: usize, out: *mut usize) -> u16;
        pub fn path_create_directory(fd: u32, path: *const u8, len: usize) -> u16;
        pub fn path_filestat_get(
            fd: u32,
            flags: u32,
            path: *const u8,
            len: usize,
            out: *mut super::Filestat,
        ) -> u16;
        pub fn path_filestat_set_times(
            fd: u32,
            flags: u32,
            path: *const u8,
            len: usize,
            atim: u64,
            mtim: u64,
            fst_flags: u32,
        ) -> u16;
        pub fn path_link(
            old_fd: u32,
            old_flags: u32,
            old_path: *const u8,
            old_len: usize,
            new_fd: u32,
            new_path: *const u8,
            new_len: usize,
        ) -> u16;
        pub fn path_open(
            fd: u32,
            dirflags: u32,
            path: *const u8,
            len: usize,
            oflags: u32,
            base: u64,
            inheriting: u64,
            fdflags: u32,
            out: *mut u32,
        ) -> u16;
        pub fn path_readlink(
            fd: u32,
            path: *const u8,
            len: usize,
            buf: *mut u8,
            buf_len: usize,
            out: *mut usize,
        ) -> u16;
        pub fn path_remove_directory(fd: u32, path: *const u8, len: usize) -> u16;
        pub fn path_rename(
            old_fd: u32,
            old_path: *const u8,
            old_len: usize,
            new_fd: u32,
            new_path: *const u8,
            new_len: usize,
        ) -> u16;
        pub fn path_symlink(
            old_path: *const u8,
            old_len: usize,
            fd: u32,
            new_path: *const u8,
            new_len: usize,
        ) -> u16;
        pub fn path_unlink_file(fd: u32, path: *const u8, len: usize) -> u16;
        pub fn poll_oneoff(
            subscriptions: *const super::Subscription,
            events: *mut super::Event,
            count: usize,
            out: *mut usize,
        ) -> u16;
        pub fn sock_accept(fd: u32, flags: u32, out: *mut u32) -> u16;
        pub fn sock_recv(
            fd: u32,
            iovs: *const super::IoVec,
            len: usize,
            flags: u32,
            out_len: *mut usize,
            out_flags: *mut u16,
        ) -> u16;
        pub fn sock_send(fd: u32, iovs: *const super::IoVec, len: usize, flags: u32, out: *mut usize) -> u16;
        pub fn sock_shutdown(fd: u32, how: u32) -> u16;
        pub fn clock_time_get(id: u32, precision: u64, out: *mut u64) -> u16;
        pub fn random_get(buf: *mut u8, len: usize) -> u16;
    }
}

/// The current wall-clock time in nanoseconds, for time stamps (0 if the
/// host has no clock to give).
pub fn now() -> u64 {
    let mut time = 0u64;
    // SAFETY: the host writes one u64 into a local.
    if unsafe { host::clock_time_get(CLOCK_REALTIME, 1, &mut time) } == SUCCESS { time } else { 0 }
}

/// Turns a preview-1 status into a result.
pub fn check(status: u16) -> Fallible<()> {
    if status == SUCCESS { Ok(()) } else { Err(status) }
}
