// Session, stack mode: the sites of each test's runs, from the live-block map, symbolised
// once per stack (memx/stacks.hpp, memx/symbols.hpp, memx/sites.hpp).
#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "memx/sites.hpp"
#include "memx/uncounted.hpp"
#include "memx/units.hpp"
#include "session/session_impl.hpp"

namespace memx {

const Session::Impl::StackFrames& Session::Impl::frames_of(std::uint32_t stack_id) {
  auto it = stack_frames.find(stack_id);
  if (it != stack_frames.end()) return it->second;
  if (!symbolizer) symbolizer = std::make_unique<symbols::Symbolizer>();
  StackFrames sf;
  for (const std::uintptr_t address : stacks::frames(stack_id)) {
    for (const symbols::Frame& f : symbolizer->resolve(address)) {
      sf.frames.push_back(symbols::to_record(f));
    }
  }
  sf.user_frame = first_user_frame(sf.frames);
  sf.framework = framework_own(sf.frames);
  return stack_frames.emplace(stack_id, std::move(sf)).first->second;
}

void Session::Impl::update_sites(const std::vector<std::size_t>& tests) {
  // Which (test, run) each scope is.
  struct Owner {
    std::size_t test;
    std::size_t run;
  };
  std::unordered_map<std::uint32_t, Owner> owners;
  stacks::List<std::uint32_t> scopes;
  auto add_test = [&](std::size_t t) {
    if (t >= run_scopes.size()) return;
    for (std::size_t k = 0; k < run_scopes[t].size(); ++k) {
      owners[run_scopes[t][k]] = Owner{t, k};
      scopes.push_back(run_scopes[t][k]);
    }
  };
  if (tests.empty()) {
    for (std::size_t t = 0; t < run_scopes.size(); ++t) add_test(t);
  } else {
    for (const std::size_t t : tests) add_test(t);
  }
  if (scopes.empty()) return;
  const stacks::List<stacks::ScopedSite> live =
      stacks::live_sites_by_scope(tests.empty() ? stacks::List<std::uint32_t>{} : scopes);

  // Per test: stack id -> its site.
  std::unordered_map<std::size_t, std::unordered_map<std::uint32_t, SiteRecord>> by_test;
  for (const stacks::ScopedSite& s : live) {
    const auto o = owners.find(s.scope);
    if (o == owners.end()) continue;  // a scope of another test (or reused after 2^24 runs)
    const std::size_t runs = report.tests[o->second.test].runs.size();
    SiteRecord& site = by_test[o->second.test][s.stack_id];
    if (site.runs.size() < runs) site.runs.resize(runs);
    site.runs[o->second.run].bytes += static_cast<std::int64_t>(s.bytes);
    site.runs[o->second.run].blocks += static_cast<std::int64_t>(s.blocks);
    site.bytes += static_cast<std::int64_t>(s.bytes);
    site.blocks += static_cast<std::int64_t>(s.blocks);
  }
  auto rebuild = [&](std::size_t t) {
    std::vector<SiteRecord>& out = report.tests[t].sites;
    out.clear();
    const auto found = by_test.find(t);
    if (found == by_test.end()) return;
    // The framework's own blocks (a reporter keeping every assertion until the run ends)
    // are not the test's: its figures leave them out too (the framework's share).
    std::vector<std::pair<std::uint32_t, SiteRecord>> list;
    for (auto& [id, site] : found->second) {
      if (!frames_of(id).framework) list.emplace_back(id, std::move(site));
    }
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return site_before(a.second, b.second); });
    // Symbolised only what is kept.
    const std::size_t keep =
        std::min<std::size_t>(list.size(), static_cast<std::size_t>(config.options.top_sites));
    for (std::size_t i = 0; i < keep; ++i) {
      SiteRecord site = std::move(list[i].second);
      const StackFrames& sf = frames_of(list[i].first);
      site.frames = sf.frames;
      site.user_frame = sf.user_frame;
      out.push_back(std::move(site));
    }
  };
  if (tests.empty()) {
    for (std::size_t t = 0; t < report.tests.size(); ++t) rebuild(t);
  } else {
    for (const std::size_t t : tests) rebuild(t);
  }
}

std::vector<SiteRecord> Session::Impl::to_sites(const stacks::List<stacks::Site>& live,
                                               std::size_t max) {
  std::vector<SiteRecord> out;
  for (const stacks::Site& s : live) {
    if (out.size() == max) break;
    const StackFrames& sf = frames_of(s.stack_id);
    if (sf.framework) continue;
    SiteRecord site;
    site.bytes = static_cast<std::int64_t>(s.bytes);
    site.blocks = static_cast<std::int64_t>(s.blocks);
    site.frames = sf.frames;
    site.user_frame = sf.user_frame;
    out.push_back(std::move(site));
  }
  return out;
}

void Session::Impl::update_peak_sites(TestRecord& rec, const RunRecord& run) {
  // The worst run by peak keeps its sites (budgets check the worst run); ties: the later.
  for (std::size_t k = 0; k + 1 < rec.runs.size(); ++k) {
    if (rec.runs[k].peak_bytes > run.peak_bytes) return;
  }
  rec.peak_sites = to_sites(stacks::peak_sites(current_scope),
                            static_cast<std::size_t>(config.options.top_sites));
}

std::string Session::Impl::peak_lines(const TestRecord& t, std::size_t max) const {
  std::string out;
  std::size_t shown = 0;
  for (const SiteRecord& s : t.peak_sites) {
    if (shown == max) {
      out += fmt::format("\n    ... and {} more site{}", t.peak_sites.size() - shown,
                         t.peak_sites.size() - shown == 1 ? "" : "s");
      break;
    }
    out += "\n    " + site_entry(s.bytes, s.blocks, s, t.file);
    ++shown;
  }
  return out;
}

std::string Session::Impl::site_lines(const TestRecord& t, std::size_t run, std::size_t max,
                                      bool growing_only) const {
  std::string out;
  std::size_t shown = 0, more = 0;
  // Growing sites: the user's own `new` first (as the verdict names it), then the others.
  std::vector<const SiteRecord*> order;
  for (const SiteRecord& s : t.sites) order.push_back(&s);
  if (growing_only) {
    std::stable_partition(order.begin(), order.end(),
                          [](const SiteRecord* s) { return allocates_itself(*s); });
  }
  for (const SiteRecord* sp : order) {
    const SiteRecord& s = *sp;
    const bool pick = growing_only ? grows_every_repetition(s, t.runs.size())
                                   : run < s.runs.size() && s.runs[run].blocks > 0;
    if (!pick) continue;
    if (shown == max) {
      ++more;
      continue;
    }
    const std::int64_t bytes = growing_only ? s.runs.back().bytes : s.runs[run].bytes;
    const std::int64_t blocks = growing_only ? s.runs.back().blocks : s.runs[run].blocks;
    out += "\n    " + site_entry(bytes, blocks, s, t.file);
    ++shown;
  }
  if (more > 0) out += fmt::format("\n    ... and {} more site{}", more, more == 1 ? "" : "s");
  return out;
}

}  // namespace memx
