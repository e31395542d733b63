"""NumPy and this library's .npy reader and writer must agree.

NumPy writes files of every dtype, C and Fortran order, both byte orders
and format versions 1.0 (np.save), 2.0 and 3.0 (numpy.lib.format); the C
tool (npy_tool dump) must report the same dtype, shape, order and values.
The C tool writes files (npy_tool write) that np.load must read back as
equal arrays of the same dtype, byte for byte what np.save writes when
NumPy would choose the same memory order.  npy_tool copy must reproduce
NumPy's files exactly.  Files NumPy writes but this library does not
support must be refused with a clear message.

Run with an interpreter that has NumPy; BMP_TOOL_DIR names the directory
holding npy_tool.  Prints one line per failure and a final count.
"""
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from numpy.lib import format as npformat

TOOL = os.path.join(os.environ.get("BMP_TOOL_DIR", "."), "npy_tool")

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "float16", "float32", "float64", "complex64",
          "complex128"]
SHAPES = [(), (0,), (5,), (3, 4), (2, 3, 4), (2, 0, 3), (1,) * 31 + (2,)]

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def pattern(dtype, n):
    """The values npy_tool write produces, in storage order."""
    i = np.arange(n, dtype=np.uint64)
    kind = np.dtype(dtype).kind
    if kind == "b":
        return i % 3 == 0
    if kind in "iu":
        return (i * np.uint64(0x9E3779B97F4A7C15) + np.uint64(12345)).astype(dtype)
    if kind == "f":
        x = i.astype(np.float64) * 0.25 - 7.5
        with np.errstate(over="ignore"):  # float16 overflows to inf, as in C
            return np.where(i % 2 == 1, x * 1e10, x).astype(dtype)
    return (i * 0.5 + 1j * (-(i * 0.25) - 1)).astype(dtype)


def sample(dtype, n):
    """Values for NumPy-written files: the pattern with, for reals, NaN,
    negative zero and infinity mixed in."""
    v = pattern(dtype, n)
    if np.dtype(dtype).kind == "f" and n >= 4:
        v[1], v[2], v[3] = np.nan, -0.0, -np.inf
    if np.dtype(dtype).kind == "c" and n >= 3:
        v[2] = complex(np.nan, np.inf)
    return v


def same_real(text, value):
    got = float(text)
    value = float(value)
    if math.isnan(value):
        return math.isnan(got)
    return got == value and math.copysign(1, got) == math.copysign(1, value)


def same_value(text, value, kind):
    if kind == "b":
        return text == ("1" if value else "0")
    if kind in "iu":
        return text == str(int(value))
    if kind == "f":
        return same_real(text, value)
    return same_real(text[0], value.real) and same_real(text[1], value.imag)


def make(dtype, order, byteorder, shape, values=sample):
    """An array of the given layout whose storage order holds values()."""
    n = int(np.prod(shape)) if shape else 1
    flat = values(dtype, n)
    dt = np.dtype(dtype)
    if dt.itemsize > 1:
        dt = dt.newbyteorder(byteorder)
    return flat.astype(dt).reshape(shape, order=order)


def header_of(path):
    with open(path, "rb") as f:
        version = npformat.read_magic(f)
        shape, fortran, dtype = npformat._read_array_header(f, version)
    return shape, fortran, dtype


def numpy_to_c(tmp):
    """NumPy writes; npy_tool dump reads."""
    case = 0
    for dtype in DTYPES:
        for order in "CF":
            for byteorder in "<>":
                for shape in SHAPES:
                    for version in [None, (2, 0), (3, 0)]:
                        case += 1
                        arr = make(dtype, order, byteorder, shape)
                        path = os.path.join(tmp, "in.npy")
                        with open(path, "wb") as f:
                            if version is None:
                                np.save(f, arr)
                            else:
                                npformat.write_array(f, arr, version=version)
                        _, fortran, file_dtype = header_of(path)
                        opts = []
                        if case % 2:
                            opts.append("--mmap")
                        keep = case % 3 == 0
                        if keep:
                            opts.append("--keep-order")
                        what = f"dump {dtype} {order} {byteorder} {shape} v{version} {opts}"
                        r = run("dump", *opts, path)
                        if r.returncode != 0:
                            check(False, f"{what}: {r.stderr.strip()}")
                            continue
                        out = json.loads(r.stdout)
                        expect_order = file_dtype.byteorder
                        if file_dtype.itemsize == 1:
                            expect_order = "|"
                        elif not keep or expect_order == "=":
                            expect_order = "<" if sys.byteorder == "little" else ">"
                        storage = arr.ravel(order="F" if fortran else "C")
                        kind = np.dtype(dtype).kind
                        ok = (out["dtype"] == dtype
                              and out["byteorder"] == expect_order
                              and out["fortran_order"] == fortran
                              and tuple(out["shape"]) == shape
                              and len(out["values"]) == storage.size
                              and all(same_value(t, v, kind)
                                      for t, v in zip(out["values"], storage)))
                        check(ok, f"{what}: got {r.stdout[:300]}")


