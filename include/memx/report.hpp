// memx: the per-process JSON report that the test plugins write and the memx CLI reads.
// Format: docs/report-format.md, schema: docs/report.schema.json.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memx/boxed.hpp"
#include "memx/budget.hpp"
#include "memx/leak.hpp"
#include "memx/suppressions.hpp"
#include "memx/watch_analysis.hpp"

namespace memx {

/// The value of the report's "format" field.
inline constexpr const char* kReportFormat = "memx-report";
/// The report version this library writes; readers reject newer versions.
/// Version 2 added stack mode's allocation sites (Report::stacks, TestRecord::sites);
/// version 3 the controls: budget keys leak, threads and warn, the verdict "expected",
/// each violation's `enforced`, the run's `warn_only` and suppressions. Versions 1 and 2
/// still read. Added within version 3, optional (absent: none, and what older reports
/// read as): each run's `fds` and `threads` left behind, a test's `resource_leaks`, and the
/// budget keys `fds` and `threads_left` (a reader older than them rejects only a report
/// whose budgets use them, naming the key).
inline constexpr int kReportVersion = 3;

/// What one repetition of a test used.
struct RunRecord {
  std::int64_t net_bytes = 0;       ///< live bytes at the end minus at the start
  std::int64_t net_blocks = 0;      ///< live blocks at the end minus at the start
  std::int64_t peak_bytes = 0;      ///< highest live heap above the start
  std::uint64_t allocs = 0;         ///< allocations made
  std::int64_t rss_peak_bytes = 0;  ///< peak RSS growth above the start
  double duration_ms = 0;           ///< wall time, milliseconds
  /// Descriptors open at its end that were not at its start (after the grace period,
  /// memx/resources.hpp); JSON `fds`, written when not 0.
  std::int64_t fds = 0;
  /// Threads alive at its end that were not at its start; JSON `threads`, written when not 0.
  std::int64_t threads = 0;

  /// The figures a budget is checked against.
  Measurement measurement() const;
  /// Field-wise equality.
  friend bool operator==(const RunRecord& a, const RunRecord& b) {
    return a.net_bytes == b.net_bytes && a.net_blocks == b.net_blocks &&
           a.peak_bytes == b.peak_bytes && a.allocs == b.allocs &&
           a.rss_peak_bytes == b.rss_peak_bytes && a.duration_ms == b.duration_ms &&
           a.fds == b.fds && a.threads == b.threads;
  }
};

/// A descriptor a run of a test left open.
struct LeakedDescriptor {
  int fd = 0;          ///< its number
  std::string target;  ///< readlink of /proc/self/fd/N: a path, "socket:[ino]", "pipe:[ino]", ...
  /// Field-wise equality.
  friend bool operator==(const LeakedDescriptor& a, const LeakedDescriptor& b) {
    return a.fd == b.fd && a.target == b.target;
  }
};

/// A thread a run of a test left running.
struct LeakedThread {
  std::int64_t tid = 0;  ///< its thread id
  std::string name;      ///< /proc/self/task/TID/comm
  /// Field-wise equality.
  friend bool operator==(const LeakedThread& a, const LeakedThread& b) {
    return a.tid == b.tid && a.name == b.name;
  }
};

/// At most this many descriptors and as many threads are named per test (RunRecord counts all).
inline constexpr std::size_t kMaxNamedResources = 16;

/// The descriptors and threads the latest run of a test that left any left behind.
struct ResourceLeakRecord {
  int run = 0;                               ///< that run (1-based); 0: no run left any
  std::vector<LeakedDescriptor> fds;         ///< ascending by number, at most kMaxNamedResources
  std::vector<LeakedThread> threads;         ///< ascending by tid, at most kMaxNamedResources
  /// Field-wise equality.
  friend bool operator==(const ResourceLeakRecord& a, const ResourceLeakRecord& b) {
    return a.run == b.run && a.fds == b.fds && a.threads == b.threads;
  }
};

/// Lines naming what `leaks` holds, each starting with "\n" + `indent`:
/// "descriptor 7: /tmp/data.txt", "thread 4242 \"worker\""; at most `max` lines, then "and N
/// more" (counting `fds`/`threads` of its run beyond those named).
std::string resource_leak_lines(const ResourceLeakRecord& leaks, const RunRecord& run,
                                std::string_view indent, std::size_t max);

/// "1 descriptor and 2 threads" for a run's fds and threads ("" when both are 0).
std::string resource_leak_counts(std::int64_t fds, std::int64_t threads);

/// A budget violation as stored in a report, with its message for people.
struct ViolationRecord {
  std::string key;            ///< "peak", "net", "blocks", "allocs", "rss" or "leak"
  std::int64_t measured = 0;  ///< what the worst run used (leak: blocks per repetition)
  std::int64_t allowed = 0;   ///< the budget's limit
  std::string message;        ///< describe() of the violation
  /// False when it was reported without failing the test (warn-only: the run's
  /// --memx-warn-only or the budget's `warn`). Reports before version 3: true.
  bool enforced = true;

