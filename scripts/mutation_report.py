"""Write docs/mutation-testing.md from a finished mutmut run (``tox -e mutation``).

    python scripts/mutation_report.py MUTMUT_DIR docs/mutation-testing.md "<command and date line>"

Every surviving mutant is listed with a one-line reason. The reasons come from rules over the mutant's diff, checked
by hand on samples: a rule names the mechanism (e.g. the R18 normaliser re-fills an occurred_at the mutant removes);
a survivor no rule explains is listed as an open test gap, never as equivalent.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"phase_info\.x_(phase_info_|_coded).*"),
        "equivalent: the R18 normaliser re-fills the TaskInfo/occurred_at the mutant drops with the same instant, "
        "or the mutated default is never used by the reconciler (cleanup_on_failure is never read, Q3/R17)",
    ),
    (
        re.compile(r"x__serve_hit"),
        "equivalent: the cache TaskInfo already carries occurred_at=now, so the normaliser's fallback is unused",
    ),
    (
        re.compile(r"x__abort_event|x_finalize_permanent_failure__mutmut_2\b"),
        "equivalent: the constructor's TaskInfo already carries the instant the mutant removes (R18 normaliser)",
    ),
]
POLICY_TO_NONE = re.compile(r"^\+.*\bNone\)?$")


def results(directory: Path) -> list[tuple[str, str]]:
    out = subprocess.run(["mutmut", "results", "--all", "true"], cwd=directory, capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        name, _, state = line.strip().rpartition(": ")
        if name:
            rows.append((name, state))
    return rows


def diff_of(directory: Path, name: str) -> str:
    shown = subprocess.run(["mutmut", "show", name], cwd=directory, capture_output=True, text=True).stdout
    changed = [line for line in shown.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return " / ".join(line.strip() for line in changed[:2])


def reason(name: str, diff: str) -> str:
    for pattern, text in RULES:
        if pattern.search(name):
            return text
    if ", None)" in diff or ("policy" in diff and "None" in diff):
        return (
            "test gap: the argument only matters on a path no test reaches with it (e.g. a policy read only for "
            "messages over 32,768 characters, D10, or a `now` the normaliser replaces)"
        )
    return "test gap: not yet killed; needs a test on this path"


def main() -> int:
    directory, target, command = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    rows = results(directory)
    counts = Counter(state for _, state in rows)
    killed, survived = counts.get("killed", 0), counts.get("survived", 0)
    total = killed + survived + counts.get("timeout", 0) + counts.get("suspicious", 0)
    lines = [
        "# Mutation testing of the pure core",
        "",
        f"Run: {command}",
        "",
        f"Mutants: {total} checked; killed {killed}, survived {survived}, timeouts {counts.get('timeout', 0)}; "
        f"score **{100 * (total - survived) / max(total, 1):.1f} %** (target ≥ 90 %).",
        "",
        "Mutated: `reconcile/*`, `records`, `phases`, `phase_info`, `policy`, `gc`, `naming`, `output_path`, `gofmt`,",
        "`gourl`, `gonetip`, `idl`. Tests: `tests/core` and the explorer's law and liveness tests (the generated",
        "diagram's staleness check is excluded so it cannot flatter the score). Configuration: `[tool.mutmut]`.",
        "",
        "## Survivors",
        "",
        "| mutant | change | reason |",
        "|---|---|---|",
    ]
    for name, state in rows:
        if state == "survived":
            diff = diff_of(directory, name).replace("|", "\\|")
            lines.append(f"| `{name}` | `{diff[:160]}` | {reason(name, diff)} |")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{killed} killed, {survived} survived of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
