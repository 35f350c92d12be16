#!/usr/bin/env bash
# The plausibility table (issue 12, point 6): CIFAR-sized vgg16 and resnet18
# from `marsc zoo`, W4A4 (post-training quantization on random calibration
# images: timing and energy do not depend on the weights' values, only on
# which CIM groups are zero), 0% and 50% of CIM groups zero, on the default
# arch: frames per second, latency, energy per image, TOPS/W of the macros,
# the chip without DRAM and with DRAM (effective, on the dense model's
# operations), and where the cores' time goes; then the same models at 50%
# scheduled for the least off-chip traffic (--schedule-for traffic) beside
# the default (cycles); then the simulated cycles against the plain and the
# capacity lower bounds. Writes docs/plausibility.md; every figure in it is
# printed by this script.
# Usage: plausibility.sh MARSC OUTDIR [--arch a.json]
set -euo pipefail
marsc=${1:?usage: plausibility.sh MARSC OUTDIR [--arch a.json]}
out=${2:?usage: plausibility.sh MARSC OUTDIR [--arch a.json]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for model in vgg16 resnet18; do
  "$marsc" zoo "$model" -o "$out/$model.onnx" > /dev/null
  for prune in 0 0.5; do
    name="$model-prune$prune"
    "$marsc" compile "$out/$model.onnx" --calib random --prune "$prune" \
      "$@" --json-out "$out/$name.compile.json" -o "$out/$name.bin" \
      2> /dev/null > /dev/null
    "$marsc" run "$out/$name.bin" "$@" --quiet --json-out "$out/$name.run.json" > /dev/null
    echo "ran $name" >&2
  done
  name="$model-prune0.5-traffic"
  "$marsc" compile "$out/$model.onnx" --calib random --prune 0.5 \
    --schedule-for traffic "$@" -o "$out/$name.bin" 2> /dev/null > /dev/null
  "$marsc" run "$out/$name.bin" "$@" --quiet --json-out "$out/$name.run.json" > /dev/null
  echo "ran $name" >&2
done
"$marsc" arch "$@" --json > "$out/arch.json"
arch_note=${*:-the built-in default arch (examples/arch/mars.json)}
/usr/bin/env python3 - "$out" "$arch_note" <<'PY' > "$here/../docs/plausibility.md.tmp"
import json, sys
out, arch = sys.argv[1], sys.argv[2]
print("# Plausibility: vgg16 and resnet18 (CIFAR-sized) on the chip\n")
print("Printed by `examples/plausibility.sh MARSC OUT` for " + arch + ": "
      "`marsc zoo` models (3×32×32, 10 classes), W4A4 by `marsc compile "
      "--calib random --prune P`, `marsc run` timing one steady-state image. "
      "TOPS/W are effective (2 × the dense model's MACs per joule); "
      "time is the cores' cycles by what they spent them on.\n")
print("| model | CIM groups zero | FPS | latency (µs) | energy/image (µJ) | "
      "TOPS/W macros | TOPS/W chip w/o DRAM | TOPS/W with DRAM | compute | "
      "reload | memory (SRAM/DRAM) wait | barrier stall | other |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for model in ("vgg16", "resnet18"):
    for prune in ("0", "0.5"):
        t = json.load(open(f"{out}/{model}-prune{prune}.run.json"))["timing"]
        s = t["energy"]["scopes"]
        b = t["time_breakdown_core_cycles"]
        total = sum(b.values()) or 1
        pct = lambda k: f"{100 * b[k] / total:.1f}%"
        other = 100 * (b["digital"] + b["idle"]) / total
        print(f"| {model} | {float(prune) * 100:.0f}% | {t['fps']:.1f} | "
              f"{t['latency_us']:.1f} | {s['system']['per_image_uj']:.2f} | "
              f"{s['macros']['tops_per_watt_effective']:.2f} | "
              f"{s['chip']['tops_per_watt_effective']:.2f} | "
              f"{s['system']['tops_per_watt_effective']:.2f} | "
              f"{pct('compute')} | {pct('reload')} | {pct('memory')} | "
              f"{pct('stall')} | {other:.1f}% |")
print("\nWhen weights stream from DRAM, `marsc compile` picks the mapping and "
      "which weights stay in the weight SRAM by the fewest cycles; "
      "`--schedule-for traffic` picks by the fewest off-chip weight bytes "
      "instead (then cycles). At 50% groups zero:\n")
print("| model | --schedule-for | DRAM bytes/image | latency (µs) | "
      "energy/image (µJ) | of which DRAM (µJ) | TOPS/W with DRAM |")
print("|---|---|---:|---:|---:|---:|---:|")
for model in ("vgg16", "resnet18"):
    for goal, suffix in (("cycles", ""), ("traffic", "-traffic")):
        t = json.load(open(f"{out}/{model}-prune0.5{suffix}.run.json"))["timing"]
        e = t["energy"]
        dram_pj = e["breakdown"]["dram_pj"]
        dram_bytes = dram_pj / json.load(open(f"{out}/arch.json"))["energy"]["dram_byte_pj"]
        print(f"| {model} | {goal} | {dram_bytes:,.0f} | {t['latency_us']:.1f} | "
              f"{e['per_image_uj']:.2f} | {dram_pj / 1e6:.2f} | "
              f"{e['tops_per_watt_effective']:.2f} |")
print("\nCycles per image against the two lower bounds `marsc compile --report` "
      "prints (README, \"Cycles: the schedule and its bound\"): the plain "
      "bound, and the capacity bound, which also counts that a run of layers "
      "storing more weight bytes than the chip holds cannot start with more "
      "than that on chip. Where a run of layers sets it, no schedule of one "
      "image at a time can beat it:\n")
print("| model | CIM groups zero | simulated cycles | bound | simulated ÷ "
      "bound | capacity bound | simulated ÷ capacity bound | set by layers |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for model in ("vgg16", "resnet18"):
    for prune in ("0", "0.5"):
        cycles = json.load(open(f"{out}/{model}-prune{prune}.run.json"))["timing"]["cycles"]
        c = json.load(open(f"{out}/{model}-prune{prune}.compile.json"))
        cap = c["capacity_bound"]
        window = (f"{cap['first_layer']} to {cap['last_layer']}"
                  if cap["first_layer"] else "none (the plain bound)")
        print(f"| {model} | {float(prune) * 100:.0f}% | {cycles:,} | "
              f"{c['bound_cycles']:,} | {cycles / c['bound_cycles']:.3f} | "
              f"{cap['cycles']:,} | {cycles / cap['cycles']:.3f} | {window} |")
derived = json.load(open(f"{out}/arch.json"))["derived"]
print("\nThe macros column is what a macro paper measures (arrays, ADCs, "
      "shift-and-add). The arch's macro peak, from the same counting and "
      "pricing as the simulator (`marsc arch`), beside the published macro "
      "the default arch is calibrated to (Si et al., JSSC 2021; "
      "examples/arch/README.md derives the constants):\n")
print("| input/weight bits | macro peak TOPS/W | published | MAC latency (ns) | published |")
print("|---|---:|---:|---:|---:|")
for p in derived["macro_peak"]:
    print(f"| {p['input_bits']}b/{p['weight_bits']}b | {p['tops_per_watt']:.2f} | "
          f"{p['published']['tops_per_watt']} | {p['mac_latency_ns']:.2f} | "
          f"{p['published']['access_ns']} |")
print("\nWith no group zero, a network's macros figure sits near the 4b/4b "
      "peak (below it by its layers with 8-bit inputs or partly filled "
      "groups); with half the groups zero the effective figure about "
      "doubles, since skipped groups cost nothing yet their operations "
      "count. Beyond the macros, the SRAM, DRAM, digital and static "
      "constants are assumptions (examples/arch/README.md), and at batch 1 "
      "the weight traffic of these models dominates the chip's energy.")
PY
mv "$here/../docs/plausibility.md.tmp" "$here/../docs/plausibility.md"
cat "$here/../docs/plausibility.md"
