// The cached-rule DWARF unwinder (cfi_unwind.hpp).
#include "stacks/cfi_unwind.hpp"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "stacks/loaded_maps.hpp"
#include "stacks/pages.hpp"
#include "stacks/unwind.hpp"

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define MEMX_CFI_UNWIND 1
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#endif

#if !defined(MEMX_LIBDW_SONAME)
#define MEMX_LIBDW_SONAME "libdw.so.1"
#endif

namespace memx::detail {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

std::atomic<std::uint64_t> g_rules{0};
std::atomic<std::uint64_t> g_unusable{0};
std::atomic<std::uint64_t> g_gave_up{0};
std::atomic<std::uint64_t> g_reports{0};
std::atomic<std::uint64_t> g_flushes{0};
std::atomic<std::uint64_t> g_memo_blocks{0};
std::atomic<std::uint64_t> g_verify_compared{0};
std::atomic<std::uint64_t> g_verify_mismatches{0};
std::atomic<std::uint64_t> g_verify_fell_back{0};

}  // namespace

CfiStats cfi_stats() noexcept {
  return CfiStats{g_rules.load(kRelaxed), g_unusable.load(kRelaxed), g_gave_up.load(kRelaxed),
                  g_reports.load(kRelaxed), g_flushes.load(kRelaxed), g_memo_blocks.load(kRelaxed)};
}

CfiVerify cfi_verify_counts() noexcept {
  return CfiVerify{g_verify_compared.load(kRelaxed), g_verify_mismatches.load(kRelaxed),
                   g_verify_fell_back.load(kRelaxed)};
}

void note_cfi_fell_back() noexcept { g_verify_fell_back.fetch_add(1, kRelaxed); }

bool same_capture(void* const* ours, int n, void* const* lu, int lu_n) noexcept {
  if (n != lu_n) return false;
  for (int i = 1; i < n; ++i) {
    if (ours[i] != lu[i]) return false;
  }
  return true;
}

void note_deferred_id_check(std::uint32_t cached, std::uint32_t interned) noexcept {
  g_verify_compared.fetch_add(1, kRelaxed);
  if (cached == interned) return;
  const std::uint64_t k = g_verify_mismatches.fetch_add(1, kRelaxed);
  if (k >= 3) return;
  char line[160];
  const int len = std::snprintf(line, sizeof line,
                                "memx: MEMX_UNWIND_VERIFY: mismatch %llu: the id cache named stack %u, "
                                "the whole stack is %u\n",
                                static_cast<unsigned long long>(k + 1), cached, interned);
  if (len > 0) (void)!write(2, line, static_cast<std::size_t>(len));
}

void note_cfi_verify(void* const* ours, int n, void* const* lu, int lu_n) noexcept {
  g_verify_compared.fetch_add(1, kRelaxed);
  if (same_capture(ours, n, lu, lu_n)) return;
  const std::uint64_t k = g_verify_mismatches.fetch_add(1, kRelaxed);
  if (k >= 3) return;  // the first few in full; the count says the rest
  char line[160];
  int len = std::snprintf(line, sizeof line,
                          "memx: MEMX_UNWIND_VERIFY: mismatch %llu: dwarf-cfi %d frames, libunwind %d\n",
                          static_cast<unsigned long long>(k + 1), n, lu_n);
  if (len > 0) (void)!write(2, line, static_cast<std::size_t>(len));
  for (int i = 0; i < n || i < lu_n; ++i) {
    len = std::snprintf(line, sizeof line, "  #%-2d %18p %18p%s\n", i, i < n ? ours[i] : nullptr,
                        i < lu_n ? lu[i] : nullptr,
                        i > 0 && (i >= n || i >= lu_n || ours[i] != lu[i]) ? "  <-" : "");
    if (len > 0) (void)!write(2, line, static_cast<std::size_t>(len));
  }
}

#if defined(MEMX_CFI_UNWIND)

