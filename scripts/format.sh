#!/usr/bin/env bash
# Formats the tracked C++ sources with the root .clang-format, or checks them.
#
# Usage: scripts/format.sh           rewrite every file in place (make format)
#        scripts/format.sh --check   change nothing; list each file that is
#                                    not formatted and exit 1 (make
#                                    format-check, run by make test)
#
# Files: every *.cpp and *.h that git tracks, except third_party/ (vendored
# code keeps its own style). build/ is never tracked. The style is pinned to
# clang-format 14 (Debian 12's `clang-format`): other versions break lines
# differently, so the check uses clang-format-14 when it exists and refuses
# another major version. CLANG_FORMAT=path overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fix
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
  if command -v clang-format-14 > /dev/null; then cf=clang-format-14
  elif command -v clang-format > /dev/null; then cf=clang-format
  else
    echo "format: clang-format not found (make deps installs Debian's clang-format)" >&2
    exit 2
  fi
fi
version=$("$cf" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$version" != 14 ]; then
  echo "format: $cf is version ${version:-unknown}; .clang-format is checked with clang-format 14" >&2
  exit 2
fi

mapfile -t files < <(git ls-files -- '*.cpp' '*.h' ':!:third_party/**')
if [ ${#files[@]} -eq 0 ]; then
  echo "format: no tracked *.cpp/*.h files (not a git checkout?)" >&2
  exit 2
fi

if [ "$mode" = fix ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$cf" -i --style=file
  echo "format: formatted ${#files[@]} files with $cf"
  exit 0
fi

# --dry-run --Werror prints a warning per differing line and fails the file;
# list the files, not the thousands of lines.
bad=()
for f in "${files[@]}"; do
  if ! "$cf" --dry-run --Werror --style=file "$f" > /dev/null 2>&1; then
    bad+=("$f")
  fi
done
if [ ${#bad[@]} -ne 0 ]; then
  printf '  %s\n' "${bad[@]}" >&2
  echo "format-check: ${#bad[@]} of ${#files[@]} files are not formatted" \
       "(run 'make format'; '$cf --dry-run FILE' shows the lines)" >&2
  exit 1
fi
echo "format-check: ${#files[@]} files formatted"
