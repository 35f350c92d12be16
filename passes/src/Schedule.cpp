/// schedule: turns the mapping into per-core instruction streams, allocates
/// the activation buffers in the two ping-pong SRAM banks, places barriers,
/// and estimates the cycles per image against the lower bound that
/// `marsc compile --report` prints.
///
/// Requires map-to-macros. Per Conv layer: for each round, every core loads
/// its macros' images (in rounds mode; resident images are loaded once and
/// the load is free for later images) and issues its Computes; a barrier;
/// every core post-processes a slice of the output channels (running fused
/// layers too); a barrier. Unfused digital layers split channels over cores
/// the same way. When a core's images do not all fit in its weight SRAM,
/// FetchImage brings the streamed ones from off-chip, each placed as early
/// as the weight SRAM has room for it (insertFetches).
#include "BufferAllocation.h"
#include "MappingModel.h"
#include "ScheduleBound.h"
#include "ScheduleClock.h"
#include "ScheduleTrial.h"
#include "TwoStage.h"
#include "mars/passes/Passes.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace mars::passes {

namespace {

using program::Instr;
using program::Opcode;

/// What the streams move off-chip (their cycles are ScheduleClock's).
struct Estimate {
  int64_t dramBytes = 0;
  /// Bytes of images kept in weight SRAM on cores that also stream.
  int64_t pinnedBytes = 0;
};

/// Splits [0, n) over the cores: core c gets [n c / cores, n (c + 1) / cores).
std::pair<int32_t, int32_t> slice(int64_t n, int cores, int c) {
  return {static_cast<int32_t>(n * c / cores),
          static_cast<int32_t>(n * (c + 1) / cores)};
}

class Scheduler {
public:
  /// `streaming.percent`: the share of a streaming core's weight SRAM kept
  /// for fetched images (at least its largest image); the rest pins images
  /// in the order of `streaming.order` and `streaming.unpinnedTail`
  /// (pinVisitOrder). Its `cycles` and `dramBytes` are not read.
  Scheduler(program::Program &p, const std::vector<LayerPlan> &plans,
            std::vector<LayerCost> &costs, const StreamingChoice &streaming)
      : program_(p), arch_(p.arch), plans_(plans), costs_(costs),
        streaming_(streaming) {
    program_.streams.assign(arch_.chip.cores, {});
  }

  Expected<Estimate> run() {
    for (const LayerPlan &plan : plans_)
      planOf_[plan.layer] = &plan;
    // Rounds in execution order, for the one-round-ahead fetches.
    for (size_t i = 0; i < program_.layers.size(); ++i)
      if (auto it = planOf_.find(static_cast<int32_t>(i)); it != planOf_.end())
        for (const Round &r : it->second->rounds) {
          allRounds_.push_back(&r);
          residentRound_.push_back(it->second->resident);
          roundLayer_.push_back(static_cast<int32_t>(i));
        }
    findSources();
    MARS_TRY(checkWeightSram());
    for (size_t i = 0; i < program_.layers.size(); ++i) {
      const program::Layer &l = program_.layers[i];
      if (l.fusedInto >= 0)
        continue;
      LayerCost cost;
      cost.layer = static_cast<int32_t>(i);
      if (l.kind == program::LayerKind::Conv)
        scheduleConv(static_cast<int32_t>(i), cost);
      else
        scheduleDigital(static_cast<int32_t>(i));
      costs_.push_back(cost);
    }
    if (fetching_)
      for (int c = 0; c < arch_.chip.cores; ++c)
        insertFetches(c);
    return estimate_;
  }

private:
  /// Each image's source: the first image on its core with the same bytes
  /// (program::sameImageBytes), so replicas of a layer's weights share one
  /// copy in the weight SRAM and one fetch; an image without an earlier
  /// twin is its own source.
  void findSources() {
    // Per (core, layer): the sources found so far (images of other layers
    // never store the same bytes).
    std::map<std::pair<int32_t, int32_t>, std::vector<int32_t>> sourcesOf;
    source_.resize(program_.images.size());
    for (size_t i = 0; i < program_.images.size(); ++i) {
      const program::WeightImage &im = program_.images[i];
      std::vector<int32_t> &sources = sourcesOf[{im.core, im.layer}];
      auto same = std::find_if(sources.begin(), sources.end(), [&](int32_t j) {
        return program::sameImageBytes(program_.images[j], im);
      });
      source_[i] = same != sources.end() ? *same : static_cast<int32_t>(i);
      if (same == sources.end())
        sources.push_back(static_cast<int32_t>(i));
    }
  }

