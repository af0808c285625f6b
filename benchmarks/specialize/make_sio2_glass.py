"""A melt-quenched 72-atom SiO2 glass, the starting structure of the third demonstration.

The earlier start (``make_sio2.py``) was a random packing relaxed by the teacher: a network
with broken and doubled bonds, left at fmax 2 eV/Å, that no glass-maker would call amorphous
silica. Here the classical Vashishta (1990) SiO2 potential of LAMMPS melts the same random
packing (2.2 g/cm³, seed 0) at 4,000 K for 10 ps, cools it to 300 K over 30 ps and holds it
5 ps (NVT, Nosé-Hoover, 1 fs), as glasses are made in MD; the teacher then relaxes the
positions (FIRE, fmax 0.05 eV/Å, at most 300 steps). Writes
``benchmarks/specialize/sio2_glass_72.extxyz`` with its Si and O coordination:

    python benchmarks/specialize/make_sio2_glass.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.io import read, write
from ase.neighborlist import neighbor_list

from nanomlip.bench.systems import amorphous_sio2
from nanomlip.integrations.lammps import import_lammps

sys.path.insert(0, str(Path(__file__).parent))
from make_sio2 import teacher_relax  # noqa: E402  (the sibling script)

SI_O_BOND_A = 2.0  # Å, first minimum of the Si-O pair distribution


def melt_quench(atoms: Atoms, folder: Path, seed: int = 0) -> Atoms:
    """Melt at 4,000 K, cool to 300 K and hold (LAMMPS, Vashishta SiO2); the final frame."""
    lammps = import_lammps()
    potential = Path(lammps.__file__).parent / "share/lammps/potentials/SiO.1990.vashishta"
    write(folder / "start.data", atoms, format="lammps-data", specorder=["Si", "O"], masses=True)
    lmp = lammps.lammps(cmdargs=["-log", str(folder / "log.lammps"), "-screen", "none"])
    for line in (
        "units metal",
        "atom_style atomic",
        f"read_data {folder / 'start.data'}",
        f"pair_style vashishta\npair_coeff * * {potential} Si O",
        "timestep 0.001",
        f"velocity all create 4000 {seed + 1} dist gaussian",
        "fix nvt all nvt temp 4000 4000 0.1",
        "run 10000",
        "unfix nvt\nfix nvt all nvt temp 4000 300 0.1",
        "run 30000",
        "unfix nvt\nfix nvt all nvt temp 300 300 0.1",
        "run 5000",
        f"write_dump all custom {folder / 'final.dump'} id type x y z modify sort id",
    ):
        lmp.commands_string(line)
    lmp.close()
    final = read(folder / "final.dump", format="lammps-dump-text")
    glass = atoms.copy()
    glass.positions = final.positions
    glass.wrap()
    return glass


def coordination(atoms: Atoms) -> dict[str, float]:
    """Mean number of O around Si and Si around O within ``SI_O_BOND_A``."""
    first, second = neighbor_list("ij", atoms, SI_O_BOND_A)
    symbols = np.array(atoms.get_chemical_symbols())
    pairs = symbols[first] != symbols[second]
    counts = np.bincount(first[pairs], minlength=len(atoms))
    return {s: float(counts[symbols == s].mean()) for s in ("Si", "O")}


if __name__ == "__main__":
    torch.set_num_threads(1)
    start = amorphous_sio2(24, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        glass = melt_quench(start, Path(tmp))
        quench_cpu = time.process_time() - cpu
    steps = teacher_relax(glass, fmax=0.05, steps=300)
    glass.info.update(
        quench_cpu_s=quench_cpu, **{f"coordination_{k}": v for k, v in coordination(glass).items()}
    )
    path = Path(__file__).with_name("sio2_glass_72.extxyz")
    write(path, glass)
    print(
        f"wrote {path}: quench {quench_cpu:.0f} CPU s, {steps} FIRE steps, "
        f"fmax {glass.info['relax_fmax_eV_A']:.3f} eV/Å, coordination {coordination(glass)}"
    )
