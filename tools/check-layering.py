#!/usr/bin/python3
"""check-layering.py [--objects BUILD/libsensor.a] [SRCDIR]: the sensor's
include and call circles.

A module is a .c file and its .h (sensor/<stage>/<name>.[ch]); the decoder's
files (decode*.c, decode-int.h, decode-events.h) are one module, whose layer
recursion (a tunnel's inner packet decoded by the link and IP layers again) is
the one circle the design has. Prints the module graph's circles:

  include: a module's files include a header of another module;
  call:    an object file of libsensor.a uses a symbol another defines (nm).

Exits 1 when there is any circle besides the decoder's inner one, 0 otherwise.
Also prints the stage folders and the largest files (for the redesign's
figures) with --layout.
"""
import os
import re
import subprocess
import sys


GROUP = True
INTERNAL = {}    # file name -> module, for files that include a module's -int.h


def module_of(path):
    """A type header (flow-t.h) is a module of its own: types included
    everywhere, no code, so including one is no dependency on the code of
    its stage. A module split over files shares an internal header
    <m>-int.h: every file that includes it (decode-ip.c, detect-build.c,
    rule-kw-payload.c, ...) is module <m>."""
    base = os.path.basename(path)
    stem = re.sub(r"\.[ch]$", "", base)
    if not GROUP:
        return stem
    if stem == "decode-events":
        return "decode-t"                     # the X-macro lists behind the decoder's types
    if stem.endswith("-int"):
        return stem[:-4]
    if base in INTERNAL:
        return INTERNAL[base]
    return stem


def sources(top):
    out = []
    for d, _, files in os.walk(os.path.join(top, "sensor")):
        for f in files:
            if f.endswith((".c", ".h")):
                out.append(os.path.join(d, f))
    return sorted(out)


def find_internal(top):
    """Which files include which module's internal header (<m>-int.h)."""
    for p in sources(top):
        for line in open(p, encoding="utf-8", errors="replace"):
            inc = re.match(r'\s*#\s*include\s+"([^"]+)-int\.h"', line)
            if inc and not os.path.basename(p).startswith(os.path.basename(inc.group(1)) + "-int."):
                INTERNAL[os.path.basename(p)] = os.path.basename(inc.group(1))


def include_graph(top):
    g = {}
    names = {os.path.basename(p): p for p in sources(top)}
    for p in sources(top):
        m = module_of(p)
        g.setdefault(m, set())
        for line in open(p, encoding="utf-8", errors="replace"):
            inc = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if inc and os.path.basename(inc.group(1)) in names:
                t = module_of(names[os.path.basename(inc.group(1))])
                if t != m:
                    g[m].add(t)
    return g


def call_graph(archive, top):
    """Edges between modules from nm of each member of the archive."""
    where = {os.path.basename(p): p for p in sources(top)}
    out = subprocess.run(["nm", "-A", archive], capture_output=True, text=True, check=True).stdout
    defined, used = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or ":" not in parts[0]:
            continue
        obj = parts[0].split(":")[1]
        c = re.sub(r"^libsensor_a-", "", obj).replace(".o", ".c")
        mod = module_of(where.get(c, c))
        kind, sym = parts[-2], parts[-1]
        if kind == "U":
            used.setdefault(mod, set()).add(sym)
        elif kind in ("T", "D", "B", "R"):
            defined[sym] = mod
    g = {}
    for mod, syms in used.items():
        g.setdefault(mod, set())
        for s in syms:
            t = defined.get(s)
            if t and t != mod:
                g[mod].add(t)
    return g


def circles(g):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, res, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                res.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return res


def layout(top):
    stage = os.path.join(top, "sensor")
    print("layout:")
    for d in sorted(os.listdir(stage)):
        p = os.path.join(stage, d)
        if os.path.isdir(p):
            files = sorted(f for f in os.listdir(p) if f.endswith((".c", ".h")))
            print("  sensor/%s/ (%d files): %s" % (d, len(files), " ".join(files)))
    sizes = []
    for p in sources(top):
        if p.endswith(".c"):
            sizes.append((sum(1 for _ in open(p, encoding="utf-8", errors="replace")), os.path.relpath(p, top)))
    print("largest .c files:")
    for n, p in sorted(sizes, reverse=True)[:10]:
        print("  %6d %s" % (n, p))


def main(argv):
    top, archive, show = None, None, False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--objects":
            archive = args.pop(0)
        elif a == "--layout":
            show = True
        else:
            top = a
    top = top or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    find_internal(top)
    if show:
        layout(top)
    global GROUP
    bad = 0
    for kind, g in (("include", include_graph(top)),) + ((("call", call_graph(archive, top)),) if archive else ()):
        cs = circles(g)
        print("%s circles between modules: %d%s" % (kind, len(cs), "".join("\n  " + " <-> ".join(c) for c in cs)))
        bad += len(cs)
    if archive:
        # File by file: the only circle allowed is the decoder's layer recursion.
        GROUP = False
        cs = circles(call_graph(archive, top))
        inner = [c for c in cs if all(m.startswith("decode") for m in c)]
        print("call circles between files: %d, of which inside the decoder: %d%s" %
              (len(cs), len(inner), "".join("\n  " + " <-> ".join(c) for c in cs)))
        bad += len(cs) - len(inner)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