  /// A LoadImage of `image`, reading its source's bytes (Program.h).
  Instr loadOf(int32_t image) const {
    const int32_t source = source_[image];
    return {Opcode::LoadImage, image, source == image ? 0 : source + 1, 0};
  }

  bool pinned(int32_t image) const { return pinned_[source_[image]]; }

  /// Every image must fit in its core's weight SRAM; which images stay
  /// there for good is pinImages' choice.
  Status checkWeightSram() {
    const int64_t capacity = int64_t(arch_.chip.weightSramKiB) * 1024;
    std::vector<int64_t> perCore(arch_.chip.cores, 0);
    for (size_t i = 0; i < program_.images.size(); ++i) {
      const int64_t bytes = imageBytes(arch_, program_.images[i]);
      if (bytes > capacity)
        return makeError("layer '",
                         program_.layers[program_.images[i].layer].name,
                         "' cannot be mapped even with reloading: one weight "
                         "image holds ",
                         bytes,
                         " bytes but the weight SRAM "
                         "(chip.weight_sram_kib) holds ",
                         capacity, " bytes");
      if (source_[i] == static_cast<int32_t>(i))
        perCore[program_.images[i].core] += bytes;
    }
    pinImages(perCore, capacity);
    for (size_t i = 0; i < program_.images.size(); ++i)
      fetching_ = fetching_ || !pinned(static_cast<int32_t>(i));
    return Status::success();
  }

  /// Chooses the images that stay in their core's weight SRAM for good
  /// (preloaded with the program, never fetched; a source with its
  /// replicas). A core whose images all fit keeps them all. Any other core
  /// streams images from DRAM, which needs room for its largest image, and
  /// keeps `streaming_.percent` of its SRAM for fetching ahead; the rest
  /// keeps images permanently, in the order of pinVisitOrder.
  void pinImages(const std::vector<int64_t> &perCore, int64_t capacity) {
    const int cores = arch_.chip.cores;
    // Room to fetch the core's largest streamed image (insertFetches).
    std::vector<int64_t> reserve(cores, 0);
    for (const program::WeightImage &im : program_.images)
      reserve[im.core] = std::max(reserve[im.core], imageBytes(arch_, im));
    std::vector<int64_t> budget(cores);
    for (int c = 0; c < cores; ++c)
      budget[c] =
          perCore[c] <= capacity
              ? perCore[c]
              : std::max<int64_t>(
                    0,
                    capacity - std::max(reserve[c],
                                        capacity * streaming_.percent / 100));
    pinned_.assign(program_.images.size(), false);
    pinnedOnCore_.assign(cores, 0);
    for (size_t r : pinVisitOrder()) {
      for (int32_t load : allRounds_[r]->loads) {
        const int32_t image = source_[load];
        const int64_t bytes = imageBytes(arch_, program_.images[image]);
        int64_t &left = budget[program_.images[image].core];
        if (pinned_[image] || bytes > left)
          continue;
        pinned_[image] = true;
        pinnedOnCore_[program_.images[image].core] += bytes;
        left -= bytes;
        estimate_.pinnedBytes += bytes;
      }
    }
  }

  /// The rounds in the order pinImages offers them room: the last rounds'
  /// first (late layers hold the most weight per unit of compute) or the
  /// first rounds' (the channel then spends the early, compute-heavy
  /// layers fetching the late ones). With the last rounds first, the
  /// rounds of the final `unpinnedTail` Conv layers come after all others:
  /// the image's final layers run when nothing is left to fetch, so with
  /// their weights pinned the channel would stand idle to the end of the
  /// image, while with the layers before them pinned it fetches the final
  /// layers' weights meanwhile (vgg16 on examples/arch/slow-dram.json:
  /// 1.262 of the bound with none left unpinned, 1.236 with two, measured
  /// before a layer's loads moved ahead of its barrier; 1.231 with three
  /// since).
  std::vector<size_t> pinVisitOrder() const {
    const size_t n = allRounds_.size();
    std::vector<size_t> order(n);
    for (size_t k = 0; k < n; ++k)
      order[k] = streaming_.order == PinOrder::LastRoundsFirst ? n - 1 - k : k;
    if (streaming_.order != PinOrder::LastRoundsFirst ||
        streaming_.unpinnedTail <= 0)
      return order;
    // The first round of the tail: walk back over the final layers (a
    // layer's rounds are consecutive).
    size_t tailBegin = n;
    for (int layers = 0; tailBegin > 0; --tailBegin) {
      const bool newLayer = tailBegin == n || roundLayer_[tailBegin - 1] !=
                                                  roundLayer_[tailBegin];
      if (newLayer && layers++ == streaming_.unpinnedTail)
        break;
    }
    std::stable_partition(order.begin(), order.end(),
                          [&](size_t r) { return r < tailBegin; });
    return order;
  }

