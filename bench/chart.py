#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Draw bench/results.json as an SVG chart (Python's standard library only).

    bench/chart.py RESULTS.json OUT.svg

Three panels: packets/s per frame size for each switch measured (DPDK's
vhost switch, vnet-p2p, vnet-p2p -p), the same in Gbit/s of frame bytes,
and the bulk case in TCP payload Gbit/s; every group is labelled with the
ratio of vnet-p2p to DPDK. bench/run.sh calls it after each run.
"""
import json
import math
import sys
from xml.sax.saxutils import escape

SERIES = [
    # key in results.json, legend, colour
    ("dpdk", "DPDK vhost (testpmd, net_vhost, io)", "#8c8c8c"),
    ("vnet-p2p", "vnet-p2p", "#1f5fa8"),
    ("vnet-p2p-poll", "vnet-p2p -p {poll}", "#7fb2e5"),
]
COLOUR = {key: colour for key, _, colour in SERIES}
EXT_COLOUR = "#4d4d4d"
SEG_COLOUR = "#e08a1e"

WIDTH = 980
PANEL_H = 270
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"


def nice_step(top, ticks=5):
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` ticks."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0f" % v
    return ("%." + str(digits) + "f") % v


def ratio_text(r):
    return "n/a" if r is None else "%.2fx" % r


class Svg:
    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", weight="normal", fill="#222", extra=""):
        self.add('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" '
                 'fill="%s"%s>%s</text>' % (x, y, size, anchor, weight, fill, extra, escape(s)))

    def rect(self, x, y, w, h, fill, extra=""):
        self.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s/>'
                 % (x, y, w, max(h, 0), fill, extra))

    def bar(self, x, y, w, h, fill, series, tip):
        self.add('<rect class="bar" data-series="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
                 'fill="%s"><title>%s</title></rect>'
                 % (escape(series), x, y, w, max(h, 0), fill, escape(tip)))

    def line(self, x1, y1, x2, y2, stroke="#999", width=1, extra=""):
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"%s/>'
                 % (x1, y1, x2, y2, stroke, width, extra))


def panel(svg, y0, title, ylabel, groups, value_digits=1):
    """Grouped bars. groups: [{"label", "note", "bars": [(series, value, colour, name)]}]."""
    left, right = 90, WIDTH - 30
    top, bottom = y0 + 38, y0 + PANEL_H - 58
    svg.text(left - 60, y0 + 18, title, size=15, weight="bold")
    values = [b[1] for g in groups for b in g["bars"] if b[1] is not None]
    vmax = max(values) if values else 1.0
    step = nice_step(vmax * 1.12)
    ymax = step * math.ceil(vmax * 1.12 / step)
    scale = (bottom - top) / ymax

    # Axis, grid, ticks.
    t = 0.0
    while t <= ymax + step / 1000:
        y = bottom - t * scale
        svg.line(left, y, right, y, stroke="#e3e3e3")
        svg.text(left - 8, y + 4, ("%g" % round(t, 6)), size=11, anchor="end", fill="#444")
        t += step
    svg.line(left, top, left, bottom, stroke="#444")
    svg.line(left, bottom, right, bottom, stroke="#444")
    mid = (top + bottom) / 2
    svg.text(left - 62, mid, ylabel, size=12, anchor="middle", fill="#333",
             extra=' transform="rotate(-90 %.1f %.1f)"' % (left - 62, mid))

    if not groups:
        svg.text((left + right) / 2, mid, "no figures in this run", size=13, anchor="middle",
                 fill="#888")
        return
    gw = (right - left) / len(groups)
    for i, g in enumerate(groups):
        nb = len(g["bars"])
        bw = min(64.0, gw * 0.75 / max(nb, 1))
        x = left + i * gw + (gw - bw * nb) / 2
        for series, value, colour, name in g["bars"]:
            if value is None:
                svg.text(x + bw / 2, bottom - 4, "n/a", size=10, anchor="middle", fill="#888")
            else:
                h = value * scale
                svg.bar(x + 1, bottom - h, bw - 2, h, colour, series,
                        "%s: %s" % (name, fmt(value, value_digits)))
                svg.text(x + bw / 2, bottom - h - 4, fmt(value, value_digits), size=10,
                         anchor="middle", fill="#333")
            x += bw
        cx = left + (i + 0.5) * gw
        svg.text(cx, bottom + 17, g["label"], size=12, anchor="middle", weight="bold")
        if g.get("note"):
            svg.text(cx, bottom + 33, g["note"], size=11, anchor="middle", fill="#1f5fa8",
                     extra=' class="ratio"')
        if g.get("note2"):
            svg.text(cx, bottom + 47, g["note2"], size=11, anchor="middle", fill="#555",
                     extra=' class="ratio"')


def size_groups(res, per_size):
    """Groups of the packets/s panels: one per frame size."""
    groups = []
    pps = res.get("pps") or {}
    for size in sorted(pps, key=lambda s: int(s)):
        entry = pps[size]
        bars = []
        for key, name, colour in SERIES:
            v = entry.get(key)
            bars.append((key, None if v is None else per_size(v, int(size)), colour, name))
        ratio = entry.get("ratio") or {}
        note = "vnet-p2p/DPDK %s" % ratio_text(ratio.get("vnet-p2p"))
        note2 = "-p %s/DPDK %s" % (res.get("poll_usec", 100), ratio_text(ratio.get("vnet-p2p-poll")))
        label = "%s B" % size + (" (2 x 2000)" if size == "4000" else "")
        groups.append({"label": label, "note": note, "note2": note2, "bars": bars})
    return groups


def bulk_groups(res):
    bulk = (res.get("bulk") or {}).get("payload_gbps") or {}
    groups = []
    p = bulk.get("pass")
    if p:
        bars = [("dpdk", p.get("dpdk"), COLOUR["dpdk"], "DPDK vhost")]
        note2 = None
        if "dpdk-ext" in p:
            bars.append(("dpdk-ext", p.get("dpdk-ext"), EXT_COLOUR, "DPDK vhost, ext-buffer=1"))
            note2 = "(mbuf chains %s, ext-buffer %s)" % (ratio_text(p.get("ratio_dpdk")),
                                                       ratio_text(p.get("ratio_dpdk_ext")))
        bars.append(("vnet-p2p", p.get("vnet-p2p"), COLOUR["vnet-p2p"], "vnet-p2p"))
        groups.append({"label": "64 KB GSO, passed whole",
                       "note": "vnet-p2p/best DPDK %s" % ratio_text(p.get("ratio"))
                       if note2 else "vnet-p2p/DPDK %s" % ratio_text(p.get("ratio")),
                       "note2": note2, "bars": bars})
    s = bulk.get("seg")
    if s:
        groups.append({"label": "64 KB GSO, segmented",
                       "note": "vnet-p2p only (DPDK does not segment)",
                       "bars": [("vnet-p2p-seg", s.get("vnet-p2p"), SEG_COLOUR,
                                 "vnet-p2p, segmenting")]})
    q = bulk.get("plain")
    if q:
        groups.append({"label": "1514-byte TCP frames",
                       "note": "vnet-p2p/DPDK %s" % ratio_text(q.get("ratio")),
                       "bars": [("dpdk", q.get("dpdk"), COLOUR["dpdk"], "DPDK vhost"),
                                ("vnet-p2p", q.get("vnet-p2p"), COLOUR["vnet-p2p"], "vnet-p2p")]})
    return groups


def footer_lines(res):
    lines = []
    ipp = res.get("instructions_per_packet") or {}
    if ipp:
        parts = []
        for size in sorted(ipp, key=lambda s: int(s)):
            e = ipp[size]
            d = e.get("dpdk")
            parts.append("%s B: %s%s" % (size, e.get("vnet-p2p"),
                                         "" if d is None else " (DPDK %s)" % d))
        lines.append("Instructions per packet (callgrind), vnet-p2p: " + "; ".join(parts))
    ipb = (res.get("bulk") or {}).get("instructions_per_payload_byte") or {}

    def na(v):
        return "n/a" if v is None else str(v)

    if ipb.get("seg") is not None or ipb.get("plain") is not None:
        line = ("Instructions per TCP payload byte, vnet-p2p: segmenting 64 KB frames %s, "
                "forwarding 1514-byte frames %s" % (na(ipb.get("seg")), na(ipb.get("plain"))))
        lines.append(line)
        if ipb.get("generator_1500") is not None:
            lines.append("    (the generator's one-descriptor 1500-byte frames: %s per 1448 bytes)"
                         % ipb["generator_1500"])
    return lines


def render(res):
    poll = res.get("poll_usec", 100)
    g1 = size_groups(res, lambda v, size: v / 1e6)
    g2 = size_groups(res, lambda v, size: v * size * 8 / 1e9)
    g3 = bulk_groups(res)
    foot = footer_lines(res)
    height = 92 + 3 * PANEL_H + 18 * len(foot) + 28
    svg = Svg()
    svg.add('<?xml version="1.0" encoding="UTF-8"?>')
    svg.add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            'font-family="%s">' % (WIDTH, height, WIDTH, height, FONT))
    svg.add('<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (WIDTH, height))
    svg.text(30, 28, "vnet-p2p benchmark, %s" % res.get("date", "undated"), size=18,
             weight="bold", extra=' class="title"')
    svg.text(30, 48, "%s round(s) of %s s, medians; switch on CPU 0, load on CPU 1; "
             "ratios are vnet-p2p's figure over DPDK's in the same run"
             % (res.get("rounds", "?"), res.get("seconds", "?")), size=12, fill="#444")
    # Legend: the switches, and the bulk case's own bars when there are any.
    legend = list(SERIES)
    bulk = (res.get("bulk") or {}).get("payload_gbps") or {}
    if "dpdk-ext" in (bulk.get("pass") or {}):
        legend.append(("dpdk-ext", "DPDK, ext-buffer=1 (bulk)", EXT_COLOUR))
    if bulk.get("seg"):
        legend.append(("seg", "vnet-p2p segmenting (bulk)", SEG_COLOUR))
    x = 30
    for key, name, colour in legend:
        name = name.format(poll=poll)
        svg.rect(x, 60, 14, 14, colour)
        svg.text(x + 19, 72, name, size=12, extra=' class="legend"')
        x += 30 + 7.0 * len(name)
    y = 88
    svg.add('<g class="panel" id="pps">')
    panel(svg, y, "Packets per second by frame size (both directions together)", "Mpps", g1,
          value_digits=2)
    svg.add('</g><g class="panel" id="gbps">')
    panel(svg, y + PANEL_H, "The same in Gbit/s (frame bytes x 8)", "Gbit/s", g2)
    svg.add('</g><g class="panel" id="bulk">')
    panel(svg, y + 2 * PANEL_H, "Bulk TCP: 64 KB GSO frames, 45 segments of 1448 bytes "
          "(TCP payload Gbit/s)", "payload Gbit/s", g3)
    svg.add('</g>')
    fy = y + 3 * PANEL_H + 16
    for line in foot:
        svg.text(30, fy, line, size=12, fill="#333", extra=' class="footer"')
        fy += 18
    svg.add('</svg>')
    return "\n".join(svg.parts) + "\n"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: chart.py RESULTS.json OUT.svg\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        res = json.load(f)
    out = render(res)
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
