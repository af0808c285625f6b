"""Tables, parity plot and JSON of the lattice benchmark (reads results, computes nothing)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from nanomlip.bench.lattice import (
    CompoundResult,
    LatticeSummary,
    energy_error_meV,
    lattice_errors_percent,
)
from nanomlip.bench.models import BenchModel


def summary_table(summaries: Sequence[LatticeSummary], reference: str) -> str:
    """Markdown: one row per model against ``reference``."""
    lines = [
        f"| model vs {reference} | compounds | mean abs lattice error | max (compound) "
        "| all constants within 1 % | energy MAE at the reference's minima |",
        "|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.label} | {s.compounds} | {s.mean_abs_error_percent:.2f} % "
            f"| {s.max_abs_error_percent:.2f} % ({s.worst}) | {100 * s.within_1_percent:.0f} % "
            f"| {s.energy_mae_meV:.0f} meV/atom |"
        )
    return "\n".join(lines)


def family_table(summaries: Sequence[LatticeSummary]) -> str:
    """Markdown: mean |lattice error| per structure family and model."""
    families = sorted({f for s in summaries for f in s.by_family})
    lines = ["| family | " + " | ".join(s.label for s in summaries) + " |"]
    lines.append("|---|" + "---|" * len(summaries))
    for family in families:
        cells = [
            f"{s.by_family[family]:.2f} %" if family in s.by_family else "-" for s in summaries
        ]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compound_table(results: Sequence[CompoundResult], labels: Sequence[str], reference: str) -> str:
    """Markdown: every compound's constants per model, errors against ``reference``."""
    lines = [
        "| compound | family | start a (c) | "
        + " | ".join(f"{label} a (c)" for label in labels)
        + " | "
        + " | ".join(f"{label} ΔE meV/atom" for label in labels if label != reference)
        + " |"
    ]
    lines.append("|---|---|---|" + "---|" * (2 * len(labels) - 1))
    for r in results:
        start = f"{r.start_a:.3f}" + (f" ({r.start_c:.3f})" if r.start_c else "")
        cells = []
        for label in labels:
            relaxed = r.relaxed.get(label)
            if relaxed is None:
                cells.append("skipped")
                continue
            text = f"{relaxed.a:.3f}" + (f" ({relaxed.c:.3f})" if relaxed.c else "")
            errors = lattice_errors_percent(r, label, reference) if label != reference else []
            if errors:
                text += " [" + ", ".join(f"{e:+.1f} %" for e in errors) + "]"
            cells.append(text)
        energies = []
        for label in labels:
            if label != reference:
                error = energy_error_meV(r, label, reference)
                energies.append("-" if error is None else f"{error:+.0f}")
        lines.append(f"| {r.name} | {r.family} | {start} | " + " | ".join(cells + energies) + " |")
    return "\n".join(lines)


def plot_parity(results: Sequence[CompoundResult], reference: str, path: Path) -> None:
    """Lattice constants of every model against the reference's, coloured by family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({label for r in results for label in r.relaxed} - {reference})
    fig, axes = plt.subplots(1, max(len(labels), 1), figsize=(5.5 * max(len(labels), 1), 5))
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    families = sorted({r.family for r in results})
    colours = plt.get_cmap("tab20")(range(len(families)))
    for axis, label in zip(axes, labels, strict=False):
        for family, colour in zip(families, colours, strict=True):
            xs, ys = [], []
            for r in results:
                if r.family == family and label in r.relaxed and reference in r.relaxed:
                    model, ref = r.relaxed[label], r.relaxed[reference]
                    xs += [ref.a] + ([ref.c] if ref.c and model.c else [])
                    ys += [model.a] + ([model.c] if ref.c and model.c else [])
            if xs:
                axis.scatter(xs, ys, s=18, color=colour, label=family)
        low, high = axis.get_xlim()
        axis.plot([low, high], [low, high], "k-", lw=0.8)
        axis.set_xlabel(f"{reference} lattice constant (Å)")
        axis.set_ylabel(f"{label} lattice constant (Å)")
        axis.set_title(f"{label} vs {reference}")
        axis.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def write_lattice_outputs(
    results: Sequence[CompoundResult],
    summaries: Sequence[LatticeSummary],
    models: Sequence[BenchModel],
    reference: str,
    out: Path,
    command: str,
) -> dict[str, Path]:
    """Write ``lattice.json``, ``lattice.md`` and ``lattice.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "lattice.json", "md": out / "lattice.md", "png": out / "lattice.png"}
    payload = {
        "command": command,
        "reference": reference,
        "models": [{"label": m.label, "kind": m.kind, "target": m.target} for m in models],
        "summaries": [asdict(s) for s in summaries],
        "compounds": [r.to_dict() for r in results],
    }
    paths["json"].write_text(json.dumps(payload, indent=1))
    labels = [m.label for m in models]
    paths["md"].write_text(
        "# Relaxed lattice constants of textbook crystals\n\n"
        f"Made by `{command}`.\n\n"
        "Cell and positions relaxed with each model (BFGS, FrechetCellFilter, space group "
        "held, fmax 0.005 eV/Å) from approximate experimental constants; conventional a "
        f"(and c) from spglib. Errors are against `{reference}`; ΔE is a model's energy at "
        f"`{reference}`'s relaxed structure minus `{reference}`'s.\n\n"
        f"{summary_table(summaries, reference)}\n\n## By family (mean |error|)\n\n"
        f"{family_table(summaries)}\n\n## Every compound\n\n"
        f"{compound_table(results, labels, reference)}\n"
    )
    plot_parity(results, reference, paths["png"])
    return paths
