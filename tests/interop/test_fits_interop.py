"""FITS interoperability: astropy reads what the library writes, and the
library reads what astropy writes.

fits_tool (built from fits_tool.c, found in $BMP_TOOL_DIR) writes the known
image described in fits_tool.c and dumps files as JSON.  Every case is run;
the script prints one line per failure and a final "N passed, M failed",
and exits non-zero if any case failed.
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import traceback
import warnings

import numpy as np
from astropy.io import fits

TOOL = os.path.join(os.environ.get("BMP_TOOL_DIR", "."), "fits_tool")
SHAPE = (2, 3, 4)
INT_TYPES = ["int8", "int16", "int32", "int64",
             "uint8", "uint16", "uint32", "uint64"]
FLOAT_TYPES = ["float32", "float64"]
# BITPIX and BZERO the FITS conventions give each dtype.
LAYOUT = {
    "uint8": (8, None), "int8": (8, -128),
    "int16": (16, None), "uint16": (16, 32768),
    "int32": (32, None), "uint32": (32, 2**31),
    "int64": (64, None), "uint64": (64, 2**63),
    "float32": (-32, None), "float64": (-64, None),
    "bool": (8, None),
}

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class Mismatch(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Mismatch(what)


def tool(*args, ok=True):
    proc = subprocess.run([TOOL, *map(str, args)], capture_output=True,
                          text=True, timeout=60)
    out = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if ok and proc.returncode != 0:
        raise Mismatch(f"fits_tool {' '.join(map(str, args))} failed "
                       f"({proc.returncode}): {proc.stdout} {proc.stderr}")
    if not ok and proc.returncode != 2:
        raise Mismatch(f"fits_tool {' '.join(map(str, args))} should fail, "
                       f"got {proc.returncode}: {proc.stdout[:200]}")
    return out


def known_image(dtype):
    """The image fits_tool writes for `dtype` (see fits_tool.c)."""
    n = int(np.prod(SHAPE))
    i = np.arange(n)
    if dtype == "bool":
        return (i % 3 == 0).reshape(SHAPE)
    if dtype in INT_TYPES:
        info = np.iinfo(dtype)
        lo, hi = int(info.min), int(info.max)
        step = (hi - lo) // (n - 1)
        vals = [lo + step * k for k in range(n - 1)] + [hi]
        return np.array(vals, dtype=dtype).reshape(SHAPE)
    vals = ((i - 11.5) * 1250 / 7).astype("float64")
    info = np.finfo(dtype)
    special = {1: np.nan, 2: np.inf, 3: -0.0,
               4: float(info.smallest_subnormal), 5: float(info.max)}
    out = vals.astype(dtype)
    for k, v in special.items():
        out[k] = v
    return out.reshape(SHAPE)


def scaled_stored(bitpix):
    i = np.arange(int(np.prod(SHAPE)))
    return (i * 10 if bitpix == 8 else i * 100 - 1150).reshape(SHAPE)


def same_values(a, b):
    """Equal element by element, NaN equal to NaN, and the sign of zero
    kept."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        af = a.astype("float64").ravel()
        bf = b.astype("float64").ravel()
        for x, y in zip(af, bf):
            if math.isnan(x) or math.isnan(y):
                if not (math.isnan(x) and math.isnan(y)):
                    return False
            elif x != y or math.copysign(1, x) != math.copysign(1, y):
                return False
        return True
    return [int(x) for x in a.ravel()] == [int(x) for x in b.ravel()]


