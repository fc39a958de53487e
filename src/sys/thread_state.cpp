// PreservedThreadState: the floating-point environment and errno around memx's own work.
#include "memx/thread_state.hpp"

#include <cerrno>
#include <fenv.h>

namespace memx {

// fetestexcept and fegetexcept read the status and control words (cheap, no fnstenv):
// this runs around every test event, 10,000 trivial tests included.
PreservedThreadState::PreservedThreadState() noexcept
    : flags_(fetestexcept(FE_ALL_EXCEPT)), traps_(fegetexcept()), errno_(errno) {
  if (traps_ > 0) fedisableexcept(traps_);
}

PreservedThreadState::~PreservedThreadState() {
  const int raised = fetestexcept(FE_ALL_EXCEPT) & ~flags_;
  if (raised != 0) feclearexcept(raised);
  if (traps_ > 0) feenableexcept(traps_);
  errno = errno_;
}

}  // namespace memx
