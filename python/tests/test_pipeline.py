"""BigMultiPipe: its methods, the control stream and the settings."""

import os
import warnings

import numpy as np
import pytest

import bigmultipipe as bmp
from bigmultipipe import BigMultiPipe


class NpyPipe(BigMultiPipe):
    def file_read(self, in_name, **kwargs):
        return np.load(in_name)

    def file_write(self, data, outname, **kwargs):
        np.save(outname, data)
        return outname

    def data_process(self, data, **kwargs):
        return data * 10


def first_value(data, bmp_meta=None, **kwargs):
    bmp_meta['first'] = float(data.flat[0])
    return data


def seen(key):
    """A post step recording the keyword `key` as this item saw it."""
    def step(data, bmp_meta=None, **kwargs):
        bmp_meta[key] = kwargs.get(key, 'absent')
        return data
    return step


def names(pout):
    return [None if o is None else os.path.basename(o) for o, m in pout]


def test_default_pipe_copies_bytes(text_files, tmp_path):
    out = tmp_path / 'out'
    p = BigMultiPipe(outdir=str(out), create_outdir=True)
    pout = p.pipeline(text_files)
    assert names(pout) == [f'f{i}_bmp.txt' for i in range(5)]
    for i, (o, m) in enumerate(pout):
        assert m == {}
        assert open(o, 'rb').read() == f'item {i}\n'.encode()
    assert [e['status'] for e in p.pout] == ['ok'] * 5
    assert [e['in_name'] for e in p.pout] == text_files


def test_pout_is_in_input_order(small_arrays, tmp_path):
    p = NpyPipe(outdir=str(tmp_path), post_process_list=[first_value],
                num_processes=2)
    pout = p.pipeline(small_arrays)
    assert [m['first'] for o, m in pout] == [10.0 * i for i in range(10)]


def test_control_stream_layers(small_arrays, tmp_path):
    p = NpyPipe(outdir=str(tmp_path), a='construction', b='construction',
                post_process_list=[seen('a'), seen('b'), seen('c')])
    pout = p.pipeline(small_arrays[:2], b='run', c='run')
    assert pout[0][1] == {'a': 'construction', 'b': 'run', 'c': 'run'}
    # The run's keywords do not stay on the object.
    assert p.kwargs == {'a': 'construction', 'b': 'construction'}


def test_falsy_run_values_override(small_arrays, tmp_path):
    # 0.2.0's `x or self.x` dropped False, '' and 0.
    out = tmp_path / 'new'
    p = NpyPipe(outdir=str(out), create_outdir=True, outname_append='_c',
                post_process_list=[seen('create_outdir'),
                                   seen('outname_append')])

    class Keep(NpyPipe):
        def file_write(self, data, outname, **kwargs):
            return outname      # names only: nothing to create
    k = Keep(outdir=str(out), create_outdir=True, outname_append='_c',
             post_process_list=[seen('create_outdir'),
                                seen('outname_append')])
    pout = k.pipeline(small_arrays[:1], create_outdir=False,
                      outname_append='')
    assert pout[0][1] == {'create_outdir': False, 'outname_append': ''}
    assert names(pout) == ['big_array_0.npy']
    pout = p.pipeline(small_arrays[:1])
    assert names(pout) == ['big_array_0_c.npy']


def test_num_processes_zero_overrides_construction(small_arrays, tmp_path):
    p = NpyPipe(outdir=str(tmp_path), num_processes=1)
    assert len(p.pipeline(small_arrays, num_processes=0)) == 10
    assert len(p.pipeline(small_arrays, num_processes=2.0)) == 10
    assert len(p.pipeline(small_arrays, num_processes=0.5)) == 10


def test_outname_keyword_at_construction_and_run(small_arrays, tmp_path):
    # 0.2.0: TypeError from file_write when given at construction, and
    # silently ignored when given to pipeline().
    p = NpyPipe(outdir=str(tmp_path), outname='made.npy')
    pout = p.pipeline(small_arrays[:1])
    assert pout[0][0] == str(tmp_path / 'made.npy')
    pout = p.pipeline(small_arrays[1:2], outname='run.npy')
    assert pout[0][0] == str(tmp_path / 'run.npy')
    assert np.load(tmp_path / 'run.npy')[0, 0] == 10


