// memx::alloc_numbers: every counted allocation numbered from 1, the numbers of the blocks
// left live, and SIGTRAP at a chosen number.
#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/alloc_numbers.hpp"
#include "memx/ignore.hpp"
#include "memx/stacks.hpp"

namespace {

using memx::test::escape;

TEST(AllocNumbers, NumbersEveryCountedAllocationFromOne) {
  memx::alloc_numbers::start(/*track=*/false);
  EXPECT_TRUE(memx::alloc_numbers::active());
  for (int i = 0; i < 10; ++i) {
    int* p = new int(i);
    escape(p);
    delete p;
  }
  const memx::alloc_numbers::Result r = memx::alloc_numbers::stop();
  EXPECT_FALSE(memx::alloc_numbers::active());
  EXPECT_EQ(r.allocations, 10u);
  EXPECT_EQ(r.live, 0u);
}

TEST(AllocNumbers, NamesTheBlocksLeftLive) {
  std::vector<void*> kept;
  kept.reserve(16);
  memx::alloc_numbers::start(/*track=*/true);
  for (int i = 1; i <= 10; ++i) {
    void* p = ::operator new(16 * static_cast<std::size_t>(i));
    if (i == 3 || i == 7) {
      kept.push_back(p);
    } else {
      ::operator delete(p);
    }
  }
  const memx::alloc_numbers::Result r = memx::alloc_numbers::stop();
  EXPECT_EQ(r.allocations, 10u);
  EXPECT_EQ(r.live, 2u);
  ASSERT_EQ(r.numbers.size(), 2u);
  EXPECT_EQ(r.numbers[0], 3u);
  EXPECT_EQ(r.numbers[1], 7u);
  for (void* p : kept) ::operator delete(p);
}

TEST(AllocNumbers, KeepsTheLowestNumbersWhenManyAreLive) {
  std::vector<std::unique_ptr<int>> kept;
  kept.reserve(200);
  memx::alloc_numbers::start(/*track=*/true);
  for (int i = 0; i < 100; ++i) kept.emplace_back(new int(i));
  const memx::alloc_numbers::Result r = memx::alloc_numbers::stop(5);
  EXPECT_EQ(r.live, 100u);
  ASSERT_EQ(r.numbers.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(r.numbers[i], i + 1);
}

TEST(AllocNumbers, FreesFromAnotherThreadAndIgnoredBlocks) {
  memx::alloc_numbers::start(/*track=*/true);
  int* handed = new int(1);  // #1, freed by another thread
  void* ignored = nullptr;
  MEMX_IGNORE(ignored = ::operator new(64));  // not counted: no number
  std::thread other([handed] { delete handed; });
  other.join();
  const memx::alloc_numbers::Result r = memx::alloc_numbers::stop();
  // std::thread's state is numbered and freed too; nothing stays live.
  EXPECT_EQ(r.live, 0u);
  EXPECT_GE(r.allocations, 2u);
  ::operator delete(ignored);
}

TEST(AllocNumbers, CountingGoesOnWhileNumbering) {
  memx::alloc_numbers::start(/*track=*/true);
  const memx::test::Delta d = memx::test::measure([] {
    std::string s(500, 'n');
    escape(s.data());
  });
  memx::alloc_numbers::stop();
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.frees, 1u);
}

TEST(AllocNumbers, WorksInStackMode) {
  if (!memx::stacks::enable(8)) GTEST_SKIP() << "stack mode unavailable";
  memx::alloc_numbers::start(/*track=*/true);
  void* a = ::operator new(40);
  void* b = ::operator new(80);
  ::operator delete(a);
  const memx::alloc_numbers::Result r = memx::alloc_numbers::stop();
  memx::stacks::disable();
  ASSERT_EQ(r.numbers.size(), 1u);
  EXPECT_EQ(r.numbers[0], 2u);
  ::operator delete(b);
}

[[gnu::noinline]] void allocate_five() {
  for (int i = 0; i < 5; ++i) {
    int* p = new int(i);
    escape(p);
    delete p;
  }
}

TEST(AllocNumbersDeathTest, RaisesSigtrapAtTheNumber) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        memx::alloc_numbers::start(/*track=*/false, /*break_at=*/4, "Suite.Case");
        allocate_five();
        memx::alloc_numbers::stop();
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGTRAP),
      "memx: allocation #4 of Suite.Case \\(MEMX_BREAK_ON_ALLOC\\): raising SIGTRAP");
  // Not reached before it: three allocations then stop.
  EXPECT_EXIT(
      {
        memx::alloc_numbers::start(/*track=*/false, /*break_at=*/4, "Suite.Case");
        for (int i = 0; i < 3; ++i) delete new int(i);
        memx::alloc_numbers::stop();
        allocate_five();
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
