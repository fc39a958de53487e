// Internal: the state of a Session, shared by session.cpp and summary.cpp.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "memx/resources.hpp"
#include "memx/rss.hpp"
#include "memx/session.hpp"
#include "memx/stacks.hpp"
#include "memx/symbols.hpp"
#include "sys/populate.hpp"

namespace memx {

namespace detail {
/// The texts a test's effective budget was built from, for messages.
struct BudgetSources {
  std::string global;
  std::string group;
  std::string test;
};
/// Storage for a new test's record (its name, file and runs), made ahead on the report
/// thread (Session::Impl::new_record).
struct RecordSpare {
  std::string name;
  std::string file;
  std::string reason;  // the leak verdict's
  std::vector<RunRecord> runs;
};
/// Spares made on the report thread, waiting to be taken by the test thread.
struct SpareStock {
  std::mutex mutex;
  std::vector<RecordSpare> made;
  bool asked = false;  // a job making more is queued or running
};
/// A large run's final report file made as its tests finish (detail::
/// open_unnamed_report_file): the report thread writes the text of each block of finished
/// tests there (Session::Impl::prepare_block) while the next tests run.
struct PreparedReport {
  int fd = -1;
  std::mutex mutex;
  std::condition_variable idle;
  std::size_t pending = 0;                // blocks handed to the report thread, not written yet
  std::size_t written = 0;                // tests [0, written) are in the file
  std::uint64_t end = kPreparedHeadRoom;  // where the file's text ends
  bool failed = false;                    // a block was not written: the file is not used
  std::string buffer;                     // a block's text (the report thread's)
  PreparedReport() = default;
  PreparedReport(const PreparedReport&) = delete;
  PreparedReport& operator=(const PreparedReport&) = delete;
  ~PreparedReport() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace detail

struct Session::Impl {
  // The records' pages may still be read on the report thread (populate_ahead), and their
  // text rendered there (prepare_block).
  ~Impl() {
    settle_prepared();
    detail::settle(records_populated);
    detail::settle(live_after_populated);
  }
  SessionConfig config;
  Report report;
  std::unordered_map<std::string, std::size_t> index;  // test name -> report.tests, built lazily
  std::size_t cursor = 0;                              // where the next test is expected
  std::vector<std::vector<std::int64_t>> live_after;   // per test: process live heap after each run
  // How far the two per-test arrays are faulted in ahead of their fill (populate_ahead).
  detail::Populated records_populated, live_after_populated;
  std::set<std::string> over_budget;                   // tests that broke a limit
  std::set<std::string> bad_budget;                    // tests with a malformed budget
  std::string path;                                    // expanded report path, "" = none
  bool direct = false;  // path is a device, FIFO or descriptor: one report, at the end
  // The report thread (session/report_thread.hpp) when a report goes to a file: the
  // replaced file's pages are freed there and it renders half of a large report's tests.
  const detail::Background* background = nullptr;
  long owner_pid = 0;
  int repetitions = 1;
  int iteration = 0;
  bool judge_alone = false;  // see Session::judge_tests_alone
  bool started = false;
  bool ended = false;
  bool analyzed = false;
  // The leading tests whose records are judged (violations, leak verdict, controls) and
  // final: in a run of one repetition without stack mode each test is judged as it ends
  // (analyze_report_from), and no later analysis judges it again; 0 otherwise.
  std::size_t judged = 0;
  bool judges_each_test() const noexcept { return repetitions == 1 && report.stacks.depth == 0; }
  /// Judges what is not judged yet (analyze_report_from; everything, unless each test is
  /// judged as it ends), and notes what is judged now.
  void analyze() {
    // What judges again records handed to the report thread (prepare_block) changes them.
    if (rejudges_handed()) {
      settle_prepared();
      prepared_spoilt = true;
    }
    if (judged_again_from(report, judged) < tally.tallied) tally = SummaryTally{};
    analyze_report_from(report, judged, config.options.suppressions);
    judged = judges_each_test() ? report.tests.size() : 0;
  }

