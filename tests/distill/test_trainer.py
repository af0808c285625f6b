import math

import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.data.graph import collate
from nanomlip.data.store import LabeledDataset
from nanomlip.distill import data as D
from nanomlip.distill import stats
from nanomlip.distill.config import TrainConfig, apply_values, load_config, parse_assignment
from nanomlip.distill.losses import LossSettings, distillation_loss, student_hvp
from nanomlip.distill.trainer import CHECKPOINT, MODEL, learning_rate, make_trainer, train
from nanomlip.models import build_model, load_checkpoint

TEACHER = {"spec": "ase:ase.calculators.emt:EMT", "version": "test", "task": None}
TINY = {
    "preset": "nano-xs",
    "model": {
        "num_scalar_channels": 8,
        "num_tensor_channels": 4,
        "radial_hidden": 8,
        "readout_hidden": 8,
        "cutoff": 3.0,
    },
    "batch_size": 4,
    "warmup_steps": 2,
    "lr": 0.01,
    "progress": False,
    "num_threads": 1,  # tiny models on a shared 2-core machine: 2 threads can be 50x slower
}


def emt_frames(count, seed=0, calculator=None):
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        symbol = ["Cu", "Ni", "Al"][index % 3]
        atoms = bulk(symbol, "fcc", a=3.6 * (0.97 + 0.06 * rng.random()), cubic=True)
        if index % 4 == 3:
            atoms[0].symbol = "Cu" if symbol != "Cu" else "Ni"
        atoms.positions += rng.normal(0, 0.08, atoms.positions.shape)
        atoms.positions = atoms.positions.astype(np.float32).astype(float)
        atoms.calc = calculator or EMT()
        results = {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces(),
            "stress": atoms.get_stress(),
        }
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info["category"] = "bulk" if index % 2 else "rattled"
        atoms.info["group"] = f"g{index // 2}"
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "emt"
    return D.write_labelled_frames(root, emt_frames(20), TEACHER, chunk_size=8)


def tiny_config(**values):
    return apply_values({**TINY, **values})


def test_group_split_never_splits_a_group():
    rng = np.random.default_rng(1)
    groups = [f"g{k}" for k in rng.integers(0, 15, size=200)] + [""] * 5
    for seed in range(5):
        train_index, val_index = D.group_split(groups, 0.2, seed)
        assert len(train_index) + len(val_index) == len(groups)
        train_groups = {groups[i] for i in train_index if groups[i]}
        val_groups = {groups[i] for i in val_index if groups[i]}
        assert not train_groups & val_groups
        assert 0.2 <= len(val_index) / len(groups) < 0.35
    assert np.array_equal(D.group_split(groups, 0.2, 3)[1], D.group_split(groups, 0.2, 3)[1])
    assert len(D.group_split(groups, 0.0, 0)[1]) == 0


def test_batches_respect_limits_and_epochs_are_reproducible():
    sizes = [3, 5, 8, 2, 9, 4, 4]
    batches = D.make_batches(sizes, range(len(sizes)), batch_size=3, max_atoms=10)
    assert sorted(i for b in batches for i in b) == list(range(len(sizes)))
    assert all(len(b) <= 3 and (sum(sizes[i] for i in b) <= 10 or len(b) == 1) for b in batches)
    assert np.array_equal(D.epoch_order(50, 0, 2), D.epoch_order(50, 0, 2))
    assert not np.array_equal(D.epoch_order(50, 0, 2), D.epoch_order(50, 0, 3))


def test_reference_energies_fit_exactly_on_additive_data(tmp_path):
    mu = {29: -3.5, 28: -4.25, 13: -2.0}
    frames = emt_frames(9)
    for atoms in frames:
        energy = sum(mu[int(z)] for z in atoms.numbers)
        atoms.calc = SinglePointCalculator(
            atoms, energy=energy, forces=np.zeros((len(atoms), 3)), stress=np.zeros(6)
        )
    data = LabeledDataset(D.write_labelled_frames(tmp_path / "add", frames, TEACHER))
    fitted = stats.reference_energies(
        data.arrays["numbers"], data.arrays["num_atoms"], data.arrays["energy"]
    )
    assert fitted == pytest.approx(mu, abs=1e-9)
    trainer = make_trainer(tmp_path / "add", tmp_path / "run", tiny_config(val_fraction=0.0))
    shift = trainer.model.atomic_energy_shift
    assert [float(shift[z]) for z in mu] == pytest.approx(list(mu.values()), abs=1e-5)
    assert trainer.model.species() == sorted(mu)
    assert float(trainer.model.atomic_energy_scale[29]) == 1.0  # zero forces: no scaling
    expected = stats.average_num_neighbors(trainer.data.train_graphs)
    assert trainer.model.config.avg_num_neighbors == pytest.approx(expected)


