// Figures of test case passes whose allocations are known exactly, checked after the run
// from the plugin's report: Catch2's own work (failed assertions, messages, sections,
// exceptions) is not the test's. Its own main: the checks run after Catch2's.
#define CATCH_CONFIG_RUNNER
#include "catch2_include.hpp"

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "memx/catch2.hpp"
#include "memx/counters.hpp"
#include "producer_consumer.hpp"

namespace {

std::vector<std::unique_ptr<char[]>> g_kept = [] {
  std::vector<std::unique_ptr<char[]>> v;
  v.reserve(16);  // the program's, before any test
  return v;
}();

std::int64_t usable(std::size_t n) {
  auto p = std::make_unique<char[]>(n);
  return static_cast<std::int64_t>(memx::usable_size(p.get()));
}

volatile int g_one = 1;
char* volatile g_sink = nullptr;  // keeps the compiler from eliding new/delete pairs

/// Keeps a block of n bytes: an assertion's expression that allocates.
bool keep_block(std::size_t n) {
  g_kept.emplace_back(new char[n]);
  return true;
}

}  // namespace

TEST_CASE("Figures.Empty") {}

TEST_CASE("Figures.FailsWithoutAllocating") { CHECK(g_one == 2); }

TEST_CASE("Figures.RequireFailsWithoutAllocating") {
  REQUIRE(g_one == 2);
  CHECK(g_one == 1);  // not reached
}

TEST_CASE("Figures.MessagesAndFailures") {
  INFO("a message long enough not to fit in a small string buffer, kept by Catch2");
  CAPTURE(g_one);
  CHECK(g_one == 3);
  UNSCOPED_INFO("an unscoped message, also longer than a small string buffer");
  WARN("a warning that Catch2 reports and forgets, again longer than the buffer");
  CHECK_FALSE(g_one == 1);
}

// What an assertion's own expression allocates is the test's, inside a message's scope, in a
// passing and in a failing assertion alike.
TEST_CASE("Figures.KeepsInAssertions") {
  INFO("a message long enough not to fit in a small string buffer, kept by Catch2");
  CHECK(keep_block(700));
  CHECK_FALSE(keep_block(600));  // fails: Catch2's record of it is not the test's
}

TEST_CASE("Figures.Throws") { throw std::runtime_error("an exception that escapes the test case body"); }

TEST_CASE("Figures.KeepsOneBlock") { g_kept.emplace_back(new char[1000]); }

TEST_CASE("Figures.PeakOfAFreedBuffer") {
  std::vector<char> v(1 << 20, 'x');
  CHECK(v.back() == 'x');
}

TEST_CASE("Figures.HundredAllocations") {
  for (int i = 0; i < 100; ++i) {
    auto p = std::make_unique<char[]>(32);
    g_sink = p.get();
  }
}

TEST_CASE("Figures.Sections") {
  auto common = std::make_unique<char[]>(100);
  SECTION("a first section whose name is longer than a small string") {
    auto p = std::make_unique<char[]>(1000);
    CHECK(g_one == 1);
  }
  SECTION("a second section whose name is longer than a small string") {
    SECTION("and a nested section whose name is longer too") {
      auto p = std::make_unique<char[]>(2000);
      CHECK(g_one == 4);  // fails: Catch2's record of it is not the section's
    }
  }
}

#if CATCH_VERSION_MAJOR >= 3 && CATCH_VERSION_MINOR >= 3
TEST_CASE("Figures.Skipped") {
  auto p = std::make_unique<char[]>(300);
  g_sink = p.get();
  SKIP("skipped after allocating");
}
#endif

memx_test::ProducerConsumer g_producer_consumer;  // block_usable read after the run

// One thread allocates what another frees (tests/common/producer_consumer.hpp).
TEST_CASE("Figures.ProducerConsumer") { g_producer_consumer.run(); }

TEST_CASE("Figures.AllocatesInAThread") {
  std::thread t([] { g_kept.emplace_back(new char[500]); });
  t.join();
}

