/* Tests of ffi_wasm32.c from C, for what Python's ctypes does not reach:
 * struct, long double and variadic calls, closures called by C code with
 * narrow results, the limits. `cargo xtask test` runs it (native/stdlib_modules.rs);
 * it prints each failed check and exits with 1. */
#include <ffi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

static int failures;

#define CHECK(condition)                                                 \
  do {                                                                   \
    if (!(condition)) {                                                  \
      printf("%s:%d: failed: %s\n", __FILE__, __LINE__, #condition);     \
      failures++;                                                        \
    }                                                                    \
  } while (0)

typedef void (*function)(void);

static int64_t mixed(int8_t a, double b, int64_t c, float d) { return a + (int64_t)b + c + (int64_t)d; }
struct pair { int x, y; };
static struct pair swapped(struct pair p) { struct pair q = {p.y, p.x}; return q; }
struct one_double { double v; };
static struct one_double doubled(struct one_double o) { o.v *= 2; return o; }
static long double scaled(long double a, int b) { return a * b; }
static int summed(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int sum = 0;
  for (int i = 0; i < n; i++) sum += va_arg(ap, int);
  sum += (int)va_arg(ap, double);
  va_end(ap);
  return sum;
}
struct empty {};
struct wrapped { struct empty e; float x; };
static struct wrapped wrapped_twice(struct wrapped w) { w.x *= 2; return w; }
static int pointers(int *a, int *b, int *c, int *d, int *e, int *f) { return *a + *b + *c + *d + *e + *f; }

static void negate_to_short(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  (void)data;
  *(short *)ret = (short)-*(int *)args[0];
}
static void weighted(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  *(ffi_arg *)ret = *(int *)args[0] * 10 + (int)*(double *)args[1] + *(int *)data;
}

int main(void) {
  ffi_cif cif;
  ffi_type *four[4] = {&ffi_type_sint8, &ffi_type_double, &ffi_type_sint64, &ffi_type_float};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 4, &ffi_type_sint64, four) == FFI_OK);
  int8_t a = -3;
  double b = 4.5;
  int64_t c = (int64_t)1 << 40;
  float d = 2.0f;
  void *values4[4] = {&a, &b, &c, &d};
  int64_t wide;
  ffi_call(&cif, (function)mixed, &wide, values4);
  CHECK(wide == mixed(a, b, c, d));

  /* A struct of two ints goes by a pointer and comes back through one. */
  ffi_type *pair_elements[3] = {&ffi_type_sint32, &ffi_type_sint32, NULL};
  ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, pair_elements};
  ffi_type *one_pair[1] = {&pair_type};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &pair_type, one_pair) == FFI_OK);
  CHECK(pair_type.size == 8 && pair_type.alignment == 4);
  struct pair p = {1, 2}, q;
  void *pair_values[1] = {&p};
  ffi_call(&cif, (function)swapped, &q, pair_values);
  CHECK(q.x == 2 && q.y == 1 && p.x == 1);

  /* A struct of one double is passed and returned as the double. */
  ffi_type *double_elements[2] = {&ffi_type_double, NULL};
  ffi_type one_double_type = {0, 0, FFI_TYPE_STRUCT, double_elements};
  ffi_type *one_struct[1] = {&one_double_type};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &one_double_type, one_struct) == FFI_OK);
  struct one_double o = {1.25}, o2;
  void *double_values[1] = {&o};
  ffi_call(&cif, (function)doubled, &o2, double_values);
  CHECK(o2.v == 2.5);

  /* long double: two i64 in, through a hidden pointer out. */
  ffi_type *long_double_int[2] = {&ffi_type_longdouble, &ffi_type_sint32};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_longdouble, long_double_int) == FFI_OK);
  long double x = 1.5L, y = 0;
  int three = 3;
  void *long_double_values[2] = {&x, &three};
  ffi_call(&cif, (function)scaled, &y, long_double_values);
  CHECK(y == 4.5L);

  /* Variadic arguments go into a buffer. */
  ffi_type *variadic[4] = {&ffi_type_sint32, &ffi_type_sint32, &ffi_type_sint32, &ffi_type_double};
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 4, &ffi_type_sint32, variadic) == FFI_OK);
  int n = 2, v1 = 5, v2 = 7;
  double dv = 100.0;
  ffi_arg narrow;
  void *variadic_values[4] = {&n, &v1, &v2, &dv};
  ffi_call(&cif, (function)summed, &narrow, variadic_values);
  CHECK((int)narrow == 112);

  /* Six pointers: an all-i32 signature longer than four. */
  ffi_type *six[6] = {&ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer,
                      &ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 6, &ffi_type_sint32, six) == FFI_OK);
  int ints[6] = {1, 2, 3, 4, 5, 6};
  int *addresses[6] = {&ints[0], &ints[1], &ints[2], &ints[3], &ints[4], &ints[5]};
  void *six_values[6] = {&addresses[0], &addresses[1], &addresses[2], &addresses[3], &addresses[4], &addresses[5]};
  ffi_call(&cif, (function)pointers, &narrow, six_values);
  CHECK((int)narrow == 21);

  /* A struct of an empty struct and a float is passed as the float. */
  ffi_type *no_elements[1] = {NULL};
  ffi_type empty_type = {0, 1, FFI_TYPE_STRUCT, no_elements};
  ffi_type *empty_and_float[3] = {&empty_type, &ffi_type_float, NULL};
  ffi_type wrapped_float = {0, 0, FFI_TYPE_STRUCT, empty_and_float};
  ffi_type *one_wrapped[1] = {&wrapped_float};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &wrapped_float, one_wrapped) == FFI_OK);
  struct wrapped w = {{}, 1.5f}, w2;
  void *wrapped_values[1] = {&w};
  ffi_call(&cif, (function)wrapped_twice, &w2, wrapped_values);
  CHECK(w2.x == 3.0f);

  /* A bare float among variadic arguments is refused (C promotes it). */
  ffi_type *variadic_float[2] = {&ffi_type_sint32, &ffi_type_float};
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2, &ffi_type_sint32, variadic_float) == FFI_BAD_ARGTYPE);

  /* Five mixed parameters are not compiled: refused, not a trap. */
  ffi_type *five_mixed[5] = {&ffi_type_sint32, &ffi_type_double, &ffi_type_sint32, &ffi_type_sint32,
                             &ffi_type_sint32};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 5, &ffi_type_void, five_mixed) == FFI_BAD_ARGTYPE);

  /* A closure called by C and through ffi_call. */
  ffi_cif closure_cif;
  ffi_type *int_double[2] = {&ffi_type_sint32, &ffi_type_double};
  CHECK(ffi_prep_cif(&closure_cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, int_double) == FFI_OK);
  void *code = NULL;
  ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
  int seven = 7;
  CHECK(ffi_prep_closure_loc(closure, &closure_cif, weighted, &seven, code) == FFI_OK);
  CHECK(code != NULL);
  int (*weigh)(int, double) = (int (*)(int, double))code;
  CHECK(weigh(3, 2.5) == 39);
  int four_int = 4;
  double one = 1.0;
  void *closure_values[2] = {&four_int, &one};
  ffi_call(&closure_cif, (function)code, &narrow, closure_values);
  CHECK((int)narrow == 48);
  ffi_closure_free(closure);

  /* A narrow result reaches C extended, as the C ABI has it. */
  ffi_cif short_cif;
  ffi_type *one_int[1] = {&ffi_type_sint32};
  CHECK(ffi_prep_cif(&short_cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint16, one_int) == FFI_OK);
  ffi_closure *negate = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(ffi_prep_closure_loc(negate, &short_cif, negate_to_short, NULL, code) == FFI_OK);
  short (*negated)(int) = (short (*)(int))code;
  CHECK(negated(5) == -5 && negated(5) < 0);
  ffi_closure_free(negate);

  /* Eight live closures per signature with a double, then none; freeing one frees its place. */
  ffi_closure *live[9];
  for (int i = 0; i < 8; i++) {
    live[i] = ffi_closure_alloc(sizeof(ffi_closure), &code);
    CHECK(ffi_prep_closure_loc(live[i], &closure_cif, weighted, &seven, code) == FFI_OK);
  }
  live[8] = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(ffi_prep_closure_loc(live[8], &closure_cif, weighted, &seven, code) == FFI_BAD_ABI);
  ffi_closure_free(live[2]);
  CHECK(ffi_prep_closure_loc(live[8], &closure_cif, weighted, &seven, code) == FFI_OK);
  for (int i = 0; i < 9; i++)
    if (i != 2) ffi_closure_free(live[i]);

  if (failures) return 1;
  printf("ffi_wasm32: all checks passed\n");
  return 0;
}