def check_known_cards(h):
    """The cards fits_tool writes, as astropy sees them."""
    longstr = "".join(chr(ord("A") + k % 26) for k in range(120))
    longstr = longstr[:100] + "it's the end here.."
    expect(h["OBJECT"] == "M31", f"OBJECT {h['OBJECT']!r}")
    expect(h.comments["OBJECT"] == "target", "OBJECT comment")
    expect(h["EXPTIME"] == 30.5 and isinstance(h["EXPTIME"], float), "EXPTIME")
    expect(h.comments["EXPTIME"] == "seconds", "EXPTIME comment")
    expect(h["TENTH"] == 0.1, f"TENTH {h['TENTH']!r}")
    expect(h["HUGE"] == 1e300, f"HUGE {h['HUGE']!r}")
    expect(h["NCOMBINE"] == 7 and isinstance(h["NCOMBINE"], int), "NCOMBINE")
    expect(h["BIGINT"] == 9007199254740993, f"BIGINT {h['BIGINT']!r}")
    expect(h["FLAG"] is True and h["OFFVAL"] is False, "FLAG/OFFVAL")
    expect(h["LONGSTR"] == longstr, f"LONGSTR {h['LONGSTR']!r}")
    expect(isinstance(h.cards["UNDEF"].value, fits.card.Undefined), "UNDEF")
    expect(h.comments["UNDEF"] == "unknown", "UNDEF comment")
    expect(h["CPLX"] == complex(1.5, -2.0), f"CPLX {h['CPLX']!r}")
    expect(h["ESO DET CHIP NO"] == 3, "HIERARCH ESO DET CHIP NO")
    expect(list(h["COMMENT"]) == ["first comment"], f"COMMENT {h['COMMENT']}")
    expect(list(h["HISTORY"]) == ["processed"], "HISTORY")
    expect("blank text" in [c.value for c in h.cards if c.keyword == ""],
           "blank card")


def read_astropy(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a non-standard file would warn
        with fits.open(path, **kw) as hdul:
            hdu = hdul[0]
            return hdu.data.copy(), hdu.header.copy()


# ---------------------------------------------------------------------------
# The library writes, astropy reads


def make_write_case(dtype):
    def fn(tmp):
        path = os.path.join(tmp, f"w_{dtype}.fits")
        tool("write", dtype, path)
        data, h = read_astropy(path)
        expect_dtype = "uint8" if dtype == "bool" else dtype
        expect(data.dtype.name == expect_dtype,
               f"dtype {data.dtype} != {expect_dtype}")
        expect(data.shape == SHAPE, f"shape {data.shape}")
        expect(same_values(data, known_image(dtype)), "values differ")
        bitpix, bzero = LAYOUT[dtype]
        with fits.open(path, do_not_scale_image_data=True) as hdul:
            raw = hdul[0].header
            expect(raw["BITPIX"] == bitpix, f"BITPIX {raw['BITPIX']}")
            expect(raw.get("BZERO") == bzero, f"BZERO {raw.get('BZERO')}")
        check_known_cards(h)
    fn.__name__ = f"library_writes_{dtype}"
    return fn


for _d in INT_TYPES + FLOAT_TYPES + ["bool"]:
    case(make_write_case(_d))


@case
def library_writes_fortran_and_swapped(tmp):
    for dtype in ["int16", "float64", "uint32"]:
        for opts in (["--fortran"], ["--swapped"], ["--fortran", "--swapped"]):
            path = os.path.join(tmp, f"o_{dtype}.fits")
            tool("write", dtype, path, *opts)
            data, _ = read_astropy(path)
            expect(same_values(data, known_image(dtype)),
                   f"{dtype} {opts}: values differ")


@case
def library_writes_scaled(tmp):
    for bitpix, bscale, bzero, dtype in [(8, 2.0, 10.0, "float32"),
                                         (16, 0.5, 100.0, "float32"),
                                         (32, 1e-3, -5.0, "float64"),
                                         (64, 3.0, 0.0, "float64")]:
        path = os.path.join(tmp, f"s{bitpix}.fits")
        tool("write", "float64", path, "--scaled", bitpix, bscale, bzero)
        stored = scaled_stored(bitpix)
        with fits.open(path, do_not_scale_image_data=True) as hdul:
            raw = hdul[0]
            expect(raw.header["BITPIX"] == bitpix, f"BITPIX {bitpix}")
            expect(raw.header["BSCALE"] == bscale, f"BSCALE {bscale}")
            expect(raw.header["BZERO"] == bzero, f"BZERO {bzero}")
            expect(same_values(raw.data, stored), f"stored values {bitpix}")
        data, _ = read_astropy(path)
        expect(data.dtype.name == dtype, f"scaled dtype {data.dtype}")
        expect(np.allclose(data, bzero + bscale * stored, rtol=1e-6),
               f"scaled values {bitpix}")
        # ... and the library agrees with astropy on the scaled values.
        dump = tool("dump", path)
        expect(dump["dtype"] == dtype, f"library dtype {dump['dtype']}")
        expect(np.allclose(np.array(dump["data"]).reshape(SHAPE), data,
                           rtol=1e-6), "library scaled values")


@case
def library_writes_checksum(tmp):
    path = os.path.join(tmp, "sum.fits")
    tool("write", "int32", path, "--checksum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            expect(hdul[0].verify_checksum() == 1, "CHECKSUM")
            expect(hdul[0].verify_datasum() == 1, "DATASUM")


# ---------------------------------------------------------------------------
# astropy writes, the library reads


def dump_array(d):
    return np.array(d["data"], dtype=d["dtype"]).reshape(d["shape"])


def make_read_case(dtype):
    def fn(tmp):
        path = os.path.join(tmp, f"r_{dtype}.fits")
        data = known_image(dtype)
        fits.PrimaryHDU(data).writeto(path)
        d = tool("dump", path)
        expect(d["dtype"] == dtype, f"dtype {d['dtype']} != {dtype}")
        expect(tuple(d["shape"]) == SHAPE, f"shape {d['shape']}")
        expect(same_values(dump_array(d), data), "values differ")
    fn.__name__ = f"library_reads_astropy_{dtype}"
    return fn


for _d in INT_TYPES + FLOAT_TYPES:
    case(make_read_case(_d))


def make_mef(path):
    sci1 = np.arange(12, dtype=">i2").reshape(3, 4)
    sci2 = sci1 * 2
    dq = np.arange(6, dtype="u1").reshape(2, 3)
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name="X", format="E", array=np.arange(3.0))], name="TAB")
    fits.HDUList([fits.PrimaryHDU(), table,
                  fits.ImageHDU(sci1, name="SCI", ver=1),
                  fits.ImageHDU(sci2, name="SCI", ver=2),
                  fits.ImageHDU(dq, name="DQ")]).writeto(path)
    return sci1, sci2, dq