namespace {

// ---- Rules -------------------------------------------------------------------------------
//
// One 64-bit word per code address: the CFA's offset (bits 0-31, signed), rbp's offset from
// the CFA where the frame saved it (bits 32-47, signed), the kind (bits 48-49), whether the
// CFA is based on rbp (bit 50) and what became of rbp (bits 51-52).
constexpr std::uint64_t kKindShift = 48;
constexpr std::uint64_t kUsable = 0;     // a frame the walk follows
constexpr std::uint64_t kOutermost = 1;  // the return address is undefined: the walk ends
constexpr std::uint64_t kUnusable = 2;   // the walk gives up (libunwind takes the stack)
constexpr std::uint64_t kCfaRbp = std::uint64_t{1} << 50;
constexpr std::uint64_t kBpShift = 51;
constexpr std::uint64_t kBpSame = 0;
constexpr std::uint64_t kBpSaved = 1;
constexpr std::uint64_t kBpUndefined = 2;

constexpr std::uint64_t rule_of_kind(std::uint64_t kind) { return kind << kKindShift; }
constexpr std::uint64_t kRuleUnusable = rule_of_kind(kUnusable);
constexpr std::uint64_t kRuleOutermost = rule_of_kind(kOutermost);
/// Not a rule: the address is in no module (yet). Never cached.
constexpr std::uint64_t kRuleNoModule = rule_of_kind(3);

// ---- The table ---------------------------------------------------------------------------
//
// Open addressing with linear probing, keys never removed. A writer (under g_miss_lock)
// stores the rule, then the key with release; a reader that sees the key (acquire) sees its
// rule. The table doubles into a fresh mapping at half full; a library unloaded starts an
// empty one. Old tables are never unmapped (a reader may still be in one): they are small,
// and a table is replaced only at doublings and at a dlclose seen by a miss.
struct Slot {
  std::atomic<std::uint64_t> key;  // the address the rule is for; 0: empty
  std::atomic<std::uint64_t> rule;
};

struct Table {
  std::uint64_t mask;
  unsigned shift;  // 64 - log2(slots)
  std::size_t used;
  Slot slots[1];
};

constexpr unsigned kInitialBits = 12;  // 4096 slots, 64 KiB, touched as used

std::atomic<Table*> g_table{nullptr};

std::size_t table_bytes(unsigned bits) {
  return offsetof(Table, slots) + (std::size_t{1} << bits) * sizeof(Slot);
}

Table* new_table(unsigned bits) noexcept {
  auto* t = static_cast<Table*>(map_pages(table_bytes(bits)));
  if (t == nullptr) return nullptr;
  t->mask = (std::uint64_t{1} << bits) - 1;
  t->shift = 64 - bits;
  t->used = 0;
  return t;
}

inline std::size_t home(const Table* t, std::uint64_t key) noexcept {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> t->shift);
}

/// The rule of key, or kRuleNoModule (never stored) when the table has none.
inline std::uint64_t find(const Table* t, std::uint64_t key) noexcept {
  for (std::size_t i = home(t, key);; i = (i + 1) & t->mask) {
    const std::uint64_t k = t->slots[i].key.load(std::memory_order_acquire);
    if (k == key) return t->slots[i].rule.load(kRelaxed);
    if (k == 0) return kRuleNoModule;
  }
}

/// Stores key's rule (the caller holds g_miss_lock and has checked that the key is absent).
void put(Table* t, std::uint64_t key, std::uint64_t rule) noexcept {
  std::size_t i = home(t, key);
  while (t->slots[i].key.load(kRelaxed) != 0) i = (i + 1) & t->mask;
  t->slots[i].rule.store(rule, kRelaxed);
  t->slots[i].key.store(key, std::memory_order_release);
  ++t->used;
}

// ---- libdw, loaded at run time -----------------------------------------------------------

struct Libdw {
  decltype(&::dwfl_begin) begin;
  decltype(&::dwfl_report_begin) report_begin;
  decltype(&::dwfl_linux_proc_maps_report) maps_report;
  decltype(&::dwfl_report_end) report_end;
  decltype(&::dwfl_addrmodule) addrmodule;
  decltype(&::dwfl_module_eh_cfi) eh_cfi;
  decltype(&::dwfl_module_dwarf_cfi) dwarf_cfi;
  decltype(&::dwarf_cfi_addrframe) addrframe;
  decltype(&::dwarf_frame_info) frame_info;
  decltype(&::dwarf_frame_cfa) frame_cfa;
  decltype(&::dwarf_frame_register) frame_register;
  Dwfl_Callbacks callbacks;
};

