// Internal: the state of a Session, shared by session.cpp and summary.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "memx/rss.hpp"
#include "memx/session.hpp"

namespace memx {

namespace detail {
/// The texts a test's effective budget was built from, for messages.
struct BudgetSources {
  std::string global;
  std::string group;
  std::string test;
};
}  // namespace detail

struct Session::Impl {
  SessionConfig config;
  Report report;
  std::unordered_map<std::string, std::size_t> index;  // test name -> report.tests, built lazily
  std::size_t cursor = 0;                              // where the next test is expected
  std::vector<std::vector<std::int64_t>> live_after;   // per test: process live heap after each run
  std::set<std::string> over_budget;                   // tests that broke a limit
  std::set<std::string> bad_budget;                    // tests with a malformed budget
  std::string path;                                    // expanded report path, "" = none
  bool direct = false;  // path is a device, FIFO or descriptor: one report, at the end
  long owner_pid = 0;
  int repetitions = 1;
  int iteration = 0;
  bool judge_alone = false;  // see Session::judge_tests_alone
  bool started = false;
  bool ended = false;
  bool analyzed = false;
  bool dirty = false;
  bool write_error_shown = false;
  bool written = false;        // a report of this run is at `path`
  bool write_failed = false;   // the last write failed
  std::chrono::steady_clock::time_point run_started{};
  std::chrono::steady_clock::duration write_time{};  // spent writing reports so far
  TestMeter meter;
  std::optional<RssWindow> run_rss;  // open from begin_run to end_run

  // The running test; guarded by `mutex` (MEMX_BUDGET may run on another thread).
  mutable std::mutex mutex;
  std::atomic<bool> in_test{false};
  TestId current;
  std::optional<Budget> test_budget;
  std::string test_budget_text;
  std::string test_budget_error;

  /// Index in report.tests of the test called `name`; report.tests.size() for a new test.
  std::size_t locate(const std::string& name);
  /// Writes the report unless writing would take more than its share of the run.
  void maybe_write(Session& self);
};

}  // namespace memx