def test_loss_decreases(dataset, tmp_path):
    losses = []
    config = tiny_config(val_fraction=0.0, max_epochs=8, checkpoint_every=1000, lr=0.02)
    train(dataset, tmp_path / "run", config, callbacks=[lambda t: losses.append(t.last_terms)])
    assert len(losses) == 40
    first = np.mean([t["loss"] for t in losses[:5]])
    last = np.mean([t["loss"] for t in losses[-5:]])
    assert last < 0.6 * first, (first, last)
    assert (tmp_path / "run" / MODEL).is_file()


def _final(run):
    saved = torch.load(run / CHECKPOINT, weights_only=True)
    history = [
        {k: v for k, v in row.items() if k != "train_seconds"} for row in saved["state"]["history"]
    ]
    return saved, history


class KilledError(RuntimeError):
    pass


def test_killed_and_resumed_run_matches_uninterrupted(dataset, tmp_path):
    config = tiny_config(max_epochs=3, checkpoint_every=3, eval_every=5, val_fraction=0.25)
    reference = train(dataset, tmp_path / "a", config)
    assert reference.stopped_by == "max_epochs" and reference.state.step == 12

    def kill_at_step_7(trainer):
        if trainer.state.step == 7:
            raise KilledError

    with pytest.raises(KilledError):
        train(dataset, tmp_path / "b", config, callbacks=[kill_at_step_7])
    resumed = train(dataset, tmp_path / "b", config)
    assert resumed.steps == 12 - 6  # continued from the checkpoint at step 6
    stopped = train(dataset, tmp_path / "c", apply_values({"max_steps": 5}, config))
    assert stopped.stopped_by == "max_steps" and stopped.state.step == 5
    train(dataset, tmp_path / "c", config)

    saved_a, history_a = _final(tmp_path / "a")
    for run in ("b", "c"):
        saved, history = _final(tmp_path / run)
        assert history == history_a
        for key in ("model", "ema"):
            for name, value in saved_a[key].items():
                assert torch.equal(value, saved[key][name]), (run, key, name)
    a = load_checkpoint(tmp_path / "a" / MODEL)
    b = load_checkpoint(tmp_path / "b" / MODEL)
    assert all(
        torch.equal(x, y)
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert a.metadata["teacher"] == TEACHER["spec"] and a.metadata["dataset"] == "emt"
    assert len(a.metadata["dataset_sha256"]) == 64
    assert a.metadata["training"]["best_step"] in (5, 10, 12)
    for name in ("metrics.csv", "metrics.json", "learning_curve.png"):
        assert (tmp_path / "a" / name).is_file()
    assert "val/all/forces_mae_meV_per_A" in (tmp_path / "a" / "metrics.csv").read_text()


def test_resume_with_a_different_config_is_refused(dataset, tmp_path):
    config = tiny_config(max_steps=1, val_fraction=0.0)
    train(dataset, tmp_path / "run", config)
    with pytest.raises(ValueError, match=r"different configuration \(lr: 0.01 -> 0.001\)"):
        train(dataset, tmp_path / "run", apply_values({"lr": 0.001}, config))
    train(dataset, tmp_path / "run", apply_values({"max_steps": 2}, config))  # allowed


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown training configuration key 'lrr'"):
        apply_values({"lrr": 1})
    with pytest.raises(ValueError, match="unknown model configuration key 'width'"):
        load_config(None, ["model.width=3"])
    with pytest.raises(ValueError, match="batch_size must be int, got 2.5"):
        load_config(None, ["batch_size=2.5"])
    with pytest.raises(ValueError, match=r"val_fraction=1.5 \(must be in \[0, 1\)\)"):
        load_config(None, ["val_fraction=1.5"])
    with pytest.raises(ValueError, match="schedule"):
        load_config(None, ["schedule=linear"])
    with pytest.raises(ValueError, match="expects key=value"):
        parse_assignment("lr")
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\nmodel: {num_layers: 3}\nmax_steps: null\n")
    config = load_config(path, ["ema_decay=0.9"])
    assert (config.lr, config.model, config.ema_decay) == (1e-3, {"num_layers": 3}, 0.9)
    path.write_text("learning_rate: 1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        load_config(path)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")


def test_learning_rate_schedule():
    config = TrainConfig(lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    rates = [learning_rate(step, 110, config) for step in range(110)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))
    assert learning_rate(500, 110, config) == pytest.approx(0.1)


def test_hvp_term_is_zero_for_the_model_own_curvature():
    torch.manual_seed(0)
    model = build_model("nano-xs", num_scalar_channels=8, num_tensor_channels=4, cutoff=3.0)
    model = model.double()
    frames = emt_frames(2)
    graphs = []
    for atoms in frames:
        graph = D.atoms_to_graph(atoms, model.cutoff, dtype=torch.float64)
        graph[D.HVP_VECTOR] = torch.randn(len(atoms), 3, dtype=torch.float64)
        graph[D.HVP_MASK] = torch.ones(1, dtype=torch.float64)
        graphs.append(graph)
    batch = collate(graphs)
    model.eval()
    exact = student_hvp(model, batch, 1e-4).detach()
    output = model(batch)
    batch.update(
        {
            D.TARGET_ENERGY: output["energy"].detach(),
            D.TARGET_FORCES: output["forces"].detach(),
            D.TARGET_STRESS: output["stress"].detach(),
            D.STRESS_MASK: torch.ones(2, dtype=torch.float64),
            D.TARGET_ATOMIC_ENERGIES: torch.zeros(len(batch["positions"]), dtype=torch.float64),
            D.ATOMIC_ENERGIES_MASK: torch.zeros(len(batch["positions"]), dtype=torch.float64),
            D.TARGET_HVP: exact,
        }
    )
    settings = LossSettings(huber_delta=1.0, hvp_step=1e-3)
    loss, terms = distillation_loss(model, batch, output, settings)
    assert set(terms) == {"energy", "forces", "stress", "hvp"}
    assert terms["hvp"] < 1e-8 and float(loss.detach()) < 1e-8  # O(h^2) difference
    batch[D.TARGET_HVP] = exact + 0.1
    _, terms = distillation_loss(model, batch, output, settings)
    assert terms["hvp"] == pytest.approx(0.5 * 0.01, rel=1e-3)
    assert not math.isnan(terms["hvp"])


def test_group_split_with_base_frames_keeps_the_base_split_when_data_grows():
    rng = np.random.default_rng(2)
    base = [f"g{k}" for k in rng.integers(0, 30, size=300)]
    grown = base + [f"g{k}" for k in rng.integers(0, 30, size=50)] + [f"new{k}" for k in range(400)]
    _, base_val = D.group_split(base, 0.1, 7)
    train_index, val_index = D.group_split(grown, 0.1, 7, base_frames=len(base))
    assert np.array_equal(val_index[val_index < len(base)], base_val)
    val_groups = {grown[i] for i in val_index}
    assert not val_groups & {grown[i] for i in train_index}  # groups still never straddle
    new_in_val = sum(1 for g in val_groups if g.startswith("new"))
    assert 15 <= new_in_val <= 70  # about 10 % of the 400 new groups, by hash
    # the same call gives the same split (the hash is stable, not Python's salted hash)
    assert np.array_equal(D.group_split(grown, 0.1, 7, base_frames=300)[1], val_index)


def test_init_from_continues_from_a_checkpoint(dataset, tmp_path):
    first = train(dataset, tmp_path / "first", tiny_config(max_epochs=2, val_fraction=0.2))
    start = load_checkpoint(tmp_path / "first" / MODEL)
    config = tiny_config(
        max_epochs=1, val_fraction=0.2, init_from=str(tmp_path / "first" / MODEL), lr=1e-9
    )
    trainer = make_trainer(dataset, tmp_path / "second", config)
    for name, value in start.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[name], value), name
    assert trainer.statistics["init_from"].endswith(MODEL)
    del first


