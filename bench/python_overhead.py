#!/usr/bin/env python3
"""The Python package's cost, measured (doc/python-engine.md, "Figures").

1. Per-item overhead of a Python step over a C step: N empty items run
   through the same process executor in one worker, once with the per-item
   step in C (the engine's reference step) and once in Python, both
   returning (None, {'median': i, 'average': i}); the difference per item
   is what calling Python costs (the GIL taken in the worker, the
   callback, the meta converted to JSON).  Target: within 10 us.
2. The seed workload (10 arrays of 1000 x 2000 float64, the seed's steps:
   reject, boost_later, x10, later_booster, median, average, np.load and
   np.save) through the package's BigMultiPipe, against the same steps
   over multiprocessing.Pool.map, what bigmultipipe 0.2.0 does inside.

    python3 bench/python_overhead.py [--items N] [--reps R] [--jobs J]
                                     [--quick]

The package is the installed one, else the source tree's python/ (built
in place with `python3 setup.py build_ext --inplace` there).  Scratch
files go to $TMPDIR (or /dev/shm when it has room, else /tmp) and are
removed.  Each figure is the median of R runs.
"""
import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time

try:
    import bigmultipipe  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), '..', 'python'))
from bigmultipipe import BigMultiPipe, _engine  # noqa: E402

import numpy as np  # noqa: E402


# ---- 1. per-item overhead --------------------------------------------------

def python_step(in_name):
    i = float(in_name[1:])
    return None, {'median': i, 'average': i}


def per_item(items, reps):
    """Per item, in us: the C step's and the Python step's end-to-end
    cost, and the Python step's extra cost measured two ways: end to end
    (the run's time over the items) and inside the worker (the median of
    the items' own wall_s, which leaves out the caller's share, the same
    for both, and the items that another process preempted)."""
    names = ['i%d' % i for i in range(items)]

    def timed(fn):
        t = time.perf_counter()
        pout = _engine.run(names, fn, num_processes=1)
        elapsed = time.perf_counter() - t
        assert all(e['status'] == 'no_output' for e in pout)
        assert pout[-1]['meta'] == {'median': items - 1.0,
                                    'average': items - 1.0}
        return elapsed, statistics.median(e['stats']['wall_s']
                                          for e in pout)

    timed(_engine._c_step)  # warm-up: first-run costs belong to neither
    timed(python_step)
    c, py = [], []
    for _ in range(reps):  # interleaved, so that load affects both alike
        c.append(timed(_engine._c_step))
        py.append(timed(python_step))
    tc = statistics.median(x[0] for x in c)
    tp = statistics.median(x[0] for x in py)
    wc = statistics.median(x[1] for x in c)
    wp = statistics.median(x[1] for x in py)
    us = 1e6 / items
    return tc * us, tp * us, (tp - tc) * us, (wp - wc) * 1e6


# ---- 2. the seed workload --------------------------------------------------

def reject(data, reject_value=None, **kwargs):
    if reject_value is not None and data[0, 0] == reject_value:
        return None
    return data


def boost_later(data, boost_target=None, boost_amount=None, **kwargs):
    if boost_target is not None and boost_amount is not None \
            and data[0, 0] == boost_target:
        return {'bmp_data': data,
                'bmp_kwargs': {'need_to_boost_by': boost_amount}}
    return data


def later_booster(data, need_to_boost_by=None, **kwargs):
    if need_to_boost_by is not None:
        data = data + need_to_boost_by
    return data


def median(data, bmp_meta=None, **kwargs):
    if bmp_meta is not None:
        bmp_meta['median'] = np.median(data)
    return data


def average(data, bmp_meta=None, **kwargs):
    if bmp_meta is not None:
        bmp_meta['average'] = np.average(data)
    return data


class SeedPipe(BigMultiPipe):
    def file_read(self, in_name, **kwargs):
        return np.load(in_name)

    def file_write(self, data, outname, **kwargs):
        np.save(outname, data)
        return outname

    def data_process(self, data, **kwargs):
        return data * 10


