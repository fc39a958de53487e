// Session: runs across repetitions, budgets, leak verdicts and the report as tests finish.
//
// Everything here runs under memx::Uncounted, and every container of the session is
// allocated and freed only under a guard, so that the session's own memory is never part
// of a test's figures or of the whole process's iteration-level live heap.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "memx/alloc_numbers.hpp"
#include "memx/session.hpp"
#include "memx/sites.hpp"
#include "memx/stacks.hpp"
#include "memx/tools.hpp"
#include "memx/uncounted.hpp"
#include "memx/units.hpp"
#include "session/registry.hpp"
#include "session/report_thread.hpp"
#include "session/session_impl.hpp"

namespace memx {
namespace {

std::atomic<Session*> g_current{nullptr};
std::atomic<bool> g_atexit_registered{false};

/// Counting mode: "left live by run R: allocations #a, #b; to stop at one in a debugger:
/// MEMX_BREAK_ON_ALLOC=..." when a tracked run left few blocks ("" otherwise).
std::string live_numbers_line(const TestRecord& rec) {
  const LiveNumbersRecord& n = rec.live_numbers;
  constexpr std::uint64_t kFew = 8;
  if (n.run == 0 || n.numbers.empty() || n.live > kFew || n.numbers.size() != n.live) return "";
  std::string list;
  for (std::size_t i = 0; i < n.numbers.size(); ++i) {
    if (i > 0) list += i + 1 == n.numbers.size() ? " and " : ", ";
    list += fmt::format("#{}", n.numbers[i]);
  }
  // Quoted for a POSIX shell: test names may hold spaces (Catch2) or quotes.
  std::string value = fmt::format("{}:{}@{}", rec.name, n.numbers.back(), n.run);
  std::string quoted = "'";
  for (const char c : value) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  return fmt::format("\n  left live by run {}: allocation{} {} of the test; to stop there in a "
                     "debugger: MEMX_BREAK_ON_ALLOC={}",
                     n.run, n.numbers.size() == 1 ? "" : "s", printable_name(list), printable_name(quoted));
}

void flush_at_exit() {
  // A test called exit() (or the program returned without finishing the run): keep what
  // was measured, marked incomplete. Never in a forked child (write_report checks the pid).
  if (Session* s = g_current.load()) s->flush();
}

std::string budget_sources(const detail::BudgetSources& src) {
  std::string out;
  auto add = [&](const char* what, const std::string& text) {
    if (text.empty()) return;
    if (!out.empty()) out += "; ";
    out += fmt::format("{} \"{}\"", what, text);
  };
  add("global", src.global);
  add("suite", src.group);
  add("test", src.test);
  return out;
}

/// A failing test's memx messages in all, at most: the rest is in the report.
constexpr std::size_t kMaxMessageLines = 15;

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

/// Cuts `messages` to at most kMaxMessageLines lines in all (a test that breaks every key,
/// with sites and a leak, would print dozens), ending with where the rest is.
void cap_messages(std::vector<std::string>& messages, const std::string& report_path) {
  std::size_t total = 0;
  for (const std::string& m : messages) total += line_count(m);
  if (total <= kMaxMessageLines) return;
  const std::string rest =
      report_path.empty()
          ? std::string("run with --memx-report=PATH for every figure, site and stack")
          : fmt::format("every figure, site and stack: {}", report_path);
  std::size_t room = kMaxMessageLines - 1;  // the last line says where the rest is
  std::vector<std::string> kept;
  for (const std::string& m : messages) {
    if (room == 0) break;
    std::size_t end = 0;
    std::size_t lines = 0;
    while (lines < room) {
      const std::size_t nl = m.find('\n', end);
      ++lines;
      if (nl == std::string::npos) {
        end = m.size();
        break;
      }
      end = nl + 1;
    }
    std::string part = m.substr(0, end);
    if (!part.empty() && part.back() == '\n') part.pop_back();
    room -= lines;
    kept.push_back(std::move(part));
  }
  std::size_t shown = 0;
  for (const std::string& k : kept) shown += line_count(k);
  kept.back() += fmt::format("\n  ... {} more line{} ({})", total - shown,
                             total - shown == 1 ? "" : "s", rest);
  messages = std::move(kept);
}

/// "memx: warning (not enforced: warn-only): " before a message that does not fail.
std::string as_warning(const std::string& message, bool run_wide) {
  const std::string tag = run_wide ? "--memx-warn-only" : "its budget's warn";
  if (message.rfind("memx: ", 0) == 0) {
    return fmt::format("memx: warning, not enforced ({}): {}", tag, message.substr(6));
  }
  return fmt::format("memx: warning, not enforced ({}): {}", tag, message);
}

constexpr const char* kOwnerVariable = "MEMX_REPORT_OWNER";

/// A test binary that runs itself again (system(), posix_spawn, a re-exec) hands its
/// environment, MEMX_REPORT included, to the child. A report path without %p then names the
/// parent's file: the child must not replace it. The first process to claim a path records
/// "<pid> <path>" in MEMX_REPORT_OWNER, which its children inherit; a child that expands
/// the same path leaves it alone (and says so).
void claim_report_path(std::string& path, long pid) {
  if (const char* owner = std::getenv(kOwnerVariable); owner != nullptr) {
    const std::string_view v(owner);
    const std::size_t space = v.find(' ');
    if (space != std::string_view::npos && v.substr(space + 1) == path &&
        v.substr(0, space) != std::to_string(pid)) {
      std::fprintf(stderr,
                   "memx: not writing %s: it is the report of process %.*s, which started this "
                   "one (put %%p in the report path to give each process its own)\n",
                   path.c_str(), static_cast<int>(space), owner);
      path.clear();
      return;
    }
  }
  ::setenv(kOwnerVariable, (std::to_string(pid) + " " + path).c_str(), 1);
}

/// Says once per process what a heap tool in it changes for memx (docs/tools.md).
void note_tool(const Report& r) {
  static std::atomic<bool> said{false};
  if (!r.measured) {
    if (said.exchange(true)) return;
    std::fprintf(stderr,
                 "memx: %s replaces memx's operator new: nothing is measured (no figures, no "
                 "budget checks, no leak verdicts; the report says \"measured\": false)\n",
                 r.tool.empty() ? "another tool or library" : r.tool.c_str());
    return;
  }
  if (detected_tool() == Tool::heaptrack) {
    if (said.exchange(true)) return;
    std::fprintf(stderr,
                 "memx: running under heaptrack: measuring as usual, but heaptrack's own "
                 "bookkeeping (allocated through operator new inside its hooks) adds a little "
                 "to the figures: a few hundred bytes and about 1%% more allocations per test\n");
    return;
  }
  // A build on the C library counts on it anyway: nothing changes, nothing to say.
  if (!allocator_switched_for_tool()) return;
  if (said.exchange(true)) return;
  std::fprintf(stderr,
               "memx: running under %s: counting on its allocator (the C library's malloc, "
               "which it intercepts) instead of mimalloc, so that its checks keep working; "
               "figures are its usable sizes\n",
               r.tool.c_str());
}

}  // namespace

Session::Session(SessionConfig config) {
  Uncounted guard;
  impl_ = std::make_unique<Impl>();
  impl_->config = std::move(config);
  impl_->owner_pid = static_cast<long>(::getpid());
  Report& r = impl_->report;
  r.framework = impl_->config.framework;
  r.binary = impl_->config.binary;
  r.pid = impl_->owner_pid;
  r.backend = backend_name();
  r.tool = tool_name(detected_tool());
  r.measured = allocations_counted();
  r.warn_only = impl_->config.options.warn_only;
  r.suppressions_file = impl_->config.options.suppressions_path;
  for (const Suppression& sup : impl_->config.options.suppressions) {
    r.suppressions.push_back(SuppressionUse{sup.text(), sup.line, 0});
  }
  note_tool(r);
  const int depth = impl_->config.options.stacks_depth;
  const std::uint64_t sample = impl_->config.options.stacks_sample;
  if (depth > 0 && sample > 0 && r.measured) {
    // Sampling mode (--memx-stacks=sample:SIZE): sites are estimates, verdicts stay the
    // counting ones.
    if ((stacks::sample_bytes() != sample || stacks::depth() != depth) &&
        !stacks::enable_sampling(sample, depth)) {
      std::fprintf(stderr,
                   "memx: --memx-stacks=sample:%llu: sampling could not be started (it needs "
                   "memx's own arena: not inside a sanitizer or Valgrind); run without it\n",
                   static_cast<unsigned long long>(sample));
      std::exit(kSettingsErrorExit);
    }
    r.stacks.depth = depth;
    r.stacks.sample_bytes = sample;
    r.stacks.unwinder = stacks::unwinder_name(stacks::unwinder());
    r.stacks.top = impl_->config.options.top_sites;
  } else if (depth > 0 && r.measured) {
    // Stack mode (--memx-stacks, MEMX_STACKS): on from here, unless already on at this depth
    // (MEMX_STACKS starts it before main).
    if ((!stacks::enabled() || stacks::sample_bytes() != 0 || stacks::depth() != depth) &&
        !stacks::enable(depth)) {
      std::fprintf(stderr,
                   "memx: --memx-stacks=%d: stack mode could not be started (no unwinder works "
                   "in this process); run without it\n",
                   depth);
      std::exit(kSettingsErrorExit);
    }
    r.stacks.depth = depth;
    r.stacks.unwinder = stacks::unwinder_name(stacks::unwinder());
    r.stacks.top = impl_->config.options.top_sites;
  }
  if (impl_->config.write_report && !impl_->config.options.report_pattern.empty()) {
    impl_->path = expand_report_path(impl_->config.options.report_pattern, impl_->owner_pid);
    claim_report_path(impl_->path, impl_->owner_pid);
    // A missing report directory is made (MEMX_REPORT=reports/ on a fresh checkout); one that
    // cannot be made leaves the path as it is, and the first write fails the run saying why.
    if (!impl_->path.empty()) make_parent_directories(impl_->path, nullptr);
    impl_->direct = writes_directly(impl_->path);
  }
  g_current.store(this);
}

Session::~Session() {
  Session* self = this;
  g_current.compare_exchange_strong(self, nullptr);
  Uncounted guard;
  impl_.reset();
}

Session* Session::current() noexcept { return g_current.load(); }

const PluginOptions& Session::options() const noexcept { return impl_->config.options; }

void Session::flush() {
  Uncounted guard;
  if (impl_->started && !impl_->ended && impl_->dirty) write_report(nullptr);
}

void Session::judge_tests_alone() noexcept { impl_->judge_alone = true; }

void Session::begin_run(int repetitions, std::size_t tests_hint) {
  Uncounted guard;
  Impl& m = *impl_;
  m.repetitions = repetitions;
  m.report.repetitions = repetitions > 0 ? repetitions : 0;
  const auto now = std::chrono::system_clock::now();
  m.report.started_at = iso8601_utc(now);
  // Tells this run's report from an earlier run's in the same directory (memx merge).
  if (m.report.run_id.empty()) m.report.run_id = make_run_id(now, m.owner_pid);
  m.report.complete = false;
  m.started = true;
  m.run_started = std::chrono::steady_clock::now();
  m.report.tests.reserve(tests_hint);
  m.tests_expected = tests_hint;
  m.live_after.reserve(tests_hint);
  // Keeps the sampler thread running for the per-test RSS peaks, and records the run's
  // and each test's memory over time (bounded: the windows decimate past their size).
  m.run_rss.emplace(std::chrono::microseconds(0), kRunTimelinePoints);
  m.test_rss.emplace(std::chrono::microseconds(0), kTestTimelinePoints);
  if (!g_atexit_registered.exchange(true)) std::atexit(flush_at_exit);
  m.dirty = true;
  // The report thread, when a report goes to a file or the run is large enough for its
  // records' pages to be faulted in ahead (populate_ahead: their first access is read
  // there). Started now, before the first test: the thread is in every test's list of
  // threads (never one a test left), and its stack is touched before any test's RSS is read.
  const bool file_report = !m.path.empty() && !m.direct;
  if ((file_report || detail::worth_populating(tests_hint * sizeof(TestRecord))) &&
      m.background == nullptr && detail::start_report_thread()) {
    m.background = &detail::report_thread();
  }
  if (file_report) {
    m.prepare_report(tests_hint);
    write_report(nullptr);
  }
}

void Session::begin_iteration(int index) {
  Uncounted guard;
  impl_->iteration = index;
}

void Session::begin_test(TestId id) {
  Uncounted guard;
  const TestId own(std::move(id));  // freed when this returns, under the guard
  begin_test(TestIdView{own.name, own.group, own.file, own.line});
}

void Session::begin_test(const TestIdView& id) {
  Uncounted guard;
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    m.set_current(id);
    m.test_budget.reset();
    m.test_budget_text.clear();
    m.test_budget_error.clear();
    m.in_test = true;
  }
  // Allocation numbers: MEMX_BREAK_ON_ALLOC's test, and tracking where the last run left
  // blocks (counting mode; stack mode names the lines instead).
  const std::optional<AllocBreak>& brk = m.config.options.break_on_alloc;
  const bool breaks = brk && brk->test == m.current.name &&
                      (++m.break_runs_seen == brk->run || brk->run == 0);
  m.numbering_tracks = m.report.stacks.depth == 0 && m.report.measured &&
                       !m.track_next.empty() && m.track_next.count(m.current.name) != 0;
  m.numbering = breaks || m.numbering_tracks;
  if (m.numbering) {
    alloc_numbers::start(m.numbering_tracks, breaks ? brk->number : 0, m.current.name.c_str());
  }
  if (m.report.stacks.depth > 0) {
    m.current_scope = m.next_scope;
    m.next_scope = (m.next_scope + 1) & 0xffffff;
    if (m.next_scope == 0) m.next_scope = 1;
    stacks::set_scope(m.current_scope);
  }
  if (m.test_rss) m.test_rss->restart();
  // Descriptors and threads open now are not the test's (two directory reads, no allocation
  // once the vectors are large enough), when they are asked for.
  m.resources_read = m.report.measured && m.watches_resources(m.current.group) &&
                     read_resource_ids(m.resources_start);
  m.meter.start();  // last: the test's interval starts here
}

