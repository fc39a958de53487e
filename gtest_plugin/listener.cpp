// The GoogleTest plugin: a listener registered before main that turns GoogleTest's events
// into memx::Session calls, and the Session's answers into GoogleTest failures and test
// properties.
//
// What GoogleTest allocates for itself during a test is taken off the test's figures:
//  - failure and skip messages it keeps: a wrapper around the global test-part-result
//    reporter measures the calling thread's counters across the store, and keeps what the
//    store and GoogleTest's printers use meanwhile out of the test's peak;
//  - properties a test records: the storage of the test's property list before and after;
//  - the fixture's base object and flag saver: measured once per repetition on a probe.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <strings.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "memx/counters.hpp"
#include "memx/config.hpp"
#include "memx/gtest.hpp"
#include "memx/session.hpp"
#include "memx/stacks.hpp"
#include "memx/thread_state.hpp"
#include "memx/uncounted.hpp"

// GoogleTest 1.10 and 1.11 read a flag as ::testing::GTEST_FLAG(name); 1.12 added
// GTEST_FLAG_GET.
#ifndef GTEST_FLAG_GET
#define GTEST_FLAG_GET(name) ::testing::GTEST_FLAG(name)
#endif

namespace memx::gtest {
namespace {

// --- Access to ScopedFakeTestPartResultReporter::old_reporter_ --------------------------
// GoogleTest offers no public way to wrap the global reporter, but its public
// ScopedFakeTestPartResultReporter installs itself as the global reporter and remembers the
// previous one. An explicit instantiation may name a private member ([temp.spec]), which
// lets the wrapper forward to that previous reporter.
using OldReporterMember =
    ::testing::TestPartResultReporterInterface* ::testing::ScopedFakeTestPartResultReporter::*;

OldReporterMember old_reporter_member();

template <OldReporterMember M>
struct OldReporterAccess {
  friend OldReporterMember old_reporter_member() { return M; }
};
template struct OldReporterAccess<&::testing::ScopedFakeTestPartResultReporter::old_reporter_>;

/// Measures what GoogleTest keeps of every failure and skip it stores.
class RetainedMeter final : public ::testing::ScopedFakeTestPartResultReporter {
 public:
  RetainedMeter() : ScopedFakeTestPartResultReporter(INTERCEPT_ALL_THREADS, &unused_) {}

  void ReportTestPartResult(const ::testing::TestPartResult& result) override {
    ::testing::TestPartResultReporterInterface* next = this->*old_reporter_member();
    // GoogleTest's printers format the result while it is stored: their transient strings
    // are not the test's peak (their length depends on the source file's path, too).
    const PeakExcluded excluded;
    const Counters before = this_thread_counters();
    const bool unscoped = stacks::set_thread_unscoped(true);  // stack mode: not the test's sites
    next->ReportTestPartResult(result);
    stacks::set_thread_unscoped(unscoped);
    const Counters after = this_thread_counters();
    bytes_.fetch_add(after.live_bytes - before.live_bytes, std::memory_order_relaxed);
    blocks_.fetch_add(after.live_blocks - before.live_blocks, std::memory_order_relaxed);
    allocs_.fetch_add(after.allocs - before.allocs, std::memory_order_relaxed);
  }

  /// The share kept since the last take(), and a new count from zero.
  FrameworkShare take() noexcept {
    FrameworkShare s;
    s.bytes = bytes_.exchange(0, std::memory_order_relaxed);
    s.blocks = blocks_.exchange(0, std::memory_order_relaxed);
    s.allocs = allocs_.exchange(0, std::memory_order_relaxed);
    return s;
  }

