import json

from ase.build import bulk
from ase.io import write

import nanomlip
from nanomlip.cli.main import main
from nanomlip.models import save_checkpoint


def test_calc_with_a_checkpoint_prints_json(tmp_path, capsys):
    structure = tmp_path / "si.cif"
    write(structure, bulk("Si", "diamond", a=5.43))
    checkpoint = save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors")
    assert main(["calc", str(structure), "--model", str(checkpoint), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["num_atoms"] == 2 and len(rows[0]["stress_GPa_voigt"]) == 6


def test_calc_with_an_untrained_preset_says_so(tmp_path, capsys):
    structure = tmp_path / "si.xyz"
    write(structure, bulk("Si", "diamond", a=5.43), format="extxyz")
    assert main(["calc", str(structure), "--preset", "nano-xs"]) == 0
    assert "UNTRAINED" in capsys.readouterr().out


def test_missing_structure_file_is_a_clear_error(tmp_path, capsys):
    assert main(["calc", str(tmp_path / "none.cif"), "--preset", "nano-xs"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_models_lists_presets(capsys):
    assert main(["models", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert "nano-5.0" in payload["presets"]


def test_export_and_info(tmp_path, capsys):
    checkpoint = save_checkpoint(
        nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors", teacher="x:y"
    )
    out = tmp_path / "m.pt"
    assert main(["export", str(checkpoint), str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["teacher"] == "x:y"
