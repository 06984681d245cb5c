{#-
    stream(activities) -> the select of an entity stream: every accepted row
    of the given activity models, one per (activity, activity_id), with
    `activity_occurrence` and `activity_repeated_at`, then the metadata
    columns `_loaded_at` and `_definition`.

    activities: a list of relations (`ref()`s) of models built with
    `activity_schema.activity`. Rows whose `_rejection_reason` is set, and
    rows whose `ts` lies beyond the run's clock plus
    `stream_future_tolerance_hours`, are left out here and listed by
    `activity_schema.rejections`. A key that comes in several versions keeps
    one: the latest `_loaded_at`, then the latest `ts`, then the greatest
    values (`_stream_version_order`).

    In a full build it selects everything. In an incremental run (the model
    materialized `incremental` with `incremental_strategy='activity_stream'`)
    it selects only the changes, see `_stream_changes_sql` and
    `stream_plan`: each activity is re-read through its own window and load
    cursor, rows are merged on (activity, activity_id), and every
    (activity, entity) partition that a change touches gets its occurrence
    columns recomputed over its whole history.

    Example:
        {{ config(materialized='incremental',
                  incremental_strategy='activity_stream',
                  unique_key=['activity', 'activity_id']) }}
        {{ activity_schema.stream([ref('act_placed_order'),
                                   ref('act_made_payment')]) }}
-#}
{% macro stream(activities, identity=none) -%}
    {%- if activities is string or activities | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream in model '" ~ model.name
            ~ "': argument 'activities' must be a non-empty list of"
            ~ " ref()s of activity models.") }}
    {%- endif -%}
    {%- do activity_schema._check_stream_config(identity) -%}
    {#- dbt's unit tests render models without a `this` relation. -#}
    {%- if this is not none and is_incremental() -%}
        {%- if invocation_args_dict.get('sample') is not none -%}
            {{ exceptions.raise_compiler_error(
                "activity_schema.stream in model '" ~ model.name ~ "': an"
                ~ " incremental run under --sample would compare sampled"
                ~ " sources with the whole stored stream and delete what"
                ~ " the sample left out. Build a sampled stream from scratch"
                ~ " with --sample --full-refresh, or run without --sample.")
            }}
        {%- endif -%}
        {{ activity_schema._stream_changes_sql(activities, identity) }}
    {%- else -%}
        {{ activity_schema._stream_full_sql(activities, identity) }}
    {%- endif -%}
{%- endmacro %}


{#-
    Fails, naming what to add, when the model is incremental without the
    `activity_stream` strategy or when the root project does not expose it:
    dbt looks strategies up in the root project only, and without the
    wrapper the first run would pass and the second fail.
-#}
{% macro _check_stream_config(identity) -%}
    {%- set where = "activity_schema.stream in model '" ~ model.name ~ "'" -%}
    {%- if identity and identity is mapping and 'removals' in identity
        and config.get('materialized') == 'incremental' -%}
        {%- set hooks = [] -%}
        {%- for key in ['pre-hook', 'post-hook', 'pre_hook', 'post_hook'] -%}
            {%- for hook in config.get(key) or [] -%}
                {%- do hooks.append(
                    (hook.sql if hook.sql is defined else hook) | string) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for name in ['stream_pre_hook', 'stream_post_hook'] -%}
            {%- set found = [] -%}
            {%- for hook in hooks if name in hook -%}
                {%- do found.append(hook) -%}
            {%- endfor -%}
            {%- if not found -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": a stream that declares removals keeps its"
                    ~ " removed rows in a table of their own and needs two"
                    ~ " hooks in its config (" ~ name ~ " is missing):\n\n"
                    ~ "    pre_hook=\"{{ activity_schema.stream_pre_hook() }}\",\n"
                    ~ "    post_hook=\"{{ activity_schema.stream_post_hook("
                    ~ "<the stream's identity dict>) }}\",\n") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if not execute or config.get('materialized') != 'incremental' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if config.get('incremental_strategy') != 'activity_stream' -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": an incremental stream needs"
            ~ " incremental_strategy='activity_stream' (got '"
            ~ config.get('incremental_strategy') ~ "'); another strategy"
            ~ " would append or merge without deleting rows or recomputing"
            ~ " occurrences.") }}
    {%- endif -%}
    {%- if context.get('get_incremental_activity_stream_sql') is none -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": the root project has no macro"
            ~ " get_incremental_activity_stream_sql. Add it to its macros/"
            ~ " folder:\n\n{% macro get_incremental_activity_stream_sql(arg_dict) %}\n"
            ~ "    {{ return(activity_schema.stream_upsert_sql(arg_dict)) }}\n"
            ~ "{% endmacro %}\n") }}
    {%- endif -%}
{%- endmacro %}


