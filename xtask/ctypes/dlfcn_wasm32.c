/* dlopen and friends for ctypes in a component (see include/dlfcn.h): the
 * program itself opens, with no symbol to find; files do not. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* What dlopen(NULL) returns: a handle for the program. */
static char program_handle;
static char message[512];
static int message_pending;

static void fail(const char *format, const char *name) {
  snprintf(message, sizeof message, format, name);
  message_pending = 1;
}

void *dlopen(const char *file, int mode) {
  (void)mode;
  if (file == NULL) return &program_handle;
  fail("%s: cannot load a shared library: this WebAssembly build links its extension modules "
       "in and has no dynamic loader", file);
  return NULL;
}

void *dlsym(void *handle, const char *name) {
  if (handle != &program_handle) {
    fail("%s: not a handle dlopen returned", name);
    return NULL;
  }
  fail("%s: symbol not found (a WebAssembly component exports no C symbols to look up)", name);
  return NULL;
}

int dlclose(void *handle) {
  if (handle != &program_handle) {
    fail("%s", "dlclose: not a handle dlopen returned");
    return -1;
  }
  return 0;
}

char *dlerror(void) {
  if (!message_pending) return NULL;
  message_pending = 0;
  return message;
}
