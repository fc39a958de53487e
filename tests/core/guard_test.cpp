// memx::Uncounted and UncountedAllocator keep memx's own memory out of the figures.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/uncounted.hpp"

namespace {

using memx::test::Delta;
using memx::test::measure;

TEST(Guard, AllocationsAndFreesUnderTheGuardAreNotCounted) {
  const Delta d = measure([] {
    memx::Uncounted guard;
    EXPECT_FALSE(memx::counting_this_thread());
    std::vector<std::string> v(100, std::string(100, 'g'));
  });
  EXPECT_EQ(d.allocs, 0u);
  EXPECT_EQ(d.frees, 0u);
  EXPECT_EQ(d.bytes, 0);
  EXPECT_TRUE(memx::counting_this_thread());
}

TEST(Guard, NestsAndRestoresCounting) {
  char* counted = nullptr;
  const Delta d = measure([&] {
    {
      memx::Uncounted outer;
      {
        memx::Uncounted inner;
        delete new int(1);
      }
      EXPECT_FALSE(memx::counting_this_thread());
      delete new int(2);
    }
    counted = new char[10];
  });
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(memx::usable_size(counted)));
  delete[] counted;
}

TEST(Guard, OnlyTheGuardedThreadIsExcluded) {
  const Delta d = measure([] {
    memx::Uncounted guard;
    std::thread other([] { delete new char[32]; });  // counted: another thread
    other.join();
  });
  // std::thread's own state is allocated here (uncounted) and freed by the new thread
  // (counted), so only the other thread's own pair is certain.
  EXPECT_GE(d.allocs, 1u);
  EXPECT_GE(d.frees, 1u);
}

TEST(Guard, UncountedAllocatorIsNeverCounted) {
  using Vec = std::vector<int, memx::UncountedAllocator<int>>;
  Vec* kept = nullptr;
  const Delta d = measure([&] {
    Vec v(100000, 7);
    v.resize(200000);
    kept = new Vec(5000, 1);  // the Vec object itself is counted, its buffer is not
  });
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.bytes, static_cast<std::int64_t>(memx::usable_size(kept)));
  delete kept;
}

TEST(Guard, UncountedMallocPairs) {
  const Delta d = measure([] {
    void* p = memx::uncounted_malloc(1000);
    ASSERT_NE(p, nullptr);
    memx::uncounted_free(p);
    memx::uncounted_free(nullptr);
  });
  EXPECT_EQ(d.allocs, 0u);
  EXPECT_EQ(d.frees, 0u);
}

}  // namespace
