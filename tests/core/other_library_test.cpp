// Allocations made inside other shared libraries reach memx's operator new: libfmt's
// fmt::vformat, libstdc++'s own code, a shared library of our own and GoogleTest.
#include <dlfcn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <locale>
#include <sstream>
#include <string>

#include "measure.hpp"
#include "sharedlib/sharedlib.hpp"

namespace {

using memx::test::Delta;
using memx::test::measure;

TEST(OtherLibraries, FmtFormatInLibfmtIsCounted) {
  std::string s;
  // fmt::format forwards to fmt::vformat, which is compiled into libfmt.so and builds
  // the returned std::string there.
  const Delta d = measure([&] { s = fmt::format("{:>500}", 42); });
  ASSERT_EQ(s.size(), 500u);
  EXPECT_GE(d.allocs, 1u);
  EXPECT_GE(d.bytes, 501);
  const Delta f = measure([&] { std::string().swap(s); });
  EXPECT_EQ(f.bytes, -d.bytes);
}

TEST(OtherLibraries, LibstdcxxInternalsAreCounted) {
  // std::ostringstream's buffer growth happens in libstdc++.so (extern templates).
  const Delta d = measure([] {
    std::ostringstream out;
    for (int i = 0; i < 1000; ++i) out << "0123456789";
    EXPECT_EQ(out.str().size(), 10000u);
  });
  EXPECT_GE(d.allocs, 2u);
  EXPECT_EQ(d.bytes, 0);
}

TEST(OtherLibraries, ASharedLibraryOfOurOwnIsCounted) {
  void* p = nullptr;
  const Delta d = measure([&] { p = memx_test_sharedlib_allocate(300); });
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(memx::usable_size(p)));
  const Delta f = measure([&] { memx_test_sharedlib_free(p); });
  EXPECT_EQ(f.frees, 1u);
  EXPECT_EQ(f.bytes, -d.bytes);
}

TEST(OtherLibraries, ALibraryLoadedWithDlopenIsCounted) {
  void* handle = dlopen(MEMX_TEST_SHAREDLIB_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using Allocate = void* (*)(std::size_t);
  using Free = void (*)(void*);
  auto allocate = reinterpret_cast<Allocate>(dlsym(handle, "memx_test_sharedlib_allocate"));
  auto release = reinterpret_cast<Free>(dlsym(handle, "memx_test_sharedlib_free"));
  ASSERT_NE(allocate, nullptr);
  ASSERT_NE(release, nullptr);
  void* p = nullptr;
  const Delta d = measure([&] { p = allocate(4000); });
  EXPECT_EQ(d.allocs, 1u);
  release(p);
  dlclose(handle);
}

TEST(OtherLibraries, GoogleTestsOwnAllocationsAreCounted) {
  const std::string text(1000, 'g');
  (void)::testing::PrintToString(text);  // first call: GoogleTest's lazily built statics
  const Delta d = measure([&] {
    const std::string printed = ::testing::PrintToString(text);
    EXPECT_GT(printed.size(), 1000u);
  });
  EXPECT_GE(d.allocs, 2u);
  EXPECT_EQ(d.bytes, 0);
}

}  // namespace
