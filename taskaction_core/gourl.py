"""Go ``net/url`` ``Parse`` and ``URL.String``, byte for byte, for the output path algorithm (R108, Q30).

The Go controller and the actions service both build output locations by parsing ``runOutputBase`` with
``url.Parse``, replacing the path and calling ``String()`` (R108). The SDK reads what they report, so ours must
agree byte for byte, quirks included: opaque URLs, ``OmitHost``, path re-escaping, query and fragment kept,
the exact parse error texts.

Scope and Go version. This follows Go 1.27's ``net/url`` (verified against that toolchain), which includes the
Go 1.26 stricter host checks: a bracketed host must be an IPv6 address (``net/netip.ParseAddr``), and an
``http``/``https`` host with more than one colon is rejected (the ``urlstrictcolons=1`` default of modules at
go ≥ 1.26; other schemes keep the old "last colon starts the port" rule). A controller built with an older
toolchain accepts some bracketed hosts this rejects. Everything works on bytes, as Go strings are bytes; callers
turn a ``str`` into bytes with ``surrogatepass`` so that any Python string maps to one Go string.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.fastinit import fast_init
from taskaction_core.gofmt import go_quote_bytes
from taskaction_core.gonetip import parse_addr

_LETTERS: Final = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SCHEME_TAIL: Final = frozenset(b"0123456789+-.")
_ALNUM: Final = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UNRESERVED: Final = _ALNUM + b"-_.~"
_KEEP_PATH: Final = frozenset(_UNRESERVED + b"$&+,/:;=@")
"""Go ``shouldEscape(c, encodePath)`` is false for these bytes: only ``?`` of the reserved set is escaped."""
_KEEP_USERINFO: Final = frozenset(_UNRESERVED + b"$&+,;=")
_KEEP_FRAGMENT: Final = frozenset(_UNRESERVED + b"$&+,/:;=?@!()*")
_KEEP_HOST: Final = frozenset(_UNRESERVED + b"!$&'()*+,;=:[]<>\"")
"""Also Go's ``encodeZone`` set."""
_VALID_ENCODED_EXTRA: Final = frozenset(b"!$&'()*+,;=:@[]%")
"""Bytes Go ``validEncoded`` accepts in a raw fragment besides the unescaped ones."""
_USERINFO_CHARS: Final = frozenset(_UNRESERVED + b":!$&'()*+,;=%@")
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_PERCENT: Final = 0x25
_COLON: Final = 0x3A
_DIGITS: Final = frozenset(b"0123456789")


@fast_init
@dataclass(frozen=True, slots=True)
class GoUserinfo:
    """Go ``url.Userinfo``: a username and an optional password, both decoded."""

    username: bytes
    password: bytes | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class GoURL:
    """Go ``url.URL`` as ``Parse`` fills it. ``query`` is ``?`` plus the raw query when the URL had a ``?``.

    Go's ``ForceQuery``/``RawQuery`` pair prints exactly "``?`` + everything after the first ``?``" whenever
    there is a ``?``, so one field holds both. ``path`` and ``fragment`` are decoded; ``raw_path`` is Go's hint
    (set only when the original spelling differs from the default escaping); ``raw_fragment`` is always the
    original spelling, which ``String`` prints the same way Go's empty-when-default ``RawFragment`` does.
    """

    scheme: bytes = b""
    opaque: bytes = b""
    user: GoUserinfo | None = None
    host: bytes = b""
    path: bytes = b""
    raw_path: bytes = b""
    omit_host: bool = False
    query: bytes = b""
    fragment: bytes = b""
    raw_fragment: bytes = b""

    def with_path(self, path: bytes) -> GoURL:
        """Go ``u.Path = path``: ``RawPath`` stays, and ``String`` ignores it once it no longer matches."""
        return replace(self, path=path)


# --- escaping (Go: escape, unescape, validEncoded) ----------------------------------------------------------------


def escape(data: bytes, keep: frozenset[int]) -> bytes:
    """Go ``escape``: every byte outside ``keep`` becomes ``%XX`` with uppercase hex."""
    return b"".join(bytes((byte,)) if byte in keep else b"%%%02X" % byte for byte in data)


def _unescape(data: bytes, *, host: bool = False, zone: bool = False) -> Result[bytes, str]:
    """Go ``unescape`` for the path, fragment, userinfo (both flags off), host or zone modes."""
    for index, byte in enumerate(data):
        if byte == _PERCENT:
            error = _escape_error(data, index, host=host, zone=zone)
            if error is not None:
                return Failure(error)
        elif (host or zone) and byte < 0x80 and byte not in _KEEP_HOST:
            return Failure(f"invalid character {go_quote_bytes(data[index : index + 1])} in host name")
    return Success(_percent_decode(data))


def _percent_decode(data: bytes) -> bytes:
    """Replace each ``%XX``; the caller has checked that every ``%`` starts a valid escape."""
    head, *escaped = data.split(b"%")
    return head + b"".join(bytes.fromhex(part[:2].decode("ascii")) + part[2:] for part in escaped)


