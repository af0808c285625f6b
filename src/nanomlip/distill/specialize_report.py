"""The end of a specialisation run: the kept model, its speed beside the teacher, a card."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ase import Atoms

from nanomlip.distill.run_folder import write_json
from nanomlip.models.checkpoint import save_checkpoint
from nanomlip.models.registry import load_model
from nanomlip.schema import FORCES_MAE

MODEL = "model.safetensors"
CARD = "model.md"


def seconds_per_step(calculator: Any, atoms: Atoms, repeats: int = 3) -> float:
    """Median wall time (s) of energy + forces + stress on ``atoms`` after one warm-up."""
    probe = atoms.copy()
    probe.calc = calculator
    times = []
    for index in range(repeats + 1):
        probe.positions[0, 0] += 1e-4  # a new geometry, so nothing is cached
        tic = time.perf_counter()
        probe.get_forces()
        if probe.pbc.all():
            probe.get_stress()
        if index:
            times.append(time.perf_counter() - tic)
    return sorted(times)[len(times) // 2]


def speed_comparison(model: str, teacher: Any, atoms: Atoms) -> dict[str, Any]:
    """µs per atom per step of the student and the teacher on ``atoms`` (this thread count)."""
    import torch

    from nanomlip.integrations.ase_calculator import NanoCalculator

    student = seconds_per_step(NanoCalculator(model=model), atoms)
    reference = seconds_per_step(teacher.calculator(), atoms)
    return {
        "num_atoms": len(atoms),
        "threads": torch.get_num_threads(),
        "student_us_per_atom_step": 1e6 * student / len(atoms),
        "teacher_us_per_atom_step": 1e6 * reference / len(atoms),
        "speedup": reference / student,
        "teacher_calls": 4,
    }


def finish(
    run: Path,
    structures: Sequence[Atoms],
    teacher: Any,
    options: Any,
    history: list[dict[str, Any]],
    stopped_by: str,
    command: str | None,
) -> dict[str, Any]:
    """Keep the model with the lowest error on fresh frames; write it, its card and the result."""
    best = min(history, key=lambda row: row["fresh_force_mae_meV_A"])
    model = load_model(best["model"])
    save_checkpoint(
        model,
        run / MODEL,
        notes=f"specialised with nanomlip specialize against {options.teacher}; "
        f"fresh-frame force MAE {best['fresh_force_mae_meV_A']:.1f} meV/Å (round {best['round']})",
    )
    speed_path = run / "speed.json"
    if not speed_path.is_file():
        speeds = {
            "base": speed_comparison(options.model, teacher, structures[0]),
            "specialised": speed_comparison(str(run / MODEL), teacher, structures[0]),
        }
        write_json(speed_path, speeds)
    speeds = json.loads(speed_path.read_text())
    result = {
        "forgetting": forgetting(run, options.model, run / MODEL),
        "finished": True,
        "stopped_by": stopped_by,
        "threshold_meV_A": options.threshold_meV_A,
        "kept_round": best["round"],
        "kept_model": best["model"],
        "before_force_mae_meV_A": history[0]["fresh_force_mae_meV_A"],
        "after_force_mae_meV_A": best["fresh_force_mae_meV_A"],
        "teacher_calls": sum(row["teacher_calls"] for row in history),
        "cpu_minutes": sum(row["cpu_s"] for row in history) / 60,
        "speed": speeds,
        "options": asdict(options),
        "command": command,
        "rounds": history,
    }
    write_json(run / "specialize.json", result)
    (run / CARD).write_text(card_markdown(result))
    return result


def forgetting(run: Path, base: str, kept: Path) -> dict[str, Any] | None:
    """Errors of the base and the kept model on the first round's forgetting frames."""
    from nanomlip.distill.evaluate import evaluate

    frames = run / "round-00" / "train" / "forget"
    if not frames.is_dir():
        return None
    before = evaluate(base, frames, dtype="float64")
    after = evaluate(str(kept), frames, dtype="float64")
    return {
        "n_frames": before.info["n_frames"],
        "before": before.report["overall"],
        "after": after.report["overall"],
    }


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def card_markdown(result: dict[str, Any]) -> str:
    """The model card of a specialised student, from the run's measured rounds."""
    options = result["options"]
    speed = result["speed"]["specialised"]
    base_speed = result["speed"]["base"]
    lines = [
        "# Specialised nanomlip student: model card",
        "",
        f"Base model `{options['model']}`, specialised against `{options['teacher']}` by "
        "active selection (`nanomlip specialize`). Every figure was measured by that run.",
        "",
        *([f"Command: `{result['command']}`", ""] if result.get("command") else []),
        f"Force MAE against the teacher on fresh MD frames of the system: "
        f"**{result['before_force_mae_meV_A']:.1f} meV/Å before, "
        f"{result['after_force_mae_meV_A']:.1f} meV/Å after** (round {result['kept_round']}; "
        f"threshold {result['threshold_meV_A']:g} meV/Å; stopped by {result['stopped_by']}). "
        f"Teacher calls: {result['teacher_calls']} (+{2 * speed['teacher_calls']} for the "
        f"speed probe); CPU time: {result['cpu_minutes']:.1f} min.",
        "",
        f"MD conditions: T = {options['temperatures_K']} K, strains {options['strains']}, "
        f"pressures {options['pressures_GPa'] or 'none (NVT)'} GPa; {options['md_steps']} "
        f"steps of {options['timestep_fs']} fs per condition and round; selection "
        f"`{options['method']}`.",
        "",
        "| round | candidates | fresh frames | fresh F MAE (meV/Å) | fresh E MAE (meV/atom) "
        "| selected | selected by | selection gain | teacher calls | CPU (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rounds"]:
        lines.append(
            f"| {row['round']} | {row['n_candidates']} | {row['fresh_frames']} | "
            f"{_cell(row['fresh_force_mae_meV_A'])} | {_cell(row['fresh_energy_mae_meV_atom'])} "
            f"| {row.get('selected_frames', 0)} | {row.get('selected_by') or '-'} | "
            f"{_cell(row.get('selection_gain'), 2)} | {row['teacher_calls']} | "
            f"{_cell(row['cpu_s'], 0)} |"
        )
    if result.get("forgetting"):
        before, after = (result["forgetting"][k][FORCES_MAE] for k in ("before", "after"))
        lines += [
            "",
            f"Forgetting: force MAE on {result['forgetting']['n_frames']} validation frames of "
            f"the base model's distillation data {before:.1f} meV/Å for the base model, "
            f"{after:.1f} for the specialised one.",
        ]
    lines += [
        "",
        "Selection gain: force MAE of the selected frames over that of the random fresh "
        "frames of the same round (above 1: the selection found frames the student got "
        "more wrong than chance).",
        "",
        f"Speed on the first structure ({speed['num_atoms']} atoms, {speed['threads']} "
        f"thread(s), energy + forces + stress): specialised "
        f"{speed['student_us_per_atom_step']:.0f} µs/atom/step, base "
        f"{base_speed['student_us_per_atom_step']:.0f}, teacher "
        f"{speed['teacher_us_per_atom_step']:.0f} ({speed['speedup']:.0f}x slower than "
        "the specialised student).",
    ]
    return "\n".join(lines) + "\n"
