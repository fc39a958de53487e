// Faulting in an array's pages ahead of its fill: one madvise(MADV_POPULATE_WRITE) per
// 16 pages instead of a page fault per page, and (with another thread to hand work to) the
// faulting in and the first access to each page made on that thread.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace memx::detail {

/// The steps of an array's storage handed to another thread to be faulted in and read
/// (populate_ahead with a `run`): step k is [base + k * kPopulateStep, ...), each claimed
/// by one thread: the other thread (it faults the step in and reads its pages) or the
/// array's own (it needs the step now and does not wait for work that has not started: it
/// writes there itself, its pages faulting in one at a time).
struct PopulateSteps {
  // kDone: faulted in and read there; kSkipped: claimed by the array's thread first (or
  // refused there), nothing done there.
  enum : unsigned char { kFree = 0, kClaimed = 1, kDone = 2, kSkipped = 3 };
  static constexpr bool finished(unsigned char s) noexcept { return s == kDone || s == kSkipped; }
  const char* base = nullptr;
  const char* end = nullptr;  // the last step ends here (it may be shorter)
  std::size_t count = 0;
  std::unique_ptr<std::atomic<unsigned char>[]> state;
  std::atomic<bool> refused{false};  // the kernel refused MADV_POPULATE_WRITE there
};

/// How far an array reserved ahead and filled one element at a time has had its pages
/// faulted in.
struct Populated {
  const char* data = nullptr;  // the array's storage when `end` was set
  const char* end = nullptr;   // the pages below are faulted in, or are steps to be (page-aligned)
  bool off = false;            // the kernel cannot (MADV_POPULATE_WRITE is Linux 5.14's)
  // Steps to be faulted in and read on another thread (populate_ahead with a `run`): the
  // first `faulted` of `steps`, of which the first `handed` were handed to it (the others
  // wait for a whole batch). By process `pid`: a forked child has no such thread and never
  // waits for one.
  std::shared_ptr<PopulateSteps> steps;
  std::size_t faulted = 0;
  std::size_t handed = 0;
  std::size_t claimed = 0;  // steps [0, claimed) are done: neither read there nor to be read
  long pid = 0;
};

/// Makes sure nothing works on steps [first, last] of `p` (up to the steps due) any more: a
/// step not started there (or not handed yet) is claimed here and never touched there, one
/// under way there is waited for (one madvise of 16 pages and their reads).
inline void claim_steps(Populated& p, std::size_t first, std::size_t last) noexcept {
  // Steps below `claimed` are known to be done: no atomic operation on their state (an
  // exchange per test on a line the other thread writes cost 100 ns a test).
  for (std::size_t k = std::max(first, p.claimed); k <= last && k < p.faulted; ++k) {
    std::atomic<unsigned char>& st = p.steps->state[k];
    unsigned char seen = PopulateSteps::kFree;
    if (!st.compare_exchange_strong(seen, PopulateSteps::kSkipped, std::memory_order_acquire) &&
        seen == PopulateSteps::kClaimed && static_cast<long>(::getpid()) == p.pid) {
      // Being faulted in and read there (in a forked child nothing is): one madvise of
      // 16 pages and their reads.
      while (st.load(std::memory_order_acquire) == PopulateSteps::kClaimed) ::sched_yield();
    }
    if (k == p.claimed) ++p.claimed;
  }
}

/// Makes sure nothing reads any of the array's pages any more: before its storage is freed
/// or moved.
inline void settle(Populated& p) noexcept { claim_steps(p, 0, SIZE_MAX); }

/// The populate step: 64 KiB (16 pages of 4 KiB).
inline constexpr std::size_t kPopulateStep = 64 * 1024;

/// Steps handed to the other thread at a time (populate_ahead with a `run`): each handing
/// may wake that thread, and a wake-up costs the waking thread 15-35 µs on a PVM guest (a
/// hypercall for the other vCPU): one per step was 25 ms of a run of 100,000 trivial tests.
inline constexpr std::size_t kReadBatch = 4;

/// Whether an array of `bytes` is worth populating ahead (4 steps or more): smaller ones are
/// left to fault in as they are written.
constexpr bool worth_populating(std::size_t bytes) noexcept { return bytes >= 4 * kPopulateStep; }