void Session::rename_test(TestId id) {
  Uncounted guard;
  const TestId own(std::move(id));  // freed when this returns, under the guard
  rename_test(TestIdView{own.name, own.group, own.file, own.line});
}

void Session::rename_test(const TestIdView& id) {
  Uncounted guard;
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.in_test) m.set_current(id);
}

bool Session::in_test() const noexcept {
  return impl_->in_test.load(std::memory_order_acquire);
}

namespace {
// Spares for new records (Session::Impl::new_record): made a batch at a time (one job of
// the report thread per batch), asked for when kSpareLow are left (at 256, 5% of a run of
// 100,000 trivial tests went without: the job may wait for the thread's next look or for
// a block of the report), only in runs of at least kSpareMinTests tests.
constexpr std::size_t kSpareBatch = 1024;
constexpr std::size_t kSpareLow = 512;
constexpr std::size_t kSpareMinTests = 4096;
// Room for the leak verdict's reason: "no net growth in its only run" and most others.
constexpr std::size_t kReasonCapacity = 47;
}  // namespace

void Session::Impl::new_record(TestRecord& t) {
  TestId& id = current;
  spare_name_len = std::max(spare_name_len, id.name.size());
  spare_file_len = std::max(spare_file_len, id.file.size());
  // The stock's lock is only tried here, never waited for: held by the report thread for a
  // moment (this test then goes without a spare), or forever in a forked child that was
  // made while it was held.
  if (spares.empty() && spare_stock) {
    std::unique_lock<std::mutex> lock(spare_stock->mutex, std::try_to_lock);
    if (lock.owns_lock()) spares.swap(spare_stock->made);
  }
  // The current test's strings are not needed again: copied into a spare's storage when it
  // fits (theirs stays in `current`, where the next begin_test copies the next test's
  // strings), else moved into the record.
  auto take = [](std::string& from, std::string* spare, std::string& to) {
    if (spare != nullptr && from.size() <= spare->capacity()) {
      spare->assign(from);
      to = std::move(*spare);
    } else {
      to = std::move(from);
    }
  };
  if (spares.empty()) {
    take(id.name, nullptr, t.name);
    take(id.file, nullptr, t.file);
  } else {
    detail::RecordSpare& s = spares.back();
    take(id.name, &s.name, t.name);
    take(id.file, &s.file, t.file);
    t.leak.reason = std::move(s.reason);
    if (s.runs.capacity() > 0) t.runs = std::move(s.runs);
    spares.pop_back();
    // The next tests' spares were made on the other CPU, their lines in its cache: fetched
    // ahead (the one after next, then its buffers), each test then misses none of them.
    const std::size_t n = spares.size();
    if (n >= 2) {
      const char* next2 = reinterpret_cast<const char*>(&spares[n - 2]);
      __builtin_prefetch(next2);
      __builtin_prefetch(next2 + 64);
    }
    if (n >= 1) {
      const detail::RecordSpare& next = spares[n - 1];
      __builtin_prefetch(next.name.data(), 1);
      __builtin_prefetch(next.file.data(), 1);
      __builtin_prefetch(next.reason.data(), 1);
      __builtin_prefetch(next.runs.data(), 1);
    }
  }
  // Only in a run expected to be large (a test's bookkeeping then matters), and never
  // more than the tests still expected to start.
  const std::size_t left =
      tests_expected > report.tests.size() ? tests_expected - report.tests.size() : 0;
  if (spares.size() > kSpareLow || background == nullptr || tests_expected < kSpareMinTests ||
      left <= spares.size()) {
    return;
  }
  const std::size_t batch = std::min(kSpareBatch, left - spares.size());
  if (!spare_stock) spare_stock = std::make_shared<detail::SpareStock>();
  {
    std::unique_lock<std::mutex> lock(spare_stock->mutex, std::try_to_lock);
    if (!lock.owns_lock() || spare_stock->asked || !spare_stock->made.empty()) return;
    spare_stock->asked = true;
  }
  const std::size_t name_cap = spare_name_len + 8, file_cap = spare_file_len;
  const std::size_t runs_cap = repetitions <= 8 ? static_cast<std::size_t>(std::max(1, repetitions)) : 0;
  spare_name_len = spare_file_len = 0;
  std::shared_ptr<detail::SpareStock> stock = spare_stock;
  // Refused (exit has begun, or a forked child): `asked` stays set, nothing is asked again.
  static_cast<void>(background->run([stock, batch, name_cap, file_cap, runs_cap] {
    std::vector<detail::RecordSpare> fresh(batch);
    for (detail::RecordSpare& s : fresh) {
      s.name.reserve(name_cap);
      s.file.reserve(file_cap);
      s.reason.reserve(kReasonCapacity);
      s.runs.reserve(runs_cap);
    }
    std::lock_guard<std::mutex> lock(stock->mutex);
    stock->asked = false;
    if (stock->made.empty()) stock->made.swap(fresh);
  }));
}

