"""Progress reporting shared by every long command: rates and bars that suit logs too.

A terminal gets a tqdm bar. Anything else (``nanomlip distill ... > log``) gets one plain
line every :data:`LINE_INTERVAL_S` seconds and one at the end, instead of the thousands of
carriage-return redraws tqdm would write into the file.

Rates come in two kinds (see :class:`RateMeter`): *overall* (all items over all the time
since the start) and *steady-state*, which leaves out the first
:data:`WARMUP_FRACTION` of the items (at least one): start-up costs such as the first
model evaluation, memory allocation and graph building fall there.
"""

from __future__ import annotations

import math
import sys
import time
from array import array
from typing import Any, TextIO

#: Seconds between two progress lines when the output is not a terminal.
LINE_INTERVAL_S: float = 60.0

#: Share of the items (at least one) that the steady-state rate leaves out.
WARMUP_FRACTION: float = 0.1


class RateMeter:
    """Items done against wall time, for an overall and a steady-state rate.

    Args:
        clock: Time source in seconds (``time.perf_counter`` unless testing).
    """

    def __init__(self, clock: Any = time.perf_counter) -> None:
        self._clock = clock
        self.start = clock()
        self._counts = array("d")
        self._times = array("d")

    @property
    def count(self) -> float:
        """Items done so far."""
        return self._counts[-1] if self._counts else 0.0

    def tick(self, items: float = 1.0) -> None:
        """Record that ``items`` more items are done now."""
        self._counts.append(self.count + items)
        self._times.append(self._clock())

    def overall(self) -> float:
        """Items per second since the start (``nan`` before the first item)."""
        if not self._counts:
            return math.nan
        elapsed = self._times[-1] - self.start
        return self.count / elapsed if elapsed > 0 else math.inf

    def steady(self) -> float:
        """Items per second after the first :data:`WARMUP_FRACTION` of the items.

        ``nan`` until two ticks exist (one tick is all start-up).
        """
        ticks = len(self._counts)
        if ticks < 2:
            return math.nan
        warmup = min(ticks - 1, max(1, math.ceil(WARMUP_FRACTION * ticks)))
        first = warmup - 1
        items = self._counts[-1] - self._counts[first]
        elapsed = self._times[-1] - self._times[first]
        return items / elapsed if elapsed > 0 else math.inf


def format_rate(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, or ``-`` when not known yet."""
    return "-" if not math.isfinite(value) else f"{value:.{digits}g}"


class _NoProgress:
    """Stands in for a bar when progress is switched off."""

    def update(self, n: float = 1) -> None:
        pass

    def set_postfix(self, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """A progress report in plain lines, for logs and pipes.

    Args:
        total: Items of the whole job (``None`` if unknown).
        desc: What is counted, at the start of each line.
        unit: Name of one item.
        initial: Items already done before this run (a resumed job).
        file: Where lines go.
        interval_s: Seconds between lines.
    """

    def __init__(
        self,
        total: float | None,
        desc: str,
        unit: str,
        initial: float = 0,
        file: TextIO | None = None,
        interval_s: float = LINE_INTERVAL_S,
    ) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = initial
        self.file = file or sys.stderr
        self.interval_s = interval_s
        self.meter = RateMeter()
        self.postfix: dict[str, Any] = {}
        self._last_line = time.monotonic()
        self._closed = False

    def update(self, n: float = 1) -> None:
        self.n += n
        self.meter.tick(n)
        if time.monotonic() - self._last_line >= self.interval_s:
            self._write()

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = values

    def _write(self) -> None:
        done = f"{self.n:g}" if self.total is None else f"{self.n:g}/{self.total:g}"
        share = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        rates = (
            f"{format_rate(self.meter.overall())} {self.unit}/s overall, "
            f"{format_rate(self.meter.steady())} {self.unit}/s steady"
        )
        extra = "".join(f", {key}={value}" for key, value in self.postfix.items())
        print(f"{self.desc}: {done} {self.unit}{share}, {rates}{extra}", file=self.file, flush=True)
        self._last_line = time.monotonic()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._write()


def progress_bar(
    total: float | None,
    *,
    desc: str,
    unit: str,
    enabled: bool = True,
    initial: float = 0,
    leave: bool = True,
    file: TextIO | None = None,
) -> Any:
    """A progress bar with ``update(n)``, ``set_postfix(**values)`` and ``close()``.

    A tqdm bar when ``file`` (default stderr) is a terminal, a :class:`LineProgress`
    otherwise, and a silent stand-in when ``enabled`` is false.
    """
    if not enabled:
        return _NoProgress()
    stream = file or sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        from tqdm import tqdm

        return tqdm(
            total=total,
            initial=initial,
            desc=desc,
            unit=unit,
            file=stream,
            dynamic_ncols=True,
            leave=leave,
            smoothing=0.1,
        )
    return LineProgress(total, desc, unit, initial=initial, file=stream)
