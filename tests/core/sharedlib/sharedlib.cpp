#include "sharedlib.hpp"

extern "C" void* memx_test_sharedlib_allocate(std::size_t n) { return new char[n]; }
extern "C" void memx_test_sharedlib_free(void* p) { delete[] static_cast<char*>(p); }
