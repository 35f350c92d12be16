#!/usr/bin/python3
"""Draws accuracy against CIM-group sparsity from marsc train reports.

Usage: plot_sweep.py OUT.svg REPORT.json...

Prints a Markdown table and writes a dependency-free SVG line plot (float
baseline and integer W/A accuracy against the measured group sparsity).
"""
import json
import sys


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    rows = []
    for p in paths:
        r = json.load(open(p))
        acc = r["accuracy"]
        q = r["quantization"]
        rows.append((r["group_sparsity"], r["sparsity_target"], acc["float"],
                     acc["integer"], q["wbits"], q["abits"],
                     r["weight_memory"]["compression"]))
    rows.sort()
    print("| target sparsity | zero CIM groups | float top-1 | integer top-1 "
          "| change (points) | weight memory compression |")
    print("|---|---|---|---|---|---|")
    for s, t, f, i, wb, ab, c in rows:
        print(f"| {t:.2f} | {100*s:.1f}% | {100*f:.2f}% | {100*i:.2f}% (W{wb}A{ab}) "
              f"| {100*(i-f):+.2f} | {c:.2f}x |")

    w, h, left, bottom, top, right = 560, 340, 60, 50, 30, 20
    lo = min(min(r[2], r[3]) for r in rows) - 0.01
    hi = max(max(r[2], r[3]) for r in rows) + 0.005

    def x(s):
        return left + s / 0.8 * (w - left - right)

    def y(a):
        return h - bottom - (a - lo) / (hi - lo) * (h - top - bottom)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w/2}" y="18" text-anchor="middle" font-size="14">'
           'Fashion-MNIST top-1 vs. zero CIM groups (default model)</text>']
    for k in range(5):
        a = lo + (hi - lo) * k / 4
        svg.append(f'<line x1="{left}" x2="{w-right}" y1="{y(a):.1f}" '
                   f'y2="{y(a):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{left-6}" y="{y(a)+4:.1f}" text-anchor="end">'
                   f'{100*a:.1f}%</text>')
    for s in (0, 0.2, 0.4, 0.6, 0.8):
        svg.append(f'<text x="{x(s):.1f}" y="{h-bottom+18}" '
                   f'text-anchor="middle">{int(100*s)}%</text>')
    svg.append(f'<text x="{w/2}" y="{h-12}" text-anchor="middle">'
               'CIM groups that are all zero</text>')
    for col, colour, label in ((2, "#888", "float baseline"),
                               (3, "#c03", "integer (compressed)")):
        pts = " ".join(f"{x(r[0]):.1f},{y(r[col]):.1f}" for r in rows)
        svg.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                   'stroke-width="2"/>')
        for r in rows:
            svg.append(f'<circle cx="{x(r[0]):.1f}" cy="{y(r[col]):.1f}" r="3" '
                       f'fill="{colour}"/>')
        ly = top + 14 + (0 if col == 2 else 16)
        svg.append(f'<line x1="{w-190}" x2="{w-170}" y1="{ly}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        svg.append(f'<text x="{w-165}" y="{ly+4}">{label}</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
