/* libffi's calls and closures for wasm32-wasi, as CPython's _ctypes uses them.
 *
 * A C call is lowered to wasm values as clang's wasm32 C ABI does: integers
 * of up to 32 bits and pointers are one i32, 64-bit integers one i64, float
 * and double one f32/f64, a long double two i64 (low half first); a struct
 * with a single scalar member is passed as that scalar, an empty one not at
 * all, any other struct as a pointer to a copy. Such a struct or a long
 * double is returned through a hidden pointer, the first parameter. The
 * variadic arguments of a call are stored in a buffer, each at an offset
 * aligned to its alignment (at least 4), and the buffer's address is the
 * last parameter. The lowered signature picks the compiled call (or
 * trampoline) in ffi_signatures.c. */
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

#include "ffi_wasm32.h"

#define FFI_TYPE(name, ctype, code)                                                           \
  ffi_type ffi_type_##name = {sizeof(ctype), _Alignof(ctype), code, NULL}

ffi_type ffi_type_void = {1, 1, FFI_TYPE_VOID, NULL};
FFI_TYPE(uint8, uint8_t, FFI_TYPE_UINT8);
FFI_TYPE(sint8, int8_t, FFI_TYPE_SINT8);
FFI_TYPE(uint16, uint16_t, FFI_TYPE_UINT16);
FFI_TYPE(sint16, int16_t, FFI_TYPE_SINT16);
FFI_TYPE(uint32, uint32_t, FFI_TYPE_UINT32);
FFI_TYPE(sint32, int32_t, FFI_TYPE_SINT32);
FFI_TYPE(uint64, uint64_t, FFI_TYPE_UINT64);
FFI_TYPE(sint64, int64_t, FFI_TYPE_SINT64);
FFI_TYPE(float, float, FFI_TYPE_FLOAT);
FFI_TYPE(double, double, FFI_TYPE_DOUBLE);
FFI_TYPE(longdouble, long double, FFI_TYPE_LONGDOUBLE);
FFI_TYPE(pointer, void *, FFI_TYPE_POINTER);

/* How one C value is passed. */
enum passing {
  PASS_NONE,     /* an empty struct: no wasm value */
  PASS_VALUE,    /* one wasm value of the scalar's kind */
  PASS_TWO_I64,  /* a long double */
  PASS_POINTER,  /* a struct: the address of a copy */
};

/* Computes the size and alignment of a struct type libffi's way (from its
 * elements) when its size is still 0; false for a malformed type. */
static int complete_type(ffi_type *type) {
  if (type->type != FFI_TYPE_STRUCT || type->size != 0) return 1;
  if (type->elements == NULL) return 0;
  size_t size = 0;
  unsigned short align = 1;
  for (ffi_type **element = type->elements; *element; element++) {
    if (!complete_type(*element) || (*element)->alignment == 0) return 0;
    size_t a = (*element)->alignment;
    size = (size + a - 1) / a * a + (*element)->size;
    if (a > align) align = (unsigned short)a;
  }
  type->size = (size + align - 1) / align * align;
  type->alignment = align;
  return 1;
}

/* The scalar a struct is passed as when it is a single scalar member (clang's
 * isSingleElementStruct, which skips empty members), or the type itself when
 * it is a scalar; NULL for other structs. */
static ffi_type *single_scalar(ffi_type *type) {
  while (type->type == FFI_TYPE_STRUCT) {
    if (type->elements == NULL) return NULL;
    ffi_type *found = NULL;
    for (ffi_type **element = type->elements; *element; element++) {
      if ((*element)->type == FFI_TYPE_STRUCT && (*element)->size == 0) continue;
      if (found != NULL) return NULL;
      found = *element;
    }
    if (found == NULL || found->size != type->size) return NULL;
    type = found;
  }
  return type;
}

/* The wasm kind of a scalar type, or -1 for one no wasm value holds. */
static int scalar_kind(const ffi_type *type) {
  switch (type->type) {
  case FFI_TYPE_UINT8: case FFI_TYPE_SINT8: case FFI_TYPE_UINT16: case FFI_TYPE_SINT16:
  case FFI_TYPE_UINT32: case FFI_TYPE_SINT32: case FFI_TYPE_INT: case FFI_TYPE_POINTER:
    return FFI_WASM32_I32;
  case FFI_TYPE_UINT64: case FFI_TYPE_SINT64:
    return FFI_WASM32_I64;
  case FFI_TYPE_FLOAT:
    return FFI_WASM32_F32;
  case FFI_TYPE_DOUBLE:
    return FFI_WASM32_F64;
  default:
    return -1;
  }
}

