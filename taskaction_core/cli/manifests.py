"""TaskAction manifests: ``flyte.org/v1`` ``TaskAction`` documents in YAML (multi-document) or JSON (R1–R5).

    parsed = parse_manifests(text, "demo.yaml")        # Success((TaskAction, ...)) or Failure((ManifestError, ...))
    text = dump_yaml(task_actions)                     # one YAML document per object, wire names, bytes base64

Theory of operation. Reading a manifest is three checks in a row, each on the plain document:

1. the document is an object with ``apiVersion: flyte.org/v1`` and ``kind: TaskAction`` (a ``TaskActionList`` or
   ``List`` is read as its ``items``), and ``metadata.name`` is set;
2. the CRD's ``openAPIV3Schema`` (shipped as package data, ``taskaction_core/crd``) validates it with jsonschema,
   plus the CRD's formats (``byte``, ``date-time``, ``int32``, ``int64``). Every violation is reported, each naming
   its field path: ``spec.runName: 'xxxxxxxxxxxxxxxxxxxx...' is too long (max 30)``;
3. :func:`~taskaction_core.adapters.serialization.from_wire`, the one reader of the wire shape, builds the record.
   It rejects what the schema does not (unknown fields, with a suggestion: the API server would prune them silently).

Like the API server, a ``null`` value is treated as an absent field before validation (the CRD marks no field
``nullable``). YAML timestamps stay strings: the loader does not resolve them, so a time is parsed once, by the wire
reader. Writing goes through :func:`~taskaction_core.adapters.serialization.to_wire`, so a manifest written by
:func:`dump_yaml` or :func:`dump_json` reads back as the same object, every field included.

Nothing here raises on bad input: every problem is a :class:`ManifestError` in a ``Failure``. This module lives
in the command-line package because it reuses the adapters' wire serializer, which the pure core may not import.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, cast

import jsonschema
import yaml
from returns.result import Failure, Result, Success

from taskaction_core.adapters.serialization import WireDocument, from_wire, parse_time, to_wire
from taskaction_core.records import API_VERSION, KIND, TaskAction

__all__ = [
    "CRD_RESOURCE",
    "LIST_KINDS",
    "ManifestError",
    "ManifestErrors",
    "crd_schema",
    "dump_json",
    "dump_yaml",
    "from_document",
    "parse_manifests",
    "read_manifest_file",
    "validate_document",
]

CRD_RESOURCE: Final = "crd/flyte.org_taskactions.yaml"
"""The CRD, as shipped inside the package (package data)."""
LIST_KINDS: Final = frozenset({"TaskActionList", "List"})
"""R1: the list kind, and the generic ``kubectl get -o yaml`` list; both are read as their ``items``."""

_EXCERPT: Final = 20
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class ManifestError:
    """One problem with one manifest document; ``path`` is the field path (``spec.runName``), empty for the whole
    document. ``document`` is the 1-based position in ``source`` (0: not from a multi-document source)."""

    path: str
    message: str
    source: str = ""
    document: int = 0
    name: str = ""

    def __str__(self) -> str:
        where = [self.source] if self.source else []
        if self.document:
            where.append(f"document {self.document}" + (f" ({self.name})" if self.name else ""))
        elif self.name:
            where.append(self.name)
        problem = f"{self.path}: {self.message}" if self.path else self.message
        return ": ".join([*where, problem])


ManifestErrors = tuple[ManifestError, ...]


# --------------------------------------------------------------------------------------------------------------------
# The schema


@lru_cache(maxsize=1)
def crd_schema() -> Mapping[str, Any]:
    """The ``openAPIV3Schema`` of the served ``v1`` version of the shipped CRD (R1). Raises only when the package
    is installed without its data, which is a packaging bug."""
    # Found next to this file rather than through importlib.resources, which fails on a stale editable install
    # (setuptools then registers the package as a namespace); the package is never installed zipped.
    text = (Path(__file__).resolve().parent.parent / CRD_RESOURCE).read_text(encoding="utf-8")
    crd = yaml.safe_load(text)
    for version in crd["spec"]["versions"]:
        if version["name"] == "v1":
            schema: Mapping[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise LookupError(f"{CRD_RESOURCE} has no v1 version")


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return False
    return True


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or parse_time(value) is not None


def _in_range(bounds: tuple[int, int]) -> Any:
    def check(value: object) -> bool:
        return not isinstance(value, int) or isinstance(value, bool) or bounds[0] <= value <= bounds[1]

    return check


_FORMAT_PROBLEMS: Final = {
    "byte": "is not valid base64 (standard alphabet, padded)",
    "date-time": "is not an RFC 3339 date-time",
    "int32": f"is out of the int32 range [{_INT32[0]}, {_INT32[1]}]",
    "int64": f"is out of the int64 range [{_INT64[0]}, {_INT64[1]}]",
}
_FORMATS: Final = jsonschema.FormatChecker(formats=())
_FORMATS.checks("byte")(_is_base64)
_FORMATS.checks("date-time")(_is_date_time)
_FORMATS.checks("int32")(_in_range(_INT32))
_FORMATS.checks("int64")(_in_range(_INT64))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    """OpenAPI v3 schemas are JSON Schema draft 4 plus ``x-kubernetes-*`` keywords, which a draft-4 validator
    ignores; the CRD's formats are checked by :data:`_FORMATS`."""
    return jsonschema.Draft4Validator(crd_schema(), format_checker=_FORMATS)


