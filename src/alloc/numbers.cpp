// Allocation numbers (memx/alloc_numbers.hpp, alloc/numbers.hpp).
#include "alloc/numbers.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "memx/alloc_numbers.hpp"
#include "memx/counters.hpp"
#include "stacks/live_map.hpp"

namespace memx::detail {

std::atomic<bool> g_numbering{false};

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

struct alignas(64) Numbering {
  std::atomic<std::uint64_t> next{0};  // the last number given
  std::atomic<std::uint64_t> untracked{0};
  std::atomic<std::uint64_t> break_at{0};
  std::atomic<bool> track{false};
  char label[208] = {};
};
Numbering g_state;
LiveMap g_blocks;  // address -> (size, number) of the tracked blocks

/// Writes the line before SIGTRAP with write(2): no allocation, no stdio lock.
void announce(std::uint64_t number) noexcept {
  char line[400];
  const int n = std::snprintf(line, sizeof line,
                              "memx: allocation #%llu of %s (MEMX_BREAK_ON_ALLOC): raising SIGTRAP "
                              "here; in a debugger, 'bt' shows the allocating call\n",
                              static_cast<unsigned long long>(number),
                              g_state.label[0] != '\0' ? g_state.label : "the numbered code");
  if (n > 0) {
    ssize_t ignored = ::write(2, line, static_cast<std::size_t>(std::min<int>(n, sizeof line - 1)));
    static_cast<void>(ignored);
  }
}

}  // namespace

bool thread_unscoped() noexcept;  // stacks.cpp: inside a plugin's call into its framework

void number_alloc(void* p, std::size_t usable) noexcept {
  const std::uint64_t number = g_state.next.fetch_add(1, kRelaxed) + 1;
  // Blocks the framework keeps (a stored assertion, a reporter's record) are no test's: they
  // are numbered, as every allocation is, but not tracked.
  if (g_state.track.load(kRelaxed) && !thread_unscoped()) {
    LiveBlock b{};
    b.address = reinterpret_cast<std::uintptr_t>(p);
    b.size = usable;
    b.alloc_number = number;
    if (!g_blocks.insert(b)) g_state.untracked.fetch_add(1, kRelaxed);
  }
  if (number == g_state.break_at.load(kRelaxed)) {
    announce(number);
    ::raise(SIGTRAP);
  }
}

void number_free(void* p) noexcept {
  if (g_state.track.load(kRelaxed)) g_blocks.erase(reinterpret_cast<std::uintptr_t>(p));
}

}  // namespace memx::detail

namespace memx::alloc_numbers {

using detail::g_state;

void start(bool track, std::uint64_t break_at, const char* label) noexcept {
  detail::g_numbering.store(false, std::memory_order_release);
  g_state.next.store(0, std::memory_order_relaxed);
  g_state.untracked.store(0, std::memory_order_relaxed);
  g_state.break_at.store(break_at, std::memory_order_relaxed);
  g_state.track.store(track, std::memory_order_relaxed);
  detail::g_blocks.clear();
  std::size_t n = 0;
  if (label != nullptr) {
    n = std::min(std::strlen(label), sizeof g_state.label - 1);
    std::memcpy(g_state.label, label, n);
  }
  g_state.label[n] = '\0';
  detail::g_numbering.store(true, std::memory_order_release);
  // Every thread in the counting state takes the slow path at its next allocation (its
  // epoch is stale) and starts numbering there.
  reset_peak();
}

Result stop(std::size_t max) {
  detail::g_numbering.store(false, std::memory_order_release);
  Uncounted guard;
  Result r;
  r.allocations = g_state.next.load(std::memory_order_relaxed);
  r.untracked = g_state.untracked.load(std::memory_order_relaxed);
  if (g_state.track.load(std::memory_order_relaxed)) {
    // Threads still inside a hook may touch the map: each shard is read under its lock.
    r.numbers.reserve(max + 1);
    for (int s = 0; s < detail::LiveMap::shards(); ++s) {
      detail::g_blocks.for_each_in_shard(s, [&](const detail::LiveBlock& b) {
        ++r.live;
        if (max == 0) return;
        // Keep the `max` lowest numbers: insert in order, drop the highest (no allocation
        // beyond the reserved room).
        const auto at = std::lower_bound(r.numbers.begin(), r.numbers.end(), b.alloc_number);
        if (r.numbers.size() < max) {
          r.numbers.insert(at, b.alloc_number);
        } else if (at != r.numbers.end()) {
          r.numbers.pop_back();
          r.numbers.insert(std::lower_bound(r.numbers.begin(), r.numbers.end(), b.alloc_number),
                           b.alloc_number);
        }
      });
    }
  }
  g_state.track.store(false, std::memory_order_relaxed);
  g_state.break_at.store(0, std::memory_order_relaxed);
  detail::g_blocks.clear();
  return r;
}

bool active() noexcept { return detail::g_numbering.load(std::memory_order_acquire); }

}  // namespace memx::alloc_numbers
