// A Catch2 suite compiled as C++11 (C++14 with Catch2 3, which needs it) with memx's
// budget macro and budget tags.
#ifdef CONSUMER_CATCH2_V3
#include <catch2/catch_test_macros.hpp>
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif

#include <memx/catch2.hpp>
#include <string>
#include <vector>

#if __cplusplus >= 201703L
#error "linking memx::catch2 changed the suite's C++ standard to C++17"
#endif
#if !defined(CONSUMER_CATCH2_V3) && __cplusplus != 201103L
#error "expected C++11"
#endif

TEST_CASE("cxx11 within its tag budget", "[memx:peak=1MiB, net=0]") {
  std::vector<int> v(1000, 1);
  CHECK(v.size() == 1000u);
}

TEST_CASE("cxx11 over its tag budget", "[memx:peak=1KiB]") {
  std::vector<char> v(64 * 1024, 'x');
  CHECK(v.size() == 64u * 1024u);
}

TEST_CASE("cxx11 over its macro budget") {
  MEMX_BUDGET(std::string("peak=2KiB"));
  std::vector<char> v(16 * 1024, 'x');
  CHECK(v.size() == 16u * 1024u);
}

TEST_CASE("cxx11 macro overrides the tag", "[memx:peak=1KiB]") {
  MEMX_BUDGET("peak=1MiB");
  std::vector<char> v(64 * 1024, 'x');
  CHECK(v.size() == 64u * 1024u);
}

TEST_CASE("cxx11 controls compile") {
  MEMX_EXPECT_LEAK(0);
  MEMX_BUDGET("threads=current, warn");
}