@case
def library_reads_extensions_by_index_and_name(tmp):
    path = os.path.join(tmp, "mef.fits")
    sci1, sci2, dq = make_mef(path)
    for hdu, want in [(None, sci1), ("2", sci1), ("SCI", sci1),
                      ("sci,2", sci2), ("3", sci2), ("DQ", dq), ("4", dq)]:
        d = tool("dump", path, *([hdu] if hdu else []))
        expect(same_values(dump_array(d), want), f"HDU {hdu}: values")
        expect(d["dtype"] == want.dtype.name, f"HDU {hdu}: dtype")
    h = tool("header", path, "TAB")["header"]
    expect([c["value"] for c in h if c["key"] == "TTYPE1"] == ["X"],
           "table header")


@case
def library_errors_on_astropy_files(tmp):
    path = os.path.join(tmp, "mef.fits")
    make_mef(path)
    e = tool("dump", path, "1", ok=False)
    expect(e["error"] == "BMP_EUNSUPPORTED", e)
    expect("HDU 1 ('TAB')" in e["message"] and "binary table" in e["message"],
           e["message"])
    expect(e["source"] == path and e["stage"] == "read", e)
    e = tool("dump", path, "7", ok=False)
    expect(e["error"] == "BMP_EFITS" and "has no HDU 7" in e["message"], e)
    e = tool("dump", path, "NOPE", ok=False)
    expect(e["error"] == "BMP_EFITS" and "named 'NOPE'" in e["message"], e)

    text = os.path.join(tmp, "notes.txt")
    with open(text, "w") as f:
        f.write("not a FITS file at all\n" * 300)
    e = tool("dump", text, ok=False)
    expect(e["error"] == "BMP_EFORMAT" and "not a FITS file" in e["message"]
           and "cfitsio" in e["message"], e)

    cut = os.path.join(tmp, "cut.fits")
    fits.PrimaryHDU(np.zeros((100, 100))).writeto(cut)
    with open(cut, "r+b") as f:
        f.truncate(2880 * 3)
    e = tool("dump", cut, ok=False)
    expect(e["error"] == "BMP_EFORMAT" and "truncated" in e["message"], e)


