#pragma once
/// \file
/// User-facing errors (`Error`, `Expected<T>`) and the internal-invariant check
/// macro (`MARS_CHECK`). User mistakes are returned, never thrown through library
/// boundaries; broken invariants abort with file:line (DESIGN.md §5).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace mars {

/// A user-facing error: one line of context, e.g.
/// "model.onnx: node 'conv3' (Conv): groups=3 does not divide 64 input channels".
class Error {
public:
  explicit Error(std::string message) : message_(std::move(message)) {}
  const std::string &message() const { return message_; }
  /// Returns a copy whose message is prefixed with `context: `.
  Error withContext(const std::string &context) const {
    return Error(context + ": " + message_);
  }

private:
  std::string message_;
};

/// Either a value or an Error (Glow's Expected<T>, without the must-check
/// machinery).
template <typename T> class Expected {
public:
  Expected(T value) : storage_(std::move(value)) {}
  Expected(Error error) : storage_(std::move(error)) {}

  explicit operator bool() const { return storage_.index() == 0; }
  bool ok() const { return storage_.index() == 0; }
  T &operator*() { return std::get<0>(storage_); }
  const T &operator*() const { return std::get<0>(storage_); }
  T *operator->() { return &std::get<0>(storage_); }
  const T *operator->() const { return &std::get<0>(storage_); }
  T take() { return std::move(std::get<0>(storage_)); }
  const Error &error() const { return std::get<1>(storage_); }

private:
  std::variant<T, Error> storage_;
};

/// Success or an Error, for functions that return nothing.
class Status {
public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}
  static Status success() { return Status(); }
  explicit operator bool() const { return !failed_; }
  bool ok() const { return !failed_; }
  const Error &error() const { return error_; }

private:
  Error error_{""};
  bool failed_ = false;
};

/// Builds an Error from stream-style pieces: makeError("got ", n, " inputs").
template <typename... Parts> Error makeError(const Parts &...parts);

namespace detail {
inline void appendPart(std::string &out, const std::string &s) { out += s; }
inline void appendPart(std::string &out, const char *s) { out += s; }
inline void appendPart(std::string &out, char c) { out += c; }
/// Six significant digits, as a stream prints them: std::to_string's fixed
/// "%f" shows a scale of 2e-12 as 0.000000.
inline void appendPart(std::string &out, double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  out += text;
}
inline void appendPart(std::string &out, float v) {
  appendPart(out, double(v));
}
template <typename T> void appendPart(std::string &out, const T &v) {
  out += std::to_string(v);
}
[[noreturn]] inline void checkFailed(const char *file, int line,
                                     const char *cond, const char *msg) {
  std::fprintf(stderr, "%s:%d: internal error: check '%s' failed%s%s\n", file,
               line, cond, msg[0] ? ": " : "", msg);
  std::abort();
}
} // namespace detail

template <typename... Parts> Error makeError(const Parts &...parts) {
  std::string out;
  (detail::appendPart(out, parts), ...);
  return Error(std::move(out));
}

/// Appended to an "expected float32" error when a file holds float64:
/// numpy's default dtype, so the usual cause.
inline constexpr const char *kFloat64Advice =
    " (numpy writes float64 by default: save x.astype(numpy.float32))";

} // namespace mars

/// Aborts with file:line when an internal invariant does not hold. Never use it
/// for anything a user can cause: return an Error instead.
#define MARS_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond))                                                               \
      ::mars::detail::checkFailed(__FILE__, __LINE__, #cond, "" __VA_ARGS__);  \
  } while (false)

/// Propagates an Error from an Expected/Status-returning call.
#define MARS_TRY(expr)                                                         \
  do {                                                                         \
    auto marsTryResult_ = (expr);                                              \
    if (!marsTryResult_)                                                       \
      return marsTryResult_.error();                                           \
  } while (false)
