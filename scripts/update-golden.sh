#!/usr/bin/env bash
# Regenerates the golden files under test/ from what the tests produced.
#
# Usage: scripts/update-golden.sh [BUILD_DIR]   (default build/test)
#
# Tests never write into the source tree: each golden test leaves its actual
# output in BUILD_DIR/golden-actual/<path under test/>. This script runs the
# test executables that compare against goldens, then copies those files over
# the goldens. Review the diff (git diff test/) before committing it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/test}
if [ ! -d "$build" ]; then
  echo "update-golden: no build in $build (run 'make build-test' first)" >&2
  exit 1
fi
rm -rf "$build/golden-actual"
# The golden tests fail before the update, which is why we are here.
(cd "$build" && ctest -R 'test_passes|test_cli_chip' >/dev/null) || true
if [ ! -d "$build/golden-actual" ]; then
  echo "update-golden: the tests wrote no golden-actual files" >&2
  exit 1
fi
(cd "$build/golden-actual" && find . -type f) | while read -r f; do
  f=${f#./}
  if cmp -s "$build/golden-actual/$f" "test/$f"; then
    echo "unchanged test/$f"
  else
    cp "$build/golden-actual/$f" "test/$f"
    echo "updated   test/$f"
  fi
done
