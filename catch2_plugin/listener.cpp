// The Catch2 plugin's listener: Catch2's events turned into Runtime calls, the Runtime's
// answers turned into Catch2 failures.
//
// Catch2 2.x (tested here): each pass through a TEST_CASE is measured around the test
// case's body only. The listener swaps the running TestCase's invoker for one that opens
// the memx test, calls the body, and closes it while the test case is still running, so
// that memx's failures (budget, leak) are ordinary assertion failures of that pass: they
// show in every reporter, in -r junit and in the exit code. Catch2's own work inside the
// body (assertion and section bookkeeping, the messages and results it keeps, its string
// stream pool, the section tracker, a GENERATE's generator) happens behind
// getResultCapture(), which a proxy measures and takes off the test's figures. Everything
// Catch2 does around the body (reporters, output capture, the tracker's reset) is outside
// the measured interval.
//
// Catch2 3.x (behind CATCH_VERSION_MAJOR; tested against 3.4.0 and 3.7.1, README): the pass
// is measured around the body alone too, through the invoker of the RunContext's active
// test case, and memx's failures are assertion failures of the pass. Catch2's work inside
// the body (assertions, messages, sections, a GENERATE's generator) is booked through
// hooked entries of the run context's virtual table instead of a proxy, what it comes to
// hold between them (its last result, its messages) by a probe, and the reporters' work by
// a proxy in front of them (catch2_plugin/README.md).
//
// Both: with Catch2's own main and MEMX_REPEAT=N, the run's list of test cases is made to
// hold the selection N times over, so that the whole run is repeated in test order.
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(MEMX_CATCH2_V3)
#include <catch2/catch_section_info.hpp>
#include <catch2/catch_test_spec.hpp>
#include <catch2/catch_test_case_info.hpp>
#include <catch2/catch_version_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>
#include <catch2/interfaces/catch_interfaces_capture.hpp>
#include <catch2/interfaces/catch_interfaces_config.hpp>
#include <catch2/interfaces/catch_interfaces_generatortracker.hpp>
#include <catch2/interfaces/catch_interfaces_reporter.hpp>
#include <catch2/internal/catch_assertion_handler.hpp>
#include <catch2/internal/catch_context.hpp>
#include <catch2/internal/catch_reusable_string_stream.hpp>
#include <catch2/internal/catch_run_context.hpp>
#include <catch2/internal/catch_test_failure_exception.hpp>
#include <catch2/internal/catch_test_case_registry_impl.hpp>
#include <catch2/internal/catch_test_case_tracker.hpp>
#include <catch2/catch_message.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
#else
#define CATCH_CONFIG_EXTERNAL_INTERFACES  // the reporter and listener bases of Catch2 2.x
#include <catch2/catch.hpp>
#endif

#include "memx/counters.hpp"
#include "memx/uncounted.hpp"
#include "runtime.hpp"

#if !defined(CATCH_VERSION_MAJOR) || CATCH_VERSION_MAJOR < 2 || CATCH_VERSION_MAJOR > 3
#error "memx's Catch2 plugin supports Catch2 2.x and 3.x"
#endif
#if defined(MEMX_CATCH2_V3) != (CATCH_VERSION_MAJOR >= 3)
#error "MEMX_CATCH2_V3 does not match the Catch2 headers found"
#endif

