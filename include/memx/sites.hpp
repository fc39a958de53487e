// memx: allocation sites in a report (stack mode): which frame is the user's, how a site
// reads for people, and how sites sharpen a leak verdict. Rules: docs/leak-verdicts.md,
// "By site".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memx/report.hpp"

namespace memx {

/// True for a frame of memx, the C++ runtime, the C library, the standard library's
/// allocation machinery (its headers) or a test framework (GoogleTest, GoogleMock, Catch2):
/// frames folded away so that the first frame shown is the user's.
bool is_system_frame(const FrameRecord& f);

/// The index of the first frame that is not a system frame; 0 when every frame is one
/// (the whole stack is shown).
int first_user_frame(const std::vector<FrameRecord>& frames);

/// True for a frame of a test framework (GoogleTest, GoogleMock, Catch2) or of memx's plugins.
bool is_framework_frame(const FrameRecord& f);

/// True when a stack has no frame of the user's and reaches a test framework: memory the
/// framework allocated for itself (its reporters' records, its messages), not the test's.
bool framework_own(const std::vector<FrameRecord>& frames);

/// "file:line in function" of a site's first user frame ("module+0xOFFSET in function
/// (note)" without a line). With the test's source file, a site allocated in a helper in
/// another file adds ", called from file:line in function", the test's own frame.
std::string site_location(const SiteRecord& site, std::string_view test_file = {});

/// True when two sites (of two reports, say) are at the same place: their first user frames
/// (the frame site_location names) have the same file name (without its directory), line
/// and function. Return addresses are not compared: they change with every build.
bool same_place(const SiteRecord& a, const SiteRecord& b);

/// True when the site's first user frame is the allocating call itself (a `new` in the
/// user's code: what LeakSanitizer calls a direct leak), not a library called from it.
bool allocates_itself(const SiteRecord& site);

/// "48 B in 1 block at file:line in function" (site_location with the test's file).
std::string site_entry(std::int64_t bytes, std::int64_t blocks, const SiteRecord& site,
                       std::string_view test_file = {});

/// The order of sites in a report (see sort_sites): true when a comes before b.
bool site_before(const SiteRecord& a, const SiteRecord& b);

/// Orders sites for a report: the sites with blocks from the most measured repetitions
/// (every run but the first) first, then by bytes, then by blocks.
void sort_sites(std::vector<SiteRecord>& sites);

/// True when the site kept blocks from every measured repetition (there are 2 or more).
bool grows_every_repetition(const SiteRecord& site, std::size_t runs);
/// The repetitions the test's sites were recorded over: its runs, or fewer when its sites
/// come from a `memx check --stacks` rerun (TestRecord::site_runs). Pass it as `runs` to
/// the functions above and to everything that reads a site's runs.
std::size_t site_repetitions(const TestRecord& test);

/// Sharpens a test's leak verdict (already judged from its net growth) with its sites, and
/// names the line in its reason: a leak or a steadily growing suspect with a site that keeps
/// blocks from every measured repetition is a leak at that site; growth of which nothing is
/// live at the end of a finished run (info.final, nothing dropped) was handed off and is
/// clean; a clean verdict with a site kept only from the warm-up names that one-time site.
/// Does nothing without sites.
void refine_leak_by_sites(TestRecord& test, const StacksInfo& info);

}  // namespace memx
