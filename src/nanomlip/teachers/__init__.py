"""Teachers: one adapter per model family behind a common :class:`Teacher` interface."""

from nanomlip.teachers.base import Label, Provenance, Teacher, TeacherError
from nanomlip.teachers.spec import calculator_factory, load_teacher, split_spec

__all__ = [
    "Label",
    "Provenance",
    "Teacher",
    "TeacherError",
    "calculator_factory",
    "load_teacher",
    "split_spec",
]
