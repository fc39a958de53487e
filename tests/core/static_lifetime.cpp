// Safe before main and after it: static objects that allocate in their constructors and
// destructors, and a thread still allocating while the process exits.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "memx/counters.hpp"
#include "memx/scope.hpp"

namespace {

void say(const char* line) {
  ssize_t rc = ::write(STDOUT_FILENO, line, std::strlen(line));
  (void)rc;
}

struct AllocatesBeforeMain {
  std::vector<std::string> names;
  std::uint64_t allocs_seen = 0;
  AllocatesBeforeMain() {
    const memx::Counters before = memx::counters();
    names.assign(100, std::string(100, 's'));
    allocs_seen = memx::counters().allocs - before.allocs;
  }
  ~AllocatesBeforeMain() {
    // Allocate and free during static destruction, then check the books still balance.
    // This thread's own counters: the spinning thread keeps allocating meanwhile.
    const memx::Counters before = memx::this_thread_counters();
    { std::vector<std::string> more(50, std::string(200, 'e')); }
    names.clear();
    names.shrink_to_fit();
    const memx::Counters after = memx::this_thread_counters();
    char line[160];
    std::snprintf(line, sizeof line, "static-destructor: allocs=%llu frees=%llu\n",
                  static_cast<unsigned long long>(after.allocs - before.allocs),
                  static_cast<unsigned long long>(after.frees - before.frees));
    say(line);
    if (after.allocs - before.allocs == 52 && after.frees - before.frees == 153) {
      say("static-destructor: books balance\n");
    }
  }
} g_early;

std::atomic<bool> g_spinning{false};

struct StartsAThread {
  StartsAThread() {
    std::thread([] {
      for (;;) {  // runs until the process exits under it
        std::vector<int> churn(64);
        g_spinning = true;
      }
    }).detach();
  }
} g_thread_starter;

}  // namespace

int main() {
  char line[128];
  std::snprintf(line, sizeof line, "before-main: %llu allocations counted\n",
                static_cast<unsigned long long>(g_early.allocs_seen));
  say(line);
  if (g_early.allocs_seen != 102) return 1;  // 100 strings, the buffer, a temporary
  while (!g_spinning) std::this_thread::yield();
  // A scope open at exit must not crash either.
  static memx::Scope* open_at_exit = new memx::Scope();
  (void)open_at_exit;
  say("main: returning with a thread still allocating\n");
  return 0;
}