def c_to_numpy(tmp):
    """npy_tool write writes; np.load reads and np.save agrees."""
    for dtype in DTYPES:
        for order in "CF":
            for byteorder in "<>":
                for shape in SHAPES:
                    path = os.path.join(tmp, "out.npy")
                    if os.path.exists(path):
                        os.unlink(path)
                    what = f"write {dtype} {order} {byteorder} {shape}"
                    r = run("write", dtype, order, byteorder, path,
                            *[str(d) for d in shape])
                    if dtype == "float16":
                        check(r.returncode != 0 and "float16" in r.stderr
                              and not os.path.exists(path),
                              f"{what}: float16 writing must be refused")
                        continue
                    if r.returncode != 0:
                        check(False, f"{what}: {r.stderr.strip()}")
                        continue
                    expected = make(dtype, order, byteorder, shape, pattern)
                    got = np.load(path)
                    ok = (got.dtype == expected.dtype
                          and got.shape == shape
                          and np.array_equal(got, expected))
                    _, fortran, _ = header_of(path)
                    ok = ok and fortran == (order == "F")
                    # np.save writes Fortran order only for an array that is
                    # not also C-contiguous; compare bytes when it agrees.
                    numpy_fortran = (expected.flags.f_contiguous
                                     and not expected.flags.c_contiguous)
                    if numpy_fortran == (order == "F"):
                        buf = io.BytesIO()
                        np.save(buf, expected)
                        with open(path, "rb") as f:
                            ok = ok and f.read() == buf.getvalue()
                    check(ok, what)


def copies(tmp):
    """npy_tool copy reproduces np.save's bytes exactly."""
    for dtype in DTYPES:
        for order in "CF":
            for byteorder in "<>":
                for shape in [(), (7,), (3, 4), (2, 0, 3)]:
                    if dtype == "float16":
                        continue
                    arr = make(dtype, order, byteorder, shape)
                    src = os.path.join(tmp, "src.npy")
                    dst = os.path.join(tmp, "dst.npy")
                    np.save(src, arr)
                    opts = ["--mmap"] if len(shape) % 2 else []
                    r = run("copy", *opts, src, dst)
                    what = f"copy {dtype} {order} {byteorder} {shape}"
                    if r.returncode != 0:
                        check(False, f"{what}: {r.stderr.strip()}")
                        continue
                    with open(src, "rb") as a, open(dst, "rb") as b:
                        check(a.read() == b.read(), what)


def refusals(tmp):
    """Files NumPy writes that this library refuses, with their reasons."""
    cases = [
        ("structured", np.zeros(3, dtype=[("a", "<f8"), ("b", "<i4")]),
         "structured dtypes"),
        ("unicode", np.array(["ab", "cde"]), "string arrays"),
        ("bytes", np.array([b"ab", b"c"]), "string arrays"),
        ("object", np.array([1, "x", None], dtype=object), "object arrays"),
        ("datetime", np.array(["2020-01-01"], dtype="M8[D]"), "datetime"),
        ("longdouble", np.zeros(2, dtype=np.longdouble), "is not supported"),
    ]
    for name, arr, message in cases:
        path = os.path.join(tmp, name + ".npy")
        np.save(path, arr, allow_pickle=True)
        r = run("dump", path)
        check(r.returncode == 1 and message in r.stderr
              and path in r.stderr and "BMP_EUNSUPPORTED" in r.stderr,
              f"refuse {name}: rc {r.returncode}, {r.stderr.strip()}")
    # Truncated data: NumPy's own file, cut short.
    path = os.path.join(tmp, "cut.npy")
    np.save(path, np.arange(100.0))
    with open(path, "r+b") as f:
        f.truncate(128 + 799)
    r = run("dump", path)
    check(r.returncode == 1 and "data are truncated" in r.stderr,
          f"refuse truncated: {r.stderr.strip()}")


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"npy_tool not found at {TOOL}; set BMP_TOOL_DIR")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        numpy_to_c(tmp)
        c_to_numpy(tmp)
        copies(tmp)
        refusals(tmp)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
