{#-
    stream(activities) -> the select of an entity stream: every accepted row
    of the given activity models, with `activity_occurrence` and
    `activity_repeated_at`.

    activities: a list of relations (`ref()`s) of models built with
    `activity_schema.activity`. Rows whose `_rejection_reason` is set are
    left out here and listed by `activity_schema.rejections`.

    In a full build it selects everything. In an incremental run (the model
    materialized `incremental` with `incremental_strategy='activity_stream'`)
    it selects only the changes, see `_stream_changes_sql`: rows are merged
    on (activity, activity_id), deleted source rows are deleted, and every
    (activity, entity) partition that a change touches gets its occurrence
    columns recomputed over its whole history.

    Example:
        {{ config(materialized='incremental',
                  incremental_strategy='activity_stream',
                  unique_key=['activity', 'activity_id']) }}
        {{ activity_schema.stream([ref('act_placed_order'),
                                   ref('act_made_payment')]) }}
-#}
{% macro stream(activities) -%}
    {%- if activities is string or activities | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream in model '" ~ model.name
            ~ "': argument 'activities' must be a non-empty list of"
            ~ " ref()s of activity models.") }}
    {%- endif -%}
    {#- dbt's unit tests render models without a `this` relation. -#}
    {%- if this is not none and is_incremental() -%}
        {{ activity_schema._stream_changes_sql(activities) }}
    {%- else -%}
        {{ activity_schema._stream_full_sql(activities) }}
    {%- endif -%}
{%- endmacro %}


{#- Every accepted row of the activities, as the stream's base columns. -#}
{% macro _stream_accepted_rows(activities, scope='true') -%}
    {%- set columns = activity_schema.stream_columns() -%}
    {%- for relation in activities %}
    select
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    where {{ scope }} and _rejection_reason is null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro _stream_full_sql(activities) -%}
    {%- set columns = activity_schema.stream_columns() -%}
with accepted as (
    {{ activity_schema._stream_accepted_rows(activities) }}
)

select
    {{ columns | join(',\n    ') }},
    {{ activity_schema.occurrence_columns() }}{{ activity_schema.stream_physical_columns() }}
from accepted
{%- endmacro %}


{#-
    stream_physical_columns() -> select-list SQL appended after the
    occurrence columns of the stream's rows (with its leading comma): the
    columns of the warehouse's physical design, such as the entity bucket
    that partitions the stream on Spark. Nothing by default.
-#}
{% macro stream_physical_columns() -%}
    {{ return(adapter.dispatch('stream_physical_columns', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_physical_columns() -%}
    {{ return('') }}
{%- endmacro %}
