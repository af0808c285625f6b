"""Reading the user's labelled frames: formats, label keys, and bad frames named."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.db import connect
from ase.io import write

from nanomlip.distill.data import write_labelled_frames
from nanomlip.distill.user_data import (
    UserDataError,
    check_consistent_units,
    read_labelled_frames,
)


def _with_labels(atoms, energy=-1.0, forces=None, stress=None):
    forces = np.zeros((len(atoms), 3)) if forces is None else forces
    results = {"energy": energy, "forces": forces}
    if stress is not None:
        results["stress"] = stress
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def test_extxyz_db_and_dataset_give_the_same_frames(tmp_path, emt_frames):
    frames = emt_frames("Cu", 3, seed=0)
    write(tmp_path / "a.extxyz", frames)
    with connect(tmp_path / "a.db") as db:
        for atoms in frames:
            db.write(atoms)
    write_labelled_frames(tmp_path / "ds", frames, {"spec": "dft"})
    for source in ("a.extxyz", "a.db", "ds"):
        read = read_labelled_frames(tmp_path / source, supported_species=[29])
        assert len(read) == 3
        for mine, theirs in zip(read, frames, strict=True):
            assert mine.calc.results["energy"] == pytest.approx(theirs.get_potential_energy())
            assert np.allclose(mine.calc.results["forces"], theirs.get_forces(), atol=1e-5)
            assert np.allclose(mine.calc.results["stress"], theirs.get_stress(), atol=1e-6)
    assert read[1].info["source"].endswith("ds, frame 1")


def test_a_teachers_per_atom_energies_travel_with_the_frames(tmp_path):
    atoms = _with_labels(bulk("Cu", "fcc", a=3.6).repeat(2), energy=-8.0)
    atoms.calc.results["energies"] = np.full(len(atoms), -1.0)
    plain = _with_labels(bulk("Cu", "fcc", a=3.6), energy=-1.0)
    write_labelled_frames(tmp_path / "ds", [atoms, plain], {"spec": "sevennet:x"})
    first, second = read_labelled_frames(tmp_path / "ds")
    np.testing.assert_allclose(first.calc.results["energies"], -1.0)
    assert "energies" not in second.calc.results  # none given: none invented
    write_labelled_frames(tmp_path / "again", [first, second], {"spec": "sevennet:x"})
    assert "energies" in read_labelled_frames(tmp_path / "again")[0].calc.results


def test_a_folder_of_files_and_info_keys_with_a_virial(tmp_path):
    atoms = bulk("Cu", cubic=True)
    atoms.info["REF_energy"] = -3.0
    atoms.arrays["REF_forces"] = np.full((len(atoms), 3), 0.1)
    atoms.info["virial"] = np.eye(3).reshape(-1) * atoms.get_volume()
    (tmp_path / "set").mkdir()
    write(tmp_path / "set" / "one.extxyz", atoms)
    write(tmp_path / "set" / "two.xyz", molecule("H2O"))  # unlabelled: named below
    with pytest.raises(UserDataError, match=r"two\.xyz, frame 0: no energy"):
        read_labelled_frames(tmp_path / "set")
    (tmp_path / "set" / "two.xyz").unlink()
    [frame] = read_labelled_frames(tmp_path / "set")
    assert frame.calc.results["energy"] == -3.0
    assert np.allclose(frame.calc.results["stress"], [-1, -1, -1, 0, 0, 0])


@pytest.mark.parametrize(
    ("break_frame", "message"),
    [
        (
            lambda a: _with_labels(a, forces=np.full((len(a), 3), np.nan)),
            "frame 2: forces is not finite",
        ),
        (lambda a: _with_labels(a, energy=np.inf), "frame 2: energy is not finite"),
        (lambda a: setattr(a, "calc", None) or a.info.update(energy=-1.0), "frame 2: no forces"),
        (lambda a: a.info.update(energy_unit="kcal/mol"), "frame 2: energy_unit='kcal/mol'"),
        (lambda a: a.set_atomic_numbers([29, 29, 29, 54]), "frame 2: element.s. Xe unknown"),
    ],
)
def test_bad_frames_are_rejected_by_name(tmp_path, emt_frames, break_frame, message):
    frames = emt_frames("Cu", 4, seed=1)
    break_frame(frames[2])
    write(tmp_path / "bad.extxyz", frames)
    with pytest.raises(UserDataError, match=message):
        read_labelled_frames(tmp_path / "bad.extxyz", supported_species=[13, 29])


def test_frames_that_declare_ev_are_accepted(tmp_path, emt_frames):
    frames = emt_frames("Cu", 3, seed=1)
    frames[0].info["energy_unit"] = "eV"
    frames[1].info["energy_unit"] = "ev "
    frames[2].info["units"] = "eV"
    write(tmp_path / "ok.extxyz", frames)
    assert len(read_labelled_frames(tmp_path / "ok.extxyz")) == 3


def _predictor(model_path):
    from nanomlip.integrations.ase_calculator import NanoCalculator

    calculator = NanoCalculator(model=str(model_path))

    def predict(atoms):
        probe = atoms.copy()
        probe.calc = calculator
        return probe.get_potential_energy(), probe.get_forces()

    return predict


def test_a_frame_in_other_units_is_found(tmp_path, emt_frames, universal):
    frames = emt_frames("Cu", 8, seed=2, rattle=0.15)
    write(tmp_path / "good.extxyz", frames)
    check_consistent_units(read_labelled_frames(tmp_path / "good.extxyz"), _predictor(universal[0]))
    results = frames[5].calc.results
    frames[5].calc = SinglePointCalculator(  # kcal/mol/Å forces among eV/Å ones
        frames[5], energy=results["energy"], forces=23.06 * results["forces"]
    )
    write(tmp_path / "mixed.extxyz", frames)
    with pytest.raises(UserDataError, match=r"mixed\.extxyz, frame 5: its forces are"):
        check_consistent_units(
            read_labelled_frames(tmp_path / "mixed.extxyz"), _predictor(universal[0])
        )


def test_an_energy_on_another_scale_is_found(tmp_path, emt_frames, universal):
    frames = emt_frames("Cu", 6, seed=3) + emt_frames("Al", 6, seed=4)
    results = frames[7].calc.results
    frames[7].calc = SinglePointCalculator(  # 3 eV/atom off the others
        frames[7], energy=results["energy"] + 3.0 * len(frames[7]), forces=results["forces"]
    )
    write(tmp_path / "mixed.extxyz", frames)
    with pytest.raises(UserDataError, match=r"frame 7: its energy is \+"):
        check_consistent_units(
            read_labelled_frames(tmp_path / "mixed.extxyz"), _predictor(universal[0])
        )


def test_a_missing_file_and_an_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_labelled_frames(tmp_path / "nope.extxyz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserDataError, match="neither a nanomlip dataset"):
        read_labelled_frames(tmp_path / "empty")


def test_relaxed_frames_among_rattled_ones_are_not_taken_for_other_units(
    tmp_path, emt_frames, universal
):
    frames = emt_frames("Cu", 6, seed=5, rattle=0.15) + emt_frames("Cu", 2, seed=6, rattle=0.03)
    for atoms in frames[-2:]:  # relaxed by the user's code: forces at its noise level, while
        results = atoms.calc.results  # the model's own minimum is elsewhere
        noise = np.random.default_rng(0).normal(scale=1e-3, size=results["forces"].shape)
        atoms.calc = SinglePointCalculator(atoms, energy=results["energy"], forces=noise)
    write(tmp_path / "relaxed.extxyz", frames)
    check_consistent_units(
        read_labelled_frames(tmp_path / "relaxed.extxyz"), _predictor(universal[0])
    )
