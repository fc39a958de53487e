/* A C library that allocates with the C functions (a stand-in for zlib or sqlite). */
#ifndef MEMX_TESTS_C_LIBRARY_H
#define MEMX_TESTS_C_LIBRARY_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
/* A copy of name, made with strdup: the caller frees it. */
char* clib_copy_name(const char* name);
/* A buffer of n bytes, made with malloc: the caller frees it. */
void* clib_buffer(size_t n);
/* Every C allocation function, each block freed again: leaves nothing. */
int clib_balanced(void);
#ifdef __cplusplus
}
#endif
#endif
