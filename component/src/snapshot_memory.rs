//! The last step of a snapshot: retires the C allocator's free memory, so
//! that instances allocate from fresh memory past the snapshot.
//!
//! When the snapshot is made, the allocator's free chunks are scattered over
//! the whole heap (what the build freed: bytecode being compiled, files
//! read). An instance that allocated from them would write to, and so copy,
//! a page of the shared snapshot for almost every allocation of its first
//! call. Every free chunk is therefore taken, zeroed and kept for good:
//! an instance's allocations come from memory past the snapshot, a few
//! contiguous pages, and the retired chunks, zero, compress to almost
//! nothing in the component file. They are never touched, so they cost an
//! instance address space, not resident memory. The same is done for
//! pymalloc's free blocks, Python's allocator of small objects: its next
//! blocks come from a new arena, which the C allocator cuts from memory
//! past the snapshot.

use std::ffi::c_void;
use std::ptr;

use pyo3_ffi as ffi;

unsafe extern "C" {
    /// wasi-libc's allocator (dlmalloc).
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Bytes of a wasm page.
const WASM_PAGE: usize = 64 << 10;

/// Bytes of linear memory now.
fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * WASM_PAGE
}

/// Request sizes, largest first, down to the allocator's smallest chunk.
/// The allocator serves a request from its free chunks before it cuts one
/// from the top of the heap, so once a request of some size comes from
/// past the snapshot's memory, no free chunk of that size is left.
const REQUEST_SIZES: [usize; 8] = [64 << 10, 16 << 10, 4 << 10, 1 << 10, 256, 64, 16, 8];

/// Retires the free memory of both allocators: the C allocator's first, so
/// that pymalloc's new arena comes from past the snapshot. Returns the bytes
/// retired. Runs once, as the snapshot's last step, with the interpreter
/// initialized.
pub fn retire_free_memory() -> usize {
    let snapshot_end = memory_bytes();
    retire_malloc_chunks(snapshot_end) + retire_object_blocks(snapshot_end)
}

/// Takes every free chunk of the C allocator, and what is left of the
/// heap's top inside the snapshot's memory, zeroes them and never frees
/// them.
fn retire_malloc_chunks(snapshot_end: usize) -> usize {
    let mut retired = 0;
    for size in REQUEST_SIZES {
        loop {
            // SAFETY: a plain allocation; single-threaded guest.
            let chunk = unsafe { malloc(size) };
            if chunk.is_null() {
                break;
            }
            if chunk as usize + size > snapshot_end {
                // Cut from memory past the snapshot: given back, it stays
                // the heap's top, where instances allocate.
                // SAFETY: `chunk` came from `malloc` and is freed once.
                unsafe { free(chunk) };
                break;
            }
            // SAFETY: `chunk` holds `size` writable bytes.
            unsafe { ptr::write_bytes(chunk.cast::<u8>(), 0, size) };
            retired += size;
        }
    }
    retired
}

/// Set by [`noting_arena_alloc`] when pymalloc asks for a new arena: it
/// has no free block of the size asked for left.
static mut NEW_ARENA_ASKED: bool = false;

/// The arena allocator pymalloc had, which [`noting_arena_alloc`] calls.
static mut USUAL_ARENAS: ffi::PyObjectArenaAllocator =
    ffi::PyObjectArenaAllocator { ctx: ptr::null_mut(), alloc: None, free: None };

/// The arena allocator while pymalloc's free blocks are retired: the usual
/// one, and a note that a new arena was needed.
extern "C" fn noting_arena_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: single-threaded; USUAL_ARENAS is set before this allocator
    // is installed.
    unsafe {
        NEW_ARENA_ASKED = true;
        match USUAL_ARENAS.alloc {
            Some(alloc) => alloc(ctx, size),
            None => ptr::null_mut(),
        }
    }
}

/// pymalloc's size classes: 8-byte steps up to its 512-byte limit.
const SMALL_REQUEST_STEP: usize = 8;
const SMALL_REQUEST_LIMIT: usize = 512;

/// Takes every free block of every pymalloc size class until it would need
/// a new arena, zeroes them and never frees them. In a build without
/// pymalloc, `PyObject_Malloc` is the C allocator, whose free chunks are
/// already retired: each size class then ends at its first request.
fn retire_object_blocks(snapshot_end: usize) -> usize {
    let mut retired = 0;
    // SAFETY: single-threaded, interpreter initialized; the usual arena
    // allocator is put back before returning.
    unsafe {
        ffi::PyObject_GetArenaAllocator(&raw mut USUAL_ARENAS);
        let mut noting = ffi::PyObjectArenaAllocator {
            ctx: USUAL_ARENAS.ctx,
            alloc: Some(noting_arena_alloc),
            free: USUAL_ARENAS.free,
        };
        ffi::PyObject_SetArenaAllocator(&mut noting);
        for size in (SMALL_REQUEST_STEP..=SMALL_REQUEST_LIMIT).step_by(SMALL_REQUEST_STEP) {
            NEW_ARENA_ASKED = false;
            loop {
                let block = ffi::PyObject_Malloc(size);
                if block.is_null() {
                    break;
                }
                if NEW_ARENA_ASKED || block as usize + size > snapshot_end {
                    ffi::PyObject_Free(block);
                    break;
                }
                ptr::write_bytes(block.cast::<u8>(), 0, size);
                retired += size;
            }
        }
        ffi::PyObject_SetArenaAllocator(&raw mut USUAL_ARENAS);
    }
    retired
}
