{#- Generic value tests (dbt_utils is not reachable here). -#}

{#- Fails for every non-NULL value that is not the text of a JSON array. -#}
{% test json_array(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and coalesce({{ json_kind(json_parse(column_name)) }}, 'invalid') <> 'array'
{% endtest %}

{#- Fails for every non-NULL value outside [min_value, max_value]. -#}
{% test value_between(model, column_name, min_value, max_value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not ({{ column_name }} between {{ min_value }} and {{ max_value }})
{% endtest %}

{#- Fails for every non-NULL value that does not match the regular expression (partial match). -#}
{% test matches_pattern(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not {{ regex_match(column_name, pattern) }}
{% endtest %}

{#- Fails for every row where the expression is false. -#}
{% test expression_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
