// High-water marks: reset_peak() and nested, overlapping PeakWindows.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "memx/counters.hpp"
#include "memx/uncounted.hpp"
#include "producer_consumer.hpp"

namespace {

std::int64_t usable(const void* p) { return static_cast<std::int64_t>(memx::usable_size(p)); }

TEST(Peak, ResetStartsAtTheCurrentLevelAndRecordsTheHighest) {
  memx::reset_peak();
  const memx::Counters start = memx::counters();
  EXPECT_EQ(start.peak_bytes, start.live_bytes);
  char* big = new char[1 << 20];
  const std::int64_t big_size = usable(big);
  delete[] big;
  char* small = new char[10];
  const memx::Counters now = memx::counters();
  EXPECT_EQ(now.peak_bytes, start.live_bytes + big_size);
  memx::reset_peak();
  EXPECT_EQ(memx::counters().peak_bytes, memx::counters().live_bytes);
  delete[] small;
}

TEST(Peak, WindowsNestWithoutLosingTheOuterPeak) {
  memx::PeakWindow outer;
  char* a = new char[1 << 20];
  const std::int64_t a_size = usable(a);
  delete[] a;
  std::int64_t inner_peak = 0, inner_start = 0;
  std::int64_t b_size = 0;
  {
    memx::PeakWindow inner;
    inner_start = inner.start_bytes();
    char* b = new char[1 << 18];
    b_size = usable(b);
    delete[] b;
    inner_peak = inner.peak_bytes();
  }
  EXPECT_EQ(inner_peak, inner_start + b_size);
  EXPECT_EQ(outer.peak_bytes(), outer.start_bytes() + a_size);
  // Growth after the inner window closed still reaches the outer one.
  char* c = new char[1 << 21];
  const std::int64_t c_size = usable(c);
  delete[] c;
  EXPECT_EQ(outer.peak_bytes(), outer.start_bytes() + c_size);
  outer.close();
  char* d = new char[1 << 22];
  delete[] d;
  EXPECT_EQ(outer.peak_bytes(), outer.start_bytes() + c_size) << "closed windows are frozen";
}

TEST(Peak, OverlappingWindowsKeepTheirOwnPeaks) {
  // Windows on the stack (std::optional): a heap-allocated window would itself change
  // the live level it measures.
  std::optional<memx::PeakWindow> first(std::in_place);
  char* a = new char[1 << 20];
  const std::int64_t a_size = usable(a);
  std::optional<memx::PeakWindow> second(std::in_place);  // opened while `a` is live
  delete[] a;
  first.reset();  // closes `first`, `second` stays open
  EXPECT_EQ(second->peak_bytes(), second->start_bytes()) << "nothing grew since it opened";
  char* b = new char[1 << 21];
  const std::int64_t b_size = usable(b);
  delete[] b;
  // `a` was part of second's starting level and has been freed since.
  EXPECT_EQ(second->peak_bytes(), second->start_bytes() - a_size + b_size);
}

TEST(Peak, ThreadsPeaksAreAnUpperBoundThatIsReachedWhenTheyCoincide) {
  memx::PeakWindow window;
  const std::int64_t start = window.start_bytes();
  std::vector<char*> blocks(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&blocks, t] { blocks[static_cast<std::size_t>(t)] = new char[1 << 20]; });
  }
  for (auto& t : threads) t.join();
  // Both blocks are live at once now: the true peak is their sum, and memx reports it.
  EXPECT_GE(window.peak_bytes(), start + usable(blocks[0]) + usable(blocks[1]));
  for (char* b : blocks) delete[] b;
}

// One thread allocates, another frees (tests/common/producer_consumer.hpp).
TEST(Peak, ProducerConsumerPeakStaysNearTheTrueLivePeak) {
  memx::PeakWindow window;
  memx_test::ProducerConsumer pc;
  pc.run();
  const std::int64_t peak = window.peak_bytes() - window.start_bytes();
  EXPECT_LE(peak, pc.max_true_peak() + pc.kStatedError)
      << "the live heap never held more than " << pc.max_true_peak() << " bytes";
  EXPECT_GE(peak, pc.min_true_peak()) << "the queue was full before the consumer started";
}

TEST(Peak, ThisThreadPeakIsRelativeToTheReset) {
  memx::reset_peak();
  char* p = new char[4096];
  const std::int64_t size = usable(p);
  delete[] p;
  EXPECT_EQ(memx::this_thread_counters().peak_bytes, size);
}

}  // namespace

namespace {

TEST(PeakExcluded, TransientUseDoesNotRaiseTheMarkButKeptBlocksDo) {
  memx::PeakWindow window;
  char* own = new char[4096];
  const std::int64_t own_size = usable(own);
  delete[] own;
  char* kept = nullptr;
  std::int64_t kept_size = 0;
  {
    const memx::PeakExcluded excluded;
    char* transient = new char[1 << 20];
    delete[] transient;
    kept = new char[100];
    kept_size = usable(kept);
  }
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + own_size)
      << "the transient megabyte is not the measured code's";
  // The kept block counts from now on: the test's next allocation stands on it.
  char* more = new char[4096];
  const std::int64_t more_size = usable(more);
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + std::max(own_size, kept_size + more_size));
  delete[] more;
  delete[] kept;
}

TEST(PeakExcluded, KeptBlocksAboveTheOldMarkRaiseItToTheLevel) {
  memx::PeakWindow window;
  char* kept = nullptr;
  {
    const memx::PeakExcluded excluded;
    kept = new char[1 << 16];
  }
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + usable(kept));
  delete[] kept;
}

TEST(PeakExcluded, AnEpochEndingMeanwhileKeepsTheTransientMark) {
  memx::PeakWindow window;
  std::int64_t transient_size = 0;
  {
    const memx::PeakExcluded excluded;
    char* transient = new char[1 << 20];
    transient_size = usable(transient);
    delete[] transient;
    memx::reset_peak();  // the ended epoch hands its mark to the open window
  }
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + transient_size);
}

TEST(PeakExcluded, DoesNothingUnderAGuard) {
  memx::PeakWindow window;
  char* a = new char[1 << 12];
  const std::int64_t a_size = usable(a);
  delete[] a;
  {
    const memx::Uncounted guard;
    const memx::PeakExcluded excluded;
  }
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + a_size);
}

}  // namespace
