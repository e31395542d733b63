#!/usr/bin/env python3
"""check_layers.py -- the library's structure, checked from its sources
and its objects.

    check_layers.py OBJECTS SRC_DIR LAYER [LAYER ...]

OBJECTS is a file the build writes (src/CMakeLists.txt), one line per
object of the library: its layer and its path -- the objects of this
build only, never a stale one of a source since moved or removed.
SRC_DIR is the library's src/ folder.  The layers are given from the
bottom up.  The rule (doc/architecture.md): a file uses only its own
layer and the layers below, and no files depend on each other in a loop.
Checked three ways:

  1. includes: every quoted include of a file under SRC_DIR names a
     header by its bare name (no folder, no "..": the include path
     decides), and that header lives in the file's layer or below; the
     public headers are everyone's;
  2. symbols: each object's undefined symbols (weak ones too) that
     another object defines are its dependencies on that file; one on a
     file of a higher layer is an error, even where the include path
     could not stop it (a function declared by hand, or a public
     function of a higher layer); a symbol defined by two objects is an
     error, as it hides whose it is;
  3. cycles: the dependencies of (2) and the includes of (1) between
     files have no loop, inside a layer or across.

Prints every breach and exits 1; exits 0 with one line of counts when
all hold.  Reads symbols with nm.
"""
import collections
import os
import re
import subprocess
import sys

DEFINED = set("TDBRCGSVWiu")
WEAK = set("VWu")  # may stand in several objects (instrumentation, COMDAT)
UNDEFINED = set("Uwv")


def objects(list_file, layers):
    """(layer index, file name, path) of every object in the list."""
    found = []
    with open(list_file) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            layer, path = line.split(" ", 1)
            if layer not in layers:
                raise SystemExit("%s: unknown layer %s" % (list_file, layer))
            name = os.path.basename(path)
            for suffix in (".o", ".obj"):
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
            found.append((layers.index(layer), "%s/%s" % (layer, name), path))
    return found


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(src_dir, layers):
    """(breaches, edges): quoted includes that break rule 1, and the
    file-to-header edges between files of the library."""
    where = {}
    for rank, layer in enumerate(layers):
        folder = os.path.join(src_dir, layer)
        for name in os.listdir(folder):
            if name.endswith(".h"):
                where.setdefault(name, []).append(rank)
    breaches, edges = [], collections.defaultdict(set)
    for rank, layer in enumerate(layers):
        folder = os.path.join(src_dir, layer)
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h")):
                continue
            me = "%s/%s" % (layer, name)
            with open(os.path.join(folder, name), errors="replace") as f:
                text = f.read()
            for header in INCLUDE.findall(text):
                if header == "bigmultipipe.h" or header.startswith(
                        "bigmultipipe/"):
                    continue  # the public headers
                if "/" in header:
                    breaches.append("include: %s names %s by a path; "
                                    "headers are named bare" % (me, header))
                    continue
                ranks = where.get(header)
                if not ranks:
                    breaches.append("include: %s includes %s, which no "
                                    "layer holds" % (me, header))
                    continue
                if len(ranks) > 1:
                    breaches.append("include: %s is in several layers" %
                                    header)
                if ranks[0] > rank:
                    breaches.append("include: %s includes %s of %s, above "
                                    "%s" % (me, header, layers[ranks[0]],
                                            layer))
                target = "%s/%s" % (layers[ranks[0]], header)
                if target != me:
                    edges[me].add(target)
    return breaches, edges


def symbols(path):
    """(strong definitions, weak definitions, undefined) of one object."""
    out = subprocess.run(["nm", path], check=True, capture_output=True,
                         text=True).stdout
    strong, weak, undefined = set(), set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in DEFINED:
            (weak if parts[1] in WEAK else strong).add(parts[2])
        elif len(parts) == 2 and parts[0] in UNDEFINED:
            undefined.add(parts[1])
    return strong, weak, undefined


def cycles(graph):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def main(argv):
    if len(argv) < 4:
        print("usage: check_layers.py OBJECTS SRC_DIR LAYER [LAYER ...]",
              file=sys.stderr)
        return 2
    list_file, src_dir, layers = argv[1], argv[2], argv[3:]
    files = objects(list_file, layers)
    if not files:
        print("no objects in %s" % list_file, file=sys.stderr)
        return 2
    breaches, include_edges = includes(src_dir, layers)
    rank, owner, needs = {}, {}, {}
    weak_owner = {}
    for r, name, path in files:
        strong, weak, undefined = symbols(path)
        rank[name] = r
        needs[name] = undefined
        for sym in strong:
            if sym in owner and owner[sym] != name:
                breaches.append("symbol: %s is defined by both %s and %s" %
                                (sym, owner[sym], name))
            owner[sym] = name
        for sym in weak:
            weak_owner.setdefault(sym, name)
    for sym, name in weak_owner.items():
        owner.setdefault(sym, name)
    uses = collections.defaultdict(lambda: collections.defaultdict(set))
    for name, undefined in needs.items():
        for sym in undefined:
            other = owner.get(sym)
            if other and other != name:
                uses[name][other].add(sym)
    for name in sorted(uses):
        for other in sorted(uses[name]):
            if rank[other] > rank[name]:
                breaches.append("upward: %s uses %s (%s above %s): %s" % (
                    name, other, layers[rank[other]], layers[rank[name]],
                    " ".join(sorted(uses[name][other]))))
    edges = sum(len(t) for t in uses.values())
    if edges == 0:
        breaches.append("no dependency between the objects at all: the "
                        "symbols could not be read (an LTO build?)")
    # One graph: a file's uses of other files' symbols, and its includes
    # of their headers (a header counts as the file of its name).
    graph = collections.defaultdict(set)
    for name, targets in uses.items():
        graph[name].update(targets)
    for name, targets in include_edges.items():
        for t in targets:
            graph[name].add(t)
            # foo.h stands for foo.c's interface: an edge to the header
            # is an edge to its file, where there is one.
            c_file = t[:-2] + ".c"
            if c_file in rank and c_file != name:
                graph[name].add(c_file)
    for component in cycles(graph):
        breaches.append("cycle of %d files: %s" % (len(component),
                                                   ", ".join(component)))
        members = set(component)
        for name in component:
            for other in sorted(graph[name]):
                if other in members:
                    why = " ".join(sorted(uses[name][other])) or "#include"
                    breaches.append("  %s -> %s: %s" % (name, other, why))
    if breaches:
        for b in breaches:
            print(b)
        return 1
    print("layers hold: %d files in %d layers, %d dependencies, all downward "
          "or within a layer, no cycle" % (len(files), len(layers), edges))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
