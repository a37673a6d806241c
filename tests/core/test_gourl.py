"""Go ``net/url`` ``Parse`` + ``String`` as R108 relies on them (Q30).

Every expected value below was produced by Go 1.27's ``url.Parse(s)`` then ``String()`` (or the error's text);
the implementation was also checked against that toolchain on several hundred thousand generated URLs.
"""

from __future__ import annotations

import pytest
from returns.result import Failure, Success

from taskaction_core.gourl import GoURL, GoUserinfo, escaped_path, parse, to_string

PARSE_CASES = [
    # shapes
    ("s3://my-bucket/org/proj/dev/run123", "s3://my-bucket/org/proj/dev/run123"),
    ("S3://Bucket/Run/", "s3://Bucket/Run/"),
    ("s3://b", "s3://b"),
    ("s3://b//x//", "s3://b//x//"),
    ("/tmp/output", "/tmp/output"),
    ("tmp/output", "tmp/output"),
    ("", ""),
    ("s3:bucket/x", "s3:bucket/x"),
    ("s3:", "s3:"),
    ("s3:/x", "s3:/x"),
    ("s3:///x", "s3:///x"),
    ("//host/x", "//host/x"),
    ("///x", "///x"),
    ("*", "*"),
    ("a+b.c-d://h/x", "a+b.c-d://h/x"),
    ("a:b", "a:b"),
    ("./a:b", "./a:b"),
    # query and fragment
    ("s3://b/x?versionId=1#frag", "s3://b/x?versionId=1#frag"),
    ("s3://b/x?", "s3://b/x?"),
    ("s3://b/x?a?b", "s3://b/x?a?b"),
    ("s3://b/x#", "s3://b/x"),
    ("s3://b/x#a%41b", "s3://b/x#a%41b"),
    ("s3://b/x#a b", "s3://b/x#a%20b"),
    ("s3://b/x#\x01", "s3://b/x#%01"),
    # path escaping
    ("s3://b/a%2Fb/c", "s3://b/a%2Fb/c"),
    ("s3://b/a b/ü", "s3://b/a%20b/%C3%BC"),
    ("s3://b/%7e%41", "s3://b/%7e%41"),
    ("s3://b/a?b", "s3://b/a?b"),
    ("s3://b/é\u00a0", "s3://b/%C3%A9%C2%A0"),
    # userinfo
    ("s3://u:p%40@h/x", "s3://u:p%40@h/x"),
    ("s3://user@h/x", "s3://user@h/x"),
    ("s3://@h/x", "s3://@h/x"),
    ("s3://u:@h/x", "s3://u:@h/x"),
    ("s3://u@v@h/x", "s3://u%40v@h/x"),
    ("s3://u@/x", "s3://u@/x"),
    ("s3://u:p@h", "s3://u:p@h"),
    # hosts and ports
    ("s3://h:8080/x", "s3://h:8080/x"),
    ("s3://h:/x", "s3://h:/x"),
    ("s3://h:1:2/x", "s3://h:1:2/x"),
    ("s3://%C3%A9/x", "s3://%C3%A9/x"),
    ("s3://é/x", "s3://%C3%A9/x"),
    ("s3://h%25/x", "s3://h%25/x"),
    ("s3://h_/x", "s3://h_/x"),
    ("s3://h</x", "s3://h</x"),
    ("s3://[::1]/x", "s3://[::1]/x"),
    ("s3://[::1]:80/x", "s3://[::1]:80/x"),
    ("s3://[fe80::1%25en0]/x", "s3://[fe80::1%25en0]/x"),
    ("s3://[fe80::1%25%65n0]/x", "s3://[fe80::1%25en0]/x"),
    ("s3://[fe80::1%25a%20b]/x", "s3://[fe80::1%25a%20b]/x"),
    ("s3://[::ffff:1.2.3.4]/x", "s3://[::ffff:1.2.3.4]/x"),
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_CASES)
def test_parse_then_to_string_table_matches_go(raw: str, expected: str) -> None:
    """R108: ``url.Parse(raw).String()`` as Go 1.27 prints it."""
    parsed = parse(raw.encode())
    assert isinstance(parsed, Success)
    assert to_string(parsed.unwrap()) == expected.encode()


