// memx's own background threads (the RSS sampler, a leak watch): created with
// pthread_create (std::thread would allocate its state with operator new), with every signal
// blocked and a name.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace memx::detail {

/// Starts `main(arg)` on a new thread named `name` (at most 15 characters) that blocks every
/// signal: a signal sent to the process (SIGINT, SIGALRM, SIGCHLD, one a test waits for with
/// sigwait) must go to the program's own threads, as it would without memx. False when the
/// thread could not be created. Allocations glibc makes for it (stack, TLS) come from
/// mmap/malloc, never operator new.
inline bool start_quiet_thread(pthread_t& thread, void* (*main)(void*), void* arg,
                               const char* name) noexcept {
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);  // the thread inherits the mask it is created with
  const bool started = pthread_create(&thread, nullptr, main, arg) == 0;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  // Named, so that a debugger, top or /proc/<pid>/task shows whose thread it is.
  if (started) pthread_setname_np(thread, name);
  return started;
}

}  // namespace memx::detail
