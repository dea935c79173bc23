{#-
  `dbt run-operation create_empty_raw_schema`: create schema `raw` with one empty table per
  table of the `supabase` source, columns and types exactly as declared in
  models/staging/_supabase__sources.yml. Lets unit tests and CI build without a snapshot.
  Existing raw tables are replaced (`replace: false` keeps tables that already exist).
-#}
{% macro create_empty_raw_schema(replace=true) %}
  {%- set sources = graph.sources.values() | selectattr('source_name', 'equalto', 'supabase') | list -%}
  {%- if sources | length == 0 -%}
    {{ exceptions.raise_compiler_error("no tables of source `supabase` found") }}
  {%- endif -%}
  {%- set schema = sources[0].schema -%}
  {%- set statements = [adapter.dispatch('raw_create_schema')(schema)] -%}
  {%- for node in sources | sort(attribute='name') -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
      {%- if not column.data_type -%}
        {{ exceptions.raise_compiler_error("source column " ~ node.name ~ "." ~ column.name ~ " has no data_type") }}
      {%- endif -%}
      {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
    {%- endfor -%}
    {%- set relation = schema ~ '.' ~ node.identifier -%}
    {%- if replace -%}
      {%- do statements.append('drop table if exists ' ~ relation) -%}
    {%- endif -%}
    {%- do statements.append('create table if not exists ' ~ relation ~ ' (' ~ columns | join(', ') ~ ')') -%}
  {%- endfor -%}
  {%- for statement in statements -%}
    {%- do run_query(statement) -%}
  {%- endfor -%}
  {{ log("created " ~ (sources | length) ~ " empty tables in schema " ~ schema, info=true) }}
{% endmacro %}

{% macro default__raw_create_schema(schema) %}create schema if not exists {{ schema }}{% endmacro %}
