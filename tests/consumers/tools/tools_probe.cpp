// The tests of a user's binary run with sanitizers, Valgrind and heaptrack (tests/consumers:
// tools.*). Clean.* always pass; the DISABLED_ ones plant what the tool must report.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <memx/gtest.hpp>
#include <memx/memx.hpp>

namespace {

// Out of line, so that the compiler cannot see through the planted bugs.
[[gnu::noinline]] char* make_block(std::size_t n) { return new char[n]; }
[[gnu::noinline]] void drop_block(char* p) { delete[] p; }
[[gnu::noinline]] int read_at(const int* p, int i) { return p[i]; }
#if defined(TOOLS_PROBE_COUNT_MALLOC)
[[gnu::noinline]] char* make_c_string() { return strdup("a C string that leaks"); }
[[gnu::noinline]] void* make_c_buffer() { return std::malloc(40); }
#endif

}  // namespace

// The report's figures for this test are checked by the driver: one block of 1000 bytes
// (its usable size: 1000 in a sanitizer's allocator, 1024 in mimalloc's), freed again.
TEST(Clean, OneBlock) {
  char* p = make_block(1000);
  p[0] = 1;
  p[999] = 2;
  EXPECT_EQ(p[0] + p[999], 3);
  std::printf("tools_probe: usable size %zu, tool \"%s\", backend %s\n", memx::usable_size(p),
              memx::tool_name(memx::detected_tool()), memx::backend_name());
  drop_block(p);
}

TEST(Clean, Containers) {
  std::vector<std::string> v(100, std::string(50, 'x'));
  EXPECT_EQ(v.back().size(), 50u);
}

// A budget no run of this test can meet: it must fail where memx measures, and must not
// be passed where it does not (Valgrind).
TEST(DISABLED_Budgeted, OverItsBudget) {
  MEMX_BUDGET("allocs=0");
  char* p = make_block(64);
  drop_block(p);
}

TEST(DISABLED_Planted, UseAfterFree) {
  int* p = new int(7);
  delete p;
  std::printf("after free: %d\n", read_at(p, 0));
}

TEST(DISABLED_Planted, Leak) {
  char* p = make_block(64);
  p[0] = 1;
  p = nullptr;  // the only pointer to the block is gone
}

TEST(DISABLED_Planted, InvalidRead) {
  int* p = new int[4]{1, 2, 3, 4};
  std::printf("past the end: %d\n", read_at(p, 4));
  delete[] p;
}

#if defined(TOOLS_PROBE_COUNT_MALLOC)
// Linked with memx::count_malloc (tools_probe_malloc): a block of the C library's strdup
// (which AddressSanitizer intercepts itself) and one of malloc (which the program's own
// malloc, memx's, must hand to the sanitizer's).
TEST(DISABLED_Planted, CLeak) {
  char* p = make_c_string();
  p[0] = 'A';
  p = nullptr;  // the only pointers to the blocks are gone
  void* b = make_c_buffer();
  static_cast<char*>(b)[0] = 1;
  b = nullptr;
}
#endif