  /// The summary's look at each judged test (summary.cpp): which of its lists the test is
  /// in. Kept as the tests are judged at their ends, while their records are in the cache
  /// (a pass over 100,000 records after the last test took 5 ms): summary() then looks
  /// only at the tests after `tallied`.
  struct SummaryTally {
    std::vector<std::size_t> budget_broken, warned, leaks, warned_leaks, suppressed, resources;
    std::vector<std::pair<std::int64_t, std::size_t>> by_peak;  // (peak, test), highest first
    std::size_t suspects = 0, expected = 0;
    std::size_t tallied = 0;  // tests [0, tallied) are in
  };
  /// For tests [0, tally.tallied), all judged and final (tallied <= judged): reset when an
  /// analysis judges any of them again.
  SummaryTally tally;
  /// Adds test `i` (the next after out.tallied) to `out`.
  void tally_test(SummaryTally& out, std::size_t i) const;
  bool dirty = false;
  bool write_error_shown = false;
  bool written = false;        // a report of this run is at `path`
  bool write_failed = false;   // the last write failed
  std::chrono::steady_clock::time_point run_started{};
  std::chrono::steady_clock::duration write_time{};  // spent writing reports so far
  std::chrono::steady_clock::duration last_write{};  // the latest write's (the next's estimate)
  std::size_t last_write_tests = 0;                  // tests in the latest write
  TestMeter meter;
  // Descriptors and threads (memx/resources.hpp): read when each test begins, compared at
  // its end; the vectors keep their capacity from test to test.
  ResourceIds resources_start;
  ResourceIds resources_end;
  bool resources_read = false;  // resources_start holds the running test's start
  /// Whether a test of `group` has its descriptors and threads listed: MEMX_RESOURCES, else
  /// under --memx-fail-on-leak or a global or group budget with fds=N or threads=N (a test's
  /// own MEMX_BUDGET starts the listing where it is declared).
  bool watches_resources(const std::string& group) const;
  std::optional<RssWindow> run_rss;  // open from begin_run to end_run: the run's timeline
  std::optional<RssWindow> test_rss;  // open as long, restarted per test: the test's timeline

  /// The run's timeline (report.timeline) as run_rss has it now.
  void take_run_timeline();
  /// Keeps the running test's timeline in `rec` when its last run is the one with the
  /// highest peak (run numbers from 1).
  void update_timeline(TestRecord& rec);

  // Allocation numbers (memx/alloc_numbers.hpp), counting mode: a run of a test whose last
  // run left blocks is numbered and tracked, so that a leak message can name the
  // allocations left live; MEMX_BREAK_ON_ALLOC numbers the runs of its test.
  std::set<std::string> track_next;  // tests whose next run is tracked
  int break_runs_seen = 0;           // runs of MEMX_BREAK_ON_ALLOC's test begun so far
  bool numbering = false;            // the running test is numbered
  bool numbering_tracks = false;     // ... and tracked

  // Stack mode (report.stacks.depth > 0): each run of a test is a scope of its own, so that
  // the live blocks of every run can be told apart (memx/stacks.hpp).
  std::uint32_t next_scope = 1;                       // 0 is "no test"
  std::uint32_t current_scope = 0;                    // the running test's
  std::vector<std::vector<std::uint32_t>> run_scopes;  // per test: the scope of each run
  std::unique_ptr<symbols::Symbolizer> symbolizer;    // made at the first site
  struct StackFrames {
    std::vector<FrameRecord> frames;
    int user_frame = 0;
    bool framework = false;  // the framework's own memory (sites.hpp: framework_own)
  };
  std::unordered_map<std::uint32_t, StackFrames> stack_frames;  // symbolised once per stack

  /// The frames of a stack, symbolised at the first call.
  const StackFrames& frames_of(std::uint32_t stack_id);
  /// Rebuilds the sites of the tests at `tests` (every test when empty) from the live
  /// blocks of their runs.
  void update_sites(const std::vector<std::size_t>& tests);
  /// Records the running test's peak sites in `rec` when this run's peak is its highest.
  void update_peak_sites(TestRecord& rec, const RunRecord& run);
  /// Turns (stack, bytes, blocks) of the live-block map into report sites: symbolised, the
  /// framework's own left out, at most `max`.
  std::vector<SiteRecord> to_sites(const stacks::List<stacks::Site>& live, std::size_t max);
  /// Up to `max` lines "B in N blocks at file:line in function" for the sites of a test's
  /// run `run` (indented by `indent`).
  std::string site_lines(const TestRecord& t, std::size_t run, std::size_t max, bool growing_only) const;
  /// Up to `max` lines for a test's peak sites.
  std::string peak_lines(const TestRecord& t, std::size_t max) const;

