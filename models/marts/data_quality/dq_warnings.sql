{#- One row per warning or info note of the data-quality report (§4.5), user side and case side. -#}
select * from {{ ref('int_data_quality__findings') }}
