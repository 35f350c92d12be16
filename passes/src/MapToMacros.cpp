/// map-to-macros: places every Conv's non-zero CIM groups on partitions of
/// macros, spreads each layer over cores and macros, duplicates weights into
/// idle macros where that shortens the layer, and plans weight reloads when
/// the model does not fit on the chip.
///
/// Requires group-compress. A *tile* is up to rows / wl_on stored groups of
/// one column group; it fills one partition (the partition's columns are
/// wired to that column group's output channels, and its index code lists
/// the tile's row groups). Of three mappings, the one whose schedule takes
/// the fewest cycles by the schedule's clock (ScheduleTrial.h) is kept:
///  - resident: all tiles of the model fit in the chip's partitions at once;
///    weights are loaded once and stay (later images pay no reload). Spare
///    partitions hold replicas of the slowest layers.
///  - rounds: layer by layer, the tiles are loaded in rounds that fill the
///    chip; each round computes every output pixel. A layer with fewer
///    tiles than the chip has partitions is replicated d times and each
///    replica computes 1/d of the pixels.
///  - hybrid: the layers whose reloads in rounds would cost more than their
///    compute stay resident in a few partitions; the others are reloaded
///    in rounds into the partitions left.
/// Tiles are assigned to macros longest-first to the macro whose per-pixel
/// cost (MappingModel.h) grows least, then moved or swapped between macros
/// while that shortens the busiest one, so the busiest macro — the layer's
/// critical path — stays as short as possible; in a layer of several
/// rounds, by each macro's whole layer (its rounds follow one another
/// without a barrier).
#include "MappingModel.h"
#include "ScheduleTrial.h"
#include "mars/passes/Passes.h"

#include <algorithm>
#include <numeric>

