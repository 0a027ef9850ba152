/* Force-included when compiling SQLite 3.40 for wasm32-wasi.
 *
 * SQLite 3.40's unix VFS assumes POSIX calls that WASI preview 1 does not
 * have. WASI has no owners or permission bits, so changing them is a no-op
 * that reports success; the build selects the "unix-none" VFS, so the POSIX
 * advisory-lock commands below are named but never issued. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#endif
#ifndef F_GETLK
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif

static inline int fchmod(int fd, mode_t mode) { (void)fd; (void)mode; return 0; }
static inline int fchown(int fd, uid_t owner, gid_t group) { (void)fd; (void)owner; (void)group; return 0; }
/* Non-zero: SQLite only calls fchown when running as root. */
static inline uid_t geteuid(void) { return 1; }
