// The growth analysis of a leak watch (memx/watch_analysis.hpp): Theil-Sen slopes, their fit
// and the confidence rule of docs/leak-watch.md. Pure: no allocator hooks, no thread, no fmt,
// so that the core (memx::LeakWatch) and the report reader (memx::analysis) share it.
#include "memx/watch_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace memx {
namespace {

constexpr std::size_t kMaxSlopePoints = 512;
constexpr std::int64_t kMinSamples = 5;    // below: low, too few samples
constexpr std::int64_t kHighSamples = 10;  // high needs at least this many
constexpr double kMinSeconds = 1.0;        // below: low, too short
constexpr double kHighFit = 0.9;           // R^2 for high
constexpr double kMediumFit = 0.5;         // R^2 for medium
constexpr double kHalfShare = 0.25;        // each half's slope >= this share of the whole's

double median(std::vector<double>& v) {
  if (v.empty()) return 0;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

double median_of(std::vector<double> v) {
  return median(v);
}

std::vector<double> slice(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(from),
                             v.begin() + static_cast<std::ptrdiff_t>(to));
}

std::string rate(double per_second, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.2f %s/s", per_second, unit);
  return buf;
}

std::string fit_text(const Trend& t) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "R^2 %.2f", t.r2);
  return buf;
}

}  // namespace

double theil_sen_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = std::min(x.size(), y.size());
  std::vector<std::size_t> pick;
  if (n <= kMaxSlopePoints) {
    for (std::size_t i = 0; i < n; ++i) pick.push_back(i);
  } else {
    for (std::size_t k = 0; k < kMaxSlopePoints; ++k)
      pick.push_back(k * (n - 1) / (kMaxSlopePoints - 1));
  }
  std::vector<double> slopes;
  slopes.reserve(pick.size() * (pick.size() - (pick.empty() ? 0 : 1)) / 2);
  for (std::size_t a = 0; a < pick.size(); ++a) {
    for (std::size_t b = a + 1; b < pick.size(); ++b) {
      const double dx = x[pick[b]] - x[pick[a]];
      if (dx != 0) slopes.push_back((y[pick[b]] - y[pick[a]]) / dx);
    }
  }
  return median(slopes);
}

Trend fit_trend(const std::vector<double>& seconds, const std::vector<double>& y, double floor) {
  Trend t;
  const std::size_t n = std::min(seconds.size(), y.size());
  if (n < 2) return t;
  t.per_second = theil_sen_slope(seconds, y);
  const double duration = seconds[n - 1] - seconds[0];
  t.rise = t.per_second * duration;
  // The robust line's intercept: the median of y - slope * x.
  std::vector<double> offsets(n);
  for (std::size_t i = 0; i < n; ++i) offsets[i] = y[i] - t.per_second * seconds[i];
  const double intercept = median(offsets);
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) mean += y[i];
  mean /= static_cast<double>(n);
  double total = 0, residual = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += (y[i] - mean) * (y[i] - mean);
    const double r = y[i] - (intercept + t.per_second * seconds[i]);
    residual += r * r;
  }
  t.r2 = total > 0 ? std::max(0.0, 1 - residual / total) : 0;
  const std::size_t mid = n / 2;
  t.first_half = theil_sen_slope(slice(seconds, 0, mid + 1), slice(y, 0, mid + 1));
  t.second_half = theil_sen_slope(slice(seconds, mid, n), slice(y, mid, n));

  const auto samples = static_cast<std::int64_t>(n);
  if (samples < kMinSamples || duration < kMinSeconds) return t;
  const bool grows = t.per_second > 0 && t.rise >= floor &&
                     t.first_half >= kHalfShare * t.per_second &&
                     t.second_half >= kHalfShare * t.per_second;
  if (!grows) return t;
  if (t.r2 >= kHighFit && samples >= kHighSamples) {
    t.confidence = GrowthConfidence::high;
  } else if (t.r2 >= kMediumFit) {
    t.confidence = GrowthConfidence::medium;
  }
  return t;
}

std::string bytes_rate(double per_second) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = std::fabs(per_second);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%.1f %s/s", per_second < 0 ? "-" : "+", v, units[u]);
  return buf;
}