def pool_item(args):
    """The same steps as one function, as 0.2.0's worker runs them."""
    in_name, outdir = args
    kw = {'reject_value': 2, 'boost_target': 3, 'boost_amount': 5}
    data = np.load(in_name)
    data = reject(data, **kw)
    if data is None:
        return None, {}
    r = boost_later(data, **kw)
    if isinstance(r, dict):
        data, kw = r['bmp_data'], dict(kw, **r['bmp_kwargs'])
    data = data * 10
    meta = {}
    data = later_booster(data, **kw)
    data = median(data, bmp_meta=meta)
    data = average(data, bmp_meta=meta)
    base, ext = os.path.splitext(os.path.basename(in_name))
    outname = os.path.join(outdir, base + '_bmp' + ext)
    np.save(outname, data)
    return outname, meta


def scratch_dir():
    if 'TMPDIR' not in os.environ and os.path.isdir('/dev/shm'):
        st = os.statvfs('/dev/shm')
        if st.f_bavail * st.f_frsize > 1 << 30:
            return tempfile.mkdtemp(prefix='bmp-pybench-', dir='/dev/shm')
    return tempfile.mkdtemp(prefix='bmp-pybench-')


def seed(shape, reps, jobs):
    d = scratch_dir()
    try:
        names = []
        for i in range(10):
            name = os.path.join(d, 'big_array_%d.npy' % i)
            np.save(name, i + np.zeros(shape))
            names.append(name)
        out_pkg, out_pool = os.path.join(d, 'pkg'), os.path.join(d, 'pool')
        os.mkdir(out_pkg)
        os.mkdir(out_pool)

        def package():
            pipe = SeedPipe(pre_process_list=[reject, boost_later],
                            post_process_list=[later_booster, median,
                                               average],
                            boost_target=3, outdir=out_pkg, overwrite=True,
                            num_processes=jobs)
            return pipe.pipeline(names, reject_value=2, boost_amount=5)

        def pool():
            with multiprocessing.Pool(jobs) as p:
                return p.map(pool_item, [(n, out_pool) for n in names])

        tpkg, tpool = [], []
        for _ in range(reps):
            t = time.perf_counter()
            a = package()
            tpkg.append(time.perf_counter() - t)
            t = time.perf_counter()
            b = pool()
            tpool.append(time.perf_counter() - t)
        # The same results both ways (names aside).
        strip = [(os.path.basename(o) if o else None, m) for o, m in a]
        assert strip == [(os.path.basename(o) if o else None,
                          {k: float(v) for k, v in m.items()})
                         for o, m in b], (strip, b)
        return statistics.median(tpkg), statistics.median(tpool)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--items', type=int, default=20000)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--quick', action='store_true',
                    help='small sizes, one repetition: checks that it runs')
    a = ap.parse_args()
    items, reps, shape = a.items, a.reps, (1000, 2000)
    if a.quick:
        items, reps, shape = 500, 1, (100, 200)

    c_us, py_us, over_us, in_worker_us = per_item(items, reps)
    print('per item, one worker, %d items, median of %d:' % (items, reps))
    print('  C step                      %8.2f us' % c_us)
    print('  Python step                 %8.2f us' % py_us)
    print('  Python over C, end to end   %8.2f us' % over_us)
    print('  Python over C, in the item  %8.2f us  (target: within 10 us: '
          '%s)' % (in_worker_us, 'MET' if in_worker_us <= 10 else 'MISSED'))

    tpkg, tpool = seed(shape, reps, a.jobs)
    print('seed workload, 10 arrays of %d x %d, %d jobs, median of %d:'
          % (shape + (a.jobs, reps)))
    print('  bigmultipipe package   %7.3f s' % tpkg)
    print('  multiprocessing.Pool   %7.3f s' % tpool)
    print('  ratio package / Pool   %7.2f' % (tpkg / tpool))


if __name__ == '__main__':
    main()
