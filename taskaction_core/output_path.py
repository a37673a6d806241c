"""Where an attempt reads its inputs and writes its outputs (R72, R103, R104, R108, R109).

The Go controller, the actions service (``BuildOutputUri``) and the SDK all have to name the same location for an
attempt's outputs, so the path algorithm is reproduced byte for byte, Go ``net/url`` quirks included (Q30):
``s3:bucket/x`` (an opaque URL) keeps its form and loses the new path, the scheme is lowercased, the path is
re-escaped with Go's rules, and query and fragment are kept after the new path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.fastinit import fast_init
from taskaction_core.gofmt import go_quote_bytes
from taskaction_core.gourl import GoURL, parse, to_string

SHARD_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789"
"""R109: letters first, then digits (Go ``ioutils.NewBase36PrefixShardSelector``)."""
_SHARD_COUNT: Final = len(SHARD_ALPHABET) ** 2
FNV32_OFFSET_BASIS: Final = 2166136261
FNV32_PRIME: Final = 16777619
_UINT32_MASK: Final = 0xFFFFFFFF
OUTPUTS_FILE: Final = "outputs.pb"
REPORT_FILE: Final = "report.html"
INPUTS_FILE: Final = "inputs.pb"
CHECKPOINTS_DIR: Final = "_flytecheckpoints"


@fast_init
@dataclass(frozen=True, slots=True)
class OutputPathError:
    """``runOutputBase`` is not a URL Go can parse. ``message`` is Go's full error text (R108), which R33 reports."""

    message: str


def fnv1a_32(data: bytes) -> int:
    """FNV-1a, 32 bits (Go ``hash/fnv.New32a``), shared by the shard (R109) and generated names (R105)."""
    value = FNV32_OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * FNV32_PRIME) & _UINT32_MASK
    return value


def to_go_bytes(text: str) -> bytes:
    """The Go string a Python ``str`` stands for. ``surrogatepass`` makes this total: a lone surrogate (which no Go
    string holds) becomes its three-byte WTF-8 form, which Go would see as invalid UTF-8."""
    return text.encode("utf-8", "surrogatepass")


def shard(key: str) -> str:
    """R109: two base-36 characters from the FNV-1a-32 hash of ``key``'s UTF-8 bytes, modulo 36² = 1296.

    Go: ``PrecomputedShardSelector.GetShardPrefix``. The key is ``<namespace>/<name>``, so the shard is the same for
    every attempt of an action.
    """
    index = fnv1a_32(to_go_bytes(key)) % _SHARD_COUNT
    high, low = divmod(index, len(SHARD_ALPHABET))
    return SHARD_ALPHABET[high] + SHARD_ALPHABET[low]


def compute_action_output_path(
    namespace: str, name: str, run_output_base: str, action_name: str, attempt: int
) -> Result[str, OutputPathError]:
    """R108 (Go ``tec.ComputeActionOutputPath``): ``<scheme>://<host>/<shard>/<rest of base>/<action>/<attempt>``.

    Total for every ``str`` input; memoized because every reconcile pass and every event computes it (R72, R103).
    ``attempt`` is Go's ``uint32``: it is written in decimal as given.
    """
    return _compute_cached(namespace, name, run_output_base, action_name, attempt)


@lru_cache(maxsize=4096, typed=True)
def _compute_cached(
    namespace: str, name: str, run_output_base: str, action_name: str, attempt: int
) -> Result[str, OutputPathError]:
    base = to_go_bytes(run_output_base)
    parsed = _parsed_base(base)
    if not isinstance(parsed, Success):
        return Failure(OutputPathError(f"invalid RunOutputBase {go_quote_bytes(base)}: {parsed.failure()}"))
    url = parsed.unwrap()
    rest = url.path.strip(b"/")
    segments = [to_go_bytes(shard(f"{namespace}/{name}")), *([rest] if rest else []), to_go_bytes(action_name)]
    new_path = b"/" + b"/".join([*segments, str(attempt).encode("ascii")])
    return Success(to_string(url.with_path(new_path)).decode("utf-8", "surrogatepass"))


@lru_cache(maxsize=256)
def _parsed_base(base: bytes) -> Result[GoURL, str]:
    """The parsed ``runOutputBase``, memoized apart from the path: one base serves every action of a run, so a new
    action's first path (a miss of ``_compute_cached``) skips the Go ``url.Parse``."""
    return parse(base)


def outputs_uri(prefix: str) -> str:
    """R72: ``output_uri`` of an ActionEvent, ``<prefix>/outputs.pb`` (a trailing ``/`` on prefix is dropped)."""
    return f"{prefix.rstrip('/')}/{OUTPUTS_FILE}"


def report_uri(prefix: str) -> str:
    """R72: ``report_uri`` of an ActionEvent, ``<prefix>/report.html``."""
    return f"{prefix.rstrip('/')}/{REPORT_FILE}"


def checkpoint_prefix(output_prefix: str) -> str:
    """R103: an attempt's checkpoint prefix, ``<outputPrefix>/_flytecheckpoints``."""
    return f"{output_prefix}/{CHECKPOINTS_DIR}"


def input_prefix(input_uri: str) -> str:
    """R104: ``spec.inputUri`` without exactly one trailing ``/inputs.pb``, so ``s3://b/x/inputs.pb`` ≡ ``s3://b/x``."""
    return input_uri.removesuffix(f"/{INPUTS_FILE}")


def input_path(prefix: str) -> str:
    """R104: where the inputs are read, ``<prefix>/inputs.pb``."""
    return f"{prefix}/{INPUTS_FILE}"