static enum passing argument_passing(ffi_type *type, ffi_type **scalar) {
  if (type->type == FFI_TYPE_STRUCT && type->size == 0) return PASS_NONE;
  ffi_type *single = single_scalar(type);
  if (single == NULL) return PASS_POINTER;
  *scalar = single;
  if (single->type == FFI_TYPE_LONGDOUBLE) return PASS_TWO_I64;
  return PASS_VALUE;
}

/* Whether a result of `type` comes back through a hidden pointer. */
static int returns_through_pointer(ffi_type *type) {
  if (type->type == FFI_TYPE_VOID) return 0;
  if (type->type == FFI_TYPE_STRUCT && type->size == 0) return 0;
  ffi_type *single = single_scalar(type);
  return single == NULL || single->type == FFI_TYPE_LONGDOUBLE;
}

/* The wasm result kind of a call returning `type`. */
static int result_kind(ffi_type *type) {
  if (type->type == FFI_TYPE_VOID || returns_through_pointer(type)) return FFI_WASM32_RET_VOID;
  if (type->type == FFI_TYPE_STRUCT && type->size == 0) return FFI_WASM32_RET_VOID;
  return scalar_kind(single_scalar(type)) + 1;
}

static ffi_status prepare(ffi_cif *cif, ffi_abi abi, unsigned nfixed, unsigned ntotal,
                          ffi_type *rtype, ffi_type **atypes, int variadic) {
  if (abi != FFI_WASM32) return FFI_BAD_ABI;
  if (!complete_type(rtype)) return FFI_BAD_TYPEDEF;
  cif->abi = abi;
  cif->nargs = ntotal;
  cif->arg_types = atypes;
  cif->rtype = rtype;
  cif->bytes = 0;
  cif->flags = 0;
  cif->nfixedargs = nfixed;
  cif->variadic = variadic;
  cif->signature = -1;

  if (rtype->type != FFI_TYPE_VOID && !returns_through_pointer(rtype) &&
      !(rtype->type == FFI_TYPE_STRUCT && rtype->size == 0) && scalar_kind(single_scalar(rtype)) < 0)
    return FFI_BAD_TYPEDEF;
  unsigned char kinds[FFI_WASM32_MAX_VALUES];
  unsigned count = 0;
  if (returns_through_pointer(rtype)) kinds[count++] = FFI_WASM32_I32;
  for (unsigned i = 0; i < ntotal; i++) {
    ffi_type *type = atypes[i];
    if (type == NULL || type->type == FFI_TYPE_VOID || !complete_type(type)) return FFI_BAD_TYPEDEF;
    if (i >= nfixed) {
      /* A variadic argument goes into the buffer: any scalar or struct but a
       * bare float, which C promotes to double (libffi refuses it too). */
      if (type->type == FFI_TYPE_FLOAT) return FFI_BAD_ARGTYPE;
      cif->bytes += (unsigned)((type->size + 7) & ~(size_t)7) + 16;
      continue;
    }
    ffi_type *scalar = type;
    switch (argument_passing(type, &scalar)) {
    case PASS_NONE:
      break;
    case PASS_VALUE:
      if (scalar_kind(scalar) < 0) return FFI_BAD_TYPEDEF;
      if (count + 1 > FFI_WASM32_MAX_VALUES) return FFI_BAD_ARGTYPE;
      kinds[count++] = (unsigned char)scalar_kind(scalar);
      break;
    case PASS_TWO_I64:
      if (count + 2 > FFI_WASM32_MAX_VALUES) return FFI_BAD_ARGTYPE;
      kinds[count++] = FFI_WASM32_I64;
      kinds[count++] = FFI_WASM32_I64;
      break;
    case PASS_POINTER:
      if (count + 1 > FFI_WASM32_MAX_VALUES) return FFI_BAD_ARGTYPE;
      kinds[count++] = FFI_WASM32_I32;
      break;
    }
  }
  if (variadic) {
    if (count + 1 > FFI_WASM32_MAX_VALUES) return FFI_BAD_ARGTYPE;
    kinds[count++] = FFI_WASM32_I32;
  }
  if (count > FFI_WASM32_KEY_MAX_PARAMS) return FFI_BAD_ARGTYPE;
  int key = ffi_wasm32_key(result_kind(rtype), (int)count, kinds);
  cif->signature = key;
  return FFI_OK;
}

ffi_status ffi_prep_cif(ffi_cif *cif, ffi_abi abi, unsigned int nargs, ffi_type *rtype,
                        ffi_type **atypes) {
  /* Closures are prepared with this too: their signatures are a subset of
   * the calls' (ffi_prep_closure_loc checks that one has a trampoline). */
  ffi_status status = prepare(cif, abi, nargs, nargs, rtype, atypes, 0);
  if (status == FFI_OK && !ffi_wasm32_has_call(cif->signature)) return FFI_BAD_ARGTYPE;
  return status;
}

