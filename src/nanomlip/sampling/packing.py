"""Filling periodic boxes: random atom packings, and molecule boxes by packmol or random insertion.

Distances are in Å, densities in g/cm³; packmol is seeded with an integer the caller
draws from its ``rng``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, covalent_radii

from nanomlip.sampling.geometry import MIN_DISTANCE, distances_are_sane, random_rotation

#: 1 g/cm³ expressed in amu/Å³.
AMU_PER_CUBIC_ANGSTROM = 0.602214076


def random_packing(
    numbers: np.ndarray,
    rng: np.random.Generator,
    packing_fraction: float,
    min_factor: float = 0.7,
    batch: int = 64,
    tries: int = 20,
) -> Atoms:
    """Random sequential insertion of atoms in a cubic periodic box.

    The box volume is the total covalent-sphere volume divided by ``packing_fraction``;
    every pair (minimum image) is at least ``min_factor`` × its covalent-radius sum apart
    and at least :data:`MIN_DISTANCE`. When insertion fails, the box grows by 5 % and
    insertion restarts.

    Args:
        numbers: Atomic numbers, shape ``(n,)``.
        rng: Random generator.
        packing_fraction: Fraction of the box filled by covalent spheres.
        min_factor: Minimum pair distance as a fraction of the covalent-radius sum.
        batch: Candidate positions tested at once for each atom.
        tries: Batches per atom before the box grows.

    Returns:
        Periodic ``Atoms`` in a cubic cell.
    """
    radii = covalent_radii[numbers]
    volume = float(np.sum(4.0 / 3.0 * np.pi * radii**3)) / packing_fraction
    length = max(volume ** (1.0 / 3.0), 2.0 * min_factor * radii.max() * 1.01, 2 * MIN_DISTANCE)
    order = rng.permutation(len(numbers))
    while True:
        positions = _insert_atoms(radii[order], length, rng, min_factor, batch, tries)
        if positions is not None:
            return Atoms(numbers[order], positions=positions, cell=[length] * 3, pbc=True)
        length *= 1.05


def _insert_atoms(
    radii: np.ndarray,
    length: float,
    rng: np.random.Generator,
    min_factor: float,
    batch: int,
    tries: int,
) -> np.ndarray | None:
    """Positions (Å), shape ``(n, 3)``, inserted one by one in a cube, or ``None`` on failure."""
    placed = np.zeros((0, 3))
    for k, radius in enumerate(radii):
        limits = np.maximum(min_factor * (radius + radii[:k]), MIN_DISTANCE)
        for _ in range(tries):
            candidates = rng.uniform(0.0, length, size=(batch, 3))
            delta = candidates[:, None, :] - placed[None, :, :]
            delta -= length * np.round(delta / length)
            good = np.all(np.linalg.norm(delta, axis=-1) >= limits, axis=1)
            if good.any():
                placed = np.vstack([placed, candidates[np.argmax(good)]])
                break
        else:
            return None
    return placed


def find_packmol() -> str | None:
    """Path of the packmol executable (the ``packmol`` PyPI package, else ``PATH``), or None."""
    try:
        from packmol.cli import get_binary_path

        return str(get_binary_path())
    except (ImportError, FileNotFoundError):
        return shutil.which("packmol")


def box_length(molecules: Sequence[Atoms], densities: Sequence[float]) -> float:
    """Edge (Å) of the cube holding ``molecules``, each at its own density (g/cm³), ideal mixing."""
    volume = sum(
        float(atomic_masses[m.numbers].sum()) / (rho * AMU_PER_CUBIC_ANGSTROM)
        for m, rho in zip(molecules, densities)
    )
    return volume ** (1.0 / 3.0)


def pack_with_packmol(
    executable: str,
    templates: Sequence[Atoms],
    counts: Sequence[int],
    length: float,
    tolerance: float,
    seed: int,
) -> Atoms | None:
    """Pack ``counts[i]`` copies of ``templates[i]`` in a periodic cube with packmol.

    Returns:
        The periodic box (atoms ordered species by species, copy by copy), or ``None``
        when packmol fails or produces a box that is not sane.
    """
    with tempfile.TemporaryDirectory(prefix="nanomlip-packmol-") as tmp:
        folder = Path(tmp)
        lines = [
            f"tolerance {tolerance}",
            "filetype xyz",
            "output packed.xyz",
            f"seed {seed}",
            f"pbc 0. 0. 0. {length:.6f} {length:.6f} {length:.6f}",
        ]
        for k, (template, count) in enumerate(zip(templates, counts)):
            template.write(folder / f"species{k}.xyz", format="xyz")
            lines += [
                f"structure species{k}.xyz",
                f"  number {count}",
                f"  inside box 0. 0. 0. {length:.6f} {length:.6f} {length:.6f}",
                "end structure",
            ]
        (folder / "input.inp").write_text("\n".join(lines) + "\n")
        try:
            with open(folder / "input.inp") as stdin:
                result = subprocess.run(
                    [executable], stdin=stdin, cwd=folder, capture_output=True, timeout=120
                )
        except (OSError, subprocess.TimeoutExpired):
            return None
        output = folder / "packed.xyz"
        if result.returncode != 0 or not output.is_file():
            return None
        from ase.io import read

        packed = cast(Atoms, read(output, format="xyz"))  # one frame: the last
    atoms = Atoms(packed.numbers, positions=packed.positions, cell=[length] * 3, pbc=True)
    return atoms if distances_are_sane(atoms) else None


def pack_randomly(
    templates: Sequence[Atoms],
    counts: Sequence[int],
    length: float,
    tolerance: float,
    rng: np.random.Generator,
    tries: int = 200,
) -> Atoms:
    """Pack molecules by random rotation and insertion, growing the box by 5 % on failure.

    Atoms of different molecules stay ``tolerance`` Å apart (minimum image). Used when
    packmol is unavailable or fails.
    """
    while True:
        atoms = _insert_molecules(templates, counts, length, tolerance, rng, tries)
        if atoms is not None and distances_are_sane(atoms):
            return atoms
        length *= 1.05


def _insert_molecules(
    templates: Sequence[Atoms],
    counts: Sequence[int],
    length: float,
    tolerance: float,
    rng: np.random.Generator,
    tries: int,
) -> Atoms | None:
    numbers: list[np.ndarray] = []
    placed = np.zeros((0, 3))
    for template, count in zip(templates, counts):
        centred = template.positions - template.positions.mean(axis=0)
        for _ in range(count):
            for _ in range(tries):
                trial = centred @ random_rotation(rng).T + rng.uniform(0.0, length, size=3)
                delta = trial[:, None, :] - placed[None, :, :]
                delta -= length * np.round(delta / length)
                if np.all(np.linalg.norm(delta, axis=-1) >= tolerance):
                    break
            else:
                return None
            placed = np.vstack([placed, trial])
            numbers.append(template.numbers)
    return Atoms(np.concatenate(numbers), positions=placed, cell=[length] * 3, pbc=True)