 private:
  ::testing::TestPartResultArray unused_;
  std::atomic<std::int64_t> bytes_{0};
  std::atomic<std::int64_t> blocks_{0};
  std::atomic<std::uint64_t> allocs_{0};
};

// --- Property storage ---------------------------------------------------------------
// TestResult keeps properties in a std::vector<TestProperty> that is cleared (capacity
// kept) at every repetition. Its footprint is the vector's buffer plus the strings that do
// not fit in their small-string buffer.
struct Footprint {
  std::int64_t bytes = 0;
  std::int64_t blocks = 0;
};

Footprint heap_of(const char* text, const void* owner, std::size_t owner_size) {
  const auto* p = reinterpret_cast<const unsigned char*>(text);
  const auto* o = static_cast<const unsigned char*>(owner);
  if (p >= o && p < o + owner_size) return {};  // small-string buffer inside the object
  return {static_cast<std::int64_t>(usable_size(text)), 1};
}

/// Footprint of the list; `buffer` is the vector's buffer from an earlier measurement, used
/// when the list is empty (an empty vector's buffer cannot be reached).
Footprint property_footprint(const ::testing::TestResult& r, Footprint buffer) {
  const int n = r.test_property_count();
  if (n == 0) return buffer;
  const ::testing::TestProperty& first = r.GetTestProperty(0);
  Footprint f{static_cast<std::int64_t>(usable_size(&first)), 1};
  for (int i = 0; i < n; ++i) {
    const ::testing::TestProperty& p = r.GetTestProperty(i);
    for (const char* s : {p.key(), p.value()}) {
      const Footprint h = heap_of(s, &p, sizeof p);
      f.bytes += h.bytes;
      f.blocks += h.blocks;
    }
  }
  return f;
}

Footprint property_buffer(const ::testing::TestResult& r) {
  if (r.test_property_count() == 0) return {};
  return {static_cast<std::int64_t>(usable_size(&r.GetTestProperty(0))), 1};
}

// --- Fixture overhead -----------------------------------------------------------------
// Every test object is a ::testing::Test, whose constructor allocates a flag saver (a copy
// of every GoogleTest flag). A probe fixture with no members measures it.
class Probe final : public ::testing::Test {
  void TestBody() override {}
};

FrameworkShare measure_fixture_overhead() {
  // Counted on purpose: the probe is allocated and freed exactly as a test object is.
  const Counters a = this_thread_counters();
  auto* probe = new Probe();
  const Counters b = this_thread_counters();
  delete probe;
  const Counters c = this_thread_counters();
  FrameworkShare s;
  s.allocs = c.allocs - a.allocs;
  s.peak_bytes = b.live_bytes - a.live_bytes;
  return s;
}

// --- Options ------------------------------------------------------------------------
bool is_death_test_child(const std::vector<std::string>& args) {
  return has_flag(args, "--gtest_internal_run_death_test");
}

bool decide_color(const PluginOptions& o) {
  if (o.color) return *o.color;
  const std::string& flag = GTEST_FLAG_GET(color);
  auto is = [&](const char* v) { return strcasecmp(flag.c_str(), v) == 0; };
  if (is("yes") || is("true") || is("t") || is("1")) return true;
  if (!is("auto")) return false;
  if (::isatty(STDOUT_FILENO) == 0) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") != 0;
}

/// "Suite.Test" into `full` (its storage kept from test to test).
void test_name(const ::testing::TestInfo& info, std::string& full) {
  const std::string_view suite = info.test_suite_name(), name = info.name();
  full.assign(suite).append(1, '.').append(name);
}

/// The suite name group budgets are registered under: "Suite" for "Suite",
/// "Instance/Suite" (parameterised), "Suite/0" (typed) and "Instance/Suite/0".
std::string_view group_name(const ::testing::TestInfo& info) {
  const std::string_view s = info.test_suite_name();
  const std::size_t first = s.find('/');
  if (first == std::string_view::npos) return s;
  const std::size_t second = s.find('/', first + 1);
  if (second != std::string_view::npos) return s.substr(first + 1, second - first - 1);
  return info.type_param() != nullptr ? s.substr(0, first) : s.substr(first + 1);
}

TestStatus status_of(const ::testing::TestInfo& info) {
  const ::testing::TestResult* r = info.result();
  if (r->Failed()) return TestStatus::failed;
  if (r->Skipped()) return TestStatus::skipped;
  return TestStatus::passed;
}

// --- The listener -----------------------------------------------------------------------
/// Everything the listener owns; allocated and freed only under memx::Uncounted.
struct ListenerState {
  OptionsParse parsed;
  std::unique_ptr<Session> session;
  std::unique_ptr<RetainedMeter> retained;
  std::unordered_map<const ::testing::TestInfo*, Footprint> buffers;  // property buffers
  Footprint buffer_at_start;
  FrameworkShare fixture_overhead;
  TestOutcome outcome;  // of the test that just ended
  std::string name;     // the current test's full name (test_name)
  bool color = false;
  bool record_properties = false;
};

class Listener final : public ::testing::EmptyTestEventListener {
 public:
  /// Call under a guard, once, right after construction.
  void init(OptionsParse parsed) {
    s_ = std::make_unique<ListenerState>();
    s_->parsed = std::move(parsed);
  }