def test_pre_process_reject_and_kwargs_per_item(small_arrays, tmp_path):
    def reject(data, reject_value=None, **kwargs):
        if data[0, 0] == reject_value:
            return None
        return data

    def mark(data, **kwargs):
        if data[0, 0] == 3:
            return {'bmp_data': data, 'bmp_kwargs': {'marked': True}}
        return data
    p = NpyPipe(outdir=str(tmp_path), pre_process_list=[reject],
                post_process_list=[seen('marked')])
    pout = p.pipeline(small_arrays, pre_process_list=[mark], reject_value=2,
                      num_processes=1)
    assert pout[2] == (None, {})
    assert pout[3][1] == {'marked': True}
    # The keyword a step added holds for its item only.
    assert [m for o, m in pout[4:]] == [{'marked': 'absent'}] * 6
    assert p.pre_process_list == [reject]


def test_pre_process_bmp_data_none_rejects(small_arrays, tmp_path):
    p = NpyPipe(outdir=str(tmp_path),
                pre_process_list=[lambda d, **k: {'bmp_data': None}])
    assert p.pipeline(small_arrays[:2]) == [(None, {}), (None, {})]


def test_file_read_none_ends_item(text_files, tmp_path):
    class P(BigMultiPipe):
        def file_read(self, in_name, **kwargs):
            return None if in_name.endswith('f1.txt') else b'x'
    pout = P(outdir=str(tmp_path)).pipeline(text_files[:2])
    assert pout[1] == (None, {})
    assert pout[0][0] is not None


def test_data_process_none_ends_item(small_arrays, tmp_path):
    class P(NpyPipe):
        def data_process(self, data, **kwargs):
            return None
    assert P(outdir=str(tmp_path)).pipeline(small_arrays[:1]) == \
        [(None, {})]


def test_post_process_none_keeps_meta(small_arrays, tmp_path):
    p = NpyPipe(outdir=str(tmp_path),
                post_process_list=[first_value, bmp.no_outfile, seen('x')])
    pout = p.pipeline(small_arrays[:2])
    assert pout == [(None, {'first': 0.0}), (None, {'first': 10.0})]
    assert not [f for f in os.listdir(tmp_path) if '_bmp' in f]
    assert [e['status'] for e in p.pout] == ['no_output'] * 2


def test_bmp_cleanup_in_post_process(small_arrays, tmp_path):
    def big(data, bmp_meta=None, **kwargs):
        bmp_meta['big'] = [1] * 100
        bmp.bmp_cleanup(data, bmp_meta=bmp_meta, add='big')
        return data

    def uses_big(data, bmp_meta=None, **kwargs):
        bmp_meta['n'] = len(bmp_meta['big'])
        return data
    p = NpyPipe(outdir=str(tmp_path), post_process_list=[big, uses_big])
    assert p.pipeline(small_arrays[:1])[0][1] == {'n': 100}
    kept = p.pipeline(small_arrays[:1], no_bmp_cleanup=True)[0][1]
    assert kept['bmp_cleanup_list'] == ['big'] and kept['n'] == 100


def test_post_process_list_given_to_run_is_appended(small_arrays, tmp_path):
    order = []

    def a(data, bmp_meta=None, **kwargs):
        bmp_meta.setdefault('order', []).append('a')
        return data

    def b(data, bmp_meta=None, **kwargs):
        bmp_meta.setdefault('order', []).append('b')
        return data
    p = NpyPipe(outdir=str(tmp_path), post_process_list=a)
    assert p.pipeline(small_arrays[:1], post_process_list=[b])[0][1] == \
        {'order': ['a', 'b']}
    p.post_process_list = None
    assert p.pipeline(small_arrays[:1])[0][1] == {}
    assert order == []


def test_data_process_meta_create_override(small_arrays, tmp_path):
    class P(NpyPipe):
        def data_process_meta_create(self, data, **kwargs):
            if data[0, 0] == 1:
                return (None, {'skipped': True})
            return (data + 1, {'v': float(data[0, 0])})
    pout = P(outdir=str(tmp_path)).pipeline(small_arrays[:3])
    assert pout[1] == (None, {'skipped': True})
    assert pout[2][1] == {'v': 2.0}
    assert np.load(pout[2][0])[0, 0] == 3


def test_file_process_override(text_files, tmp_path):
    class P(BigMultiPipe):
        def file_process(self, in_name, **kwargs):
            out = os.path.join(kwargs['outdir'], os.path.basename(in_name))
            with open(in_name) as i, open(out, 'w') as o:
                o.write(i.read().upper())
            return (out, {'len': os.path.getsize(out)})
    pout = P(outdir=str(tmp_path)).pipeline(text_files[:2])
    assert open(pout[1][0]).read() == 'ITEM 1\n'
    assert pout[1][1] == {'len': 7}


