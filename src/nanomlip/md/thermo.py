"""Thermodynamic observables of an MD state and the CSV thermo log.

Units follow ASE inside (eV, Å, amu, ASE time) and are converted only when a value
leaves for the log, whose columns carry their unit in the name.

==========================  ===============================  ==========================
Quantity                    Equation                         Variable
==========================  ===============================  ==========================
kinetic energy              K = Σ_i p_i² / (2 m_i)           ``atoms.get_kinetic_energy``
temperature                 T = 2 K / (3 N k_B)              :func:`temperature_K`
pressure (virial + kinetic) P = -tr(σ)/3 + 2 K / (3 V)       :func:`pressure_GPa`
density                     ρ = Σ_i m_i / V                  :func:`density_g_cm3`
energy drift                slope of E_tot(t) / N            :func:`energy_drift`
==========================  ===============================  ==========================

Here σ is the potential (virial) stress returned by the calculator, with ASE's sign
convention (positive = tensile), so a compressed solid has ``tr(σ) < 0`` and ``P > 0``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

#: Grams per atomic mass unit divided by cm³ per Å³ (1 amu/Å³ = 1.66054 g/cm³).
AMU_PER_A3_TO_G_PER_CM3: float = units._amu * 1e3 / 1e-24

#: Column names of the thermo log, in order.
THERMO_COLUMNS: tuple[str, ...] = (
    "step",
    "time_ps",
    "temperature_K",
    "pressure_GPa",
    "epot_eV",
    "etot_eV",
    "volume_A3",
    "density_g_cm3",
)


def is_periodic(atoms: Atoms) -> bool:
    """Return whether ``atoms`` is periodic in all three directions (has a volume)."""
    return bool(atoms.pbc.all())


def temperature_K(atoms: Atoms) -> float:
    """Instantaneous kinetic temperature T = 2 K / (3 N k_B), in K."""
    if len(atoms) == 0:
        return 0.0
    return float(atoms.get_temperature())


def pressure_GPa(atoms: Atoms) -> float:
    """Instantaneous pressure including the kinetic (ideal-gas) part, in GPa.

    ``P = -tr(σ)/3 + 2 K / (3 V)`` where σ is the calculator's stress (eV/Å³),
    K the kinetic energy (eV) and V the cell volume (Å³).

    Args:
        atoms: Periodic structure with a calculator that provides ``stress``.

    Returns:
        The pressure in GPa.
    """
    volume = atoms.get_volume()
    virial_stress = atoms.get_stress(voigt=False, include_ideal_gas=False)
    pressure = -np.trace(virial_stress) / 3.0 + 2.0 * atoms.get_kinetic_energy() / (3.0 * volume)
    return float(pressure / units.GPa)


def density_g_cm3(atoms: Atoms) -> float:
    """Mass density Σ m_i / V of a periodic structure, in g/cm³."""
    return float(atoms.get_masses().sum() / atoms.get_volume() * AMU_PER_A3_TO_G_PER_CM3)


@dataclass(frozen=True)
class ThermoRow:
    """One line of the thermo log.

    Attributes:
        step: MD step index (0 is the initial state).
        time_ps: Simulated time, in ps.
        temperature_K: Kinetic temperature, in K.
        pressure_GPa: Pressure with kinetic part, in GPa; ``None`` when not periodic.
        epot_eV: Potential energy, in eV.
        etot_eV: Potential plus kinetic energy, in eV.
        volume_A3: Cell volume, in Å³; ``None`` when not periodic.
        density_g_cm3: Mass density, in g/cm³; ``None`` when not periodic.
    """

    step: int
    time_ps: float
    temperature_K: float
    pressure_GPa: float | None
    epot_eV: float
    etot_eV: float
    volume_A3: float | None
    density_g_cm3: float | None


def thermo_row(atoms: Atoms, step: int, time_ps: float) -> ThermoRow:
    """Measure the observables of ``atoms`` (with its calculator) at one step.

    Args:
        atoms: Structure with momenta and an attached calculator.
        step: MD step index.
        time_ps: Simulated time, in ps.

    Returns:
        The row; the pressure, volume and density are ``None`` for a structure that is
        not periodic in all three directions.
    """
    epot = float(atoms.get_potential_energy())
    ekin = float(atoms.get_kinetic_energy())
    periodic = is_periodic(atoms)
    return ThermoRow(
        step=step,
        time_ps=time_ps,
        temperature_K=temperature_K(atoms),
        pressure_GPa=pressure_GPa(atoms) if periodic else None,
        epot_eV=epot,
        etot_eV=epot + ekin,
        volume_A3=float(atoms.get_volume()) if periodic else None,
        density_g_cm3=density_g_cm3(atoms) if periodic else None,
    )


def _format(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.10g}"


def _parse(text: str) -> float | None:
    return float(text) if text != "" else None


class ThermoLog:
    """Append-only CSV thermo log that flushes every row to disk.

    Args:
        path: CSV file; created with a header when missing or empty.
        extra_columns: Columns after :data:`THERMO_COLUMNS` (e.g. the teacher force
            error of a trust check), blank in rows that do not measure them. An existing
            log without them gets them, blank, in its earlier rows.

    Rows written before a crash are never lost: each :meth:`write` flushes.
    """

    def __init__(self, path: str | Path, extra_columns: Sequence[str] = ()) -> None:
        self.path = Path(path)
        self.columns = (*THERMO_COLUMNS, *extra_columns)
        needs_header = not self.path.is_file() or self.path.stat().st_size == 0
        if not needs_header and extra_columns:
            _add_columns(self.path, self.columns)
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        if needs_header:
            self._writer.writerow(self.columns)
            self._file.flush()

    def write(self, row: ThermoRow, extra: Sequence[float | None] = ()) -> None:
        """Append one row (``extra``: values of the extra columns, or none) and flush it."""
        padding = [None] * (len(self.columns) - len(THERMO_COLUMNS) - len(extra))
        values = [*astuple(row), *extra, *padding]
        self._writer.writerow([_format(value) for value in values])
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> ThermoLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _read_records(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """Header and complete records of a thermo log (lines cut short by a crash dropped)."""
    with Path(path).open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            return [], []
        if tuple(header[: len(THERMO_COLUMNS)]) != THERMO_COLUMNS:
            raise ValueError(f"{str(path)!r} is not a nanomlip thermo log (header {header})")
        return header, [record for record in reader if len(record) == len(header)]


def _write_records(path: str | Path, header: Sequence[str], records: list[list[str]]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(records)


def _add_columns(path: Path, columns: Sequence[str]) -> None:
    header, records = _read_records(path)
    if tuple(header) == tuple(columns):
        return
    if tuple(header) != tuple(columns[: len(header)]):
        raise ValueError(f"{str(path)!r} has columns {header}, not a start of {list(columns)}")
    pad = [""] * (len(columns) - len(header))
    _write_records(path, columns, [record + pad for record in records])


def read_thermo_log(path: str | Path) -> list[ThermoRow]:
    """Read a thermo log written by :class:`ThermoLog` (extra columns are not returned).

    Args:
        path: CSV file.

    Returns:
        The rows in file order.

    Raises:
        ValueError: If the header is not the thermo log header.
    """
    _, records = _read_records(path)
    rows = []
    for record in records:
        values = [_parse(text) for text in record[: len(THERMO_COLUMNS)]]
        rows.append(ThermoRow(int(values[0]), *values[1:]))  # type: ignore[arg-type]
    return rows


def truncate_thermo_log(path: str | Path, last_step: int) -> list[ThermoRow]:
    """Drop the rows after ``last_step`` (and incomplete lines) from a thermo log.

    Used on restart so that the continued run appends without duplicating rows; extra
    columns are kept.

    Args:
        path: CSV file written by :class:`ThermoLog`.
        last_step: Last step to keep.

    Returns:
        The rows kept.
    """
    header, records = _read_records(path)
    kept = [record for record in records if int(float(record[0])) <= last_step]
    _write_records(path, header or THERMO_COLUMNS, kept)
    return read_thermo_log(path)


def energy_drift(time_ps: Sequence[float], etot_eV: Sequence[float], num_atoms: int) -> float:
    """Energy drift from a least-squares line through E_tot(t), in meV/atom/ps.

    ``E_tot(t) ≈ a + b t``; the drift is ``1000 b / N``. A good NVE run has a drift of
    well under 1 meV/atom/ps.

    Args:
        time_ps: Times of the samples, in ps.
        etot_eV: Total energies at those times, in eV.
        num_atoms: Number of atoms N.

    Returns:
        The slope per atom in meV/atom/ps, or ``nan`` with fewer than two samples.
    """
    t = np.asarray(time_ps, dtype=float)
    e = np.asarray(etot_eV, dtype=float)
    if t.size < 2 or num_atoms <= 0 or math.isclose(float(np.ptp(t)), 0.0):
        return math.nan
    slope = np.polyfit(t, e, deg=1)[0]
    return float(1e3 * slope / num_atoms)


__all__ = [
    "AMU_PER_A3_TO_G_PER_CM3",
    "THERMO_COLUMNS",
    "ThermoLog",
    "ThermoRow",
    "density_g_cm3",
    "energy_drift",
    "is_periodic",
    "pressure_GPa",
    "read_thermo_log",
    "temperature_K",
    "thermo_row",
    "truncate_thermo_log",
]