ffi_status ffi_prep_cif_var(ffi_cif *cif, ffi_abi abi, unsigned int nfixedargs,
                            unsigned int ntotalargs, ffi_type *rtype, ffi_type **atypes) {
  if (nfixedargs > ntotalargs) return FFI_BAD_ARGTYPE;
  ffi_status status = prepare(cif, abi, nfixedargs, ntotalargs, rtype, atypes, 1);
  if (status == FFI_OK && !ffi_wasm32_has_call(cif->signature)) return FFI_BAD_ARGTYPE;
  return status;
}

/* Loads the scalar at `from` as the wasm value it is passed as. */
static union ffi_wasm32_value load_scalar(const ffi_type *type, const void *from) {
  union ffi_wasm32_value value;
  value.i64 = 0;
  switch (type->type) {
  case FFI_TYPE_UINT8: value.i32 = *(const uint8_t *)from; break;
  case FFI_TYPE_SINT8: value.i32 = *(const int8_t *)from; break;
  case FFI_TYPE_UINT16: value.i32 = *(const uint16_t *)from; break;
  case FFI_TYPE_SINT16: value.i32 = *(const int16_t *)from; break;
  case FFI_TYPE_UINT32: case FFI_TYPE_SINT32: case FFI_TYPE_INT: case FFI_TYPE_POINTER:
    memcpy(&value.i32, from, 4);
    break;
  case FFI_TYPE_UINT64: case FFI_TYPE_SINT64: memcpy(&value.i64, from, 8); break;
  case FFI_TYPE_FLOAT: memcpy(&value.f32, from, 4); break;
  case FFI_TYPE_DOUBLE: memcpy(&value.f64, from, 8); break;
  }
  return value;
}

void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
  if (cif->signature < 0 || !ffi_wasm32_has_call(cif->signature)) {
    /* ctypes prepares every call first; a signature without a compiled
     * call cannot be made. */
    abort();
  }
  union ffi_wasm32_value params[FFI_WASM32_MAX_VALUES];
  union ffi_wasm32_value result;
  unsigned count = 0;
  ffi_type *rtype = cif->rtype;
  if (returns_through_pointer(rtype)) {
    void *into = rvalue ? rvalue : __builtin_alloca(rtype->size);
    params[count++].i32 = (int32_t)(uintptr_t)into;
  }
  for (unsigned i = 0; i < cif->nfixedargs; i++) {
    ffi_type *scalar = cif->arg_types[i];
    switch (argument_passing(cif->arg_types[i], &scalar)) {
    case PASS_NONE:
      break;
    case PASS_VALUE:
      params[count++] = load_scalar(scalar, avalue[i]);
      break;
    case PASS_TWO_I64:
      memcpy(&params[count], avalue[i], 16);
      count += 2;
      break;
    case PASS_POINTER: {
      /* The callee owns its copy (it may write to it). */
      void *copy = __builtin_alloca(cif->arg_types[i]->size);
      memcpy(copy, avalue[i], cif->arg_types[i]->size);
      params[count++].i32 = (int32_t)(uintptr_t)copy;
      break;
    }
    }
  }
  if (cif->variadic) {
    char *buffer = __builtin_alloca(cif->bytes + 16);
    size_t offset = 0;
    for (unsigned i = cif->nfixedargs; i < cif->nargs; i++) {
      ffi_type *type = cif->arg_types[i];
      ffi_type *scalar = type;
      enum passing passing = argument_passing(type, &scalar);
      if (passing == PASS_POINTER) {
        /* va_arg takes a struct by its address, as a call passes it. */
        void *copy = __builtin_alloca(type->size);
        memcpy(copy, avalue[i], type->size);
        offset = (offset + 3) & ~(size_t)3;
        *(void **)(buffer + offset) = copy;
        offset += 4;
      } else if (passing == PASS_VALUE && scalar_kind(scalar) == FFI_WASM32_I32) {
        /* Promoted to int, as C passes a variadic small integer. */
        offset = (offset + 3) & ~(size_t)3;
        union ffi_wasm32_value value = load_scalar(scalar, avalue[i]);
        memcpy(buffer + offset, &value.i32, 4);
        offset += 4;
      } else if (passing != PASS_NONE) {
        size_t align = type->alignment < 4 ? 4 : type->alignment;
        offset = (offset + align - 1) & ~(align - 1);
        memcpy(buffer + offset, avalue[i], type->size);
        offset += (type->size + 3) & ~(size_t)3;
      }
    }
    params[count++].i32 = (int32_t)(uintptr_t)buffer;
  }
  ffi_wasm32_call(cif->signature, fn, params, &result);
  if (rvalue == NULL || returns_through_pointer(rtype) || rtype->type == FFI_TYPE_VOID) return;
  if (rtype->type == FFI_TYPE_STRUCT) {
    memcpy(rvalue, &result, rtype->size);
  } else {
    switch (scalar_kind(rtype)) {
    case FFI_WASM32_I32:
      /* Integers narrower than ffi_arg are widened into it, as libffi does;
       * the callee already extended them. */
      *(ffi_arg *)rvalue = (ffi_arg)result.i32;
      break;
    case FFI_WASM32_I64: memcpy(rvalue, &result.i64, 8); break;
    case FFI_WASM32_F32: memcpy(rvalue, &result.f32, 4); break;
    case FFI_WASM32_F64: memcpy(rvalue, &result.f64, 8); break;
    }
  }
}

