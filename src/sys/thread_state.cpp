// PreservedThreadState: the floating-point environment and errno around memx's own work.
#include "memx/thread_state.hpp"

#include <cerrno>
#include <fenv.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace memx {

namespace {

// What fetestexcept(FE_ALL_EXCEPT) and fegetexcept read (the x87 status and control words
// and MXCSR, as glibc's x86_64 versions do; no fnstenv), without the calls into libm: this
// runs around every test event, four times for each of 100,000 trivial tests.
#if defined(__x86_64__)
int raised_flags() noexcept {
  unsigned short x87 = 0;
  __asm__ volatile("fnstsw %0" : "=am"(x87));
  return static_cast<int>((x87 | _mm_getcsr()) & FE_ALL_EXCEPT);
}
int enabled_traps() noexcept {
  unsigned short control = 0;
  __asm__ volatile("fnstcw %0" : "=m"(control));
  return static_cast<int>(~control & FE_ALL_EXCEPT);
}
#else
int raised_flags() noexcept { return fetestexcept(FE_ALL_EXCEPT); }
int enabled_traps() noexcept { return fegetexcept(); }
#endif

}  // namespace

PreservedThreadState::PreservedThreadState() noexcept
    : flags_(raised_flags()), traps_(enabled_traps()), errno_(errno) {
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
  const int raised = raised_flags() & ~flags_;
  if (raised != 0) clear_raised(raised);
  if (traps_ > 0) feenableexcept(traps_);
  errno = errno_;
}

}  // namespace memx