def test_outname_create_override_and_meta_outname(small_arrays, tmp_path):
    class P(NpyPipe):
        def outname_create(self, in_name, **kwargs):
            return os.path.join(kwargs['outdir'], 'custom_' +
                                os.path.basename(in_name))

    pout = P(outdir=str(tmp_path)).pipeline(small_arrays[:1])
    assert names(pout) == ['custom_big_array_0.npy']

    def name_it(data, bmp_meta=None, **kwargs):
        bmp_meta['outname'] = f'v{int(data[0, 0])}.npy'
        return data
    pout = NpyPipe(outdir=str(tmp_path),
                   post_process_list=[name_it]).pipeline(small_arrays[1:3])
    assert names(pout) == ['v10.npy', 'v20.npy']


def test_group_items(tmp_path, text_files):
    groups = [text_files[0:2], [text_files[2], [text_files[3]]]]
    p = BigMultiPipe(outdir=str(tmp_path))
    # A group has no single base name.
    with warnings.catch_warnings(record=True):
        warnings.simplefilter('always')
        pout = p.pipeline(groups)
    assert all(o is None for o, m in pout)
    assert 'group' in p.pout[0]['error']

    class Join(BigMultiPipe):
        def data_process(self, data, **kwargs):
            flat = bmp.multi_proc(lambda d, **k: d.upper(),
                                  element_type=bytes)(data)
            return b''.join(x if isinstance(x, bytes) else b''.join(x)
                            for x in flat)

    def name(data, bmp_meta=None, in_name=None, **kwargs):
        bmp_meta['outname'] = f'group{len(in_name)}.txt'
        return data
    pout = Join(outdir=str(tmp_path),
                post_process_list=[name]).pipeline(groups[:1])
    assert open(pout[0][0], 'rb').read() == b'ITEM 0\nITEM 1\n'
    assert p.pout[0]['in_name'] == groups[0]


def test_create_outdir_and_meta_override(text_files, tmp_path):
    out = tmp_path / 'a' / 'b'
    p = BigMultiPipe(outdir=str(out))
    with pytest.warns(bmp.PipelineWarning):
        pout = p.pipeline(text_files[:1])
    assert pout[0][0] is None
    assert 'No such file' in p.pout[0]['error']

    def create(data, bmp_meta=None, **kwargs):
        bmp_meta['create_outdir'] = True
        return data
    pout = p.pipeline(text_files[:1], post_process_list=[create])
    assert os.path.exists(pout[0][0])


def test_overwrite_false_keeps_existing_output(text_files, tmp_path):
    p = BigMultiPipe(outdir=str(tmp_path))
    first = p.pipeline(text_files[:2])
    with open(first[0][0], 'wb') as f:
        f.write(b'keep me')
    with pytest.warns(bmp.PipelineWarning, match='2 of 2'):
        pout = p.pipeline(text_files[:2], overwrite=False)
    assert pout[0][0] is None
    assert 'exists' in pout[0][1]['error'][0]
    assert open(first[0][0], 'rb').read() == b'keep me'
    # The default leaves the decision to file_write (0.2.0): replaced.
    p.pipeline(text_files[:2])
    assert open(first[0][0], 'rb').read() == b'item 0\n'


def test_output_over_its_input_is_refused(text_files):
    d = os.path.dirname(text_files[0])
    p = BigMultiPipe(outdir=d, outname_append='')
    with pytest.warns(bmp.PipelineWarning):
        pout = p.pipeline(text_files[:1])
    assert 'input' in pout[0][1]['error'][0]
    assert open(text_files[0], 'rb').read() == b'item 0\n'


def test_failed_item_costs_only_itself(small_arrays, tmp_path):
    def boom(data, **kwargs):
        if data[0, 0] == 4:
            raise ValueError('bad frame 4')
        return data
    p = NpyPipe(outdir=str(tmp_path), pre_process_list=[boom])
    with pytest.warns(bmp.PipelineWarning, match='1 of 10'):
        pout = p.pipeline(small_arrays)
    assert pout[4] == (None, {'error': ['ValueError: bad frame 4']})
    assert sum(o is not None for o, m in pout) == 9
    e = p.pout[4]
    assert e['status'] == 'failed'
    assert 'Traceback' in e['error'] and 'in boom' in e['error']
    kept, kept_names = bmp.prune_pout(pout, small_arrays)
    assert len(kept) == 10


def test_mutable_keyword_does_not_leak(small_arrays, tmp_path):
    def grow(data, seen=None, arr=None, bmp_meta=None, **kwargs):
        seen.append(float(data[0, 0]))
        arr += 1
        bmp_meta['seen'] = list(seen)
        bmp_meta['arr'] = float(arr[0])
        return data
    seen_list = []
    arr = np.zeros(3)
    p = NpyPipe(outdir=str(tmp_path), post_process_list=[grow],
                seen=seen_list)
    pout = p.pipeline(small_arrays[:4], arr=arr, num_processes=1)
    assert [m['seen'] for o, m in pout] == [[0.0], [10.0], [20.0], [30.0]]
    assert [m['arr'] for o, m in pout] == [1.0] * 4
    assert seen_list == [] and arr[0] == 0


