// Stack mode end to end: leaks planted at known lines (through std::vector, std::string,
// std::make_shared and a call into another shared library) are found at those lines; the
// same stack from 16 threads is one site with exact totals; frees from other threads leave
// nothing behind; memx's own allocations and Uncounted ones are never recorded.
// Built like user code: optimised, without frame pointers.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/counters.hpp"
#include "memx/stacks.hpp"
#include "memx/uncounted.hpp"
#include "sharedlib/sharedlib.hpp"
#include "support.hpp"

namespace memx::detail {
void probe_report(int& fp_skip, int& lu_skip, bool& fp_correct) noexcept;
void probe_report_cfi(int& cfi_skip, bool& cfi_correct) noexcept;
}

namespace memx::test {
namespace {

constexpr const char* kThisFile = "tests/stacks/stacks_test.cpp";

class StackMode : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(stacks::enable(32)); }
  void TearDown() override { stacks::disable(); }
};

/// The site of the blocks at least min_bytes big among those f left live.
template <class F>
stacks::Site biggest_site(F&& f) {
  const auto sites = sites_left_by(f);
  return sites.empty() ? stacks::Site{} : sites.front();
}

TEST_F(StackMode, EnableChoosesAnUnwinderAndCountsNothingOfItsOwn) {
  stacks::disable();
  const Counters before = counters();
  ASSERT_TRUE(stacks::enable(32));
  const Counters after = counters();
  EXPECT_EQ(after.allocs, before.allocs);
  EXPECT_EQ(after.frees, before.frees);
  int fp_skip = 0, lu_skip = 0;
  bool fp_correct = false;
  detail::probe_report(fp_skip, lu_skip, fp_correct);
  int cfi_skip = 0;
  bool cfi_correct = false;
  detail::probe_report_cfi(cfi_skip, cfi_correct);
  std::printf(
      "probe: frame-pointer skip %d, libunwind skip %d, dwarf-cfi skip %d, frame pointers %s "
      "through libstdc++, dwarf-cfi %s; chosen: %s\n",
      fp_skip, lu_skip, cfi_skip, fp_correct ? "correct" : "lose frames",
      cfi_correct ? "correct" : "not usable", stacks::unwinder_name(stacks::unwinder()));
  EXPECT_GE(lu_skip, 1);
  EXPECT_EQ(stacks::unwinder(), fp_correct    ? stacks::Unwinder::kFramePointer
                                : cfi_correct ? stacks::Unwinder::kDwarfCfi
                                              : stacks::Unwinder::kLibunwind);
  if (cfi_correct) EXPECT_EQ(cfi_skip, lu_skip);
  EXPECT_EQ(stacks::depth(), 32);
  EXPECT_FALSE(stacks::enable(0));
  EXPECT_FALSE(stacks::enable(stacks::kMaxDepth + 1));
}

TEST_F(StackMode, CaptureWalksNoFrameOfStackModesOwn) {
  if (std::string(stacks::unwinder_name(stacks::Unwinder::kLibunwind)) != "libunwind") {
    GTEST_SKIP() << "glibc's backtrace() (ThreadSanitizer builds) walks frames of its own";
  }
  int fp_skip = 0, lu_skip = 0;
  bool fp_correct = false;
  detail::probe_report(fp_skip, lu_skip, fp_correct);
  // Only the counting slow path, which captures in its own frame, and operator new (none
  // when operator new tail-calls the slow path, as it does at -O3 since the slow path returns
  // the block): every other frame skipped is one libunwind walked for nothing (about 10 ns).
  EXPECT_GE(lu_skip, 1);
  EXPECT_LE(lu_skip, 2);
}

TEST_F(StackMode, LeakThroughStdVectorIsAtItsLine) {
  std::vector<int>* v = nullptr;
  int line = 0;
  const stacks::Site s = biggest_site([&] {
    v = new std::vector<int>;
    line = __LINE__ + 1;
    v->resize(1000);
  });
  ASSERT_NE(s.stack_id, 0u);
  EXPECT_EQ(s.bytes, usable_size(v->data()));
  EXPECT_EQ(s.blocks, 1u);
  EXPECT_TRUE(stack_has_line(s.stack_id, kThisFile, line)) << describe_stack(s.stack_id);
  delete v;
}

