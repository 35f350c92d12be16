#!/usr/bin/env bash
# Runs clang-tidy (checks: the root .clang-tidy) on the project's sources as a
# build compiles them. A report, not a gate: make test does not run it.
#
# Usage: scripts/tidy.sh [BUILD_DIR] [PATH...]
#   BUILD_DIR  a configured build (its compile_commands.json), default
#              build/test (`make tidy` configures it as `make build-test` does)
#   PATH       only the sources under these folders or files, default all
#              (every translation unit of the build outside third_party/;
#              the headers they include are checked through them)
# Environment: JOBS (parallel clang-tidy processes, default nproc),
#              CLANG_TIDY (the binary, default clang-tidy-14 or clang-tidy).
#
# Prints clang-tidy's warnings and a count per check; exit status 1 when
# there is any warning, 2 when clang-tidy or the build is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/test}
[ $# -gt 0 ] && shift
build=$(cd "$build" 2>/dev/null && pwd) || {
  echo "tidy: no build folder ${1:-build/test} (run make tidy, or configure one)" >&2; exit 2; }
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy: $build/compile_commands.json missing (configure with cmake first)" >&2
  exit 2
fi
ct=${CLANG_TIDY:-}
if [ -z "$ct" ]; then
  if command -v clang-tidy-14 > /dev/null; then ct=clang-tidy-14
  elif command -v clang-tidy > /dev/null; then ct=clang-tidy
  else echo "tidy: clang-tidy not found (make deps installs Debian's clang-tidy)" >&2; exit 2
  fi
fi

# The translation units: every "file" of the database inside the source tree
# (not generated, not third_party/), restricted to PATH... when given.
mapfile -t units < <(/usr/bin/python3 - "$root" "$build/compile_commands.json" "$@" <<'PY'
import json, os, sys
root, db, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
wanted = [os.path.abspath(w) for w in wanted]
seen = set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, root)
    if rel.startswith("..") or rel.startswith("third_party/") or rel.startswith("build"):
        continue
    if wanted and not any(f == w or f.startswith(w + os.sep) for w in wanted):
        continue
    if f not in seen:
        seen.add(f)
        print(f)
PY
)
if [ ${#units[@]} -eq 0 ]; then
  echo "tidy: no translation units selected" >&2
  exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "tidy: $ct on ${#units[@]} translation units of $build (-j${JOBS:-$(nproc)})" >&2
# Headers of the project are checked; system and LibTorch headers are not.
printf '%s\0' "${units[@]}" |
  xargs -0 -P "${JOBS:-$(nproc)}" -n 1 "$ct" -p "$build" --quiet \
    --header-filter="^$root/(lib|passes|runtime|tools|test)/" 2> /dev/null |
  tee "$log" || true

# One warning per location, however many units include the header.
count=$(grep -E '^/.*: warning: .*\[[a-z0-9.,-]+\]$' "$log" | sort -u | tee "$log.uniq" | wc -l)
if [ "$count" -eq 0 ]; then
  echo "tidy: no warnings" >&2
  rm -f "$log.uniq"
  exit 0
fi
echo "tidy: $count warnings, by check:" >&2
sed -E 's/.*\[([a-z0-9.,-]+)\]$/\1/' "$log.uniq" | sort | uniq -c | sort -rn >&2
rm -f "$log.uniq"
exit 1
