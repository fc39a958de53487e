// The 20 replaceable allocation functions: each counted once, with its block's usable size,
// and with the semantics the standard gives them.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <set>
#include <string>

#include "measure.hpp"
#include "memx/counters.hpp"

namespace {

using memx::test::Delta;
using memx::test::measure;

struct Form {
  const char* name;
  std::size_t align;  // 0: default alignment
  std::function<void*(std::size_t)> allocate;
  std::function<void(void*, std::size_t)> release;
};

constexpr std::align_val_t kAlign{64};
const std::nothrow_t& nt = std::nothrow;

// Every allocation function paired with every deallocation function it may be released
// with: together they cover all 8 operator new and all 12 operator delete overloads.
std::vector<Form> all_forms() {
  return {
      {"new/delete", 0, [](std::size_t n) { return ::operator new(n); },
       [](void* p, std::size_t) { ::operator delete(p); }},
      {"new/delete sized", 0, [](std::size_t n) { return ::operator new(n); },
       [](void* p, std::size_t n) { ::operator delete(p, n); }},
      {"new nothrow/delete nothrow", 0, [](std::size_t n) { return ::operator new(n, nt); },
       [](void* p, std::size_t) { ::operator delete(p, nt); }},
      {"new[]/delete[]", 0, [](std::size_t n) { return ::operator new[](n); },
       [](void* p, std::size_t) { ::operator delete[](p); }},
      {"new[]/delete[] sized", 0, [](std::size_t n) { return ::operator new[](n); },
       [](void* p, std::size_t n) { ::operator delete[](p, n); }},
      {"new[] nothrow/delete[] nothrow", 0, [](std::size_t n) { return ::operator new[](n, nt); },
       [](void* p, std::size_t) { ::operator delete[](p, nt); }},
      {"new aligned/delete aligned", 64, [](std::size_t n) { return ::operator new(n, kAlign); },
       [](void* p, std::size_t) { ::operator delete(p, kAlign); }},
      {"new aligned/delete sized aligned", 64,
       [](std::size_t n) { return ::operator new(n, kAlign); },
       [](void* p, std::size_t n) { ::operator delete(p, n, kAlign); }},
      {"new aligned nothrow/delete aligned nothrow", 64,
       [](std::size_t n) { return ::operator new(n, kAlign, nt); },
       [](void* p, std::size_t) { ::operator delete(p, kAlign, nt); }},
      {"new[] aligned/delete[] aligned", 64,
       [](std::size_t n) { return ::operator new[](n, kAlign); },
       [](void* p, std::size_t) { ::operator delete[](p, kAlign); }},
      {"new[] aligned/delete[] sized aligned", 64,
       [](std::size_t n) { return ::operator new[](n, kAlign); },
       [](void* p, std::size_t n) { ::operator delete[](p, n, kAlign); }},
      {"new[] aligned nothrow/delete[] aligned nothrow", 64,
       [](std::size_t n) { return ::operator new[](n, kAlign, nt); },
       [](void* p, std::size_t) { ::operator delete[](p, kAlign, nt); }},
  };
}

class EveryForm : public ::testing::TestWithParam<std::size_t> {};

TEST_P(EveryForm, CountsOneBlockOfItsUsableSizeAndReleasesIt) {
  for (const Form& form : all_forms()) {
    SCOPED_TRACE(form.name);
    const std::size_t n = GetParam();
    void* p = nullptr;
    const Delta a = measure([&] { p = form.allocate(n); });
    ASSERT_NE(p, nullptr);
    const auto usable = static_cast<std::int64_t>(memx::usable_size(p));
    EXPECT_GE(usable, static_cast<std::int64_t>(n));
    if (form.align != 0) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % form.align, 0u);
    EXPECT_EQ(a.allocs, 1u);
    EXPECT_EQ(a.frees, 0u);
    EXPECT_EQ(a.blocks, 1);
    EXPECT_EQ(a.bytes, usable);
    std::memset(p, 0xab, n);  // the whole requested size is writable
    const Delta f = measure([&] { form.release(p, n); });
    EXPECT_EQ(f.allocs, 0u);
    EXPECT_EQ(f.frees, 1u);
    EXPECT_EQ(f.blocks, -1);
    EXPECT_EQ(f.bytes, -usable);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, EveryForm, ::testing::Values(0, 1, 16, 100, 4096, 1 << 20));

TEST(Allocator, NewExpressionsAreCounted) {
  std::string* s = nullptr;
  const Delta a = measure([&] { s = new std::string(200, 'x'); });
  EXPECT_EQ(a.allocs, 2u);  // the object and its buffer
  const Delta f = measure([&] { delete s; });
  EXPECT_EQ(f.frees, 2u);
  EXPECT_EQ(a.bytes, -f.bytes);
}

TEST(Allocator, OverAlignedTypesUseTheAlignedForms) {
  struct alignas(256) Page {
    char bytes[300];
  };
  Page* p = nullptr;
  const Delta a = measure([&] { p = new Page; });
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
  EXPECT_EQ(a.allocs, 1u);
  const Delta f = measure([&] { delete p; });
  EXPECT_EQ(f.frees, 1u);
  EXPECT_EQ(a.bytes, -f.bytes);
}

TEST(Allocator, LargeAlignmentsAreHonoured) {
  for (std::size_t align : {16u, 128u, 4096u, 65536u}) {
    void* p = ::operator new(1000, std::align_val_t{align});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
    ::operator delete(p, std::align_val_t{align});
  }
}

TEST(Allocator, DeletingNullptrIsHarmlessAndUncounted) {
  const Delta d = measure([] {
    ::operator delete(nullptr);
    ::operator delete[](nullptr);
    ::operator delete(nullptr, std::size_t{8});
    ::operator delete[](nullptr, std::size_t{8});
    ::operator delete(nullptr, kAlign);
    ::operator delete[](nullptr, kAlign);
    ::operator delete(nullptr, std::size_t{8}, kAlign);
    ::operator delete[](nullptr, std::size_t{8}, kAlign);
    ::operator delete(nullptr, nt);
    ::operator delete[](nullptr, nt);
    ::operator delete(nullptr, kAlign, nt);
    ::operator delete[](nullptr, kAlign, nt);
  });
  EXPECT_EQ(d.frees, 0u);
  EXPECT_EQ(d.bytes, 0);
}

TEST(Allocator, SizeZeroGivesDistinctBlocks) {
  void* a = ::operator new(0);
  void* b = ::operator new(0);
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_NE(a, b);
  ::operator delete(a);
  ::operator delete(b);
}

// volatile: keep the compiler from rejecting the obviously impossible size at compile time.
volatile std::size_t g_huge = std::numeric_limits<std::size_t>::max() - 64;

TEST(Allocator, ImpossibleSizesThrowBadAllocOrReturnNull) {
  const Delta d = measure([] {
    EXPECT_THROW((void)::operator new(g_huge), std::bad_alloc);
    EXPECT_THROW((void)::operator new[](g_huge), std::bad_alloc);
    EXPECT_THROW((void)::operator new(g_huge, kAlign), std::bad_alloc);
    EXPECT_THROW((void)::operator new[](g_huge, kAlign), std::bad_alloc);
    EXPECT_EQ(::operator new(g_huge, nt), nullptr);
    EXPECT_EQ(::operator new[](g_huge, nt), nullptr);
    EXPECT_EQ(::operator new(g_huge, kAlign, nt), nullptr);
    EXPECT_EQ(::operator new[](g_huge, kAlign, nt), nullptr);
  });
  EXPECT_EQ(d.allocs, 0u);
}

int g_handler_calls = 0;

void give_up_after_three() {
  if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}

struct HandlerError {};
void throw_custom() { throw HandlerError{}; }
void throw_bad_alloc() { throw std::bad_alloc(); }

TEST(Allocator, NewHandlerIsCalledUntilItGivesUp) {
  g_handler_calls = 0;
  std::set_new_handler(give_up_after_three);
  EXPECT_THROW((void)::operator new(g_huge), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 3);

  g_handler_calls = 0;
  std::set_new_handler(give_up_after_three);
  EXPECT_EQ(::operator new(g_huge, kAlign, nt), nullptr);
  EXPECT_EQ(g_handler_calls, 3);
  std::set_new_handler(nullptr);
}

TEST(Allocator, WhatTheNewHandlerThrowsPropagatesOrBecomesNullptr) {
  std::set_new_handler(throw_custom);
  EXPECT_THROW((void)::operator new(g_huge), HandlerError);
  EXPECT_EQ(::operator new(g_huge, nt), nullptr);  // nothrow forms swallow it
  std::set_new_handler(throw_bad_alloc);
  EXPECT_THROW((void)::operator new[](g_huge), std::bad_alloc);
  EXPECT_EQ(::operator new[](g_huge, nt), nullptr);
  std::set_new_handler(nullptr);
}

TEST(Allocator, ContainersBalanceToZero) {
  const Delta d = measure([] {
    std::set<std::string> s;
    for (int i = 0; i < 1000; ++i) s.insert(std::string(50, 'a') + std::to_string(i));
  });
  EXPECT_GE(d.allocs, 2000u);
  EXPECT_EQ(d.allocs, d.frees);
  EXPECT_EQ(d.bytes, 0);
  EXPECT_EQ(d.blocks, 0);
}

TEST(Allocator, BackendIsReported) {
  const std::string name = memx::backend_name();
  EXPECT_TRUE(name == "mimalloc" || name == "system") << name;
}

}  // namespace

namespace {

// With mimalloc, operator new(n) and sized deletes count the block's size class computed
// from n (src/alloc/backend.hpp). It must equal what the allocator reports for every n up
// to the largest size class, or balanced programs would drift.
TEST(Allocator, CountedSizeIsTheAllocatorsUsableSizeForEverySizeClass) {
  std::size_t mismatches = 0, first_bad = 0;
  for (std::size_t n = 0; n <= 128 * 1024 + 64; ++n) {
    const memx::Counters a = memx::counters();
    void* p = ::operator new(n);
    const memx::Counters b = memx::counters();
    const auto usable = static_cast<std::int64_t>(memx::usable_size(p));
    ::operator delete(p, n);
    const memx::Counters c = memx::counters();
    if (b.live_bytes - a.live_bytes != usable || c.live_bytes != a.live_bytes) {
      if (mismatches++ == 0) first_bad = n;
    }
  }
  EXPECT_EQ(mismatches, 0u) << "first mismatch at n=" << first_bad;
}

}  // namespace
