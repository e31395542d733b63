"""The module's functions, outside a pipeline run."""

import argparse
import json
import os
import pickle

import pytest

import bigmultipipe as bmp
from bigmultipipe import argparse_handler


# num_can_process ----------------------------------------------------------

def cores():
    return bmp.num_can_process(None, num_processes=0)


def test_num_can_process_defaults_to_physical_cores():
    assert cores() >= 1
    assert bmp.num_can_process() == cores()
    assert bmp.num_can_process(num_processes=None) == cores()


def test_num_can_process_never_more_than_items():
    assert bmp.num_can_process(1, num_processes=8) == 1
    assert bmp.num_can_process(3, num_processes=2) == 2


def test_num_can_process_fraction_of_cores():
    c = cores()
    assert bmp.num_can_process(num_processes=0.5) == max(1, round(0.5 * c))
    assert bmp.num_can_process(num_processes=0.01) == 1


def test_num_can_process_float_is_an_int():
    # 0.2.0's argparse mixin gives floats; Pool(processes=2.0) refused them.
    n = bmp.num_can_process(100, num_processes=3.0)
    assert n == 3 and type(n) is int
    assert bmp.num_can_process(100, num_processes=2.7) == 2


def test_num_can_process_negative_is_an_error():
    with pytest.raises(ValueError, match='num_processes'):
        bmp.num_can_process(num_processes=-1)


def test_num_can_process_memory_limit():
    assert bmp.num_can_process(100, num_processes=64, mem_available=10e6,
                               process_size=3e6) == 3
    assert bmp.num_can_process(100, num_processes=2, mem_available=10e6,
                               process_size=1e6) == 2


def test_num_can_process_not_enough_memory():
    with pytest.raises(EnvironmentError, match=r'MiB.*MiB'):
        bmp.num_can_process(4, mem_available=2**20, process_size=2**21)
    assert bmp.num_can_process(4, mem_available=2**20, process_size=2**21,
                               error_if_zero=False) == 0


def test_num_can_process_mem_frac_of_system_memory():
    # A process size of a quarter of what a mem_frac of 0.5 allows.
    avail = bmp.core._system_mem_available()
    n = bmp.num_can_process(1000, num_processes=1000, mem_frac=0.5,
                            process_size=avail * 0.5 / 4.5)
    assert 3 <= n <= 5


# prune_pout ------------------------------------------------------------------

def test_prune_pout_drops_none_and_empty_meta_only():
    pout = [('a_bmp', {'x': 1}), (None, {}), (None, {'x': 2}),
            ('d_bmp', {})]
    names = ['a', 'b', 'c', 'd']
    pruned, pruned_names = bmp.prune_pout(pout, names)
    assert pruned == [('a_bmp', {'x': 1}), (None, {'x': 2}), ('d_bmp', {})]
    assert pruned_names == ['a', 'c', 'd']


def test_prune_pout_keeps_failed_items():
    entries = [{'in_name': 'a', 'outname': None, 'meta': {},
                'status': 'failed', 'error': 'Traceback...\nValueError: bad',
                'stats': {}}]
    pairs = bmp.pairs_from_pout(entries)
    assert pairs == [(None, {'error': ['ValueError: bad']})]
    assert bmp.prune_pout(pairs, ['a']) == (pairs, ['a'])


def test_prune_pout_lengths_must_agree():
    with pytest.raises(ValueError, match='in_names'):
        bmp.prune_pout([(None, {})], ['a', 'b'])


# meta helpers -----------------------------------------------------------------

def test_multi_logging_appends_per_level():
    meta = {}
    bmp.multi_logging('warning', meta, 'one')
    bmp.multi_logging('warning', meta, 'two')
    bmp.multi_logging('error', meta, 'three')
    assert meta == {'warning': ['one', 'two'], 'error': ['three']}


def test_bmp_cleanup_registers_then_removes():
    meta = {'keep': 1, 'big': 'x' * 100, 'tmp': 2}
    data = object()
    assert bmp.bmp_cleanup(data, bmp_meta=meta, add='big') is data
    bmp.bmp_cleanup(data, bmp_meta=meta, add=['tmp'])
    assert meta['bmp_cleanup_list'] == ['big', 'tmp']
    bmp.bmp_cleanup(data, bmp_meta=meta)
    assert meta == {'keep': 1}


def test_bmp_cleanup_tolerates_a_key_already_gone():
    meta = {'a': 1}
    bmp.bmp_cleanup(None, bmp_meta=meta, add='a')
    del meta['a']
    bmp.bmp_cleanup(None, bmp_meta=meta)
    assert meta == {}


def test_no_outfile_stops():
    assert bmp.no_outfile(b'data', anything=1) is None


def test_assure_list():
    assert bmp.assure_list(None) == []
    assert bmp.assure_list(3) == [3]
    assert bmp.assure_list([1, 2]) == [1, 2]


def test_worker_with_kwargs():
    def add_mult(a, to_add=0, to_mult=1):
        return (a + to_add) * to_mult
    assert bmp.WorkerWithKwargs(add_mult, to_add=3, to_mult=10).worker(3) \
        == 60


