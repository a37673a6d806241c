"""Edge cases of Go ``netip.ParseAddr`` (R108: bracketed hosts) around ``::`` at the very start of an address.

Expected texts were checked against Go 1.27's ``net/netip``. Added to kill mutants that survived the mutation run.
"""

from __future__ import annotations

from returns.result import Failure, Success

from taskaction_core.gonetip import parse_addr


def test_parse_addr_second_ellipsis_after_a_leading_one_fails() -> None:
    """Go ``parseIPv6``: a leading ``::`` counts as the one ellipsis, so a later ``::`` is a second one."""
    assert parse_addr(b"::1::2") == Failure('ParseAddr("::1::2"): multiple :: in address (at ":2")')


def test_parse_addr_leading_ellipsis_with_eight_groups_fails() -> None:
    """Go: a ``::`` at offset 0 that expands to no zero group is an error."""
    assert parse_addr(b"::1:2:3:4:5:6:7:8") == Failure(
        'ParseAddr("::1:2:3:4:5:6:7:8"): the :: must expand to at least one field of zeros'
    )


def test_parse_addr_ellipsis_and_embedded_ipv4_filling_sixteen_bytes_fails() -> None:
    """Go: an embedded IPv4 fills exactly four bytes, so six groups + ``::`` + IPv4 leave the ``::`` empty."""
    for text in (b"::1:2:3:4:5:6:1.2.3.4", b"1:2:3:4:5:6::1.2.3.4"):
        quoted = text.decode()
        assert parse_addr(text) == Failure(f'ParseAddr("{quoted}"): the :: must expand to at least one field of zeros')


def test_parse_addr_ellipsis_and_embedded_ipv4_with_room_is_ipv6() -> None:
    """Go: five groups + ``::`` + IPv4 is a valid IPv6 address (not IPv4)."""
    assert parse_addr(b"::1:2:3:4:5:1.2.3.4") == Success(False)
