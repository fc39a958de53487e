// The sites of a scope's peak (scope_peak.hpp).
#include "stacks/scope_peak.hpp"

#include <algorithm>

#include "stacks/stack_table.hpp"

namespace memx::detail {
namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::size_t kIds = StackTable::kMaxStacks;  // stack ids are below this
constexpr std::uint32_t kScopeMask = (std::uint32_t{1} << 24) - 1;
}  // namespace

bool ScopePeak::init() noexcept {
  if (ready_.load(std::memory_order_acquire)) return true;
  SpinGuard g(init_lock_);
  if (ready_.load(kRelaxed)) return true;
  // Reserved, not committed (MAP_NORESERVE): only the pages of ids in use are touched.
  auto* cells = static_cast<std::atomic<std::uint64_t>*>(map_pages(2 * kIds * sizeof(std::uint64_t)));
  auto* touched = static_cast<std::atomic<std::uint32_t>*>(map_pages(kIds * sizeof(std::uint32_t)));
  auto* copy = static_cast<Entry*>(map_pages(kIds * sizeof(Entry)));
  if (cells == nullptr || touched == nullptr || copy == nullptr) {
    unmap_pages(cells, 2 * kIds * sizeof(std::uint64_t));
    unmap_pages(touched, kIds * sizeof(std::uint32_t));
    unmap_pages(copy, kIds * sizeof(Entry));
    return false;
  }
  cells_ = cells;
  touched_ = touched;
  copy_ = copy;
  ready_.store(true, std::memory_order_release);
  return true;
}

void ScopePeak::begin(std::uint32_t scope) noexcept {
  scope &= kScopeMask;
  // Threads that allocate meanwhile may still count a block into the scope that ends: its
  // tag is the old scope's, so it does not count in the new one.
  touched_n_.store(0, kRelaxed);
  live_.store(0, kRelaxed);
  copy_at_.store(0, kRelaxed);
  scope_.store(scope, std::memory_order_release);
}

bool ScopePeak::add(std::atomic<std::uint64_t>& cell, std::uint32_t scope, std::uint64_t n) noexcept {
  const std::uint64_t tag = std::uint64_t{scope} << kTagShift;
  std::uint64_t v = cell.load(kRelaxed);
  for (;;) {
    const bool fresh = (v & ~kValueMask) != tag;
    const std::uint64_t value = fresh ? 0 : (v & kValueMask);
    const std::uint64_t next = tag | std::min(value + n, kValueMask);
    if (cell.compare_exchange_weak(v, next, kRelaxed, kRelaxed)) return fresh;
  }
}

void ScopePeak::sub(std::atomic<std::uint64_t>& cell, std::uint32_t scope, std::uint64_t n) noexcept {
  const std::uint64_t tag = std::uint64_t{scope} << kTagShift;
  std::uint64_t v = cell.load(kRelaxed);
  for (;;) {
    if ((v & ~kValueMask) != tag) return;  // counted in another scope (or reset)
    const std::uint64_t value = v & kValueMask;
    const std::uint64_t next = tag | (value > n ? value - n : 0);
    if (cell.compare_exchange_weak(v, next, kRelaxed, kRelaxed)) return;
  }
}

void ScopePeak::on_alloc(std::uint32_t scope, std::uint32_t id, std::uint64_t size) noexcept {
  scope &= kScopeMask;
  if (scope == 0 || id == 0 || id >= kIds || scope != scope_.load(std::memory_order_acquire)) return;
  if (!init()) return;
  add(cells_[2 * std::size_t{id} + 1], scope, 1);
  if (add(cells_[2 * std::size_t{id}], scope, size)) {
    // First block of this stack in the scope: list it (the tag switch happens once).
    const std::uint32_t at = touched_n_.fetch_add(1, kRelaxed);
    if (at < kIds) touched_[at].store(id, kRelaxed);
  }
  const std::int64_t live = live_.fetch_add(static_cast<std::int64_t>(size), kRelaxed) +
                            static_cast<std::int64_t>(size);
  const std::int64_t at = copy_at_.load(kRelaxed);
  if (live > at + std::max<std::int64_t>(at / 16, 1024)) take_copy(scope);
}

void ScopePeak::on_free(std::uint32_t scope, std::uint32_t id, std::uint64_t size) noexcept {
  scope &= kScopeMask;
  if (scope == 0 || id == 0 || id >= kIds || !ready_.load(std::memory_order_acquire) ||
      scope != scope_.load(kRelaxed)) {
    return;
  }
  sub(cells_[2 * std::size_t{id}], scope, size);
  sub(cells_[2 * std::size_t{id} + 1], scope, 1);
  live_.fetch_sub(static_cast<std::int64_t>(size), kRelaxed);
}

void ScopePeak::take_copy(std::uint32_t scope) noexcept {
  // Never wait: an allocation that finds a copy in progress goes on without one.
  if (!copy_lock_.try_lock()) return;
  const std::int64_t live = live_.load(kRelaxed);
  if (live > copy_at_.load(kRelaxed) && scope == scope_.load(kRelaxed)) {
    const std::uint64_t tag = std::uint64_t{scope} << kTagShift;
    const std::uint32_t n = std::min<std::uint32_t>(touched_n_.load(kRelaxed), kIds);
    std::uint32_t kept = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t id = touched_[i].load(kRelaxed);
      if (id == 0 || id >= kIds) continue;
      const std::uint64_t bytes = cells_[2 * std::size_t{id}].load(kRelaxed);
      const std::uint64_t blocks = cells_[2 * std::size_t{id} + 1].load(kRelaxed);
      if ((bytes & ~kValueMask) != tag || (bytes & kValueMask) == 0) continue;
      copy_[kept++] = Entry{id, bytes & kValueMask, (blocks & ~kValueMask) == tag ? blocks & kValueMask : 0};
    }
    copy_n_ = kept;
    copy_scope_ = scope;
    copy_total_ = static_cast<std::uint64_t>(live);
    copy_at_.store(live, kRelaxed);
  }
  copy_lock_.unlock();
}

}  // namespace memx::detail
