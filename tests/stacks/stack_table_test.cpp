// The stack table: ids, dedup (also from 16 threads at once), frames back, bounds, and the
// per-thread cache in front of it.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "stacks/stack_table.hpp"

namespace memx::detail {
namespace {

std::vector<void*> stack_of(std::uintptr_t seed, int depth) {
  std::vector<void*> v;
  for (int i = 0; i < depth; ++i)
    v.push_back(reinterpret_cast<void*>(0x400000 + seed * 4096 + i * 16));
  return v;
}

TEST(StackTable, SameStackSameIdDifferentStackNewId) {
  static StackTable table;
  const auto a = stack_of(1, 10), b = stack_of(2, 10), a_short = stack_of(1, 9);
  const std::uint32_t ia = table.intern(a.data(), 10);
  EXPECT_NE(ia, 0u);
  EXPECT_EQ(table.intern(a.data(), 10), ia);
  EXPECT_NE(table.intern(b.data(), 10), ia);
  EXPECT_NE(table.intern(a_short.data(), 9), ia);  // a prefix is another stack
  EXPECT_EQ(table.size(), 3u);
  std::uintptr_t out[64];
  ASSERT_EQ(table.frames(ia, out, 64), 10);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[i], reinterpret_cast<std::uintptr_t>(a[i]));
  EXPECT_EQ(table.frames(ia, out, 4), 4);  // truncated to what the caller has room for
  EXPECT_EQ(table.frames(0, out, 64), 0);
  EXPECT_EQ(table.frames(12345, out, 64), 0);
}

TEST(StackTable, RejectsEmptyAndTooDeep) {
  static StackTable table;
  const auto deep = stack_of(3, kMaxStackDepth + 1);
  EXPECT_EQ(table.intern(deep.data(), 0), 0u);
  EXPECT_EQ(table.intern(deep.data(), kMaxStackDepth + 1), 0u);
  EXPECT_NE(table.intern(deep.data(), kMaxStackDepth), 0u);
}

TEST(StackTable, ManyStacksRoundTripAndIdsAreDense) {
  static StackTable table;
  std::set<std::uint32_t> ids;
  for (std::uintptr_t s = 0; s < 20000; ++s) {
    const auto st = stack_of(s, 1 + static_cast<int>(s % 32));
    ids.insert(table.intern(st.data(), static_cast<int>(st.size())));
  }
  EXPECT_EQ(ids.size(), 20000u);
  EXPECT_EQ(*ids.begin(), 1u);
  EXPECT_EQ(*ids.rbegin(), 20000u);
  for (std::uintptr_t s = 0; s < 20000; s += 997) {
    const auto st = stack_of(s, 1 + static_cast<int>(s % 32));
    const std::uint32_t id = table.intern(st.data(), static_cast<int>(st.size()));
    std::uintptr_t out[64];
    ASSERT_EQ(table.frames(id, out, 64), static_cast<int>(st.size()));
    EXPECT_EQ(out[0], reinterpret_cast<std::uintptr_t>(st[0]));
  }
  EXPECT_GT(table.memory_bytes(), 20000u * 8);
}

TEST(StackTable, ThreadCacheGivesTheTablesIdsAndNeverConfusesStacks) {
  static StackTable table;
  static StackCache cache;  // zero-initialised, as the per-thread caches are
  // Stacks the cache's key cannot tell apart (same depth, same three innermost frames):
  // they differ in an outer frame only, or are one frame shorter.
  std::vector<std::vector<void*>> stacks;
  for (std::uintptr_t s = 0; s < 4; ++s) {
    auto st = stack_of(7, 12);
    st[11] = reinterpret_cast<void*>(0x900000 + s * 16);
    stacks.push_back(st);
  }
  stacks.push_back(stack_of(7, 11));
  // And more stacks than the cache has entries, so that entries are replaced.
  for (std::uintptr_t s = 100; s < 164; ++s) stacks.push_back(stack_of(s, 1 + s % 20));
  std::vector<std::uint32_t> ids;
  for (const auto& st : stacks) ids.push_back(table.intern(st.data(), static_cast<int>(st.size())));
  EXPECT_EQ(std::set<std::uint32_t>(ids.begin(), ids.end()).size(), stacks.size());
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < stacks.size(); ++i) {
      ASSERT_EQ(table.intern(stacks[i].data(), static_cast<int>(stacks[i].size()), cache), ids[i])
          << "stack " << i << ", round " << round;
      // A repeat is the cache's hit.
      ASSERT_EQ(table.intern(stacks[i].data(), static_cast<int>(stacks[i].size()), cache), ids[i]);
    }
  }
  // A stack first seen through a cache is stored in the table like any other.
  const auto fresh = stack_of(999, 9);
  const std::uint32_t id = table.intern(fresh.data(), 9, cache);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(table.intern(fresh.data(), 9), id);
  EXPECT_EQ(table.size(), static_cast<std::uint32_t>(stacks.size() + 1));
  EXPECT_EQ(table.intern(fresh.data(), 0, cache), 0u);
  EXPECT_EQ(table.intern(fresh.data(), kMaxStackDepth + 1, cache), 0u);
}

TEST(StackTable, SixteenThreadsInterningTheSameStacksGetOneIdEach) {
  static StackTable table;
  constexpr int kThreads = 16, kStacks = 200;
  std::vector<std::vector<std::uint32_t>> seen(kThreads, std::vector<std::uint32_t>(kStacks));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      StackCache cache{};  // half the threads go through a cache of their own
      for (int s = 0; s < kStacks; ++s) {
        const auto st = stack_of(static_cast<std::uintptr_t>(s), 8);
        seen[t][s] = t % 2 == 0 ? table.intern(st.data(), 8) : table.intern(st.data(), 8, cache);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.size(), static_cast<std::uint32_t>(kStacks));
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
}

}  // namespace
}  // namespace memx::detail
