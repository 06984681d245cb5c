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
    stream_probe(plan, stored_rows) -> none, or {'missing': [...], 'returning': [...]},
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
{% macro stream_probe(plan, stored_rows) -%}
    {{ return(adapter.dispatch('stream_probe', 'activity_schema')(
        plan, stored_rows)) }}
{%- endmacro %}

{% macro default__stream_probe(plan, stored_rows) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__stream_probe(plan, stored_rows) -%}
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
            from {{ stored_rows }} as stored_rows
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
