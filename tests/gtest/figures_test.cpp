// The figures the plugin records for tests whose allocations are known exactly, checked
// after RUN_ALL_TESTS against the session's report. Runs every test 5 times
// (--gtest_repeat=5) so that leak verdicts are exercised too.
//
// The scenario tests below are not assertions about memx: they are the workload. Some of
// them fail or skip on purpose; main() checks what memx made of them.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "memx/gtest.hpp"
#include "producer_consumer.hpp"

namespace {

int g_failures = 0;

std::vector<void*>& kept() {
  static std::vector<void*> blocks = [] {
    std::vector<void*> v;
    v.reserve(64);  // never reallocates during the tests
    return v;
  }();
  return blocks;
}

void* volatile g_sink;  // keeps the optimiser from removing allocations

}  // namespace

TEST(Figures, Empty) {}

TEST(Figures, FailsWithoutAllocating) {
  EXPECT_EQ(1, 2) << "a failure message long enough to leave the small-string buffer behind";
}

TEST(Figures, SkipsWithoutAllocating) {
  GTEST_SKIP() << "a skip message long enough to leave the small-string buffer behind";
}

TEST(Figures, RecordsPropertiesWithoutAllocating) {
  RecordProperty("a_property_key_long_enough_for_the_heap", std::string(100, 'x'));
  RecordProperty("short", 1);
}

TEST(Figures, KeepsOneBlock) {
  char* p = new char[1000];
  std::memset(p, 1, 1000);
  kept().push_back(p);
}

TEST(Figures, PeakOfAFreedBuffer) {
  std::vector<char> buffer(1 << 20, 'x');
  g_sink = buffer.data();
}

TEST(Figures, HundredAllocations) {
  for (int i = 0; i < 100; ++i) {
    auto* p = new int[8];
    g_sink = p;
    delete[] p;
  }
}

TEST(Figures, ThreadKeepsOneBlock) {
  void* block = nullptr;
  std::thread t([&block] { block = new char[500]; });
  t.join();
  kept().push_back(block);
}

class FixtureWithMembers : public ::testing::Test {
 protected:
  std::vector<int> numbers_ = std::vector<int>(4096, 7);
};

TEST_F(FixtureWithMembers, FixtureIsMeasured) { EXPECT_EQ(numbers_[10], 7); }

TEST(Figures, LeaksSixteenBytes) { kept().push_back(new char[16]); }

memx_test::ProducerConsumer g_producer_consumer;  // block_usable read after the run

TEST(Figures, ProducerConsumer) { g_producer_consumer.run(); }

TEST(Figures, FillsAStaticCacheOnce) {
  static std::map<int, std::string>* cache = [] {
    auto* m = new std::map<int, std::string>();
    for (int i = 0; i < 50; ++i) (*m)[i] = std::string(40, static_cast<char>('a' + i % 26));
    return m;
  }();
  EXPECT_EQ(cache->size(), 50u);
}

namespace {

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::printf("figures_test.cpp:%d: CHECK failed: %s\n", __LINE__, #cond);   \
      ++g_failures;                                                              \
    }                                                                            \
  } while (false)

const memx::TestRecord* find(const memx::Report& r, const std::string& name) {
  for (const memx::TestRecord& t : r.tests) {
    if (t.name == name) return &t;
  }
  std::printf("CHECK failed: no record of %s\n", name.c_str());
  ++g_failures;
  return nullptr;
}

constexpr std::uint64_t kAnyAllocs = ~std::uint64_t{0};

