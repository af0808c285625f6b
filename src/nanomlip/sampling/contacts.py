"""Dimers and trimers in vacuum with one pair well inside the covalent-radius sum.

The ``close_contacts`` sampler makes the student see short-range repulsion, which the
relaxed and thermal frames of the other samplers never reach. Distances are in Å.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip.sampling.base import INFO_CATEGORY, INFO_GROUP, SamplerContext, register_sampler
from nanomlip.sampling.geometry import (
    MIN_DISTANCE,
    anchor_element,
    covalent_radius_sums,
    plain_atoms,
    random_rotation,
    unit_vector,
)
from nanomlip.sampling.options import (
    check_fraction,
    check_molecular_context,
    check_options,
    check_pair_range,
)

_CONTACT_DEFAULTS: dict[str, Any] = {
    "contact_range": (0.4, 0.9),
    "partner_range": (0.9, 1.8),
    "trimer_fraction": 0.5,
}


class CloseContactSampler:
    """Dimers and trimers in vacuum with one pair pushed inside the covalent-radius sum.

    The anchor ``elements[index % len(elements)]`` and its first partner sit at
    ``f × (r_a + r_b)`` with ``f`` from ``contact_range`` (never below
    :data:`MIN_DISTANCE`). A trimer's third atom binds to one of them at a factor from
    ``partner_range``, in a random direction, and no pair is relatively closer than the
    contact pair.

    Options (all optional):
        contact_range: Factors of the covalent-radius sum for the close pair.
        partner_range: Factors for the third atom of a trimer.
        trimer_fraction: Probability of a trimer (when ``max_atoms >= 3``).
    """

    def __init__(self, context: SamplerContext, options: dict[str, Any]) -> None:
        check_molecular_context("close_contacts", context)
        if context.max_atoms < 2:
            raise ValueError("sampler 'close_contacts' needs max_atoms >= 2")
        opts = check_options("close_contacts", options, _CONTACT_DEFAULTS)
        self.context = context
        self.contact = check_pair_range("close_contacts", "contact_range", opts["contact_range"])
        self.partner = check_pair_range("close_contacts", "partner_range", opts["partner_range"])
        self.trimer_fraction = check_fraction(
            "close_contacts", "trimer_fraction", opts["trimer_fraction"]
        )

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """Frame ``index``: a dimer or trimer around the anchor element."""
        elements = self.context.elements
        size = 3 if self.context.max_atoms >= 3 and rng.random() < self.trimer_fraction else 2
        symbols = [anchor_element(self.context, index)]
        symbols += [elements[i] for i in rng.integers(len(elements), size=size - 1)]
        numbers = np.array([atomic_numbers[s] for s in symbols])
        sums = covalent_radius_sums(numbers)
        floor = MIN_DISTANCE + 0.01
        contact = max(rng.uniform(*self.contact) * sums[0, 1], floor)
        positions = np.zeros((size, 3))
        positions[1] = contact * unit_vector(rng)
        if size == 3:
            positions[2] = self._third_atom(positions[:2], sums, contact / sums[0, 1], rng)
        positions = positions - positions.mean(axis=0)
        atoms = Atoms(numbers, positions=positions @ random_rotation(rng).T)
        formula = atoms.get_chemical_formula()
        info = {INFO_CATEGORY: "close_contact", INFO_GROUP: f"contact:{formula}:{index}"}
        return plain_atoms(atoms, info)

    def _third_atom(
        self, pair: np.ndarray, sums: np.ndarray, ratio: float, rng: np.random.Generator
    ) -> np.ndarray:
        """Position (Å), shape ``(3,)``, of a third atom no closer (relatively) than ``ratio``."""
        floor = MIN_DISTANCE + 0.01
        for _ in range(50):
            host = int(rng.integers(2))
            distance = max(rng.uniform(*self.partner) * sums[2, host], floor)
            candidate = pair[host] + distance * unit_vector(rng)
            gaps = np.linalg.norm(pair - candidate, axis=1)
            if np.all(gaps >= np.maximum(ratio * sums[2, :2], floor)):
                return candidate
        axis = (pair[1] - pair[0]) / np.linalg.norm(pair[1] - pair[0])
        return pair[1] + max(self.partner[1] * sums[2, 1], floor) * axis


@register_sampler("close_contacts")
def build_close_contacts(context: SamplerContext, options: dict[str, Any]) -> CloseContactSampler:
    """Builder of the ``close_contacts`` sampler (see :class:`CloseContactSampler`)."""
    return CloseContactSampler(context, options)
