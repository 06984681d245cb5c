{#- The select that turns the validated activity's query into stream rows. -#}
{#- column_types: {column: data type} of the query, or none when unknown
    (then every timestamp takes the text path of `utc_timestamp`). -#}
{% macro _activity_select(source_sql, spec, column_types=none) -%}
    {#- A composite key is joined with '|' before hashing. -#}
    {%- set key_parts = [] -%}
    {%- for column in spec.key_columns -%}
        {%- if not loop.first -%}{%- do key_parts.append("'|'") -%}{%- endif -%}
        {%- do key_parts.append(
            "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")") -%}
    {%- endfor -%}
    {%- set key_sql = key_parts[0] if key_parts | length == 1
        else dbt.concat(key_parts) -%}
    {%- set key_null_checks = [] -%}
    {%- for column in spec.key_columns -%}
        {%- do key_null_checks.append(column ~ " is null") -%}
    {%- endfor -%}
    {%- set feature_pairs = [] -%}
    {%- for name, type in spec.features.items() -%}
        {%- do feature_pairs.append((
            name,
            "cast(" ~ name ~ " as " ~ activity_schema.feature_sql_type(type)
            ~ ")")) -%}
    {%- endfor -%}
    {%- set customer_sql = (
        "cast(" ~ spec.customer ~ " as " ~ dbt.type_string() ~ ")"
        if spec.customer is not none
        else "cast(null as " ~ dbt.type_string() ~ ")") -%}
    {%- set anonymous_sql = (
        dbt.concat([
            "'" ~ spec.anonymous_source ~ "_'",
            "cast(" ~ spec.anonymous_customer_id ~ " as "
            ~ dbt.type_string() ~ ")"])
        if spec.anonymous_customer_id is not none
        else "cast(null as " ~ dbt.type_string() ~ ")") -%}
{%- set types = column_types or {} -%}
{%- set ts_sql = activity_schema.utc_timestamp(
        spec.ts, types.get(spec.ts | lower)) -%}
{%- set loaded_at_sql = (
        activity_schema.utc_timestamp(
            spec.loaded_at, types.get(spec.loaded_at | lower))
        if spec.loaded_at is not none
        else "cast(null as " ~ dbt.type_timestamp() ~ ")") -%}
with activity_source as (
    {{ source_sql }}
),

shaped as (
    select
        case
            when {{ key_null_checks | join(' or ') }} then null
            else {{ dbt.hash(key_sql) }}
        end as activity_id,
        {{ ts_sql }} as ts,
        {{ customer_sql }} as customer,
        {{ anonymous_sql }} as anonymous_customer_id,
        cast('{{ spec.activity }}' as {{ dbt.type_string() }}) as activity,
        {{ activity_schema.json_object(feature_pairs) }} as feature_json,
        cast({{ spec.revenue_impact if spec.revenue_impact is not none
            else 'null' }} as {{ dbt.type_numeric() }}) as revenue_impact,
        cast({{ spec.link if spec.link is not none else 'null' }}
            as {{ dbt.type_string() }}) as link,
        {{ loaded_at_sql }} as _loaded_at,
        cast({{ key_sql }} as {{ dbt.type_string() }}) as _source_key,
        {#- Written on the source columns, not on the columns above, so that
            a filter on it (the stream's `_rejection_reason is null`) is
            evaluated before the key is hashed. -#}
        case
            when {{ key_null_checks | join(' or ') }}
                then 'missing activity_id'
            when {{ spec.ts }} is null
                then 'missing ts'
            when {{ ts_sql }} is null
                then {{ dbt.concat([
                    "'ts is not a timestamp: '",
                    "cast(" ~ spec.ts ~ " as " ~ dbt.type_string() ~ ")"]) }}
            when {{ customer_sql }} is null and {{ anonymous_sql }} is null
                then 'missing customer and anonymous_customer_id'
        end as _rejection_reason
    from activity_source
)

select * from shaped
{%- endmacro %}
