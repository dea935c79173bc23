{#- Run-wide warehouse settings, applied once by the `on-run-start` hook (dbt_project.yml).
    DuckDB: tables are written without string compression (dictionary, FSST): choosing and
    applying them costs about half of the write of the wide case tables, which every run writes
    once and reads a few times. Automatic checkpoints only beyond 4 GB of WAL instead of 16 MB
    (checkpointing that often made the commits cost about a third of the writes): the warehouse is
    checkpointed once, when the build closes it. Query results are unchanged. Postgres: nothing to set. -#}
{% macro warehouse_settings() -%}
  {{ return(adapter.dispatch('warehouse_settings', 'perm_migration')()) }}
{%- endmacro %}

{% macro default__warehouse_settings() -%}
{%- endmacro %}

{% macro duckdb__warehouse_settings() -%}
set disabled_compression_methods = 'dictionary,fsst';
set checkpoint_threshold = '4GB'
{%- endmacro %}