namespace {

/// One series per line: stacks that end at the same "file:line in function" (a container's
/// node and the element it copies, pushed at one line) are one site to the reader. Their
/// readings are added at the times both were read (each was followed from when it first was
/// among the largest sites); the lowest stack id stands for them.
std::vector<WatchSiteSeries> by_line(const std::vector<WatchSiteSeries>& sites) {
  std::vector<WatchSiteSeries> out;
  std::map<std::string, std::size_t> index;  // where -> position in out
  for (const WatchSiteSeries& site : sites) {
    const auto known = site.where.empty() ? index.end() : index.find(site.where);
    if (known == index.end()) {
      if (!site.where.empty()) index.emplace(site.where, out.size());
      out.push_back(site);
      continue;
    }
    WatchSiteSeries& into = out[known->second];
    std::map<double, std::pair<std::int64_t, std::int64_t>> at;  // ms -> bytes, blocks
    const std::size_t k = std::min({site.ms.size(), site.bytes.size(), site.blocks.size()});
    for (std::size_t i = 0; i < k; ++i) at[site.ms[i]] = {site.bytes[i], site.blocks[i]};
    WatchSiteSeries sum;
    sum.stack_id = std::min(into.stack_id, site.stack_id);
    sum.where = into.where;
    const std::size_t n = std::min({into.ms.size(), into.bytes.size(), into.blocks.size()});
    for (std::size_t i = 0; i < n; ++i) {
      const auto other = at.find(into.ms[i]);
      if (other == at.end()) continue;
      sum.ms.push_back(into.ms[i]);
      sum.bytes.push_back(into.bytes[i] + other->second.first);
      sum.blocks.push_back(into.blocks[i] + other->second.second);
    }
    into = std::move(sum);
  }
  return out;
}

}  // namespace

WatchAnalysis analyze_watch(const std::vector<WatchSample>& samples,
                            const std::vector<WatchSiteSeries>& sites_by_stack) {
  const std::vector<WatchSiteSeries> sites = by_line(sites_by_stack);
  WatchAnalysis a;
  a.samples = static_cast<std::int64_t>(samples.size());
  if (!samples.empty()) a.duration_s = (samples.back().ms - samples.front().ms) / 1000.0;
  if (a.samples < kMinSamples || a.duration_s < kMinSeconds) {
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "too short to judge: %lld samples over %.1f s (a trend needs at least %lld samples "
        "over %.0f s, and %lld for high confidence): watch longer or sample more often",
        static_cast<long long>(a.samples), a.duration_s, static_cast<long long>(kMinSamples),
        kMinSeconds, static_cast<long long>(kHighSamples));
    a.recommendations.push_back(buf);
    return a;
  }
  const std::size_t n = samples.size();
  std::vector<double> t(n), heap(n), blocks(n), rss(n), fds, threads;
  bool fds_known = true, threads_known = true;
  for (std::size_t i = 0; i < n; ++i) {
    const WatchSample& s = samples[i];
    t[i] = (s.ms - samples.front().ms) / 1000.0;
    heap[i] = static_cast<double>(s.heap_bytes);
    blocks[i] = static_cast<double>(s.heap_blocks);
    rss[i] = static_cast<double>(s.rss_bytes);
    fds_known = fds_known && s.fds >= 0;
    threads_known = threads_known && s.threads >= 0;
  }
  // The smallest rise that counts: a few KiB (or blocks) and 1% of the series' level, so that
  // a heap of gigabytes does not flag a rounding; 2 for descriptors and threads.
  a.heap_bytes = fit_trend(t, heap, std::max(4096.0, 0.01 * median_of(heap)));
  a.heap_blocks = fit_trend(t, blocks, std::max(2.0, 0.01 * median_of(blocks)));
  a.rss_bytes = fit_trend(t, rss, std::max(256.0 * 1024, 0.02 * median_of(rss)));
  if (fds_known) {
    for (const WatchSample& s : samples) fds.push_back(static_cast<double>(s.fds));
    a.fds = fit_trend(t, fds, 2);
  }
  if (threads_known) {
    for (const WatchSample& s : samples) threads.push_back(static_cast<double>(s.threads));
    a.threads = fit_trend(t, threads, 2);
  }
  a.confidence = a.heap_bytes.confidence;
  // Bytes that grow without blocks: one block reallocated ever larger, or blocks replaced by
  // larger ones; a steady trend still, but not surely a leak of blocks.
  if (a.confidence == GrowthConfidence::high && !a.heap_blocks.growing())
    a.confidence = GrowthConfidence::medium;
  a.leak = a.heap_bytes.growing() || a.fds.growing() || a.threads.growing();

  for (const WatchSiteSeries& site : sites) {
    const std::size_t k = std::min({site.ms.size(), site.bytes.size(), site.blocks.size()});
    if (k == 0) continue;
    std::vector<double> st(k), sb(k);
    for (std::size_t i = 0; i < k; ++i) {
      st[i] = (site.ms[i] - samples.front().ms) / 1000.0;
      sb[i] = static_cast<double>(site.bytes[i]);
    }
    SiteGrowth g;
    g.trend = fit_trend(st, sb, 4096);
    if (!g.trend.growing()) continue;
    g.stack_id = site.stack_id;
    g.where = site.where.empty() ? "stack #" + std::to_string(site.stack_id) : site.where;
    g.bytes = site.bytes[k - 1];
    g.blocks = site.blocks[k - 1];
    a.sites.push_back(std::move(g));
  }
  std::stable_sort(a.sites.begin(), a.sites.end(), [](const SiteGrowth& x, const SiteGrowth& y) {
    return x.trend.per_second > y.trend.per_second;
  });
  if (a.sites.size() > kWatchSites) a.sites.resize(kWatchSites);
  for (const SiteGrowth& g : a.sites) {
    a.recommendations.push_back(
        "the allocation site " + g.where + " grows by " + bytes_rate(g.trend.per_second) + " (" +
        std::to_string(g.bytes) + " bytes in " + std::to_string(g.blocks) +
        " blocks live): an unbounded cache or queue filled there, or blocks "
        "allocated there and never freed");
  }
  if (a.heap_bytes.growing()) {
    if (a.heap_blocks.growing()) {
      a.recommendations.push_back(
          "the live heap grows by " + bytes_rate(a.heap_bytes.per_second) + " (" +
          rate(a.heap_blocks.per_second, "blocks") +
          "): memory allocated and never freed, or a container that only grows (an unbounded "
          "cache or queue)" +
          (a.sites.empty()
               ? "; stack mode (MEMX_STACKS=on, memx watch --stacks) names the lines that grow"
               : std::string()));
    } else {
      a.recommendations.push_back(
          "the live heap grows by " + bytes_rate(a.heap_bytes.per_second) +
          " but its blocks do not: a buffer reallocated ever larger (a vector or string appended "
          "to and never cleared or shrunk)");
    }
  }
  if (a.fds.growing()) {
    a.recommendations.push_back("open descriptors grow by " +
                                rate(a.fds.per_second, "descriptors") +
                                ": files or sockets opened and never closed (give each an owner "
                                "that closes it)");
  }
  if (a.threads.growing()) {
    a.recommendations.push_back("threads grow by " + rate(a.threads.per_second, "threads") +
                                ": threads started and never joined, or detached threads that "
                                "never end");
  }
  if (a.rss_bytes.growing() && !a.heap_bytes.growing()) {
    a.recommendations.push_back(
        "the RSS grows by " + bytes_rate(a.rss_bytes.per_second) +
        " while the live heap does not: fragmentation, or memory outside operator new (malloc "
        "in C libraries, mmap, thread stacks)");
  }
  return a;
}

