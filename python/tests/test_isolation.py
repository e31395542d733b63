"""Items in worker processes: a failure, a crash or a hang costs its item
only; time-outs, retries, memory scheduling, nested pipelines, threads in
the caller, meta types.  These need the built engine."""

import os
import re
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import bigmultipipe as bmp
from bigmultipipe import BigMultiPipe



class Pipe(BigMultiPipe):
    """Items are numbers written in text files; `action` says what the
    item with the number `target` does."""

    def file_read(self, in_name, **kwargs):
        with open(in_name) as f:
            return int(f.read())

    def file_write(self, data, outname, **kwargs):
        with open(outname, 'w') as f:
            f.write(str(data))
        return outname

    def data_process(self, data, target=None, action=None, **kwargs):
        if data == target:
            action(data)
        return data * 10

    def data_process_meta_create(self, data, **kwargs):
        data, _ = super().data_process_meta_create(data, **kwargs)
        return data, {'value': data, 'pid': os.getpid()}


@pytest.fixture
def numbers(tmp_path):
    d = tmp_path / 'in'
    d.mkdir()
    out = []
    for i in range(6):
        p = d / f'n{i}.txt'
        p.write_text(str(i))
        out.append(str(p))
    return out


def run(numbers, tmp_path, **kw):
    p = Pipe(outdir=str(tmp_path), num_processes=2, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', bmp.PipelineWarning)
        pairs = p.pipeline(numbers)
    return p, pairs


def check_others_done(p, pairs, bad):
    for i, (o, m) in enumerate(pairs):
        if i == bad:
            assert o is None and 'error' in m
        else:
            assert m['value'] == 10 * i and open(o).read() == str(10 * i)
            assert p.pout[i]['status'] == 'ok'


def test_items_run_in_worker_processes(numbers, tmp_path):
    p, pairs = run(numbers, tmp_path)
    pids = {m['pid'] for o, m in pairs}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2


def raise_it(x):
    raise RuntimeError(f'item {x} is broken')


def test_exception_fails_one_item(numbers, tmp_path):
    p, pairs = run(numbers, tmp_path, target=3, action=raise_it)
    check_others_done(p, pairs, 3)
    e = p.pout[3]
    assert e['status'] == 'failed'
    assert 'Traceback' in e['error'] and 'item 3 is broken' in e['error']
    assert pairs[3][1] == {'error': ['RuntimeError: item 3 is broken']}


def segfault(x):
    os.kill(os.getpid(), signal.SIGSEGV)


def hard_exit(x):
    os._exit(7)


def sys_exit(x):
    sys.exit(3)


@pytest.mark.parametrize('action,status', [(segfault, 'crashed'),
                                           (hard_exit, 'crashed'),
                                           (sys_exit, 'failed')])
def test_crash_costs_one_item(numbers, tmp_path, action, status):
    p, pairs = run(numbers, tmp_path, target=2, action=action)
    check_others_done(p, pairs, 2)
    assert p.pout[2]['status'] == status
    assert pairs[2][1]['error'][0].startswith(
        'crashed' if status == 'crashed' else 'SystemExit')


def hang(x):
    time.sleep(600)


def test_timeout_kills_one_item(numbers, tmp_path):
    p, pairs = run(numbers, tmp_path, target=1, action=hang, timeout=2)
    check_others_done(p, pairs, 1)
    assert p.pout[1]['status'] == 'timed_out'
    assert pairs[1][1]['error'][0].startswith('timed_out')


def flaky(x):
    # Fails on its first attempt only: the marker file survives the worker.
    marker = os.environ['BMP_TEST_MARKER']
    if not os.path.exists(marker):
        open(marker, 'w').close()
        raise RuntimeError('first attempt')


def test_retries_run_a_failed_item_again(numbers, tmp_path, monkeypatch):
    monkeypatch.setenv('BMP_TEST_MARKER', str(tmp_path / 'marker'))
    p, pairs = run(numbers, tmp_path, target=4, action=flaky, retries=1)
    check_others_done(p, pairs, None)
    assert p.pout[4]['stats']['attempts'] == 2
    assert p.pout[0]['stats']['attempts'] == 1


def test_serial_executor_gets_exceptions_too(numbers, tmp_path):
    p, pairs = run(numbers, tmp_path, target=0, action=raise_it,
                   executor='serial')
    check_others_done(p, pairs, 0)
    assert {m['pid'] for o, m in pairs[1:]} == {os.getpid()}


# Memory ---------------------------------------------------------------------

def test_process_size_limits_workers(numbers, tmp_path):
    # Room for one item at a time: every item runs, none two at once.
    p = Pipe(outdir=str(tmp_path), num_processes=4, process_size=100e6,
             mem_available=150e6)
    pairs = p.pipeline(numbers)
    assert [m['value'] for o, m in pairs] == [0, 10, 20, 30, 40, 50]
    assert len({m['pid'] for o, m in pairs}) == 1
    assert all(e['stats']['estimate'] == 100e6 for e in p.pout)


def test_process_size_larger_than_memory_refused(numbers, tmp_path):
    p = Pipe(outdir=str(tmp_path), process_size=2**30, mem_available=2**20)
    with pytest.raises(EnvironmentError, match='MiB'):
        p.pipeline(numbers)


class Alloc(Pipe):
    def data_process(self, data, **kwargs):
        block = np.ones(40 * 2**20 // 8)     # 40 MiB touched
        return int(data + block[0] - 1) * 10


def test_peak_memory_is_measured(numbers, tmp_path):
    p = Alloc(outdir=str(tmp_path), num_processes=2)
    p.pipeline(numbers[:2])
    for e in p.pout:
        s = e['stats']
        assert s['peak_rss'] - s['start_rss'] >= 30 * 2**20 or \
            s['peak_rss'] >= 40 * 2**20


# Meta types --------------------------------------------------------------------

class MetaPipe(Pipe):
    def data_process_meta_create(self, data, **kwargs):
        return None, kwargs['make_meta'](data)


def meta_of(numbers, tmp_path, make_meta):
    p = MetaPipe(outdir=str(tmp_path), num_processes=1, make_meta=make_meta)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', bmp.PipelineWarning)
        pairs = p.pipeline(numbers[:1])
    return p.pout[0], pairs[0][1]


def numpy_meta(x):
    return {'f64': np.float64(1.5), 'i32': np.int32(-3), 'b': np.bool_(True),
            'u8': np.uint8(200), 'arr': np.arange(4).reshape(2, 2),
            'farr': np.array([0.5, 1.5], dtype=np.float32),
            'tup': (1, 'a'), 'nested': {'x': [np.float32(2.5)]},
            'none': None, 'text': 'caf\u00e9'}


def test_numpy_meta_comes_back_as_python(numbers, tmp_path):
    entry, meta = meta_of(numbers, tmp_path, numpy_meta)
    assert entry['status'] == 'no_output'
    assert meta == {'f64': 1.5, 'i32': -3, 'b': True, 'u8': 200,
                    'arr': [[0, 1], [2, 3]], 'farr': [0.5, 1.5],
                    'tup': [1, 'a'], 'nested': {'x': [2.5]}, 'none': None,
                    'text': 'caf\u00e9'}
    assert type(meta['f64']) is float and type(meta['i32']) is int


def test_nonfinite_meta_becomes_none(numbers, tmp_path):
    entry, meta = meta_of(numbers, tmp_path, lambda x: {
        'nan': float('nan'), 'inf': np.float64('inf'),
        'arr': np.array([1.0, -np.inf])})
    assert meta == {'nan': None, 'inf': None, 'arr': [1.0, None]}


@pytest.mark.parametrize('bad,word', [
    (lambda x: {'s': {1, 2}}, 'set'),
    (lambda x: {'q': object()}, 'object'),
    (lambda x: {1: 'int key'}, 'key'),
])
def test_meta_json_cannot_hold_fails_one_item(numbers, tmp_path, bad, word):
    entry, meta = meta_of(numbers, tmp_path, bad)
    assert entry['status'] == 'failed'
    assert word in entry['error']


def test_quantity_meta_fails_with_a_clear_message(numbers, tmp_path):
    import astropy.units as u
    entry, meta = meta_of(numbers, tmp_path,
                          lambda x: {'exptime': 3 * u.s})
    assert entry['status'] == 'failed'
    assert 'exptime' in entry['error']


# Nested pipelines, threads ----------------------------------------------------

class Outer(Pipe):
    def data_process(self, data, inner_names=None, inner_out=None,
                     **kwargs):
        inner = Pipe(outdir=inner_out, num_processes=2)
        pairs = inner.pipeline(inner_names)
        return data * 10 + sum(m['value'] for o, m in pairs)


def test_nested_pipeline(numbers, tmp_path):
    # 0.2.0's default pool has daemonic workers, which cannot have
    # children: a nested pipeline failed there.
    inner_out = tmp_path / 'inner'
    inner_out.mkdir()
    p = Outer(outdir=str(tmp_path), num_processes=2,
              inner_names=numbers[:3], inner_out=str(inner_out))
    pairs = p.pipeline(numbers[3:5])
    assert [m['value'] for o, m in pairs] == [30 + 30, 40 + 30]


def test_busy_thread_in_the_caller(numbers, tmp_path):
    # A Python thread holding the GIL now and then while the engine
    # forks workers: the workers must not deadlock.
    stop = threading.Event()
    counter = [0]

    def spin():
        while not stop.is_set():
            counter[0] += 1
    threads = [threading.Thread(target=spin) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        p = Pipe(outdir=str(tmp_path), num_processes=2, timeout=60,
                 engine_kw={'worker_max_items': 1})
        for _ in range(3):
            pairs = p.pipeline(numbers)
            assert [m['value'] for o, m in pairs] == \
                [0, 10, 20, 30, 40, 50]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert counter[0] > 0


def printing(data, **kwargs):
    print(f'item {data}', flush=False)
    return data


def test_printed_output_is_kept_once(numbers, tmp_path, capfd):
    print('before', end='\n', flush=False)
    p = Pipe(outdir=str(tmp_path), num_processes=2,
             pre_process_list=[printing])
    p.pipeline(numbers)
    out = capfd.readouterr().out
    assert out.count('before') == 1
    # Under capfd, sys.stdout is pytest's own stream object (written
    # through, a print in two writes), which workers leave alone: lines of
    # two workers may meet, so what is counted is each item's text.
    assert sorted(re.findall(r'item \d', out)) == \
        [f'item {i}' for i in range(6)]


def test_progress_callable_sees_the_run(numbers, tmp_path):
    reports = []
    p = Pipe(outdir=str(tmp_path), num_processes=2,
             progress=reports.append)
    p.pipeline(numbers)
    assert reports
    assert all(r['total'] == 6 for r in reports)
    assert max(r['done'] for r in reports) <= 6


def test_size_estimate_and_engine_kw(numbers, tmp_path):
    sizes = []

    def estimate(in_name):
        sizes.append(in_name)
        return 10e6
    p = Pipe(outdir=str(tmp_path), num_processes=2, mem_available=1e9,
             size_estimate=estimate, engine_kw={'order': 'largest_first'})
    pairs = p.pipeline(numbers)
    assert sorted(sizes) == sorted(numbers)
    assert [m['value'] for o, m in pairs] == [0, 10, 20, 30, 40, 50]
    assert all(e['stats']['estimate'] == 10e6 for e in p.pout)