namespace memx::catch2::detail {
namespace {

bool terminal_color() {
  if (::isatty(STDOUT_FILENO) == 0) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::strcmp(term, "dumb") != 0;
}

void print_summary(Runtime& rt) {
  Uncounted guard;
  // MEMX_CTEST_MEASUREMENTS: each test's figures for CTest/CDash, after the summary.
  const std::string text =
      rt.summary() + (rt.session() != nullptr ? rt.session()->ctest_measurements() : std::string());
  if (text.empty()) return;
  std::fflush(stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

/// The test case's description, in the runtime's scratch storage. Call under memx::Uncounted.
const CaseInfo& case_info(const Catch::TestCaseInfo& info) {
  CaseInfo& c = Runtime::get().scratch_case();
  c.name.assign(info.name.data(), info.name.size());
  c.file.assign(info.lineInfo.file);
  c.line = static_cast<int>(info.lineInfo.line);
  c.budget_tags.clear();
  for (const auto& tag : info.tags) {
#if CATCH_VERSION_MAJOR >= 3
    const std::string_view t(tag.original.data(), tag.original.size());
#else
    const std::string_view t = tag;
#endif
    std::string text;
    if (!budget_of_tag(t, text)) continue;
    if (!c.budget_tags.empty()) c.budget_tags += ", ";
    c.budget_tags += text;
  }
  return c;
}

/// Adds memx's failures to the running test case as explicit failures (what FAIL_CHECK
/// does). `unwinding`: the body is ending with an exception, which must stay the one that
/// propagates.
void add_failures(const std::vector<std::string>& failures, const Catch::SourceLineInfo& where,
                  bool unwinding) {
  for (const std::string& failure : failures) {
    Catch::AssertionHandler handler(Catch::StringRef("MEMX"), where, Catch::StringRef(),
                                    Catch::ResultDisposition::ContinueOnFailure);
#if CATCH_VERSION_MAJOR >= 3
    handler.handleMessage(Catch::ResultWas::ExplicitFailure, std::string(failure));
    (void)unwinding;
    try {
      handler.complete();  // throws only when the run aborts (-a, -x)
    } catch (...) {
      return;  // from a listener event no exception may escape
    }
#else
    handler.handleMessage(Catch::ResultWas::ExplicitFailure, Catch::StringRef(failure));
    if (unwinding) {
      handler.setCompleted();
    } else {
      handler.complete();  // throws TestFailureException when the run aborts (-a, -x)
    }
#endif
  }
}

/// How many test cases the run selected, as Catch2's filterTests counts them (the unhidden
/// ones without a test spec, the matching ones with one), in this shard in Catch2 3: a
/// hint only (room made and the report written ahead in large runs, as GoogleTest's
/// test_to_run_count does). One pass over the list, as Catch2 makes once more right after.
/// 0 when Catch2 refuses its list (a test case defined twice): Catch2 says so itself when
/// the run takes the list, after memx's run has begun.
std::size_t selected_test_cases(Catch::IConfig const& config) {
  std::size_t n = 0;
  try {
    // The registry's sorted list is made at its first use, counted as when Catch2's run
    // makes it (it lives as long as the registry, and is freed counted).
    const auto& all = Catch::getAllTestCasesSorted(config);
    Uncounted guard;  // the spec's matching may lower-case names: never the tests' share
    const Catch::TestSpec& spec = config.testSpec();
    const bool filters = spec.hasFilters();
    for (const auto& test_case : all) {
#if CATCH_VERSION_MAJOR >= 3
      const Catch::TestCaseInfo& info = test_case.getTestCaseInfo();
      if (filters ? spec.matches(info) && Catch::isThrowSafe(test_case, config) : !info.isHidden()) ++n;
#else
      if (filters ? Catch::matchTest(test_case, spec, config) : !test_case.isHidden()) ++n;
#endif
    }
  } catch (...) {
    return 0;
  }
#if CATCH_VERSION_MAJOR >= 3
  const std::size_t shards = config.shardCount(), index = config.shardIndex();
  if (shards > 1) n = n / shards + (index < n % shards ? 1 : 0);  // as createShard splits
#endif
  return n;
}

/// Catch2 builds every message (INFO, CAPTURE, WARN, a failed expression) in a pool of
/// reusable string streams that grows and keeps its buffers: the first test to need a
/// stream or a longer buffer would be charged for it. The pool is filled before any test
/// (once per process; later runs find it ready).
void prewarm_string_streams() {
  static bool done = false;
  if (done) return;
  done = true;
  const std::string filler(2048, ' ');
  Catch::ReusableStringStream a, b, c, d;
  for (Catch::ReusableStringStream* s : {&a, &b, &c, &d}) *s << filler;
}

/// Runs `f` (a call into Catch2) and, during a pass, books what it did to the calling
/// thread's heap as Catch2's share.
template <class F>
decltype(auto) measured(F&& f) {
  Runtime& rt = Runtime::get();
  struct Booking {
    Runtime& rt;
    Counters before;
    ~Booking() { rt.framework_call_end(before); }
  } booking{rt, rt.framework_call_begin()};
  return f();
}

#if CATCH_VERSION_MAJOR < 3
// =========================================================================================
// Catch2 2.x
// =========================================================================================

// --- Catch2's work inside the body: a proxy in front of the run context -----------------
/// Stands in front of a generator tracker. GENERATE builds its generator in the test's frame
/// (the expression, then Generators<T>) when the tracker has none, and hands it to the
/// tracker, which keeps it until the test case's last generated value has run: from the
/// "no generator" answer to setGenerator, what the thread allocates is Catch2's share.
class GeneratorTrackerProxy final : public Catch::IGeneratorTracker {
 public:
  void attach(Catch::IGeneratorTracker* next) noexcept { next_ = next; }
  auto hasGenerator() const -> bool override {
    const bool has = next_->hasGenerator();
    if (!has) Runtime::get().generator_building();
    return has;
  }
  auto getGenerator() const -> Catch::Generators::GeneratorBasePtr const& override {
    return next_->getGenerator();
  }
  void setGenerator(Catch::Generators::GeneratorBasePtr&& generator) override {
    next_->setGenerator(std::move(generator));
    Runtime::get().generator_built();
  }

 private:
  Catch::IGeneratorTracker* next_ = nullptr;
};

/// Forwards every call to Catch2's run context; while a pass is measured, what the calling
/// thread allocates and frees inside the call is Catch2's share, not the test's.
class ResultCaptureProxy final : public Catch::IResultCapture {
 public:
  void attach(Catch::IResultCapture* next) noexcept { next_ = next; }
  Catch::IResultCapture* next() const noexcept { return next_; }

  bool sectionStarted(Catch::SectionInfo const& info, Catch::Counts& assertions) override {
    Runtime& rt = Runtime::get();
    const bool entered = measured([&] { return next_->sectionStarted(info, assertions); });
    if (entered) rt.section_entered(info.name);
    return entered;
  }
  void sectionEnded(Catch::SectionEndInfo const& info) override {
    Runtime::get().section_left();
    measured([&] { next_->sectionEnded(info); });
  }
  void sectionEndedEarly(Catch::SectionEndInfo const& info) override {
    Runtime::get().section_left();
    measured([&] { next_->sectionEndedEarly(info); });
  }
  auto acquireGeneratorTracker(Catch::StringRef name, Catch::SourceLineInfo const& line)
      -> Catch::IGeneratorTracker& override {
    Catch::IGeneratorTracker& tracker = measured([&]() -> Catch::IGeneratorTracker& {
      return next_->acquireGeneratorTracker(name, line);
    });
    // GENERATE uses the tracker at once (hasGenerator, setGenerator, getGenerator) and
    // keeps no reference: a few proxies taken in turn suffice, even for a GENERATE inside
    // another's expression.
    GeneratorTrackerProxy& proxy = generator_proxies_[next_generator_proxy_++ % kGeneratorProxies];
    proxy.attach(&tracker);
    return proxy;
  }
#if defined(CATCH_CONFIG_ENABLE_BENCHMARKING)
  void benchmarkPreparing(std::string const& name) override {
    measured([&] { next_->benchmarkPreparing(name); });
  }
  void benchmarkStarting(Catch::BenchmarkInfo const& info) override {
    measured([&] { next_->benchmarkStarting(info); });
  }
  void benchmarkEnded(Catch::BenchmarkStats<> const& stats) override {
    measured([&] { next_->benchmarkEnded(stats); });
  }
  void benchmarkFailed(std::string const& error) override {
    measured([&] { next_->benchmarkFailed(error); });
  }
#endif
  void pushScopedMessage(Catch::MessageInfo const& message) override {
    measured([&] { next_->pushScopedMessage(message); });
  }
  void popScopedMessage(Catch::MessageInfo const& message) override {
    measured([&] { next_->popScopedMessage(message); });
  }
  void emplaceUnscopedMessage(Catch::MessageBuilder const& builder) override {
    measured([&] { next_->emplaceUnscopedMessage(builder); });
  }
  void handleFatalErrorCondition(Catch::StringRef message) override {
    next_->handleFatalErrorCondition(message);  // a signal: no bookkeeping now
  }
  void handleExpr(Catch::AssertionInfo const& info, Catch::ITransientExpression const& expr,
                  Catch::AssertionReaction& reaction) override {
    measured([&] { next_->handleExpr(info, expr, reaction); });
  }
  void handleMessage(Catch::AssertionInfo const& info, Catch::ResultWas::OfType type,
                     Catch::StringRef const& message, Catch::AssertionReaction& reaction) override {
    measured([&] { next_->handleMessage(info, type, message, reaction); });
  }
  void handleUnexpectedExceptionNotThrown(Catch::AssertionInfo const& info,
                                          Catch::AssertionReaction& reaction) override {
    measured([&] { next_->handleUnexpectedExceptionNotThrown(info, reaction); });
  }
  void handleUnexpectedInflightException(Catch::AssertionInfo const& info, std::string const& message,
                                         Catch::AssertionReaction& reaction) override {
    measured([&] { next_->handleUnexpectedInflightException(info, message, reaction); });
  }
  void handleIncomplete(Catch::AssertionInfo const& info) override {
    measured([&] { next_->handleIncomplete(info); });
  }
  void handleNonExpr(Catch::AssertionInfo const& info, Catch::ResultWas::OfType type,
                     Catch::AssertionReaction& reaction) override {
    measured([&] { next_->handleNonExpr(info, type, reaction); });
  }
  bool lastAssertionPassed() override { return next_->lastAssertionPassed(); }
  void assertionPassed() override { measured([&] { next_->assertionPassed(); }); }
  std::string getCurrentTestName() const override { return next_->getCurrentTestName(); }
  const Catch::AssertionResult* getLastResult() const override { return next_->getLastResult(); }
  void exceptionEarlyReported() override { next_->exceptionEarlyReported(); }

 private:
  static constexpr std::size_t kGeneratorProxies = 16;
  Catch::IResultCapture* next_ = nullptr;
  GeneratorTrackerProxy generator_proxies_[kGeneratorProxies];
  std::size_t next_generator_proxy_ = 0;
};

ResultCaptureProxy& proxy() {
  static ResultCaptureProxy* p = [] {
    Uncounted guard;
    return new ResultCaptureProxy();  // never destroyed: Catch2 may call it until exit
  }();
  return *p;
}

void install_proxy() {
  Catch::IMutableContext& context = Catch::getCurrentMutableContext();
  Catch::IResultCapture* current = context.getResultCapture();
  if (current == nullptr || current == &proxy()) return;
  proxy().attach(current);
  context.setResultCapture(&proxy());
}

void remove_proxy() {
  Catch::IMutableContext& context = Catch::getCurrentMutableContext();
  if (context.getResultCapture() == &proxy()) context.setResultCapture(proxy().next());
}


// --- The body of the running test case ---------------------------------------------------
// TestCase keeps its invoker private; an explicit instantiation may name a private member
// ([temp.spec]), which lets the listener put its own invoker in front of the test's.
using InvokerMember = std::shared_ptr<Catch::ITestInvoker> Catch::TestCase::*;

InvokerMember invoker_member();

template <InvokerMember M>
struct InvokerAccess {
  friend InvokerMember invoker_member() { return M; }
};
template struct InvokerAccess<&Catch::TestCase::test>;

/// Where the repetition generator of a test case is declared (its tracker's identity).
const Catch::SourceLineInfo kRepeatGenerator{__FILE__, static_cast<std::size_t>(__LINE__)};

/// Runs one pass of the test case as a memx test.
class BodyInvoker final : public Catch::ITestInvoker {
 public:
  void set(Catch::ITestInvoker* body, Catch::SourceLineInfo where) noexcept {
    body_ = body;
    where_ = where;
  }

  void invoke() const override {
    Runtime& rt = Runtime::get();
    int repetition = 0;
    if (const int n = rt.generator_repetitions(); n > 1) {
      // Catch2's own main, when its run's list cannot be repeated: a generator around the
      // whole body makes Catch2 re-enter the test case (every section path) n times in a row.
      repetition = Catch::Generators::generate(Catch::StringRef("memx-repeat"), kRepeatGenerator, [n] {
        return Catch::Generators::makeGenerators(Catch::Generators::range(0, n));
      });
    }
    rt.pass_starting(repetition);
    bool threw = false;
    try {
      body_->invoke();
    } catch (const Catch::TestFailureException&) {
      // A REQUIRE failed (Catch2 has recorded it): nothing of the test is in flight.
      add_failures(rt.pass_ended(true), where_, true);
      throw;
    } catch (...) {
      // An exception escapes the body. It is reported here as Catch2 would report it after
      // the body (Catch2's work, booked as its share), and ends here, so that what it
      // holds (its message) is freed inside the test that made it.
      const Counters before = rt.framework_call_begin();
      Catch::AssertionHandler handler(Catch::StringRef("TEST_CASE"), where_, Catch::StringRef(),
                                      Catch::ResultDisposition::ContinueOnFailure);
      handler.handleUnexpectedInflightException();
      handler.setCompleted();
      rt.framework_call_end(before);
      threw = true;
    }
    add_failures(rt.pass_ended(threw), where_, false);
  }

 private:
  Catch::ITestInvoker* body_ = nullptr;
  Catch::SourceLineInfo where_{"", 0};
};

class Listener final : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  // The base class's bookkeeping (copies of run, group, case and section infos) is not
  // needed: every event is overridden so that the listener allocates nothing in a test.
  void testRunStarting(Catch::TestRunInfo const&) override {
    Runtime& rt = Runtime::get();
    bool color = false;
    switch (m_config->useColour()) {
      case Catch::UseColour::Yes: color = true; break;
      case Catch::UseColour::No: color = false; break;
      default: color = terminal_color(); break;
    }
    prewarm_string_streams();
    if (!rt.run_starting(color, rt.run_begun() ? 0 : selected_test_cases(*m_config))) return;
    install_proxy();
    repeat_list(rt.listed_repetitions());
  }
  void testGroupStarting(Catch::GroupInfo const&) override {}
  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    Runtime& rt = Runtime::get();
    if (rt.session() == nullptr) return;
    // Every TestCaseInfo Catch2 runs is a TestCase (runTest passes the test case itself).
    auto& test_case = const_cast<Catch::TestCase&>(static_cast<const Catch::TestCase&>(info));
    rt.case_iteration(repetition_of(test_case));
    Uncounted guard;  // also around the temporaries
    rt.case_starting(case_info(info));
    std::shared_ptr<Catch::ITestInvoker>& slot = test_case.*invoker_member();
    body_ = std::move(slot);
    invoker_.set(body_.get(), info.lineInfo);
    // The listener's own invoker, not owned by the pointer (aliasing an empty one: no
    // control block, so nothing is allocated or counted), given back at the case's end.
    slot = std::shared_ptr<Catch::ITestInvoker>(std::shared_ptr<Catch::ITestInvoker>(), &invoker_);
    swapped_ = &slot;
  }
  void sectionStarting(Catch::SectionInfo const&) override {}
  void assertionStarting(Catch::AssertionInfo const&) override {}
  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk()) Runtime::get().assertion_failed();
    return false;
  }
  void sectionEnded(Catch::SectionStats const&) override {}
  void testCaseEnded(Catch::TestCaseStats const&) override {
    Runtime& rt = Runtime::get();
    give_invoker_back();
    rt.case_ended();
  }
  void testGroupEnded(Catch::TestGroupStats const&) override {}
  void testRunEnded(Catch::TestRunStats const&) override {
    Runtime& rt = Runtime::get();
    // A run left by an exception between a test case's start and end (a reporter's,
    // bad_alloc) ends here too (~RunContext): the test case must not keep this listener's
    // invoker, which goes with the run. Before the list is cut: the slot may be in a copy.
    give_invoker_back();
    remove_proxy();
    if (list_ != nullptr) {  // Catch2's list as it was
      list_->erase(list_->begin() + static_cast<std::ptrdiff_t>(list_size_), list_->end());
    }
    list_ = nullptr;
    if (rt.run_ended()) print_summary(rt);
  }

