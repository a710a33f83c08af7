#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz targets: a handful of valid inputs each,
in the input formats described at the top of each fuzz_*.c.

    fuzz/make_seeds.py [OUTDIR]     (default: fuzz/corpus next to this script)
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# ---- vhost-user (fuzz_vu_dev) ------------------------------------------------

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_LOG_BASE, SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 6, 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
GET_CONFIG, SET_CONFIG, RESET_DEVICE = 24, 25, 34
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 36, 37, 38

NEED_REPLY = 0x08
NOFD = 0x100

# Descriptor kinds (the byte per fd).
def memfd(pages, plus512=False):
    return ((pages & 31) | (32 if plus512 else 0)) << 2 | 0
EVENTFD = 1
def pipe_end(write=False):
    return (1 if write else 0) << 2 | 2
DEVNULL = 3
TRUSTED = 1 << 2 | 3

F_PROTOCOL = 1 << 30
F_VERSION_1 = 1 << 32
F_INDIRECT = 1 << 28
F_EVENT_IDX = 1 << 29
F_MRG_RXBUF = 1 << 15
F_RING_PACKED = 1 << 34
C0_FLIP_PACKED = 0x80  # byte 0 of fuzz_vu_dev: RING_PACKED flipped in every SET_FEATURES
F_CSUM, F_GUEST_CSUM = 1 << 0, 1 << 1
P_REPLY_ACK, P_CONFIG, P_RESET_DEVICE, P_MEM_SLOTS = 1 << 3, 1 << 9, 1 << 13, 1 << 15
P_MQ = 1 << 0
F_CTRL_VQ, F_MQ = 1 << 17, 1 << 22
PAIRS_SHIFT = 4  # byte 1 of fuzz_vu_dev: queues= 1 + (b >> 4)

UVA = 0x7F0000000000


def msg(req, payload=b"", fds=(), f=0):
    return struct.pack("<BBHB", req, f, len(payload), len(fds)) + bytes(fds) + payload


def u64(v):
    return struct.pack("<Q", v)


def state(idx, num):
    return struct.pack("<II", idx, num)


def vring_addr(idx, desc, used, avail):
    return struct.pack("<IIQQQQ", idx, 0, desc, used, avail, 0)


def region(gpa, size, uva, off):
    return struct.pack("<QQQQ", gpa, size, uva, off)


def mem_table(regions):
    return struct.pack("<II", len(regions), 0) + b"".join(region(*r) for r in regions)


def single(gpa, size, uva, off):
    return struct.pack("<Q", 0) + region(gpa, size, uva, off)


def config_read(off, size):
    return struct.pack("<III", off, size, 0) + bytes(size)


def ring_setup(idx, num, desc_uva, kick=EVENTFD, enable=True, f=0, base=0, driver=0x1000,
               device=0x2000):
    """A ring's setup; its driver area (avail ring) and device area (used
    ring) at those offsets from its descriptors."""
    out = msg(SET_VRING_NUM, state(idx, num), f=f)
    out += msg(SET_VRING_BASE, state(idx, base), f=f)
    out += msg(SET_VRING_ADDR, vring_addr(idx, desc_uva, desc_uva + device, desc_uva + driver), f=f)
    if kick is None:
        out += msg(SET_VRING_KICK, u64(idx | NOFD), f=f)
    else:
        out += msg(SET_VRING_KICK, u64(idx), (kick,), f=f)
    out += msg(SET_VRING_CALL, u64(idx), (EVENTFD,), f=f)
    out += msg(SET_VRING_ERR, u64(idx), (EVENTFD,), f=f)
    if enable:
        out += msg(SET_VRING_ENABLE, state(idx, 1), f=f)
    return out


