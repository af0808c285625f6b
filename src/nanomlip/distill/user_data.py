"""Labelled frames a user brings (extxyz, ASE db or a nanomlip dataset), read and checked.

Labels are looked up in this order, for every frame:

=========  ====================================================  =========
Label      Where                                                 Unit
=========  ====================================================  =========
energy     calculator results ``energy``, then ``info`` keys     eV
           :data:`ENERGY_KEYS`
forces     calculator results ``forces``, then ``arrays`` keys   eV/Å
           :data:`FORCES_KEYS`
stress     calculator results ``stress``, then ``info`` keys     eV/Å^3
           :data:`STRESS_KEYS` (Voigt or 3x3); ``virial`` (eV)   (ASE sign)
           becomes ``-virial / volume``; optional
=========  ====================================================  =========

Every frame is checked, and the first bad one stops the read with an error that names
it (``FILE, frame K``): missing energy or forces, a non-finite number, an element the
model does not know, a declared unit other than eV (``info`` keys :data:`UNIT_KEYS`),
and labels out of scale with the others
(:func:`check_consistent_units`: a frame written in kcal/mol or Hartree among eV frames).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import chemical_symbols

from nanomlip.data.store import MANIFEST, LabeledDataset

ENERGY_KEYS = ("energy", "REF_energy", "DFT_energy", "dft_energy", "TotEnergy", "free_energy")
FORCES_KEYS = ("forces", "REF_forces", "DFT_forces", "dft_forces", "force")
STRESS_KEYS = ("stress", "REF_stress", "DFT_stress", "dft_stress")
VIRIAL_KEYS = ("virial", "REF_virial", "DFT_virial")
UNIT_KEYS = ("energy_unit", "energy_units", "units", "unit")
#: Extensions read as files of frames (anything ``ase.io.read`` takes with ``index=":"``).
FILE_SUFFIXES = (".extxyz", ".xyz", ".db", ".traj")
#: A frame's force scale against the model's may differ from the median frame's by this factor.
FORCE_SCALE_TOLERANCE = 8.0
#: Forces (RMS, eV/Å) below which a frame's force scale is not compared: near a minimum both
#: the labels and the model's forces are residual noise and their ratio means nothing.
FORCE_SCALE_FLOOR = 0.05
#: A frame's energy residual may differ from per-element offsets fit to all frames by this
#: much (eV/atom).
ENERGY_RESIDUAL_TOLERANCE = 2.0

ForcePredictor = Callable[[Atoms], tuple[float, np.ndarray]]


class UserDataError(ValueError):
    """A data file that cannot be used for fine-tuning; the message names the frame."""


def read_labelled_frames(
    path: str | os.PathLike, supported_species: Sequence[int] | None = None
) -> list[Atoms]:
    """Frames with their labels on a ``SinglePointCalculator``, checked one by one.

    Args:
        path: An extxyz/xyz/ASE db/traj file, a folder of such files, or a nanomlip
            dataset folder.
        supported_species: Atomic numbers the model knows (``None``: no check).

    Returns:
        The frames; ``info["source"]`` names the file and frame of each.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UserDataError: A bad frame (named), no frames, or an unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data {str(path)!r} does not exist")
    frames: list[Atoms] = []
    for file in _data_files(path):
        for index, raw in enumerate(_read_file(file)):
            where = f"{file}, frame {index}"
            frames.append(_checked_frame(raw, where, supported_species))
    if not frames:
        raise UserDataError(f"{str(path)!r} holds no frames")
    return frames


def _data_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / MANIFEST).is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FILE_SUFFIXES)
    if not files:
        raise UserDataError(
            f"folder {str(path)!r} is neither a nanomlip dataset nor holds any "
            f"{'/'.join(FILE_SUFFIXES)} files"
        )
    return files


def _read_file(path: Path) -> list[Atoms]:
    if path.is_dir():
        return list(LabeledDataset(path))
    from ase.io import read

    try:
        frames = read(str(path), index=":")
    except Exception as error:  # noqa: BLE001 - ASE raises many types for a bad file
        raise UserDataError(f"cannot read {str(path)!r}: {error}") from error
    return list(frames) if isinstance(frames, list) else [frames]


