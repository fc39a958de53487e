// The false-leak patterns of issue 6 under the Catch2 plugin, with the two real leaks. Run
// with --memx-repeat=5 and a report; check_patterns.py checks every verdict.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <gmock/gmock.h>
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

// --- 1. Handoff between test cases ----------------------------------------------------------
struct Plugin {
  std::string name;
  std::vector<int> state;
};
std::vector<std::unique_ptr<Plugin>>& registry() {
  static auto* r = new std::vector<std::unique_ptr<Plugin>>();
  return *r;
}

TEST_CASE("Handoff registers a plugin") {
  registry().reserve(4);
  registry().push_back(std::make_unique<Plugin>(Plugin{"logger-plugin-with-a-long-name", std::vector<int>(64)}));
  CHECK(registry().size() == 1u);
}

TEST_CASE("Handoff drops the plugin") {
  registry().clear();
  CHECK(registry().empty());
}

// --- 2. Lazy one-time state ---------------------------------------------------------------------
struct Greeting : std::numpunct<char> {
  std::string do_truename() const override { return "yes"; }
};

TEST_CASE("Lazy global locale installed by one test") {
  std::locale::global(std::locale(std::locale::classic(), new Greeting));
  std::ostringstream out;
  out.imbue(std::locale());
  out << std::boolalpha << true;
  CHECK(out.str() == "yes");
}

TEST_CASE("Lazy first formatted number") {
  std::ostringstream out;
  out << 3.25 << ' ' << 1234567;
  CHECK(out.str() == "3.25 1234567");
}

TEST_CASE("Lazy sections tracked by Catch2") {
  // Catch2 builds its section-tracker tree as the sections are first entered.
  SECTION("a first section with a long enough name") { CHECK(1 + 1 == 2); }
  SECTION("a second section with a long enough name") {
    SECTION("and a nested one, also long enough to allocate") { CHECK(2 + 2 == 4); }
  }
}

// gmock used from Catch2 tests: the first StrictMock builds gmock's uninteresting-call
// reaction map. No expectation fails here, so nothing reaches GoogleTest's reporting.
class Service {
 public:
  virtual ~Service() = default;
  virtual int Get(int key) = 0;
};
class MockService : public Service {
 public:
  MOCK_METHOD(int, Get, (int key), (override));
};

TEST_CASE("Lazy first StrictMock") {
  ::testing::StrictMock<MockService> mock;
  EXPECT_CALL(mock, Get(1)).WillOnce(::testing::Return(7));
  CHECK(mock.Get(1) == 7);
}

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

TEST_CASE("Lazy Env::Default starts a background thread") {
  CHECK(Env::Default() != nullptr);
  CHECK(Env::Default()->tick() >= 0);
}

// --- 3. Failing tests: Catch2 keeps the messages ----------------------------------------------
TEST_CASE("Framework fails with a long message") {
  const std::string expected(20000, 'x');
  const std::string actual(20000, 'y');
  INFO("a long failure message Catch2 keeps " << std::string(500, 'i'));
  CHECK(expected == actual);
  WARN("and a warning " << std::string(300, 'w'));
}

// --- 4. Background threads ------------------------------------------------------------------------
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

TEST_CASE("Background async logger works while the test runs") {
  for (int i = 0; i < 200; ++i) AsyncLogger::instance().log("line " + std::to_string(i) + std::string(60, '.'));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

TEST_CASE("Background compaction thread of the test") {
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

// --- 5. Child processes ------------------------------------------------------------------------------
TEST_CASE("Children forked child allocates and exits") {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<std::string> child_work(1000, std::string(100, 'c'));
    std::exit(child_work.size() == 1000 ? 0 : 1);  // exit(), not _exit(): atexit handlers run
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("Children system and posix_spawn") {
  CHECK(std::system("true") == 0);
  pid_t pid = 0;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  REQUIRE(posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("Children re-execute the test binary") {
  const std::string self = "/proc/" + std::to_string(getpid()) + "/exe";
  const std::string command = self + " \"Handoff*\" > /dev/null";
  CHECK(std::system(command.c_str()) == 0);
}

// --- The real thing ------------------------------------------------------------------------------------
TEST_CASE("Real leak: new set never deleted") {
  auto* names = new std::set<std::string>{"alpha", "beta", "gamma"};
  CHECK(names->size() == 3u);
}

struct Owner {
  std::vector<char> payload = std::vector<char>(3000, 'p');
  std::function<void()> on_event;
};

TEST_CASE("Real leak: callback holds its owner") {
  auto owner = std::make_shared<Owner>();
  owner->on_event = [owner] { (void)owner->payload.size(); };  // a cycle: never freed
  owner->on_event();
  CHECK(owner.use_count() == 2);
}

}  // namespace