Libdw g_dw;
std::atomic<bool> g_loaded{false};
pthread_mutex_t g_miss_lock = PTHREAD_MUTEX_INITIALIZER;  // guards everything below
Dwfl* g_dwfl = nullptr;
unsigned long long g_loader_adds = 0;  // the dynamic loader's counters at the last report
unsigned long long g_loader_subs = 0;
__thread bool tls_in_miss __attribute__((tls_model("initial-exec")));

template <class F>
bool load_symbol(void* h, const char* name, F& f) {
  f = reinterpret_cast<F>(dlsym(h, name));
  return f != nullptr;
}

bool load_libdw() noexcept {
  void* h = dlopen(MEMX_LIBDW_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) return false;
  Libdw d{};
  decltype(&::dwfl_linux_proc_find_elf) find_elf = nullptr;
  decltype(&::dwfl_standard_find_debuginfo) find_debuginfo = nullptr;
  const bool ok = load_symbol(h, "dwfl_begin", d.begin) &&
                  load_symbol(h, "dwfl_report_begin", d.report_begin) &&
                  load_symbol(h, "dwfl_linux_proc_maps_report", d.maps_report) &&
                  load_symbol(h, "dwfl_report_end", d.report_end) &&
                  load_symbol(h, "dwfl_addrmodule", d.addrmodule) &&
                  load_symbol(h, "dwfl_module_eh_cfi", d.eh_cfi) &&
                  load_symbol(h, "dwfl_module_dwarf_cfi", d.dwarf_cfi) &&
                  load_symbol(h, "dwarf_cfi_addrframe", d.addrframe) &&
                  load_symbol(h, "dwarf_frame_info", d.frame_info) &&
                  load_symbol(h, "dwarf_frame_cfa", d.frame_cfa) &&
                  load_symbol(h, "dwarf_frame_register", d.frame_register) &&
                  load_symbol(h, "dwfl_linux_proc_find_elf", find_elf) &&
                  load_symbol(h, "dwfl_standard_find_debuginfo", find_debuginfo);
  if (!ok) return false;  // the handle stays open: harmless
  d.callbacks.find_elf = find_elf;
  d.callbacks.find_debuginfo = find_debuginfo;
  g_dw = d;
  return true;
}

/// (Re)reads the process's modules from /proc/self/maps (under g_miss_lock); adds and subs
/// are the loader's counters, read before (loader_counters).
bool report_modules(unsigned long long adds, unsigned long long subs) noexcept {
  if (g_dwfl == nullptr) {
    g_dwfl = g_dw.begin(&g_dw.callbacks);
    if (g_dwfl == nullptr) return false;
  }
  g_loader_adds = adds;
  g_loader_subs = subs;
  // Only the objects the loader knows: libdw's own mappings of the files it reads would
  // stretch a module over libraries loaded later (loaded_maps.hpp).
  std::string maps;
  try {
    maps = loaded_module_maps();
  } catch (...) {  // out of memory: no module list, libunwind walks instead
    return false;
  }
  FILE* f = maps.empty() ? nullptr : fmemopen(maps.data(), maps.size(), "r");
  if (f == nullptr) return false;
  g_dw.report_begin(g_dwfl);
  const int rc = g_dw.maps_report(g_dwfl, f);
  g_dw.report_end(g_dwfl, nullptr, nullptr);
  std::fclose(f);
  g_reports.fetch_add(1, kRelaxed);
  return rc == 0;
}

/// Reads the module list again if a library was loaded or unloaded since it was read (adds
/// and subs: the loader's counters, read before taking g_miss_lock); on an unload, also
/// starts a fresh table (the unloaded library's addresses may hold other code now). Under
/// g_miss_lock.
void follow_loader(unsigned long long adds, unsigned long long subs) noexcept {
  // The counters only grow; a thread that read them before another's report has nothing new.
  if (adds <= g_loader_adds && subs <= g_loader_subs) return;
  if (adds < g_loader_adds) adds = g_loader_adds;
  if (subs > g_loader_subs) {
    const Table* old = g_table.load(kRelaxed);
    unsigned bits = kInitialBits;
    while (old != nullptr && (std::uint64_t{1} << bits) <= old->mask) ++bits;
    if (Table* fresh = new_table(bits)) {
      g_table.store(fresh, std::memory_order_release);
      g_flushes.fetch_add(1, kRelaxed);
    }
  }
  report_modules(adds, subs > g_loader_subs ? subs : g_loader_subs);
}

