// rename_running_test: a run whose name is known only at its end (Catch2's sections).
//
// Session keeps its state behind a private pointer; this file reaches it the way the
// standard allows for private members, an explicit instantiation naming the member, so
// that the Session class (and its ABI) stays as it is.
#include <memory>
#include <mutex>
#include <utility>

#include "memx/session.hpp"
#include "memx/uncounted.hpp"
#include "session/session_impl.hpp"

namespace memx {
namespace {

using ImplMember = std::unique_ptr<Session::Impl> Session::*;

ImplMember impl_member();

template <ImplMember M>
struct ImplAccess {
  friend ImplMember impl_member() { return M; }
};
template struct ImplAccess<&Session::impl_>;

}  // namespace

void rename_running_test(Session& session, TestId id) {
  Uncounted guard;
  Session::Impl& m = *(session.*impl_member());
  std::lock_guard<std::mutex> lock(m.mutex);
  if (!m.in_test) return;
  m.current = std::move(id);
}

}  // namespace memx
