// memx::LeakWatch: one sampling thread per started watch (memx/leak_watch.hpp). The thread
// allocates nothing once its buffers are large enough, and never under counting; it takes
// the watch's lock only to append a sample.
#include "memx/leak_watch.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#include "memx/counters.hpp"
#include "memx/resources.hpp"
#include "memx/rss.hpp"
#include "memx/stacks.hpp"
#include "memx/uncounted.hpp"
#include "sys/quiet_thread.hpp"

namespace memx {

using Clock = std::chrono::steady_clock;

namespace {

template <class T>
using UncountedVector = std::vector<T, UncountedAllocator<T>>;

constexpr std::size_t kTopSites = 16;      // the sites with most live bytes, read at each sample
constexpr std::size_t kTrackedSites = 64;  // at most this many followed over the watch

// One allocation site followed since it was first among the kTopSites (stack mode).
struct SiteTrack {
  std::uint32_t stack_id = 0;
  UncountedVector<double> ms;
  UncountedVector<std::int64_t> bytes, blocks;
};

template <class V>
void halve(V& v) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < v.size(); i += 2) v[kept++] = v[i];
  v.resize(kept);
}

}  // namespace

struct LeakWatch::State {
  std::mutex mutex;
  std::condition_variable cv;
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds every{0};  // the interval, doubled each time the samples are halved
  std::size_t capacity = 0;
  Clock::time_point started{};
  Clock::time_point next_due{};
  std::vector<WatchSample, UncountedAllocator<WatchSample>> samples;
  ResourceIds scratch;  // the thread's
  bool running = false;
  bool stopping = false;
  pthread_t thread{};
  std::int64_t tid = 0;              // the thread's own id, left out of the threads counted
  UncountedVector<SiteTrack> sites;  // stack mode only
  stacks::List<stacks::Site> live;   // the thread's: the latest live_sites()

  // Reads one sample (no lock held: counters() takes its own short lock).
  WatchSample read(Clock::time_point now) {
    Uncounted guard;
    WatchSample s;
    s.ms = std::chrono::duration<double, std::milli>(now - started).count();
    const Counters c = counters();
    s.heap_bytes = c.live_bytes;
    s.heap_blocks = c.live_blocks;
    s.rss_bytes = current_rss_bytes();
    if (stacks::enabled()) {
      live = stacks::live_sites();
    } else {
      live.clear();
    }
    if (read_resource_ids(scratch)) {
      s.fds = static_cast<std::int64_t>(scratch.fds.size());
      s.threads =
          static_cast<std::int64_t>(std::count_if(scratch.threads.begin(), scratch.threads.end(),
                                                  [&](std::int64_t t) { return t != tid; }));
    }
    return s;
  }

  // Appends under the lock; past the capacity keeps every other sample and halves the rate.
  void add(const WatchSample& s) {
    Uncounted guard;
    if (samples.size() >= capacity) {
      halve(samples);
      every *= 2;
    }
    samples.push_back(s);  // reserved: never past the capacity
    add_sites(s.ms);
  }

  // Stack mode: the top sites start being followed; every followed site gets a reading (0
  // once its blocks are all freed).
  void add_sites(double ms) {
    for (std::size_t i = 0; i < live.size() && i < kTopSites && sites.size() < kTrackedSites; ++i) {
      const std::uint32_t id = live[i].stack_id;
      if (id == 0) continue;
      bool known = false;
      for (const SiteTrack& t : sites) known = known || t.stack_id == id;
      if (!known) {
        sites.emplace_back();
        sites.back().stack_id = id;
      }
    }
    for (SiteTrack& t : sites) {
      std::int64_t b = 0, n = 0;
      for (const stacks::Site& site : live) {
        if (site.stack_id == t.stack_id) {
          b = static_cast<std::int64_t>(site.bytes);
          n = static_cast<std::int64_t>(site.blocks);
          break;
        }
      }
      if (t.ms.size() >= capacity) {
        halve(t.ms);
        halve(t.bytes);
        halve(t.blocks);
      }
      t.ms.push_back(ms);
      t.bytes.push_back(b);
      t.blocks.push_back(n);
    }
  }
};

