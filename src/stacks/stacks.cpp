// Stack mode: the recording hooks, enable/disable with the unwinder probe, and the queries.
#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "alloc/ignored.hpp"
#include "alloc/thread_counters.hpp"
#include "memx/config.hpp"
#include "memx/counters.hpp"
#include "memx/stacks.hpp"
#include "stacks/cfi_unwind.hpp"
#include "stacks/live_map.hpp"
#include "stacks/scope_peak.hpp"
#include "stacks/record.hpp"
#include "stacks/stack_table.hpp"
#include "stacks/unwind.hpp"

namespace memx::detail {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr int kMaxDepth = stacks::kMaxDepth;
static_assert(kCaptureMax == kMaxDepth + kMaxSkip, "record.hpp's capture size");

/// A counter every recording thread writes, alone on its cache line: alignas on a plain
/// variable aligns its start only, and the linker placed the read-mostly settings below in
/// the allocation number's line, so every fetch_add evicted them from the other cores.
struct alignas(64) SharedCounter {
  std::atomic<std::uint64_t> value{0};
};

// Constant-initialised: the hooks may run before any constructor.
std::atomic<int> g_depth{0};  // 0: off
std::atomic<unsigned char> g_unwinder{static_cast<unsigned char>(stacks::Unwinder::kAuto)};
std::atomic<std::uint32_t> g_scope{0};
SharedCounter g_next_number;
SharedCounter g_dropped;
StackTable g_table;
LiveMap g_map;
ScopePeak g_peak;  // the sites of the current scope's peak
/// The calling thread's cache in front of g_table (most allocations repeat a recent stack).
__thread StackCache tls_stack_cache __attribute__((tls_model("initial-exec")));
__thread bool tls_unscoped __attribute__((tls_model("initial-exec")));  // set_thread_unscoped

[[gnu::noinline]] int capture(stacks::Unwinder u, void** out, int max) noexcept {
  if (u == stacks::Unwinder::kFramePointer) return fp_backtrace(out, max);
  if (u == stacks::Unwinder::kDwarfCfi) {
    const int n = cfi_backtrace(out, max, read_caller_regs());
    if (n >= 0) return n;
  }
  return dwarf_backtrace_fn()(out, max);
}

}  // namespace

std::atomic<std::uint32_t> g_capture_plan{0};
std::atomic<std::uint64_t> g_sample_interval{0};
std::atomic<std::uint32_t> g_sample_generation{0};
__thread std::uint32_t tls_sample_generation __attribute__((tls_model("initial-exec")));

namespace {
/// The interval the recorded blocks were sampled with (0: every block recorded), kept after
/// disable() so that queries still scale them.
std::atomic<std::uint64_t> g_recorded_interval{0};
__thread std::uint64_t tls_rng __attribute__((tls_model("initial-exec")));

/// The estimated (bytes, blocks) a block of `size` bytes stands for.
struct Estimate {
  double bytes;
  double blocks;
};
Estimate estimate(std::uint64_t size, std::uint64_t interval) noexcept {
  if (interval == 0) return {static_cast<double>(size), 1.0};
  const double w = stacks::sample_weight(size, interval);
  return {w * static_cast<double>(size), w};
}

/// One site's bytes and blocks while a query groups the live blocks by stack: estimated
/// with the interval the blocks were recorded with (exact sums when every block was).
struct SiteSum {
  std::uint64_t interval = g_recorded_interval.load(std::memory_order_relaxed);
  double bytes = 0;
  double blocks = 0;
  void add(std::uint64_t size) noexcept {
    const Estimate e = estimate(size, interval);
    bytes += e.bytes;
    blocks += e.blocks;
  }
  /// Stores the sums in the site and starts the next one.
  template <class S>
  void close(S& site) noexcept {
    site.bytes = static_cast<std::uint64_t>(std::llround(bytes));
    site.blocks = static_cast<std::uint64_t>(std::llround(blocks));
    bytes = blocks = 0;
  }
};
}  // namespace

std::uint64_t next_sample_gap(std::uint64_t interval) noexcept {
  std::uint64_t x = tls_rng;
  if (x == 0) {  // seeded per thread: its TLS address and the clock
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    x = (reinterpret_cast<std::uintptr_t>(&tls_rng) * 0x9E3779B97F4A7C15ull) ^
        static_cast<std::uint64_t>(ts.tv_nsec) ^ (static_cast<std::uint64_t>(ts.tv_sec) << 32);
    if (x == 0) x = 1;
  }
  x ^= x >> 12;  // xorshift64*
  x ^= x << 25;
  x ^= x >> 27;
  tls_rng = x;
  const std::uint64_t r = x * 0x2545F4914F6CDD1Dull;
  const double u = static_cast<double>((r >> 11) + 1) * 0x1.0p-53;  // (0, 1]
  const double gap = -std::log(u) * static_cast<double>(interval);
  if (!(gap >= 1.0)) return 1;
  if (gap > 0x1.0p62) return std::uint64_t{1} << 62;
  return static_cast<std::uint64_t>(gap);
}
std::atomic<BacktraceFn> g_dwarf_fn{nullptr};
__thread ProbeCapture* tls_probe __attribute__((tls_model("initial-exec")));

