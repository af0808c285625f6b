"""Reusable consistency checks that every nanomlip model must pass.

Each ``assert_*`` function takes a model (any module with the
:class:`~nanomlip.models.nano.NanoModel` call signature), runs it on small
structures and raises ``AssertionError`` with the measured error when a check
fails. Tolerances are named per dtype in :data:`TOLERANCES` so that tests and
benchmarks share them. :func:`check_model` runs them all.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list as ase_neighbor_list

from nanomlip import _keys as K
from nanomlip.data.graph import atoms_to_graph, batch_atoms
from nanomlip.models.nano import NanoModel
from nanomlip.nn.interaction import MessageProducts, SpeciesPairEmbedding

ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


@dataclass(frozen=True)
class Tolerances:
    """Named tolerances for one floating-point precision.

    Attributes:
        equivariance: Relative error allowed for rotated/reflected outputs.
        finite_difference: Absolute force error (eV/Å) against central differences.
        fd_step: Displacement (Å) or strain used for central differences.
        stress: Absolute stress error (eV/Å^3) against the strain derivative.
        smoothness: Largest energy jump (eV) when a neighbour crosses the cutoff.
        batch: Absolute error allowed between batched and one-by-one evaluation.
    """

    equivariance: float
    finite_difference: float
    fd_step: float
    stress: float
    smoothness: float
    batch: float


TOLERANCES = {
    torch.float64: Tolerances(
        equivariance=1e-9,
        finite_difference=1e-6,
        fd_step=1e-5,
        stress=1e-7,
        smoothness=1e-9,
        batch=1e-10,
    ),
    torch.float32: Tolerances(
        equivariance=1e-4,
        finite_difference=2e-2,
        fd_step=1e-2,
        stress=2e-3,
        smoothness=1e-4,
        batch=1e-4,
    ),
}


# ---------------------------------------------------------------------- structures
def example_structures(seed: int = 0) -> dict[str, Atoms]:
    """Small structures that exercise every graph case.

    Returns:
        ``name -> Atoms``: a triclinic cell smaller than any cutoff (many periodic
        images), a two-element bulk, a molecule (no pbc), a slab (mixed pbc) and
        a single isolated atom.
    """
    rng = np.random.default_rng(seed)
    small_cell = Atoms(
        "SiO",
        positions=[[0.0, 0.0, 0.0], [0.9, 0.8, 0.7]],
        cell=[[2.6, 0.0, 0.0], [0.7, 2.5, 0.0], [0.4, 0.5, 2.4]],
        pbc=True,
    )
    rocksalt = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    rocksalt.rattle(0.05, seed=seed)
    rocksalt.set_cell(
        rocksalt.cell.array @ (np.eye(3) + 0.02 * rng.standard_normal((3, 3))), scale_atoms=True
    )
    water = molecule("CH3CH2OH")
    water.rattle(0.02, seed=seed)
    slab = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((1, 1, 2))
    slab.center(vacuum=4.0, axis=2)
    slab.pbc = [True, True, False]
    slab.rattle(0.05, seed=seed + 1)
    isolated = Atoms("Fe", positions=[[0.0, 0.0, 0.0]], pbc=False)
    return {
        "small_triclinic": small_cell,
        "rocksalt": rocksalt,
        "molecule": water,
        "slab": slab,
        "isolated": isolated,
    }


def random_rotation(seed: int = 0, reflect: bool = False) -> np.ndarray:
    """A random 3x3 rotation matrix (times -1 for an improper rotation if ``reflect``)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return -q if reflect else q


# ---------------------------------------------------------------------- evaluation
def evaluate(
    model: NanoModel | torch.jit.ScriptModule, atoms: Atoms | Sequence[Atoms], dtype: torch.dtype
) -> dict:
    """Run ``model`` on one structure or a batch; return float64 numpy arrays."""
    structures = [atoms] if isinstance(atoms, Atoms) else list(atoms)
    cutoff = float(model.cutoff)
    graph = batch_atoms(structures, cutoff, dtype=dtype, min_distance=0.0)
    output = model(graph)
    return {key: value.detach().double().cpu().numpy() for key, value in output.items()}


def _relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    scale = max(float(np.abs(expected).max()), 1e-12)
    return float(np.abs(actual - expected).max()) / scale


