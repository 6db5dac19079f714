"""E-mail addresses the toolkit sends to: one check, used by the validator, the planner and
the mail stage, so an address the validator accepts is one the mail stage can send to.

>>> is_sendable("liming@example.com"), is_sendable("李明@example.com")
(True, False)
"""

from __future__ import annotations

import email.errors
import functools
import re
from email.headerregistry import Address

#: The everyday form, checked without the full RFC 5322 parser.
_PLAIN_ADDRESS = re.compile(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
                            r"@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)")
#: Line breaks and other control characters: how a header is injected.
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class AddressError(ValueError):
    """A recipient or sender address that cannot go into a header."""


def check_address(text: str) -> Address:
    """A validated ASCII address. Raises :class:`AddressError` saying why not.

    CR/LF and other control characters are refused outright: they are how a header is injected.
    Non-ASCII addresses are refused too: the SMTP stage does not speak SMTPUTF8.
    """
    value = (text or "").strip()
    if not value:
        raise AddressError("empty")
    if CONTROL.search(value):
        raise AddressError("contains a line break or control character")
    if not value.isascii():
        raise AddressError("contains non-ASCII characters")
    plain = _PLAIN_ADDRESS.fullmatch(value)
    if plain:  # the everyday form; anything else goes through the full RFC 5322 parser
        return Address(username=plain[1], domain=plain[2])
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, email.errors.MessageError) as exc:
        raise AddressError(str(exc) or type(exc).__name__) from exc
    if not address.username or not address.domain or address.addr_spec != value:
        raise AddressError("not of the form name@domain")
    return address


#: ``Name <addr>``: a quoted name, or a plain one without the characters that make a header
#: mean something else (a second address, a group, a comment).
_NAMED = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^<>,;:@"()\[\]\\]*?))\s*<([^<>]*)>\s*')


def check_mailbox(text: str) -> Address:
    """Exactly one mailbox, ``addr@example.com`` or ``Name <addr@example.com>`` (the name may
    be Chinese, or quoted). Raises :class:`AddressError` for anything else: a list, a name
    with an address after it, a control character anywhere.

    Stricter than :func:`email.utils.parseaddr`, which reads ``"a@x.com, b@y.com"`` as its
    first address and takes a line break inside a quoted name for a new header line.
    """
    value = (text or "").strip()
    if CONTROL.search(value):
        raise AddressError("contains a line break or control character")
    if "<" not in value and ">" not in value:
        if re.search(r"[,;\s]", value):
            raise AddressError("more than one address, or text besides it")
        return check_address(value)
    match = _NAMED.fullmatch(value)
    if not match:
        raise AddressError("not one address: write addr@example.com or Name <addr@example.com>")
    quoted, plain, spec = match.groups()
    name = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain.strip()
    address = check_address(spec)
    return Address(display_name=name, username=address.username, domain=address.domain)


#: The reasons above, for a Chinese message (others come from the RFC 5322 parser, in English).
_REASONS_ZH = {
    "empty": "为空",
    "contains a line break or control character": "含换行或控制字符",
    "contains non-ASCII characters": "地址含非 ASCII 字符",
    "not of the form name@domain": "不是 name@domain 的形式",
    "more than one address, or text besides it": "多于一个地址，或地址外还有别的文字",
    "not one address: write addr@example.com or Name <addr@example.com>": "不是一个地址",
}


def reason(exc: AddressError, language: str) -> str:
    """Why an address was refused, in ``language`` where the reason is one of ours."""
    text = str(exc)
    return _REASONS_ZH.get(text, text) if language == "zh" else text


def shown(text: str) -> str:
    """``text`` for a message, its control characters written as escapes (``\\r\\n``), so a
    line break in a bad value shows where it is instead of breaking the line."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


@functools.lru_cache(maxsize=4096)  # registers repeat the same few handler addresses
def is_sendable(text: str) -> bool:
    """True when :func:`check_address` accepts ``text``."""
    try:
        check_address(text)
    except AddressError:
        return False
    return True