def test_init_from_grows_the_checkpoint_to_a_higher_angular_order(dataset, tmp_path):
    train(dataset, tmp_path / "first", tiny_config(max_epochs=1, val_fraction=0.2))
    start = load_checkpoint(tmp_path / "first" / MODEL)
    config = tiny_config(
        max_epochs=1,
        val_fraction=0.2,
        init_from=str(tmp_path / "first" / MODEL),
        model={"lmax": 2, "sh_lmax": 2},
    )
    trainer = make_trainer(dataset, tmp_path / "grown", config)
    assert trainer.model.config.lmax == 2
    graph = collate([trainer.data.val_graphs[0]])
    assert torch.allclose(trainer.model(graph)["energy"], start(graph)["energy"], atol=1e-5)
    trainer.fit()
    resumed = make_trainer(
        dataset, tmp_path / "grown", config
    )  # the checkpoint fits the grown model
    assert resumed.state.step == trainer.state.step
    wider = {"num_scalar_channels": 64}
    with pytest.raises(ValueError, match="train a new model"):
        make_trainer(
            dataset, tmp_path / "wider", tiny_config(**{**config.to_dict(), "model": wider})
        )


def test_init_from_refuses_a_model_missing_elements(dataset, tmp_path):
    from nanomlip.models import save_checkpoint

    model = build_model("nano-xs", **TINY["model"])
    model.set_species([29])
    path = save_checkpoint(model, tmp_path / "cu.safetensors")
    with pytest.raises(ValueError, match="does not know atomic numbers"):
        make_trainer(dataset, tmp_path / "run", tiny_config(init_from=str(path)))