void prefetch_block_entry(void* p) noexcept {
  g_map.prefetch(reinterpret_cast<std::uintptr_t>(p));
}

bool thread_unscoped() noexcept { return tls_unscoped; }

bool stacks_wanted() noexcept {
  return g_depth.load(std::memory_order_acquire) != 0 || tls_probe != nullptr;
}

namespace {

/// A thread's cache of the stacks its deferred dwarf-cfi walks named (StackCapture::deferred):
/// keyed by the frames the walk wrote (after memx's own) and the junction and stamp of the
/// frames it left in its memo, which stand for those frames' values. A hit names the stack
/// without copying the left-out frames, hashing or comparing the whole stack.
struct DeferredIds {
  static constexpr int kEntries = 8;  // a power of two
  static constexpr int kFrames = 6;   // written frames kept per entry; more: not cached
  struct Entry {
    std::uint64_t stamp;
    std::uint32_t id;  // 0: empty
    std::int16_t junction, total;
    std::int16_t written;  // frames after the skip
    const void* frames[kFrames];
  };
  Entry e[kEntries];
};
__thread DeferredIds tls_deferred_ids __attribute__((tls_model("initial-exec")));

/// The id of c's frames from `skip` on, all of them in c.frames (0 when it cannot be stored).
std::uint32_t intern_whole(const StackCapture& c, int skip) noexcept {
  return c.n > skip ? g_table.intern(c.frames + skip, c.n - skip, tls_stack_cache) : 0;
}

/// Copies what a deferred walk left in the memo into c.frames; false when it cannot be had
/// (the thread walked again meanwhile).
bool fill_whole(StackCapture& c) noexcept {
  if (!cfi_fill_deferred(c.frames, c.deferred)) return false;
  c.deferred.inner = c.deferred.total;
  return true;
}

/// The id of the stack c captured, frames from `skip` on (0 when it cannot be stored).
std::uint32_t intern_capture(StackCapture& c, int skip) noexcept {
  const CfiDeferred& d = c.deferred;
  if ((c.plan & kPlanCfi) == 0 || d.total <= d.inner) return intern_whole(c, skip);
  const int written = d.inner - skip;
  DeferredIds::Entry* slot = nullptr;
  if (written >= 0 && written <= DeferredIds::kFrames) {
    // The entry: from the stamp and the innermost and outermost written frames (independent
    // multiplies, not a chain over every frame); the comparison below checks them all.
    const std::uint64_t first = written > 0 ? reinterpret_cast<std::uintptr_t>(c.frames[skip]) : 0;
    const std::uint64_t last =
        written > 1 ? reinterpret_cast<std::uintptr_t>(c.frames[skip + written - 1]) : 0;
    const std::uint64_t h = (d.stamp * 0x9E3779B97F4A7C15ull) ^ (first * 0xff51afd7ed558ccdull) ^
                            (last * 0xc4ceb9fe1a85ec53ull) ^ static_cast<std::uint64_t>(d.junction);
    slot = &tls_deferred_ids.e[(h >> 40) & (DeferredIds::kEntries - 1)];
    if (slot->id != 0 && slot->stamp == d.stamp && slot->junction == d.junction &&
        slot->total == d.total && slot->written == written) {
      int i = 0;
      while (i < written && slot->frames[i] == c.frames[skip + i]) ++i;
      if (i == written) {
        if (__builtin_expect((c.plan & kPlanVerify) == 0, 1)) return slot->id;
        const std::uint32_t cached = slot->id;  // MEMX_UNWIND_VERIFY: named the long way too
        if (!fill_whole(c)) return 0;
        note_deferred_id_check(cached, intern_whole(c, skip));
        return cached;
      }
    }
  }
  if (!fill_whole(c)) return 0;
  const std::uint32_t id = intern_whole(c, skip);
  if (slot != nullptr && id != 0) {
    slot->stamp = d.stamp;
    slot->id = id;
    slot->junction = static_cast<std::int16_t>(d.junction);
    slot->total = static_cast<std::int16_t>(d.total);
    slot->written = static_cast<std::int16_t>(written);
    for (int i = 0; i < written; ++i) slot->frames[i] = c.frames[skip + i];
  }
  return id;
}

}  // namespace

