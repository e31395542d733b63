# The seed documentation's first program: the pipeline as a plain for loop.
# Corrected slips of the documentation (see README.md): the np.save lines
# lost in its extraction, the output name made by the `_bmp` rule, and the
# listing zipping only the input names that gave an output.
import os
from tempfile import TemporaryDirectory, TemporaryFile
import numpy as np
# Write some large files
with TemporaryDirectory() as tmpdirname:
    in_names = []
    for i in range(10):
        outname = f'big_array_{i}.npy'
        outname = os.path.join(tmpdirname, outname)
        a = i + np.zeros((1000,2000))
        np.save(outname, a)
        in_names.append(outname)
    # Process with traditional for loop
    reject_value = 2
    boost_target=3
    boost_amount=5
    outnames = []
    meta = []
    kept_in_names = []
    for f in in_names:
        # File read step
        data = np.load(f)
        # Pre-processing steps
        if data[0,0] == reject_value:
            continue
        if data[0,0] == boost_target:
            flag_to_boost_later = True
        else:
            flag_to_boost_later = False
        # Processing step
        data = data * 10
        # Post-processing steps
        if flag_to_boost_later:
            data = data + boost_amount
        meta.append({'median': np.median(data),
                     'average': np.average(data)})
        root, ext = os.path.splitext(f)
        outname = root + '_bmp' + ext
        np.save(outname, data)
        outnames.append(outname)
        kept_in_names.append(f)
    cleaned_innames = [os.path.basename(f) for f in kept_in_names]
    cleaned_outnames = [os.path.basename(f) for f in outnames]
    cleaned_pout = zip(cleaned_innames, cleaned_outnames, meta)
    print(list(cleaned_pout))