 private:
  /// The test case's own invoker back in its slot, if it was swapped for the listener's.
  void give_invoker_back() {
    if (swapped_ == nullptr) return;
    Uncounted guard;
    *swapped_ = std::move(body_);
    swapped_ = nullptr;
  }
  /// Catch2's own main runs its tests once. For MEMX_REPEAT=N the run's sorted list of test
  /// cases (the registry's, which getAllTestCasesSorted hands out by reference) holds the
  /// list N times over when the run takes it, right after this event: the run goes through
  /// the whole selection N times in a row, in its order, as --gtest_repeat does. Catch2
  /// keeps the selected tests in a set of pointers into that list, so its order is the
  /// list's. Taken back when the run ends.
  void repeat_list(int n) {
    if (n < 2) return;
    auto& list = const_cast<std::vector<Catch::TestCase>&>(Catch::getAllTestCasesSorted(*m_config));
    if (list.empty()) return;
    list_ = &list;
    list_size_ = list.size();
    list.reserve(list_size_ * static_cast<std::size_t>(n));
    for (int k = 1; k < n; ++k) {
      for (std::size_t i = 0; i < list_size_; ++i) list.push_back(list[i]);
    }
  }
  /// The repetition of the run's list a test case is in (0 when the list is not repeated).
  int repetition_of(const Catch::TestCase& test_case) const {
    if (list_ == nullptr || list_size_ == 0) return 0;
    const Catch::TestCase* first = list_->data();
    if (&test_case < first || &test_case >= first + list_->size()) return -1;
    return static_cast<int>(static_cast<std::size_t>(&test_case - first) / list_size_);
  }