std::size_t Session::Impl::locate(const std::string& name) {
  // Tests run in the same order in every repetition, so the record after the last one used
  // is almost always the one; the first repetition only appends (test names are unique in
  // a run). The name index is built only when the order changes (--gtest_shuffle).
  const std::size_t n = report.tests.size();
  std::size_t pos = n;
  if (cursor < n && report.tests[cursor].name == name) {
    pos = cursor;
  } else if (iteration > 0) {
    if (index.size() != n) {
      index.clear();
      index.reserve(n + 1);
      for (std::size_t i = 0; i < n; ++i) index.emplace(report.tests[i].name, i);
    }
    const auto it = index.find(name);
    if (it != index.end()) pos = it->second;
  }
  if (pos == n && !index.empty()) index.emplace(name, n);
  cursor = pos + 1;
  return pos;
}

void Session::declare_test_budget(std::string_view text, const char* file, int line) {
  Uncounted guard;
  Impl& m = *impl_;
  BudgetParse parsed = parse_budget(text);
  std::lock_guard<std::mutex> lock(m.mutex);
  if (!m.in_test) return;
  if (!parsed.budget) {
    m.test_budget_error =
        fmt::format("memx: malformed MEMX_BUDGET at {}:{}: {}", file, line, parsed.error);
    return;
  }
  m.test_budget = m.test_budget ? m.test_budget->overridden_by(*parsed.budget) : *parsed.budget;
  // A limit on descriptors or threads in a run that does not list them otherwise: they are
  // counted from here (MEMX_RESOURCES=0 keeps them off).
  if ((parsed.budget->fds || parsed.budget->threads_left) && !m.resources_read &&
      m.report.measured && m.config.options.resources.value_or(true)) {
    m.resources_read = read_resource_ids(m.resources_start);
  }
  if (!m.test_budget_text.empty()) m.test_budget_text += ", ";
  m.test_budget_text.append(text.data(), text.size());
}

