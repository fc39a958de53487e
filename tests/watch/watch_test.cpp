// memx::LeakWatch and the growth analysis (memx/leak_watch.hpp, memx/watch_analysis.hpp):
// the slope and confidence rule on synthetic series, and the watch's own behaviour.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "memx/counters.hpp"
#include "memx/leak_watch.hpp"
#include "memx/stacks.hpp"
#include "memx/watch_report.hpp"

namespace {

using memx::GrowthConfidence;
using memx::WatchSample;

// `n` samples every `ms` milliseconds; heap(i) gives the live heap bytes of sample i (blocks
// follow bytes / 64), RSS a steady 10 MiB, 5 descriptors and 2 threads.
template <class Heap>
std::vector<WatchSample> series(int n, double ms, Heap&& heap) {
  std::vector<WatchSample> out;
  for (int i = 0; i < n; ++i) {
    WatchSample s;
    s.ms = i * ms;
    s.heap_bytes = static_cast<std::int64_t>(heap(i));
    s.heap_blocks = s.heap_bytes / 64;
    s.rss_bytes = 10 << 20;
    s.fds = 5;
    s.threads = 2;
    out.push_back(s);
  }
  return out;
}

TEST(TheilSen, SlopeOfALineIgnoresOutliers) {
  std::vector<double> x, y;
  for (int i = 0; i < 20; ++i) {
    x.push_back(i);
    y.push_back(3.0 * i + 7);
  }
  EXPECT_DOUBLE_EQ(memx::theil_sen_slope(x, y), 3.0);
  y[4] = 1e9;  // two wild readings do not move the median slope
  y[15] = -1e9;
  EXPECT_NEAR(memx::theil_sen_slope(x, y), 3.0, 1e-9);
  EXPECT_EQ(memx::theil_sen_slope({}, {}), 0.0);
  EXPECT_EQ(memx::theil_sen_slope({1, 1, 1}, {1, 2, 3}), 0.0);  // no two distinct x
}

TEST(TheilSen, ManyPointsAreThinnedNotDropped) {
  std::vector<double> x, y;
  for (int i = 0; i < 5000; ++i) {
    x.push_back(i * 0.1);
    y.push_back(2.0 * x.back());
  }
  EXPECT_NEAR(memx::theil_sen_slope(x, y), 2.0, 1e-9);
}

TEST(WatchAnalysis, SlowLeakWithNoiseIsHighConfidence) {
  std::mt19937 random(1);
  std::normal_distribution<double> noise(0, 2048);
  // 3 KiB/s for 10 s, sampled every 100 ms, on 1 MiB with +-2 KiB of churn.
  const auto a = memx::analyze_watch(
      series(100, 100, [&](int i) { return (1 << 20) + 307.2 * i + noise(random); }));
  EXPECT_NEAR(a.heap_bytes.per_second, 3072, 300);
  EXPECT_EQ(a.heap_bytes.confidence, GrowthConfidence::high);
  EXPECT_EQ(a.confidence, GrowthConfidence::high);
  EXPECT_GT(a.heap_bytes.r2, 0.9);
  EXPECT_TRUE(a.leak);
  EXPECT_EQ(a.samples, 100);
  EXPECT_NEAR(a.duration_s, 9.9, 1e-9);
  ASSERT_EQ(a.recommendations.size(), 1u);
  EXPECT_NE(a.recommendations[0].find("unbounded cache or queue"), std::string::npos);
  EXPECT_NE(memx::describe(a).find("verdict: growing: the live heap (heap growth confidence high)"),
            std::string::npos)
      << memx::describe(a);
}

TEST(WatchAnalysis, SteadyWithNoiseIsNotFlagged) {
  std::mt19937 random(2);
  std::normal_distribution<double> noise(0, 64 * 1024);
  const auto a =
      memx::analyze_watch(series(100, 100, [&](int) { return (8 << 20) + noise(random); }));
  EXPECT_EQ(a.heap_bytes.confidence, GrowthConfidence::low);
  EXPECT_FALSE(a.leak);
  EXPECT_TRUE(a.recommendations.empty());
  EXPECT_NE(memx::describe(a).find("verdict: no growth found"), std::string::npos);
}

TEST(WatchAnalysis, OneStepIsNotATrend) {
  // A cache filled once, half-way through: the second half does not grow.
  const auto a = memx::analyze_watch(
      series(100, 100, [](int i) { return (1 << 20) + (i >= 50 ? 512 * 1024 : 0); }));
  EXPECT_EQ(a.heap_bytes.confidence, GrowthConfidence::low);
  EXPECT_FALSE(a.leak);
  // Early in the watch (start-up), the same.
  const auto b = memx::analyze_watch(
      series(100, 100, [](int i) { return (1 << 20) + (i >= 10 ? 512 * 1024 : 0); }));
  EXPECT_EQ(b.heap_bytes.confidence, GrowthConfidence::low);
}

TEST(WatchAnalysis, SawtoothIsNotATrend) {
  // A buffer filled for 2 s then flushed, five times over.
  const auto a =
      memx::analyze_watch(series(100, 100, [](int i) { return (1 << 20) + (i % 20) * 16 * 1024; }));
  EXPECT_EQ(a.heap_bytes.confidence, GrowthConfidence::low);
  EXPECT_FALSE(a.leak);
}

TEST(WatchAnalysis, BytesWithoutBlocksAreMedium) {
  auto s = series(100, 100, [](int i) { return (1 << 20) + 1024.0 * i; });
  for (WatchSample& x : s) x.heap_blocks = 10;  // one buffer reallocated ever larger
  const auto a = memx::analyze_watch(s);
  EXPECT_EQ(a.heap_bytes.confidence, GrowthConfidence::high);
  EXPECT_EQ(a.confidence, GrowthConfidence::medium);
  ASSERT_EQ(a.recommendations.size(), 1u);
  EXPECT_NE(a.recommendations[0].find("its blocks do not"), std::string::npos);
}

TEST(WatchAnalysis, DescriptorsThreadsAndRssAreNamed) {
  auto s = series(50, 100, [](int) { return 1 << 20; });
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i].fds = 5 + static_cast<std::int64_t>(i);          // 10 a second
    s[i].threads = 2 + static_cast<std::int64_t>(i / 5);  // 2 a second
    s[i].rss_bytes = (10 << 20) + static_cast<std::int64_t>(i) * 64 * 1024;
  }
  const auto a = memx::analyze_watch(s);
  EXPECT_TRUE(a.leak);
  EXPECT_EQ(a.confidence, GrowthConfidence::low);  // the heap does not grow
  EXPECT_EQ(a.fds.confidence, GrowthConfidence::high);
  EXPECT_EQ(a.threads.confidence, GrowthConfidence::high);
  EXPECT_EQ(a.rss_bytes.confidence, GrowthConfidence::high);
  ASSERT_EQ(a.recommendations.size(), 3u);
  EXPECT_NE(a.recommendations[0].find("never closed"), std::string::npos);
  EXPECT_NE(a.recommendations[1].find("never joined"), std::string::npos);
  EXPECT_NE(a.recommendations[2].find("while the live heap does not"), std::string::npos);
}