  std::shared_ptr<Catch::ITestInvoker> body_;  // the test case's own, while swapped out
  BodyInvoker invoker_;
  std::shared_ptr<Catch::ITestInvoker>* swapped_ = nullptr;
  std::vector<Catch::TestCase>* list_ = nullptr;
  std::size_t list_size_ = 0;
};

#else
// =========================================================================================
// Catch2 3.x
// =========================================================================================
// The pass is measured around the body alone: the RunContext's active TestCaseHandle gets
// an invoker that opens the memx test, calls the test's own invoker and closes it. Catch2's
// work inside it is booked through the run context's virtual table (CaptureHook, below).

// --- Private members reached through explicit instantiation ([temp.spec]) ---------------
// An explicit instantiation may name a private member; the friend it defines hands the
// member pointer out. One tag per member: `Tag::type` is the member pointer's type.
template <class Tag, typename Tag::type M>
struct PrivateMember {
  friend typename Tag::type member(Tag) { return M; }
};

namespace tracking = Catch::TestCaseTracking;

#define MEMX_CATCH2_PRIVATE(tag, type_, pointer)      \
  struct tag {                                       \
    using type = type_;                              \
    friend type member(tag);                         \
  };                                                 \
  template struct PrivateMember<tag, pointer>

MEMX_CATCH2_PRIVATE(ActiveTest, Catch::TestCaseHandle const* Catch::RunContext::*,
                    &Catch::RunContext::m_activeTestCase);
MEMX_CATCH2_PRIVATE(HandleInvoker, Catch::ITestInvoker* Catch::TestCaseHandle::*,
                    &Catch::TestCaseHandle::m_invoker);
MEMX_CATCH2_PRIVATE(LastResult, Catch::Optional<Catch::AssertionResult> Catch::RunContext::*,
                    &Catch::RunContext::m_lastResult);
MEMX_CATCH2_PRIVATE(Trackers, tracking::TrackerContext Catch::RunContext::*,
                    &Catch::RunContext::m_trackerContext);
MEMX_CATCH2_PRIVATE(RootTracker, tracking::ITrackerPtr tracking::TrackerContext::*,
                    &tracking::TrackerContext::m_rootTracker);
MEMX_CATCH2_PRIVATE(Children, std::vector<tracking::ITrackerPtr> tracking::ITracker::*,
                    &tracking::ITracker::m_children);
MEMX_CATCH2_PRIVATE(ActiveSections, std::vector<tracking::ITracker*> Catch::RunContext::*,
                    &Catch::RunContext::m_activeSections);
MEMX_CATCH2_PRIVATE(ReporterSlot, Catch::IEventListenerPtr Catch::RunContext::*,
                    &Catch::RunContext::m_reporter);
MEMX_CATCH2_PRIVATE(Messages, std::vector<Catch::MessageInfo> Catch::RunContext::*,
                    &Catch::RunContext::m_messages);
MEMX_CATCH2_PRIVATE(MessageScopes, std::vector<Catch::ScopedMessage> Catch::RunContext::*,
                    &Catch::RunContext::m_messageScopes);
#undef MEMX_CATCH2_PRIVATE

Catch::RunContext* run_context() {
  // RunContext is Catch2's only result capture (later releases' AssertionHandler makes the
  // same cast).
  return static_cast<Catch::RunContext*>(Catch::getCurrentContext().getResultCapture());
}

/// The heap blocks of a string (none when it fits in its small-string buffer).
FrameworkShare string_heap(const std::string& s) {
  const char* p = s.data();
  const char* o = reinterpret_cast<const char*>(&s);
  if (p >= o && p < o + sizeof s) return {};
  FrameworkShare f;
  f.bytes = static_cast<std::int64_t>(usable_size(p));
  f.blocks = 1;
  return f;
}

/// The heap of an assertion result's strings (its message, its expanded expression).
FrameworkShare result_footprint(const Catch::AssertionResult& result) {
  FrameworkShare f = string_heap(result.m_resultData.message);
  f += string_heap(result.m_resultData.reconstructedExpression);
  return f;
}

/// The buffer of a vector Catch2 keeps (cleared, never shrunk, while its owner lives).
template <class T>
FrameworkShare vector_buffer(const std::vector<T>& v) {
  FrameworkShare f;
  if (v.capacity() > 0) {
    f.bytes = static_cast<std::int64_t>(usable_size(v.data()));
    f.blocks = 1;
  }
  return f;
}

/// What Catch2 holds in its copy of the last assertion result (kept until the next one,
/// possibly in another test).
FrameworkShare last_result_footprint() {
  Catch::RunContext* run = run_context();
  if (run == nullptr) return {};
  const Catch::Optional<Catch::AssertionResult>& last = run->*member(LastResult{});
  if (!last) return {};
  return result_footprint(*last);
}

/// A section tracker's blocks (the trackers form a tree under the tracker context, kept
/// until the next test case starts): the object (allocated whole by Catch2, the tracker
/// base first), its name, its list of children and the children's.
void add_tracker_footprint(const tracking::ITracker& t, FrameworkShare& f) {
  f.bytes += static_cast<std::int64_t>(usable_size(&t));
  f.blocks += 1;
  f += string_heap(t.nameAndLocation().name);
  const std::vector<tracking::ITrackerPtr>& children = t.*member(Children{});
  f += vector_buffer(children);
  for (const tracking::ITrackerPtr& child : children) add_tracker_footprint(*child, f);
}

