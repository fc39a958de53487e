// The stack table: ids, dedup (also from 16 threads at once), frames back, bounds.
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
      for (int s = 0; s < kStacks; ++s) {
        const auto st = stack_of(static_cast<std::uintptr_t>(s), 8);
        seen[t][s] = table.intern(st.data(), 8);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.size(), static_cast<std::uint32_t>(kStacks));
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
}

}  // namespace
}  // namespace memx::detail
