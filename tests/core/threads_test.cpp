// Per-thread counters stay exact across threads: cross-thread frees, thread exit,
// thread_local destructors and concurrent churn.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"

namespace {

using memx::test::Delta;
using memx::test::measure;

TEST(Threads, BlocksFreedOnAnotherThreadBalance) {
  std::vector<std::unique_ptr<std::string>>* blocks = nullptr;
  const memx::Counters start = memx::counters();
  std::thread producer([&] {
    blocks = new std::vector<std::unique_ptr<std::string>>();
    blocks->reserve(1000);
    for (int i = 0; i < 1000; ++i) blocks->push_back(std::make_unique<std::string>(100, 'p'));
  });
  producer.join();
  const memx::Counters produced = memx::counters();
  std::thread consumer([&] { delete blocks; });
  consumer.join();
  const Delta total = memx::test::diff(start, memx::counters());
  EXPECT_GE(memx::test::diff(start, produced).bytes, 1000 * 100);
  EXPECT_EQ(total.bytes, 0);
  EXPECT_EQ(total.blocks, 0);
  EXPECT_GE(total.allocs, 2002u);
  EXPECT_EQ(total.allocs, total.frees);
}

TEST(Threads, CountsOfExitedThreadsAreKept) {
  std::vector<char*> kept(10);
  const memx::Counters start = memx::counters();
  std::thread t([&] {
    for (auto& p : kept) p = new char[1000];
  });
  t.join();
  std::int64_t expected = 0;
  for (char* p : kept) expected += static_cast<std::int64_t>(memx::usable_size(p));
  const Delta after_exit = memx::test::diff(start, memx::counters());
  EXPECT_EQ(after_exit.bytes, expected);
  EXPECT_EQ(after_exit.blocks, 10);
  for (char* p : kept) delete[] p;
  const Delta after_free = memx::test::diff(start, memx::counters());
  EXPECT_EQ(after_free.bytes, 0);
  EXPECT_EQ(after_free.blocks, 0);
}

TEST(Threads, ThreadLocalDestructorsAreCountedBeforeTheThreadIsForgotten) {
  const Delta d = measure([] {
    std::thread t([] {
      thread_local std::vector<std::string> cache(100, std::string(64, 'c'));
      ASSERT_EQ(cache.size(), 100u);
    });
    t.join();
  });
  EXPECT_GE(d.allocs, 101u);
  EXPECT_EQ(d.bytes, 0);
  EXPECT_EQ(d.allocs, d.frees);
}

TEST(Threads, ConcurrentChurnWithHandOffIsExact) {
  constexpr int kThreads = 4;
  constexpr int kOps = 50000;
  std::vector<std::atomic<void*>> mailbox(64);
  for (auto& m : mailbox) m.store(nullptr);
  const Delta d = measure([&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t));
        for (int i = 0; i < kOps; ++i) {
          void* p = ::operator new(rng() % 2000);
          // Swap with a random mailbox slot: whatever was there is freed here, often
          // by another thread than the one that allocated it.
          void* old = mailbox[rng() % mailbox.size()].exchange(p);
          ::operator delete(old);
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& m : mailbox) ::operator delete(m.exchange(nullptr));
  });
  EXPECT_EQ(d.bytes, 0);
  EXPECT_EQ(d.blocks, 0);
  EXPECT_GE(d.allocs, static_cast<std::uint64_t>(kThreads) * kOps);
  EXPECT_EQ(d.allocs, d.frees);
}

TEST(Threads, ManyShortLivedThreads) {
  const Delta d = measure([] {
    for (int round = 0; round < 50; ++round) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([] { std::vector<int> v(1000); });
      }
      for (auto& t : threads) t.join();
    }
  });
  EXPECT_EQ(d.bytes, 0);
  EXPECT_EQ(d.allocs, d.frees);
}

TEST(Threads, ThisThreadCountersSeeOnlyTheCallingThread) {
  std::atomic<bool> go{false};
  std::thread t([&] {  // started before the measurement: std::thread allocates its state here
    while (!go) std::this_thread::yield();
    std::vector<int> v(5000);
    memx::test::escape(v.data());
  });
  const memx::Counters before = memx::this_thread_counters();
  go = true;
  t.join();
  char* mine = new char[64];
  memx::test::escape(mine);
  const memx::Counters after = memx::this_thread_counters();
  EXPECT_EQ(after.allocs - before.allocs, 1u);
  EXPECT_EQ(after.live_bytes - before.live_bytes,
            static_cast<std::int64_t>(memx::usable_size(mine)));
  delete[] mine;
}

}  // namespace
