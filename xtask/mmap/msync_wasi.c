/* msync for CPython's mmap module on wasm32-wasi, which wasi-libc's
 * emulated mman (libwasi-emulated-mman: mmap and munmap) lacks.
 *
 * The emulation maps memory only: an anonymous mapping is ordinary memory,
 * and a file's mapping would be a copy of its contents. CPython's mmap
 * cannot map a file on WASI (it duplicates the descriptor, and WASI has no
 * dup), so the mappings a program has are anonymous ones, for which there
 * is nothing to write back. */
#include <errno.h>
#include <sys/mman.h> /* compiled with _WASI_EMULATED_MMAN */

int msync(void *address, size_t length, int flags) {
  (void)address;
  (void)length;
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0 ||
      (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC)) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}
