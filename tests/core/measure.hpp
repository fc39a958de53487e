// Test helper: the change of the process-wide counters across a callable.
#pragma once

#include <cstdint>

#include "memx/counters.hpp"

namespace memx::test {

struct Delta {
  std::int64_t bytes = 0;
  std::int64_t blocks = 0;
  std::uint64_t allocs = 0;
  std::uint64_t frees = 0;
};

inline Delta diff(const Counters& a, const Counters& b) {
  return Delta{b.live_bytes - a.live_bytes, b.live_blocks - a.live_blocks, b.allocs - a.allocs,
               b.frees - a.frees};
}

/// Keeps the compiler from eliding a new/delete pair whose pointer is otherwise unused
/// (GCC removes such pairs of new-expressions).
inline void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

template <class F>
Delta measure(F&& f) {
  const Counters before = counters();
  f();
  const Counters after = counters();
  return diff(before, after);
}

}  // namespace memx::test