/// Call after appending to `v` (reserved ahead): when its next element would reach pages not
/// yet faulted in, faults in the next kPopulateStep bytes of its capacity with one
/// madvise(MADV_POPULATE_WRITE). A session's 100,000 test records are 43 MB
/// written one element per test: each of their ~10,000 page faults costs more than the
/// kernel's filling 16 pages in one call (about 30% less time in all). The contents are
/// never changed: the pages past the last element's are untouched, and present pages are
/// skipped. Only whole pages inside the capacity are touched (the rest of the last one may
/// be another block's). An array under 4 steps is left alone, as is every array once the
/// kernel refused.
///
/// With `run` (may be null), the faulting in and the first access to each page are moved
/// to another thread (the report thread), kReadBatch + 1 steps ahead of the next element,
/// the steps handed kReadBatch at a time. On this project's CI and benchmark VMs (PVM, a
/// paravirtualised hypervisor) each madvise ends in a TLB flush whose IPI to the other vCPU
/// the caller waits for (690 of them, about 15 ms, in a run of 100,000 trivial tests when
/// the test thread made them), and the first access from user space to a page the kernel
/// has populated still costs 5-6 µs (the hypervisor's own page table is filled then;
/// measured: 5.2-6.5 µs a page), whichever thread of the process makes it. The process's
/// RSS grows by the same steps as without `run`, now while a test may run: a test's RSS
/// figures start from the sampler's latest reading, so a step shows in the test running at
/// the sampler's next reading, as the record spares made there do (session_impl.hpp). The
/// array's next element is written only where no work is under way: a step that thread has
/// not started yet (it is busy, or not scheduled), or not handed yet, is claimed here and
/// left to fault in as it is written. When `run` refuses, nothing is done there. The caller
/// settles `p` before the storage moves or is freed.
template <class T>
void populate_ahead(const std::vector<T>& v, Populated& p,
                    const std::function<bool(std::function<void()>)>* run = nullptr) {
#ifdef MADV_POPULATE_WRITE
  if (p.off || !worth_populating(v.capacity() * sizeof(T))) return;
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto at = [](std::uintptr_t a) { return reinterpret_cast<const char*>(a); };
  const auto addr = [](const void* a) { return reinterpret_cast<std::uintptr_t>(a); };
  const char* const data = reinterpret_cast<const char*>(v.data());
  const char* const used = data + v.size() * sizeof(T);
  const char* const limit = at(addr(data + v.capacity() * sizeof(T)) & ~(page - 1));
  if (p.data != data) {  // new storage (the old one's steps were settled by the caller)
    p.data = data;
    p.end = at((addr(used) + page - 1) & ~(page - 1));
    p.steps.reset();
    p.faulted = 0;
    p.handed = 0;
    p.claimed = 0;
    if (run != nullptr && *run && p.end < limit) {
      auto steps = std::make_shared<PopulateSteps>();
      steps->base = p.end;
      steps->end = limit;
      steps->count = (static_cast<std::size_t>(limit - p.end) + kPopulateStep - 1) / kPopulateStep;
      steps->state.reset(new std::atomic<unsigned char>[steps->count]);
      for (std::size_t k = 0; k < steps->count; ++k) steps->state[k].store(PopulateSteps::kFree);
      p.steps = std::move(steps);
      p.pid = static_cast<long>(::getpid());
    }
  }
  if (p.steps && p.steps->refused.load(std::memory_order_relaxed)) {
    settle(p);
    p.off = true;  // an older kernel (EINVAL): the pages fault in one at a time, as before
    return;
  }
  // With a worker, two batches ahead of the next element: a batch is handed when its last
  // step is due, so that its work is done before the fill reaches it.
  const std::size_t lead = p.steps ? 2 * kReadBatch * kPopulateStep : 0;
  if (used + sizeof(T) + lead > p.end && p.end < limit) {
    const std::size_t n = std::min<std::size_t>(kPopulateStep, static_cast<std::size_t>(limit - p.end));
    if (!p.steps) {
      char* const from = const_cast<char*>(p.end);
      if (::madvise(from, n, MADV_POPULATE_WRITE) != 0) {
        p.off = true;  // an older kernel (EINVAL): the pages fault in one at a time, as before
        return;
      }
    }
    p.end += n;
    if (p.steps) {  // its steps span [p.end, limit) as it was made: this is step p.faulted
      ++p.faulted;
      if (p.faulted - p.handed == kReadBatch || p.faulted == p.steps->count) {
        const std::shared_ptr<PopulateSteps> steps = p.steps;
        const std::size_t first = p.handed, last = p.faulted;  // [first, last)
        p.handed = last;
        auto work = [steps, first, last] {
          for (std::size_t k = first; k < last; ++k) {
            std::atomic<unsigned char>& st = steps->state[k];
            unsigned char seen = PopulateSteps::kFree;
            if (!st.compare_exchange_strong(seen, PopulateSteps::kClaimed, std::memory_order_acquire)) {
              continue;  // the array's thread needed it first (or it was settled): not done
            }
            // Faulted in and read, never written: the array's thread writes here only once
            // the step is done.
            char* const begin = const_cast<char*>(steps->base) + k * kPopulateStep;
            const char* const to = std::min<const char*>(begin + kPopulateStep, steps->end);
            if (steps->refused.load(std::memory_order_relaxed) ||
                ::madvise(begin, static_cast<std::size_t>(to - begin), MADV_POPULATE_WRITE) != 0) {
              steps->refused.store(true, std::memory_order_relaxed);
              st.store(PopulateSteps::kSkipped, std::memory_order_release);
              continue;
            }
            for (const char* a = begin; a < to; a += page) (void)*static_cast<volatile const char*>(a);
            st.store(PopulateSteps::kDone, std::memory_order_release);
          }
        };
        if (!(*run)(work)) {
          for (std::size_t k = first; k < last; ++k) {
            steps->state[k].store(PopulateSteps::kSkipped, std::memory_order_relaxed);
          }
        }
      }
    }
  }
  // The next element's steps: no work under way there when it is written.
  if (p.steps && used + sizeof(T) > p.steps->base) {
    const auto step_of = [&](const char* a) {
      return static_cast<std::size_t>(a - p.steps->base) / kPopulateStep;
    };
    claim_steps(p, used > p.steps->base ? step_of(used) : 0, step_of(used + sizeof(T) - 1));
  }
#else
  (void)v;
  (void)run;
  p.off = true;
#endif
}

}  // namespace memx::detail
