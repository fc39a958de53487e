// Per-request memory for a cpp-httplib server: every handler runs inside a
// memx::RequestScope; every response carries X-Memx-Delta-Bytes, X-Memx-Peak-Bytes,
// X-Memx-Allocs (and X-Memx-Peak-Exact); per-route figures are served in Prometheus' text
// exposition format. docs/request-memory.md explains the figures and the scope boundaries.
//
//     httplib::Server server;
//     memx_http::RequestMemory memory;
//     memory.install(server);                             // headers on every response
//     server.Get("/users", memory.route("/users", list_users));
//     server.Get("/metrics", memory.metrics_route());
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "memx/request_scope.hpp"

namespace memx_http {

/// The response headers the middleware adds.
inline constexpr const char* kDeltaHeader = "X-Memx-Delta-Bytes";
inline constexpr const char* kPeakHeader = "X-Memx-Peak-Bytes";
inline constexpr const char* kAllocsHeader = "X-Memx-Allocs";
inline constexpr const char* kPeakExactHeader = "X-Memx-Peak-Exact";

/// What the requests of one route used, summed since the server started.
struct RouteFigures {
  std::uint64_t requests = 0;         ///< requests served
  std::uint64_t allocs = 0;           ///< allocations made by its handlers
  std::uint64_t bytes_allocated = 0;  ///< bytes allocated by its handlers
  std::int64_t delta_bytes_sum = 0;   ///< net bytes kept, summed over the requests
  std::int64_t delta_bytes_max = 0;   ///< largest net bytes one request kept
  std::int64_t peak_bytes_max = 0;    ///< largest peak of one request
};

/// A Prometheus label value with backslash, double quote and line feed escaped.
inline std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

/// The figures of every route in Prometheus' text exposition format (version 0.0.4).
inline std::string render_metrics(const std::map<std::string, RouteFigures>& routes) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::string (*value)(const RouteFigures&);
  };
  static const Family families[] = {
      {"memx_http_requests_total", "counter", "Requests served, by route.",
       [](const RouteFigures& f) { return std::to_string(f.requests); }},
      {"memx_http_request_allocations_total", "counter",
       "Allocations made by the route's handler (operator new), summed over its requests.",
       [](const RouteFigures& f) { return std::to_string(f.allocs); }},
      {"memx_http_request_allocated_bytes_total", "counter",
       "Bytes allocated by the route's handler, summed over its requests.",
       [](const RouteFigures& f) { return std::to_string(f.bytes_allocated); }},
      {"memx_http_request_delta_bytes_sum", "gauge",
       "Net bytes the route's handler kept (allocated minus freed), summed over its requests.",
       [](const RouteFigures& f) { return std::to_string(f.delta_bytes_sum); }},
      {"memx_http_request_delta_bytes_max", "gauge",
       "Largest net bytes one request of the route kept.",
       [](const RouteFigures& f) { return std::to_string(f.delta_bytes_max); }},
      {"memx_http_request_peak_bytes_max", "gauge",
       "Largest heap peak of one request of the route, above its start.",
       [](const RouteFigures& f) { return std::to_string(f.peak_bytes_max); }},
  };
  std::string out;
  for (const Family& family : families) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    out += family.help;
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += family.type;
    out += '\n';
    for (const auto& [route, figures] : routes) {
      out += family.name;
      out += "{route=\"";
      out += escape_label(route);
      out += "\"} ";
      out += family.value(figures);
      out += '\n';
    }
  }
  return out;
}

/// The middleware: handler wrappers that measure, response headers, per-route figures.
class RequestMemory {
 public:
  /// Adds the headers to the responses no wrapped handler produced (no route matched, a
  /// pre-routing handler answered): zeros, since no handler of the request ran. It sets
  /// the server's post-routing handler (a server has one): call yours from a wrapper.
  void install(httplib::Server& server) {
    server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.has_header(kDeltaHeader)) set_headers(res, memx::RequestUsage{});
    });
  }

  /// Wraps `handler` so that it runs inside a memx::RequestScope; `route` names it in the
  /// figures (give the pattern, not the request's path, so the label set stays small).
  /// The scope covers the handler's call only: what httplib allocates to read the request
  /// and to write the response is not in the figures, what the handler puts in the
  /// response (body, headers) is. If the handler throws, the figures up to the throw are
  /// in the headers of the error response and in the route's figures.
  httplib::Server::Handler route(std::string route, httplib::Server::Handler handler) {
    return [this, route = std::move(route), handler = std::move(handler)](
               const httplib::Request& req, httplib::Response& res) {
      memx::RequestUsage usage;
      try {
        memx::RequestScope scope([&usage](const memx::RequestUsage& u) { usage = u; });
        handler(req, res);
      } catch (...) {
        finish(route, usage, res);
        throw;
      }
      finish(route, usage, res);
    };
  }

  /// A handler serving the figures of every route (itself included, after its first call).
  httplib::Server::Handler metrics_route(std::string route = "/metrics") {
    return this->route(std::move(route), [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }

  /// The figures of every route in Prometheus' text format.
  std::string metrics() const {
    std::map<std::string, RouteFigures> copy;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      copy = routes_;
    }
    return render_metrics(copy);
  }

  /// A copy of the figures of every route.
  std::map<std::string, RouteFigures> figures() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return routes_;
  }

  /// Sets the four headers from `u`.
  static void set_headers(httplib::Response& res, const memx::RequestUsage& u) {
    res.set_header(kDeltaHeader, std::to_string(u.delta_bytes));
    res.set_header(kPeakHeader, std::to_string(u.peak_bytes));
    res.set_header(kAllocsHeader, std::to_string(u.allocs));
    res.set_header(kPeakExactHeader, u.peak_exact ? "1" : "0");
  }

 private:
  void finish(const std::string& route, const memx::RequestUsage& u, httplib::Response& res) {
    set_headers(res, u);
    std::lock_guard<std::mutex> lock(mutex_);
    RouteFigures& f = routes_[route];
    f.delta_bytes_max =
        f.requests == 0 ? u.delta_bytes : std::max(f.delta_bytes_max, u.delta_bytes);
    f.peak_bytes_max = std::max(f.peak_bytes_max, u.peak_bytes);
    f.requests += 1;
    f.allocs += u.allocs;
    f.bytes_allocated += u.bytes_allocated;
    f.delta_bytes_sum += u.delta_bytes;
  }

  mutable std::mutex mutex_;
  std::map<std::string, RouteFigures> routes_;
};

}  // namespace memx_http
