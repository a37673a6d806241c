"""Edge cases of Go ``net/url`` Parse/String (R108, Q30) that the main table does not reach.

Every expected value was checked against Go 1.27's ``net/url`` (``url.Parse`` and ``URL.String``); each test names
the Go check it pins. Added to kill mutants that survived the mutation run (docs/mutation-testing.md).
"""

from __future__ import annotations

from returns.result import Failure, Success

from taskaction_core.gourl import GoURL, parse, to_string


def test_parse_raw_byte_0x80_in_host_is_kept_and_reescaped() -> None:
    """Go ``unescape`` rejects only ASCII (< 0x80) bytes outside the host set; 0x80 itself is allowed raw."""
    parsed = parse(b"http://a\x80b/")
    assert parsed == Success(GoURL(scheme=b"http", host=b"a\x80b", path=b"/"))
    assert to_string(parsed.unwrap()) == b"http://a%80b/"


def test_parse_escaped_0x80_in_host_is_allowed() -> None:
    """Go: in a host only escapes below ``%80`` (other than ``%25``) are invalid; ``%80`` decodes to byte 0x80."""
    parsed = parse(b"http://%80/")
    assert parsed == Success(GoURL(scheme=b"http", host=b"\x80", path=b"/"))
    assert to_string(parsed.unwrap()) == b"http://%80/"


def test_parse_non_hex_first_escape_digit_is_an_invalid_escape() -> None:
    """Go ``unescape``: both digits after ``%`` must be hex, the first as much as the second."""
    assert parse(b"/%G0") == Failure('parse "/%G0": invalid URL escape "%G0"')


def test_parse_error_before_fragment_wins_over_a_valid_fragment() -> None:
    """Go ``Parse``: the reference is parsed first; its error is reported (quoting the part before ``#``)."""
    assert parse(b"%zz#x") == Failure('parse "%zz": invalid URL escape "%zz"')


def test_parse_schemeless_first_segment_with_colon_and_no_slash_fails() -> None:
    """Go: "first path segment in URL cannot contain colon", also when the path has no ``/`` at all."""
    assert parse(b"1a:b") == Failure('parse "1a:b": first path segment in URL cannot contain colon')


def test_parse_default_path_spelling_leaves_raw_path_empty() -> None:
    """Go ``setPath``: ``RawPath`` is "" when the default escaping of ``Path`` gives the original spelling."""
    assert parse(b"http://h/a/b") == Success(GoURL(scheme=b"http", host=b"h", path=b"/a/b"))


def test_parse_https_host_with_two_colons_is_an_invalid_port() -> None:
    """Go 1.26+ (urlstrictcolons): for http *and https* the port starts at the first colon."""
    assert parse(b"https://a:b:80/") == Failure('parse "https://a:b:80/": invalid port ":b:80" after host')


def test_parse_second_open_bracket_in_host_is_an_invalid_ip_literal() -> None:
    """Go ``parseHost``: the *last* ``[`` must be the first byte of the host."""
    assert parse(b"http://[::1][/") == Failure('parse "http://[::1][/": invalid IP-literal')


def test_parse_ip_literal_ends_at_the_last_close_bracket() -> None:
    """Go ``parseHost``: the literal runs to the *last* ``]``, so ``::1]x`` goes to ``netip.ParseAddr``."""
    assert parse(b"http://[::1]x]/") == Failure(
        'parse "http://[::1]x]/": invalid host: ParseAddr("::1]x"): unexpected character, want colon (at "]x")'
    )


def test_parse_zone_starts_at_the_first_percent_25() -> None:
    """RFC 6874 / Go: the zone begins at the first ``%25``; zone escapes (``%41``) are valid there, not in the host."""
    parsed = parse(b"http://[fe80::1%25%41%25b]/")
    assert parsed == Success(GoURL(scheme=b"http", host=b"[fe80::1%A%b]", path=b"/"))
    assert to_string(parsed.unwrap()) == b"http://[fe80::1%25A%25b]/"


def test_parse_literal_that_is_only_a_zone_unescapes_in_zone_mode() -> None:
    """Go: a ``%25`` at offset 0 still starts the zone, so ``%41`` is accepted and ParseAddr reports the error."""
    assert parse(b"http://[%25%41]/") == Failure(
        'parse "http://[%25%41]/": invalid host: ParseAddr("%A"): missing IPv6 address'
    )


def test_to_string_scheme_and_colon_path_gets_no_dot_slash_prefix() -> None:
    """Go ``URL.String``: ``./`` guards a colon in the first segment only when nothing precedes the path."""
    assert to_string(GoURL(scheme=b"s3", path=b"a:b")) == b"s3://a:b"
    assert to_string(parse(b"s3:///x").unwrap().with_path(b"a:b")) == b"s3://a:b"
