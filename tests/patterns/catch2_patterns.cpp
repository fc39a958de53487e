// The false-leak patterns of issue 6 under the Catch2 plugin, with the two real leaks. Run
// with --memx-repeat=5 and a report; check_patterns.py checks every verdict. The code under
// test is shared with the GoogleTest version (code_under_test.hpp).
#include "../catch2/catch2_include.hpp"
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "code_under_test.hpp"

namespace {

using namespace patterns;

// --- 1. Handoff between test cases ----------------------------------------------------------
TEST_CASE("Handoff registers a plugin") {
  register_plugin();
  CHECK(registry().size() == 1u);
}

TEST_CASE("Handoff drops the plugin") {
  registry().clear();
  CHECK(registry().empty());
}

// --- 2. Lazy one-time state ---------------------------------------------------------------------
TEST_CASE("Lazy global locale installed by one test") {
  install_greeting_locale();
  std::ostringstream out;
  out.imbue(std::locale());
  out << std::boolalpha << true;
  CHECK(out.str() == "yes");
}

TEST_CASE("Lazy first formatted number") {
  std::ostringstream out;
  out << 3.25 << ' ' << 1234567;
  CHECK(out.str() == "3.25 1234567");
}

TEST_CASE("Lazy sections tracked by Catch2") {
  // Catch2 builds its section-tracker tree as the sections are first entered.
  SECTION("a first section with a long enough name") { CHECK(1 + 1 == 2); }
  SECTION("a second section with a long enough name") {
    SECTION("and a nested one, also long enough to allocate") { CHECK(2 + 2 == 4); }
  }
}

// gmock used from Catch2 tests: the first StrictMock builds gmock's uninteresting-call
// reaction map. No expectation fails here, so nothing reaches GoogleTest's reporting.
TEST_CASE("Lazy first StrictMock") {
  ::testing::StrictMock<MockService> mock;
  EXPECT_CALL(mock, Get(1)).WillOnce(::testing::Return(7));
  CHECK(mock.Get(1) == 7);
}

TEST_CASE("Lazy Env::Default starts a background thread") {
  CHECK(Env::Default() != nullptr);
  CHECK(Env::Default()->tick() >= 0);
}

// --- 3. Failing tests: Catch2 keeps the messages ----------------------------------------------
TEST_CASE("Framework fails with a long message") {
  const std::string expected(20000, 'x');
  const std::string actual(20000, 'y');
  INFO("a long failure message Catch2 keeps " << std::string(500, 'i'));
  CHECK(expected == actual);
  WARN("and a warning " << std::string(300, 'w'));
}

// GENERATE: Catch2 builds the generator (its values) in the first pass and keeps it until
// the last generated value has run.
TEST_CASE("Framework GENERATE keeps its generator") {
  const std::string word = GENERATE(as<std::string>{}, "a first word long enough to allocate",
                                    "a second word long enough to allocate");
  CHECK(word.size() > 15u);
}

// --- 4. Background threads ------------------------------------------------------------------------
TEST_CASE("Background async logger works while the test runs") { log_while_testing(); }

TEST_CASE("Background compaction thread of the test") { run_compaction_thread(); }

// --- 5. Child processes ------------------------------------------------------------------------------
TEST_CASE("Children forked child allocates and exits") { CHECK(fork_child_that_allocates()); }

TEST_CASE("Children system and posix_spawn") {
  CHECK(std::system("true") == 0);
  CHECK(spawn_true());
}

TEST_CASE("Children re-execute the test binary") { CHECK(rerun_self("\"Handoff*\"") == 0); }

// --- The real thing ------------------------------------------------------------------------------------
TEST_CASE("Real leak: new set never deleted") {
  auto* names = new std::set<std::string>{"alpha", "beta", "gamma"};  // SITE: catch2 new set
  CHECK(names->size() == 3u);
}

TEST_CASE("Real leak: callback holds its owner") {
  auto owner = std::make_shared<Owner>();  // SITE: catch2 owner
  owner->on_event = [owner] { (void)owner->payload.size(); };  // a cycle: never freed
  owner->on_event();
  CHECK(owner.use_count() == 2);
}

}  // namespace
