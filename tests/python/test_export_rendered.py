"""DuckDB writing the JSON of text, boolean and integer columns (`RenderedSelect`) gives exactly the
bytes of the detailed Python path (`MartExporter.document` on the values `select_sql` fetches)."""

from __future__ import annotations

import datetime
import decimal
import json

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convex_marts_fixture import CASES_META, SCHEMA, sample_rows, uuid, write_manifest
from loader.convex.ids import table_number_of
from loader.convex.schema import Schema
from loader.convex.validator import DocumentValidator
from loader.dbt_manifest import load_convex_marts
from loader.export import (
    MAX_SAFE_INTEGER,
    REJECTS_FILE,
    BadValue,
    MartExporter,
    RenderedSelect,
    _plain,
    as_wire,
    dumps,
    export_marts,
    json_value,
    manifest_path,
    ordered,
    placeholder_ids,
    select_sql,
    warehouse_rows,
)
from loader.run_folder import RunFolder

SCHEMA_V2 = Schema.from_file()
# the varied columns and their warehouse types; every other column of the sample case stays as it is
VARIED = {"legacyId": "varchar", "employerName": "varchar", "jobTitle": "varchar", "progressStatus": "varchar",
          "pwdWageAmount": "hugeint", "createdAt": "bigint", "updatedAt": "double", "isFavorite": "boolean",
          "recruitmentApplicantsCount": "decimal(20, 2)", "pwdFilingDate": "date", "tags": "varchar",
          "notes": "varchar", "resolve_owner_email": "varchar"}
BASE = {k: json.dumps(v) if isinstance(v, (list, dict)) else v
        for k, v in sample_rows(SCHEMA_V2)["convex_cases"][0].items() if k not in VARIED}

# text DuckDB and Python may write differently: every control character, quotes, backslashes, a literal
# `\u001F`, non-BMP characters, U+2028
texts = st.lists(st.characters(codec="utf-8") | st.sampled_from(
    [chr(i) for i in range(32)] + ['"', "\\", "\\u001F", "\u2028", "\U0001f600", "é"]), max_size=12).map("".join)
integers = st.integers(-2**63, 2**63 - 1) | st.sampled_from(
    [MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER - 1, 0])
big_integers = integers | st.sampled_from([2**64, -2**64 - 1, 10**30])
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e-7, 1e300, 2.0**53, -0.0, 0.5])
json_numbers = st.sampled_from(["1", "1.5", "1e-7", "2.0", "NaN", "123456789012345678901234567890", "-0.0",
                                "9007199254740993"])
notes = st.lists(st.fixed_dictionaries(
    {"status": st.sampled_from(["pending", "bogus"]), "content": texts, "id": texts},
    optional={"createdAt": json_numbers, "extra": texts}), max_size=3).map(
    lambda items: "[" + ",".join("{" + ",".join(f"{json.dumps(k)}:{v if k == 'createdAt' else json.dumps(v)}"
                                                for k, v in item.items()) + "}" for item in items) + "]")
nested_text = st.one_of(st.just("[]"), st.lists(texts, max_size=3).map(json.dumps), notes,
                        st.sampled_from(["", "not json", '["\\ud800"]', "[1]", '{"a":1}', "[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]"]))

def mostly(valid: st.SearchStrategy, other: st.SearchStrategy = st.none()) -> st.SearchStrategy:
    """A `valid` value four times in five (most documents stay valid: the accepted path is the fast one)."""
    return st.one_of(valid, valid, valid, valid, other)


valid_notes = st.lists(st.tuples(texts, texts, st.sampled_from(["1", "1.5", "1e-7", "2.0"])), max_size=2).map(
    lambda items: "[" + ",".join(f'{{"status":"pending","content":{json.dumps(c)},"id":{json.dumps(i)},"createdAt":{n}}}'
                                 for c, i, n in items) + "]")
row_values = st.fixed_dictionaries({
    "employerName": mostly(texts), "jobTitle": st.none() | texts,
    "progressStatus": mostly(st.sampled_from(["working", "filed"]), st.sampled_from(["bogus", None])),
    "pwdWageAmount": mostly(st.sampled_from([1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]), big_integers | st.none()),
    "createdAt": mostly(integers), "updatedAt": mostly(floats), "isFavorite": mostly(st.booleans()),
    "recruitmentApplicantsCount": mostly(st.decimals(-10**17, 10**17, places=2, allow_nan=False)),
    "pwdFilingDate": st.none() | st.dates(), "tags": mostly(st.lists(texts, max_size=3).map(json.dumps), nested_text),
    "notes": mostly(st.none() | valid_notes, nested_text), "resolve_owner_email": mostly(st.just("ann@example.com"))})


