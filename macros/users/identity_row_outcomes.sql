{#- §4.1 row outcomes of the identity tables (auth.users, app_users): each row takes its identity's outcome;
    merge losers are excluded as `merged`. `staged` is the table's staging relation, `identity_groups`
    int_users__identity_groups. -#}
{% macro users_identity_row_outcomes(staged, identity_groups, id_column, source_table) -%}
with

source_rows as (
    select * from {{ staged }}
),

identity_groups as (
    select * from {{ identity_groups }}
),

final as (
    select
        '{{ source_table }}' as source_table,
        source_rows.{{ id_column }} as v1_id,
        case when identity_groups.is_merged_loser then 'excluded' else identity_groups.identity_outcome end as outcome,
        case
            when identity_groups.is_merged_loser then 'merged'
            when identity_groups.identity_outcome = 'excluded' then identity_groups.identity_reason
        end as reason,
        case when identity_groups.identity_outcome = 'rejected' then identity_groups.identity_reason end as dq_id,
        case when identity_groups.identity_outcome = 'rejected' then 'email' end as field,
        case when identity_groups.identity_outcome = 'rejected' then source_rows.email_original end as value,
        case
            when identity_groups.identity_reason = 'DQ-09' then
                '{{ source_table }} ' || source_rows.{{ id_column }} || ': email: no valid email for identity ' || identity_groups.identity_id
            when identity_groups.identity_reason = 'DQ-01' and identity_groups.identity_outcome = 'rejected' then
                '{{ source_table }} ' || source_rows.{{ id_column }} || ': email: duplicate of ' || identity_groups.identity_email
                || ' and not the group winner ' || identity_groups.winner_identity_id || ' (merge_duplicate_emails = false)'
        end as message,
        case when identity_groups.identity_outcome = 'rejected' then source_rows.source_row end as source_row
    from source_rows
    inner join identity_groups on identity_groups.{{ id_column }} = source_rows.{{ id_column }}
)

select * from final
{%- endmacro %}

{#- §4.1 row outcomes of user_settings / user_preferences from their resolved owner (§5.2, DQ-11);
    `resolved_relation` is int_users__settings_resolved or int_users__preferences_resolved. -#}
{% macro users_owned_row_outcomes(resolved_relation, id_column, source_table) -%}
with

resolved as (
    select * from {{ resolved_relation }}
),

final as (
    select
        '{{ source_table }}' as source_table,
        resolved.{{ id_column }} as v1_id,
        resolved.outcome,
        resolved.reason,
        resolved.dq_id,
        case when resolved.dq_id = 'DQ-27' then resolved.oversized_field
             when resolved.outcome = 'rejected' then 'user_id' end as field,
        case when resolved.outcome = 'rejected' and coalesce(resolved.dq_id, '') <> 'DQ-27' then resolved.user_ref end as value,
        case when resolved.dq_id = 'DQ-27' then
            '{{ source_table }} ' || resolved.{{ id_column }} || ': ' || resolved.message
             when resolved.outcome = 'rejected' then
            '{{ source_table }} ' || resolved.{{ id_column }} || ': user_id: ' || coalesce(resolved.message, '')
        end as message,
        case when resolved.outcome = 'rejected' then resolved.source_row end as source_row
    from resolved
)

select * from final
{%- endmacro %}