/// True when ops is "CFA + offset" (DW_OP_call_frame_cfa, DW_OP_plus_uconst offset).
bool at_cfa_plus(const Dwarf_Op* ops, std::size_t n, std::int64_t& offset) {
  if (n != 2 || ops[0].atom != DW_OP_call_frame_cfa || ops[1].atom != DW_OP_plus_uconst) {
    return false;
  }
  offset = static_cast<std::int64_t>(ops[1].number);
  return true;
}

/// The rule of a frame from libdw's description of it.
std::uint64_t decode(Dwarf_Frame* f) noexcept {
  bool signal = false;
  const int ra = g_dw.frame_info(f, nullptr, nullptr, &signal);
  if (ra != 16 || signal) return kRuleUnusable;  // x86-64: the return address is column 16
  Dwarf_Op* ops = nullptr;
  std::size_t n = 0;
  // The CFA: one DW_OP_bregx of rsp (7) or rbp (6) and an offset.
  if (g_dw.frame_cfa(f, &ops, &n) != 0 || n != 1 || ops[0].atom != DW_OP_bregx) {
    return kRuleUnusable;
  }
  const std::uint64_t reg = ops[0].number;
  const auto cfa_off = static_cast<std::int64_t>(ops[0].number2);
  if ((reg != 6 && reg != 7) || cfa_off < INT32_MIN || cfa_off > INT32_MAX) return kRuleUnusable;
  Dwarf_Op mem[3];
  // The return address: at CFA - 8, or undefined (the outermost frame).
  if (g_dw.frame_register(f, 16, mem, &ops, &n) != 0) return kRuleUnusable;
  if (n == 0 && ops == mem) return kRuleOutermost;  // "undefined" (libdw.h)
  std::int64_t off = 0;
  if (!at_cfa_plus(ops, n, off) || off != -8) return kRuleUnusable;
  // The caller's rsp is the CFA (libdw: DW_OP_call_frame_cfa, DW_OP_stack_value).
  if (g_dw.frame_register(f, 7, mem, &ops, &n) != 0 || n != 2 ||
      ops[0].atom != DW_OP_call_frame_cfa || ops[1].atom != DW_OP_stack_value) {
    return kRuleUnusable;
  }
  // rbp: unchanged ("same value": no ops, a null pointer), saved at CFA + k, or undefined.
  if (g_dw.frame_register(f, 6, mem, &ops, &n) != 0) return kRuleUnusable;
  std::uint64_t bp = kBpSame;
  std::int64_t bp_off = 0;
  if (n == 0) {
    bp = ops == nullptr ? kBpSame : kBpUndefined;
  } else if (at_cfa_plus(ops, n, bp_off) && bp_off >= INT16_MIN && bp_off <= INT16_MAX) {
    bp = kBpSaved;
  } else {
    return kRuleUnusable;
  }
  return static_cast<std::uint32_t>(static_cast<std::int32_t>(cfa_off)) |
         std::uint64_t{static_cast<std::uint16_t>(static_cast<std::int16_t>(bp_off))} << 32 |
         rule_of_kind(kUsable) | (reg == 6 ? kCfaRbp : 0) | bp << kBpShift;
}

/// The rule at code address pc, from libdw (under g_miss_lock, after follow_loader).
/// kRuleNoModule when no module holds pc.
std::uint64_t rule_from_libdw(std::uintptr_t pc) noexcept {
  if (g_dwfl == nullptr) return kRuleNoModule;
  Dwfl_Module* m = g_dw.addrmodule(g_dwfl, pc);
  if (m == nullptr) return kRuleNoModule;
  Dwarf_Frame* f = nullptr;
  Dwarf_Addr bias = 0;
  Dwarf_CFI* cfi = g_dw.eh_cfi(m, &bias);
  if (cfi == nullptr || g_dw.addrframe(cfi, pc - bias, &f) != 0) {
    f = nullptr;
    cfi = g_dw.dwarf_cfi(m, &bias);  // .debug_frame (code built without unwind tables)
    if (cfi == nullptr || g_dw.addrframe(cfi, pc - bias, &f) != 0) return kRuleUnusable;
  }
  const std::uint64_t rule = decode(f);
  std::free(f);
  return rule;
}