StackHook stacks_on_alloc(void* p, std::size_t usable, StackCapture& c) noexcept {
  if (__builtin_expect(tls_probe != nullptr, 0)) return StackHook::kSkip;
  if (c.plan == 0) return StackHook::kOff;
  const int skip = static_cast<int>((c.plan >> 8) & 0xff);
  const std::uint32_t id = intern_capture(c, skip);
  LiveBlock b;
  b.address = reinterpret_cast<std::uintptr_t>(p);
  b.size = usable;
  b.stack_id = id;
  b.scope_id = tls_unscoped ? 0 : g_scope.load(kRelaxed);
  b.alloc_number = g_next_number.value.load(kRelaxed);
  if (id == 0 || !g_map.insert(b)) {
    g_dropped.value.fetch_add(1, kRelaxed);
  } else {
    g_peak.on_alloc(b.scope_id, id, usable);
  }
  return StackHook::kCount;
}

void* stacks_on_sample(void* p, std::size_t usable, std::size_t align,
                       StackCapture& c) noexcept {
  if (c.plan == 0 || tls_probe != nullptr) return p;
  const bool keep = (align & kKeepContents) != 0;  // a C block's contents (alloc/ignored.hpp)
  align &= ~kKeepContents;
  const int skip = static_cast<int>((c.plan >> 8) & 0xff);
  const std::uint32_t id = intern_capture(c, skip);
  void* q = id != 0 ? arena_block_for_sample(usable, align) : nullptr;
  if (q == nullptr) {
    g_dropped.value.fetch_add(1, kRelaxed);
    return p;
  }
  if (keep) std::memcpy(q, p, usable);
  LiveBlock b;
  b.address = reinterpret_cast<std::uintptr_t>(q);
  b.size = usable;  // what was counted: the free uncounts the same
  b.stack_id = id;
  b.scope_id = tls_unscoped ? 0 : g_scope.load(kRelaxed);
  b.alloc_number = g_next_number.value.load(kRelaxed);
  if (!g_map.insert(b)) {
    g_dropped.value.fetch_add(1, kRelaxed);
    backend_free(q);  // never handed out, never counted: an ignored block's free would not count
    return p;
  }
  g_peak.on_alloc(b.scope_id, id,
                  static_cast<std::uint64_t>(std::llround(estimate(usable, g_recorded_interval.load(kRelaxed)).bytes)));
  backend_free(p);  // replaced by q, which carries its count
  return q;
}

void stacks_thread_exit() noexcept { g_peak.flush_thread(); }

bool stacks_forget_sampled(void* p, std::size_t* counted) noexcept {
  LiveBlock b;
  if (!g_map.erase(reinterpret_cast<std::uintptr_t>(p), &b)) return false;
  g_peak.on_free(b.scope_id, b.stack_id,
                 static_cast<std::uint64_t>(std::llround(estimate(b.size, g_recorded_interval.load(kRelaxed)).bytes)));
  *counted = static_cast<std::size_t>(b.size);
  return true;
}

StackHook stacks_on_free(void* p) noexcept {
  if (__builtin_expect(tls_probe != nullptr, 0)) return StackHook::kSkip;
  if (g_depth.load(std::memory_order_acquire) == 0) return StackHook::kOff;
  LiveBlock b;
  if (g_map.erase(reinterpret_cast<std::uintptr_t>(p), &b)) g_peak.on_free(b.scope_id, b.stack_id, b.size);
  return StackHook::kCount;
}

