// Heap snapshots (memx/heap_snapshot.hpp): live_sites() now, grouped and compared later.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "memx/census.hpp"
#include "memx/heap_census.hpp"
#include "memx/heap_snapshot.hpp"
#include "memx/sites.hpp"
#include "memx/stacks.hpp"
#include "memx/uncounted.hpp"
#include "memx/units.hpp"

namespace memx {
namespace {

/// A stack symbolised: its frames, the index of the user frame and its description.
struct Resolved {
  std::vector<symbols::Frame> frames;
  std::size_t user = 0;
  std::string where;
  AllocatedType type;
};

}  // namespace

HeapSnapshot HeapSnapshot::take() {
  HeapSnapshot s;
  s.enabled_ = stacks::enabled();
  if (!s.enabled_) return s;
  const stacks::List<stacks::Site> live = stacks::live_sites();
  Uncounted guard;  // the snapshot's own memory is memx's
  s.entries_.reserve(live.size());
  for (const stacks::Site& site : live) {
    s.entries_.push_back(Entry{site.stack_id, static_cast<std::int64_t>(site.bytes),
                               static_cast<std::int64_t>(site.blocks)});
  }
  return s;
}

std::int64_t HeapSnapshot::bytes() const noexcept {
  std::int64_t n = 0;
  for (const Entry& e : entries_) n += e.bytes;
  return n;
}

std::int64_t HeapSnapshot::blocks() const noexcept {
  std::int64_t n = 0;
  for (const Entry& e : entries_) n += e.blocks;
  return n;
}

std::vector<HeapSnapshot::Difference> HeapSnapshot::compare(const HeapSnapshot& before,
                                                            GroupBy by) const {
  Uncounted guard;  // symbolisation and grouping are memx's own work
  symbols::Symbolizer symbolizer;
  std::unordered_map<std::uint32_t, Resolved> resolved;
  auto resolve = [&](std::uint32_t id) -> const Resolved& {
    auto it = resolved.find(id);
    if (it != resolved.end()) return it->second;
    Resolved r;
    std::vector<FrameRecord> records;
    for (const std::uintptr_t address : stacks::frames(id)) {
      for (const symbols::Frame& f : symbolizer.resolve(address)) {
        r.frames.push_back(f);
        records.push_back(symbols::to_record(f));
      }
    }
    SiteRecord site;
    site.frames = records;
    site.user_frame = first_user_frame(records);
    r.user = static_cast<std::size_t>(site.user_frame);
    r.where = site_location(site);
    r.type = allocated_type(records, site.user_frame);
    return resolved.emplace(id, std::move(r)).first->second;
  };
  // Group key: the stack id, or the user frame's description.
  std::map<std::string, Difference> groups;
  auto key_of = [&](std::uint32_t id) {
    if (by == GroupBy::type) {
      const AllocatedType& t = resolve(id).type;
      return t.name + '\0' + to_string(t.source);
    }
    return by == GroupBy::stack ? std::to_string(id) : resolve(id).where;
  };
  auto group = [&](std::uint32_t id) -> Difference& {
    const std::string key = key_of(id);
    auto it = groups.find(key);
    if (it != groups.end()) return it->second;
    Difference d;
    const Resolved& r = resolve(id);
    d.where = r.where;
    d.type = r.type.name;
    d.type_source = r.type.source;
    if (by == GroupBy::stack) {
      d.frames = r.frames;
    } else if (!r.frames.empty()) {
      d.frames.push_back(r.frames[std::min(r.user, r.frames.size() - 1)]);
    }
    return groups.emplace(key, std::move(d)).first->second;
  };
  for (const Entry& e : entries_) {
    Difference& d = group(e.stack_id);
    d.bytes += e.bytes;
    d.blocks += e.blocks;
    d.bytes_diff += e.bytes;
    d.blocks_diff += e.blocks;
  }
  for (const Entry& e : before.entries_) {
    Difference& d = group(e.stack_id);
    d.bytes_diff -= e.bytes;
    d.blocks_diff -= e.blocks;
  }
  std::vector<Difference> out;
  for (auto& [key, d] : groups) {
    if (d.bytes_diff != 0 || d.blocks_diff != 0) out.push_back(std::move(d));
  }
  std::stable_sort(out.begin(), out.end(), [](const Difference& a, const Difference& b) {
    const std::int64_t x = std::llabs(a.bytes_diff), y = std::llabs(b.bytes_diff);
    if (x != y) return x > y;
    return a.bytes > b.bytes;
  });
  return out;
}

std::vector<HeapSnapshot::Difference> HeapSnapshot::statistics(GroupBy by) const {
  const HeapSnapshot empty;
  std::vector<Difference> out = compare(empty, by);
  std::stable_sort(out.begin(), out.end(),
                   [](const Difference& a, const Difference& b) { return a.bytes > b.bytes; });
  return out;
}

std::string describe(const HeapSnapshot::Difference& d) {
  const std::string sign = d.bytes_diff >= 0 ? "+" : "-";
  return fmt::format("{}{} ({}{} block{}), {} in {} block{} at {}", sign,
                     format_bytes(std::llabs(d.bytes_diff)), d.blocks_diff >= 0 ? "+" : "",
                     d.blocks_diff, std::llabs(d.blocks_diff) == 1 ? "" : "s", format_bytes(d.bytes),
                     d.blocks, d.blocks == 1 ? "" : "s", d.where);
}

HeapCensus HeapCensus::take() {
  HeapCensus c;
  c.snapshot_ = HeapSnapshot::take();
  return c;
}

std::vector<HeapSnapshot::Difference> HeapCensus::types() const {
  return snapshot_.statistics(HeapSnapshot::GroupBy::type);
}

std::vector<HeapSnapshot::Difference> HeapCensus::compare(const HeapCensus& before) const {
  return snapshot_.compare(before.snapshot_, HeapSnapshot::GroupBy::type);
}

std::string describe_type(const HeapSnapshot::Difference& d) {
  const std::string sign = d.bytes_diff >= 0 ? "+" : "-";
  return fmt::format("{}{} ({}{} block{}), {} in {} block{}: {} ({}; e.g. at {})", sign,
                     format_bytes(std::llabs(d.bytes_diff)), d.blocks_diff >= 0 ? "+" : "",
                     d.blocks_diff, std::llabs(d.blocks_diff) == 1 ? "" : "s", format_bytes(d.bytes),
                     d.blocks, d.blocks == 1 ? "" : "s", d.type, to_string(d.type_source), d.where);
}

}  // namespace memx
