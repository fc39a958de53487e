// memx html: the page (html.cpp), for the CLI's command and its tests.
#pragma once

#include <string>

#include "memx/report.hpp"

namespace memx::cli {

/// The whole self-contained page for `report` (taken: a large one is cut down to the tests
/// the page lists), compared with `base` (read from `base_path`)
/// when given. A report of more than a few thousand tests is aggregated: the page lists
/// the tests that need looking at and the highest of each column, and counts every test
/// in histograms ("aggregate" in the page's data).
std::string render_html(Report report, const std::string& title, const std::string& root,
                        const Report* base, const std::string& base_path);

}  // namespace memx::cli
