// The patterns of real GoogleTest suites that leak checkers must not call leaks (issue 6),
// in miniature, and two real leaks that must be found. Run with --gtest_repeat=5 and a
// report; check_patterns.py checks every verdict. The code under test is shared with the
// Catch2 version (code_under_test.hpp).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "code_under_test.hpp"

namespace {

using namespace patterns;

// --- 1. Handoff between tests -----------------------------------------------------------
// A test registers a plugin in a global registry; a later test drops it. The first grows
// in every repetition, the second shrinks as much; the run as a whole does not grow.
TEST(Handoff, RegistersAPlugin) {
  register_plugin();
  EXPECT_EQ(registry().size(), 1u);
}

TEST(Handoff, DropsThePlugin) {
  registry().clear();
  EXPECT_TRUE(registry().empty());
}

// --- 2. Lazy one-time state ----------------------------------------------------------------
TEST(LazyState, GlobalLocaleInstalledByOneTest) {
  install_greeting_locale();
  std::ostringstream out;
  out.imbue(std::locale());
  out << std::boolalpha << true;
  EXPECT_EQ(out.str(), "yes");
}

TEST(LazyState, FirstFormattedNumber) {
  std::ostringstream out;
  out << 3.25 << ' ' << 1234567;
  EXPECT_EQ(out.str(), "3.25 1234567");
}

TEST(LazyState, FirstStrictMock) {
  ::testing::StrictMock<MockService> mock;
  EXPECT_CALL(mock, Get(1)).WillOnce(::testing::Return(7));
  EXPECT_EQ(mock.Get(1), 7);
}

TEST(LazyState, EnvDefaultStartsABackgroundThread) {
  EXPECT_NE(Env::Default(), nullptr);
  EXPECT_GE(Env::Default()->tick(), 0);
}

// --- 3. Failing and skipped tests ------------------------------------------------------------
// GoogleTest keeps the failure and skip messages until the next repetition clears them.
TEST(Framework, FailsWithALongMessage) {
  const std::string expected(20000, 'x');
  const std::string actual(20000, 'y');
  EXPECT_EQ(expected, actual) << "a long failure message GoogleTest keeps";
}

TEST(Framework, IsSkipped) {
  GTEST_SKIP() << "skipped, with a message of a few hundred bytes: " << std::string(300, 's');
}

// --- 4. Background threads of the code under test ---------------------------------------------
TEST(Background, AsyncLoggerWorksWhileTheTestRuns) { log_while_testing(); }

TEST(Background, ACompactionThreadOfTheTest) { run_compaction_thread(); }

// --- 5. Child processes -------------------------------------------------------------------------
TEST(Children, ForkedChildAllocatesAndExits) { EXPECT_TRUE(fork_child_that_allocates()); }

TEST(Children, SystemAndPosixSpawn) {
  EXPECT_EQ(std::system("true"), 0);
  EXPECT_TRUE(spawn_true());
}

TEST(Children, ReExecutesTheTestBinary) { EXPECT_EQ(rerun_self("--gtest_filter=Handoff.*"), 0); }

// --- The real thing ----------------------------------------------------------------------------
TEST(RealLeak, NewSetNeverDeleted) {
  auto* names = new std::set<std::string>{"alpha", "beta", "gamma"};  // SITE: gtest new set
  EXPECT_EQ(names->size(), 3u);
}

TEST(RealLeak, CallbackHoldsItsOwner) {
  auto owner = std::make_shared<Owner>();  // SITE: gtest owner
  owner->on_event = [owner] { (void)owner->payload.size(); };  // a cycle: never freed
  owner->on_event();
  EXPECT_EQ(owner.use_count(), 2);
}

}  // namespace
