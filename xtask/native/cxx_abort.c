// The C++ runtime's exception entry points for Debian's wasm32 libc++abi,
// which is built without exceptions: C++ code compiled with -fexceptions
// calls them to throw. Nothing can catch without exception handling in the
// guest, so a throw reports its type and ends the instance (a trap).
#include <stdio.h>
#include <stdlib.h>

struct type_info_view {
  const void *vtable;
  const char *name;
};

void *__cxa_allocate_exception(size_t size) {
  void *exception = malloc(size);
  if (exception == NULL) abort();
  return exception;
}

void __cxa_free_exception(void *exception) { free(exception); }

_Noreturn void __cxa_throw(void *exception, struct type_info_view *type, void (*destructor)(void *)) {
  (void)exception;
  (void)destructor;
  fprintf(stderr, "pycomponent: a C++ exception (%s) was thrown in a native module; the guest cannot catch it\n",
          type != NULL && type->name != NULL ? type->name : "unknown type");
  abort();
}

void *__cxa_begin_catch(void *exception) { return exception; }

void __cxa_end_catch(void) {}
