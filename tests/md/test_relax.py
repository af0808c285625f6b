import contextlib

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import read, write

import nanomlip
from nanomlip.cli.main import main
from nanomlip.md import SimulationError, format_relax_summary, relax
from nanomlip.testing import nan_after_emt


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # The cell filter solves 3x3 systems with scipy; multi-threaded OpenBLAS spins on
    # them and is ~10x slower on a busy machine. Limit it when threadpoolctl exists.
    try:
        import scipy.linalg  # noqa: F401  (loads OpenBLAS so that it can be limited)
        from threadpoolctl import threadpool_limits
    except ImportError:
        limit = contextlib.nullcontext()
    else:
        limit = threadpool_limits(1, user_api="blas")
    with limit:
        yield


def rattled_cu(seed: int = 0, a: float = 3.61):
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((2, 1, 1))
    atoms.rattle(0.1, seed=seed)
    return atoms


def test_relax_positions_lowers_the_energy_and_converges():
    atoms = rattled_cu()
    atoms.calc = EMT()
    start = atoms.get_potential_energy()
    cell = atoms.cell.array.copy()
    result = relax(atoms, fmax=0.01, steps=300)
    assert result.converged and result.max_force_eV_A < 0.01
    assert result.energy_eV < start - 0.1
    assert 0 < result.steps <= 300
    np.testing.assert_allclose(atoms.cell.array, cell)  # cell untouched
    assert "converged" in format_relax_summary(result)


@pytest.mark.parametrize("optimizer", ["FIRE", "bfgs"])
def test_cell_relaxation_reaches_zero_pressure(optimizer):
    atoms = bulk("Cu", "fcc", a=3.75, cubic=True).repeat((2, 1, 1))  # EMT wants a ≈ 3.59 Å
    atoms.rattle(0.02, seed=0)
    result = relax(atoms, EMT(), fmax=0.01, steps=300, optimizer=optimizer, cell=True)
    assert result.converged
    # The filter's cell force is V σ / N, so fmax = 0.01 eV bounds |σ| by ~0.15 GPa here.
    assert abs(result.pressure_GPa) < 0.2
    a = (result.volume_A3 / 2) ** (1 / 3)  # two conventional cells
    assert 3.55 < a < 3.62


def test_cell_relaxation_under_pressure_shrinks_the_cell():
    free = relax(rattled_cu(), EMT(), fmax=0.01, cell=True, optimizer="BFGS")
    squeezed = relax(rattled_cu(), EMT(), fmax=0.01, cell=True, optimizer="BFGS", pressure_GPa=10.0)
    assert squeezed.volume_A3 < free.volume_A3
    stress = squeezed.atoms.get_stress(voigt=False)
    assert -np.trace(stress) / 3 / units.GPa == pytest.approx(10.0, abs=0.3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "LBFGS-X"}, "unknown optimizer"),
        ({"fmax": 0.0}, "fmax must be positive"),
        ({"pressure_GPa": 1.0}, "needs a cell relaxation"),
    ],
)
def test_invalid_options_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        relax(rattled_cu(), EMT(), **kwargs)


def test_cell_relaxation_of_a_molecule_is_refused():
    from ase.build import molecule

    with pytest.raises(ValueError, match="periodic"):
        relax(molecule("H2O"), EMT(), cell=True)


def NaNAfter(n):  # noqa: N802 - reads like the class it stands for
    return nan_after_emt(n, nan_energy=False)


def test_non_finite_forces_stop_the_relaxation():
    with pytest.raises(SimulationError, match="step 2: forces are not finite"):
        relax(rattled_cu(), NaNAfter(3), steps=50)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    return nanomlip.save_checkpoint(nanomlip.build_model("nano-xs"), path)


@pytest.mark.parametrize("cell", [False, True])
def test_cli_relax_writes_structure_and_log(tmp_path, capsys, checkpoint, cell):
    structure = tmp_path / "si.cif"
    atoms = bulk("Si", "diamond", a=5.5, cubic=True)
    atoms.rattle(0.05, seed=1)
    write(structure, atoms)
    args = ["relax", str(structure), "--model", str(checkpoint), "--steps", "5"]
    args += ["--optimizer", "bfgs", "--fmax", "0.001"] + (["--cell"] if cell else [])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "E = " in out and "max|F|" in out and "steps = " in out
    assert "converged" in out  # either "converged" or "NOT converged"
    relaxed = read(tmp_path / "si_relaxed.extxyz")
    assert len(relaxed) == 8
    assert not np.allclose(relaxed.positions, atoms.positions)
    assert np.allclose(relaxed.cell.array, atoms.cell.array) != cell
    assert "BFGS" in (tmp_path / "si_relaxed.log").read_text()


def test_cli_relax_with_preset_says_untrained(tmp_path, capsys):
    structure = tmp_path / "si.xyz"
    write(structure, bulk("Si", "diamond", a=5.43), format="extxyz")
    out = tmp_path / "out.extxyz"
    assert main(["relax", str(structure), "--preset", "nano-xs", "--out", str(out)]) == 0
    assert "UNTRAINED" in capsys.readouterr().out
    assert out.is_file() and (tmp_path / "out.log").is_file()


def test_cli_relax_errors(tmp_path, capsys, checkpoint):
    assert main(["relax", str(tmp_path / "none.cif"), "--model", str(checkpoint)]) == 2
    assert "does not exist" in capsys.readouterr().err
    structure = tmp_path / "si.cif"
    write(structure, bulk("Si", "diamond", a=5.43))
    assert main(["relax", str(structure), "--model", str(checkpoint), "--pressure", "1"]) == 2
    assert "--cell" in capsys.readouterr().err
    out = tmp_path / "default.extxyz"
    assert main(["relax", str(structure), "--out", str(out), "--steps", "3"]) == 0  # shipped model
    assert out.is_file()


@pytest.mark.parametrize(
    ("name", "fmt"), [("out.cif", "cif"), ("POSCAR", "vasp"), ("o.xyz", "extxyz")]
)
def test_cli_relax_writes_the_format_its_name_says(tmp_path, capsys, checkpoint, name, fmt):
    structure = tmp_path / "si.cif"
    write(structure, bulk("Si", "diamond", a=5.43, cubic=True))
    out = tmp_path / name
    assert main(["relax", str(structure), "--model", str(checkpoint), "--steps", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    assert f"({fmt})" in capsys.readouterr().out
    assert len(read(out, format=fmt)) == 8
