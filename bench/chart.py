#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Draw bench/results.json as an SVG chart (Python's standard library only).

    bench/chart.py RESULTS.json OUT.svg

Panels: packets/s per frame size for each switch measured (DPDK's vhost
switch, vnet-p2p, vnet-p2p -p), the same in Gbit/s of frame bytes, packed
rings beside split ones (both switches), two queue pairs beside one, and
the bulk case in TCP payload Gbit/s; every group is labelled with the ratio
of vnet-p2p to DPDK. bench/run.sh calls it after each run.
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
# Packed rings and two queue pairs: each switch's second bar.
VARIANT_COLOUR = {
    "dpdk-packed": "#c8c8c8", "vnet-p2p-packed": "#2e9e5b",
    "dpdk-pairs": "#b89b5e", "vnet-p2p-pairs": "#8e44ad",
}

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
        label = size_label(size)
        groups.append({"label": label, "note": note, "note2": note2, "bars": bars})
    return groups


def size_label(size):
    return "%s B" % size + (" (2 x 2000)" if size == "4000" else "")


def packed_groups(res):
    """Packed rings beside split ones, per frame size, in Mpps."""
    groups = []
    pps = res.get("pps") or {}
    packed = res.get("pps_packed") or {}
    for size in sorted(packed, key=lambda s: int(s)):
        p, q = packed[size], pps.get(size) or {}

        def m(v):
            return None if v is None else v / 1e6

        bars = [("dpdk", m(q.get("dpdk")), COLOUR["dpdk"], "DPDK vhost, split"),
                ("dpdk-packed", m(p.get("dpdk")), VARIANT_COLOUR["dpdk-packed"],
                 "DPDK vhost, packed"),
                ("vnet-p2p", m(q.get("vnet-p2p")), COLOUR["vnet-p2p"], "vnet-p2p, split"),
                ("vnet-p2p-packed", m(p.get("vnet-p2p")), VARIANT_COLOUR["vnet-p2p-packed"],
                 "vnet-p2p, packed")]
        over = p.get("packed_over_split") or {}
        note = "packed/split %s (DPDK %s)" % (ratio_text(over.get("vnet-p2p")),
                                              ratio_text(over.get("dpdk")))
        lead = (p.get("ratio") or {}).get("vnet-p2p")
        lead_split = (p.get("ratio_split") or {}).get("vnet-p2p")
        note2 = "vs DPDK: packed %s, split %s" % (ratio_text(lead), ratio_text(lead_split))
        groups.append({"label": size_label(size), "note": note, "note2": note2, "bars": bars})
    return groups