namespace {

int g_problems = 0;

const memx::TestRecord* find(const memx::Report& r, const std::string& name) {
  for (const memx::TestRecord& t : r.tests) {
    if (t.name == name) return &t;
  }
  std::printf("CHECK failed: no test %s in the report\n", name.c_str());
  ++g_problems;
  return nullptr;
}

constexpr std::uint64_t kAny = ~std::uint64_t{0};

void expect(const memx::Report& r, const std::string& name, memx::TestStatus status, std::int64_t net,
            std::int64_t blocks, std::uint64_t allocs, std::int64_t peak_min, std::int64_t peak_max) {
  const memx::TestRecord* t = find(r, name);
  if (t == nullptr) return;
  if (t->runs.size() != 1 || t->status != status) {
    std::printf("CHECK failed: %s: %zu runs, status %s; expected 1 run, status %s\n", name.c_str(),
                t->runs.size(), memx::to_string(t->status), memx::to_string(status));
    ++g_problems;
    return;
  }
  const memx::RunRecord& run = t->runs.front();
  const bool ok = run.net_bytes == net && run.net_blocks == blocks &&
                  (allocs == kAny || run.allocs == allocs) && run.peak_bytes >= peak_min &&
                  run.peak_bytes <= peak_max;
  std::printf("%s %s: net %" PRId64 " B / %" PRId64 " blocks, %" PRIu64 " allocs, peak %" PRId64 " B\n",
              ok ? "ok  " : "FAIL", name.c_str(), run.net_bytes, run.net_blocks, run.allocs,
              run.peak_bytes);
  if (!ok) {
    std::printf("     expected net %" PRId64 " B / %" PRId64 " blocks, %s allocs, peak in [%" PRId64
                ", %" PRId64 "]\n",
                net, blocks, allocs == kAny ? "any" : std::to_string(allocs).c_str(), peak_min, peak_max);
    ++g_problems;
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  const int rc = memx::catch2::run({}, 1, [&](int, bool) { return session.run(); });
  if (rc == 0) {
    std::printf("CHECK failed: the run passed although test cases fail\n");
    ++g_problems;
  }
  const memx::Session* s = memx::catch2::session();
  if (s == nullptr) {
    std::printf("CHECK failed: no memx session\n");
    return 1;
  }
  const memx::Report& r = s->report();
  using memx::TestStatus;
  expect(r, "Figures.Empty", TestStatus::passed, 0, 0, 0, 0, 0);
  expect(r, "Figures.FailsWithoutAllocating", TestStatus::failed, 0, 0, 0, 0, 0);
  expect(r, "Figures.RequireFailsWithoutAllocating", TestStatus::failed, 0, 0, 0, 0, 0);
  // The exception's message is the test's own allocation, freed with the exception.
  expect(r, "Figures.Throws", TestStatus::failed, 0, 0, 1, 1, 256);
  expect(r, "Figures.KeepsOneBlock", TestStatus::passed, usable(1000), 1, 1, usable(1000), usable(1000));
  // The queue's live peak within memx's stated bound, not the 100 MB that passed through it.
  expect(r, "Figures.ProducerConsumer", TestStatus::passed, 0, 0, kAny,
         g_producer_consumer.min_true_peak(),
         g_producer_consumer.max_true_peak() + g_producer_consumer.kStatedError);
  expect(r, "Figures.PeakOfAFreedBuffer", TestStatus::passed, 0, 0, 1, usable(1 << 20), usable(1 << 20));
  expect(r, "Figures.HundredAllocations", TestStatus::passed, 0, 0, 100, usable(32), usable(32));
  // INFO, CAPTURE and the other message macros build their text in the test's own frame
  // (counted, and freed by the end of the test); what Catch2 keeps of them is its own.
  expect(r, "Figures.MessagesAndFailures", TestStatus::failed, 0, 0, kAny, 0, 1024);
  expect(r, "Figures.KeepsInAssertions", TestStatus::failed, usable(700) + usable(600), 2, kAny,
         usable(700) + usable(600), usable(700) + usable(600) + 1024);
  // SECTION names build strings in the test's frame (counted in allocs and peak, freed).
  expect(r, "Figures.Sections / a first section whose name is longer than a small string",
         TestStatus::passed, 0, 0, kAny, usable(100) + usable(1000), usable(100) + usable(1000) + 512);
  expect(r,
         "Figures.Sections / a second section whose name is longer than a small string / and a "
         "nested section whose name is longer too",
         TestStatus::failed, 0, 0, kAny, usable(100) + usable(2000), usable(100) + usable(2000) + 512);
  expect(r, "Figures.AllocatesInAThread", TestStatus::passed, usable(500), 1, kAny, usable(500), 1 << 20);
#if CATCH_VERSION_MAJOR >= 3 && CATCH_VERSION_MINOR >= 3
  // Catch2 3's SKIP: the pass is measured and reported as skipped.
  expect(r, "Figures.Skipped", TestStatus::skipped, 0, 0, kAny, usable(300), usable(300) + 4096);
#endif
  std::printf("%s\n", g_problems == 0 ? "figures as expected" : "figures differ");
  return g_problems == 0 ? 0 : 1;
}
