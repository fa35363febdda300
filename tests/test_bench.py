"""Every script of bench/ runs, once, in its smoke mode (seconds, on SQLite):
no figure is asserted, only that none of them has rotted. Each runs as the
README says, ``python -m bench.<script>``, in a process of its own."""

import shutil
import subprocess
import sys

import pytest

from .support import ROOT

SCRIPTS = {
    "run": lambda folder: ["--output", str(folder / "benchmarks.md")],
    "focus": lambda folder: ["--endpoints", "details,update"],
    "threads": lambda folder: [],
    "attack": lambda folder: ["--output", str(folder / "attack.md")],
    "instructions": lambda folder: ["--json", str(folder / "instructions.json")],
    "changes": lambda folder: ["--output", str(folder / "changes.md")],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_bench_script_runs_in_its_smoke_mode(script, tmp_path):
    if script == "instructions" and shutil.which("valgrind") is None:
        pytest.skip("needs valgrind (Debian's package; .ci/run installs it)")
    finished = subprocess.run(
        [sys.executable, "-m", f"bench.{script}", "--smoke", *SCRIPTS[script](tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "|---|" in finished.stdout  # its Markdown table was printed