def test_multi_proc_flat_and_nested():
    def plus(x, n=1, **kwargs):
        return x + n
    assert bmp.multi_proc(plus)([1, 2, 3], n=10) == [11, 12, 13]
    nested = bmp.multi_proc(plus, element_type=int)
    assert nested([1, [2, [3, 4]], 5], n=1) == [2, [3, [4, 5]], 6]


def test_nestable_pool_workers_may_have_children():
    with bmp.NestablePool(processes=1) as p:
        assert p.map(abs, [-1, -2]) == [1, 2]


# outname_creator ---------------------------------------------------------------

@pytest.mark.parametrize('in_name,expected', [
    ('d/test.dat', 'out/test_bmp.dat'),
    ('a.tar.gz', 'out/a.tar_bmp.gz'),
    ('.hidden', 'out/.hidden_bmp'),
    ('noext', 'out/noext_bmp'),
    ('dir.d/file', 'out/file_bmp'),
])
def test_outname_creator_rule(in_name, expected):
    assert bmp.outname_creator(in_name, outdir='out') == expected


def test_outname_creator_outdir_default_is_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bmp.outname_creator('x/a.b') == os.path.join(str(tmp_path),
                                                        'a_bmp.b')
    assert bmp.outname_creator('x/a.b', outdir='') == os.path.join(
        str(tmp_path), 'a_bmp.b')


def test_outname_creator_outname_and_outdir():
    assert bmp.outname_creator('a.b', outdir='o', outname='z.fits') == \
        'o/z.fits'
    assert bmp.outname_creator('a.b', outname='z.fits') == 'z.fits'
    assert bmp.outname_creator('a.b', outdir='o', outname='/abs/z') == \
        '/abs/z'


def test_outname_creator_meta_overrides_when_not_empty():
    meta = {'outdir': 'm', 'outname_append': '_m', 'outname': ''}
    assert bmp.outname_creator('a.b', meta=meta, outdir='o',
                               outname_append='_k') == 'm/a_m.b'
    assert bmp.outname_creator('a.b', meta={'outname': 'n.b'},
                               outdir='o') == 'o/n.b'


def test_outname_creator_group_needs_outname():
    with pytest.raises(ValueError, match='group'):
        bmp.outname_creator(['a', 'b'], outdir='o')
    assert bmp.outname_creator(['a', 'b'], outdir='o',
                               meta={'outname': 'ab.dat'}) == 'o/ab.dat'


def test_outname_creator_empty_append_and_pathlike(tmp_path):
    assert bmp.outname_creator(tmp_path / 'a.b', outdir='o',
                               outname_append='') == 'o/a.b'
    assert bmp.outname_creator('a.b', outdir='o', outname_append=None) == \
        'o/a_bmp.b'


# pout files ----------------------------------------------------------------------

def entry(name, status='ok', meta=None):
    return {'in_name': name, 'outname': name + '_bmp' if status == 'ok'
            else None, 'meta': meta or {}, 'status': status, 'error': None,
            'stats': {'attempts': 1}}


def test_write_and_read_pout_round_trip(tmp_path):
    pout = [entry('a', meta={'m': 1.5, 'l': [1, 2]}),
            entry('caf\udce9', status='no_output'),
            {'in_name': ['g1', ['g2']], 'outname': None, 'meta': {},
             'status': 'failed', 'error': 'Traceback\nValueError: x',
             'stats': {}}]
    path = tmp_path / 'pout.jsonl'
    bmp.write_pout(pout, str(path))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0])['meta'] == {'m': 1.5, 'l': [1, 2]}
    # Undecodable bytes of a name are kept as \udcXX escapes.
    assert b'\\udce9' in lines[1]
    assert bmp.read_pout(str(path)) == pout
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.')]


def test_read_pout_skips_the_journal_record(tmp_path):
    path = tmp_path / 'journal'
    path.write_text('{"bmp_journal": 1, "items": 2}\n'
                    '{"index": 1, "in_name": "b", "outname": null, '
                    '"meta": {}, "status": "no_output", "error": null}\n')
    pout = bmp.read_pout(str(path))
    assert [e['in_name'] for e in pout] == ['b']
    assert pout[0]['stats'] == {}


@pytest.mark.parametrize('text,msg', [
    ('not json\n', 'not JSON'),
    ('[1, 2]\n', 'not a pout entry'),
    ('{"in_name": "a", "status": "weird"}\n', 'not a pout entry'),
])
def test_read_pout_refuses_bad_lines(tmp_path, text, msg):
    path = tmp_path / 'bad'
    path.write_text('{"in_name": "a", "status": "ok", "outname": "x"}\n'
                    + text)
    with pytest.raises(ValueError, match=f'bad:2: {msg}'):
        bmp.read_pout(str(path))


def test_write_pout_refuses_nan_and_writes_nothing(tmp_path):
    path = tmp_path / 'p'
    with pytest.raises(ValueError):
        bmp.write_pout([entry('a', meta={'x': float('nan')})], str(path))
    assert os.listdir(tmp_path) == []