namespace mars::passes {

namespace {

struct Tile {
  int32_t colGroup = 0;
  std::vector<int32_t> rowGroups;
};

/// The per-layer facts mapping needs.
struct LayerWork {
  int32_t layer = -1, matrix = -1;
  int64_t pixels = 0;
  int slices = 1;
  std::vector<Tile> tiles;
};

/// One macro's share of one replica of a layer.
struct MacroShare {
  int macro = -1;         ///< Global macro id.
  int firstPartition = 0; ///< Its tiles fill partitions from here on.
  std::vector<int> tiles;
  int64_t sum = 0, max = 0;
};

/// Splits each column group's stored row groups into tiles of at most
/// `slots` groups, and into at least `minTiles` tiles (when it has that
/// many groups), as evenly as possible. Each partition drives its own
/// inputs (DESIGN.md §2), so tiles of one column group in different
/// partitions of a macro activate in the same cycle, up to the bit-line
/// limit.
std::vector<Tile> makeTiles(const program::WeightMatrix &m, int slots,
                            int minTiles = 1) {
  std::vector<Tile> tiles;
  size_t i = 0;
  while (i < m.groups.size()) {
    size_t j = i;
    while (j < m.groups.size() && m.groups[j].colGroup == m.groups[i].colGroup)
      ++j;
    const int64_t n = static_cast<int64_t>(j - i);
    const int64_t chunks = std::max<int64_t>((n + slots - 1) / slots,
                                             std::min<int64_t>(n, minTiles));
    for (int64_t c = 0; c < chunks; ++c) {
      Tile t;
      t.colGroup = m.groups[i].colGroup;
      for (int64_t k = n * c / chunks; k < n * (c + 1) / chunks; ++k)
        t.rowGroups.push_back(m.groups[i + k].rowGroup);
      tiles.push_back(std::move(t));
    }
    i = j;
  }
  return tiles;
}

/// Cycles to write a macro share whose tallest tile has `maxGroups` groups
/// (a LoadImage writes the tallest partition's rows).
int64_t shareLoadCycles(const arch::ArchSpec &a, int64_t maxGroups) {
  return maxGroups * a.macro.wlOn * a.timing.rowWriteCycles;
}

/// Longest-first leaves the busiest macro up to about one tile above the
/// others. This moves a tile from the busiest macro to one with a free
/// partition, or swaps it for a smaller tile of another macro, whenever
/// that makes the busier of the two cheaper than the busiest was; it stops
/// when no such step exists or after `steps` steps.
template <typename Cost, typename Size>
void balanceShares(std::vector<MacroShare> &shares, std::vector<int> &used,
                   const std::vector<int> &freeParts,
                   const std::vector<int> &macros, Cost costOf, Size size,
                   int steps) {
  auto maxWith = [&](const MacroShare &s, int without, int with) {
    int64_t max = with >= 0 ? size(with) : 0;
    for (int t : s.tiles)
      if (t != without)
        max = std::max(max, size(t));
    return max;
  };
  for (int step = 0; step < steps; ++step) {
    size_t worst = 0;
    for (size_t m = 1; m < shares.size(); ++m)
      if (costOf(m, shares[m].sum, shares[m].max) >
          costOf(worst, shares[worst].sum, shares[worst].max))
        worst = m;
    const int64_t top = costOf(worst, shares[worst].sum, shares[worst].max);
    bool improved = false;
    for (size_t m = 0; m < shares.size() && !improved; ++m) {
      if (m == worst)
        continue;
      // Candidates: a move (j = -1) when m has a free partition, and
      // every swap.
      std::vector<int> partners = shares[m].tiles;
      if (used[m] < freeParts[macros[m]])
        partners.push_back(-1);
      for (size_t ii = 0; ii < shares[worst].tiles.size() && !improved; ++ii) {
        const int i = shares[worst].tiles[ii];
        for (int j : partners) {
          const int64_t sj = j >= 0 ? size(j) : 0;
          if (sj >= size(i))
            continue;
          const int64_t sumW = shares[worst].sum - size(i) + sj;
          const int64_t sumM = shares[m].sum + size(i) - sj;
          const int64_t maxW = maxWith(shares[worst], i, j);
          const int64_t maxM = maxWith(shares[m], j, i);
          if (std::max(costOf(worst, sumW, maxW), costOf(m, sumM, maxM)) >= top)
            continue;
          auto &tw = shares[worst].tiles;
          auto &tm = shares[m].tiles;
          tw.erase(tw.begin() + static_cast<std::ptrdiff_t>(ii));
          if (j >= 0) {
            tm.erase(std::find(tm.begin(), tm.end(), j));
            tw.push_back(j);
          } else {
            --used[worst];
            ++used[m];
          }
          tm.push_back(i);
          shares[worst].sum = sumW;
          shares[worst].max = maxW;
          shares[m].sum = sumM;
          shares[m].max = maxM;
          improved = true;
          break;
        }
      }
    }
    if (!improved)
      return;
  }
}

/// Longest-first assignment of `tiles` (indices into work.tiles) to the
/// candidate macros, respecting each macro's free partitions. Returns false
/// when they do not fit. With `carried` (per global macro: the cycles of
/// the layer's earlier rounds on it), a tile goes where the macro's whole
/// layer, this round's load and compute included, ends first: macros run
/// their rounds back to back without a barrier between them, so it is each
/// macro's total that sets the layer's time, not each round's slowest.
bool assignTiles(const arch::ArchSpec &a, const LayerWork &work,
                 const std::vector<int> &tiles, const std::vector<int> &macros,
                 std::vector<int> &freeParts, std::vector<MacroShare> &out,
                 const std::vector<int64_t> *carried = nullptr) {
  std::vector<int> order = tiles;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return work.tiles[x].rowGroups.size() > work.tiles[y].rowGroups.size();
  });
  std::vector<MacroShare> shares(macros.size());
  for (size_t m = 0; m < macros.size(); ++m)
    shares[m].macro = macros[m];
  std::vector<int> used(macros.size(), 0);
  // What macro m costs holding tiles of `sum` groups, the largest `max`.
  auto costOf = [&](size_t m, int64_t sum, int64_t max) {
    const int64_t cycles = pixelSliceCycles(a, max, sum);
    if (!carried)
      return cycles;
    return (*carried)[macros[m]] + shareLoadCycles(a, max) +
           cycles * work.pixels * work.slices;
  };
  auto size = [&](int t) {
    return static_cast<int64_t>(work.tiles[t].rowGroups.size());
  };
  for (int t : order) {
    const int64_t n = size(t);
    int best = -1;
    int64_t bestCost = 0, bestSum = 0;
    for (size_t m = 0; m < macros.size(); ++m) {
      if (used[m] >= freeParts[macros[m]])
        continue;
      const int64_t cost =
          costOf(m, shares[m].sum + n, std::max(shares[m].max, n));
      if (best < 0 || cost < bestCost ||
          (cost == bestCost && shares[m].sum < bestSum)) {
        best = static_cast<int>(m);
        bestCost = cost;
        bestSum = shares[m].sum;
      }
    }
    if (best < 0)
      return false;
    shares[best].tiles.push_back(t);
    shares[best].sum += n;
    shares[best].max = std::max(shares[best].max, n);
    ++used[best];
  }
  balanceShares(shares, used, freeParts, macros, costOf, size,
                4 * static_cast<int>(order.size()));
  for (size_t m = 0; m < macros.size(); ++m) {
    // Partitions are taken in order, so the used ones are a prefix.
    shares[m].firstPartition = a.macro.partitions - freeParts[macros[m]];
    freeParts[macros[m]] -= used[m];
    if (!shares[m].tiles.empty())
      out.push_back(std::move(shares[m]));
  }
  return true;
}

