"""The engine (bigmultipipe._engine): items in the C library's forked
workers, isolation of exceptions, crashes and time-outs, forking with a
busy Python thread in the caller, output flushed once, objects reaching
workers through the fork, meta conversion, interrupt and resume."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bigmultipipe import _engine
from conftest import sigint_at_default

if not hasattr(_engine, 'run'):
    pytest.skip('the engine is not built', allow_module_level=True)

np = pytest.importorskip('numpy')

# The package as the tests import it, for the scripts run in a child
# interpreter (the installed one, or the source tree's).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(
    _engine.__file__)))


def run_script(code, *, timeout=120, input_signal=None, env=None):
    """Runs `code` in a fresh interpreter with the package importable;
    returns the CompletedProcess (text)."""
    full_env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, **(env or {}))
    # Buffered, as Python's streams are by default on a pipe: the case
    # where output can be lost or doubled.
    full_env.pop('PYTHONUNBUFFERED', None)
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def statuses(pout):
    return [e['status'] for e in pout]


# ---- results ---------------------------------------------------------------

def test_entries_in_input_order_with_names_and_meta(tmp_path):
    names = ['n%d' % i for i in range(20)]

    def item(name):
        out = tmp_path / (name + '.out')
        out.write_text(name)
        return str(out), {'name': name, 'pid': os.getpid()}

    pout = _engine.run(names, item, num_processes=2)
    assert [e['in_name'] for e in pout] == names
    assert statuses(pout) == ['ok'] * 20
    for name, e in zip(names, pout):
        assert e['outname'] == str(tmp_path / (name + '.out'))
        assert e['meta']['name'] == name
        assert e['meta']['pid'] != os.getpid()  # ran in a worker
        assert e['error'] is None
        assert e['stats']['attempts'] == 1
        assert set(e['stats']) >= {'wall_s', 'cpu_s', 'peak_rss',
                                   'start_rss', 'estimate', 'over_estimate',
                                   'start', 'worker', 'budget'}
        # Read through the compiled struct's own layout: a header whose
        # struct grew shows here, not as a wrong size or garbage.
        assert abs(e['stats']['start'] - time.time()) < 3600
        assert e['stats']['worker'] in (0, 1)
        assert e['stats']['peak_rss'] > 0


def test_no_outname_is_no_output():
    pout = _engine.run(['a', 'b'], lambda n: (None, None))
    assert statuses(pout) == ['no_output', 'no_output']
    assert [e['meta'] for e in pout] == [{}, {}]
    assert [e['outname'] for e in pout] == [None, None]


def test_group_items_reach_the_function_as_given():
    group = ['a.fits', ['b.fits', 'c.fits']]
    seen = _engine.run(['x', group, ('t1', 't2')],
                       lambda item: (None, {'item': item,
                                            'type': type(item).__name__}))
    assert seen[1]['in_name'] is group
    assert seen[1]['meta'] == {'item': group, 'type': 'list'}
    assert seen[2]['meta'] == {'item': ['t1', 't2'], 'type': 'tuple'}


def test_bytes_names_and_outnames_kept_exactly(tmp_path):
    name = os.fsencode(str(tmp_path)) + b'/caf\xe9.dat'
    with open(name, 'wb') as f:
        f.write(b'1')

    def item(n):
        assert isinstance(n, bytes)
        out = n + b'.out'
        with open(out, 'wb') as f:
            f.write(b'2')
        return out, {}

    (e,) = _engine.run([name], item)
    assert e['status'] == 'ok'
    assert e['in_name'] == name
    assert os.fsencode(e['outname']) == name + b'.out'


def test_bad_items_refused_before_running():
    with pytest.raises(ValueError):
        _engine.run(['a', []], lambda n: (None, {}))
    with pytest.raises(ValueError):
        _engine.run(['a\0b'], lambda n: (None, {}))
    with pytest.raises(TypeError):
        _engine.run([3], lambda n: (None, {}))
    with pytest.raises(TypeError):
        _engine.run(['a'], lambda n: (None, {}), timeout='1')
    with pytest.raises(ValueError):
        _engine.run(['a'], lambda n: (None, {}), executor='threads')
    with pytest.raises(_engine.EngineError) as e:
        _engine.run(['a'], lambda n: (None, {}), shard='3/2')
    assert e.value.code < 0 and e.value.pout is None


# ---- isolation -------------------------------------------------------------

def test_an_exception_fails_its_item_only():
    def item(n):
        if n == 'bad':
            raise ValueError('cannot handle %s' % n)
        if n == 'exit':
            sys.exit(4)
        return None, {'n': n}

    pout = _engine.run(['a', 'bad', 'exit', 'b'], item, num_processes=2)
    assert statuses(pout) == ['no_output', 'failed', 'failed', 'no_output']
    assert 'Traceback' in pout[1]['error']
    assert 'ValueError: cannot handle bad' in pout[1]['error']
    assert 'SystemExit: 4' in pout[2]['error']
    assert pout[3]['meta'] == {'n': 'b'}


def test_wrong_return_fails_the_item():
    pout = _engine.run(['a', 'b'], lambda n: 42 if n == 'a' else (None, {}))
    assert statuses(pout) == ['failed', 'no_output']
    assert 'not a pair (outname, meta)' in pout[0]['error']


@pytest.mark.parametrize('how', ['_exit', 'sigkill', 'segfault'])
def test_a_dying_worker_costs_its_item_only(how):
    def item(n):
        if n == 'die':
            if how == '_exit':
                os._exit(3)
            elif how == 'sigkill':  # as the OOM killer does
                os.kill(os.getpid(), signal.SIGKILL)
            else:
                import ctypes
                ctypes.string_at(0)
        return None, {'n': n}

    pout = _engine.run(['a', 'die', 'b', 'c'], item, num_processes=2)
    assert statuses(pout) == ['no_output', 'crashed', 'no_output',
                              'no_output']
    assert pout[1]['error']


def test_a_timeout_costs_its_item_only():
    def item(n):
        if n == 'slow':
            time.sleep(600)
        return None, {'n': n}

    pout = _engine.run(['a', 'slow', 'b'], item, num_processes=2, timeout=1)
    assert statuses(pout) == ['no_output', 'timed_out', 'no_output']


def test_retries_run_a_failed_item_again(tmp_path):
    marker = tmp_path / 'tried'

    def item(n):
        if not marker.exists():
            marker.write_text('once')
            raise RuntimeError('first attempt')
        return None, {'n': n}

    (e,) = _engine.run(['a'], item, retries=2)
    assert e['status'] == 'no_output'
    assert e['stats']['attempts'] == 2


def test_serial_executor_runs_in_the_caller():
    pout = _engine.run(['a', 'b'], lambda n: (None, {'pid': os.getpid()}),
                       executor='serial')
    assert [e['meta']['pid'] for e in pout] == [os.getpid()] * 2


# ---- Python objects through the fork ---------------------------------------

def test_closures_and_objects_reach_workers_through_the_fork():
    frame = np.arange(12.0).reshape(3, 4)   # a calibration frame
    lock = threading.Lock()                 # nothing JSON could carry

    class Scale:
        def __init__(self, k):
            self.k = k

        def __call__(self, a):
            return a * self.k

    scale = Scale(3)

    def item(n):
        with lock:
            return None, {'sum': scale(frame).sum() + len(n)}

    pout = _engine.run(['a', 'bb'], item, num_processes=2)
    assert [e['meta']['sum'] for e in pout] == [199.0, 200.0]


def test_a_change_in_a_worker_does_not_reach_the_caller():
    state = {'count': 0}

    def item(n):
        state['count'] += 1
        return None, {}

    _engine.run(['a', 'b', 'c'], item)
    assert state['count'] == 0


# ---- meta ------------------------------------------------------------------

def test_meta_numpy_values_converted():
    def item(n):
        return None, {'f': np.float32(1.5), 'i': np.int64(7),
                      'b': np.bool_(True), 'u': np.uint8(255),
                      'a': np.arange(3), 'm': np.eye(2),
                      'nested': ({'t': (1, 2)},), 'none': None}

    (e,) = _engine.run(['a'], item)
    assert e['status'] == 'no_output', e['error']
    assert e['meta'] == {'f': 1.5, 'i': 7, 'b': True, 'u': 255,
                         'a': [0, 1, 2], 'm': [[1.0, 0.0], [0.0, 1.0]],
                         'nested': [{'t': [1, 2]}], 'none': None}
    assert type(e['meta']['i']) is int and type(e['meta']['b']) is bool


def test_meta_floats_kept_exactly():
    values = [0.1, 1 / 3, 1e-300, 2.0 ** 60, -0.0, 5e-324]
    (e,) = _engine.run(['a'], lambda n: (None, {'v': values}))
    assert e['meta']['v'] == values


def test_meta_non_finite_numbers_stored_as_null():
    def item(n):
        return None, {'nan': float('nan'), 'inf': np.float64('inf'),
                      'ninf': -math.inf, 'arr': np.array([1.0, np.nan])}

    (e,) = _engine.run(['a'], item)
    assert e['status'] == 'no_output', e['error']
    assert e['meta'] == {'nan': None, 'inf': None, 'ninf': None,
                         'arr': [1.0, None]}


@pytest.mark.parametrize('value, words', [
    ({1, 2}, "meta['bad']: value of type builtins.set"),
    (b'bytes', "meta['bad']: value of type builtins.bytes"),
    ({'k': object()}, "meta['bad']['k']: value of type builtins.object"),
    ({3: 'x'}, "meta['bad']: key 3 is a int, not a str"),
    (2 ** 70, 'outside the 64-bit range'),
    ('caf\udce9', 'not valid Unicode'),
    (np.array(['a', 'b']), 'dtype <U1 cannot be stored'),
    (np.datetime64('2020-01-01'), 'numpy.datetime64'),
])
def test_meta_that_cannot_be_stored_fails_its_item_only(value, words):
    def item(n):
        return None, ({'bad': value} if n == 'bad' else {'ok': 1})

    pout = _engine.run(['a', 'bad', 'b'], item)
    assert statuses(pout) == ['no_output', 'failed', 'no_output']
    assert words in pout[1]['error']


def test_meta_quantity_refused_with_advice():
    units = pytest.importorskip('astropy.units')

    def item(n):
        return None, {'exptime': 30 * units.s}

    (e,) = _engine.run(['a'], item)
    assert e['status'] == 'failed'
    assert 'Quantity' in e['error'] and 'q.value' in e['error']


def test_meta_json_directly():
    assert _engine.meta_json(None) == '{}'
    assert json.loads(_engine.meta_json({'a': (np.int32(1), 2.5)})) == {
        'a': [1, 2.5]}
    with pytest.raises(_engine.MetaError):
        _engine.meta_json([1])


# ---- threads in the caller -------------------------------------------------

def test_busy_python_thread_in_the_caller_does_not_block_workers():
    """The library forks with the GIL released; a thread that keeps the
    GIL busy holds it at most forks.  Without the fork hooks the worker
    inherits the GIL held by a thread it does not have and waits for
    ever (the items would time out)."""
    stop = threading.Event()

    def busy():
        x = 0
        while not stop.is_set():
            x = (x + 1) % 1000003
            _ = [x] * 10   # allocations under the GIL too

    threads = [threading.Thread(target=busy) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        # worker_max_items=1: a fork per item, each under a busy GIL.
        pout = _engine.run(['i%d' % i for i in range(12)],
                           lambda n: (None, {'n': n}), num_processes=2,
                           timeout=60, kw={'worker_max_items': 1})
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert statuses(pout) == ['no_output'] * 12


def test_runs_in_two_threads_each_get_their_own_results():
    results = {}

    def one(tag):
        results[tag] = _engine.run(
            ['%s%d' % (tag, i) for i in range(6)],
            lambda n: (None, {'n': n, 'tag': tag}), num_processes=1)

    threads = [threading.Thread(target=one, args=(t,)) for t in 'xy']
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tag in 'xy':
        assert [e['meta'] for e in results[tag]] == [
            {'n': '%s%d' % (tag, i), 'tag': tag} for i in range(6)]


def test_nested_run_in_a_worker():
    def inner(n):
        return None, {'inner': n}

    def outer(n):
        sub = _engine.run([n + '.1', n + '.2'], inner, num_processes=1)
        return None, {'sub': [e['meta']['inner'] for e in sub],
                      'sub_status': [e['status'] for e in sub]}

    pout = _engine.run(['a', 'b'], outer, num_processes=2)
    assert [e['meta']['sub'] for e in pout] == [['a.1', 'a.2'],
                                                ['b.1', 'b.2']]


# ---- output ----------------------------------------------------------------

def test_output_printed_once_and_never_lost():
    """stdout to a pipe is block-buffered: without the flushes, the
    caller's unflushed text would be printed again by each worker (its
    copy of the buffer) and a worker's own lines lost at its _exit."""
    r = run_script('''
        import sys, threading
        from bigmultipipe import _engine
        print('caller before')
        sys.stderr.write('caller err\\n')
        def item(n):
            # One write a line: two workers' lines may interleave, not
            # their characters.
            sys.stdout.write('item %s\\n' % n)
            sys.stderr.write('err %s\\n' % n)
            return None, {}
        pout = _engine.run(['i%d' % i for i in range(8)], item,
                           num_processes=2, kw={'worker_max_items': 3})
        print('caller after', [e['status'] for e in pout].count('no_output'))
    ''')
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert sorted(out) == sorted(['caller before', 'caller after 8'] +
                                 ['item i%d' % i for i in range(8)])
    assert out[0] == 'caller before' and out[-1] == 'caller after 8'
    err = r.stderr.splitlines()
    assert sorted(err) == sorted(['caller err'] +
                                 ['err i%d' % i for i in range(8)])


