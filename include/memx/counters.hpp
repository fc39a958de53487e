// memx: process-wide heap counters fed by the counting operator new/delete.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memx {

/// Heap figures of the whole process, merged on demand from every thread's counters.
/// Byte figures are the usable sizes of the blocks (what the allocator really reserves).
struct Counters {
  std::int64_t live_bytes = 0;         ///< bytes allocated and not yet freed
  std::int64_t live_blocks = 0;        ///< blocks allocated and not yet freed
  std::uint64_t allocs = 0;            ///< cumulative number of allocations
  std::uint64_t frees = 0;             ///< cumulative number of frees
  std::uint64_t bytes_allocated = 0;   ///< cumulative bytes allocated
  std::uint64_t bytes_freed = 0;       ///< cumulative bytes freed
  std::int64_t peak_bytes = 0;         ///< high-water mark of live_bytes since the last reset_peak()
};

/// Merges every thread's counters (and those of exited threads) into one snapshot.
/// Takes a short lock; never call it from a signal handler.
Counters counters() noexcept;

/// The calling thread's own share of the counters (frees of blocks allocated by other
/// threads are charged to the thread that frees them). peak_bytes is the thread's own
/// high-water mark since the last reset, relative to its level at that reset.
Counters this_thread_counters() noexcept;

/// Starts a new high-water mark at the current live level. Open PeakWindows keep theirs.
void reset_peak() noexcept;

/// Name of the allocator behind the counting operator new: "mimalloc" or "system" (the C
/// library's; a mimalloc build counts on it inside a sanitizer or Valgrind: memx/tools.hpp).
const char* backend_name() noexcept;

/// Usable size of a block returned by the counting operator new (0 for nullptr).
std::size_t usable_size(const void* block) noexcept;

/// A high-water mark of the process's live heap over the window's lifetime. Windows
/// nest and overlap freely (a test's window and a Scope inside it), and opening one
/// never loses another's peak.
///
/// The peak is exact when one thread allocates during the window (others may free).
/// Otherwise it is an upper bound of the true peak, at most about 2 x 64 KiB per thread
/// that allocated or freed above it, however the threads share their blocks (one thread
/// allocating what another frees included): see docs/how-it-works.md, "What the figures mean".
class PeakWindow {
 public:
  /// Opens the window at the current live level.
  PeakWindow() noexcept;
  /// Closes the window if still open.
  ~PeakWindow();
  PeakWindow(const PeakWindow&) = delete;
  PeakWindow& operator=(const PeakWindow&) = delete;

  /// Highest live heap (absolute, in bytes) seen since the window opened.
  std::int64_t peak_bytes() const noexcept;
  /// Live heap when the window opened.
  std::int64_t start_bytes() const noexcept { return start_counters_.live_bytes; }
  /// The process's counters when the window opened (saves a counters() call).
  const Counters& start_counters() const noexcept { return start_counters_; }
  /// The process's counters when the window closed (zero while open).
  const Counters& end_counters() const noexcept { return end_counters_; }
  /// Freezes the peak and records end_counters(); later calls of peak_bytes() return the
  /// frozen value.
  void close() noexcept;

 private:
  friend struct PeakWindowAccess;
  Counters start_counters_;
  Counters end_counters_;
  std::int64_t carried_ = 0;  // highest peak of the epochs that ended while open
  bool open_ = false;
  PeakWindow* prev_ = nullptr;
  PeakWindow* next_ = nullptr;
};

/// Keeps the calling thread's high-water mark from rising over the object's lifetime, for
/// work that is not the measured code's but must stay counted because what it keeps is
/// freed, counted, later: a test framework storing and printing a failure. Blocks still
/// live when the object dies count in the high-water mark from then on; the transient ones
/// never do. Create and destroy it on the same thread. When a peak epoch ends meanwhile
/// (reset_peak(), a PeakWindow opening or closing), the transient use stays counted: the
/// ended epoch has already handed its high-water mark to the open windows.
class PeakExcluded {
 public:
  /// Remembers the thread's high-water mark.
  PeakExcluded() noexcept;
  /// Lowers the thread's high-water mark back to what it was, or to its live level if higher.
  ~PeakExcluded();
  PeakExcluded(const PeakExcluded&) = delete;
  PeakExcluded& operator=(const PeakExcluded&) = delete;

 private:
  std::int64_t peak_ = 0;  // the highest net bytes of the thread (absolute)
  std::int64_t base_ = 0;
  std::uint64_t epoch_ = 0;  // 0: nothing to restore
};

}  // namespace memx