def test_cached_pout_runs_then_reads(tmp_path):
    calls = []

    def pipe_code(**kwargs):
        calls.append(kwargs)
        return [('a_bmp', {'m': 1}), (None, {})]
    path = str(tmp_path / 'sub' / 'pout.pickle')
    out = bmp.cached_pout(pipe_code, poutname=path, read_pout=True,
                          write_pout=True, create_outdir=True, extra=3)
    assert out == [('a_bmp', {'m': 1}), (None, {})]
    assert calls == [{'create_outdir': True, 'extra': 3}]
    again = bmp.cached_pout(pipe_code, poutname=path, read_pout=True)
    assert again == out and len(calls) == 1
    # 0.2.0's files are pickles: they read as they were written.
    with open(path, 'rb') as f:
        assert pickle.load(f) == out


def test_cached_pout_full_pout_is_json_lines(tmp_path):
    pout = [entry('a', meta={'m': 2})]
    path = str(tmp_path / 'pout.jsonl')
    bmp.cached_pout(lambda **kw: pout, poutname=path, write_pout=True)
    assert bmp.read_pout(path) == pout
    assert bmp.cached_pout(lambda **kw: 1 / 0, poutname=path,
                           read_pout=True) == pout


def test_cached_pout_unreadable_file_means_run(tmp_path):
    path = tmp_path / 'broken'
    path.write_bytes(b'\x80garbage')
    assert bmp.cached_pout(lambda **kw: 'ran', poutname=str(path),
                           read_pout=True) == 'ran'


# argparse mixin --------------------------------------------------------------

class Handler(argparse_handler.ArgparseHandler,
              argparse_handler.BMPArgparseMixin):
    def add_all(self):
        self.add_bmp_all()


def parse(argv):
    h = Handler(argparse.ArgumentParser())
    h.add_all()
    return h.parser.parse_args(argv)


def test_argparse_defaults():
    a = parse([])
    assert (a.outdir, a.create_outdir, a.read_pout, a.write_pout,
            a.outname_append, a.num_processes, a.mem_available, a.mem_frac,
            a.process_size) == ('.', False, False, False, '_bmp', 0.8, None,
                                0.8, None)


def test_argparse_values_and_sizes():
    a = parse(['--outdir', 'o', '--create_outdir', '--num_processes', '0',
               '--mem_available', '2G', '--process_size', '512M',
               '--mem_frac', '0.5', '--outname_append', '_x',
               '--read_pout', '--no-write_pout'])
    assert a.outdir == 'o' and a.create_outdir is True
    assert a.num_processes == 0 and a.mem_available == 2 * 2**30
    assert a.process_size == 512 * 2**20 and a.mem_frac == 0.5
    assert a.outname_append == '_x' and a.read_pout and not a.write_pout
    assert parse(['--no-create_outdir']).create_outdir is False
    assert parse(['--process_size', '1.5e3']).process_size == 1500


@pytest.mark.parametrize('argv', [['--process_size', 'big'],
                                  ['--num_processes', '-1'],
                                  ['--mem_available', '-3']])
def test_argparse_bad_values_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        parse(argv)
    assert e.value.code == 2
    assert 'error' in capsys.readouterr().err


def test_argparse_float_num_processes_runs_a_pipeline(text_files,
                                                      tmp_path):
    a = parse(['--num_processes', '2', '--outdir', str(tmp_path / 'o'),
               '--create_outdir'])
    p = bmp.BigMultiPipe(num_processes=a.num_processes, outdir=a.outdir,
                         create_outdir=a.create_outdir,
                         process_size=a.process_size,
                         mem_frac=a.mem_frac)
    pout = p.pipeline(text_files)
    assert [os.path.basename(o) for o, m in pout] == \
        [f'f{i}_bmp.txt' for i in range(5)]


def test_pairs_from_pout_names_the_exception_line():
    tb = ('Traceback (most recent call last):\n'
          '  File "x.py", line 1, in step\n'
          '    raise ValueError(msg)\n'
          'ValueError: first line\n'
          '  a table that goes on\n'
          '  and on\n')
    pairs = bmp.pairs_from_pout([
        {'in_name': 'a', 'outname': None, 'meta': {}, 'status': 'failed',
         'error': tb, 'stats': {}},
        {'in_name': 'b', 'outname': None, 'meta': {}, 'status': 'crashed',
         'error': 'killed by signal 9', 'stats': {}},
        {'in_name': 'c', 'outname': None, 'meta': {}, 'status': 'not_run',
         'error': None, 'stats': {}},
        {'in_name': 'd', 'outname': 'd_bmp', 'meta': {'m': 1},
         'status': 'ok', 'error': None, 'stats': {}}])
    assert pairs == [(None, {'error': ['ValueError: first line']}),
                     (None, {'error': ['crashed: killed by signal 9']}),
                     (None, {'error': ['not_run']}),
                     ('d_bmp', {'m': 1})]
