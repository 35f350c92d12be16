#pragma once
/// \file
/// The directions of the program file's byte layout. `Encoder` appends
/// little-endian fields; `Decoder` reads them back with a bounds check before
/// every byte and a sticky error; `SizeCounter` only counts the bytes the
/// Encoder would write, so serialisation allocates its output once. All offer
/// the same member functions, so the layout is written once (Layout.h) as
/// templates over any of them: the reader can never drift from the writer.
/// Encoder and SizeCounter never write through the references they get.

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace mars::program::detail {

/// Counts what Encoder would append.
class SizeCounter {
public:
  size_t size = 0;

  void u8(uint8_t &) { size += 1; }
  void u32(uint32_t &) { size += 4; }
  void i32(int32_t &) { size += 4; }
  void i64(int64_t &) { size += 8; }
  void u64(uint64_t &) { size += 8; }
  void f64(double &) { size += 8; }
  void f32(float &) { size += 4; }
  void flag(bool &) { size += 1; }
  template <typename E> void enumeration(E &, int) { size += 1; }
  void str(std::string &s) { size += 4 + s.size(); }
  template <typename T, typename F>
  void list(const char *, std::vector<T> &v, size_t, F f) {
    size += 4;
    for (T &element : v)
      f(element);
  }
  template <typename Byte> void byteList(const char *, std::vector<Byte> &v) {
    size += 4 + v.size();
  }
  bool ok() const { return true; }
};

/// Appends to `bytes`, which it does not own.
class Encoder {
public:
  explicit Encoder(std::vector<uint8_t> &out) : bytes(out) {}
  std::vector<uint8_t> &bytes;

  void u8(uint8_t &v) { bytes.push_back(v); }
  void u32(uint32_t &v) { put(v, 4); }
  void i32(int32_t &v) { put(uint32_t(v), 4); }
  void i64(int64_t &v) { put(uint64_t(v), 8); }
  void u64(uint64_t &v) { put(v, 8); }
  void f64(double &v) {
    uint64_t b;
    std::memcpy(&b, &v, 8);
    put(b, 8);
  }
  void f32(float &v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    put(b, 4);
  }
  void flag(bool &v) {
    uint8_t b = v ? 1 : 0;
    u8(b);
  }
  template <typename E> void enumeration(E &e, int /*count*/) {
    uint8_t b = static_cast<uint8_t>(e);
    u8(b);
  }
  void str(std::string &s) {
    uint32_t n = uint32_t(s.size());
    u32(n);
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  /// A u32 count, then each element through `f`.
  template <typename T, typename F>
  void list(const char *, std::vector<T> &v, size_t, F f) {
    uint32_t n = uint32_t(v.size());
    u32(n);
    for (size_t i = 0; i < v.size(); ++i)
      f(v[i]);
  }
  /// A u32 count, then the bytes (int8 or uint8) as they are: the encoding
  /// of list() with one u8 per element, in one copy.
  template <typename Byte> void byteList(const char *, std::vector<Byte> &v) {
    static_assert(sizeof(Byte) == 1);
    uint32_t n = uint32_t(v.size());
    u32(n);
    const auto *first = reinterpret_cast<const uint8_t *>(v.data());
    bytes.insert(bytes.end(), first, first + v.size());
  }
  bool ok() const { return true; }

private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      bytes.push_back(uint8_t(v >> (8 * i)));
  }
};

class Decoder {
public:
  Decoder(const uint8_t *data, size_t size, std::string where)
      : data_(data), size_(size), where_(std::move(where)) {}

  void u8(uint8_t &v) { v = uint8_t(get(1)); }
  void u32(uint32_t &v) { v = uint32_t(get(4)); }
  void i32(int32_t &v) { v = int32_t(uint32_t(get(4))); }
  void i64(int64_t &v) { v = int64_t(get(8)); }
  void u64(uint64_t &v) { v = get(8); }
  void f64(double &v) {
    uint64_t b = get(8);
    std::memcpy(&v, &b, 8);
  }
  void f32(float &v) {
    uint32_t b = uint32_t(get(4));
    std::memcpy(&v, &b, 4);
  }
  void flag(bool &v) {
    uint8_t b = uint8_t(get(1));
    if (b > 1)
      fail("boolean byte " + std::to_string(b) + " is not 0 or 1");
    v = b == 1;
  }
  template <typename E> void enumeration(E &e, int count) {
    uint8_t b = uint8_t(get(1));
    if (b >= count)
      fail("enumeration value " + std::to_string(b) + " out of range (0.." +
           std::to_string(count - 1) + ")");
    e = static_cast<E>(ok() ? b : 0);
  }
  void str(std::string &s) {
    uint32_t n = uint32_t(get(4));
    if (!ok())
      return;
    if (n > remaining())
      return fail("string of " + std::to_string(n) + " bytes overruns the " +
                  "section (" + std::to_string(remaining()) + " bytes left)");
    s.assign(reinterpret_cast<const char *>(data_ + pos_), n);
    pos_ += n;
  }
  /// A u32 count, checked against the bytes left (each element takes at
  /// least `minBytes`) before anything is allocated.
  template <typename T, typename F>
  void list(const char *name, std::vector<T> &v, size_t minBytes, F f) {
    const uint32_t n = count(name, minBytes);
    if (!ok())
      return;
    v.assign(n, T{});
    // The path is kept as (name, index) and spelled out only on failure:
    // weight lists have millions of elements.
    path_.push_back({name, 0});
    for (uint32_t i = 0; i < n && ok(); ++i) {
      path_.back().second = i;
      f(v[i]);
    }
    if (ok())
      path_.pop_back();
  }
  /// list() of one u8 per element, read in one copy (the same checks and
  /// messages: a count that overruns the section allocates nothing).
  template <typename Byte>
  void byteList(const char *name, std::vector<Byte> &v) {
    static_assert(sizeof(Byte) == 1);
    const uint32_t n = count(name, 1);
    if (!ok())
      return;
    v.resize(n);
    if (n > 0) // an empty vector's data() may be null, which memcpy forbids
      std::memcpy(v.data(), data_ + pos_, n);
    pos_ += n;
  }

  bool ok() const { return error_.empty(); }
  const std::string &error() const { return error_; }
  size_t remaining() const { return size_ - pos_; }
  void fail(const std::string &message) {
    if (!error_.empty())
      return;
    std::string where = where_;
    for (const auto &[name, index] : path_)
      where += (where.empty() ? "" : " ") + std::string(name) + "[" +
               std::to_string(index) + "]";
    error_ = where + ": " + message;
  }

private:
  /// A list's u32 count, checked against the bytes left when each element
  /// takes at least `minBytes`; 0 with the error set when it does not fit.
  uint32_t count(const char *name, size_t minBytes) {
    const uint32_t n = uint32_t(get(4));
    if (ok() && uint64_t(n) * minBytes > remaining()) {
      fail(std::string(name) + ": count " + std::to_string(n) +
           " overruns the section (" + std::to_string(remaining()) +
           " bytes left)");
      return 0;
    }
    return n;
  }
  uint64_t get(int n) {
    if (!ok())
      return 0;
    if (remaining() < size_t(n)) {
      fail("truncated (needs " + std::to_string(n) + " more bytes, " +
           std::to_string(remaining()) + " left)");
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= uint64_t(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }

  const uint8_t *data_;
  size_t size_, pos_ = 0;
  std::string where_;
  /// Where decoding is: list names (string literals) and element indices.
  std::vector<std::pair<const char *, uint32_t>> path_;
  std::string error_;
};

} // namespace mars::program::detail