/// A miss: looks the rule up in libdw and publishes it. Returns it, or kRuleNoModule.
[[gnu::noinline]] std::uint64_t miss(std::uint64_t key) noexcept {
  if (tls_in_miss) return kRuleNoModule;  // a signal handler's allocation during a miss
  tls_in_miss = true;
  // The loader's counters first: dl_iterate_phdr holds the loader's lock while it calls its
  // callbacks, and a callback that allocates comes here; taking that lock under ours could
  // deadlock with it.
  unsigned long long adds = 0, subs = 0;
  loader_counters(adds, subs);
  pthread_mutex_lock(&g_miss_lock);
  follow_loader(adds, subs);
  Table* t = g_table.load(kRelaxed);
  std::uint64_t rule = t != nullptr ? find(t, key) : kRuleNoModule;
  if (rule == kRuleNoModule) {
    rule = rule_from_libdw(static_cast<std::uintptr_t>(key));
    if (rule != kRuleNoModule && t != nullptr) {
      if ((t->used + 1) * 2 > t->mask + 1) {  // half full: double into a fresh mapping
        const unsigned bits = 64 - t->shift + 1;
        if (Table* bigger = new_table(bits)) {
          for (std::size_t i = 0; i <= t->mask; ++i) {
            const std::uint64_t k = t->slots[i].key.load(kRelaxed);
            if (k != 0) put(bigger, k, t->slots[i].rule.load(kRelaxed));
          }
          g_table.store(bigger, std::memory_order_release);
          t = bigger;  // the old one stays mapped: readers may be in it
        }
      }
      if ((t->used + 1) * 2 <= t->mask + 1) put(t, key, rule);
      g_rules.fetch_add(1, kRelaxed);
      if ((rule >> kKindShift) == kUnusable) g_unusable.fetch_add(1, kRelaxed);
    }
  }
  pthread_mutex_unlock(&g_miss_lock);
  tls_in_miss = false;
  return rule;
}

}  // namespace

bool load_cfi_unwinder() noexcept {
  if (g_loaded.load(std::memory_order_acquire)) return true;
  unsigned long long adds = 0, subs = 0;
  loader_counters(adds, subs);  // before g_miss_lock, as in miss()
  pthread_mutex_lock(&g_miss_lock);
  bool ok = g_loaded.load(kRelaxed);
  if (!ok && load_libdw()) {
    if (g_table.load(kRelaxed) == nullptr) g_table.store(new_table(kInitialBits), std::memory_order_release);
    ok = g_table.load(kRelaxed) != nullptr && report_modules(adds, subs);
    if (ok) g_loaded.store(true, std::memory_order_release);
  }
  pthread_mutex_unlock(&g_miss_lock);
  return ok;
}

