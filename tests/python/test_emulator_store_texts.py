"""Stored document texts written verbatim into responses (`is_plain_text`, `PlainTexts`, `json_text`):
the response is the one the decode-and-encode path gives, in every format."""

import io
import json
import math
import zipfile

from emulator_support import client, emu  # noqa: F401 (fixtures)
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.convex.values import PlainDict, decode_export_json, encode
from perm_rehearsal.emulator.api import json_text
from perm_rehearsal.emulator.store import PlainTexts, Store, doc_text, is_plain_text

FORMATS = ("json", "convex_encoded_json", "export_json")


def decoded_exactly(text: str) -> dict:
    """The stored document read the exact way (every integer literal tracked), as before the fast path."""
    if '"$' in text:
        return decode_export_json(json.loads(text))
    ints = []
    doc = json.loads(text, parse_int=lambda literal: ints.append(literal) or int(literal))
    return doc if ints else PlainDict(doc)


def response_before(texts: list[str], fmt: str) -> str:
    return json.dumps({"page": [encode(decoded_exactly(t), fmt) for t in texts]}, ensure_ascii=False, allow_nan=False)


keys = st.text(alphabet="abcAB_:,[]{}0123456789", min_size=1, max_size=6).filter(lambda k: not k.startswith("_"))
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=True)
           | st.text(alphabet='ab:,[]{}"\\-.0123456789e ', max_size=12) | st.binary(max_size=4))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=12)
documents = st.dictionaries(keys, values, max_size=6)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_a_text_taken_as_plain_reads_back_as_a_plain_document_with_the_same_json_in_every_format(doc):
    text = doc_text(doc)
    if not is_plain_text(text):
        return
    assert type(decoded_exactly(text)) is PlainDict  # no int64, bytes or special float inside
    for fmt in FORMATS:
        assert json.loads(json_text({"page": PlainTexts((text,))})) == json.loads(response_before([text], fmt))


def test_integer_literals_bytes_and_special_floats_are_never_plain():
    for doc in ({"n": 5}, {"a": [1.5, -3]}, {"o": {"x": 0}}, {"b": b"\x01"}, {"f": math.inf}, {"f": math.nan}):
        assert not is_plain_text(doc_text(doc)), doc
    assert is_plain_text(doc_text({"n": 5.0, "s": "abc", "l": [1.5, None, True], "o": {"x": -0.5}}))


def test_json_text_writes_plain_texts_verbatim_among_other_values():
    body = {"results": [{"value": PlainDict(page=PlainTexts(('{"a":1.0}', '{"b":"x"}')), isDone=False)},
                        {"value": {"page": PlainTexts(()), "s": "\x00raw-not-a-mark-0"}}]}
    assert json.loads(json_text(body)) == {"results": [{"value": {"page": [{"a": 1.0}, {"b": "x"}], "isDone": False}},
                                                       {"value": {"page": [], "s": "\x00raw-not-a-mark-0"}}]}


def test_table_data_pages_read_the_same_in_every_format_with_and_without_int64(client):  # noqa: F811
    plain = [{"email": f"u{i}@x.y", "n": i, "tags": ["a:1,", "[2]"]} for i in range(5)]
    assert client.oneshot("scratch", plain).status_code == 200  # JSONL: every number a float64
    for fmt in FORMATS:
        page = client.value("_system/cli/tableData", {"table": "scratch", "paginationOpts": {"numItems": 10, "cursor": None}},
                            fmt=fmt)["page"]
        assert [(d["email"], d["n"], d["tags"]) for d in page] == [(f"u{i}@x.y", float(i), ["a:1,", "[2]"])
                                                                  for i in range(5)]
        assert all(type(d["n"]) is float for d in page)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # "uniform" rows: an int64 document, then a plain one
        z.writestr("mixed/documents.jsonl", '{"n":42}\n{"f":1.5}\n')
        z.writestr("mixed/generated_schema.jsonl", '"uniform"\n')
    assert client.run_import(None, buf.getvalue(), mode="append", fmt="zip", part_size=1 << 20)["state"]["state"] == "completed"
    expected_n = {"json": "42", "convex_encoded_json": {"$integer": "KgAAAAAAAAA="}, "export_json": 42}
    for fmt in FORMATS:
        first = client.value("_system/cli/tableData", {"table": "mixed", "paginationOpts": {"numItems": 1, "cursor": None}},
                             fmt=fmt)
        second = client.value("_system/cli/tableData", {"table": "mixed", "paginationOpts": {
            "numItems": 1, "cursor": first["continueCursor"]}}, fmt=fmt)
        both = client.value("_system/cli/tableData", {"table": "mixed", "paginationOpts": {"numItems": 5, "cursor": None}},
                            fmt=fmt)["page"]
        assert first["page"][0]["n"] == expected_n[fmt] and second["page"][0]["f"] == 1.5
        assert [d.get("n", d.get("f")) for d in both] == [expected_n[fmt], 1.5]


def test_a_page_with_a_byte_cap_reads_rows_only_up_to_the_first_beyond_it(tmp_path):
    store = Store(tmp_path / "store.sqlite")
    tablet = store.create_tablet("t", 10001)
    store.insert_rows(tablet, [(f"id{i:02d}", float(i + 1), '{"x":"' + "a" * 92 + '"}') for i in range(20)])  # 100 B
    assert len(store.page(tablet, None, 11)) == 11
    assert [row[1] for row in store.page(tablet, None, 11, max_bytes=250)] == ["id00", "id01", "id02"]
    assert len(store.page(tablet, None, 11, max_bytes=300)) == 4  # the row that takes the total beyond 300
    assert [row[1] for row in store.page(tablet, (3.0, "id02"), 11, max_bytes=50)] == ["id03"]
    assert len(store.page(tablet, None, 11, max_bytes=10**6)) == 11
    store.close()


def test_table_data_pages_stop_at_five_megabytes_and_go_on_from_there(client):  # noqa: F811
    assert client.oneshot("blobs", [{"n": float(i), "text": "b" * 900_000} for i in range(12)]).status_code == 200
    seen, cursor, sizes = [], None, []
    while True:
        page = client.value("_system/cli/tableData", {"table": "blobs", "paginationOpts": {"numItems": 10, "cursor": cursor}})
        sizes.append(len(page["page"]))
        seen += [doc["n"] for doc in page["page"]]
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert sorted(seen) == [float(i) for i in range(12)] and sizes == [5, 5, 2]
