"""Calibrating FITS images with astropy's CCDData in a BigMultiPipe.

Each raw image is read as a CCDData, has a master bias subtracted
(a keyword holding a CCDData: it reaches the workers through the fork,
never through pickle or JSON), is trimmed of bad frames by a
pre-process step, and is written with its header.  Each item returns a
few statistics as metadata.  One input is not a FITS file: its item
fails with the reason in the pout, and every other image is done.
"""
import os
import sys
import warnings
from tempfile import TemporaryDirectory

import numpy as np
from astropy.nddata import CCDData

from bigmultipipe import BigMultiPipe, PipelineWarning, prune_pout


class CCDMultiPipe(BigMultiPipe):
    def file_read(self, in_name, **kwargs):
        return CCDData.read(in_name)

    def file_write(self, data, outname, overwrite=False, **kwargs):
        data.write(outname, overwrite=bool(overwrite))
        return outname

    def data_process(self, data, master_bias=None, **kwargs):
        # CCDData arithmetic keeps the header and the unit.
        data = data.subtract(master_bias, handle_meta='first_found')
        data.meta['BIASSUB'] = (True, 'master bias subtracted')
        return data


def reject_saturated(ccd, saturation=None, **kwargs):
    """Pre-process step: a frame with saturated pixels is rejected."""
    if saturation is not None and np.max(ccd.data) >= saturation:
        return None
    return ccd


def stats(ccd, bmp_meta=None, **kwargs):
    """Post-process step: plain numbers, units kept apart (JSON meta)."""
    bmp_meta['median'] = float(np.median(ccd.data))
    bmp_meta['std'] = float(np.std(ccd.data))
    bmp_meta['unit'] = str(ccd.unit)
    bmp_meta['exptime'] = ccd.meta.get('EXPTIME')
    return ccd


def main():
    with TemporaryDirectory() as d:
        rng = np.random.default_rng(1)
        bias = CCDData(np.full((64, 64), 100.0), unit='adu')
        in_names = []
        for i in range(6):
            level = 1000.0 * (i + 1) if i != 4 else 70000.0
            img = CCDData(level + 100 + rng.normal(0, 5, (64, 64)),
                          unit='adu', meta={'EXPTIME': 10.0 * (i + 1)})
            name = os.path.join(d, f'raw_{i}.fits')
            img.write(name)
            in_names.append(name)
        broken = os.path.join(d, 'raw_broken.fits')
        with open(broken, 'w') as f:
            f.write('not a FITS file\n')
        in_names.append(broken)

        pipe = CCDMultiPipe(outdir=os.path.join(d, 'reduced'),
                            create_outdir=True, overwrite=True,
                            master_bias=bias,
                            pre_process_list=[reject_saturated],
                            post_process_list=[stats])
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', PipelineWarning)
            pout = pipe.pipeline(in_names, saturation=65000)
        pruned, pruned_names = prune_pout(pout, in_names)
        for in_name, (outname, meta) in zip(pruned_names, pruned):
            if outname is None:
                print(f'{os.path.basename(in_name)}: failed: '
                      f'{meta["error"][0]}')
                continue
            print(f'{os.path.basename(in_name)} -> '
                  f'{os.path.basename(outname)}: median '
                  f'{meta["median"]:.0f} {meta["unit"]}, '
                  f'exptime {meta["exptime"]:.0f} s')
            reduced = CCDData.read(outname)
            assert reduced.header['BIASSUB'] is True
        print('status:', ' '.join(e['status'] for e in pipe.pout))
        return 0


if __name__ == '__main__':
    sys.exit(main())
