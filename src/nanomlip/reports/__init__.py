"""Reports that read the results of other stages: model cards and dataset datasheets.

They read eval, bench and training outputs; nothing in the package imports them except the
command line.
"""