def test_a_printing_thread_in_the_caller_does_not_block_workers():
    """A thread of the caller that prints all the time may hold the
    stream's lock at a fork; each worker starts with streams of its own,
    so it prints without waiting for that lock (without them, some items
    time out), and every item's line appears exactly once."""
    r = run_script('''
        import json, sys, threading, logging
        from bigmultipipe import _engine
        logging.basicConfig(stream=sys.stderr)
        log = logging.getLogger('t')
        stop = threading.Event()
        def chatter():
            i = 0
            while not stop.is_set():
                print('chatter', i)
                i += 1
        t = threading.Thread(target=chatter)
        t.start()
        def item(n):
            sys.stdout.write('item %s\\n' % n)
            log.warning('logged %s', n)
            return None, {}
        try:
            pout = _engine.run(['i%d' % i for i in range(30)], item,
                               num_processes=2, timeout=20,
                               kw={'worker_max_items': 1})
        finally:
            stop.set()
            t.join()
        sys.stderr.write(json.dumps([e['status'] for e in pout]) + '\\n')
    ''', timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stderr.splitlines()[-1]) == ['no_output'] * 30
    for i in range(30):
        assert r.stdout.count('item i%d\n' % i) == 1
        assert r.stderr.count('logged i%d\n' % i) == 1


