#!/usr/bin/python3
"""seed_numpy.py -- workload 1 the way a Python user without bigmultipipe
would write it: multiprocessing.Pool over the files, the seed's steps in
NumPy.

    seed_numpy.py --outdir DIR --list FILE [-j N]

Each file: read whole, reject when the first value is 2, x10, +5 when the
first value was 3, median and average, written back under a temporary
name and renamed (the input's own .npy header, then the data, as
bench/perfile.c writes it, so the outputs compare byte for byte), one
JSON line of meta per file on standard output.  Needs NumPy
(/usr/bin/python3 on Debian).
"""
import json
import multiprocessing
import os
import sys

import numpy as np

REJECT, BOOST_TARGET, BOOST, MULTIPLY = 2.0, 3.0, 5.0, 10.0


def out_name(outdir, path):
    base = os.path.basename(path)
    dot = base.rfind(".")
    stem, ext = (base[:dot], base[dot:]) if dot > 0 else (base, "")
    return os.path.join(outdir, stem + "_bmp" + ext)


def header_length(raw):
    """Bytes before the data of a version 1, 2 or 3 .npy file."""
    if raw[6] == 1:
        return 10 + int.from_bytes(raw[8:10], "little")
    return 12 + int.from_bytes(raw[8:12], "little")


def one_file(job):
    path, outdir = job
    with open(path, "rb") as f:
        raw = f.read()
    at = header_length(raw)
    # A copy: the array is changed in place, as the other methods do.
    data = np.frombuffer(raw, dtype="<f8", offset=at).copy()
    first = data[0]
    if first == REJECT:
        return "{}"
    data *= MULTIPLY
    data += 0.0  # the same operations as the C steps, bit for bit
    if first == BOOST_TARGET:
        data += BOOST
    meta = {"median": float(np.median(data)), "average": float(data.mean())}
    out = out_name(outdir, path)
    tmp = out + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(raw[:at])
        f.write(data.tobytes())
    os.rename(tmp, out)
    return json.dumps(meta)


def main(argv):
    args = dict(zip(argv[1::2], argv[2::2]))
    if "--outdir" not in args or "--list" not in args or len(argv) % 2 == 0:
        sys.exit("usage: seed_numpy.py --outdir DIR --list FILE [-j N]")
    jobs = int(args.get("-j", os.cpu_count()))
    with open(args["--list"]) as f:
        names = [line.rstrip("\n") for line in f if line.strip()]
    with multiprocessing.Pool(jobs) as pool:
        for line in pool.imap(one_file, [(n, args["--outdir"]) for n in names]):
            print(line)


if __name__ == "__main__":
    main(sys.argv)
