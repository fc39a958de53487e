// The Catch2 plugin's process-wide state: settings, the session across Catch2 runs, and the
// bookkeeping of test case passes (names, Catch2's share, outcome). No Catch2 type here.
#include "runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "memx/config.hpp"
#include "memx/stacks.hpp"
#include "memx/thread_state.hpp"
#include "memx/uncounted.hpp"

namespace memx::catch2::detail {
namespace {

constexpr std::string_view kTagPrefix = "memx:";
constexpr int kMaxRepeat = 100000;

const char* env(const char* name) { return std::getenv(name); }

}  // namespace

bool budget_of_tag(std::string_view tag, std::string& text) {
  if (tag.substr(0, kTagPrefix.size()) != kTagPrefix) return false;
  text.assign(tag.substr(kTagPrefix.size()));
  return true;
}

bool parse_repeat(std::string_view text, int& out) {
  if (text.empty() || text.size() > 6) return false;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > kMaxRepeat) return false;
  out = n;
  return true;
}

void pass_name(const std::string& test_case, const std::vector<std::string>& sections, std::string& name) {
  name.assign(test_case);
  for (const std::string& s : sections) {
    name += " / ";
    name += s;
  }
}

Runtime& Runtime::get() {
  // Never destroyed: Catch2 may still report during static destruction, and freeing the
  // session's records then would be wasted time (the state stays reachable).
  static Runtime* runtime = [] {
    Uncounted guard;
    return new Runtime();
  }();
  return *runtime;
}

void Runtime::drive(const std::vector<std::string>& flags, int repetitions) {
  Uncounted guard;
  driven_ = true;
  flags_ = flags;
  flag_repeat_ = repetitions;
  configured_ = false;
  configure();
}

void Runtime::configure() {
  if (configured_) return;
  configured_ = true;
  std::vector<std::string> args = flags_;
  if (args.empty()) args.emplace_back("");  // args[0], the program, is never read
  parsed_ = parse_plugin_options(args, env);
  errors_ = parsed_.errors;
  repeat_ = 1;
  if (flag_repeat_ > 0) {
    repeat_ = flag_repeat_;  // --memx-repeat overrides MEMX_REPEAT
  } else if (const char* v = env("MEMX_REPEAT"); v != nullptr && *v != '\0') {
    if (!parse_repeat(v, repeat_)) {
      errors_.push_back(std::string("memx: MEMX_REPEAT=\"") + v +
                        "\": expected a number of repetitions from 1 to 100000");
    }
  }
}

const std::vector<std::string>& Runtime::errors() {
  Uncounted guard;
  configure();
  return errors_;
}

int Runtime::listed_repetitions() const noexcept { return driven_ || in_place_ ? 1 : repeat_; }

int Runtime::generator_repetitions() const noexcept { return in_place_ ? repeat_ : 1; }

RepeatMode Runtime::mode() const noexcept {
  return driven_ ? RepeatMode::driver : in_place_ ? RepeatMode::generator : RepeatMode::listed;
}

void Runtime::repeat_in_place(const char* why) {
  if (driven_ || repeat_ < 2 || in_place_) return;
  in_place_ = true;
  // The end-of-run analysis has no whole iterations to compare with: the verdict that
  // fails a test (MEMX_FAIL_ON_LEAK) must be the one the summary gives.
  if (session_) session_->judge_tests_alone();
  std::fprintf(stderr, "memx: %s: each test case is repeated %d times in a row, not the whole run\n",
               why, repeat_);
  std::fflush(stderr);
}

void Runtime::case_iteration(int index) {
  const PreservedThreadState keep;  // the tests see no flag or errno of memx's
  if (!session_ || mode() != RepeatMode::listed) return;
  if (index < 0) index = iteration_ < 0 ? 0 : iteration_;  // not in the list: where it was
  if (index == iteration_) return;
  Uncounted guard;
  if (iteration_ >= 0) session_->end_iteration(iteration_, case_end_live_bytes_);
  iteration_ = index;
  session_->begin_iteration(iteration_);
}

