"""The dlt peer: `sql_database` extraction of the v1 source tables into DuckDB (run in bench/work/dlt-venv).

Usage: dlt_peer.py <postgresql://dsn> <duckdb_file> <pipelines_dir> [sqlalchemy|pyarrow]
`pyarrow` is the fast backend a user would choose; `sqlalchemy` is dlt's default (row by row).
"""

import sys

import dlt
from dlt.sources.sql_database import sql_database

SCHEMAS = {
    "auth": ["users", "identities"],
    "public": ["users", "user_settings", "user_preferences", "cases", "case_rfi", "case_rfe"],
}


def main(dsn: str, duckdb_file: str, pipelines_dir: str, backend: str = "sqlalchemy") -> None:
    credentials = dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
    for schema, tables in SCHEMAS.items():
        pipeline = dlt.pipeline(pipeline_name=f"perm_peer_{schema}", pipelines_dir=pipelines_dir,
                                destination=dlt.destinations.duckdb(duckdb_file), dataset_name=f"raw_{schema}")
        pipeline.run(sql_database(credentials=credentials, schema=schema, table_names=tables, backend=backend))


if __name__ == "__main__":
    main(*sys.argv[1:5])