def _model_dtype(model: torch.nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


# ---------------------------------------------------------------------- symmetry checks
def assert_rotation_equivariance(
    model: NanoModel, atoms: Atoms, reflect: bool = False, seed: int = 0
) -> None:
    """Energy invariant; forces rotate as vectors, stress as a rank-2 tensor."""
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype].equivariance
    rotation = random_rotation(seed, reflect)
    rotated = atoms.copy()
    rotated.set_positions(atoms.get_positions() @ rotation.T)
    rotated.set_cell(atoms.get_cell().array @ rotation.T)
    reference, turned = evaluate(model, atoms, dtype), evaluate(model, rotated, dtype)
    kind = "reflection" if reflect else "rotation"
    errors = {
        "energy": _relative_error(turned[K.ENERGY], reference[K.ENERGY]),
        "forces": _relative_error(turned[K.FORCES], reference[K.FORCES] @ rotation.T),
        "stress": _relative_error(
            turned[K.STRESS][0], rotation @ reference[K.STRESS][0] @ rotation.T
        )
        if atoms.pbc.all()
        else 0.0,
    }
    bad = {name: err for name, err in errors.items() if err > tol}
    assert not bad, f"{kind} equivariance violated (relative errors {bad}, tolerance {tol})"


def assert_permutation_invariance(model: NanoModel, atoms: Atoms, seed: int = 0) -> None:
    """Shuffling atoms permutes forces and leaves energy and stress unchanged."""
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype].equivariance
    order = np.random.default_rng(seed).permutation(len(atoms))
    reference, shuffled = evaluate(model, atoms, dtype), evaluate(model, atoms[order], dtype)
    errors = {
        "energy": _relative_error(shuffled[K.ENERGY], reference[K.ENERGY]),
        "forces": _relative_error(shuffled[K.FORCES], reference[K.FORCES][order]),
        "atomic_energies": _relative_error(
            shuffled[K.ATOMIC_ENERGIES], reference[K.ATOMIC_ENERGIES][order]
        ),
        "stress": _relative_error(shuffled[K.STRESS], reference[K.STRESS]),
    }
    bad = {name: err for name, err in errors.items() if err > tol}
    assert not bad, f"permutation invariance violated (relative errors {bad}, tolerance {tol})"


def assert_translation_invariance(model: NanoModel, atoms: Atoms, seed: int = 0) -> None:
    """A rigid translation changes neither energy, forces nor stress."""
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype].equivariance
    moved = atoms.copy()
    moved.translate(np.random.default_rng(seed).uniform(-3.0, 3.0, size=3))
    reference, shifted = evaluate(model, atoms, dtype), evaluate(model, moved, dtype)
    errors = {
        key: _relative_error(shifted[key], reference[key]) for key in (K.ENERGY, K.FORCES, K.STRESS)
    }
    bad = {name: err for name, err in errors.items() if err > tol}
    assert not bad, f"translation invariance violated (relative errors {bad}, tolerance {tol})"


# ---------------------------------------------------------------------- derivative checks
def _energy(model: NanoModel, atoms: Atoms, dtype: torch.dtype) -> float:
    return float(evaluate(model, atoms, dtype)[K.ENERGY].sum())


def assert_forces_match_finite_differences(
    model: NanoModel, atoms: Atoms, max_atoms: int = 4
) -> float:
    """Forces equal minus the central-difference gradient of the energy.

    Returns:
        The largest absolute error found (eV/Å).
    """
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype]
    forces = evaluate(model, atoms, dtype)[K.FORCES]
    worst = 0.0
    for index in range(min(len(atoms), max_atoms)):
        for axis in range(3):
            displaced = []
            for sign in (1.0, -1.0):
                moved = atoms.copy()
                positions = moved.get_positions()
                positions[index, axis] += sign * tol.fd_step
                moved.set_positions(positions)
                displaced.append(_energy(model, moved, dtype))
            numeric = -(displaced[0] - displaced[1]) / (2 * tol.fd_step)
            worst = max(worst, abs(numeric - forces[index, axis]))
    assert worst < tol.finite_difference, (
        f"forces differ from finite differences by {worst:.3e} eV/Å "
        f"(tolerance {tol.finite_difference})"
    )
    return worst


