#include "mars/data/Npy.h"
#include "mars/support/AtomicFile.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace mars::data {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
/// numpy aligns the data to 64 bytes (format.py ARRAY_ALIGN).
constexpr size_t kAlign = 64;
/// Files larger than this are refused before any allocation.
constexpr int64_t kMaxDataBytes = int64_t{1} << 40;

/// The parsed header dict.
struct Header {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

/// A recursive-descent parser for the restricted Python literal numpy
/// writes: a dict of string keys whose values are strings, booleans or
/// tuples of non-negative integers.
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : text_(text) {}

  Expected<Header> parse() {
    Header header;
    bool seenDescr = false, seenOrder = false, seenShape = false;
    MARS_TRY(expect('{'));
    while (!peekIs('}')) {
      auto key = parseString();
      if (!key)
        return key.error();
      MARS_TRY(expect(':'));
      if (*key == "descr") {
        auto s = parseString();
        if (!s)
          return s.error();
        header.descr = *s;
        seenDescr = true;
      } else if (*key == "fortran_order") {
        auto b = parseBool();
        if (!b)
          return b.error();
        header.fortranOrder = *b;
        seenOrder = true;
      } else if (*key == "shape") {
        auto t = parseTuple();
        if (!t)
          return t.error();
        header.shape = t.take();
        seenShape = true;
      } else {
        return makeError("malformed header: unexpected key '", *key, "'");
      }
      if (!peekIs(','))
        break;
      ++pos_;
    }
    MARS_TRY(expect('}'));
    skipSpace();
    if (pos_ != text_.size())
      return makeError("malformed header: unexpected text after the dict");
    if (!seenDescr || !seenOrder || !seenShape)
      return makeError("malformed header: it must have the keys 'descr', "
                       "'fortran_order' and 'shape'");
    return header;
  }

private:
  void skipSpace() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  bool peekIs(char c) {
    skipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  Status expect(char c) {
    if (!peekIs(c))
      return makeError("malformed header: expected '", c, "' at offset ", pos_);
    ++pos_;
    return Status::success();
  }
  Expected<std::string> parseString() {
    skipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      return makeError("malformed header: expected a string at offset ", pos_);
    char quote = text_[pos_++];
    size_t end = text_.find(quote, pos_);
    if (end == std::string::npos)
      return makeError("malformed header: unterminated string");
    std::string s = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  Expected<bool> parseBool() {
    skipSpace();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    return makeError("malformed header: expected True or False at offset ",
                     pos_);
  }
  Expected<std::vector<int64_t>> parseTuple() {
    std::vector<int64_t> dims;
    MARS_TRY(expect('('));
    while (!peekIs(')')) {
      if (pos_ >= text_.size() ||
          !std::isdigit(static_cast<unsigned char>(text_[pos_])))
        return makeError("malformed header: expected a non-negative integer "
                         "in 'shape' at offset ",
                         pos_);
      int64_t d = 0;
      while (pos_ < text_.size() &&
             std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        d = d * 10 + (text_[pos_++] - '0');
        if (d > kMaxDataBytes)
          return makeError("malformed header: dimension too large");
      }
      dims.push_back(d);
      if (!peekIs(','))
        break;
      ++pos_;
    }
    MARS_TRY(expect(')'));
    return dims;
  }

  const std::string &text_;
  size_t pos_ = 0;
};

std::optional<NpyDType> dtypeFromDescr(const std::string &descr) {
  for (NpyDType d : {NpyDType::Float32, NpyDType::Int8, NpyDType::UInt8,
                     NpyDType::Int32, NpyDType::Int64, NpyDType::Float64})
    if (descr == npyDescr(d))
      return d;
  return std::nullopt;
}

uint32_t readLE(const std::string &bytes, size_t offset, size_t width) {
  uint32_t v = 0;
  for (size_t i = 0; i < width; ++i)
    v |= uint32_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return v;
}

/// Element count of `shape`, or nullopt when it exceeds kMaxDataBytes.
std::optional<int64_t> checkedElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (d != 0 && n > kMaxDataBytes / d)
      return std::nullopt;
    n *= d;
  }
  return n;
}