namespace {

// The probes: small functions whose return addresses the captures must contain, each in a
// section of its own so that the linker's __start_/__stop_ symbols bound it exactly.
[[gnu::noinline, gnu::section("memx_probe_direct")]] void* probe_direct() {
  void* p = ::operator new(40);
  asm volatile("" ::"r"(p) : "memory");
  return p;
}

[[gnu::noinline, gnu::section("memx_probe_library")]] std::string probe_library() {
  // Allocates inside libstdc++ (std::string's out-of-line _M_construct/_M_create, built
  // without frame pointers on Debian): the frame of this function is the one a
  // frame-pointer walk loses there.
  std::string s(100, 'x');
  asm volatile("" ::"r"(s.data()) : "memory");
  return s;
}

}  // namespace
}  // namespace memx::detail
extern "C" {
extern const char __start_memx_probe_direct[], __stop_memx_probe_direct[];
extern const char __start_memx_probe_library[], __stop_memx_probe_library[];
}
namespace memx::detail {
namespace {

/// The index of the first return address in [lo, hi), or -1.
int find_frame(void* const* frames, int n, const char* lo, const char* hi) noexcept {
  for (int i = 0; i < n; ++i) {
    const auto pc = static_cast<const char*>(frames[i]);
    if (pc > lo && pc <= hi) return i;  // a return address follows its call
  }
  return -1;
}

/// What enable() learnt from the probes.
struct ProbeResult {
  bool ok = false;
  int fp_skip = -1;  // frames inside memx before the allocating function's, per unwinder
  int lu_skip = -1;
  bool fp_correct = false;  // the frame-pointer walk matches libunwind through libstdc++
  int cfi_skip = -1;        // the cached-rule DWARF walk (cfi_unwind.hpp): -1 if not loaded
  bool cfi_correct = false;  // it gives libunwind's frames, all of them, in both probes
};

/// True when the cached-rule walk gave exactly libunwind's capture (same_capture), of more
/// than the capturing frame.
bool cfi_same_as_libunwind(const ProbeCapture& p) noexcept {
  return p.cfi_n >= 2 && same_capture(p.cfi, p.cfi_n, p.lu, p.lu_n);
}

template <class F>
bool run_probe(ProbeCapture& probe, F&& f) {
  ThreadCounters& t = tls_counters;
  const unsigned char saved = t.state;
  tls_probe = &probe;
  t.state = kStacks;  // through the slow path, whatever the epoch
  f();
  tls_probe = nullptr;
  t.state = saved;
  return probe.fp_n >= 0;
}

ProbeResult probe_unwinders() {
  ProbeResult r;
  load_dwarf_unwinder();
  const bool cfi_loaded = dwarf_unwinder_is_libunwind() && load_cfi_unwinder();
  ThreadCounters& t = tls_counters;
  if (t.state == kUnregistered) ::operator delete(::operator new(1));  // registers the thread
  if (t.state == kExited || t.state == kUnregistered) return r;
  ProbeCapture direct;
  void* block = nullptr;
  if (!run_probe(direct, [&] { block = probe_direct(); })) return r;
  run_probe(direct, [&] { ::operator delete(block); });  // freed uncounted, as it was made
  r.fp_skip =
      find_frame(direct.fp, direct.fp_n, __start_memx_probe_direct, __stop_memx_probe_direct);
  r.lu_skip =
      find_frame(direct.lu, direct.lu_n, __start_memx_probe_direct, __stop_memx_probe_direct);
  if (cfi_loaded && direct.cfi_n >= 0) {
    r.cfi_skip =
        find_frame(direct.cfi, direct.cfi_n, __start_memx_probe_direct, __stop_memx_probe_direct);
  }
  if (r.fp_skip > kMaxSkip) r.fp_skip = -1;
  if (r.lu_skip > kMaxSkip) r.lu_skip = -1;
  if (r.cfi_skip > kMaxSkip) r.cfi_skip = -1;
  ProbeCapture lib;
  std::string s;
  if (!run_probe(lib, [&] { s = probe_library(); })) return r;
  run_probe(lib, [&] { std::string().swap(s); });
  // Correct: from the allocating call up, the walk gives what libunwind gives, including
  // the frame of probe_library.
  const char* lo = __start_memx_probe_library;
  const char* hi = __stop_memx_probe_library;
  const int lu_at = find_frame(lib.lu, lib.lu_n, lo, hi);
  const int fp_at = find_frame(lib.fp, lib.fp_n, lo, hi);
  if (r.fp_skip >= 0 && r.lu_skip >= 0 && lu_at >= 0 && fp_at >= 0 &&
      lu_at - r.lu_skip == fp_at - r.fp_skip) {
    bool same = true;
    for (int i = r.lu_skip, j = r.fp_skip; i < lib.lu_n && j < lib.fp_n && i <= lu_at + 2;
         ++i, ++j) {
      same = same && lib.lu[i] == lib.fp[j];
    }
    r.fp_correct = same;
  }
  // The cached-rule walk must give libunwind's capture whole, in both probes (its first
  // captures: every rule is then a miss, read from libdw), and find the direct probe's frame
  // where libunwind does.
  r.cfi_correct = cfi_loaded && r.cfi_skip >= 0 && r.cfi_skip == r.lu_skip &&
                  cfi_same_as_libunwind(direct) && cfi_same_as_libunwind(lib) &&
                  find_frame(lib.cfi, lib.cfi_n, lo, hi) == lu_at;
  r.ok = true;
  return r;
}

ProbeResult g_probe;  // the last probe (read by the tests through detail::probe_report)

}  // namespace

/// The unwinders as the last enable() measured them, for tests and the benchmark.
void probe_report(int& fp_skip, int& lu_skip, bool& fp_correct) noexcept {
  fp_skip = g_probe.fp_skip;
  lu_skip = g_probe.lu_skip;
  fp_correct = g_probe.fp_correct;
}

/// The cached-rule walk as the last enable() measured it.
void probe_report_cfi(int& cfi_skip, bool& cfi_correct) noexcept {
  cfi_skip = g_probe.cfi_skip;
  cfi_correct = g_probe.cfi_correct;
}

/// Counts a capture of depth frames with unwinder u from the calling point (for measurements).
int capture_for_test(stacks::Unwinder u, void** out, int max) noexcept {
  return capture(u, out, max);
}

}  // namespace memx::detail

