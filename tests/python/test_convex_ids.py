"""Convex id codec against CONVEX_HTTP §5.5 examples, random round trips and the §5.6 rejections."""

import random

import pytest

from loader.convex.ids import ALPHABET, InvalidId, decode_id, encode_id, is_id, mint_id, minted_ids, table_number_of

EXAMPLE_1 = "j57000820c20a1g7104gm2rc1m70ynr8"
EXAMPLE_2 = "kg27rxfv99gzp01wmph0gvt92d6hnvy6"
EXAMPLE_3 = "0400000000000000000000000000248"


def test_example_1_table_10001_counting_bytes():
    assert encode_id(10001, bytes(range(16))) == EXAMPLE_1
    assert decode_id(EXAMPLE_1) == (10001, bytes(range(16)))


def test_example_2_real_id_from_old_deployment():
    number, internal = decode_id(EXAMPLE_2)
    assert number == 540
    assert internal.hex() == "7c75fb4a61fb003ca5a2086f49134d1a"
    assert int.from_bytes(internal[-2:], "big") == 19738  # day 2024-01-16
    assert encode_id(number, internal) == EXAMPLE_2


def test_example_3_table_1_zero_bytes():
    assert encode_id(1, bytes(16)) == EXAMPLE_3
    assert decode_id(EXAMPLE_3) == (1, bytes(16))


@pytest.mark.parametrize(
    ("number", "length"),
    [(1, 31), (127, 31), (128, 32), (10001, 32), (16383, 32), (16384, 34), (2**21, 36), (2**28, 37), (2**32 - 1, 37)],
)
def test_random_round_trips(number, length):
    rng = random.Random(number)
    for _ in range(200):
        internal = rng.randbytes(16)
        text = encode_id(number, internal)
        assert len(text) == length
        assert decode_id(text) == (number, internal)


def test_flipped_last_character_is_rejected():
    with pytest.raises(InvalidId, match="checksum"):
        decode_id(EXAMPLE_1[:-1] + "9")


def test_every_single_character_flip_is_rejected():
    for pos in range(len(EXAMPLE_1)):
        for c in ALPHABET:
            if c != EXAMPLE_1[pos]:
                assert not is_id(EXAMPLE_1[:pos] + c + EXAMPLE_1[pos + 1 :])


def test_uppercase_is_rejected():
    with pytest.raises(InvalidId, match="alphabet"):
        decode_id(EXAMPLE_1.upper())
    with pytest.raises(InvalidId):
        decode_id("J" + EXAMPLE_1[1:])


@pytest.mark.parametrize("text", ["0" * 30, EXAMPLE_1 + "0", EXAMPLE_1 + "000000"])
def test_lengths_30_33_38_are_rejected(text):
    assert len(text) in (30, 33, 38)
    with pytest.raises(InvalidId):
        decode_id(text)


def test_table_number_zero_is_rejected():
    with pytest.raises(InvalidId):
        encode_id(0, bytes(16))
    # Hand-build the bytes of a table-0 id with a correct checksum: the decoder must still refuse it.
    from loader.convex.ids import _b32encode, _fletcher16

    body = b"\x00" + bytes(16)
    with pytest.raises(InvalidId, match="table number 0"):
        decode_id(_b32encode(body + _fletcher16(body).to_bytes(2, "little")))


def test_non_minimal_varint_is_rejected():
    from loader.convex.ids import _b32encode, _fletcher16

    body = b"\x81\x00" + bytes(16)  # 1 written in two bytes
    with pytest.raises(InvalidId, match="non-canonical"):
        decode_id(_b32encode(body + _fletcher16(body).to_bytes(2, "little")))


def test_letters_outside_crockford_are_rejected():
    for c in "ilou":
        assert not is_id(c + EXAMPLE_1[1:])


def test_non_string_and_bad_inputs():
    assert not is_id(12345)
    assert not is_id(None)
    with pytest.raises(InvalidId):
        encode_id(2**32, bytes(16))
    with pytest.raises(InvalidId):
        encode_id(10001, bytes(15))


def test_mint_id_carries_table_and_day():
    text = mint_id(10003, now=1_700_000_000.0)
    assert table_number_of(text) == 10003
    assert int.from_bytes(decode_id(text)[1][-2:], "big") == 1_700_000_000 // 86400
    assert len({mint_id(10003) for _ in range(1000)}) == 1000


@pytest.mark.parametrize("table_number", [1, 127, 128, 10001, 16383, 16384, 2**21, 2**32 - 1])
def test_minted_ids_are_what_mint_id_makes_for_every_varint_length(table_number):
    now = 1705363200.0  # 2024-01-16: day 19738
    ids = minted_ids(table_number, 300, now=now)
    assert len(ids) == len(set(ids)) == 300
    assert {len(i) for i in ids} == {len(mint_id(table_number, now=now))}
    for doc_id in ids:
        number, internal = decode_id(doc_id)  # valid footer and canonical base32
        assert number == table_number and encode_id(number, internal) == doc_id
        assert int.from_bytes(internal[-2:], "big") == 19738
    assert minted_ids(table_number, 0) == []
    with pytest.raises(InvalidId):
        minted_ids(0, 1)
