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


@functools.lru_cache(maxsize=4096)  # registers repeat the same few handler addresses
def is_sendable(text: str) -> bool:
    """True when :func:`check_address` accepts ``text``."""
    try:
        check_address(text)
    except AddressError:
        return False
    return True
