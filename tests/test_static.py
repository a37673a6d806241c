"""The static gates as tests, so the one test command (``python -m pytest``) also fails on type and lint errors.

Each gate runs in a subprocess from the repository root with this interpreter (``sys.executable -m ...``), so it
checks the checkout under test with the tools installed beside it. Deselect locally with ``-m "not static"``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

STATIC_GATES = {
    "mypy": ["mypy", "--strict", "taskaction_core", "tests", "benchmarks"],
    "ruff-check": ["ruff", "check", "."],
    "ruff-format": ["ruff", "format", "--check", "."],
}


@pytest.mark.static
@pytest.mark.parametrize("gate", sorted(STATIC_GATES))
def test_static_gate_on_repository_exits_zero(gate: str) -> None:
    command = [sys.executable, "-m", *STATIC_GATES[gate]]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    output = f"$ {' '.join(command)}\n{completed.stdout}{completed.stderr}"
    assert completed.returncode == 0, output


def test_tests_directories_holding_python_are_packages() -> None:
    # mypy names a module by its package path; without __init__.py two tests/*/test_x.py would both be "test_x".
    tests_root = REPO_ROOT / "tests"
    directories = {path.parent for path in tests_root.rglob("*.py") if "__pycache__" not in path.parts}
    missing = sorted(str(d.relative_to(REPO_ROOT)) for d in directories if not (d / "__init__.py").is_file())
    assert missing == [], f"add an empty __init__.py to: {missing}"
