/* What ffi_wasm32.c shares with the generated ffi_signatures.c: the wasm
 * values a C call is lowered to, and how a signature is numbered. */
#ifndef PYCOMPONENT_FFI_WASM32_H
#define PYCOMPONENT_FFI_WASM32_H

#include <stdint.h>

/* One wasm value. */
union ffi_wasm32_value {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
};

/* The kinds of wasm parameters (base-4 digits of a signature key). */
enum { FFI_WASM32_I32 = 0, FFI_WASM32_I64 = 1, FFI_WASM32_F32 = 2, FFI_WASM32_F64 = 3 };
/* The kinds of wasm results. */
enum {
  FFI_WASM32_RET_VOID = 0,
  FFI_WASM32_RET_I32 = 1,
  FFI_WASM32_RET_I64 = 2,
  FFI_WASM32_RET_F32 = 3,
  FFI_WASM32_RET_F64 = 4
};

/* Parameters of the longest signature a key can name. */
#define FFI_WASM32_KEY_MAX_PARAMS 12

/* A wasm signature as one number: ((digits * 13) + count) * 5 + result,
 * where digits holds the parameter kinds in base 4, first one lowest.
 * gen_signatures.py numbers signatures the same way. */
static inline int ffi_wasm32_key(int result, int count, const unsigned char *kinds) {
  int digits = 0;
  for (int i = count - 1; i >= 0; i--) digits = digits * 4 + kinds[i];
  return (digits * (FFI_WASM32_KEY_MAX_PARAMS + 1) + count) * 5 + result;
}

/* Generated: whether calls of signature `key` are compiled. */
int ffi_wasm32_has_call(int key);
/* Generated: calls `fn` as signature `key` with `params`, storing its result. */
void ffi_wasm32_call(int key, void (*fn)(void), const union ffi_wasm32_value *params,
                     union ffi_wasm32_value *result);

/* Generated: the code of trampoline `slot` of signature `key` and its index
 * in ffi_wasm32_closures; NULL when the signature has no trampolines or
 * fewer than slot + 1. Each trampoline is the code of one live closure. */
void *ffi_wasm32_closure_code(int key, int slot, int *index);
/* Generated: the live closure of every trampoline, by index. */
extern void *ffi_wasm32_closures[];
/* Generated: how many trampolines there are. */
extern const int ffi_wasm32_closure_count;
/* What a trampoline calls: runs the closure at `index` on its parameters. */
void ffi_wasm32_closure_enter(int index, union ffi_wasm32_value *params,
                              union ffi_wasm32_value *result);

#endif