def test_read_only_array_keyword_is_shared(small_arrays, tmp_path):
    flat = np.arange(3.0)
    flat.setflags(write=False)

    def use(data, flat=None, bmp_meta=None, **kwargs):
        bmp_meta['sum'] = float(flat.sum())
        return data
    p = NpyPipe(outdir=str(tmp_path), post_process_list=[use], flat=flat)
    assert p.pipeline(small_arrays[:2])[1][1] == {'sum': 3.0}


def test_bad_file_process_result_fails_item(text_files, tmp_path):
    class P(BigMultiPipe):
        def file_process(self, in_name, **kwargs):
            return 'just a name'
    p = P()
    with pytest.warns(bmp.PipelineWarning):
        assert p.pipeline(text_files[:1])[0][0] is None
    assert p.pout[0]['status'] == 'failed'
    assert 'must return (outname, meta)' in p.pout[0]['error']


def test_serial_executor_runs_in_the_caller(text_files, tmp_path):
    pids = []

    def where(data, bmp_meta=None, **kwargs):
        bmp_meta['pid'] = os.getpid()
        return data
    p = BigMultiPipe(outdir=str(tmp_path), post_process_list=[where],
                     executor='serial')
    pout = p.pipeline(text_files)
    assert {m['pid'] for o, m in pout} == {os.getpid()}
    assert pids == []


def test_empty_input_list(tmp_path):
    p = BigMultiPipe(outdir=str(tmp_path))
    assert p.pipeline([]) == []
    assert p.pout == []


def test_kwargs_merge():
    p = BigMultiPipe(a=1, b=2)
    merged = p.kwargs_merge(b=3, c=4)
    assert merged == {'a': 1, 'b': 3, 'c': 4}
    assert p.kwargs == {'a': 1, 'b': 2}


def test_pool_class_is_accepted(text_files, tmp_path):
    p = BigMultiPipe(outdir=str(tmp_path), PoolClass=bmp.NestablePool)
    assert len(p.pipeline(text_files, PoolClass=bmp.NestablePool)) == 5


