"""The mechanical purity test: the pure core does no I/O, reads no clock, no randomness, no logging (design.md §3).

The core is every module of ``taskaction_core`` outside the shell subpackages (``NON_CORE_SUBPACKAGES``); it is
discovered from the file system, so a new core module is covered without editing this file.

Two independent checks:

1. Static: every core file is parsed with ``ast`` and scanned for forbidden imports, forbidden builtins, clock reads
   and ``getattr(x, "now")``-style string escapes; each finding is reported as ``file:line``. The scanner is itself
   tested on synthetic sources, one per forbidden construct, so it cannot silently pass.
2. Runtime: a fresh interpreter imports the core's own dependencies, takes a snapshot of ``sys.modules``, imports
   every core module and reports any forbidden module that appeared. ``os``, ``sys``, ``io``, ``pathlib``, ``time``,
   ``builtins`` and ``importlib`` are loaded by the interpreter's start-up, so this check can only see the others
   (sockets, subprocesses, threads, logging, sqlite3, random, ...); the static check is the one that covers all.

Neither check can see computed names (``getattr(x, "n" + "ow")``) or a clock reached through an object passed in.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

import taskaction_core

NON_CORE_SUBPACKAGES = frozenset({"interpreter", "adapters", "runtime", "cli", "testing"})

FORBIDDEN_MODULES = frozenset(
    {
        # The brief's list: I/O, clocks, randomness, logging, concurrency, network, storage, identity.
        *("os", "sys", "io", "pathlib", "time", "random", "secrets", "logging", "socket", "subprocess"),
        *("threading", "asyncio", "multiprocessing", "shutil", "tempfile", "urllib.request", "http", "sqlite3"),
        *("uuid", "fsspec", "requests", "builtins"),
        # The same doors by other names: dynamic import, native calls, the machine, signals, files, databases.
        *("importlib", "ctypes", "platform", "signal", "glob", "select", "selectors", "ssl", "socketserver"),
        *("concurrent", "_thread", "sched", "getpass", "webbrowser", "psycopg", "psycopg2", "zoneinfo"),
    }
)

FORBIDDEN_BUILTINS = frozenset(
    {
        *("open", "print", "input", "exec", "eval", "compile", "__import__", "breakpoint", "exit", "quit", "help"),
        *("globals", "locals", "__builtins__"),
    }
)

CLOCK_METHODS = frozenset({"now", "utcnow", "today"})

# A reference to one of these, even uncalled (``clock = datetime.now``), is a clock read waiting to happen.
FORBIDDEN_REFERENCES = frozenset(
    {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today"}
)

REFLECTIVE_GETTERS = frozenset({"getattr", "setattr", "hasattr", "delattr", "attrgetter", "methodcaller"})

FORBIDDEN_ATTRIBUTE_STRINGS = frozenset(
    {
        *CLOCK_METHODS,
        *FORBIDDEN_BUILTINS,
        *("system", "popen", "getenv", "environ", "urandom", "import_module", "time", "time_ns", "monotonic"),
        *("perf_counter", "process_time", "sleep", "random", "randint", "randrange", "choice", "uuid4"),
    }
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One forbidden construct found in a core file."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def package_root() -> Path:
    """The directory of the ``taskaction_core`` package under test."""
    return Path(taskaction_core.__file__).resolve().parent


def core_files(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root`` that belongs to the core, i.e. lies outside the shell subpackages."""
    return sorted(path for path in root.rglob("*.py") if path.relative_to(root).parts[0] not in NON_CORE_SUBPACKAGES)


