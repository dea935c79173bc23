"""The import's fast path (`_fast_row` + `orjson_doc_text`) stores exactly what the exact path
(`_parse_line` + `check_document` + `doc_text`) stores, with the same Convex size, for JSONL (every number a
float64) and "uniform" ZIP rows (int64); a row `check_document` refuses takes the exact path."""

import json

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from loader.convex.values import MAX_ARRAY_LENGTH, InvalidValue, check_document
from perm_rehearsal.emulator.import_parse import ImportFailure, _fast_row, _parse_line
from perm_rehearsal.emulator.store import doc_text, orjson_doc_text

SYSTEM = {"_id": "jd7b1fh8d0t7hjq35p0wzxkc9d7vbmdy", "_creationTime": 1765000000000.123}

keys = st.text(alphabet="abcAB_:,[]{}0123456789$-é \x7f", min_size=1, max_size=6) | st.sampled_from(["_id", "_a"])
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
           | st.floats(min_value=-1e-3, max_value=1e-3) | st.sampled_from([0.0, -0.0, 1e16, 1e-4, 9.99e15])
           | st.text(alphabet='ab:,[]{}"\\-.0123456789eE $é\u2028\x00\x1f😀', max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=16)
documents = st.dictionaries(keys, values, max_size=6)
spacing = st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :")])


def exact(raw: bytes, uniform: bool):
    try:
        return _parse_line(raw, 1, uniform)
    except ImportFailure:
        return None


def assert_same_as_exact(raw: bytes, uniform: bool) -> None:
    read = _fast_row(raw, uniform)
    if read is None:
        return
    fast, size = read
    value = exact(raw, uniform)
    assert value is not None, raw  # the fast path never accepts a row the exact path refuses
    try:
        exact_size = check_document(value)
    except InvalidValue:
        raise AssertionError(f"the fast path accepted a row check_document refuses: {raw!r}") from None
    assert size == exact_size, raw
    assert repr(fast) == repr(value), raw  # same types (float vs int), signs of zero, key order
    assert orjson_doc_text({**fast, **SYSTEM}) == doc_text({**value, **SYSTEM}), raw


@settings(max_examples=600, deadline=None)
@given(documents, spacing, st.booleans(), st.booleans())
def test_a_row_the_fast_path_reads_is_stored_as_the_exact_path_stores_it(doc, separators, ascii_only, uniform):
    try:
        raw = json.dumps(doc, separators=separators, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:
        return
    assert_same_as_exact(raw, uniform)


def test_rows_with_minus_zero_tiny_or_huge_numbers_and_special_text_take_the_exact_path():
    for raw in (b'{"a":-0}', b'{"a": -0 }', b'{"a":[1.5,-0]}', b'{"a":1e-5}', b'{"a":0.00001}', b'{"a":1e16}',
                b'{"a":12345678901234567890123}', b'{"a":1e400}', b'{"a":NaN}', b'{"a":"\\ud800"}',
                b'\xef\xbb\xbf{"a":1}', b'{"$integer":"AQAAAAAAAAA="}', b'[1]', b'5', b'{"a":"\xff"}'):
        assert _fast_row(raw, uniform=False) is None, raw
    assert repr(_fast_row(b'{"a": 5 , "b":[-0.0, {"c":3}], "d":"2024-01-05"}', uniform=False)) == \
        repr(({"a": 5.0, "b": [-0.0, {"c": 3.0}], "d": "2024-01-05"}, 53))
    assert repr(_fast_row(b'{"a":5,"b":9223372036854775807}', uniform=True)) == repr(({"a": 5, "b": 2**63 - 1}, 24))
    assert _fast_row(b'{"id":"f092c9b4-0c66-43ad","n":[1,-0.5]}', uniform=False) is not None  # `-0` in text


def test_rows_check_document_refuses_take_the_exact_path():
    deep = b'{"a":' * 17 + b"1" + b"}" * 17  # 17 levels: one more than the limit
    nested_ok = b'{"a":' * 16 + b"1" + b"}" * 16
    wide = b"{" + b",".join(b'"f%d":1' % i for i in range(1025)) + b"}"
    long_array = b'{"a":[' + b",".join([b"1"] * (MAX_ARRAY_LENGTH + 1)) + b"]}"
    big = b'{"a":"' + b"x" * (1 << 20) + b'"}'
    for raw in (deep, wide, long_array, big, b'{"_a":1}', b'{"":1}', rb'{"a\u0001":1}', rb'{"\u00e9":1}',
                b'{"' + b"n" * 1025 + b'":1}'):
        assert _fast_row(raw, uniform=False) is None, raw[:40]
        with pytest.raises(InvalidValue):
            check_document(exact(raw, False))
    for raw in (nested_ok, b'{"a":{"_b":1}}', b'{"_id":"x","_creationTime":1}'):
        fast, size = _fast_row(raw, uniform=False)
        assert size == check_document(exact(raw, False)), raw