def test_large_array_keyword_is_shared_read_only(small_arrays, tmp_path):
    big = np.zeros(bmp.item_keywords.SHARE_BYTES // 8)
    small = np.zeros(4)

    def look(data, big=None, small=None, big_id=None, small_id=None,
             bmp_meta=None, **kwargs):
        # The fork keeps addresses: the same object has the same id.
        bmp_meta['big_shared'] = id(big) == big_id
        bmp_meta['small_shared'] = id(small) == small_id
        bmp_meta['big_writeable'] = bool(big.flags.writeable)
        return data
    p = NpyPipe(outdir=str(tmp_path), post_process_list=[look])
    for executor in ('process', 'serial'):
        pout = p.pipeline(small_arrays[:2], big=big, small=small,
                          big_id=id(big), small_id=id(small),
                          executor=executor)
        assert pout[1][1] == {'big_shared': True, 'small_shared': False,
                              'big_writeable': False}
    # The caller's array is writeable again after a serial run.
    assert big.flags.writeable


def test_large_array_changed_in_place_fails_its_item(small_arrays,
                                                     tmp_path):
    class Frame:
        def __init__(self):
            self.data = np.zeros(bmp.item_keywords.SHARE_BYTES // 8)

    def spoil(data, frame=None, **kwargs):
        frame.data += 1
        return data
    frame = Frame()
    p = NpyPipe(outdir=str(tmp_path), post_process_list=[spoil],
                frame=frame)
    with pytest.warns(bmp.PipelineWarning, match='2 of 2'):
        pout = p.pipeline(small_arrays[:2], executor='serial')
    assert 'read-only' in pout[0][1]['error'][0]
    assert frame.data.max() == 0 and frame.data.flags.writeable


def test_uncopyable_keyword_is_shared(text_files, tmp_path):
    import threading
    lock = threading.Lock()

    def use(data, lock=None, bmp_meta=None, **kwargs):
        with lock:
            bmp_meta['locked'] = True
        return data
    p = BigMultiPipe(outdir=str(tmp_path), post_process_list=[use],
                     lock=lock)
    assert p.pipeline(text_files[:1])[0][1] == {'locked': True}


def test_two_items_one_output_warns(text_files, tmp_path):
    p = BigMultiPipe(outdir=str(tmp_path), outname='same.txt')
    with pytest.warns(bmp.PipelineWarning, match='items 0 and 1 both '
                      'wrote'):
        p.pipeline(text_files[:2], num_processes=1)


def test_odd_names(tmp_path):
    d = tmp_path / 'in dir'
    d.mkdir()
    names = ['with space.txt', 'caf\u00e9.txt', 'new\nline.txt',
             '-dash.txt', 'two.dots.txt']
    paths = []
    for n in names:
        (d / n).write_bytes(n.encode())
        paths.append(str(d / n))
    raw = os.fsencode(str(d)) + b'/raw\xe9.txt'
    with open(raw, 'wb') as f:
        f.write(b'raw')
    p = BigMultiPipe(outdir=str(tmp_path / 'out'), create_outdir=True)
    pout = p.pipeline(paths + [raw])
    assert [os.path.basename(o) for o, m in pout[:5]] == \
        ['with space_bmp.txt', 'caf\u00e9_bmp.txt', 'new\nline_bmp.txt',
         '-dash_bmp.txt', 'two.dots_bmp.txt']
    assert os.fsencode(pout[5][0]).endswith(b'/raw\xe9_bmp.txt')
    assert open(pout[5][0], 'rb').read() == b'raw'
    assert p.pout[5]['in_name'] == raw


def test_old_module_path():
    from bigmultipipe.bigmultipipe import BigMultiPipe as B, prune_pout
    assert B is BigMultiPipe and prune_pout is bmp.prune_pout


# The methods called directly, outside a run ------------------------------------

def test_methods_directly(text_files, tmp_path):
    p = BigMultiPipe(a=1, pre_process_list=[lambda d, **k: d + b'!'],
                     post_process_list=[first_byte])
    assert p.file_read(text_files[0]) == b'item 0\n'
    assert p.file_read([text_files[0], [text_files[1]]]) == \
        [b'item 0\n', [b'item 1\n']]
    data, kw = p.pre_process(b'x', pre_process_list=[
        lambda d, **k: {'bmp_data': d * 2, 'bmp_kwargs': {'b': 2}}])
    assert data == b'x!x!' and kw == {'a': 1, 'b': 2}
    assert p.data_process(b'y') == b'y'
    assert p.post_process(b'zz') == (b'zz', {'first': 'z'})
    assert p.data_process_meta_create(b'q') == (b'q', {'first': 'q'})
    assert p.outname_create('d/f.txt', data=b'', meta={},
                            outdir='o') == 'o/f_bmp.txt'
    out = tmp_path / 'new' / 'f.txt'
    assert p.file_write(b'bytes', str(out), meta={'create_outdir': True}) \
        == str(out)
    assert out.read_bytes() == b'bytes'
    # Data that are not bytes are left to the subclass, as in 0.2.0.
    assert p.file_write(np.zeros(2), str(tmp_path / 'arr')) == \
        str(tmp_path / 'arr')
    assert not (tmp_path / 'arr').exists()
    o, meta = p.file_process(text_files[1], outdir=str(tmp_path))
    assert meta == {'first': 'i'}
    assert open(o, 'rb').read() == b'item 1\n!'


def first_byte(data, bmp_meta=None, **kwargs):
    bmp_meta['first'] = data[:1].decode()
    return data


def test_one_name_instead_of_a_list_is_refused(text_files):
    with pytest.raises(TypeError, match='list of names'):
        BigMultiPipe().pipeline(text_files[0])
    assert len(BigMultiPipe(outdir=os.path.dirname(text_files[0]) + '/o',
                            create_outdir=True).pipeline(
        tuple(text_files))) == 5


def test_positional_arguments_as_in_0_2_0(small_arrays, tmp_path):
    # 0.2.0's order: num_processes, mem_available, mem_frac, process_size,
    # outdir, create_outdir, outname_append, pre_process_list,
    # post_process_list, PoolClass; the new settings are keywords only.
    p = NpyPipe(1, None, 0.5, None, str(tmp_path / 'o'), True, '_p',
                [], [first_value], None)
    assert (p.num_processes, p.mem_frac, p.create_outdir,
            p.outname_append) == (1, 0.5, True, '_p')
    pout = p.pipeline(small_arrays[:1], 2, None, None, None, None,
                      str(tmp_path / 'o2'), True, '_q', 'named.npy')
    assert pout[0][0] == str(tmp_path / 'o2' / 'named.npy')
    with pytest.raises(TypeError):
        NpyPipe(1, None, 0.5, None, 'o', True, '_p', [], [], None, 'extra')
