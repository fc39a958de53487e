// memx::Scope and memx::track.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/scope.hpp"
#include "producer_consumer.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Scope, MeasuresNetPeakAndAllocationsOfItsLifetime) {
  std::vector<int>* kept = nullptr;
  memx::Scope scope(1ms);
  {
    std::vector<char> temporary(1 << 20);
  }
  kept = new std::vector<int>(1000);
  const memx::Usage u = scope.stop();
  const auto kept_bytes = static_cast<std::int64_t>(memx::usable_size(kept) +
                                                    memx::usable_size(kept->data()));
  EXPECT_EQ(u.net_bytes, kept_bytes);
  EXPECT_EQ(u.net_blocks, 2);
  EXPECT_EQ(u.allocs, 3u);
  EXPECT_EQ(u.frees, 1u);
  EXPECT_GE(u.peak_bytes, 1 << 20);
  EXPECT_LT(u.peak_bytes, (1 << 20) + 64 * 1024);
  EXPECT_GT(u.rss_start_bytes, 0);
  EXPECT_GE(u.rss_peak_bytes, u.rss_start_bytes);
  EXPECT_EQ(u.rss_peak_growth_bytes, u.rss_peak_bytes - u.rss_start_bytes);
  EXPECT_GE(u.rss_timeline.size(), 2u);  // opening and closing samples
  EXPECT_GT(u.duration.count(), 0);
  delete kept;
  const memx::Usage again = scope.stop();
  EXPECT_EQ(again.net_bytes, u.net_bytes) << "stop() is idempotent";
  EXPECT_EQ(again.allocs, u.allocs);
}

TEST(Scope, CountsAllocationsOfOtherThreadsWhileOpen) {
  std::string* from_thread = nullptr;
  memx::Scope scope;
  std::thread t([&] { from_thread = new std::string(1000, 't'); });
  t.join();
  const memx::Usage u = scope.stop();
  EXPECT_GE(u.net_bytes, 1000);
  EXPECT_GE(u.allocs, 2u);
  delete from_thread;
}

TEST(Scope, ProducerConsumerPeakIsTheLivePeakNotWhatPassedThrough) {
  memx_test::ProducerConsumer pc;
  memx::Scope scope;
  pc.run();
  const memx::Usage u = scope.stop();
  EXPECT_GE(u.peak_bytes, pc.min_true_peak());
  EXPECT_LE(u.peak_bytes, pc.max_true_peak() + pc.kStatedError);
  EXPECT_GE(u.bytes_allocated, static_cast<std::uint64_t>(pc.kTotal) *
                                   static_cast<std::uint64_t>(pc.block_usable))
      << "100 MB passed through the queue";
}

TEST(Scope, UsageWhileOpenThenStop) {
  memx::Scope scope;
  auto* a = new char[100];
  memx::test::escape(a);
  const memx::Usage mid = scope.usage();
  delete[] a;
  const memx::Usage end = scope.stop();
  EXPECT_EQ(mid.allocs, 1u);
  EXPECT_GT(mid.net_bytes, 0);
  EXPECT_EQ(end.net_bytes, 0);
  EXPECT_EQ(end.allocs, 1u);
}

TEST(Track, ReturnsTheValueWithItsFigures) {
  auto tracked = memx::track([] {
    std::map<int, std::string> m;
    for (int i = 0; i < 100; ++i) m[i] = std::string(100, 'm');
    return m;
  });
  EXPECT_EQ(tracked.value.size(), 100u);
  EXPECT_EQ(tracked.usage.net_blocks, 200);  // 100 nodes and 100 string buffers
  EXPECT_EQ(tracked.usage.allocs, 200u);
  EXPECT_EQ(tracked.usage.peak_bytes, tracked.usage.net_bytes);
}

TEST(Track, VoidFunctions) {
  int calls = 0;
  auto tracked = memx::track([&] {
    ++calls;
    std::vector<double> v(10000);
  }, 2ms);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(tracked.usage.net_bytes, 0);
  EXPECT_GE(tracked.usage.peak_bytes, 80000);
}

TEST(Track, ExceptionsPropagateAndCloseTheScope) {
  EXPECT_THROW(memx::track([]() -> int { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_FALSE(memx::rss_sampler_running());
}

}  // namespace