  void emit(int core, Opcode op, int32_t a, int32_t b = 0, int32_t c = 0) {
    program_.streams[core].push_back({op, a, b, c});
  }

  void sync() {
    for (int c = 0; c < arch_.chip.cores; ++c)
      emit(c, Opcode::Sync, barrier_);
    ++barrier_;
  }

  /// An instruction waiting to be placed in its core's stream, with the
  /// cycle (within the round) at which its macro becomes free for it. The
  /// list keeps the mapping's order, which the stable sort keeps for ties.
  struct Pending {
    int64_t start;
    Instr instr;
  };

  /// Emits each core's instructions sorted by their macro's free time.
  /// A core issues in order and an instruction cannot start before the one
  /// ahead of it (see the runtime's timing model), so two Computes queued
  /// back to back on one macro would hold up the next macro's work; in
  /// start order every macro starts as soon as it is free, which is what
  /// the per-macro estimate assumes. Each macro's own instructions keep
  /// their order (their start times do not decrease; ties keep the
  /// mapping's order), so every Compute still follows its LoadImage.
  void emitInStartOrder(std::vector<std::vector<Pending>> &pending) {
    for (int core = 0; core < arch_.chip.cores; ++core) {
      auto &list = pending[core];
      std::stable_sort(
          list.begin(), list.end(),
          [](const Pending &x, const Pending &y) { return x.start < y.start; });
      // Loads that start together (on different macros) go by source, so
      // replicas' loads are adjacent and share a fetch (insertFetches).
      for (size_t b = 0; b < list.size();) {
        size_t e = b;
        while (e < list.size() && list[e].instr.op == Opcode::LoadImage &&
               list[e].start == list[b].start)
          ++e;
        std::stable_sort(list.begin() + b, list.begin() + e,
                         [&](const Pending &x, const Pending &y) {
                           return source_[x.instr.a] < source_[y.instr.a];
                         });
        b = std::max(e, b + 1);
      }
      for (const Pending &q : list)
        program_.streams[core].push_back(q.instr);
    }
  }

  /// Puts the core's weight fetches into its finished stream, each as
  /// early as the weight SRAM has room for it: pinned images, plus images
  /// fetched and not yet consumed, plus it, within the capacity. A fetch
  /// starts only after the loads before it have read their bytes out of
  /// the SRAM (Program.h), so a fetch's room is free from the instruction
  /// after the load that consumes it. Fetches keep the order of the loads
  /// they feed, so the DRAM channel runs ahead through compute-heavy
  /// layers with few weights and the weight-heavy ones find theirs
  /// waiting.
  void insertFetches(int core) {
    const int64_t capacity = int64_t(arch_.chip.weightSramKiB) * 1024;
    std::vector<Instr> &stream = program_.streams[core];
    std::vector<int32_t> fetchOf; // Per instruction: the fetch it reads.
    const std::vector<Fetch> fetches = planFetches(stream, fetchOf);
    auto bytesOf = [&](size_t f) {
      return imageBytes(arch_, program_.images[fetches[f].image]);
    };
    std::vector<Instr> out;
    out.reserve(stream.size() + fetches.size());
    size_t next = 0;
    int64_t inFlight = 0; // Fetched, not yet consumed.
    auto fetchNext = [&] {
      out.push_back({Opcode::FetchImage, fetches[next].image, 0, 0});
      inFlight += bytesOf(next);
      estimate_.dramBytes += bytesOf(next);
      ++next;
    };
    for (size_t k = 0; k < stream.size(); ++k) {
      while (next < fetches.size() &&
             pinnedOnCore_[core] + inFlight + bytesOf(next) <= capacity)
        fetchNext();
      const int32_t f = fetchOf[k];
      // Unreachable unless nothing is in flight, when one image always
      // fits (pinImages kept room): a load never precedes its fetch.
      if (f >= 0 && size_t(f) == next)
        fetchNext();
      out.push_back(stream[k]);
      if (f >= 0 && fetches[f].lastLoad == k)
        inFlight -= bytesOf(f);
    }
    stream = std::move(out);
  }