namespace {

// ---- The last walk of each thread ------------------------------------------------------
//
// Consecutive captures of a thread share most of their outer frames (the test body, the
// framework, main). Each frame the walk passes is a state: its CFA, the return address read
// at CFA - 8, and rbp afterwards (its value, whether it is known, and the address it was
// read from). The walk from a frame on depends only on that state, on the rules (fixed
// while the table is) and on the words it reads from the stack. So when a walk reaches a
// state equal to one of the thread's last walk, and every word that walk read beyond it
// (each return address, each saved rbp) still holds the value read then, the rest of the
// walk is the rest of the last one: copied, not walked. The check is one independent load
// and compare per frame, where walking is a chain of dependent loads (the return address,
// its rule, the next CFA). Only walks that ended at the outermost frame (a rule, not a read)
// are kept, so the copied rest ends where the walk would have.
struct MemoFrame {
  std::uintptr_t cfa;
  std::uintptr_t ra;
  std::uintptr_t bp;
  std::uintptr_t bp_state;  // the address rbp was read from (0: not read) | 1 when rbp is known
};

constexpr int kMemoFrames = 40;  // depth 32 and memx's own frames

struct WalkMemo {
  const Table* table;  // the rules the walk used (a fresh table: the walk is not reused)
  int n;               // frames; 0: none
  std::uint64_t walks;  // walks that wrote the memo, the current one included
  // Outermost first: a walk that reuses the outer frames writes only its own inner ones
  // after them (no moving; GCC's memcpy/memmove here were rep movsq, slow to start).
  MemoFrame g[kMemoFrames];
  // stamp[k]: the walk that last wrote any of g[0..k] (each walk writes a contiguous run
  // g[from..n), so it sets stamp[from..n) to its own number). Equal stamp[k] at two times,
  // with n > k at both, means g[0..k] were not written in between.
  std::uint64_t stamp[kMemoFrames];
};

/// Set while the thread walks: a walk in a signal handler that interrupted one neither reads
/// nor writes the memo.
__thread bool tls_walking __attribute__((tls_model("initial-exec")));

// ---- Where each thread's memo lives ------------------------------------------------------
//
// Not in static TLS: 1.3 KiB of initial-exec TLS per thread comes out of glibc's small
// static TLS surplus when memx is linked into a library loaded with dlopen, and sat between
// the counters' TLS words. A thread takes a block on its first walk, from memx's own pages
// (map_pages, never operator new or malloc), and gives it back at its exit through a pthread
// key's destructor, to a free list the next new thread takes from. The thread keeps only a
// pointer in TLS. The lock is taken once per thread at each end, never on a later walk; a
// walk in a signal handler that interrupted the taking does not use the memo (tls_walking).
struct alignas(64) MemoBlock {
  WalkMemo memo;
  MemoBlock* next_free;  // on the free list
};

constexpr std::size_t kMemoChunk = 64 * 1024;  // mapped at a time: 48 blocks
static_assert(sizeof(MemoBlock) <= kMemoChunk);

SpinLock g_memo_lock;  // guards the three below
MemoBlock* g_memo_free = nullptr;
unsigned char* g_memo_chunk = nullptr;  // the rest of the last chunk mapped
std::size_t g_memo_left = 0;
pthread_key_t g_memo_key;
bool g_memo_key_made = false;  // written once, under g_memo_once
pthread_once_t g_memo_once = PTHREAD_ONCE_INIT;

/// The thread's block; nullptr until its first walk. kNoMemo: none to be had (no memory, no
/// key, or the thread is exiting and has given its block back): it walks without a memo.
__thread MemoBlock* tls_memo __attribute__((tls_model("initial-exec")));
MemoBlock* const kNoMemo = reinterpret_cast<MemoBlock*>(std::uintptr_t{64});

void put_memo(MemoBlock* b) noexcept {
  SpinGuard guard(g_memo_lock);
  b->next_free = g_memo_free;
  g_memo_free = b;
}

/// At the thread's exit (the key's destructor): the block goes back to the free list; a walk
/// later in the exit (another destructor's allocation) does without.
void give_back_memo(void* block) noexcept {
  tls_memo = kNoMemo;
  put_memo(static_cast<MemoBlock*>(block));
}

/// A block for the calling thread (empty), or nullptr.
MemoBlock* take_memo() noexcept {
  pthread_once(&g_memo_once, [] {
    g_memo_key_made = pthread_key_create(&g_memo_key, give_back_memo) == 0;
    // A child forked while another thread held the lock would wait for it forever: the child
    // starts a fresh lock and list (the blocks then on the list stay unused).
    pthread_atfork(nullptr, nullptr, [] {
      new (&g_memo_lock) SpinLock;
      g_memo_free = nullptr;
      g_memo_left = 0;
    });
  });
  if (!g_memo_key_made) return nullptr;  // it could never be given back
  MemoBlock* b = nullptr;
  {
    SpinGuard guard(g_memo_lock);
    b = g_memo_free;
    if (b != nullptr) {
      g_memo_free = b->next_free;
    } else {
      if (g_memo_left < sizeof(MemoBlock)) {
        void* chunk = map_pages(kMemoChunk);
        if (chunk == nullptr) return nullptr;
        g_memo_chunk = static_cast<unsigned char*>(chunk);
        g_memo_left = kMemoChunk;
      }
      b = reinterpret_cast<MemoBlock*>(g_memo_chunk);  // zeroed pages, 64-byte aligned
      g_memo_chunk += sizeof(MemoBlock);
      g_memo_left -= sizeof(MemoBlock);
      g_memo_blocks.fetch_add(1, kRelaxed);
    }
  }
  b->memo.table = nullptr;  // a block given back by an exited thread holds its last walk
  b->memo.n = 0;
  if (pthread_setspecific(g_memo_key, b) != 0) {
    put_memo(b);
    return nullptr;
  }
  return b;
}

/// The calling thread's memo, taken on its first walk; nullptr when it has none. Called
/// with tls_walking set.
inline WalkMemo* thread_memo() noexcept {
  MemoBlock* b = tls_memo;
  if (__builtin_expect(b == nullptr, 0)) {
    b = take_memo();
    tls_memo = b != nullptr ? b : kNoMemo;
    if (b == nullptr) return nullptr;
  }
  return b != kNoMemo ? &b->memo : nullptr;
}

/// True when every word the memo's frames [from, to) read still holds the value read then.
__attribute__((no_sanitize_address)) inline bool rest_holds(const WalkMemo& m, int from,
                                                           int to) noexcept {
  // Early exits (predicted branches), not an accumulated flag: GCC kept the flag in memory,
  // and its read-modify-write per frame made a chain again.
  for (int k = from; k < to; ++k) {
    const MemoFrame& f = m.g[k];
    if (reinterpret_cast<const std::uintptr_t*>(f.cfa)[-1] != f.ra) return false;
    const std::uintptr_t at = f.bp_state & ~std::uintptr_t{7};
    if (at != 0 && *reinterpret_cast<const std::uintptr_t*>(at) != f.bp) return false;
  }
  return true;
}

}  // namespace

