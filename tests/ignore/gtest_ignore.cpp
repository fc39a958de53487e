// Ignore scopes under the GoogleTest plugin, in a real-world-shaped suite: a process-lifetime
// singleton created inside a test (ignored), a function-local static std::regex and a lazily
// filled cache (one-time: clean), and one true leak, which is still found. Built twice: as is
// (only TrueLeak is a leak) and with MEMX_TEST_NO_IGNORE (the singleton then breaks "net=0").
#include <gtest/gtest.h>

#include "memx/gtest.hpp"
#include "realworld.hpp"

TEST(RealWorld, SingletonCreatedInATest) {
  MEMX_BUDGET("net=0");
#if defined(MEMX_TEST_NO_IGNORE)
  realworld::Registry::instance().set("parser", std::string(64, 'p'));
#else
  MEMX_IGNORE(realworld::Registry::instance().set("parser", std::string(64, 'p')));
#endif
  EXPECT_TRUE(realworld::Registry::instance().has("parser"));
}

TEST(RealWorld, StaticRegex) {
  EXPECT_TRUE(realworld::is_identifier("parse_header_2"));
  EXPECT_FALSE(realworld::is_identifier("2fast"));
}

TEST(RealWorld, LazyCache) {
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(realworld::cached_name(i).empty());
}

TEST(RealWorld, TrueLeak) { realworld::kept().emplace_back(new int[32]); }