  /// One fetch of a streamed source, and the last of the loads reading it
  /// (which consumes it; the others keep it, Program.h).
  struct Fetch {
    int32_t image;
    size_t lastLoad;
  };

  /// The fetches `stream` needs, in the order of their loads: a run of
  /// adjacent streamed loads of one source (an image and its replicas,
  /// each once) shares one fetch. Sets the keep operand of the loads and
  /// `fetchOf`, per instruction, the fetch it reads (-1: none).
  std::vector<Fetch> planFetches(std::vector<Instr> &stream,
                                 std::vector<int32_t> &fetchOf) const {
    std::vector<Fetch> fetches;
    fetchOf.assign(stream.size(), -1);
    std::set<int32_t> runImages; // Images the open run has loaded.
    for (size_t k = 0; k < stream.size(); ++k) {
      Instr &in = stream[k];
      if (in.op != Opcode::LoadImage || pinned(in.a))
        continue;
      const int32_t source = program::loadSource(in);
      const bool sameRun = !fetches.empty() && fetches.back().image == source &&
                           runImages.insert(in.a).second;
      if (sameRun) {
        stream[fetches.back().lastLoad].c = 1; // Keep for this load.
        fetches.back().lastLoad = k;
      } else {
        fetches.push_back({source, k});
        runImages = {in.a};
      }
      fetchOf[k] = static_cast<int32_t>(fetches.size() - 1);
    }
    return fetches;
  }

  void scheduleConv(int32_t layer, LayerCost &cost) {
    const LayerPlan &plan = *planOf_.at(layer);
    describe(plan, cost);
    for (const Round &round : plan.rounds) {
      ++roundIndex_;
      std::vector<int64_t> busy(arch_.totalMacros(), 0);
      std::vector<std::vector<Pending>> pending(arch_.chip.cores);
      // Queues `instr` on its core at the time its macro becomes free.
      auto queue = [&](const program::WeightImage &im, Instr instr,
                       int64_t cycles) {
        int64_t &macroBusy = busy[globalMacro(arch_, im.core, im.macro)];
        auto &list = pending[im.core];
        list.push_back({macroBusy, instr});
        macroBusy += cycles;
      };
      for (int32_t image : round.loads) {
        if (preloaded_.count(image))
          continue;
        const program::WeightImage &im = program_.images[image];
        queue(im, loadOf(image),
              plan.resident
                  ? 0
                  : imageRows(arch_, im) * arch_.timing.rowWriteCycles);
      }
      const int slices = inputSlices(
          arch_, program_.buffers[program_.layers[layer].inputs[0]]);
      for (const ComputeTask &t : round.tasks) {
        const program::WeightImage &im = program_.images[t.image];
        int64_t maxG = 0, sumG = 0;
        for (const program::PartitionImage &part : im.partitions) {
          maxG = std::max<int64_t>(maxG, program::storedGroups(part));
          sumG += program::storedGroups(part);
        }
        queue(im, {Opcode::Compute, t.image, t.pixelBegin, t.pixelEnd},
              int64_t(t.pixelEnd - t.pixelBegin) * slices *
                  pixelSliceCycles(arch_, maxG, sumG));
      }
      emitInStartOrder(pending);
    }
    preloadNextRound(); // Behind this layer's Computes, before the barrier.
    sync();
    spreadChannels(layer, Opcode::Post);
  }

  /// Issues the next round's macro loads ahead of time: right behind a
  /// Conv layer's last Computes, before its barrier, and behind a digital
  /// layer. Each load waits only for its own macro (and its fetch), and
  /// barriers do not wait for loads (the runtime's timing model), so the
  /// rows are written while the other macros finish, the cores meet at the
  /// barrier and the digital pipeline post-processes, instead of after the
  /// post. The next round runs on the same macros after this layer's
  /// Computes, which precede the loads in each core's stream. Resident
  /// layers' loads cost nothing and stay where they are.
  void preloadNextRound() {
    if (roundIndex_ >= allRounds_.size() || residentRound_[roundIndex_])
      return;
    std::vector<int32_t> loads; // Replicas adjacent, as emitInStartOrder.
    for (int32_t image : allRounds_[roundIndex_]->loads)
      if (preloaded_.insert(image).second)
        loads.push_back(image);
    std::stable_sort(loads.begin(), loads.end(), [&](int32_t x, int32_t y) {
      return source_[x] < source_[y];
    });
    for (int32_t image : loads)
      program_.streams[program_.images[image].core].push_back(loadOf(image));
  }