PARSE_ERROR_CASES = [
    ("1s3://h/x", 'parse "1s3://h/x": first path segment in URL cannot contain colon'),
    ("s_3://h/x", 'parse "s_3://h/x": first path segment in URL cannot contain colon'),
    ("a_b:c/d", 'parse "a_b:c/d": first path segment in URL cannot contain colon'),
    (":foo", 'parse ":foo": missing protocol scheme'),
    ("://x", 'parse "://x": missing protocol scheme'),
    ("s3://b/x\x7f", 'parse "s3://b/x\\x7f": net/url: invalid control character in URL'),
    ("s3://b/\x00", 'parse "s3://b/\\x00": net/url: invalid control character in URL'),
    ("%zz", 'parse "%zz": invalid URL escape "%zz"'),
    ("%4", 'parse "%4": invalid URL escape "%4"'),
    ("/a%", 'parse "/a%": invalid URL escape "%"'),
    ("/x#%zz", 'parse "/x#%zz": invalid URL escape "%zz"'),
    ("s3://b/x#%", 'parse "s3://b/x#%": invalid URL escape "%"'),
    ("s3://u%zz@h/x", 'parse "s3://u%zz@h/x": invalid URL escape "%zz"'),
    ("s3://u:p%zz@h/x", 'parse "s3://u:p%zz@h/x": invalid URL escape "%zz"'),
    ("s3://u p@h/x", 'parse "s3://u p@h/x": net/url: invalid userinfo'),
    ("s3://h:8a/x", 'parse "s3://h:8a/x": invalid port ":8a" after host'),
    ("http://h:1:2/x", 'parse "http://h:1:2/x": invalid port ":1:2" after host'),
    ("s3://%41/x", 'parse "s3://%41/x": invalid URL escape "%41"'),
    ("s3://h x/x", 'parse "s3://h x/x": invalid character " " in host name'),
    ("s3://[fe80::1%25%2F]/x", 'parse "s3://[fe80::1%25%2F]/x": invalid URL escape "%2F"'),
    (
        "s3://[fe80::1%25]/x",
        'parse "s3://[fe80::1%25]/x": invalid host: ParseAddr("fe80::1%"): zone must be a non-empty string',
    ),
    ("s3://[::1]x/x", 'parse "s3://[::1]x/x": invalid port "x" after host'),
    ("s3://[::1/x", "parse \"s3://[::1/x\": missing ']' in host"),
    ("s3://a[::1]/x", 'parse "s3://a[::1]/x": invalid IP-literal'),
    ("s3://[1.2.3.4]/x", 'parse "s3://[1.2.3.4]/x": invalid IP-literal'),
    ("s3://[%41::1]/x", 'parse "s3://[%41::1]/x": invalid URL escape "%41"'),
    ("s3://[x%zz]/x", 'parse "s3://[x%zz]/x": invalid URL escape "%zz"'),
    ("s3://[x%25%zz]/x", 'parse "s3://[x%25%zz]/x": invalid URL escape "%zz"'),
    ("s3://[ ]/x", 'parse "s3://[ ]/x": invalid character " " in host name'),
    ("s3://[x%25 ]/x", 'parse "s3://[x%25 ]/x": invalid character " " in host name'),
    ("s3://[%41%25z]/x", 'parse "s3://[%41%25z]/x": invalid URL escape "%41"'),
    ("s3://[a b%25z]/x", 'parse "s3://[a b%25z]/x": invalid character " " in host name'),
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_ERROR_CASES)
def test_parse_invalid_table_fails_with_go_error_text(raw: str, expected: str) -> None:
    """R108: Go's ``*url.Error`` text, ``parse "<url>": <reason>``, for each kind of rejection."""
    assert parse(raw.encode()) == Failure(expected)


def test_parse_invalid_escape_cut_inside_a_character_quotes_raw_bytes() -> None:
    """R108: Go reports three bytes of a bad escape even when that splits a UTF-8 sequence."""
    assert parse("%€".encode()) == Failure('parse "%€": invalid URL escape "%\\xe2\\x82"')


# String() on URLs Parse never produces, each checked with Go 1.27 by assigning the same fields.

STRING_CASES = [
    (parse(b"s3:/x").unwrap().with_path(b"//x"), b"s3:%2F/x"),
    (GoURL(path=b"a:b"), b"./a:b"),
    (parse(b"s3://h").unwrap().with_path(b"x"), b"s3://h/x"),
    (GoURL(path=b"*"), b"*"),
    (GoURL(path=b"x", raw_path=b"%zz"), b"x"),
    (GoURL(scheme=b"s3", fragment=b"a b"), b"s3:#a%20b"),
    (parse(b"s3://b/a%2Fb").unwrap().with_path(b"/other"), b"s3://b/other"),
    (parse(b"s3://b/a%2Fb").unwrap().with_path(b"/a/b"), b"s3://b/a%2Fb"),
    (parse(b"s3:?q").unwrap().with_path(b"/p"), b"s3:///p?q"),
    (parse(b"s3:b?q#f").unwrap().with_path(b"/p"), b"s3:b?q#f"),
    (parse(b"s3://h?q#f").unwrap().with_path(b"/p"), b"s3://h/p?q#f"),
    (GoURL(scheme=b"s3", user=GoUserinfo(b"a@b", b"c:d"), host=b"h"), b"s3://a%40b:c%3Ad@h"),
]


@pytest.mark.parametrize(("url", "expected"), STRING_CASES)
def test_to_string_assigned_fields_table_matches_go(url: GoURL, expected: bytes) -> None:
    """R108/Q30: ``String`` after assigning ``Path`` (or fields directly), defensive prefixes included."""
    assert to_string(url) == expected


def test_escaped_path_raw_path_that_still_spells_path_is_kept() -> None:
    """R108: ``EscapedPath`` keeps the original spelling (``%2F``) while it decodes to ``Path``."""
    assert escaped_path(parse(b"/a%2Fb").unwrap()) == b"/a%2Fb"
