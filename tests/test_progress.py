import io
import math

import pytest

from nanomlip._progress import LineProgress, RateMeter, format_rate, progress_bar


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_steady_rate_leaves_the_start_up_out():
    clock = Clock()
    meter = RateMeter(clock)
    assert math.isnan(meter.overall()) and math.isnan(meter.steady())
    clock.now = 10.0  # the first item pays the start-up
    meter.tick()
    for _ in range(19):
        clock.now += 1.0
        meter.tick()
    assert meter.overall() == pytest.approx(20 / 29)
    assert meter.steady() == pytest.approx(1.0)  # items 3..20 at one per second


def test_a_log_gets_lines_not_carriage_returns():
    log = io.StringIO()
    bar = progress_bar(100, desc="md", unit="step", file=log)
    assert isinstance(bar, LineProgress)
    bar.interval_s = 0.0
    for _ in range(3):
        bar.update(1)
        bar.set_postfix(ns_day="1.2", refresh=False)
    bar.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 4 and lines[-1].startswith("md: 3/100 step (3 %)")
    assert "overall" in lines[-1] and "steady" in lines[-1] and "ns_day=1.2" in lines[-1]


def test_lines_are_rate_limited():
    log = io.StringIO()
    bar = LineProgress(1000, "labelling", "frame", file=log, interval_s=3600)
    for _ in range(1000):
        bar.update(1)
    bar.close()
    assert len(log.getvalue().splitlines()) == 1  # only the closing line


def test_disabled_and_format():
    progress_bar(5, desc="x", unit="y", enabled=False).update(1)
    assert format_rate(math.nan) == "-" and format_rate(1234.5) == "1.23e+03"