/// A candidate plan of one layer before images exist: per round, per
/// replica, the macro shares; and its estimated cycles.
struct Candidate {
  int replicas = 1;
  std::vector<std::vector<std::vector<MacroShare>>> rounds; // [round][replica]
  int64_t cycles = 0;
};

int64_t shareComputeCycles(const arch::ArchSpec &a, const MacroShare &s,
                           int64_t pixels, int slices) {
  return pixels * slices * pixelSliceCycles(a, s.max, s.sum);
}

/// Replica r computes pixels [P r / d, P (r + 1) / d).
int64_t replicaPixels(int64_t pixels, int d, int r) {
  return pixels * (r + 1) / d - pixels * r / d;
}

/// Estimated cycles of one round: the slowest macro's load plus computes
/// (a macro cannot compute while it is written).
int64_t roundCycles(const arch::ArchSpec &a, const LayerWork &work,
                    const std::vector<std::vector<MacroShare>> &replicas,
                    bool countLoads) {
  std::vector<int64_t> busy(a.totalMacros(), 0);
  const int d = static_cast<int>(replicas.size());
  for (int r = 0; r < d; ++r)
    for (const MacroShare &s : replicas[r]) {
      if (countLoads)
        busy[s.macro] += shareLoadCycles(a, s.max);
      busy[s.macro] += shareComputeCycles(
          a, s, replicaPixels(work.pixels, d, r), work.slices);
    }
  return *std::max_element(busy.begin(), busy.end());
}