def vu_seeds():
    seeds = {}
    # QEMU-like: protocol features, one memory table, both rings started.
    s = bytes([0x11, 8])  # ds-max 2, MAC; -s 256
    s += msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    s += msg(SET_PROTOCOL_FEATURES, u64(P_REPLY_ACK | P_CONFIG | P_RESET_DEVICE | P_MEM_SLOTS))
    s += msg(SET_OWNER, f=NEED_REPLY) + msg(GET_QUEUE_NUM) + msg(GET_MAX_MEM_SLOTS)
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1 | F_INDIRECT | F_EVENT_IDX | F_MRG_RXBUF
                               | F_CSUM | F_GUEST_CSUM), f=NEED_REPLY)
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),), f=NEED_REPLY)
    s += ring_setup(0, 256, UVA) + ring_setup(1, 256, UVA + 0x8000)
    s += msg(GET_CONFIG, config_read(0, 6)) + msg(GET_CONFIG, config_read(8, 2))
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += msg(RESET_DEVICE)
    seeds["qemu-session"] = s

    # DPDK-like: memory slots one by one, a polled ring, a region removed.
    s = bytes([0x03, 10])  # ds-max 4; -s 1024
    s += msg(SET_OWNER) + msg(GET_FEATURES)
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1))
    s += msg(GET_PROTOCOL_FEATURES)
    s += msg(SET_PROTOCOL_FEATURES, u64(P_MEM_SLOTS | P_REPLY_ACK))
    s += msg(GET_MAX_MEM_SLOTS)
    s += msg(ADD_MEM_REG, single(0, 0x8000, UVA, 0), (memfd(8),), f=NEED_REPLY)
    s += msg(ADD_MEM_REG, single(0x8000, 0x8000, UVA + 0x8000, 0x1000), (memfd(9),), f=NEED_REPLY)
    s += ring_setup(0, 64, UVA) + ring_setup(1, 64, UVA + 0x8000, kick=None)
    s += msg(REM_MEM_REG, single(0x8000, 0x8000, UVA + 0x8000, 0x1000), f=NEED_REPLY)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += msg(RESET_OWNER)
    seeds["dpdk-slots"] = s

    # No protocol features: rings start at once; memory replaced under them,
    # features changed under them.
    s = bytes([0x01, 8])
    s += msg(SET_FEATURES, u64(F_VERSION_1))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x8000, UVA, 0), (0x8000, 0x8000, UVA + 0x8000, 0)]),
             (memfd(8), memfd(8)))
    s += ring_setup(0, 128, UVA, enable=False) + ring_setup(1, 128, UVA + 0x8000, kick=None, enable=False)
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),))
    s += msg(SET_FEATURES, u64(F_VERSION_1 | F_EVENT_IDX))
    s += msg(SET_VRING_ADDR, vring_addr(1, UVA + 0x4000, UVA + 0x6000, UVA + 0x5000))
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    seeds["legacy-replace"] = s

    # What is refused: a pipe as kick, /dev/null as memory, a ring too big,
    # unknown requests, wrong sizes, a wrong version, unsupported requests.
    s = bytes([0x01, 6])  # -s 64
    s += msg(SET_PROTOCOL_FEATURES, u64(P_REPLY_ACK))
    s += msg(SET_FEATURES, u64(F_PROTOCOL), f=NEED_REPLY)
    s += msg(SET_VRING_KICK, u64(0), (pipe_end(),), f=NEED_REPLY)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x1000, UVA, 0)]), (DEVNULL,), f=NEED_REPLY)
    s += msg(SET_VRING_NUM, state(0, 512), f=NEED_REPLY)
    s += msg(RESET_DEVICE)
    s += msg(0xF5, f=NEED_REPLY) + msg(SET_FEATURES, u64(0)[:4], f=NEED_REPLY)
    s += msg(SET_LOG_BASE, bytes(16), (memfd(1),), f=NEED_REPLY)
    s += msg(SET_CONFIG, config_read(0, 6), f=NEED_REPLY)
    s += msg(SET_VRING_CALL, u64(1 | NOFD), (EVENTFD,), f=NEED_REPLY)
    s += msg(GET_FEATURES, f=0x01)  # version 0: the session ends
    s += msg(GET_FEATURES)
    seeds["refusals"] = s

    # Trusted memory (-d): a slice of the trusted object is accepted, other
    # memory is not.
    s = bytes([0x21, 8])
    s += msg(SET_FEATURES, u64(F_VERSION_1))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0x20000)]), (TRUSTED,))
    s += ring_setup(0, 256, UVA)
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),))
    seeds["trusted"] = s

    # A session that the datapath fails, then the client resets its rings.
    s = bytes([0x11, 8])
    s += msg(SET_FEATURES, u64(F_VERSION_1 | F_PROTOCOL))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),))
    s += ring_setup(0, 256, UVA) + ring_setup(1, 256, UVA + 0x8000)
    s += msg(GET_QUEUE_NUM, f=0x10)  # the datapath fails the port after this
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += ring_setup(0, 256, UVA, f=0x20) + ring_setup(1, 256, UVA + 0x8000)
    seeds["fail-and-recover"] = s

    # Packed rings, as QEMU sets them up: 250 entries (not a power of 2),
    # base 0x80008000 (avail and used halves, wrap counters set), the event
    # areas right after the descriptors (4000 bytes) and 4 bytes apart;
    # stopped, restarted where GET_VRING_BASE said, stopped again.
    modern = (F_PROTOCOL | F_VERSION_1 | F_INDIRECT | F_EVENT_IDX | F_MRG_RXBUF | F_CSUM
              | F_GUEST_CSUM | F_RING_PACKED)
    s = bytes([0x11, 8])
    s += msg(GET_FEATURES) + msg(SET_PROTOCOL_FEATURES, u64(P_REPLY_ACK | P_MEM_SLOTS))
    s += msg(SET_OWNER) + msg(SET_FEATURES, u64(modern), f=NEED_REPLY)
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),), f=NEED_REPLY)
    s += ring_setup(0, 250, UVA, base=0x80008000, driver=4000, device=4004)
    s += ring_setup(1, 250, UVA + 0x8000, base=0x80008000, driver=4000, device=4004)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += ring_setup(0, 250, UVA, base=0x000500F9, driver=0x1000, device=0x1004)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(RESET_DEVICE)
    seeds["qemu-packed"] = s

    # As DPDK does: the low half of the base only, regions added one by
    # one, a polled ring; a 256-entry ring in the second region.
    s = bytes([0x03, 10])
    s += msg(SET_OWNER) + msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1 | F_RING_PACKED))
    s += msg(SET_PROTOCOL_FEATURES, u64(P_MEM_SLOTS | P_REPLY_ACK))
    s += msg(ADD_MEM_REG, single(0, 0x8000, UVA, 0), (memfd(8),), f=NEED_REPLY)
    s += msg(ADD_MEM_REG, single(0x8000, 0x8000, UVA + 0x8000, 0), (memfd(8),), f=NEED_REPLY)
    s += ring_setup(0, 64, UVA, base=0x8003, driver=0x400, device=0x440)
    s += ring_setup(1, 256, UVA + 0x8000, kick=None, base=0x0005, driver=0x1000, device=0x1010)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    seeds["dpdk-packed"] = s

    # What packed rings get refused for: a base index beyond the ring, a
    # used half beyond it, a driver area at 2 mod 4, an area past the
    # region's end; a 250-entry ring whose features turn split; the format
    # changed while a ring runs.
    s = bytes([0x11, 8])
    s += msg(SET_PROTOCOL_FEATURES, u64(P_REPLY_ACK))
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1 | F_RING_PACKED | F_EVENT_IDX))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),))
    s += msg(SET_VRING_NUM, state(0, 100)) + msg(SET_VRING_BASE, state(0, 0x8000 | 100), f=NEED_REPLY)
    s += msg(SET_VRING_BASE, state(0, 0x01008000), f=NEED_REPLY)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += ring_setup(0, 100, UVA, base=0x8000, driver=1602, device=1608)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += ring_setup(0, 100, UVA + 0x10000 - 1600, base=0x8000, driver=1600, device=1604)
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += msg(SET_VRING_NUM, state(1, 250)) + msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1))
    s += ring_setup(1, 250, UVA + 0x8000)[len(msg(SET_VRING_NUM, state(1, 250))):]
    s += msg(GET_VRING_BASE, state(0, 0)) + msg(GET_VRING_BASE, state(1, 0))
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1 | F_RING_PACKED))
    s += ring_setup(0, 128, UVA, base=0x8000, driver=2048, device=2052)
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1))
    seeds["packed-refusals"] = s

    # Multiqueue, as QEMU sets it up with queues=3 on a port of 4 pairs:
    # PROTOCOL_F_MQ, GET_QUEUE_NUM, the config space's max pairs, six
    # rings of 64 (three pairs started), a TX ring stopped; then rings
    # beyond the port's 8, which fail it; every ring stopped (the port
    # recovers). 59 messages: the harness reads 64 at most.
    s = bytes([0x11, 6 | 3 << PAIRS_SHIFT])  # ds-max 2, MAC; -s 64; 4 pairs
    s += msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    s += msg(SET_PROTOCOL_FEATURES, u64(P_REPLY_ACK | P_CONFIG | P_MQ | P_MEM_SLOTS))
    s += msg(GET_QUEUE_NUM) + msg(SET_OWNER)
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1 | F_INDIRECT | F_EVENT_IDX | F_MRG_RXBUF
                               | F_MQ | F_CTRL_VQ), f=NEED_REPLY)
    s += msg(GET_CONFIG, config_read(0, 10))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),), f=NEED_REPLY)
    for i in range(6):
        s += ring_setup(i, 64, UVA + i * 0x1000, driver=0x400, device=0x800, f=NEED_REPLY)
    s += msg(SET_VRING_ENABLE, state(5, 0)) + msg(GET_VRING_BASE, state(5, 0))
    s += msg(SET_VRING_NUM, state(8, 64), f=NEED_REPLY)
    s += msg(SET_VRING_CALL, u64(9), (EVENTFD,), f=NEED_REPLY)
    for i in range(6):
        s += msg(GET_VRING_BASE, state(i, 0))
    seeds["qemu-multiqueue"] = s
    # The same port without PROTOCOL_F_MQ: one pair; ring 2 fails it.
    s = bytes([0x11, 6 | 3 << PAIRS_SHIFT])
    s += msg(SET_PROTOCOL_FEATURES, u64(P_REPLY_ACK)) + msg(GET_QUEUE_NUM)
    s += msg(SET_FEATURES, u64(F_PROTOCOL | F_VERSION_1))
    s += msg(SET_MEM_TABLE, mem_table([(0, 0x10000, UVA, 0)]), (memfd(16),))
    s += ring_setup(0, 64, UVA, driver=0x400, device=0x800)
    s += ring_setup(2, 64, UVA + 0x2000, driver=0x400, device=0x800, f=NEED_REPLY)
    s += msg(GET_VRING_BASE, state(0, 0)) + ring_setup(1, 64, UVA + 0x1000, driver=0x400, device=0x800)
    seeds["one-pair-ring-beyond"] = s
    # The QEMU session with RING_PACKED flipped in (byte 0, bit 7): its
    # split layout serves a packed ring as well.
    seeds["qemu-session-flipped"] = bytes([seeds["qemu-session"][0] | C0_FLIP_PACKED]) + \
        seeds["qemu-session"][1:]
    return seeds

