#!/usr/bin/env python3
"""The seed workload through the Python package against
multiprocessing.Pool, what bigmultipipe 0.2.0 does inside.

The workload is the seed documentation's: files big_array_i.npy holding
1000 x 2000 float64 arrays filled with i; the steps of its third program
(reject, boost_later, x10, later_booster, median, average, np.load and
np.save).  The very same BigMultiPipe subclass runs

  package   pipeline(): the engine's forked workers (this package);
  pool      0.2.0's driver: Pool(processes=N).map(WorkerWithKwargs(
            file_process, **kwargs).worker, in_names);
  serial    pipeline(executor='serial'): every item in the caller;
  loop      a plain for loop calling file_process, no parallelism.

Each figure is the median of R runs, in seconds, and every way must give
the same pout.  Then one item that dies (os._exit in a step): under the
pool the run never ends (Pool.map waits for the lost task forever; it is
given up after --hang-s seconds), under the package that item is
'crashed' and every other item is done.  Last, the pure-Python layer's
own cost per item, without the engine (bench/python_overhead.py
measures the engine's).

    python3 bench/python_seed_pool.py [--files N] [--reps R] [--jobs J]
                                      [--hang-s S] [--quick]

The package is the installed one (doc/python.md, "Install").  Scratch
files go to $TMPDIR, else /dev/shm when it has room, else /tmp, and are
removed.
"""
import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

import bigmultipipe
from bigmultipipe import BigMultiPipe, WorkerWithKwargs


def reject(data, reject_value=None, **kwargs):
    if reject_value is None:
        return data
    if data[0, 0] == reject_value:
        return None
    return data


def boost_later(data, boost_target=None, boost_amount=None, **kwargs):
    if boost_target is None or boost_amount is None:
        return data
    if data[0, 0] == boost_target:
        return {'bmp_data': data,
                'bmp_kwargs': {'need_to_boost_by': boost_amount}}
    return data


def later_booster(data, need_to_boost_by=None, **kwargs):
    if need_to_boost_by is not None:
        data = data + need_to_boost_by
    return data


def median(data, bmp_meta=None, **kwargs):
    bmp_meta['median'] = np.median(data)
    return data


def average(data, bmp_meta=None, **kwargs):
    bmp_meta['average'] = np.average(data)
    return data


def die(data, die_on=None, **kwargs):
    if die_on is not None and data[0, 0] == die_on:
        os._exit(1)
    return data


class Seed(BigMultiPipe):
    def file_read(self, in_name, **kwargs):
        return np.load(in_name)

    def file_write(self, data, outname, **kwargs):
        np.save(outname, data)
        return outname

    def data_process(self, data, **kwargs):
        return data * 10


def make_pipe(outdir, jobs):
    return Seed(pre_process_list=[reject, boost_later, die],
                post_process_list=[later_booster, median, average],
                boost_target=3, outdir=outdir, num_processes=jobs)


RUN_KW = {'reject_value': 2, 'boost_amount': 5}


def control(pipe):
    """The keywords 0.2.0's pipeline() hands its workers."""
    kw = pipe.kwargs_merge(**RUN_KW)
    kw.update(outdir=pipe.outdir, create_outdir=pipe.create_outdir,
              outname_append=pipe.outname_append)
    return kw


def plain(pout):
    return [(o, {k: float(v) for k, v in m.items()}) for o, m in pout]


def run_package(pipe, names, **kw):
    return pipe.pipeline(names, **RUN_KW, **kw)


def run_pool(pipe, names, jobs):
    wwk = WorkerWithKwargs(pipe.file_process, **control(pipe))
    with multiprocessing.get_context('fork').Pool(processes=jobs) as p:
        return p.map(wwk.worker, names)


def run_loop(pipe, names):
    kw = control(pipe)
    return [pipe.file_process(n, **kw) for n in names]


class Tiny(BigMultiPipe):
    def file_read(self, in_name, **kwargs):
        return in_name

    def data_process_meta_create(self, data, **kwargs):
        return None, {'v': 1.0}