  /// The mapping-quality numbers of a Conv layer (see LayerCost).
  void describe(const LayerPlan &plan, LayerCost &cost) {
    const program::Layer &l = program_.layers[plan.layer];
    const int slices = inputSlices(arch_, program_.buffers[l.inputs[0]]);
    std::set<int> macros;
    int64_t cells = 0;
    for (const Round &round : plan.rounds) {
      for (int32_t image : round.loads) {
        const program::WeightImage &im = program_.images[image];
        macros.insert(globalMacro(arch_, im.core, im.macro));
        for (const program::PartitionImage &part : im.partitions)
          cells += int64_t(program::storedGroups(part)) * arch_.macro.wlOn *
                   arch_.partitionCols();
      }
      for (const ComputeTask &t : round.tasks) {
        int64_t groups = 0;
        for (const program::PartitionImage &part :
             program_.images[t.image].partitions)
          groups += program::storedGroups(part);
        cost.activations +=
            int64_t(t.pixelEnd - t.pixelBegin) * slices * groups;
      }
    }
    const program::WeightMatrix &m = program_.matrices[l.matrix];
    if (!plan.resident)
      cost.loadBits = static_cast<int64_t>(m.groups.size()) * arch_.macro.wlOn *
                      arch_.partitionCols();
    cost.macrosUsed = static_cast<int32_t>(macros.size());
    cost.rounds = static_cast<int32_t>(plan.rounds.size());
    cost.replicas = plan.replicas;
    const double capacity = double(macros.size()) * arch_.macro.rows *
                            arch_.macro.cols *
                            std::max<size_t>(1, plan.rounds.size());
    cost.cellUtilisation = capacity > 0 ? cells / capacity : 0;
    // The layer's own bound: its compute on the whole chip (each group
    // once: replicas are the schedule's choice, not work the layer needs).
    cost.boundCycles = static_cast<int64_t>(
        layerMacroCycles(program_, plan.layer) / arch_.totalMacros());
  }

  void scheduleDigital(int32_t layer) {
    spreadChannels(layer, Opcode::Digital);
  }

  /// `op` (Post or Digital) over the layer's output channels, a slice per
  /// core; the next round's images load meanwhile; then a barrier.
  void spreadChannels(int32_t layer, Opcode op) {
    const program::Layer &l = program_.layers[layer];
    const int64_t channels = program_.buffers[l.output].channels;
    for (int c = 0; c < arch_.chip.cores; ++c) {
      auto [b, e] = slice(channels, arch_.chip.cores, c);
      if (e > b)
        emit(c, op, layer, b, e);
    }
    preloadNextRound();
    sync();
  }

  program::Program &program_;
  const arch::ArchSpec &arch_;
  const std::vector<LayerPlan> &plans_;
  std::vector<LayerCost> &costs_;
  StreamingChoice streaming_;
  std::map<int32_t, const LayerPlan *> planOf_;
  std::vector<const Round *> allRounds_;
  std::vector<bool> residentRound_; ///< Per round: its layer is resident.
  std::vector<int32_t> roundLayer_; ///< Per round: its Conv layer.
  std::set<int32_t> preloaded_; ///< Images loaded ahead by preloadNextRound.
  size_t roundIndex_ = 0;
  std::vector<int64_t> pinnedOnCore_; ///< Bytes of pinned images per core.
  bool fetching_ = false;
  /// Per source image: kept in weight SRAM, never fetched (see pinned()).
  std::vector<bool> pinned_;
  std::vector<int32_t> source_; ///< Per image: findSources.

