"""Go ``net/netip.ParseAddr`` as ``url.Parse`` uses it for bracketed hosts (R108).

Expected values (family, or the exact error text) were produced by Go 1.27's ``netip.ParseAddr``.
"""

from __future__ import annotations

import pytest
from returns.result import Failure, Success

from taskaction_core.gonetip import parse_addr

VALID_CASES = [
    ("1.2.3.4", True),
    ("0.0.0.0", True),
    ("255.255.255.255", True),
    ("::", False),
    ("::1", False),
    ("1::", False),
    ("fe80::1%en0", False),
    ("1:2:3:4:5:6:7:8", False),
    ("::ffff:1.2.3.4", False),
    ("1:2:3:4:5:6:1.2.3.4", False),
    ("::1.2.3.4", False),
    ("ABCD:ef01::", False),
    ("1:2:3:4:5:6:7:8%z", False),
    ("::1.2.3.4%z", False),
    ("::%z", False),
]


@pytest.mark.parametrize(("text", "is_ipv4"), VALID_CASES)
def test_parse_addr_valid_table_reports_family(text: str, is_ipv4: bool) -> None:
    """R108: accepted addresses and whether they are IPv4 (rejected inside brackets)."""
    assert parse_addr(text.encode()) == Success(is_ipv4)


INVALID_CASES = [
    ("01.2.3.4", 'ParseAddr("01.2.3.4"): IPv4 field has octet with leading zero'),
    ("1.2.3.256", 'ParseAddr("1.2.3.256"): IPv4 field has value >255'),
    (".1.2.3", 'ParseAddr(".1.2.3"): IPv4 field must have at least one digit (at ".1.2.3")'),
    ("1.2.3.", 'ParseAddr("1.2.3."): IPv4 field must have at least one digit (at ".")'),
    ("1..2.3", 'ParseAddr("1..2.3"): IPv4 field must have at least one digit (at ".2.3")'),
    ("1.2.3.4.5", 'ParseAddr("1.2.3.4.5"): IPv4 address too long'),
    ("1.2.3", 'ParseAddr("1.2.3"): IPv4 address too short'),
    ("1.2.3.x", 'ParseAddr("1.2.3.x"): unexpected character (at "x")'),
    ("fe80::1%", 'ParseAddr("fe80::1%"): zone must be a non-empty string'),
    (
        "1:2:3:4:5:1.2.3.4",
        'ParseAddr("1:2:3:4:5:1.2.3.4"): embedded IPv4 address must replace the final 2 fields of the address'
        ' (at "1.2.3.4")',
    ),
    (
        "1:2:3:4:5:6:7:1.2.3.4",
        'ParseAddr("1:2:3:4:5:6:7:1.2.3.4"): embedded IPv4 address must replace the final 2 fields of the address'
        ' (at "1.2.3.4")',
    ),
    (
        "::1:2:3:4:5:6:7:1.2.3.4",
        'ParseAddr("::1:2:3:4:5:6:7:1.2.3.4"): too many hex fields to fit an embedded IPv4 at the end of the address'
        ' (at "1.2.3.4")',
    ),
    ("::01.2.3.4", 'ParseAddr("::01.2.3.4"): IPv4 field has octet with leading zero'),
    ("12345::", 'ParseAddr("12345::"): each group must have 4 or less digits (at "12345::")'),
    (":1", 'ParseAddr(":1"): each colon-separated field must have at least one digit (at ":1")'),
    ("1:", 'ParseAddr("1:"): colon must be followed by more characters (at ":")'),
    ("1:2:3:4:5:6:7:8:9", 'ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")'),
    ("1::2::3", 'ParseAddr("1::2::3"): multiple :: in address (at ":3")'),
    ("1:2:3:4:5:6:7", 'ParseAddr("1:2:3:4:5:6:7"): address string too short'),
    ("1:2:3:4:5:6:7:8::", 'ParseAddr("1:2:3:4:5:6:7:8::"): the :: must expand to at least one field of zeros'),
    ("1:2:3:4::5:6:7:8", 'ParseAddr("1:2:3:4::5:6:7:8"): the :: must expand to at least one field of zeros'),
    ("1g::", 'ParseAddr("1g::"): unexpected character, want colon (at "g::")'),
    ("x", 'ParseAddr("x"): unable to parse IP'),
    ("", 'ParseAddr(""): unable to parse IP'),
    ("%en0", 'ParseAddr("%en0"): missing IPv6 address'),
    ("ab%x", 'ParseAddr("ab%x"): missing IPv6 address'),
    ("1::x", 'ParseAddr("1::x"): each colon-separated field must have at least one digit (at "x")'),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_CASES)
def test_parse_addr_invalid_table_fails_with_go_error_text(text: str, expected: str) -> None:
    """R108: the ``ParseAddr`` error text that ends up inside an ``invalid RunOutputBase`` message."""
    assert parse_addr(text.encode()) == Failure(expected)


def test_parse_addr_four_digit_group_at_end_is_accepted() -> None:
    """R108: a group of exactly four hex digits ending the text is complete (boundary of the five-digit check)."""
    assert parse_addr(b"1:2:3:4:5:6:7:ffff") == Success(False)
