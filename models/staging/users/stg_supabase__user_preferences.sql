with

source as (
    select * from {{ source('supabase', 'user_preferences') }}
),

final as (
    select
        lower({{ clean_text('source.id') }}) as user_preferences_id,
        lower({{ clean_text('source.user_id') }}) as user_ref,
        {{ clean_text('source.cases_sort_by') }} as cases_sort_by,
        {{ clean_text('source.cases_sort_order') }} as cases_sort_order,
        source.cases_per_page,
        source.dismissed_deadlines,
        {{ json_is_double_encoded('source.dismissed_deadlines') }} as is_dismissed_deadlines_double_encoded,
        source.created_at,
        source.updated_at,
        {{ epoch_ms('source.updated_at') }} as updated_ms,
        {{ unreadable_timestamp('source.updated_at') }} as updated_at_unreadable,
        {{ row_json('source', ['id', 'user_id', 'cases_sort_by', 'cases_sort_order', 'cases_per_page',
            'dismissed_deadlines', 'created_at', 'updated_at']) }} as source_row
    from source
)

select * from final