bool Runtime::run_starting(bool color_from_framework, std::size_t tests_hint) {
  const PreservedThreadState keep;
  Uncounted guard;
  configure();
  if (!session_) {
    for (const std::string& w : parsed_.warnings) std::fprintf(stderr, "%s\n", w.c_str());
    if (!errors_.empty()) {
      // A bad flag or variable: one clear error instead of tests measured with settings
      // the user did not ask for (as the GoogleTest plugin does).
      for (const std::string& e : errors_) std::fprintf(stderr, "%s\n", e.c_str());
      std::fflush(stderr);
      std::exit(kSettingsErrorExit);
    }
    SessionConfig config;
    config.options = parsed_.options;
    config.framework = "catch2";
    const std::vector<std::string> args = read_process_arguments();
    config.binary = args.empty() ? std::string() : args.front();
    session_ = std::make_unique<Session>(std::move(config));
    color_ = session_->options().color.value_or(color_from_framework);
  }
  if (!run_begun_) {
    run_begun_ = true;
    session_->begin_run(repeat_, tests_hint);
  }
  if (driven_) {
    iteration_ = driver_iteration_;
    session_->begin_iteration(iteration_);
  } else {
    iteration_ = -1;  // set by the first pass
  }
  return true;
}

bool Runtime::run_ended() {
  const PreservedThreadState keep;
  if (!session_) return false;
  Uncounted guard;
  if (driven_) {
    session_->end_iteration(driver_iteration_);
    if (driver_iteration_ < repeat_ - 1) return false;
  } else if (!in_place_ && iteration_ >= 0) {
    session_->end_iteration(iteration_, case_end_live_bytes_);  // the list's last one
  }
  // Each test case repeated in place (generator mode): no whole-iteration live heap to
  // compare with, each test is judged on its own repetitions.
  session_->end_run();
  return true;
}

std::string Runtime::summary() const {
  const PreservedThreadState keep;
  if (!session_ || session_->options().quiet) return {};
  return session_->summary(color_);
}

void Runtime::case_starting(const CaseInfo& info) {
  const PreservedThreadState keep;
  Uncounted guard;
  // Into the previous test case's storage: no allocation for most test cases.
  case_.name.assign(info.name);
  case_.file.assign(info.file);
  case_.line = info.line;
  case_.budget_tags.assign(info.budget_tags);
  in_case_ = true;
  if (!in_place_) seen_.clear();
}

void Runtime::case_ended() {
  const PreservedThreadState keep;
  // Listed mode: a repetition of the list ends after its last test case (known when the
  // next repetition starts), where the process's heap is read alike in every repetition
  // (at the next test case's start, Catch2's reporters hold that test case's details).
  case_end_live_bytes_ = counters().live_bytes;
  Uncounted guard;
  in_case_ = false;
  in_pass_ = false;
}

void Runtime::pass_starting(int repetition) {
  const PreservedThreadState keep;
  if (!session_) return;
  Uncounted guard;
  if (in_place_ && repetition != iteration_) {
    // Generator mode: the test case's repetitions follow each other.
    iteration_ = repetition;
    session_->begin_iteration(iteration_);
    seen_.clear();
  }
  open_sections_.clear();
  leaf_.clear();
  share_ = FrameworkShare{};
  held_ = FrameworkShare{};
  held_base_ = held_probe_ != nullptr ? held_probe_() : FrameworkShare{};
  framework_depth_ = 0;
  generator_open_ = false;
  pass_failed_ = false;
  pass_skipped_ = false;
  outcome_ = TestOutcome{};
  in_pass_ = true;
  session_->begin_test(TestIdView{case_.name, {}, case_.file, case_.line});
  // The meter opened a new peak epoch: the thread's high-water mark starts here.
  peak_ = PeakTrack{};
  peak_.base = this_thread_counters().live_bytes;
  // The tags' budget is the test case's own; MEMX_BUDGET in the body overrides it key by
  // key. Declared after the meter started: Session works under a guard.
  if (!case_.budget_tags.empty()) {
    session_->declare_test_budget(case_.budget_tags, case_.file.c_str(), case_.line);
  }
}

const std::vector<std::string>& Runtime::pass_ended(bool threw) {
  const PreservedThreadState keep;
  if (!session_ || !in_pass_) {
    outcome_.failures.clear();
    return outcome_.failures;
  }
  if (generator_open_) generator_built();  // its expression threw: booked up to here
  segment_end(this_thread_counters());
  book_held_change();
  Uncounted guard;
  in_pass_ = false;
  FrameworkShare share = share_;
  // What the test thread's high-water mark owes to Catch2 (other threads' are the test's).
  share.peak_bytes = std::max<std::int64_t>(0, peak_.total - peak_.own);
  share.bytes += held_.bytes;
  share.blocks += held_.blocks;
  pass_name(case_.name, leaf_, pass_name_);
  // A path entered more than once in a repetition (a GENERATE inside the test case) gets
  // " #2", " #3"... so that each run of a name is one repetition.
  const int n = seen_.count(pass_name_);
  if (n > 1) pass_name_ += " #" + std::to_string(n);
  // Begun under the test case's name: renamed when the pass has another.
  if (n > 1 || !leaf_.empty()) {
    session_->rename_test(TestIdView{pass_name_, {}, case_.file, case_.line});
  }
  const TestStatus status = pass_failed_ || threw ? TestStatus::failed
                            : pass_skipped_        ? TestStatus::skipped
                                                   : TestStatus::passed;
  outcome_ = session_->end_test(status, share);
  // Warn-only violations and leaks, suppressed leaks: shown, not failures.
  for (const std::string& note : outcome_.notes) std::fprintf(stderr, "%s\n", note.c_str());
  return outcome_.failures;
}