/// What Catch2 holds for the running test case that any assertion or message can change:
/// its copy of the last assertion result (kept until the next one, possibly in another
/// test) and its message lists with their messages (the first message of a run gives the
/// lists a buffer that lives as long as the run's RunContext, freed between repetitions of
/// the suite, in no test). No tree walk: measured around every hooked call.
FrameworkShare held_by_results() noexcept {
  Catch::RunContext* run = run_context();
  if (run == nullptr) return {};
  FrameworkShare f = last_result_footprint();
  const std::vector<Catch::MessageInfo>& messages = run->*member(Messages{});
  f += vector_buffer(messages);
  for (const Catch::MessageInfo& m : messages) f += string_heap(m.message);
  const std::vector<Catch::ScopedMessage>& scopes = run->*member(MessageScopes{});
  f += vector_buffer(scopes);
  for (const Catch::ScopedMessage& m : scopes) f += string_heap(m.m_info.message);
  return f;
}

/// The same and the section trackers' tree (only sectionStarted and the generator calls
/// add to it): what Catch2 holds for the running test case when its calls are not hooked.
FrameworkShare held_footprint() noexcept {
  FrameworkShare f = held_by_results();
  Catch::RunContext* run = run_context();
  if (run == nullptr) return f;
  const tracking::ITrackerPtr& root = run->*member(Trackers{}).*member(RootTracker{});
  if (root) add_tracker_footprint(*root, f);
  return f;
}

/// Stands in front of the run's reporters (and listeners, memx's among them): what they do
/// during a pass (a section's start and end, an assertion's result, a message) is Catch2's
/// share, not the test's, whatever the reporter keeps (JUnit's keeps every result until
/// the run ends, the console's a stack of open sections). Catch2 2 books the same through
/// its proxy of the result capture, which every reporter call goes through.
class ReporterProxy final : public Catch::IEventListener {
 public:
  ReporterProxy(Catch::IConfig const* config, Catch::IEventListenerPtr next)
      : IEventListener(config), next_(std::move(next)) {
    m_preferences = next_->getPreferences();
  }

  void noMatchingTestCases(Catch::StringRef spec) override {
    measured([&] { next_->noMatchingTestCases(spec); });
  }
  void reportInvalidTestSpec(Catch::StringRef arg) override {
    measured([&] { next_->reportInvalidTestSpec(arg); });
  }
  void testRunStarting(Catch::TestRunInfo const& info) override {
    measured([&] { next_->testRunStarting(info); });
  }
  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    measured([&] { next_->testCaseStarting(info); });
  }
  void testCasePartialStarting(Catch::TestCaseInfo const& info, std::uint64_t part) override {
    measured([&] { next_->testCasePartialStarting(info, part); });
  }
  void sectionStarting(Catch::SectionInfo const& info) override {
    measured([&] { next_->sectionStarting(info); });
  }
  void benchmarkPreparing(Catch::StringRef name) override {
    measured([&] { next_->benchmarkPreparing(name); });
  }
  void benchmarkStarting(Catch::BenchmarkInfo const& info) override {
    measured([&] { next_->benchmarkStarting(info); });
  }
  void benchmarkEnded(Catch::BenchmarkStats<> const& stats) override {
    measured([&] { next_->benchmarkEnded(stats); });
  }
  void benchmarkFailed(Catch::StringRef name) override {
    measured([&] { next_->benchmarkFailed(name); });
  }
  void assertionStarting(Catch::AssertionInfo const& info) override {
    measured([&] { next_->assertionStarting(info); });
  }
  void assertionEnded(Catch::AssertionStats const& stats) override {
    const FrameworkShare before = result_footprint(stats.assertionResult);
    // Inside a hooked call of the run context (CaptureHook), which measures the statistics'
    // whole life: nothing to add.
    const bool alone = !Runtime::get().in_framework_call();
    measured([&] { next_->assertionEnded(stats); });
    // A reporter may expand the expression into the statistics' own copy of the result (a
    // cached string: a failed comparison of two long strings makes one as long as both).
    // Made inside this call, it is freed with the statistics right after it returns, where
    // memx cannot see: taken off Catch2's share now, so that the free does not come off the
    // test's net.
    const FrameworkShare after = result_footprint(stats.assertionResult);
    if (alone && (after.bytes != before.bytes || after.blocks != before.blocks)) {
      FrameworkShare freed_later;
      freed_later.bytes = before.bytes - after.bytes;
      freed_later.blocks = before.blocks - after.blocks;
      Runtime::get().book_framework_held(freed_later);
    }
  }
  void sectionEnded(Catch::SectionStats const& stats) override {
    measured([&] { next_->sectionEnded(stats); });
  }
  void testCasePartialEnded(Catch::TestCaseStats const& stats, std::uint64_t part) override {
    measured([&] { next_->testCasePartialEnded(stats, part); });
  }
  void testCaseEnded(Catch::TestCaseStats const& stats) override {
    measured([&] { next_->testCaseEnded(stats); });
  }
  void testRunEnded(Catch::TestRunStats const& stats) override {
    measured([&] { next_->testRunEnded(stats); });
  }
  void skipTest(Catch::TestCaseInfo const& info) override {
    measured([&] { next_->skipTest(info); });
  }
  void fatalErrorEncountered(Catch::StringRef error) override {
    measured([&] { next_->fatalErrorEncountered(error); });
  }
  void listReporters(std::vector<Catch::ReporterDescription> const& d) override { next_->listReporters(d); }
  void listListeners(std::vector<Catch::ListenerDescription> const& d) override { next_->listListeners(d); }
  void listTests(std::vector<Catch::TestCaseHandle> const& t) override { next_->listTests(t); }
  void listTags(std::vector<Catch::TagInfo> const& t) override { next_->listTags(t); }

 private:
  Catch::IEventListenerPtr next_;
};

/// Puts a ReporterProxy in front of the run context's reporters. Called from memx's
/// listener's testRunStarting, which each run context sends once, to listeners it made
/// for itself, from inside the MultiReporter's own call (which moving the pointer does not
/// disturb).
void proxy_reporters(Catch::IConfig const* config) {
  Catch::RunContext* run = run_context();
  if (run == nullptr) return;
  Catch::IEventListenerPtr& slot = run->*member(ReporterSlot{});
  if (!slot) return;
  // Counted like Catch2's own objects of the run (made outside any test, freed with the run
  // context): made uncounted, its free would shrink every repetition's live heap.
  slot = Catch::Detail::make_unique<ReporterProxy>(config, std::move(slot));
}

/// The invoker slot of the test case being run, or nullptr outside a test case.
Catch::ITestInvoker** active_invoker_slot() {
  Catch::RunContext* run = run_context();
  if (run == nullptr) return nullptr;
  const Catch::TestCaseHandle* handle = run->*member(ActiveTest{});
  if (handle == nullptr) return nullptr;
  // The handle is an element of the run's own list of tests, not a constant object.
  return &(const_cast<Catch::TestCaseHandle*>(handle)->*member(HandleInvoker{}));
}

/// Where the repetition generator of a test case is declared (its tracker's identity).
const Catch::SourceLineInfo kRepeatGenerator{__FILE__, static_cast<std::size_t>(__LINE__)};

