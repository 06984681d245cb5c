{#-
    stream(activities) -> the select of an entity stream: every accepted row
    of the given activity models, with `activity_occurrence` and
    `activity_repeated_at`.

    activities: a list of relations (`ref()`s) of models built with
    `activity_schema.activity`. Rows whose `_rejection_reason` is set are
    left out here and listed by `activity_schema.rejections`.

    Example:
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
    {%- set columns = activity_schema.stream_columns() -%}
with accepted as (
    {%- for relation in activities %}
    select
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    where _rejection_reason is null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select
    {{ columns | join(',\n    ') }},
    {{ activity_schema.occurrence_columns() }}
from accepted
{%- endmacro %}
