#include "common/RequireData.h"
#include "mars/data/Npy.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace mars::data;
using mars::Status;

namespace {

/// A scratch directory for this test binary, created on first use.
std::string scratchDir() {
  static const std::string dir = [] {
    std::string d = std::string(MARS_BINARY_DIR) + "/test/data/scratch";
    std::system(("mkdir -p '" + d + "'").c_str());
    return d;
  }();
  return dir;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

bool fileExists(const std::string &path) { return std::ifstream(path).good(); }

template <typename T>
NpyArray makeArray(NpyDType dtype, std::vector<int64_t> shape,
                   const std::vector<T> &values) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.bytes.resize(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  return a;
}

/// A .npy file with the given version and header dict (padded with spaces
/// and '\n' as numpy does) followed by `data`.
std::string handMade(int major, const std::string &dict,
                     const std::string &data) {
  std::string header = dict;
  size_t lenWidth = major == 1 ? 2 : 4;
  while ((10 - 2 + lenWidth + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  for (size_t i = 0; i < lenWidth; ++i)
    out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string floatBytes(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(float));
}

std::string parseError(const std::string &bytes) {
  auto r = parseNpy(bytes, "x.npy");
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}

} // namespace

TEST_CASE("npy: version 1.0 header is numpy's, 64-byte aligned") {
  NpyArray a = makeArray<float>(NpyDType::Float32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto bytes = serializeNpy(a);
  REQUIRE(bytes.ok());
  std::string expected =
      handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
               floatBytes({1, 2, 3, 4, 5, 6}));
  CHECK(*bytes == expected);
  CHECK((bytes->size() - 24) % 64 == 0);
}

TEST_CASE("npy: round trip of every dtype and shape kind") {
  std::vector<NpyArray> arrays = {
      makeArray<float>(NpyDType::Float32, {1, 3, 2, 2},
                       {0, 1, -1, 2.5f, 1e-30f, -0.f, 3, 4, 5, 6, 7, 8}),
      makeArray<int8_t>(NpyDType::Int8, {4}, {-128, -1, 0, 127}),
      makeArray<uint8_t>(NpyDType::UInt8, {2, 2}, {0, 1, 128, 255}),
      makeArray<int32_t>(NpyDType::Int32, {}, {-123456}),
      makeArray<int64_t>(NpyDType::Int64, {3, 1}, {INT64_MIN, 0, INT64_MAX}),
      makeArray<float>(NpyDType::Float32, {0, 5}, {}),
  };
  for (const NpyArray &a : arrays) {
    std::string path = scratchDir() + "/rt.npy";
    REQUIRE(writeNpyFile(a, path).ok());
    auto back = readNpyFile(path);
    REQUIRE(back.ok());
    CHECK(*back == a);
    CHECK_FALSE(fileExists(path + ".tmp"));
  }
}

TEST_CASE("npy: format versions 2.0 and 3.0 are read") {
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  for (int major : {2, 3}) {
    auto a = parseNpy(handMade(major, dict, floatBytes({1, 2, 3})), "x.npy");
    REQUIRE(a.ok());
    CHECK(a->shape == std::vector<int64_t>{3});
    CHECK(a->bytes.size() == 12);
  }
}

TEST_CASE("npy: header variants numpy accepts are read") {
  // Double quotes, keys in another order, no trailing comma, scalar shape.
  std::string dict = "{\"shape\": (), \"fortran_order\": False, "
                     "\"descr\": \"<f4\"}";
  auto a = parseNpy(handMade(1, dict, floatBytes({7})), "x.npy");
  REQUIRE(a.ok());
  CHECK(a->shape.empty());
  CHECK(a->numElements() == 1);
}

TEST_CASE("npy: malformed files are clear errors") {
  std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  std::string data = floatBytes({1, 2});
  CHECK_THAT(parseError("hello world"), Catch::Contains("x.npy: not a .npy"));
  CHECK_THAT(parseError(""), Catch::Contains("bad magic"));
  std::string v9 = handMade(1, f4, data);
  v9[6] = 9;
  CHECK_THAT(parseError(v9), Catch::Contains("version 9.0"));
  CHECK_THAT(parseError(handMade(1, f4, data).substr(0, 20)),
             Catch::Contains("truncated header"));
  CHECK_THAT(parseError(handMade(1, f4, data.substr(0, 5))),
             Catch::Contains("truncated data"));
  CHECK_THAT(parseError(handMade(1, f4, data + "xx")),
             Catch::Contains("unexpected bytes"));
  CHECK_THAT(
      parseError(handMade(
          1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data)),
      Catch::Contains("fortran_order"));
  CHECK_THAT(parseError(handMade(
                 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                 data)),
             Catch::Contains("big-endian"));
  CHECK_THAT(parseError(handMade(
                 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
                 std::string(2, '\0'))),
             Catch::Contains("unsupported dtype '<f2'"));
  CHECK_THAT(parseError(handMade(1, "{'descr': '<f4', 'shape': (2,), }", data)),
             Catch::Contains("malformed header"));
  CHECK_THAT(
      parseError(handMade(
          1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
          data)),
      Catch::Contains("malformed header"));
  CHECK_THAT(
      parseError(handMade(
          1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
          data)),
      Catch::Contains("unexpected key 'x'"));
  CHECK_THAT(parseError(handMade(1,
                                 "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (99999999999, 99999999999), }",
                                 data)),
             Catch::Contains("too large"));
}

TEST_CASE("npy: missing file and failed write leave nothing behind") {
  auto r = readNpyFile(scratchDir() + "/does-not-exist.npy");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Catch::Contains("cannot open"));

  NpyArray a = makeArray<float>(NpyDType::Float32, {1}, {1});
  std::string badDir = scratchDir() + "/no/such/dir/x.npy";
  Status s = writeNpyFile(a, badDir);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message(), Catch::Contains(badDir));

  NpyArray inconsistent = a;
  inconsistent.shape = {3};
  std::string path = scratchDir() + "/inconsistent.npy";
  std::remove(path.c_str());
  CHECK_FALSE(writeNpyFile(inconsistent, path).ok());
  CHECK_FALSE(fileExists(path));
  CHECK_FALSE(fileExists(path + ".tmp"));
}

TEST_CASE("npy: cross-checked against numpy") {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MARS_SKIP_MISSING("/usr/bin/python3 with numpy");
    return;
  }
  std::string dir = scratchDir();
  // marsc writes, numpy reads and checks.
  REQUIRE(writeNpyFile(makeArray<float>(NpyDType::Float32, {2, 3},
                                        {0, 1.5f, -2, 3, 4, 5}),
                       dir + "/m_f4.npy")
              .ok());
  REQUIRE(writeNpyFile(makeArray<int8_t>(NpyDType::Int8, {3}, {-128, 0, 127}),
                       dir + "/m_i1.npy")
              .ok());
  REQUIRE(writeNpyFile(makeArray<int64_t>(NpyDType::Int64, {}, {-5}),
                       dir + "/m_i8.npy")
              .ok());
  std::string script = dir + "/check.py";
  writeFile(script,
            "import numpy as np, sys\n"
            "d = sys.argv[1]\n"
            "a = np.load(d + '/m_f4.npy')\n"
            "assert a.dtype == np.float32 and a.shape == (2, 3)\n"
            "assert (a == np.array([[0, 1.5, -2], [3, 4, 5]], "
            "np.float32)).all()\n"
            "b = np.load(d + '/m_i1.npy')\n"
            "assert b.dtype == np.int8 and list(b) == [-128, 0, 127]\n"
            "c = np.load(d + '/m_i8.npy')\n"
            "assert c.dtype == np.int64 and c.shape == () and c == -5\n"
            "np.save(d + '/n_f4.npy', np.arange(24, dtype=np.float32)"
            ".reshape(2, 3, 4) / 8)\n"
            "np.save(d + '/n_u1.npy', np.array([0, 200, 255], np.uint8))\n"
            "np.save(d + '/n_i4.npy', np.array([[-7], [9]], np.int32))\n"
            "np.save(d + '/n_fortran.npy', np.asfortranarray("
            "np.ones((2, 3), np.float32)))\n"
            "np.lib.format.write_array(open(d + '/n_v2.npy', 'wb'), "
            "np.ones(4, np.float32), version=(2, 0))\n"
            "np.lib.format.write_array(open(d + '/n_v3.npy', 'wb'), "
            "np.ones(4, np.float32), version=(3, 0))\n");
  REQUIRE(std::system(
              ("/usr/bin/python3 '" + script + "' '" + dir + "'").c_str()) ==
          0);
  // numpy writes, marsc reads.
  auto f4 = readNpyFile(dir + "/n_f4.npy");
  REQUIRE(f4.ok());
  CHECK(f4->shape == std::vector<int64_t>{2, 3, 4});
  const float *f = reinterpret_cast<const float *>(f4->bytes.data());
  for (int i = 0; i < 24; ++i)
    CHECK(f[i] == float(i) / 8);
  auto u1 = readNpyFile(dir + "/n_u1.npy");
  REQUIRE(u1.ok());
  CHECK(u1->dtype == NpyDType::UInt8);
  CHECK(u1->bytes == std::vector<uint8_t>{0, 200, 255});
  auto i4 = readNpyFile(dir + "/n_i4.npy");
  REQUIRE(i4.ok());
  CHECK(i4->dtype == NpyDType::Int32);
  CHECK(i4->shape == std::vector<int64_t>{2, 1});
  auto fortran = readNpyFile(dir + "/n_fortran.npy");
  REQUIRE_FALSE(fortran.ok());
  CHECK_THAT(fortran.error().message(), Catch::Contains("fortran_order"));
  for (const char *name : {"/n_v2.npy", "/n_v3.npy"}) {
    auto v = readNpyFile(dir + name);
    REQUIRE(v.ok());
    CHECK(v->numElements() == 4);
  }
  // Byte-identical to numpy's own writer.
  REQUIRE(writeNpyFile(*f4, dir + "/m_copy.npy").ok());
  CHECK(readFile(dir + "/m_copy.npy") == readFile(dir + "/n_f4.npy"));
}