/// Every run of the test from `first` on has these heap figures (kAnyAllocs: not checked).
void expect_runs(const memx::Report& r, const std::string& name, std::int64_t net, std::int64_t blocks,
                 std::uint64_t allocs, std::int64_t peak_min, std::int64_t peak_max,
                 std::size_t first = 0) {
  const memx::TestRecord* t = find(r, name);
  if (t == nullptr) return;
  CHECK(t->runs.size() == 5);
  for (std::size_t i = first; i < t->runs.size(); ++i) {
    const memx::RunRecord& run = t->runs[i];
    if (run.net_bytes != net || run.net_blocks != blocks ||
        (allocs != kAnyAllocs && run.allocs != allocs) ||
        run.peak_bytes < peak_min || run.peak_bytes > peak_max) {
      std::printf("CHECK failed: %s: net %lld B / %lld blocks, %llu allocs, peak %lld B; expected "
                  "net %lld B / %lld blocks, %llu allocs, peak in [%lld, %lld]\n",
                  name.c_str(), static_cast<long long>(run.net_bytes),
                  static_cast<long long>(run.net_blocks), static_cast<unsigned long long>(run.allocs),
                  static_cast<long long>(run.peak_bytes), static_cast<long long>(net),
                  static_cast<long long>(blocks), static_cast<unsigned long long>(allocs),
                  static_cast<long long>(peak_min), static_cast<long long>(peak_max));
      ++g_failures;
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  GTEST_FLAG_SET(repeat, 5);
  kept();  // the list of kept blocks is the program's, not the first test's
#if defined(MEMX_FIGURES_COUNT_MALLOC)
  // Linked with memx::count_malloc (tests/malloc): glibc keeps a joined thread's stack, and
  // the DTV it calloc'ed for it, for the next thread; the first test to start threads would
  // keep that block in its first run (docs/how-it-works.md, "C allocations"). The program
  // starts and joins at once the two threads the tests need and memx's RSS sampler.
  {
    std::thread a([] {}), b([] {}), c([] {});
    a.join();
    b.join();
    c.join();
  }
#endif
  if (RUN_ALL_TESTS() == 0) {
    std::printf("CHECK failed: RUN_ALL_TESTS passed although Figures.FailsWithoutAllocating fails\n");
    ++g_failures;
  }

  const memx::Session* session = memx::gtest::session();
  CHECK(session != nullptr);
  if (session == nullptr) return 1;
  const memx::Report& r = session->report();
  CHECK(r.complete);
  CHECK(r.repetitions == 5);
  CHECK(r.iteration_end_live_bytes.size() == 5);

  const auto usable = [](std::size_t n) {
    void* p = ::operator new(n);
    const auto u = static_cast<std::int64_t>(memx::usable_size(p));
    ::operator delete(p);
    return u;
  };

  expect_runs(r, "Figures.Empty", 0, 0, 0, 0, 0);
  // What GoogleTest keeps of a failure, a skip or a property is not the test's. Building
  // the message (or the property's strings) is the test's own work: allocs and peak count
  // it. The first failure of the process also fills a few bytes of GoogleTest's lazy state
  // (warm-up), so the failing test is checked from its second run.
  expect_runs(r, "Figures.FailsWithoutAllocating", 0, 0, kAnyAllocs, 0, 8192, 1);
  expect_runs(r, "Figures.SkipsWithoutAllocating", 0, 0, kAnyAllocs, 0, 8192);
  expect_runs(r, "Figures.RecordsPropertiesWithoutAllocating", 0, 0, kAnyAllocs, 0, 4096);
  expect_runs(r, "Figures.KeepsOneBlock", usable(1000), 1, 1, usable(1000), usable(1000));
  expect_runs(r, "Figures.PeakOfAFreedBuffer", 0, 0, 1, 1 << 20, (1 << 20) + 65536);
  expect_runs(r, "Figures.HundredAllocations", 0, 0, 100, usable(32), usable(32));
  // The thread's own bookkeeping (std::thread's state) is allocated and freed too.
  {
    const memx::TestRecord* t = find(r, "Figures.ThreadKeepsOneBlock");
    if (t != nullptr) {
      for (const memx::RunRecord& run : t->runs) {
        CHECK(run.net_bytes == usable(500));
        CHECK(run.net_blocks == 1);
      }
    }
  }
  // The fixture's member is the test's; GoogleTest's fixture base is not.
  expect_runs(r, "FixtureWithMembers.FixtureIsMeasured", 0, 0, 1, usable(4096 * sizeof(int)),
              usable(4096 * sizeof(int)) + 64);
  expect_runs(r, "Figures.LeaksSixteenBytes", usable(16), 1, 1, usable(16), usable(16));
  // One thread allocates what another frees: the peak is the queue's live peak within the
  // stated bound, not the 100 MB that passed through it.
  expect_runs(r, "Figures.ProducerConsumer", 0, 0, kAnyAllocs, g_producer_consumer.min_true_peak(),
              g_producer_consumer.max_true_peak() + g_producer_consumer.kStatedError);

  // Statuses as GoogleTest saw them.
  if (const auto* t = find(r, "Figures.FailsWithoutAllocating")) {
    CHECK(t->status == memx::TestStatus::failed);
    CHECK(t->leak.verdict != memx::Verdict::leak);
    CHECK(t->leak.verdict == memx::Verdict::clean);
  }
  if (const auto* t = find(r, "Figures.SkipsWithoutAllocating")) {
    CHECK(t->status == memx::TestStatus::skipped);
    CHECK(t->leak.verdict == memx::Verdict::clean);
  }
  if (const auto* t = find(r, "Figures.Empty")) CHECK(t->status == memx::TestStatus::passed);

  // Leak verdicts.
  if (const auto* t = find(r, "Figures.LeaksSixteenBytes")) {
    CHECK(t->leak.verdict == memx::Verdict::leak);
    CHECK(t->leak.confidence == memx::Confidence::high);
    CHECK(t->leak.bytes_per_run == static_cast<double>(usable(16)));
    CHECK(t->leak.blocks_per_run == 1.0);
  }
  if (const auto* t = find(r, "Figures.FillsAStaticCacheOnce")) {
    CHECK(t->runs.front().net_bytes > 0);  // the warm-up filled the cache
    CHECK(t->leak.verdict == memx::Verdict::clean);
  }
  if (const auto* t = find(r, "Figures.KeepsOneBlock")) CHECK(t->leak.verdict == memx::Verdict::leak);

  std::printf("figures_test: %d check(s) failed\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
