import json

import pytest
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
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["teacher"] == "x:y"


def test_info_prints_a_short_summary(capsys):
    assert main(["info", "nano-5.0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) < 15
    text = "\n".join(lines)
    assert "48,681 parameters" in text and "sevennet:7net-mf-0@PBE" in text
    assert "89 (H .. Pu)" in text and "validation" in text


def test_info_of_an_untrained_checkpoint_says_so(tmp_path, capsys):
    checkpoint = save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors")
    assert main(["info", str(checkpoint)]) == 0
    assert "UNTRAINED" in capsys.readouterr().out


def test_calc_with_an_untrained_checkpoint_warns(tmp_path, capsys):
    structure = tmp_path / "si.cif"
    write(structure, bulk("Si", "diamond", a=5.43))
    checkpoint = save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors")
    assert main(["calc", str(structure), "--model", str(checkpoint)]) == 0
    assert "# WARNING:" in capsys.readouterr().out
    assert main(["calc", str(structure), "--model", str(checkpoint), "--json"]) == 0
    captured = capsys.readouterr()
    assert "UNTRAINED" in captured.err
    json.loads(captured.out)  # the warning stays out of the JSON


@pytest.mark.parametrize(
    ("command", "default"),
    [
        ("relax", "(default: 0.05)"),
        ("md", "(default: nvt-langevin)"),
        ("md", "NPT target pressure (GPa) (default: 0.0)"),
        ("label", "(default: 50)"),
        ("eval", "default: float32"),
    ],
)
def test_help_shows_defaults(capsys, command, default):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert default in capsys.readouterr().out.replace("\n", " ")