@case
def library_reads_astropy_scaled(tmp):
    rng = np.random.default_rng(5)
    for dtype, bitpix in [("int16", 16), ("int32", 32), ("uint8", 8)]:
        path = os.path.join(tmp, f"sc_{dtype}.fits")
        hdu = fits.PrimaryHDU(rng.uniform(-50, 50, (5, 7)))
        hdu.scale(dtype, bscale=0.25, bzero=3.5 if dtype != "uint8" else -40)
        hdu.writeto(path)
        with fits.open(path) as hdul:
            want = hdul[0].data.copy()
            expect(hdul[0]._orig_bitpix == bitpix, "astropy BITPIX")
        d = tool("dump", path)
        expect(d["dtype"] == want.dtype.name, f"{dtype}: dtype {d['dtype']} "
               f"!= astropy's {want.dtype}")
        expect(np.allclose(dump_array(d), want, rtol=1e-6, atol=0),
               f"{dtype}: values")

    # BLANK: blank pixels of an integer image are NaN in both.
    path = os.path.join(tmp, "blank.fits")
    hdu = fits.PrimaryHDU(np.array([[-32768, 5], [7, -32768]], dtype="i2"))
    hdu.header["BLANK"] = -32768
    hdu.writeto(path)
    with fits.open(path) as hdul:
        want = hdul[0].data.copy()
    d = tool("dump", path)
    expect(d["dtype"] == want.dtype.name, f"BLANK dtype {d['dtype']}")
    expect(same_values(dump_array(d), want), "BLANK values")


def as_json_value(v):
    if isinstance(v, fits.card.Undefined):
        return None
    if isinstance(v, complex):
        return [v.real, v.imag]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    return v


@case
def library_reads_astropy_header_cards(tmp):
    path = os.path.join(tmp, "cards.fits")
    h = fits.Header()
    h["OBJECT"] = ("NGC 1275", "target")
    h["EXPTIME"] = (1.5, "seconds")
    h["TENTH"] = 0.1
    h["NCOMBINE"] = 3
    h["FLAG"] = True
    h["OFF"] = False
    h["HIERARCH ESO DET CHIP NAME"] = "CCD-44"
    h["LONGSTR"] = ("x" * 90 + "it's" + "y" * 30, "a long one")
    h["UNDEF"] = None
    h["CPLX"] = 1 + 2j
    h["BIGR"] = 1.0e300
    h["NEG"] = -7
    h["QUOTE"] = "O'Brien"
    h["COMMENT"] = "a comment"
    h["HISTORY"] = "a history"
    h[""] = "blank keyword card"
    h.append(fits.Card.fromstring("DEXP    =              1.5D+03 / D exponent"))
    fits.PrimaryHDU(np.zeros((2, 2), dtype="f4"), header=h).writeto(path)
    with fits.open(path) as hdul:
        want = hdul[0].header
        d = tool("dump", path)
        got = d["header"]
        expect(len(got) == len(want.cards),
               f"{len(got)} cards, astropy has {len(want.cards)}")
        for g, c in zip(got, want.cards):
            expect(g["key"] == c.keyword, f"key {g['key']} != {c.keyword}")
            wv = as_json_value(c.value)
            if isinstance(wv, float):
                ok = isinstance(g["value"], float) and g["value"] == wv
            else:
                ok = g["value"] == wv and type(g["value"]) is type(wv)
            expect(ok, f"{c.keyword}: value {g['value']!r} != {wv!r}")
            expect(g["comment"] == c.comment,
                   f"{c.keyword}: comment {g['comment']!r} != {c.comment!r}")


@case
def library_reads_compressed_and_gzip(tmp):
    data = (np.arange(200, dtype="i4") ** 2 - 5000).reshape(10, 20)
    path = os.path.join(tmp, "comp.fits")
    fits.HDUList([fits.PrimaryHDU(),
                  fits.CompImageHDU(data, name="COMP")]).writeto(path)
    d = tool("dump", path)
    expect(d["dtype"] == "int32" and same_values(dump_array(d), data),
           "compressed image")
    gz = os.path.join(tmp, "plain.fits.gz")
    fits.PrimaryHDU(data.astype("f8") / 3).writeto(gz)
    d = tool("dump", gz)
    expect(d["dtype"] == "float64" and
           same_values(dump_array(d), data.astype("f8") / 3), "gzip file")


# ---------------------------------------------------------------------------
# Tile-compressed images as astropy writes them


