{#- A boolean configuration var (MAPPING_SPEC §0.3) as a SQL literal; accepts true/false given as YAML or text. -#}
{% macro bool_var(name) -%}
{{ 'true' if (var(name) | string | lower | trim) in ('true', '1', 'yes') else 'false' }}
{%- endmacro %}
