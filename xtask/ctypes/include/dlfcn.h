/* Dynamic loading for ctypes on wasm32-wasi, where wasi-libc has none.
 *
 * A component is one statically linked module: there is no library to load
 * and no symbol table to search. dlopen(NULL) answers the program itself
 * (what ctypes' `pythonapi` and `CDLL(None)` open), dlsym finds nothing in
 * it, and opening a file fails; dlerror says why. */
#ifndef PYCOMPONENT_DLFCN_H
#define PYCOMPONENT_DLFCN_H

#ifdef __cplusplus
extern "C" {
#endif

#define RTLD_LAZY 1
#define RTLD_NOW 2
#define RTLD_NOLOAD 4
#define RTLD_NODELETE 4096
#define RTLD_GLOBAL 256
#define RTLD_LOCAL 0

void *dlopen(const char *file, int mode);
void *dlsym(void *handle, const char *name);
int dlclose(void *handle);
char *dlerror(void);

#ifdef __cplusplus
}
#endif

#endif