void *ffi_closure_alloc(size_t size, void **code) {
  if (size < sizeof(ffi_closure)) size = sizeof(ffi_closure);
  ffi_closure *closure = calloc(1, size);
  if (closure == NULL) return NULL;
  closure->trampoline = -1;
  closure->code_slot = code;
  if (code) *code = NULL;
  return closure;
}

void ffi_closure_free(void *pointer) {
  ffi_closure *closure = pointer;
  if (closure == NULL) return;
  if (closure->trampoline >= 0) ffi_wasm32_closures[closure->trampoline] = NULL;
  free(closure);
}

ffi_status ffi_prep_closure_loc(ffi_closure *closure, ffi_cif *cif,
                                void (*fun)(ffi_cif *, void *, void **, void *),
                                void *user_data, void *codeloc) {
  (void)codeloc; /* a placeholder: the code is known only now, see ffi.h */
  if (cif->variadic || cif->signature < 0) return FFI_BAD_ABI;
  /* Empty structs take no wasm value: bound the arguments themselves. */
  if (cif->nargs > FFI_WASM32_MAX_VALUES) return FFI_BAD_ARGTYPE;
  if (closure->trampoline >= 0) ffi_wasm32_closures[closure->trampoline] = NULL;
  closure->trampoline = -1;
  if (closure->code_slot) *closure->code_slot = NULL;
  for (int slot = 0;; slot++) {
    int index;
    void *code = ffi_wasm32_closure_code(cif->signature, slot, &index);
    if (code == NULL) {
      /* No trampolines for this signature (see gen_signatures.py), or
       * every one is taken by a live closure. */
      return slot == 0 ? FFI_BAD_ARGTYPE : FFI_BAD_ABI;
    }
    if (ffi_wasm32_closures[index] != NULL) continue;
    ffi_wasm32_closures[index] = closure;
    closure->trampoline = index;
    closure->cif = cif;
    closure->fun = fun;
    closure->user_data = user_data;
    if (closure->code_slot) *closure->code_slot = code;
    return FFI_OK;
  }
}

ffi_status ffi_prep_closure(ffi_closure *closure, ffi_cif *cif,
                            void (*fun)(ffi_cif *, void *, void **, void *), void *user_data) {
  return ffi_prep_closure_loc(closure, cif, fun, user_data, NULL);
}

void ffi_wasm32_closure_enter(int index, union ffi_wasm32_value *params,
                              union ffi_wasm32_value *result) {
  ffi_closure *closure = ffi_wasm32_closures[index];
  if (closure == NULL) {
    /* C called a closure that was freed: there is nothing to run. */
    abort();
  }
  ffi_cif *cif = closure->cif;
  void *avalue[FFI_WASM32_MAX_VALUES];
  static char empty_struct;
  unsigned next = 0;
  void *rvalue = result;
  if (returns_through_pointer(cif->rtype)) rvalue = (void *)(uintptr_t)params[next++].i32;
  for (unsigned i = 0; i < cif->nargs; i++) {
    ffi_type *scalar = cif->arg_types[i];
    switch (argument_passing(cif->arg_types[i], &scalar)) {
    case PASS_NONE:
      avalue[i] = &empty_struct;
      break;
    case PASS_VALUE:
      /* Little-endian: a narrower value is at the start of its slot. */
      avalue[i] = &params[next++];
      break;
    case PASS_TWO_I64:
      avalue[i] = &params[next];
      next += 2;
      break;
    case PASS_POINTER:
      avalue[i] = (void *)(uintptr_t)params[next++].i32;
      break;
    }
  }
  result->i64 = 0;
  closure->fun(cif, rvalue, avalue, closure->user_data);
  /* The C ABI has the callee extend a narrow integer result to 32 bits
   * (callers rely on it); the closure wrote only its own bytes. */
  if (rvalue == result) {
    switch (single_scalar(cif->rtype) ? single_scalar(cif->rtype)->type : FFI_TYPE_VOID) {
    case FFI_TYPE_SINT8: result->i32 = *(int8_t *)result; break;
    case FFI_TYPE_UINT8: result->i32 = *(uint8_t *)result; break;
    case FFI_TYPE_SINT16: result->i32 = *(int16_t *)result; break;
    case FFI_TYPE_UINT16: result->i32 = *(uint16_t *)result; break;
    }
  }
}