# ---- forwarding (fuzz_forward) -------------------------------------------------

REGION = 8192
VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4
FB_VERSION_1, FB_MRG_RXBUF, FB_GUEST_CSUM, FB_CSUM, FB_INDIRECT, FB_EVENT_IDX = 1, 2, 4, 8, 16, 32
LB_ALIAS, LB_SRC_RING_R1, LB_DST_RING_R1, LB_DROP = 0x10, 0x20, 0x40, 0x80
FB_CAPTURE = 0x40  # in the sender's byte: a capture records delivered frames


# Guest-physical address of region 0 and 1 in each layout (fuzz_forward.c).
LAYOUT_GPA = [(0, REGION), (0, 3 * REGION), (0x100000, 0x100000 + REGION), (REGION, 0)]


class Image:
    """One client's memory, addressed by file offset, with a ring at file
    offset ring_at; descriptors get guest-physical addresses of the layout."""

    def __init__(self, num, event_idx, ring_at=0, idx_base=0, layout=0):
        self.b = bytearray(2 * REGION)
        self.layout = layout
        self.num = num
        self.idx_base = idx_base
        self.desc = ring_at
        self.avail = self.desc + 16 * num
        self.used = (self.avail + 4 + 2 * num + (2 if event_idx else 0) + 3) & ~3
        self.n_avail = 0
        self.end = self.used + 4 + 8 * num + 2

    def put(self, off, data):
        self.b[off:off + len(data)] = data
        self.end = max(self.end, off + len(data))

    def gpa(self, off):
        return LAYOUT_GPA[self.layout][off // REGION] + off % REGION

    def desc_bytes(self, off, length, flags=0, nxt=0):
        return struct.pack("<QIHH", self.gpa(off), length, flags, nxt)

    def set_desc(self, i, off, length, flags=0, nxt=0):
        self.put(self.desc + 16 * i, self.desc_bytes(off, length, flags, nxt))

    def publish(self, head):
        slot = (self.idx_base + self.n_avail) % self.num
        self.put(self.avail + 4 + 2 * slot, struct.pack("<H", head))
        self.n_avail += 1
        self.put(self.avail, struct.pack("<HH", 0, (self.idx_base + self.n_avail) & 0xFFFF))

    def bytes(self):
        return bytes(self.b[:self.end])


FB_HOST_GSO = FB_GUEST_GSO = 0x80  # the sender's / receiver's byte (fuzz_forward.c)


def ones_sum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def gso_frame(kind, payload):
    """A super-packet as Linux hands it over with TSO/UFO: the IPv4 header
    summed, the L4 checksum seeded with the folded pseudo-header sum."""
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
    data = frame(payload, 21)
    udp = kind.startswith("udp")
    if udp:
        l4 = struct.pack(">HHHH", 4000, 5000, 8 + payload, 0)
    else:
        l4 = struct.pack(">HHIIBBHHH", 4000, 5000, 0x1000, 1, 5 << 4, 0x18, 500, 0, 0)
    proto = 17 if udp else 6
    l4_len = len(l4) + payload
    if kind.endswith("6"):
        src, dst = bytes(range(16)), bytes(range(16, 32))
        ip = struct.pack(">IHBB", 6 << 28, l4_len, proto, 64) + src + dst
        pseudo = src + dst + struct.pack(">IxxxB", l4_len, proto)
        eth += b"\x86\xdd"
    else:
        src, dst = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
        ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + l4_len, 7, 0, 64, proto, 0) + src + dst
        ip = ip[:10] + struct.pack(">H", 0xFFFF - ones_sum(ip)) + ip[12:]
        pseudo = src + dst + struct.pack(">xBH", proto, l4_len)
        eth += b"\x08\x00"
    seed = struct.pack(">H", ones_sum(pseudo))
    off = 6 if udp else 16
    l4 = l4[:off] + seed + l4[off + 2:]
    return eth + ip + l4 + data


def net_hdr(hdr_len, flags=0, csum_start=0, csum_offset=0):
    h = struct.pack("<BBHHHH", flags, 0, 0, 0, csum_start, csum_offset)
    return h + (b"\x01\x00" if hdr_len == 12 else b"")


def frame(n, seed=1):
    return bytes((seed + i * 31) & 0xFF for i in range(n))


