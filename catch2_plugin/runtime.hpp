// Internal: the Catch2 plugin's process-wide state, without any Catch2 type. Catch2 makes a
// new listener for every run (memx::catch2_main runs the tests once per repetition), so
// what must outlive a run lives here; listener.cpp only translates Catch2's events into
// these calls.
//
// A test case *pass* is one entry into the TEST_CASE body (Catch2 re-enters it once per
// leaf SECTION path). Each pass is one memx test, named "case / section / subsection".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "memx/catch2.hpp"
#include "memx/counters.hpp"
#include "memx/session.hpp"

namespace memx::catch2::detail {

/// How the repetitions are made.
enum class RepeatMode {
  driver,     ///< memx::catch2_main (or memx::catch2::run) runs the whole selection N times
  listed,     ///< Catch2's own main: the run's list of test cases is repeated N times
  generator,  ///< Catch2's own main, when the list cannot be repeated: each test case is
              ///< re-entered N times in a row (a generator around its body)
};

/// The test case being run (between testCaseStarting and testCaseEnded).
struct CaseInfo {
  std::string name;
  std::string file;
  int line = 0;
  std::string budget_tags;  ///< the [memx:...] tags' texts joined with ", " ("" when none)
};

/// The budget text of a tag: "memx:peak=4MiB" gives "peak=4MiB"; false for other tags.
bool budget_of_tag(std::string_view tag, std::string& text);

/// Parses a repetition count (MEMX_REPEAT, --memx-repeat): a whole number from 1 to 100000.
bool parse_repeat(std::string_view text, int& out);

/// The test case name of a pass joined with the sections it entered.
std::string pass_name(const std::string& test_case, const std::vector<std::string>& sections);

class Runtime {
 public:
  /// The process's runtime (created under a guard, never destroyed).
  static Runtime& get();

  // --- Set-up -------------------------------------------------------------------------
  /// Flags from a main that parsed them (--memx-report=..., --memx-budget=...,
  /// --memx-fail-on-leak) and the repetition count it will drive (0: MEMX_REPEAT or 1).
  void drive(const std::vector<std::string>& flags, int repetitions);
  /// The number of repetitions the driver makes (valid after drive()).
  int driver_repetitions() const noexcept { return repeat_; }
  /// Errors of the settings (bad flag values, bad environment variables), one per line.
  const std::vector<std::string>& errors();

  // --- A run (one Catch2 run: one repetition with the driver, all of them without) ------
  /// A Catch2 run starts: creates the session on the first one. False when memx stays out
  /// (settings errors are printed and the process exits with 2 instead). `tests_hint`:
  /// how many test cases the run selected (0 if not known): a large run's room is made
  /// ahead, and its report written as it goes, as with GoogleTest.
  bool run_starting(bool color_from_framework, std::size_t tests_hint = 0);
  /// True once the first run has begun the session's run (later runs are repetitions).
  bool run_begun() const noexcept { return run_begun_; }
  /// The repetition the driver starts next.
  void driver_iteration(int index) noexcept { driver_iteration_ = index; }
  /// How many times Catch2's run must go through its list of test cases (N with Catch2's
  /// own main and MEMX_REPEAT=N, 1 with a driver or without repetitions).
  int listed_repetitions() const noexcept;
  /// The listener could not repeat the run's list: each test case is re-entered N times in
  /// a row instead. `why` is printed once, in one line.
  void repeat_in_place(const char* why);
  /// How this process repeats (valid once the first run started).
  RepeatMode mode() const noexcept;
  /// Listed mode: the test case starting next is in repetition `index` of the run's list
  /// (-1: not found in it, taken as the current one).
  void case_iteration(int index);
  /// The repetitions each test case is re-entered for (generator mode), 1 otherwise.
  int generator_repetitions() const noexcept;
  /// The Catch2 run ended; true when it was the last one (end_run done: print summary()).
  bool run_ended();
  /// The end-of-run summary, "" when quiet.
  std::string summary() const;
  /// The session, or nullptr.
  Session* session() noexcept { return session_.get(); }

  // --- Test cases and passes ------------------------------------------------------------
  /// Call under memx::Uncounted (the argument's strings are freed by the caller).
  void case_starting(const CaseInfo& info);
  /// Storage for the listener to describe the next test case in (kept: no allocation for
  /// most test cases; the runtime is never destroyed).
  CaseInfo& scratch_case() noexcept { return scratch_case_; }
  void case_ended();
  /// A pass starts (the body is entered next). `repetition` is the generator's value.
  void pass_starting(int repetition);
  /// The pass ended; returns the failures to add to the test case (empty when none).
  /// `threw`: the body ended with an exception.
  const std::vector<std::string>& pass_ended(bool threw);
  bool in_pass() const noexcept { return in_pass_; }

