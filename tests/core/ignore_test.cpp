// memx::IgnoreScope and MEMX_IGNORE: blocks allocated inside are never counted, nor are their
// frees, wherever and whenever they happen; everything else is counted as before.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/ignore.hpp"
#include "memx/stacks.hpp"
#include "memx/uncounted.hpp"

namespace {

using memx::test::Delta;
using memx::test::escape;
using memx::test::measure;

TEST(Ignore, AllocationsInsideAreNotCounted) {
  const memx::IgnoredCounters before = memx::ignored_counters();
  std::vector<std::string>* kept = nullptr;
  const Delta d = measure([&] {
    memx::IgnoreScope ignore;
    EXPECT_FALSE(memx::counting_this_thread());
    kept = new std::vector<std::string>(50, std::string(100, 'i'));
  });
  EXPECT_EQ(d.allocs, 0u);
  EXPECT_EQ(d.bytes, 0);
  const memx::IgnoredCounters after = memx::ignored_counters();
  // The vector, its array, 50 strings, and the temporary string they copied (freed inside).
  EXPECT_EQ(after.allocs - before.allocs, 53u);
  EXPECT_EQ(after.frees - before.frees, 1u);
  EXPECT_GE(after.bytes_allocated - before.bytes_allocated, 50u * 101 + 50 * 32 + 24);
  EXPECT_EQ(after.counted, before.counted);
  EXPECT_TRUE(memx::counting_this_thread());
  // Their frees, outside the scope, are not counted either.
  const Delta freed = measure([&] { delete kept; });
  EXPECT_EQ(freed.frees, 0u);
  EXPECT_EQ(freed.bytes, 0);
  const memx::IgnoredCounters end = memx::ignored_counters();
  EXPECT_EQ(end.frees - before.frees, 53u);
  EXPECT_EQ(end.bytes_freed - before.bytes_freed, end.bytes_allocated - before.bytes_allocated);
}

TEST(Ignore, AFreeFromAnotherThreadIsNotCounted) {
  int* singleton = nullptr;
  MEMX_IGNORE(singleton = new int(42));
  const Delta d = measure([&] {
    std::thread other([&] { delete singleton; });
    other.join();
  });
  // std::thread's own state is counted (allocated here, freed there): one pair at most.
  EXPECT_EQ(d.bytes, 0);
  EXPECT_EQ(d.allocs, d.frees);
  EXPECT_LE(d.frees, 1u);
}

TEST(Ignore, CountedBlocksFreedInsideAreCounted) {
  auto* counted = new std::string(200, 'c');
  const std::int64_t size = static_cast<std::int64_t>(memx::usable_size(counted) +
                                                      memx::usable_size(counted->data()));
  const Delta d = measure([&] {
    memx::IgnoreScope ignore;
    delete counted;
  });
  EXPECT_EQ(d.frees, 2u);
  EXPECT_EQ(d.bytes, -size);
}

TEST(Ignore, NestsAndRestoresCounting) {
  char* outside = nullptr;
  void* a = nullptr;
  void* b = nullptr;
  const Delta d = measure([&] {
    {
      memx::IgnoreScope outer;
      {
        memx::IgnoreScope inner;
        a = ::operator new(24);
      }
      EXPECT_FALSE(memx::counting_this_thread());
      b = ::operator new(48);
    }
    outside = new char[10];
  });
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(memx::usable_size(outside)));
  const Delta freed = measure([&] {
    ::operator delete(a);
    ::operator delete(b, 48);  // the sized form too
    delete[] outside;
  });
  EXPECT_EQ(freed.frees, 1u);
}

TEST(Ignore, OnlyTheCallingThreadIsIgnored) {
  const Delta d = measure([] {
    memx::IgnoreScope ignore;
    std::thread other([] {
      char* p = new char[64];
      escape(p);
      delete[] p;
    });
    other.join();
  });
  EXPECT_GE(d.allocs, 1u);  // the other thread's pair
  EXPECT_GE(d.frees, 1u);
}