def astropy_image_cards(hdu):
    """astropy's header of an HDU as (key, value) pairs, values as the
    library gives them in JSON.  Read before the data: astropy removes
    BSCALE and BZERO from the header once it has scaled the data."""
    return [(c.keyword, as_json_value(c.value)) for c in hdu.header.cards]


def same_cards(got, want, what):
    got = [(c["key"], c["value"]) for c in got]
    expect(len(got) == len(want),
           f"{what}: {len(got)} cards, astropy has {len(want)}: "
           f"{[k for k, _ in got]} vs {[k for k, _ in want]}")
    for (gk, gv), (wk, wv) in zip(got, want):
        expect(gk == wk, f"{what}: key {gk} != {wk}")
        expect(gv == wv or (isinstance(wv, float) and
                            math.isclose(gv, wv, rel_tol=1e-15)),
               f"{what}: {gk} = {gv!r}, astropy {wv!r}")


def compressed_cases():
    """(name, data, compression, scale) for every BITPIX astropy can
    compress, with and without BZERO/BSCALE."""
    rng = np.random.default_rng(15)
    out = []
    for dtype in ["uint8", "int8", "int16", "uint16", "int32", "uint32"]:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, (9, 13), dtype=dtype,
                            endpoint=True)
        data.flat[0], data.flat[-1] = info.min, info.max
        for comp in ["RICE_1", "GZIP_1", "GZIP_2"]:
            out.append((f"{dtype}_{comp}", data, comp, None))
    frame = rng.integers(0, 65535, (16, 16), dtype="uint16")
    out.append(("uint16_HCOMPRESS_1", frame, "HCOMPRESS_1", None))
    out.append(("uint8_PLIO_1", frame.astype("uint8"), "PLIO_1", None))
    for dtype in ["float32", "float64"]:
        data = rng.normal(1000, 30, (9, 13)).astype(dtype)
        data.flat[3] = np.nan
        out.append((f"{dtype}_RICE_1_quantized", data, "RICE_1", None))
        out.append((f"{dtype}_GZIP_2", data, "GZIP_2", None))
    real = rng.uniform(-50, 50, (9, 13))
    for stored, bzero in [("int16", 3.5), ("int32", -5.0), ("uint8", -40.0)]:
        out.append((f"scaled_{stored}", real, "RICE_1", (stored, 0.25, bzero)))
    return out


@case
def library_reads_astropy_compressed_every_bitpix(tmp):
    h = fits.Header()
    h["OBJECT"] = ("M51", "target")
    h["EXPTIME"] = 30.0
    h["COMMENT"] = "a comment"
    h["HISTORY"] = ""
    for name, data, comp, scale in compressed_cases():
        path = os.path.join(tmp, f"{name}.fits")
        kw = {"quantize_level": 16} if data.dtype.kind == "f" else {}
        hdu = fits.CompImageHDU(data.copy(), header=h.copy(), name="SCI",
                                compression_type=comp, **kw)
        if scale:
            hdu.scale(scale[0], bscale=scale[1], bzero=scale[2])
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
        with fits.open(path) as hdul:
            want_cards = astropy_image_cards(hdul[1])
            want = hdul[1].data.copy()
        for hdu_sel in [None, "SCI", "1"]:
            d = tool("dump", path, *([hdu_sel] if hdu_sel else []))
            got = dump_array(d)
            # astropy reads a compressed int8 image (BZERO -128) as float32,
            # its uncompressed twin as int8; the library gives int8 both.
            want_dtype = ("int8" if name.startswith("int8")
                          else want.dtype.name)
            expect(d["dtype"] == want_dtype,
                   f"{name}: dtype {d['dtype']}, astropy {want.dtype}")
            expect(same_values(got, want), f"{name}: values differ")
            same_cards(d["header"], want_cards, name)
        raw = tool("header", path, "1")["header"]
        expect(not any(c["key"] in ("SIMPLE", "EXTEND", "ZIMAGE", "TFIELDS")
                       for c in raw), f"{name}: table or invented cards")


# ---------------------------------------------------------------------------
# The library writes tile-compressed images, astropy reads them