TestOutcome Session::end_test(TestStatus status, const FrameworkShare& share) {
  Uncounted guard;
  Impl& m = *impl_;
  TestOutcome out;
  out.run = m.meter.stop(share);  // first: the test's interval ends here
  std::optional<alloc_numbers::Result> numbered;
  if (m.numbering) {
    numbered = alloc_numbers::stop(16);
    m.numbering = false;
  }
  const bool stack_mode = m.report.stacks.depth > 0;
  if (stack_mode) stacks::set_scope(0);

  std::unique_lock<std::mutex> lock(m.mutex);
  m.in_test = false;
  lock.unlock();
  // Descriptors and threads the test left behind (no MEMX_BUDGET starts a listing now),
  // after their grace period (only a test that left something waits), named while they are
  // still there: one closed or ended meanwhile is not left.
  ResourceLeakRecord left_behind;
  std::int64_t left_fds = 0, left_threads = 0;
  // A forked child that ends the test (its parent's threads are not in it, its own thread
  // is new) judges nothing: the parent does.
  const bool listed = std::exchange(m.resources_read, false);
  if (listed && !m.forked()) {
    const ResourceIds added = settle_added_resources(m.resources_start, m.resources_end);
    for (const OpenDescriptor& open : added.fds) {
      const int fd = open.number;
      if (std::optional<std::string> target = descriptor_target(fd)) {
        ++left_fds;
        if (left_behind.fds.size() < kMaxNamedResources) {
          left_behind.fds.push_back(LeakedDescriptor{fd, std::move(*target)});
        }
      }
    }
    for (const std::int64_t tid : added.threads) {
      if (std::optional<std::string> name = thread_name(tid)) {
        ++left_threads;
        if (left_behind.threads.size() < kMaxNamedResources) {
          left_behind.threads.push_back(LeakedThread{tid, std::move(*name)});
        }
      }
    }
  }

  // No test runs now: nothing else touches the current test's fields.
  const TestId& id = m.current;
  const std::optional<Budget>& test_budget = m.test_budget;
  const std::string& test_budget_text = m.test_budget_text;
  const std::string& test_budget_error = m.test_budget_error;

  const std::size_t pos = m.locate(id.name);
  if (pos < m.prepared_handed) {
    // A record whose text is being or was written ahead changes: that text is not used.
    m.settle_prepared();
    m.prepared_spoilt = true;
  }
  if (pos == m.report.tests.size()) {
    // Past the reserve the arrays move: no read of their old pages may be left.
    if (m.live_after.size() == m.live_after.capacity()) detail::settle(m.live_after_populated);
    if (m.report.tests.size() == m.report.tests.capacity()) {
      detail::settle(m.records_populated);
      m.settle_prepared();
    }
    m.live_after.emplace_back();
    if (stack_mode) m.run_scopes.emplace_back();
    m.report.tests.emplace_back();
    const auto* run = m.background != nullptr ? &m.background->run : nullptr;
    detail::populate_ahead(m.report.tests, m.records_populated, run);
    detail::populate_ahead(m.live_after, m.live_after_populated, run);
    TestRecord& t = m.report.tests.back();
    m.new_record(t);
    t.line = id.line;
  }
  TestRecord& rec = m.report.tests[pos];

  // The effective budget: global, overridden by the group's, overridden by the test's.
  detail::BudgetSources sources;
  Budget effective = m.config.options.budget;
  sources.global = m.config.options.budget_text;
  if (!id.group.empty()) {
    if (std::optional<detail::GroupBudget> g = detail::group_budgets().find(id.group)) {
      if (!g->error.empty()) {
        out.failures.push_back(
            fmt::format("memx: malformed MEMX_SUITE_BUDGET at {}: {}", g->where, g->error));
      } else {
        effective = effective.overridden_by(g->budget);
        sources.group = g->text;
      }
    }
  }
  if (!test_budget_error.empty()) out.failures.push_back(test_budget_error);
  if (test_budget) {
    effective = effective.overridden_by(*test_budget);
    sources.test = test_budget_text;
  }
  if (!out.failures.empty()) m.bad_budget.insert(rec.name);
  // threads=current (or --memx-threads=current): the test's own thread's figures.
  if (m.config.options.threads == Threads::current && !effective.threads) {
    effective.threads = Threads::current;
  }
  if (effective.threads == Threads::current) out.run = m.meter.thread_run();
  out.run.fds = left_fds;
  out.run.threads = left_threads;
  // Warn-only: what would fail the test is shown and recorded, and the test passes.
  const bool warn = m.config.options.warn_only || effective.warn.value_or(false);
  std::vector<std::string>& complaints = warn ? out.notes : out.failures;
  auto complain = [&](std::string msg) {
    complaints.push_back(warn ? as_warning(msg, m.config.options.warn_only) : std::move(msg));
  };

  // Not measured (Valgrind replaced operator new): the zeros taken are no figures. The
  // test is recorded without runs, budgets are not checked and no leak verdict is given.
  const bool measured = m.report.measured;
  out.measured = measured;
  if (measured) {
    if (rec.runs.empty() && m.repetitions > 1) {
      rec.runs.reserve(static_cast<std::size_t>(m.repetitions));
    }
    rec.runs.push_back(out.run);
    m.update_timeline(rec);
    if (left_fds > 0 || left_threads > 0) {
      left_behind.run = static_cast<int>(rec.runs.size());
      rec.resource_leaks = std::move(left_behind);
    }
    if (numbered && m.numbering_tracks) {  // the latest tracked run's, if it left any
      rec.live_numbers = LiveNumbersRecord{};
      if (numbered->live > 0) {
        rec.live_numbers.run = static_cast<int>(rec.runs.size());
        rec.live_numbers.live = numbered->live;
        rec.live_numbers.numbers.assign(numbered->numbers.begin(), numbered->numbers.end());
      }
    }
    // Track the next run of a test that left blocks (counting mode): its allocation numbers
    // then name them.
    if (!stack_mode && out.run.net_blocks > 0) {
      m.track_next.insert(rec.name);
    } else if (!m.track_next.empty()) {
      m.track_next.erase(rec.name);
    }
    if (stack_mode) {
      // The sites of the blocks its runs left live, as they stand now (refreshed for the
      // whole run at its end): only for a test that left something, so that a suite of
      // clean tests pays nothing per test.
      m.run_scopes[pos].push_back(m.current_scope);
      m.report.stacks.dropped = stacks::dropped();
      m.update_peak_sites(rec, out.run);
      bool left = false;
      for (const RunRecord& r : rec.runs) left = left || r.net_blocks > 0 || r.net_bytes > 0;
      if (left || !rec.sites.empty()) m.update_sites({pos});
    }
  }

  // A skipped test is measured but not judged: it did not finish, and GoogleTest builds
  // the skip message (a dozen allocations, kilobytes) before memx can tell it apart.
  if (!effective.empty()) {
    rec.budget = effective;
    const std::vector<Violation> broken = status == TestStatus::skipped || !measured
                                              ? std::vector<Violation>{}
                                              : check_budget(effective, out.run.measurement());
    if (!broken.empty()) {
      std::string msg = fmt::format("memx: {} is over its memory budget ({}):", printable_name(rec.name),
                                    budget_sources(sources));
      bool left_live = false, peak = false, left_open = false;
      for (const Violation& v : broken) {
        msg += "\n  " + describe(v);
        left_live = left_live || v.key == "net" || v.key == "blocks";
        peak = peak || v.key == "peak";
        left_open = left_open || v.key == "fds" || v.key == "threads";
      }
      if (left_open) msg += resource_leak_lines(rec.resource_leaks, out.run, "    ", 8);
      if (stack_mode && peak && !rec.peak_sites.empty()) {
        msg += std::string("\n  live at its peak, allocated at") +
               (m.report.stacks.sample_bytes > 0 ? " (estimated from samples):" : ":") +
               m.peak_lines(rec, 3);
        if (!left_live && !m.path.empty()) {
          msg += fmt::format("\n  (every site and its whole stack: {})", m.path);
        }
      }
      if (stack_mode && left_live && !rec.sites.empty()) {
        const std::string lines = m.site_lines(rec, rec.runs.size() - 1, 3, false);
        if (!lines.empty()) {
          msg += std::string("\n  left live by this run, allocated at") +
                 (m.report.stacks.sample_bytes > 0 ? " (estimated from samples):" : ":") + lines;
          if (!m.path.empty()) msg += fmt::format("\n  (every site and its whole stack: {})", m.path);
        }
      }
      complain(std::move(msg));
      m.over_budget.insert(rec.name);
    }
  }

  // Descriptors and threads left behind: counted, not inferred from growth, so one run is
  // enough. Under --memx-fail-on-leak they fail the only run, or the last repetition: a
  // singleton's thread or file started by the first repetition is there in every later
  // one, and a later run leaves nothing new (as for heap leaks, one-time state is not a
  // leak). A budget that limits the kind (fds=N, threads=N) judges it instead, every run.
  const bool judged_run = m.repetitions < 2 || m.iteration == m.repetitions - 1;
  if (m.config.options.fail_on_leak && judged_run && measured && status != TestStatus::skipped) {
    const std::int64_t fds = effective.fds ? 0 : out.run.fds;
    const std::int64_t threads = effective.threads_left ? 0 : out.run.threads;
    if (fds > 0 || threads > 0) {
      ResourceLeakRecord shown = rec.resource_leaks;
      if (fds == 0) shown.fds.clear();
      if (threads == 0) shown.threads.clear();
      RunRecord counts;
      counts.fds = fds;
      counts.threads = threads;
      complain(fmt::format("memx: {} leaves {} behind (not there at its start, still there {} ms "
                           "after its end):{}",
                           printable_name(rec.name), resource_leak_counts(fds, threads),
                           kResourceGrace.count(), resource_leak_lines(shown, counts, "  ", 8)));
    }
  }

  // Leaks: judged in the last repetition. The whole process's growth that the handoff
  // rule compares with is read at the same point of every repetition: right after this
  // test (the end of the last repetition is not known yet).
  // Only repeated runs are judged: a single run keeps nothing (its memory would be touched
  // for every test of a large suite for nothing).
  std::vector<std::int64_t>& lives = m.live_after[pos];
  if (m.repetitions >= 2 && measured) {
    if (lives.empty()) lives.reserve(static_cast<std::size_t>(m.repetitions));
    lives.push_back(m.meter.end_live_bytes());
  }
  const bool last = m.repetitions >= 2 && m.iteration == m.repetitions - 1;
  if (last && rec.runs.size() >= 2) {
    TestSeries series;
    series.name = rec.name;
    for (const RunRecord& r : rec.runs) series.runs.push_back(RunNet{r.net_bytes, r.net_blocks});
    // A test that did not run in every repetition (a filter, a shard) is judged alone.
    const bool aligned = !m.judge_alone && lives.size() == rec.runs.size() &&
                         static_cast<int>(rec.runs.size()) == m.repetitions;
    rec.leak = analyze_leaks({series}, aligned ? lives : std::vector<std::int64_t>{}).front();
    // Sampled sites are estimates: a verdict is not changed on them.
    if (m.report.stacks.sample_bytes == 0) refine_leak_by_sites(rec, m.report.stacks);
    rec.budget = effective.empty() ? std::optional<Budget>() : std::optional<Budget>(effective);
    if (std::optional<Violation> v = judge_expected_leak(rec)) {
      complain(fmt::format("memx: {} {}", printable_name(rec.name), describe(*v)));
      m.over_budget.insert(rec.name);
    }
    if (const std::optional<std::size_t> i = suppress_leak(rec, m.config.options.suppressions)) {
      const Suppression& sup = m.config.options.suppressions[*i];
      out.notes.push_back(fmt::format(
          "memx: {} leaks {} in {:g} block{} per repetition: suppressed by {} ({}:{})",
          printable_name(rec.name), format_bytes(std::llround(rec.leak.bytes_per_run)),
          rec.leak.blocks_per_run, rec.leak.blocks_per_run == 1.0 ? "" : "s", sup.text(),
          m.config.options.suppressions_path, sup.line));
    }
    if (m.config.options.fail_on_leak && rec.leak.reported_leak() &&
        rec.leak.confidence >= Confidence::medium) {
      std::string msg = fmt::format(
          "memx: {} leaks {} in {} per repetition ({} confidence: {})", printable_name(rec.name),
          format_bytes(std::llround(rec.leak.bytes_per_run)),
          fmt::format("{:g} block{}", rec.leak.blocks_per_run,
                      rec.leak.blocks_per_run == 1.0 ? "" : "s"),
          to_string(rec.leak.confidence), rec.leak.reason);
      if (stack_mode) {
        const std::string lines = m.site_lines(rec, rec.runs.size() - 1, 3, true);
        if (!lines.empty()) {
          msg += "\n  kept from every repetition, allocated at:" + lines;
          if (!m.path.empty()) msg += fmt::format("\n  (every site and its whole stack: {})", m.path);
        }
      } else {
        msg += live_numbers_line(rec);
      }
      complain(std::move(msg));
    }
  }
  cap_messages(out.failures, m.path);
  cap_messages(out.notes, m.path);

  if (status == TestStatus::failed || !out.failures.empty()) {
    rec.status = TestStatus::failed;
  } else if (rec.status != TestStatus::failed) {
    rec.status = status;
  }

  // Judged now, while its record is in the cache: the run's end and the reports written
  // meanwhile judge only what was not (a run of 100,000 trivial tests spent 20 ms after its
  // last test on judging them all). A judged record ended again (the same name twice in
  // one run) has everything judged again at the next analysis.
  if (!m.judges_each_test() || pos < m.judged) {
    m.judged = 0;  // and a record handed over is judged again: analyze() spoils the file
  } else if (m.judged == pos && pos + 1 == m.report.tests.size()) {
    m.analyze();
    if (m.tally.tallied == pos && pos < m.judged) m.tally_test(m.tally, pos);
  }
  m.prepare_block();

  m.dirty = true;
  m.maybe_write(*this);
  return out;
}

