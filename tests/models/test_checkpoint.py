import os
import pickle
import warnings

import pytest
import torch

import nanomlip
from nanomlip.models import (
    CheckpointError,
    export_torchscript,
    load_checkpoint,
    load_torchscript,
    save_checkpoint,
)


@pytest.fixture
def checkpoint(tmp_path):
    model = nanomlip.build_model("nano-xs")
    return save_checkpoint(model, tmp_path / "model.safetensors", teacher="sevennet:7net-0")


def test_metadata_holds_species_cutoff_version_and_provenance(checkpoint):
    model = load_checkpoint(checkpoint)
    meta = model.metadata
    assert meta["cutoff"] == 5.0
    assert meta["species"] == list(range(1, 95))
    assert meta["nanomlip_version"] == nanomlip.__version__
    assert meta["teacher"] == "sevennet:7net-0"
    for field in ("teacher_version", "task", "dataset", "dataset_sha256", "training"):
        assert field in meta
    assert meta["preset"] == "nano-xs"


def test_species_restriction_survives_the_round_trip(tmp_path):
    model = nanomlip.build_model("nano-xs")
    model.set_species([1, 8, 14])
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "m.safetensors"))
    assert loaded.species() == [1, 8, 14]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_truncated_file(checkpoint, tmp_path):
    data = checkpoint.read_bytes()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(broken)


def test_corrupt_header(checkpoint, tmp_path):
    data = bytearray(checkpoint.read_bytes())
    data[8:40] = b"x" * 32
    broken = tmp_path / "corrupt.safetensors"
    broken.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(broken)


def test_pickle_is_never_executed(tmp_path):
    class Exploit:
        def __reduce__(self):
            target = str(tmp_path / "pwned")
            return (exec, (f"open({target!r}, 'w').write('pwned')",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CheckpointError):
        load_checkpoint(evil)
    assert not (tmp_path / "pwned").exists()


def test_torch_pickle_checkpoint_is_named_as_such(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": 1}, path)
    with pytest.raises(CheckpointError, match="not a nanomlip checkpoint"):
        load_checkpoint(path)


def test_foreign_safetensors_file(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not a nanomlip checkpoint"):
        load_checkpoint(path)


def test_incompatible_weights_are_reported(tmp_path):
    from safetensors.torch import load_file, save_file

    path = save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        header = handle.metadata()
    tensors = load_file(str(path))
    tensors.pop(next(iter(tensors)))
    save_file(tensors, str(path), metadata=header)
    with pytest.raises(CheckpointError, match="does not match its own configuration"):
        load_checkpoint(path)


def test_newer_format_asks_for_an_upgrade(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "m.safetensors")
    with safe_open(str(path), "pt") as handle:
        header = dict(handle.metadata())
    header["format_version"] = "99"
    save_file(load_file(str(path)), str(path), metadata=header)
    with pytest.raises(CheckpointError, match="upgrade nanomlip"):
        load_checkpoint(path)


def test_failed_save_keeps_the_previous_file(checkpoint, monkeypatch):
    before = checkpoint.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("nanomlip.models.checkpoint.save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(nanomlip.build_model("nano-5.0"), checkpoint)
    assert checkpoint.read_bytes() == before
    assert [p.name for p in checkpoint.parent.iterdir()] == [checkpoint.name]


def test_torchscript_file_is_recognised_by_the_checkpoint_loader(tmp_path):
    path = export_torchscript(nanomlip.build_model("nano-xs"), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="load_torchscript"):
        load_checkpoint(path)
    module, meta = load_torchscript(path)
    assert meta["format"] == "nanomlip-torchscript"
    assert meta["config"]["num_layers"] == 2


def test_plain_torchscript_without_metadata_is_rejected(tmp_path):
    path = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(CheckpointError, match="not exported by nanomlip"):
        load_torchscript(path)


def test_export_of_a_saved_model_keeps_the_teacher(tmp_path):
    model = nanomlip.build_model("nano-xs")
    save_checkpoint(model, tmp_path / "m.safetensors", teacher="sevennet:7net-0")
    export_torchscript(model, tmp_path / "m.pt")
    _, metadata = load_torchscript(tmp_path / "m.pt")
    assert metadata["teacher"] == "sevennet:7net-0"


def test_an_untrained_checkpoint_warns_and_a_trained_one_does_not(tmp_path, checkpoint):
    from nanomlip.models.checkpoint import UntrainedModelWarning

    untrained = save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "u.safetensors")
    with pytest.warns(UntrainedModelWarning, match="UNTRAINED"):
        load_checkpoint(untrained)
    export_torchscript(load_checkpoint(checkpoint), tmp_path / "t.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrainedModelWarning)
        load_checkpoint(checkpoint)  # it names a teacher
        load_torchscript(tmp_path / "t.pt")


def test_saved_files_are_readable_by_others(tmp_path, checkpoint):
    old = os.umask(0o022)
    try:
        paths = [save_checkpoint(nanomlip.build_model("nano-xs"), tmp_path / "a.safetensors")]
        paths.append(export_torchscript(load_checkpoint(checkpoint), tmp_path / "a.pt"))
    finally:
        os.umask(old)
    assert [oct(p.stat().st_mode & 0o777) for p in paths] == ["0o644", "0o644"]