def make_compressed_write_case(dtype):
    def fn(tmp):
        path = os.path.join(tmp, f"z_{dtype}.fits")
        tool("write", dtype, path, "--compress")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(path) as hdul:
                expect(len(hdul) == 2, f"{len(hdul)} HDUs")
                expect(hdul[0].data is None, "primary HDU has data")
                expect(list(hdul[0].header.keys()) ==
                       ["SIMPLE", "BITPIX", "NAXIS", "EXTEND"],
                       f"primary header {list(hdul[0].header.keys())}")
                hdu = hdul[1]
                expect(isinstance(hdu, fits.CompImageHDU), type(hdu).__name__)
                h = hdu.header.copy()
                expect("SIMPLE" not in hdu.header and
                       hdu.header["XTENSION"] == "IMAGE", "image extension")
                data = hdu.data.copy()
            with fits.open(path, disable_image_compression=True) as raw:
                ctype = raw[1].header["ZCMPTYPE"]
        want_type = "GZIP_2" if dtype.startswith("float") else "RICE_1"
        expect(ctype == want_type, f"ZCMPTYPE {ctype}")
        # astropy reads a compressed int8 image as float32, same values.
        if dtype != "int8":
            expect_dtype = "uint8" if dtype == "bool" else dtype
            expect(data.dtype.name == expect_dtype, f"dtype {data.dtype}")
        expect(same_values(data, known_image(dtype)), "values differ")
        check_known_cards(h)
    fn.__name__ = f"library_writes_compressed_{dtype}"
    return fn


for _d in ["uint8", "int8", "int16", "uint16", "int32", "uint32",
           "float32", "float64", "bool"]:
    case(make_compressed_write_case(_d))


@case
def library_refuses_compressed_64_bit(tmp):
    for dtype in ["int64", "uint64"]:
        path = os.path.join(tmp, f"z_{dtype}.fits")
        e = tool("write", dtype, path, "--compress", ok=False)
        expect(e["error"] == "BMP_EUNSUPPORTED", e)
        expect(not os.path.exists(path), "a file was left")


# ---------------------------------------------------------------------------
# Headers: astropy's cards come back from a copy, none added, none lost


STRUCTURAL = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2",
              "EXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "CHECKSUM",
              "DATASUM"}


def user_cards(header):
    return [(c.keyword, as_json_value(c.value), c.comment)
            for c in header.cards if c.keyword not in STRUCTURAL]


def write_raw_fits(path, cards, data):
    """A primary HDU from card images as given: astropy's Header API would
    drop blank cards (it treats those at the end as padding when it
    writes), and this header is about them."""
    text = "".join(c.ljust(80)[:80] for c in cards + ["END"])
    text += " " * (-len(text) % 2880)
    raw = data.astype(">i2").tobytes()
    raw += b"\0" * (-len(raw) % 2880)
    with open(path, "wb") as f:
        f.write(text.encode("ascii") + raw)


COMMENTARY_CARDS = [
    "SIMPLE  =                    T",
    "BITPIX  =                   16",
    "NAXIS   =                    2",
    "NAXIS1  =                    3",
    "NAXIS2  =                    2",
    "OBJECT  = 'NGC 1275'           / target",
    "COMMENT first comment",
    "HISTORY",
    "",
    "COMMENT",
    "           indented blank-key text",
    "EXPTIME =                 12.5 / s",
    "HIERARCH ESO DET CHIP NAME = 'CCD-44'",
    "LONGSTR = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx&'",
    "CONTINUE  'it''s the end&'",
    "CONTINUE  '' / a long one",
    "HISTORY reduced",
    "",
    "",
]


@case
def astropy_reads_back_the_cards_written(tmp):
    src = os.path.join(tmp, "src.fits")
    write_raw_fits(src, COMMENTARY_CARDS, np.arange(6).reshape(2, 3))
    with fits.open(src) as hdul:
        want = user_cards(hdul[0].header)
    expect([k for k, _, _ in want].count("") == 4, f"astropy reads {want}")
    for opts in ([], ["--checksum"], ["--compress"]):
        out = os.path.join(tmp, "out.fits")
        if os.path.exists(out):
            os.remove(out)
        tool("copy", out, *opts, f"{src}:-")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(out, checksum="--checksum" in opts) as hdul:
                hdu = hdul[-1]
                got = user_cards(hdu.header)
                expect(same_values(hdu.data, np.arange(6).reshape(2, 3)),
                       f"{opts}: values")
        expect(got == want, f"{opts}: cards differ:\n{got}\n{want}")
        # ... and the library reads the same cards again.
        d = tool("dump", out)
        lib = [(c["key"], c["value"], c["comment"]) for c in d["header"]
               if c["key"] not in STRUCTURAL]
        expect(lib == want, f"{opts}: library reads {lib}")


