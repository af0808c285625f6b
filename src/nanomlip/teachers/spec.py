"""Teacher spec strings: one string names a teacher family, model and task.

========================================  =====================================
Spec                                      Teacher
========================================  =====================================
``sevennet:7net-0``                       SevenNet-0 shipped in ``sevenn``
``sevennet:7net-mf-0@PBE``                multi-task SevenNet, task ``PBE``
``sevennet:/path/checkpoint.pth@mpa``     any SevenNet checkpoint (e.g. Omni)
``chgnet:0.3.0``                          CHGNet shipped in ``chgnet``
``mace:/path/to/model``                   a MACE model file
``ase:ase.calculators.emt:EMT``           any ASE calculator class
``nanomlip:/path/student.safetensors``    a nanomlip student
========================================  =====================================

The MD drivers of a labelling run (``md_driver``, ``fast_driver``) are ``none``,
``teacher`` or one of these specs, resolved the same way (:func:`calculator_factory`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator

from nanomlip.teachers.base import Label, Teacher, TeacherError

#: Labels many structures at once (:meth:`Teacher.label`): what batched relaxations call.
Labeler = Callable[[Sequence[Atoms]], list[Label]]

#: Teacher family -> module whose ``load(spec, model, task, device, **options)`` builds it.
#: Modules are imported only when their family is asked for (their packages are heavy).
FAMILY_MODULES: dict[str, str] = {
    "sevennet": "nanomlip.teachers.sevennet",
    "chgnet": "nanomlip.teachers.chgnet",
    "mace": "nanomlip.teachers.mace",
    "ase": "nanomlip.teachers.ase_calculators",
    "nanomlip": "nanomlip.teachers.student",
}
FAMILIES = tuple(FAMILY_MODULES)


def split_spec(spec: str) -> tuple[str, str, str | None]:
    """Split ``family:model[@task]`` into its parts (no loading)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise TeacherError(
            f"teacher spec {spec!r} must look like FAMILY:MODEL[@TASK], with FAMILY one of "
            f"{list(FAMILIES)}; e.g. sevennet:7net-0 or sevennet:7net-mf-0@PBE"
        )
    family, _, rest = spec.partition(":")
    family = family.strip().lower()
    if family not in FAMILIES:
        raise TeacherError(f"unknown teacher family {family!r}; available: {list(FAMILIES)}")
    if not rest:
        raise TeacherError(f"teacher spec {spec!r} names no model after '{family}:'")
    task = None
    if family == "sevennet" and "@" in rest:
        rest, _, task = rest.rpartition("@")
        if not task:
            raise TeacherError(f"teacher spec {spec!r} has an empty task after '@'")
    return family, rest, task


def load_teacher(spec: str, device: str = "cpu", **options: Any) -> Teacher:
    """Resolve a spec string to a ready :class:`Teacher`.

    Args:
        spec: The spec (see the module table).
        device: Torch device for ML teachers.
        **options: Family-specific options (``ase``: calculator keyword arguments
            under ``calculator_options`` and ``elements``).

    Raises:
        TeacherError: Bad syntax, unknown family, model or task; the message lists
            what is available.
    """
    family, model, task = split_spec(spec)
    module = importlib.import_module(FAMILY_MODULES[family])
    return module.load(spec, model, task, device=device, **options)


#: Driver names that are not teacher specs: no driver, or the labelling run's own teacher.
DRIVER_KEYWORDS = ("none", "teacher")


def calculator_factory(
    driver: str, teacher: Teacher, option: str = "driver", device: str = "cpu"
) -> Callable[[], Calculator] | None:
    """Resolve an MD driver of a labelling run (``md_driver``, ``fast_driver``).

    A driver is ``none`` (no MD), ``teacher`` (the run's teacher) or any teacher spec
    (``nanomlip:nano-5.0``, ``sevennet:7net-0``, ...), loaded as :func:`load_teacher`
    loads teachers. Only the syntax is checked here; the model is loaded where the
    factory is first called (in the worker that makes the frames).

    Args:
        driver: The driver name.
        teacher: The labelling run's teacher.
        option: The command-line option named in error messages.
        device: Torch device of a driver loaded from a spec.

    Returns:
        A factory of the driver's ASE calculator, or ``None`` for ``none``.

    Raises:
        TeacherError: ``driver`` is neither a keyword nor a valid teacher spec.
    """
    if driver == "none":
        return None
    if driver == "teacher":
        return teacher.calculator
    try:
        split_spec(driver)
    except TeacherError as error:
        raise TeacherError(
            f"unknown {option} {driver!r}; use teacher, none or a teacher spec such as "
            f"nanomlip:MODEL ({error})"
        ) from error
    return functools.partial(_spec_calculator, driver, device)


def _spec_calculator(spec: str, device: str) -> Calculator:
    return load_teacher(spec, device=device).calculator()


def labeler_factory(
    driver: str, teacher: Teacher, option: str = "driver", device: str = "cpu"
) -> Callable[[], Labeler] | None:
    """The batched counterpart of :func:`calculator_factory`: a factory of ``driver``'s labeler.

    Batched relaxations (the ``corpus`` sampler's) call the labeler once per optimiser step
    for all the structures they move, where the calculator would be called once per
    structure. ``none`` gives ``None``; the checks are :func:`calculator_factory`'s.
    """
    if calculator_factory(driver, teacher, option, device) is None:
        return None
    if driver == "teacher":
        return lambda: teacher.label
    return functools.partial(_spec_labeler, driver, device)


def _spec_labeler(spec: str, device: str) -> Labeler:
    return load_teacher(spec, device=device).label