  ~Listener() override {
    // GoogleTest deletes its listeners during static destruction, just before the process
    // ends: freeing thousands of records then is wasted time. The state stays reachable
    // (leak checkers see it) and is given back with the process. volatile: a store into a
    // static nobody reads is otherwise removed, and LeakSanitizer and Valgrind then report
    // the state as lost.
    [[maybe_unused]] static ListenerState* volatile abandoned = nullptr;
    abandoned = s_.release();
  }

  Session* session() noexcept { return s_ ? s_->session.get() : nullptr; }

  void OnTestProgramStart(const ::testing::UnitTest& unit) override {
    const PreservedThreadState keep;  // the tests see no flag or errno of memx's
    Uncounted guard;
    if (GTEST_FLAG_GET(list_tests)) return;
    for (const std::string& w : s_->parsed.warnings) std::fprintf(stderr, "%s\n", w.c_str());
    std::fflush(stderr);
    warn_unknown_environment();  // a typo such as MEMX_REPROT would otherwise do nothing
    for (const std::string& e : s_->parsed.errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (!s_->parsed.errors.empty()) {
      // A bad flag: one clear error instead of tests measured with settings
      // the user did not ask for.
      std::fflush(stderr);
      std::exit(kSettingsErrorExit);
    }
    SessionConfig config;
    config.options = s_->parsed.options;
    config.framework = "googletest";
    const std::vector<std::string> args = read_process_arguments();
    config.binary = args.empty() ? std::string() : args.front();
    s_->session = std::make_unique<Session>(std::move(config));
    s_->color = decide_color(s_->session->options());
    s_->retained = std::make_unique<RetainedMeter>();
    // Properties only matter to an output file or stream; recording them costs GoogleTest
    // more than measuring a trivial test costs memx.
    s_->record_properties = !GTEST_FLAG_GET(output).empty() ||
                            !GTEST_FLAG_GET(stream_result_to).empty() || s_->parsed.options.properties;
    const int repeat = GTEST_FLAG_GET(repeat);
    s_->session->begin_run(repeat < 0 ? 0 : repeat,
                           static_cast<std::size_t>(unit.test_to_run_count()));
  }

  void OnTestIterationStart(const ::testing::UnitTest&, int iteration) override {
    const PreservedThreadState keep;
    if (session() == nullptr) return;
    const FrameworkShare overhead = measure_fixture_overhead();
    Uncounted guard;
    s_->fixture_overhead = overhead;
    s_->session->begin_iteration(iteration);
  }

  void OnTestStart(const ::testing::TestInfo& info) override {
    const PreservedThreadState keep;
    if (session() == nullptr) return;
    Uncounted guard;
    test_name(info, s_->name);
    const TestIdView id{s_->name, group_name(info), info.file() != nullptr ? info.file() : "", info.line()};
    auto it = s_->buffers.find(&info);
    s_->buffer_at_start = it == s_->buffers.end() ? Footprint{} : it->second;
    s_->retained->take();
    s_->session->begin_test(id);  // last: the test starts when it returns
  }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    const PreservedThreadState keep;
    if (session() == nullptr || !s_->session->in_test()) return;
    {
      Uncounted guard;
      FrameworkShare share = s_->retained->take();
      const Footprint props = property_footprint(*info.result(), s_->buffer_at_start);
      share.bytes += props.bytes - s_->buffer_at_start.bytes;
      share.blocks += props.blocks - s_->buffer_at_start.blocks;
      share += s_->fixture_overhead;
      s_->outcome = s_->session->end_test(status_of(info), share);
      // Warn-only violations and leaks, suppressed leaks: shown, not failures.
      for (const std::string& note : s_->outcome.notes) std::fprintf(stderr, "%s\n", note.c_str());
    }
    // Outside the guard: GoogleTest owns what these allocate, and frees it counted when
    // the next repetition clears the results. No test is being measured now.
    // What ADD_FAILURE_AT does, without its "Failed" first line: the message is memx's.
    for (const std::string& failure : s_->outcome.failures) {
      ::testing::internal::AssertHelper(::testing::TestPartResult::kNonFatalFailure, info.file(),
                                        info.line(), failure.c_str()) = ::testing::Message();
    }
    if (s_->record_properties && s_->outcome.measured) {
      const RunRecord& r = s_->outcome.run;
      ::testing::Test::RecordProperty("memx_net_bytes", std::to_string(r.net_bytes));
      ::testing::Test::RecordProperty("memx_peak_bytes", std::to_string(r.peak_bytes));
      ::testing::Test::RecordProperty("memx_allocs", std::to_string(r.allocs));
      ::testing::Test::RecordProperty("memx_rss_peak_bytes", std::to_string(r.rss_peak_bytes));
    }
    // The property list's buffer survives into the next repetition (cleared, not freed).
    if (info.result()->test_property_count() == 0) return;
    Uncounted guard;
    s_->buffers[&info] = property_buffer(*info.result());
  }

