{#- Wide case models built in bounded pieces (issue #12 item 2). The per-case lists and strings of
    int_cases__notes and int_cases__recruitment_methods are grouped aggregates whose state grows with
    the number of cases: at 1M cases one query runs a 512MB DuckDB limit out of memory. On DuckDB such a model builds one piece of the cases
    (`hash(case_id)` modulo the number of pieces) in its main query, and its post-hook inserts the
    other pieces one by one with the same query; every piece holds about PERM_CASES_PER_PIECE cases
    (default 100000; one piece up to 1.5 times that). PostgreSQL builds every case at once.

    A model opts in with `config(pre_hook=case_pieces_start(ref('int_cases__scalars')),
    post_hook=case_pieces_insert_rest())` and `where {{ in_case_piece('<case_id column>') }}` on every
    input whose rows are grouped per case. dbt unit tests run no hooks, so there the filter keeps
    every row (one piece). -#}

{% macro cases_per_piece() -%}
  {%- set text = env_var('PERM_CASES_PER_PIECE', '100000') -%}
  {%- if not (text | string).isdigit() or text | int < 1 -%}
    {{ exceptions.raise_compiler_error("PERM_CASES_PER_PIECE=" ~ text ~ " is not a positive whole number of cases") }}
  {%- endif -%}
  {{ return(text | int) }}
{%- endmacro %}

{#- Pre-hook: the number of pieces for the cases in `cases_relation`, and piece 0 first. -#}
{% macro case_pieces_start(cases_relation) -%}
  {{ return(adapter.dispatch('case_pieces_start', 'perm_migration')(cases_relation)) }}
{%- endmacro %}

{% macro default__case_pieces_start(cases_relation) -%}
{%- endmacro %}

{% macro duckdb__case_pieces_start(cases_relation) -%}
set variable case_pieces = (select greatest(1, round(count(*) / {{ cases_per_piece() }}))::bigint from {{ cases_relation }});
set variable case_piece = 0
{%- endmacro %}

{#- Post-hook: the model's own query once more for each further piece, appended to the table. -#}
{% macro case_pieces_insert_rest() -%}
  {{ return(adapter.dispatch('case_pieces_insert_rest', 'perm_migration')()) }}
{%- endmacro %}

{% macro default__case_pieces_insert_rest() -%}
{%- endmacro %}

{% macro duckdb__case_pieces_insert_rest() -%}
  {%- if execute -%}
    {%- set pieces = run_query("select getvariable('case_pieces')").columns[0].values()[0] -%}
    {%- for piece in range(1, pieces) %}
      {%- do run_query("set variable case_piece = " ~ piece) -%}
      {%- do run_query("insert into " ~ this ~ " by name " ~ model.compiled_code) -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}

{#- True for the rows of `case_id` in the piece being built (always true off DuckDB and in unit tests). -#}
{% macro in_case_piece(case_id) -%}
  {{ return(adapter.dispatch('in_case_piece', 'perm_migration')(case_id)) }}
{%- endmacro %}

{% macro default__in_case_piece(case_id) -%}
true
{%- endmacro %}

{% macro duckdb__in_case_piece(case_id) -%}
{%- if model.resource_type == 'unit_test' -%}
true
{%- else -%}
hash({{ case_id }}) % getvariable('case_pieces') = getvariable('case_piece')
{%- endif -%}
{%- endmacro %}