# ---------------------------------------------------------------------------
# CCDData: data, MASK and UNCERT


def make_ccddata(path):
    from astropy.nddata import CCDData, StdDevUncertainty
    rng = np.random.default_rng(3)
    data = rng.normal(1000, 20, (5, 7))
    mask = data > 1020
    unc = StdDevUncertainty(np.sqrt(np.abs(data)))
    meta = fits.Header()
    meta["EXPTIME"] = (30.0, "seconds")
    meta["HISTORY"] = "bias subtracted"
    ccd = CCDData(data, unit="adu", mask=mask, uncertainty=unc, meta=meta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ccd.write(path)
    return ccd


@case
def library_reads_and_writes_ccddata(tmp):
    from astropy.nddata import CCDData
    src = os.path.join(tmp, "ccd.fits")
    ccd = make_ccddata(src)
    with fits.open(src) as hdul:
        names = [h.name for h in hdul]
        expect(names == ["PRIMARY", "MASK", "UNCERT"], f"astropy: {names}")
        for sel, want in [("PRIMARY", hdul[0].data), ("MASK", hdul[1].data),
                          ("uncert", hdul[2].data), ("UNCERT, 1", hdul[2].data)]:
            d = tool("dump", src, sel)
            expect(d["dtype"] == want.dtype.name, f"{sel}: {d['dtype']}")
            expect(same_values(dump_array(d), want), f"{sel}: values")
    out = os.path.join(tmp, "copy.fits")
    tool("copy", out, f"{src}:PRIMARY", f"{src}:MASK", f"{src}:UNCERT")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CCDData warns about its own WCS
        back = CCDData.read(out)
    expect(back.unit == ccd.unit, f"unit {back.unit}")
    expect(same_values(back.data, ccd.data), "data")
    expect(back.mask is not None and (back.mask == ccd.mask).all(), "mask")
    expect(type(back.uncertainty).__name__ == "StdDevUncertainty",
           f"uncertainty {type(back.uncertainty).__name__}")
    expect(same_values(back.uncertainty.array, ccd.uncertainty.array),
           "uncertainty values")
    expect(back.meta["EXPTIME"] == 30.0, "meta EXPTIME")
    expect(list(back.meta["HISTORY"]) == ["bias subtracted"], "meta HISTORY")
    # Named by the library (EXTNAME given), astropy finds the same HDUs.
    out2 = os.path.join(tmp, "named.fits")
    tool("copy", out2, f"{src}:0", f"{src}:1=MASK", f"{src}:2=UNCERT")
    with fits.open(out2) as hdul:
        expect([h.name for h in hdul] == ["PRIMARY", "MASK", "UNCERT"],
               [h.name for h in hdul])


# ---------------------------------------------------------------------------
# Sections and dtypes, against numpy slicing of astropy's data


@case
def library_reads_sections_like_numpy(tmp):
    rng = np.random.default_rng(8)
    frame = rng.integers(0, 65535, (40, 30), dtype="uint16")
    plain = os.path.join(tmp, "frame.fits")
    comp = os.path.join(tmp, "frame_z.fits")
    fits.PrimaryHDU(frame).writeto(plain)
    fits.HDUList([fits.PrimaryHDU(),
                  fits.CompImageHDU(frame, tile_shape=(8, 30))]).writeto(comp)
    for path in (plain, comp):
        for ranges in [((3, 17), (5, 29)), ((0, 40), (0, 30)),
                       ((39, 40), (0, 1)), ((10, 10), (2, 4))]:
            args = [f"{a}:{b}" for a, b in ranges]
            want = frame[ranges[0][0]:ranges[0][1],
                         ranges[1][0]:ranges[1][1]]
            for dtype in ["auto", "float32", "int32"]:
                d = tool("section", path, "-", dtype, *args)
                expect(d["dtype"] == ("uint16" if dtype == "auto" else dtype),
                       f"{path} {args} {dtype}: dtype {d['dtype']}")
                expect(same_values(dump_array(d), want),
                       f"{path} {args} {dtype}: values")
        e = tool("section", path, "-", "int16", "0:40", "0:30", ok=False)
        expect(e["error"] == "BMP_EINVAL" and "do not fit" in e["message"], e)
        e = tool("section", path, "-", "auto", "0:41", "0:30", ok=False)
        expect(e["error"] == "BMP_EINVAL", e)


# ---------------------------------------------------------------------------
# astropy's own test files


# Where the library deliberately differs from astropy on these files.
BUNDLED_DIFFERENCES = {
    # Not standard FITS (NAXIS before BITPIX): astropy reads it with a
    # warning, cfitsio refuses it, and so does the library (BMP_EFORMAT).
    ("verify.fits", 0): "BMP_EFORMAT",
}


def bundled_files():
    import astropy
    folder = os.path.join(os.path.dirname(astropy.__file__), "io", "fits",
                          "tests", "data")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(".fits")) if os.path.isdir(folder) else []