def layer_cost(items, reps):
    """BigMultiPipe's own cost per item, in us: its item function (the
    item's keywords copied, file_process and its steps) called in the
    caller, without the engine, for a control stream of the three output
    settings, then with three more keywords (two containers to copy)."""
    out = []
    for extra in ({}, {'a': 1, 'b': [1, 2], 'c': {'x': 1}}):
        pipe = Tiny(**extra)
        control = dict(pipe.kwargs, outdir=None, create_outdir=False,
                       outname_append='_bmp')
        shared = bigmultipipe.item_keywords.find_shared_arrays(control)

        def loop():
            for _ in range(items):
                pipe._run_item('x', control, shared)
        out.append(1e6 * timed(loop, reps)[0] / items)
    return out


def scratch_dir():
    if 'TMPDIR' in os.environ:
        return os.environ['TMPDIR']
    try:
        st = os.statvfs('/dev/shm')
        if st.f_bavail * st.f_frsize > 2 * 2**30:
            return '/dev/shm'
    except OSError:
        pass
    return '/tmp'


def timed(fn, reps):
    times, result = [], None
    for _ in range(reps):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--files', type=int, default=10)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--jobs', type=int, default=0,
                    help='workers (0: the physical cores)')
    ap.add_argument('--hang-s', type=float, default=20.0)
    ap.add_argument('--quick', action='store_true',
                    help='3 files, 1 repetition, 5 s hang limit')
    a = ap.parse_args()
    if a.quick:
        a.files, a.reps, a.hang_s = 3, 1, 5.0
    jobs = bigmultipipe.num_can_process(a.files, num_processes=a.jobs)
    d = tempfile.mkdtemp(prefix='bmp-seed-pool-', dir=scratch_dir())
    try:
        names = []
        for i in range(a.files):
            name = os.path.join(d, f'big_array_{i}.npy')
            np.save(name, i + np.zeros((1000, 2000)))
            names.append(name)
        pipe = make_pipe(d, jobs)
        ways = [('package', lambda: run_package(pipe, names)),
                ('pool', lambda: run_pool(pipe, names, jobs)),
                ('serial', lambda: run_package(pipe, names,
                                               executor='serial')),
                ('loop', lambda: run_loop(pipe, names))]
        print(f'seed workload: {a.files} files of 1000 x 2000 float64, '
              f'{jobs} workers, median of {a.reps} runs')
        print(f'{"way":8} {"seconds":>8} {"per file ms":>12}')
        reference = None
        for way, fn in ways:
            fn()  # warm-up: page cache, imports
            s, pout = timed(fn, a.reps)
            if reference is None:
                reference = plain(pout)
            elif plain(pout) != reference:
                print(f'{way}: a different pout', file=sys.stderr)
                return 1
            print(f'{way:8} {s:8.3f} {1000 * s / a.files:12.1f}')

        # Item 0: never rejected, whatever the number of files.
        die_on = 0
        print('\none item dies (os._exit) in a step, item 0:')
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', bigmultipipe.PipelineWarning)
            pout = run_package(pipe, names, die_on=die_on)
        s = time.perf_counter() - t
        status = [e['status'] for e in pipe.pout]
        print(f'package  {s:8.3f} s: {status.count("crashed")} crashed, '
              f'{sum(o is not None for o, m in pout)} written')
        wwk = WorkerWithKwargs(pipe.file_process, die_on=die_on,
                               **control(pipe))
        pool = multiprocessing.get_context('fork').Pool(processes=jobs)
        t = time.perf_counter()
        try:
            pool.map_async(wwk.worker, names).get(timeout=a.hang_s)
            print('pool: finished (unexpected)')
        except multiprocessing.TimeoutError:
            print(f'pool     no result after {time.perf_counter() - t:.1f}'
                  ' s: Pool.map waits for the lost item forever, and the '
                  'other items\' results are lost with it')
        finally:
            pool.terminate()
            pool.join()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    plain3, plain6 = layer_cost(2000 if a.quick else 20000, a.reps)
    print(f'\nBigMultiPipe\'s own cost per item (no engine): '
          f'{plain3:.1f} us with the 3 output keywords, {plain6:.1f} us '
          'with 3 more (a list and a dict copied per item)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
