with

source as (
    select * from {{ source('supabase', 'auth_users') }}
),

parsed as (
    select
        source.*,
        {{ json_parse('source.raw_app_meta_data') }} as app_meta,
        {{ json_parse('source.raw_user_meta_data') }} as user_meta
    from source
),

google_providers as (
    select
        providers.id,
        bool_or({{ json_scalar_text('providers.item') }} = 'google') as has_google_provider
    from {{ json_array_rows('parsed', ['id'], json_member('parsed.app_meta', 'providers'), 'providers') }}
    group by providers.id
),

final as (
    select
        lower({{ clean_text('parsed.id') }}) as auth_user_id,
        parsed.email as email_original,
        {{ email_norm('parsed.email') }} as email_norm,
        {{ is_valid_email(email_norm('parsed.email')) }} as is_email_valid,
        parsed.email_confirmed_at,
        {{ epoch_ms('parsed.email_confirmed_at') }} as email_confirmed_ms,
        parsed.last_sign_in_at,
        {{ clean_text(json_member_text('parsed.user_meta', 'full_name')) }} as meta_full_name,
        {{ clean_text(json_member_text('parsed.user_meta', 'name')) }} as meta_name,
        {{ clean_text(json_member_text('parsed.user_meta', 'avatar_url')) }} as meta_avatar_url,
        {{ clean_text(json_member_text('parsed.user_meta', 'picture')) }} as meta_picture,
        (
            coalesce(lower({{ clean_text(json_member_text('parsed.app_meta', 'provider')) }}) = 'google', false)
            or coalesce(google_providers.has_google_provider, false)
        ) as is_google_signup,
        {{ clean_text('parsed.phone') }} as phone,
        parsed.created_at,
        {{ epoch_ms('parsed.created_at') }} as created_ms,
        parsed.updated_at,
        {{ epoch_ms('parsed.updated_at') }} as updated_ms,
        parsed.banned_until,
        {{ epoch_ms('parsed.banned_until') }} as banned_until_ms,
        {#- 'infinity' or a year past 9999 (staged as text) is a ban without end -#}
        coalesce({{ regex_match('parsed.banned_until', '^(infinity|[0-9]{5,}-)') }}, false) as is_banned_forever,
        parsed.deleted_at,
        {{ epoch_ms('parsed.deleted_at') }} as deleted_ms,
        {%- for column in ['created_at', 'email_confirmed_at', 'deleted_at'] %}
        {{ unreadable_timestamp('parsed.' ~ column) }} as {{ column }}_unreadable,
        {%- endfor %}
        coalesce(parsed.is_anonymous, false) as is_anonymous,
        {{ dirty_text_columns('parsed', ['phone']) }} as dirty_text_columns,
        nullif(concat_ws(',',
            case when {{ json_is_invalid('parsed.raw_app_meta_data') }} then 'raw_app_meta_data' end,
            case when {{ json_is_invalid('parsed.raw_user_meta_data') }} then 'raw_user_meta_data' end
        ), '') as invalid_json_columns,
        {{ row_json('parsed', ['id', 'email', 'email_confirmed_at', 'last_sign_in_at', 'raw_app_meta_data',
            'raw_user_meta_data', 'phone', 'created_at', 'updated_at', 'banned_until', 'deleted_at', 'is_anonymous']) }} as source_row
    from parsed
    left join google_providers on google_providers.id = parsed.id
)

select * from final
