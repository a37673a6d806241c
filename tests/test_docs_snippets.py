"""The Python blocks of the tutorial and the how-tos run, so the documentation cannot rot.

Each tested document's ```` ```python ```` blocks run in order, in one namespace (a block may use what an earlier one
defined, as a reader's Python session would), with a fresh temporary directory as the working directory (blocks
write files there: a manifest, a SQLite database, blobs). Blocks fenced ```` ```python notest ```` are illustrative:
they are compiled, so they stay valid Python, but not run. Tracebacks point at the document's own line numbers.

The blocks must stay fast: the whole module runs in a few seconds, and no block runs the demo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Final

import pytest

DOCS: Final = Path(__file__).resolve().parent.parent / "docs"
TESTED: Final = ("tutorial.md", "howto-embed-the-interpreter.md", "howto-write-a-plugin.md")
"""The documents whose Python blocks must run."""

NOTEST: Final = "notest"
_BLOCK: Final = re.compile(r"^```python(?P<tag>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_PYTHON_FENCE: Final = re.compile(r"^```(?P<info>py[^\n]*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced Python block: where it starts (the 1-based line of its first code line) and whether it runs."""

    line: int
    code: str
    runs: bool


def python_blocks(text: str) -> list[Block]:
    """The ```` ```python ```` and ```` ```python notest ```` blocks of a Markdown text, in order."""
    blocks = []
    for match in _BLOCK.finditer(text):
        tag = match.group("tag").strip()
        if tag not in ("", NOTEST):
            raise ValueError(f"unknown python block tag {tag!r}: use ```python or ```python {NOTEST}")
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append(Block(line, match.group("code"), runs=tag == ""))
    return blocks


def python_fence_infos(text: str) -> list[str]:
    """The info strings of every fence that opens with ``py`` (``python``, ``py``, ``python3``, ...)."""
    return [match.group("info").strip() for match in _PYTHON_FENCE.finditer(text)]


def compiled(block: Block, path: Path) -> CodeType:
    """``block`` compiled so that tracebacks name ``path`` and the block's own line numbers in it."""
    return compile("\n" * (block.line - 1) + block.code, str(path), "exec")


# -- the extractor -----------------------------------------------------------------------------------------------------

SAMPLE: Final = """# Title

```python
x = 1
```

```sh
echo not python
```

```python notest
y = undefined_name
```

```python
z = x + 1
```
"""


def test_python_blocks_sample_finds_run_and_notest_blocks_with_their_lines() -> None:
    assert python_blocks(SAMPLE) == [
        Block(4, "x = 1\n", runs=True),
        Block(12, "y = undefined_name\n", runs=False),
        Block(16, "z = x + 1\n", runs=True),
    ]


def test_python_blocks_unknown_tag_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown python block tag"):
        python_blocks("```python skip\nx = 1\n```\n")


def test_compiled_block_reports_errors_at_the_document_line(tmp_path: Path) -> None:
    block = Block(7, "x = 1\nraise RuntimeError('boom')\n", runs=True)

    with pytest.raises(RuntimeError) as raised:
        exec(compiled(block, tmp_path / "doc.md"), {})

    assert raised.traceback[-1].lineno + 1 == 8


# -- the documents -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", TESTED)
def test_doc_python_fences_are_python_or_python_notest(document: str) -> None:
    text = (DOCS / document).read_text(encoding="utf-8")

    assert set(python_fence_infos(text)) <= {"python", f"python {NOTEST}"}


@pytest.mark.parametrize("document", TESTED)
def test_doc_has_python_blocks_that_run(document: str) -> None:
    blocks = python_blocks((DOCS / document).read_text(encoding="utf-8"))

    assert sum(block.runs for block in blocks) >= 3


@pytest.mark.parametrize("document", TESTED)
def test_doc_python_blocks_run_in_order_in_one_session(
    document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = DOCS / document
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem.replace('-', '_')}"}

    for block in blocks:
        code = compiled(block, path)
        if block.runs:
            exec(code, namespace)  # a failure's traceback names the document line
