"""The seed's three programs, in python/examples, print SPEC.md's listing."""

import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES, SEED_LISTING


def run_example(name):
    env = dict(os.environ)
    # The examples import the package under test, wherever it comes from.
    import bigmultipipe
    pkg_parent = os.path.dirname(os.path.dirname(bigmultipipe.__file__))
    env['PYTHONPATH'] = pkg_parent + os.pathsep + env.get('PYTHONPATH', '')
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name)],
                          capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.mark.parametrize('name', ['seed_loop.py', 'seed_subclass.py',
                                  'seed_steps.py'])
def test_seed_program_prints_the_listing(name):
    r = run_example(name)
    assert r.returncode == 0, r.stderr
    assert r.stdout == SEED_LISTING + '\n'
    assert r.stderr == ''


def test_astropy_example():
    r = run_example('astropy_ccd.py')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == 'raw_0.fits -> raw_0_bmp.fits: median 1000 adu, ' \
        'exptime 10 s'
    # The saturated frame is rejected (pruned), the broken file fails
    # alone with the exception's own line.
    assert not any(l.startswith('raw_4') for l in lines)
    assert lines[-2].startswith('raw_broken.fits: failed: ')
    assert 'IORegistryError' in lines[-2]
    assert lines[-1] == 'status: ok ok ok ok no_output ok failed'
