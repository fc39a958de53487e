// The live-block map: exact against a reference map under random inserts and erases, frees
// from other threads, and its memory per live block.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "stacks/live_map.hpp"

namespace memx::detail {
namespace {

LiveBlock block(std::uintptr_t a, std::uint64_t n = 1) {
  return LiveBlock{a, 16 * n, static_cast<std::uint32_t>(n % 100 + 1), 7, n};
}

std::unordered_map<std::uintptr_t, LiveBlock> contents(LiveMap& m) {
  std::unordered_map<std::uintptr_t, LiveBlock> out;
  for (int s = 0; s < LiveMap::shards(); ++s) {
    m.for_each_in_shard(s, [&](const LiveBlock& b) { out.emplace(b.address, b); });
  }
  return out;
}

TEST(LiveMap, PacksAndUnpacksEveryField) {
  static LiveMap m;
  const LiveBlock big{0x7fff12345670, (std::uint64_t{5} << 40) + 24, 0xfedcba98u, 0xabcdef,
                      (std::uint64_t{1} << 39) + 3};
  ASSERT_TRUE(m.insert(big));
  const auto c = contents(m);
  ASSERT_EQ(c.size(), 1u);
  const LiveBlock& b = c.at(big.address);
  EXPECT_EQ(b.size, big.size);
  EXPECT_EQ(b.stack_id, big.stack_id);
  EXPECT_EQ(b.scope_id, big.scope_id);
  EXPECT_EQ(b.alloc_number, big.alloc_number);
  EXPECT_FALSE(m.insert(LiveBlock{std::uintptr_t{1} << 50, 8, 1, 0, 0}));  // above 2^48
  EXPECT_TRUE(m.erase(big.address));
  EXPECT_FALSE(m.erase(big.address));
  EXPECT_EQ(m.size(), 0u);
}

TEST(LiveMap, MatchesAReferenceMapUnderRandomOperations) {
  static LiveMap m;
  std::unordered_map<std::uintptr_t, LiveBlock> ref;
  std::mt19937_64 rng(42);
  std::vector<std::uintptr_t> keys;
  for (std::uint64_t i = 1; i <= 300000; ++i) {
    if (keys.empty() || rng() % 3 != 0) {
      // Addresses that cluster as an allocator's do: 16-byte steps in a few regions.
      const std::uintptr_t a = 0x10000000 + (rng() % 4) * 0x100000000ull + (rng() % 200000) * 16;
      const bool fresh = ref.find(a) == ref.end();
      ASSERT_TRUE(m.insert(block(a, i)));
      ref[a] = block(a, i);
      if (fresh) keys.push_back(a);
    } else {
      const std::size_t k = rng() % keys.size();
      const std::uintptr_t a = keys[k];
      keys[k] = keys.back();
      keys.pop_back();
      ASSERT_TRUE(m.erase(a));
      ref.erase(a);
    }
  }
  ASSERT_EQ(m.size(), ref.size());
  const auto c = contents(m);
  ASSERT_EQ(c.size(), ref.size());
  for (const auto& [a, b] : ref) {
    auto it = c.find(a);
    ASSERT_NE(it, c.end());
    EXPECT_EQ(it->second.alloc_number, b.alloc_number);
    EXPECT_EQ(it->second.size, b.size);
  }
  for (const auto& [a, b] : ref) ASSERT_TRUE(m.erase(a));
  EXPECT_EQ(m.size(), 0u);
}

TEST(LiveMap, FreesFromOtherThreadsLeaveNothingBehind) {
  static LiveMap m;
  constexpr int kThreads = 8, kPer = 50000;
  std::vector<std::thread> th;
  for (int t = 0; t < kThreads; ++t) {
    th.emplace_back([t] {
      for (int i = 0; i < kPer; ++i) m.insert(block(0x20000000 + (t * kPer + i) * 32ull, i + 1));
    });
  }
  for (auto& x : th) x.join();
  ASSERT_EQ(m.size(), static_cast<std::size_t>(kThreads * kPer));
  th.clear();
  for (int t = 0; t < kThreads; ++t) {  // each thread frees another thread's blocks
    th.emplace_back([t] {
      const int owner = (t + 3) % kThreads;
      for (int i = 0; i < kPer; ++i) EXPECT_TRUE(m.erase(0x20000000 + (owner * kPer + i) * 32ull));
    });
  }
  for (auto& x : th) x.join();
  EXPECT_EQ(m.size(), 0u);
}

TEST(LiveMap, CostsAtMost64BytesPerLiveBlock) {
  static LiveMap m;
  // Sizes between the table's doublings and right after one are its best and worst cases.
  for (std::size_t live : {100000u, 200000u, 500000u, 1000000u, 1600000u}) {
    m.clear();
    for (std::size_t i = 0; i < live; ++i) m.insert(block(0x30000000 + i * 48, i + 1));
    const double per_block = static_cast<double>(m.memory_bytes()) / static_cast<double>(live);
    std::printf("live blocks %zu: live-block map %zu bytes, %.1f bytes per live block\n", live,
                m.memory_bytes(), per_block);
    EXPECT_LE(per_block, 64.0) << live << " live blocks";
  }
}

// One region's shard (a thread's blocks) grows with its blocks and trim() (between tests)
// shrinks it once they are freed: the map's memory follows the blocks live now, not the sum
// of each shard's highest.
TEST(LiveMap, AShardShrinksWhenItsBlocksAreFreed) {
  static LiveMap m;
  constexpr std::size_t kLive = 200000;
  for (std::size_t i = 0; i < kLive; ++i) ASSERT_TRUE(m.insert(block(0x40000000 + i * 32, i + 1)));
  const std::size_t full = m.memory_bytes();
  EXPECT_LE(static_cast<double>(full) / kLive, 64.0);
  for (std::size_t i = 10; i < kLive; ++i) ASSERT_TRUE(m.erase(0x40000000 + i * 32)) << i;
  EXPECT_EQ(m.size(), 10u);
  EXPECT_EQ(m.memory_bytes(), full);  // not while blocks come and go
  m.trim();
  EXPECT_LE(m.memory_bytes(), full / 64) << "the shard kept its table of " << full << " bytes";
  for (std::size_t i = 0; i < 10; ++i) {
    LiveBlock b{};
    ASSERT_TRUE(m.erase(0x40000000 + i * 32, &b)) << i;
    EXPECT_EQ(b.alloc_number, i + 1);
  }
  EXPECT_EQ(m.size(), 0u);
  for (std::size_t i = 0; i < 1000; ++i) ASSERT_TRUE(m.insert(block(0x40000000 + i * 32, i + 1)));
  EXPECT_EQ(m.size(), 1000u);
  m.clear();
}

}  // namespace
}  // namespace memx::detail