def _checked_frame(raw: Atoms, where: str, supported: Sequence[int] | None) -> Atoms:
    _check_units(raw, where)
    energy, forces, stress = frame_labels(raw, where)
    atoms = Atoms(numbers=raw.numbers, positions=raw.positions, cell=raw.cell.array, pbc=raw.pbc)
    if not np.all(np.isfinite(atoms.positions)) or not np.all(np.isfinite(atoms.cell.array)):
        raise UserDataError(f"{where}: positions or cell are not finite (NaN/inf)")
    if supported is not None:
        unknown = sorted(set(atoms.numbers.tolist()) - set(supported))
        if unknown:
            names = ", ".join(chemical_symbols[z] for z in unknown)
            raise UserDataError(f"{where}: element(s) {names} unknown to the model")
    results: dict[str, Any] = {"energy": energy, "free_energy": energy, "forces": forces}
    if stress is not None:
        results["stress"] = stress
    energies = atomic_energies(raw)
    if energies is not None:
        results["energies"] = energies
    atoms.calc = SinglePointCalculator(atoms, **results)
    for key in ("category", "group"):
        if key in raw.info:
            atoms.info[key] = str(raw.info[key])
    atoms.info["source"] = where
    return atoms


def _check_units(raw: Atoms, where: str) -> None:
    for key in UNIT_KEYS:
        if key not in raw.info:
            continue
        unit = str(raw.info[key]).strip()
        if unit.lower() != "ev":
            raise UserDataError(
                f"{where}: {key}={unit!r}; energies must be in eV (forces eV/Å, stress "
                "eV/Å^3): convert the file first"
            )


def frame_labels(raw: Atoms, where: str) -> tuple[float, np.ndarray, np.ndarray | None]:
    """``(energy eV, forces (N, 3) eV/Å, stress Voigt (6,) eV/Å^3 or None)`` of a frame.

    Raises:
        UserDataError: Energy or forces missing, of the wrong shape or not finite.
    """
    results = dict(raw.calc.results) if raw.calc is not None else {}
    energy = results.get("energy", _first(raw.info, ENERGY_KEYS))
    forces = results.get("forces", _first(raw.arrays, FORCES_KEYS))
    if energy is None:
        raise UserDataError(f"{where}: no energy (looked for {', '.join(ENERGY_KEYS)})")
    if forces is None:
        raise UserDataError(f"{where}: no forces (looked for {', '.join(FORCES_KEYS)})")
    forces = np.asarray(forces, dtype=float)
    if forces.shape != (len(raw), 3):
        raise UserDataError(f"{where}: forces have shape {forces.shape}, not ({len(raw)}, 3)")
    stress = _stress(raw, results, where)
    energy = float(np.asarray(energy, dtype=float).reshape(-1)[0])
    for name, value in (("energy", energy), ("forces", forces), ("stress", stress)):
        if value is not None and not np.all(np.isfinite(value)):
            raise UserDataError(f"{where}: {name} is not finite (NaN/inf)")
    return energy, forces, stress


def atomic_energies(raw: Atoms) -> np.ndarray | None:
    """Per-atom energies (eV, shape ``(N,)``) a frame's labels carry, else ``None``.

    A teacher's per-atom energies (SevenNet's) travel with nanomlip datasets and extxyz
    ``energies`` results; the trainer's per-atom energy term uses them. Values of the wrong
    shape or not finite count as absent.
    """
    results = raw.calc.results if raw.calc is not None else {}
    values = results.get("energies")
    if values is None:
        return None
    values = np.asarray(values, dtype=float).reshape(-1)
    return values if values.shape == (len(raw),) and np.all(np.isfinite(values)) else None


def _first(mapping: Any, keys: Sequence[str]) -> Any:
    return next((mapping[key] for key in keys if key in mapping), None)


