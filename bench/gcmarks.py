#!/usr/bin/env python3
"""What the server's processors did during each collection's mark phase.

usage: go tool trace -d=parsed trace.out > parsed.txt; bench/gcmarks.py parsed.txt

For each "GC concurrent mark phase" of a runtime trace (bench/sb-calls.sh TRACE=1): the time each
processor (P) spent running the collector's workers, the relay's ring poller, the SIP socket's
reader and the rest, and the goroutines that waited more than 5 ms to run after being made
runnable (from 20 ms before the mark to its end), with the longest of them. A goroutine is
classed by the frames of the stacks it blocked or yielded with.
"""
import collections
import re
import sys

EV = re.compile(r'^M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(\d+)(.*)')
ST = re.compile(r'GoID=(\d+) (\w+)->(\w+)')


def load(path):
    events, funcs, cur = [], collections.defaultdict(set), None
    for ln in open(path):
        m = EV.match(ln)
        if m:
            _, p, g, kind, t, rest = m.groups()
            cur = (int(g), kind, rest)
            events.append((int(t), int(p), int(g), kind, rest))
            continue
        if cur and ln.startswith('\t') and '@' in ln:
            g = cur[0]
            s = ST.search(cur[2]) if cur[1] == 'StateTransition' else None
            if s and int(s.group(1)) != g:
                continue  # the stack of whoever made another goroutine runnable
            funcs[g].add(ln.strip().split(' @')[0])
    return events, funcs


def classer(funcs):
    def cls(g):
        j = ' '.join(funcs.get(g, ()))
        if 'gcBgMarkWorker' in j:
            return 'gc worker'
        if 'ringRound' in j or 'loopRing' in j:
            return 'relay poller'
        if 'bgsweep' in j or 'bgscavenge' in j:
            return 'sweep'
        if 'ServeUDP' in j or 'ReadFrom' in j:
            return 'sip reader'
        if 'net/http' in j or 'pprof' in j:
            return 'http'
        return 'other'
    return cls


def main(path):
    events, funcs = load(path)
    cls = classer(funcs)
    marks, begin = [], None
    for t, _, _, kind, rest in events:
        if 'GC concurrent mark' in rest:
            if kind == 'RangeBegin':
                begin = t
            elif kind == 'RangeEnd' and begin:
                marks.append((begin, t))
                begin = None
    running, runnable, waits = {}, {}, []
    busy = collections.defaultdict(collections.Counter)
    for t, p, _, kind, rest in events:
        s = ST.search(rest) if kind == 'StateTransition' else None
        if not s:
            continue
        g, fr, to = int(s.group(1)), s.group(2), s.group(3)
        if to == 'Running':
            running[g] = (p, t)
            if g in runnable:
                since = runnable.pop(g)
                if t - since > 5e6:
                    waits.append((since, t - since, g))
        elif fr == 'Running' and g in running:
            pp, a = running.pop(g)
            for i, (ms, me) in enumerate(marks):
                lo, hi = max(a, ms), min(t, me)
                if hi > lo:
                    busy[(i, pp)][cls(g)] += hi - lo
        if to == 'Runnable':
            runnable[g] = t
        elif to != 'Running':
            runnable.pop(g, None)
    t0 = events[0][0] if events else 0
    for i, (ms, me) in enumerate(marks):
        print(f"mark {i}: at {(ms - t0) / 1e6:.1f} ms, {(me - ms) / 1e6:.1f} ms long")
        for p in sorted(p for (j, p) in busy if j == i):
            print(f"   P{p}: " + ", ".join(f"{k} {v / 1e6:.1f} ms" for k, v in busy[(i, p)].most_common()))
        ws = [w for w in waits if ms - 20e6 <= w[0] <= me]
        print(f"   waits > 5 ms: {len(ws)}, longest {max((w[1] for w in ws), default=0) / 1e6:.1f} ms, "
              f"by class {dict(collections.Counter(cls(w[2]) for w in ws))}")
    outside = sum(1 for w in waits if not any(ms - 20e6 <= w[0] <= me for ms, me in marks))
    print(f"waits > 5 ms in all: {len(waits)}, outside the marks: {outside}")


if __name__ == '__main__':
    main(sys.argv[1])
