"""Convex document id codec (CONVEX_HTTP §5): VInt table number, 16-byte internal id, Fletcher-16 footer, base32."""

from __future__ import annotations

import base64
import binascii
import operator
import os
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
MAX_TABLE_NUMBER = 0xFFFFFFFF
INTERNAL_ID_BYTES = 16


class InvalidId(ValueError):
    """A string that is not a valid Convex id."""


def _vint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _fletcher16(data: bytes) -> int:
    c0 = c1 = 0
    for b in data:
        c0 = (c0 + b) & 0xFF
        c1 = (c1 + c0) & 0xFF
    return (c1 << 8) | c0


_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)
_FROM_CROCKFORD = str.maketrans(ALPHABET, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def _b32encode(data: bytes) -> str:
    """Big-endian 5-bit groups, zero-padded, no `=`: RFC 4648 base32 with Crockford's lowercase alphabet."""
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_TO_CROCKFORD)


def _b32decode(text: str) -> bytes:
    """Inverse of `_b32encode` (padding bits are not checked here; `decode_id` re-encodes)."""
    rfc = text.translate(_FROM_CROCKFORD)
    try:
        return base64.b32decode(rfc + "=" * (-len(rfc) % 8))
    except binascii.Error as exc:
        raise InvalidId(f"not base32: {exc}") from None


def encode_id(table_number: int, internal_id: bytes) -> str:
    """The id text of `internal_id` (16 bytes) in table `table_number` (1 .. 2^32-1)."""
    if isinstance(table_number, bool) or not isinstance(table_number, int):
        raise InvalidId(f"table number must be an integer, got {table_number!r}")
    if not 1 <= table_number <= MAX_TABLE_NUMBER:
        raise InvalidId(f"table number {table_number} is outside 1..{MAX_TABLE_NUMBER}")
    if len(internal_id) != INTERNAL_ID_BYTES:
        raise InvalidId(f"internal id must be {INTERNAL_ID_BYTES} bytes, got {len(internal_id)}")
    body = _vint(table_number) + bytes(internal_id)
    return _b32encode(body + _fletcher16(body).to_bytes(2, "little"))


def decode_id(text: str) -> tuple[int, bytes]:
    """(table_number, internal_id) of a valid id; `InvalidId` for anything else (§5.4, strict)."""
    if not isinstance(text, str):
        raise InvalidId(f"an id is a string, got {type(text).__name__}")
    if not 31 <= len(text) <= 37:
        raise InvalidId(f"length {len(text)} is outside 31..37")
    bad = next((c for c in text if c not in _INDEX), None)
    if bad is not None:
        raise InvalidId(f"character {bad!r} is not in the id alphabet")
    buf = _b32decode(text)
    number = i = 0
    while True:
        if i >= 5 or i >= len(buf):
            raise InvalidId("bad table number varint")
        b = buf[i]
        number |= (b & 0x7F) << (7 * i)
        i += 1
        if b < 0x80:
            break
    if number == 0:
        raise InvalidId("table number 0")
    if len(buf) != i + INTERNAL_ID_BYTES + 2:
        raise InvalidId("wrong length after the table number")
    internal = buf[i : i + INTERNAL_ID_BYTES]
    if int.from_bytes(buf[i + INTERNAL_ID_BYTES :], "little") != _fletcher16(buf[: i + INTERNAL_ID_BYTES]):
        raise InvalidId("checksum mismatch")
    if number > MAX_TABLE_NUMBER or encode_id(number, internal) != text:
        raise InvalidId("non-canonical encoding")
    return number, internal


def is_id(text: object) -> bool:
    """True when `text` decodes as an id."""
    try:
        decode_id(text)  # type: ignore[arg-type]
    except InvalidId:
        return False
    return True


def table_number_of(text: str) -> int:
    """The table number inside an id."""
    return decode_id(text)[0]


def mint_id(table_number: int, now: float | None = None) -> str:
    """A fresh id as a real server makes it: 14 random bytes + day number since epoch, big-endian (§5.7)."""
    day = int((time.time() if now is None else now) // 86400)
    return encode_id(table_number, os.urandom(14) + day.to_bytes(2, "big"))


def minted_ids(table_number: int, count: int, now: float | None = None) -> list[str]:
    """`count` fresh ids of `table_number`, as `mint_id` makes them, in one pass: one `os.urandom` call, the
    Fletcher-16 footer as byte sums (c0 = Σ bᵢ, c1 = Σ (n − i)·bᵢ over the n bytes, mod 256) and one base32
    encode of all ids together, each padded to a multiple of 5 bytes (the padding's characters are cut off)."""
    day = int((time.time() if now is None else now) // 86400).to_bytes(2, "big")
    prefix = _vint(table_number)
    encode_id(table_number, bytes(14) + day)  # the table number's checks
    size = len(prefix) + INTERNAL_ID_BYTES  # bytes under the footer
    weights = range(size - len(prefix), 2, -1)  # (n − i) for the 14 random bytes
    fixed = prefix + bytes(14) + day
    c0_fixed = sum(fixed)
    c1_fixed = sum((size - i) * b for i, b in enumerate(fixed))
    padding = bytes(-(size + 2) % 5)
    random_bytes = os.urandom(14 * count)
    bodies = []
    for start in range(0, 14 * count, 14):
        chunk = random_bytes[start:start + 14]
        c0 = (c0_fixed + sum(chunk)) & 0xFF
        c1 = (c1_fixed + sum(map(operator.mul, weights, chunk))) & 0xFF
        bodies.append(prefix + chunk + day + bytes((c0, c1)) + padding)
    text = base64.b32encode(b"".join(bodies)).decode("ascii").translate(_TO_CROCKFORD)
    step = 8 * (size + 2 + len(padding)) // 5
    length = 8 * ((size + 2) // 5) + (0, 2, 4, 5, 7)[(size + 2) % 5]
    return [text[start:start + length] for start in range(0, len(text), step)]
