"""Names every stage agrees on, in a module that imports nothing (the CLI reads it cheaply).

``DEFAULT_MODEL`` is the registered name of the shipped default model: what
``NanoCalculator()``, ``nanomlip finetune`` and ``nanomlip specialize`` start from when no model
is named. Its architecture is the ``nano-5.0`` preset; ``nano-5.0``, ``nano-5.1`` and
``nano-5.2``, the previous defaults, stay registered beside it.
"""

DEFAULT_MODEL = "nano-5.3"