  int32_t barrier_ = 0;
  Estimate estimate_;
};

/// How much of the weight SRAM to keep for streaming rather than pinning
/// trades DRAM traffic against how far fetches can run ahead, and which
/// images to pin decides when the channel idles; the clock of each
/// candidate schedule decides for `goal` (servesBetter; the first on
/// ties). Leaves `p.streams` of the last trial.
Expected<StreamingChoice> chooseStreaming(program::Program &p,
                                          const std::vector<LayerPlan> &plans,
                                          ScheduleGoal goal) {
  StreamingChoice best, bestLast; // Of all trials; of LastRoundsFirst ones.
  bool streams = true;
  auto trySchedule = [&](int percent, PinOrder order,
                         int unpinnedTail) -> Status {
    if (!streams)
      return Status::success(); // Nothing streams: the choice is moot.
    std::vector<LayerCost> costs;
    Scheduler trial(p, plans, costs, {percent, order, -1, unpinnedTail});
    Expected<Estimate> est = trial.run();
    if (!est)
      return est.error();
    streams = est->dramBytes > 0;
    Expected<ScheduleTiming> timing = timeSchedule(p);
    if (!timing)
      return timing.error();
    const StreamingChoice choice{percent, order, timing->cycles, unpinnedTail,
                                 est->dramBytes};
    if (best.cycles < 0 || servesBetter(choice, best, goal))
      best = choice;
    if (order == PinOrder::LastRoundsFirst &&
        (bestLast.cycles < 0 || servesBetter(choice, bestLast, goal)))
      bestLast = choice;
    return Status::success();
  };
  // From mostly pinned (DRAM-bound models: fewer bytes cross) to nearly
  // all kept for fetches (the channel can then run furthest ahead). For
  // the least traffic, also room for the largest image only (0%): the
  // most pinned.
  std::vector<int> percents = {20, 45, 70, 96};
  if (goal == ScheduleGoal::Traffic)
    percents.insert(percents.begin(), 0);
  for (PinOrder order : {PinOrder::LastRoundsFirst, PinOrder::FirstRoundsFirst})
    for (int percent : percents)
      MARS_TRY(trySchedule(percent, order, 0));
  if (!streams)
    return best;
  // Then the final layers left unpinned, at the best share of the last
  // rounds first, and at the other shares for the best of them (a search
  // by coordinates: the full grid of tails 0-3 × shares × orders costs
  // four times the trials and chose the same on ScheduleAgreementTest's 15
  // models and archs).
  const int share = bestLast.percent;
  for (int tail = 1; tail <= kMaxUnpinnedTail; ++tail)
    MARS_TRY(trySchedule(share, PinOrder::LastRoundsFirst, tail));
  if (best.unpinnedTail > 0)
    for (int percent : percents)
      if (percent != share)
        MARS_TRY(
            trySchedule(percent, PinOrder::LastRoundsFirst, best.unpinnedTail));
  return best;
}

/// The most a two-stage schedule may cost (cycles or bytes) to be worth its
/// doubled latency against a one-stage one costing `one`: 5% less.
int64_t worthPipelining(int64_t one) { return one * 19 / 20; }

/// Whether a two-stage schedule is worth it: 5% fewer cycles per image, or
/// for --schedule-for traffic 5% fewer off-chip bytes (vgg16 on the
/// default arch would save 0.4% of its bytes by traffic, and double its
/// latency).
bool pipelineWins(const StreamingChoice &two, const StreamingChoice &one,
                  ScheduleGoal goal) {
  if (goal == ScheduleGoal::Traffic)
    return two.dramBytes <= worthPipelining(one.dramBytes);
  return two.cycles <= worthPipelining(one.cycles);
}

} // namespace

Expected<StreamingChoice> trialSchedule(program::Program p,
                                        const std::vector<LayerPlan> &plans,
                                        ScheduleGoal goal) {
  allocateBuffers(p);
  return chooseStreaming(p, plans, goal);
}