def assert_stress_matches_strain_derivative(model: NanoModel, atoms: Atoms) -> float:
    """Stress equals ``(1/V) dE/dε`` from central differences of a symmetric strain.

    Returns:
        The largest absolute error found (eV/Å^3).
    """
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype]
    stress = evaluate(model, atoms, dtype)[K.STRESS][0]
    volume = atoms.get_volume()
    worst = 0.0
    for a in range(3):
        for b in range(a, 3):
            energies = []
            for sign in (1.0, -1.0):
                strain = np.eye(3)
                strain[a, b] += 0.5 * sign * tol.fd_step
                strain[b, a] += 0.5 * sign * tol.fd_step
                deformed = atoms.copy()
                deformed.set_cell(atoms.get_cell().array @ strain, scale_atoms=True)
                energies.append(_energy(model, deformed, dtype))
            numeric = (energies[0] - energies[1]) / (2 * tol.fd_step) / volume
            worst = max(worst, abs(numeric - stress[a, b]))
    assert worst < tol.stress, (
        f"stress differs from the strain derivative by {worst:.3e} eV/Å^3 (tolerance {tol.stress})"
    )
    return worst


def assert_smooth_at_cutoff(model: NanoModel, symbols: str = "SiO") -> None:
    """Energy and force are continuous as a neighbour crosses the cutoff."""
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype]
    cutoff = float(model.cutoff)

    def dimer(distance: float) -> Atoms:
        return Atoms(symbols, positions=[[0.0, 0.0, 0.0], [distance, 0.0, 0.0]])

    step = 1e-3
    inside = evaluate(model, dimer(cutoff - step), dtype)
    outside = evaluate(model, dimer(cutoff + step), dtype)
    jump = abs(float(inside[K.ENERGY].sum() - outside[K.ENERGY].sum()))
    force_inside = float(np.abs(inside[K.FORCES]).max())
    assert jump < tol.smoothness, f"energy jumps by {jump:.3e} eV at the cutoff"
    assert force_inside < max(tol.smoothness * 1e3, 1e-6), (
        f"force {force_inside:.3e} eV/Å just inside the cutoff does not vanish smoothly"
    )
    far = evaluate(model, dimer(cutoff + 0.5), dtype)
    assert np.abs(far[K.FORCES]).max() == 0.0, "atoms beyond the cutoff still exert forces"


# ---------------------------------------------------------------------- batching and edge cases
def assert_batch_consistency(model: NanoModel, structures: Sequence[Atoms]) -> None:
    """A batch of structures gives the same results as evaluating each alone."""
    dtype = _model_dtype(model)
    tol = TOLERANCES[dtype].batch
    batched = evaluate(model, structures, dtype)
    start = 0
    for index, atoms in enumerate(structures):
        alone = evaluate(model, atoms, dtype)
        stop = start + len(atoms)
        scale = max(1.0, float(np.abs(alone[K.ENERGY]).max()))
        errors = {
            "energy": abs(batched[K.ENERGY][index] - alone[K.ENERGY][0]) / scale,
            "forces": float(np.abs(batched[K.FORCES][start:stop] - alone[K.FORCES]).max()),
            "stress": float(np.abs(batched[K.STRESS][index] - alone[K.STRESS][0]).max()),
        }
        bad = {name: err for name, err in errors.items() if err > tol}
        assert not bad, f"structure {index} differs in a batch from alone: {bad}"
        start = stop


def assert_isolated_atoms(model: NanoModel) -> None:
    """Structures with empty neighbour lists give finite energy and zero forces/stress."""
    dtype = _model_dtype(model)
    far_apart = Atoms(
        "SiOH", positions=[[0, 0, 0], [20, 0, 0], [0, 20, 0]], cell=[40, 40, 40], pbc=True
    )
    lone = Atoms("C", positions=[[0, 0, 0]])
    graph = atoms_to_graph(far_apart, float(model.cutoff), dtype=dtype)
    assert graph[K.EDGE_INDEX].shape[1] == 0, "test structure unexpectedly has neighbours"
    for atoms in (far_apart, lone):
        out = evaluate(model, atoms, dtype)
        assert np.all(np.isfinite(out[K.ENERGY])), "energy of isolated atoms is not finite"
        assert np.abs(out[K.FORCES]).max() == 0.0, "isolated atoms feel forces"
        assert np.abs(out[K.STRESS]).max() == 0.0, "isolated atoms give stress"
    one = evaluate(model, lone, dtype)[K.ENERGY][0]
    combined = evaluate(model, [lone, far_apart], dtype)[K.ENERGY][0]
    tol = TOLERANCES[dtype].batch
    assert math.isclose(one, combined, rel_tol=0, abs_tol=tol), (
        f"isolated atom depends on batch: {one} alone, {combined} in a batch"
    )