namespace {

// Takes every sample, the first (due at once) and the last (when asked to stop) included, so
// that all of them see the same threads: the program's, never this one.
void* watch_main(void* arg) noexcept {
  Uncounted guard;  // the thread's allocations are memx's, never the program's
  auto& s = *static_cast<LeakWatch::State*>(arg);
  std::unique_lock<std::mutex> lock(s.mutex);
  s.tid = static_cast<std::int64_t>(::gettid());
  for (;;) {
    const bool stop = s.cv.wait_until(lock, s.next_due, [&] { return s.stopping; });
    lock.unlock();
    const Clock::time_point now = Clock::now();
    const WatchSample sample = s.read(now);
    lock.lock();
    s.add(sample);
    s.cv.notify_all();  // start() waits for the first sample
    if (stop || s.stopping) break;
    s.next_due += s.every;
    if (s.next_due < now) s.next_due = now + s.every;  // late (a suspended process): no burst
  }
  return nullptr;
}

}  // namespace

LeakWatch::LeakWatch() {
  Uncounted guard;
  void* mem = uncounted_malloc(sizeof(State));
  if (mem == nullptr) throw std::bad_alloc();
  state_ = new (mem) State();
}

LeakWatch::~LeakWatch() {
  stop();
  Uncounted guard;  // the samples and the scratch lists were allocated uncounted
  state_->~State();
  uncounted_free(state_);
}

void LeakWatch::start(std::chrono::milliseconds interval, std::size_t max_samples) {
  if (interval.count() <= 0) {
    throw std::invalid_argument("memx::LeakWatch::start: interval " +
                                std::to_string(interval.count()) +
                                " ms is not positive (give 1 ms or more)");
  }
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  if (s.running)
    throw std::logic_error("memx::LeakWatch::start: the watch already runs (stop() it first)");
  {
    Uncounted guard;
    s.capacity = std::max<std::size_t>(max_samples, 16);
    s.samples.clear();
    s.samples.reserve(s.capacity + 1);
    s.sites.clear();
  }
  s.interval = s.every = interval;
  s.started = Clock::now();
  s.next_due = s.started;  // the thread takes the first sample at once
  s.stopping = false;
  if (!detail::start_quiet_thread(s.thread, watch_main, &s, "memx-watch")) {
    throw std::runtime_error("memx::LeakWatch::start: cannot create the watch's thread");
  }
  s.running = true;
  s.cv.wait(lock, [&] { return !s.samples.empty(); });
}

void LeakWatch::stop() noexcept {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  if (!s.running) return;
  s.stopping = true;  // the thread takes the last sample and ends
  s.cv.notify_all();
  const pthread_t thread = s.thread;
  lock.unlock();
  pthread_join(thread, nullptr);
  lock.lock();
  s.running = false;
}

bool LeakWatch::running() const noexcept {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->running;
}

std::chrono::milliseconds LeakWatch::interval() const noexcept {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->interval;
}

std::vector<WatchSample> LeakWatch::samples() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return std::vector<WatchSample>(state_->samples.begin(), state_->samples.end());
}

std::vector<WatchSiteSeries> LeakWatch::site_series() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<WatchSiteSeries> out;
  out.reserve(state_->sites.size());
  for (const SiteTrack& t : state_->sites) {
    WatchSiteSeries w;
    w.stack_id = t.stack_id;
    w.ms.assign(t.ms.begin(), t.ms.end());
    w.bytes.assign(t.bytes.begin(), t.bytes.end());
    w.blocks.assign(t.blocks.begin(), t.blocks.end());
    out.push_back(std::move(w));
  }
  return out;
}

WatchAnalysis LeakWatch::analyze() const {
  return analyze_watch(samples(), site_series());
}

WatchRecord LeakWatch::record() const {
  WatchRecord r;
  r.interval_ms = static_cast<double>(interval().count());
  r.samples = samples();
  r.analysis = analyze_watch(r.samples, site_series());
  return r;
}

}  // namespace memx
