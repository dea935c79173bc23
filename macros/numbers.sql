{#- Number macros (docs/INTERFACES.md §2, MAPPING_SPEC §3.1). -#}

{#- Dollar text with `$`, `,` and whitespace removed. -#}
{% macro _dollars_digits(expr) -%}
regexp_replace(cast({{ expr }} as varchar), '[$,[:space:]]', '', 'g')
{%- endmacro %}

{#- Regex of a non-negative decimal that fits bigint cents (at most 15 integer digits). -#}
{% macro _dollars_regex() -%}
^([0-9]{1,15}([.][0-9]*)?|[.][0-9]+)$
{%- endmacro %}

{#- bigint cents = round_half_up(x × 100) in exact integer arithmetic, or NULL when the value is
    negative or not a number. Text may carry `$`, `,` and spaces. Only the third decimal decides the
    rounding, so the digits after it are ignored without any loss. -#}
{% macro dollars_to_cents(expr) -%}
  {{ return(adapter.dispatch('dollars_to_cents', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__dollars_to_cents(expr) -%}
{%- set digits = _dollars_digits(expr) -%}
{%- set fraction = "substr(split_part(" ~ digits ~ ", '.', 2) || '000', 1, 3)" -%}
case when {{ regex_match(digits, _dollars_regex()) }} then
  cast(coalesce(nullif(split_part({{ digits }}, '.', 1), ''), '0') as bigint) * 100
  + cast(substr({{ fraction }}, 1, 2) as bigint)
  + case when substr({{ fraction }}, 3, 1) >= '5' then 1 else 0 end
end
{%- endmacro %}

{#- Boolean: a non-NULL value that is not a non-negative dollar amount (DQ-21: omit). -#}
{% macro dollars_is_invalid(expr) -%}
({{ expr }} is not null and not {{ regex_match(_dollars_digits(expr), _dollars_regex()) }})
{%- endmacro %}

{#- Boolean: a dollar amount with a non-zero digit after the second decimal (DQ-21: rounded). -#}
{% macro dollars_has_excess_decimals(expr) -%}
coalesce({{ regex_match(_dollars_digits(expr), '[.][0-9]{2}[0-9]*[1-9]') }}, false)
{%- endmacro %}
