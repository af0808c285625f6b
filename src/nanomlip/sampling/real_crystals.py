"""Frames around real crystals: teacher relaxations and what surrounds their minima.

The ``corpus`` sampler starts from real structures (:mod:`nanomlip.sampling.corpus`) and
makes ``len(plan)`` frames from each, as the Materials Project trajectories and the OMat24
rattled sets do for their students:

=================  =====================================================================
plan entry         frame (category ``real_<entry>``)
=================  =====================================================================
``relax``          a frame along the relaxation (cell + positions, FIRE) by the MD driver
                   of the labelling run (the teacher), from a lightly strained and rattled
                   start; the entries spread over the trajectory, the last is the minimum
``strain``         the minimum under a random strain up to ``max_strain``, rattled 0.02 Å
``rattle``         the minimum with Gaussian displacements of 0.02 Å to ``max_rattle``
``vacancy``        the minimum (supercell) less one random atom, rattled 0.03 Å
``substitution``   one atom replaced by an element of the same periodic-table group
``surface``        a slab cut from the minimum along a random low-index plane, 7 Å vacuum
``md``             a Langevin snapshot at 300-3,000 K (log-uniform) from the minimum,
                   driven by the fast driver of the labelling run (a student); without
                   one, by the MD driver; without either, a thermal rattle
=================  =====================================================================

All frames of one seed form one group named by its reduced formula, so that train and
validation never share a composition. Frame ``i`` comes from seed ``i // len(plan)`` of the
corpus order; the relaxation of a seed is computed once per worker and cached, so chunks
whose size is a multiple of ``len(plan)`` relax every seed exactly once.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.data import atomic_numbers, chemical_symbols

from nanomlip.sampling.base import (
    CalculatorFactory,
    LazyMDCalculator,
    SamplerContext,
    register_sampler,
)
from nanomlip.sampling.corpus import (
    CORPUS_DEFAULTS,
    PLAN_ENTRIES,
    SeedStructure,
    ordered_corpus,
)
from nanomlip.sampling.equilibrium import repeated_to, small_strain
from nanomlip.sampling.geometry import crystal_is_sane, rattle, reduced_formula, tag
from nanomlip.sampling.options import check_crystal_context, check_in_range, check_options
from nanomlip.sampling.relaxation import (
    INFO_DRIVER_LABEL,
    attach_label,
    bare_copy,
    driver_label,
    labelled_copy,
    relax_together,
    relaxation_trajectory,
)
from nanomlip.teachers import Labeler

#: Low-index planes cut for surfaces, in the seed's lattice coordinates.
MILLER_INDICES = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1))
#: A relaxation whose volume per atom changes by more than this factor is not trusted.
MAX_VOLUME_CHANGE = 1.6
#: Seeds whose relaxations are kept per worker.
CACHE_SIZE = 8


@dataclass
class Relaxed:
    """A seed and its relaxation: frames from start to minimum (positions and cell)."""

    seed: SeedStructure
    trajectory: list[Atoms]

    @property
    def minimum(self) -> Atoms:
        return self.trajectory[-1]


def trusted_relaxation(trajectory: list[Atoms]) -> list[Atoms]:
    """The trajectory up to its last frame that is sane and whose volume stayed plausible."""
    start_volume = trajectory[0].get_volume()
    kept = [trajectory[0]]
    for frame in trajectory[1:]:
        ratio = frame.get_volume() / start_volume
        if not (1 / MAX_VOLUME_CHANGE < ratio < MAX_VOLUME_CHANGE and crystal_is_sane(frame)):
            break
        kept.append(frame)
    return kept


def group_partners(number: int, known: set[int]) -> list[int]:
    """Elements of the same periodic-table group as ``number`` (f-block: Z ± 1), in ``known``.

    Args:
        number: Atomic number.
        known: Atomic numbers allowed as partners.
    """
    partners = [z for z in known if z != number and periodic_group(z) == periodic_group(number)]
    if periodic_group(number) == 0:  # lanthanides and actinides: the neighbours in the row
        partners = [z for z in (number - 1, number + 1) if z in known and periodic_group(z) == 0]
    return sorted(partners)


def periodic_group(number: int) -> int:
    """IUPAC group 1-18 of an element; 0 for lanthanides and actinides after La / Ac."""
    if number <= 2:
        return 1 if number == 1 else 18
    for start, length in ((3, 8), (11, 8)):
        if start <= number < start + length:
            offset = number - start
            return offset + 1 if offset < 2 else offset + 11
    for start in (19, 37, 55, 87):
        offset = number - start
        if start >= 55:
            if 3 <= offset <= 16:
                return 0
            if offset > 16:
                offset -= 14
        if 0 <= offset < 18:
            return offset + 1
    raise ValueError(f"no periodic group for Z = {number}")


@dataclass
class CorpusSampler(LazyMDCalculator):
    """Frames around real crystals (see the module docstring)."""

    context: SamplerContext
    source: str
    plan: list[str]
    max_seed_atoms: int
    rarity_exponent: float
    order_seed: int
    first_seed: int
    max_species: int
    relax_steps: int
    fmax: float
    start_strain: float
    start_rattle: float
    max_strain: float
    max_rattle: float
    md_steps: int
    md_factory: CalculatorFactory | None
    fast_factory: CalculatorFactory | None
    md_labeler_factory: Callable[[], Labeler] | None = None
    _fast: Calculator | None = None
    _labeler: Labeler | None = None
    _cache: OrderedDict[int, Relaxed] = field(default_factory=OrderedDict)

    def seeds(self) -> tuple[SeedStructure, ...]:
        return ordered_corpus(
            self.source,
            self.max_seed_atoms,
            tuple(self.context.elements),
            self.rarity_exponent,
            self.order_seed,
            self.max_species,
        )

    def make(self, rng: np.random.Generator, index: int) -> Atoms:
        """Frame ``index``; a relaxation frame keeps the driver's label where it has one."""
        local_seed, entry = divmod(index, len(self.plan))
        relaxed = self.relaxed(self.first_seed + local_seed)
        kind = self.plan[entry]
        if kind == "relax":
            atoms = self._relax_frame(rng, relaxed, entry)
        elif kind == "surface":
            atoms = self._surface(rng, relaxed.minimum.copy())
        else:
            atoms = getattr(self, f"_{kind}")(rng, self._supercell(relaxed.minimum))
        label = driver_label(atoms) if kind == "relax" else None
        atoms.calc = None
        atoms.info.pop(INFO_DRIVER_LABEL, None)
        atoms.info["source"] = relaxed.seed.source
        atoms.info["source_id"] = relaxed.seed.ident
        group = f"corpus:{reduced_formula(relaxed.seed.to_atoms().get_chemical_symbols())}"
        atoms = tag(atoms, f"real_{kind}", group)  # wraps: forces and energy stay
        return atoms if label is None else attach_label(atoms, label)

    # ------------------------------------------------------------------ relaxation
    def prepare(self, indices: Sequence[int]) -> None:
        """Relax the seeds of frames ``indices`` together, one batched teacher call per step.

        Without a batched labeler of the MD driver, does nothing (:meth:`relaxed` relaxes
        each seed alone when its first frame is made). A batch that fails leaves its seeds
        to :meth:`relaxed`, so a bad seed's error is recorded against its own frames only.
        """
        seeds = {self.first_seed + index // len(self.plan) for index in indices}
        wanted = sorted(seeds - set(self._cache))
        if not wanted or self.md_labeler_factory is None:
            return
        if self._labeler is None:
            self._labeler = self.md_labeler_factory()
        starts = [self._start(seed_index) for seed_index in wanted]
        try:
            trajectories = relax_together(
                [start for _, start in starts], self._labeler, self.fmax, self.relax_steps
            )
        except Exception:  # noqa: BLE001 - relaxed() repeats each seed alone and records it
            return
        for seed_index, (seed, _), trajectory in zip(wanted, starts, trajectories, strict=True):
            self._remember(seed_index, Relaxed(seed, trusted_relaxation(trajectory)), len(wanted))

    def relaxed(self, seed_index: int) -> Relaxed:
        """The relaxation of seed ``seed_index`` (cached per process)."""
        if seed_index in self._cache:
            self._cache.move_to_end(seed_index)
            return self._cache[seed_index]
        seed, start = self._start(seed_index)
        driver = self._md_calculator()
        trajectory = [start]
        if driver is not None:
            trajectory = trusted_relaxation(
                relaxation_trajectory(start, driver, self.fmax, self.relax_steps)
            )
        return self._remember(seed_index, Relaxed(seed, trajectory))

    def _start(self, seed_index: int) -> tuple[SeedStructure, Atoms]:
        """Seed ``seed_index`` and its relaxation's start: repeated, strained, rattled."""
        seeds = self.seeds()
        seed = seeds[seed_index % len(seeds)]
        start_rng = np.random.default_rng([self.order_seed, seed_index])
        start = repeated_to(seed.to_atoms(), self.context.min_atoms)
        start = small_strain(start_rng, start, self.start_strain)
        return seed, rattle(start_rng, start, self.start_rattle)

    def _remember(self, seed_index: int, relaxed: Relaxed, keep: int = CACHE_SIZE) -> Relaxed:
        """Cache ``relaxed``, keeping the last ``max(keep, CACHE_SIZE)`` relaxations."""
        self._cache[seed_index] = relaxed
        self._cache.move_to_end(seed_index)
        while len(self._cache) > max(keep, CACHE_SIZE):
            self._cache.popitem(last=False)
        return relaxed

    def _relax_frame(self, rng: np.random.Generator, relaxed: Relaxed, entry: int) -> Atoms:
        """Relax slot ``k`` of ``n`` takes the trajectory frame at ``k / (n - 1)`` of its length."""
        slots = [i for i, kind in enumerate(self.plan) if kind == "relax"]
        last = len(relaxed.trajectory) - 1
        steps = [round(k / max(len(slots) - 1, 1) * last) for k in range(len(slots))]
        position = slots.index(entry)
        step = steps[position]
        if step in steps[:position]:  # a short trajectory: the same frame, moved a little
            atoms = rattle(rng, relaxed.trajectory[step].copy(), 0.02)
        else:
            atoms = labelled_copy(relaxed.trajectory[step])
        atoms.info["relax_step"] = step
        atoms.info["relax_steps"] = last
        return atoms

    # ------------------------------------------------------------------ around the minimum
    def _supercell(self, atoms: Atoms) -> Atoms:
        target = min(max(self.context.min_atoms, 8), self.context.max_atoms)
        bigger = repeated_to(atoms, target)
        return bigger if len(bigger) <= self.context.max_atoms else atoms.copy()

    def _strain(self, rng: np.random.Generator, atoms: Atoms) -> Atoms:
        strained = small_strain(rng, atoms, float(rng.uniform(0.005, self.max_strain)))
        return rattle(rng, strained, 0.02)

    def _rattle(self, rng: np.random.Generator, atoms: Atoms) -> Atoms:
        return rattle(rng, atoms, float(rng.uniform(0.02, self.max_rattle)))

    def _vacancy(self, rng: np.random.Generator, atoms: Atoms) -> Atoms:
        if len(atoms) > 2:
            del atoms[int(rng.integers(len(atoms)))]
        return rattle(rng, atoms, 0.03)

    def _substitution(self, rng: np.random.Generator, atoms: Atoms) -> Atoms:
        known = {atomic_numbers[symbol] for symbol in self.context.elements}
        for site in rng.permutation(len(atoms)):
            partners = group_partners(int(atoms.numbers[site]), known)
            if partners:
                atoms.numbers[site] = partners[int(rng.integers(len(partners)))]
                atoms.info["substituted"] = chemical_symbols[int(atoms.numbers[site])]
                break
        return rattle(rng, atoms, 0.03)

    def _surface(self, rng: np.random.Generator, atoms: Atoms) -> Atoms:
        from ase.build import surface

        miller = MILLER_INDICES[int(rng.integers(len(MILLER_INDICES)))]
        layers = max(1, min(4, self.context.max_atoms // max(len(atoms), 1)))
        try:
            slab = surface(atoms, miller, layers, vacuum=7.0, periodic=True)
        except Exception:  # noqa: BLE001 - a degenerate plane: keep the bulk frame
            return rattle(rng, self._supercell(atoms), 0.03)
        if not 1 < len(slab) <= self.context.max_atoms or not crystal_is_sane(slab):
            return rattle(rng, self._supercell(atoms), 0.03)
        slab.info["miller"] = "".join(str(i) for i in miller)
        return rattle(rng, slab, 0.03)

    def _md(self, rng: np.random.Generator, atoms: Atoms) -> Atoms:
        temperature = float(math.exp(rng.uniform(math.log(300.0), math.log(3000.0))))
        driver = self._fast_calculator() or self._md_calculator()
        atoms.info["md_temperature_K"] = round(temperature, 1)
        if driver is None:
            sigma = 0.1 * math.sqrt(temperature / 1000.0)
            return rattle(rng, atoms, sigma)
        return langevin_snapshot(rng, atoms, driver, temperature, self.md_steps)

    def _fast_calculator(self) -> Calculator | None:
        if self._fast is None and self.fast_factory is not None:
            self._fast = self.fast_factory()
        return self._fast


def langevin_snapshot(
    rng: np.random.Generator, atoms: Atoms, calculator: Calculator, temperature: float, steps: int
) -> Atoms:
    """The last frame of ``steps`` Langevin steps (1 fs, friction 0.02 / fs) at ``temperature`` K.

    Returns the start frame when the driver fails or the run leaves sane geometries.
    """
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    moving = atoms.copy()
    moving.calc = calculator
    MaxwellBoltzmannDistribution(moving, temperature_K=temperature, rng=rng)
    dynamics = Langevin(
        moving, 1.0 * units.fs, temperature_K=temperature, friction=0.02 / units.fs, rng=rng
    )
    try:
        dynamics.run(steps)
    except Exception:  # noqa: BLE001 - a driver failing far from its data: keep the start
        return atoms
    snapshot = bare_copy(moving)
    return snapshot if crystal_is_sane(snapshot) else atoms


def _non_negative_int(name: str, option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"sampler {name!r}: option {option!r} must be an int >= 0: {value!r}")
    return value


@register_sampler("corpus")
def build_corpus_sampler(context: SamplerContext, options: dict[str, Any]) -> CorpusSampler:
    """The ``corpus`` sampler: frames around the real crystals of a corpus source.

    Options (defaults): ``source`` (``oqmd_icsd``), ``plan`` (4 relax, 2 strain, 2 rattle,
    vacancy, substitution, surface, md), ``max_seed_atoms`` (24), ``rarity_exponent`` (0.5),
    ``order_seed`` (0), ``first_seed`` (0: the corpus position of the first seed, so that
    a later dataset continues where an earlier one of the same order stopped),
    ``max_species`` (0: any; 1 keeps the elemental solids only), ``relax_steps`` (40),
    ``fmax`` (0.05 eV/Å), ``start_strain`` (0.03), ``start_rattle`` (0.05 Å),
    ``max_strain`` (0.06), ``max_rattle`` (0.2 Å), ``md_steps`` (30).
    """
    name = "corpus"
    options = check_options(name, options, CORPUS_DEFAULTS)
    check_crystal_context(name, context)
    plan = list(options["plan"])
    unknown = sorted(set(plan) - set(PLAN_ENTRIES))
    if not plan or unknown:
        raise ValueError(
            f"sampler {name!r}: option 'plan' must list entries of {list(PLAN_ENTRIES)}, "
            f"got unknown {unknown}"
            if unknown
            else f"sampler {name!r}: option 'plan' is empty"
        )
    steps = {key: int(options[key]) for key in ("max_seed_atoms", "relax_steps", "md_steps")}
    if min(steps.values()) < 1:
        raise ValueError(f"sampler {name!r}: {sorted(steps)} must all be >= 1, got {steps}")
    return CorpusSampler(
        context=context,
        source=str(options["source"]),
        plan=plan,
        max_seed_atoms=steps["max_seed_atoms"],
        rarity_exponent=check_in_range(name, "rarity_exponent", options["rarity_exponent"], 0, 2),
        order_seed=int(options["order_seed"]),
        first_seed=_non_negative_int(name, "first_seed", options["first_seed"]),
        max_species=_non_negative_int(name, "max_species", options["max_species"]),
        relax_steps=steps["relax_steps"],
        fmax=check_in_range(name, "fmax", options["fmax"], 1e-4, 10),
        start_strain=check_in_range(name, "start_strain", options["start_strain"], 0, 0.2),
        start_rattle=check_in_range(name, "start_rattle", options["start_rattle"], 0, 0.5),
        max_strain=check_in_range(name, "max_strain", options["max_strain"], 0.005, 0.2),
        max_rattle=check_in_range(name, "max_rattle", options["max_rattle"], 0.02, 0.5),
        md_steps=steps["md_steps"],
        md_factory=context.md_calculator,
        fast_factory=context.fast_calculator,
        md_labeler_factory=context.md_labeler,
    )
