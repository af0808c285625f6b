"""Fine-tuning on user data: lower error, replay against forgetting, frozen blocks, refits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.calculators.lj import LennardJones
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from nanomlip.distill.config import TrainConfig
from nanomlip.distill.finetune import INIT_MODEL, FinetuneOptions, finetune
from nanomlip.models.checkpoint import load_checkpoint

EMT_SPEC = "ase:ase.calculators.emt:EMT"


def _config(**values) -> TrainConfig:
    settings = {"max_epochs": 8, "lr": 3e-3, "batch_size": 4, "warmup_steps": 5}
    return TrainConfig(**{**settings, "progress": False, **values})


def _options(universal, **values) -> FinetuneOptions:
    model, distill = universal
    settings = {"model": str(model), "replay_data": str(distill), "forget_frames": 8}
    return FinetuneOptions(**{**settings, **values})


def _lj_frames(emt_frames, count: int, seed: int):
    """Cu cells labelled by a Lennard-Jones "DFT": other physics than the EMT teacher."""
    frames = emt_frames("Cu", count, seed=seed, rattle=0.15)
    for atoms in frames:
        probe = atoms.copy()
        probe.calc = LennardJones(sigma=2.2, epsilon=0.3, rc=5.0, smooth=True)
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=probe.get_potential_energy(),
            forces=probe.get_forces(),
            stress=probe.get_stress(),
        )
    return frames


def test_finetune_lowers_the_error_on_the_new_data(universal, tmp_path, emt_frames):
    write(tmp_path / "dft.extxyz", emt_frames("Cu", 15, seed=7, rattle=0.25, strain=0.08))
    report = finetune(tmp_path / "dft.extxyz", tmp_path / "run", _options(universal), _config())
    held = report["heldout"]
    assert report["prepared"]["n_heldout"] >= 2
    assert held["after"]["forces_mae_meV_per_A"] < 0.8 * held["before"]["forces_mae_meV_per_A"]
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "finetune_report.md").read_text().count("|") > 10
    metadata = load_checkpoint(tmp_path / "run" / "model.safetensors").metadata
    # a later fine-tune of this model replays the distillation data, not the user's folder
    assert metadata["dataset"] == "distill"
    assert metadata["notes"].startswith(f"fine-tuned from {universal[0]} on dft.extxyz with ")


def test_a_model_tuned_on_a_distillation_dataset_replays_that_dataset_next(
    universal, tmp_path, emt_frames
):
    from nanomlip.distill.data import write_labelled_frames

    frames = emt_frames("Cu", 10, seed=9, rattle=0.2)
    data = write_labelled_frames(tmp_path / "distill-real", frames, {"spec": EMT_SPEC})
    finetune(data, tmp_path / "run", _options(universal), _config(max_steps=2))
    metadata = load_checkpoint(tmp_path / "run" / "model.safetensors").metadata
    assert metadata["dataset"] == "distill-real"
    assert "replayed from distill" in metadata["notes"]


def test_replay_limits_forgetting(universal, tmp_path, emt_frames):
    data = tmp_path / "lj.extxyz"
    write(data, _lj_frames(emt_frames, 12, seed=3))
    errors = {}
    for replay in (0.0, 0.5):
        out = tmp_path / f"replay-{replay}"
        report = finetune(data, out, _options(universal, replay=replay), _config(max_epochs=12))
        errors[replay] = report["forgetting"]["after"]["forces_mae_meV_per_A"]
        before = report["forgetting"]["before"]["forces_mae_meV_per_A"]
    assert errors[0.0] > 1.5 * before  # the new physics overwrites the old without replay
    assert errors[0.5] < 0.7 * errors[0.0]


def test_frozen_blocks_stay_frozen(universal, tmp_path, emt_frames):
    write(tmp_path / "dft.extxyz", emt_frames("Al", 8, seed=9, rattle=0.2))
    config = _config(max_epochs=3, freeze_layers=1)
    finetune(tmp_path / "dft.extxyz", tmp_path / "run", _options(universal), config)
    start = load_checkpoint(tmp_path / "run" / INIT_MODEL).state_dict()
    end = load_checkpoint(tmp_path / "run" / "model.safetensors").state_dict()
    frozen = [k for k in start if k.startswith(("embedding.", "radial_basis.", "layers.0."))]
    trained = [k for k in start if k.startswith(("layers.1.", "readout.")) and "weight" in k]
    assert frozen and trained
    assert all(torch.equal(start[k], end[k]) for k in frozen)
    assert any(not torch.equal(start[k], end[k]) for k in trained)


def test_freezing_every_block_is_refused(universal, tmp_path, emt_frames):
    write(tmp_path / "dft.extxyz", emt_frames("Al", 4, seed=9))
    with pytest.raises(ValueError, match="freeze_layers=2"):
        finetune(
            tmp_path / "dft.extxyz", tmp_path / "run", _options(universal), _config(freeze_layers=2)
        )


def test_weights_of_the_data_s_own_categories_are_refused_before_any_work(
    universal, tmp_path, emt_frames
):
    write(tmp_path / "dft.extxyz", emt_frames("Al", 4, seed=9))
    config = _config(category_weights={"replay": 0.5, "close_contact": 0.3})
    with pytest.raises(ValueError, match=r"\['close_contact'\].*nanomlip distill"):
        finetune(tmp_path / "dft.extxyz", tmp_path / "run", _options(universal), config)
    assert not (tmp_path / "run").exists()


def test_reference_energies_refit_to_another_level_of_theory(universal, tmp_path, emt_frames):
    frames = emt_frames("Cu", 10, seed=11)
    for atoms in frames:  # a "DFT" code whose Cu reference sits 0.7 eV/atom higher
        results = dict(atoms.calc.results, energy=atoms.calc.results["energy"] + 0.7 * len(atoms))
        atoms.calc = SinglePointCalculator(atoms, **results)
    write(tmp_path / "dft.extxyz", frames)
    options = _options(universal, source="vasp-pbe")
    report = finetune(tmp_path / "dft.extxyz", tmp_path / "run", options, _config(max_epochs=2))
    prepared = report["prepared"]
    assert prepared["refit_references"]
    assert prepared["reference_shift_eV"]["29"] == pytest.approx(0.7, abs=0.1)
    held = report["heldout"]
    assert held["before"]["energy_mae_meV_per_atom"] > 600
    assert held["before_refit"]["energy_mae_meV_per_atom"] < 100
    # the forgetting figure is on the teacher's reference: no 0.7 eV/atom jump there
    assert report["forgetting"]["after"]["energy_mae_meV_per_atom"] < 150


def test_same_source_as_the_teacher_keeps_the_references(universal, tmp_path, emt_frames):
    write(tmp_path / "more.extxyz", emt_frames("Cu", 6, seed=12))
    options = _options(universal, source="ase:ase.calculators.emt:EMT", replay=0.0)
    report = finetune(tmp_path / "more.extxyz", tmp_path / "run", options, _config(max_epochs=1))
    assert not report["prepared"]["refit_references"]
    assert report["prepared"]["reference_shift_eV"] == {}


def test_a_killed_run_resumes_where_it_stopped(universal, tmp_path, emt_frames):
    write(tmp_path / "dft.extxyz", emt_frames("Cu", 8, seed=13, rattle=0.2))
    first = finetune(
        tmp_path / "dft.extxyz", tmp_path / "run", _options(universal), _config(max_steps=4)
    )
    assert first["training"]["steps"] == 4
    second = finetune(
        tmp_path / "dft.extxyz", tmp_path / "run", _options(universal), _config(max_steps=9)
    )
    assert second["training"]["steps"] == 9
    assert second["prepared"] == first["prepared"]


def test_missing_replay_data_explains_what_to_do(universal, tmp_path, emt_frames):
    write(tmp_path / "dft.extxyz", emt_frames("Cu", 4, seed=13))
    options = FinetuneOptions(model=str(universal[0]))
    with pytest.raises(FileNotFoundError, match="--replay 0"):
        finetune(tmp_path / "dft.extxyz", tmp_path / "run", options, _config())
    assert np.isfinite(
        finetune(
            tmp_path / "dft.extxyz",
            tmp_path / "run2",
            FinetuneOptions(model=str(universal[0]), replay=0.0),
            _config(max_epochs=1),
        )["heldout"]["after"]["forces_mae_meV_per_A"]
    )


def test_a_nanomlip_dataset_with_relaxed_frames_passes_the_unit_check(
    universal, tmp_path, emt_frames
):
    from nanomlip.distill.data import write_labelled_frames
    from nanomlip.distill.finetune import prepare

    frames = emt_frames("Cu", 8, seed=5, rattle=0.15)
    results = frames[3].calc.results  # a relaxed frame: tiny forces, eV/Å all the same
    frames[3].calc = SinglePointCalculator(
        frames[3], energy=results["energy"], forces=0.01 * results["forces"]
    )
    data = write_labelled_frames(tmp_path / "ds", frames, {"spec": "x", "version": "1"})
    prepared = prepare(data, tmp_path / "run", _options(universal))
    assert prepared  # the same frames as an extxyz file would be taken for mixed units


def test_relabelled_frames_keep_their_per_atom_energies_shifted_atom_by_atom(emt_frames):
    from nanomlip.distill.finetune import relabelled

    frames = emt_frames("Cu", 2, seed=4)
    for atoms in frames:
        results = dict(atoms.calc.results)
        results["energies"] = np.full(len(atoms), results["energy"] / len(atoms))
        atoms.calc = SinglePointCalculator(atoms, **results)
    out = relabelled(frames, {29: 0.25}, "replay")
    for old, new in zip(frames, out):
        shifted = old.calc.results["energies"] + 0.25
        np.testing.assert_allclose(new.calc.results["energies"], shifted)
        assert new.calc.results["energy"] == pytest.approx(
            old.calc.results["energy"] + 0.25 * len(old)
        )


def test_a_base_without_validation_split_gets_unreplayed_forgetting_frames(
    universal, tmp_path, emt_frames
):
    from nanomlip.distill.finetune import FORGET_FROM_UNREPLAYED, FORGET_FROM_VALIDATION

    write(tmp_path / "dft.extxyz", emt_frames("Cu", 8, seed=5, rattle=0.2))
    first = finetune(
        tmp_path / "dft.extxyz", tmp_path / "a", _options(universal), _config(max_steps=2)
    )
    assert first["prepared"]["forget_source"] == FORGET_FROM_VALIDATION
    # a fine-tuned model keeps no validation split of the distillation data (its held-out
    # frames were the user's): the forgetting figure must not silently vanish
    tuned = _options(universal, model=str(tmp_path / "a" / "model.safetensors"), replay=0.5)
    second = finetune(tmp_path / "dft.extxyz", tmp_path / "b", tuned, _config(max_steps=2))
    assert second["prepared"]["forget_source"] == FORGET_FROM_UNREPLAYED
    assert second["prepared"]["n_forget"] == 8 and "forgetting" in second
    assert "not replayed here" in (tmp_path / "b" / "finetune_report.md").read_text()


def test_a_model_of_several_datasets_replays_the_first(monkeypatch, tmp_path, emt_frames):
    import nanomlip
    from nanomlip.distill import finetune as finetune_module
    from nanomlip.distill.data import write_labelled_frames
    from nanomlip.models.checkpoint import training_datasets

    for name in ("distill-a", "distill-b"):
        frames = emt_frames("Cu", 2, seed=3)
        write_labelled_frames(tmp_path / "datasets" / name, frames, {"spec": EMT_SPEC})
    monkeypatch.setattr(finetune_module, "REPOSITORY_ROOT", tmp_path)
    model = nanomlip.build_model("nano-xs")
    model.metadata = {**model.metadata, "dataset": "distill-a+distill-b"}
    assert training_datasets(model.metadata) == ["distill-a", "distill-b"]
    root = finetune_module.replay_root(model, FinetuneOptions(model="unused"))
    assert root == tmp_path / "datasets" / "distill-a"
    model.metadata["dataset"] = "distill-c+distill-a"  # a primary that is not there is named
    with pytest.raises(FileNotFoundError, match="distill-c"):
        finetune_module.replay_root(model, FinetuneOptions(model="unused"))
