// The stack table (stack_table.hpp).
#include "stacks/stack_table.hpp"

#include <sched.h>

#include <cstring>

namespace memx::detail {
namespace {

constexpr std::size_t kArenaChunk = std::size_t{1} << 20;
constexpr std::uintptr_t kLocked = 1;

}  // namespace

std::uint64_t hash_stack(void* const* frames, int depth) noexcept {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ static_cast<std::uint64_t>(depth);
  for (int i = 0; i < depth; ++i) {
    std::uint64_t k = reinterpret_cast<std::uintptr_t>(frames[i]);
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    h = (h ^ k) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  return h;
}

bool StackTable::init() noexcept {
  if (ready_.load(std::memory_order_acquire)) return true;
  SpinGuard g(init_lock_);
  if (ready_.load(std::memory_order_relaxed)) return true;
  buckets_ = static_cast<std::atomic<std::uintptr_t>*>(
      map_pages(kBuckets * sizeof(std::atomic<std::uintptr_t>)));
  by_id_ = static_cast<std::atomic<Node*>*>(map_pages(kMaxStacks * sizeof(std::atomic<Node*>)));
  if (buckets_ == nullptr || by_id_ == nullptr) return false;
  ready_.store(true, std::memory_order_release);
  return true;
}

StackTable::Node* StackTable::new_node(int depth) noexcept {
  const std::size_t size =
      (offsetof(Node, frames) + static_cast<std::size_t>(depth) * sizeof(std::uintptr_t) + 7) &
      ~std::size_t{7};
  SpinGuard g(arena_lock_);
  if (arena_left_ < size) {
    void* chunk = map_pages(kArenaChunk);
    if (chunk == nullptr) return nullptr;
    arena_ = static_cast<char*>(chunk);
    arena_left_ = kArenaChunk;
    arena_bytes_.fetch_add(kArenaChunk, std::memory_order_relaxed);
  }
  Node* n = reinterpret_cast<Node*>(arena_);
  arena_ += size;
  arena_left_ -= size;
  return n;
}

bool StackTable::same(const Node* n, std::uint64_t hash, void* const* frames, int depth) noexcept {
  if (n->hash != hash || n->depth != static_cast<std::uint32_t>(depth)) return false;
  for (int i = 0; i < depth; ++i) {
    if (n->frames[i] != reinterpret_cast<std::uintptr_t>(frames[i])) return false;
  }
  return true;
}

StackTable::Node* StackTable::find_or_insert(void* const* frames, int depth) noexcept {
  if (depth <= 0 || depth > kMaxStackDepth || !init()) return nullptr;
  const std::uint64_t hash = hash_stack(frames, depth);
  std::atomic<std::uintptr_t>& bucket = buckets_[hash & (kBuckets - 1)];
  // Lock-free look-up: nodes are fully written before they are published with a release.
  std::uintptr_t head = bucket.load(std::memory_order_acquire);
  for (auto* n = reinterpret_cast<Node*>(head & ~kLocked); n != nullptr; n = n->next) {
    if (same(n, hash, frames, depth)) return n;
  }
  // Lock the bucket: set its low bit (yielding after a short spin, as SpinLock does).
  for (int spins = 0;; ++spins) {
    head = bucket.load(std::memory_order_relaxed);
    if ((head & kLocked) == 0 &&
        bucket.compare_exchange_weak(head, head | kLocked, std::memory_order_acquire)) {
      break;
    }
    if (spins < 64) {
      __builtin_ia32_pause();
    } else {
      sched_yield();
    }
  }
  // Another thread may have inserted it meanwhile.
  for (auto* n = reinterpret_cast<Node*>(head); n != nullptr; n = n->next) {
    if (same(n, hash, frames, depth)) {
      bucket.store(head, std::memory_order_release);
      return n;
    }
  }
  Node* found = nullptr;
  if (next_id_.load(std::memory_order_relaxed) < kMaxStacks) {
    if (Node* n = new_node(depth)) {
      const std::uint32_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
      n->next = reinterpret_cast<Node*>(head);
      n->hash = hash;
      n->id = id;
      n->depth = static_cast<std::uint32_t>(depth);
      std::memcpy(n->frames, frames, static_cast<std::size_t>(depth) * sizeof(std::uintptr_t));
      by_id_[id].store(n, std::memory_order_release);
      head = reinterpret_cast<std::uintptr_t>(n);
      found = n;
    }
  }
  bucket.store(head, std::memory_order_release);  // publishes the node and unlocks
  return found;
}

std::uint32_t StackTable::intern(void* const* frames, int depth) noexcept {
  const Node* n = find_or_insert(frames, depth);
  return n != nullptr ? n->id : 0;
}

std::uint32_t StackTable::intern(void* const* frames, int depth, StackCache& cache) noexcept {
  if (depth <= 0 || depth > kMaxStackDepth) return 0;
  // The key: the depth and the innermost frames, where a thread's stacks differ most.
  std::uint64_t key = static_cast<std::uint64_t>(depth) * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 3 && i < depth; ++i) {
    key = (key ^ reinterpret_cast<std::uintptr_t>(frames[i])) * 0xff51afd7ed558ccdull;
  }
  static_assert(StackCache::kEntries == 16, "the top 4 bits of the key pick the entry");
  const void*& slot = cache.node[key >> 60];
  if (const auto* n = static_cast<const Node*>(slot);
      n != nullptr && n->depth == static_cast<std::uint32_t>(depth)) {
    int i = 0;
    while (i < depth && n->frames[i] == reinterpret_cast<std::uintptr_t>(frames[i])) ++i;
    if (i == depth) return n->id;
  }
  const Node* n = find_or_insert(frames, depth);
  if (n == nullptr) return 0;
  slot = n;
  return n->id;
}

int StackTable::frames(std::uint32_t id, std::uintptr_t* out, int max) const noexcept {
  if (!ready_.load(std::memory_order_acquire) || id == 0 || id >= kMaxStacks) return 0;
  const Node* n = by_id_[id].load(std::memory_order_acquire);
  if (n == nullptr) return 0;
  const int depth = static_cast<int>(n->depth) < max ? static_cast<int>(n->depth) : max;
  for (int i = 0; i < depth; ++i) out[i] = n->frames[i];
  return depth;
}

std::size_t StackTable::memory_bytes() const noexcept {
  const std::size_t stacks = size();
  // Buckets: at most one touched page per used bucket, at most all of them.
  const std::size_t bucket_pages = kBuckets * sizeof(std::uintptr_t) / 4096;
  const std::size_t buckets = (stacks < bucket_pages ? stacks : bucket_pages) * 4096;
  const std::size_t index = (stacks * sizeof(void*) + 4095) / 4096 * 4096;
  return arena_bytes_.load(std::memory_order_relaxed) + buckets + index;
}

}  // namespace memx::detail
