"""The README's set-up and commands agree with the code and the CI script."""

import re
from pathlib import Path

from nanomlip.cli.main import build_parser

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _install_line(text):
    return re.search(r'pip install (--quiet )?"torch==[^"]+" -e "\.\[[a-z,]+\]"', text).group(0)


def test_ci_installs_what_the_readme_says():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _install_line(README).replace("--quiet ", "") == _install_line(ci).replace(
        "--quiet ", ""
    )


def test_readme_fmax_is_the_default():
    relax = build_parser()._subparsers._group_actions[0].choices["relax"]
    default = relax.get_default("fmax")
    for value in re.findall(r"--fmax ([0-9.]+)", README):
        assert float(value) == default


def test_readme_main_job_is_a_system_the_card_trusts():
    command = re.search(r"nanomlip md (\S+)", README).group(1)
    assert (ROOT / command).is_file()
    assert "mgo" not in command  # the README itself says not to trust MgO
    assert "CPU-only" in README and "download.pytorch.org/whl/cpu" in README
