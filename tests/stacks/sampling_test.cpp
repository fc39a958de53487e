// Sampling mode (stacks::enable_sampling): estimates within 10% of the exact live bytes on
// many allocations of mixed sizes, counting unchanged and exact (sampled blocks are moved
// into memx's arena and counted as they were), frees from any thread, ignored blocks beside
// sampled ones, alignment kept.
#include <gtest/gtest.h>

#include <cstdint>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/counters.hpp"
#include "memx/ignore.hpp"
#include "memx/stacks.hpp"
#include "memx/tools.hpp"
#include "memx/uncounted.hpp"

namespace memx::test {
namespace {

class Sampling : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!stacks::enable_sampling(16 * 1024, 16)) {
      GTEST_SKIP() << "sampling needs memx's arena (not inside a sanitizer or Valgrind)";
    }
  }
  void TearDown() override { stacks::disable(); }
};

struct Totals {
  std::uint64_t bytes = 0;
  std::uint64_t blocks = 0;
};

Totals live_since(std::uint64_t first) {
  stacks::Filter f;
  f.first_number = first;
  Totals t;
  for (const stacks::Site& s : stacks::live_sites(f)) {
    t.bytes += s.bytes;
    t.blocks += s.blocks;
  }
  return t;
}

[[gnu::noinline]] void* allocate_one(std::size_t n) { return ::operator new(n); }

TEST_F(Sampling, EstimatesAreWithinTenPercentOfTheExactBytes) {
  EXPECT_EQ(stacks::sample_bytes(), 16u * 1024);
  EXPECT_TRUE(stacks::enabled());
  const std::uint64_t first = stacks::next_allocation_number();
  std::vector<void*, UncountedAllocator<void*>> blocks;
  blocks.reserve(400000);
  std::mt19937_64 rng(12345);
  std::uint64_t exact = 0;
  // ~64 MiB of mixed sizes: mostly small, some medium, a few large.
  while (exact < (std::uint64_t{64} << 20)) {
    const std::uint64_t r = rng() % 1000;
    const std::size_t n = r < 800 ? 16 + rng() % 240 : r < 990 ? 256 + rng() % 4000 : 16384 + rng() % 65536;
    void* p = allocate_one(n);
    blocks.push_back(p);
    exact += memx::usable_size(p);
  }
  const Totals est = live_since(first);
  const double bytes_error = (static_cast<double>(est.bytes) - static_cast<double>(exact)) / static_cast<double>(exact);
  const double blocks_error = (static_cast<double>(est.blocks) - static_cast<double>(blocks.size())) /
                              static_cast<double>(blocks.size());
  std::printf("sampling 16 KiB: exact %llu B in %zu blocks, estimated %llu B (%+.2f%%) in %llu blocks (%+.2f%%)\n",
              static_cast<unsigned long long>(exact), blocks.size(),
              static_cast<unsigned long long>(est.bytes), 100 * bytes_error,
              static_cast<unsigned long long>(est.blocks), 100 * blocks_error);
  // Bytes: about 4,000 samples, a standard error near 1.6%; 10% is six of them. Blocks are
  // noisier (a small block stands for up to a thousand): about 500 samples carry them.
  EXPECT_LT(std::abs(bytes_error), 0.10);
  EXPECT_LT(std::abs(blocks_error), 0.25);
  for (void* p : blocks) ::operator delete(p);
  EXPECT_EQ(live_since(first).blocks, 0u);
}

