#!/usr/bin/env python3
"""check_layers.py -- the library's structure, checked from its objects.

    check_layers.py OBJECT_DIR LAYER [LAYER ...]

OBJECT_DIR is the build's src/CMakeFiles folder, which holds one
bmp_<layer>.dir per layer (src/CMakeLists.txt); the layers are given from
the bottom up.  Each object file's undefined symbols that another object
of the library defines are its dependencies on that file.  Two rules
(doc/architecture.md):

  1. a file uses only its own layer and the layers below: a dependency
     on a file of a higher layer is an error, even one the include path
     could not stop (a function declared by hand);
  2. no files depend on each other in a loop, inside a layer or across.

Prints every breach with the symbols behind it and exits 1; exits 0 with
one line of counts when both rules hold.  Reads symbols with nm.
"""
import collections
import os
import subprocess
import sys

DEFINED = set("TDBRCGSV")


def objects(object_dir, layers):
    """(layer index, file name, path) of every object, layer by layer."""
    found = []
    for rank, layer in enumerate(layers):
        top = os.path.join(object_dir, "bmp_%s.dir" % layer)
        for root, _dirs, files in os.walk(top):
            for name in sorted(files):
                if name.endswith(".c.o"):
                    path = os.path.join(root, name)
                    found.append((rank, "%s/%s" % (layer, name[:-2]), path))
    return found


def symbols(path):
    out = subprocess.run(["nm", path], check=True, capture_output=True,
                         text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in DEFINED:
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


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
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    object_dir, layers = argv[1], argv[2:]
    files = objects(object_dir, layers)
    if not files:
        print("no objects under %s" % object_dir, file=sys.stderr)
        return 2
    rank, owner, needs = {}, {}, {}
    for r, name, path in files:
        defined, undefined = symbols(path)
        rank[name] = r
        needs[name] = undefined
        for sym in defined:
            owner[sym] = name
    uses = collections.defaultdict(lambda: collections.defaultdict(set))
    for name, undefined in needs.items():
        for sym in undefined:
            other = owner.get(sym)
            if other and other != name:
                uses[name][other].add(sym)
    failed = False
    for name in sorted(uses):
        for other in sorted(uses[name]):
            if rank[other] > rank[name]:
                failed = True
                print("upward: %s uses %s (%s above %s): %s" % (
                    name, other, layers[rank[other]], layers[rank[name]],
                    " ".join(sorted(uses[name][other]))))
    graph = {name: set(targets) for name, targets in uses.items()}
    for component in cycles(graph):
        failed = True
        print("cycle of %d files: %s" % (len(component), ", ".join(component)))
        members = set(component)
        for name in component:
            for other in sorted(uses[name]):
                if other in members:
                    print("  %s -> %s: %s" % (name, other, " ".join(
                        sorted(uses[name][other]))))
    if failed:
        return 1
    edges = sum(len(t) for t in uses.values())
    print("layers hold: %d files in %d layers, %d dependencies, all downward "
          "or within a layer, no cycle" % (len(files), len(layers), edges))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