void Session::end_iteration(int index) { end_iteration(index, counters().live_bytes); }

void Session::end_iteration(int index, std::int64_t live_bytes) {
  Uncounted guard;
  Impl& m = *impl_;
  m.iteration = index;
  m.report.iteration_end_live_bytes.push_back(live_bytes);
  m.dirty = true;
  m.maybe_write(*this);
}

void Session::end_run() {
  Uncounted guard;
  Impl& m = *impl_;
  if (m.ended) return;
  m.ended = true;
  m.report.complete = true;
  m.report.finished_at = iso8601_utc(std::chrono::system_clock::now());
  if (m.report.stacks.depth > 0 && m.report.measured) {
    // Every test's sites as the run leaves them: blocks handed to a later test and freed
    // there are gone (one pass over the live blocks for all tests).
    m.update_sites({});
    m.report.stacks.dropped = stacks::dropped();
    m.report.stacks.final = true;
  }
  if (m.run_rss) m.run_rss->close();
  m.take_run_timeline();
  m.analyze();
  m.analyzed = true;
  m.dirty = true;
  if (!m.path.empty()) write_report(nullptr);
  m.test_rss.reset();
  m.run_rss.reset();
}

bool Session::write_report(std::string* error) {
  Uncounted guard;
  Impl& m = *impl_;
  if (m.path.empty() || !m.config.write_report) return true;
  // A forked child (a death test) shares the session's memory but must never write.
  if (m.forked()) return true;
  const auto t0 = std::chrono::steady_clock::now();
  std::string err;
  bool ok = false;
  // In a forked child the report thread is not there: `background` then refuses every
  // job, and the writer does the work itself (a child never gets here anyway).
  const detail::Background* background = m.background;
  if (!m.ended) {
    m.analyze();
    m.take_run_timeline();
  }
  // Atomic, not fsynced, the final report included (GoogleTest's XML file is not either):
  // the file is whole in the page cache when the process exits, which is what a later step
  // of the job reads; only the machine going down first could lose it. The fsync waited
  // 35-50 ms for a report of 100,000 tests (45 MB) after the last test.
  if (m.ended && m.prepared) ok = m.write_prepared();
  if (!ok) {
    ok = write_file_atomically(
        m.path,
        [&m, background](const TextSink& sink) {
          return write_json(m.report, sink, std::size_t{1} << 20, background);
        },
        /*durable=*/false, &err, background);
  }
  m.last_write = std::chrono::steady_clock::now() - t0;
  m.last_write_tests = m.report.tests.size();
  m.write_time += m.last_write;
  m.dirty = !ok;
  m.write_failed = !ok;
  if (ok) {
    m.written = true;
    return true;
  }
  if (!m.written) {
    // Nothing of this run is at the path: an earlier run's report there would be read as
    // this one's (a later `memx gate` would pass last week's figures). Remove it.
    struct stat st {};
    if (::lstat(m.path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::unlink(m.path.c_str()) == 0) {
        err += "; the earlier run's report there was removed";
      } else {
        err += fmt::format("; the report there is an earlier run's and could not be removed: {}",
                           std::strerror(errno));
      }
    }
  }
  if (m.config.options.report_optional) {
    // The user's choice: the data may be lost, the run's exit code stays the tests' own.
    constexpr std::string_view kPrefix = "memx: ";
    if (err.compare(0, kPrefix.size(), kPrefix) == 0) err.erase(0, kPrefix.size());
    err = "memx: warning: " + err + " (--memx-report-optional: the run goes on)";
  }
  if (!m.write_error_shown) {
    std::fprintf(stderr, "%s\n", err.c_str());
    m.write_error_shown = true;
  }
  if (error != nullptr) *error = err;
  return false;
}

