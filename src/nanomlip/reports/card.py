r"""Model cards: one Markdown page per shipped model, built only from measured results.

Every figure in a card is read from a file that a command wrote (``nanomlip eval``,
``nanomlip bench eos``, ``nanomlip bench speed``, the run folder of ``nanomlip distill``),
and the card prints that command beside the figure, so a reader can reproduce it::

    nanomlip card src/nanomlip/pretrained/nano-5.0.safetensors \\
        --run runs/nano-5.0-v2 --eval benchmarks/fidelity/nano-5.0/eval.json \\
        --eos benchmarks/eos/nano-5.0/eos.json --speed benchmarks/speed.json \\
        --out src/nanomlip/pretrained/nano-5.0.md
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanomlip.bench.speed_report import format_ratio
from nanomlip.models.checkpoint import model_metadata
from nanomlip.models.nano import NanoModel, node_irreps
from nanomlip.schema import ENERGY_MAE, ENERGY_RMSE, FORCES_MAE, FORCES_RMSE, STRESS_MAE

#: Metric keys of ``nanomlip eval`` reports, with their column titles.
FIDELITY_COLUMNS = {
    "n_frames": "frames",
    ENERGY_MAE: "E MAE (meV/atom)",
    ENERGY_RMSE: "E RMSE (meV/atom)",
    FORCES_MAE: "F MAE (meV/Å)",
    FORCES_RMSE: "F RMSE (meV/Å)",
    STRESS_MAE: "S MAE (GPa)",
}


@dataclass
class CardInputs:
    """The measured results a card is built from.

    Attributes:
        name: Model name (the file stem of the shipped weights).
        model: The model, with its checkpoint metadata.
        evaluation: ``eval.json`` of ``nanomlip eval --split val`` on the training dataset.
        eos: ``eos.json`` of ``nanomlip bench eos`` with the student and its teacher.
        speed: JSON of ``nanomlip bench speed`` (optional).
        run_metrics: ``{run folder: metrics.json rows}`` of the training runs, the earliest
            first when a run continued (``init_from``) from another (optional).
        dataset_summary: :meth:`LabeledDataset.summary` of the training data (optional).
        student_label: Label of this model in ``eos`` and ``speed``.
        notes: Markdown of further measured findings (known limitations), each with the
            command that made it; printed under its own heading.
        command: The ``nanomlip card`` command that writes this card.
    """

    name: str
    model: NanoModel
    evaluation: dict[str, Any]
    eos: dict[str, Any]
    speed: dict[str, Any] | None = None
    run_metrics: dict[str, list[dict[str, Any]]] | None = None
    dataset_summary: dict[str, Any] | None = None
    student_label: str | None = None
    notes: str | None = None
    command: str | None = None


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file, with a clear error naming the file when it is missing or broken."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist; run the command that writes it")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(path)!r} is not valid JSON: {error}") from error


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _metrics_row(label: str, metrics: dict[str, Any]) -> str:
    return f"| {label} | " + " | ".join(_number(metrics.get(k)) for k in FIDELITY_COLUMNS) + " |"


def _metrics_header(first: str) -> list[str]:
    return [
        f"| {first} | " + " | ".join(FIDELITY_COLUMNS.values()) + " |",
        "|---" * (len(FIDELITY_COLUMNS) + 1) + "|",
    ]


def architecture_section(model: NanoModel) -> str:
    """Hyper-parameters, feature irreps and parameter count."""
    config = model.config
    rows = [
        ("cutoff", f"{config.cutoff} Å"),
        ("interaction blocks", str(config.num_layers)),
        ("node features", str(node_irreps(config))),
        ("edge spherical harmonics", f"l ≤ {config.sh_lmax}"),
        ("radial basis", f"{config.num_basis} Bessel × envelope (p = {config.envelope_p})"),
        ("radial MLP / readout width", f"{config.radial_hidden} / {config.readout_hidden}"),
        (
            "radial weights",
            "of length and both elements" if config.species_pair_radial else "of length only",
        ),
        ("bond-angle products of the summed message", "yes" if config.message_products else "no"),
        (
            "self-connection",
            "per element (NequIP)" if config.species_self_connection else "shared by all elements",
        ),
        ("average neighbours (normalisation)", f"{config.avg_num_neighbors:.2f}"),
        ("elements", f"{len(model.species())}"),
        ("parameters", f"{model.num_parameters():,}"),
    ]
    lines = ["| | |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def data_section(metadata: dict[str, Any], summary: dict[str, Any] | None) -> str:
    """Teacher, dataset identity and its composition."""
    lines = [
        f"- Teacher: `{metadata.get('teacher')}` ({metadata.get('teacher_version', 'version ?')})",
        f"- Dataset: `{metadata.get('dataset')}` (sha256 `{metadata.get('dataset_sha256', '?')}`)",
    ]
    if summary:
        lines.append(
            f"- {summary['n_frames']:,} frames, {summary['n_atoms']:,} atoms, "
            f"{summary['n_elements']} elements, {summary['n_groups']:,} structure groups"
        )
        categories = ", ".join(f"{k} {v:,}" for k, v in summary["categories"].items())
        lines.append(f"- Frames per category: {categories}")
    return "\n".join(lines)


def training_section(metadata: dict[str, Any], runs: dict[str, list[dict[str, Any]]] | None) -> str:
    """Steps, epochs, wall time of every run in the lineage, and the final run's options."""
    training = metadata.get("training") or {}
    config = training.get("config") or {}
    lines = [
        f"- Steps {_number(training.get('step'))} (epoch {_number(training.get('epoch'))}); "
        "weights are the EMA at the step with the best validation score "
        f"({_number(training.get('best_step'))})",
        f"- {_number(training.get('n_train_frames'))} training frames, "
        f"{_number(training.get('n_val_frames'))} held-out frames (whole structure groups)",
    ]
    total = 0.0
    for run, rows in (runs or {}).items():
        seconds = max(float(row.get("train_seconds") or 0.0) for row in rows)
        total += seconds
        last = rows[-1]
        lines.append(
            f"- Run `{run}`: {last.get('step', 0):,} steps to epoch {last.get('epoch', 0)}, "
            f"{seconds / 3600:.2f} h"
        )
    if runs:
        threads = config.get("num_threads")
        lines.append(
            f"- Training time: {total / 3600:.2f} h in all, on {threads} CPU thread(s) per run on "
            "this 2-core machine (validation passes included)"
        )
    keys = (
        "batch_size",
        "lr",
        "schedule",
        "max_epochs",
        "ema_decay",
        "huber_delta",
        "energy_weight",
        "forces_weight",
        "stress_weight",
        "atomic_energies_weight",
    )
    options = ", ".join(f"{key} {config[key]}" for key in keys if key in config)
    lines.append(f"- Options: {options}")
    return "\n".join(lines)


