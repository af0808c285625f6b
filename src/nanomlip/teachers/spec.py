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
"""

from __future__ import annotations

from typing import Any

from nanomlip.teachers.base import Teacher, TeacherError

FAMILIES = ("sevennet", "chgnet", "mace", "ase", "nanomlip")


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
    if family == "sevennet":
        from nanomlip.teachers.sevennet import SevenNetTeacher

        return SevenNetTeacher(spec, model, task, device=device)
    if family == "chgnet":
        from nanomlip.teachers.others import CHGNetTeacher

        return CHGNetTeacher(spec, model, device=device)
    if family == "mace":
        from nanomlip.teachers.others import MACETeacher

        return MACETeacher(spec, model, device=device)
    if family == "ase":
        from nanomlip.teachers.others import ASETeacher

        return ASETeacher(spec, model, options.get("calculator_options"), options.get("elements"))
    from nanomlip.teachers.others import NanoTeacher

    return NanoTeacher(spec, model, device=device)
