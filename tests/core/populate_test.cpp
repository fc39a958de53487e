// populate_ahead (src/sys/populate.hpp): the pages just past an array's last element are
// faulted in ahead of its fill, a step at a time, without changing a byte of it.
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "sys/populate.hpp"

namespace {

using Record = std::array<unsigned char, 432>;  // a TestRecord's size

Record record(std::size_t i) {
  Record r;
  for (std::size_t k = 0; k < r.size(); ++k) r[k] = static_cast<unsigned char>(i * 31 + k);
  return r;
}

std::uintptr_t page() { return static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE)); }

// Whether every page of [begin, end) is resident.
bool resident(const char* begin, const char* end) {
  const std::uintptr_t p = page();
  const auto first = reinterpret_cast<std::uintptr_t>(begin) & ~(p - 1);
  const auto last = reinterpret_cast<std::uintptr_t>(end);
  std::vector<unsigned char> in((last - first + p - 1) / p);
  if (::mincore(reinterpret_cast<void*>(first), last - first, in.data()) != 0) return false;
  for (const unsigned char c : in) {
    if ((c & 1) == 0) return false;
  }
  return true;
}

TEST(PopulateAhead, FaultsInTheNextStepAndKeepsEveryElement) {
  std::vector<Record> v;
  v.reserve(10000);  // 4.3 MB: its own mapping, untouched past what is written
  memx::detail::Populated p;
  for (std::size_t i = 0; i < 10000; ++i) {
    v.push_back(record(i));
    memx::detail::populate_ahead(v, p);
    if (p.off) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
    const char* const used = reinterpret_cast<const char*>(v.data() + v.size());
    const char* const limit = reinterpret_cast<const char*>(
        reinterpret_cast<std::uintptr_t>(v.data() + v.capacity()) & ~(page() - 1));
    ASSERT_EQ(p.data, reinterpret_cast<const char*>(v.data()));
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p.end) % page(), 0u);
    ASSERT_LE(p.end, limit) << "never past the array's last whole page";
    // The next element is in faulted-in pages, unless it reaches the last partial page.
    if (used + sizeof(Record) <= limit) {
      ASSERT_GE(p.end, used + sizeof(Record)) << "at element " << i;
      ASSERT_TRUE(resident(used, used + sizeof(Record))) << "at element " << i;
    }
    // At most one step ahead of the fill (plus the page it stands in).
    ASSERT_LE(p.end, used + sizeof(Record) + memx::detail::kPopulateStep + page());
  }
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], record(i)) << "element " << i;
}

TEST(PopulateAhead, StartsOverOnNewStorageAndLeavesSmallArraysAlone) {
  std::vector<Record> small;
  small.reserve(10);
  memx::detail::Populated none;
  small.push_back(record(0));
  memx::detail::populate_ahead(small, none);
  EXPECT_EQ(none.end, nullptr) << "an array under four steps is not worth a call";

  std::vector<Record> v;
  v.reserve(1000);
  memx::detail::Populated p;
  for (std::size_t i = 0; i < 1000; ++i) {
    v.push_back(record(i));
    memx::detail::populate_ahead(v, p);
  }
  if (p.off) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  v.reserve(5000);  // moved: the old storage is another block's now
  v.push_back(record(1000));
  memx::detail::populate_ahead(v, p);
  EXPECT_EQ(p.data, reinterpret_cast<const char*>(v.data()));
  EXPECT_GE(p.end, reinterpret_cast<const char*>(v.data() + v.size()));
  EXPECT_TRUE(resident(reinterpret_cast<const char*>(v.data() + v.size()),
                       reinterpret_cast<const char*>(v.data() + v.size() + 1)));
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], record(i)) << "element " << i;
}

}  // namespace
