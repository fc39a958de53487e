// The sites of a scope's peak (scope_peak.hpp).
#include "stacks/scope_peak.hpp"

#include <algorithm>

#include "stacks/stack_table.hpp"

namespace memx::detail {

/// A thread's changes to the current scope's figures not yet added to the shared cells: per
/// stack (direct-mapped by id) and in total. Three compare-and-swaps an allocation or free
/// on shared cells were 29 % of a stack-mode run under the GoogleTest plugin; buffered here
/// they are plain adds. An entry goes to the shared cells when it is evicted, when its bytes
/// pass kLocalBytes either way, when its thread takes a copy (which sees all of its own
/// thread's changes) and when its thread exits; blocks of kLocalBytes or more go straight
/// there. So a copy misses at most what other threads buffer: under kLocalBytes per stack
/// each (documented in docs/stacks.md).
struct LocalPeakEntry {
  std::uint32_t id;  // 0: empty
  std::uint32_t scope;
  std::int64_t bytes;
  std::int64_t blocks;
};
struct LocalPeak {
  static constexpr int kEntries = 32;  // a power of two
  using Entry = LocalPeakEntry;
  const ScopePeak* owner;
  std::uint32_t live_scope;
  std::int64_t live;  // bytes not yet in live_
  Entry e[kEntries];
};

namespace {
constexpr std::int64_t kLocalBytes = 16 * 1024;
constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::size_t kIds = StackTable::kMaxStacks;  // stack ids are below this
constexpr std::uint32_t kScopeMask = (std::uint32_t{1} << 24) - 1;

__thread LocalPeak tls_local_peak __attribute__((tls_model("initial-exec")));
}  // namespace

void ScopePeak::flush_entry(LocalPeak::Entry& e) noexcept {
  const std::uint32_t id = e.id;
  const std::int64_t bytes = e.bytes;
  const std::int64_t blocks = e.blocks;
  e.bytes = e.blocks = 0;
  if (id == 0 || e.scope != scope_.load(kRelaxed) || (bytes == 0 && blocks == 0)) return;
  std::atomic<std::uint64_t>& b = cells_[2 * std::size_t{id}];
  std::atomic<std::uint64_t>& n = cells_[2 * std::size_t{id} + 1];
  if (blocks > 0) {
    add(n, e.scope, static_cast<std::uint64_t>(blocks));
  } else if (blocks < 0) {
    sub(n, e.scope, static_cast<std::uint64_t>(-blocks));
  }
  if (bytes > 0) {
    if (add(b, e.scope, static_cast<std::uint64_t>(bytes))) {
      // First bytes of this stack in the scope: list it (the tag switch happens once).
      const std::uint32_t at = touched_n_.fetch_add(1, kRelaxed);
      if (at < kIds) touched_[at].store(id, kRelaxed);
    }
  } else if (bytes < 0) {
    sub(b, e.scope, static_cast<std::uint64_t>(-bytes));
  }
}

void ScopePeak::flush_thread() noexcept {
  LocalPeak& l = tls_local_peak;
  if (l.owner != this || !ready_.load(std::memory_order_acquire)) return;
  for (LocalPeak::Entry& e : l.e) flush_entry(e);
  if (l.live != 0 && l.live_scope == scope_.load(kRelaxed)) live_.fetch_add(l.live, kRelaxed);
  l.live = 0;
}

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

/// The calling thread's buffer for scope (emptied of another scope's or instance's changes).
LocalPeak& ScopePeak::local(std::uint32_t scope) noexcept {
  LocalPeak& l = tls_local_peak;
  if (l.owner != this) {  // a buffer of another ScopePeak (tests make their own): dropped
    l = LocalPeak{};
    l.owner = this;
  }
  if (l.live_scope != scope) {
    l.live_scope = scope;
    l.live = 0;
  }
  return l;
}

void ScopePeak::change(std::uint32_t scope, std::uint32_t id, std::uint64_t size,
                       bool freed) noexcept {
  const auto n = static_cast<std::int64_t>(size < kValueMask ? size : kValueMask);
  const std::int64_t bytes = freed ? -n : n;
  const std::int64_t blocks = freed ? -1 : 1;
  LocalPeak& l = local(scope);
  LocalPeak::Entry& e = l.e[id & (LocalPeak::kEntries - 1)];
  if (e.id != id || e.scope != scope) {
    flush_entry(e);
    e.id = id;
    e.scope = scope;
  }
  e.bytes += bytes;
  e.blocks += blocks;
  if (e.bytes >= kLocalBytes || e.bytes <= -kLocalBytes) flush_entry(e);
  l.live += bytes;
  if (l.live >= kLocalBytes || l.live <= -kLocalBytes) {
    live_.fetch_add(l.live, kRelaxed);
    l.live = 0;
  }
}

void ScopePeak::on_alloc(std::uint32_t scope, std::uint32_t id, std::uint64_t size) noexcept {
  scope &= kScopeMask;
  if (scope == 0 || id == 0 || id >= kIds || scope != scope_.load(std::memory_order_acquire)) return;
  if (!init()) return;
  change(scope, id, size, false);
  // This thread's view of the scope's live bytes: the shared total and its own buffer.
  const std::int64_t live = live_.load(kRelaxed) + tls_local_peak.live;
  const std::int64_t at = copy_at_.load(kRelaxed);
  if (live > at + std::max<std::int64_t>(at / 16, 1024)) take_copy(scope);
}

void ScopePeak::on_free(std::uint32_t scope, std::uint32_t id, std::uint64_t size) noexcept {
  scope &= kScopeMask;
  if (scope == 0 || id == 0 || id >= kIds || !ready_.load(std::memory_order_acquire) ||
      scope != scope_.load(kRelaxed)) {
    return;
  }
  change(scope, id, size, true);
}

void ScopePeak::take_copy(std::uint32_t scope) noexcept {
  // Never wait: an allocation that finds a copy in progress goes on without one.
  if (!copy_lock_.try_lock()) return;
  flush_thread();  // the copy sees every change of this thread
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