/// Plans a layer that has the chip to itself (rounds mode), but for the
/// partitions resident layers hold: `baseFree` gives each macro's free
/// partitions.
Candidate planRounds(const arch::ArchSpec &a, const LayerWork &work,
                     bool allowDuplicates, const std::vector<int> &baseFree) {
  const int M = a.totalMacros();
  const int capacity = std::accumulate(baseFree.begin(), baseFree.end(), 0);
  const int tiles = static_cast<int>(work.tiles.size());
  Candidate best;
  best.cycles = -1;
  if (capacity == 0)
    return best;
  for (int d = 1; d <= M; ++d) {
    if (M % d != 0 ||
        (d > 1 && (!allowDuplicates || int64_t(d) * tiles > capacity)))
      continue;
    Candidate c;
    c.replicas = d;
    // Spread tiles over rounds (only when d == 1 and they do not fit),
    // longest first to the round with the least work.
    const int rounds = std::max(1, (tiles + capacity - 1) / capacity);
    std::vector<std::vector<int>> roundTiles(rounds);
    std::vector<int64_t> roundWork(rounds, 0);
    std::vector<int> order(tiles);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
      return work.tiles[x].rowGroups.size() > work.tiles[y].rowGroups.size();
    });
    for (int t : order) {
      int pick = -1;
      for (int r = 0; r < rounds; ++r)
        if (static_cast<int>(roundTiles[r].size()) < capacity &&
            (pick < 0 || roundWork[r] < roundWork[pick]))
          pick = r;
      roundTiles[pick].push_back(t);
      roundWork[pick] += static_cast<int64_t>(work.tiles[t].rowGroups.size());
    }
    bool ok = true;
    std::vector<int64_t> carried(M, 0); // Per macro: its earlier rounds.
    for (int r = 0; r < rounds && ok; ++r) {
      std::vector<int> freeParts = baseFree;
      std::vector<std::vector<MacroShare>> replicas(d);
      for (int rep = 0; rep < d && ok; ++rep) {
        std::vector<int> macros;
        for (int m = rep * M / d; m < (rep + 1) * M / d; ++m)
          macros.push_back(m);
        ok = assignTiles(a, work, roundTiles[r], macros, freeParts,
                         replicas[rep], rounds > 1 ? &carried : nullptr);
      }
      for (const MacroShare &s : replicas[0]) // d == 1 when rounds > 1.
        carried[s.macro] += shareLoadCycles(a, s.max) +
                            shareComputeCycles(a, s, work.pixels, work.slices);
      c.cycles += roundCycles(a, work, replicas, /*countLoads=*/true);
      c.rounds.push_back(std::move(replicas));
    }
    if (ok && (best.cycles < 0 || c.cycles < best.cycles))
      best = std::move(c);
  }
  return best;
}

/// Turns one macro share into a weight image.
int32_t emitImage(program::Program &p, const LayerWork &work,
                  const MacroShare &share) {
  const program::WeightMatrix &m = p.matrices[work.matrix];
  program::WeightImage image;
  image.core = coreOfMacro(p.arch, share.macro);
  image.macro = macroInCore(p.arch, share.macro);
  image.layer = work.layer;
  image.partitions.resize(p.arch.macro.partitions);
  // Tiles go to the share's partitions in order; other partitions of the
  // macro may hold other layers' tiles (resident mode), so the image leaves
  // them untouched. The partition index does not change the cost.
  for (size_t i = 0; i < share.tiles.size(); ++i) {
    const Tile &t = work.tiles[share.tiles[i]];
    program::PartitionImage &part = image.partitions[share.firstPartition + i];
    part.matrix = work.matrix;
    part.colGroup = t.colGroup;
    part.indexCode.assign((m.rowGroups + 7) / 8, 0);
    for (int32_t rg : t.rowGroups)
      part.indexCode[rg / 8] |= static_cast<uint8_t>(1u << (rg % 8));
  }
  for (program::PartitionImage &part : image.partitions)
    if (part.matrix < 0)
      part.indexCode.clear();
  p.images.push_back(std::move(image));
  return static_cast<int32_t>(p.images.size() - 1);
}

LayerPlan toPlan(program::Program &p, const LayerWork &work, const Candidate &c,
                 bool resident) {
  LayerPlan plan;
  plan.layer = work.layer;
  plan.resident = resident;
  plan.replicas = c.replicas;
  const int d = c.replicas;
  for (const auto &replicas : c.rounds) {
    Round round;
    for (int r = 0; r < d; ++r) {
      const int64_t begin = work.pixels * r / d,
                    end = work.pixels * (r + 1) / d;
      for (const MacroShare &s : replicas[r]) {
        int32_t image = emitImage(p, work, s);
        round.loads.push_back(image);
        if (end > begin)
          round.tasks.push_back(
              {image, static_cast<int32_t>(begin), static_cast<int32_t>(end)});
      }
    }
    plan.rounds.push_back(std::move(round));
  }
  return plan;
}

