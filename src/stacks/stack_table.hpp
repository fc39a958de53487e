// The stack table: each distinct call stack stored once, named by a 32-bit id.
//
// A lock-free, append-only hash table in the manner of LLVM's sanitizer_stackdepot.cpp:
// finding a known stack (the common case) reads the bucket's list with acquire loads and
// takes no lock; inserting a new one locks its bucket (the low bit of the bucket's head),
// searches again and pushes a node. Nodes are never freed or moved, so an id stays valid
// and its frames readable for the life of the process. Memory comes from mmap.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "stacks/pages.hpp"

namespace memx::detail {

/// The longest stack the table stores.
inline constexpr int kMaxStackDepth = 64;

/// A thread's small cache in front of a StackTable: the stacks it interned last, found by a
/// cheap key (the depth and the three innermost frames) and confirmed frame by frame against
/// the stored stack, so that a hit hashes nothing and reads no bucket. Stored stacks are
/// never freed or changed, so an entry stays valid for the life of the process; a cache
/// must be used with one table only. Zero-initialised (static TLS).
struct StackCache {
  static constexpr int kEntries = 16;  // a power of two
  const void* node[kEntries];
};

class StackTable {
 public:
  /// Buckets (a power of two) and the largest number of distinct stacks.
  static constexpr std::size_t kBuckets = std::size_t{1} << 18;
  static constexpr std::uint32_t kMaxStacks = std::uint32_t{1} << 24;

  constexpr StackTable() noexcept = default;
  StackTable(const StackTable&) = delete;
  StackTable& operator=(const StackTable&) = delete;

  /// The id of this stack (1, 2, ...), inserting it if new; 0 when depth is 0 or out of range
  /// or when the table cannot grow (mmap failed, kMaxStacks reached).
  std::uint32_t intern(void* const* frames, int depth) noexcept;
  /// The same, looking in the calling thread's cache first (and keeping the stack there).
  std::uint32_t intern(void* const* frames, int depth, StackCache& cache) noexcept;

  /// The frames of stack id into out (at most max); returns how many, 0 for an unknown id.
  int frames(std::uint32_t id, std::uintptr_t* out, int max) const noexcept;

  /// Distinct stacks stored.
  std::uint32_t size() const noexcept { return next_id_.load(std::memory_order_acquire) - 1; }

  /// Bytes the table has taken from the system (buckets, id index and nodes; the buckets
  /// and index are counted as touched pages would be: by what has been written).
  std::size_t memory_bytes() const noexcept;

 private:
  struct Node {
    Node* next;
    std::uint64_t hash;
    std::uint32_t id;
    std::uint32_t depth;
    std::uintptr_t frames[1];  // depth entries
  };

  bool init() noexcept;
  Node* find_or_insert(void* const* frames, int depth) noexcept;
  Node* new_node(int depth) noexcept;
  static bool same(const Node* n, std::uint64_t hash, void* const* frames, int depth) noexcept;

  std::atomic<std::uintptr_t>* buckets_ = nullptr;  // Node* | 1 while locked
  std::atomic<Node*>* by_id_ = nullptr;             // id -> node
  std::atomic<bool> ready_{false};
  SpinLock init_lock_;
  SpinLock arena_lock_;  // guards the bump arena below
  char* arena_ = nullptr;
  std::size_t arena_left_ = 0;
  std::atomic<std::size_t> arena_bytes_{0};
  std::atomic<std::uint32_t> next_id_{1};
};

/// 64-bit hash of a stack (murmur-style mixing of each address).
std::uint64_t hash_stack(void* const* frames, int depth) noexcept;

}  // namespace memx::detail