TEST(WatchAnalysis, UnreadableDescriptorsAreNotJudged) {
  auto s = series(50, 100, [](int) { return 1 << 20; });
  for (WatchSample& x : s) x.fds = x.threads = -1;
  const auto a = memx::analyze_watch(s);
  EXPECT_EQ(a.fds.confidence, GrowthConfidence::low);
  EXPECT_EQ(a.fds.per_second, 0);
  EXPECT_FALSE(a.leak);
}

TEST(WatchAnalysis, TooShortOrEmptyIsLowAndSaysSo) {
  const auto none = memx::analyze_watch({});
  EXPECT_EQ(none.samples, 0);
  EXPECT_EQ(none.confidence, GrowthConfidence::low);
  EXPECT_FALSE(none.leak);
  ASSERT_EQ(none.recommendations.size(), 1u);
  EXPECT_NE(none.recommendations[0].find("too short to judge: 0 samples"), std::string::npos);
  // A steep growth, but 4 samples, then 20 samples in half a second: neither is judged.
  const auto few = memx::analyze_watch(series(4, 500, [](int i) { return 1e6 * i; }));
  EXPECT_EQ(few.heap_bytes.confidence, GrowthConfidence::low);
  const auto brief = memx::analyze_watch(series(20, 25, [](int i) { return 1e6 * i; }));
  EXPECT_EQ(brief.heap_bytes.confidence, GrowthConfidence::low);
  EXPECT_NE(brief.recommendations[0].find("too short"), std::string::npos);
  // Between 5 and 9 samples: medium at most.
  const auto medium = memx::analyze_watch(series(8, 200, [](int i) { return 1e6 * i; }));
  EXPECT_EQ(medium.heap_bytes.confidence, GrowthConfidence::medium);
}

TEST(WatchAnalysis, BelowTheFloorIsNotGrowth) {
  // 100 B/s for 10 s: a perfect line, but 1 KiB in all is below the 4 KiB floor.
  const auto a = memx::analyze_watch(series(100, 100, [](int i) { return (1 << 20) + 10.0 * i; }));
  EXPECT_GT(a.heap_bytes.r2, 0.99);
  EXPECT_EQ(a.heap_bytes.confidence, GrowthConfidence::low);
}

