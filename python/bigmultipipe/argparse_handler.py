"""argparse options for programs built on BigMultiPipe, as in 0.2.0.

``BMPArgparseMixin`` adds the options of SPEC.md's command-line
conventions to ``self.parser``: ``--outdir`` (default ``.``),
``--create_outdir`` / ``--no-create_outdir``, ``--read_pout``,
``--write_pout``, ``--outname_append``, ``--num_processes`` (0 = all
cores, below 1 = a fraction), ``--mem_available``, ``--mem_frac``
(default 0.8), ``--process_size``.  Sizes accept K, M, G and T
suffixes (powers of 1024).
"""

import argparse
import re

from .core import OUTNAME_APPEND

_SIZE = re.compile(r'\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*'
                   r'([kKmMgGtT]?)(?:i?[bB])?\s*$')
_SCALE = {'': 1, 'k': 2**10, 'm': 2**20, 'g': 2**30, 't': 2**40}


def size_type(text):
    """A size in bytes from ``'2G'``, ``'512M'``, ``'1.5e9'``..."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a size (a number, optionally followed by '
            'K, M, G or T)')
    value = float(m.group(1)) * _SCALE[m.group(2).lower()]
    if value < 0:
        raise argparse.ArgumentTypeError(f'{text!r}: a size cannot be '
                                         'negative')
    return value


def _num_processes_type(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') \
            from None
    if value < 0:
        raise argparse.ArgumentTypeError('num_processes cannot be negative')
    return value


class ArgparseHandler:
    """Holds an :class:`argparse.ArgumentParser`; subclasses and mixins
    add options to it in :meth:`add_all`."""

    def __init__(self, parser):
        self.parser = parser

    def add_all(self):
        """Add every option; override it to choose."""
        pass


class BMPArgparseMixin:
    """Adds the options relevant to :class:`~bigmultipipe.BigMultiPipe`
    to ``self.parser``.  Each ``add_*`` method takes ``option``,
    ``default`` and ``help`` to rename or retune its option."""

    outname_append = OUTNAME_APPEND

    def add_outdir(self, option='outdir', default='.',
                   help='Directory to which files will be written',
                   **kwargs):
        self.parser.add_argument('--' + option, default=default, help=help,
                                 **kwargs)

    def add_create_outdir(self, option='create_outdir', default=False,
                          help=None, **kwargs):
        if help is None:
            help = 'Create outdir'
        self.parser.add_argument('--' + option,
                                 action=argparse.BooleanOptionalAction,
                                 default=default, help=help, **kwargs)

    def add_read_pout(self, option='read_pout', default=False, help=None,
                      **kwargs):
        if help is None:
            help = 'Read pipeline output file'
        self.parser.add_argument('--' + option,
                                 action=argparse.BooleanOptionalAction,
                                 default=default, help=help, **kwargs)

    def add_write_pout(self, option='write_pout', default=False, help=None,
                       **kwargs):
        if help is None:
            help = 'Write pipeline output file'
        self.parser.add_argument('--' + option,
                                 action=argparse.BooleanOptionalAction,
                                 default=default, help=help, **kwargs)

    def add_outname_append(self, option='outname_append', default=None,
                           help=None, **kwargs):
        if default is None:
            default = self.outname_append
        if help is None:
            help = ('string to append to output files to prevent '
                    f'overwrite (default: {default})')
        self.parser.add_argument('--' + option, default=default, help=help,
                                 **kwargs)

    def add_num_processes(self, option='num_processes', default=0.8,
                          help=None, **kwargs):
        if help is None:
            help = ('number of subprocesses for parallelization; '
                    '0=all cores, <1 = fraction of total cores; '
                    f'(default={default})')
        self.parser.add_argument('--' + option, type=_num_processes_type,
                                 default=default, help=help, **kwargs)

    def add_mem_available(self, option='mem_available', default=None,
                          help=None, **kwargs):
        if help is None:
            help = ('memory in bytes all processes may use (K, M, G, T '
                    'suffixes); default: mem_frac of the memory available')
        self.parser.add_argument('--' + option, type=size_type,
                                 default=default, help=help, **kwargs)

    def add_mem_frac(self, option='mem_frac', default=0.8, help=None,
                     **kwargs):
        if help is None:
            help = ('maximum fraction of memory to be used; '
                    f'(default={default})')
        self.parser.add_argument('--' + option, type=float,
                                 default=default, help=help, **kwargs)

    def add_process_size(self, option='process_size', default=None,
                         help=None, **kwargs):
        if help is None:
            help = ('memory in bytes one process needs (K, M, G, T '
                    'suffixes); default: no limit')
        self.parser.add_argument('--' + option, type=size_type,
                                 default=default, help=help, **kwargs)

    def add_bmp_all(self):
        """Add every option above."""
        self.add_outdir()
        self.add_create_outdir()
        self.add_read_pout()
        self.add_write_pout()
        self.add_outname_append()
        self.add_num_processes()
        self.add_mem_available()
        self.add_mem_frac()
        self.add_process_size()
