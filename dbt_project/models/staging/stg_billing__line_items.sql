with

coverage as (
    select delivery_key, delivery_id from {{ source('raw_billing', 'api_coverage') }}
),

-- API rows count only while their pull is the latest to cover their day (an empty re-pull of a
-- day clears it); rows of file sources have no coverage row and always count.
source as (
    select loaded.*
    from {{ source('raw_billing', 'line_items') }} as loaded
    left join coverage on loaded.delivery_key = coverage.delivery_key
    where coverage.delivery_key is null or loaded.delivery_id = coverage.delivery_id
),

classified as (
    select
        *,
        case
            when source_system = 'openai-costs' then 'openai'
            when source_system = 'anthropic-costs' then 'anthropic'
            when provider_name ilike 'aws%' or provider_name ilike 'amazon%'
                then case when service_name ilike '%bedrock%' then 'aws_bedrock' else 'aws' end
            when provider_name ilike 'microsoft%' or provider_name ilike 'azure%'
                then case when service_name ilike '%openai%' then 'azure_openai' else 'azure' end
            -- `google` is the model API provider of the logs (Vertex AI, Gemini API, as seed
            -- provider_aliases names them); Google's other AI services (Vision, Speech, Gemini
            -- Code Assist seats) are GCP, as Rekognition is AWS
            when provider_name ilike 'google%'
                then case
                    when service_name ilike '%vertex ai%' or service_name ilike 'gemini api%'
                        or service_name ilike 'generative language%' then 'google'
                    else 'gcp'
                end
            when provider_name ilike 'oracle%' then 'oci'
            else coalesce(lower(provider_name), source_system)
        end as x_provider,
        case
            when source_system in ('openai-costs', 'anthropic-costs') then 'ai'
            when service_category = 'AI and Machine Learning' then 'ai'
            else 'cloud'
        end as x_service_category,
        coalesce(
            json_extract_string(tags, '$.project'),
            json_extract_string(tags, '$.Project'),
            json_extract_string(tags, '$."user:project"'),
            sub_account_name
        ) as x_project,
        coalesce(
            json_extract_string(tags, '$.team'),
            json_extract_string(tags, '$.Team'),
            json_extract_string(tags, '$."user:team"')
        ) as x_team,
        coalesce(
            json_extract_string(tags, '$.environment'),
            json_extract_string(tags, '$.env'),
            json_extract_string(tags, '$."user:environment"')
        ) as x_environment,
        {{ utc_date('charge_period_start') }} as charge_date
    from source
)

select * from classified
