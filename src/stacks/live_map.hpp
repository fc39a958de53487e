// The live-block map: block address -> (stack id, usable size, scope id, allocation number).
//
// 64 shards chosen by the address's 32 MiB region (so that a thread's blocks fall in shards of
// their own, live_map.cpp), each an open-addressing table (linear probing,
// deletion by backward shift, so no tombstones) behind its own spinlock; a table doubles in
// a fresh mapping when it is three-quarters full; trim() shrinks the tables less than a
// sixteenth full to a quarter full. A free from any thread finds the block's
// entry in the same shard as its allocation: cross-thread frees are exact. Each entry packs
// into 24 bytes, so the map costs 32 to 64 bytes per live block (plus one small table per
// shard). Memory comes from mmap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stacks/pages.hpp"

namespace memx::detail {

/// One live block as the map returns it.
struct LiveBlock {
  std::uintptr_t address;
  std::uint64_t size;  // usable size
  std::uint32_t stack_id;
  std::uint32_t scope_id;      // kept modulo 2^24
  std::uint64_t alloc_number;  // kept modulo 2^40
};

class LiveMap {
 public:
  static constexpr int kShardBits = 6;
  static constexpr std::uint32_t kScopeMask = (std::uint32_t{1} << 24) - 1;
  static constexpr std::uint64_t kNumberMask = (std::uint64_t{1} << 40) - 1;

  constexpr LiveMap() noexcept = default;
  LiveMap(const LiveMap&) = delete;
  LiveMap& operator=(const LiveMap&) = delete;

  /// Records a block (replacing an entry at the same address). False when the block cannot
  /// be stored (an address above 2^48, a size above 2^48, or mmap failed).
  bool insert(const LiveBlock& b) noexcept;
  /// Forgets a block; false if it was not recorded. With `out`, the block forgotten.
  bool erase(std::uintptr_t address, LiveBlock* out = nullptr) noexcept;
  /// Starts loading the cache lines an insert or erase of address will touch (its shard's
  /// lock and its home slot), without the lock: a hint, harmless if the shard grows
  /// meanwhile. Stack mode calls it before unwinding, so that the loads overlap the walk.
  void prefetch(std::uintptr_t address) const noexcept;
  /// Forgets every block (keeps the memory).
  void clear() noexcept;
  /// Shrinks each shard's table that is less than a sixteenth full to a quarter full. A shard
  /// holds one thread's region, and the shards peak at different times: without it the map
  /// keeps the sum of their highest. Called between scopes (a test's start and end), never
  /// on the allocation path: a workload that fills and empties one structure in a loop would
  /// otherwise grow and shrink its table every round.
  void trim() noexcept;
  /// Blocks recorded.
  std::size_t size() const noexcept;
  /// Bytes of the shards' tables.
  std::size_t memory_bytes() const noexcept;

  /// Calls f(const LiveBlock&) for each block of shard s (0 <= s < shards()) while holding
  /// its lock: f must not allocate with operator new nor touch the map.
  template <class F>
  void for_each_in_shard(int s, F&& f) noexcept {
    Shard& sh = shards_[s];
    SpinGuard g(sh.lock);
    for (std::size_t i = 0; i < sh.capacity; ++i) {
      if (sh.slots[i].w0 != 0) f(unpack(sh.slots[i]));
    }
  }
  /// Number of shards.
  static constexpr int shards() noexcept { return 1 << kShardBits; }

 private:
  struct Slot {
    std::uint64_t w0;  // address (48 bits) | size >> 32 (16 bits)
    std::uint64_t w1;  // size & 0xffffffff | stack id << 32
    std::uint64_t w2;  // allocation number (40 bits) | scope id << 40
  };
  // slots and capacity change under the lock, with atomic stores, so that prefetch() may
  // read them without it.
  struct alignas(64) Shard {
    SpinLock lock;
    Slot* slots = nullptr;
    std::size_t capacity = 0;  // a power of two, or 0
    std::size_t used = 0;
  };

  // Inline: an out-of-line unpack returned the block through memory that the caller then
  // read back 16 bytes at a time across two 8-byte stores (a store-forwarding stall in
  // every erase: about a fifth of its samples).
  __attribute__((always_inline)) static LiveBlock unpack(const Slot& s) noexcept {
    constexpr std::uint64_t kAddr = (std::uint64_t{1} << 48) - 1;
    LiveBlock b;
    b.address = static_cast<std::uintptr_t>(s.w0 & kAddr);
    b.size = ((s.w0 >> 48) << 32) | (s.w1 & 0xffffffffu);
    b.stack_id = static_cast<std::uint32_t>(s.w1 >> 32);
    b.alloc_number = s.w2 & kNumberMask;
    b.scope_id = static_cast<std::uint32_t>(s.w2 >> 40);
    return b;
  }
  static bool grow(Shard& sh) noexcept;
  static bool resize(Shard& sh, std::size_t capacity) noexcept;
  static std::size_t home(std::uint64_t hash, std::size_t capacity) noexcept {
    return static_cast<std::size_t>(hash) & (capacity - 1);
  }

  Shard shards_[std::size_t{1} << kShardBits];
};

}  // namespace memx::detail