def validate_document(document: Mapping[str, object]) -> ManifestErrors:
    """Every violation of the CRD schema in ``document``, sorted by field path (empty: valid)."""
    seen: dict[tuple[str, str], ManifestError] = {}
    for error in _validator().iter_errors(cast(Any, document)):
        for found in _describe_error(error):
            seen.setdefault((found.path, found.message), found)
    return tuple(sorted(seen.values(), key=lambda e: (e.path, e.message)))


def _describe_error(error: jsonschema.ValidationError) -> Iterator[ManifestError]:
    """One error in the words of ``kubectl``'s validation, naming the field; ``required`` names the missing field."""
    path = _path(error.absolute_path)
    value, rule = error.instance, cast(Any, error.validator_value)
    match error.validator:
        case "required":
            present = value if isinstance(value, Mapping) else {}
            for field in rule:
                if field not in present:
                    yield ManifestError(_join(path, field), "required field is missing")
            return
        case "maxLength":
            message = f"{_excerpt(value)} is too long (max {rule})"
        case "minLength":
            message = f"{_excerpt(value)} is too short (min {rule})"
        case "enum":
            message = f"{_excerpt(value)} is not one of: {', '.join(str(choice) for choice in rule)}"
        case "type":
            message = f"expected {rule}, got {_json_type(value)} {_excerpt(value)}"
        case "pattern":
            message = f"{_excerpt(value)} does not match {rule}"
        case "minimum":
            message = f"{value} is less than the minimum {rule}"
        case "format":
            message = f"{_excerpt(value)} {_FORMAT_PROBLEMS.get(rule, f'is not a valid {rule}')}"
        case _:
            message = error.message
    yield ManifestError(path, message)


def _path(parts: Sequence[str | int]) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, part)
    return path


def _join(path: str, key: str) -> str:
    """``a.b`` for identifier keys, ``a["x-y"]`` otherwise (map keys such as environment variable names)."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _excerpt(value: object) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= _EXCERPT + 3 else value[:_EXCERPT] + "..."
        return repr(shown)
    text = json.dumps(value, default=str)
    return text if len(text) <= _EXCERPT + 3 else text[:_EXCERPT] + "..."


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    kinds = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "object")


# --------------------------------------------------------------------------------------------------------------------
# Reading


def from_document(document: object, default_namespace: str = "") -> Result[TaskAction, ManifestErrors]:
    """One ``TaskAction`` document as a record; ``metadata.namespace`` defaults to ``default_namespace``."""
    if not isinstance(document, Mapping):
        return Failure((ManifestError("", f"expected a TaskAction object, got {_json_type(document)}"),))
    cleaned = _drop_nulls(document)
    assert isinstance(cleaned, dict)
    errors = (*_identity_errors(cleaned), *validate_document(cleaned))
    if errors:
        return Failure(errors)
    read = from_wire(cleaned)
    if isinstance(read, Failure):
        path, _, problem = read.failure().partition(": ")
        return Failure((ManifestError(path, problem),))
    task_action = read.unwrap()
    if not task_action.metadata.namespace and default_namespace:
        task_action = replace(task_action, metadata=replace(task_action.metadata, namespace=default_namespace))
    return Success(task_action)


def _identity_errors(document: Mapping[str, object]) -> ManifestErrors:
    """What every Kubernetes manifest must say: what it is and what it is called."""
    errors = [
        ManifestError(field, f"must be {json.dumps(expected)}, got {_excerpt(document.get(field, ''))}")
        for field, expected in (("apiVersion", API_VERSION), ("kind", KIND))
        if document.get(field) != expected
    ]
    metadata = document.get("metadata")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        errors.append(ManifestError("metadata.name", "required field is missing"))
    return tuple(errors)


def _drop_nulls(value: object) -> object:
    """The API server prunes ``null`` values of fields that are not ``nullable``: none of this CRD's are."""
    if isinstance(value, Mapping):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


