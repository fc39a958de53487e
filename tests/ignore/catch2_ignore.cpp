// Ignore scopes under the Catch2 plugin: the suite of gtest_ignore.cpp as Catch2 test cases.
#include "../catch2/catch2_include.hpp"

#include "memx/catch2.hpp"
#include "realworld.hpp"

TEST_CASE("RealWorld.SingletonCreatedInATest") {
  MEMX_BUDGET("net=0");
#if defined(MEMX_TEST_NO_IGNORE)
  realworld::Registry::instance().set("parser", std::string(64, 'p'));
#else
  MEMX_IGNORE(realworld::Registry::instance().set("parser", std::string(64, 'p')));
#endif
  CHECK(realworld::Registry::instance().has("parser"));
}

TEST_CASE("RealWorld.StaticRegex") {
  CHECK(realworld::is_identifier("parse_header_2"));
  CHECK_FALSE(realworld::is_identifier("2fast"));
}

TEST_CASE("RealWorld.LazyCache") {
  for (int i = 0; i < 20; ++i) CHECK_FALSE(realworld::cached_name(i).empty());
}

TEST_CASE("RealWorld.TrueLeak") { realworld::kept().emplace_back(new int[32]); }
