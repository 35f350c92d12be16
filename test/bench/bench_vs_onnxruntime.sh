#!/usr/bin/env bash
# `marsc run` against ONNX Runtime (issue 14, point 2): batch-1 throughput in
# images/s on the same network, same threads, same number of images.
#
# Each model (zoo resnet18 and vgg16, CIFAR 3x32x32, 10 classes) is compiled
# W4A4 with 50% of its CIM groups zeroed (--calib random --prune 0.5) and
# W8A8 with none zeroed (--calib random --wbits 8 --abits 8), and marsc's QDQ
# export of what it compiled is kept (--save-qdq). Three engines run N
# seeded random images one at a time:
#   marsc      `marsc run PROGRAM --data cifar10:DIR --limit N --threads T`,
#              timed as the functional model plus the timing model
#   ort-fp32   ONNX Runtime (onnxruntime-node, CPU) on the float model
#   ort-qdq    ONNX Runtime on the QDQ export
# interleaved rep by rep (each rep: one run of each engine) so the load of a
# shared machine falls on all of them alike; images/s are medians over the
# reps and ratios are of medians.
#
# onnxruntime-node is installed into a cache folder with npm when missing
# (--ignore-scripts: its install script would fetch a GPU build; the CPU
# libraries ship inside the package). Benchmarks only: marsc and its tests
# never use ONNX Runtime. When it cannot be had (no node or npm, no
# registry, the binding does not load), the script says so and compares
# against LibTorch with bench_simulator instead, if it is built.
#
# Usage: bench_vs_onnxruntime.sh MARSC [--out DIR] [--reps N] [--images N]
#          [--threads "1 2"] [--models "resnet18 vgg16"]
#          [--precisions "w4a4 w8a8"] [--cache DIR] [--simulator PATH] [--json]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage='usage: bench_vs_onnxruntime.sh MARSC [--out DIR] [--reps N (>=5)] [--images N] [--threads "1 2"] [--models "resnet18 vgg16"] [--precisions "w4a4 w8a8"] [--cache DIR] [--simulator PATH] [--json]'
marsc=${1:?$usage}
shift
ort_pinned=1.30.0 # onnxruntime-node; checked with node 20 on linux x64
out=out/bench_ort reps=7 images=32 threads="1 2" models="resnet18 vgg16"
precisions="w4a4 w8a8"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/marsc-bench/onnxruntime
simulator=$(dirname "$marsc")/../../test/bench/bench_simulator
json=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --simulator) simulator=$2; shift 2 ;;
    --json) json=1; shift ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "bench_vs_onnxruntime.sh: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
for v in "$reps" "$images" $threads; do
  [[ $v =~ ^[1-9][0-9]*$ ]] ||
    { echo "bench_vs_onnxruntime.sh: '$v' is not a positive integer" >&2; exit 2; }
done
for pr in $precisions; do
  case $pr in w4a4 | w8a8) ;; *) echo "bench_vs_onnxruntime.sh: precision '$pr' is not w4a4 or w8a8" >&2; exit 2 ;; esac
done
[ "$reps" -ge 5 ] || { echo "bench_vs_onnxruntime.sh: --reps must be at least 5" >&2; exit 2; }
[ -x "$marsc" ] || { echo "bench_vs_onnxruntime.sh: $marsc is not executable" >&2; exit 2; }
marsc=$(cd "$(dirname "$marsc")" && pwd)/$(basename "$marsc")
command -v python3 > /dev/null ||
  { echo "bench_vs_onnxruntime.sh: needs python3 (the image file and the report)" >&2; exit 1; }

# With --json stdout carries only the JSON; everything said goes to stderr.
if [ "$json" = 1 ]; then exec 3>&2; else exec 3>&1; fi
say() { echo "$@" >&3; }
mkdir -p "$out/cifar"
runs=$out/runs.jsonl
: > "$runs"

