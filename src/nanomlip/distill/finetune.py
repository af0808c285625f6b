r"""Fine-tuning a trained student on data a user brings (DFT or a teacher), with replay.

One run folder ``RUN`` holds, besides the trainer's files (``model.safetensors``,
``checkpoint_last.pt``, ``metrics.csv``, ...):

========================  ===================================================================
File                      Content
========================  ===================================================================
``init.safetensors``      the starting model, reference energies refit to the new data
``data/``                 training dataset: the user's training frames and the replay frames
``heldout/``              the user's held-out frames (never trained on)
``forget/``               distillation validation frames (the forgetting figure)
``prepared.json``         what preparation did (counts, refit energies); present = done
``finetune_report.json``  before/after errors on ``heldout/`` and ``forget/`` (also ``.md``)
========================  ===================================================================

Reference energies. Another level of theory (a DFT code, another functional) puts the
zero of energy elsewhere for every element. With ``refit_references`` the per-element
shifts ``\Delta\mu_Z`` that best explain ``E_label - E_model`` on the user's training
frames (least squares) are added to the model's ``atomic_energy_shift``, and the replay
frames' energies move by ``\sum_i \Delta\mu_{Z_i}`` so that both sets sit on the new
reference; forces and stress do not change. The forgetting figure compares energies on
the teacher's reference (``\Delta\mu`` taken back out).

A killed run resumes: preparation is skipped once ``prepared.json`` exists, and the
trainer continues from its checkpoint.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from nanomlip.data.store import MANIFEST, LabeledDataset, read_manifest
from nanomlip.distill import data as D
from nanomlip.distill.config import TrainConfig, apply_values
from nanomlip.distill.evaluate import evaluate, split_indices
from nanomlip.distill.run_folder import write_json
from nanomlip.distill.stats import reference_energies
from nanomlip.distill.trainer import MODEL, make_trainer
from nanomlip.distill.user_data import check_consistent_units, read_labelled_frames
from nanomlip.models.checkpoint import load_checkpoint, save_checkpoint, training_datasets
from nanomlip.models.nano import NanoModel
from nanomlip.models.registry import DEFAULT_MODEL, load_model
from nanomlip.schema import ENERGY_MAE, FORCES_MAE, STRESS_MAE, ErrorMetrics

INIT_MODEL = "init.safetensors"
PREPARED = "prepared.json"
REPORT = "finetune_report"
#: Repository root of a source checkout, where ``datasets/<name>`` may hold replay data.
REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
USER_CATEGORY = "user"
REPLAY_CATEGORY = "replay"


@dataclass
class FinetuneOptions:
    """What ``nanomlip finetune`` does besides training.

    Attributes:
        model: Starting model: checkpoint path or registered name.
        replay: Share of the training frames drawn from the distillation data, in [0, 1).
        replay_data: Distillation dataset to replay from (``None``: ``datasets/<name>``
            of the model's metadata in this source checkout, the first of several).
        refit_references: Refit per-element reference energies to the new data; ``None``
            does it when the data's source differs from the model's teacher.
        source: Name of the data's level of theory (provenance), e.g. ``vasp-pbe``;
            ``None``: the dataset's teacher spec, or ``user`` for files.
        holdout: Fraction of the user's frames (whole groups) held out for the report.
        forget_frames: Distillation validation frames in the forgetting figure (0: none).
        seed: Seed of the hold-out split and the replay draw.
        check_units: Reject frames whose labels are out of scale with the others.
    """

    model: str = DEFAULT_MODEL
    replay: float = 0.5
    replay_data: str | None = None
    refit_references: bool | None = None
    source: str | None = None
    holdout: float = 0.2
    forget_frames: int = 200
    seed: int = 0
    check_units: bool = True

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad option."""
        if not 0 <= self.replay < 1:
            raise ValueError(f"replay must be in [0, 1), got {self.replay}")
        if not 0 <= self.holdout < 1:
            raise ValueError(f"holdout must be in [0, 1), got {self.holdout}")
        if self.forget_frames < 0:
            raise ValueError(f"forget_frames must be >= 0, got {self.forget_frames}")


# ------------------------------------------------------------------ preparation
def data_source(data: str | os.PathLike, options: FinetuneOptions) -> dict[str, Any]:
    """Provenance of the user's data: the dataset's teacher, ``options.source`` or ``user``."""
    if options.source:
        return {"spec": options.source}
    manifest_path = Path(data) / MANIFEST
    if manifest_path.is_file():
        return dict(read_manifest(Path(data)).get("teacher") or {"spec": "user"})
    return {"spec": "user"}


def split_user_frames(
    frames: Sequence[Atoms], holdout: float, seed: int
) -> tuple[list[Atoms], list[Atoms]]:
    """``(train, heldout)`` by whole ``info["group"]`` (ungrouped frames stand alone)."""
    groups = [str(atoms.info.get("group", "")) for atoms in frames]
    train, held = D.group_split(groups, holdout, seed)
    return [frames[i] for i in train], [frames[i] for i in held]


def fit_reference_shift(model: NanoModel, frames: Sequence[Atoms]) -> dict[int, float]:
    """Per-element ``Delta mu_Z`` (eV) that best explain ``E_label - E_model`` (least squares)."""
    from nanomlip.integrations.ase_calculator import NanoCalculator

    calculator = NanoCalculator(model=model, dtype="float64")
    residuals = []
    for atoms in frames:
        probe = atoms.copy()
        probe.calc = calculator
        residuals.append(atoms.calc.results["energy"] - probe.get_potential_energy())
    numbers = np.concatenate([atoms.numbers for atoms in frames])
    counts = np.asarray([len(atoms) for atoms in frames])
    return reference_energies(numbers, counts, np.asarray(residuals))


def shifted_model(model: NanoModel, shift: dict[int, float], sign: float = 1.0) -> NanoModel:
    """A copy of ``model`` with ``sign * shift[Z]`` added to its reference energies."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        for z, value in shift.items():
            out.atomic_energy_shift[z] += sign * value
    return out


def replay_root(model: NanoModel, options: FinetuneOptions) -> Path:
    """The distillation dataset to replay from; raises with advice when there is none."""
    if options.replay_data:
        root = Path(options.replay_data)
    else:
        # a model trained on several datasets replays its primary one, the first named
        names = training_datasets(model.metadata or {})
        name = names[0] if names else None
        root = REPOSITORY_ROOT / "datasets" / str(name)
        if not name or not (root / MANIFEST).is_file():
            raise FileNotFoundError(
                f"the distillation data of the model ({name!r}) is not at {str(root)!r}; "
                "pass --replay-data DIR, or --replay 0 to fine-tune without replay"
            )
    if not root.exists():
        raise FileNotFoundError(f"replay dataset {str(root)!r} does not exist")
    return root


#: Where the forgetting frames came from (``prepared.json``'s ``forget_source``).
FORGET_FROM_VALIDATION = "the base model's validation split"
FORGET_FROM_UNREPLAYED = (
    "distillation frames not replayed here (the base model has no validation split, "
    "so it may have trained on them: the figure is a drift, not a held-out error)"
)


def draw_replay(
    model: NanoModel, root: Path, count: int, forget: int, seed: int
) -> tuple[list[Atoms], list[Atoms], str]:
    """``count`` frames of the distillation training split, ``forget`` others, and their source.

    The forgetting frames come from the validation split the model was trained with (its
    metadata), so they were never trained on, before or now. A model without one (e.g. a
    fine-tune whose held-out frames were the user's) gets frames that this fine-tune does
    not replay, and the source says so.
    """
    dataset = LabeledDataset(root)
    metadata = model.metadata or {}
    try:
        val = split_indices(dataset, "val", metadata)
    except ValueError:
        val = np.zeros(0, dtype=int)
    train = np.setdiff1d(np.arange(len(dataset)), val)
    # two generators: the forgetting frames do not depend on how many frames are replayed
    replay_rng, forget_rng = (np.random.default_rng([seed, stream]) for stream in (14, 15))
    none = np.zeros(0, dtype=int)
    picked = replay_rng.choice(train, size=min(count, len(train)), replace=False) if count else none
    source = FORGET_FROM_VALIDATION
    if not len(val):
        val, source = np.setdiff1d(train, picked), FORGET_FROM_UNREPLAYED
    held = forget_rng.choice(val, size=min(forget, len(val)), replace=False) if forget else none
    return (
        [dataset.atoms(int(i)) for i in sorted(picked)],
        [dataset.atoms(int(i)) for i in sorted(held)],
        source,
    )


def relabelled(frames: Sequence[Atoms], shift: dict[int, float], category: str) -> list[Atoms]:
    """Copies with ``sum_i shift[Z_i]`` added to the energy and ``category`` set."""
    out = []
    for atoms in frames:
        copy_ = atoms.copy()
        results = dict(atoms.calc.results)
        offset = float(sum(shift.get(int(z), 0.0) for z in atoms.numbers))
        results["energy"] = results["energy"] + offset
        results["free_energy"] = results["energy"]
        if "energies" in results:  # per-atom teacher energies take the same shift, atom by atom
            per_atom = np.asarray([shift.get(int(z), 0.0) for z in atoms.numbers])
            results["energies"] = np.asarray(results["energies"]) + per_atom
        copy_.calc = SinglePointCalculator(copy_, **results)
        copy_.info["category"] = category
        group = str(atoms.info.get("group", ""))
        copy_.info["group"] = f"{category}:{group}" if group else ""
        out.append(copy_)
    return out


def prepare(data: str | os.PathLike, out: Path, options: FinetuneOptions) -> dict[str, Any]:
    """Read and check the data, refit references, draw replay frames; write the folders.

    Returns:
        The content of ``prepared.json`` (also when it existed already).
    """
    if (out / PREPARED).is_file():
        return json.loads((out / PREPARED).read_text())
    options.validate()
    model = load_model(options.model)
    frames = read_labelled_frames(data, model.species())
    # A nanomlip dataset is in eV and eV/Å by the store's contract; its relaxed frames have
    # forces far below a poor model's, which the heuristic would take for other units.
    if options.check_units and not (Path(data) / MANIFEST).is_file():
        check_consistent_units(frames, _predictor(model))
    source = data_source(data, options)
    teacher = (model.metadata or {}).get("teacher")
    refit = options.refit_references
    if refit is None:
        refit = source.get("spec") != teacher
    train, held = split_user_frames(frames, options.holdout, options.seed)
    shift = fit_reference_shift(model, train) if refit else {}
    count = round(options.replay / (1 - options.replay) * len(train)) if options.replay else 0
    replay: list[Atoms] = []
    forget: list[Atoms] = []
    root: Path | None = None
    forget_source = None
    if count or options.forget_frames:
        try:
            root = replay_root(model, options)
        except FileNotFoundError:
            if count:
                raise
            root = None
        if root is not None:
            replay, forget, forget_source = draw_replay(
                model, root, count, options.forget_frames, options.seed
            )
    for name in ("data", "heldout", "forget"):
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(shifted_model(model, shift), out / INIT_MODEL)
    training = relabelled(train, {}, USER_CATEGORY) + relabelled(replay, shift, REPLAY_CATEGORY)
    D.write_labelled_frames(out / "data", training, source)
    if held:
        D.write_labelled_frames(out / "heldout", relabelled(held, {}, USER_CATEGORY), source)
    if forget:
        D.write_labelled_frames(out / "forget", forget, {"spec": teacher})
    prepared = {
        "model": options.model,
        "data": str(data),
        "source": source,
        "model_teacher": teacher,
        "refit_references": bool(refit),
        "reference_shift_eV": {str(z): v for z, v in shift.items()},
        "n_user_frames": len(frames),
        "n_train_user": len(train),
        "n_heldout": len(held),
        "n_replay": len(replay),
        "n_forget": len(forget),
        "forget_source": forget_source if forget else None,
        "replay_dataset": root.name if root is not None else None,
        "model_dataset": (model.metadata or {}).get("dataset"),
        "options": asdict(options),
    }
    write_json(out / PREPARED, prepared)
    return prepared


def _predictor(model: NanoModel):
    from nanomlip.integrations.ase_calculator import NanoCalculator

    calculator = NanoCalculator(model=model)

    def predict(atoms: Atoms) -> tuple[float, np.ndarray]:
        probe = atoms.copy()
        probe.calc = calculator
        return float(probe.get_potential_energy()), np.asarray(probe.get_forces())

    return predict


# ------------------------------------------------------------------ training and report
def finetuned_provenance(prepared: dict[str, Any]) -> dict[str, str | None]:
    """``dataset``, ``dataset_sha256`` and ``notes`` of a fine-tuned model's metadata.

    The recorded dataset is the one a later fine-tune of this model replays: the data
    itself when it is a nanomlip distillation dataset of the model's teacher (its frames
    are in ``datasets/``; then with its hash), otherwise the starting model's distillation
    data (the hash is then the run's training mix, the trainer's default).
    """
    data = Path(prepared["data"])
    own = (data / MANIFEST).is_file() and prepared["source"].get("spec") == prepared[
        "model_teacher"
    ]
    replayed = prepared.get("replay_dataset")
    notes = f"fine-tuned from {prepared['model']} on {data.name}" + (
        f" with {prepared['n_replay']} frames replayed from {replayed}" if replayed else ""
    )
    if own:
        return {"dataset": data.name, "dataset_sha256": D.dataset_sha256(data), "notes": notes}
    dataset = replayed or prepared.get("model_dataset")
    return {"dataset": dataset, "dataset_sha256": None, "notes": notes}


def finetune_config(config: TrainConfig, out: Path) -> TrainConfig:
    """The trainer configuration: ``config`` starting from ``init.safetensors``.

    ``val_fraction`` is 0 (the held-out frames are chosen by ``holdout`` and reported
    apart) and ``model`` overrides are kept (they grow the starting model).
    """
    return apply_values({"init_from": str(out / INIT_MODEL), "val_fraction": 0.0}, config)


def check_category_weights(config: TrainConfig | None) -> None:
    """Fail before any work when ``category_weights`` names other than ``user`` / ``replay``.

    A fine-tune trains the data's frames as category ``user`` and the replayed frames as
    ``replay``, whatever categories they had (the report compares the two).

    Raises:
        ValueError: Another category is named; the message says how to weight those.
    """
    named = set(config.category_weights) if config else set()
    other = sorted(named - {USER_CATEGORY, REPLAY_CATEGORY})
    if other:
        raise ValueError(
            f"category_weights names {other}, but a fine-tune trains every frame of the data "
            f"as {USER_CATEGORY!r} and every replayed frame as {REPLAY_CATEGORY!r}: weight "
            "those two, or weight a dataset's own categories with `nanomlip distill --data "
            "DATASET --set init_from=MODEL --set val_fraction=0 --set category_weights=...`"
        )


def finetune(
    data: str | os.PathLike,
    out: str | os.PathLike,
    options: FinetuneOptions | None = None,
    config: TrainConfig | None = None,
) -> dict[str, Any]:
    """Fine-tune ``options.model`` on ``data``; resumes a killed run in ``out``.

    Args:
        data: Labelled frames (see :func:`~nanomlip.distill.user_data.read_labelled_frames`).
        out: Run folder.
        options: Fine-tuning options (default: :class:`FinetuneOptions`).
        config: Trainer options (``max_steps``, ``lr``, ``freeze_layers``, ...).

    Returns:
        The before/after report (also in ``out/finetune_report.json``).

    Raises:
        FileNotFoundError: Data, model or replay data missing.
        ValueError: Bad data (the frame is named) or options.
    """
    options = options or FinetuneOptions()
    out = Path(out)
    check_category_weights(config)
    prepared = prepare(data, out, options)
    trainer = make_trainer(out / "data", out, finetune_config(config or TrainConfig(), out))
    result = trainer.fit()
    trainer.export(out / MODEL, **finetuned_provenance(prepared))
    report = before_after_report(out, prepared)
    report["training"] = {
        "stopped_by": result.stopped_by,
        "steps": trainer.state.step,
        "train_seconds": trainer.state.train_seconds,
        "frozen_parameters": sum(
            p.numel() for p in trainer.model.parameters() if not p.requires_grad
        ),
    }
    write_json(out / f"{REPORT}.json", report)
    (out / f"{REPORT}.md").write_text(report_markdown(report))
    return report


def _overall(model: Any, data: Path) -> ErrorMetrics:
    return evaluate(model, data, split="all", dtype="float64").report["overall"]


def before_after_report(out: Path, prepared: dict[str, Any]) -> dict[str, Any]:
    """Errors of the starting and fine-tuned models on the held-out and forgetting frames."""
    shift = {int(z): v for z, v in prepared["reference_shift_eV"].items()}
    before = load_model(prepared["model"])
    after = load_checkpoint(out / MODEL)
    report: dict[str, Any] = {"prepared": prepared}
    if (out / "heldout" / MANIFEST).is_file():
        report["heldout"] = {
            "before": _overall(before, out / "heldout"),
            "before_refit": _overall(out / INIT_MODEL, out / "heldout"),
            "after": _overall(after, out / "heldout"),
        }
    if (out / "forget" / MANIFEST).is_file():
        report["forgetting"] = {
            "before": _overall(before, out / "forget"),
            "after": _overall(shifted_model(after, shift, -1.0), out / "forget"),
        }
    return report


def report_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table (energy meV/atom, forces meV/Å, stress GPa)."""
    prepared = report["prepared"]
    lines = [
        f"# Fine-tuning report: {prepared['model']} on {prepared['data']}",
        "",
        f"Source: `{prepared['source'].get('spec')}`; model teacher: "
        f"`{prepared['model_teacher']}`; reference energies refit: "
        f"{prepared['refit_references']}. Frames: {prepared['n_train_user']} user training, "
        f"{prepared['n_heldout']} user held-out, {prepared['n_replay']} replay, "
        f"{prepared['n_forget']} forgetting"
        + (f" ({prepared['forget_source']})." if prepared.get("forget_source") else "."),
        "",
        "| frames | model | E MAE (meV/atom) | F MAE (meV/Å) | S MAE (GPa) |",
        "|---|---|---|---|---|",
    ]
    for section, title in (("heldout", "user held-out"), ("forgetting", "distillation val")):
        for name, overall in (report.get(section) or {}).items():
            lines.append(
                f"| {title} | {name} | {_cell(overall[ENERGY_MAE])} | "
                f"{_cell(overall[FORCES_MAE])} | "
                f"{_cell(overall.get(STRESS_MAE), 3)} |"
            )
    if "training" in report:
        training = report["training"]
        lines += [
            "",
            f"Training: {training['steps']} steps in {training['train_seconds']:.1f} s "
            f"(stopped by {training['stopped_by']}), {training['frozen_parameters']} "
            "frozen parameters.",
        ]
    return "\n".join(lines) + "\n"


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
