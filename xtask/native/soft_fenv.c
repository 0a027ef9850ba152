// Floating-point exception flags kept in software. WebAssembly has no
// floating-point status flags, and wasi-libc's <fenv.h> defines no FE_*
// exception (its functions do nothing). Native packages are compiled with
// the FE_* values below (xtask/src/native/mod.rs), so that flags a library
// raises itself (numpy's linalg on a singular matrix, integer division by
// zero) are seen by the code that tests them (numpy's errstate, LinAlgError).
// Flags the hardware would set on an operation (1.0 / 0.0) stay unset.
#include <fenv.h>

static int raised_flags;

int feclearexcept(int excepts) {
  raised_flags &= ~excepts;
  return 0;
}

int feraiseexcept(int excepts) {
  raised_flags |= excepts;
  return 0;
}

int fetestexcept(int excepts) { return raised_flags & excepts; }

int fegetexceptflag(fexcept_t *flags, int excepts) {
  *flags = (fexcept_t)(raised_flags & excepts);
  return 0;
}

int fesetexceptflag(const fexcept_t *flags, int excepts) {
  raised_flags = (raised_flags & ~excepts) | ((int)*flags & excepts);
  return 0;
}