# --- ONNX Runtime: the pinned onnxruntime-node in the cache folder ----------
ort_pkg=$cache/node_modules/onnxruntime-node
ort_version= ort_reason=
ensure_ort() {
  command -v node > /dev/null || { ort_reason="node not found"; return 1; }
  local have
  have=$(node -p 'require(process.argv[1] + "/package.json").version' "$ort_pkg" 2> /dev/null || true)
  if [ "$have" != "$ort_pinned" ]; then
    command -v npm > /dev/null || { ort_reason="npm not found"; return 1; }
    say "installing onnxruntime-node@$ort_pinned into $cache (npm --ignore-scripts)"
    mkdir -p "$cache"
    if ! timeout 900 npm install --prefix "$cache" --ignore-scripts --no-audit \
        --no-fund "onnxruntime-node@$ort_pinned" > "$out/npm-install.log" 2>&1; then
      ort_reason="npm install onnxruntime-node@$ort_pinned failed: $(grep -m1 -i 'err' "$out/npm-install.log" || tail -n1 "$out/npm-install.log"); log in $out/npm-install.log"
      return 1
    fi
  fi
  # The CPU binding (.node file, with libonnxruntime.so beside it) must load.
  if ! ort_version=$(node -e '
      const pkg = process.argv[1];
      require(`${pkg}/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`);
      console.log(require(pkg).env.versions.node);' "$ort_pkg" 2> "$out/ort-load.log"); then
    ort_reason="the onnxruntime-node binding does not load: $(grep -m1 -i 'error' "$out/ort-load.log" || tail -n1 "$out/ort-load.log")"
    return 1
  fi
}
if ensure_ort; then
  say "ONNX Runtime: onnxruntime-node $ort_version (CPU execution provider) from $ort_pkg"
else
  say "ONNX Runtime: not available ($ort_reason); comparing against LibTorch only"
  ort_pkg=
fi

# --- models, programs and images ---------------------------------------------
# `marsc run` takes many images only from a dataset: a CIFAR-10 test batch of
# seeded random pixels (records: label byte, 3072 pixel bytes), as in
# bench_saturating.sh. ONNX Runtime gets its own seeded uniform [0, 1) images
# (ort_infer.js); neither engine's speed depends on the values.
python3 - "$out/cifar/test_batch.bin" "$images" << 'EOF'
import random, sys
rng = random.Random(1)
with open(sys.argv[1], "wb") as f:
    for _ in range(int(sys.argv[2])):
        f.write(bytes([rng.randrange(10)] + [rng.randrange(256) for _ in range(3072)]))
EOF
# A configuration is MODEL-PRECISION: W4A4 with half of the CIM groups zeroed,
# or W8A8 dense.
configs=
for m in $models; do
  "$marsc" zoo "$m" -o "$out/$m.onnx" > /dev/null
  for pr in $precisions; do
    case $pr in
      w4a4) flags="--prune 0.5 --wbits 4 --abits 4" ;;
      w8a8) flags="--wbits 8 --abits 8" ;;
    esac
    # shellcheck disable=SC2086
    "$marsc" compile "$out/$m.onnx" --calib random $flags \
      --save-qdq "$out/$m-$pr.qdq.onnx" -o "$out/$m-$pr.bin" > /dev/null
    configs+=" $m-$pr"
  done
done

# --- one measurement per call, appended to $runs as a JSON line --------------
# marsc: images/s = N / (its JSON's functional seconds (dataset read,
# executor set-up and the N images) + timing_model_seconds (the timing and
# energy models, once per `marsc run`)), and the wall time of the whole
# process.
measure_marsc() { # CONFIG THREADS REP
  local t0 t1
  t0=$(date +%s.%N)
  "$marsc" run "$out/$1.bin" --data "cifar10:$out/cifar" --limit "$images" \
    --threads "$2" --json --quiet > "$out/run.json"
  t1=$(date +%s.%N)
  python3 - "$out/run.json" "$1" "$2" "$3" "$t0" "$t1" >> "$runs" << 'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
f, timing = j["functional"], j["timing_model_seconds"]
wall = float(sys.argv[6]) - float(sys.argv[5])
print(json.dumps({"model": sys.argv[2], "threads": int(sys.argv[3]), "engine": "marsc",
                  "rep": int(sys.argv[4]), "images": f["images"],
                  "functional_seconds": f["seconds"], "timing_model_seconds": timing,
                  "seconds": f["seconds"] + timing,
                  "images_per_second": f["images"] / (f["seconds"] + timing),
                  "wall_seconds": wall, "mode": f["mode"],
                  "kernels": f.get("kernels", "unknown")}))
EOF
}

# ONNX Runtime: ort_infer.js's own clock (session creation and warm-up
# excluded). Returns non-zero, with the reason in $out/ort.err, on failure.
measure_ort() { # ENGINE CONFIG THREADS REP [--kernels]
  local file=$out/${2%-*}.onnx
  [ "$1" = ort-qdq ] && file=$out/$2.qdq.onnx
  node "$here/ort_infer.js" --ort "$ort_pkg" "$file" --threads "$3" \
    --images "$images" ${5:-} > "$out/ort.json" 2> "$out/ort.err" || return 1
  python3 - "$out/ort.json" "$1" "$2" "$3" "$4" >> "$runs" << 'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
r.update({"model": sys.argv[3], "threads": int(sys.argv[4]), "engine": sys.argv[2],
          "rep": int(sys.argv[5])})
print(json.dumps(r))
EOF
}

