"""Test set-up: the package under test, and the seed's data.

The tests run on the installed package (the venv of the test command),
whose engine is the C library.  Run from a source tree without the
built extension, they import the package from ../ instead.
"""

import os
import sys

import pytest

try:
    import bigmultipipe  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
    import bigmultipipe  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, '..', 'examples')

SEED_LISTING = (
    "[('big_array_0.npy', 'big_array_0_bmp.npy', {'median': 0.0, 'average': 0.0}), "
    "('big_array_1.npy', 'big_array_1_bmp.npy', {'median': 10.0, 'average': 10.0}), "
    "('big_array_3.npy', 'big_array_3_bmp.npy', {'median': 35.0, 'average': 35.0}), "
    "('big_array_4.npy', 'big_array_4_bmp.npy', {'median': 40.0, 'average': 40.0}), "
    "('big_array_5.npy', 'big_array_5_bmp.npy', {'median': 50.0, 'average': 50.0}), "
    "('big_array_6.npy', 'big_array_6_bmp.npy', {'median': 60.0, 'average': 60.0}), "
    "('big_array_7.npy', 'big_array_7_bmp.npy', {'median': 70.0, 'average': 70.0}), "
    "('big_array_8.npy', 'big_array_8_bmp.npy', {'median': 80.0, 'average': 80.0}), "
    "('big_array_9.npy', 'big_array_9_bmp.npy', {'median': 90.0, 'average': 90.0})]")


@pytest.fixture
def small_arrays(tmp_path):
    """Ten small .npy files big_array_i.npy filled with i (the seed's
    data, 20x30 instead of 1000x2000), and their names."""
    import numpy as np
    names = []
    for i in range(10):
        name = str(tmp_path / f'big_array_{i}.npy')
        np.save(name, i + np.zeros((20, 30)))
        names.append(name)
    return names


@pytest.fixture
def text_files(tmp_path):
    """Five small text files in tmp_path/in, and their names."""
    d = tmp_path / 'in'
    d.mkdir()
    names = []
    for i in range(5):
        p = d / f'f{i}.txt'
        p.write_bytes(f'item {i}\n'.encode())
        names.append(str(p))
    return names


def _engine_is_real():
    from bigmultipipe import _engine
    return hasattr(_engine, 'run')


REAL_ENGINE = _engine_is_real()

if not REAL_ENGINE:
    # Until the engine is built: a stand-in that runs the items in the
    # caller, so that the pure-Python layer can be tested on its own.
    # Tests that need worker processes ask for the `real_engine` fixture.
    import traceback
    from bigmultipipe import _engine as _eng

    def _fake_run(in_names, item_fn, **settings):
        pout = []
        for name in in_names:
            entry = {'in_name': name, 'outname': None, 'meta': {},
                     'status': 'no_output', 'error': None,
                     'stats': {'attempts': 1}}
            try:
                outname, meta = item_fn(name)
                import json
                entry['meta'] = json.loads(json.dumps(
                    meta or {}, default=lambda x: x.tolist()))
                if outname is not None:
                    entry['outname'] = os.fsdecode(outname)
                    entry['status'] = 'ok'
            except BaseException:
                entry['status'] = 'failed'
                entry['error'] = traceback.format_exc()
            pout.append(entry)
        return pout

    _eng.run = _fake_run


@pytest.fixture
def real_engine():
    if not REAL_ENGINE:
        pytest.skip('needs the built engine (worker processes)')