def astropy_hdus(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            out = []
            for i, hdu in enumerate(hdul):
                cards = [(c.keyword, as_json_value(c.value))
                         for c in hdu.header.cards]
                image = (isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU,
                                          fits.CompImageHDU))
                         and not isinstance(hdu, fits.GroupsHDU))
                data = hdu.data.copy() if image and hdu.data is not None \
                    else None
                out.append((i, cards, data))
            return out


def close_enough(got, want):
    """Exact, except scaled reals: cfitsio scales in double and rounds to
    float32 once, astropy computes in float32, so the last bit may
    differ."""
    if got.dtype.kind == "f" and got.dtype == np.float32:
        return got.shape == want.shape and np.allclose(
            got, want, rtol=1e-6, atol=0, equal_nan=True)
    return same_values(got, want)


@case
def library_agrees_with_astropy_on_its_test_files(tmp):
    files = bundled_files()
    expect(files, "astropy's test files are not installed")
    checked = 0
    problems = []
    for path in files:
        name = os.path.basename(path)
        try:
            hdus = astropy_hdus(path)
        except Exception:
            continue  # astropy itself cannot read it: nothing to compare
        for i, cards, data in hdus:
            checked += 1
            known = BUNDLED_DIFFERENCES.get((name, i))
            h = tool("header", path, str(i), ok=known is None)
            if known:
                if h.get("error") != known:
                    problems.append(f"{name}[{i}]: expected {known}: {h}")
                continue
            got = [(c["key"], c["value"]) for c in h["header"]]
            if [k for k, _ in got] != [k for k, _ in cards]:
                problems.append(f"{name}[{i}]: keys differ")
            for (gk, gv), (wk, wv) in zip(got, cards):
                if gv != wv and not (isinstance(wv, float) and
                                     math.isclose(gv, wv, rel_tol=1e-12)):
                    problems.append(f"{name}[{i}] {gk}: {gv!r} != {wv!r}")
            if data is None:
                d = tool("dump", path, str(i), ok=False)
                if d.get("error") != "BMP_EUNSUPPORTED":
                    problems.append(f"{name}[{i}]: no image, got {d}")
                continue
            d = tool("dump", path, str(i))
            if d["dtype"] != data.dtype.name:
                problems.append(f"{name}[{i}]: dtype {d['dtype']} != "
                                f"{data.dtype}")
            elif not close_enough(dump_array(d), data):
                problems.append(f"{name}[{i}]: values differ")
    expect(not problems, "\n".join(problems))
    expect(checked >= 60, f"only {checked} HDUs checked")
    print(f"  astropy's test files: {checked} HDUs agree")


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"fits_tool not found at {TOOL}; set BMP_TOOL_DIR")
        return 2
    passed = failed = 0
    for fn in CASES:
        with tempfile.TemporaryDirectory(prefix="bmp-fits-") as tmp:
            try:
                fn(tmp)
                passed += 1
            except Mismatch as e:
                failed += 1
                print(f"FAIL {fn.__name__}: {e}")
            except Exception:
                failed += 1
                print(f"ERROR {fn.__name__}:")
                traceback.print_exc(file=sys.stdout)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