TEST(WatchAnalysis, StacksEndingAtOneLineAreOneSite) {
  // A list's node and the string it copies, both pushed at one line: two stacks, one site.
  // The string's stack was followed from sample 10 on: the sum is read where both were.
  const auto samples = series(50, 100, [](int i) { return (1 << 20) + 4000.0 * i; });
  std::vector<memx::WatchSiteSeries> sites(2);
  for (int i = 0; i < 50; ++i) {
    sites[0].ms.push_back(i * 100.0);
    sites[0].bytes.push_back(100 * i);
    sites[0].blocks.push_back(i);
    if (i >= 10) {
      sites[1].ms.push_back(i * 100.0);
      sites[1].bytes.push_back(300 * i);
      sites[1].blocks.push_back(i);
    }
  }
  sites[0].stack_id = 5;
  sites[1].stack_id = 4;
  sites[0].where = sites[1].where = "leak.cpp:19 in handle_request";
  const auto a = memx::analyze_watch(samples, sites);
  ASSERT_EQ(a.sites.size(), 1u);
  EXPECT_EQ(a.sites[0].where, "leak.cpp:19 in handle_request");
  EXPECT_EQ(a.sites[0].stack_id, 4u);
  EXPECT_NEAR(a.sites[0].trend.per_second, 4000, 1e-6);
  EXPECT_EQ(a.sites[0].bytes, 400 * 49);
  EXPECT_EQ(a.sites[0].blocks, 2 * 49);
}

TEST(WatchAnalysis, GrowingSitesAreNamedFastestFirst) {
  const auto samples = series(50, 100, [](int i) { return (1 << 20) + 2048.0 * i; });
  std::vector<memx::WatchSiteSeries> sites(3);
  for (int i = 0; i < 50; ++i) {
    // A cache that grows by 3000 B/s, one by 2000 B/s and one that stays put; the slower one
    // was followed only from sample 20 on (when it first was among the largest).
    sites[0].ms.push_back(i * 100.0);
    sites[0].bytes.push_back(300 * i);
    sites[0].blocks.push_back(i);
    sites[1].ms.push_back(i * 100.0);
    sites[1].bytes.push_back(64 * 1024);
    sites[1].blocks.push_back(4);
    if (i >= 20) {
      sites[2].ms.push_back(i * 100.0);
      sites[2].bytes.push_back(200 * i);
      sites[2].blocks.push_back(i / 4);
    }
  }
  sites[0].stack_id = 7;
  sites[0].where = "cache.cpp:42 in Cache::put";
  sites[1].stack_id = 8;
  sites[2].stack_id = 9;  // not symbolised
  const auto a = memx::analyze_watch(samples, sites);
  ASSERT_EQ(a.sites.size(), 2u);
  EXPECT_EQ(a.sites[0].where, "cache.cpp:42 in Cache::put");
  EXPECT_NEAR(a.sites[0].trend.per_second, 3000, 1e-6);
  EXPECT_EQ(a.sites[0].bytes, 300 * 49);
  EXPECT_EQ(a.sites[0].blocks, 49);
  EXPECT_EQ(a.sites[1].where, "stack #9");
  EXPECT_NEAR(a.sites[1].trend.per_second, 2000, 1e-6);
  ASSERT_GE(a.recommendations.size(), 2u);
  EXPECT_EQ(a.recommendations[0].rfind(
                "the allocation site cache.cpp:42 in Cache::put grows by +2.9 KiB/s", 0),
            0u)
      << a.recommendations[0];
  EXPECT_NE(
      memx::describe(a).find("  site: +2.9 KiB/s (R^2 1.00): high at cache.cpp:42 in Cache::put\n"),
      std::string::npos)
      << memx::describe(a);
}

TEST(LeakWatch, IntervalOfZeroOrLessIsRefusedByName) {
  memx::LeakWatch watch;
  try {
    watch.start(std::chrono::milliseconds(0));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("interval 0 ms is not positive"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(watch.start(std::chrono::milliseconds(-5)), std::invalid_argument);
  EXPECT_FALSE(watch.running());
  EXPECT_TRUE(watch.samples().empty());
}

TEST(LeakWatch, StopTwiceAndAnalyzeWithoutSamplesAreHarmless) {
  memx::LeakWatch watch;
  watch.stop();  // never started
  const memx::WatchAnalysis a = watch.analyze();
  EXPECT_EQ(a.samples, 0);
  EXPECT_FALSE(a.leak);
  watch.start(std::chrono::milliseconds(10));
  EXPECT_TRUE(watch.running());
  EXPECT_THROW(watch.start(std::chrono::milliseconds(10)), std::logic_error);
  watch.stop();
  watch.stop();
  EXPECT_FALSE(watch.running());
  EXPECT_GE(watch.samples().size(), 2u);  // the first at start, the last at stop
}

TEST(LeakWatch, SamplesSeeTheHeapDescriptorsAndThreads) {
  memx::LeakWatch watch;
  watch.start(std::chrono::milliseconds(5));
  auto kept = std::make_unique<char[]>(1 << 20);
  kept[0] = 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  watch.stop();
  const std::vector<WatchSample> s = watch.samples();
  ASSERT_GE(s.size(), 3u);  // start, some of the thread's, stop
  EXPECT_GE(s.back().heap_bytes - s.front().heap_bytes, 1 << 20);
  EXPECT_GE(s.back().heap_blocks - s.front().heap_blocks, 1);
  EXPECT_GT(s.front().rss_bytes, 0);
  EXPECT_GT(s.front().fds, 0);
  EXPECT_GE(s.front().threads, 1);  // this one (the watch's own is not counted)
  for (const WatchSample& x : s) EXPECT_EQ(x.threads, s.front().threads);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i].ms, s[i - 1].ms);
  EXPECT_EQ(watch.interval(), std::chrono::milliseconds(5));
}

