#include "mars/ir/Graph.h"

#include <algorithm>

namespace mars::ir {

std::string nodeContext(const Node &node) {
  return nodeContext(node.name, opName(node.op));
}

std::string nodeContext(const std::string &name, const std::string &opType) {
  return "node '" + name + "' (" + opType + ")";
}

ValueId Graph::addValue(const std::string &valueName, TensorType type) {
  MARS_CHECK(!nameIndex_.count(valueName), "duplicate value name");
  ValueId id = static_cast<ValueId>(values_.size());
  values_.push_back(Value{valueName, std::move(type), std::nullopt, kNoNode});
  nameIndex_[valueName] = id;
  return id;
}

ValueId Graph::addInitializer(const std::string &valueName, Tensor constant) {
  ValueId id = addValue(valueName, constant.type());
  values_[id].constant = std::move(constant);
  return id;
}

NodeId Graph::addNode(OpKind op, const std::string &nodeName,
                      std::vector<ValueId> nodeInputs,
                      std::vector<ValueId> nodeOutputs, AttributeMap attrs) {
  NodeId id = static_cast<NodeId>(nodes_.size());
  for (ValueId out : nodeOutputs)
    value(out).producer = id;
  nodes_.push_back(Node{op, nodeName, std::move(nodeInputs),
                        std::move(nodeOutputs), std::move(attrs)});
  return id;
}

Value &Graph::value(ValueId id) {
  MARS_CHECK(id >= 0 && static_cast<size_t>(id) < values_.size());
  return values_[id];
}
const Value &Graph::value(ValueId id) const {
  MARS_CHECK(id >= 0 && static_cast<size_t>(id) < values_.size());
  return values_[id];
}
Node &Graph::node(NodeId id) {
  MARS_CHECK(id >= 0 && static_cast<size_t>(id) < nodes_.size());
  return nodes_[id];
}
const Node &Graph::node(NodeId id) const {
  MARS_CHECK(id >= 0 && static_cast<size_t>(id) < nodes_.size());
  return nodes_[id];
}

std::optional<ValueId> Graph::findValue(const std::string &valueName) const {
  auto it = nameIndex_.find(valueName);
  if (it == nameIndex_.end())
    return std::nullopt;
  return it->second;
}

std::string Graph::uniqueValueName(const std::string &base) const {
  if (!nameIndex_.count(base))
    return base;
  for (int i = 1;; ++i) {
    std::string candidate = base + "." + std::to_string(i);
    if (!nameIndex_.count(candidate))
      return candidate;
  }
}

std::vector<ValueId> Graph::initializers() const {
  std::vector<ValueId> out;
  for (size_t i = 0; i < values_.size(); ++i)
    if (values_[i].constant)
      out.push_back(static_cast<ValueId>(i));
  return out;
}

std::vector<NodeId> Graph::users(ValueId id) const {
  std::vector<NodeId> out;
  for (size_t n = 0; n < nodes_.size(); ++n)
    if (std::find(nodes_[n].inputs.begin(), nodes_[n].inputs.end(), id) !=
        nodes_[n].inputs.end())
      out.push_back(static_cast<NodeId>(n));
  return out;
}

Status Graph::topoSort() {
  // Kahn's algorithm; among ready nodes, always take the lowest current index
  // so that an already-valid order is kept unchanged.
  const size_t n = nodes_.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<NodeId>> consumers(n);
  for (size_t i = 0; i < n; ++i) {
    for (ValueId in : nodes_[i].inputs) {
      if (in == kNoValue)
        continue;
      if (in < 0 || static_cast<size_t>(in) >= values_.size())
        return makeError(nodeContext(nodes_[i]), ": input id out of range");
      const Value &v = values_[in];
      if (v.producer == kNoNode) {
        bool isInput =
            std::find(inputs.begin(), inputs.end(), in) != inputs.end();
        if (!v.constant && !isInput)
          return makeError(nodeContext(nodes_[i]), ": input '", v.name,
                           "' is not produced by any node, graph input or "
                           "initializer");
        continue;
      }
      ++pending[i];
      consumers[v.producer].push_back(static_cast<NodeId>(i));
    }
  }
  std::vector<NodeId> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0)
      ready.push_back(static_cast<NodeId>(i));
  std::vector<NodeId> order;
  order.reserve(n);
  while (!ready.empty()) {
    auto it = std::min_element(ready.begin(), ready.end());
    NodeId next = *it;
    ready.erase(it);
    order.push_back(next);
    for (NodeId c : consumers[next])
      if (--pending[c] == 0)
        ready.push_back(c);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0)
        return makeError(nodeContext(nodes_[i]),
                         ": the graph has a cycle through this node");
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (NodeId id : order)
    sorted.push_back(std::move(nodes_[id]));
  nodes_ = std::move(sorted);
  for (auto &v : values_)
    v.producer = kNoNode;
  for (size_t i = 0; i < n; ++i)
    for (ValueId out : nodes_[i].outputs)
      values_[out].producer = static_cast<NodeId>(i);
  return Status::success();
}

