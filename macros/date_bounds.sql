{#- Smallest / greatest non-NULL `YYYY-MM-DD` text of a list of expressions; NULL when all are NULL
    (explicit sentinels, so NULL handling does not depend on the warehouse's least/greatest). -#}
{% macro least_date(exprs) -%}
nullif(least({% for e in exprs %}coalesce({{ e }}, '9999-12-31'){{ ', ' if not loop.last }}{% endfor %}), '9999-12-31')
{%- endmacro %}

{% macro greatest_date(exprs) -%}
nullif(greatest({% for e in exprs %}coalesce({{ e }}, '0000-00-00'){{ ', ' if not loop.last }}{% endfor %}), '0000-00-00')
{%- endmacro %}