def _stress(raw: Atoms, results: dict[str, Any], where: str) -> np.ndarray | None:
    if not raw.pbc.all():
        return None
    stress = results.get("stress", _first(raw.info, STRESS_KEYS))
    if stress is None:
        virial = _first(raw.info, VIRIAL_KEYS)
        if virial is None:
            return None
        stress = -np.asarray(virial, dtype=float).reshape(-1) / raw.get_volume()
    stress = np.asarray(stress, dtype=float).reshape(-1)
    if stress.size == 9:
        m = stress.reshape(3, 3)
        stress = np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])
    if stress.size != 6:
        raise UserDataError(f"{where}: stress has {stress.size} components, not 6 or 9")
    return stress


def check_consistent_units(frames: Sequence[Atoms], predict: ForcePredictor) -> None:
    """Reject a frame whose labels are out of scale with the other frames (mixed units).

    For each frame, ``s = RMS(F_label) / RMS(F_model)`` measures the scale of its forces
    against the model's, and the per-atom energy residual ``(E_label - E_model) / N`` its
    energy offset once per-element offsets are fit to all frames. In a consistent set
    ``s`` stays within a factor :data:`FORCE_SCALE_TOLERANCE` (or five median deviations)
    of the median frame's even for a poor model, so a frame written in other units stands
    out when the factor is large (kcal/mol: 23, kJ/mol: 96, Hartree: 27, Hartree/Bohr:
    51); eV/Bohr (1.9) is too close to tell. Frames near a minimum (label or model RMS force
    under :data:`FORCE_SCALE_FLOOR`) take part in the energy check only. Needs three frames or
    more.

    Args:
        frames: Labelled frames (``info["source"]`` names them).
        predict: ``atoms -> (energy eV, forces (N, 3) eV/Å)`` of the model.

    Raises:
        UserDataError: The first frame out of scale, named, with its factor.
    """
    if len(frames) < 3:
        return
    scales, residuals = [], []
    for atoms in frames:
        energy, forces = predict(atoms)
        label = atoms.calc.results
        model_rms = float(np.sqrt(np.mean(forces * forces)))
        label_rms = float(np.sqrt(np.mean(label["forces"] ** 2)))
        comparable = min(model_rms, label_rms) > FORCE_SCALE_FLOOR
        scales.append(label_rms / model_rms if comparable else np.nan)
        residuals.append((label["energy"] - energy) / len(atoms))
    _check_force_scales(frames, np.asarray(scales))
    _check_energy_residuals(frames, np.asarray(residuals))


def _check_force_scales(frames: Sequence[Atoms], scales: np.ndarray) -> None:
    """Flag ``|log(s / median)|`` above ``log`` of the tolerance or 5 median deviations."""
    usable = np.isfinite(scales) & (scales > 0)
    if usable.sum() < 3:
        return
    logs = np.log(scales[usable])
    center = float(np.median(logs))
    spread = float(np.median(np.abs(logs - center)))
    limit = max(np.log(FORCE_SCALE_TOLERANCE), 5 * spread)
    for atoms, scale in zip(frames, scales, strict=True):
        if not (np.isfinite(scale) and scale > 0):
            continue
        if abs(np.log(scale) - center) > limit:
            raise UserDataError(
                f"{atoms.info['source']}: its forces are {scale / np.exp(center):.3g} times "
                "the scale of the other frames' (mixed units, e.g. kcal/mol/Å or "
                "Hartree/Bohr?); all forces must be in eV/Å"
            )


def _check_energy_residuals(frames: Sequence[Atoms], residuals: np.ndarray) -> None:
    """Per-element offsets fit to the residuals; the frame least explained by them fails."""
    from nanomlip.distill.stats import reference_energies

    numbers = np.concatenate([atoms.numbers for atoms in frames])
    counts = np.asarray([len(atoms) for atoms in frames])
    offsets = reference_energies(numbers, counts, residuals * counts)
    left = np.asarray(
        [
            r - np.mean([offsets[int(z)] for z in a.numbers])
            for a, r in zip(frames, residuals, strict=True)
        ]
    )
    worst = int(np.argmax(np.abs(left)))
    if abs(left[worst]) > ENERGY_RESIDUAL_TOLERANCE:
        raise UserDataError(
            f"{frames[worst].info['source']}: its energy is {left[worst]:+.3g} eV/atom off the "
            "other frames' (mixed units, e.g. Hartree or kcal/mol, or another reference?); "
            "all energies must be in eV on one reference"
        )
