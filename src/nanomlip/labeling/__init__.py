"""Labelling: a recipe's frames labelled by one teacher, in resumable chunks, in parallel.

Modules: ``rejection`` (limits on absurd labels), ``executor`` (chunk jobs in this
process, a process pool or Dask), ``workers`` (what a worker loads once, and the job
that labels one chunk), ``pipeline`` (:func:`run_labeling`: manifest, resume, report)
and ``hvp`` (teacher Hessian-vector products added to a labelled dataset).
"""

from nanomlip.labeling.hvp import HvpReport, label_hessian_vector_products
from nanomlip.labeling.pipeline import LabelingReport, run_labeling
from nanomlip.labeling.rejection import RejectionRules, rejection_reason

__all__ = [
    "HvpReport",
    "LabelingReport",
    "RejectionRules",
    "label_hessian_vector_products",
    "rejection_reason",
    "run_labeling",
]
