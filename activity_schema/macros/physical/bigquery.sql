{#-
    BigQuery: partitions by `ts`, truncated to the granularity of the
    variable `activity_schema_partition_granularity` (hour, day, month or
    year; default month, the Activity Schema's guidance: a day partition
    per day of history soon nears BigQuery's limit of partitions per table
    and leaves them tiny), so the incremental run's lookback window
    `ts >= <literal>` reads the last partitions only. Clusters by
    `activity`, `activity_occurrence` and `customer`: the activity filter
    of every dataset, the first-occurrence filter, one customer's rows.
    BigQuery clusters by at most four top-level columns (no expressions),
    of types such as STRING, INT64 and TIMESTAMP: all three are.

    activity (an activity model built as a table): the same partitions,
    clustered by `customer`; one table holds one activity and activity
    models have no occurrence columns.
-#}
{% macro bigquery__physical_design(kind) -%}
    {%- set partition_by = {
        'field': 'ts',
        'data_type': 'timestamp',
        'granularity': activity_schema._partition_granularity(),
    } -%}
    {%- if kind == 'stream' -%}
        {{ return({
            'partition_by': partition_by,
            'cluster_by': ['activity', 'activity_occurrence', 'customer'],
        }) }}
    {%- else -%}
        {{ return({'partition_by': partition_by, 'cluster_by': ['customer']}) }}
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__check_physical_design(kind, design) -%}
    {%- do activity_schema._check_physical_design_count(
        kind, design, 'cluster_by', 4) -%}
{%- endmacro %}


{#- The variable `activity_schema_partition_granularity`, checked. -#}
{% macro _partition_granularity() -%}
    {%- set name = 'activity_schema_partition_granularity' -%}
    {%- set allowed = ['hour', 'day', 'month', 'year'] -%}
    {%- set value = var(name, 'month') -%}
    {%- if value is not string or value | lower not in allowed -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.physical_design in model '" ~ model.name
            ~ "': variable '" ~ name ~ "' is '" ~ value
            ~ "'; allowed values: " ~ allowed | join(', ') ~ ".") }}
    {%- endif -%}
    {{ return(value | lower) }}
{%- endmacro %}