def _escape_error(data: bytes, index: int, *, host: bool, zone: bool) -> str | None:
    """Go ``unescape``'s checks of one ``%``: two hex digits; in a host only non-ASCII (or ``%25``) may be escaped;
    in a zone only bytes that could be written unescaped in a host (or a space, or ``%25``)."""
    triple = data[index : index + 3]
    message = f"invalid URL escape {go_quote_bytes(triple)}"
    if len(triple) < 3 or not _HEX.issuperset(triple[1:]):
        return message
    value = int(triple[1:], 16)
    if host and value < 0x80 and triple != b"%25":
        return message
    if zone and triple != b"%25" and value != 0x20 and value not in _KEEP_HOST:
        return message
    return None


def _valid_encoded(data: bytes, keep: frozenset[int]) -> bool:
    return all(byte in keep or byte in _VALID_ENCODED_EXTRA for byte in data)


# --- Parse ------------------------------------------------------------------------------------------------------


def parse(raw: bytes) -> Result[GoURL, str]:
    """Go ``url.Parse``; a failure is the text of Go's ``*url.Error``: ``parse "<url>": <reason>``.

    The quoted URL is the part before ``#`` for errors there, and the whole input for an error in the fragment,
    exactly as Go reports it. Control characters are only checked before the ``#``.
    """
    before, _, fragment = raw.partition(b"#")
    parsed = _parse_reference(before).alt(lambda reason: f"parse {go_quote_bytes(before)}: {reason}")
    if not fragment or not isinstance(parsed, Success):
        return parsed
    decoded = _unescape(fragment).alt(lambda reason: f"parse {go_quote_bytes(raw)}: {reason}")
    return decoded.map(lambda value: replace(parsed.unwrap(), fragment=value, raw_fragment=fragment))


def _parse_reference(raw: bytes) -> Result[GoURL, str]:
    """Go ``parse(rawURL, viaRequest=false)``."""
    if any(byte < 0x20 or byte == 0x7F for byte in raw):
        return Failure("net/url: invalid control character in URL")
    split = _split_scheme(raw)
    if not isinstance(split, Success):
        return Failure(split.failure())
    scheme, rest = split.unwrap()
    rest, question, query = rest.partition(b"?")
    base = GoURL(scheme=scheme.lower(), query=question + query)
    if not rest.startswith(b"/"):
        if scheme:
            return Success(replace(base, opaque=rest))
        if b":" in rest.partition(b"/")[0]:
            return Failure("first path segment in URL cannot contain colon")
    if rest.startswith(b"//") and (scheme or not rest.startswith(b"///")):
        return _parse_authority_and_path(base, rest[2:])
    return _with_raw_path(replace(base, omit_host=bool(scheme) and rest.startswith(b"/")), rest)


def _split_scheme(raw: bytes) -> Result[tuple[bytes, bytes], str]:
    """Go ``getScheme``: ``[A-Za-z][A-Za-z0-9+.-]*`` before the first ``:``; a leading ``:`` is an error."""
    for index, byte in enumerate(raw):
        if byte in _LETTERS:
            continue
        if byte in _SCHEME_TAIL and index > 0:
            continue
        if byte == _COLON:
            return Failure("missing protocol scheme") if index == 0 else Success((raw[:index], raw[index + 1 :]))
        break
    return Success((b"", raw))


def _with_raw_path(url: GoURL, raw_path: bytes) -> Result[GoURL, str]:
    """Go ``setPath``: ``Path`` is decoded; ``RawPath`` keeps the original only when re-escaping would differ."""
    decoded = _unescape(raw_path)
    if not isinstance(decoded, Success):
        return Failure(decoded.failure())
    path = decoded.unwrap()
    return Success(replace(url, path=path, raw_path=b"" if escape(path, _KEEP_PATH) == raw_path else raw_path))


def _parse_authority_and_path(url: GoURL, after_slashes: bytes) -> Result[GoURL, str]:
    """Go ``parse``'s authority branch and ``parseAuthority``: userinfo is everything before the last ``@``."""
    authority, slash, path = after_slashes.partition(b"/")
    userinfo, at, host_port = authority.rpartition(b"@")
    host = _parse_host(url.scheme, host_port)
    if not isinstance(host, Success):
        return Failure(host.failure())
    user: GoUserinfo | None = None
    if at:
        parsed_user = _parse_userinfo(userinfo)
        if not isinstance(parsed_user, Success):
            return Failure(parsed_user.failure())
        user = parsed_user.unwrap()
    return _with_raw_path(replace(url, user=user, host=host.unwrap()), slash + path)


def _parse_userinfo(userinfo: bytes) -> Result[GoUserinfo, str]:
    """Go ``parseAuthority``'s userinfo half: only RFC 3986 userinfo bytes, split at the first ``:``."""
    if not _USERINFO_CHARS.issuperset(userinfo):
        return Failure("net/url: invalid userinfo")
    name, colon, password = userinfo.partition(b":")
    username = _unescape(name)
    if not isinstance(username, Success):
        return Failure(username.failure())
    if not colon:
        return Success(GoUserinfo(username.unwrap()))
    return _unescape(password).map(lambda value: GoUserinfo(username.unwrap(), value))