TEST_F(StackMode, LeakThroughStdStringInsideLibstdcxxIsAtItsLine) {
  std::string* str = nullptr;
  int line = 0;
  const auto sites = sites_left_by([&] {
    line = __LINE__ + 1;
    str = new std::string(400, 'y');
  });
  ASSERT_EQ(sites.size(), 2u);  // the std::string object and its buffer (made in libstdc++)
  for (const stacks::Site& s : sites) {
    EXPECT_TRUE(stack_has_line(s.stack_id, kThisFile, line)) << describe_stack(s.stack_id);
  }
  EXPECT_EQ(sites.front().bytes, usable_size(str->data()));
  delete str;
}

TEST_F(StackMode, LeakThroughMakeSharedIsAtItsLine) {
  std::shared_ptr<std::array<char, 700>> p;
  int line = 0;
  const stacks::Site s = biggest_site([&] {
    line = __LINE__ + 1;
    p = std::make_shared<std::array<char, 700>>();
  });
  ASSERT_NE(s.stack_id, 0u);
  EXPECT_GE(s.bytes, 700u);
  EXPECT_TRUE(stack_has_line(s.stack_id, kThisFile, line)) << describe_stack(s.stack_id);
}

TEST_F(StackMode, LeakThroughAnotherSharedLibraryIsAtTheCallersLine) {
  void* block = nullptr;
  int line = 0;
  const stacks::Site s = biggest_site([&] {
    line = __LINE__ + 1;
    block = memx_test_sharedlib_allocate(900);
  });
  ASSERT_NE(s.stack_id, 0u);
  EXPECT_EQ(s.bytes, usable_size(block));
  EXPECT_TRUE(stack_has_line(s.stack_id, kThisFile, line)) << describe_stack(s.stack_id);
  // (The library's own frame may be absent: memx_test_sharedlib_allocate tail-calls new[].)
  memx_test_sharedlib_free(block);
}

std::atomic<int> g_same_line{0};

[[gnu::noinline]] void allocate_many(std::vector<void*>& out, int n) {
  for (int i = 0; i < n; ++i) {
    g_same_line.store(__LINE__ + 1);
    out.push_back(::operator new(48));
  }
}

TEST_F(StackMode, SixteenThreadsOneStackAreOneSiteWithExactTotals) {
  constexpr int kThreads = 16, kPer = 1000;
  std::vector<std::vector<void*>> blocks(kThreads);
  for (auto& b : blocks) b.reserve(kPer);
  const auto sites = sites_left_by([&] {
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] { allocate_many(blocks[t], kPer); });
    for (auto& th : threads) th.join();
  });
  int with_line = 0;
  for (const stacks::Site& s : sites) {
    if (!stack_has_line(s.stack_id, kThisFile, g_same_line.load())) continue;
    ++with_line;
    EXPECT_EQ(s.blocks, static_cast<std::uint64_t>(kThreads * kPer));
    EXPECT_EQ(s.bytes, static_cast<std::uint64_t>(kThreads * kPer) * usable_size(blocks[0][0]));
  }
  EXPECT_EQ(with_line, 1);
  EXPECT_EQ(sites.size(), 1u) << "only the blocks are still live";
  for (auto& b : blocks) {
    for (void* p : b) ::operator delete(p);
  }
}

TEST_F(StackMode, FreesFromOtherThreadsLeaveNoPhantomBlocks) {
  const std::uint64_t first = stacks::next_allocation_number();
  const std::uint64_t map_before = stacks::memory_use().live_blocks;
  {
    std::mutex m;
    std::condition_variable cv;
    std::deque<void*> queue;
    bool done = false;
    int halfway = 0;  // producers past their first half
    std::condition_variable half_cv;
    std::vector<std::thread> threads;
    for (int p = 0; p < 4; ++p) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20000; ++i) {
          void* b = ::operator new(16 + (i % 7) * 24);
          std::lock_guard<std::mutex> g(m);
          queue.push_back(b);
          cv.notify_one();
          if (i == 9999 && ++halfway == 4) half_cv.notify_all();
        }
      });
    }
    {
      // The first halves are recorded (nothing is freed yet); the second halves are
      // allocated while the consumers free, from three other threads.
      std::unique_lock<std::mutex> g(m);
      half_cv.wait(g, [&] { return halfway == 4; });
      g.unlock();
      EXPECT_GE(stacks::memory_use().live_blocks, map_before + 40000u);
    }
    std::vector<std::thread> consumers;
    for (int c = 0; c < 3; ++c) {
      consumers.emplace_back([&] {
        std::unique_lock<std::mutex> g(m);
        for (;;) {
          cv.wait(g, [&] { return !queue.empty() || done; });
          if (queue.empty()) return;
          void* b = queue.front();
          queue.pop_front();
          g.unlock();
          ::operator delete(b);
          g.lock();
        }
      });
    }
    for (auto& t : threads) t.join();
    {
      std::lock_guard<std::mutex> g(m);
      done = true;
    }
    cv.notify_all();
    for (auto& t : consumers) t.join();
  }
  stacks::Filter f;
  f.first_number = first;
  const auto sites = stacks::live_sites(f);
  for (const stacks::Site& s : sites)
    ADD_FAILURE() << "phantom site\n" << describe_stack(s.stack_id);
  EXPECT_EQ(stacks::memory_use().live_blocks, map_before);
}

