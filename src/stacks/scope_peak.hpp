// The sites of a scope's peak: per stack, the bytes and blocks the current scope (a test's
// run) holds, and a copy of them taken each time the scope's live bytes reach a new high by
// more than 1/16 (at least 1 KiB): what was live at (within 1/16 of) the scope's peak.
//
// Stack mode only, called from its hooks. Per stack id two packed counters (24-bit scope tag
// | 40-bit value) updated with compare-and-swap, reset lazily when the tag is another scope's;
// the stacks a scope touched are listed as their tag switches, so a copy reads only those.
// The copy is taken by the thread whose allocation crossed the threshold, under a try-lock
// (another thread's copy in progress: this one is skipped). Memory comes from mmap.
#pragma once

#include <atomic>
#include <cstdint>

#include "stacks/pages.hpp"

namespace memx::detail {

struct LocalPeak;  // a thread's buffered changes (scope_peak.cpp)
struct LocalPeakEntry;

class ScopePeak {
 public:
  /// One stack's share of a copy.
  struct Entry {
    std::uint32_t stack_id;
    std::uint64_t bytes;
    std::uint64_t blocks;
  };

  constexpr ScopePeak() noexcept = default;
  ScopePeak(const ScopePeak&) = delete;
  ScopePeak& operator=(const ScopePeak&) = delete;

  /// A new scope starts (0: none, nothing is tracked). The last copy stays readable.
  void begin(std::uint32_t scope) noexcept;
  /// A block of `scope` at stack `id` was allocated.
  void on_alloc(std::uint32_t scope, std::uint32_t id, std::uint64_t size) noexcept;
  /// A block of `scope` at stack `id` is freed.
  void on_free(std::uint32_t scope, std::uint32_t id, std::uint64_t size) noexcept;
  /// Adds the calling thread's buffered changes to the shared figures (its exit calls it).
  void flush_thread() noexcept;

  /// Calls f(const Entry&) for each stack of the last copy if it was taken in `scope`;
  /// returns the scope's live bytes when it was taken (0: no copy of that scope).
  template <class F>
  std::uint64_t read(std::uint32_t scope, F&& f) noexcept {
    SpinGuard g(copy_lock_);
    if (copy_scope_ != scope || copy_ == nullptr) return 0;
    for (std::uint32_t i = 0; i < copy_n_; ++i) f(copy_[i]);
    return copy_total_;
  }

 private:
  static constexpr int kTagShift = 40;
  static constexpr std::uint64_t kValueMask = (std::uint64_t{1} << kTagShift) - 1;

  bool init() noexcept;
  void take_copy(std::uint32_t scope) noexcept;
  LocalPeak& local(std::uint32_t scope) noexcept;
  /// Adds a block of `size` (freed: takes it away) to the calling thread's buffer.
  void change(std::uint32_t scope, std::uint32_t id, std::uint64_t size, bool freed) noexcept;
  void flush_entry(LocalPeakEntry& e) noexcept;
  static bool add(std::atomic<std::uint64_t>& cell, std::uint32_t scope, std::uint64_t n) noexcept;
  static void sub(std::atomic<std::uint64_t>& cell, std::uint32_t scope, std::uint64_t n) noexcept;

  std::atomic<std::uint64_t>* cells_ = nullptr;  // 2 per stack id: bytes, blocks
  std::atomic<std::uint32_t>* touched_ = nullptr;
  std::atomic<std::uint32_t> touched_n_{0};
  std::atomic<std::uint32_t> scope_{0};
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::int64_t> copy_at_{0};
  std::atomic<bool> ready_{false};
  SpinLock init_lock_;
  SpinLock copy_lock_;
  Entry* copy_ = nullptr;
  std::uint32_t copy_n_ = 0;
  std::uint32_t copy_scope_ = 0;
  std::uint64_t copy_total_ = 0;
};

}  // namespace memx::detail