  // The running test; guarded by `mutex` (MEMX_BUDGET may run on another thread).
  mutable std::mutex mutex;
  std::atomic<bool> in_test{false};
  TestId current;
  /// `current` = `id`, copied into the previous test's storage (new_record copies from it
  /// into a record's own when that fits): no allocation for most tests. Under `mutex`.
  void set_current(const TestIdView& id) {
    current.name.assign(id.name);
    current.group.assign(id.group);
    current.file.assign(id.file);
    current.line = id.line;
  }
  std::optional<Budget> test_budget;
  std::string test_budget_text;
  std::string test_budget_error;

  // A large run's new records take their strings' and runs' storage from spares made on
  // the report thread (new_record): mimalloc's fresh pages for what each test keeps (its
  // name, file, leak reason and runs, about 200 bytes) are then first touched there, not
  // on the test thread (at 5-17 us a page on a PVM guest: about 20 ms of a run of 100,000
  // trivial tests). Taken from the stock a batch at a time. A batch (300-400 KiB) grows the
  // process's RSS while a test runs, as the records' pages faulted in between tests do
  // (64 KiB steps): a test's RSS figures start from the sampler's latest reading, so
  // either shows in the test running at the sampler's next reading.
  std::shared_ptr<detail::SpareStock> spare_stock;
  std::vector<detail::RecordSpare> spares;
  std::size_t spare_name_len = 0, spare_file_len = 0;  // longest seen since the last ask
  std::size_t tests_expected = 0;                      // begin_run's hint
  /// Moves the current test's name and file into the new record `t`, through a spare's
  /// storage when they fit in it, and asks for more spares when few are left.
  void new_record(TestRecord& t);
  /// Index in report.tests of the test called `name`; report.tests.size() for a new test.
  std::size_t locate(const std::string& name);
  /// Writes the report unless writing would take more than its share of the run.
  void maybe_write(Session& self);

  // A large run's final report is written as its tests finish (the test thread then writes
  // only the members before the tests, the last tests and what follows them: 45 MB less
  // text after the last of 100,000 trivial tests): kept only while every finished test's
  // record stays as it was when handed over. Runs of at least kPrepareMinTests tests with
  // a report file, one repetition, no stack mode.
  std::shared_ptr<detail::PreparedReport> prepared;
  std::size_t prepared_handed = 0;  // tests [0, prepared_handed) handed to the report thread
  bool prepared_spoilt = false;     // a handed record changed: the file is not used
  /// Whether the next analysis judges again records already handed over: ones judged as
  /// they ended are judged again from `judged` on; all of them in a run not measured, and
  /// from the third iteration's end (analyze_report_from).
  bool rejudges_handed() const noexcept {
    return prepared_handed > 0 && judged_again_from(report, judged) < prepared_handed;
  }
  /// A forked child (a death test's) of the process that made the session.
  bool forked() const noexcept { return static_cast<long>(::getpid()) != owner_pid; }
  /// Opens the file, at the run's start, when the run is one to prepare.
  void prepare_report(std::size_t tests_hint);
  /// After a test's end: hands the next block of finished and judged tests to the report
  /// thread when there is one.
  void prepare_block();
  /// Waits for the blocks handed to be written (no record is read there any more): before
  /// a handed record changes or the records move. In a forked child nothing is waited for,
  /// and the file is not used.
  void settle_prepared();
  /// The final report through the prepared file: the members before the tests in the room
  /// kept for them, the tests not written yet and what follows, then the file named.
  /// False when it cannot be (the caller writes the report the ordinary way).
  bool write_prepared();
};

}  // namespace memx