def build(folder: RunFolder, rows: list[dict]) -> list[str]:
    """`mart.convex_cases` with the VARIED types in folder's warehouse; returns its columns."""
    columns = list(BASE) + list(VARIED)
    types = {c: VARIED.get(c) or ("boolean" if isinstance(BASE[c], bool) else "bigint" if isinstance(BASE[c], int)
                                  else "varchar") for c in columns}
    with duckdb.connect(str(folder.warehouse_path)) as connection:
        connection.execute(f"create schema {SCHEMA}")
        connection.execute(f"create table {SCHEMA}.convex_cases ("
                           + ", ".join(f'"{c}" {types[c]}' for c in columns) + ")")
        for n, row in enumerate(rows):
            values = BASE | {"legacyId": uuid(n)} | row
            connection.execute(f"insert into {SCHEMA}.convex_cases values ({', '.join('?' for _ in columns)})",
                               [values.get(c) for c in columns])
    write_manifest(manifest_path(folder), {"convex_cases": columns})
    return columns


def reference_line(exporter: MartExporter, values: tuple) -> str | None:
    """The line by the plain definitions (`json.loads`, `_plain`, `ordered`, `as_wire`, `dumps`); None if
    a value does not convert."""
    row = {}
    for column, value in zip(exporter.mart.columns, values):
        if value is None:
            continue
        try:
            row[column] = _plain(json.loads(value) if column in exporter.nested_columns else value)
        except (BadValue, json.JSONDecodeError):
            return None
    return dumps(as_wire(ordered(row, SCHEMA_V2.table("cases").document_type)))


def detailed_export(folder: RunFolder) -> tuple[bytes, bytes]:
    """(cases.jsonl, rejects.jsonl) as the detailed Python path writes them; each exported line checked
    against the plain definitions."""
    (mart,) = load_convex_marts(manifest_path(folder))
    placeholders = placeholder_ids(SCHEMA_V2)
    validator = DocumentValidator(SCHEMA_V2, {table_number_of(i): n for n, i in placeholders.items()})
    exporter = MartExporter(mart, SCHEMA_V2, validator, placeholders)
    lines, rejects = [], []
    with warehouse_rows(folder, "duckdb", select_sql(mart, "duckdb"), as_tuples=True) as rows:
        for values in rows:
            line, problems = exporter.document(values)
            assert problems or line == reference_line(exporter, values)
            lines += [line] if not problems else []
            rejects += [dumps({"run_id": folder.run_id, **problem}) for problem in problems]
    return "".join(x + "\n" for x in lines).encode(), "".join(x + "\n" for x in rejects).encode()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_values, min_size=1, max_size=12))
def test_duckdb_rendered_export_writes_exactly_the_detailed_path(tmp_path_factory, rows):
    folder = RunFolder.create(tmp_path_factory.mktemp("runs"), "same")
    build(folder, rows)
    export_marts(folder, load_convex_marts(manifest_path(folder)), "duckdb", SCHEMA_V2)
    cases, rejects = detailed_export(folder)
    assert (folder.export_dir / "cases.jsonl").read_bytes() == cases
    assert (folder.export_dir / REJECTS_FILE).read_bytes() == rejects


