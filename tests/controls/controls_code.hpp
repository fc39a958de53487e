// The code under test of the controls scenarios (issue 10), shared by the GoogleTest and
// the Catch2 scenario: a registry that keeps what it is handed, a function that leaks
// through a singleton-style factory, and a server thread that allocates on its own.
#pragma once

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace controls {

/// The program's global registry: what a test hands it stays for the process's lifetime.
inline std::vector<char*>& registry() {
  static std::vector<char*>* r = [] {
    auto* v = new std::vector<char*>();
    v->reserve(4096);  // never reallocates during a test
    return v;
  }();
  return *r;
}

/// Hands `blocks` new 32-byte blocks to the registry (a test that knowingly leaks them).
inline void hand_to_registry(int blocks) {
  for (int i = 0; i < blocks; ++i) registry().push_back(new char[32]);
}

/// A factory named like the ones LSan suppressions files list (`leak:*CreateSingleton*`):
/// it leaks a block on every call. Not inlined: its frame must be on the stack.
__attribute__((noinline)) inline char* CreateSingleton() {
  char* p = new char[48];
  std::memset(p, 1, 48);
  registry().push_back(p);
  return p;
}

/// A server thread that keeps a 4 KiB log entry for every request it serves, on its own
/// thread: the test's thread allocates nothing.
class Server {
 public:
  Server() : thread_([this] { serve(); }) {}
  ~Server() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  /// Sends one request and waits for it to be served (no allocation on this thread).
  void request() {
    std::unique_lock<std::mutex> lock(mutex_);
    const unsigned long want = served_ + 1;
    ++requested_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return served_ >= want; });
  }

 private:
  void serve() {
    std::vector<char*>* log = new std::vector<char*>();
    log->reserve(4096);
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || requested_ > served_; });
      if (stop_) return;
      log->push_back(new char[4096]);  // kept: the server's own schedule and memory
      ++served_;
      cv_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  unsigned long requested_ = 0;
  unsigned long served_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

/// The process's server, started before main.
inline Server& server() {
  static Server* s = new Server();
  return *s;
}

}  // namespace controls