  void OnTestIterationEnd(const ::testing::UnitTest&, int iteration) override {
    const PreservedThreadState keep;
    if (session() == nullptr) return;
    s_->session->end_iteration(iteration);
  }

  void OnTestProgramEnd(const ::testing::UnitTest& unit_test) override {
    const PreservedThreadState keep;
    if (session() == nullptr) return;
    Uncounted guard;
    s_->session->end_run();
    s_->retained.reset();  // gives the global reporter back
    if (!s_->session->options().quiet) {
      const std::string text = s_->session->summary(s_->color);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    if (const std::string m = s_->session->ctest_measurements(); !m.empty()) {
      std::fwrite(m.data(), 1, m.size(), stdout);  // MEMX_CTEST_MEASUREMENTS: for CTest/CDash
      std::fflush(stdout);
    }
    // This run's report could not be written (the error is printed): a run that passed must
    // not exit 0, or a later step reads an earlier run's report, or none, as this one's.
    // RUN_ALL_TESTS has decided its result by now (and the XML/JSON printers wrote their
    // files at the iteration's end): exit here.
    if (s_->session->report_failed() && unit_test.Passed()) {
      std::fflush(nullptr);
      std::exit(1);
    }
  }

 private:
  std::unique_ptr<ListenerState> s_;
};

std::atomic<Listener*> g_listener{nullptr};

/// Registers the listener when the program starts, before main.
struct Registrar {
  Registrar() {
    OptionsParse* parsed = nullptr;
    {
      Uncounted guard;
      const std::vector<std::string> args = read_process_arguments();
      // A death test's re-executed child runs one test to make it die; it must not measure,
      // report or fail anything.
      if (is_death_test_child(args)) return;
      parsed = new OptionsParse(
          parse_plugin_options(args, [](const char* name) { return std::getenv(name); }));
    }
    // GoogleTest owns appended listeners (and would delete them, counted): the object is
    // allocated counted, its state under the guard.
    auto* listener = new Listener();
    {
      Uncounted guard;
      listener->init(std::move(*parsed));
      delete parsed;
    }
    g_listener.store(listener);
    ::testing::UnitTest::GetInstance()->listeners().Append(listener);
  }
};

}  // namespace

Session* session() noexcept {
  Listener* l = g_listener.load();
  return l != nullptr ? l->session() : nullptr;
}

bool listener_registered() noexcept { return g_listener.load() != nullptr; }

}  // namespace memx::gtest

// The registration object. The archive holding it is linked whole (see
// gtest_plugin/CMakeLists.txt), so it is part of every program that links memx::gtest.
namespace memx::gtest {
namespace {
const Registrar g_registrar;
}  // namespace
}  // namespace memx::gtest
