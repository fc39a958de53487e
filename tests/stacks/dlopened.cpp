// A library the stack-mode tests load with dlopen after a Symbolizer has read the modules.
#include <cstddef>

extern "C" [[gnu::noinline]] void* memx_test_dlopened_allocate(std::size_t n) {
  char* p = new char[n];  // DLOPENED-LINE
  asm volatile("" ::"r"(p) : "memory");
  return p;
}

// Calls f(arg) from a frame of this library (not a tail call): a capture made in f walks
// through a module loaded after the unwinder read the module list.
extern "C" [[gnu::noinline]] void memx_test_dlopened_call(void (*f)(void*), void* arg) {
  f(arg);
  asm volatile("" ::: "memory");
}
