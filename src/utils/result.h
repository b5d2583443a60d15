#pragma once
// Result<T>: the value of an operation that the outside world can make fail (a peer, a client,
// the chain, the engine, the disk). Errors are values; exceptions are kept for fatal start-up.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ciro {

/// What kind of failure: callers branch on this, people read the message.
enum class Errc {
  invalid_argument,  ///< input that breaks a rule; the message names the field and what is allowed
  not_found,
  already_exists,
  permission_denied,
  io,        ///< disk or socket
  protocol,  ///< a peer or server spoke out of spec
  engine,    ///< the container engine refused or failed
  timeout,
  cancelled,
  unavailable,  ///< the other side is down or overloaded; retry later
  limit_exceeded,
  conflict,
  internal,  ///< our own bug surfaced as a value
};

const char* errc_name(Errc code) noexcept;

struct Error {
  Errc code = Errc::internal;
  std::string message;

  Error() = default;
  Error(Errc c, std::string m) : code(c), message(std::move(m)) {}
  /// "invalid_argument: spec.image: must not be empty"
  std::string to_string() const;
};

/// Either a T or an Error. Access the value only after checking ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}      // NOLINT(implicit)
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const noexcept { return m_v.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_v));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(m_v);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(m_v));
  }

 private:
  std::variant<T, Error> m_v;
};

/// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_failed(true) {}  // NOLINT(implicit)
  bool ok() const noexcept { return !m_failed; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& {
    assert(m_failed);
    return m_error;
  }
  Error&& error() && {
    assert(m_failed);
    return std::move(m_error);
  }

 private:
  Error m_error;
  bool m_failed = false;
};

inline Error make_error(Errc code, std::string message) { return Error(code, std::move(message)); }

}  // namespace ciro

/// Propagate an error from a Result-returning expression: CIRO_TRY(auto v, f()); or CIRO_TRY_VOID(g());
#define CIRO_CONCAT_INNER(a, b) a##b
#define CIRO_CONCAT(a, b) CIRO_CONCAT_INNER(a, b)
#define CIRO_TRY_IMPL(tmp, decl, expr)          \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
#define CIRO_TRY(decl, expr) CIRO_TRY_IMPL(CIRO_CONCAT(ciro_try_, __LINE__), decl, expr)
#define CIRO_TRY_VOID(expr)                                             \
  do {                                                                  \
    auto ciro_try_void_ = (expr);                                       \
    if (!ciro_try_void_.ok()) return std::move(ciro_try_void_).error(); \
  } while (0)
