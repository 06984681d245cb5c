{#-
    The stream on Spark (plain parquet tables: no row-level delete or merge).

    The stream is partitioned by a bucket of its entity,

        _entity_bucket = pmod(hash(coalesce(customer, anonymous_customer_id)), N)

    with N = the variable `stream_entity_buckets` (default 16), so every
    (activity, entity) partition of the occurrence columns lies inside one
    bucket. An incremental run rewrites whole buckets:

    - `spark__stream_changes_sql` selects ALL the final rows of every bucket
      that a change touches (the bucket's unchanged rows, the new versions,
      minus the deleted rows; occurrence columns recomputed), marked
      `_change = 'upsert'`, plus one `_change = 'touch'` row per touched
      bucket (every other column null), so that the strategy also knows the
      buckets that end up empty;
    - `spark__stream_upsert_sql` stages them in a parquet table, drops the
      partitions of touched buckets left empty (an overwrite cannot reach
      them: it writes no row there) and overwrites the others with a dynamic
      partition overwrite (`spark.sql.sources.partitionOverwriteMode =
      dynamic`).

    The bucket count is recorded in the table's properties
    (`activity_schema.entity_buckets`); an incremental run with another count
    fails and asks for a --full-refresh.
-#}

{#- The number of entity buckets (the stream's partitions on Spark). -#}
{% macro stream_entity_buckets() -%}
    {%- set buckets = var('stream_entity_buckets', 16) -%}
    {%- if buckets is not number or buckets is sameas true
        or buckets is sameas false or buckets != buckets | int
        or buckets < 1 -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream: variable 'stream_entity_buckets' must be"
            ~ " a whole number >= 1, got '" ~ buckets ~ "'.") }}
    {%- endif -%}
    {{ return(buckets | int) }}
{%- endmacro %}


{#- SQL of the bucket of an entity expression. -#}
{% macro stream_entity_bucket(entity) -%}
    {{- 'pmod(hash(' ~ entity ~ '), ' ~ activity_schema.stream_entity_buckets()
        ~ ')' -}}
{%- endmacro %}


{% macro spark__stream_physical_columns() -%}
    {{ return(',\n    ' ~ activity_schema.stream_entity_bucket(
        'coalesce(customer, anonymous_customer_id)') ~ ' as _entity_bucket') }}
{%- endmacro %}


{#- Fails when the stream was built with another bucket count. -#}
{% macro _spark_check_stream_buckets() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set wanted = activity_schema.stream_entity_buckets() | string -%}
    {%- set found = none -%}
    {%- for row in run_query('show tblproperties ' ~ this) -%}
        {%- if row[0] == 'activity_schema.entity_buckets' -%}
            {%- set found = row[1] | string -%}
            {%- if found != wanted -%}
                {{ exceptions.raise_compiler_error(
                    "activity_schema.stream in model '" ~ model.name ~ "': "
                    ~ this ~ " is partitioned into " ~ found ~ " entity"
                    ~ " buckets, but variable 'stream_entity_buckets' is "
                    ~ wanted ~ "; rebuild it with --full-refresh.") }}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set columns = adapter.get_columns_in_relation(this)
        | map(attribute='name') | map('lower') | list -%}
    {%- if '_entity_bucket' not in columns -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream in model '" ~ model.name ~ "': " ~ this
            ~ " has no _entity_bucket column (built before the Spark physical"
            ~ " design); rebuild it with --full-refresh.") }}
    {%- endif -%}
{%- endmacro %}


{% macro spark__stream_changes_sql(activities) -%}
    {%- set columns = activity_schema.stream_columns() -%}
    {%- set scope = activity_schema.stream_scope(activities) -%}
    {%- set compared = columns | reject('in', ['activity', 'activity_id'])
        | list -%}
    {%- do activity_schema._spark_check_stream_buckets() -%}
with source_rows as (
    {{ activity_schema._stream_accepted_rows(activities, scope) }}
),

stream_rows as (

    select
        {{ columns | join(',\n        ') }}
    from {{ this }}
    where {{ scope }}

),

compared as (

    select
        coalesce(source_rows.activity, stream_rows.activity) as activity,
        coalesce(source_rows.activity_id, stream_rows.activity_id)
            as activity_id,
        source_rows.activity_id is null as is_deleted,
        coalesce(source_rows.customer, source_rows.anonymous_customer_id)
            as new_entity,
        coalesce(stream_rows.customer, stream_rows.anonymous_customer_id)
            as old_entity,
        stream_rows.activity_id is null
        {%- for column in compared %}
        or source_rows.{{ column }} is distinct from stream_rows.{{ column }}
        {%- endfor %} as is_changed
    from source_rows
    full outer join stream_rows
        on
            source_rows.activity = stream_rows.activity
            and source_rows.activity_id = stream_rows.activity_id

),

