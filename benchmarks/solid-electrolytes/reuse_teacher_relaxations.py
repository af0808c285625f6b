"""Seed a work folder with the teacher's relaxed lattices of an earlier solid-electrolyte run.

``nanomlip bench solid-electrolytes`` relaxes every material with the teacher too (its lattices
are the reference of the student's) and caches each relaxation as
``WORK/<material>/teacher/relax.json``. The teacher and the structures do not change from one
student to the next, so a new student's run can reuse the teacher's relaxations of a committed
run instead of repeating them (about an hour on one thread for the 16 materials). Only the
lattice is reused: the harness reads nothing else of the teacher's relaxation when the teacher
runs no MD (``--teacher-materials ''``).

Usage::

    python benchmarks/solid-electrolytes/reuse_teacher_relaxations.py \
        --results benchmarks/solid-electrolytes/nano-5.4/results.json --work-dir WORK
    nanomlip bench solid-electrolytes --model M --teacher-materials '' ... --work-dir WORK
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def seed_teacher_relaxations(results: Path, work_dir: Path) -> list[str]:
    """Write ``WORK/<material>/teacher/relax.json`` for every material of ``results``.

    Args:
        results: An earlier run's ``results.json`` (one record per material, with
            ``lattice_teacher`` and ``teacher``).
        work_dir: The work folder the new run will use. Existing teacher caches are kept.

    Returns:
        The materials whose teacher relaxation was written.

    Raises:
        ValueError: A record has no teacher lattice (that run relaxed nothing with the teacher).
    """
    written = []
    for record in json.loads(results.read_text()):
        lattice = record.get("lattice_teacher")
        if not lattice:
            raise ValueError(
                f"{results}: {record['name']} has no teacher lattice; take the results of a run "
                "that relaxed every material with the teacher"
            )
        target = work_dir / record["name"] / "teacher" / "relax.json"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        cache = {
            "lattice": lattice,
            "converged": None,
            "steps": None,
            "energy_eV_per_atom": None,
            "pressure_GPa": None,
            "reused_from": f"{results} (teacher {record['teacher']})",
        }
        target.write_text(json.dumps(cache, indent=1))
        written.append(record["name"])
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="an earlier results.json")
    parser.add_argument("--work-dir", type=Path, required=True, help="the new run's work folder")
    args = parser.parse_args()
    written = seed_teacher_relaxations(args.results, args.work_dir)
    print(f"teacher relaxations reused for {len(written)} materials: {', '.join(written)}")


if __name__ == "__main__":
    main()
