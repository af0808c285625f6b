"""Choosing which MD frames the teacher labels: spot checks, a committee, or chance.

Every round of :mod:`nanomlip.distill.specialize` labels a few *fresh* frames drawn at
random from the candidates (the spot checks; they measure the error that decides when
to stop) and then ``count`` frames chosen by one of:

==============  =====================================================================
Method          Which frames
==============  =====================================================================
``spot``        from each MD condition (temperature, strain, pressure) in proportion
                to the force error the spot checks measured there, latest frames first:
                costs no model evaluations beyond the MD itself
``committee``   the largest force disagreement among committee members (students
                fine-tuned with different seeds in the round before), max over atoms;
                costs one force evaluation per candidate and member
``random``      uniformly at random (the baseline)
==============  =====================================================================

Which selects better is measured, not assumed: after labelling, the *selection gain*
is the mean force error of the selected frames over that of the random spot-check
frames (:func:`selection_gain`); above 1 the method finds frames the student gets
more wrong than chance does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from ase import Atoms

METHODS = ("spot", "committee", "random")

ForceModel = Callable[[Atoms], np.ndarray]


def spot_allocation(
    errors_by_condition: dict[int, list[float]], available: dict[int, int], count: int
) -> dict[int, int]:
    """How many frames to take from each condition, in proportion to its spot-check error.

    Conditions without a spot check get the mean error of the others. Every condition
    gets at most its number of available frames; what it cannot take goes to the rest.

    Args:
        errors_by_condition: Force MAE (meV/Å) of each spot-checked frame, per condition.
        available: Candidate frames per condition.
        count: Frames to take in all.

    Returns:
        Frames per condition (sums to ``min(count, sum(available))``).
    """
    measured = [float(np.mean(v)) for v in errors_by_condition.values() if v]
    fallback = float(np.mean(measured)) if measured else 1.0
    weight = {
        c: (float(np.mean(errors_by_condition[c])) if errors_by_condition.get(c) else fallback)
        for c in available
    }
    take = dict.fromkeys(available, 0)
    left = min(count, sum(available.values()))
    while left > 0:
        open_ = [c for c in available if take[c] < available[c]]
        total = sum(weight[c] for c in open_) or len(open_)
        shares = {c: left * (weight[c] or 1.0) / total for c in open_}
        order = sorted(open_, key=lambda c: -shares[c])
        for c in order:
            give = min(max(1, round(shares[c])), available[c] - take[c], left)
            take[c] += give
            left -= give
            if left == 0:
                break
    return take


def select_spot(
    conditions: Sequence[int],
    errors_by_condition: dict[int, list[float]],
    count: int,
    exclude: set[int],
) -> list[int]:
    """Candidate indices chosen by :func:`spot_allocation`, the latest frames first.

    Args:
        conditions: Condition of every candidate, in MD order within a condition.
        errors_by_condition: Spot-check errors per condition (meV/Å).
        count: Frames to choose.
        exclude: Candidates already used (the spot checks).
    """
    by_condition: dict[int, list[int]] = {}
    for index, condition in enumerate(conditions):
        if index not in exclude:
            by_condition.setdefault(int(condition), []).append(index)
    available = {c: len(v) for c, v in by_condition.items()}
    take = spot_allocation(errors_by_condition, available, count)
    chosen: list[int] = []
    for condition, members in by_condition.items():
        n = take.get(condition, 0)
        if n:
            # evenly spaced over the run, ending with its last frame
            picks = np.linspace(len(members) - 1, 0, num=n, endpoint=False).round().astype(int)
            chosen += [members[i] for i in sorted(set(picks.tolist()))]
    return sorted(chosen)


def committee_disagreement(
    candidates: Sequence[Atoms], members: Sequence[ForceModel]
) -> np.ndarray:
    """Max over atoms of the force standard deviation across members (eV/Å), per frame."""
    if len(members) < 2:
        raise ValueError("a committee needs at least two members")
    scores = []
    for atoms in candidates:
        forces = np.stack([member(atoms) for member in members])  # (M, N, 3)
        spread = np.sqrt(np.sum(np.var(forces, axis=0), axis=1))  # (N,)
        scores.append(float(spread.max()))
    return np.asarray(scores)


def select_top(scores: np.ndarray, count: int, exclude: set[int]) -> list[int]:
    """Indices of the ``count`` largest scores outside ``exclude``."""
    order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in exclude]
    return sorted(order[:count])


def select_random(num: int, count: int, exclude: set[int], rng: np.random.Generator) -> list[int]:
    """``count`` indices drawn uniformly from ``range(num)`` minus ``exclude``."""
    pool = np.asarray([i for i in range(num) if i not in exclude], dtype=int)
    if len(pool) == 0:
        return []
    return sorted(rng.choice(pool, size=min(count, len(pool)), replace=False).tolist())


def selection_gain(
    selected_errors: Sequence[float], random_errors: Sequence[float]
) -> float | None:
    """Mean error of the selected frames over that of the random frames (``None``: empty)."""
    if not len(selected_errors) or not len(random_errors) or np.mean(random_errors) == 0:
        return None
    return float(np.mean(selected_errors) / np.mean(random_errors))


def choose_frames(
    candidates: Sequence[Atoms],
    spot: Sequence[int],
    spot_frames: Sequence[Atoms],
    committee: Sequence[str],
    method: str,
    count: int,
    rng: np.random.Generator,
) -> tuple[list[int], str]:
    """Candidates to label for training, and the method actually used.

    Args:
        candidates: MD frames with ``info["condition"]``.
        spot: Indices of the spot-checked candidates (never chosen again).
        spot_frames: Those frames with the student's error in
            ``info["student_force_mae_meV_A"]``.
        committee: Model files of the committee (fewer than two: spot checks decide).
        method: One of :data:`METHODS`.
        count: Frames to choose.
        rng: Generator of the random method.
    """
    exclude = set(spot)
    if method == "random":
        return select_random(len(candidates), count, exclude, rng), "random"
    if method == "committee" and len(committee) >= 2:
        from nanomlip.integrations.ase_calculator import NanoCalculator

        calculators = [NanoCalculator(model=m) for m in committee]
        members = [_forces_with(c) for c in calculators]
        scores = committee_disagreement(candidates, members)
        return select_top(scores, count, exclude), "committee"
    errors: dict[int, list[float]] = {}
    for index, frame in zip(spot, spot_frames, strict=True):
        condition = int(candidates[index].info["condition"])
        errors.setdefault(condition, []).append(float(frame.info["student_force_mae_meV_A"]))
    conditions = [int(c.info["condition"]) for c in candidates]
    used = "spot" if method == "spot" else "spot (no committee yet)"
    return select_spot(conditions, errors, count, exclude), used


def _forces_with(calculator: Any) -> ForceModel:
    def forces(atoms: Atoms) -> np.ndarray:
        probe = atoms.copy()
        probe.calc = calculator
        return np.asarray(probe.get_forces())

    return forces
