"""Grimme D3(BJ) dispersion from simple-dftd3 (the ``dftd3`` package), as an ASE calculator.

The student learns the teacher's PBE energy surface, which lacks long-range dispersion;
liquids and layered solids need it added back. :class:`D3Dispersion` evaluates the D3
two-body energy with Becke-Johnson (rational) damping,

    E = -Σ_{i<j} Σ_{n=6,8} s_n C_n^{ij} / (r_ij^n + (a1 R0^{ij} + a2)^n),

with the (s6, s8, a1, a2) of the named functional from the package's parameter table
(PBE by default, the teacher's functional), and optionally the Axilrod-Teller-Muto
three-body term (``three_body=True``, package parameter s9 = 1). C6 depends on the
coordination numbers, so every atom's energy depends on its neighbours.

Cut-offs are the package's documented defaults unless given: 60 Bohr (31.75 Å) for pairs,
40 Bohr (21.17 Å) for triples and the coordination number. Periodic images are summed in
real space up to these radii for any of the three directions that is periodic.

Results, in ASE units: ``energy`` and ``free_energy`` (eV), ``energies`` (per atom, eV;
they sum to ``energy``), ``forces`` (eV/Å) and ``stress`` (eV/Å³, Voigt order, for
structures periodic in all three directions).

:func:`make_dispersion` turns a user's option (``"d3"``, ``"d3:revpbe"``, ``None``) into a
calculator, :func:`add_dispersion_results` adds its results to another calculator's, and
:func:`with_dispersion` composes any ASE calculator with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import BaseCalculator, Calculator, all_changes
from ase.calculators.mixing import SumCalculator
from ase.data import chemical_symbols

#: Largest atomic number with D3 reference C6 coefficients (H to Lr).
D3_MAX_ATOMIC_NUMBER: int = 103

#: Functional whose damping parameters are used by default (the teacher's, PBE).
DEFAULT_FUNCTIONAL: str = "pbe"

#: Dispersion options accepted by :func:`make_dispersion` (``"d3:<functional>"`` too).
DISPERSION_CHOICES: tuple[str, ...] = ("d3",)


@dataclass(frozen=True)
class D3Cutoffs:
    """Real-space cut-off radii of the D3 sums, in Å (package defaults, in Bohr, converted).

    Attributes:
        pairs_A: Two-body dispersion cut-off (package default 60 Bohr).
        triples_A: Three-body (ATM) cut-off (package default 40 Bohr).
        coordination_A: Coordination-number cut-off (package default 40 Bohr).
    """

    pairs_A: float = 60.0 * units.Bohr
    triples_A: float = 40.0 * units.Bohr
    coordination_A: float = 40.0 * units.Bohr


def _import_dftd3() -> Any:
    try:
        from dftd3 import interface
    except ImportError as error:
        raise ImportError(
            "D3 dispersion needs the dftd3 package (simple-dftd3's Python API): "
            "pip install 'nanomlip[d3]'"
        ) from error
    return interface


def check_d3_elements(numbers: np.ndarray) -> None:
    """Raise ``ValueError`` naming the elements of ``numbers`` that D3 has no C6 data for."""
    missing = sorted({int(z) for z in numbers if not 1 <= int(z) <= D3_MAX_ATOMIC_NUMBER})
    if missing:
        names = [
            chemical_symbols[z] if 0 <= z < len(chemical_symbols) else f"Z={z}" for z in missing
        ]
        raise ValueError(
            f"D3 dispersion has no parameters for element(s) {', '.join(names)}; "
            f"it covers H to Lr (Z = 1-{D3_MAX_ATOMIC_NUMBER})"
        )


class D3Dispersion(Calculator):
    """D3(BJ) dispersion energy, forces, stress and per-atom energies (simple-dftd3).

    Args:
        functional: Name of the functional whose BJ damping parameters to use, as in the
            package's table (case-insensitive): ``"pbe"``, ``"revpbe"``, ``"scan"``, ...
        three_body: Add the Axilrod-Teller-Muto three-body term (s9 = 1).
        cutoffs: Real-space cut-offs; ``None`` keeps the package's defaults.
        **kwargs: Passed to :class:`ase.calculators.calculator.Calculator`.

    Raises:
        ValueError: If the package has no D3(BJ) parameters for ``functional``.
        ImportError: If the ``dftd3`` package is missing.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(
        self,
        functional: str = DEFAULT_FUNCTIONAL,
        three_body: bool = False,
        cutoffs: D3Cutoffs | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._interface = _import_dftd3()
        self.functional = functional.lower()
        self.three_body = three_body
        self.cutoffs = cutoffs or D3Cutoffs()
        try:
            self._damping = self._interface.RationalDampingParam(
                method=self.functional, atm=three_body
            )
        except RuntimeError as error:
            raise ValueError(
                f"D3(BJ) has no damping parameters for functional {functional!r} "
                "(names as in simple-dftd3's parameter table, e.g. pbe, revpbe, scan, b3lyp)"
            ) from error

    def __repr__(self) -> str:
        return f"D3Dispersion(functional={self.functional!r}, three_body={self.three_body})"

    def _model(self, atoms: Atoms) -> Any:
        check_d3_elements(atoms.numbers)
        periodic = np.asarray(atoms.pbc, dtype=bool)
        lattice = atoms.cell.array / units.Bohr if periodic.any() else None
        model = self._interface.DispersionModel(
            atoms.numbers,
            atoms.positions / units.Bohr,
            lattice=lattice,
            periodic=periodic if periodic.any() else None,
        )
        model.set_realspace_cutoff(
            self.cutoffs.pairs_A / units.Bohr,
            self.cutoffs.triples_A / units.Bohr,
            self.cutoffs.coordination_A / units.Bohr,
        )
        return model

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list[str] | None = None,
        system_changes: list[str] = all_changes,
    ) -> None:
        """Evaluate D3 for ``atoms`` (all results at once, in eV, eV/Å and eV/Å³)."""
        super().calculate(atoms, properties or ["energy"], system_changes)
        structure = self.atoms
        if structure is None:
            raise ValueError("D3 dispersion needs atoms to evaluate")
        model = self._model(structure)
        result = model.get_dispersion(param=self._damping, grad=True)
        energy = float(result["energy"]) * units.Hartree
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": -np.asarray(result["gradient"]) * units.Hartree / units.Bohr,
        }
        if "energies" in (properties or ()):  # the pair decomposition costs ~50 % more
            pairwise = model.get_pairwise_dispersion(param=self._damping)
            per_atom = pairwise["additive pairwise energy"].sum(axis=1)
            per_atom = per_atom + pairwise["non-additive pairwise energy"].sum(axis=1)
            self.results["energies"] = per_atom * units.Hartree
        if structure.pbc.all():
            virial = np.asarray(result["virial"]) * units.Hartree / structure.get_volume()
            self.results["stress"] = virial.flat[[0, 4, 8, 5, 2, 1]].copy()


