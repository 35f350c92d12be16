#!/usr/bin/env bash
# Lists the production functions longer than a limit, longest first.
#
# Usage: scripts/long-functions.sh [LIMIT] [PATH...]
#   LIMIT  lines, default 100 (STYLE.md: a function a reader can hold)
#   PATH   files or folders, default lib passes runtime tools; test/ and
#          bench/ folders are skipped (benchmarks are not production code)
#
# Output: one line per function, "LINES  FILE:LINE  NAME". Exit status 0 even
# when something is listed: this is a report, not a gate (it is in no CI target).
#
# How: each .cpp/.h is scanned with comments, string literals and preprocessor
# lines blanked out, and braces are matched. A "{" opens a function body when it
# sits in a namespace or class body (not inside another function) and the text
# before it ends like a declarator: ")" plus optional const/noexcept/override/
# trailing return type/constructor initializer list. Lambdas and local classes
# therefore count towards the function that holds them. A function's length runs
# from the first line of its declaration to its closing brace, inclusive.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 - "$@" <<'PYTHON'
import os
import re
import signal
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under | head

args = sys.argv[1:]
limit = 100
if args and args[0].isdigit():
    limit = int(args.pop(0))
roots = args or ["lib", "passes", "runtime", "tools"]


def blank(text):
    """Comments, literals and preprocessor lines replaced by spaces; newlines kept."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # A directive, with its backslash continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        m = re.match(r'R"([^(\s]*)\(', text[i:i + 20])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:end]))
            i = end
            continue
        if c in "\"'":
            # A digit separator (1'000) is not a character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n \
                    and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
            continue
        if c == "\n":
            line_start = True
        out.append(c)
        i += 1
    return "".join(out)


# The end of a function declarator: ") const noexcept override -> T".
DECL_END = re.compile(
    r"\)\s*(?:(?:const|volatile|noexcept|override|final|mutable|&&|&)\s*"
    r"|noexcept\s*\([^)]*\)\s*|->\s*[\w:<>,*&\s]+)*$")
# A constructor initializer list, possibly cut at a member's brace initializer:
# "Foo::Foo(int a) : x_(a), y_" (the "{" of "y_{b}" is next).
CTOR_INIT = re.compile(r"\)\s*(?:noexcept\s*)?:[^:]")
TYPE_HEAD = re.compile(r"(?:\w+\s+)*?\b(?:class|struct|union|enum)\b")


NOT_NAMES = {"decltype", "noexcept", "alignas", "sizeof", "__attribute__"}


def name_of(header):
    """The declared name: the first qualified identifier before a "(" that
    is not a keyword (a trailing return type's decltype comes later)."""
    h = " ".join(strip_template(header).split())
    h = re.sub(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)", "", h)
    m = re.search(r"([\w:~]*operator\s*(?:\(\)|[^\s(]+))\s*\(", h)
    if m:
        return m.group(1)
    for m in re.finditer(r"([\w:~]+)\s*\(", h):
        if m.group(1) not in NOT_NAMES:
            return m.group(1)
    return "?"


def strip_template(h):
    """The header without its leading "template <...>" clauses."""
    while True:
        m = re.match(r"template\s*<", h)
        if not m:
            return h
        depth, k = 0, m.end() - 1
        while k < len(h):
            depth += {"<": 1, ">": -1}.get(h[k], 0)
            if depth == 0:
                break
            k += 1
        h = h[k + 1:].lstrip()


def functions(path):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    stack = []  # kinds of the open braces: ns, class, func, block, init, hdr
    header_start = 0  # offset where the text before the next "{" begins
    found = []
    line = 1
    starts = []  # (offset, line) of open function bodies
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
            continue
        if c not in "{};":
            continue
        in_code = any(k in ("func", "block", "init") for k in stack)
        if c == ";":
            if not in_code and not (stack and stack[-1] == "hdr"):
                header_start = i + 1
            continue
        if c == "{":
            if in_code:
                stack.append("block")
                continue
            if stack and stack[-1] == "hdr":
                stack.append("hdr")
                continue
            header = text[header_start:i]
            h = header.strip()
            h2 = strip_template(h)
            flat = " ".join(h2.split())
            if re.match(r"(?:inline\s+)?(?:namespace|extern)\b", h2):
                kind = "ns"
            elif TYPE_HEAD.match(h2) or ("(" not in h2 and TYPE_HEAD.search(h2)):
                kind = "class"
            elif "(" not in h2:
                kind = "init"
            elif DECL_END.search(h2):
                kind = "func"
            elif CTOR_INIT.search(flat) and h2.endswith("}"):
                kind = "func"  # "... : x_(a), y_{b} {"
            elif CTOR_INIT.search(flat) and re.search(r"[\w>]$", h2):
                kind = "hdr"  # a member's brace initializer; keep reading
            else:
                kind = "init"
            stack.append(kind)
            if kind == "func":
                first = header_start + (len(header) - len(header.lstrip()))
                first_line = line - text.count("\n", first, i)
                starts.append((first_line, h))
            if kind != "hdr":
                header_start = i + 1
            continue
        # c == "}"
        if not stack:
            continue
        kind = stack.pop()
        if kind == "func":
            first_line, h = starts.pop()
            found.append((line - first_line + 1, path, first_line, name_of(h)))
        if kind == "hdr" or (stack and stack[-1] == "hdr"):
            continue
        if not any(k in ("func", "block", "init") for k in stack):
            header_start = i + 1
    return found


results = []
for root in roots:
    paths = [root] if os.path.isfile(root) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
    for p in paths:
        parts = p.split(os.sep)
        if p.endswith((".cpp", ".h", ".hpp", ".cc")) and not {
                "test", "bench", "third_party"} & set(parts):
            results += functions(p)

for n, path, first, name in sorted(results, key=lambda r: (-r[0], r[1], r[2])):
    if n > limit:
        print(f"{n:5d}  {path}:{first}  {name}")
PYTHON
