#pragma once
/// \file
/// Builds small onnx::ModelProtos in tests.

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mars::test {

/// A ModelProto under construction. Dims of -1 become symbolic ("N").
class ModelBuilder {
public:
  explicit ModelBuilder(int64_t opset = 17, const std::string &name = "test") {
    model.set_ir_version(8);
    auto *op = model.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model.mutable_graph()->set_name(name);
  }

  ::onnx::GraphProto &graph() { return *model.mutable_graph(); }

  ModelBuilder &input(const std::string &name, const std::vector<int64_t> &dims,
                      int32_t elemType = ::onnx::TensorProto::FLOAT) {
    setInfo(*graph().add_input(), name, dims, elemType);
    return *this;
  }
  ModelBuilder &output(const std::string &name) {
    graph().add_output()->set_name(name);
    return *this;
  }
  ModelBuilder &initializer(const std::string &name,
                            const std::vector<int64_t> &dims,
                            const std::vector<float> &values) {
    auto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
    return *this;
  }
  ModelBuilder &initializerInt64(const std::string &name,
                                 const std::vector<int64_t> &dims,
                                 const std::vector<int64_t> &values) {
    auto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    for (int64_t d : dims)
      t->add_dims(d);
    for (int64_t v : values)
      t->add_int64_data(v);
    return *this;
  }
  ::onnx::NodeProto &node(const std::string &opType,
                          const std::vector<std::string> &inputs,
                          const std::vector<std::string> &outputs,
                          const std::string &name = "") {
    auto *n = graph().add_node();
    n->set_op_type(opType);
    n->set_name(name);
    for (const auto &i : inputs)
      n->add_input(i);
    for (const auto &o : outputs)
      n->add_output(o);
    return *n;
  }
  std::string bytes() const { return model.SerializeAsString(); }

  ::onnx::ModelProto model;

private:
  static void setInfo(::onnx::ValueInfoProto &info, const std::string &name,
                      const std::vector<int64_t> &dims, int32_t elemType) {
    info.set_name(name);
    auto *tt = info.mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elemType);
    auto *shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto *dim = shape->add_dim();
      if (d < 0)
        dim->set_dim_param("N");
      else
        dim->set_dim_value(d);
    }
  }
};

inline void setInt(::onnx::NodeProto &n, const std::string &name, int64_t v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void setFloat(::onnx::NodeProto &n, const std::string &name, float v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void setString(::onnx::NodeProto &n, const std::string &name,
                      const std::string &v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}
inline void setInts(::onnx::NodeProto &n, const std::string &name,
                    const std::vector<int64_t> &v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

} // namespace mars::test