  /// Field-wise equality.
  friend bool operator==(const ViolationRecord& a, const ViolationRecord& b) {
    return a.key == b.key && a.measured == b.measured && a.allowed == b.allowed &&
           a.message == b.message && a.enforced == b.enforced;
  }
};

/// One source-level frame of an allocation site's stack (memx/symbols.hpp's Frame).
struct FrameRecord {
  std::string function;      ///< demangled; "" when unknown
  std::string file;          ///< source file; "" when unknown
  int line = 0;              ///< 0 when unknown
  std::string module;        ///< the executable or shared library
  std::uint64_t offset = 0;  ///< return address - the module's load address
  bool inlined = false;      ///< inlined into the next frame
  std::string note;          ///< why something is missing ("no debug information", ...)

  /// Field-wise equality.
  friend bool operator==(const FrameRecord& a, const FrameRecord& b) {
    return a.function == b.function && a.file == b.file && a.line == b.line &&
           a.module == b.module && a.offset == b.offset && a.inlined == b.inlined &&
           a.note == b.note;
  }
};

/// What one repetition of a test left live at one site.
struct SiteRun {
  std::int64_t bytes = 0;   ///< usable bytes still live
  std::int64_t blocks = 0;  ///< blocks still live

  /// Field-wise equality.
  friend bool operator==(const SiteRun& a, const SiteRun& b) {
    return a.bytes == b.bytes && a.blocks == b.blocks;
  }
};

/// An allocation site (one call stack) of the blocks a test's repetitions left live, in
/// stack mode (memx/stacks.hpp).
struct SiteRecord {
  std::int64_t bytes = 0;      ///< live bytes from all repetitions
  std::int64_t blocks = 0;     ///< live blocks from all repetitions
  std::vector<SiteRun> runs;   ///< per repetition (index = the test's run), what stays live
  std::vector<FrameRecord> frames;  ///< the whole stack, innermost first (inlined expanded)
  /// Index in frames of the first frame of the user's code: the frames before it are
  /// memx's, the C++ runtime's, the standard library's or the test framework's.
  int user_frame = 0;

  /// Field-wise equality.
  friend bool operator==(const SiteRecord& a, const SiteRecord& b) {
    return a.bytes == b.bytes && a.blocks == b.blocks && a.runs == b.runs &&
           a.frames == b.frames && a.user_frame == b.user_frame;
  }
};

/// Stack mode in the run that wrote a report.
struct StacksInfo {
  int depth = 0;               ///< frames kept per stack; 0: stack mode was off
  std::string unwinder;        ///< "libunwind", "frame-pointer" or "glibc-backtrace"
  int top = 10;                ///< sites kept per test
  std::uint64_t dropped = 0;   ///< allocations that could not be recorded (sites miss them)
  /// True when the sites were taken at the end of the whole run (blocks freed by later
  /// tests are gone); false while the run goes on (each test's sites as of its last run).
  bool final = false;
  /// Sampling mode's mean in bytes (--memx-stacks=sample:SIZE): sites are estimates; 0 when
  /// every allocation was recorded.
  std::uint64_t sample_bytes = 0;

