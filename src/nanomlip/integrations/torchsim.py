"""A nanomlip student as a torch-sim ``ModelInterface``: many structures in one batched call.

`torch-sim <https://github.com/TorchSim/torch-sim>`_ (``pip install "nanomlip[torchsim]"``,
package ``torch-sim-atomistic``) runs MD and relaxations of many systems at once on one
``SimState``. :class:`NanoTorchSimModel` evaluates the whole state as one disconnected graph
(one forward and one backward pass for every system together) and returns torch-sim's keys:

==================  ==================  =====================================================
torch-sim key       shape               nanomlip source (:mod:`nanomlip._keys`)
==================  ==================  =====================================================
``energy``          (n_systems,)        ``energy``, eV
``forces``          (n_atoms, 3)        ``forces``, eV/Å
``stress``          (n_systems, 3, 3)   ``stress``, eV/Å^3, ASE sign (the one torch-sim uses)
==================  ==================  =====================================================

The neighbour lists come from vesin per system, as in the ASE calculator, so the two agree
to rounding; on CPU the allocator setting is the calculator's too
(:mod:`nanomlip.integrations.allocator`). The model loads like the ASE calculator's: a
TorchScript export (``.pt``, the file to hand to integrations), a checkpoint, a registered
name or a ``NanoModel``.

Example::

    import torch_sim as ts
    from nanomlip.integrations.torchsim import NanoTorchSimModel

    model = NanoTorchSimModel("student.pt", dtype=torch.float32)
    final = ts.integrate(system=list_of_atoms, model=model, integrator=ts.nvt_langevin,
                         n_steps=1000, temperature=300, timestep=0.001)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import vesin

from nanomlip import _keys as K
from nanomlip.integrations import allocator
from nanomlip.integrations.ase_calculator import NanoCalculator, check_species

#: Message of the ImportError raised when torch-sim is missing.
TORCHSIM_INSTALL_HINT = (
    'the torch-sim integration needs torch-sim: pip install "nanomlip[torchsim]" '
    "(package torch-sim-atomistic; with --no-deps if pip would replace your torch)"
)

try:
    import torch_sim as ts
    from torch_sim.models.interface import ModelInterface
except ImportError as _error:  # pragma: no cover - exercised by a test with a blocked import
    raise ImportError(f"{TORCHSIM_INSTALL_HINT} ({_error})") from _error

_DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64"}


class NanoTorchSimModel(ModelInterface):
    """torch-sim model interface of a nanomlip student.

    Args:
        model: What :class:`~nanomlip.integrations.ase_calculator.NanoCalculator` loads
            (``None``: the shipped default model).
        device: Torch device (default: CUDA when available, else CPU).
        dtype: ``torch.float32`` (fast) or ``torch.float64`` (precise).
        compute_stress: Return ``stress`` (needed by NPT integrators and cell relaxations).
        compute_forces: Return ``forces``.
    """

    def __init__(
        self,
        model: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        compute_stress: bool = True,
        compute_forces: bool = True,
    ) -> None:
        super().__init__()
        if dtype not in _DTYPE_NAMES:
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        calculator = NanoCalculator(model=model, device=str(device), dtype=_DTYPE_NAMES[dtype])
        self.model = calculator.model
        self.metadata = calculator.metadata
        self.cutoff = float(calculator.cutoff)
        self.species = list(calculator.species)
        self._device = device
        self._dtype = dtype
        self._compute_stress = compute_stress
        self._compute_forces = compute_forces
        self._memory_scales_with = "n_atoms_x_density"

    def forward(self, state: ts.SimState | dict[str, torch.Tensor], **kwargs: Any) -> dict:
        """Energy (n_systems,), forces (n_atoms, 3) and stress (n_systems, 3, 3) of ``state``."""
        if isinstance(state, dict):
            state = ts.SimState(**state, masses=torch.ones_like(state["positions"][:, 0]))
        check_species(state.atomic_numbers.detach().cpu().numpy(), self.species)
        graph = self.state_graph(state)
        if self._device.type == "cpu":  # keep freed memory in the heap, as the ASE calculator
            allocator.prepare_for(int(graph[K.EDGE_INDEX].shape[1]))
        output = self.model(graph)
        results = {"energy": output[K.ENERGY].detach()}
        if self._compute_forces:
            results["forces"] = output[K.FORCES].detach()
        if self._compute_stress:
            results["stress"] = output[K.STRESS].detach()
        return results

    def state_graph(self, state: ts.SimState) -> dict[str, torch.Tensor]:
        """The batch graph (:mod:`nanomlip._keys`) of every system of ``state``."""
        positions = state.positions.to(device=self._device, dtype=self._dtype)
        cells = state.row_vector_cell.to(device=self._device, dtype=self._dtype)
        system_idx = state.system_idx.to(self._device)
        pbc = _pbc_rows(state.pbc, cells.shape[0])
        counts = torch.bincount(system_idx, minlength=cells.shape[0])
        offsets = torch.cumsum(counts, 0) - counts
        points = positions.detach().cpu().double().numpy()
        boxes = cells.detach().cpu().double().numpy()
        edges, shifts = [], []
        for index in range(cells.shape[0]):
            start, stop = int(offsets[index]), int(offsets[index] + counts[index])
            calculator = vesin.NeighborList(cutoff=self.cutoff, full_list=True)
            i, j, shift = calculator.compute(
                points=points[start:stop],
                box=boxes[index],
                periodic=[bool(p) for p in pbc[index]],
                quantities="ijS",
            )
            edges.append(np.stack([i, j]).astype(np.int64) + start)
            shifts.append(shift.astype(np.float64))
        return {
            K.POSITIONS: positions,
            K.ATOMIC_NUMBERS: state.atomic_numbers.to(device=self._device, dtype=torch.long),
            K.BATCH: system_idx,
            K.EDGE_INDEX: torch.from_numpy(np.concatenate(edges, axis=1)).to(self._device),
            K.EDGE_CELL_SHIFT: torch.from_numpy(np.concatenate(shifts)).to(
                device=self._device, dtype=self._dtype
            ),
            K.CELL: cells,
            K.PBC: torch.tensor(np.array(pbc), device=self._device),
            K.NUM_ATOMS: counts,
        }


def _pbc_rows(pbc: Any, num_systems: int) -> np.ndarray:
    """Periodicity as (n_systems, 3) bools from torch-sim's ``pbc`` (bool or per direction)."""
    flags = np.asarray(pbc.detach().cpu() if isinstance(pbc, torch.Tensor) else pbc, dtype=bool)
    return np.broadcast_to(flags.reshape(-1)[-3:] if flags.size > 1 else flags, (num_systems, 3))
