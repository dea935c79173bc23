{#- Text macros shared by all models (docs/INTERFACES.md §2, MAPPING_SPEC §0.2 and §3.1). -#}

{#- Characters removed by the TEXT rule: U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, U+007F. -#}
{% macro control_chars_regex() -%}
'[\x01-\x08\x0B\x0C\x0E-\x1F\x7F]'
{%- endmacro %}

{#- ASCII whitespace removed by trim (§0.2): space, tab, newline, carriage return, form feed, vertical tab. -#}
{% macro ascii_whitespace() -%}
(' ' || chr(9) || chr(10) || chr(13) || chr(12) || chr(11))
{%- endmacro %}

{#- Text with control characters removed and ASCII whitespace trimmed; '' becomes NULL. -#}
{% macro clean_text(expr) -%}
  {{ return(adapter.dispatch('clean_text', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__clean_text(expr) -%}
nullif(trim(regexp_replace(cast({{ expr }} as varchar), {{ control_chars_regex() }}, '', 'g'), {{ ascii_whitespace() }}), '')
{%- endmacro %}

{% macro postgres__clean_text(expr) -%}
nullif(btrim(regexp_replace(cast({{ expr }} as text), {{ control_chars_regex() }}, '', 'g'), {{ ascii_whitespace() }}), '')
{%- endmacro %}

{#- email_norm (§0.2): lower(trim(expr)); nothing else changes. -#}
{% macro email_norm(expr) -%}
  {{ return(adapter.dispatch('email_norm', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__email_norm(expr) -%}
lower(trim(cast({{ expr }} as varchar), {{ ascii_whitespace() }}))
{%- endmacro %}

{% macro postgres__email_norm(expr) -%}
lower(btrim(cast({{ expr }} as text), {{ ascii_whitespace() }}))
{%- endmacro %}

{#- Boolean: the (already normalised) email matches ^[^@\s]+@[^@\s]+\.[^@\s]+$ (§0.2); NULL gives false. -#}
{% macro is_valid_email(expr) -%}
  {{ return(adapter.dispatch('is_valid_email', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__is_valid_email(expr) -%}
coalesce(regexp_full_match(cast({{ expr }} as varchar), '[^@\s]+@[^@\s]+\.[^@\s]+'), false)
{%- endmacro %}

{% macro postgres__is_valid_email(expr) -%}
coalesce(cast({{ expr }} as text) ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$', false)
{%- endmacro %}

{#- A JSON string literal for text, escaped identically on every warehouse (used to build JSON text). -#}
{% macro json_string(expr) -%}
('"' || replace(replace(replace(replace(replace(cast({{ expr }} as varchar), '\', '\\'), '"', '\"'), chr(10), '\n'), chr(13), '\r'), chr(9), '\t') || '"')
{%- endmacro %}

{#- Capture group `n` of the first match of `pattern` (a SQL string literal) in text; NULL when
    there is no match or the group is empty. -#}
{% macro regex_group(expr, pattern, n) -%}
  {{ return(adapter.dispatch('regex_group', 'perm_migration')(expr, pattern, n)) }}
{%- endmacro %}

{% macro default__regex_group(expr, pattern, n) -%}
nullif(regexp_extract(cast({{ expr }} as varchar), {{ pattern }}, {{ n }}), '')
{%- endmacro %}

{% macro postgres__regex_group(expr, pattern, n) -%}
nullif((regexp_match(cast({{ expr }} as text), {{ pattern }}))[{{ n }}], '')
{%- endmacro %}

{#- Text in byte order for ORDER BY, identical on every warehouse (Postgres: collation "C"). -#}
{% macro text_sort_key(expr) -%}
  {{ return(adapter.dispatch('text_sort_key', 'perm_migration')(expr)) }}
{%- endmacro %}

{% macro default__text_sort_key(expr) -%}
{{ expr }}
{%- endmacro %}

{% macro postgres__text_sort_key(expr) -%}
({{ expr }} collate "C")
{%- endmacro %}

{#- Boolean: a Supabase Storage URL (§3.1): host ends in `.supabase.co`, path begins with `/storage/`. -#}
{% macro is_supabase_storage_url(expr) -%}
coalesce({{ regex_match('lower(' ~ expr ~ ')', '^[a-z][a-z0-9+.-]*://([^/?#@]*@)?[^/?#@:]*[.]supabase[.]co(:[0-9]+)?/storage/') }}, false)
{%- endmacro %}

{#- Boolean: the TEXT rule changes this text (control characters or surrounding whitespace removed;
    DQ-27); NULL for NULL. -#}
{% macro is_text_cleaned(expr) -%}
({{ expr }} <> coalesce({{ clean_text(expr) }}, ''))
{%- endmacro %}

{#- Comma-separated names of the columns whose text the TEXT rule changes (DQ-27), NULL when none. -#}
{% macro dirty_text_columns(relation_alias, column_names) -%}
nullif(concat_ws(','
{%- for column_name in column_names %},
    case when {{ is_text_cleaned(relation_alias ~ '.' ~ column_name) }} then '{{ column_name }}' end
{%- endfor %}
), '')
{%- endmacro %}