  /// Field-wise equality.
  friend bool operator==(const StacksInfo& a, const StacksInfo& b) {
    return a.depth == b.depth && a.unwinder == b.unwinder && a.top == b.top &&
           a.dropped == b.dropped && a.final == b.final && a.sample_bytes == b.sample_bytes;
  }
};

/// Counting mode: the allocations of one run of a test that were still live at its end, by
/// their numbers within the run (memx/alloc_numbers.hpp), for MEMX_BREAK_ON_ALLOC.
struct LiveNumbersRecord {
  int run = 0;                         ///< the run (1-based) they were taken in; 0: none taken
  std::uint64_t live = 0;              ///< blocks of that run still live at its end
  std::vector<std::uint64_t> numbers;  ///< the lowest of their numbers, ascending (at most 16)

  /// Field-wise equality.
  friend bool operator==(const LiveNumbersRecord& a, const LiveNumbersRecord& b) {
    return a.run == b.run && a.live == b.live && a.numbers == b.numbers;
  }
};

/// One point of a memory timeline: the heap's live bytes and the RSS at a moment.
struct TimelinePoint {
  double ms = 0;                 ///< when, in milliseconds since the timeline's start
  std::int64_t heap_bytes = 0;   ///< live heap (a test's: above its run's start)
  std::int64_t rss_bytes = 0;    ///< resident set size (a test's: above its run's start)

  /// Field-wise equality.
  friend bool operator==(const TimelinePoint& a, const TimelinePoint& b) {
    return a.ms == b.ms && a.heap_bytes == b.heap_bytes && a.rss_bytes == b.rss_bytes;
  }
};

/// At most this many points in a test's timeline (the sampler keeps every other sample and
/// halves its rate past it, so the points always span the whole run).
inline constexpr std::size_t kTestTimelinePoints = 64;
/// At most this many points in the whole run's timeline (Report::timeline).
inline constexpr std::size_t kRunTimelinePoints = 256;

/// A test's memory over time: its run with the highest peak, as the RSS sampler saw it.
struct TestTimeline {
  int run = 0;          ///< the run (1-based) it is of; 0: none recorded
  double start_ms = 0;  ///< when that run started, milliseconds since the process's run began
  /// The sampler's readings during the run, its start and end included, oldest first, at
  /// most kTestTimelinePoints; empty when the run was shorter than one sampling interval
  /// (its start and end are then the run's figures).
  std::vector<TimelinePoint> points;

  /// Field-wise equality.
  friend bool operator==(const TestTimeline& a, const TestTimeline& b) {
    return a.run == b.run && a.start_ms == b.start_ms && a.points == b.points;
  }
};

/// The outcome of a test as the framework reported it.
enum class TestStatus : std::uint8_t { passed, failed, skipped };

/// One test (GoogleTest "Suite.Test", Catch2 "case / section") and its repetitions.
struct TestRecord {
  std::string name;                         ///< full name
  /// The test executable when it differs from the report's (a merged report of several
  /// binaries); "" means the report's `binary`. See binary_of (memx/identity.hpp).
  std::string binary;
  std::string file;                         ///< source file ("" when unknown)
  int line = 0;                             ///< source line (0 when unknown)
  TestStatus status = TestStatus::passed;   ///< framework outcome
  /// False when the test ran without stack mode in a report that has it (merged from a
  /// report without stack mode, or not rerun by `memx check --stacks`): its empty `sites`
  /// then say nothing of what it left live. JSON `sites_recorded`, written when false.
  bool sites_recorded = true;
  /// The repetitions its sites were recorded over when fewer than its runs (a `memx check
  /// --stacks` rerun: three), else 0. JSON `site_runs`, written when not 0. Read it through
  /// site_repetitions (memx/sites.hpp).
  std::uint16_t site_runs = 0;
  std::vector<RunRecord> runs;              ///< one per repetition, in order
  Boxed<Budget> budget;                     ///< the effective budget, if any
  std::vector<ViolationRecord> violations;  ///< keys of the budget that were exceeded
  LeakAssessment leak;                      ///< leak verdict over the runs
  /// Stack mode: where the blocks its repetitions left live were allocated, the sites
  /// with blocks from the most repetitions first, then by bytes (Report::stacks.top kept).
  std::vector<SiteRecord> sites;
  /// Stack mode: what its worst run (by peak) held at its peak, by stack, most bytes first
  /// (each site's runs empty: one run), within 1/16 of the peak (memx/stacks.hpp).
  std::vector<SiteRecord> peak_sites;
  /// Counting mode: the allocation numbers of the blocks a later run left live, taken when
  /// an earlier run of the test had left blocks (run 0: none taken).
  LiveNumbersRecord live_numbers;
  /// Memory over time of its run with the highest peak (optional: run 0 when not recorded).
  TestTimeline timeline;
  /// What its latest run that left descriptors or threads behind left (optional: run 0).
  ResourceLeakRecord resource_leaks;

