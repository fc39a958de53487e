// memx: the memory of one request in a service, the C++ form of per-request memory headers
// from web middleware (docs/request-memory.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace memx {

namespace detail {
/// The calling thread's heap counters at one moment (src/request/request_scope.cpp).
struct ThreadMark {
  std::uint64_t allocs = 0, frees = 0, allocated = 0, freed = 0;
};
struct PeakWatch;  // the thread's highest level since a moment (src/alloc/thread_counters.hpp)
}  // namespace detail

/// What a RequestScope measured: the heap activity of the threads that served the request
/// (the thread that opened the scope, and threads attached to it with a Handoff), not of
/// the whole process. Byte figures are usable sizes, as everywhere in memx.
struct RequestUsage {
  std::int64_t delta_bytes = 0;       ///< net bytes: allocated minus freed by those threads
  std::int64_t peak_bytes = 0;        ///< highest net bytes above the start (see peak_exact)
  std::uint64_t allocs = 0;           ///< allocations made
  std::uint64_t frees = 0;            ///< frees made
  std::uint64_t bytes_allocated = 0;  ///< bytes allocated (cumulative)
  unsigned threads = 0;               ///< threads whose figures are included
  /// False when peak_bytes is an upper bound rather than the exact peak: when more than one
  /// thread allocated or freed for the request, it is the sum of each thread's own peak
  /// (docs/request-memory.md, "When the peak is exact").
  bool peak_exact = true;
  /// False when a part of the request could not be measured: a Handoff still attached when
  /// the scope stopped, or the scope stopped on a thread other than the one that opened it
  /// (the opening thread's figures are then left out).
  bool complete = true;
  /// True when the scope was closed by its destructor while an exception unwound the stack.
  bool unwound = false;
};

/// RAII measurement of one request on the thread that serves it:
///
///     memx::RequestScope scope;
///     handle(request, response);
///     memx::RequestUsage u = scope.stop();   // u.delta_bytes, u.peak_bytes, u.allocs
///
/// Only the calling thread's allocations and frees count (a free is charged to the thread
/// that frees), so requests served at the same time on other threads do not mix in. Work
/// handed to another thread counts when that thread holds a RequestScope::Attach made from
/// handoff(). Scopes nest: an inner scope's figures are also in the outer's. Open, stop and
/// read a scope on one thread; anything else has a documented result, never a crash.
class RequestScope {
  struct Shared;

 public:
  /// Called once with the final figures when the scope closes, by stop() or by the
  /// destructor (also when an exception unwinds through the scope: RequestUsage::unwound).
  /// It runs after the figures are taken: what it allocates is not counted. An exception
  /// it throws is caught and dropped.
  using OnClose = std::function<void(const RequestUsage&)>;

  /// A token that lets other threads work for the request: copy it to them, and there hold
  /// a RequestScope::Attach while they work. Safe to keep after the scope is gone.
  class Handoff {
   public:
    Handoff() = default;  ///< attached to nothing (an Attach made from it counts nowhere)

   private:
    friend class RequestScope;
    std::shared_ptr<Shared> shared_;
  };

  /// While alive on a thread, that thread's allocations and frees count in the scope the
  /// Handoff came from. Its figures are added when it is destroyed, if the scope is still
  /// open then (otherwise they are dropped and the scope's result says complete = false).
  /// Attaching on the scope's own thread while the scope is open adds nothing (that thread
  /// is already counted). Create and destroy it on the same thread.
  class Attach {
   public:
    /// Starts counting the calling thread for the handoff's scope.
    explicit Attach(const Handoff& handoff);
    /// Stops counting and adds the figures to the scope.
    ~Attach();
    Attach(const Attach&) = delete;
    Attach& operator=(const Attach&) = delete;

   private:
    std::shared_ptr<Shared> shared_;
    detail::ThreadMark start_;
    detail::PeakWatch* watch_ = nullptr;  // on the attached thread (nullptr: none)
    const void* thread_ = nullptr;        // the attached thread (its counters' address)
    bool counted_ = false;
  };

  /// Starts measuring the calling thread; `on_close` (optional) receives the final figures.
  explicit RequestScope(OnClose on_close = nullptr);
  /// Stops measuring if still open (the figures go to on_close).
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

  /// The figures so far (the scope stays open), or the final ones after stop(). Read on
  /// another thread while open, it has only the attached threads' closed parts
  /// (complete = false).
  RequestUsage usage() const;
  /// Stops measuring and returns the final figures (idempotent).
  RequestUsage stop();
  /// A token for the threads the request hands work to.
  Handoff handoff() const;

 private:
  std::shared_ptr<Shared> shared_;
  OnClose on_close_;
  detail::ThreadMark start_;     // the opening thread's counters at the opening
  detail::PeakWatch* watch_ = nullptr;  // the opening thread's highest level since
  const void* owner_ = nullptr;  // the opening thread (its counters' address)
  int uncaught_ = 0;             // std::uncaught_exceptions() at the opening
  bool open_ = true;
  RequestUsage final_;
};

}  // namespace memx
