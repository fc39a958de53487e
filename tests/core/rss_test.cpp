// The RSS sampler: windows, the background thread's life, peaks and bounded timelines.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "memx/counters.hpp"
#include "memx/rss.hpp"

namespace {

using namespace std::chrono_literals;

// Waits (without a timing assertion) until cond() holds; gives up after a generous limit.
template <class F>
bool eventually(F cond) {
  const auto limit = std::chrono::steady_clock::now() + 20s;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(Rss, TheSamplerRunsExactlyWhileAWindowIsOpen) {
  EXPECT_FALSE(memx::rss_sampler_running());
  {
    memx::RssWindow outer(1ms);
    EXPECT_TRUE(memx::rss_sampler_running());
    {
      memx::RssWindow inner(1ms);
      EXPECT_TRUE(memx::rss_sampler_running());
    }
    EXPECT_TRUE(memx::rss_sampler_running());
    EXPECT_TRUE(eventually([&] { return outer.background_samples() >= 3; }));
  }
  EXPECT_FALSE(memx::rss_sampler_running());
  // And it starts again.
  memx::RssWindow again(1ms);
  EXPECT_TRUE(memx::rss_sampler_running());
}

TEST(Rss, PeakSeesMemoryTouchedWhileOpen) {
  memx::RssWindow window(1ms);
  const std::int64_t start = window.start_bytes();
  constexpr std::size_t kSize = 64u << 20;
  {
    std::unique_ptr<char[]> block(new char[kSize]);
    std::memset(block.get(), 1, kSize);  // make it resident
    EXPECT_GE(window.peak_bytes(), start + static_cast<std::int64_t>(kSize) * 3 / 4);
  }
  window.close();
  EXPECT_GE(window.peak_bytes(), start + static_cast<std::int64_t>(kSize) * 3 / 4);
  EXPECT_GT(window.end_bytes(), 0);
}

TEST(Rss, TheTimelineIsBoundedAndSpansTheWholeWindow) {
  memx::RssWindow window(1ms, 8);
  const auto opened = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return window.background_samples() >= 40; }));
  window.close();
  const memx::Timeline t = window.timeline();
  EXPECT_LE(t.size(), 8u);
  EXPECT_GE(t.size(), 3u);
  EXPECT_LE(t.front().time, opened) << "the opening sample is kept";
  for (std::size_t i = 1; i < t.size(); ++i) EXPECT_LE(t[i - 1].time, t[i].time);
  for (const auto& s : t) EXPECT_GT(s.rss_bytes, 0);
}

TEST(Rss, EachSampleCarriesTheLiveHeap) {
  memx::RssWindow window(1ms);
  std::unique_ptr<char[]> block(new char[1 << 20]);
  std::memset(block.get(), 1, 1 << 20);  // used: the allocation cannot be elided
  // The sampler may read once between the window's opening and the allocation (a slow
  // machine, ThreadSanitizer): only the samples after it must carry the block.
  const auto allocated = std::chrono::steady_clock::now();
  const std::size_t before = window.background_samples();
  ASSERT_TRUE(eventually([&] { return window.background_samples() >= before + 2; }));
  EXPECT_EQ(block[12345], 1);
  window.close();
  const memx::Timeline t = window.timeline();
  ASSERT_GE(t.size(), 3u);
  std::size_t after = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    if (t[i].time < allocated) continue;
    ++after;
    EXPECT_GE(t[i].heap_live_bytes, 1 << 20);
  }
  EXPECT_GE(after, 2u);
}

TEST(Rss, RestartDropsTheSamplesAndSamplesAgain) {
  memx::RssWindow window(1ms, 8);
  ASSERT_TRUE(eventually([&] { return window.background_samples() >= 20; }));
  const auto restarted = std::chrono::steady_clock::now();
  window.restart();
  ASSERT_TRUE(eventually([&] { return window.background_samples() >= 3; }));
  window.close();
  const memx::Timeline t = window.timeline();
  EXPECT_GE(t.size(), 3u);
  EXPECT_LE(t.size(), 8u);
  // Nothing from before the restart is left (the opening sample was 20 ms earlier).
  EXPECT_GE(t.front().time, restarted - 1ms);
}

TEST(Rss, WindowsOpenedFromManyThreads) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([] {
      for (int j = 0; j < 50; ++j) {
        memx::RssWindow w(1ms);
        EXPECT_GT(w.peak_bytes(), 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(memx::rss_sampler_running());
}

TEST(Rss, TheSamplerThreadDoesNotCountAsTheUsersAllocations) {
  const memx::Counters before = memx::counters();
  {
    memx::RssWindow w(1ms);
    ASSERT_TRUE(eventually([&] { return w.background_samples() >= 5; }));
    (void)w.timeline();
  }
  const memx::Counters after = memx::counters();
  EXPECT_EQ(after.allocs, before.allocs);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
}

TEST(Rss, TheQuickPeakFollowsTheSamplerAndRestarts) {
  EXPECT_GT(memx::rss_latest_bytes(), 0) << "a fresh reading when no sampler runs";
  memx::RssWindow keep_sampling(1ms);
  const std::int64_t start = memx::rss_quick_peak_restart();
  EXPECT_GT(start, 0);
  constexpr std::int64_t kSize = 64 << 20;
  {
    std::unique_ptr<char[]> block(new char[kSize]);
    std::memset(block.get(), 1, kSize);
    // The sampler thread, not this one, raises the mark.
    EXPECT_TRUE(eventually([&] { return memx::rss_quick_peak() >= start + kSize * 3 / 4; }));
  }
  EXPECT_GE(memx::rss_quick_peak(), start + kSize * 3 / 4) << "a high-water mark stays high";
  // Far above anything real (sanitizer builds add shadow memory to every touched page).
  const std::int64_t huge = std::int64_t{1} << 45;
  EXPECT_EQ(memx::rss_quick_peak(huge), huge) << "raised by `also`";
  const std::int64_t restarted = memx::rss_quick_peak_restart();
  EXPECT_LT(memx::rss_quick_peak(), huge);
  EXPECT_GE(memx::rss_quick_peak(), restarted);
}

}  // namespace