Expected<NpyArray> parseNpyImpl(const std::string &bytes) {
  if (bytes.size() < kMagicSize + 2 ||
      bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0)
    return makeError("not a .npy file (bad magic)");
  int major = static_cast<unsigned char>(bytes[kMagicSize]);
  int minor = static_cast<unsigned char>(bytes[kMagicSize + 1]);
  if (minor != 0 || major < 1 || major > 3)
    return makeError("unsupported .npy format version ", major, ".", minor,
                     " (1.0, 2.0 and 3.0 are supported)");
  // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 in 4.
  size_t lenWidth = major == 1 ? 2 : 4;
  size_t headerStart = kMagicSize + 2 + lenWidth;
  if (bytes.size() < headerStart)
    return makeError("truncated header");
  size_t headerLen = readLE(bytes, kMagicSize + 2, lenWidth);
  if (headerLen > bytes.size() - headerStart)
    return makeError("truncated header: it declares ", headerLen,
                     " bytes but the file has ", bytes.size() - headerStart);
  std::string text = bytes.substr(headerStart, headerLen);
  auto header = HeaderParser(text).parse();
  if (!header)
    return header.error();
  if (header->fortranOrder)
    return makeError("fortran_order is True; only C-order arrays are "
                     "supported (save with np.ascontiguousarray)");
  auto dtype = dtypeFromDescr(header->descr);
  if (!dtype) {
    bool bigEndian = !header->descr.empty() && header->descr[0] == '>';
    return makeError("unsupported dtype '", header->descr, "'",
                     bigEndian ? " (big-endian)" : "",
                     "; supported: <f4, |i1, |u1, <i4, <i8");
  }
  auto count = checkedElements(header->shape);
  if (!count || *count > kMaxDataBytes / int64_t(npyDTypeSize(*dtype)))
    return makeError("shape is too large");
  size_t dataBytes = size_t(*count) * npyDTypeSize(*dtype);
  size_t available = bytes.size() - headerStart - headerLen;
  if (available < dataBytes)
    return makeError("truncated data: the shape needs ", dataBytes,
                     " bytes but the file has ", available);
  if (available > dataBytes)
    return makeError(available - dataBytes, " unexpected bytes after the data");
  NpyArray array;
  array.dtype = *dtype;
  array.shape = header->shape;
  const char *data = bytes.data() + headerStart + headerLen;
  array.bytes.assign(data, data + dataBytes);
  return array;
}

std::string headerText(const NpyArray &array) {
  std::ostringstream dict;
  dict << "{'descr': '" << npyDescr(array.dtype)
       << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i)
    dict << (i ? ", " : "") << array.shape[i];
  // A one-element Python tuple needs its trailing comma.
  dict << (array.shape.size() == 1 ? ",), }" : "), }");
  return dict.str();
}

} // namespace

size_t npyDTypeSize(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::Float32:
  case NpyDType::Int32: return 4;
  case NpyDType::Int8:
  case NpyDType::UInt8: return 1;
  case NpyDType::Int64:
  case NpyDType::Float64: return 8;
  }
  MARS_CHECK(false, "unknown NpyDType");
}

const char *npyDescr(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::Float32: return "<f4";
  case NpyDType::Int8: return "|i1";
  case NpyDType::UInt8: return "|u1";
  case NpyDType::Int32: return "<i4";
  case NpyDType::Int64: return "<i8";
  case NpyDType::Float64: return "<f8";
  }
  MARS_CHECK(false, "unknown NpyDType");
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Expected<NpyArray> parseNpy(const std::string &bytes,
                            const std::string &sourceName) {
  auto array = parseNpyImpl(bytes);
  if (!array)
    return array.error().withContext(sourceName);
  return array;
}

Expected<NpyArray> readNpyFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return makeError(path, ": cannot open file");
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    return makeError(path, ": read error");
  return parseNpy(contents.str(), path);
}

Expected<std::string> serializeNpy(const NpyArray &array) {
  auto count = checkedElements(array.shape);
  if (!count ||
      size_t(*count) * npyDTypeSize(array.dtype) != array.bytes.size())
    return makeError("array data size ", array.bytes.size(),
                     " does not match its shape and dtype");
  std::string dict = headerText(array);
  // Pad with spaces so that magic + version + length + header (ending in
  // '\n') is a multiple of kAlign, as numpy does.
  size_t prefix = kMagicSize + 2 + 2;
  size_t total = prefix + dict.size() + 1;
  size_t padded = (total + kAlign - 1) / kAlign * kAlign;
  size_t headerLen = padded - prefix;
  if (headerLen > std::numeric_limits<uint16_t>::max())
    return makeError("header too long for .npy format version 1.0");
  std::string out(kMagic, kMagicSize);
  out += char(1);
  out += char(0);
  out += char(headerLen & 0xff);
  out += char(headerLen >> 8);
  out += dict;
  out.append(padded - total, ' ');
  out += '\n';
  out.append(array.bytes.begin(), array.bytes.end());
  return out;
}

Status writeNpyFile(const NpyArray &array, const std::string &path) {
  auto bytes = serializeNpy(array);
  if (!bytes)
    return bytes.error().withContext(path);
  return writeFileAtomic(path, *bytes);
}

} // namespace mars::data
