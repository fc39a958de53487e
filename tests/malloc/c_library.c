/* A C library that allocates with the C functions (tests/malloc). Lines marked SITE are
   named by the stack-mode tests. */
#define _GNU_SOURCE
#include "c_library.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Blocks handed out (the work after each call also keeps it from being a tail call, which
   would take this function's frame off the stack). */
static unsigned long handed_out;

char* clib_copy_name(const char* name) {
  char* copy = strdup(name); /* SITE: clib strdup */
  if (copy != NULL) ++handed_out;
  return copy;
}

void* clib_buffer(size_t n) {
  void* buffer = malloc(n); /* SITE: clib malloc */
  if (buffer != NULL) ++handed_out;
  return buffer;
}

int clib_balanced(void) {
  int ok = 1;
  char* zeros = calloc(64, 4);
  char* grown = realloc(NULL, 16);
  void* page = NULL;
  void* line = aligned_alloc(64, 256);
  char* part = strndup("abcdefgh", 4);
  ok = ok && zeros != NULL && grown != NULL && line != NULL && part != NULL;
  ok = ok && posix_memalign(&page, 4096, 100) == 0;
  if (grown != NULL) {
    grown = realloc(grown, 4000);
    ok = ok && grown != NULL;
  }
  grown = reallocarray(grown, 10, 10);
  ok = ok && zeros != NULL && zeros[255] == 0;
  free(zeros);
  free(grown);
  free(page);
  free(line);
  free(part);
  return ok;
}