# ---------------------------------------------------------------------- serialisation
def _assert_same_outputs(a: dict, b: dict, tol: float, what: str) -> None:
    for key in (K.ENERGY, K.FORCES, K.STRESS, K.ATOMIC_ENERGIES):
        error = float(np.abs(a[key] - b[key]).max()) if a[key].size else 0.0
        assert error <= tol, f"{what}: {key} differs by {error:.3e}"


def assert_checkpoint_round_trip(model: NanoModel, atoms: Atoms, folder: Path) -> None:
    """Saving and loading a checkpoint reproduces outputs exactly and keeps metadata."""
    from nanomlip.models.checkpoint import load_checkpoint, save_checkpoint

    dtype = _model_dtype(model)
    path = save_checkpoint(model, Path(folder) / "round_trip.safetensors", teacher="test:teacher")
    loaded = load_checkpoint(path)
    assert _model_dtype(loaded) == dtype, "checkpoint changed the dtype"
    assert loaded.metadata["teacher"] == "test:teacher", "checkpoint lost its provenance"
    assert loaded.metadata["cutoff"] == model.cutoff
    assert loaded.species() == model.species()
    _assert_same_outputs(
        evaluate(model, atoms, dtype), evaluate(loaded, atoms, dtype), 0.0, "checkpoint"
    )


def assert_torchscript_round_trip(model: NanoModel, atoms: Atoms, folder: Path) -> None:
    """A TorchScript export reproduces the outputs and carries its metadata."""
    from nanomlip.models.checkpoint import export_torchscript, load_torchscript

    dtype = _model_dtype(model)
    path = export_torchscript(model, Path(folder) / "round_trip.pt", teacher="test:teacher")
    scripted, metadata = load_torchscript(path)
    assert metadata["teacher"] == "test:teacher"
    assert metadata["cutoff"] == model.cutoff
    assert metadata["species"] == model.species()
    tol = TOLERANCES[dtype].batch
    _assert_same_outputs(
        evaluate(model, atoms, dtype), evaluate(scripted, atoms, dtype), tol, "TorchScript"
    )


def assert_calculator_consistency(model: NanoModel, atoms: Atoms) -> None:
    """The ASE calculator reports exactly what the raw model computes."""
    from nanomlip.integrations.ase_calculator import NanoCalculator

    dtype = _model_dtype(model)
    raw = evaluate(model, atoms, dtype)
    calc = NanoCalculator(model=model, dtype="float64" if dtype == torch.float64 else "float32")
    atoms = atoms.copy()
    atoms.calc = calc
    tol = TOLERANCES[dtype].batch
    assert abs(atoms.get_potential_energy() - raw[K.ENERGY][0]) <= tol * max(
        1, abs(raw[K.ENERGY][0])
    )
    assert atoms.get_potential_energy() == atoms.get_potential_energy(force_consistent=True)
    assert np.abs(atoms.get_forces() - raw[K.FORCES]).max() <= tol
    assert np.abs(atoms.get_potential_energies() - raw[K.ATOMIC_ENERGIES]).max() <= tol
    if atoms.pbc.all():
        voigt = atoms.get_stress(voigt=False)
        assert np.abs(voigt - raw[K.STRESS][0]).max() <= tol


