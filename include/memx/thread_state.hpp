// memx: leaving the program under test as memx found it.
#pragma once

namespace memx {

/// Keeps what memx's own work could change on the calling thread from reaching the program
/// under test: the floating-point exception flags it raises (memx computes durations and
/// ratios in double), floating-point traps (disabled meanwhile, so a suite that enabled
/// feenableexcept() cannot be stopped by memx's arithmetic) and errno. The plugins hold
/// one around every framework event they handle; flags the program had raised itself are
/// left raised.
class PreservedThreadState {
 public:
  /// Remembers the raised flags, the enabled traps and errno; disables the traps.
  PreservedThreadState() noexcept;
  /// Clears the flags raised since, re-enables the traps, restores errno.
  ~PreservedThreadState();
  PreservedThreadState(const PreservedThreadState&) = delete;
  PreservedThreadState& operator=(const PreservedThreadState&) = delete;

 private:
  int flags_;
  int traps_;
  int errno_;
};

}  // namespace memx