  /// Field-wise equality.
  friend bool operator==(const TestRecord& a, const TestRecord& b) {
    return a.name == b.name && a.binary == b.binary && a.file == b.file && a.line == b.line && a.status == b.status &&
           a.runs == b.runs && a.budget == b.budget && a.violations == b.violations &&
           a.leak == b.leak && a.sites == b.sites && a.peak_sites == b.peak_sites &&
           a.sites_recorded == b.sites_recorded && a.site_runs == b.site_runs && a.live_numbers == b.live_numbers && a.timeline == b.timeline &&
           a.resource_leaks == b.resource_leaks;
  }
};

/// A suppression of the run and how many tests' leaks it suppressed.
struct SuppressionUse {
  std::string text;        ///< "leak:PATTERN" or "test:PATTERN"
  int line = 0;            ///< its line in the suppressions file
  std::uint64_t used = 0;  ///< tests whose leak it suppressed
  /// Field-wise equality.
  friend bool operator==(const SuppressionUse& a, const SuppressionUse& b) {
    return a.text == b.text && a.line == b.line && a.used == b.used;
  }
};

/// Everything one test process measured.
struct Report {
  std::string framework;    ///< "googletest" or "catch2"
  std::string binary;       ///< path of the test executable
  std::int64_t pid = 0;     ///< process id
  bool complete = false;    ///< false while tests still run (or if the process died)
  int repetitions = 1;      ///< repetitions requested (--gtest_repeat / memx repeat)
  std::string started_at;   ///< ISO 8601 UTC, e.g. "2024-05-01T12:00:00Z"
  std::string finished_at;  ///< ISO 8601 UTC, "" while not complete
  /// Which run this is: "<start, ISO 8601 UTC to the microsecond>/<pid>", unique per
  /// process and ordered by time as text; merge keeps each test's newest run. "" in reports
  /// written before it existed, and in a report merged from several.
  std::string run_id;
  std::string backend;      ///< allocator behind the counting operator new
  std::string tool;         ///< heap tool in the process ("AddressSanitizer", "Valgrind"), "" = none
  bool measured = true;     ///< false: memx's operator new saw nothing (Valgrind replaced it)
  StacksInfo stacks;        ///< stack mode (depth 0: off)
  /// --memx-warn-only: violations and leaks were reported without failing any test.
  bool warn_only = false;
  std::string suppressions_file;              ///< --memx-suppressions FILE, "" = none
  std::vector<SuppressionUse> suppressions;   ///< its lines, with their use counts
  std::vector<std::int64_t> iteration_end_live_bytes;  ///< live heap at the end of each iteration
  std::vector<TestRecord> tests;                       ///< in the order they ran
  /// The whole run's memory over time: absolute live heap and RSS, milliseconds since the
  /// run began, at most kRunTimelinePoints (optional: empty when not recorded, and in a
  /// report merged from several processes).
  std::vector<TimelinePoint> timeline;
  /// A leak watch of the process (memx/leak_watch.hpp): its samples and analysis (optional,
  /// JSON `watch`: written by memx::write_watch_report, absent from the plugins' reports).
  std::optional<WatchRecord> watch;

