#!/usr/bin/env bash
# check_install_embed.sh BUILD SOURCE WORK CXX "CXXFLAGS" HAS_TRAIN
# Installs BUILD into WORK/prefix, builds SOURCE/examples/embed against it and
# checks that it compiles and runs a model exactly as the installed marsc
# does. See CMakeLists.txt beside this file.
set -euo pipefail
build=$1 source=$2 work=$3 cxx=$4 flags=$5 has_train=$6
prefix=$work/prefix

rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

# What the package promises, in the prefix.
expected=(bin/marsc include/mars/runtime/Functional.h
          include/mars/passes/Passes.def include/mars/ir/Ops.def
          lib/cmake/marsc/marscConfig.cmake
          lib/cmake/marsc/marscConfigVersion.cmake
          lib/cmake/marsc/marscTargets.cmake)
[ "$has_train" = 1 ] && expected+=(bin/marsc-train
                                  lib/cmake/marsc/marscTrainTargets.cmake)
for f in "${expected[@]}"; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
for area in support ir onnx interp quant arch program data zoo passes runtime verify dse; do
  grep -q "add_library(marsc::$area " "$prefix/lib/cmake/marsc/marscTargets.cmake" \
    || { echo "FAIL: marsc::$area not exported"; exit 1; }
done

launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$source/examples/embed" -B "$work/embed" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  "${launcher[@]}" > "$work/configure.log"
# Found in the prefix, not in the build tree or a system install.
grep -qx "marsc_DIR:PATH=$prefix/lib/cmake/marsc" "$work/embed/CMakeCache.txt" \
  || { echo "FAIL: marsc found elsewhere:"; grep marsc_DIR "$work/embed/CMakeCache.txt"; exit 1; }
cmake --build "$work/embed" -j1 > "$work/build.log"

marsc=$prefix/bin/marsc
"$marsc" --help > /dev/null
"$marsc" zoo lenet5 -o "$work/lenet5.onnx" > /dev/null
"$work/embed/embed" "$work/lenet5.onnx" "$work/embed.bin" > "$work/embed.txt"
cat "$work/embed.txt"
"$marsc" compile "$work/lenet5.onnx" --calib random -o "$work/cli.bin" > /dev/null 2>&1
cmp "$work/embed.bin" "$work/cli.bin" \
  || { echo "FAIL: the library's program differs from marsc compile's"; exit 1; }
"$marsc" run "$work/cli.bin" --json --quiet > "$work/run.json"
python3 - "$work/embed.txt" "$work/run.json" <<'PY'
import json, sys
lines = dict(l.split(":", 1) for l in open(sys.argv[1]).read().splitlines())
embed_class = int(lines["class"])
embed_out = [float(v) for v in lines["output"].split()]
run = json.load(open(sys.argv[2]))["functional"]
assert len(embed_out) == 10, f"expected 10 logits, got {len(embed_out)}"
assert embed_out == run["output"], f"outputs differ:\n{embed_out}\n{run['output']}"
assert embed_class == run["class"], f"class {embed_class} != {run['class']}"
assert len(set(embed_out)) > 1, "all logits equal"
print(f"embed == marsc run: class {embed_class}, {len(embed_out)} logits")
PY

# marsc finds marsc-train beside it in the installed bin/.
if [ "$has_train" = 1 ]; then
  "$marsc" train --help > "$work/train-help.txt"
  grep -q -- "--epochs" "$work/train-help.txt" \
    || { echo "FAIL: marsc train --help from the prefix"; exit 1; }
fi
# The prefix holds this build's binaries and libraries (hundreds of MB with
# sanitizers); kept only when something failed.
rm -rf "$prefix"
echo "install_embed: OK"