// Reads only the thread's own stack, within its bounds; ASan's checks are not wanted on
// the saved registers of other functions' frames.
[[gnu::noinline]] __attribute__((no_sanitize_address)) int cfi_backtrace_regs(
    void** out, int max, std::uintptr_t ip, std::uintptr_t sp_in, std::uintptr_t bp_in,
    CfiDeferred* defer) noexcept {
  const WalkRegs r{ip, sp_in, bp_in};
  const Table* const t0 = g_table.load(std::memory_order_acquire);
  if (t0 == nullptr || max <= 0) return t0 == nullptr ? -1 : 0;
  const Table* t = t0;
  const StackBounds b = this_thread_stack();
  std::uintptr_t sp = r.sp;
  std::uintptr_t bp = r.bp;
  bool bp_known = true;
  if (sp < b.lo || sp >= b.hi) return -1;  // another stack (sigaltstack, a coroutine's)
  const bool outer = !tls_walking;  // not a walk in a signal handler that interrupted one
  if (outer) {
    tls_walking = true;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  WalkMemo* const mp = outer ? thread_memo() : nullptr;
  const bool memo = mp != nullptr;
  const int old_n = memo && mp->table == t0 ? mp->n : 0;
  MemoFrame fresh[kMemoFrames];  // this walk's frames, for the next one
  int p = 0;
  int j = old_n - 1;  // the innermost frame of the last walk whose CFA is not below this one's
  std::uint64_t key = r.ip;
  int n = 0;
  int result = -1;
  out[n++] = reinterpret_cast<void*>(r.ip);
  while (n < max) {
    std::uint64_t rule = find(t, key);
    if (__builtin_expect(rule == kRuleNoModule, 0)) {
      rule = miss(key);
      t = g_table.load(std::memory_order_acquire);
    }
    const std::uint64_t kind = (rule >> kKindShift) & 3;
    if (__builtin_expect(kind != kUsable, 0)) {
      if (kind == kOutermost) {
        result = n;
        if (memo && t == t0 && p <= kMemoFrames) {  // ended by a rule: kept for the next walk
          const std::uint64_t w = ++mp->walks;
          for (int q = 0; q < p; ++q) {
            mp->g[p - 1 - q] = fresh[q];
            mp->stamp[q] = w;
          }
          mp->n = p;
          mp->table = t0;
        }
      }
      break;
    }
    const bool on_bp = (rule & kCfaRbp) != 0;
    if (on_bp && !bp_known) break;
    const std::uintptr_t cfa =
        (on_bp ? bp : sp) + static_cast<std::intptr_t>(static_cast<std::int32_t>(rule));
    // The return address at cfa - 8 and the caller's frame above this one, in the stack.
    if (cfa <= sp || cfa > b.hi || (cfa & 7) != 0) break;
    const std::uintptr_t ra = reinterpret_cast<const std::uintptr_t*>(cfa)[-1];
    const std::uint64_t bp_rule = (rule >> kBpShift) & 3;
    std::uintptr_t bp_from = 0;
    if (bp_rule == kBpSaved) {
      const std::uintptr_t at =
          cfa + static_cast<std::intptr_t>(static_cast<std::int16_t>(rule >> 32));
      if (at < sp || at + 8 > b.hi || (at & 7) != 0) break;
      bp = *reinterpret_cast<const std::uintptr_t*>(at);
      bp_known = true;
      bp_from = at;
    } else if (bp_rule != kBpSame) {
      bp_known = false;
    }
    sp = cfa;
    if (ra < 0x4000) {  // where libunwind's walk stops too
      result = n;
      break;
    }
    out[n++] = reinterpret_cast<void*>(ra);
    key = ra - 1;  // the call instruction: a call may be the last of its function
    const std::uintptr_t bp_state = bp_from | (bp_known ? 1 : 0);
    if (old_n > 0) {
      while (j >= 0 && mp->g[j].cfa < cfa) --j;
      if (j >= 0 && mp->g[j].cfa == cfa && mp->g[j].ra == ra && mp->g[j].bp == bp &&
          (mp->g[j].bp_state & 1) == (bp_state & 1) && t == t0 && rest_holds(*mp, 0, j)) {
        // The rest of the last walk (its frames outer than j) is this walk's rest.
        const int inner = n;
        const int total = n + j < max ? n + j : max;
        if (defer != nullptr && j > 0 && j + 1 + p <= kMemoFrames) {
          // Left in the memo (g[0..j) is not written below): cfi_fill_deferred copies it.
          defer->inner = inner;
          defer->total = total;
          defer->junction = j;
          defer->stamp = mp->stamp[j - 1];
          n = total;
        } else {
          for (int k = j - 1; k >= 0 && n < max; --k) out[n++] = reinterpret_cast<void*>(mp->g[k].ra);
        }
        result = n;
        // Kept: the last walk's outer frames, this one (as read now: its rbp may have come
        // from another address than the last walk's), then this walk's inner frames.
        const std::uint64_t w = ++mp->walks;
        if (j + 1 + p <= kMemoFrames) {
          mp->g[j] = MemoFrame{cfa, ra, bp, bp_state};
          for (int q = 0; q < p; ++q) mp->g[j + p - q] = fresh[q];
          for (int k = j; k <= j + p; ++k) mp->stamp[k] = w;
          mp->n = j + 1 + p;
        } else {
          mp->n = 0;
        }
        if (defer != nullptr) defer->walk = w;
        break;
      }
    }
    if (p < kMemoFrames) fresh[p] = MemoFrame{cfa, ra, bp, bp_state};
    ++p;  // past kMemoFrames: too deep to keep
  }
  if (outer) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    tls_walking = false;
  }
  if (result < 0 && n >= max) result = n;
  if (result < 0) g_gave_up.fetch_add(1, kRelaxed);
  if (defer != nullptr && defer->total == 0) {  // nothing left out
    defer->inner = defer->total = result;
  }
  return result;
}

__attribute__((no_sanitize_address)) bool cfi_fill_deferred(void** out,
                                                          const CfiDeferred& d) noexcept {
  const MemoBlock* b = tls_memo;
  if (tls_walking || b == nullptr || b == kNoMemo) return false;
  const WalkMemo& m = b->memo;
  if (m.walks != d.walk || m.n <= d.junction) return false;
  int n = d.inner;
  for (int k = d.junction - 1; k >= 0 && n < d.total; --k) out[n++] = reinterpret_cast<void*>(m.g[k].ra);
  return n == d.total;
}

#else  // no walk: not x86-64, or a ThreadSanitizer build (which uses glibc's backtrace)

bool load_cfi_unwinder() noexcept { return false; }

int cfi_backtrace_regs(void**, int, std::uintptr_t, std::uintptr_t, std::uintptr_t,
                       CfiDeferred*) noexcept {
  g_gave_up.fetch_add(1, kRelaxed);
  return -1;
}

bool cfi_fill_deferred(void**, const CfiDeferred&) noexcept { return false; }

#endif

}  // namespace memx::detail