bool Session::report_failed() const noexcept {
  return impl_->write_failed && !impl_->config.options.report_optional;
}

void Session::Impl::take_run_timeline() {
  if (!run_rss || !report.measured) return;
  const Timeline samples = run_rss->timeline();
  report.timeline.clear();
  report.timeline.reserve(samples.size());
  for (const RssSample& s : samples) {
    const double ms = std::max(0.0, std::chrono::duration<double, std::milli>(s.time - run_started).count());
    report.timeline.push_back(TimelinePoint{ms, s.heap_live_bytes, s.rss_bytes});
  }
}

void Session::Impl::update_timeline(TestRecord& rec) {
  if (!test_rss || rec.runs.empty()) return;
  const std::size_t run = rec.runs.size();  // 1-based: the run just recorded
  const int kept = rec.timeline.run;
  if (kept > 0 && static_cast<std::size_t>(kept) <= run &&
      rec.runs[run - 1].peak_bytes <= rec.runs[static_cast<std::size_t>(kept) - 1].peak_bytes) {
    return;  // an earlier run went higher
  }
  const auto run_start = meter.started_at();
  rec.timeline.run = static_cast<int>(run);
  rec.timeline.start_ms = std::max(0.0, std::chrono::duration<double, std::milli>(run_start - run_started).count());
  rec.timeline.points.clear();
  // A run shorter than one sampling interval has no reading between its start and end: its
  // figures say all there is (and a suite of tiny tests pays no copy per test).
  if (test_rss->background_samples() == 0) return;
  const Timeline samples = test_rss->timeline();
  const std::int64_t heap0 = meter.start_live_bytes(), rss0 = meter.rss_start_bytes();
  auto since = [&](std::chrono::steady_clock::time_point t) {
    return std::max(0.0, std::chrono::duration<double, std::milli>(t - run_start).count());
  };
  rec.timeline.points.reserve(samples.size() + 2);
  rec.timeline.points.push_back(TimelinePoint{0, 0, 0});
  for (const RssSample& s : samples) {
    rec.timeline.points.push_back(TimelinePoint{since(s.time), s.heap_live_bytes - heap0, s.rss_bytes - rss0});
  }
  const RunRecord& r = rec.runs[run - 1];
  rec.timeline.points.push_back(TimelinePoint{std::max(r.duration_ms, rec.timeline.points.back().ms),
                                              meter.end_live_bytes() - heap0,
                                              rss_latest_bytes() - rss0});
  // The sampler's window holds at most kTestTimelinePoints, the two ends make two more:
  // drop every other inner point until the bound holds.
  auto& p = rec.timeline.points;
  while (p.size() > kTestTimelinePoints) {
    std::size_t out = 1;
    for (std::size_t i = 1; i + 1 < p.size(); i += 2) p[out++] = p[i];
    p[out++] = p.back();
    p.resize(out);
  }
}