def module_name(root: Path, path: Path) -> str:
    """The dotted module name of ``path`` inside the package rooted at ``root`` (``__init__`` names its package)."""
    parts = (root.name, *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def forbidden_module(name: str) -> str | None:
    """The forbidden module that ``name`` is or lies inside, if any."""
    return next((m for m in sorted(FORBIDDEN_MODULES) if name == m or name.startswith(m + ".")), None)


def is_outside_core(name: str) -> bool:
    """Whether ``name`` is a shell subpackage (or inside one): the core must not depend upward on it."""
    parts = name.split(".")
    return len(parts) >= 2 and parts[0] == "taskaction_core" and parts[1] in NON_CORE_SUBPACKAGES


class _Scanner(ast.NodeVisitor):
    """Walks one module's tree and collects every forbidden construct in it."""

    def __init__(self, path: str, module: str, is_package: bool, tree: ast.Module) -> None:
        self.path = path
        self.package = module if is_package else module.rpartition(".")[0]
        self.violations: list[Violation] = []
        self.aliases = self._collect_aliases(tree)
        self.called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}

    def _report(self, node: ast.expr | ast.stmt, what: str) -> None:
        self.violations.append(Violation(self.path, node.lineno, what))

    def _absolute(self, node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        parts = self.package.split(".")
        base = parts[: len(parts) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)

    def _collect_aliases(self, tree: ast.Module) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    aliases[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(node)
                aliases.update({a.asname or a.name: f"{base}.{a.name}" for a in node.names if a.name != "*"})
        return aliases

    def _check_module(self, node: ast.stmt, name: str) -> bool:
        found = forbidden_module(name)
        if found is not None:
            self._report(node, f"imports forbidden module {found!r} ({name})")
        elif is_outside_core(name):
            self._report(node, f"imports {name!r}, which is outside the core")
        return found is not None or is_outside_core(name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        if not self._check_module(node, base):
            for alias in node.names:
                if alias.name != "*":
                    self._check_module(node, f"{base}.{alias.name}")

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in FORBIDDEN_BUILTINS:
            self._report(node, f"uses builtin {node.id!r}")

    def _dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            owner = self._dotted(node.value)
            return None if owner is None else f"{owner}.{node.attr}"
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self._dotted(node)
        if dotted in FORBIDDEN_REFERENCES:
            self._report(node, f"reads the clock: {dotted}")
        elif node.attr in CLOCK_METHODS and id(node) in self.called:
            self._report(node, f"calls .{node.attr}(), which reads the clock")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if callee in REFLECTIVE_GETTERS:
            for arg in node.args:
                if isinstance(arg, ast.Constant) and arg.value in FORBIDDEN_ATTRIBUTE_STRINGS:
                    self._report(node, f"{callee}(..., {arg.value!r}) reaches a forbidden name by string")
        if callee == "astimezone" and not node.args and not node.keywords:
            self._report(node, "astimezone() without a zone reads the machine's local zone")
        self.generic_visit(node)


def scan_source(source: str, path: str, module: str, is_package: bool = False) -> list[Violation]:
    """Every forbidden construct in ``source``, the text of module ``module`` stored at ``path``."""
    tree = ast.parse(source, filename=path)
    scanner = _Scanner(path, module, is_package, tree)
    scanner.visit(tree)
    return sorted(scanner.violations, key=lambda v: (v.line, v.what))


def scan_core(root: Path) -> list[Violation]:
    """Every forbidden construct in every core file under ``root``."""
    violations: list[Violation] = []
    for path in core_files(root):
        shown = str(path.relative_to(root.parent))
        violations += scan_source(
            path.read_text(encoding="utf-8"), shown, module_name(root, path), path.stem == "__init__"
        )
    return violations


# --------------------------------------------------------------------------------------------- the core itself


def test_core_files_discovered_include_the_known_core_modules() -> None:
    names = {module_name(package_root(), path) for path in core_files(package_root())}
    assert {"taskaction_core", "taskaction_core.records", "taskaction_core.phases"} <= names


def test_core_files_shell_subpackages_are_excluded(tmp_path: Path) -> None:
    root = tmp_path / "taskaction_core"
    for relative in ["__init__.py", "records.py", "reconcile/task.py", *(f"{s}/x.py" for s in NON_CORE_SUBPACKAGES)]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("", encoding="utf-8")
    found = [path.relative_to(root).as_posix() for path in core_files(root)]
    assert found == ["__init__.py", "reconcile/task.py", "records.py"]


ALLOWED: Final = frozenset({("taskaction_core/fastinit.py", "uses builtin 'exec'")})
"""The one sanctioned finding: ``fast_init`` executes an ``__init__`` generated from dataclass field names only
(its grammar is checked line by line in ``tests/core/test_fastinit.py``)."""


def test_core_sources_scanned_contain_no_forbidden_construct() -> None:
    violations = scan_core(package_root())
    unexpected = [v for v in violations if (v.path, v.what) not in ALLOWED]
    assert unexpected == [], "the pure core must not do I/O:\n" + "\n".join(map(str, unexpected))


def test_core_sources_allowed_findings_occur_exactly_once() -> None:
    found = [(v.path, v.what) for v in scan_core(package_root())]
    assert sorted(found) == sorted(ALLOWED), "an allowance is stale or used more than once"


# --------------------------------------------------------------------------------------------- the scanner bites


def _import_statements(module: str) -> Iterator[str]:
    yield f"import {module}"
    yield f"import {module} as alias"
    head, _, tail = module.rpartition(".")
    yield f"from {head} import {tail}" if head else f"from {module} import something"


@pytest.mark.parametrize(
    ("module", "statement"),
    [(m, s) for m in sorted(FORBIDDEN_MODULES) for s in _import_statements(m)],
    ids=[s for m in sorted(FORBIDDEN_MODULES) for s in _import_statements(m)],
)
def test_scan_source_forbidden_import_is_reported(module: str, statement: str) -> None:
    violations = scan_source(f"x = 1\n{statement}\n", "synthetic.py", "taskaction_core.synthetic")
    assert [(v.line, v.what.startswith(f"imports forbidden module {module!r}")) for v in violations] == [(2, True)]


@pytest.mark.parametrize("name", sorted(FORBIDDEN_BUILTINS))
def test_scan_source_forbidden_builtin_is_reported(name: str) -> None:
    violations = scan_source(f"x = 1\ny = {name}('x')\n", "synthetic.py", "taskaction_core.synthetic")
    assert [(v.line, v.what) for v in violations] == [(2, f"uses builtin {name!r}")]


@pytest.mark.parametrize("subpackage", sorted(NON_CORE_SUBPACKAGES))
def test_scan_source_import_of_shell_subpackage_is_reported(subpackage: str) -> None:
    sources = [
        f"import taskaction_core.{subpackage}.ports",
        f"from taskaction_core.{subpackage} import ports",
        f"from taskaction_core import {subpackage}",
        f"from ..{subpackage} import ports",
    ]
    for source in sources:
        violations = scan_source(source, "synthetic.py", "taskaction_core.reconcile.synthetic")
        assert [v.what.endswith("outside the core") for v in violations] == [True], source


CLOCK_AND_ESCAPE_CASES = [
    ("from datetime import datetime\nx = datetime.now()\n", "reads the clock: datetime.datetime.now"),
    ("from datetime import datetime\nx = datetime.utcnow()\n", "reads the clock: datetime.datetime.utcnow"),
    ("from datetime import datetime\nx = datetime.today()\n", "reads the clock: datetime.datetime.today"),
    ("from datetime import date\nx = date.today()\n", "reads the clock: datetime.date.today"),
    ("import datetime\nx = datetime.datetime.now()\n", "reads the clock: datetime.datetime.now"),
    ("import datetime as dt\nx = dt.date.today()\n", "reads the clock: datetime.date.today"),
    ("from datetime import datetime as D\nclock = D.now\n", "reads the clock: datetime.datetime.now"),
    ("import x\ny = x.clock.now()\n", "calls .now(), which reads the clock"),
    ("import x\ny = getattr(x, 'now')()\n", "getattr(..., 'now') reaches a forbidden name by string"),
    ("import x\ny = getattr(x, 'open')\n", "getattr(..., 'open') reaches a forbidden name by string"),
    ("import x\ny = x.attrgetter('utcnow')\n", "attrgetter(..., 'utcnow') reaches a forbidden name by string"),
    ("import x\ny = x.stamp.astimezone()\n", "astimezone() without a zone reads the machine's local zone"),
]


@pytest.mark.parametrize(("source", "expected"), CLOCK_AND_ESCAPE_CASES, ids=[e for _, e in CLOCK_AND_ESCAPE_CASES])
def test_scan_source_clock_read_or_string_escape_is_reported(source: str, expected: str) -> None:
    violations = scan_source(source, "synthetic.py", "taskaction_core.synthetic")
    assert [(v.line, v.what) for v in violations] == [(2, expected)]


def test_scan_source_pure_constructs_are_not_reported() -> None:
    source = "\n".join(
        [
            "from __future__ import annotations",
            "import urllib.parse",
            "from datetime import datetime, timedelta, timezone",
            "from . import records",
            "from .reconcile import task",
            "def f(obs, stamp):",
            "    later = obs.now + timedelta(seconds=1)",
            "    return getattr(obs, 'phase'), stamp.time(), stamp.astimezone(timezone.utc), later",
        ]
    )
    assert scan_source(source, "synthetic.py", "taskaction_core.synthetic") == []


def test_scan_core_violation_names_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "taskaction_core"
    (root / "reconcile").mkdir(parents=True)
    (root / "reconcile" / "task.py").write_text("x = 1\nimport random\n", encoding="utf-8")
    (root / "interpreter").mkdir()
    (root / "interpreter" / "driver.py").write_text("import sqlite3\n", encoding="utf-8")
    assert [str(v) for v in scan_core(root)] == [
        "taskaction_core/reconcile/task.py:2: imports forbidden module 'random' (random)"
    ]


# --------------------------------------------------------------------------------------------- runtime imports

_RUNTIME_PROBE = """
import importlib, json, sys
paths, dependencies, modules, forbidden = json.loads(sys.argv[1])
sys.path[:0] = paths
for name in dependencies:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        pass  # ``from pkg import name`` where ``name`` is not a submodule
before = set(sys.modules)
for name in modules:
    importlib.import_module(name)
after = set(sys.modules)
print(json.dumps({
    "added": sorted(m for m in forbidden if m in after - before),
    "preloaded": sorted(m for m in forbidden if m in before),
}))
"""


def external_dependencies(root: Path) -> list[str]:
    """The allowed modules the core imports from outside itself (candidates for ``from pkg import name`` too)."""
    names: set[str] = set()
    for path in core_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    own = root.name
    return sorted(n for n in names if n.partition(".")[0] != own and forbidden_module(n) is None)


def run_probe(paths: Sequence[str], dependencies: Sequence[str], modules: Sequence[str]) -> dict[str, list[str]]:
    """Import ``modules`` in a fresh interpreter after ``dependencies``; name the forbidden modules that appeared."""
    argument = json.dumps([list(paths), list(dependencies), list(modules), sorted(FORBIDDEN_MODULES)])
    completed = subprocess.run(
        [sys.executable, "-c", _RUNTIME_PROBE, argument], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result: dict[str, list[str]] = json.loads(completed.stdout)
    return result


def test_core_import_at_runtime_loads_no_forbidden_module() -> None:
    root = package_root()
    modules = [module_name(root, path) for path in core_files(root)]
    result = run_probe([str(root.parent)], external_dependencies(root), modules)
    assert result["added"] == [], f"importing the core loaded {result['added']}"
    assert set(FORBIDDEN_MODULES) - set(result["preloaded"]), "every forbidden module was preloaded: check is void"


def test_run_probe_module_importing_forbidden_module_is_reported(tmp_path: Path) -> None:
    (tmp_path / "impure_probe_example.py").write_text("import sqlite3\nimport socket\n", encoding="utf-8")
    result = run_probe([str(tmp_path)], [], ["impure_probe_example"])
    assert {"socket", "sqlite3"} <= set(result["added"])
