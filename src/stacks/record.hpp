// Stack mode's entry points from the counting slow path (alloc/counters.cpp).
#pragma once

#include <cstddef>

namespace memx::detail {

/// What the slow path does after a stack-mode hook.
enum class StackHook : unsigned char {
  kOff,    // stack mode is off: count only, and go back to the counting state
  kCount,  // recorded (or forgotten): count as usual
  kSkip,   // memx's own probe block (enable() measuring the unwinders): do not count
};

/// True when a thread in the counting state should switch to the stack state.
bool stacks_wanted() noexcept;
/// Captures the stack of a block just allocated and records it in the live-block map.
[[gnu::noinline]] StackHook stacks_on_alloc(void* p, std::size_t usable) noexcept;
/// Forgets a block about to be freed.
StackHook stacks_on_free(void* p) noexcept;

}  // namespace memx::detail