bool Session::Impl::watches_resources(const std::string& group) const {
  const PluginOptions& o = config.options;
  if (o.resources) return *o.resources;
  if (o.fail_on_leak || o.budget.fds || o.budget.threads_left) return true;
  const detail::GroupBudgets& groups = detail::group_budgets();
  if (group.empty() || !groups.limits_resources.load(std::memory_order_relaxed)) return false;
  const std::optional<detail::GroupBudget> g = groups.find(group);
  return g && (g->budget.fds || g->budget.threads_left);
}

void Session::Impl::maybe_write(Session& self) {
  // A device, FIFO or descriptor takes one report, at the end (or exit): written after
  // every test it would receive the report over and over.
  if (path.empty() || direct || !dirty) return;
  // Written after a test while writing, this write included, costs at most 10 ms in all or
  // 2.5% of the run's time so far: small and slow suites are written after each test, a
  // suite of thousands of tiny tests after its first few dozen and then as the share
  // allows, one of 100,000 trivial tests (half a second) only at its start and end (a
  // crash loses the tests since the last write). 10 ms is dozens
  // of writes of a small report, and 2% of a run of 100,000 trivial tests (it was 25 ms:
  // 5% of that run, spent rewriting its first few hundred tests once the first rename no
  // longer freed the previous run's report). The next write is estimated at the latest
  // one's cost scaled by the tests since (a report only grows, and is written in time
  // linear in its tests), so that one large write does not overshoot the share: the
  // latest write of a fast suite is often one of its first tests' (it was taken as is,
  // and a run of 100,000 trivial tests then rewrote its whole report, 40-80 ms, at 80%).
  // The run's end and exit() always write, and so does the first test's end whatever the
  // share says: a report of one test is small, and a run that crashes or is killed in its
  // second test (or hangs there until the job's timeout) still leaves the first one's
  // figures (under a sanitizer on a loaded machine the header's write alone could take the
  // whole 10 ms).
  // The latest test's start stands for now (no clock read per test): a little early, so the
  // share is if anything smaller.
  if (last_write_tests == 0 && !report.tests.empty()) {
    self.write_report(nullptr);
    return;
  }
  const auto elapsed = std::max(meter.started_at(), run_started) - run_started;
  const auto allowed = std::max<std::chrono::steady_clock::duration>(std::chrono::milliseconds(10), elapsed / 40);
  auto next = last_write;
  const std::size_t tests = report.tests.size();
  if (last_write_tests > 0 && tests > last_write_tests) {
    next = last_write * static_cast<std::int64_t>(tests) / static_cast<std::int64_t>(last_write_tests);
  }
  if (write_time + next > allowed) return;
  self.write_report(nullptr);
}

