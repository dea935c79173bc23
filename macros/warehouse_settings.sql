{#- Run-wide warehouse settings, applied once by the `on-run-start` hook (dbt_project.yml).
    DuckDB: tables are written without string compression (dictionary, FSST): choosing and
    applying them costs about half of the write of the wide case tables, which every run writes
    once and reads a few times; query results are unchanged. (Deferring checkpoints to the close,
    checkpoint_threshold 4GB, was measured slower: the writes then no longer overlap the models.)
    Postgres: nothing to set. -#}
{% macro warehouse_settings() -%}
  {{ return(adapter.dispatch('warehouse_settings', 'perm_migration')()) }}
{%- endmacro %}

{% macro default__warehouse_settings() -%}
{%- endmacro %}

{% macro duckdb__warehouse_settings() -%}
set disabled_compression_methods = 'dictionary,fsst'
{%- endmacro %}