def make_dispersion(
    option: str | D3Dispersion | None, cutoffs: D3Cutoffs | None = None
) -> D3Dispersion | None:
    """The dispersion calculator named by a user option, or ``None`` for none.

    Args:
        option: ``None`` or ``"none"`` (no dispersion), ``"d3"`` (D3(BJ) with PBE
            parameters), ``"d3:<functional>"`` (another functional's parameters), or a
            ready :class:`D3Dispersion` (returned as it is).
        cutoffs: Real-space cut-offs of a D3 made from a string (``None``: the package's).

    Raises:
        ValueError: For an unknown option or functional.
    """
    if option is None or isinstance(option, D3Dispersion):
        return option
    if not isinstance(option, str):
        raise ValueError(f"dispersion must be a string such as 'd3', got {option!r}")
    kind, _, functional = option.strip().lower().partition(":")
    if kind == "none" and not functional:
        return None
    if kind not in DISPERSION_CHOICES:
        raise ValueError(
            f"unknown dispersion {option!r}; choose 'd3' or 'd3:<functional>' (e.g. 'd3:pbe')"
        )
    return D3Dispersion(functional=functional or DEFAULT_FUNCTIONAL, cutoffs=cutoffs)


def add_dispersion_results(
    results: dict[str, Any],
    dispersion: D3Dispersion,
    atoms: Atoms,
    properties: list[str] | None = None,
) -> None:
    """Add the dispersion's energy, per-atom energies, forces and stress to ``results``.

    Args:
        results: Another calculator's results (ASE keys and units); updated in place. A
            property it lacks (e.g. ``stress`` of a molecule) stays absent.
        dispersion: The dispersion calculator.
        atoms: The structure both were evaluated on.
        properties: The properties asked for. Per-atom energies cost extra in D3, so
            unless ``"energies"`` is asked for they are dropped from ``results`` (ASE
            computes them again if they are asked for later).
    """
    if "energies" not in (properties or ()):
        results.pop("energies", None)
    wanted: list[str] = [
        key for key in ("energy", "energies", "forces", "stress") if key in results
    ]
    dispersion.calculate(atoms, wanted or ["energy"], list(all_changes))
    for key in ("energy", "free_energy", "energies", "forces", "stress"):
        if key in results:
            source = "energy" if key == "free_energy" else key
            results[key] = results[key] + dispersion.results[source]


def with_dispersion(
    calculator: BaseCalculator, option: str | D3Dispersion | None
) -> BaseCalculator:
    """``calculator`` plus dispersion (an ASE ``SumCalculator``), or itself when ``option`` is None.

    Use it for calculators that have no ``dispersion`` option of their own (teachers, any
    ASE calculator). The sum has the properties both calculators implement.
    """
    dispersion = make_dispersion(option)
    if dispersion is None:
        return calculator
    return SumCalculator([calculator, dispersion])
