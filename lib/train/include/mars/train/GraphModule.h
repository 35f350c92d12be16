#pragma once
// A LibTorch module that executes a Graph IR model: every Conv/Gemm with its
// BatchNormalization and activation becomes a trainable layer, every
// activation that the deployed integer model quantizes has a quantization
// point with a learned clip (PACT). The same object trains in float, runs
// quantization-aware with BN folded into the weights, carries the CIM-group
// masks, and exports the compressed QDQ graph.

#include "mars/arch/CimGroups.h"
#include "mars/ir/Graph.h"
#include "mars/quant/IntegerNet.h"
#include "mars/support/Error.h"

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace mars::train {

enum class RunMode {
  Float,     ///< Plain float, BN with batch statistics when training.
  Calibrate, ///< Float, recording activation ranges for the clips.
  Qat,       ///< Fake quantization with BN folded into the weights.
};

/// A Conv or Gemm with the BatchNormalization folded into it.
struct WeightedLayer {
  ir::NodeId node = -1;      ///< The Conv/Gemm node.
  ir::NodeId bnNode = -1;    ///< Its BatchNormalization, or -1.
  ir::ValueId outValue = -1; ///< BN output if fused, else the node's output.
  bool isConv = true;
  bool transB = true; ///< Gemm: weight stored [out, in].
  std::string name;
  int bits = 4;
  torch::Tensor weight; ///< [out, in/g, kh, kw] or [out, in].
  torch::Tensor bias;   ///< May be undefined.
  torch::Tensor gamma, beta, runningMean, runningVar;
  double eps = 1e-5;
  torch::Tensor mask; ///< 0/1, weight's shape; pruned groups are 0.
  /// Long, weight's numel: the CIM group of each weight, numbered densely
  /// over the `groupCount` groups that hold weights (lib/arch geometry).
  torch::Tensor groupIndex;
  int64_t groupCount = 0;
  arch::GroupGeometry geometry;
  // Conv geometry.
  std::vector<int64_t> strides{1, 1}, pads{0, 0, 0, 0}, dilations{1, 1};
  int64_t groups = 1;
  /// The quantization point of the layer's input (its integer type and
  /// scale), -1 when none (then the ADC is not modelled for it).
  int inputPoint = -1;
};

/// An activation that the integer model quantizes.
struct QuantPoint {
  ir::ValueId value = -1;
  int bits = 4;
  bool isSigned = false;
  /// Tied points (average pools) reuse another point's scale.
  int tiedTo = -1;
  /// Concat inputs share one clip and scale exactly (the integer Concat
  /// copies values, so all its inputs must be on one grid): every point of
  /// a Concat union but its root names the root here.
  int sharedWith = -1;
  /// An input of a Concat: an average pool's output then keeps its union's
  /// scale exactly, without the tie-avoiding factor (lib/quant Policy.h).
  bool concatInput = false;
  torch::Tensor alpha; ///< The clip: scale = alpha / qmax.
};

class GraphModule : public torch::nn::Module {
public:
  /// Builds the module; fails naming the node for ops the trainer cannot
  /// handle. `firstLastBits` applies to the first and last weighted layers
  /// and to the activations feeding the last one.
  static Expected<std::shared_ptr<GraphModule>>
  create(const ir::Graph &graph, const arch::ArchSpec &arch, int wbits,
         int abits, int firstLastBits, bool powerOfTwo, bool signedInput);

  torch::Tensor forward(const torch::Tensor &x);

  void setMode(RunMode mode) { mode_ = mode; }
  RunMode mode() const { return mode_; }
  /// After this, QAT uses running statistics: the deployed arithmetic.
  void freezeBatchNorm(bool frozen) { bnFrozen_ = frozen; }
  bool batchNormFrozen() const { return bnFrozen_; }
  /// The ADC the QAT forward pass computes through. A saturating one clips
  /// each column count as the chip does (AdcForward.h); the gradient stays
  /// the exact convolution's (straight-through). Default: exact.
  void setAdc(const quant::AdcModel &adc) { adc_ = adc; }
  const quant::AdcModel &adc() const { return adc_; }

  /// Starts collecting activation maxima (Calibrate mode); finish sets each
  /// learnable clip to the mean of the recorded batch maxima.
  void beginCalibration();
  void finishCalibration();

  std::vector<WeightedLayer> &layers() { return layers_; }
  const std::vector<WeightedLayer> &layers() const { return layers_; }
  std::vector<QuantPoint> &quantPoints() { return points_; }
  const std::vector<QuantPoint> &quantPoints() const { return points_; }
  const ir::Graph &graph() const { return graph_; }
  bool powerOfTwo() const { return powerOfTwo_; }

  /// The weight the layer computes with in float terms: weight × mask, with
  /// BN folded (w · γ/√(σ²+ε)) when `folded`.
  torch::Tensor effectiveWeight(const WeightedLayer &l, bool folded) const;
  /// The folded bias β + (b − μ)·γ/√(σ²+ε) (or b without BN).
  torch::Tensor foldedBias(const WeightedLayer &l) const;
  /// The scale of quantization point `i` (following ties).
  torch::Tensor pointScale(int i) const;

  /// The float model with the trained weights, BN parameters and running
  /// statistics written back into the graph's initializers.
  ir::Graph floatGraph() const;

  /// Zeroes masked weights in place (after an optimizer step).
  void applyMasks();

  /// Nodes folded into a layer (BN) or dropped (final Softmax).
  bool skipped(ir::NodeId id) const { return skipNode_[id]; }
  /// The layer of a Conv/Gemm node, or -1.
  int layerOf(ir::NodeId id) const {
    auto it = layerOfNode_.find(id);
    return it == layerOfNode_.end() ? -1 : it->second;
  }
  /// The quantization point on a value, or -1.
  int pointOf(ir::ValueId v) const {
    auto it = pointOfValue_.find(v);
    return it == pointOfValue_.end() ? -1 : it->second;
  }
  /// The quantization point a value carries, traced back through MaxPool,
  /// Flatten, Reshape, Identity, Dropout and Concat (its first input, whose
  /// scale all its inputs share); -1 if none.
  int sourcePointOf(ir::ValueId v) const;
  /// The value holding the logits (the output, or the input of a final
  /// Softmax).
  ir::ValueId logitsValue() const { return logitsValue_; }

private:
  GraphModule() = default;
  Status build(const ir::Graph &graph, const arch::ArchSpec &arch, int wbits,
               int abits, int firstLastBits, bool signedInput);
  torch::Tensor runWeighted(const WeightedLayer &l, const torch::Tensor &x);
  /// conv(x, wq) + b in QAT: the exact convolution, or through the ADC.
  torch::Tensor convQat(const WeightedLayer &l, const torch::Tensor &x,
                        const torch::Tensor &wq, const torch::Tensor &b);
  torch::Tensor applyPoint(int point, const torch::Tensor &x);
  Status checkOps(const ir::Graph &g);
  /// A WeightedLayer per Conv/Gemm/MatMul node (BN folded in, its node then
  /// skipped); the Sub/Mul constants the forward pass needs.
  Status addLayers(const ir::Graph &g);
  /// Registers the layer's weights, BN parameters and statistics, and its
  /// pruning mask (all ones), under names starting with `prefix`.
  void registerLayer(WeightedLayer &l, const std::string &prefix);
  /// The points lib/quant's placeQuantization decides, as trainable clips.
  Status addQuantPoints(int wbits, int abits, int firstLastBits,
                        bool signedInput);
  /// The point whose clip point `i` uses (Concat unions followed).
  int shareRoot(int i) const;
  /// A scale not learned: the fixed input grid or an average pool's.
  bool fixedScale(int i) const;
  /// In QAT, whether value v's quantization point clips at 0 itself (an
  /// unsigned point with a learned clip), so a Relu producing v is a second
  /// identical pass: relu(relu(x)) = relu(x), and the point's backward
  /// zeroes the same gradients.
  bool pointAppliesRelu(ir::ValueId v) const;

  ir::Graph graph_;
  std::vector<WeightedLayer> layers_;
  std::vector<QuantPoint> points_;
  std::map<ir::NodeId, int> layerOfNode_;
  std::map<ir::ValueId, int> pointOfValue_;
  std::vector<bool> skipNode_;
  std::map<ir::ValueId, torch::Tensor> constants_; ///< Sub/Mul operands.
  std::vector<std::vector<double>> calibration_;
  RunMode mode_ = RunMode::Float;
  bool bnFrozen_ = false;
  bool powerOfTwo_ = false;
  quant::AdcModel adc_;
  ir::ValueId logitsValue_ = -1;
};

/// Converts an IR constant to a float tensor (a copy).
torch::Tensor toTorch(const ir::Tensor &t);

} // namespace mars::train
