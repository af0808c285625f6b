"""Training a student on labelled frames, and what builds on it.

Configuration, data set-up, schedule, run folder and the loop (``trainer``); evaluation
against the labels, fine-tuning on user data and specialisation by active selection.
Labelling itself is the ``labeling`` stage.
"""