def pairs_groups(res):
    """Two (or more) queue pairs beside one, per frame size, in Mpps."""
    mq = res.get("multiqueue") or {}
    n = mq.get("pairs", 2)
    ipp = mq.get("instructions_per_packet_over_one_pair") or {}
    groups = []
    for size, e in sorted((mq.get("pps") or {}).items(), key=lambda kv: int(kv[0])):
        one = e.get("one_pair") or {}

        def m(v):
            return None if v is None else v / 1e6

        bars = [("dpdk", m(one.get("dpdk")), COLOUR["dpdk"], "DPDK vhost, 1 pair"),
                ("dpdk-pairs", m(e.get("dpdk")), VARIANT_COLOUR["dpdk-pairs"],
                 "DPDK vhost, %s pairs" % n),
                ("vnet-p2p", m(one.get("vnet-p2p")), COLOUR["vnet-p2p"], "vnet-p2p, 1 pair"),
                ("vnet-p2p-pairs", m(e.get("vnet-p2p")), VARIANT_COLOUR["vnet-p2p-pairs"],
                 "vnet-p2p, %s pairs" % n)]
        note = "vs DPDK: %s pairs %s, 1 pair %s" % (
            n, ratio_text((e.get("ratio") or {}).get("vnet-p2p")),
            ratio_text((one.get("ratio") or {}).get("vnet-p2p")))
        r = (ipp.get(size) or {}).get("vnet-p2p")
        note2 = None if r is None else "instructions/packet, %s pairs over 1: %.3fx" % (n, r)
        groups.append({"label": size_label(size), "note": note, "note2": note2, "bars": bars})
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
        def figures(size, e):
            # DPDK's switch and the generator itself beside ours, where measured.
            others = ["%s %s" % (who, e[key]) for key, who in (("dpdk", "DPDK"), ("generator", "generator"))
                      if e.get(key) is not None]
            return "%s B: %s%s" % (size, e.get("vnet-p2p"), " (%s)" % ", ".join(others) if others else "")

        parts = [figures(size, ipp[size]) for size in sorted(ipp, key=lambda s: int(s))]
        lines.append("Instructions per packet (callgrind), vnet-p2p: " + "; ".join(parts))
        n = (res.get("multiqueue") or {}).get("pairs", 2)
        for key, what in (("packed", "packed rings"), ("pairs%s" % n, "%s queue pairs" % n)):
            parts = []
            for size in sorted(ipp, key=lambda s: int(s)):
                e = ipp[size].get(key)
                if e:
                    parts.append(figures(size, e))
            if parts:
                lines.append("Instructions per packet (callgrind), %s: %s"
                             % (what, "; ".join(parts)))
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
    g4 = packed_groups(res)
    g5 = pairs_groups(res)
    pairs = (res.get("multiqueue") or {}).get("pairs", 2)
    foot = footer_lines(res)
    # Legend: the switches, and the bulk case's and the variants' own bars
    # when there are any; a second row when it is long.
    legend = list(SERIES)
    bulk = (res.get("bulk") or {}).get("payload_gbps") or {}
    if "dpdk-ext" in (bulk.get("pass") or {}):
        legend.append(("dpdk-ext", "DPDK, ext-buffer=1 (bulk)", EXT_COLOUR))
    if bulk.get("seg"):
        legend.append(("seg", "vnet-p2p segmenting (bulk)", SEG_COLOUR))
    if g4:
        legend.append(("dpdk-packed", "DPDK, packed", VARIANT_COLOUR["dpdk-packed"]))
        legend.append(("vnet-p2p-packed", "vnet-p2p, packed", VARIANT_COLOUR["vnet-p2p-packed"]))
    if g5:
        legend.append(("dpdk-pairs", "DPDK, %s pairs" % pairs, VARIANT_COLOUR["dpdk-pairs"]))
        legend.append(("vnet-p2p-pairs", "vnet-p2p, %s pairs" % pairs,
                       VARIANT_COLOUR["vnet-p2p-pairs"]))
    placed = []
    x, ly = 30, 60
    for key, name, colour in legend:
        name = name.format(poll=poll)
        w = 30 + 7.0 * len(name)
        if x + w > WIDTH and x > 30:
            x, ly = 30, ly + 20
        placed.append((x, ly, name, colour))
        x += w
    y = ly + 28
    height = y + 5 * PANEL_H + 18 * len(foot) + 28
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
    for x, ly, name, colour in placed:
        svg.rect(x, ly, 14, 14, colour)
        svg.text(x + 19, ly + 12, name, size=12, extra=' class="legend"')
    svg.add('<g class="panel" id="pps">')
    panel(svg, y, "Packets per second by frame size (both directions together)", "Mpps", g1,
          value_digits=2)
    svg.add('</g><g class="panel" id="gbps">')
    panel(svg, y + PANEL_H, "The same in Gbit/s (frame bytes x 8)", "Gbit/s", g2)
    svg.add('</g><g class="panel" id="packed">')
    panel(svg, y + 2 * PANEL_H, "Packed rings beside split, packets per second (the generator "
          "on packed_vq=1)", "Mpps", g4, value_digits=2)
    svg.add('</g><g class="panel" id="pairs">')
    panel(svg, y + 3 * PANEL_H, "%s queue pairs beside one, packets per second (queues=%s, "
          "--rxq=%s --txq=%s)" % (pairs, pairs, pairs, pairs), "Mpps", g5, value_digits=2)
    svg.add('</g><g class="panel" id="bulk">')
    panel(svg, y + 4 * PANEL_H, "Bulk TCP: 64 KB GSO frames, 45 segments of 1448 bytes "
          "(TCP payload Gbit/s)", "payload Gbit/s", g3)
    svg.add('</g>')
    fy = y + 5 * PANEL_H + 16
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