/// Runs one pass of the test case as a memx test.
class BodyInvoker final : public Catch::ITestInvoker {
 public:
  void set(Catch::ITestInvoker* body, Catch::SourceLineInfo where) noexcept {
    body_ = body;
    where_ = where;
  }
  Catch::ITestInvoker* body() const noexcept { return body_; }

  void invoke() const override {
    Runtime& rt = Runtime::get();
    int repetition = 0;
    if (const int n = rt.generator_repetitions(); n > 1) {
      // Catch2's own main, when its run's list cannot be repeated: a generator around the
      // whole body makes Catch2 re-enter the test case (every section path) n times in a row.
      repetition = Catch::Generators::generate(Catch::StringRef("memx-repeat"), kRepeatGenerator, [n] {
        return Catch::Generators::makeGenerators(Catch::Generators::range(0, n));
      });
    }
    // What Catch2 comes to hold during the pass (section trackers, its copy of the last
    // assertion result, its messages) is Catch2's: measured by the hooked calls of the run
    // context and the runtime's held probe (testRunStarting).
    rt.pass_starting(repetition);
    bool threw = false;
    try {
      body_->invoke();
    } catch (const Catch::TestFailureException&) {
      // A REQUIRE failed (Catch2 has recorded it): nothing of the test is in flight.
      add_failures(rt.pass_ended(true), where_, true);
      throw;
#if CATCH_VERSION_MINOR >= 3
    } catch (const Catch::TestSkipException&) {
      rt.pass_skipped();
      add_failures(rt.pass_ended(false), where_, true);
      throw;
#endif
    } catch (...) {
      // An exception escapes the body: reported here as Catch2 would report it after the
      // body (Catch2's work, booked as its share), and ended here, so that what it holds
      // is freed inside the test that made it.
      const Counters before = rt.framework_call_begin();
      Catch::AssertionHandler handler(Catch::StringRef("TEST_CASE"), where_, Catch::StringRef(),
                                      Catch::ResultDisposition::ContinueOnFailure);
      handler.handleUnexpectedInflightException();
      try {
        handler.complete();  // throws only when the run aborts (-a, -x)
      } catch (...) {
      }
      rt.framework_call_end(before);
      threw = true;
    }
    add_failures(rt.pass_ended(threw), where_, false);
  }

 private:
  Catch::ITestInvoker* body_ = nullptr;
  Catch::SourceLineInfo where_{"", 0};
};

// --- Catch2's work inside the body: hooked entries of the run context's virtual table ------
// Everything the body asks of Catch2 goes through IResultCapture: the assertion macros
// (through AssertionHandler), INFO, CAPTURE, UNSCOPED_INFO, SECTION and GENERATE. What
// Catch2 does inside these calls (the copies of the messages it keeps, its result of the
// assertion and its copy of it, its trackers, the reporters' work) is its share, as the 2.x
// branch's proxy books it. A proxy in the run context's place would do for 3.4.0 to 3.7.1,
// but a Catch2 newer than these casts the result capture to the RunContext in
// AssertionHandler, where a proxy would be undefined behaviour. Instead the run context is
// given a copy of its virtual table in which these entries call memx around Catch2's own
// function: a call that does not go through the table (a final RunContext called directly)
// is only not hooked. That needs the Itanium C++ ABI (GCC and Clang on Linux, macOS, the
// BSDs). Elsewhere, and for a call that is not hooked, the held probe books what Catch2
// comes to hold, off the net only (catch2_plugin/README.md).
#if defined(__GXX_ABI_VERSION)
#define MEMX_CATCH2_CAPTURE_HOOK 1

/// The slot of a virtual member function in its class's virtual table. Itanium C++ ABI: a
/// pointer to a virtual member function holds 1 + the slot's byte offset (ARM's variant:
/// the offset, with the virtual flag in the adjustment).
template <class M>
std::size_t vtable_slot(M member) {
  struct Rep {
    std::uintptr_t ptr;
    std::ptrdiff_t adj;
  };
  static_assert(sizeof(M) == sizeof(Rep), "not an Itanium C++ ABI member function pointer");
  Rep r;
  std::memcpy(&r, &member, sizeof r);
#if defined(__arm__) || defined(__aarch64__)
  return r.ptr / sizeof(void*);
#else
  return (r.ptr - 1) / sizeof(void*);
#endif
}

/// What memx does around a hooked entry.
enum class Role {
  count,     ///< not hooked: only its slot counts for the table's length
  measured,  ///< Catch2's work: booked as its share (as measured())
  acquire,   ///< acquireGeneratorTracker: measured; no tracker yet opens the generator window
  create,    ///< createGeneratorTracker: closes the window first, then measured
};

/// IResultCapture's entries, as far as each exists in the Catch2 headers found: the
/// releases differ (handleMessage takes a StringRef in 3.4.0 and a std::string&& in 3.7.1;
/// an entry may be removed or overloaded later). An entry that is missing, or overloaded,
/// is not hooked: its `&C::name` is not one member function.
#define MEMX_CAPTURE_ENTRY_TRAIT(name)                                                    \
  template <class C, class = void>                                                       \
  struct Has_##name : std::false_type {};                                                \
  template <class C>                                                                     \
  struct Has_##name<C, std::void_t<decltype(&C::name)>>                                  \
      : std::is_member_function_pointer<decltype(&C::name)> {};
#define MEMX_CAPTURE_ENTRIES(X)                                       \
  X(notifyAssertionStarted, measured)                                 \
  X(sectionStarted, measured)                                         \
  X(sectionEnded, measured)                                           \
  X(sectionEndedEarly, measured)                                      \
  X(acquireGeneratorTracker, acquire)                                 \
  X(createGeneratorTracker, create)                                   \
  X(benchmarkPreparing, measured)                                     \
  X(benchmarkStarting, measured)                                      \
  X(benchmarkEnded, measured)                                         \
  X(benchmarkFailed, measured)                                        \
  X(pushScopedMessage, measured)                                      \
  X(popScopedMessage, measured)                                       \
  X(emplaceUnscopedMessage, measured)                                 \
  X(handleFatalErrorCondition, count) /* a signal: no bookkeeping */  \
  X(handleExpr, measured)                                             \
  X(handleMessage, measured)                                          \
  X(handleUnexpectedExceptionNotThrown, measured)                     \
  X(handleUnexpectedInflightException, measured)                      \
  X(handleIncomplete, measured)                                       \
  X(handleNonExpr, measured)                                          \
  X(lastAssertionPassed, count)                                       \
  X(assertionPassed, measured)                                        \
  X(getCurrentTestName, count) /* the name is the caller's */         \
  X(getLastResult, count)                                             \
  X(exceptionEarlyReported, count)
#define MEMX_X(name, role) MEMX_CAPTURE_ENTRY_TRAIT(name)
MEMX_CAPTURE_ENTRIES(MEMX_X)
#undef MEMX_X
#undef MEMX_CAPTURE_ENTRY_TRAIT

