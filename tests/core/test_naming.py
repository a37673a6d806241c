"""Attempts, generated names, pod labels, environment and other metadata (R103, R105, R106, R107).

The ``fixed_length_unique_id`` stand-ins were produced by Go 1.27 (``hash/fnv`` + ``encoding/base32`` with
alphabet ``abcdefghijklmnopqrstuvwxyz123456``, no padding).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap
from returns.result import Failure, Success

from taskaction_core.naming import (
    UNIQUE_ID_TOO_LONG,
    attempt_to_retry,
    fixed_length_unique_id,
    generated_name,
    generated_name_with,
    max_attempts,
    observed_attempt,
    pod_labels,
    sanitize_label_value,
    service_account,
    task_environment,
)

# --- R105, R103 attempts ---------------------------------------------------------------------------------------------

RETRY_CASES = [(0, 0), (1, 0), (2, 1), (3, 2), (10, 9)]


@pytest.mark.parametrize(("attempts", "retry"), RETRY_CASES)
def test_attempt_to_retry_table_is_attempts_minus_one_from_two(attempts: int, retry: int) -> None:
    """R105: retry = attempts − 1 when attempts ≥ 2, else 0."""
    assert attempt_to_retry(attempts) == retry


OBSERVED_CASES = [(0, 1), (1, 1), (2, 2), (7, 7), (-1, 1)]


@pytest.mark.parametrize(("attempts", "observed"), OBSERVED_CASES)
def test_observed_attempt_table_reads_zero_as_one(attempts: int, observed: int) -> None:
    """R103: ``status.attempts`` 0 is read as attempt 1 (and so is an impossible negative count)."""
    assert observed_attempt(attempts) == observed


@pytest.mark.parametrize(
    ("name", "retry", "expected"), [("ta", 0, "ta-0"), ("ta", 1, "ta-1"), ("run-a0", 12, "run-a0-12")]
)
def test_generated_name_table_is_name_dash_retry(name: str, retry: int, expected: str) -> None:
    """R105: ``<CR name>-<retry>``."""
    assert generated_name(name, retry) == expected


UNIQUE_ID_CASES = [
    ("ta-0", 63, Success("ta-0")),
    ("abcdefgh", 8, Success("abcdefgh")),
    ("abcdefghi", 8, Success("f6y4qj2a")),
    ("my-very-long-task-action-name-that-exceeds-the-limit-0", 8, Success("fa2v2cmy")),
    ("my-very-long-task-action-name-that-exceeds-the-limit-0", 20, Success("fa2v2cmy")),
    ("run-a0-action-1-0", 16, Success("fd1fzc5q")),
    ("ééééé", 8, Success("frcjsaui")),
    ("ééééé", 10, Success("ééééé")),
    ("abcdefghi", 7, Failure(UNIQUE_ID_TOO_LONG)),
    ("ta-0", 3, Failure(UNIQUE_ID_TOO_LONG)),
]


@pytest.mark.parametrize(("name", "max_length", "expected"), UNIQUE_ID_CASES)
def test_fixed_length_unique_id_table_matches_go(name: str, max_length: int, expected: object) -> None:
    """R105: the name if it fits (in UTF-8 bytes), else ``f`` + 7 base32 characters, else Go's error text."""
    assert fixed_length_unique_id(name, max_length) == expected


def test_unique_id_too_long_message_is_go_text() -> None:
    """R105: the error text is part of the contract."""
    assert UNIQUE_ID_TOO_LONG == "max Length is too small, cannot create an encoded string that is so small"


@pytest.mark.parametrize("min_length", [0, 5, 100])
def test_generated_name_with_min_length_is_ignored(min_length: int) -> None:
    """R105: ``GetGeneratedNameWith(min, max)`` ignores min (no zero padding)."""
    assert generated_name_with("ta-0", min_length, 63) == Success("ta-0")
    assert generated_name_with("abcdefghi", min_length, 8) == Success("f6y4qj2a")


@given(st.text(), st.integers(min_value=8, max_value=100))
def test_fixed_length_unique_id_any_name_fits_max_length(name: str, max_length: int) -> None:
    """R105: with room for 8 bytes, the result always fits."""
    result = fixed_length_unique_id(name, max_length)
    assert isinstance(result, Success)
    assert len(result.unwrap().encode("utf-8", "surrogatepass")) <= max_length


# --- R106 sanitize ---------------------------------------------------------------------------------------------------

SANITIZE_CASES = [
    ("", ""),
    ("run-123", "run-123"),
    ("My_Run.1", "My_Run.1"),
    ("-abc-", "xabcx"),
    ("_a.", "xax"),
    ("a b", "a-b"),
    ("a/b:c", "a-b-c"),
    ("é", "x"),
    ("日本語", "x-x"),
    (".", "x"),
    ("--", "xx"),
    ("\ud800", "x"),
    ("a" * 70, "a" * 63),
    ("a" * 62 + "-b", "a" * 62 + "x"),
    ("a" * 63 + "-", "a" * 63),
]


@pytest.mark.parametrize(("value", "expected"), SANITIZE_CASES)
def test_sanitize_label_value_table(value: str, expected: str) -> None:
    """R106: forbidden characters → ``-``, cut to 63, non-alphanumeric first/last character → ``x``."""
    assert sanitize_label_value(value) == expected


