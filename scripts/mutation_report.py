"""Write docs/mutation-testing.md from a finished mutmut run (``tox -e mutation``).

    python scripts/mutation_report.py MUTMUT_DIR docs/mutation-testing.md "<command and date line>" \
        [--kill-tests tests/core/test_new.py ...]

Every surviving mutant is listed with a one-line reason. A reason comes from :data:`RULES`: each names one function
and a fragment of the mutant's changed line, so it still applies after mutmut renumbers the mutants, and it states
why no test can tell that mutant from the original (checked by reading the code, rule by rule). A survivor no rule
explains is listed as an open test gap, never as equivalent. Survivors that a test added since the run kills simply
disappear when the run is redone.

``--kill-tests`` re-checks the run's open survivors against test files added since the run: each is run on a scratch
copy of ``MUTMUT_DIR/mutants`` with ``MUTANT_UNDER_TEST`` set, as mutmut runs one mutant, and the ones a new test
kills are listed, with the test, under "Killed since this run by new tests" instead of as gaps.
``--check-equivalents`` runs the equivalent ones too: a rule whose mutant a test kills is wrong, and is reported so.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    """An equivalent mutant: ``function`` (module path below ``taskaction_core`` and mutmut's ``x_`` function key)
    whose added line contains ``fragment``."""

    function: str
    fragment: str
    reason: str


_NORMALISED = "the R18 normaliser builds TaskInfo(occurred_at=t), equal to the one the mutant drops"
_HAS_TIME = "the TaskInfo already has occurred_at=t, so the normaliser's fallback instant is never used (R18)"
_FILLS_TIME = "the R18 normaliser fills occurred_at with the same t"
_FALSY = "the argument is only tested for truth, and None is falsy like False"
_CODEC = "codec names are case-insensitive aliases"
_NO_REASON_TIME = (
    "phase_info_failed has no reason, so the TaskInfo's occurred_at feeds no cluster event (R71) and nothing else "
    "reads it"
)
_LABEL_NOW = (
    "the action was not terminal on entry (R7 and R8 use the same predicate), so the first True Succeeded/Failed "
    "condition is the one just written with lastTransitionTime=now (R6): R8 never falls back to the argument"
)
_CONSTANT_MESSAGE = (
    "the condition messages on this branch are fixed constants shorter than 32,768, so condition_message never "
    "reads the policy (D10)"
)
_SORTED_DICT = (
    "the dict is built in sorted key order (actionId, phase, timestamp), so json.dumps writes the same order unsorted"
)
_PATH_BASE_ONLY = (
    "success and the R33 error text depend only on runOutputBase (its url.Parse); namespace and name only feed the "
    "shard of a path that is discarded"
)
_ZERO_OFFSET_FITS = (
    "the fallback is only evaluated when utcoffset() is zero or None, and then astimezone(UTC) cannot overflow (or "
    "is not called), so the saturation branch never gets there"
)
_IP_LITERAL = "_parse_ip_literal only runs when host[0] is '[', so ']' is never found at index 0"
_PHASE_INFO = ("not_ready", "waiting_for_resources", "queued", "aborted")

RULES: tuple[Rule, ...] = (
    # naming (R103-R107)
    *(
        Rule(function, "attempts > 1 else 1", "attempts = 1 gives 1 on either branch")
        for function in ("naming.x_observed_attempt", "reconcile.action_events.x_build_action_event")
    ),
    Rule("naming.x_fixed_length_unique_id", "to_bytes(4, )", "big-endian is int.to_bytes's default byteorder (3.11+)"),
    Rule(
        "naming.x_fixed_length_unique_id",
        'rstrip(b"XX=XX")',
        "the 7th base32 character of 4 bytes holds 2 data bits and 3 zero bits (A, I, Q or Y), never X, so only "
        "'=' is stripped",
    ),
    Rule("naming.x_fixed_length_unique_id", 'decode("ASCII")', _CODEC),
    Rule("naming.x_max_attempts", "retries <= 0", "retries = 0 gives 1 either way: min(0 + 1, MAX_UINT32) = 1"),
    Rule("naming.x_max_attempts", "retries < 1", "retries = 0 gives 1 either way: min(0 + 1, MAX_UINT32) = 1"),
    # records (R6)
    Rule(
        "records.x_set_condition",
        "transition_time, ))",
        "Condition.observed_generation defaults to 0, the value dropped",
    ),
    Rule(
        "records.x_set_condition", "message, now, ))", "Condition.observed_generation defaults to 0, the value dropped"
    ),
    # idl (R68)
    *(
        Rule(
            "idl.x_encode_action_event_bytes",
            flag,
            "an ActionEvent has no proto map at any depth (test_encode_action_event_has_no_map_fields) and "
            "deterministic serialization only orders map entries",
        )
        for flag in ("deterministic=None", "deterministic=False")
    ),
    # gourl / gonetip (R108)
    Rule("gourl.x__percent_decode", 'decode("ASCII")', _CODEC),
    Rule("gourl.x__parse_ip_literal", "if close <= 0:", _IP_LITERAL),
    Rule("gourl.x__parse_ip_literal", "if close < 1:", _IP_LITERAL),
    Rule("gonetip.x__ipv6_error", "ellipsis = -2", "only the sign of ellipsis is tested (< 0 / >= 0); -1 and -2 agree"),
    Rule(
        "gonetip.x__ipv6_error",
        "ellipsis, rest = 1, rest[2:]",
        "the address is not built, so the ellipsis position is only tested against 0 (>= 0 / < 0), where 0 and 1 agree",
    ),
    Rule(
        "gonetip.x__hex_prefix_length",
        "enumerate(rest[:6])",
        "a 6th byte is only reached after five hex digits, and then both versions return 5",
    ),
    Rule(
        "gonetip.x__hex_prefix_length",
        "min(len(rest), 6)",
        "5 or 6 leading digits both exceed 4 and give the same error at the same rest",
    ),
    # phase_info (R18)
    *(Rule(f"phase_info.x_phase_info_{name}", ", version, None, t, reason)", _NORMALISED) for name in _PHASE_INFO),
    *(Rule(f"phase_info.x_phase_info_{name}", "(occurred_at=t), None, reason)", _HAS_TIME) for name in _PHASE_INFO),
    *(Rule(f"phase_info.x_phase_info_{name}", "TaskInfo(occurred_at=None), t", _FILLS_TIME) for name in _PHASE_INFO),
    # gofmt (spec §0, R81) and output_path
    Rule("gofmt.x_go_quote", "from_bytes=None", _FALSY),
    Rule("gofmt.x_go_quote_bytes", 'data.decode("UTF-8"', _CODEC),
    Rule("gofmt.x__quote_char", "code <= 0x20 or", "U+0020 (space) is printable and returned before this test"),
    Rule("gofmt.x__quote_char", "code < 33 or", "U+0020 (space) is printable and returned before this test"),
    Rule("gofmt.x__quote_char", "code <= 0x10000", "U+10000 is printable (Linear B) and returned before this test"),
    Rule("gofmt.x__quote_char", "code < 65537", "U+10000 is printable (Linear B) and returned before this test"),
    Rule("gofmt.x__fraction", 'rstrip("XX0XX")', "the string holds only decimal digits, so only '0' can be stripped"),
    Rule("gofmt.x_round_half_away_seconds", "micros > 0 else", "micros = 0 gives seconds = 0, and -0 == 0"),
    *(
        Rule(function, fragment, "the year shortcut only skips zero-padding, which a year of 1000 or more never needs")
        for function in ("gofmt.x_rfc3339_seconds", "gofmt.x_label_time")
        for fragment in ("(year >= 1000) and False", "year > 1000 else", "year >= 1001 else")
    ),
    Rule("gofmt.x_round_half_away_seconds", "micros >= 1 else", "micros = 0 gives seconds = 0, and -0 == 0"),
    Rule("gofmt.x__zone", "micros = 1 if offset is None", "1 µs is under a second, so the result is 'Z' as for 0"),
    Rule("gofmt.x__zone", "micros <= 0 and minutes", "micros = 0 means seconds = 0, which returned 'Z' earlier"),
    Rule("gofmt.x__zone", "micros < 1 and minutes", "micros = 0 means seconds = 0, which returned 'Z' earlier"),
    Rule(
        "gofmt.x_rfc3339_seconds",
        "(moment.tzinfo is UTC) and False",
        "the UTC test is a fast path: UTC's utcoffset() is timedelta(0), for which _zone also returns 'Z'",
    ),
    *(
        Rule("gofmt.x_label_time", fragment, _ZERO_OFFSET_FITS)
        for fragment in ("utcoffset() or timedelta(None)", "utcoffset() or timedelta(1)")
    ),
    Rule(
        "gofmt.x_label_time",
        "offset <= timedelta(0)",
        "< and <= differ only at offset 0, and a zero offset never overflows astimezone(UTC), so it never reaches "
        "the saturation branch",
    ),
    Rule("output_path.x_to_go_bytes", 'encode("UTF-8"', _CODEC),
    # reconcile/task (R32-R48)
    *(
        Rule(
            "reconcile.task.x__reconcile_attempt",
            fragment,
            "on the context-error exit the prefix is never read (_endless_failure uses plugin id, config, policy)",
        )
        for fragment in ("plugin_id, config, None, observations.now)", 'plugin_id, config, "XXXX", observations.now)')
    ),
    Rule(
        "reconcile.task.x__reconcile_attempt",
        '_Pass(task_action, None, policy, plugin_id, config, "", observations.now)',
        "on the context-error exit the observations are never read (_endless_failure uses plugin id, config, policy "
        "and the pass's own now field)",
    ),
    Rule("reconcile.task.x__reconcile_attempt", "with_context=None)", _FALSY),
    Rule("reconcile.task.x__reconcile_attempt", "short_circuited=None)", _FALSY),
    Rule("reconcile.task.x__user_retryable_failure", "phase_info_failed(None,", _NO_REASON_TIME),
    Rule(
        "reconcile.task.x__user_retryable_failure",
        "_finish(facts, restart, None,",
        "restart_attempts makes _apply reset plugin state and version, so the dropped write is discarded anyway",
    ),
    Rule(
        "reconcile.task.x__user_retryable_failure",
        "_apply(facts, facts.original.status, info, None)",
        "D2's reported status only feeds the FAILED event (which reads no plugin state) and the restart base, "
        "whose plugin state the restart resets",
    ),
    Rule("reconcile.task.x__finish", "with_terminal_labels(working, None)", _LABEL_NOW),
    Rule("reconcile.task.x__finish", "terminal_metadata(metadata, status.conditions, None)", _LABEL_NOW),
    Rule("reconcile.failures.x_finalize_permanent_failure", "with_terminal_labels(working, None)", _LABEL_NOW),
    Rule("reconcile.condition.x__conclude", "with_terminal_labels(working, None)", _LABEL_NOW),
    # reconcile/failures (R57-R63)
    Rule("reconcile.failures.x_finalize_permanent_failure", "phase_info_failed(None,", _NO_REASON_TIME),
    Rule(
        "reconcile.failures.x_finalize_permanent_failure",
        "status.phase_history, None)",
        "the PermanentFailure info always carries exec_error, so the new ErrorState never reads the current one",
    ),
    # reconcile/deletion (R90)
    Rule(
        "reconcile.deletion.x__abort_event",
        "phase_info_aborted(None,",
        "the abort event's updated_time is now (R90), which is also the cluster-event fallback (R71)",
    ),
    # reconcile/cache (R52, R53)
    Rule(
        "reconcile.cache.x_evaluate_cache_before_execution",
        "if (effects) or True else PROCEED",
        "with no effects it returns PreExecution(effects=()), equal field by field to PROCEED = PreExecution() (a "
        "frozen dataclass), and no caller compares it by identity",
    ),
    Rule(
        "reconcile.cache.x__serve_hit",
        "phase_info_success(None, cache_task_info(",
        "cache_task_info already sets occurred_at=now, so the normaliser's instant is unused (R18)",
    ),
    # reconcile/status (R41, R42)
    Rule(
        "reconcile.status.x_map_phase_to_conditions", "MSG_COMPLETED, view.error_state, now, None)", _CONSTANT_MESSAGE
    ),
    Rule("reconcile.status.x_map_phase_to_conditions", "MSG_ABORTED, view.error_state, now, None)", _CONSTANT_MESSAGE),
    *(
        Rule(
            function,
            "len(message) >= MAX_CONDITION_MESSAGE",
            "a message of exactly 32,768 characters is returned unchanged by condition_message, which cuts only above "
            "the limit (D10)",
        )
        for function in ("reconcile.status.x_set_conditions", "reconcile.status.x__with")
    ),
    Rule("reconcile.status.x_mapped_status", "MSG_COMPLETED, error_state, now, None", _CONSTANT_MESSAGE),
    Rule("reconcile.status.x_mapped_status", "MSG_ABORTED, error_state, now, None", _CONSTANT_MESSAGE),
    Rule(
        "reconcile.status.x_state_json",
        "action_id = None",
        'the plain action id is a fast path built only for JSON-safe text (printable ASCII but " \\ < > &) and the '
        "timestamp holds only digits, '-', ':', 'T', 'Z' and '+', so the json.dumps fallback writes the same string "
        "(R42)",
    ),
    Rule("reconcile.status.x_state_json", "sort_keys=None", _SORTED_DICT),
    Rule("reconcile.status.x_state_json", "sort_keys=False", _SORTED_DICT),
    Rule("reconcile.status.x_state_json", 'separators=(",", ":"), ensure_ascii=False)', _SORTED_DICT),
    Rule("reconcile.status.x_state_json", "ensure_ascii=None", _FALSY),
    Rule(
        "reconcile.status.x__json_safe",
        """'XX"\\\\<>&XX'""",
        "X is plain printable ASCII: text holding it takes the json.dumps path, which writes it identically",
    ),
    # reconcile/context (R33) and reconcile/condition (R78-R84)
    Rule("reconcile.context.x_context_error", "None, meta.name, spec.run_output_base", _PATH_BASE_ONLY),
    Rule("reconcile.context.x_context_error", "meta.namespace, None, spec.run_output_base", _PATH_BASE_ONLY),
    Rule("reconcile.condition.x_reconcile_condition", "deadline.failure(), error, None, now", _FALSY),
    Rule("reconcile.condition.x__pause", "set_conditions(status.conditions, updates, now, None)", _CONSTANT_MESSAGE),
)

OPEN_GAP = "open test gap: no equivalence rule explains it and no test kills it yet"


def results(directory: Path) -> list[tuple[str, str]]:
    out = subprocess.run(["mutmut", "results", "--all", "true"], cwd=directory, capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        name, _, state = line.strip().rpartition(": ")
        if name:
            rows.append((name, state))
    return rows


def changed_lines(directory: Path, name: str) -> tuple[list[str], list[str]]:
    """The removed and the added lines of the mutant's diff, stripped."""
    shown = subprocess.run(["mutmut", "show", name], cwd=directory, capture_output=True, text=True).stdout
    lines = [line for line in shown.splitlines() if not line.startswith(("+++", "---"))]
    removed = [line[1:].strip() for line in lines if line.startswith("-")]
    added = [line[1:].strip() for line in lines if line.startswith("+")]
    return removed, added


def function_of(name: str) -> str:
    """``taskaction_core.naming.x_max_attempts__mutmut_3`` → ``naming.x_max_attempts``."""
    return name.removeprefix("taskaction_core.").rpartition("__mutmut_")[0]


def equivalence(name: str, added: list[str]) -> str | None:
    function, text = function_of(name), "\n".join(added)
    for rule in RULES:
        if rule.function == function and rule.fragment in text:
            return f"equivalent: {rule.reason}"
    return None


_DRIVER = r"""
import contextlib, functools, gc, io, os, sys
import pytest

class FirstFailure:
    def __init__(self):
        self.nodeid = None

    def pytest_runtest_logreport(self, report):
        if report.failed and self.nodeid is None:
            self.nodeid = report.nodeid

for name in sys.stdin.read().split():
    os.environ["MUTANT_UNDER_TEST"] = name
    for cached in [obj for obj in gc.get_objects() if isinstance(obj, functools._lru_cache_wrapper)]:
        cached.cache_clear()
    first = FirstFailure()
    with contextlib.redirect_stdout(io.StringIO()):
        pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *sys.argv[1:]], plugins=[first])
    print(name, first.nodeid or "-", flush=True)
"""
"""One process runs every mutant in turn (as mutmut's own runner does), emptying the memo caches in between so a
result memoized under one mutant cannot leak into the next."""


def kills_by_new_tests(directory: Path, names: list[str], tests: list[Path]) -> dict[str, str]:
    """Run each mutant on a scratch copy of the run's mutants/ with the new test files; the first failing test."""
    scratch = Path(tempfile.mkdtemp(prefix="mutation-report-"))
    try:
        shutil.copytree(directory / "mutants", scratch / "mutants")
        for test in tests:
            (scratch / "mutants" / test).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(test, scratch / "mutants" / test)
        run = subprocess.run(
            [sys.executable, "-c", _DRIVER, *map(str, tests)],
            cwd=scratch / "mutants",
            input="\n".join(names),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    outcomes = dict(line.split(" ", 1) for line in run.stdout.splitlines() if line.strip())
    return {name: test for name, test in outcomes.items() if test != "-"}


def _change(removed: list[str], added: list[str]) -> str:
    text = " / ".join([*(f"- {line}" for line in removed[:1]), *(f"+ {line}" for line in added[:1])])
    return text.replace("|", "\\|")[:160]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("command")
    parser.add_argument("--kill-tests", nargs="*", type=Path, default=[])
    parser.add_argument(
        "--check-equivalents",
        action="store_true",
        help="also run the equivalent survivors against --kill-tests; one that is killed is reported as killed",
    )
    args = parser.parse_args()
    directory: Path = args.directory
    rows = results(directory)
    counts = Counter(state for _, state in rows)
    killed, survived = counts.get("killed", 0), counts.get("survived", 0)
    total = killed + survived + counts.get("timeout", 0) + counts.get("suspicious", 0)
    survivors = [name for name, state in rows if state == "survived"]
    diffs = {name: changed_lines(directory, name) for name in survivors}
    reasons = {name: equivalence(name, diffs[name][1]) for name in survivors}
    unexplained = [name for name in survivors if reasons[name] is None]
    checked = survivors if args.check_equivalents else unexplained
    new_kills = kills_by_new_tests(directory, checked, args.kill_tests) if args.kill_tests else {}
    for name in new_kills:
        if reasons[name] is not None:
            print(f"warning: {name} is killed by {new_kills[name]}, so its rule is wrong: {reasons[name]}")
            reasons[name] = None
    equivalent = sum(1 for name in survivors if reasons[name] is not None)
    unexplained = [name for name in survivors if reasons[name] is None]
    still_open = [name for name in unexplained if name not in new_kills]
    lines = [
        "# Mutation testing of the pure core",
        "",
        f"Run: {args.command}",
        "",
        f"Mutants: {total} checked; killed {killed}, survived {survived}, timeouts {counts.get('timeout', 0)}; "
        f"score **{100 * (total - survived) / max(total, 1):.1f} %** (target ≥ 90 %).",
        "",
        f"Survivors of that run: **{equivalent} equivalent** (one-line argument each), **{len(new_kills)} killed since "
        f"by new tests** (re-checked one by one on the run's own mutants, listed at the end), **{len(still_open)} "
        f"open**. On the same {total} mutants that is {total - equivalent - len(still_open)} killed "
        f"({100 * (total - equivalent - len(still_open)) / max(total, 1):.1f} %); the rest are the equivalents.",
        "",
        "Mutated: `reconcile/*`, `records`, `phases`, `phase_info`, `policy`, `gc`, `naming`, `output_path`, `gofmt`,",
        "`gourl`, `gonetip`, `idl`. Tests: `tests/core` and the explorer's law and liveness tests (the generated",
        "diagram's staleness check is excluded so it cannot flatter the score). Configuration: `[tool.mutmut]`.",
        "mutmut does not mutate decorated functions, so the `lru_cache` memos are not mutated; new memos are kept to",
        "a one-line body around an undecorated function that holds the logic (`naming.overlay`); the older ones",
        "(`_attempt_facts_cached`, `cache_config`, `_compute_cached`, ...) still hold theirs, a known gap.",
        "",
        "The reasons come from `RULES` in `scripts/mutation_report.py`: each is keyed on the function and a fragment",
        "of the mutated line, so it survives mutmut's renumbering; a survivor no rule explains is reported as open.",
        "",
        "## Survivors",
        "",
        "| mutant | change | reason |",
        "|---|---|---|",
    ]
    for name in survivors:
        if name not in new_kills:
            lines.append(f"| `{name}` | `{_change(*diffs[name])}` | {reasons[name] or OPEN_GAP} |")
    if new_kills:
        lines += [
            "",
            "## Killed since this run by new tests",
            "",
            "These survived the run above; the test named kills each on the run's own mutants (`--kill-tests`).",
            "They disappear from this report when the run is redone.",
            "",
            "| mutant | change | killed by |",
            "|---|---|---|",
        ]
        lines += [f"| `{name}` | `{_change(*diffs[name])}` | `{test}` |" for name, test in new_kills.items()]
    args.target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"{killed} killed, {survived} survived of {total}: {equivalent} equivalent, {len(new_kills)} killed since, "
        f"{len(still_open)} open"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