void Runtime::section_entered(const std::string& name) {
  if (!in_pass_) return;
  Uncounted guard;
  open_sections_.push_back(name);
  leaf_ = open_sections_;
}

void Runtime::section_left() noexcept {
  if (!in_pass_ || open_sections_.empty()) return;
  Uncounted guard;
  open_sections_.pop_back();
}

Counters Runtime::framework_call_begin() noexcept {
  const Counters now = this_thread_counters();
  if (in_pass_ && framework_depth_++ == 0) {
    segment_end(now);
    book_held_change();  // what changed since the last call, outside any call
    stacks::set_thread_unscoped(true);  // stack mode: Catch2's blocks are no test's sites
  }
  return now;
}

void Runtime::generator_building() noexcept {
  if (!in_pass_ || generator_open_) return;
  generator_open_ = true;
  generator_before_ = framework_call_begin();
}

void Runtime::generator_built() noexcept {
  if (!generator_open_) return;
  generator_open_ = false;
  framework_call_end(generator_before_);
}

void Runtime::book_held_change() noexcept {
  if (held_probe_ == nullptr) return;
  const FrameworkShare now = held_probe_();
  held_.bytes += now.bytes - held_base_.bytes;
  held_.blocks += now.blocks - held_base_.blocks;
  held_base_ = now;
}

void Runtime::segment_end(const Counters& now) noexcept {
  // The test's own code ran since the last call into Catch2, with Catch2 holding share_.bytes.
  PeakTrack& p = peak_;
  const std::int64_t level = now.live_bytes - p.base;
  p.total = std::max({p.total, p.epoch_rel + now.peak_bytes, level});
  if (now.peak_bytes > p.last_peak) p.own = std::max(p.own, p.epoch_rel + now.peak_bytes - share_.bytes);
  p.own = std::max(p.own, level - share_.bytes);
  p.last_peak = now.peak_bytes;
}

void Runtime::framework_call_end(const Counters& before) noexcept {
  if (!in_pass_ || framework_depth_ == 0 || --framework_depth_ > 0) return;
  stacks::set_thread_unscoped(false);
  const Counters after = this_thread_counters();
  share_.bytes += after.live_bytes - before.live_bytes;
  share_.blocks += after.live_blocks - before.live_blocks;
  share_.allocs += after.allocs - before.allocs;
  PeakTrack& p = peak_;
  p.total = std::max(p.total, p.epoch_rel + after.peak_bytes);
  if (after.peak_bytes > before.peak_bytes) {
    // Catch2 raised the thread's high-water mark: restart it at the current level.
    reset_peak();
    p.epoch_rel = after.live_bytes - p.base;
    p.last_peak = 0;
  } else {
    p.last_peak = after.peak_bytes;
  }
  p.own = std::max(p.own, after.live_bytes - p.base - share_.bytes);
  if (held_probe_ != nullptr) held_base_ = held_probe_();  // the call booked its changes
}

}  // namespace memx::catch2::detail

namespace memx::catch2 {

Session* session() noexcept { return detail::Runtime::get().session(); }

int run(const std::vector<std::string>& flags, int repetitions,
        const std::function<int(int index, bool last)>& run_once) {
  detail::Runtime& rt = detail::Runtime::get();
  rt.drive(flags, repetitions);
  if (!rt.errors().empty()) {
    for (const std::string& e : rt.errors()) std::fprintf(stderr, "%s\n", e.c_str());
    return kSettingsErrorExit;
  }
  const int n = rt.driver_repetitions();
  int worst = 0;
  for (int k = 0; k < n; ++k) {
    rt.driver_iteration(k);
    const int rc = run_once(k, k == n - 1);
    if (rc > worst) worst = rc;
  }
  // This run's report could not be written (the error is printed): a run that passed must
  // not exit 0, or a later step reads an earlier run's report, or none, as this one's.
  if (worst == 0 && rt.session() != nullptr && rt.session()->report_failed()) worst = 1;
  return worst;
}

}  // namespace memx::catch2