/// Resident mode: every layer's tiles stay on the chip. Replicas of the
/// slowest layer are added while spare partitions last.
/// `freeLeft` receives each macro's partitions left free.
bool planResident(const arch::ArchSpec &a, const std::vector<LayerWork> &works,
                  bool allowDuplicates, std::vector<Candidate> &out,
                  std::vector<int> &freeLeft) {
  const int M = a.totalMacros();
  std::vector<int> replicas(works.size(), 1);
  auto place = [&](std::vector<Candidate> &cands) {
    std::vector<int> &freeParts = freeLeft;
    freeParts.assign(M, a.macro.partitions);
    cands.assign(works.size(), Candidate{});
    // Big layers first: they are the hardest to fit.
    std::vector<size_t> order(works.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return works[x].tiles.size() > works[y].tiles.size();
    });
    for (size_t l : order) {
      const LayerWork &w = works[l];
      std::vector<int> all(w.tiles.size());
      std::iota(all.begin(), all.end(), 0);
      Candidate &c = cands[l];
      c.replicas = replicas[l];
      std::vector<std::vector<MacroShare>> reps(replicas[l]);
      for (int r = 0; r < replicas[l]; ++r) {
        // Rotate the starting macro so that layers spread over the chip.
        std::vector<int> macros;
        for (int m = 0; m < M; ++m)
          macros.push_back((m + static_cast<int>(l) * 5 + r * M / replicas[l]) %
                           M);
        if (!assignTiles(a, w, all, macros, freeParts, reps[r]))
          return false;
      }
      c.cycles = roundCycles(a, w, reps, /*countLoads=*/false);
      c.rounds.push_back(std::move(reps));
    }
    return true;
  };
  if (!place(out))
    return false;
  if (!allowDuplicates)
    return true;
  std::vector<bool> saturated(works.size(), false);
  for (int step = 0; step < 64; ++step) {
    int slowest = -1;
    for (size_t l = 0; l < works.size(); ++l)
      if (!saturated[l] && (slowest < 0 || out[l].cycles > out[slowest].cycles))
        slowest = static_cast<int>(l);
    if (slowest < 0)
      break;
    replicas[slowest] *= 2;
    std::vector<Candidate> trial;
    if (replicas[slowest] > M || !place(trial)) {
      replicas[slowest] /= 2;
      saturated[slowest] = true;
      continue;
    }
    out = std::move(trial);
  }
  return place(out);
}

/// A whole-model choice: per layer its tiles, candidate and whether it
/// stays resident.
struct Mapping {
  bool ok = false;
  size_t failed = 0; ///< The layer that did not fit, when !ok.
  std::vector<LayerWork> works;
  std::vector<Candidate> cands;
  std::vector<bool> resident;
};

/// Rounds plans for every layer of `works` (coarse tiles, or finer ones
/// when a macro then fires more partitions at once) in `baseFree`.
Mapping allRounds(const program::Program &p,
                  const std::vector<LayerWork> &works, int slots,
                  bool duplicate, const std::vector<int> &baseFree) {
  const arch::ArchSpec &a = p.arch;
  Mapping m;
  for (size_t i = 0; i < works.size(); ++i) {
    LayerWork w = works[i];
    Candidate c = planRounds(a, w, duplicate, baseFree);
    LayerWork fine = w;
    fine.tiles =
        makeTiles(p.matrices[w.matrix], slots, concurrentPartitions(a));
    if (fine.tiles.size() > w.tiles.size()) {
      Candidate f = planRounds(a, fine, duplicate, baseFree);
      if (f.cycles >= 0 && (c.cycles < 0 || f.cycles < c.cycles)) {
        c = std::move(f);
        w = std::move(fine);
      }
    }
    if (c.cycles < 0) {
      m.failed = i;
      return m;
    }
    m.works.push_back(std::move(w));
    m.cands.push_back(std::move(c));
    m.resident.push_back(false);
  }
  m.ok = true;
  return m;
}

