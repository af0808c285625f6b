"""Active selection against the teacher: specialise a student to one system in rounds.

Round ``r`` (folder ``RUN/round-RR``):

1. **MD** with the current student (the base model in round 0, then the model of round
   ``r - 1``) from every input structure at every temperature, strain and pressure of
   the options; a frame every ``sample_every`` steps is a candidate
   (``candidates.extxyz``). A run that blows up keeps the frames before.
2. **Spot checks**: ``test_frames`` candidates drawn at random are labelled by the teacher
   (``RUN/labels/round-RR-test.extxyz``). The current student's force MAE on them is the
   round's error on *fresh* frames; at or under ``threshold_meV_A`` the loop stops.
3. **Selection** of ``select_frames`` more candidates (:mod:`nanomlip.distill.selection`)
   and their teacher labels (``RUN/labels/round-RR-selected.extxyz``).
4. **Fine-tuning** of the *base* model on every label so far, with replay of its
   distillation data (:func:`nanomlip.distill.finetune.finetune`, folder ``train``; a
   committee trains ``train-m1`` ... with other seeds too). Starting from the base each
   round keeps one consistent reference-energy refit and no drift across rounds.

The loop stops at the threshold, after ``max_rounds`` fine-tunings, or when the next
round would pass ``max_teacher_calls`` or ``max_minutes`` (CPU). The kept model is the
one with the lowest error on fresh frames: every kept model was measured. It is copied
to ``RUN/model.safetensors`` with a card ``RUN/model.md``; ``RUN/specialize.json`` has
every round (errors, teacher calls, CPU seconds).

Resuming after a kill: every phase writes its result atomically and a rerun skips the
phases whose results exist (fine-tuning resumes from its checkpoint). CPU time and
teacher calls of a phase killed half-way are not counted.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from nanomlip.distill import selection as S
from nanomlip.distill.active_labels import frame_errors, label_frames, pooled_force_mae
from nanomlip.distill.config import TrainConfig
from nanomlip.distill.finetune import FinetuneOptions, finetune, replay_root
from nanomlip.distill.run_folder import Phase, read_frames, write_frames, write_json
from nanomlip.models.registry import DEFAULT_MODEL, load_model
from nanomlip.schema import FORCES_MAE

#: Options that may change when a run is resumed (they only decide when it stops).
RUNTIME_OPTIONS = ("max_rounds", "max_teacher_calls", "max_minutes", "threshold_meV_A")
OPTIONS_FILE = "options.json"
#: Options added after runs were made: a run folder without them had these values.
OPTION_DEFAULTS: dict[str, Any] = {"continue_md": False}
RESULT_FILE = "specialize.json"


@dataclass
class SpecializeOptions:
    """Settings of :func:`specialize`.

    Attributes:
        teacher: Teacher spec that labels the selected frames.
        model: Base student (checkpoint or registered name).
        temperatures_K: MD temperatures, K.
        strains: Isotropic linear strains applied to each structure before MD.
        pressures_GPa: NPT (Berendsen) pressures, GPa; empty: NVT (Langevin).
        md_steps: MD steps per condition and round.
        sample_every: Steps between candidate frames.
        timestep_fs: MD time step, fs.
        test_frames: Fresh random frames labelled per round to measure the error.
        select_frames: Frames selected and labelled per round for training.
        method: ``spot``, ``committee`` or ``random`` (:mod:`~nanomlip.distill.selection`).
        committee_size: Members of the committee (``committee`` only).
        threshold_meV_A: Stop when the force MAE on fresh frames is at or under this.
        max_rounds: Most fine-tunings.
        max_teacher_calls: Teacher evaluations allowed in all (``None``: no limit).
        max_minutes: CPU minutes allowed in all (``None``: no limit).
        replay: Share of training frames from the base model's distillation data.
        replay_data: That dataset (``None``: the model's, in this checkout).
        train_steps: Optimizer steps per fine-tuning (about).
        lr: Peak learning rate of the fine-tuning.
        batch_size: Frames per training batch.
        forget_frames: Distillation validation frames for the forgetting figure.
        warm_start: Fine-tune each round from the previous round's model (training
            accumulates over rounds) when the teacher is the base model's own (no
            reference-energy refit); otherwise, or when ``False``, from the base model.
        continue_md: Start each round's MD of a condition from the last frame of the
            previous round's (when that run finished), so that sampling walks on through
            the system as a production run would; ``False``: every round starts again from
            the given structures, and sees only the first ``md_steps`` after them.
        seed: Seed of MD, spot checks, selection and training.
    """

    teacher: str
    model: str = DEFAULT_MODEL
    temperatures_K: list[float] = field(default_factory=lambda: [300.0, 600.0])
    strains: list[float] = field(default_factory=lambda: [0.0])
    pressures_GPa: list[float] = field(default_factory=list)
    md_steps: int = 200
    sample_every: int = 10
    timestep_fs: float = 1.0
    test_frames: int = 4
    select_frames: int = 8
    method: str = "spot"
    committee_size: int = 3
    threshold_meV_A: float = 50.0
    max_rounds: int = 5
    max_teacher_calls: int | None = None
    max_minutes: float | None = None
    replay: float = 0.3
    replay_data: str | None = None
    train_steps: int = 200
    lr: float = 2e-3
    batch_size: int = 4
    forget_frames: int = 50
    warm_start: bool = True
    continue_md: bool = False
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` naming every bad option."""
        checks = [
            (self.method in S.METHODS, f"method must be one of {list(S.METHODS)}"),
            (bool(self.temperatures_K), "give at least one temperature"),
            (all(t > 0 for t in self.temperatures_K), "temperatures must be > 0 K"),
            (all(-0.5 < s < 0.5 for s in self.strains), "strains must be in (-0.5, 0.5)"),
            (self.md_steps >= self.sample_every >= 1, "need md_steps >= sample_every >= 1"),
            (self.test_frames >= 1, "test_frames must be >= 1"),
            (self.select_frames >= 1, "select_frames must be >= 1"),
            (self.method != "committee" or self.committee_size >= 2, "committee_size >= 2"),
            (self.threshold_meV_A > 0, "threshold must be > 0 meV/Å"),
            (self.max_rounds >= 0, "max_rounds must be >= 0"),
            (self.train_steps >= 1, "train_steps must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (0 <= self.replay < 1, "replay must be in [0, 1)"),
        ]
        problems = [why for ok, why in checks if not ok]
        if problems:
            raise ValueError("invalid specialize options: " + "; ".join(problems))

    def conditions(self, num_structures: int) -> list[dict[str, Any]]:
        """Every (structure, temperature, strain, pressure) MD condition, in a fixed order."""
        pressures: list[float | None] = list(self.pressures_GPa) or [None]
        return [
            {"structure": s, "temperature_K": t, "strain": e, "pressure_GPa": p}
            for s in range(num_structures)
            for t in self.temperatures_K
            for e in self.strains
            for p in pressures
        ]


def selection_shortfall(options: SpecializeOptions, num_structures: int) -> str:
    """Why a round cannot select ``select_frames`` frames beside its test frames ('' if it can).

    A round's MD yields ``md_steps // sample_every`` candidates per condition (step 0 is not
    one); the ``test_frames`` are drawn first and never selected again.
    """
    conditions = len(options.conditions(num_structures))
    per_condition = options.md_steps // options.sample_every
    left = conditions * per_condition - options.test_frames
    if left >= options.select_frames:
        return ""
    return (
        f"a round yields {conditions * per_condition} MD candidates ({conditions} condition(s) x "
        f"{per_condition}); after the {options.test_frames} test frames only {max(left, 0)} are "
        f"left to select, fewer than select_frames={options.select_frames}: raise --md-steps, "
        "lower --sample-every or --test-frames, or add temperatures/strains"
    )


# ------------------------------------------------------------------ the phases
def round_folder_name(round_: int) -> str:
    """``round-RR``: the folder of one round in the run folder."""
    return f"round-{round_:02d}"


def strained(atoms: Atoms, strain: float) -> Atoms:
    """A copy with the cell scaled by ``1 + strain`` (atoms move with it)."""
    out = atoms.copy()
    out.set_cell(atoms.cell.array * (1 + strain), scale_atoms=True)
    return out


def run_candidates_md(
    structures: Sequence[Atoms], model: str, options: SpecializeOptions, folder: Path, round_: int
) -> list[Atoms]:
    """Short MD of every condition with ``model``; frames after step 0 are candidates."""
    from nanomlip.integrations.ase_calculator import NanoCalculator
    from nanomlip.md import MDConfig, SimulationError, run_md
    from nanomlip.md.io import trajectory_path

    calculator = NanoCalculator(model=model)
    candidates: list[Atoms] = []
    for index, condition in enumerate(options.conditions(len(structures))):
        npt = condition["pressure_GPa"] is not None
        config = MDConfig(
            ensemble="npt-berendsen" if npt else "nvt-langevin",
            temperature_K=condition["temperature_K"],
            pressure_GPa=condition["pressure_GPa"] or 0.0,
            timestep_fs=options.timestep_fs,
            steps=options.md_steps,
            seed=options.seed * 1000 + round_ * 100 + index,
            traj_every=options.sample_every,
            log_every=options.sample_every,
        )
        atoms = strained(structures[condition["structure"]], condition["strain"])
        if options.continue_md and round_ > 0:
            previous = folder.parent / round_folder_name(round_ - 1)
            atoms = _last_finished_frame(previous, index, options) or atoms
        out_dir = folder / "md" / f"condition-{index:02d}"
        # a blow-up keeps the frames written before it: the most useful ones
        with contextlib.suppress(SimulationError):
            run_md(atoms, config, out_dir, calculator=calculator)
        path = trajectory_path(out_dir, "extxyz")
        frames = read_frames(path) if path.is_file() else []
        for frame in frames[1:]:
            candidates.append(_bare(frame, {"condition": index, "md_step": frame.info["step"]}))
    if not candidates:
        raise ValueError("no MD frames: every run failed before its first sample")
    return candidates


def _last_finished_frame(previous: Path, index: int, options: SpecializeOptions) -> Atoms | None:
    """The last frame of condition ``index`` in the ``previous`` round, if its MD finished."""
    from nanomlip.md.io import trajectory_path

    path = trajectory_path(previous / "md" / f"condition-{index:02d}", "extxyz")
    frames = read_frames(path) if path.is_file() else []
    if not frames or int(frames[-1].info.get("step", -1)) < options.md_steps:
        return None  # a blown-up (or missing) run: start again from the structure
    last = frames[-1]
    return Atoms(numbers=last.numbers, positions=last.positions, cell=last.cell, pbc=last.pbc)


def _bare(atoms: Atoms, info: dict[str, Any]) -> Atoms:
    out = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    out.info.update(info)
    return out


def train_round(
    run: Path,
    folder: Path,
    options: SpecializeOptions,
    member: int,
    replay_data: str | None,
    start: str,
) -> Path:
    """Fine-tune ``start`` on every label so far; returns the model file."""
    labels = run / "labels"
    count = len([f for p in sorted(labels.glob("*.extxyz")) for f in read_frames(p)])
    replay = round(options.replay / (1 - options.replay) * count) if options.replay else 0
    batches = math.ceil((count + replay) / options.batch_size)
    config = TrainConfig(
        max_epochs=max(1, math.ceil(options.train_steps / batches)),
        lr=options.lr,
        warmup_steps=min(10, options.train_steps // 5),
        batch_size=options.batch_size,
        seed=options.seed + member,
        progress=False,
        checkpoint_every=50,
    )
    finetune_options = FinetuneOptions(
        model=start,
        replay=options.replay,
        replay_data=replay_data,
        source=options.teacher,
        holdout=0.0,
        forget_frames=options.forget_frames if member == 0 else 0,
        seed=options.seed + member,
        check_units=False,
    )
    out = folder / ("train" if member == 0 else f"train-m{member}")
    finetune(labels, out, finetune_options, config)
    return out / "model.safetensors"


# ------------------------------------------------------------------ the loop
def _check_options(run: Path, options: SpecializeOptions) -> None:
    """Save the options on the first start; a resumed run must repeat them."""
    path = run / OPTIONS_FILE
    mine = asdict(options)
    if not path.is_file():
        write_json(path, mine)
        return
    saved = json.loads(path.read_text())
    changed = [
        f"{k}: {saved.get(k)!r} -> {mine[k]!r}"
        for k in mine
        if k not in RUNTIME_OPTIONS and saved.get(k, OPTION_DEFAULTS.get(k)) != mine[k]
    ]
    if changed:
        raise ValueError(
            f"{str(run)!r} holds a specialize run with other options ({'; '.join(changed)}); "
            "rerun with the same options to resume, or choose another --out"
        )


def _budget_left(history: list[dict[str, Any]], options: SpecializeOptions) -> str:
    """Why the next round may not start (empty: it may)."""
    calls = sum(r["teacher_calls"] for r in history)
    cpu_min = sum(r["cpu_s"] for r in history) / 60
    per_round = options.test_frames + options.select_frames
    if options.max_teacher_calls is not None and calls + per_round > options.max_teacher_calls:
        return "max_teacher_calls"
    if options.max_minutes is not None and cpu_min >= options.max_minutes:
        return "max_minutes"
    return ""


@dataclass
class _Run:
    """What every round of one run shares.

    Attributes:
        folder: The run folder.
        structures: The input structures.
        teacher: The loaded teacher.
        options: The options.
        replay_data: The distillation dataset replayed (``None``: no replay).
        warm_start: Whether rounds start from the previous round's model.
    """

    folder: Path
    structures: Sequence[Atoms]
    teacher: Any
    options: SpecializeOptions
    replay_data: str | None
    warm_start: bool


def run_round(
    ctx: _Run, round_: int, current: str, committee: Sequence[str], train: bool
) -> dict[str, Any]:
    """One round (see the module docstring); ``train=False`` stops after the spot checks."""
    from nanomlip.integrations.ase_calculator import NanoCalculator

    run, options, teacher = ctx.folder, ctx.options, ctx.teacher
    folder = run / round_folder_name(round_)
    labels = run / "labels"
    rng = np.random.default_rng([options.seed, round_])
    if not Phase(folder, "md").done():
        with Phase(folder, "md"):
            frames = run_candidates_md(ctx.structures, current, options, folder, round_)
            write_frames(folder / "candidates.extxyz", frames)
    candidates = read_frames(folder / "candidates.extxyz")
    spot = sorted(rng.choice(len(candidates), min(options.test_frames, len(candidates)), False))
    student = NanoCalculator(model=current)
    test_path = labels / f"round-{round_:02d}-test.extxyz"
    if not Phase(folder, "spot_checks").done():
        with Phase(folder, "spot_checks"):
            write_frames(test_path, label_frames(teacher, [candidates[i] for i in spot], student))
    test = read_frames(test_path)
    row: dict[str, Any] = {
        "round": round_,
        "model": current,
        "n_candidates": len(candidates),
        "fresh_frames": len(test),
        "fresh_force_mae_meV_A": pooled_force_mae(test),
        "fresh_energy_mae_meV_atom": float(
            np.mean([abs(f.info["student_energy_error_meV_atom"]) for f in test])
        ),
    }
    if train and row["fresh_force_mae_meV_A"] > options.threshold_meV_A:
        start = current if ctx.warm_start else options.model
        picked = S.choose_frames(
            candidates, spot, test, committee, options.method, options.select_frames, rng
        )
        row.update(_train_phases(ctx, folder, candidates, picked, student, test, start))
    phases = json.loads((folder / "phases.json").read_text())
    row["teacher_calls"] = len(test) + row.get("selected_frames", 0)
    row["cpu_s"] = sum(p["cpu_s"] for p in phases.values())
    row["phases"] = phases
    return row


def _train_phases(
    ctx: _Run,
    folder: Path,
    candidates: Sequence[Atoms],
    picked: tuple[list[int], str],
    student: Any,
    test: Sequence[Atoms],
    start: str,
) -> dict[str, Any]:
    """Labelling of the picked frames and fine-tuning; returns their part of the row."""
    run, options = ctx.folder, ctx.options
    selected_path = run / "labels" / f"{folder.name}-selected.extxyz"
    if not Phase(folder, "selection").done():
        with Phase(folder, "selection"):
            chosen, method = picked
            frames = label_frames(ctx.teacher, [candidates[i] for i in chosen], student)
            for frame in frames:
                frame.info["selected_by"] = method
            write_frames(selected_path, frames)
    selected = read_frames(selected_path)
    training = Phase(folder, "training")
    if not training.done():
        members = options.committee_size if options.method == "committee" else 1
        with training:
            training.info["models"] = [
                str(train_round(run, folder, options, m, ctx.replay_data, start))
                for m in range(members)
            ]
    models = (training.done() or {})["models"]
    report_path = Path(models[0]).with_name("finetune_report.json")
    forgetting = (
        json.loads(report_path.read_text()).get("forgetting") if report_path.is_file() else None
    )
    return {
        "forgetting_force_mae_meV_A": None
        if not forgetting
        else [forgetting[k][FORCES_MAE] for k in ("before", "after")],
        "selected_frames": len(selected),
        "selected_by": str(selected[0].info.get("selected_by")) if selected else None,
        "selected_force_mae_meV_A": pooled_force_mae(selected) if selected else None,
        "selection_gain": S.selection_gain(frame_errors(selected), frame_errors(test)),
        "trained_model": models[0],
        "committee": models,
    }


def read_structures(paths: Sequence[str | os.PathLike], supercell: str | None) -> list[Atoms]:
    """The input structures (any format ASE reads), repeated by ``supercell`` if given."""
    from nanomlip.md import make_supercell, read_structure

    if not paths:
        raise ValueError("give at least one structure file")
    return [make_supercell(read_structure(Path(p)), supercell) for p in paths]


def specialize(
    structures: Sequence[Atoms],
    run: str | os.PathLike,
    options: SpecializeOptions,
    command: str | None = None,
) -> dict[str, Any]:
    """Specialise ``options.model`` to ``structures`` against ``options.teacher``.

    Args:
        structures: The system's starting structures.
        run: Run folder (a rerun with the same options resumes it).
        options: See :class:`SpecializeOptions`.
        command: The command line, for the card.

    Returns:
        The result (also ``RUN/specialize.json``): rounds, the kept model, why it stopped.

    Raises:
        ValueError: Bad options, a run folder with other options, unknown elements.
    """
    from nanomlip.teachers.spec import load_teacher

    options.validate()
    shortfall = selection_shortfall(options, len(structures))
    if shortfall:
        warnings.warn(shortfall, stacklevel=2)
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    _check_options(run, options)
    teacher = load_teacher(options.teacher)
    for atoms in structures:
        teacher.check_elements(atoms)
    base = load_model(options.model)
    replay_data = options.replay_data
    if options.replay and replay_data is None:
        replay_data = str(replay_root(base, FinetuneOptions(model=options.model)))
    warm = options.warm_start and (base.metadata or {}).get("teacher") == options.teacher
    ctx = _Run(run, structures, teacher, options, replay_data, warm)
    history: list[dict[str, Any]] = []
    committee: list[str] = []
    current, stopped_by = options.model, "max_rounds"
    for round_ in range(options.max_rounds + 1):
        reason = _budget_left(history, options)
        train = round_ < options.max_rounds and not reason
        row = run_round(ctx, round_, current, committee, train)
        history.append(row)
        write_json(run / RESULT_FILE, {"rounds": history, "finished": False})
        if row["fresh_force_mae_meV_A"] <= options.threshold_meV_A:
            stopped_by = "threshold"
            break
        if not train:
            stopped_by = reason or "max_rounds"
            break
        current, committee = row["trained_model"], row["committee"]
    from nanomlip.distill.specialize_report import finish

    return finish(run, structures, teacher, options, history, stopped_by, command)


def option_fields() -> list[str]:
    """Names of the :class:`SpecializeOptions` fields (for the command line)."""
    return [f.name for f in fields(SpecializeOptions)]
