"""The bigmultipipe Python package, on the C library of this repository.

Install from the repository's root, after `bash scripts/setup.sh`:

    python3 -m venv --system-site-packages VENV
    VENV/bin/pip install --no-build-isolation ./python

Nothing is downloaded: setuptools, wheel, cffi and NumPy come from the
system's packages.  The build compiles the C library's sources with the
cffi glue into one extension, bigmultipipe._bmp_cffi
(bigmultipipe/_build_engine.py; doc/python-engine.md).
"""
import os

from setuptools import setup
from setuptools.command.build_ext import build_ext


class ParallelBuildExt(build_ext):
    """Compiles the library's sources on every core."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1


setup(
    name="bigmultipipe",
    version="0.2.0+bmp",
    description="Parallel pipelines over many large files, on libbigmultipipe",
    packages=["bigmultipipe"],
    python_requires=">=3.9",
    install_requires=["cffi", "numpy"],
    cffi_modules=["bigmultipipe/_build_engine.py:ffibuilder"],
    cmdclass={"build_ext": ParallelBuildExt},
    zip_safe=False,
)
