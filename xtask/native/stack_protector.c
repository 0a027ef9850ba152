// The stack protector's guard and failure handler. Debian's compiler-rt for
// wasm32 (libclang_rt.builtins-wasm32.a) is compiled with -fstack-protector,
// and wasi-libc defines neither symbol. Rust code that divides 128-bit
// integers (pydantic-core) pulls compiler-rt's __modti3, and with it these
// references. A smashed stack ends the instance with a trap; the host
// survives it, as it does any trap.
#include <stdint.h>

uintptr_t __stack_chk_guard = 0x5e1f3c2au;

__attribute__((noreturn)) void __stack_chk_fail(void) {
  __builtin_trap();
}