def fidelity_section(report: dict[str, Any], worst: int = 10) -> str:
    """Held-out errors overall, per category and per element (worst first)."""
    lines = _metrics_header("held-out set") + [_metrics_row("all", report["overall"])]
    lines += ["", "Per category (worst force MAE first):", ""] + _metrics_header("category")
    categories = sorted(
        report["per_category"].items(),
        key=lambda item: -(item[1].get(FORCES_MAE) or 0.0),
    )
    lines += [_metrics_row(name, metrics) for name, metrics in categories]
    elements = report["per_element"]
    by_force = sorted(elements, key=lambda s: -(elements[s].get(FORCES_MAE) or 0.0))
    by_energy = sorted(elements, key=lambda s: -(elements[s].get(ENERGY_MAE) or 0.0))
    lines += [
        "",
        f"Worst {worst} elements by force MAE: "
        + ", ".join(f"{s} {elements[s][FORCES_MAE]:.0f}" for s in by_force[:worst])
        + " meV/Å.",
        "",
        f"Worst {worst} elements by energy MAE (frames containing the element): "
        + ", ".join(f"{s} {elements[s][ENERGY_MAE]:.0f}" for s in by_energy[:worst])
        + " meV/atom.",
        "",
        "<details><summary>Every element</summary>",
        "",
        *_metrics_header("element"),
        *[_metrics_row(symbol, elements[symbol]) for symbol in by_force],
        "",
        "</details>",
    ]
    return "\n".join(lines)


def eos_section(eos: dict[str, Any], student_label: str) -> str:
    """Student against teacher and WIEN2k on the dcdft equations of state."""
    lines = [
        "| model | fitted | failed | common set | MARE V0 | MARE B0 | median Δ (meV/atom) |",
        "|---|---|---|---|---|---|---|",
    ]
    summaries = {row["model"]: row for row in eos["summary"]}
    for row in eos["summary"]:
        lines.append(
            f"| {row['model']} | {row['num_ok']} | {row['num_failed']} | {row['num_common']} | "
            f"{_number(row['mare_v0'], 2)} % | {_number(row['mare_b0'], 1)} % | "
            f"{_number(row['median_delta'], 2)} |"
        )
    student = summaries.get(student_label)
    kinds = {model["label"]: model.get("kind") for model in eos.get("models", [])}
    teachers = [
        row
        for name, row in summaries.items()
        if name != student_label and kinds.get(name, "teacher") == "teacher"
    ]
    if student and teachers and student["mare_v0"] and teachers[0]["mare_v0"]:
        ratio = student["mare_v0"] / teachers[0]["mare_v0"]
        lines += [
            "",
            f"Student/teacher V0 MARE ratio on the common set: {ratio:.2f}x.",
        ]
    failed = sorted(
        r["system"] for r in eos["results"] if r["model"] == student_label and r["status"] != "ok"
    )
    if failed:
        lines += ["", f"No EOS fit for the student on: {', '.join(failed)}."]
    return "\n".join(lines)