def test_duckdb_writes_the_text_boolean_and_integer_columns(tmp_path):
    """Runs of DuckDB-written columns between the ones Python converts (nested JSON text, double,
    decimal, date), and a clean row exported without the detailed path."""
    folder = RunFolder.create(tmp_path / "runs", "r")
    build(folder, [{"tags": '["a"]', "notes": "[]", "updatedAt": 1.5, "createdAt": 5, "employerName": "E\n",
                    "recruitmentApplicantsCount": decimal.Decimal("3.00"), "pwdFilingDate": datetime.date(2020, 1, 2),
                    "isFavorite": True, "progressStatus": "filed", "resolve_owner_email": "ann@example.com"}])
    (mart,) = load_convex_marts(manifest_path(folder))
    placeholders = placeholder_ids(SCHEMA_V2)
    validator = DocumentValidator(SCHEMA_V2, {table_number_of(i): n for n, i in placeholders.items()})
    exporter = MartExporter(mart, SCHEMA_V2, validator, placeholders)
    with duckdb.connect(str(folder.warehouse_path), read_only=True) as connection:
        types = dict(connection.execute(f"select column_name, column_type from (describe {select_sql(mart, 'duckdb')})")
                     .fetchall())
        rendered = RenderedSelect(exporter, types)
        fetched = connection.execute(rendered.sql()).fetchone()
    converted = [part.columns[0] for part in rendered.parts if part.prefix is not None]
    assert converted == [c for c, _, _, _ in exporter.line_plan
                         if c in exporter.nested_columns or c in ("updatedAt", "recruitmentApplicantsCount",
                                                                  "pwdFilingDate")]
    assert {"tags", "notes"} <= exporter.nested_columns
    written = [c for part in rendered.parts if part.prefix is None for c in part.columns]
    assert {"legacyId", "employerName", "createdAt", "isFavorite", "resolve_owner_email"} <= set(written)
    assert fetched[-1] is False and any('"employerName":"E\\n"' in item for item in fetched if isinstance(item, str))

    def detailed(values):
        raise AssertionError(f"a clean row took the detailed path: {values}")

    exporter.document = detailed
    line, problems = rendered.document(fetched)
    assert problems == [], problems
    assert '"updatedAt":1.5,' in line and '"tags":["a"],' in line and '"recruitmentApplicantsCount":3,' in line
    assert '"pwdFilingDate":"2020-01-02",' in line and '"isFavorite":true,' in line


def test_json_value_reads_as_json_loads():
    """orjson reads integers beyond 64 bits as floats and refuses NaN: `json.loads` reads those."""
    for text in ["[123456789012345678901234567890]", "[-9223372036854775809]", "[NaN]", '["\\ud800"]',
                 '{"a":1,"a":2}', "[1e-7, 2.0]"]:
        value = json_value(text)
        assert value == json.loads(text) or text == "[NaN]"
        assert json.dumps(value) == json.dumps(json.loads(text))
    assert type(json_value("[123456789012345678901234567890]")[0]) is int


def test_rows_duckdb_cannot_write_like_python_take_the_detailed_path(tmp_path):
    """Integers at and beyond ±2^53, control characters DuckDB escapes in upper case, a literal `\\u001F`,
    floats orjson writes differently, NaN, 19-digit integers and unpaired surrogates in nested text."""
    clean = {"employerName": "E", "progressStatus": "filed", "createdAt": 1, "updatedAt": 2.0, "isFavorite": False,
             "recruitmentApplicantsCount": decimal.Decimal("1"), "tags": "[]", "resolve_owner_email": "ann@example.com"}
    note = '[{"id":"n","content":"c","status":"pending","createdAt":%s}]'
    variants = [{}, {"createdAt": MAX_SAFE_INTEGER}, {"createdAt": MAX_SAFE_INTEGER + 1},
                {"createdAt": -MAX_SAFE_INTEGER - 1}, {"pwdWageAmount": 2**64}, {"pwdWageAmount": -2**63},
                {"employerName": "a\x0b\x1fb"}, {"employerName": "a\\u001Fb"}, {"jobTitle": "\x00\n\t\x7f\u2028"},
                {"notes": note % "1e-7"}, {"notes": note % "1e300"}, {"notes": note % "NaN"},
                {"notes": note % "123456789012345678901234567890"}, {"tags": '["\\ud800"]'}, {"tags": '["\\u001F"]'},
                {"updatedAt": 1e-7}, {"updatedAt": 2.0**60}, {"updatedAt": -0.0}]
    folder = RunFolder.create(tmp_path / "runs", "same")
    build(folder, [clean | variant for variant in variants])
    export_marts(folder, load_convex_marts(manifest_path(folder)), "duckdb", SCHEMA_V2)
    cases, rejects = detailed_export(folder)
    assert (folder.export_dir / "cases.jsonl").read_bytes() == cases
    assert (folder.export_dir / REJECTS_FILE).read_bytes() == rejects
    assert len(cases.splitlines()) >= 10 and b"CONTRACT" in rejects and b"DQ-27" in rejects
