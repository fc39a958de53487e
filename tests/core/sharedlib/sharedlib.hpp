// A shared library of our own that allocates with new[] inside itself.
#pragma once
#include <cstddef>

extern "C" {
/// new char[n] executed inside the shared library.
void* memx_test_sharedlib_allocate(std::size_t n);
/// delete[] executed inside the shared library.
void memx_test_sharedlib_free(void* p);
}
