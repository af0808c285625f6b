import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.io import write

from nanomlip.data.inputs import (
    StructureInputError,
    check_species,
    check_structure,
    output_format,
    parse_index,
    read_structure,
    read_structure_files,
    read_structures,
)


@pytest.fixture
def cu(tmp_path):
    path = tmp_path / "cu.extxyz"
    write(path, [bulk("Cu", "fcc", a=3.61, cubic=True)] * 3)
    return path


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("3", 3),
        ("-1", -1),
        (":", slice(None)),
        ("0:10:2", slice(0, 10, 2)),
        ("::2", slice(None, None, 2)),
        (4, 4),
    ],  # noqa: E501
)
def test_parse_index(text, index):
    assert parse_index(text) == index


@pytest.mark.parametrize("text", ["abc", "1.5", "1:2:3:4", "::0", ""])
def test_bad_index_is_named(text):
    with pytest.raises(StructureInputError, match="index"):
        parse_index(text)


def test_slice_past_the_end_is_named_as_typed(cu):
    with pytest.raises(StructureInputError, match="index 5: lies past the end"):
        read_structures(cu, "5:")


def test_reads_frames_and_slices(cu):
    assert len(read_structures(cu)) == 3
    assert len(read_structures(cu, "0:2")) == 2
    assert read_structure(cu).calc is None


def test_index_past_the_end_says_how_many_frames(cu):
    with pytest.raises(StructureInputError, match="past the end.*holds 3 frame"):
        read_structures(cu, "99")
    with pytest.raises(StructureInputError, match="selects several frames"):
        read_structure(cu, ":")


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("notes.txt", "hello\n", "not a structure file ASE recognises"),
        ("broken.cif", "data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n", "broken.cif"),
        ("empty.cif", "", "is empty"),
        ("garbage.extxyz", "3\nnot a comment line\nCu 0 0\n", "cannot read"),
    ],
)
def test_unreadable_files_are_value_errors_naming_the_file(tmp_path, name, text, message):
    path = _write(tmp_path / name, text)
    with pytest.raises(StructureInputError, match=message):
        read_structures(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_structures(tmp_path / "none.cif")
    with pytest.raises(StructureInputError, match="is a folder"):
        read_structures(tmp_path)


def test_bad_structures_are_refused(tmp_path):
    nan = bulk("Cu", "fcc", a=3.61, cubic=True)
    nan.positions[0] = np.nan
    with pytest.raises(StructureInputError, match="NaN"):
        check_structure(nan, "nan.extxyz")
    overlap = bulk("Cu", "fcc", a=3.61, cubic=True)
    overlap.positions[1] = overlap.positions[0] + 0.01
    with pytest.raises(StructureInputError, match="overlapping atoms"):
        check_structure(overlap, "overlap.extxyz")
    with pytest.raises(StructureInputError, match="contains no atoms"):
        check_structure(Atoms(), "empty.extxyz")
    placeholder = molecule("H2O")
    placeholder.numbers[0] = 0
    with pytest.raises(StructureInputError, match="placeholder"):
        check_structure(placeholder, "x.extxyz")
    check_structure(molecule("H2O"), "water.xyz")  # a fine molecule passes


def test_species_check_names_missing_elements():
    with pytest.raises(StructureInputError, match="does not know element.*Og"):
        check_species(np.array([1, 118]), [1, 8], "a.cif")
    check_species(np.array([1, 8]), [1, 8])


@pytest.mark.parametrize(
    ("name", "fmt"), [("x.cif", "cif"), ("POSCAR", "vasp"), ("x.vasp", "vasp"), ("x.xyz", "extxyz")]
)
def test_output_format_follows_the_name(name, fmt):
    assert output_format(name) == fmt


@pytest.mark.parametrize("name", ["x.txt", "relaxed"])
def test_output_format_refuses_unknown_names(name):
    with pytest.raises(StructureInputError, match="cannot tell a structure format"):
        output_format(name)


def test_read_structure_files_names_file_and_frame(cu, tmp_path):
    frames = read_structure_files([cu], species=[29])
    assert [(path.name, number) for path, number, _ in frames] == [
        ("cu.extxyz", i) for i in range(3)
    ]
    with pytest.raises(StructureInputError, match=r"cu.extxyz \(frame 0\).*the teacher does not"):
        read_structure_files([cu], species=[1], who="the teacher")