# ---- scheduling hooks ------------------------------------------------------

def test_size_estimate_called_in_the_caller_per_item():
    calls = []

    def estimate(item):
        calls.append((item, os.getpid()))
        if item == 'bad':
            raise OSError('cannot stat it')
        return 1 << 20

    pout = _engine.run(['a', 'bad', 'b'], lambda n: (None, {}),
                       size_estimate=estimate, mem_budget=1 << 30)
    assert sorted(calls) == sorted([('a', os.getpid()),
                                    ('bad', os.getpid()),
                                    ('b', os.getpid())])
    assert statuses(pout) == ['no_output', 'failed', 'no_output']
    assert 'size_estimate failed' in pout[1]['error']
    assert 'cannot stat it' in pout[1]['error']
    assert pout[0]['stats']['estimate'] == 1 << 20


def test_process_size_larger_than_the_budget_refused():
    with pytest.raises(_engine.EngineError) as e:
        _engine.run(['a'], lambda n: (None, {}), process_size=1 << 30,
                    mem_budget=1 << 20)
    assert 'MiB' in str(e.value)


def test_memory_budget_for_one_item_runs_them_one_at_a_time(tmp_path):
    """Two workers allowed by the cores, memory for one item: the items'
    spans (marked by the items themselves) never overlap."""
    def item(n):
        start = time.monotonic()
        time.sleep(0.05)
        return None, {'start': start, 'end': time.monotonic()}

    pout = _engine.run(['a', 'b', 'c', 'd'], item, num_processes=2,
                       mem_budget=200 << 20, process_size=150 << 20)
    assert statuses(pout) == ['no_output'] * 4
    spans = sorted((e['meta']['start'], e['meta']['end']) for e in pout)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert e1 <= s2
    assert all(e['stats']['estimate'] == 150 << 20 for e in pout)


