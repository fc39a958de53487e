// The live-block map (live_map.hpp).
#include "stacks/live_map.hpp"

namespace memx::detail {
namespace {

constexpr std::uint64_t kAddrMask = (std::uint64_t{1} << 48) - 1;
constexpr std::size_t kFirstCapacity = 256;

std::uint64_t hash_address(std::uintptr_t a) noexcept {
  std::uint64_t h = (static_cast<std::uint64_t>(a) >> 4) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

/// The shard of an address: by its 32 MiB region (mimalloc's segment size), not by its
/// hash, so that each thread's blocks (mimalloc gives each thread segments of its own) fall
/// in a few shards of their own: two threads then rarely take the same shard's lock or touch
/// the same table, and the shards' cache lines stay in their core. Each region still lands
/// on a shard at random (the multiplicative hash of the region number).
constexpr int kRegionShift = 25;
std::size_t shard_of(std::uintptr_t a) noexcept {
  const std::uint64_t r = (static_cast<std::uint64_t>(a) >> kRegionShift) * 0x9E3779B97F4A7C15ull;
  return static_cast<std::size_t>(r >> (64 - LiveMap::kShardBits));
}

}  // namespace

bool LiveMap::grow(Shard& sh) noexcept {
  return resize(sh, sh.capacity == 0 ? kFirstCapacity : sh.capacity * 2);
}

bool LiveMap::resize(Shard& sh, std::size_t capacity) noexcept {
  auto* slots = static_cast<Slot*>(map_pages(capacity * sizeof(Slot)));
  if (slots == nullptr) return false;
  for (std::size_t i = 0; i < sh.capacity; ++i) {
    const Slot& s = sh.slots[i];
    if (s.w0 == 0) continue;
    std::size_t j = home(hash_address(static_cast<std::uintptr_t>(s.w0 & kAddrMask)), capacity);
    while (slots[j].w0 != 0) j = (j + 1) & (capacity - 1);
    slots[j] = s;
  }
  unmap_pages(sh.slots, sh.capacity * sizeof(Slot));
  __atomic_store_n(&sh.slots, slots, __ATOMIC_RELAXED);
  __atomic_store_n(&sh.capacity, capacity, __ATOMIC_RELAXED);
  return true;
}

void LiveMap::prefetch(std::uintptr_t address) const noexcept {
  const std::uint64_t h = hash_address(address);
  const Shard& sh = shards_[shard_of(address)];
  __builtin_prefetch(&sh.lock, 1);
  const Slot* slots = __atomic_load_n(&sh.slots, __ATOMIC_RELAXED);
  const std::size_t capacity = __atomic_load_n(&sh.capacity, __ATOMIC_RELAXED);
  // A stale pair (the shard growing meanwhile) gives a useless hint, never a fault:
  // prefetches do not fault.
  if (slots != nullptr && capacity != 0) __builtin_prefetch(&slots[home(h, capacity)], 1);
}

bool LiveMap::insert(const LiveBlock& b) noexcept {
  const std::uint64_t addr = b.address;
  if (addr == 0 || addr > kAddrMask || b.size > kAddrMask) return false;
  const Slot slot{
      addr | ((b.size >> 32) << 48),
      (b.size & 0xffffffffu) | (static_cast<std::uint64_t>(b.stack_id) << 32),
      (b.alloc_number & kNumberMask) | (static_cast<std::uint64_t>(b.scope_id & kScopeMask) << 40)};
  const std::uint64_t h = hash_address(b.address);
  Shard& sh = shards_[shard_of(b.address)];
  SpinGuard g(sh.lock);
  if ((sh.used + 1) * 4 > sh.capacity * 3 && !grow(sh)) return false;
  const std::size_t mask = sh.capacity - 1;
  for (std::size_t i = home(h, sh.capacity);; i = (i + 1) & mask) {
    const std::uint64_t w0 = sh.slots[i].w0;
    if (w0 == 0) {
      sh.slots[i] = slot;
      ++sh.used;
      return true;
    }
    if ((w0 & kAddrMask) == addr) {  // a block we missed the free of: the new one replaces it
      sh.slots[i] = slot;
      return true;
    }
  }
}

bool LiveMap::erase(std::uintptr_t address, LiveBlock* out) noexcept {
  const std::uint64_t addr = address;
  const std::uint64_t h = hash_address(address);
  Shard& sh = shards_[shard_of(address)];
  // Start loading the home slot before taking the lock: the two loads overlap.
  prefetch(address);
  SpinGuard g(sh.lock);
  if (sh.capacity == 0) return false;
  const std::size_t mask = sh.capacity - 1;
  std::size_t i = home(h, sh.capacity);
  for (;; i = (i + 1) & mask) {
    const std::uint64_t w0 = sh.slots[i].w0;
    if (w0 == 0) return false;
    if ((w0 & kAddrMask) == addr) break;
  }
  if (out != nullptr) *out = unpack(sh.slots[i]);
  // Backward-shift deletion: move later entries of the run into the hole when their home
  // position allows it, so that look-ups never need tombstones.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    const std::uint64_t w0 = sh.slots[j].w0;
    if (w0 == 0) break;
    const std::size_t k =
        home(hash_address(static_cast<std::uintptr_t>(w0 & kAddrMask)), sh.capacity);
    // Move j into the hole unless its home k lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (!stays) {
      sh.slots[hole] = sh.slots[j];
      hole = j;
    }
  }
  sh.slots[hole] = Slot{0, 0, 0};
  --sh.used;
  return true;
}

void LiveMap::trim() noexcept {
  for (Shard& sh : shards_) {
    SpinGuard g(sh.lock);
    if (sh.used * 16 >= sh.capacity || sh.capacity <= kFirstCapacity) continue;
    std::size_t capacity = kFirstCapacity;
    while (capacity < sh.used * 4) capacity *= 2;
    if (capacity < sh.capacity) (void)resize(sh, capacity);  // unmapped: keeps the larger
  }
}

void LiveMap::clear() noexcept {
  for (Shard& sh : shards_) {
    SpinGuard g(sh.lock);
    for (std::size_t i = 0; i < sh.capacity; ++i) sh.slots[i] = Slot{0, 0, 0};
    sh.used = 0;
  }
}

std::size_t LiveMap::size() const noexcept {
  std::size_t n = 0;
  for (const Shard& sh : shards_) {
    SpinGuard g(const_cast<SpinLock&>(sh.lock));
    n += sh.used;
  }
  return n;
}

std::size_t LiveMap::memory_bytes() const noexcept {
  std::size_t n = 0;
  for (const Shard& sh : shards_) {
    SpinGuard g(const_cast<SpinLock&>(sh.lock));
    n += sh.capacity * sizeof(Slot);
  }
  return n;
}

}  // namespace memx::detail