TEST_F(StackMode, UncountedAllocationsAreNotRecorded) {
  void* hidden = nullptr;
  const auto sites = sites_left_by([&] {
    Uncounted guard;
    hidden = ::operator new(128);
  });
  EXPECT_TRUE(sites.empty());
  {
    Uncounted guard;
    ::operator delete(hidden);
  }
}

TEST_F(StackMode, CountingIsExactWhileStacksAreOn) {
  std::vector<void*> keep;
  keep.reserve(3);
  const Delta d = measure([&] {
    for (int i = 0; i < 3; ++i) keep.push_back(::operator new(100));
    ::operator delete(keep.back());
    keep.pop_back();
  });
  EXPECT_EQ(d.allocs, 3u);
  EXPECT_EQ(d.frees, 1u);
  EXPECT_EQ(d.blocks, 2);
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(2 * usable_size(keep[0])));
  for (void* p : keep) ::operator delete(p);
}

TEST_F(StackMode, ScopeIdsFilterTheQuery) {
  void* a = nullptr;
  void* b = nullptr;
  const std::uint64_t first = stacks::next_allocation_number();
  stacks::set_scope(5);
  const int line_a = __LINE__ + 1;
  a = ::operator new(64);
  stacks::set_scope(6);
  const int line_b = __LINE__ + 1;
  b = ::operator new(64);
  stacks::set_scope(0);
  stacks::Filter f;
  f.first_number = first;
  f.scope = 5;
  const auto five = stacks::live_sites(f);
  ASSERT_EQ(five.size(), 1u);
  EXPECT_TRUE(stack_has_line(five[0].stack_id, kThisFile, line_a))
      << describe_stack(five[0].stack_id);
  f.scope = 6;
  const auto six = stacks::live_sites(f);
  ASSERT_EQ(six.size(), 1u);
  EXPECT_TRUE(stack_has_line(six[0].stack_id, kThisFile, line_b))
      << describe_stack(six[0].stack_id);
  ::operator delete(a);
  ::operator delete(b);
}

TEST_F(StackMode, DisableStopsRecordingAndCountingGoesOn) {
  stacks::disable();
  const std::uint64_t before = stacks::memory_use().live_blocks;
  std::uint64_t while_live = 0;
  const Delta d = measure([&] {
    void* p = ::operator new(32);
    escape(p);
    while_live = stacks::memory_use().live_blocks;
    ::operator delete(p);
  });
  EXPECT_EQ(while_live, before);  // not recorded
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.frees, 1u);
  EXPECT_TRUE(counting_this_thread());
  EXPECT_FALSE(stacks::enabled());
}

TEST(StackModeConfig, ParsesDepths) {
  EXPECT_EQ(stacks::parse_depth("32"), 32);
  EXPECT_EQ(stacks::parse_depth(" 8 "), 8);
  EXPECT_EQ(stacks::parse_depth("64"), 64);
  EXPECT_EQ(stacks::parse_depth("0"), 0);
  EXPECT_EQ(stacks::parse_depth("off"), 0);
  EXPECT_EQ(stacks::parse_depth("on"), stacks::kDefaultDepth);
  EXPECT_FALSE(stacks::parse_depth("65").has_value());
  EXPECT_FALSE(stacks::parse_depth("-1").has_value());
  EXPECT_FALSE(stacks::parse_depth("").has_value());
  EXPECT_FALSE(stacks::parse_depth("32x").has_value());
  EXPECT_FALSE(stacks::parse_depth("100000").has_value());
}

}  // namespace
}  // namespace memx::test