namespace memx::stacks {

using detail::g_depth;
using detail::kRelaxed;

const char* unwinder_name(Unwinder u) noexcept {
  switch (u) {
    case Unwinder::kFramePointer:
      return "frame-pointer";
    case Unwinder::kLibunwind:
      return detail::dwarf_unwinder_is_libunwind() ? "libunwind" : "glibc-backtrace";
    case Unwinder::kDwarfCfi:
      return "dwarf-cfi";
    default:
      return "auto";
  }
}

namespace {

/// A child forked while stack mode is on may have been forked while another thread held a
/// shard's, a bucket's or the peak copy's lock, which nobody would ever release in the child:
/// stack mode is off in the child (it counts as usual; a death test's child never reports).
void stacks_off_in_child() {
  g_depth.store(0, std::memory_order_relaxed);
  detail::g_capture_plan.store(0, std::memory_order_relaxed);  // no capture either
}

}  // namespace

double sample_weight(std::uint64_t size, std::uint64_t interval) noexcept {
  if (interval == 0) return 1.0;
  // A block of s bytes is sampled with probability 1 - exp(-s/T) (the Poisson process over
  // allocated bytes): each sampled one stands for 1 / that many blocks.
  const double p = -std::expm1(-static_cast<double>(size) / static_cast<double>(interval));
  return p > 0 ? 1.0 / p : static_cast<double>(interval);
}

namespace {

/// MEMX_UNWINDER: the unwinder kAuto stands for when it is set (a debugging aid and the
/// benchmark's way to compare unwinders in one binary). A bad value is one line and auto.
Unwinder unwinder_from_environment() noexcept {
  const char* v = std::getenv("MEMX_UNWINDER");
  if (v == nullptr || *v == '\0') return Unwinder::kAuto;
  const std::string_view s(v);
  if (s == "auto") return Unwinder::kAuto;
  if (s == "frame-pointer") return Unwinder::kFramePointer;
  if (s == "libunwind") return Unwinder::kLibunwind;
  if (s == "dwarf-cfi") return Unwinder::kDwarfCfi;
  std::fprintf(stderr,
               "memx: ignoring MEMX_UNWINDER=\"%.100s\": expected auto, frame-pointer, libunwind "
               "or dwarf-cfi; the unwinder is chosen automatically\n",
               v);
  return Unwinder::kAuto;
}

/// MEMX_UNWIND_VERIFY=1: the cached-rule walk's captures are also made with libunwind and
/// compared; the counts are printed at exit (a debugging aid).
bool verify_from_environment() noexcept {
  const char* v = std::getenv("MEMX_UNWIND_VERIFY");
  if (v == nullptr || *v == '\0') return false;
  const std::optional<bool> on = parse_bool(v);
  if (!on.has_value()) {
    std::fprintf(stderr, "memx: ignoring MEMX_UNWIND_VERIFY=\"%.100s\": expected 1 or 0\n", v);
    return false;
  }
  return *on;
}

std::atomic<bool> g_verified{false};  // MEMX_UNWIND_VERIFY was on in some enable()

[[gnu::destructor]] void print_verify_counts() {
  if (!g_verified.load(kRelaxed)) return;
  const detail::CfiVerify v = detail::cfi_verify_counts();
  std::fflush(stdout);  // after what the program printed
  std::fprintf(stderr,
               "memx: MEMX_UNWIND_VERIFY: %llu captures by dwarf-cfi compared with libunwind, "
               "%llu mismatches, %llu captures left to libunwind\n",
               static_cast<unsigned long long>(v.compared),
               static_cast<unsigned long long>(v.mismatches),
               static_cast<unsigned long long>(v.fell_back));
}

/// Probes the unwinders and publishes the capture plan (enable and enable_sampling).
bool start_capture(int depth, Unwinder u) noexcept {
  static const bool fork_handler = pthread_atfork(nullptr, nullptr, stacks_off_in_child) == 0;
  (void)fork_handler;
  detail::ProbeResult r;
  try {
    r = detail::probe_unwinders();
  } catch (...) {
    return false;
  }
  detail::g_probe = r;
  if (!r.ok) return false;
  if (u == Unwinder::kAuto) u = unwinder_from_environment();
  if (u == Unwinder::kAuto) {
    u = r.fp_correct    ? Unwinder::kFramePointer
        : r.cfi_correct ? Unwinder::kDwarfCfi
                        : Unwinder::kLibunwind;
  }
  const int skip = u == Unwinder::kFramePointer ? r.fp_skip
                   : u == Unwinder::kDwarfCfi   ? r.cfi_skip
                                                : r.lu_skip;
  if (skip < 0) return false;
  const bool verify = u == Unwinder::kDwarfCfi && verify_from_environment();
  if (verify) g_verified.store(true, kRelaxed);
  g_depth.store(0, std::memory_order_release);
  detail::g_sample_interval.store(0, std::memory_order_release);
  detail::g_capture_plan.store(0, std::memory_order_release);
  detail::g_map.clear();
  detail::g_dropped.value.store(0, kRelaxed);
  detail::g_unwinder.store(static_cast<unsigned char>(u), kRelaxed);
  detail::g_dwarf_fn.store(detail::dwarf_backtrace_fn(), kRelaxed);
  detail::g_capture_plan.store(
      static_cast<std::uint32_t>(depth) | static_cast<std::uint32_t>(skip) << 8 |
          (u == Unwinder::kFramePointer ? detail::kPlanFramePointer : 0) |
          (u == Unwinder::kDwarfCfi ? detail::kPlanCfi : 0) | (verify ? detail::kPlanVerify : 0),
      std::memory_order_release);
  return true;
}

}  // namespace

bool enable_sampling(std::uint64_t mean_bytes, int depth, Unwinder u) noexcept {
  if (depth < 1 || depth > kMaxDepth || mean_bytes == 0) return false;
  if (!detail::arena_available()) return false;  // the C library's allocator: no arena
  if (!start_capture(depth, u)) return false;
  detail::g_recorded_interval.store(mean_bytes, kRelaxed);
  detail::g_sample_generation.fetch_add(1, std::memory_order_relaxed);
  detail::g_sample_interval.store(mean_bytes, std::memory_order_release);
  // Every thread takes the slow path at its next allocation (its epoch is stale) and arms
  // its threshold there; it stays in the counting state.
  reset_peak();
  return true;
}

std::uint64_t sample_bytes() noexcept {
  return detail::g_sample_interval.load(kRelaxed);
}

bool enable(int depth, Unwinder u) noexcept {
  if (depth < 1 || depth > kMaxDepth) return false;
  if (!start_capture(depth, u)) return false;
  detail::g_recorded_interval.store(0, kRelaxed);
  g_depth.store(depth, std::memory_order_release);
  // Every thread in the counting state takes the slow path at its next allocation (its
  // epoch is stale), sees the depth and switches to the stack state.
  reset_peak();
  return true;
}

void disable() noexcept {
  g_depth.store(0, std::memory_order_release);
  detail::g_sample_interval.store(0, std::memory_order_release);
  detail::g_capture_plan.store(0, std::memory_order_release);
}

bool enabled() noexcept {
  return g_depth.load(kRelaxed) != 0 || detail::g_sample_interval.load(kRelaxed) != 0;
}

int depth() noexcept {
  if (detail::g_sample_interval.load(kRelaxed) != 0) {
    return static_cast<int>(detail::g_capture_plan.load(kRelaxed) & 0xff);
  }
  return g_depth.load(kRelaxed);
}

Unwinder unwinder() noexcept {
  return static_cast<Unwinder>(detail::g_unwinder.load(kRelaxed));
}

void set_scope(std::uint32_t id) noexcept {
  if (id == 0) detail::g_map.trim();  // a scope ended: its shards' tables follow its blocks
  detail::g_peak.begin(id & detail::LiveMap::kScopeMask);
  detail::g_scope.store(id, kRelaxed);
}

List<Site> peak_sites(std::uint32_t scope, std::uint64_t* live_bytes) {
  Uncounted guard;
  List<Site> sites;
  sites.reserve(256);
  const std::size_t room = sites.capacity();  // nothing allocates under the copy's lock
  const std::uint64_t total = detail::g_peak.read(scope & detail::LiveMap::kScopeMask, [&](const detail::ScopePeak::Entry& e) {
    if (sites.size() < room) sites.push_back(Site{e.stack_id, e.bytes, e.blocks});
  });
  if (live_bytes != nullptr) *live_bytes = total;
  std::sort(sites.begin(), sites.end(), [](const Site& a, const Site& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.blocks != b.blocks) return a.blocks > b.blocks;
    return a.stack_id < b.stack_id;
  });
  return sites;
}

