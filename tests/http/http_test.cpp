// examples/http's middleware with real HTTP requests on the loopback interface: a
// cpp-httplib server on a thread pool, routes that allocate known amounts, and the figures
// in each response's headers, one request at a time and many at once.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "memx/counters.hpp"
#include "request_memory.hpp"

namespace {

/// Keeps the compiler from eliding a new/delete pair.
void escape(const void* p) {
  asm volatile("" : : "g"(p) : "memory");
}

/// Usable size of a block of n bytes.
std::int64_t usable(std::size_t n) {
  char* p = new char[n];
  escape(p);
  const auto size = static_cast<std::int64_t>(memx::usable_size(p));
  delete[] p;
  return size;
}

/// What a route does: allocates and frees `temp` bytes, keeps `keep` bytes in the server's
/// cache, allocates and frees `temp` bytes again. 3 allocations, 2 frees; net `keep`;
/// peak keep + temp; 2 temp + keep allocated (so an upper bound of the peak can be told
/// from the exact peak).
struct Sizes {
  std::size_t temp;
  std::size_t keep;
  std::int64_t delta() const { return usable(keep); }
  std::int64_t peak() const { return usable(keep) + usable(temp); }
  std::int64_t allocated() const { return usable(keep) + 2 * usable(temp); }
};

/// The server's cache: slots made before the server starts, so keeping a block in it
/// allocates nothing else.
class Cache {
 public:
  ~Cache() {
    for (auto& slot : slots_) delete[] slot.load();
  }
  void keep(char* block) {
    const std::size_t i = next_.fetch_add(1) % slots_.size();
    delete[] slots_[i].exchange(block);  // full: the oldest goes (a free in the request)
  }
  std::size_t size() const { return std::min(next_.load(), slots_.size()); }

 private:
  std::array<std::atomic<char*>, 4096> slots_{};
  std::atomic<std::size_t> next_{0};
};

void temporary(std::size_t n) {
  char* p = new char[n];
  escape(p);
  p[n - 1] = 1;
  delete[] p;
}

struct Response {
  int status = 0;
  std::int64_t delta = -1, peak = -1, allocs = -1;
  bool exact = false;
  std::string body;
};

Response figures_of(const httplib::Result& r) {
  Response out;
  if (!r) return out;
  out.status = r->status;
  out.body = r->body;
  if (!r->has_header(memx_http::kDeltaHeader)) return out;
  out.delta = std::stoll(r->get_header_value(memx_http::kDeltaHeader));
  out.peak = std::stoll(r->get_header_value(memx_http::kPeakHeader));
  out.allocs = std::stoll(r->get_header_value(memx_http::kAllocsHeader));
  out.exact = r->get_header_value(memx_http::kPeakExactHeader) == "1";
  return out;
}

class HttpServer : public ::testing::Test {
 protected:
  /// Routes /r0 .. /r3 with different known sizes, /throw, /metrics.
  static constexpr std::array<Sizes, 4> kRoutes{
      {{1000, 100}, {20000, 3000}, {70000, 12000}, {300000, 40000}}};

