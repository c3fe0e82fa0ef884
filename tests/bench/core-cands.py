#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
core-cands.py [OBJ]: how many walks of the kernel's whole BTF a load of OBJ (default
build/bpf/ocibpf.bpf.o) costs the kernel's CO-RE (issue 13: `ocibpf load`).

The light skeleton leaves CO-RE relocations to the kernel: for each one, bpf_core_apply
looks the root type's name up in a cache of 31 slots (kernel/bpf/btf.c, vmlinux_cand_cache,
slot jhash(name) % 31, one name per slot); a miss walks every type of vmlinux's BTF
(~0.4 ms here). The relocations, in the order the kernel applies them, come from libbpf's
debug output (`bpftool -d prog loadall`, which loads OBJ once under a temporary pin
directory). Prints the types by slot and the misses of a first load and of the loads
after it (steady state: the cache keeps what the previous load left).
"""
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

M = 0xffffffff


def rol(x, k):
    return ((x << k) | (x >> (32 - k))) & M


def jhash(key, initval=0):
    """include/linux/jhash.h"""
    n = len(key)
    a = b = c = (0xdeadbeef + n + initval) & M
    i = 0
    while n > 12:
        a = (a + int.from_bytes(key[i:i + 4], 'little')) & M
        b = (b + int.from_bytes(key[i + 4:i + 8], 'little')) & M
        c = (c + int.from_bytes(key[i + 8:i + 12], 'little')) & M
        a = (a - c) & M; a ^= rol(c, 4); c = (c + b) & M
        b = (b - a) & M; b ^= rol(a, 6); a = (a + c) & M
        c = (c - b) & M; c ^= rol(b, 8); b = (b + a) & M
        a = (a - c) & M; a ^= rol(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= rol(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= rol(b, 4); b = (b + a) & M
        n -= 12
        i += 12
    if n == 0:
        return c
    t = key[i:] + bytes(12 - n)
    a = (a + int.from_bytes(t[0:4], 'little')) & M
    b = (b + int.from_bytes(t[4:8], 'little')) & M
    c = (c + int.from_bytes(t[8:12], 'little')) & M
    c ^= b; c = (c - rol(b, 14)) & M
    a ^= c; a = (a - rol(c, 11)) & M
    b ^= a; b = (b - rol(a, 25)) & M
    c ^= b; c = (c - rol(b, 16)) & M
    a ^= c; a = (a - rol(c, 4)) & M
    b ^= a; b = (b - rol(a, 14)) & M
    c ^= b; c = (c - rol(b, 24)) & M
    return c


def slot(name):
    return jhash(name.split('___')[0].encode()) % 31


def relocations(obj):
    pin = tempfile.mkdtemp(prefix='core-cands-', dir='/sys/fs/bpf')
    try:
        out = subprocess.run(['bpftool', '-d', 'prog', 'loadall', obj, pin + '/p'],
                             capture_output=True, text=True).stderr
    finally:
        subprocess.run(['rm', '-rf', pin])
    rx = re.compile(r"prog '([^']+)': relo #\d+: <[a-z_]+> \[\d+\] (?:struct|union|typedef|enum) (\w+)")
    return [m.groups() for m in map(rx.search, out.splitlines()) if m]


def main():
    obj = sys.argv[1] if len(sys.argv) > 1 else 'build/bpf/ocibpf.bpf.o'
    rel = relocations(obj)
    if not rel:
        sys.exit('no CO-RE relocations found (bpftool -d failed?)')
    slots = defaultdict(set)
    for _, t in rel:
        slots[slot(t)].add(t)
    for s in sorted(slots):
        print('slot %2d: %s%s' % (s, ' '.join(sorted(slots[s])),
                                  '   <- shared' if len(slots[s]) > 1 else ''))
    cache = {}

    def load():
        miss = 0
        for _, t in rel:
            if cache.get(slot(t)) != t:
                miss += 1
                cache[slot(t)] = t
        return miss
    first = load()
    print('%d relocations of %d types: %d walks of the kernel BTF at a first load, %d at each load after'
          % (len(rel), len({t for _, t in rel}), first, load()))


if __name__ == '__main__':
    main()
