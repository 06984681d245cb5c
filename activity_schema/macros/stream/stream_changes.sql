{#-
    The select of an incremental run of the stream: the rows to write, each
    with `_change` = 'upsert' (insert or replace the row of its key) or
    'delete' (remove the stored row of its key). Applied by the
    `activity_stream` incremental strategy (`stream_upsert_sql`).

    1. `scoped`: each activity's accepted rows within its own scope
       (`stream_plan`: its window, its load cursor, a rebuild).
    2. `stored`: the stream's rows within the same scopes, plus the stored
       row of every key that `scoped` holds, wherever it lies. A stored row
       out of the scope whose key comes back in scope is a restatement that
       moved (across the window edge, or loaded late).
    3. `recovered`: a stored row in scope whose key `scoped` lacks was
       deleted from its source, or its new version moved out of the scope:
       its versions are looked up in the whole source (a join that reads the
       sources only when there is such a key). A key is deleted only when
       it is gone from the whole source.
    4. `winners`: one version per key (`_stream_version_order`). A stored
       row that is out of scope still competes, as the source row it was
       made from (where its activity has load times): a version re-read
       through the window never beats a later load.
    5. `changes`: keys whose winner differs from the stored row in any
       column, keys stored more than once, and keys with no winner (gone).
    6. `recomputed`: every row of a touched (activity, entity) partition
       (old and new entity of every change), with the occurrence columns
       recomputed over the partition's whole history; only rows that differ
       from what the stream holds are written.

    Where the warehouse probes the keys first (`stream_probe`: DuckDB),
    the stored rows out of scope are read only for the activities that
    have a scoped key stored out of scope, and `recovered` searches only
    the activities that have a stored key in scope missing from `scoped`:
    the others have nothing to find, and are not read in full to find
    nothing.

    Where the warehouse can address a stored row directly
    (`stream_row_locator`: DuckDB's `rowid`), every output row carries
    `_stream_row`, the locator of the stored row it replaces or removes
    (null for a row with no stored version), and the strategy deletes by
    locator instead of joining the whole stream on the key a second time.

    Dispatched (`stream_changes_sql`), but every adapter uses this default.
    Spark turns these row changes into rewrites of whole entity buckets in
    `spark__stream_upsert_sql` (spark_stream.sql), so this SQL must stay
    valid Spark SQL and keep its output shape; `make test-spark` checks both.
-#}
{% macro _stream_changes_sql(activities) -%}
    {{ return(adapter.dispatch('stream_changes_sql', 'activity_schema')(activities)) }}
{%- endmacro %}

{% macro default__stream_changes_sql(activities) -%}
    {%- set plan = activity_schema.stream_plan(activities, true) -%}
    {%- set columns = activity_schema.stream_columns()
        + activity_schema.stream_metadata_columns() -%}
    {%- set compared = columns | reject('in', ['activity', 'activity_id'])
        | list -%}
    {%- set locator = activity_schema.stream_row_locator() -%}
    {#- The columns of the touched partitions' rows that the run reads:
        with a locator, the key, `ts` and the entity only. -#}
    {%- set kept_columns = ['activity_id', 'ts', 'customer',
        'anonymous_customer_id', 'activity'] if locator else columns -%}
    {%- set probe = activity_schema.stream_probe(plan) -%}
    {%- set recovering = plan.activities if probe is none
        else plan.activities | selectattr('name', 'in', probe.missing)
            | list -%}
    {%- set returning = none if probe is none else probe.returning -%}
with scoped as {{ activity_schema.stream_cte_materialized() }}(
    {{ activity_schema._stream_accepted_rows(plan) }}
),

scoped_keys as (

    select distinct activity, activity_id from scoped

),

stored as (

    {#- The stream's rows in scope, and the stored row of every scoped key
        (two selects, so that each can use its own access path). -#}
    select
        {%- for column in columns %}
        in_scope.{{ column }},
        {%- endfor %}
        in_scope.activity_occurrence,
        in_scope.activity_repeated_at,
        {%- if locator %}
        in_scope.{{ locator }} as _stream_row,
        {%- endif %}
        true as _in_scope
    from {{ this }} as in_scope
    where {{ plan.stored_scope | indent(4) }}
    {%- if returning is none or returning | length > 0 %}
    union all
    select
        {%- for column in columns %}
        by_key.{{ column }},
        {%- endfor %}
        by_key.activity_occurrence,
        by_key.activity_repeated_at,
        {%- if locator %}
        by_key._stream_row,
        {%- endif %}
        false as _in_scope
    from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {%- if locator %}
            {{ locator }} as _stream_row,
            {%- endif %}
            activity_occurrence,
            activity_repeated_at
        from {{ this }}
        where
            not {{ plan.stored_scope | indent(12) }}
            {%- if returning is not none %}
            and activity in ('{{ returning | join("', '") }}')
            {%- endif %}
    ) as by_key
    inner join scoped_keys
        on
            by_key.activity = scoped_keys.activity
            and by_key.activity_id = scoped_keys.activity_id
    {%- endif %}

),

missing as (

    select distinct stored.activity, stored.activity_id
    from stored
    left join scoped_keys
        on
            stored.activity = scoped_keys.activity
            and stored.activity_id = scoped_keys.activity_id
    where stored._in_scope and scoped_keys.activity_id is null

),

recovered as (
    {%- if recovering | length == 0 %}
    select
        {{ columns | join(',\n        ') }}
    from scoped
    where 1 = 0
    {%- endif %}
    {%- for activity in recovering %}
    select
        {%- for column in activity_schema.stream_columns() %}
        source_rows.{{ column }},
        {%- endfor %}
        source_rows._loaded_at,
        cast('{{ activity.fingerprint }}' as {{ dbt.type_string() }})
            as _definition
    from {{ activity.relation }} as source_rows
    inner join missing
        on
            source_rows.activity_id = missing.activity_id
            and missing.activity = '{{ activity.name }}'
    where
        source_rows._rejection_reason is null
        and source_rows.ts
        <= {{ activity_schema._timestamp_literal(plan.horizon) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

versions as (

    select
        {{ columns | join(',\n        ') }},
        false as _is_stored
    from scoped
    union all
    select
        {{ columns | join(',\n        ') }},
        false as _is_stored
    from recovered
    {#- A stored row out of scope: where its activity has load times, it
        competes on them as the source version it was made from. Without
        load times, the version re-read through the window replaces it. #}
    union all
    select
        {{ columns | join(',\n        ') }},
        true as _is_stored
    from stored
    where not _in_scope and _loaded_at is not null

),

{%- if activity_schema.stream_groups_contested_keys() %}
{#- Most keys come in one version and are stored once: only the keys
    with several are ranked (`_stream_version_order`) or flagged, found by
    a grouping of the keys rather than a window over every row. -#}
flagged_versions as (
    {{ activity_schema._stream_flag_repeated_keys('versions') | indent(4) }}
),

winners as (

    select
        {{ columns | join(',\n        ') }}
    from flagged_versions
    where not _key_repeated
    union all
    {{ activity_schema._stream_one_version(
        '(select * from flagged_versions where _key_repeated)'
        ~ ' as contested') | indent(4) }}

),

stored_counted as (
    {{ activity_schema._stream_flag_repeated_keys('stored') | indent(4) }}
),

{%- else %}
winners as (
    {{ activity_schema._stream_one_version('versions') | indent(4) }}
),

stored_counted as (

    select
        stored.*,
        count(*) over (partition by activity, activity_id) > 1
            as _key_repeated
    from stored

),

{%- endif %}
compared as (

    select
        coalesce(winners.activity, stored_counted.activity) as activity,
        coalesce(winners.activity_id, stored_counted.activity_id)
            as activity_id,
        winners.activity_id is null as is_deleted,
        coalesce(winners.customer, winners.anonymous_customer_id)
            as new_entity,
        coalesce(stored_counted.customer, stored_counted.anonymous_customer_id)
            as old_entity,
        stored_counted.activity_id is null
        or stored_counted._key_repeated
        {%- for column in compared %}
        or {{ activity_schema._stream_differs(
            'winners.' ~ column, 'stored_counted.' ~ column) }}
        {%- endfor %} as is_changed
    from winners
    full outer join stored_counted
        on
            winners.activity = stored_counted.activity
            and winners.activity_id = stored_counted.activity_id

),

changes as (

    select distinct activity, activity_id, is_deleted
    from compared
    where is_deleted or is_changed

),

touched as (

    select activity, new_entity as entity from compared
    where (is_deleted or is_changed) and new_entity is not null
    union
    select activity, old_entity as entity from compared
    where (is_deleted or is_changed) and old_entity is not null

),

kept as (

    {#- The unchanged rows of every touched partition. Where rows have a
        locator, only the columns the occurrence columns need are read:
        such rows are updated in place (`_change` = 'update'). -#}
    select
        {%- for column in kept_columns %}
        current_rows.{{ column }},
        {%- endfor %}
        current_rows.activity_occurrence as _old_occurrence,
        current_rows.activity_repeated_at as _old_repeated_at
        {%- if locator %},
        current_rows.{{ locator }} as _stream_row
        {%- endif %}
    from {{ this }} as current_rows
    inner join touched
        on
            current_rows.activity = touched.activity
            and coalesce(
                current_rows.customer, current_rows.anonymous_customer_id
            ) = touched.entity
    left join changes
        on
            current_rows.activity = changes.activity
            and current_rows.activity_id = changes.activity_id
    where changes.activity_id is null

),

fresh as (

    select
        {%- for column in kept_columns %}
        winners.{{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_bigint() }}) as _old_occurrence,
        cast(null as {{ dbt.type_timestamp() }}) as _old_repeated_at
        {%- if locator %},
        cast(null as {{ dbt.type_bigint() }}) as _stream_row
        {%- endif %}
    from winners
    inner join changes
        on
            winners.activity = changes.activity
            and winners.activity_id = changes.activity_id
    where not changes.is_deleted

),

recomputed as (

    select
        *,
        {{ activity_schema.occurrence_columns() | indent(8) }}
    from (
        select * from kept
        union all
        select * from fresh
    ) as partition_rows

),

{%- if locator %}

upserts as (

    {#- The new rows, with every column of their winning version. -#}
    select
        {%- for column in activity_schema.stream_columns() %}
        winners.{{ column }},
        {%- endfor %}
        recomputed.activity_occurrence,
        recomputed.activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        winners.{{ column }},
        {%- endfor %}
        'upsert' as _change,
        recomputed._stream_row
    from recomputed
    inner join winners
        on
            recomputed.activity = winners.activity
            and recomputed.activity_id = winners.activity_id
    where recomputed._old_occurrence is null

),

updates as (

    {#- Kept rows whose occurrence columns changed: only their locator,
        key and the two new values are used. -#}
    select
        {%- for column in activity_schema.stream_columns() %}
        {{ column if column in kept_columns else 'null' }}
            as {{ column }},
        {%- endfor %}
        activity_occurrence,
        activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        null as {{ column }},
        {%- endfor %}
        'update' as _change,
        _stream_row
    from recomputed
    where
        _old_occurrence is not null
        and (
            activity_occurrence != _old_occurrence
            or activity_repeated_at is distinct from _old_repeated_at
        )

),

{%- else %}

upserts as (

    select
        {{ activity_schema.stream_columns() | join(',\n        ') }},
        activity_occurrence,
        activity_repeated_at,
        {{ activity_schema.stream_metadata_columns() | join(',\n        ') }},
        'upsert' as _change
    from recomputed
    where
        _old_occurrence is null
        or activity_occurrence != _old_occurrence
        or activity_repeated_at is distinct from _old_repeated_at

),

{%- endif %}

deletes as (

    {#- Every stored copy of a changed key: removed, and replaced by its
        upsert if it has one. -#}
    select
        {%- for column in activity_schema.stream_columns() %}
        stored.{{ column }},
        {%- endfor %}
        stored.activity_occurrence,
        stored.activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        stored.{{ column }},
        {%- endfor %}
        'delete' as _change
        {%- if locator %},
        stored._stream_row
        {%- endif %}
    from stored
    inner join changes
        on
            stored.activity = changes.activity
            and stored.activity_id = changes.activity_id

)

select * from upserts
{%- if locator %}
union all
select * from updates
{%- endif %}
union all
select * from deletes
{%- endmacro %}


{#-
    SQL that is true when two values differ, nulls included. JSON values
    are compared as text (Postgres' json has no equality).
-#}
{% macro _stream_differs(left, right) -%}
    {%- if left.endswith('.feature_json') -%}
        {{ 'cast(' ~ left ~ ' as ' ~ dbt.type_string() ~ ') is distinct from cast('
            ~ right ~ ' as ' ~ dbt.type_string() ~ ')' }}
    {%- else -%}
        {{ left ~ ' is distinct from ' ~ right }}
    {%- endif -%}
{%- endmacro %}


{#-
    stream_row_locator() -> the name of a column that addresses a stored row
    of the stream for as long as the table is not written (DuckDB:
    `rowid`), or none. With one, every row an incremental run writes or
    removes carries the locator of the stored row it replaces
    (`default__stream_changes_sql`), and the strategy deletes by locator
    (`duckdb__stream_upsert_sql`). None by default: the strategy deletes by
    (activity, activity_id).
-#}
{% macro stream_row_locator() -%}
    {{ return(adapter.dispatch('stream_row_locator', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_row_locator() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__stream_row_locator() -%}
    {{ return('rowid') }}
{%- endmacro %}


{#-
    The rows of `relation` with `_key_repeated`: true on the rows whose
    (activity, activity_id) occurs more than once in it.
-#}
{% macro _stream_flag_repeated_keys(relation) -%}
    select
        flagged.*,
        repeated.activity_id is not null as _key_repeated
    from {{ relation }} as flagged
    left join (
        select activity, activity_id
        from {{ relation }}
        group by activity, activity_id
        having count(*) > 1
    ) as repeated
        on
            flagged.activity = repeated.activity
            and flagged.activity_id = repeated.activity_id
{%- endmacro %}


{#-
    stream_probe(plan) -> none, or {'missing': [...], 'returning': [...]},
    the names of the activities that have
    - missing: a stored key in scope that the run's scoped rows lack (a
      key deleted from its source, or whose new version left the scope):
      only these are searched for in their whole source (`recovered`);
    - returning: a scoped key whose stored row lies out of scope (a
      restatement that moved into the scope, or a late load of an old
      row): only these have their stored rows out of scope read.

    None by default: the run's select does both for every activity (joins
    that find nothing when there is nothing to find). DuckDB probes first,
    with one query of the scoped keys against the stream's keys: the
    select's joins would otherwise compute each source view in full (a
    staging `distinct` over the whole source) and read every column of
    the whole stream to find nothing. The probe runs in the model's own
    transaction, so the run's select sees the same snapshot of the sources
    and of the stream.
-#}
{% macro stream_probe(plan) -%}
    {{ return(adapter.dispatch('stream_probe', 'activity_schema')(plan)) }}
{%- endmacro %}

{% macro default__stream_probe(plan) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__stream_probe(plan) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        with scoped_keys as (
            select activity, activity_id
            from (
                {{ activity_schema._stream_accepted_rows(plan) | indent(16) }}
            ) as accepted
        ),

        stored as (
            select
                activity,
                activity_id,
                coalesce({{ plan.stored_scope }}, false) as in_scope
            from {{ this }}
        )

        select
            stored.activity,
            bool_or(stored.in_scope and scoped_keys.activity_id is null)
                as has_missing,
            bool_or(not stored.in_scope and scoped_keys.activity_id is not null)
                as has_returning
        from stored
        left join scoped_keys
            on
                stored.activity = scoped_keys.activity
                and stored.activity_id = scoped_keys.activity_id
        group by stored.activity
    {%- endset -%}
    {%- set found = {'missing': [], 'returning': []} -%}
    {%- for row in run_query(query) -%}
        {%- if row[1] -%}
            {%- do found.missing.append(row[0]) -%}
        {%- endif -%}
        {%- if row[2] -%}
            {%- do found.returning.append(row[0]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}


{#-
    stream_cte_materialized() -> 'materialized ' where the warehouse
    inlines a common table expression into each of its uses unless told
    otherwise and the incremental run's select should read its sources
    once (DuckDB), else ''.
-#}
{% macro stream_cte_materialized() -%}
    {{ return(adapter.dispatch(
        'stream_cte_materialized', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_cte_materialized() -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__stream_cte_materialized() -%}
    {{ return('materialized ') }}
{%- endmacro %}


{#-
    stream_groups_contested_keys() -> true where an incremental run should
    find the keys with several versions or stored copies by grouping the
    keys (DuckDB, Postgres: cheaper than a window over every row), false
    where it ranks every row with a window (Spark, which inlines each use
    of a common table expression and would compute the versions three
    times).
-#}
{% macro stream_groups_contested_keys() -%}
    {{ return(adapter.dispatch(
        'stream_groups_contested_keys', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_groups_contested_keys() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__stream_groups_contested_keys() -%}
    {{ return(false) }}
{%- endmacro %}
