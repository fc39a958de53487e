// memx: Boxed<T>, an optional value kept on the heap. A report's records hold parts most
// tests do not have (a budget); inline, each costs its full size in every record of a
// million-test report, boxed only a pointer where it is absent. It reads like std::optional.
#pragma once

#include <memory>
#include <optional>
#include <utility>

namespace memx {

/// An optional T on the heap, with std::optional's interface (has_value, *, ->, value_or,
/// reset, emplace, assignment from T, std::optional<T> and std::nullopt); copies are deep.
template <class T>
class Boxed {
 public:
  Boxed() noexcept = default;
  Boxed(std::nullopt_t) noexcept {}  // NOLINT(google-explicit-constructor): as std::optional
  Boxed(const T& value) : p_(std::make_unique<T>(value)) {}  // NOLINT: as std::optional
  Boxed(T&& value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: as std::optional
  Boxed(const std::optional<T>& value) {  // NOLINT: as std::optional
    if (value) p_ = std::make_unique<T>(*value);
  }
  Boxed(std::optional<T>&& value) {  // NOLINT: as std::optional
    if (value) p_ = std::make_unique<T>(std::move(*value));
  }
  Boxed(const Boxed& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this != &other) p_ = other.p_ ? std::make_unique<T>(*other.p_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(std::nullopt_t) noexcept {
    p_.reset();
    return *this;
  }
  ~Boxed() = default;

  bool has_value() const noexcept { return p_ != nullptr; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// The value; the box must hold one.
  T& operator*() noexcept { return *p_; }
  const T& operator*() const noexcept { return *p_; }
  T* operator->() noexcept { return p_.get(); }
  const T* operator->() const noexcept { return p_.get(); }
  /// The value, or `fallback` when there is none.
  T value_or(T fallback) const { return p_ ? *p_ : std::move(fallback); }
  /// The value as a std::optional (a copy).
  std::optional<T> optional() const { return p_ ? std::optional<T>(*p_) : std::nullopt; }
  void reset() noexcept { p_.reset(); }
  template <class... Args>
  T& emplace(Args&&... args) {
    p_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *p_;
  }

  /// Equal when both are empty or both hold equal values, as std::optional.
  friend bool operator==(const Boxed& a, const Boxed& b) {
    if (!a.p_ || !b.p_) return !a.p_ && !b.p_;
    return *a.p_ == *b.p_;
  }
  friend bool operator!=(const Boxed& a, const Boxed& b) { return !(a == b); }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace memx
