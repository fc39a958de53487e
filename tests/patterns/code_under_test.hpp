// The code under test of the leak-pattern scenarios (issue 6), shared by the GoogleTest and
// the Catch2 versions so that both frameworks exercise exactly the same code; each test
// file only holds the test bodies and its framework's assertions.
#pragma once

#include <gmock/gmock.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <locale>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace patterns {

// --- 1. Handoff: a global registry one test fills and a later one empties ----------------------
struct Plugin {
  std::string name;
  std::vector<int> state;
};

inline std::vector<std::unique_ptr<Plugin>>& registry() {
  static auto* r = new std::vector<std::unique_ptr<Plugin>>();
  return *r;
}

/// Registers one plugin (352 B in 3 blocks with mimalloc).
inline void register_plugin() {
  registry().reserve(4);
  registry().push_back(
      std::make_unique<Plugin>(Plugin{"logger-plugin-with-a-long-name", std::vector<int>(64)}));
}

// --- 2. Lazy one-time state ---------------------------------------------------------------------
struct Greeting : std::numpunct<char> {
  std::string do_truename() const override { return "yes"; }
};

/// Installs a new global locale (a new one every call; the previous one is released).
inline void install_greeting_locale() {
  std::locale::global(std::locale(std::locale::classic(), new Greeting));
}

class Service {
 public:
  virtual ~Service() = default;
  virtual int Get(int key) = 0;
};

class MockService : public Service {
 public:
  MOCK_METHOD(int, Get, (int key), (override));
};

/// A library's Env::Default(): a singleton created on first use whose detached background
/// thread allocates as it starts.
class Env {
 public:
  static Env* Default() {
    static Env* env = new Env();
    return env;
  }
  int tick() const { return ticks_.load(); }

 private:
  Env() {
    std::thread([this] {
      std::vector<std::string> scratch(16, std::string(100, 'e'));
      for (;;) {
        ++ticks_;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }).detach();
  }
  std::atomic<int> ticks_{0};
};

// --- 4. Background threads -------------------------------------------------------------------------
/// An async logger: the test thread queues lines, a worker formats and frees them on its own
/// schedule, so a test's end can catch the queue in any state.
class AsyncLogger {
 public:
  static AsyncLogger& instance() {
    static auto* logger = new AsyncLogger();
    return *logger;
  }
  void log(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(line));
    ++logged_;
    cv_.notify_one();
  }
  /// Waits (at most 10 s) until the thread has written every line logged so far and freed
  /// its batch, as a logger's flush() does: its work stays inside the test however slow
  /// the machine (on a loaded one it otherwise spills into the next test).
  void flush() {
    std::unique_lock<std::mutex> lock(mutex_);
    written_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return written_ == logged_; });
  }

 private:
  AsyncLogger() {
    std::thread([this] {
      for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(1), [this] { return !queue_.empty(); });
        // Idle, it allocates nothing (an empty std::deque already holds two blocks): its
        // churn belongs to the tests that log, not to every test after the first one that did.
        if (queue_.empty()) continue;
        std::size_t taken = 0;
        {
          std::deque<std::string> batch;
          batch.swap(queue_);
          taken = batch.size();
          lock.unlock();
          for (std::string& line : batch) line += " [written]";
        }  // the batch is freed here, before the lines count as written
        lock.lock();
        written_ += taken;
        written_cv_.notify_all();
      }
    }).detach();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable written_cv_;
  std::deque<std::string> queue_;
  std::size_t logged_ = 0;
  std::size_t written_ = 0;
};

/// Logs 200 lines while the logger's thread writes them, then flushes.
inline void log_while_testing() {
  for (int i = 0; i < 200; ++i) {
    AsyncLogger::instance().log("line " + std::to_string(i) + std::string(60, '.'));
  }
  AsyncLogger::instance().flush();
}

/// A compaction thread started and joined by the test, churning while the test sleeps.
inline void run_compaction_thread() {
  std::atomic<bool> stop{false};
  std::thread compaction([&] {
    while (!stop) {
      std::vector<std::string> run(32, std::string(200, 'c'));
      std::this_thread::yield();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  stop = true;
  compaction.join();
}

// --- 5. Child processes -------------------------------------------------------------------------
/// Waits for `pid`; true when it exited with status 0.
inline bool exited_cleanly(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// Forks a child that allocates and leaves with exit() (not _exit(): atexit handlers run).
inline bool fork_child_that_allocates() {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    std::vector<std::string> child_work(1000, std::string(100, 'c'));
    std::exit(child_work.size() == 1000 ? 0 : 1);
  }
  return exited_cleanly(pid);
}

/// Runs `true` with posix_spawnp.
inline bool spawn_true() {
  pid_t pid = 0;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  return posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) == 0 && exited_cleanly(pid);
}

/// Runs this test binary again with `args` (as GoogleTest's threadsafe death tests do);
/// returns system()'s status.
inline int rerun_self(const std::string& args) {
  const std::string command =
      "/proc/" + std::to_string(getpid()) + "/exe " + args + " > /dev/null";
  return std::system(command.c_str());
}

// --- The real thing ----------------------------------------------------------------------------
struct Owner {
  std::vector<char> payload = std::vector<char>(3000, 'p');
  std::function<void()> on_event;
};

}  // namespace patterns
