// The order of events around a measured test. A recorder appended after memx's listener
// (as a user's listener would be) writes down, for every GoogleTest event and every
// fixture step, whether memx is measuring at that moment, then main() compares the
// sequence with the expected one:
//  - the fixture's constructor and destructor, SetUp, the body and TearDown are inside the
//    measured interval; suite set-up/tear-down and environments are outside;
//  - memx's budget failure is added in its OnTestEnd, after the listeners appended after
//    it and before the ones appended before it (the default printer) see the test end,
//    so the printer reports the test as FAILED.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "memx/gtest.hpp"
#include "memx/uncounted.hpp"

namespace {

using Log = std::vector<std::string, memx::UncountedAllocator<std::string>>;
Log* g_log = nullptr;

void note(const char* what) {
  memx::Uncounted guard;  // the recorder's own work is not the test's
  memx::Session* s = memx::gtest::session();
  const bool measuring = s != nullptr && s->in_test();
  g_log->push_back(std::string(what) + (measuring ? " [measured]" : ""));
}

class Recorder final : public ::testing::EmptyTestEventListener {
  void OnTestProgramStart(const ::testing::UnitTest&) override { note("program start"); }
  void OnTestIterationStart(const ::testing::UnitTest&, int) override { note("iteration start"); }
  void OnEnvironmentsSetUpStart(const ::testing::UnitTest&) override { note("environments set-up"); }
  void OnTestSuiteStart(const ::testing::TestSuite&) override { note("suite start"); }
  void OnTestStart(const ::testing::TestInfo&) override { note("test start"); }
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    memx::Uncounted guard;
    const bool from_memx = std::string(r.message()).find("memx: ") == 0;
    note(from_memx ? "memx failure" : "other failure");
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    note(info.result()->Failed() ? "test end (failed)" : "test end (passed)");
  }
  void OnTestSuiteEnd(const ::testing::TestSuite&) override { note("suite end"); }
  void OnTestIterationEnd(const ::testing::UnitTest&, int) override { note("iteration end"); }
  void OnTestProgramEnd(const ::testing::UnitTest&) override { note("program end"); }
};

class Env final : public ::testing::Environment {
  void SetUp() override { note("environment SetUp"); }
  void TearDown() override { note("environment TearDown"); }
};

class Order : public ::testing::Test {
 protected:
  Order() { note("fixture constructor"); }
  ~Order() override { note("fixture destructor"); }
  static void SetUpTestSuite() { note("SetUpTestSuite"); }
  static void TearDownTestSuite() { note("TearDownTestSuite"); }
  void SetUp() override { note("SetUp"); }
  void TearDown() override { note("TearDown"); }
};

}  // namespace

TEST_F(Order, OverBudget) {
  MEMX_BUDGET("allocs=0");
  note("body");
  int* volatile p = new int(1);  // one allocation over the budget (volatile: not elided)
  delete p;
}

int main(int argc, char** argv) {
  {
    memx::Uncounted guard;
    g_log = new Log();
  }
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new Recorder);
  ::testing::AddGlobalTestEnvironment(new Env);
  const int rc = RUN_ALL_TESTS();

  const Log expected = {
      "program start",
      "iteration start",
      "environments set-up",
      "environment SetUp",
      "suite start",
      "SetUpTestSuite",
      "test start [measured]",
      "fixture constructor [measured]",
      "SetUp [measured]",
      "body [measured]",
      "TearDown [measured]",
      "fixture destructor [measured]",
      "test end (passed) [measured]",  // the recorder sees the end before memx judges
      "memx failure",                   // memx's OnTestEnd adds the failure ...
      "TearDownTestSuite",              // ... and the printer, before memx, sees it FAILED
      "suite end",
      "environment TearDown",
      "iteration end",
      "program end",
  };
  int failures = 0;
  if (*g_log != expected) {
    ++failures;
    std::printf("event_order_test: unexpected sequence of events:\n");
    for (std::size_t i = 0; i < std::max(g_log->size(), expected.size()); ++i) {
      std::printf("  %-36s | expected %s\n", i < g_log->size() ? (*g_log)[i].c_str() : "-",
                  i < expected.size() ? expected[i].c_str() : "-");
    }
  }
  const ::testing::TestResult* result =
      ::testing::UnitTest::GetInstance()->GetTestSuite(0)->GetTestInfo(0)->result();
  if (!result->Failed()) {
    ++failures;
    std::printf("event_order_test: Order.OverBudget did not fail in GoogleTest's result\n");
  }
  if (rc == 0) {
    ++failures;
    std::printf("event_order_test: RUN_ALL_TESTS returned 0 despite the budget failure\n");
  }
  std::printf("event_order_test: %s\n", failures == 0 ? "as expected" : "FAILED");
  return failures == 0 ? 0 : 1;
}