bool set_thread_unscoped(bool on) noexcept {
  const bool was = detail::tls_unscoped;
  detail::tls_unscoped = on;
  return was;
}

std::uint32_t scope() noexcept {
  return detail::g_scope.load(kRelaxed);
}

std::uint64_t next_allocation_number() noexcept {
  // The recording path only loads the counter (a read-mostly line; a fetch_add there was
  // about 4% of a stack-mode run): a call bumps it, so that every block recorded after it gets
  // at least the number returned and every block recorded before it less.
  return detail::g_next_number.value.fetch_add(1, kRelaxed) + 1;
}

List<Site> live_sites(const Filter& filter) {
  Uncounted guard;  // the scratch below is memx's own
  // Copy the matching (stack, size) pairs out shard by shard; nothing allocates under a lock.
  using Pair = std::pair<std::uint32_t, std::uint64_t>;
  List<Pair> pairs;
  List<Pair> shard;
  const std::uint64_t first = filter.first_number & detail::LiveMap::kNumberMask;
  const std::uint64_t end = filter.end_number;
  const bool by_scope = filter.scope.has_value();
  const std::uint32_t want_scope = by_scope ? (*filter.scope & detail::LiveMap::kScopeMask) : 0;
  for (int s = 0; s < detail::LiveMap::shards(); ++s) {
    shard.clear();
    std::size_t n = 0;
    detail::g_map.for_each_in_shard(s, [&](const detail::LiveBlock&) { ++n; });
    shard.reserve(n + 64);  // room for blocks recorded meanwhile; the rest are skipped
    const std::size_t room = shard.capacity();
    detail::g_map.for_each_in_shard(s, [&](const detail::LiveBlock& b) {
      if (b.alloc_number < first || b.alloc_number >= end) return;
      if (by_scope && b.scope_id != want_scope) return;
      if (shard.size() < room) shard.emplace_back(b.stack_id, b.size);
    });
    pairs.insert(pairs.end(), shard.begin(), shard.end());
  }
  std::sort(pairs.begin(), pairs.end());
  List<Site> sites;
  detail::SiteSum sum;
  for (const Pair& p : pairs) {
    if (sites.empty() || sites.back().stack_id != p.first) {
      if (!sites.empty()) sum.close(sites.back());
      sites.push_back(Site{p.first, 0, 0});
    }
    sum.add(p.second);
  }
  if (!sites.empty()) sum.close(sites.back());
  std::sort(sites.begin(), sites.end(), [](const Site& a, const Site& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.blocks != b.blocks) return a.blocks > b.blocks;
    return a.stack_id < b.stack_id;
  });
  return sites;
}

