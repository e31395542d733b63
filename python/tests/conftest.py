"""Test set-up: the package under test, and the seed's data.

The tests run on the installed package (doc/python.md, "Install"), whose
engine is the C library: run them with the Python of that environment,
`VENV/bin/python -m pytest python/tests`.
"""

import os
import signal

import pytest

try:
    import bigmultipipe  # noqa: F401
    from bigmultipipe import _bmp_cffi  # noqa: F401  the built engine
except ImportError as e:
    pytest.exit(f'bigmultipipe is not installed with its engine ({e}); '
                'install it as doc/python.md says and run the tests with '
                'that environment\'s python', returncode=4)


def sigint_at_default():
    """Run in the child before it starts: SIGINT at its default, as for a
    program started from a terminal.  A suite started in the background
    (a non-interactive shell's `&`) hands its children SIGINT ignored, and
    an ignored SIGINT rightly stays ignored (Python then installs no
    KeyboardInterrupt, and the library keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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

