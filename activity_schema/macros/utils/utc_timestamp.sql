{#-
    utc_timestamp(expression, data_type=none) -> SQL of the expression as a
    timestamp in UTC without time zone, or null when it is not a timestamp.

    data_type: the expression's type as the warehouse names it, when known.
    - A timestamp without time zone or a date is cast (it is taken as UTC
      already): no parsing, and filters on it stay cheap.
    - A timestamp with time zone is converted to UTC.
    - Text, or an unknown type, is read as text:
    - Text with a UTC offset (`2024-03-01 10:00:00+02:00`, `…+0200`,
      `…+02`, `…Z`) is converted to UTC (08:00:00 here).
    - Text without an offset is taken as UTC already.
    - Anything else (`garbage`, `2024-02-30`, an empty string) gives null,
      so that the activity can reject the row and name the value instead of
      failing the whole query.

    Example: {{ activity_schema.utc_timestamp('occurred_at') }}
-#}
{% macro utc_timestamp(expression, data_type=none) -%}
    {%- set kind = activity_schema._timestamp_kind(data_type) -%}
    {%- if kind == 'plain' -%}
        {{ return('cast(' ~ expression ~ ' as ' ~ dbt.type_timestamp() ~ ')') }}
    {%- elif kind == 'zoned' -%}
        {{ return(adapter.dispatch('utc_from_zoned', 'activity_schema')(
            expression)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('utc_timestamp', 'activity_schema')(expression)) }}
{%- endmacro %}


{#- 'plain' (timestamp without time zone, date), 'zoned' (with a time
    zone) or 'text' (anything else, unknown included). -#}
{% macro _timestamp_kind(data_type) -%}
    {%- set name = (data_type or '') | lower | trim -%}
    {%- if name in ['timestamptz', 'timestamp_tz', 'timestamp_ltz']
        or 'with time zone' in name -%}
        {{ return('zoned') }}
    {%- elif name == 'date' or name.startswith('timestamp')
        or name.startswith('datetime') -%}
        {{ return('plain') }}
    {%- endif -%}
    {{ return('text') }}
{%- endmacro %}


{% macro default__utc_from_zoned(expression) -%}
    cast({{ expression }} at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_from_zoned(expression) -%}
    cast(timezone('UTC', {{ expression }}) as timestamp)
{%- endmacro %}

{% macro spark__utc_from_zoned(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro snowflake__utc_from_zoned(expression) -%}
    convert_timezone('UTC', {{ expression }})::timestamp_ntz
{%- endmacro %}

{% macro bigquery__utc_from_zoned(expression) -%}
    datetime({{ expression }}, 'UTC')
{%- endmacro %}


{#- The pattern of a timestamp's text that ends in a UTC offset: a time of
    day, then `Z` or `±hh[[:]mm]` (a date alone ends in `-dd`, which is no
    offset). -#}
{% macro _utc_offset_pattern() -%}
    {{ return(':[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$') }}
{%- endmacro %}


{% macro default__utc_timestamp(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro duckdb__utc_timestamp(expression) -%}
    {%- set text = 'trim(cast(' ~ expression ~ ' as varchar))' -%}
    case
        when regexp_matches({{ text }}, '{{ activity_schema._utc_offset_pattern() }}')
            then cast(timezone('UTC', try_cast(
                regexp_replace({{ text }}, '([+-][0-9]{2})([0-9]{2})$', '\1:\2')
                as timestamptz)) as timestamp)
        else try_cast({{ text }} as timestamp)
    end
{%- endmacro %}


{#-
    Postgres has no try_cast, and a cast of bad text fails the whole query:
    the text must first match a timestamp's shape, and its day must exist
    in its month (2024-02-30 does not), before it is cast.
-#}
{% macro postgres__utc_timestamp(expression) -%}
    {%- set text = 'trim(cast(' ~ expression ~ ' as text))' -%}
    {%- set shape = '^([0-9]{4})-([0-9]{2})-([0-9]{2})'
        ~ '([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?)?'
        ~ '(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$' -%}
    case
        when {{ text }} ~ '{{ shape }}'
            and substring({{ text }} from 6 for 2)::int between 1 and 12
            and substring({{ text }} from 9 for 2)::int between 1 and extract(
                day from date_trunc('month', make_date(
                    substring({{ text }} from 1 for 4)::int,
                    substring({{ text }} from 6 for 2)::int, 1))
                + interval '1 month - 1 day')
            then case
                when {{ text }} ~ '{{ activity_schema._utc_offset_pattern() }}'
                    then cast({{ text }} as timestamptz) at time zone 'UTC'
                else cast({{ text }} as timestamp)
            end
    end
{%- endmacro %}


{% macro spark__utc_timestamp(expression) -%}
    {%- set text = 'trim(cast(' ~ expression ~ ' as string))' -%}
    case
        when {{ text }} rlike '{{ activity_schema._utc_offset_pattern() }}'
            then to_utc_timestamp(cast({{ text }} as timestamp), 'UTC')
        else cast({{ text }} as timestamp)
    end
{%- endmacro %}


{% macro snowflake__utc_timestamp(expression) -%}
    convert_timezone('UTC', try_to_timestamp_tz(cast({{ expression }} as varchar)))::timestamp_ntz
{%- endmacro %}


{% macro bigquery__utc_timestamp(expression) -%}
    datetime(safe_cast(cast({{ expression }} as string) as timestamp), 'UTC')
{%- endmacro %}