def speed_section(speed: dict[str, Any], student_label: str) -> str:
    """Student time per atom and its speed-up over each peer measured in the same run.

    Only like-for-like points enter: the ``heap`` allocator setting (every model with freed
    memory kept) when the run measured it, else its only setting.
    """
    settings = {r.get("allocator", "heap") for r in speed["results"]}
    setting = "heap" if "heap" in settings else min(settings, default="heap")
    results = [
        r
        for r in speed["results"]
        if r.get("status") == "ok" and r.get("allocator", "heap") == setting
    ]
    peers = sorted({r["model"] for r in results if r["role"] == "peer"})
    lines = []

    def points(system: str, model: str) -> dict[int, dict[str, Any]]:
        return {r["num_atoms"]: r for r in results if r["system"] == system and r["model"] == model}

    for system in sorted({r["system"] for r in results}):
        mine = points(system, student_label)
        if not mine:
            continue
        theirs = {peer: points(system, peer) for peer in peers}
        shown = [peer for peer in peers if any(n in theirs[peer] for n in mine)]
        lines += [
            f"**{system}**",
            "",
            "| atoms | µs/atom/step | ns/day (1 fs) | peak RSS (MiB) | "
            + " | ".join(f"vs {peer}" for peer in shown)
            + " |",
            "|---" * (4 + len(shown)) + "|",
        ]
        for n, point in sorted(mine.items()):
            ratios = []
            for peer in shown:
                other = theirs[peer].get(n)
                ratio = other["seconds_per_step"] / point["seconds_per_step"] if other else None
                ratios.append("–" if ratio is None else format_ratio(ratio))
            lines.append(
                f"| {n:,} | {point['microseconds_per_atom_step']:.1f} | "
                f"{point['ns_per_day']:.3g} | {_number(point.get('peak_rss_mib'), 0)} | "
                + " | ".join(ratios)
                + " |"
            )
        lines.append("")
    return "\n".join(lines).rstrip()


def render_card(inputs: CardInputs) -> str:
    """The Markdown model card of ``inputs``."""
    metadata = model_metadata(inputs.model)
    label = inputs.student_label or inputs.name
    evaluation = inputs.evaluation
    overall = evaluation["overall"]
    parts = [
        f"# {inputs.name}: model card",
        "",
        f"A nanomlip student distilled from `{metadata.get('teacher')}`; "
        f"nanomlip {metadata.get('nanomlip_version', '?')}. Every figure below comes from the "
        "command printed beside it, run on this project's 2-core CPU machine.",
        "",
        *([f"Card written by: `{inputs.command}`", ""] if inputs.command else []),
        f"Held-out fidelity against the teacher: energy MAE "
        f"{overall[ENERGY_MAE]:.1f} meV/atom, force MAE "
        f"{overall[FORCES_MAE]:.0f} meV/Å, stress MAE "
        f"{_number(overall.get(STRESS_MAE), 2)} GPa.",
        "",
        "## Architecture",
        "",
        architecture_section(inputs.model),
        "",
        "## Data",
        "",
        data_section(metadata, inputs.dataset_summary),
        "",
        "## Training",
        "",
        training_section(metadata, inputs.run_metrics),
        "",
        "## Fidelity to the teacher on held-out structure groups",
        "",
        f"Command: `{evaluation.get('command', 'nanomlip eval --split val')}`",
        "",
        fidelity_section(evaluation),
        "",
        "## Equations of state against WIEN2k (dcdft), beside the teacher",
        "",
        f"Command: `{inputs.eos.get('command')}`",
        "",
        eos_section(inputs.eos, label),
    ]
    if inputs.notes:
        parts += ["", "## Known limitations and further checks", "", inputs.notes.strip()]
    if inputs.speed:
        parts += [
            "",
            "## Speed",
            "",
            f"Command: `{inputs.speed.get('command')}` (ratios: peer time / student time in the "
            "same run, every model with freed memory kept in the heap, like for like; the "
            "harness times an untrained network of the same architecture, and speed does not "
            "depend on weight values).",
            "",
            speed_section(inputs.speed, label),
        ]
    return "\n".join(parts) + "\n"