TEST(Ignore, AThreadMayStartInsideAScope) {
  // The thread's very first allocation is ignored; it registers at its first counted one.
  std::uint64_t counted_allocs = 0;
  std::thread fresh([&] {
    void* kept = nullptr;
    {
      memx::IgnoreScope ignore;
      kept = ::operator new(100);
    }
    const memx::Counters before = memx::this_thread_counters();
    std::string s(300, 's');
    escape(s.data());
    counted_allocs = memx::this_thread_counters().allocs - before.allocs;
    ::operator delete(kept);
  });
  fresh.join();
  EXPECT_EQ(counted_allocs, 1u);
}

TEST(Ignore, AlignedAndLargeBlocks) {
  struct alignas(256) Wide {
    char bytes[512];
  };
  Wide* w = nullptr;
  char* big = nullptr;
  char* huge = nullptr;
  const Delta d = measure([&] {
    memx::IgnoreScope ignore;
    w = new Wide;
    big = new char[1 << 20];
    huge = new char[std::size_t{48} << 20];
    huge[0] = 1;
  });
  EXPECT_EQ(d.allocs, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w) % 256, 0u);
  for (std::size_t align : {16, 64, 4096}) {
    void* p = nullptr;
    {
      memx::IgnoreScope ignore;
      p = ::operator new(align * 3, std::align_val_t(align));  // a multiple of the alignment
    }
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
    const Delta f = measure([&] { ::operator delete(p, std::align_val_t(align)); });
    EXPECT_EQ(f.frees, 0u);
  }
  const Delta freed = measure([&] {
    delete w;
    delete[] big;
    delete[] huge;
  });
  EXPECT_EQ(freed.frees, 0u);
  EXPECT_EQ(freed.bytes, 0);
}

TEST(Ignore, InsideAGuardMemxKeepsItsOwn) {
  // memx's own bookkeeping (Uncounted) is not turned into ignored blocks.
  const memx::IgnoredCounters before = memx::ignored_counters();
  void* p = nullptr;
  {
    memx::Uncounted guard;
    memx::IgnoreScope ignore;
    p = memx::uncounted_malloc(32);
    delete new int(1);
  }
  EXPECT_EQ(memx::ignored_counters().allocs, before.allocs);
  memx::uncounted_free(p);
}

TEST(Ignore, TheMacroTakesStatementsWithCommas) {
  std::map<int, std::string>* registry = nullptr;
  const Delta d = measure([&] {
    MEMX_IGNORE(registry = new std::map<int, std::string>{{1, std::string(64, 'a')}, {2, "b"}});
  });
  EXPECT_EQ(d.allocs, 0u);
  EXPECT_EQ(registry->size(), 2u);
  const Delta freed = measure([&] { delete registry; });
  EXPECT_EQ(freed.frees, 0u);
}

TEST(Ignore, ManyThreadsIgnoreAndFreeEachOthersBlocks) {
  static constexpr int kThreads = 8;
  static constexpr int kBlocks = 2000;
  std::vector<std::vector<void*>> made(kThreads);
  const Delta d = measure([&] {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&made, i] {
        memx::IgnoreScope ignore;
        for (int k = 0; k < kBlocks; ++k) made[i].push_back(::operator new(16 + k % 300));
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&made, i] {
        for (void* p : made[(i + 1) % kThreads]) ::operator delete(p);
      });
    }
    for (auto& t : threads) t.join();
  });
  // What remains counted is std::thread's own state and the vectors' growth (each allocated
  // and freed by the threads): balanced.
  EXPECT_EQ(d.bytes, 0);
  EXPECT_EQ(d.allocs, d.frees);
}

TEST(Ignore, StackModeRecordsNoIgnoredBlock) {
  if (!memx::stacks::enable(8)) GTEST_SKIP() << "stack mode unavailable";
  const std::uint64_t first = memx::stacks::next_allocation_number();
  void* ignored = nullptr;
  void* counted = ::operator new(777);
  {
    memx::IgnoreScope ignore;
    ignored = ::operator new(555);
    ::operator delete(counted);  // recorded before the scope: forgotten, no phantom
  }
  memx::stacks::Filter f;
  f.first_number = first;
  std::uint64_t blocks = 0;
  for (const auto& s : memx::stacks::live_sites(f)) blocks += s.blocks;
  memx::stacks::disable();
  EXPECT_EQ(blocks, 0u);
  ::operator delete(ignored);
}

}  // namespace