namespace {
// A run is prepared (Session::Impl::prepared) from this many tests, a block at a time: a
// block is about 0.9 MB of text (rendered in 3-5 ms), one wake-up of the report thread.
constexpr std::size_t kPrepareMinTests = 4096;
constexpr std::size_t kPrepareBlock = 2048;
static_assert(kPrepareBlock > kFlatTestsAbove, "a prepared report is flat");

bool pwrite_all(int fd, std::string_view text, std::uint64_t at) {
  while (!text.empty()) {
    const ssize_t n = ::pwrite(fd, text.data(), text.size(), static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
    at += static_cast<std::uint64_t>(n);
  }
  return true;
}
}  // namespace

void Session::Impl::prepare_report(std::size_t tests_hint) {
  if (tests_hint < kPrepareMinTests || background == nullptr || !background->run ||
      !judges_each_test() || !report.measured || prepared) {
    return;
  }
  const int fd = detail::open_unnamed_report_file(path);
  if (fd < 0) return;  // written the ordinary way
  auto p = std::make_shared<detail::PreparedReport>();
  p->fd = fd;
  // A block's text, about 0.9 MB: its pages touched now, before the first test, not while
  // one runs (the report thread renders there).
  p->buffer.assign(std::size_t{1} << 20, ' ');
  p->buffer.clear();
  prepared = std::move(p);
}

void Session::Impl::prepare_block() {
  if (!prepared || prepared_spoilt || judged != report.tests.size() ||
      report.tests.size() < prepared_handed + kPrepareBlock) {
    return;
  }
  if (forked()) {
    // A forked child: the report thread is its parent's, and the file's mutex may have
    // been held there when the child was made. Nothing of the file is used here.
    prepared_spoilt = true;
    return;
  }
  const std::size_t begin = prepared_handed, end = begin + kPrepareBlock;
  prepared_handed = end;
  std::shared_ptr<detail::PreparedReport> p = prepared;
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    ++p->pending;
  }
  // The records of [begin, end) are final (judged, one repetition): read there while the
  // next tests run. Nothing changes them, or moves them, before settle_prepared().
  const Report* const r = &report;
  auto job = [p, r, begin, end] {
    detail::render_flat_tests(*r, begin, end, p->buffer);
    std::lock_guard<std::mutex> lock(p->mutex);
    if (!p->failed && p->written == begin && pwrite_all(p->fd, p->buffer, p->end)) {
      p->end += p->buffer.size();
      p->written = end;
    } else {
      p->failed = true;
    }
    if (--p->pending == 0) p->idle.notify_all();
  };
  if (!background->run(job)) {
    std::lock_guard<std::mutex> lock(p->mutex);
    p->failed = true;
    --p->pending;
  }
}

void Session::Impl::settle_prepared() {
  if (!prepared) return;
  if (forked()) {
    // A forked child: the report thread is its parent's; nothing of the file is used here.
    prepared_spoilt = true;
    return;
  }
  std::unique_lock<std::mutex> lock(prepared->mutex);
  prepared->idle.wait(lock, [this] { return prepared->pending == 0; });
}

bool Session::Impl::write_prepared() {
  settle_prepared();
  std::shared_ptr<detail::PreparedReport> p = std::move(prepared);
  if (!p || prepared_spoilt || p->failed || p->written == 0 || p->written != prepared_handed ||
      !judges_each_test() || judged != report.tests.size() || rejudges_handed() || forked()) {
    return false;
  }
  std::string head;
  std::uint64_t at = p->end;
  const int fd = p->fd;
  const TextSink rest = [fd, &at](std::string_view piece) {
    if (!pwrite_all(fd, piece, at)) return false;
    at += piece.size();
    return true;
  };
  if (!detail::write_json_from(report, p->written, head, rest, std::size_t{1} << 20) ||
      head.size() > detail::kPreparedHeadRoom) {
    return false;
  }
  // Spaces between the "tests" array's bracket and its first element's line: JSON's
  // whitespace, read as nothing.
  head.resize(detail::kPreparedHeadRoom, ' ');
  return pwrite_all(fd, head, 0) && detail::name_unnamed_report_file(fd, path, background);
}

const Report& Session::report() const noexcept { return impl_->report; }

const std::string& Session::report_path() const noexcept { return impl_->path; }

}  // namespace memx