TEST(LeakWatch, ItsOwnMemoryIsNotCounted) {
  const std::int64_t before = memx::counters().live_bytes;
  {
    auto watch = std::make_unique<memx::LeakWatch>();
    const std::int64_t with_watch = memx::counters().live_bytes;
    EXPECT_EQ(with_watch, before + static_cast<std::int64_t>(memx::usable_size(watch.get())));
    watch->start(std::chrono::milliseconds(2), 16);  // small: it halves its samples too
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    watch->stop();
    EXPECT_EQ(memx::counters().live_bytes, with_watch);
    EXPECT_LE(watch->samples().size(), 16u);
  }
  EXPECT_EQ(memx::counters().live_bytes, before);
}

TEST(LeakWatch, StartsAgainWithNewSamples) {
  memx::LeakWatch watch;
  watch.start(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  watch.stop();
  watch.start(std::chrono::milliseconds(1000));
  watch.stop();
  const auto s = watch.samples();
  ASSERT_EQ(s.size(), 2u);  // only the second watch's first and last
  EXPECT_LT(s.front().ms, 100);
}

TEST(LeakWatch, StackModeFollowsTheGrowingSite) {
  ASSERT_TRUE(memx::stacks::enable());
  std::vector<std::unique_ptr<char[]>> kept;
  kept.reserve(1000);
  memx::LeakWatch watch;
  watch.start(std::chrono::milliseconds(20));
  for (int i = 0; i < 60; ++i) {
    kept.push_back(std::make_unique<char[]>(2000));  // SITE: the watched leak
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  watch.stop();
  const memx::WatchAnalysis a = watch.analyze();
  const std::vector<memx::WatchSiteSeries> sites = watch.site_series();
  memx::stacks::disable();
  ASSERT_FALSE(sites.empty());
  ASSERT_FALSE(a.sites.empty()) << memx::describe(a);
  EXPECT_EQ(a.sites[0].where.rfind("stack #", 0), 0u);
  EXPECT_GE(a.sites[0].blocks, 59);
  EXPECT_GE(a.sites[0].trend.per_second, 50 * 1000.0);  // 2000 B every 20 ms: 100 KB/s
  // Named in a report: the line of the allocation.
  const memx::Report r = memx::watch_report(watch);
  ASSERT_TRUE(r.watch);
  ASSERT_FALSE(r.watch->analysis.sites.empty());
  EXPECT_NE(r.watch->analysis.sites[0].where.find("watch_test.cpp:" +
                                                  std::to_string(MEMX_WATCH_SITE_LINE)),
            std::string::npos)
      << r.watch->analysis.sites[0].where;
}

TEST(WatchInterval, ParsesWholeMilliseconds) {
  EXPECT_EQ(memx::parse_watch_interval("1"), std::chrono::milliseconds(1));
  EXPECT_EQ(memx::parse_watch_interval("250"), std::chrono::milliseconds(250));
  EXPECT_EQ(memx::parse_watch_interval("3600000"), std::chrono::milliseconds(3600000));
  for (const char* bad :
       {"", "0", "-5", "+5", "3600001", "10ms", " 10", "1.5", "abc", "99999999"}) {
    EXPECT_FALSE(memx::parse_watch_interval(bad)) << bad;
  }
}

TEST(WatchReport, HoldsTheWatchAndNoTests) {
  memx::LeakWatch watch;
  watch.start(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  watch.stop();
  const memx::Report r = memx::watch_report(watch);
  EXPECT_EQ(r.framework, "none");
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.tests.empty());
  ASSERT_TRUE(r.watch);
  EXPECT_EQ(r.watch->samples, watch.samples());
  EXPECT_EQ(r.watch->interval_ms, 5);
  const memx::ReportRead back = memx::read_report(memx::to_json(r), "watch.json");
  ASSERT_TRUE(back.report) << back.error;
  EXPECT_EQ(*back.report, r);
}

}  // namespace