void Graph::eraseNodes(const std::vector<bool> &dead) {
  MARS_CHECK(dead.size() == nodes_.size());
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!dead[i])
      kept.push_back(std::move(nodes_[i]));
  nodes_ = std::move(kept);

  // Keep values that are still referenced.
  std::vector<bool> used(values_.size(), false);
  for (ValueId v : inputs)
    used[v] = true;
  for (ValueId v : outputs)
    used[v] = true;
  for (const Node &node : nodes_) {
    for (ValueId v : node.inputs)
      if (v != kNoValue)
        used[v] = true;
    for (ValueId v : node.outputs)
      used[v] = true;
  }
  std::vector<ValueId> remap(values_.size(), kNoValue);
  std::vector<Value> keptValues;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (!used[i])
      continue;
    remap[i] = static_cast<ValueId>(keptValues.size());
    keptValues.push_back(std::move(values_[i]));
  }
  values_ = std::move(keptValues);
  auto fix = [&](std::vector<ValueId> &ids) {
    for (ValueId &v : ids)
      if (v != kNoValue)
        v = remap[v];
  };
  fix(inputs);
  fix(outputs);
  for (auto &v : values_)
    v.producer = kNoNode;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    fix(nodes_[i].inputs);
    fix(nodes_[i].outputs);
    for (ValueId out : nodes_[i].outputs)
      values_[out].producer = static_cast<NodeId>(i);
  }
  rebuildNameIndex();
}

size_t Graph::removeDeadCode() {
  size_t removed = 0;
  for (;;) {
    std::vector<bool> used(values_.size(), false);
    for (ValueId v : outputs)
      used[v] = true;
    for (const Node &node : nodes_)
      for (ValueId v : node.inputs)
        if (v != kNoValue)
          used[v] = true;
    std::vector<bool> dead(nodes_.size(), false);
    size_t count = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      bool anyUsed = false;
      for (ValueId v : nodes_[i].outputs)
        anyUsed = anyUsed || used[v];
      if (!anyUsed) {
        dead[i] = true;
        ++count;
      }
    }
    eraseNodes(dead);
    removed += count;
    if (count == 0)
      return removed;
  }
}

void Graph::rebuildNameIndex() {
  nameIndex_.clear();
  for (size_t i = 0; i < values_.size(); ++i)
    nameIndex_[values_[i].name] = static_cast<ValueId>(i);
}

bool Graph::operator==(const Graph &o) const {
  if (name != o.name || inputs != o.inputs || outputs != o.outputs ||
      metadata != o.metadata || values_.size() != o.values_.size() ||
      nodes_.size() != o.nodes_.size())
    return false;
  for (size_t i = 0; i < values_.size(); ++i) {
    const Value &a = values_[i], &b = o.values_[i];
    if (a.name != b.name || a.type != b.type || a.constant != b.constant ||
        a.producer != b.producer)
      return false;
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node &a = nodes_[i], &b = o.nodes_[i];
    if (a.op != b.op || a.name != b.name || a.inputs != b.inputs ||
        a.outputs != b.outputs || !(a.attrs == b.attrs))
      return false;
  }
  return true;
}

} // namespace mars::ir