  /// A SECTION was entered (sectionStarted returned true) or left during the pass.
  void section_entered(const std::string& name);
  void section_left() noexcept;
  /// An assertion of the pass failed.
  void assertion_failed() noexcept { pass_failed_ = true; }
  /// The pass was skipped (Catch2 3's SKIP): measured, not judged against its budget.
  void pass_skipped() noexcept { pass_skipped_ = true; }
  /// Catch2's own work for the test (its assertion and section bookkeeping, messages it
  /// keeps) is measured on the test's thread around each call into Catch2: call
  /// framework_call_begin before the call and framework_call_end with its result after.
  /// Calls nest (Catch2 calling into itself): only the outermost one is booked.
  Counters framework_call_begin() noexcept;
  /// A generator is built: Catch2 keeps it until the test case's last generated value has
  /// run, so what its construction leaves allocated is Catch2's share, like its trackers.
  /// Opens a window (as framework_call_begin) that generator_built closes; the pass's end
  /// closes a window still open (the generator's expression threw).
  void generator_building() noexcept;
  void generator_built() noexcept;
  void framework_call_end(const Counters& before) noexcept;
  /// True inside a measured call into Catch2 (or a generator window) on the test's thread.
  bool in_framework_call() const noexcept { return framework_depth_ > 0; }
  /// What Catch2 holds that the test can make it add to without a measured call (Catch2 3:
  /// its copy of the last assertion result, its message lists; without the virtual table
  /// hook, its section trackers too): a function that measures it, without allocating.
  /// Its changes between measured calls are Catch2's share, off the pass's net, not off its
  /// peak (when they were made is not known); within a measured call the call books them.
  using HeldProbe = FrameworkShare (*)() noexcept;
  void set_held_probe(HeldProbe probe) noexcept { held_probe_ = probe; }
  /// Memory that Catch2 came to hold, or let go of, during the pass where no call measured
  /// it: booked as its share when the pass ends, off the net, not off the peak.
  void book_framework_held(const FrameworkShare& held) noexcept {
    held_.bytes += held.bytes;
    held_.blocks += held.blocks;
  }
  /// Inside the outermost measured call: a block the test made is handed to Catch2, which
  /// keeps or frees it (a message moved into Catch2's result). From here on it is Catch2's.
  void framework_takes(const FrameworkShare& block) noexcept {
    if (!in_pass_ || framework_depth_ != 1) return;
    share_.bytes += block.bytes;
    share_.blocks += block.blocks;
  }

 private:
  Runtime() = default;
  void configure();

  bool configured_ = false;
  bool driven_ = false;
  std::vector<std::string> flags_;
  OptionsParse parsed_;
  std::vector<std::string> errors_;
  int flag_repeat_ = 0;  // --memx-repeat from the driver, 0 when not given
  int repeat_ = 1;
  int driver_iteration_ = 0;
  bool in_place_ = false;  // generator mode (see RepeatMode)
  std::int64_t case_end_live_bytes_ = 0;  // the process's live heap at the last case's end
  int iteration_ = -1;  // the session's current iteration
  bool run_begun_ = false;
  bool color_ = false;
  std::unique_ptr<Session> session_;

  CaseInfo case_;
  bool in_case_ = false;
  bool in_pass_ = false;
  bool pass_failed_ = false;
  bool pass_skipped_ = false;
  FrameworkShare share_;
  FrameworkShare held_;  // see book_framework_held
  HeldProbe held_probe_ = nullptr;  // see set_held_probe
  FrameworkShare held_base_;        // what it measured after the last measured call
  void book_held_change() noexcept;
  int framework_depth_ = 0;  // calls into Catch2 in progress on the test's thread
  bool generator_open_ = false;  // a generator_building window is open
  Counters generator_before_;     // the thread's counters when it opened
  /// The test thread's heap levels during a pass, above its level at the pass start, to
  /// take Catch2's part off the peak. A call into Catch2 that raises the thread's
  /// high-water mark restarts it (a new peak epoch; open windows keep theirs), so that
  /// every later high-water mark of the pass is the test's own.
  struct PeakTrack {
    std::int64_t base = 0;       ///< the thread's live bytes at the pass start
    std::int64_t epoch_rel = 0;  ///< its level when the current epoch began, above base
    std::int64_t last_peak = 0;  ///< its epoch high-water mark after the last call into Catch2
    std::int64_t total = 0;      ///< highest level above base, Catch2's memory included
    std::int64_t own = 0;        ///< highest level above base of the test's own memory
  } peak_;
  void segment_end(const Counters& now) noexcept;
  std::vector<std::string> open_sections_;  // sections entered and not left yet
  std::vector<std::string> leaf_;           // the path at the last section entered
  /// The pass names used in this iteration, and how often: the first one alone (a test
  /// case without SECTIONs or GENERATEs, run once) without a map entry.
  struct PassNames {
    std::string first;
    bool has_first = false;
    std::unordered_map<std::string, int> more;  // from the second pass on: every name
    /// How many times `name` has now been used (1 the first time).
    int count(const std::string& name) {
      if (!has_first) {
        first.assign(name);
        has_first = true;
        return 1;
      }
      if (more.empty()) more.emplace(first, 1);
      return ++more[name];
    }
    void clear() noexcept {
      has_first = false;
      more.clear();
    }
  };
  PassNames seen_;
  CaseInfo scratch_case_;
  std::string pass_name_;  // the pass's name, kept for its storage
  TestOutcome outcome_;
};

}  // namespace memx::catch2::detail