List<ScopedSite> live_sites_by_scope(const List<std::uint32_t>& scopes) {
  Uncounted guard;  // the scratch below is memx's own
  List<std::uint32_t> wanted;
  for (const std::uint32_t s : scopes) wanted.push_back(s & detail::LiveMap::kScopeMask);
  std::sort(wanted.begin(), wanted.end());
  const bool all = wanted.empty();
  auto selected = [&](std::uint32_t scope) {
    return all ? scope != 0 : std::binary_search(wanted.begin(), wanted.end(), scope);
  };
  // (scope << 32 | stack, size) pairs, copied out shard by shard: nothing allocates under
  // a shard's lock.
  using Pair = std::pair<std::uint64_t, std::uint64_t>;
  List<Pair> pairs;
  List<Pair> shard;
  for (int s = 0; s < detail::LiveMap::shards(); ++s) {
    shard.clear();
    std::size_t n = 0;
    detail::g_map.for_each_in_shard(s, [&](const detail::LiveBlock& b) { n += selected(b.scope_id); });
    shard.reserve(n + 64);  // room for blocks recorded meanwhile; the rest are skipped
    const std::size_t room = shard.capacity();
    detail::g_map.for_each_in_shard(s, [&](const detail::LiveBlock& b) {
      if (!selected(b.scope_id) || shard.size() >= room) return;
      shard.emplace_back(std::uint64_t{b.scope_id} << 32 | b.stack_id, b.size);
    });
    pairs.insert(pairs.end(), shard.begin(), shard.end());
  }
  std::sort(pairs.begin(), pairs.end());
  List<ScopedSite> sites;
  detail::SiteSum sum;
  for (const Pair& p : pairs) {
    const auto scope = static_cast<std::uint32_t>(p.first >> 32);
    const auto stack = static_cast<std::uint32_t>(p.first);
    if (sites.empty() || sites.back().scope != scope || sites.back().stack_id != stack) {
      if (!sites.empty()) sum.close(sites.back());
      sites.push_back(ScopedSite{scope, stack, 0, 0});
    }
    sum.add(p.second);
  }
  if (!sites.empty()) sum.close(sites.back());
  std::sort(sites.begin(), sites.end(), [](const ScopedSite& a, const ScopedSite& b) {
    if (a.scope != b.scope) return a.scope < b.scope;
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.blocks != b.blocks) return a.blocks > b.blocks;
    return a.stack_id < b.stack_id;
  });
  return sites;
}

