// Internal: memx's report thread ("memx-report"), which takes work off the test thread when
// a report is written: the replaced report's pages are freed there, and it renders half of
// a large report's tests (memx::detail::Background, memx/report.hpp).
#pragma once

#include "memx/report.hpp"

namespace memx::detail {

/// Starts the report thread if it is not running (idempotent): called before the first
/// test, so that the thread is there when any test's threads are first listed and never
/// looks like one a test started. False when it could not be started (then nothing is
/// handed to it and the writer does all the work itself).
bool start_report_thread() noexcept;

/// The Background that hands jobs to the report thread. A job runs under memx::Uncounted
/// (what it allocates and frees is never counted). At exit the thread finishes the jobs
/// it has and is joined; after that, and in a forked child, nothing is handed to it.
const Background& report_thread() noexcept;

}  // namespace memx::detail