changes as (

    select * from compared
    where is_deleted or is_changed

),

touched as (

    select {{ activity_schema.stream_entity_bucket('new_entity') }}
        as _entity_bucket
    from changes
    where new_entity is not null
    union
    select {{ activity_schema.stream_entity_bucket('old_entity') }}
        as _entity_bucket
    from changes
    where old_entity is not null

),

kept as (

    select
        {%- for column in columns %}
        current_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as current_rows
    left semi join touched
        on current_rows._entity_bucket = touched._entity_bucket
    left anti join changes
        on
            current_rows.activity = changes.activity
            and current_rows.activity_id = changes.activity_id

),

fresh as (

    select
        {%- for column in columns %}
        source_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source_rows
    left semi join changes
        on
            source_rows.activity = changes.activity
            and source_rows.activity_id = changes.activity_id
            and not changes.is_deleted

),

recomputed as (

    select
        *,
        {{ activity_schema.occurrence_columns() | indent(8) }}
    from (
        select * from kept
        union all
        select * from fresh
    ) as bucket_rows

)

select
    {{ columns | join(',\n    ') }},
    activity_occurrence,
    activity_repeated_at,
    {{ activity_schema.stream_entity_bucket(
        'coalesce(customer, anonymous_customer_id)') }} as _entity_bucket,
    'upsert' as _change
from recomputed
union all
select
    {%- for column in columns %}
    null as {{ column }},
    {%- endfor %}
    null as activity_occurrence,
    null as activity_repeated_at,
    _entity_bucket,
    'touch' as _change
from touched
{%- endmacro %}


{#-
    The `activity_stream` strategy on Spark. The changes (a temporary view
    that reads the sources and the stream) are written once into a parquet
    stage table next to the stream, then:
    1. the partitions of touched buckets left without rows are dropped (an
       overwrite writes no row there, so it cannot empty them);
    2. the partitions of the other touched buckets are overwritten with
       their final rows (dynamic partition overwrite: only the partitions
       that receive rows are replaced);
    3. the stage is dropped (the last statement, dbt's `main`).
    Steps 1 and 2 run while dbt renders the strategy, before step 3. A run
    that fails leaves the stage behind; the next run replaces it.
-#}
{% macro spark__stream_upsert_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set changes = arg_dict['temp_relation'] -%}
    {%- set stage = target.incorporate(path={
        'identifier': target.identifier ~ '__activity_stream_stage'}) -%}
    {%- set columns = adapter.get_columns_in_relation(target)
        | map(attribute='name') | list -%}
    {%- if '_entity_bucket' not in columns | map('lower') | list -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream_upsert_sql: " ~ target ~ " has no"
            ~ " _entity_bucket partition column; rebuild it with"
            ~ " --full-refresh.") }}
    {%- endif -%}
    {%- if execute -%}
        {%- do run_query('drop table if exists ' ~ stage) -%}
        {%- do run_query('create table ' ~ stage ~ ' using parquet as select'
            ~ ' * from ' ~ changes) -%}
        {%- set emptied -%}
            select distinct touched._entity_bucket
            from {{ stage }} as touched
            left anti join {{ stage }} as kept
                on
                    kept._change = 'upsert'
                    and kept._entity_bucket = touched._entity_bucket
            where touched._change = 'touch'
        {%- endset -%}
        {%- for row in run_query(emptied) -%}
            {%- do run_query('alter table ' ~ target
                ~ ' drop if exists partition (_entity_bucket = '
                ~ row[0] | int ~ ')') -%}
        {%- endfor -%}
        {%- do run_query(
            'set spark.sql.sources.partitionOverwriteMode = dynamic') -%}
        {%- set overwrite -%}
            insert overwrite table {{ target }} partition (_entity_bucket)
            select {{ columns | join(', ') }}
            from {{ stage }}
            where _change = 'upsert'
        {%- endset -%}
        {%- do run_query(overwrite) -%}
    {%- endif -%}
drop table if exists {{ stage }}
{%- endmacro %}


{#- The stream's latest ts as text: pyspark would shift a timestamp into the
    Python process's local time zone. -#}
{% macro spark__stream_high_water_mark_sql() -%}
    {{ return('select cast(max(ts) as string) from ' ~ this) }}
{%- endmacro %}