template <auto Member, Role R>
struct EntryTag {
  static constexpr auto member = Member;
  static constexpr Role role = R;
};

/// Calls visit(EntryTag<&C::name, role>{}) for each entry C has.
template <class C, class Visit>
void for_each_entry(Visit&& visit) {
#define MEMX_X(name, role_) \
  if constexpr (Has_##name<C>::value) visit(EntryTag<&C::name, Role::role_>{});
  MEMX_CAPTURE_ENTRIES(MEMX_X)
#undef MEMX_X
}
#undef MEMX_CAPTURE_ENTRIES

/// The heap blocks of an object the test's frame made and hands over to Catch2 as an rvalue
/// argument (a WARN's message, which Catch2 moves into its result from 3.7; a SECTION's
/// name, which Catch2 moves into the section's statistics or keeps for later): Catch2 keeps
/// or frees them, so they are Catch2's from then on. Other arguments hand over nothing.
template <class A>
FrameworkShare handed_over(const A& arg) noexcept {
  if constexpr (std::is_same_v<A, std::string>) {
    return string_heap(arg);
  } else if constexpr (std::is_same_v<A, Catch::SectionEndInfo>) {
    return string_heap(arg.sectionInfo.name);
  } else if constexpr (std::is_same_v<A, Catch::MessageBuilder>) {
    return string_heap(arg.m_info.message);
  } else {
    (void)arg;
    return {};
  }
}

template <class A, class V>
FrameworkShare rvalue_handed_over(const V& arg) noexcept {
  if constexpr (std::is_rvalue_reference_v<A>) {
    return handed_over<std::remove_cv_t<std::remove_reference_t<A>>>(arg);
  } else {
    (void)arg;
    return {};
  }
}

/// What memx does around Catch2's own function `call` of a hooked entry.
template <Role R, class F>
decltype(auto) around(F&& call, FrameworkShare handed) {
  Runtime& rt = Runtime::get();
  if constexpr (R == Role::acquire) {
    Catch::IGeneratorTracker* tracker = measured(call);
    // None yet: the generator expression runs next, in the test's frame.
    if (tracker == nullptr) rt.generator_building();
    return tracker;
  } else {
    // create: the generator is built (its window closes before Catch2 makes the tracker,
    // which is measured with the call).
    if constexpr (R == Role::create) rt.generator_built();
    return measured([&]() -> decltype(auto) {
      rt.framework_takes(handed);
      return call();
    });
  }
}

/// The function that stands in a hooked entry's slot: the member function's calling
/// convention with `this` first (Itanium C++ ABI), forwarding to Catch2's function.
template <class Tag, class Sig = std::remove_cv_t<decltype(Tag::member)>>
struct Entry;
#define MEMX_ENTRY(QUALIFIERS)                                                            \
  template <class Tag, class C, class Ret, class... A>                                    \
  struct Entry<Tag, Ret (C::*)(A...) QUALIFIERS> {                                        \
    using Function = Ret (*)(C*, A...);                                                   \
    static inline Function original = nullptr;                                            \
    static Ret call(C* self, A... args) {                                                 \
      FrameworkShare handed;                                                              \
      ((handed += rvalue_handed_over<A>(args)), ...);                                     \
      return around<Tag::role>(                                                           \
          [&]() -> Ret { return original(self, static_cast<A&&>(args)...); }, handed);    \
    }                                                                                     \
  };
MEMX_ENTRY()
MEMX_ENTRY(const)
MEMX_ENTRY(noexcept)
MEMX_ENTRY(const noexcept)
#undef MEMX_ENTRY

class CaptureHook {
 public:
  static CaptureHook& self();
  /// Gives the run context the hooked table (once per run: each run has its own context).
  /// False when it cannot (a table longer than memx copies).
  bool install(Catch::RunContext* run) {
    if (run == nullptr) return false;
    if (run_ == run) return true;
    auto** vptr = reinterpret_cast<void* const**>(static_cast<Catch::IResultCapture*>(run));
    void* const* original = *vptr;
    if (original != original_) {
      // A virtual table holds its offset to the top and its type_info before the entries
      // (kept, for dynamic_cast and typeid). A few more entries than IResultCapture's are
      // copied in case a later release adds one that memx does not know (a virtual table
      // never ends at the end of a mapping in practice).
      std::size_t last = 0;
      for_each_entry<Catch::IResultCapture>(
          [&](auto tag) { last = std::max(last, vtable_slot(decltype(tag)::member)); });
      if (last + 1 > kMaxEntries) return false;
      const std::size_t entries = std::min<std::size_t>(last + 1 + kSpare, kMaxEntries);
      std::memcpy(table_, original - 2, (entries + 2) * sizeof(void*));
      for_each_entry<Catch::IResultCapture>([&](auto tag) {
        using Tag = decltype(tag);
        if constexpr (Tag::role != Role::count) {
          using E = Entry<Tag>;
          const std::size_t slot = vtable_slot(Tag::member);
          std::memcpy(&E::original, &original[slot], sizeof E::original);
          const typename E::Function hooked = &E::call;
          std::memcpy(&table_[2 + slot], &hooked, sizeof hooked);  // a function in a table entry
        }
      });
      original_ = original;
    }
    *vptr = table_ + 2;
    run_ = run;
    return true;
  }
  /// Gives the run context its own table back (the run ends).
  void remove() {
    if (run_ == nullptr) return;
    auto** vptr = reinterpret_cast<void* const**>(static_cast<Catch::IResultCapture*>(run_));
    if (*vptr == table_ + 2) *vptr = original_;
    run_ = nullptr;
  }

 private:
  static constexpr std::size_t kSpare = 8;
  static constexpr std::size_t kMaxEntries = 64;

  Catch::RunContext* run_ = nullptr;
  void* const* original_ = nullptr;
  void* table_[kMaxEntries + 2] = {};
};

CaptureHook& CaptureHook::self() {
  static CaptureHook hook;
  return hook;
}
#endif

/// Nests n scoped messages: the run context's message list grows to n and keeps its buffer.
void nest_messages(int n) {
  if (n == 0) return;
  Catch::ScopedMessage message(Catch::MessageBuilder(Catch::StringRef("INFO"),
                                                     Catch::SourceLineInfo(__FILE__, __LINE__),
                                                     Catch::ResultWas::Info));
  nest_messages(n - 1);
}

/// Buffers Catch2 3 grows on first use and keeps while the run lasts (the run context's
/// lists of open sections and of messages), grown before any test: the first test to need
/// them would be charged for them. In every run: memx::catch2_main makes a new run context,
/// so new lists, per repetition, and lists grown in the first run only would leave that
/// repetition's live heap higher than the others' (about 1 KiB of messages), which the leak
/// rule reads as the whole run shrinking after it.
void prewarm_v3() {
  Catch::RunContext* run = run_context();
  if (run == nullptr) return;
  (run->*member(ActiveSections{})).reserve(16);
  nest_messages(16);
}

/// True when ReporterPreferences has shouldReportAllAssertionStarts (releases after 3.7.1;
/// 3.7.1 and earlier have no such switch: there is nothing to turn off).
template <typename P, typename = void>
struct HasAssertionStarts : std::false_type {};
template <typename P>
struct HasAssertionStarts<P, std::void_t<decltype(std::declval<P&>().shouldReportAllAssertionStarts)>>
    : std::true_type {};

template <typename P>
void skip_assertion_starts(P& preferences) {
  if constexpr (HasAssertionStarts<P>::value) preferences.shouldReportAllAssertionStarts = false;
}

class Listener final : public Catch::EventListenerBase {
 public:
  explicit Listener(Catch::IConfig const* config) : EventListenerBase(config) {
    // Assertion starts are not needed: Catch2 keeps its fast path for passing assertions.
    skip_assertion_starts(m_preferences);
    // Before the reporters, which Catch2 makes after the listeners: a reporter that takes a
    // stream for its life (the console's table printer) takes one of these, and gives it
    // back to a free list long enough for it when the run ends (made after the pool was
    // filled, it would make a stream of its own, whose return grows the free list once, in
    // the first run only).
    prewarm_string_streams();
  }

  void testRunStarting(Catch::TestRunInfo const&) override {
    bool color = false;
    switch (m_config->defaultColourMode()) {
      case Catch::ColourMode::None: color = false; break;
      case Catch::ColourMode::PlatformDefault: color = terminal_color(); break;
      default: color = true; break;
    }
    prewarm_string_streams();
    prewarm_v3();
    Runtime& rt = Runtime::get();
    if (!rt.run_starting(color, rt.run_begun() ? 0 : selected_test_cases(*m_config))) return;
    proxy_reporters(m_config);
    // Catch2's work inside the body is booked by the hooked calls of the run context, and
    // what Catch2 comes to hold between them by the held probe; without the hook, the probe
    // measures the section trackers too.
#if defined(MEMX_CATCH2_CAPTURE_HOOK)
    const bool hooked = CaptureHook::self().install(run_context());
#else
    const bool hooked = false;
#endif
    rt.set_held_probe(hooked ? &held_by_results : &held_footprint);
    repeat_list(rt);
  }
  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    Runtime& rt = Runtime::get();
    if (rt.session() == nullptr) return;
    Uncounted guard;  // also around the temporaries
    rt.case_starting(case_info(info));
    where_ = info.lineInfo;
  }
  void testCasePartialStarting(Catch::TestCaseInfo const&, std::uint64_t) override {
    Runtime& rt = Runtime::get();
    if (rt.session() == nullptr) return;
    rt.case_iteration(repetition_of_active());
    Catch::ITestInvoker** slot = active_invoker_slot();
    if (slot == nullptr || *slot == nullptr) return;
    invoker_.set(*slot, where_);
    *slot = &invoker_;
    swapped_ = slot;
  }
  void sectionStarting(Catch::SectionInfo const& info) override {
    // The test case's own section starts before the body: only SECTIONs are in a pass.
    Runtime& rt = Runtime::get();
    if (rt.in_pass()) rt.section_entered(info.name);
  }
  void assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk()) Runtime::get().assertion_failed();
  }
  void sectionEnded(Catch::SectionStats const&) override {
    Runtime& rt = Runtime::get();
    if (rt.in_pass()) rt.section_left();
  }
  void testCasePartialEnded(Catch::TestCaseStats const&, std::uint64_t) override {
    // Catch2 calls tearDownTestCase on the handle's invoker next: give its own back.
    give_invoker_back();
  }
  void testCaseEnded(Catch::TestCaseStats const&) override { Runtime::get().case_ended(); }
  void testRunEnded(Catch::TestRunStats const&) override {
    Runtime& rt = Runtime::get();
    // A run left by an exception inside a test case's part (a reporter's, bad_alloc) ends
    // here too (~RunContext): the handle must not keep this listener's invoker, which goes
    // with the run. Before the list is cut: the slot may be in a copy.
    give_invoker_back();
#if defined(MEMX_CATCH2_CAPTURE_HOOK)
    CaptureHook::self().remove();
#endif
    rt.set_held_probe(nullptr);
    if (list_ != nullptr) {  // Catch2's list as it was
      list_->erase(list_->begin() + static_cast<std::ptrdiff_t>(list_size_), list_->end());
    }
    list_ = nullptr;
    if (rt.run_ended()) print_summary(rt);
  }

 private:
  /// The handle's own invoker back in its slot, if it was swapped for the listener's.
  void give_invoker_back() noexcept {
    if (swapped_ == nullptr) return;
    *swapped_ = invoker_.body();
    swapped_ = nullptr;
  }
  /// Catch2's own main runs its tests once. For MEMX_REPEAT=N the run's sorted list of test
  /// cases (the registry's, which getAllTestCasesSorted hands out by reference) holds the
  /// list N times over when the run takes it, right after this event (the run context is
  /// made first): the run goes through the whole selection N times in a row, in its order,
  /// as --gtest_repeat does. Catch2 keeps the selected tests in a set of pointers into that
  /// list, so its order is the list's. Taken back when the run ends. Sharding (which
  /// splits that set) would split the repetitions: each test case is re-entered instead.
  void repeat_list(Runtime& rt) {
    const int n = rt.listed_repetitions();
    if (n < 2) return;
    if (m_config->shardCount() > 1) {
      rt.repeat_in_place("MEMX_REPEAT with Catch2's --shard-count");
      return;
    }
    auto& list = const_cast<std::vector<Catch::TestCaseHandle>&>(Catch::getAllTestCasesSorted(*m_config));
    if (list.empty()) return;
    list_ = &list;
    list_size_ = list.size();
    list.reserve(list_size_ * static_cast<std::size_t>(n));
    for (int k = 1; k < n; ++k) {
      for (std::size_t i = 0; i < list_size_; ++i) list.push_back(list[i]);
    }
  }
  /// The repetition of the run's list the active test case is in (0 when the list is not
  /// repeated, -1 when it is not in the list).
  int repetition_of_active() const {
    if (list_ == nullptr || list_size_ == 0) return 0;
    Catch::RunContext* run = run_context();
    const Catch::TestCaseHandle* handle = run == nullptr ? nullptr : run->*member(ActiveTest{});
    const Catch::TestCaseHandle* first = list_->data();
    if (handle == nullptr || handle < first || handle >= first + list_->size()) return -1;
    return static_cast<int>(static_cast<std::size_t>(handle - first) / list_size_);
  }

  std::vector<Catch::TestCaseHandle>* list_ = nullptr;
  std::size_t list_size_ = 0;
  Catch::SourceLineInfo where_{"", 0};
  BodyInvoker invoker_;
  Catch::ITestInvoker** swapped_ = nullptr;
};

#endif

}  // namespace

CATCH_REGISTER_LISTENER(Listener)

}  // namespace memx::catch2::detail