/// Keeps resident the layers of `reference` (a rounds mapping) whose
/// reloads cost more than their compute, and reloads the others into the
/// partitions those leave free. Not ok when there is no such split.
Mapping hybridMapping(const program::Program &p,
                      const std::vector<LayerWork> &works, int slots,
                      bool duplicate, const Mapping &reference) {
  const arch::ArchSpec &a = p.arch;
  Mapping none;
  if (std::find(reference.resident.begin(), reference.resident.end(), true) !=
      reference.resident.end())
    return none; // Only a split of a rounds mapping.
  std::vector<LayerWork> kept, reloaded;
  std::vector<bool> keep(works.size());
  for (size_t i = 0; i < works.size(); ++i) {
    const Candidate &c = reference.cands[i];
    int64_t compute = 0;
    for (const auto &round : c.rounds)
      compute += roundCycles(a, works[i], round, /*countLoads=*/false);
    keep[i] = c.cycles - compute > compute;
    (keep[i] ? kept : reloaded).push_back(works[i]);
  }
  if (kept.empty() || reloaded.empty())
    return none;
  std::vector<Candidate> keptCands;
  std::vector<int> free;
  if (!planResident(a, kept, /*allowDuplicates=*/false, keptCands, free))
    return none;
  Mapping rest = allRounds(p, reloaded, slots, duplicate, free);
  if (!rest.ok)
    return none;
  Mapping m;
  m.ok = true;
  size_t k = 0, r = 0;
  for (size_t i = 0; i < works.size(); ++i) {
    if (keep[i]) {
      m.works.push_back(kept[k]);
      m.cands.push_back(std::move(keptCands[k++]));
    } else {
      m.works.push_back(std::move(rest.works[r]));
      m.cands.push_back(std::move(rest.cands[r++]));
    }
    m.resident.push_back(keep[i]);
  }
  return m;
}

/// The work of every Conv layer: its output pixels, input slices and the
/// tiles of its matrix (each fits one partition); adds the tiles to
/// totalTiles.
std::vector<LayerWork> layerWorks(const program::Program &p, int slots,
                                  int64_t &totalTiles) {
  const arch::ArchSpec &a = p.arch;
  std::vector<LayerWork> works;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const program::Layer &l = p.layers[i];
    if (l.kind != program::LayerKind::Conv)
      continue;
    LayerWork w;
    w.layer = static_cast<int32_t>(i);
    w.matrix = l.matrix;
    const program::Buffer &out = p.buffers[l.output];
    w.pixels = int64_t(out.height) * out.width;
    w.slices = inputSlices(a, p.buffers[l.inputs[0]]);
    w.tiles = makeTiles(p.matrices[l.matrix], slots);
    totalTiles += static_cast<int64_t>(w.tiles.size());
    works.push_back(std::move(w));
  }
  return works;
}

/// The schedule's clock picks (the per-layer estimates ignore what happens
/// between layers: posts, barriers, loads issued ahead): the index of the
/// option that serves `goal` best (the fewest scheduled cycles, or the
/// fewest off-chip bytes), the first on ties. `streaming`
/// gets that option's streaming choice, which the schedule pass would
/// otherwise search for again (left empty when there is nothing to pick).
Expected<size_t> pickByClock(const program::Program &p,
                             const std::vector<Mapping> &options, size_t layers,
                             ScheduleGoal goal,
                             std::optional<StreamingChoice> &streaming) {
  size_t pick = 0;
  streaming.reset();
  if (options.size() <= 1)
    return pick;
  for (size_t i = 0; i < options.size(); ++i) {
    program::Program trial = p;
    std::vector<LayerPlan> plans;
    for (size_t l = 0; l < layers; ++l)
      plans.push_back(toPlan(trial, options[i].works[l], options[i].cands[l],
                             options[i].resident[l]));
    Expected<StreamingChoice> choice =
        trialSchedule(std::move(trial), plans, goal);
    if (!choice)
      return choice.error();
    if (!streaming || servesBetter(*choice, *streaming, goal)) {
      streaming = *choice;
      pick = i;
    }
  }
  return pick;
}