def test_progress_callable_hears_every_item():
    reports = []
    _engine.run(['a', 'b', 'c'], lambda n: (None, {}),
                progress=reports.append)
    assert reports[-1]['done'] == 3 and reports[-1]['total'] == 3
    assert all(r['done'] <= 3 for r in reports)


def test_num_can_process():
    assert _engine.num_can_process(1) == 1
    assert _engine.num_can_process(100, num_processes=2) == 2
    assert _engine.num_can_process(100, num_processes=8, mem_available=3000,
                                   process_size=1000) == 3
    with pytest.raises(_engine.EngineError):
        _engine.num_can_process(5, process_size=1 << 40, mem_available=1)
    assert _engine.num_can_process(5, process_size=1 << 40, mem_available=1,
                                   error_if_zero=False) == 0


# ---- interrupt and resume --------------------------------------------------

INTERRUPTIBLE = '''
    import json, os, sys, time
    from bigmultipipe import _engine
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ['BMP_T_DIR']
    names = ['%s/in%d' % (d, i) for i in range(6)]
    def item(n):
        open(n + '.ran', 'a').write('x')
        if n.endswith('in0') or n.endswith('in1'):
            out = n + '.out'
            open(out, 'w').write('done')
            return out, {'n': n}
        time.sleep(float(os.environ['BMP_T_SLEEP']))
        out = n + '.out'
        open(out, 'w').write('done')
        return out, {'n': n}
    try:
        pout = _engine.run(names, item, num_processes=1,
                           journal=d + '/journal.jsonl',
                           resume=os.environ['BMP_T_RESUME'] == '1')
        print(json.dumps(['done', [e['status'] for e in pout]]))
    except KeyboardInterrupt as e:
        print(json.dumps(['interrupted', [x['status'] for x in e.pout]]))
'''


