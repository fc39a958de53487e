// An HTTP server (Debian's cpp-httplib) whose responses say how much heap their handler
// used: X-Memx-Delta-Bytes, X-Memx-Peak-Bytes, X-Memx-Allocs; per-route figures at /metrics.
//
//     memx_example_http [PORT]      serve on 127.0.0.1:PORT (8080) until killed
//     memx_example_http --demo      serve on a free port, make a few requests, print, exit
//
//     curl -i localhost:8080/words/1000
//     curl localhost:8080/metrics
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "request_memory.hpp"

namespace {

/// A server-side cache that only grows: what /remember keeps shows in its delta.
struct Cache {
  std::mutex mutex;
  std::map<std::string, std::string> entries;
};

void add_routes(httplib::Server& server, memx_http::RequestMemory& memory, Cache& cache) {
  memory.install(server);
  server.Get("/hello", memory.route("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello\n", "text/plain");
  }));
  // Builds n words and answers with their total length: allocates, keeps nothing.
  server.Get(R"(/words/(\d+))",
             memory.route("/words/:n", [](const httplib::Request& req, httplib::Response& res) {
               const unsigned long n = std::strtoul(req.matches[1].str().c_str(), nullptr, 10);
               std::vector<std::string> words;
               for (unsigned long i = 0; i < n && i < 1000000; ++i) {
                 words.push_back("word-number-" + std::to_string(i));
               }
               std::size_t length = 0;
               for (const auto& w : words) length += w.size();
               res.set_content(std::to_string(length) + "\n", "text/plain");
             }));
  // Keeps the key and a 1 KiB value in the cache: its delta is what the cache grew by.
  server.Get(
      R"(/remember/(\w+))",
      memory.route("/remember/:key", [&cache](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(cache.mutex);
        cache.entries[req.matches[1].str()] = std::string(1024, 'v');
        res.set_content(std::to_string(cache.entries.size()) + "\n", "text/plain");
      }));
  server.Get("/metrics", memory.metrics_route());
}

void print_response(const char* path, const httplib::Result& r) {
  if (!r) {
    std::printf("%s: no response (%s)\n", path, httplib::to_string(r.error()).c_str());
    return;
  }
  std::printf("GET %-16s %d  delta %s  peak %s  allocs %s\n", path, r->status,
              r->get_header_value(memx_http::kDeltaHeader).c_str(),
              r->get_header_value(memx_http::kPeakHeader).c_str(),
              r->get_header_value(memx_http::kAllocsHeader).c_str());
}

int demo(httplib::Server& server) {
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port < 0) {
    std::fprintf(stderr, "memx_example_http: cannot bind to a port on 127.0.0.1\n");
    return 1;
  }
  std::thread listener([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();
  httplib::Client client("127.0.0.1", port);
  for (const char* path :
       {"/hello", "/words/10", "/words/10000", "/remember/a", "/remember/b", "/no/such/route"}) {
    print_response(path, client.Get(path));
  }
  const httplib::Result metrics = client.Get("/metrics");
  if (metrics) std::printf("\n%s", metrics->body.c_str());
  server.stop();
  listener.join();
  return metrics && metrics->status == 200 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  memx_http::RequestMemory memory;
  Cache cache;
  add_routes(server, memory, cache);
  if (argc > 1 && std::strcmp(argv[1], "--demo") == 0) return demo(server);
  int port = 8080;
  if (argc > 1) {
    char* end = nullptr;
    const long p = std::strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || p < 0 || p > 65535) {
      std::fprintf(stderr, "memx_example_http: port '%s' is not a number from 0 to 65535\n",
                   argv[1]);
      return 2;
    }
    port = static_cast<int>(p);
  }
  std::printf("memx_example_http: listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  return server.listen("127.0.0.1", port) ? 0 : 1;
}