LABEL_VALUE = re.compile(r"^$|^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


@given(st.text(alphabet=st.characters(exclude_categories=())) | st.text(alphabet="aZ9._- /é", max_size=80))
def test_sanitize_label_value_any_text_is_valid_label_value(value: str) -> None:
    """R106: the result is always a valid Kubernetes label value, empty only for empty input, and stable."""
    sanitized = sanitize_label_value(value)
    assert LABEL_VALUE.match(sanitized)
    assert len(sanitized) <= 63
    assert (sanitized == "") == (value == "")
    assert sanitize_label_value(sanitized) == sanitized


# --- R106 labels and environment -------------------------------------------------------------------------------------

BASE_LABELS = {
    "organization": "flyte",
    "project": "proj",
    "domain": "dev",
    "flyte.org/managed": "true",
    "run": "run1",
    "action": "a0",
    "attempt": "1",
    "task-name": "my-task",
}


def test_pod_labels_plain_inputs_are_injected() -> None:
    """R106: the injected labels, attempt = retry + 1, no secrets label without secrets."""
    labels = pod_labels(pmap(), "proj", "dev", "run1", "a0", 0, "my-task", False)
    assert labels == pmap(BASE_LABELS)


def test_pod_labels_injected_win_over_cr_labels() -> None:
    """R106: CR labels are kept, but injected keys overwrite them."""
    cr_labels = pmap({"team": "ml", "project": "other", "attempt": "9", "flyte.org/managed": "false"})
    labels = pod_labels(cr_labels, "proj", "dev", "run1", "a0", 2, "my-task", False)
    assert labels == pmap({**BASE_LABELS, "team": "ml", "attempt": "3"})


def test_pod_labels_with_secrets_adds_inject_flyte_secrets() -> None:
    """R106: ``inject-flyte-secrets`` = ``true`` only when the template's security context has secrets."""
    labels = pod_labels(pmap(), "proj", "dev", "run1", "a0", 0, "my-task", True)
    assert labels == pmap({**BASE_LABELS, "inject-flyte-secrets": "true"})


def test_pod_labels_are_sanitized() -> None:
    """R106: run, action and task-name go through sanitize; project and domain do not."""
    labels = pod_labels(pmap(), "Proj X", "dev", "run 1", "-a0", 0, "pkg.mod:task", False)
    expected = {**BASE_LABELS, "project": "Proj X", "run": "run-1", "action": "xa0", "task-name": "pkg.mod-task"}
    assert labels == pmap(expected)


def test_pod_labels_empty_sanitized_values_are_omitted_and_cr_values_survive() -> None:
    """R106: an empty run/action/task-name is left out, so a CR label with that key is not overwritten."""
    cr_labels = pmap({"run": "from-cr", "inject-flyte-secrets": "false"})
    labels = pod_labels(cr_labels, "proj", "dev", "", "", 0, "", False)
    expected = {key: value for key, value in BASE_LABELS.items() if key not in ("action", "task-name")}
    assert labels == pmap({**expected, "run": "from-cr", "inject-flyte-secrets": "false"})


def test_task_environment_reserved_keys_set() -> None:
    """R106: ACTION_NAME, RUN_NAME, _U_RUN_BASE and _U_ORG_NAME=local, plus the user's variables."""
    env = task_environment("a0", "run1", "s3://b/run", pmap({"USER_VAR": "x"}))
    assert env == pmap(
        {"ACTION_NAME": "a0", "RUN_NAME": "run1", "_U_RUN_BASE": "s3://b/run", "_U_ORG_NAME": "local", "USER_VAR": "x"}
    )


def test_task_environment_user_cannot_override_reserved_keys() -> None:
    """R106: user values for the four reserved keys are ignored."""
    user = pmap({"ACTION_NAME": "evil", "RUN_NAME": "evil", "_U_RUN_BASE": "evil", "_U_ORG_NAME": "evil", "K": "v"})
    env = task_environment("a0", "run1", "s3://b/run", user)
    assert env == pmap(
        {"ACTION_NAME": "a0", "RUN_NAME": "run1", "_U_RUN_BASE": "s3://b/run", "_U_ORG_NAME": "local", "K": "v"}
    )


# --- R107 -----------------------------------------------------------------------------------------------------------

MAX_ATTEMPTS_CASES = [
    (None, 1),
    (0, 1),
    (1, 2),
    (3, 4),
    (-1, 1),
    (-100, 1),
    (2**32 - 2, 2**32 - 1),
    (2**32 - 1, 2**32 - 1),
]


@pytest.mark.parametrize(("retries", "expected"), MAX_ATTEMPTS_CASES)
def test_max_attempts_table_is_retries_plus_one(retries: int | None, expected: int) -> None:
    """R107: retries + 1, or 1 without a retry strategy; negative reads as 0 retries; saturates at uint32 max."""
    assert max_attempts(retries) == expected


SERVICE_ACCOUNT_CASES = [("sa-task", "sa-default", "sa-task"), ("", "sa-default", "sa-default"), ("", "", "")]


@pytest.mark.parametrize(("template_account", "default", "expected"), SERVICE_ACCOUNT_CASES)
def test_service_account_table_template_wins_when_set(template_account: str, default: str, expected: str) -> None:
    """R107: ``run_as.k8s_service_account`` if non-empty, else the configured default."""
    assert service_account(template_account, default) == expected