std::string describe(const WatchAnalysis& a) {
  std::string out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "leak watch: %lld samples over %.1f s\n",
                static_cast<long long>(a.samples), a.duration_s);
  out += buf;
  auto line = [&](const char* name, const std::string& rates, const Trend& tr) {
    out += "  ";
    out += name;
    out += rates + " (" + fit_text(tr) + "): " + to_string(tr.confidence) + "\n";
  };
  line("live heap:   ",
       bytes_rate(a.heap_bytes.per_second) + ", " + rate(a.heap_blocks.per_second, "blocks"),
       a.heap_bytes);
  line("RSS:         ", bytes_rate(a.rss_bytes.per_second), a.rss_bytes);
  line("descriptors: ", rate(a.fds.per_second, "descriptors"), a.fds);
  line("threads:     ", rate(a.threads.per_second, "threads"), a.threads);
  for (const SiteGrowth& g : a.sites) {
    out += "  site: " + bytes_rate(g.trend.per_second) + " (" + fit_text(g.trend) +
           "): " + to_string(g.trend.confidence) + " at " + g.where + "\n";
  }
  if (a.leak) {
    std::string what;
    if (a.heap_bytes.growing()) what = "the live heap";
    if (a.fds.growing()) what += std::string(what.empty() ? "" : ", ") + "descriptors";
    if (a.threads.growing()) what += std::string(what.empty() ? "" : ", ") + "threads";
    out +=
        "verdict: growing: " + what + " (heap growth confidence " + to_string(a.confidence) + ")\n";
  } else {
    out += std::string("verdict: no growth found (heap growth confidence ") +
           to_string(a.confidence) + ")\n";
  }
  for (const std::string& r : a.recommendations) out += "  - " + r + "\n";
  return out;
}

}  // namespace memx
