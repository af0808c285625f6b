"""Teachers: one adapter per model family behind a common :class:`Teacher` interface."""

from nanomlip.teachers.base import Label, Provenance, Teacher, TeacherError
from nanomlip.teachers.spec import (
    Labeler,
    calculator_factory,
    labeler_factory,
    load_teacher,
    split_spec,
)

__all__ = [
    "Label",
    "Labeler",
    "Provenance",
    "Teacher",
    "TeacherError",
    "calculator_factory",
    "labeler_factory",
    "load_teacher",
    "split_spec",
]
