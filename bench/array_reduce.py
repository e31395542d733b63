"""array_reduce.py -- the CCD reduction of bench/array_reduce.c in NumPy.

    python3 bench/array_reduce.py DIR REPS

Reads the frames array_reduce.c made in DIR and times REPS reductions of
each raw frame as a NumPy user writes them, in place where NumPy allows
it (the fastest of the usual spellings): astype float32, subtract the
bias, divide by the flat, then mean, std, min, max and np.median.
Prints one JSON object a line, in array_reduce.c's form.
"""
import json
import sys
import time

import numpy as np


def reduce(raw, bias, flat):
    t0 = time.perf_counter()
    d = raw.astype(np.float32)
    t1 = time.perf_counter()
    d -= bias
    d /= flat
    t2 = time.perf_counter()
    s = (d.mean(), d.std(), d.min(), d.max(), np.median(d))
    t3 = time.perf_counter()
    return s, (t1 - t0, t2 - t1, t3 - t2)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, reps = sys.argv[1], int(sys.argv[2])
    bias = np.load(f"{folder}/bias.npy")
    flat = np.load(f"{folder}/flat.npy")
    for name in ("uint16", "float32"):
        raw = np.load(f"{folder}/raw_{name}.npy")
        times = []
        for _ in range(reps):
            s, t = reduce(raw, bias, flat)
            times.append(t)
        # The fastest, as array_reduce.c reports: the least disturbed.
        phase = [min(t[i] for t in times) for i in range(3)]
        total = min(sum(t) for t in times)
        mean, std, lo, hi, median = (float(x) for x in s)
        print(json.dumps({"input": name, "method": "NumPy", "reps": reps,
                          "convert": phase[0], "arithmetic": phase[1],
                          "stats": phase[2], "total": total, "mean": mean,
                          "std": std, "min": lo, "max": hi,
                          "median": median}), flush=True)


if __name__ == "__main__":
    main()
