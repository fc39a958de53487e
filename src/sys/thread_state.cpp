// PreservedThreadState: the floating-point environment and errno around memx's own work.
#include "memx/thread_state.hpp"

#include <cerrno>
#include <fenv.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace memx {

// fetestexcept and fegetexcept read the status and control words (cheap, no fnstenv):
// this runs around every test event, 10,000 trivial tests included.
PreservedThreadState::PreservedThreadState() noexcept
    : flags_(fetestexcept(FE_ALL_EXCEPT)), traps_(fegetexcept()), errno_(errno) {
  if (traps_ > 0) fedisableexcept(traps_);
}

namespace {

/// Clears `raised` (flags memx's work raised): feclearexcept rewrites the whole x87
/// environment (fnstenv, fldenv), and memx's arithmetic raises FE_INEXACT around nearly
/// every test. Its double arithmetic is SSE's: when the x87 unit holds none of the flags,
/// clearing them in MXCSR alone is the same.
void clear_raised(int raised) noexcept {
#if defined(__x86_64__)
  unsigned short x87 = 0;
  __asm__ volatile("fnstsw %0" : "=am"(x87));
  if ((x87 & raised) == 0) {
    _mm_setcsr(_mm_getcsr() & ~static_cast<unsigned>(raised));
    return;
  }
#endif
  feclearexcept(raised);
}

}  // namespace

PreservedThreadState::~PreservedThreadState() {
  const int raised = fetestexcept(FE_ALL_EXCEPT) & ~flags_;
  if (raised != 0) clear_raised(raised);
  if (traps_ > 0) feenableexcept(traps_);
  errno = errno_;
}

}  // namespace memx