def _labelled_batch(model, frames):
    """Batch of ``frames`` with their EMT labels as targets, and the model's output."""
    graphs = []
    for atoms in frames:
        graph = D.atoms_to_graph(atoms, model.cutoff, dtype=torch.float64)
        graph[D.TARGET_ENERGY] = torch.tensor([atoms.get_potential_energy()], dtype=torch.float64)
        graph[D.TARGET_FORCES] = torch.as_tensor(atoms.get_forces(), dtype=torch.float64)
        graph[D.TARGET_STRESS] = torch.as_tensor(
            D.voigt_to_matrix(atoms.get_stress())[None], dtype=torch.float64
        )
        graph[D.STRESS_MASK] = torch.ones(1, dtype=torch.float64)
        graph[D.TARGET_ATOMIC_ENERGIES] = torch.zeros(len(atoms), dtype=torch.float64)
        graph[D.ATOMIC_ENERGIES_MASK] = torch.zeros(len(atoms), dtype=torch.float64)
        graphs.append(graph)
    return graphs


def test_frame_weights_weigh_every_term_by_frame():
    torch.manual_seed(0)
    model = build_model("nano-xs", num_scalar_channels=8, num_tensor_channels=4, cutoff=3.0)
    model = model.double().eval()
    first, second = _labelled_batch(model, emt_frames(2))
    settings = LossSettings(huber_delta=1.0)
    alone = distillation_loss(model, first, model(first), settings)[1]
    both = collate([first, second])
    plain = distillation_loss(model, both, model(both), settings)[1]
    for weights, expected in (([1.0, 0.0], alone), ([3.0, 3.0], plain)):
        first[D.FRAME_WEIGHT] = torch.tensor([weights[0]], dtype=torch.float64)
        second[D.FRAME_WEIGHT] = torch.tensor([weights[1]], dtype=torch.float64)
        batch = collate([first, second])
        terms = distillation_loss(model, batch, model(batch), settings)[1]
        assert terms.keys() == expected.keys()
        for name in expected:
            assert terms[name] == pytest.approx(expected[name], rel=1e-10)
    assert alone["forces"] != pytest.approx(plain["forces"], rel=1e-3)  # the test can fail


def test_category_weights_reach_the_training_graphs(dataset, tmp_path):
    from nanomlip.distill.trainer import load_training_data

    config = tiny_config(category_weights={"rattled": 4.0})
    data = load_training_data(dataset, config, cutoff=3.0)
    categories = data.dataset.arrays["category"][data.train_index]
    weights = [float(graph[D.FRAME_WEIGHT]) for graph in data.train_graphs]
    assert weights == [4.0 if c == "rattled" else 1.0 for c in categories]
    assert all(D.FRAME_WEIGHT not in graph for graph in data.val_graphs)
    with pytest.raises(ValueError, match="no training frame has"):
        load_training_data(dataset, tiny_config(category_weights={"liquid": 2}), cutoff=3.0)
    with pytest.raises(ValueError, match="category_weights"):
        tiny_config(category_weights={"rattled": -1.0})


def test_a_config_saved_before_a_field_existed_is_not_a_difference():
    config = tiny_config()
    saved = config.to_dict()
    del saved["category_weights"]
    assert config.differences(saved) == {}
    assert "category_weights" in tiny_config(category_weights={"bulk": 2.0}).differences(saved)


def test_every_step_chooses_the_allocator_mode_for_its_batch(dataset, tmp_path, monkeypatch):
    from nanomlip.integrations import allocator

    edges = []
    monkeypatch.setattr(allocator, "prepare_for", lambda n: edges.append(n) or False)
    config = tiny_config(val_fraction=0.0, max_epochs=1, checkpoint_every=1000)
    train(dataset, tmp_path / "run", config)
    assert len(edges) == 5
    assert all(isinstance(n, int) and n > 0 for n in edges)
