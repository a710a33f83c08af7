#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The benchmark's chart (bench/chart.py), drawn from a fixed results file.

    chart_test.py CHART_PY SAMPLE_JSON

Checks that the SVG parses as XML, that it has the series, axis labels,
legend, date and ratio labels the sample calls for (packed rings beside
split, two queue pairs beside one included), one bar per figure, bars in
proportion to their figures, and that a results file from an older run (no
bulk case, no packed or queue-pair figures, a missing figure) still draws.
Any failure, including the chart script failing to run, fails the test.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def draw(chart_py, results):
    """Run the chart script on a results dict; returns the parsed SVG root."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "results.json")
        out = os.path.join(tmp, "chart.svg")
        with open(src, "w", encoding="utf-8") as f:
            json.dump(results, f)
        run = subprocess.run([sys.executable, chart_py, src, out], capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stdout + run.stderr, file=sys.stderr)
            sys.exit("FAIL: %s exited with %d" % (chart_py, run.returncode))
        try:
            return ET.parse(out).getroot()
        except ET.ParseError as e:
            sys.exit("FAIL: the SVG does not parse: %s" % e)


def texts(root):
    return ["".join(t.itertext()) for t in root.iter(NS + "text")]


def bars(root, panel):
    g = [e for e in root.iter(NS + "g") if e.get("id") == panel]
    check(len(g) == 1, "one panel with id %s" % panel)
    if not g:
        return []
    return [r for r in g[0].iter(NS + "rect") if r.get("class") == "bar"]


def main(chart_py, sample):
    with open(sample, encoding="utf-8") as f:
        res = json.load(f)
    root = draw(chart_py, res)
    check(root.tag == NS + "svg", "the root element is <svg> (got %s)" % root.tag)
    check(root.get("width") and root.get("height"), "the SVG has a size")
    words = texts(root)
    joined = "\n".join(words)

    def has(s, what=None):
        check(any(s in w for w in words), what or "a text with %r" % s)

    # Title with the run's date, legend, axis labels, panel titles.
    has(res["date"], "the run's date")
    has("DPDK vhost", "the legend names DPDK's switch")
    has("vnet-p2p -p %d" % res["poll_usec"], "the legend names vnet-p2p -p")
    check(sum(1 for w in words if w == "vnet-p2p") >= 1, "the legend names vnet-p2p")
    has("Mpps", "the packets/s axis label")
    has("Gbit/s", "the Gbit/s axis label")
    has("payload Gbit/s", "the bulk panel's axis label")
    has("Bulk TCP", "the bulk panel's title")

    # One group per frame size, with its ratio labels as run.sh computed them.
    sizes = sorted(res["pps"], key=int)
    for size in sizes:
        has("%s B" % size, "a group for %s B" % size)
        r = res["pps"][size]["ratio"]
        has("vnet-p2p/DPDK %.2fx" % r["vnet-p2p"], "the vnet-p2p/DPDK ratio at %s B" % size)
        has("-p %d/DPDK %.2fx" % (res["poll_usec"], r["vnet-p2p-poll"]),
            "the vnet-p2p -p/DPDK ratio at %s B" % size)
    bulk = res["bulk"]["payload_gbps"]
    has("64 KB GSO, passed whole")
    has("64 KB GSO, segmented")
    has("1514-byte TCP frames")
    has("vnet-p2p/best DPDK %.2fx" % bulk["pass"]["ratio"], "the bulk pass-through ratio")
    has("(mbuf chains %.2fx, ext-buffer %.2fx)" % (bulk["pass"]["ratio_dpdk"],
                                                  bulk["pass"]["ratio_dpdk_ext"]),
        "the ratios to each of DPDK's two configurations")
    has("DPDK, ext-buffer=1", "the legend names DPDK with ext-buffer=1")
    has("vnet-p2p/DPDK %.2fx" % bulk["plain"]["ratio"], "the 1514-byte frames' ratio")
    ipp64 = res["instructions_per_packet"]["64"]
    has("64 B: %s (DPDK %s, generator %s)" % (ipp64["vnet-p2p"], ipp64["dpdk"], ipp64["generator"]),
        "the footer has the generator's own instructions per packet, split")
    has("64 B: %s (DPDK %s, generator %s)" % (ipp64["packed"]["vnet-p2p"], ipp64["packed"]["dpdk"],
                                              ipp64["packed"]["generator"]),
        "the footer has the generator's own instructions per packet, packed")
    ipb = res["bulk"]["instructions_per_payload_byte"]
    check(str(ipb["seg"]) in joined and str(ipb["plain"]) in joined
          and str(ipb["generator_1500"]) in joined,
          "the footer has the instructions per payload byte")

    # One bar per figure, heights in proportion to the figures.
    for panel, scale in (("pps", lambda v, s: v / 1e6), ("gbps", lambda v, s: v * s * 8 / 1e9)):
        rects = bars(root, panel)
        check(len(rects) == 3 * len(sizes), "%s: %d bars for %d sizes and 3 switches (got %d)"
              % (panel, 3 * len(sizes), len(sizes), len(rects)))
        series = [r.get("data-series") for r in rects]
        check(series == ["dpdk", "vnet-p2p", "vnet-p2p-poll"] * len(sizes),
              "%s: bars in the order DPDK, vnet-p2p, vnet-p2p -p (got %s)" % (panel, series))
        if len(rects) == 3 * len(sizes):
            keys = ("dpdk", "vnet-p2p", "vnet-p2p-poll")
            figures = [scale(res["pps"][size][key], int(size)) for size in sizes for key in keys]
            heights = [float(r.get("height")) for r in rects]
            unit = max(heights) / max(figures)
            for i, size in enumerate(sizes):
                for j, key in enumerate(keys):
                    h, v = heights[3 * i + j], figures[3 * i + j]
                    check(abs(h - v * unit) <= 0.6,
                          "%s: the %s bar at %s B is %.1f high, %.1f would match its figure"
                          % (panel, key, size, h, v * unit))
    rects = bars(root, "bulk")
    check([r.get("data-series") for r in rects] ==
          ["dpdk", "dpdk-ext", "vnet-p2p", "vnet-p2p-seg", "dpdk", "vnet-p2p"],
          "bulk: bars for DPDK (both ways) and vnet-p2p passing through, vnet-p2p segmenting, "
          "DPDK and vnet-p2p with 1514-byte frames")
    if len(rects) == 6:
        figures = [bulk["pass"]["dpdk"], bulk["pass"]["dpdk-ext"], bulk["pass"]["vnet-p2p"],
                   bulk["seg"]["vnet-p2p"], bulk["plain"]["dpdk"], bulk["plain"]["vnet-p2p"]]
        unit = max(float(r.get("height")) for r in rects) / max(figures)
        for r, v in zip(rects, figures):
            check(abs(float(r.get("height")) - v * unit) <= 0.6,
                  "bulk: the %s bar's height matches %s Gbit/s" % (r.get("data-series"), v))

    # Packed rings beside split: four bars per size (DPDK split, packed;
    # vnet-p2p split, packed), the ratios as run.sh computed them.
    packed = res["pps_packed"]
    psizes = sorted(packed, key=int)
    order = ["dpdk", "dpdk-packed", "vnet-p2p", "vnet-p2p-packed"]
    figures = []
    for size in psizes:
        p = packed[size]
        split = res["pps"][size]
        figures += [split["dpdk"], p["dpdk"], split["vnet-p2p"], p["vnet-p2p"]]
        has("packed/split %.2fx (DPDK %.2fx)" % (p["packed_over_split"]["vnet-p2p"],
                                                 p["packed_over_split"]["dpdk"]),
            "the packed/split ratios at %s B" % size)
        has("vs DPDK: packed %.2fx, split %.2fx" % (p["ratio"]["vnet-p2p"],
                                                   p["ratio_split"]["vnet-p2p"]),
            "the leads over DPDK, packed and split, at %s B" % size)
    has("DPDK, packed", "the legend names DPDK on packed rings")
    has("vnet-p2p, packed", "the legend names vnet-p2p on packed rings")
    has("Packed rings beside split", "the packed panel's title")
    # Two queue pairs beside one: four bars per size (DPDK 1, 2 pairs;
    # vnet-p2p 1, 2 pairs), ratios and the instructions' growth.
    mq = res["multiqueue"]
    msizes = sorted(mq["pps"], key=int)
    mfigures = []
    for size in msizes:
        e = mq["pps"][size]
        mfigures += [e["one_pair"]["dpdk"], e["dpdk"], e["one_pair"]["vnet-p2p"], e["vnet-p2p"]]
        has("vs DPDK: %d pairs %.2fx, 1 pair %.2fx" % (mq["pairs"], e["ratio"]["vnet-p2p"],
                                                       e["one_pair"]["ratio"]["vnet-p2p"]),
            "the leads over DPDK with 2 and 1 pairs at %s B" % size)
        has("instructions/packet, %d pairs over 1: %.3fx"
            % (mq["pairs"], mq["instructions_per_packet_over_one_pair"][size]["vnet-p2p"]),
            "the instructions' growth with the pairs at %s B" % size)
    has("vnet-p2p, %d pairs" % mq["pairs"], "the legend names vnet-p2p with 2 pairs")
    has("queue pairs beside one", "the pairs panel's title")
    ipp = res["instructions_per_packet"]
    check(all(str(ipp[s]["packed"]["vnet-p2p"]) in joined
              and str(ipp[s]["pairs2"]["dpdk"]) in joined for s in ipp),
          "the footer has the packed and 2-pair instructions per packet")
    for panel, sizes_of, figs, series in (
            ("packed", psizes, figures, order),
            ("pairs", msizes, mfigures, ["dpdk", "dpdk-pairs", "vnet-p2p", "vnet-p2p-pairs"])):
        rects = bars(root, panel)
        got = [r.get("data-series") for r in rects]
        check(got == series * len(sizes_of), "%s: bars in the order %s per size (got %s)"
              % (panel, series, got))
        if len(rects) == len(figs):
            unit = max(float(r.get("height")) for r in rects) / (max(figs) / 1e6)
            for r, v in zip(rects, figs):
                check(abs(float(r.get("height")) - v / 1e6 * unit) <= 0.6,
                      "%s: the %s bar's height matches %s packets/s"
                      % (panel, r.get("data-series"), v))

    # An older results file: no bulk case, a figure missing, and text that
    # XML must escape. It still draws.
    old = json.loads(json.dumps(res))
    del old["bulk"]
    del old["pps_packed"], old["multiqueue"]
    for e in old["instructions_per_packet"].values():
        e.pop("packed", None)
        e.pop("pairs2", None)
    old["date"] = "<unknown> & undated"
    old["pps"][sizes[0]]["vnet-p2p-poll"] = None
    old["pps"][sizes[0]]["ratio"]["vnet-p2p-poll"] = None
    root = draw(chart_py, old)
    words = texts(root)
    check(any("<unknown> & undated" in w for w in words), "text is escaped, not dropped")
    check(any("n/a" in w for w in words), "a missing figure is drawn as n/a")
    check(sum(1 for w in words if "no figures in this run" in w) == 3,
          "the empty bulk, packed and pairs panels say so")
    check(not bars(root, "packed") and not bars(root, "pairs"), "no packed or pairs bars")
    check(len(bars(root, "pps")) == 3 * len(sizes) - 1, "no bar for a missing figure")

    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("chart: all checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: chart_test.py CHART_PY SAMPLE_JSON")
    sys.exit(main(sys.argv[1], sys.argv[2]))
