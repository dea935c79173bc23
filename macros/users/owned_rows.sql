{#- §3.3 / §5.2 / DQ-11: resolve the owner of each user_settings or user_preferences row and decide its
    outcome. Columns: every staging column, resolution_rule, identity_id, group_email, oversized_field
    and oversize_problems (a `json_columns` value too large for v2, DQ-27: the row is quarantined and
    another row of its owner may be chosen), outcome, reason, dq_id, message, is_chosen (the one row a
    winner's profile reads). `staged_relation` is the table's staging relation,
    `user_references_relation` int_users__references. -#}
{% macro users_owned_rows(staged_relation, user_references_relation, row_id_column, json_columns) -%}
with

staged as (
    select
        staged.*,
        {%- for column in json_columns %}
        {{ json_oversize_problem('staged.' ~ column) }} as {{ column }}_oversize{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ staged_relation }} as staged
),

owned as (
    select
        staged.*,
        {{ json_oversize_summary(json_columns) }}
    from staged
),

user_references as (
    select * from {{ user_references_relation }}
),

resolved as (
    select
        owned.*,
        user_references.resolution_rule,
        user_references.identity_id,
        user_references.group_email,
        user_references.identity_outcome,
        user_references.identity_reason,
        user_references.is_merged_loser
    from owned
    left join user_references on user_references.user_ref = owned.user_ref
),

ranked as (
    select
        resolved.*,
        case when resolved.identity_outcome = 'loaded' and not resolved.is_merged_loser
                  and resolved.oversized_field is null then
            row_number() over (
                partition by resolved.identity_id, resolved.identity_outcome, resolved.is_merged_loser,
                    resolved.oversized_field is null
                order by {{ comparable_timestamp('resolved.updated_at') }} desc nulls last,
                    {{ comparable_timestamp('resolved.created_at') }} desc nulls last,
                    {{ text_sort_key('resolved.' ~ row_id_column) }} desc
            )
        end as owner_rank
    from resolved
),

final as (
    select
        ranked.*,
        case
            when ranked.identity_id is null then 'rejected'
            when ranked.identity_outcome = 'rejected' then 'rejected'
            when ranked.identity_outcome = 'excluded' then 'excluded'
            when ranked.is_merged_loser then 'excluded'
            when ranked.oversized_field is not null then 'rejected'
            when ranked.owner_rank > 1 then 'excluded'
            else 'loaded'
        end as outcome,
        case
            when ranked.identity_id is null or ranked.identity_outcome = 'rejected' then null
            when ranked.identity_outcome = 'excluded' then 'owner_excluded'
            when ranked.is_merged_loser then 'merged'
            when ranked.oversized_field is not null then null
            when ranked.owner_rank > 1 then 'superseded'
        end as reason,
        case
            when ranked.identity_id is null then 'DQ-06'
            when ranked.identity_outcome = 'rejected' then ranked.identity_reason
            when ranked.identity_outcome = 'excluded' or ranked.is_merged_loser then null
            when ranked.oversized_field is not null then 'DQ-27'
        end as dq_id,
        case
            when ranked.identity_id is null then
                'matches no app_users.id, app_users.auth_user_id or auth.users.id (DQ-06)'
            when ranked.identity_outcome = 'rejected' then
                'owner identity ' || ranked.identity_id || ' is rejected (' || ranked.identity_reason || ')'
            when ranked.identity_outcome = 'excluded' or ranked.is_merged_loser then null
            when ranked.oversized_field is not null then ranked.oversize_problems || '; quarantined'
        end as message,
        coalesce(ranked.owner_rank = 1, false) as is_chosen
    from ranked
)

select * from final
{%- endmacro %}
