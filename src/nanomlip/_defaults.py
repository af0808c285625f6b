"""Names every stage agrees on, in a module that imports nothing (the CLI reads it cheaply).

``DEFAULT_MODEL`` is the registered name of the shipped default model: what
``NanoCalculator()``, ``nanomlip finetune`` and ``nanomlip specialize`` start from when no model
is named. Its architecture is the ``nano-5.0`` preset with pair-dependent radial weights
(``species_pair_radial``); ``nano-5.0`` to ``nano-5.7``, the earlier defaults and candidates,
stay registered beside it.
"""

DEFAULT_MODEL = "nano-5.8"