TEST_F(Sampling, CountingStaysExactAcrossThreads) {
  std::vector<void*> made;
  made.reserve(20000);
  std::uint64_t usable = 0;
  const Delta d = measure([&] {
    for (int i = 0; i < 20000; ++i) {
      made.push_back(allocate_one(64 + static_cast<std::size_t>(i % 1000)));
      usable += memx::usable_size(made.back());
    }
  });
  EXPECT_EQ(d.allocs, 20000u);
  EXPECT_EQ(d.frees, 0u);
  // The counted size is the original block's, whatever the arena gave the moved copy.
  EXPECT_NEAR(static_cast<double>(d.bytes), static_cast<double>(usable), 0.002 * static_cast<double>(usable));
  const Delta freed = measure([&] {
    std::thread other([&] {
      for (void* p : made) ::operator delete(p);
    });
    other.join();
  });
  // std::thread's own state is one more pair (allocated here, freed there).
  EXPECT_EQ(freed.frees, freed.allocs + 20000u);
  EXPECT_LE(freed.allocs, 1u);
  EXPECT_EQ(d.bytes + freed.bytes, 0);
}

TEST_F(Sampling, EveryBlockSampledKeepsItsAlignmentAndCount) {
  stacks::disable();
  ASSERT_TRUE(stacks::enable_sampling(1, 8));  // every allocation crosses the threshold
  ::operator delete(::operator new(8));  // arms the thread's threshold (a new-expression may be elided)
  void* a = nullptr;
  void* b = nullptr;
  stacks::set_scope(4242);
  const Delta d = measure([&] {
    a = ::operator new(1000, std::align_val_t(256));
    b = ::operator new(96);
  });
  stacks::set_scope(0);
  stacks::Filter mine;
  mine.scope = 4242;
  auto blocks = [&] {
    std::uint64_t n = 0;
    for (const stacks::Site& s : stacks::live_sites(mine)) n += s.blocks;
    return n;
  };
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 256, 0u);
  EXPECT_EQ(d.allocs, 2u);
  EXPECT_EQ(blocks(), 2u);
  const Delta f = measure([&] {
    ::operator delete(a, std::align_val_t(256));
    ::operator delete(b, 96);
  });
  EXPECT_EQ(f.frees, 2u);
  EXPECT_EQ(d.bytes + f.bytes, 0);
  EXPECT_EQ(blocks(), 0u);
}

TEST_F(Sampling, IgnoredBlocksBesideSampledOnes) {
  stacks::disable();
  ASSERT_TRUE(stacks::enable_sampling(1, 8));
  ::operator delete(::operator new(8));  // arms the thread's threshold (a new-expression may be elided)
  void* ignored = nullptr;
  void* sampled = nullptr;
  const Delta d = measure([&] {
    MEMX_IGNORE(ignored = ::operator new(200));
    sampled = ::operator new(200);
    ::operator delete(ignored);
  });
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.frees, 0u);
  const Delta f = measure([&] { ::operator delete(sampled); });
  EXPECT_EQ(f.frees, 1u);
  EXPECT_EQ(d.bytes + f.bytes, 0);
}

TEST(SamplingOff, RefusedOnTheCLibrarysAllocator) {
  // Inside a sanitizer memx counts on its allocator (the C library's functions), and a build
  // on the C library has no mimalloc at all: no arena either way.
  if (std::string(memx::backend_name()) == "mimalloc" && !memx::allocator_switched_for_tool()) {
    GTEST_SKIP() << "memx's own mimalloc in use";
  }
  EXPECT_FALSE(stacks::enable_sampling(512 * 1024));
  EXPECT_EQ(stacks::sample_bytes(), 0u);
  EXPECT_FALSE(stacks::enabled());
}

TEST(SamplingOff, BadMeansAreRefused) {
  EXPECT_FALSE(stacks::enable_sampling(0));
  EXPECT_FALSE(stacks::enable_sampling(1024, 0));
  EXPECT_EQ(stacks::sample_bytes(), 0u);
  EXPECT_DOUBLE_EQ(stacks::sample_weight(100, 0), 1.0);
  // A block far larger than the mean is always sampled: it stands for itself.
  EXPECT_NEAR(stacks::sample_weight(100 << 20, 512 * 1024), 1.0, 1e-9);
  // A small one stands for about mean/size blocks.
  EXPECT_NEAR(stacks::sample_weight(64, 512 * 1024), 512.0 * 1024 / 64, 1.0);
}

}  // namespace
}  // namespace memx::test
