"""A datasheet for a labelled dataset: recipe, coverage, label distributions, cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nanomlip.data.store import LabeledDataset
from nanomlip.units import EV_PER_A3_TO_GPA


def _quantiles(values: np.ndarray) -> dict[str, float]:
    points = {"min": 0.0, "p1": 1.0, "p50": 50.0, "p99": 99.0, "max": 100.0}
    return {name: float(np.percentile(values, q)) for name, q in points.items()}


def label_statistics(data: LabeledDataset) -> dict[str, Any]:
    """Distributions of energy per atom (eV), force components (eV/Å), stress (GPa)."""
    a = data.arrays
    energy_per_atom = a["energy"] / a["num_atoms"]
    forces = a["forces"].astype(float)
    force_norms = np.linalg.norm(forces, axis=1)
    stress = a["stress"][~np.isnan(a["stress"]).any(axis=1)] * EV_PER_A3_TO_GPA
    return {
        "energy_per_atom_eV": _quantiles(energy_per_atom),
        "force_norm_eV_per_A": _quantiles(force_norms),
        "stress_GPa": _quantiles(stress.ravel()) if len(stress) else None,
        "frames_with_stress": int(len(stress)),
    }


def plot_distributions(data: LabeledDataset, path: Path) -> None:
    """Histograms of energy per atom, force norms and atoms per frame (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = data.arrays
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].hist(a["energy"] / a["num_atoms"], bins=80, color="tab:blue")
    axes[0].set_xlabel("teacher energy per atom (eV)")
    axes[1].hist(
        np.linalg.norm(a["forces"], axis=1), bins=np.logspace(-3, 2.5, 80), color="tab:red"
    )
    axes[1].set_xscale("log")
    axes[1].set_xlabel("|force| per atom (eV/Å)")
    axes[2].hist(a["num_atoms"], bins=np.arange(0.5, a["num_atoms"].max() + 1.5), color="tab:green")
    axes[2].set_xlabel("atoms per frame")
    for axis in axes:
        axis.set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_datasheet(root: str | Path, out: str | Path, command: str) -> Path:
    """Write ``out`` (Markdown) and ``out`` with ``.png`` (histograms) for dataset ``root``."""
    data = LabeledDataset(root)
    summary = data.summary()
    stats = label_statistics(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure = out.with_suffix(".png")
    plot_distributions(data, figure)
    manifest = data.manifest
    per_element = ", ".join(f"{k} {v}" for k, v in sorted(summary["elements"].items()))
    rejected = ", ".join(f"{k}: {v}" for k, v in summary["rejected"].items()) or "none"
    teacher = manifest["teacher"]
    lines = [
        f"# Datasheet: {Path(root).name}",
        "",
        f"Rebuild: `{command}`",
        "",
        "## Teacher",
        f"- spec `{teacher['spec']}`; model `{teacher.get('model', '?')}`, task "
        f"`{teacher.get('task')}`, {teacher.get('version', '?')} "
        f"({json.dumps(teacher.get('extra', {}))})",
        f"- MD driver for liquid/amorphous snapshots and relaxations: "
        f"`{manifest.get('md_driver', 'none')}`",
        f"- fast driver for the MD snapshots of real crystals: "
        f"`{manifest.get('fast_driver', 'none')}`",
        f"- rejection limits: {manifest.get('rejection_rules', 'none (imported frames)')}",
        "",
        "## Size",
        f"- {summary['n_frames']} frames, {summary['n_atoms']} atoms, "
        f"{summary['n_elements']} elements, {summary['n_groups']} structure groups",
        f"- atoms per frame: min {summary['atoms_per_frame']['min']}, mean "
        f"{summary['atoms_per_frame']['mean']:.1f}, max {summary['atoms_per_frame']['max']}",
        f"- rejected frames: {summary['n_rejected']} ({rejected})",
        f"- on disk: {summary['size_bytes'] / 2**20:.1f} MiB (compressed NumPy chunks)",
        f"- labelling time (sum over workers, incl. structure generation and MD): "
        f"{summary['labeling_seconds'] / 3600:.2f} CPU-worker-hours",
        "",
        *_hvp_lines(data),
        *_source_lines(data, out),
        "## Frames per category",
        "| category | frames |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["categories"].items()],
        "",
        "## Frames per sampler",
        "| sampler | frames |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["samplers"].items()],
        "",
        "## Frames containing each element",
        per_element,
        "",
        "## Label distributions (quantiles)",
        "```json",
        json.dumps(stats, indent=2),
        "```",
        "",
        f"![distributions]({figure.name})",
        "",
        "## Recipe",
        "```json",
        json.dumps(manifest.get("recipe"), indent=2),
        "```",
        "",
    ]
    out.write_text("\n".join(lines))
    return out


def _hvp_lines(data: LabeledDataset) -> list[str]:
    """A section on the teacher Hessian-vector products, when the dataset has them."""
    job = data.manifest.get("hvp")
    if not job or "hvp" not in data.arrays:
        return []
    offsets = data.atom_offsets
    finite = np.isfinite(data.arrays["hvp"]).all(axis=1)
    frames = sum(bool(finite[offsets[i] : offsets[i + 1]].all()) for i in range(len(data)))
    return [
        "## Teacher Hessian-vector products",
        f"- {frames} frames ({frames / len(data):.1%}) carry `hvp` (eV/Å²) along a Gaussian "
        f"`hvp_vector`; central difference h = {job['step_A']} Å, frame share "
        f"{job['fraction']}, seed {job['seed']}, made from `{job['source']}`",
        "",
    ]


def _source_lines(data: LabeledDataset, out: Path) -> list[str]:
    """Where the frames of real-structure samplers came from, with the licences.

    Writes ``SOURCES.csv.gz`` (frame index, seed structure) beside the datasheet.
    """
    import gzip

    from nanomlip.sampling.corpus import LICENCES, CorpusError, frame_sources

    recipe = data.manifest.get("recipe") or {}
    corpus_specs = [s for s in recipe.get("samplers", []) if s["name"] == "corpus"]
    if not corpus_specs:
        return []
    lines = ["## Sources of the real structures", "| source | licence |", "|---|---|"]
    names = sorted({(s.get("options") or {}).get("source", "oqmd_icsd") for s in corpus_specs})
    lines += [f"| `{name}` | {LICENCES.get(name.partition(':')[0], '?')} |" for name in names]
    try:
        from nanomlip.teachers.spec import load_teacher

        elements = load_teacher(data.manifest["teacher"]["spec"]).elements
        sources = frame_sources(recipe, data.arrays["seed"].tolist(), elements)
    except (CorpusError, ValueError, ImportError) as error:
        return [*lines, "", f"(seed structures not listed: {error})", ""]
    table = out.parent / "SOURCES.csv.gz"
    rows = ["frame_index,seed_structure"] + [
        f"{int(i)},{source}" for i, source in zip(data.arrays["frame_index"], sources, strict=True)
    ]
    with gzip.open(table, "wt") as handle:
        handle.write("\n".join(rows) + "\n")
    used = len({s for s in sources if s})
    return [
        *lines,
        "",
        f"- {used} distinct seed structures; every frame's seed is listed in `{table.name}`",
        "",
    ]
