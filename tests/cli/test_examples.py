"""``examples/`` is generated from the demo's actions: it must match what the generator writes today."""

from __future__ import annotations

from pathlib import Path

from returns.result import Success

from taskaction_core.cli import demo_task
from taskaction_core.cli.manifests import read_manifest_file
from taskaction_core.cli.scenarios import example_files

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def test_examples_directory_matches_the_generator() -> None:
    expected = example_files(Path(demo_task.__file__).read_text(encoding="utf-8"))
    stale = [name for name, text in expected.items() if (EXAMPLES / name).read_text(encoding="utf-8") != text]
    assert stale == [], f"regenerate with: python -m taskaction_core.cli.scenarios examples (stale: {stale})"


def test_examples_manifests_are_valid_taskactions() -> None:
    manifests = sorted(EXAMPLES.glob("*.yaml"))
    read = {path.name: read_manifest_file(str(path)) for path in manifests}
    assert len(read) == 6
    assert all(isinstance(result, Success) for result in read.values()), read
