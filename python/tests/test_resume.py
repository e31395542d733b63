"""Journal and resume; Ctrl-C gives KeyboardInterrupt with the partial
pout, and the same run with resume=True finishes it."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import bigmultipipe as bmp
from bigmultipipe import BigMultiPipe
from bigmultipipe._engine import EngineError
from conftest import sigint_at_default


class Count(BigMultiPipe):
    """Writes the input's bytes; counts its runs in a log file."""

    def data_process(self, data, log=None, **kwargs):
        with open(log, 'a') as f:
            f.write(f'{os.getpid()} {data.decode().strip()}\n')
        return data


def runs(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [l.split()[1] + ' ' + l.split()[2] for l in f]


def test_journal_then_resume_runs_only_the_rest(text_files, tmp_path):
    log = str(tmp_path / 'log')
    journal = str(tmp_path / 'journal')
    out = tmp_path / 'out'
    p = Count(outdir=str(out), create_outdir=True, log=log, journal=journal,
              num_processes=2)
    first = p.pipeline(text_files[:3])
    assert len(runs(log)) == 3
    assert len(bmp.read_pout(journal)) == 3
    # The same items resumed run nothing; other items are another run,
    # whose journal this is not: refused.
    again = p.pipeline(text_files[:3], resume=True)
    assert again == first
    assert len(runs(log)) == 3
    with pytest.raises(EngineError, match='item'):
        p.pipeline(text_files, resume=True)


def test_resume_reruns_an_item_whose_output_is_gone(text_files, tmp_path):
    log = str(tmp_path / 'log')
    journal = str(tmp_path / 'journal')
    p = Count(outdir=str(tmp_path), log=log, journal=journal)
    first = p.pipeline(text_files)
    os.unlink(first[2][0])
    again = p.pipeline(text_files, resume=True)
    assert again == first
    assert runs(log)[5:] == ['item 2']


def test_resume_refuses_other_output_settings(text_files, tmp_path):
    journal = str(tmp_path / 'journal')
    p = Count(outdir=str(tmp_path), log=str(tmp_path / 'log'),
              journal=journal)
    p.pipeline(text_files)
    with pytest.raises(EngineError, match='pipeline_id'):
        p.pipeline(text_files, resume=True, outname_append='_other')
    p.pipeline(text_files, resume=True, outname_append='_other',
               force_resume=True)


INTERRUPTED = textwrap.dedent('''
    import json, os, sys, time
    sys.path[:0] = [{pkg!r}]
    import bigmultipipe as bmp

    class Slow(bmp.BigMultiPipe):
        def data_process(self, data, **kwargs):
            n = int(data.split()[1])
            if n >= 3 and not os.environ.get('FAST'):
                time.sleep(600)
            return data

    names = {names!r}
    p = Slow(outdir={outdir!r}, journal={journal!r}, num_processes=2)
    try:
        pairs = p.pipeline(names, resume=bool(os.environ.get('FAST')))
    except KeyboardInterrupt as e:
        print(json.dumps({{'interrupted': True,
                          'status': [x['status'] for x in e.pout],
                          'self': [x['status'] for x in p.pout],
                          'pairs': [list(x) for x in e.pairs]}}))
        sys.exit(0)
    print(json.dumps({{'interrupted': False,
                      'status': [x['status'] for x in p.pout],
                      'pairs': [list(x) for x in pairs]}}))
''')


def test_ctrl_c_gives_partial_pout_then_resume(text_files, tmp_path):
    pkg = os.path.dirname(os.path.dirname(bmp.__file__))
    journal = str(tmp_path / 'journal')
    script = tmp_path / 'run.py'
    script.write_text(INTERRUPTED.format(pkg=pkg, names=text_files,
                                         outdir=str(tmp_path),
                                         journal=journal))
    proc = subprocess.Popen([sys.executable, str(script)],
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=sigint_at_default)
    # Items 0, 1 and 2 finish; 3 and 4 sleep.  Interrupt once the
    # journal holds the three.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if os.path.exists(journal) and len(bmp.read_pout(journal)) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    got = json.loads(out)
    assert got['interrupted']
    assert got['status'][:3] == ['ok'] * 3
    assert set(got['status'][3:]) <= {'not_run', 'failed', 'crashed'}
    assert got['self'] == got['status']
    assert got['pairs'][3][0] is None and 'error' in got['pairs'][3][1]

    env = dict(os.environ, FAST='1')
    out = subprocess.run([sys.executable, str(script)], env=env,
                         capture_output=True, text=True, timeout=120).stdout
    got = json.loads(out)
    assert not got['interrupted']
    assert got['status'] == ['ok'] * 5
    assert [os.path.basename(o) for o, m in got['pairs']] == \
        [f'f{i}_bmp.txt' for i in range(5)]
