with

source as (
    select * from {{ source('supabase', 'auth_identities') }}
),

final as (
    select
        lower({{ clean_text('source.id') }}) as identity_id,
        lower({{ clean_text('source.user_id') }}) as auth_user_id,
        lower({{ clean_text('source.provider') }}) as provider,
        coalesce(
            {{ email_norm(clean_text('source.email')) }},
            {{ email_norm(clean_text(json_member_text(json_parse('source.identity_data'), 'email'))) }}
        ) as email_norm
    from source
)

select * from final