{#-
    The accepted rows of the activities, each cut to its plan's scope and
    the clock's horizon, with the stream's base and metadata columns (one
    branch per activity, so that each filter reaches its own sources).
-#}
{% macro _stream_accepted_rows(plan, scoped=true) -%}
    {%- set columns = activity_schema.stream_columns() -%}
    {%- for activity in plan.activities %}
    select
        {{ columns | join(',\n        ') }},
        _loaded_at,
        cast('{{ activity.fingerprint }}' as {{ dbt.type_string() }})
            as _definition,
        customer as _source_customer
    from {{ activity.relation }}
    where
        _rejection_reason is null
        and ts <= {{ activity_schema._timestamp_literal(plan.horizon) }}
        {%- if scoped and activity.scope != 'true' %}
        and {{ activity.scope }}
        {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- One row per (activity, activity_id) of `relation`: the winning version. -#}
{% macro _stream_one_version(relation, extra_columns=[]) -%}
    {%- set columns = activity_schema.stream_columns()
        + activity_schema.stream_metadata_columns() + extra_columns -%}
    select
        {{ columns | join(',\n        ') }}
    from (
        select
            *,
            row_number() over (
                partition by activity, activity_id
                order by
                    {{ activity_schema._stream_version_order() | indent(20) }}
            ) as _version_rank
        from {{ relation }}
    ) as versions
    where _version_rank = 1
{%- endmacro %}


{% macro _stream_full_sql(activities, identity) -%}
    {%- set plan = activity_schema.stream_plan(activities, false) -%}
    {%- set state = activity_schema.stream_identity(identity) -%}
    {%- set columns = activity_schema.stream_columns() -%}
    {%- set row_columns = columns
        + activity_schema.stream_metadata_columns() -%}
with accepted as (
    {{ activity_schema._stream_accepted_rows(plan) }}
),

one_version as {{ activity_schema.stream_cte_materialized() }}(
    {{ activity_schema._stream_one_version('accepted') | indent(4) }}
),

{{ activity_schema._identity_ctes(state) }}

observations as (

    select
        observed.anonymous_customer_id,
        observed.ts,
        observed.activity,
        observed.activity_id,
        coalesce(aliased.canonical_customer, observed.customer) as obs_value
    from one_version as observed
    left join identity_aliases as aliased
        on observed.customer = aliased.customer
    where
        observed.anonymous_customer_id is not null
        and observed.customer is not null

),

slices as (
    {{ activity_schema._identity_slices_sql('observations') | indent(4) }}
),

resolved as (
    {{ activity_schema._identity_resolve_sql(
        'one_version', 'slices', row_columns) | indent(4) }}
)

{#- An incremental stream writes the rows of removed customers too, in
    partitions of their own, and its post-hook moves them to its table of
    removed rows (`stream_post_hook`); any other materialization leaves
    them out. -#}
select
    {{ columns | join(',\n    ') }},
    {{ activity_schema.occurrence_columns() }},
    {{ activity_schema.stream_metadata_columns() | join(',\n    ') }}
    {{- activity_schema.stream_physical_columns() }}
from resolved
{%- if config.get('materialized') != 'incremental' %}
where not _removed
{%- endif %}
{%- endmacro %}


{#-
    stream_physical_columns() -> select-list SQL appended after the
    metadata columns of the stream's rows (with its leading comma): the
    columns of the warehouse's physical design, such as the entity bucket
    that partitions the stream on Spark. Nothing by default.
-#}
{% macro stream_physical_columns() -%}
    {{ return(adapter.dispatch('stream_physical_columns', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_physical_columns() -%}
    {{ return('') }}
{%- endmacro %}