  /// Field-wise equality.
  friend bool operator==(const Report& a, const Report& b) {
    return a.framework == b.framework && a.binary == b.binary && a.pid == b.pid &&
           a.complete == b.complete && a.repetitions == b.repetitions &&
           a.started_at == b.started_at && a.finished_at == b.finished_at &&
           a.run_id == b.run_id && a.backend == b.backend && a.tool == b.tool && a.measured == b.measured &&
           a.stacks == b.stacks && a.warn_only == b.warn_only &&
           a.suppressions_file == b.suppressions_file && a.suppressions == b.suppressions &&
           a.iteration_end_live_bytes == b.iteration_end_live_bytes &&
           a.tests == b.tests && a.timeline == b.timeline && a.watch == b.watch;
  }
  /// Field-wise inequality.
  friend bool operator!=(const Report& a, const Report& b) { return !(a == b); }
};

/// "passed", "failed" or "skipped".
const char* to_string(TestStatus s);
/// Reads a status written by to_string; false (and `out` untouched) on anything else.
bool from_string(std::string_view text, TestStatus& out);

/// Fills every test's violations (each budget key checked against the worst run) and leak
/// verdict (analyze_leaks with the report's iteration_end_live_bytes), then applies the
/// controls: a budget's `leak=N` (judge_expected_leak), each violation's `enforced`
/// (report.warn_only, the budget's `warn`) and the report's suppressions (their use
/// counts recounted). A report that was not measured gets no violations and unknown
/// verdicts ("not measured").
void analyze_report(Report& report);

/// analyze_report for a report whose first `judged` tests were judged by an earlier call
/// (of either function) and have not changed since: when every test is judged alone (fewer
/// than 3 iteration totals, as in a run of one repetition) and the report was measured,
/// only the tests from `judged` on are judged and their suppressions' uses added to the
/// counts; otherwise (or with `judged` 0) the whole report is, as analyze_report does.
/// `suppressions`: the report's suppression lines parsed, in its order (suppressions_of,
/// or the list its SuppressionUses were made from), so that a caller judging one test at a
/// time does not parse them again each time. The session judges each test of such a run
/// as it ends (its record still in the cache), so that the run's end and every report
/// written meanwhile judge nothing again.
void analyze_report_from(Report& report, std::size_t judged, const std::vector<Suppression>& suppressions);

/// The first test analyze_report_from(report, judged, ...) judges: `judged`, or 0 when it
/// judges the whole report again.
inline std::size_t judged_again_from(const Report& report, std::size_t judged) noexcept {
  const bool whole = judged > report.tests.size() || !report.measured ||
                     report.iteration_end_live_bytes.size() >= 3;
  return whole ? 0 : judged;
}

/// A budget's `leak=N` against the test's leak verdict, once it has two or more runs: the
/// blocks it leaks per repetition (0 unless the verdict is leak or suspect) must be N. When
/// they are and N > 0 the verdict becomes Verdict::expected; when not, the violation
/// (key "leak"). Nothing without `leak=` or with fewer than two runs.
std::optional<Violation> judge_expected_leak(TestRecord& test);

/// Marks the test's leak (verdict leak) suppressed by the first matching line of `list`
/// (find_suppression) and returns that line's index.
std::optional<std::size_t> suppress_leak(TestRecord& test, const std::vector<Suppression>& list);

/// The suppression lines of a report (its SuppressionUse texts) parsed back.
std::vector<Suppression> suppressions_of(const Report& report);

/// True when the test broke its budget and its budget is not `warn` (what `memx gate`
/// gates; the run's --memx-warn-only does not change it: the gate has --warn-only).
bool gated_violations(const TestRecord& test);

/// Tests in a report above which each test is written on one line (docs/report-format.md).
inline constexpr std::size_t kFlatTestsAbove = 1000;

/// The report as JSON: fixed key order, 2-space indent (each test on one line, without
/// spaces, above kFlatTestsAbove tests), trailing newline.
std::string to_json(const Report& report);

/// Receives a text in pieces, in order; returns false when a piece could not be taken (the
/// writing stops).
using TextSink = std::function<bool(std::string_view)>;

/// Writes exactly to_json(report) to `sink` in pieces of about `chunk` bytes (cut between
/// tests), never holding the whole text: a report of a million tests costs a buffer, not
/// its size in memory. False when the sink refused a piece.
bool write_json(const Report& report, const TextSink& sink, std::size_t chunk = std::size_t{1} << 20);

namespace detail {
/// Another thread that report writing may hand work to (a test binary's "memx-report"
/// thread): `run(job)` runs `job` there soon and returns true, or returns false at once
/// (no such thread now) and the caller does the work itself.
struct Background {
  std::function<bool(std::function<void()>)> run;
};

// A large report's final file made while its run goes on (the test binaries' plugins, for
// runs of thousands of tests): each block of finished tests is written there on the report
// thread once it is final, behind room kept for the members before "tests", so that the
// end of the run writes only those members, the last tests and what follows them. The file
// has no name until then (O_TMPFILE): a process killed before leaves nothing behind.

/// Bytes kept at the start of such a file for the report's members before the tests: the
/// text there is padded with spaces after the "tests" array's opening bracket.
inline constexpr std::size_t kPreparedHeadRoom = 8192;

/// Opens an unnamed file (O_TMPFILE, mode 0644) in the directory where write_file_atomically
/// would make `path`'s temporary file (symlinks followed). -1 when there is none to make: a
/// path written in place or refused, a missing directory, a filesystem without O_TMPFILE.
int open_unnamed_report_file(const std::string& path);

/// Gives the unnamed file `fd` the name `path` atomically, as write_file_atomically replaces
/// a report (a temporary name linked through /proc/self/fd, renamed over `path`; the file
/// replaced is closed on `background`). False when it cannot (errno set; nothing at `path`
/// changed): the caller writes the report the ordinary way.
bool name_unnamed_report_file(int fd, const std::string& path, const Background* background);

/// The text of tests [begin, end) of a flat report (above kFlatTestsAbove tests, no stack
/// tables) as write_json writes them inside its "tests" array, into `out` (replaced).
void render_flat_tests(const Report& report, std::size_t begin, std::size_t end, std::string& out);

/// write_json's text in two parts: into `head`, everything before the first test's element
/// (through the "tests" array's opening bracket); then to `sink`, in pieces of about
/// `chunk` bytes, the tests from index `from` on and all that follows them. Tests before
/// `from` are render_flat_tests' text: `from` > 0 needs a flat report without stack tables
/// (false otherwise, and when the sink refuses a piece).
bool write_json_from(const Report& report, std::size_t from, std::string& head, const TextSink& sink,
                     std::size_t chunk);
}  // namespace detail

/// write_json, with the tests of a large report (flat, no stack tables) rendered by the
/// caller and `background` together, a block of tests each at a time, and written in
/// order: the same text, in about half the time on two cores. The sink is called from
/// either thread, never from two at once, in order. `background` may be null (write_json).
bool write_json(const Report& report, const TextSink& sink, std::size_t chunk,
                const detail::Background* background);

/// The result of read_report: a report, or an error message.
struct ReportRead {
  std::optional<Report> report;  ///< set on success
  std::string error;             ///< set on failure: "<source>: <path>: <what is wrong>"
  /// read_report_tests: the sink stopped the reading (no report, no error).
  bool stopped = false;
};

/// Parses and validates a report's text; `source_name` (usually the file name) starts
/// every error message. Rejects malformed JSON, another "format", a newer "version" and
/// fields of the wrong type. Never throws.
ReportRead read_report(std::string_view text, std::string_view source_name);

/// The same as read_report with nlohmann's parser alone: several times slower, and what
/// read_report falls back to, to say where a text is not valid JSON. For tests that the
/// two readers agree.
ReportRead read_report_exact(std::string_view text, std::string_view source_name);

/// Reads the file at `path` and parses it with read_report. Never throws.
ReportRead read_report_file(const std::string& path);

/// Reads a report from an open descriptor (a file, a pipe), 1 MiB at a time, never holding
/// its whole text; `path` names it in messages. Never throws.
ReportRead read_report_fd(int fd, const std::string& path);

/// Where read_report_tests hands a report's tests, one at a time.
struct TestSink {
  /// Takes the test at `index` of the report's "tests"; false stops the reading
  /// (ReportRead::stopped).
  std::function<bool(std::size_t index, TestRecord&& test)> take;
  /// The text is read again from its start (a second reader, to say where it is not valid
  /// JSON, or a second "tests" member): forget the tests taken so far. May be empty.
  std::function<void()> restart;
};

/// Reads the report at `path` as read_report_file does, without keeping its tests: each is
/// handed to `sink` once read and converted, so that a caller keeps only what it needs of a
/// million tests. Tests come in the order of the array, except those with allocation sites
/// (stack mode), which come after all the others, in order (they name the report's frame
/// tables, which follow the tests). A test's `binary` is as written (read_report_file clears
/// one equal to the report's, known only at the end). The report returned has no tests.
/// What read_report_file rejects is rejected alike, a test that is in the report twice
/// included; but only once the whole text is read: the sink may have taken tests of a
/// report that turns out unusable. Never throws (what the sink throws becomes the read's
/// error).
ReportRead read_report_tests(const std::string& path, const TestSink& sink);

/// Writes the report like write_file_atomically with `durable`: a temporary file in the same
/// directory, fsynced and renamed over `path`, so a reader never sees a half-written file.
/// On failure returns false and sets *error (if given) to one line naming the path and what
/// is wrong.
bool write_report_atomically(const Report& report, const std::string& path, std::string* error);

/// Writes `text` to `path` by what stands there, never renaming over anything but a regular
/// file: nothing or a regular file is replaced atomically (a temporary file in the same
/// directory renamed over it); a symlink is followed and its target written the same way;
/// a character device (/dev/null), a FIFO or an open descriptor (/dev/stdout, /dev/fd/N)
/// is written in place, not atomically (a FIFO must already have a reader); a socket, a
/// directory or a block device is refused. With `durable` the file and the rename are
/// fsynced (survives the machine crashing); without, only a crash of the process is
/// survived, at a fraction of the cost (a plugin's reports in the middle of a run).
bool write_file_atomically(const std::string& path, std::string_view text, bool durable,
                           std::string* error);

/// The same for a text produced in pieces: `produce` hands each piece to the sink it is
/// given, and returns false (the sink's false, or its own) to abandon the file.
bool write_file_atomically(const std::string& path,
                           const std::function<bool(const TextSink&)>& produce, bool durable,
                           std::string* error);

/// The same, with the file that the rename replaces held open across the rename and closed
/// on `background` (when given): the kernel frees a replaced file's pages when its last
/// reference goes (10-25 ms for a report of 100,000 tests), which the rename would
/// otherwise do on the caller's time.
bool write_file_atomically(const std::string& path,
                           const std::function<bool(const TextSink&)>& produce, bool durable,
                           std::string* error, const detail::Background* background);

/// True when write_file_atomically writes `path` in place rather than atomically (a
/// character device, a FIFO, an open descriptor, or a symlink to one): such a path takes
/// one report, at the end of the run.
bool writes_directly(const std::string& path);

/// Creates the missing directories above `path` (mkdir -p of its parent), so that a report
/// path in a directory that does not exist yet can be written. False, with one line in
/// `error`, when one cannot be made.
bool make_parent_directories(const std::string& path, std::string* error);

/// A run identifier for a run of process `pid` started at `t`: "<ISO 8601 UTC to the
/// microsecond>/<pid>", e.g. "2026-11-30T11:04:20.123456Z/4242" (Report::run_id).
std::string make_run_id(std::chrono::system_clock::time_point t, long pid);

/// Expands a report path pattern: "%p" becomes the pid and "%%" a '%'; a pattern that ends
/// with '/' or names an existing directory becomes "<dir>/memx-<pid>.json".
std::string expand_report_path(std::string_view pattern, long pid);

/// A time as ISO 8601 UTC with seconds, e.g. "2024-05-01T12:00:00Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);

}  // namespace memx
