# The seed documentation's second program: all code in the methods of a
# BigMultiPipe subclass.  Corrected slips of the documentation (see
# README.md): the np.save lines lost in its extraction, and the listing
# printing pruned_meta (the documentation printed `meta`, which this
# program never sets).
import os
from tempfile import TemporaryDirectory, TemporaryFile
import numpy as np
from bigmultipipe import BigMultiPipe, prune_pout
class DemoMultiPipe1(BigMultiPipe):
    def file_read(self, in_name, **kwargs):
        data = np.load(in_name)
        return data
    def file_write(self, data, outname, **kwargs):
        np.save(outname, data)
        return outname
    def data_process_meta_create(self, data,
                                 reject_value=None,
                                 boost_target=None,
                                 boost_amount=0,
                                 **kwargs):
        # Pre-processing steps
        if reject_value is not None:
            if data[0,0] == reject_value:
                return (None, {})
        if (boost_target is not None
            and data[0,0] == boost_target):
                flag_to_boost_later = True
        else:
            flag_to_boost_later = False
        # Processing step
        data = data * 10
        # Post-processing steps
        if flag_to_boost_later:
            data = data + boost_amount
        meta = {'median': np.median(data),
                'average': np.average(data)}
        return (data, meta)
# Write large files and process with DemoMultiPipe1
with TemporaryDirectory() as tmpdirname:
    in_names = []
    for i in range(10):
        outname = f'big_array_{i}.npy'
        outname = os.path.join(tmpdirname, outname)
        a = i + np.zeros((1000,2000))
        np.save(outname, a)
        in_names.append(outname)
    dmp = DemoMultiPipe1(boost_target=3, outdir=tmpdirname)
    pout = dmp.pipeline(in_names, reject_value=2,
                        boost_amount=5)
# Prune outname ``None`` and remove directory
pruned_pout, pruned_in_names = prune_pout(pout, in_names)
pruned_outnames, pruned_meta = zip(*pruned_pout)
pruned_outnames = [os.path.basename(f) for f in pruned_outnames]
pruned_in_names = [os.path.basename(f) for f in pruned_in_names]
pretty_print = zip(pruned_in_names, pruned_outnames, pruned_meta)
print(list(pretty_print))
