"""D3(BJ) dispersion: the package's reference values, periodic cells, composition, errors."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

pytest.importorskip("dftd3")

from dftd3.ase import DFTD3  # noqa: E402

from nanomlip import NanoCalculator  # noqa: E402
from nanomlip.md.dispersion import (  # noqa: E402
    D3Dispersion,
    make_dispersion,
    with_dispersion,
)

#: simple-dftd3's own reference (dftd3/test_ase.py, test_ase_scand3): SCAN-D3(BJ) energy
#: (eV) and forces (eV/Å) of ASE's methylenecyclopropane, two-body only.
SCAN_D3BJ_ENERGY_EV = -0.03898577243903914
SCAN_D3BJ_FORCES = np.array(
    [
        [0.0, 0.0, -6.16745949e-05],
        [0.0, 3.10643080e-04, 6.89816195e-04],
        [0.0, -3.10643080e-04, 6.89816195e-04],
        [0.0, 0.0, -1.54664530e-03],
        [2.90862635e-04, 5.36974154e-04, 6.87685696e-04],
        [-2.90862635e-04, 5.36974154e-04, 6.87685696e-04],
        [-2.90862635e-04, -5.36974154e-04, 6.87685696e-04],
        [2.90862635e-04, -5.36974154e-04, 6.87685696e-04],
        [0.0, 2.75841655e-04, -1.26102764e-03],
        [0.0, -2.75841655e-04, -1.26102764e-03],
    ]
)


def _rattled_salt() -> Atoms:
    atoms = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    atoms.rattle(0.05, seed=3)
    return atoms


def test_matches_the_package_reference_values_for_a_molecule():
    atoms = molecule("methylenecyclopropane")
    atoms.calc = D3Dispersion("scan")
    assert atoms.get_potential_energy() == pytest.approx(SCAN_D3BJ_ENERGY_EV, abs=1e-6)
    np.testing.assert_allclose(atoms.get_forces(), SCAN_D3BJ_FORCES, atol=1e-6)
    assert atoms.get_potential_energies().sum() == pytest.approx(SCAN_D3BJ_ENERGY_EV, abs=1e-9)


def test_periodic_pbe_matches_the_package_calculator():
    ours, theirs = _rattled_salt(), _rattled_salt()
    ours.calc = D3Dispersion()
    theirs.calc = DFTD3(method="pbe", damping="d3bj")
    assert ours.get_potential_energy() == pytest.approx(theirs.get_potential_energy(), abs=1e-9)
    np.testing.assert_allclose(ours.get_forces(), theirs.get_forces(), atol=1e-9)
    np.testing.assert_allclose(ours.get_stress(), theirs.get_stress(), atol=1e-9)
    assert ours.get_potential_energies().sum() == pytest.approx(ours.get_potential_energy())
    assert ours.get_potential_energy() < 0


def test_stress_is_the_strain_derivative_of_the_energy():
    atoms = _rattled_salt()
    atoms.calc = D3Dispersion()
    stress = atoms.get_stress(voigt=False)
    step, volume = 1e-5, atoms.get_volume()
    cell, positions = atoms.cell.array.copy(), atoms.positions.copy()
    for i, j in [(0, 0), (1, 1), (0, 1), (1, 2)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[i, j] += sign * step / 2
            strain[j, i] += sign * step / 2
            atoms.set_cell(cell @ strain, scale_atoms=False)
            atoms.positions = positions @ strain
            energies.append(atoms.get_potential_energy())
        assert (energies[0] - energies[1]) / (2 * step) / volume == pytest.approx(
            stress[i, j], abs=1e-7
        )


def test_nano_calculator_adds_d3_to_the_model(small_model):
    atoms = _rattled_salt()
    plain = NanoCalculator(small_model, dtype="float64")
    dispersed = NanoCalculator(small_model, dtype="float64", dispersion="d3")
    reference = D3Dispersion()
    for prop in ("energy", "forces", "stress", "energies"):
        total = dispersed.get_property(prop, atoms)
        expected = plain.get_property(prop, atoms) + reference.get_property(prop, atoms)
        np.testing.assert_allclose(total, expected, atol=1e-9, err_msg=prop)


def test_open_boundaries_give_no_stress(small_model):
    atoms = molecule("CH3CH2OH")
    calculator = NanoCalculator(small_model, dtype="float64", dispersion="d3")
    atoms.calc = calculator
    reference = D3Dispersion().get_property("energy", atoms)
    plain = NanoCalculator(small_model, dtype="float64").get_property("energy", atoms)
    assert atoms.get_potential_energy() == pytest.approx(plain + reference)
    assert "stress" not in calculator.results


def test_with_dispersion_composes_any_calculator():
    from ase.calculators.emt import EMT

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    summed = with_dispersion(EMT(), "d3")
    expected = EMT().get_property("energy", atoms) + D3Dispersion().get_property("energy", atoms)
    assert summed.get_property("energy", atoms) == pytest.approx(expected)
    assert with_dispersion(EMT(), None).__class__ is EMT


@pytest.mark.parametrize(
    ("option", "message"),
    [("d4", "unknown dispersion"), ("d3:nonsense", "no damping parameters"), (3, "string")],
)
def test_bad_options_are_clear_errors(option, message):
    with pytest.raises(ValueError, match=message):
        make_dispersion(option)


def test_an_element_without_d3_parameters_is_a_clear_error():
    atoms = Atoms(numbers=[104, 1], positions=[[0, 0, 0], [0, 0, 1.5]])
    atoms.calc = D3Dispersion()
    with pytest.raises(ValueError, match="Rf"):
        atoms.get_potential_energy()


def test_cli_d3_option_changes_the_energy(tmp_path, capsys):
    from ase.io import write

    from nanomlip.cli.main import main

    path = tmp_path / "salt.extxyz"
    write(path, _rattled_salt())
    energies = []
    for extra in ([], ["--d3"]):
        assert main(["calc", str(path), "--preset", "nano-xs", "--json", *extra]) == 0
        energies.append(float(capsys.readouterr().out.split('"energy_eV":')[1].split(",")[0]))
    d3 = _rattled_salt()
    d3.calc = D3Dispersion()
    assert energies[1] - energies[0] == pytest.approx(d3.get_potential_energy(), abs=1e-4)


@pytest.mark.parametrize("command", ["calc", "relax", "md"])
def test_d3_option_on_calc_relax_and_md(command):
    from nanomlip.cli.main import build_parser
    from nanomlip.cli.options import dispersion_from_args

    parser = build_parser()
    assert dispersion_from_args(parser.parse_args([command, "x.cif"])) is None
    assert dispersion_from_args(parser.parse_args([command, "x.cif", "--d3"])) == "d3:pbe"
    assert dispersion_from_args(parser.parse_args([command, "--d3", "x.cif"])) == "d3:pbe"
    chosen = parser.parse_args([command, "x.cif", "--d3", "--d3-functional", "revpbe"])
    assert dispersion_from_args(chosen) == "d3:revpbe"


def test_nano_calculator_rejects_an_unknown_dispersion(small_model):
    with pytest.raises(ValueError, match="unknown dispersion"):
        NanoCalculator(small_model, dispersion="d2")