  void SetUp() override {
    server_.new_task_queue = [] { return new httplib::ThreadPool(4); };
    memory_.install(server_);
    for (std::size_t i = 0; i < kRoutes.size(); ++i) {
      const std::string path = "/r" + std::to_string(i);
      const Sizes s = kRoutes[i];
      server_.Get(path, memory_.route(path, [this, s](const httplib::Request&, httplib::Response&) {
        temporary(s.temp);
        char* kept = new char[s.keep];
        escape(kept);
        cache_.keep(kept);
        temporary(s.temp);
      }));
    }
    server_.Get("/throw",
                memory_.route("/throw", [this](const httplib::Request&, httplib::Response&) {
                  char* kept = new char[5000];
                  escape(kept);
                  cache_.keep(kept);
                  throw 7;  // an int: the exception object is not allocated with operator new
                }));
    server_.Get("/metrics", memory_.metrics_route());
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void TearDown() override {
    server_.stop();
    if (listener_.joinable()) listener_.join();
  }

  /// Checks one response of route i: its figures and no other request's.
  static void expect_route(const Response& r, std::size_t i) {
    const Sizes& s = kRoutes[i];
    ASSERT_EQ(r.status, 200) << "/r" << i;
    EXPECT_EQ(r.delta, s.delta()) << "/r" << i;
    EXPECT_EQ(r.allocs, 3) << "/r" << i;
    // One thread serves each request: its peak is exact, whatever the other requests do.
    EXPECT_TRUE(r.exact) << "/r" << i;
    EXPECT_EQ(r.peak, s.peak()) << "/r" << i;
  }

  httplib::Server server_;
  memx_http::RequestMemory memory_;
  Cache cache_;
  std::thread listener_;
  int port_ = -1;
};

constexpr std::array<Sizes, 4> HttpServer::kRoutes;

TEST_F(HttpServer, EachResponseCarriesItsHandlersExactFigures) {
  httplib::Client client("127.0.0.1", port_);
  // Big and small routes interleaved: a pool thread's high-water mark from a big request
  // must not show in a later small one.
  for (int round = 0; round < 3; ++round) {
    for (const std::size_t i : {3u, 0u, 2u, 1u}) {
      const Response r = figures_of(client.Get("/r" + std::to_string(i)));
      expect_route(r, i);
    }
  }
}

TEST_F(HttpServer, ConcurrentRequestsEachGetTheirOwnFigures) {
  // Four clients at once, each on its own connection (so on its own pool thread), each
  // going round the routes from a different one: at any moment the server runs requests
  // of different sizes, and a pool thread serves a small request after a big one.
  constexpr std::size_t kClients = 4;
  constexpr std::size_t kPerClient = 40;
  std::vector<std::vector<std::pair<std::size_t, Response>>> seen(kClients);
  std::atomic<std::size_t> ready{0};
  std::vector<std::thread> clients;
  for (std::size_t c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port_);
      ready.fetch_add(1);
      while (ready.load() < kClients) std::this_thread::yield();
      for (std::size_t n = 0; n < kPerClient; ++n) {
        const std::size_t i = (c + n) % kRoutes.size();
        seen[c].emplace_back(i, figures_of(client.Get("/r" + std::to_string(i))));
      }
    });
  }
  for (auto& c : clients) c.join();
  for (const auto& responses : seen) {
    ASSERT_EQ(responses.size(), kPerClient);
    // Net bytes, allocations and the peak exact in every response, however the requests
    // overlapped (docs/request-memory.md).
    for (const auto& [i, r] : responses) expect_route(r, i);
  }
  EXPECT_EQ(cache_.size(), kClients * kPerClient);
}

TEST_F(HttpServer, UnmatchedAndFailingRequestsGetHeadersToo) {
  httplib::Client client("127.0.0.1", port_);
  const Response missing = figures_of(client.Get("/no/such/route"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.delta, 0);
  EXPECT_EQ(missing.peak, 0);
  EXPECT_EQ(missing.allocs, 0);
  const Response failed = figures_of(client.Get("/throw"));
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(failed.delta, usable(5000)) << "the figures up to the throw";
  EXPECT_EQ(failed.allocs, 1);
  EXPECT_EQ(memory_.figures().at("/throw").requests, 1u);
}

TEST_F(HttpServer, MetricsServesEveryRoutesFigures) {
  httplib::Client client("127.0.0.1", port_);
  for (const std::size_t i : {0u, 1u, 1u, 3u}) client.Get("/r" + std::to_string(i));
  const httplib::Result r = client.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::map<std::string, memx_http::RouteFigures> expected;
  for (const std::size_t i : {0u, 1u, 1u, 3u}) {
    memx_http::RouteFigures& f = expected["/r" + std::to_string(i)];
    f.requests += 1;
    f.allocs += 3;
    f.bytes_allocated += static_cast<std::uint64_t>(kRoutes[i].allocated());
    f.delta_bytes_sum += kRoutes[i].delta();
    f.delta_bytes_max = kRoutes[i].delta();
    f.peak_bytes_max = kRoutes[i].peak();
  }
  EXPECT_EQ(r->body, memx_http::render_metrics(expected));
  EXPECT_NE(r->body.find("memx_http_requests_total{route=\"/r1\"} 2\n"), std::string::npos);
  // The second call also has the first call of /metrics itself.
  const httplib::Result again = client.Get("/metrics");
  ASSERT_TRUE(again);
  EXPECT_NE(again->body.find("memx_http_requests_total{route=\"/metrics\"} 1\n"),
            std::string::npos);
}

TEST(Metrics, TextFormatMatchesTheGoldenFile) {
  std::map<std::string, memx_http::RouteFigures> routes;
  routes["/users/:id"] = {3, 42, 9000, 1200, 800, 4000};
  routes["/quote\"back\\slash\nnewline"] = {1, 2, 64, -32, -32, 64};
  std::ifstream in(MEMX_HTTP_GOLDEN);
  ASSERT_TRUE(in) << MEMX_HTTP_GOLDEN;
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(memx_http::render_metrics(routes), golden.str());
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(memx_http::escape_label("plain/path"), "plain/path");
  EXPECT_EQ(memx_http::escape_label("a\"b"), "a\\\"b");
  EXPECT_EQ(memx_http::escape_label("a\\b"), "a\\\\b");
  EXPECT_EQ(memx_http::escape_label("a\nb"), "a\\nb");
}

}  // namespace