def test_ctrl_c_raises_keyboard_interrupt_with_the_pout_then_resume(tmp_path):
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, BMP_T_DIR=str(tmp_path),
               BMP_T_SLEEP='600', BMP_T_RESUME='0')
    proc = subprocess.Popen([sys.executable, '-c',
                             textwrap.dedent(INTERRUPTIBLE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=sigint_at_default)
    # Items 0 and 1 finish; item 2 sleeps: interrupt then.
    deadline = time.monotonic() + 60
    while not (tmp_path / 'in2.ran').exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    kind, sts = json.loads(out.splitlines()[-1])
    assert kind == 'interrupted'
    assert sts[:2] == ['ok', 'ok']
    assert sts[2:] == ['not_run'] * 4

    env.update(BMP_T_SLEEP='0', BMP_T_RESUME='1')
    r = subprocess.run([sys.executable, '-c', textwrap.dedent(INTERRUPTIBLE)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    kind, sts = json.loads(r.stdout.splitlines()[-1])
    assert (kind, sts) == ('done', ['ok'] * 6)
    # The finished items did not run again.
    assert (tmp_path / 'in0.ran').read_text() == 'x'
    assert (tmp_path / 'in1.ran').read_text() == 'x'


def test_sigterm_stops_the_run_then_ends_the_caller(tmp_path):
    """SIGTERM stops the run as SIGINT does (workers ended, journal kept),
    then reaches the caller's own handling: by default, the end."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, BMP_T_DIR=str(tmp_path),
               BMP_T_SLEEP='600', BMP_T_RESUME='0')
    proc = subprocess.Popen([sys.executable, '-c',
                             textwrap.dedent(INTERRUPTIBLE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / 'in2.ran').exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err
    lines = (tmp_path / 'journal.jsonl').read_text().splitlines()
    finished = [json.loads(x) for x in lines[1:]]
    assert sorted(os.path.basename(e['in_name']) for e in finished) == [
        'in0', 'in1']
    assert not (tmp_path / 'in2.out').exists()


def test_install_without_the_sources_says_where_they_were_looked_for(
        tmp_path):
    r = run_script('import bigmultipipe._build_engine',
                   env={'BMP_SOURCE_DIR': str(tmp_path)})
    assert r.returncode != 0
    assert "the C library's sources are not at" in r.stderr
    assert str(tmp_path) in r.stderr