# Which engines run for each configuration: ONNX Runtime is tried once per
# configuration and file (rep 0, untimed for the report, with its kernel
# counts); a model it cannot load is noted and left out.
first=${threads%% *}
declare -A engines
for m in $configs; do
  engines[$m]=marsc
  [ -n "$ort_pkg" ] || continue
  for e in ort-fp32 ort-qdq; do
    if measure_ort "$e" "$m" "$first" 0 --kernels; then
      engines[$m]+=" $e"
    else
      say "note: $m: ONNX Runtime cannot run the ${e#ort-} model: $(head -c 300 "$out/ort.err")"
      python3 -c 'import json, sys; print(json.dumps({"model": sys.argv[1], "engine": sys.argv[2], "rep": 0, "error": sys.argv[3]}))' \
        "$m" "$e" "$(head -c 300 "$out/ort.err")" >> "$runs"
    fi
  done
done

for m in $configs; do
  for t in $threads; do
    say "measuring $m, $t thread(s): ${engines[$m]}, $reps reps of $images images"
    for ((r = 1; r <= reps; ++r)); do
      for e in ${engines[$m]}; do
        case $e in
          marsc) measure_marsc "$m" "$t" "$r" ;;
          *) measure_ort "$e" "$m" "$t" "$r" ||
               { echo "bench_vs_onnxruntime.sh: $e on $m failed: $(cat "$out/ort.err")" >&2; exit 1; } ;;
        esac
      done
    done
  done
done

# --- fallback: LibTorch through bench_simulator -------------------------------
libtorch=()
if [ -z "$ort_pkg" ]; then
  if [ -x "$simulator" ]; then
    for m in $models; do
      for t in $threads; do
        say "bench_simulator --model $m --threads $t --images $images --reps $reps:"
        if [ "$json" = 1 ]; then
          "$simulator" --model "$m" --threads "$t" --images "$images" --reps "$reps" \
            --json > "$out/simulator-$m-$t.json"
          libtorch+=("$out/simulator-$m-$t.json")
        else
          "$simulator" --model "$m" --threads "$t" --images "$images" --reps "$reps"
        fi
      done
    done
  else
    say "LibTorch: bench_simulator not found at $simulator (build it with LibTorch);" \
      "only marsc's numbers are available"
  fi
fi

# --- report ------------------------------------------------------------------
python3 - "$runs" "$json" "$images" "$reps" "$ort_version" "$ort_reason" "${libtorch[@]}" << 'EOF'
import json, statistics, sys
runs_file, as_json, images, reps, version, reason = sys.argv[1:7]
runs = [json.loads(l) for l in open(runs_file)]
timed = [r for r in runs if r.get("rep", 0) > 0]
keys = []
for r in timed:
    if (r["model"], r["threads"]) not in keys:
        keys.append((r["model"], r["threads"]))

def of(model, threads, engine):
    return [r for r in timed if (r["model"], r["threads"], r["engine"]) == (model, threads, engine)]

def med(rs, f):
    return statistics.median(f(r) for r in rs) if rs else None

results = []
for model, threads in keys:
    m = of(model, threads, "marsc")
    name, _, precision = model.rpartition("-")
    row = {"model": name, "precision": precision, "threads": threads,
           "marsc": {"mode": m[0]["mode"], "kernels": m[0]["kernels"],
                     "images_per_second": med(m, lambda r: r["images_per_second"]),
                     "timing_model_seconds": med(m, lambda r: r["timing_model_seconds"]),
                     "wall_images_per_second": med(m, lambda r: r["images"] / r["wall_seconds"]),
                     "outside_measured_seconds": med(m, lambda r: r["wall_seconds"] - r["seconds"]),
                     "runs": [r["images_per_second"] for r in m]}}
    for e in ("ort-fp32", "ort-qdq"):
        o = of(model, threads, e)
        probe = [r for r in runs if r["model"] == model and r["engine"] == e and r.get("rep") == 0]
        key = e.replace("-", "_")
        if o:
            row[key] = {"images_per_second": med(o, lambda r: r["images_per_second"]),
                        "runs": [r["images_per_second"] for r in o],
                        "kernels": probe[0].get("kernels") if probe else None}
            row["marsc_over_" + key] = row["marsc"]["images_per_second"] / row[key]["images_per_second"]
        elif probe and "error" in probe[0]:
            row[key] = {"error": probe[0]["error"]}
    results.append(row)