std::uint64_t dropped() noexcept { return detail::g_dropped.value.load(kRelaxed); }

List<std::uintptr_t> frames(std::uint32_t stack_id) {
  std::uintptr_t buf[kMaxDepth];
  const int n = detail::g_table.frames(stack_id, buf, kMaxDepth);
  Uncounted guard;
  return List<std::uintptr_t>(buf, buf + n);
}

MemoryUse memory_use() noexcept {
  MemoryUse m;
  m.live_blocks = detail::g_map.size();
  m.live_map_bytes = detail::g_map.memory_bytes();
  m.stacks = detail::g_table.size();
  m.stack_table_bytes = detail::g_table.memory_bytes();
  m.dropped = detail::g_dropped.value.load(kRelaxed);
  return m;
}

std::optional<int> parse_depth(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  std::size_t j = text.size();
  while (j > i && text[j - 1] == ' ') --j;
  const std::string_view t = text.substr(i, j - i);
  if (t.empty()) return std::nullopt;
  if (t.find_first_not_of("0123456789") != std::string_view::npos) {
    const std::optional<bool> on = parse_bool(t);  // on/yes/true: the default depth
    if (!on.has_value()) return std::nullopt;
    return *on ? kDefaultDepth : 0;
  }
  if (t.size() > 3) return std::nullopt;
  int v = 0;
  for (const char c : t) v = v * 10 + (c - '0');
  if (v > kMaxDepth) return std::nullopt;
  return v;
}

std::optional<Setting> parse_setting(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  std::size_t j = text.size();
  while (j > i && text[j - 1] == ' ') --j;
  const std::string_view t = text.substr(i, j - i);
  constexpr std::string_view kSample = "sample:";
  if (t.substr(0, kSample.size()) != kSample) {
    const std::optional<int> d = parse_depth(t);
    if (!d) return std::nullopt;
    return Setting{*d, 0};
  }
  std::string_view size = t.substr(kSample.size());
  int depth = kDefaultDepth;
  if (const std::size_t at = size.find('@'); at != std::string_view::npos) {
    const std::optional<int> d = parse_depth(size.substr(at + 1));
    if (!d || *d == 0 || size.substr(at + 1).find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    depth = *d;
    size = size.substr(0, at);
  }
  const std::optional<std::uint64_t> bytes = parse_size(size);
  if (!bytes || *bytes == 0) return std::nullopt;
  return Setting{depth, *bytes};
}

namespace {

/// MEMX_STACKS=DEPTH turns stack mode on when the program starts (before main, in the
/// order of constructors: allocations of earlier constructors are not recorded).
[[gnu::constructor]] void enable_from_environment() {
  const char* value = std::getenv("MEMX_STACKS");
  if (value == nullptr || *value == '\0') return;
  const std::optional<Setting> d = parse_setting(value);
  if (!d.has_value()) {
    std::fprintf(stderr,
                 "memx: ignoring MEMX_STACKS=\"%.200s\": expected a depth from 1 to %d, on "
                 "(depth %d), off, or sample:SIZE[@DEPTH]; stack mode stays off\n",
                 value, kMaxDepth, kDefaultDepth);
    return;
  }
  if (d->depth == 0) return;
  if (d->sample_bytes != 0) {
    if (!enable_sampling(d->sample_bytes, d->depth)) {
      std::fprintf(stderr,
                   "memx: MEMX_STACKS=%s: sampling could not be started (it needs memx's own "
                   "arena: not inside a sanitizer or Valgrind)\n",
                   value);
    }
    return;
  }
  if (!enable(d->depth)) {
    std::fprintf(stderr, "memx: MEMX_STACKS=%s: stack mode could not be enabled\n", value);
  }
}

}  // namespace

}  // namespace memx::stacks