def check_model(model: NanoModel, folder: Path, seed: int = 0) -> None:
    """Run every check of this module on ``model`` (in its current dtype)."""
    model = copy.deepcopy(model).eval()
    structures = example_structures(seed)
    periodic = structures["rocksalt"]
    for name, atoms in structures.items():
        assert_rotation_equivariance(model, atoms, reflect=False, seed=seed)
        assert_rotation_equivariance(model, atoms, reflect=True, seed=seed + 1)
        if len(atoms) > 1:
            assert_permutation_invariance(model, atoms, seed=seed)
        assert_translation_invariance(model, atoms, seed=seed)
        if name != "isolated":
            assert_forces_match_finite_differences(model, atoms, max_atoms=2)
    assert_stress_matches_strain_derivative(model, periodic)
    assert_stress_matches_strain_derivative(model, structures["small_triclinic"])
    assert_smooth_at_cutoff(model)
    assert_batch_consistency(model, list(structures.values()))
    assert_isolated_atoms(model)
    assert_checkpoint_round_trip(model, periodic, folder)
    assert_torchscript_round_trip(model, periodic, folder)
    assert_calculator_consistency(model, periodic)
    assert_calculator_consistency(model, structures["molecule"])


def with_random_element_energies(model: NanoModel, seed: int = 0) -> NanoModel:
    """Give an untrained model random per-element energy scales (5-20) and shifts (eV).

    Untrained weights give forces of ~0.02 eV/Å; scaling them to realistic
    magnitudes (0.1-1 eV/Å) makes every check discriminate, and exercises the
    per-element shift/scale path. Modifies and returns ``model``.
    """
    rng = np.random.default_rng(seed)
    size = model.atomic_energy_scale.shape[0]
    with torch.no_grad():
        model.atomic_energy_scale.copy_(torch.from_numpy(rng.uniform(5.0, 20.0, size)))
        model.atomic_energy_shift.copy_(torch.from_numpy(rng.uniform(-5.0, 0.0, size)))
    return model


def with_random_zero_started_weights(model: ModuleT, seed: int = 0) -> ModuleT:
    """Fill the weights that start at zero (species-pair tables, message-product maps) at random.

    Those weights start at zero so that growth keeps a trained model's function; a check
    run on them at zero would not exercise their path. The tables get a spread of 0.1
    (nano-5.5 learned 0.05-0.06), the product maps e3nn's own initialisation (standard
    normal). ``model`` is a model or any module holding such blocks; it is modified and
    returned.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, SpeciesPairEmbedding):
                weights, spread = [module.centre.weight, module.neighbor.weight], 0.1
            elif isinstance(module, MessageProducts):
                weights, spread = [module.linear_out.weight], 1.0
            else:
                continue
            for weight in weights:
                noise = torch.randn(weight.shape, generator=generator, dtype=torch.float64)
                weight.copy_((spread * noise).to(weight.dtype))
    return model


class FaultyCalculator(Calculator):
    """A cheap pair-potential ASE calculator that misbehaves on purpose, for tests.

    Energies come from a soft pair repulsion; structures containing ``nan_element``
    get a NaN energy and those containing ``huge_force_element`` get forces of
    1e4 eV/Å, so that label rejection can be tested with any sampler.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, nan_element: str = "Xe", huge_force_element: str = "Rn") -> None:
        super().__init__()
        self.nan_element = nan_element
        self.huge_force_element = huge_force_element

    def calculate(self, atoms=None, properties=None, system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if self.atoms is None:
            raise ValueError("calculate needs atoms")
        i, j, d, vectors = ase_neighbor_list("ijdD", self.atoms, 4.0)
        energy = 0.5 * float(np.sum((4.0 - d) ** 2))
        pair_forces = (2 * (4.0 - d) / d)[:, None] * vectors
        forces = np.zeros((len(self.atoms), 3))
        np.add.at(forces, j, pair_forces * 0.5)
        np.add.at(forces, i, -pair_forces * 0.5)
        symbols = set(self.atoms.get_chemical_symbols())
        if self.nan_element in symbols:
            energy = float("nan")
        if self.huge_force_element in symbols:
            forces[:] = 1e4
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": forces,
            "stress": np.zeros(6),
        }


def nan_after_emt(calls: int, nan_energy: bool = True):
    """An EMT calculator whose forces (and energy) turn NaN from the ``calls``-th evaluation on.

    Used to test that relaxation and MD stop cleanly on non-finite outputs.
    """
    from ase.calculators.emt import EMT

    class _NaNAfter(EMT):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def calculate(self, *args, **kwargs) -> None:
            super().calculate(*args, **kwargs)
            self.calls += 1
            if self.calls >= calls:
                self.results["forces"] = self.results["forces"] * np.nan
                if nan_energy:
                    self.results["energy"] = np.nan

    return _NaNAfter()