def sender(num, fb, hdr_len, ring_at=0, base=0x400, cross=True, idx_base=0, layout=0):
    """Four TX packets: one descriptor (the fast path), a chain crossing
    from region 0 into region 1 (or not), an indirect table, and a checksum
    request."""
    img = Image(num, fb & FB_EVENT_IDX, ring_at, idx_base, layout)
    # 1: header and frame in one buffer.
    img.put(base, net_hdr(hdr_len) + frame(60))
    img.set_desc(0, base, hdr_len + 60)
    img.publish(0)
    # 2: header alone, then a frame that crosses the region boundary.
    img.put(base + 0x100, net_hdr(hdr_len))
    split = REGION - 0x40 if cross else base + 0x500
    img.put(split, frame(0x80, 7))
    img.set_desc(1, base + 0x100, hdr_len, VRING_DESC_F_NEXT, 2)
    img.set_desc(2, split, 0x80)
    img.publish(1)
    # 3: an indirect table of two buffers.
    if fb & FB_INDIRECT:
        img.put(base + 0x200, net_hdr(hdr_len) + frame(100, 3))
        img.put(base + 0x300, img.desc_bytes(base + 0x200, hdr_len, VRING_DESC_F_NEXT, 1)
                + img.desc_bytes(base + 0x200 + hdr_len, 100))
        img.set_desc(3, base + 0x300, 32, VRING_DESC_F_INDIRECT)
        img.publish(3)
    # 4: a UDP/IPv4 frame whose checksum the device is asked to complete.
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    ip = bytes([0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    udp = struct.pack(">HHHH", 1234, 5678, 28, 0) + frame(20, 9)
    img.put(base + 0x400, net_hdr(hdr_len, 1, 34, 6) + eth + ip + udp)
    img.set_desc(4, base + 0x400, hdr_len + len(eth + ip + udp))
    img.publish(4)
    return img


def receiver(num, fb, chains, size, ring_at=0, base=0x400, layout=0):
    img = Image(num, fb & FB_EVENT_IDX, ring_at, layout=layout)
    for c in range(chains):
        img.set_desc(c, base + c * size, size, VRING_DESC_F_WRITE)
        img.publish(c)
    return img


AVAIL, USED = 1 << 7, 1 << 15  # packed descriptor flags


class PackedImage(Image):
    """One client's memory with a packed ring of num entries at file offset
    ring_at (descriptors, then the driver and device event areas), whose
    driver starts at base (index | wrap counter << 15)."""

    def __init__(self, num, ring_at=0, base=0x8000, layout=0):
        self.b = bytearray(2 * REGION)
        self.layout = layout
        self.num = num
        self.desc = ring_at
        self.slot = base & 0x7FFF
        self.wrap = base >> 15
        self.next_id = 0
        self.end = ring_at + 16 * num + 8

    def packed_desc(self, off, length, ident, flags):
        return struct.pack("<QIHH", self.gpa(off), length, ident, flags)

    def post(self, bufs, extra_flags=0):
        """A chain of (offset, len, flags) buffers, made available whole; the
        buffer id in every descriptor (the device reads the last one's)."""
        ident = self.next_id
        self.next_id = (self.next_id + 1) % self.num
        for i, (off, length, flags) in enumerate(bufs):
            flags |= (AVAIL if self.wrap else USED) | extra_flags
            if i + 1 < len(bufs):
                flags |= VRING_DESC_F_NEXT
            self.put(self.desc + 16 * self.slot, self.packed_desc(off, length, ident, flags))
            self.slot += 1
            if self.slot == self.num:
                self.slot = 0
                self.wrap ^= 1
        return ident

    def post_indirect(self, table_off, bufs):
        """One descriptor naming a table of (offset, len, flags) buffers."""
        self.put(table_off, b"".join(self.packed_desc(o, n, 0, f) for o, n, f in bufs))
        return self.post([(table_off, 16 * len(bufs), VRING_DESC_F_INDIRECT)])


def packed_sender(num, hdr_len, base=0x8000, data=0x400, cross=True, layout=0):
    """The split sender's four TX packets on a packed ring: one buffer, a
    header and a frame crossing into region 1, an indirect table, a
    checksum request."""
    img = PackedImage(num, base=base, layout=layout)
    img.put(data, net_hdr(hdr_len) + frame(60))
    img.post([(data, hdr_len + 60, 0)])
    img.put(data + 0x100, net_hdr(hdr_len))
    split = REGION - 0x40 if cross else data + 0x500
    img.put(split, frame(0x80, 7))
    img.post([(data + 0x100, hdr_len, 0), (split, 0x80, 0)])
    img.put(data + 0x200, net_hdr(hdr_len) + frame(100, 3))
    img.post_indirect(data + 0x300, [(data + 0x200, hdr_len, 0), (data + 0x200 + hdr_len, 100, 0)])
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    ip = bytes([0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    udp = struct.pack(">HHHH", 1234, 5678, 28, 0) + frame(20, 9)
    img.put(data + 0x400, net_hdr(hdr_len, 1, 34, 6) + eth + ip + udp)
    img.post([(data + 0x400, hdr_len + len(eth + ip + udp), 0)])
    return img


def packed_receiver(num, chains, size, head_pieces=0, base=0x8000, ring_at=0, data=0x1000,
                    layout=0):
    """chains RX chains: head_pieces buffers of 4 bytes (a header over
    several), then one of size bytes."""
    img = PackedImage(num, ring_at=ring_at, base=base, layout=layout)
    at = data
    for c in range(chains):
        bufs = []
        for _ in range(head_pieces):
            bufs.append((at, 4, VRING_DESC_F_WRITE))
            at += 0x10
        bufs.append((at, size, VRING_DESC_F_WRITE))
        at += (size + 15) & ~15
        img.post(bufs)
    return img


# The flags byte of fuzz_forward: the direct walk's, and each ring's format.
WF_SRC_PACKED, WF_DST_PACKED = 0x08, 0x10


def fwd_input(log2s, log2d, fbs, fbd, lb, src, dst, budget=16, base_s=0, base_d=0,
              walk_head=0, walk_flags=0, walk_max=0x10000):
    s = src.bytes()
    cfg = struct.pack("<BBHHBBBBHHB", log2s, log2d, base_s, base_d, fbs, fbd, budget, lb,
                      len(s), walk_head, walk_flags)
    cfg += struct.pack("<I", walk_max)[:3]
    assert len(cfg) == 18
    return cfg + s + (dst.bytes() if dst is not None else b"")


def fwd_seeds():
    seeds = {}
    modern = FB_VERSION_1 | FB_MRG_RXBUF | FB_GUEST_CSUM | FB_CSUM | FB_INDIRECT | FB_EVENT_IDX
    seeds["modern-big-buffers"] = fwd_input(
        4, 4, modern, modern, 0, sender(16, modern, 12), receiver(16, modern, 8, 2048))
    # Small receive buffers with MRG_RXBUF: packets spread over chains.
    seeds["mergeable-small"] = fwd_input(
        4, 5, modern, modern, 0, sender(16, modern, 12), receiver(32, modern, 32, 48),
        walk_flags=3, walk_max=7)
    # A legacy receiver: 10-byte header, no GUEST_CSUM (checksum completed),
    # no MRG_RXBUF (a packet larger than its buffer is dropped).
    legacy = FB_INDIRECT
    seeds["legacy-receiver"] = fwd_input(
        4, 3, modern, legacy, 0, sender(16, modern, 12), receiver(8, legacy, 8, 80))
    # Legacy sender, modern receiver, rings in region 1, gap layout.
    seeds["legacy-sender"] = fwd_input(
        3, 4, FB_INDIRECT, modern, 0x01 | 0x0C | LB_SRC_RING_R1 | LB_DST_RING_R1,
        sender(8, FB_INDIRECT, 10, ring_at=REGION, base=REGION + 0x400, cross=False, layout=1),
        receiver(16, modern, 16, 256, ring_at=REGION, base=REGION + 0x400, layout=3), walk_head=1)
    # Layout 2 (high addresses), the sender's file second half first (3).
    seeds["layouts"] = fwd_input(
        4, 4, modern, modern, 0x03 | 0x08,
        sender(16, modern, 12, layout=3), receiver(16, modern, 8, 1024, layout=2), walk_head=2)
    # One process as both clients: the receiver maps the sender's file; its
    # ring and buffers live in region 1.
    src = sender(16, modern, 12, cross=False)
    rx = receiver(16, modern, 8, 512, ring_at=REGION, base=REGION + 0x800)
    src.put(REGION, rx.bytes()[REGION:])
    seeds["alias"] = fwd_input(4, 4, modern, modern, LB_ALIAS | LB_DST_RING_R1, src, None)
    # No receiver buffers, then the drop phase; indices near the wrap.
    src = sender(16, modern, 12, idx_base=0xFFFE)
    seeds["drop-wrap"] = fwd_input(4, 4, modern, modern, LB_DROP, src, receiver(16, modern, 0, 0),
                                   budget=2, base_s=0xFFFE)
    # A receiver whose every chain is a table of empty buffers, merged: one
    # packet would walk 64 * 65 descriptors; the bound stops it at 1024.
    # A packet at a time (budget 1), as the cost check reads it.
    rx = Image(64, True)
    for i in range(64):
        rx.put(0x800 + 16 * i, rx.desc_bytes(0x1000, 0, VRING_DESC_F_WRITE | (VRING_DESC_F_NEXT if i < 63 else 0), i + 1))
    for c in range(64):
        rx.set_desc(c, 0x800, 64 * 16, VRING_DESC_F_INDIRECT)
        rx.publish(c)
    seeds["rx-empty-tables"] = fwd_input(4, 6, modern, modern, 0, sender(16, modern, 12), rx,
                                         budget=0)
    # GSO frames (the sender negotiated the HOST_ offloads), one packet a
    # round with every outcome verified: whole to a receiver with the
    # GUEST_ ones, segments with checksums left partial or completed, UFO
    # fragments, and a receiver with too few chains to take all segments
    # at once (they go out over several rounds).
    def gso_sender(kind, payload, gso_size):
        img = Image(16, True)
        f = gso_frame(kind, payload)
        l4 = 54 if kind.endswith("6") else 34
        gtype = {"tcp4": 1, "tcp6": 4, "udp4": 3, "udp6": 3}[kind]
        hdr = struct.pack("<BBHHHH", 1, gtype, 0, gso_size, l4, 6 if kind.startswith("udp") else 16)
        hdr += b"\x01\x00"
        img.put(0x400, hdr + f)
        img.set_desc(0, 0x400, len(hdr) + len(f))
        img.publish(0)
        return img
    for name, kind, rx_fb, chains, size in (
            ("whole", "tcp4", modern | FB_GUEST_GSO, 4, 4096),
            ("segments-partial", "tcp4", modern, 8, 1600),
            ("segments-full", "tcp6", FB_INDIRECT, 8, 1600),
            ("udp4-fragments", "udp4", modern, 8, 1600),
            ("udp6-fragments", "udp6", FB_VERSION_1, 8, 1600),
            ("few-chains", "tcp4", modern, 2, 1600)):
        seeds["gso-" + name] = fwd_input(4, 4, modern | FB_HOST_GSO, rx_fb, 0,
                                         gso_sender(kind, 3000, 1000),
                                         receiver(16, rx_fb, chains, size), budget=0x80)
    # A frame over the largest one carried (VNET_FRAME_MAX): descriptors may
    # name the same buffer again and again, on both sides.
    src = Image(32, True)
    src.put(0x800, net_hdr(12))
    src.set_desc(0, 0x800, 12, VRING_DESC_F_NEXT, 1)
    for i in range(1, 18):
        src.set_desc(i, 0x1000, 0x1000, VRING_DESC_F_NEXT if i < 17 else 0, i + 1)
    src.put(0x1000, frame(0x1000, 5))
    src.publish(0)
    rx = Image(32, True)
    for c in range(32):
        rx.set_desc(c, 0x1000, 0x1000, VRING_DESC_F_WRITE)
        rx.publish(c)
    seeds["jumbo"] = fwd_input(5, 5, modern, modern, 0, src, rx)
    # With a capture: frames spread over receive chains, and a checksum the
    # server completes (patched into the record).
    seeds["capture-mergeable"] = fwd_input(
        4, 5, modern | FB_CAPTURE, modern, 0, sender(16, modern, 12), receiver(32, modern, 32, 48))
    seeds["capture-legacy-receiver"] = fwd_input(
        4, 3, modern | FB_CAPTURE, legacy, 0, sender(16, modern, 12), receiver(8, legacy, 8, 80))

    # Packed rings (a size byte b means 1 + b entries). Packed to packed: a
    # sender of 5 from index 3 (its chains wrap the ring's end), a receiver
    # of 250 whose chains are 3 buffers of 4 bytes and one of 200: each
    # header split over three pieces.
    rx = PackedImage(250, base=0x8000 | 248)
    for c in range(6):
        rx.post([(0x1000 + 0x10 * k + 0x40 * c, 4, VRING_DESC_F_WRITE) for k in range(3)]
                + [(0x1400 + 0x100 * c, 200, VRING_DESC_F_WRITE)])
    seeds["packed-to-packed"] = fwd_input(
        4, 249, modern, modern, 0, packed_sender(5, 12, base=0x8003), rx,
        base_s=0x8003, base_d=0x8000 | 248, walk_flags=WF_SRC_PACKED | WF_DST_PACKED)
    # Split to packed and packed to split, a legacy end each time.
    seeds["split-to-packed"] = fwd_input(
        4, 6, modern, legacy, 0, sender(16, modern, 12), packed_receiver(7, 6, 128),
        base_d=0x8000, walk_flags=WF_DST_PACKED | 3)
    seeds["packed-to-split"] = fwd_input(
        11, 4, FB_INDIRECT, modern, 0, packed_sender(12, 10, base=0x0005, cross=False),
        receiver(16, modern, 16, 48), base_s=0x0005, walk_flags=WF_SRC_PACKED)
    # Packed to packed, mergeable, through an indirect RX table; the
    # receiver's buffers of 48 bytes in two-buffer chains.
    rx = PackedImage(9)
    rx.post_indirect(0x1800, [(0x1000 + 0x40 * k, 48, VRING_DESC_F_WRITE) for k in range(4)])
    for c in range(4):
        rx.post([(0x1200 + 0x80 * c, 48, VRING_DESC_F_WRITE),
                 (0x1240 + 0x80 * c, 48, VRING_DESC_F_WRITE)])
    seeds["packed-indirect-merge"] = fwd_input(
        15, 8, modern, modern, LB_DROP, packed_sender(16, 12), rx, base_s=0x8000, base_d=0x8000,
        walk_flags=WF_SRC_PACKED | WF_DST_PACKED | 2 | 1)
    # A GSO frame from a packed sender to a packed receiver with too few
    # chains at once (its segments go over several rounds), verified.
    img = PackedImage(16)
    f = gso_frame("tcp4", 3000)
    hdr = struct.pack("<BBHHHH", 1, 1, 0, 1000, 34, 16) + b"\x01\x00"
    img.put(0x400, hdr + f)
    img.post([(0x400, len(hdr) + len(f), 0)])
    seeds["packed-gso-few-chains"] = fwd_input(
        15, 15, modern | FB_HOST_GSO, modern, 0, img, packed_receiver(16, 2, 1600),
        budget=0x80, base_s=0x8000, base_d=0x8000, walk_flags=WF_SRC_PACKED | WF_DST_PACKED)
    # Packed to packed, nine single-buffer packets whose ids name their
    # slots, and as many receive buffers: after the first, four at a time
    # (forward_fast4), with a budget of 64 descriptors.
    tx = PackedImage(16)
    for k in range(9):
        tx.put(0x400 + 0x80 * k, net_hdr(12) + frame(60, k + 1))
        tx.post([(0x400 + 0x80 * k, 72, 0)])
    seeds["packed-four-wide"] = fwd_input(
        15, 15, modern, modern, 0, tx, packed_receiver(16, 9, 128), budget=63,
        base_s=0x8000, base_d=0x8000, walk_flags=WF_SRC_PACKED | WF_DST_PACKED)
    return seeds

# ---- the TAP datapath (fuzz_tap) -------------------------------------------------

FB_HDR_OTHER, FB_NOT_READABLE = 0x40, 0x80


BUDGET_TX_PACKED, BUDGET_RX_PACKED = 0x40, 0x80  # fuzz_tap's budget byte


def tap_input(log2num, fb, chains, size, frames, frame_max=1500, budget=16, head_pieces=0):
    """A client with the sender's four packets in its TX ring (region 0) and
    chains RX buffers of size bytes (region 1), and kernel frames of the
    given lengths. Packed rings (bits of budget) have 1 + log2num & 63
    entries, start at 0x8000, their RX chains with head_pieces 4-byte
    buffers first."""
    hdr = 12 if fb & (FB_VERSION_1 | FB_MRG_RXBUF) else 10
    if budget & BUDGET_TX_PACKED:
        tx = packed_sender(1 + (log2num & 63), hdr, cross=False)
    else:
        tx = sender(1 << (log2num % 7), fb, hdr, ring_at=0, base=0x400, cross=False)
    if budget & BUDGET_RX_PACKED:
        rx = packed_receiver(1 + (log2num & 63), chains, size, head_pieces, ring_at=REGION,
                             data=REGION + 0x400)
    else:
        rx = receiver(1 << (log2num % 7), fb, chains, size, ring_at=REGION, base=REGION + 0x400)
    img = bytes(tx.b[:REGION]) + bytes(rx.b[REGION:rx.end])
    bases = (0x8000 if budget & BUDGET_TX_PACKED else 0, 0x8000 if budget & BUDGET_RX_PACKED else 0)
    cfg = struct.pack("<BBHHHBBH", fb, log2num, bases[0], bases[1], frame_max, budget,
                      len(frames), len(img))
    assert len(cfg) == 12
    out = cfg + img
    for n in frames:
        out += struct.pack("<H", n - 14) + net_hdr(hdr) + frame(n, n & 0xFF)
    return out


def tap_seeds():
    modern = FB_VERSION_1 | FB_MRG_RXBUF | FB_GUEST_CSUM | FB_CSUM | FB_INDIRECT
    return {
        "mergeable": tap_input(3, modern, 8, 512, [100, 1400]),
        "mergeable-event-idx": tap_input(3, modern | FB_EVENT_IDX, 6, 1024, [60, 1514, 700]),
        "legacy-chains": tap_input(2, 0, 4, 2048, [1514, 60]),
        "modern-no-merge": tap_input(2, FB_VERSION_1 | FB_INDIRECT, 2, 1024, [1000, 1200]),
        "too-small": tap_input(3, modern, 2, 256, [1514]),
        "header-mismatch": tap_input(3, modern | FB_HDR_OTHER, 8, 512, [300]),
        "no-input": tap_input(3, modern | FB_NOT_READABLE, 8, 512, [300]),
        # Packed client rings: both (32 entries), merged, each chain's
        # header over 3 pieces of 4; RX only (7 entries), without merging.
        "packed-mergeable": tap_input(31, modern | FB_EVENT_IDX, 6, 512, [100, 1400],
                                      budget=16 | BUDGET_TX_PACKED | BUDGET_RX_PACKED,
                                      head_pieces=3),
        "packed-rx": tap_input(6, FB_VERSION_1 | FB_INDIRECT, 3, 1600, [1000, 1514, 60],
                               budget=16 | BUDGET_RX_PACKED),
        "packed-tx": tap_input(6, modern, 4, 512, [], budget=16 | BUDGET_TX_PACKED),
    }


# ---- the ring module alone (fuzz_virtqueue) ----------------------------------------

(OP_AVAIL, OP_TAKE, OP_TAKE_MORE, OP_NEXT, OP_WALK, OP_END, OP_USED, OP_PACKET, OP_SINGLE,
 OP_MARK, OP_REWIND, OP_BEGIN, OP_COMMIT, OP_PUBLISH, OP_KICKS_ON, OP_KICKS_OFF,
 OP_KICKS_RESET, OP_GREW, OP_SIGNAL, OP_FREEZE, OP_PEEK, OP_ALL_TAKEN, OP_RESTART,
 OP_RESTART_AT, OP_MOVE, OP_POST, OP_POST_INDIRECT, OP_WRITE, OP_WISH) = range(29)
VQ_PACKED, VQ_EVENT_IDX, VQ_INDIRECT, VQ_GAP, VQ_RING_R1 = 1, 2, 4, 8, 16
OPF_RX = 0x20  # the flag of take, single and post: a receive chain
EVENT_ENABLE, EVENT_DISABLE, EVENT_DESC = 0, 1, 2
BUFS = 0x1800  # file offset of the seeds' buffers (the ring is at 0)


class Ops:
    """An operation sequence for fuzz_virtqueue (the enum op of fuzz_virtqueue.c)."""

    def __init__(self):
        self.b = bytearray()

    def op(self, op, flags=0, args=b""):
        self.b += bytes([op | flags]) + args
        return self

    def post(self, bufs, rx=False, ident=None):
        """A chain of (file offset, len) buffers; ident None: the driver's next id."""
        args = bytes([len(bufs) - 1, 0 if ident is None else 0x80 | ident])
        args += b"".join(struct.pack("<HH", o, n) for o, n in bufs)
        return self.op(OP_POST, OPF_RX if rx else 0, args)

    def post_indirect(self, table_at, bufs, rx=False, ident=None, before=()):
        """A table of (file offset, len) buffers at file offset table_at,
        after the ring descriptors `before` (at most 3)."""
        args = bytes([len(bufs) - 1, 0 if ident is None else 0x80 | ident])
        args += struct.pack("<H", table_at)
        args += b"".join(struct.pack("<HH", o, n) for o, n in bufs)
        args += b"".join(struct.pack("<HH", o, n) for o, n in before)
        return self.op(OP_POST_INDIRECT, (OPF_RX if rx else 0) | (len(before) << 6), args)

    def take(self, rx=False):
        return self.op(OP_TAKE, OPF_RX if rx else 0)

    def walk(self, max_piece=0):
        return self.op(OP_WALK, 0, struct.pack("<H", max_piece))

    def nxt(self, max_piece=0):
        return self.op(OP_NEXT, 0, struct.pack("<H", max_piece))

    def used(self, n=0, walked=False):
        return self.op(OP_USED, 0x20 if walked else 0, struct.pack("<H", n))

    def commit(self, n=0):
        return self.op(OP_COMMIT, 0, struct.pack("<H", n))

    def single(self, rx=False, done=True, n=0):
        """The fast path: a peek, then (done) taken, used (n bytes) and
        committed in one step."""
        flags = (OPF_RX if rx else 0) | (0x40 if done else 0)
        return self.op(OP_SINGLE, flags, struct.pack("<H", n))

    def wish(self, a, b):
        return self.op(OP_WISH, 0, struct.pack("<HH", a, b))

    def packet(self, rx=False, chains=1, max_piece=0):
        """One packet: take, walk and end each of its chains, given back with
        the bytes walked, committed, published, a signal asked for."""
        self.take(rx).walk(max_piece)
        for _ in range(chains - 1):
            self.op(OP_TAKE_MORE).walk(max_piece)
        self.op(OP_END)
        for _ in range(chains):
            self.used(walked=True)
        return self.op(OP_COMMIT, 0, struct.pack("<H", 0)).op(OP_PUBLISH).op(OP_SIGNAL)


def vq_input(cfg, size, base, ops, image=b""):
    return struct.pack("<BHHH", cfg, size, base, len(image)) + image + bytes(ops.b)


def vq_seeds():
    seeds = {}
    # Split, 16 entries: TX packets of one to three buffers, one crossing
    # into region 1; kicks and signals between them.
    o = Ops().op(OP_KICKS_RESET, 0x20)
    o.post([(BUFS, 60)]).post([(BUFS + 0x100, 12), (BUFS + 0x200, 100)])
    o.post([(0x2000 - 0x20, 0x40), (BUFS + 0x300, 8), (BUFS + 0x400, 1500)])
    for _ in range(3):
        o.packet()
    o.op(OP_KICKS_OFF).op(OP_GREW).op(OP_AVAIL).op(OP_PEEK, 0, b"\x00")
    seeds["split-tx"] = vq_input(VQ_EVENT_IDX, 4, 0, o)
    # The same over the layout with a gap: the crossing buffer faults.
    seeds["split-tx-gap"] = vq_input(VQ_EVENT_IDX | VQ_GAP, 4, 0, o)
    # Split RX, merged: a packet over three chains, its 12-byte header over
    # three pieces of 4, taken with take_more; then an indirect table.
    o = Ops()
    o.post([(BUFS, 4), (BUFS + 0x10, 4), (BUFS + 0x20, 4), (BUFS + 0x40, 64)], rx=True)
    o.post([(BUFS + 0x100, 128)], rx=True).post([(BUFS + 0x200, 128)], rx=True)
    o.packet(rx=True, chains=3, max_piece=4)
    o.post_indirect(BUFS + 0x800, [(BUFS + 0x300, 4), (BUFS + 0x310, 8), (BUFS + 0x320, 200)],
                    rx=True)
    o.packet(rx=True)
    seeds["split-rx-merged"] = vq_input(VQ_INDIRECT | VQ_EVENT_IDX, 5, 0xFFFE, o)
    # The TAP's way: chains gathered with marks, the last ones given back
    # by a rewind, the rest used and committed; the fast path; a restart
    # where a driver that lost track says (resync); a freeze.
    o = Ops()
    for i in range(4):
        o.post([(BUFS + 0x100 * i, 256)], rx=True)
    o.take(rx=True).walk().op(OP_END).op(OP_MARK).op(OP_TAKE_MORE).walk().op(OP_END)
    o.op(OP_MARK).op(OP_TAKE_MORE).walk().op(OP_END).op(OP_REWIND).used(300).commit(0)
    o.op(OP_PUBLISH).single(rx=True, n=64).op(OP_PUBLISH).op(OP_SIGNAL)
    o.op(OP_FREEZE).post([(BUFS, 64)], rx=True).op(OP_GREW).take(rx=True).commit(1)
    o.op(OP_RESTART).op(OP_RESTART_AT, 0, struct.pack("<H", 0)).op(OP_ALL_TAKEN)
    seeds["split-tap-rewind"] = vq_input(0, 3, 0, o)

    # Packed, 5 entries from index 3 (wrap 1): a chain of three wraps the
    # ring's end, then chains lap the ring, event wishes at a descriptor.
    o = Ops().op(OP_KICKS_RESET, 0x20).wish(0x8001, EVENT_DESC)
    o.post([(BUFS, 12), (BUFS + 0x100, 60), (BUFS + 0x200, 40)])
    o.packet()
    for i in range(6):
        o.post([(BUFS + 0x40 * i, 60 + i)]).packet()
    o.wish(0, EVENT_DISABLE).post([(BUFS, 60)]).packet().wish(0, EVENT_ENABLE)
    o.post([(BUFS, 60), (BUFS + 0x80, 16)]).packet().op(OP_KICKS_OFF).op(OP_GREW)
    seeds["packed-wrap"] = vq_input(VQ_PACKED | VQ_EVENT_IDX, 4, 0x8003, o)
    # 250 entries (not a power of 2), starting two before the end: chains
    # of 1 to 4 across the end, a few laps' worth of packets in batches.
    o = Ops()
    for i in range(40):
        n = 1 + i % 4
        o.post([(BUFS + 0x40 * ((i + k) % 32), 32) for k in range(n)])
        if i % 3 == 2:
            for _ in range(3):
                o.take().walk().op(OP_END).used(walked=True)
            o.commit(0).op(OP_PUBLISH).op(OP_SIGNAL)
    seeds["packed-250"] = vq_input(VQ_PACKED, 249, 0x8000 | 248, o)
    # Indirect tables in a packed ring (entries carry only WRITE), one after
    # two ring descriptors; one table entry with NEXT set (refused).
    o = Ops()
    o.post_indirect(BUFS + 0x800, [(BUFS, 12), (BUFS + 0x100, 300)], rx=True)
    o.packet(rx=True)
    o.post_indirect(BUFS + 0x900, [(BUFS + 0x200, 4), (BUFS + 0x210, 4), (BUFS + 0x220, 4),
                                   (BUFS + 0x300, 1000)], rx=True,
                    before=[(BUFS + 0x400, 8), (BUFS + 0x410, 8)])
    o.packet(rx=True, max_piece=4)
    o.post_indirect(BUFS + 0xA00, [(BUFS, 12), (BUFS + 0x100, 300)], rx=True)
    o.op(OP_WRITE, 0, struct.pack("<HB", BUFS + 0xA00 + 14, 2) + struct.pack("<H", 3))
    o.packet(rx=True)
    seeds["packed-indirect"] = vq_input(VQ_PACKED | VQ_INDIRECT, 7, 0x8000, o)
    # RX, merged: a 12-byte header over pieces of 4, 4 and 4 (and one of 3,
    # 3, 3, 3), chains taken with take_more, marks and a rewind; the fast
    # path; a restart where it stands, then one at another base.
    o = Ops()
    o.post([(BUFS, 4), (BUFS + 0x10, 4), (BUFS + 0x20, 4), (BUFS + 0x30, 100)], rx=True)
    o.post([(BUFS + 0x100, 3), (BUFS + 0x110, 3), (BUFS + 0x120, 3), (BUFS + 0x130, 3)], rx=True)
    o.post([(BUFS + 0x200, 200)], rx=True).post([(BUFS + 0x300, 200)], rx=True)
    o.packet(rx=True, chains=2, max_piece=4)
    o.take(rx=True).walk(4).op(OP_END).op(OP_MARK).op(OP_TAKE_MORE).walk().op(OP_END)
    o.op(OP_REWIND).used(walked=True).commit(0).op(OP_PUBLISH)
    o.post([(BUFS + 0x400, 1500)], rx=True).single(rx=True, n=1000).op(OP_PUBLISH)
    o.op(OP_RESTART).post([(BUFS, 64)], rx=True).packet(rx=True)
    o.op(OP_RESTART_AT, 0, struct.pack("<H", 2)).post([(BUFS, 64)], rx=True).packet(rx=True)
    seeds["packed-rx-merged"] = vq_input(VQ_PACKED | VQ_EVENT_IDX, 15, 0x8000, o)
    # A chain longer than the ring, and one that runs into slots not yet
    # given back; a buffer id beyond the ring; one still in use.
    o = Ops()
    o.post([(BUFS + 0x10 * k, 16) for k in range(5)]).packet()
    o.post([(BUFS, 16), (BUFS + 0x10, 16)]).take().walk().op(OP_END).used().commit(0)
    o.post([(BUFS, 16), (BUFS + 0x10, 16)]).packet().op(OP_PUBLISH)
    o.post([(BUFS, 16)], ident=100).packet()
    o.post([(BUFS, 16)], ident=1).post([(BUFS, 16)], ident=1)
    o.take().op(OP_END).take().op(OP_END).commit(0).op(OP_PUBLISH)
    seeds["packed-hostile"] = vq_input(VQ_PACKED, 3, 0x8000, o)
    return seeds


# ---- create requests and command lines -------------------------------------------


def create_seeds():
    t0 = struct.pack("<I", 0)
    return {
        "ds-max-mac": t0 + b"ds-max=4\0mac=02:00:00:00:00:01\0",
        "listen": t0 + b"listen=/run/p2p-port0.sock\0",
        "all-unknown": t0 + b"mac=2:0:0:a:B:ff\0ds-max=80\0colour=blue\0listen=/tmp/x\0novalue\0",
        "type-only": t0,
        "bad-type": struct.pack("<I", 1) + b"ds-max=2\0",
    }


def options_seeds():
    return {
        "full": b"--svr\0/run/p2p.sock\0-s\0256\0-p\0100\0-d\0fd:3\0-d\0/dev/shm/x\0-v\0-q",
        "attached": b"-s1024\0--svr=/tmp/s\0--poll=5\0--register-ds=/dev/shm/a\0-vv",
        "help": b"--help",
        "version": b"--version\0-q",
        "bad": b"-s\03\0--size\0-x\0extra",
        "ports": b"--port\0listen=/run/a.sock,ds-max=4,mac=2:0:0:0:0:1\0--port=tap=vnp0\0-s\064",
        "ports-bad": b"--port\0ds-max=2,,colour=blue\0--port\0listen=\0--port\0listen=/x",
    }


def main():
    for target, seeds in (("fuzz_vu_dev", vu_seeds()), ("fuzz_forward", fwd_seeds()),
                          ("fuzz_tap", tap_seeds()), ("fuzz_virtqueue", vq_seeds()),
                          ("fuzz_create", create_seeds()), ("fuzz_options", options_seeds())):
        d = os.path.join(OUT, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{d}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