/// The chosen mapping: its plans into state.plans (toPlan adds their
/// weight images to p), and the pass's statistics.
void applyMapping(CompileState &state, program::Program &p, Mapping best) {
  std::vector<LayerWork> works = std::move(best.works);
  std::vector<Candidate> &cands = best.cands;
  const bool residentMode = std::all_of(
      best.resident.begin(), best.resident.end(), [](bool r) { return r; });
  const int64_t residentLayers =
      std::count(best.resident.begin(), best.resident.end(), true);
  int64_t replicated = 0, rounds = 0;
  for (size_t i = 0; i < works.size(); ++i) {
    state.plans.push_back(toPlan(p, works[i], cands[i], best.resident[i]));
    replicated += cands[i].replicas > 1;
    rounds += static_cast<int64_t>(cands[i].rounds.size());
  }
  state.count("map-to-macros",
              residentMode ? "resident mode (weights stay on chip)"
                           : "rounds mode (weights reloaded per image)",
              1);
  if (!residentMode && residentLayers > 0)
    state.count("map-to-macros", "layers kept resident beside reloaded ones",
                residentLayers);
  int64_t totalTiles = 0;
  for (const LayerWork &w : works)
    totalTiles += static_cast<int64_t>(w.tiles.size());
  state.count("map-to-macros", "tiles (partition loads)", totalTiles);
  state.count("map-to-macros", "weight images", int64_t(p.images.size()));
  state.count("map-to-macros", "layers replicated into idle macros",
              replicated);
  state.count("map-to-macros", "load rounds", rounds);
}

} // namespace

Expected<bool> runMapToMacros(CompileState &state,
                              const CompileContext &context) {
  if (!state.program)
    return makeError("map-to-macros needs the program of lower-to-program");
  program::Program &p = *state.program;
  const arch::ArchSpec &a = p.arch;
  const int slots = a.macro.rows / a.macro.wlOn;
  if (slots < 1)
    return makeError("macro.rows (", a.macro.rows,
                     ") is smaller than "
                     "macro.wl_on (",
                     a.macro.wlOn, "): no CIM group fits");
  p.images.clear();
  state.plans.clear();

  int64_t totalTiles = 0;
  std::vector<LayerWork> works = layerWorks(p, slots, totalTiles);
  const int64_t chipPartitions = int64_t(a.totalMacros()) * a.macro.partitions;
  const bool duplicate = context.options.duplicate;
  const std::vector<int> wholeChip(a.totalMacros(), a.macro.partitions);

  // Rounds: every layer reloaded onto the whole chip.
  Mapping reloadAll = allRounds(p, works, slots, duplicate, wholeChip);
  if (!reloadAll.ok) {
    const LayerWork &w = works[reloadAll.failed];
    return makeError("layer '", p.layers[w.layer].name, "': its ",
                     w.tiles.size(), " tiles cannot be placed on ",
                     a.totalMacros(), " macros × ", a.macro.partitions,
                     " partitions");
  }
  std::vector<Mapping> options;
  // Resident: weights that fit stay; resident layers share the chip, so
  // each gets only a few macros, while in rounds each has all of them.
  if (totalTiles <= chipPartitions) {
    Mapping resident;
    std::vector<int> free;
    resident.ok = planResident(a, works, duplicate, resident.cands, free);
    if (resident.ok) {
      resident.works = works;
      resident.resident.assign(works.size(), true);
      options.push_back(std::move(resident));
    }
  }
  // Hybrid: layers whose reloads would cost more than their compute (small
  // outputs, such as fully connected layers) stay resident in a few
  // partitions; the others are reloaded into the rest.
  if (Mapping hybrid = hybridMapping(p, works, slots, duplicate, reloadAll);
      hybrid.ok)
    options.push_back(std::move(hybrid));
  options.insert(options.begin(), std::move(reloadAll));
  Expected<size_t> pick = pickByClock(
      p, options, works.size(), context.options.scheduleFor, state.streaming);
  if (!pick)
    return pick.error();
  applyMapping(state, p, std::move(options[*pick]));
  return true;
}

} // namespace mars::passes
