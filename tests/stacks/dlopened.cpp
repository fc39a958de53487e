// A library the stack-mode tests load with dlopen after a Symbolizer has read the modules.
#include <cstddef>

extern "C" [[gnu::noinline]] void* memx_test_dlopened_allocate(std::size_t n) {
  char* p = new char[n];  // DLOPENED-LINE
  asm volatile("" ::"r"(p) : "memory");
  return p;
}
