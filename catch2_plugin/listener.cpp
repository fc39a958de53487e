// The Catch2 plugin's listener: Catch2's events turned into Runtime calls, the Runtime's
// answers turned into Catch2 failures.
//
// Catch2 2.x (tested here): each pass through a TEST_CASE is measured around the test
// case's body only. The listener swaps the running TestCase's invoker for one that opens
// the memx test, calls the body, and closes it while the test case is still running, so
// that memx's failures (budget, leak) are ordinary assertion failures of that pass: they
// show in every reporter, in -r junit and in the exit code. Catch2's own work inside the
// body (assertion and section bookkeeping, the messages and results it keeps, its string
// stream pool, the section tracker) happens behind getResultCapture(), which a proxy
// measures and takes off the test's figures. Everything Catch2 does around the body
// (reporters, output capture, the tracker's reset) is outside the measured interval.
//
// Catch2 3.x (written from its documentation, behind CATCH_VERSION_MAJOR): the pass is
// measured from testCasePartialStarting to the end of the test case's own section, and
// the share Catch2 keeps is measured from assertionStarting to assertionEnded; memx's
// failures are added from the listener's sectionEnded, before the reporters close the
// section.
#include <strings.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(MEMX_CATCH2_V3)
#include <catch2/catch_section_info.hpp>
#include <catch2/catch_test_case_info.hpp>
#include <catch2/catch_version_macros.hpp>
#include <catch2/internal/catch_assertion_handler.hpp>
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
  const std::string text = rt.summary();
  if (text.empty()) return;
  std::fflush(stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

/// Call under memx::Uncounted.
CaseInfo case_info(const Catch::TestCaseInfo& info) {
  CaseInfo c;
  c.name = info.name;
  c.file = info.lineInfo.file;
  c.line = static_cast<int>(info.lineInfo.line);
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

#if CATCH_VERSION_MAJOR < 3
// =========================================================================================
// Catch2 2.x
// =========================================================================================

// --- Catch2's work inside the body: a proxy in front of the run context -----------------
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
    return measured([&]() -> Catch::IGeneratorTracker& {
      return next_->acquireGeneratorTracker(name, line);
    });
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
  Catch::IResultCapture* next_ = nullptr;
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
  BodyInvoker(std::shared_ptr<Catch::ITestInvoker> body, Catch::SourceLineInfo where)
      : body_(std::move(body)), where_(where) {}

  void invoke() const override {
    Runtime& rt = Runtime::get();
    int repetition = 0;
    if (const int n = rt.generator_repetitions(); n > 1) {
      // Catch2's own main runs every test once: a generator around the whole body makes
      // Catch2 re-enter the test case (every section path of it) n times in a row.
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
  std::shared_ptr<Catch::ITestInvoker> body_;
  Catch::SourceLineInfo where_;
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
    if (!rt.run_starting(color)) return;
    install_proxy();
  }
  void testGroupStarting(Catch::GroupInfo const&) override {}
  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    Runtime& rt = Runtime::get();
    if (rt.session() == nullptr) return;
    Uncounted guard;  // also around the temporaries
    rt.case_starting(case_info(info));
    // Every TestCaseInfo Catch2 runs is a TestCase (runTest passes the test case itself).
    auto& test_case = const_cast<Catch::TestCase&>(static_cast<const Catch::TestCase&>(info));
    std::shared_ptr<Catch::ITestInvoker>& slot = test_case.*invoker_member();
    body_ = slot;
    slot = std::make_shared<BodyInvoker>(body_, info.lineInfo);
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
    if (swapped_ != nullptr) {
      Uncounted guard;
      *swapped_ = std::move(body_);
      swapped_ = nullptr;
    }
    rt.case_ended();
  }
  void testGroupEnded(Catch::TestGroupStats const&) override {}
  void testRunEnded(Catch::TestRunStats const&) override {
    Runtime& rt = Runtime::get();
    remove_proxy();
    if (rt.run_ended()) print_summary(rt);
  }

 private:
  std::shared_ptr<Catch::ITestInvoker> body_;
  std::shared_ptr<Catch::ITestInvoker>* swapped_ = nullptr;
};

#else
// =========================================================================================
// Catch2 3.x
// =========================================================================================

class Listener final : public Catch::EventListenerBase {
 public:
  using EventListenerBase::EventListenerBase;

  void testRunStarting(Catch::TestRunInfo const&) override {
    if (!Runtime::get().run_starting(terminal_color())) return;
    if (Runtime::get().generator_repetitions() > 1) {
      std::fprintf(stderr, "memx: with Catch2 3, MEMX_REPEAT needs memx::catch2_main; running once\n");
    }
  }
  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    Runtime& rt = Runtime::get();
    if (rt.session() == nullptr) return;
    {
      Uncounted guard;  // also around the temporaries
      rt.case_starting(case_info(info));
    }
    where_ = info.lineInfo;
  }
  void testCasePartialStarting(Catch::TestCaseInfo const&, std::uint64_t) override {
    depth_ = 0;
    Runtime::get().pass_starting(0);
  }
  void sectionStarting(Catch::SectionInfo const& info) override {
    if (depth_++ > 0) Runtime::get().section_entered(info.name);
  }
  void assertionStarting(Catch::AssertionInfo const&) override {
    before_ = Runtime::get().framework_call_begin();
  }
  void assertionEnded(Catch::AssertionStats const& stats) override {
    Runtime& rt = Runtime::get();
    rt.framework_call_end(before_);
    if (!stats.assertionResult.isOk()) rt.assertion_failed();
  }
  void sectionEnded(Catch::SectionStats const&) override {
    if (depth_ == 0) return;
    if (--depth_ > 0) {
      Runtime::get().section_left();
      return;
    }
    // The test case's own section: the reporters have not closed it yet, so a failure
    // added now belongs to this pass.
    add_failures(Runtime::get().pass_ended(false), where_, false);
  }
  void testCaseEnded(Catch::TestCaseStats const&) override { Runtime::get().case_ended(); }
  void testRunEnded(Catch::TestRunStats const&) override {
    Runtime& rt = Runtime::get();
    if (rt.run_ended()) print_summary(rt);
  }

 private:
  Catch::SourceLineInfo where_{"", 0};
  Counters before_{};
  int depth_ = 0;
};

#endif

}  // namespace

CATCH_REGISTER_LISTENER(Listener)

}  // namespace memx::catch2::detail