Expected<bool> runSchedule(CompileState &state, const CompileContext &context) {
  if (!state.program || state.plans.empty())
    return makeError("schedule needs the mapping of map-to-macros");
  program::Program &p = *state.program;
  int64_t spilled = allocateBuffers(p);
  // map-to-macros' trial of the mapping it picked already chose.
  Expected<StreamingChoice> choice =
      state.streaming
          ? *state.streaming
          : chooseStreaming(p, state.plans, context.options.scheduleFor);
  if (!choice)
    return choice.error();
  state.costs.clear();
  Scheduler scheduler(p, state.plans, state.costs, *choice);
  Expected<Estimate> est = scheduler.run();
  if (!est)
    return est.error();
  Expected<ScheduleTiming> timing = timeSchedule(p);
  if (!timing)
    return timing.error();
  state.pipelineCut = -1;
  state.pipelineFirstCores = 0;
  int64_t dramBytes = est->dramBytes;
  // A two-stage pipeline (TwoStage.h) may keep the DRAM channel busier
  // where a run of layers stores more weight than the chip holds: one
  // image at a time, the channel then idles before that run with the
  // weight SRAM full (the capacity bound is above the plain one). It
  // replaces this schedule when it serves the goal well enough to be worth
  // twice the latency (pipelineWins). Elsewhere it is not tried: halving
  // the cores of each stage gains nothing there (torchvision's resnet18 at
  // 224×224 on the default arch: six cuts, the best 14% slower).
  const Stages stages = context.options.stages;
  p.info.boundCycles = lowerBoundCycles(p);
  state.capacityBound = capacityBound(p, p.info.boundCycles);
  const bool heldUp = dramBytes > 0 && state.capacityBound.firstLayer >= 0;
  if (!state.pipelineStage && stages != Stages::One &&
      (heldUp || stages == Stages::Two)) {
    // The cycles a pipeline must reach to win (pipelineWins).
    const int64_t toBeat =
        stages == Stages::Two ||
                context.options.scheduleFor == ScheduleGoal::Traffic
            ? std::numeric_limits<int64_t>::max()
            : worthPipelining(timing->cycles);
    Expected<std::optional<TwoStageSchedule>> staged =
        bestTwoStages(p, toBeat, context);
    if (!staged)
      return staged.error();
    const StreamingChoice single{0, PinOrder::LastRoundsFirst, timing->cycles,
                                 0, dramBytes};
    if (*staged &&
        (stages == Stages::Two ||
         pipelineWins((*staged)->score, single, context.options.scheduleFor))) {
      TwoStageSchedule &two = **staged;
      p = std::move(two.program);
      state.plans = std::move(two.plans);
      state.costs = std::move(two.costs);
      state.pipelineCut = two.cut;
      state.pipelineFirstCores = two.firstStageCores;
      dramBytes = two.score.dramBytes;
      spilled = 0;
      for (const program::Buffer &b : p.buffers)
        spilled += b.memory == program::Memory::Dram;
      timing = timeSchedule(p);
      if (!timing)
        return timing.error();
    }
  }
  p.info.scheduledCycles = timing->cycles;
  // Each layer's share: how far its last instruction moves the end of the
  // work before it (layers overlap only through early weight fetches). A
  // pipeline's second stage runs beside the first: its layers count from
  // the period's start.
  int64_t end = 0;
  for (LayerCost &cost : state.costs) {
    if (cost.layer == state.pipelineCut)
      end = 0;
    int64_t layerEnd = timing->layerEnd[cost.layer];
    for (size_t j = 0; j < p.layers.size(); ++j)
      if (p.layers[j].fusedInto == cost.layer)
        layerEnd = std::max(layerEnd, timing->layerEnd[j]);
    cost.scheduledCycles = std::max<int64_t>(0, layerEnd - end);
    end = std::max(end, layerEnd);
  }
  state.offChipWeightBytes = dramBytes;
  state.scheduledFor = context.options.scheduleFor;
  int64_t instructions = 0;
  for (const auto &s : p.streams)
    instructions += static_cast<int64_t>(s.size());
  state.count("schedule", "instructions", instructions);
  state.count("schedule", "buffers spilled to DRAM", spilled);
  state.count("schedule", "off-chip weight bytes per image", dramBytes);
  if (state.pipelineCut >= 0)
    state.count("schedule", "two-stage pipeline: cores of the first stage",
                state.pipelineFirstCores);
  // How the one-stage schedule streams (each stage of a pipeline has its
  // own choice).
  const bool streams = est->dramBytes > 0 && state.pipelineCut < 0;
  if (streams)
    state.count("schedule",
                "% of streaming cores' weight SRAM kept for fetches",
                choice->percent);
  if (streams && choice->order == PinOrder::FirstRoundsFirst)
    state.count("schedule", "first layers' weights pinned (late ones streamed)",
                1);
  if (streams)
    state.count("schedule", "weight bytes kept in weight SRAM (never fetched)",
                est->pinnedBytes);
  if (streams && choice->unpinnedTail > 0)
    state.count("schedule", "final Conv layers pinned only after all others",
                choice->unpinnedTail);
  return true;
}

} // namespace mars::passes