class _Loader(yaml.SafeLoader):
    """The safe loader without the YAML 1.1 timestamp type: times stay the strings the wire reader parses."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_documents(text: str) -> Result[list[object], ManifestError]:
    """The documents of a YAML stream, or of JSON text (one object or a list kind). Text that starts like JSON but is
    not JSON is read as YAML (a flow mapping); if that fails too, the JSON error is the one reported."""
    json_error: ValueError | None = None
    if text.lstrip().startswith(("{", "[")):
        try:
            return Success([json.loads(text)])
        except ValueError as error:
            json_error = error  # maybe a YAML flow mapping ({name: x}): YAML decides
    try:
        return Success([document for document in yaml.load_all(text, Loader=_Loader) if document is not None])
    except yaml.YAMLError as error:
        if json_error is not None:
            return Failure(ManifestError("", f"not valid JSON: {json_error}"))
        return Failure(ManifestError("", f"not valid YAML: {' '.join(str(error).split())}"))


def _expand_lists(documents: Sequence[object]) -> list[object]:
    """``TaskActionList``/``List`` documents (and a JSON array) stand for their items, in order; a list kind whose
    ``items`` is not a list stays as it is, for :func:`_list_error` to report."""
    expanded: list[object] = []
    for document in documents:
        if (
            isinstance(document, Mapping)
            and document.get("kind") in LIST_KINDS
            and isinstance(document.get("items"), list)
        ):
            expanded.extend(document["items"])
        elif isinstance(document, list):
            expanded.extend(document)
        else:
            expanded.append(document)
    return expanded


def _list_error(document: object) -> ManifestError | None:
    if isinstance(document, Mapping) and document.get("kind") in LIST_KINDS:
        return ManifestError("items", f"expected a list of TaskAction objects, got {_json_type(document.get('items'))}")
    return None


def parse_manifests(
    text: str, source: str = "", default_namespace: str = "default"
) -> Result[tuple[TaskAction, ...], ManifestErrors]:
    """Every TaskAction in ``text`` (multi-document YAML or JSON), or every problem in every document.

    Empty documents are skipped; a source with no document at all is an error (applying nothing is a mistake).
    Two documents naming the same object are an error too: which one should win is not clear.
    """
    loaded = _load_documents(text)
    if isinstance(loaded, Failure):
        return Failure((replace(loaded.failure(), source=source),))
    documents = _expand_lists(loaded.unwrap())
    if not documents:
        return Failure((ManifestError("", "no TaskAction documents found", source),))
    task_actions: list[TaskAction] = []
    errors: list[ManifestError] = []
    seen: set[tuple[str, str]] = set()
    for index, document in enumerate(documents, start=1):
        name = _document_name(document)
        bad_list = _list_error(document)
        read = from_document(document, default_namespace) if bad_list is None else Failure((bad_list,))
        if isinstance(read, Failure):
            errors += [replace(error, source=source, document=index, name=name) for error in read.failure()]
            continue
        task_action = read.unwrap()
        key = (task_action.metadata.namespace, task_action.metadata.name)
        if key in seen:
            message = f"duplicate TaskAction {key[0]}/{key[1]}"
            errors.append(ManifestError("metadata.name", message, source, index, name))
        seen.add(key)
        task_actions.append(task_action)
    return Failure(tuple(errors)) if errors else Success(tuple(task_actions))


def _document_name(document: object) -> str:
    if isinstance(document, Mapping):
        metadata = document.get("metadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get("name"), str):
            return str(metadata["name"])
    return ""


def read_manifest_file(
    path: str, stdin_text: str | None = None, default_namespace: str = "default"
) -> Result[tuple[TaskAction, ...], ManifestErrors]:
    """:func:`parse_manifests` over a file; ``-`` reads ``stdin_text``. An unreadable file is a ManifestError."""
    if path == "-":
        return parse_manifests(stdin_text or "", "<stdin>", default_namespace)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return Failure((ManifestError("", f"cannot read: {reason}", path),))
    return parse_manifests(text, path, default_namespace)


# --------------------------------------------------------------------------------------------------------------------
# Writing


def dump_yaml(task_actions: Sequence[TaskAction]) -> str:
    """One YAML document per object (``---`` between them), in wire order: apiVersion, kind, metadata, spec, status.

    The standard safe dumper quotes every string that a YAML reader could take for another type (``"true"``, a
    time), so other tools read the same values back.
    """
    return yaml.safe_dump_all(
        [to_wire(task_action) for task_action in task_actions],
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        explicit_start=len(task_actions) > 1,
        width=120,
    )


def dump_json(task_actions: Sequence[TaskAction], as_list: bool = False) -> str:
    """One object as a ``TaskAction`` document, or (``as_list``) a ``TaskActionList`` with ``items``; indented."""
    document: WireDocument
    if as_list:
        items = [to_wire(task_action) for task_action in task_actions]
        document = {"apiVersion": API_VERSION, "kind": "TaskActionList", "items": items}
    else:
        (task_action,) = task_actions
        document = to_wire(task_action)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
