"""Go ``net/netip.ParseAddr``, as far as ``net/url`` needs it: is a bracketed host an IP address, and which family.

Since Go 1.26, ``url.Parse`` accepts ``[...]`` hosts only when ``netip.ParseAddr`` takes them and they are not
IPv4 (R108). The error texts travel into ``invalid RunOutputBase`` messages, so they are Go's, including the
``(at "...")`` suffix naming the unparsed rest. The address value itself is not needed and not built.
"""

from __future__ import annotations

from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.gofmt import go_quote_bytes

_DOT: Final = 0x2E
_COLON: Final = 0x3A
_PERCENT: Final = 0x25
_DIGITS: Final = frozenset(b"0123456789")
_HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")
_IPV6_BYTES: Final = 16


def parse_addr(text: bytes) -> Result[bool, str]:
    """Go ``netip.ParseAddr``: ``Success(True)`` for IPv4, ``Success(False)`` for IPv6 (with or without zone).

    The family is decided by the first ``.``, ``:`` or ``%`` in the text, as in Go.
    """
    for byte in text:
        if byte == _DOT:
            return _as_result(_ipv4_error(text, text), is_ipv4=True)
        if byte == _COLON:
            return _as_result(_ipv6_error(text), is_ipv4=False)
        if byte == _PERCENT:
            return Failure(_error(text, "missing IPv6 address"))
    return Failure(_error(text, "unable to parse IP"))


def _as_result(error: str | None, *, is_ipv4: bool) -> Result[bool, str]:
    return Success(is_ipv4) if error is None else Failure(error)


def _error(text: bytes, message: str, at: bytes | None = None) -> str:
    """Go ``parseAddrError.Error``."""
    suffix = "" if at is None else f" (at {go_quote_bytes(at)})"
    return f"ParseAddr({go_quote_bytes(text)}): {message}{suffix}"


def _ipv4_error(text: bytes, fields: bytes) -> str | None:
    """Go ``parseIPv4Fields``: four decimal octets ≤ 255 without leading zeros. ``text`` is quoted in errors."""
    value, dots, digits = 0, 0, 0
    for index, byte in enumerate(fields):
        if byte in _DIGITS:
            if digits == 1 and value == 0:
                return _error(text, "IPv4 field has octet with leading zero")
            value, digits = value * 10 + byte - 0x30, digits + 1
            if value > 255:
                return _error(text, "IPv4 field has value >255")
        elif byte == _DOT:
            if index in (0, len(fields) - 1) or fields[index - 1] == _DOT:
                return _error(text, "IPv4 field must have at least one digit", fields[index:])
            if dots == 3:
                return _error(text, "IPv4 address too long")
            value, dots, digits = 0, dots + 1, 0
        else:
            return _error(text, "unexpected character", fields[index:])
    return _error(text, "IPv4 address too short") if dots < 3 else None


def _ipv6_error(text: bytes) -> str | None:
    """Go ``parseIPv6``: hex groups, at most one ``::``, an optional trailing IPv4, an optional non-empty zone."""
    rest, percent, zone = text.partition(b"%")
    if percent and not zone:
        return _error(text, "zone must be a non-empty string")
    ellipsis = -1
    if rest.startswith(b"::"):
        ellipsis, rest = 0, rest[2:]
        if not rest:
            return None
    filled = 0
    while filled < _IPV6_BYTES:
        step = _ipv6_group(text, rest, filled, ellipsis)
        if isinstance(step, str):
            return step
        filled, rest, ellipsis, done = step
        if done:
            break
    return _ipv6_tail_error(text, rest, filled, ellipsis)


def _ipv6_group(text: bytes, rest: bytes, filled: int, ellipsis: int) -> tuple[int, bytes, int, bool] | str:
    """One turn of Go ``parseIPv6``'s loop: a hex group (or the embedded IPv4), then ``:`` or ``::``.

    Returns the new (bytes filled, unparsed rest, ellipsis position, loop finished), or an error text. Go's
    ``>=2^16`` check is unreachable (a fifth digit fails first), so it is not reproduced.
    """
    digits = _hex_prefix_length(rest)
    if digits > 4:
        return _error(text, "each group must have 4 or less digits", rest)
    if digits == 0:
        return _error(text, "each colon-separated field must have at least one digit", rest)
    if rest[digits : digits + 1] == b".":
        return _embedded_ipv4(text, rest, filled, ellipsis)
    filled, rest = filled + 2, rest[digits:]
    if not rest:
        return filled, rest, ellipsis, True
    if rest[0] != _COLON:
        return _error(text, "unexpected character, want colon", rest)
    if len(rest) == 1:
        return _error(text, "colon must be followed by more characters", rest)
    rest = rest[1:]
    if rest[0] != _COLON:
        return filled, rest, ellipsis, False
    if ellipsis >= 0:
        return _error(text, "multiple :: in address", rest)
    return filled, rest[1:], filled, len(rest) == 1


def _hex_prefix_length(rest: bytes) -> int:
    """How many leading hex digits ``rest`` has, counting at most five (Go stops at the fifth)."""
    for index, byte in enumerate(rest[:5]):
        if byte not in _HEX_DIGITS:
            return index
    return min(len(rest), 5)


def _embedded_ipv4(text: bytes, rest: bytes, filled: int, ellipsis: int) -> tuple[int, bytes, int, bool] | str:
    """Go ``parseIPv6``'s trailing dotted-quad: it must fill the last four bytes (or follow a ``::``)."""
    if ellipsis < 0 and filled != 12:
        return _error(text, "embedded IPv4 address must replace the final 2 fields of the address", rest)
    if filled + 4 > _IPV6_BYTES:
        return _error(text, "too many hex fields to fit an embedded IPv4 at the end of the address", rest)
    error = _ipv4_error(text, rest)
    return error if error is not None else (filled + 4, b"", ellipsis, True)


def _ipv6_tail_error(text: bytes, rest: bytes, filled: int, ellipsis: int) -> str | None:
    if rest:
        return _error(text, "trailing garbage after address", rest)
    if filled < _IPV6_BYTES and ellipsis < 0:
        return _error(text, "address string too short")
    if filled == _IPV6_BYTES and ellipsis >= 0:
        return _error(text, "the :: must expand to at least one field of zeros")
    return None
