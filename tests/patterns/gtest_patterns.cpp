// The patterns of real GoogleTest suites that leak checkers must not call leaks (issue 6),
// in miniature, and two real leaks that must be found. Run with --gtest_repeat=5 and a
// report; check_patterns.py checks every verdict.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
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
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

// --- 1. Handoff between tests -----------------------------------------------------------
// A test registers a plugin in a global registry; a later test drops it. The first grows
// in every repetition, the second shrinks as much; the run as a whole does not grow.
struct Plugin {
  std::string name;
  std::vector<int> state;
};
std::vector<std::unique_ptr<Plugin>>& registry() {
  static auto* r = new std::vector<std::unique_ptr<Plugin>>();
  return *r;
}

TEST(Handoff, RegistersAPlugin) {
  registry().reserve(4);
  registry().push_back(std::make_unique<Plugin>(Plugin{"logger-plugin-with-a-long-name", std::vector<int>(64)}));
  EXPECT_EQ(registry().size(), 1u);
}

TEST(Handoff, DropsThePlugin) {
  registry().clear();
  EXPECT_TRUE(registry().empty());
}

// --- 2. Lazy one-time state ----------------------------------------------------------------
struct Greeting : std::numpunct<char> {
  std::string do_truename() const override { return "yes"; }
};

TEST(LazyState, GlobalLocaleInstalledByOneTest) {
  // A new global locale in every repetition; the previous one is released.
  std::locale::global(std::locale(std::locale::classic(), new Greeting));
  std::ostringstream out;
  out.imbue(std::locale());
  out << std::boolalpha << true;
  EXPECT_EQ(out.str(), "yes");
}

TEST(LazyState, FirstFormattedNumber) {
  std::ostringstream out;
  out << 3.25 << ' ' << 1234567;
  EXPECT_EQ(out.str(), "3.25 1234567");
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

TEST(LazyState, FirstStrictMock) {
  ::testing::StrictMock<MockService> mock;
  EXPECT_CALL(mock, Get(1)).WillOnce(::testing::Return(7));
  EXPECT_EQ(mock.Get(1), 7);
}

// A library's Env::Default(): a singleton created on first use whose detached background
// thread allocates as it starts.
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

TEST(LazyState, EnvDefaultStartsABackgroundThread) {
  EXPECT_NE(Env::Default(), nullptr);
  EXPECT_GE(Env::Default()->tick(), 0);
}

// --- 3. Failing and skipped tests ------------------------------------------------------------
// GoogleTest keeps the failure and skip messages until the next repetition clears them.
TEST(Framework, FailsWithALongMessage) {
  const std::string expected(20000, 'x');
  const std::string actual(20000, 'y');
  EXPECT_EQ(expected, actual) << "a long failure message GoogleTest keeps";
}

TEST(Framework, IsSkipped) {
  GTEST_SKIP() << "skipped, with a message of a few hundred bytes: " << std::string(300, 's');
}

// --- 4. Background threads of the code under test ---------------------------------------------
// An async logger: the test thread queues lines, a worker formats and frees them on its
// own schedule, so a test's end can catch the queue in any state.
class AsyncLogger {
 public:
  static AsyncLogger& instance() {
    static auto* logger = new AsyncLogger();
    return *logger;
  }
  void log(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(line));
    cv_.notify_one();
  }

 private:
  AsyncLogger() {
    std::thread([this] {
      for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(1), [this] { return !queue_.empty(); });
        std::deque<std::string> batch;
        batch.swap(queue_);
        lock.unlock();
        for (std::string& line : batch) line += " [written]";
      }
    }).detach();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
};

TEST(Background, AsyncLoggerWorksWhileTheTestRuns) {
  for (int i = 0; i < 200; ++i) AsyncLogger::instance().log("line " + std::to_string(i) + std::string(60, '.'));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

TEST(Background, ACompactionThreadOfTheTest) {
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
TEST(Children, ForkedChildAllocatesAndExits) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<std::string> child_work(1000, std::string(100, 'c'));
    std::exit(child_work.size() == 1000 ? 0 : 1);  // exit(), not _exit(): atexit handlers run
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Children, SystemAndPosixSpawn) {
  EXPECT_EQ(std::system("true"), 0);
  pid_t pid = 0;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  ASSERT_EQ(posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Children, ReExecutesTheTestBinary) {
  // As GoogleTest's threadsafe death tests do: the binary again, listing its tests.
  const std::string self = "/proc/" + std::to_string(getpid()) + "/exe";
  const std::string command = self + " --gtest_filter=Handoff.* > /dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0);
}

// --- The real thing ----------------------------------------------------------------------------
TEST(RealLeak, NewSetNeverDeleted) {
  auto* names = new std::set<std::string>{"alpha", "beta", "gamma"};
  EXPECT_EQ(names->size(), 3u);
}

struct Owner {
  std::vector<char> payload = std::vector<char>(3000, 'p');
  std::function<void()> on_event;
};

TEST(RealLeak, CallbackHoldsItsOwner) {
  auto owner = std::make_shared<Owner>();
  owner->on_event = [owner] { (void)owner->payload.size(); };  // a cycle: never freed
  owner->on_event();
  EXPECT_EQ(owner.use_count(), 2);
}

}  // namespace