def _parse_host(scheme: bytes, host: bytes) -> Result[bytes, str]:
    """Go ``parseHost``: an IP literal in brackets, or a reg-name with an optional ``:port``."""
    bracket = host.rfind(b"[")
    if bracket > 0:
        return Failure("invalid IP-literal")
    if bracket == 0:
        return _parse_ip_literal(host)
    colon = host.find(b":")
    if colon != -1:
        if scheme not in (b"http", b"https"):
            colon = host.rfind(b":")
        port_error = _port_error(host[colon:])
        if port_error is not None:
            return Failure(port_error)
    return _unescape(host, host=True)


def _port_error(colon_port: bytes) -> str | None:
    """Go ``validOptionalPort``: empty, or ``:`` followed by ASCII digits only."""
    if colon_port == b"" or (colon_port.startswith(b":") and _DIGITS.issuperset(colon_port[1:])):
        return None
    return f"invalid port {go_quote_bytes(colon_port)} after host"


def _parse_ip_literal(host: bytes) -> Result[bytes, str]:
    """Go ``parseHost``'s ``[...]`` branch (RFC 3986 and RFC 6874 zones): the literal must be an IPv6 address."""
    close = host.rfind(b"]")
    if close < 0:
        return Failure("missing ']' in host")
    colon_port = host[close + 1 :]
    port_error = _port_error(colon_port)
    if port_error is not None:
        return Failure(port_error)
    hostname = host[1:close]
    zone = hostname.find(b"%25")
    address = _unescape(hostname, host=True) if zone < 0 else _unescape_zoned(hostname, zone)
    if not isinstance(address, Success):
        return address
    return _check_ipv6(address.unwrap()).map(lambda literal: b"[" + literal + b"]" + colon_port)


def _unescape_zoned(hostname: bytes, zone: int) -> Result[bytes, str]:
    host_part = _unescape(hostname[:zone], host=True)
    if not isinstance(host_part, Success):
        return host_part
    return _unescape(hostname[zone:], zone=True).map(lambda zone_part: host_part.unwrap() + zone_part)


def _check_ipv6(address: bytes) -> Result[bytes, str]:
    """Go 1.26+: only an IPv6 address (zone allowed, IPv4-mapped allowed) may stand in brackets."""
    parsed = parse_addr(address).alt(lambda reason: f"invalid host: {reason}")
    return parsed.bind(lambda is_ipv4: Failure("invalid IP-literal") if is_ipv4 else Success(address))


# --- String -----------------------------------------------------------------------------------------------------


def to_string(url: GoURL) -> bytes:
    """Go ``URL.String``: ``scheme:opaque?query#fragment`` or ``scheme://userinfo@host/path?query#fragment``."""
    head = url.scheme + b":" if url.scheme else b""
    if url.opaque:
        return head + url.opaque + url.query + _fragment_part(url)
    authority = _authority(url)
    return head + authority + _path_part(url, bool(head + authority)) + url.query + _fragment_part(url)


def _authority(url: GoURL) -> bytes:
    if not (url.scheme or url.host or url.user is not None) or url.omit_host:
        return b""
    slashes = b"//" if url.host or url.path or url.user is not None else b""
    user = b"" if url.user is None else _userinfo(url.user) + b"@"
    return slashes + user + escape(url.host, _KEEP_HOST)


def _userinfo(user: GoUserinfo) -> bytes:
    name = escape(user.username, _KEEP_USERINFO)
    return name if user.password is None else name + b":" + escape(user.password, _KEEP_USERINFO)


def _path_part(url: GoURL, has_prefix: bool) -> bytes:
    """The path as Go ``String`` writes it after the authority, with its three defensive prefixes."""
    path = escaped_path(url)
    if url.omit_host and not url.host and url.user is None and path.startswith(b"//"):
        return b"%2F" + path[1:]
    if path and not path.startswith(b"/") and url.host:
        return b"/" + path
    if not has_prefix and b":" in path.partition(b"/")[0]:
        return b"./" + path
    return path


def escaped_path(url: GoURL) -> bytes:
    """Go ``URL.EscapedPath``: ``RawPath`` when it still spells ``Path``, ``*`` as is, else Go path escaping."""
    if url.raw_path and _valid_encoded(url.raw_path, _KEEP_PATH):
        decoded = _unescape(url.raw_path)
        if isinstance(decoded, Success) and decoded.unwrap() == url.path:
            return url.raw_path
    if url.path == b"*":
        return b"*"
    return escape(url.path, _KEEP_PATH)


def _fragment_part(url: GoURL) -> bytes:
    """Go ``EscapedFragment``: the raw fragment when it is validly encoded, else the decoded one re-escaped."""
    if not url.fragment:
        return b""
    if url.raw_fragment and _valid_encoded(url.raw_fragment, _KEEP_FRAGMENT):
        return b"#" + url.raw_fragment
    return b"#" + escape(url.fragment, _KEEP_FRAGMENT)