report = {"images": int(images), "reps": int(reps), "batch": 1,
          "onnxruntime": {"available": True, "package": "onnxruntime-node", "version": version}
                         if version else {"available": False, "reason": reason},
          "marsc_includes_timing_model": True,
          "results": results}
if len(sys.argv) > 7:
    report["libtorch_bench_simulator"] = [json.load(open(f)) for f in sys.argv[7:]]
if as_json == "1":
    print(json.dumps(report, indent=2))
    sys.exit(0)

def fmt(v, spec="8.2f"):
    return format(v, spec) if v is not None else format("n/a", ">" + spec.split(".")[0])

print()
print(f"batch-1 throughput, images/s: median of {reps} interleaved reps of {images} images;"
      f" ratios are of medians")
print(f"{'model':<9} {'prec':<5} {'thr':>3} {'marsc':>8} {'(wall)':>8} {'ORT fp32':>8} {'ORT QDQ':>8}"
      f" {'marsc/fp32':>10} {'marsc/QDQ':>10}")
for r in results:
    g = lambda k, f="images_per_second": r.get(k, {}).get(f)
    print(f"{r['model']:<9} {r['precision'].upper():<5} {r['threads']:>3} {fmt(g('marsc'))} {fmt(g('marsc', 'wall_images_per_second'))}"
          f" {fmt(g('ort_fp32'))} {fmt(g('ort_qdq'))}"
          f" {fmt(r.get('marsc_over_ort_fp32'), '10.2f')} {fmt(r.get('marsc_over_ort_qdq'), '10.2f')}")
print()
modes = ", ".join(sorted({r["marsc"]["mode"] for r in results}))
kernels = ", ".join(sorted({r["marsc"]["kernels"] for r in results}))
print(f"marsc:  `marsc run --data`, mode {modes}, {kernels} kernels; images/s = images / (its")
print("        JSON's functional seconds (dataset read, executor set-up, the images) +")
print("        timing_model_seconds (the timing and energy models, run once per `marsc run`)).")
print("        The timing model's median seconds per run:")
print("       " + ",".join(f" {r['model']}-{r['precision']}/{r['threads']}t {r['marsc']['timing_model_seconds']:.3f}"
                         for r in results))
print("W4A4:   4-bit weights and activations (8-bit first and last layers), 50% of each inner layer's")
print("        CIM groups zeroed (--prune 0.5); W8A8: 8-bit, no groups zeroed. ORT fp32 runs the same")
print("        float model for both; ORT QDQ runs marsc's QDQ export of each.")
print("(wall): images / wall time of the whole `marsc run` process (start, program load, JSON).")
print("        Outside the measured seconds, per run:"
      + ",".join(f" {r['model']}-{r['precision']}/{r['threads']}t {r['marsc']['outside_measured_seconds']:.2f} s"
                 for r in results))
if version:
    print(f"ORT:    onnxruntime-node {version}, CPU EP, intraOpNumThreads = threads, interOpNumThreads 1,")
    print("        graph optimization 'all'; session creation and 3 warm-up runs not timed.")
    integer = {"QLinearConv", "ConvInteger", "QGemm", "QLinearMatMul", "MatMulInteger"}
    for r in results:
        if any((x["model"], x["precision"]) == (r["model"], r["precision"])
               for x in results[:results.index(r)]):
            continue
        k = r.get("ort_qdq", {}).get("kernels")
        if k:
            print(f"        {r['model']} {r['precision'].upper()} QDQ, kernels of one run: "
                  + ", ".join(f"{n} {op}" for op, n in sorted(k.items(), key=lambda x: -x[1])))
            if not integer & set(k):
                print("        (no integer conv/matmul kernel ran: ORT ran the convolutions in float"
                      " between QuantizeLinear/DequantizeLinear)")
        elif "error" in r.get("ort_qdq", {}):
            print(f"        {r['model']} {r['precision'].upper()} QDQ: not run ({r['ort_qdq']['error']})")
    print("ratio > 1: marsc simulates the chip faster than ONNX Runtime runs the network on this CPU.")
else:
    print(f"ORT:    not available ({reason})")
EOF
