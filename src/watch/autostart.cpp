// The watch that starts itself (memx/watch_report.hpp): MEMX_WATCH read before main by a
// static initialiser, the report written at exit or on SIGINT/SIGTERM. Linked into a
// program through memx_watch_anchor (src/CMakeLists.txt), like the counting operator new.
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <string>

#include "memx/uncounted.hpp"
#include "memx/watch_report.hpp"
#include "sys/quiet_thread.hpp"

extern "C" {
/// Referenced with --undefined by every program that links memx::watch, so that this file
/// (and its static initialiser) is taken from the static library.
int memx_watch_anchor = 0;
}

namespace memx {
namespace {

alignas(LeakWatch) unsigned char g_watch_storage[sizeof(LeakWatch)];
LeakWatch* g_watch = nullptr;  // never destroyed: the exit handler and the signal thread use it
std::string* g_path = nullptr;
pid_t g_pid = 0;  // a child made with fork() has no watch thread: it writes nothing
std::mutex g_finish_mutex;
bool g_finished = false;
sem_t g_signal_sem;
volatile sig_atomic_t g_signal = 0;

// Stops the watch and writes the report, once (the exit handler and the signal thread may
// both get here; the second waits for the first, so exit() never cuts the writing short).
void finish() noexcept {
  if (::getpid() != g_pid) return;
  std::lock_guard<std::mutex> lock(g_finish_mutex);
  if (g_finished) return;
  g_finished = true;
  Uncounted guard;  // the report's memory is memx's
  g_watch->stop();
  std::string error;
  try {
    if (!write_watch_report(*g_watch, *g_path, &error))
      std::fprintf(stderr, "memx: %s\n", error.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memx: cannot write the watch's report \"%s\": %s\n", g_path->c_str(),
                 e.what());
  }
}

void on_signal(int sig) {
  g_signal = sig;
  sem_post(&g_signal_sem);  // async-signal-safe: the thread below does the work
}

// Waits for SIGINT or SIGTERM, writes the report, then lets the signal take its default
// course (the process is sent it again, with the default action restored).
void* signal_main(void*) noexcept {
  while (sem_wait(&g_signal_sem) != 0 && errno == EINTR) {
  }
  const int sig = g_signal;
  finish();
  ::signal(sig, SIG_DFL);
  ::kill(::getpid(), sig);  // to the process: this thread blocks every signal
  return nullptr;
}

void take_default(int sig) {
  struct sigaction old {};
  if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL)
    return;  // the program's own
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(sig, &sa, nullptr);
}

void start_from_environment() {
  const char* value = std::getenv("MEMX_WATCH");
  if (value == nullptr) return;
  const std::optional<std::chrono::milliseconds> interval = parse_watch_interval(value);
  if (!interval) {
    std::fprintf(stderr,
                 "memx: MEMX_WATCH=\"%s\" is not an interval: give a whole number of milliseconds "
                 "from 1 to 3600000\n",
                 value);
    std::exit(2);
  }
  Uncounted guard;
  const char* pattern = std::getenv("MEMX_WATCH_REPORT");
  g_pid = ::getpid();
  g_path = new std::string(
      expand_report_path(pattern != nullptr && *pattern != '\0' ? pattern : "memx-watch-%p.json",
                         static_cast<long>(g_pid)));
  std::string error;
  if (!make_parent_directories(*g_path, &error)) std::fprintf(stderr, "memx: %s\n", error.c_str());
  g_watch = new (g_watch_storage) LeakWatch();
  // The signal thread first, so that the watch counts it from its first sample on.
  pthread_t thread;
  if (sem_init(&g_signal_sem, 0, 0) == 0 &&
      detail::start_quiet_thread(thread, signal_main, nullptr, "memx-watch-sig")) {
    pthread_detach(thread);
    take_default(SIGINT);
    take_default(SIGTERM);
  }
  try {
    g_watch->start(*interval);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memx: MEMX_WATCH: %s\n", e.what());
    std::exit(2);
  }
  std::atexit(finish);
}

struct StartFromEnvironment {
  StartFromEnvironment() { start_from_environment(); }
} g_start_from_environment;

}  // namespace

LeakWatch* environment_watch() noexcept {
  return g_watch;
}

}  // namespace memx
