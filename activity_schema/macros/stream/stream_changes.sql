{#-
    The select of an incremental run of the stream: the rows to write, each
    with `_change`:
    - 'upsert': insert the row (its key's stored copies are deleted);
    - 'update': (where rows have a locator) set the occurrence columns of
      the stored row `_stream_row`, whose other values do not change;
    - 'delete': remove the stored copy of its key (by `_stream_row` where
      rows have a locator);
    - 'removed_upsert' / 'removed_delete': write or remove the key's row in
      the stream's table of removed rows (`stream_removed_relation`), where
      the stream declares removals.
    Applied by the `activity_stream` incremental strategy
    (`stream_upsert_sql`).

    1. `scoped`: each activity's accepted rows within its own scope
       (`stream_plan`: its window, its load cursor, a rebuild).
    2. `stored`: the stored rows (the stream's, and the removed rows') in
       the same scopes, plus the stored row of every key that `scoped`
       holds, wherever it lies. A stored row out of the scope whose key
       comes back in scope is a restatement that moved (across the window
       edge, or loaded late).
    3. `recovered`: a stored row in scope whose key `scoped` lacks was
       deleted from its source, or its new version moved out of the scope:
       its versions are looked up in the whole source (a join that reads the
       sources only when there is such a key). A key is deleted only when
       it is gone from the whole source.
    4. `winners`: one version per key (`_stream_version_order`), with the
       customer the source gave. A stored row that is out of scope still
       competes, as the source row it was made from (where its activity has
       load times): a version re-read through the window never beats a
       later load.
    5. Identity (`identity.sql`): the anonymous ids (`devices`) of every
       winner, of every stored row in play and of every stored row that
       the identity inputs no longer agree with (`stale`: an alias added,
       changed or gone, a customer removed) have all their stored rows
       read; their observations, new and stored, give their time slices,
       and every row of theirs, with the winners and the stale rows, is
       resolved again (`candidates` -> `resolved`).
    6. Changes: keys whose resolved row differs from the stored one in any
       column, keys stored more than once, keys with no winner (gone), and
       keys that enter or leave the removed rows.
    7. `recomputed`: every row of a touched (activity, entity) partition
       (old and new entity of every change of the stream), with the
       occurrence columns recomputed over the partition's whole history;
       only rows that differ from what the stream holds are written.

    Where the warehouse probes the keys first (`stream_probe`: DuckDB),
    the stored rows out of scope are read only for the activities that
    have a scoped key stored out of scope, and `recovered` searches only
    the activities that have a stored key in scope missing from `scoped`.

    Where the warehouse can address a stored row directly
    (`stream_row_locator`: DuckDB's `rowid`), the touched partitions are
    read narrow, the rows that keep their values are updated in place, and
    the strategy deletes by locator.

    Dispatched (`stream_changes_sql`), but every adapter uses this default.
    Spark turns these row changes into rewrites of whole entity buckets in
    `spark__stream_upsert_sql` (spark_stream.sql), so this SQL must stay
    valid Spark SQL and keep its output shape; `make test-spark` checks both.
-#}
{% macro _stream_changes_sql(activities, identity) -%}
    {%- set sql = adapter.dispatch('stream_changes_sql', 'activity_schema')(
        activities, identity) -%}
    {{ return(activity_schema.stream_changes_staged(sql)) }}
{%- endmacro %}


{#-
    stream_changes_staged(sql) -> the incremental run's select as the
    warehouse runs it. The default is `sql` itself, one statement of common
    table expressions. Spark inlines every use of a common table expression
    into the plan, and the chain of the run's expressions, each read by
    several later ones, grows a plan too large to analyse: there each
    expression is written to a parquet table of its own first
    (`<stream>__s_<name>`, read by the later ones and dropped by the
    strategy), and the select reads those tables.

    Expressions are staged only while dbt runs the model (`run`, `build`,
    `retry`): `dbt compile`, `dbt show` and `dbt docs generate` get the one
    statement, which runs on any connection and writes nothing.
-#}
{% macro stream_changes_staged(sql) -%}
    {%- if not activity_schema._stream_runs_now() -%}
        {{ return(sql) }}
    {%- endif -%}
    {{ return(adapter.dispatch('stream_changes_staged', 'activity_schema')(
        sql)) }}
{%- endmacro %}

{#-
    True while dbt executes the stream to build it (`run`, `build`,
    `retry`), false when it only renders its SQL (parsing, `compile`,
    `show`, `docs generate`, SQLFluff).
-#}
{% macro _stream_runs_now() -%}
    {{ return(execute and flags.WHICH in ['run', 'build', 'retry']) }}
{%- endmacro %}

{% macro default__stream_changes_staged(sql) -%}
    {{ return(sql) }}
{%- endmacro %}

{% macro spark__stream_changes_staged(sql) -%}
    {%- set parsed = activity_schema._stream_cte_steps(sql) -%}
    {%- set done = [] -%}
    {%- for name, body in parsed.steps -%}
        {%- set table = activity_schema._spark_stage_table(this, name) -%}
        {%- set query -%}
            {%- if done %}with {{ done | join(',\n') }}
            {% endif %}{{ body }}
        {%- endset -%}
        {%- do run_query('drop table if exists ' ~ table) -%}
        {%- do run_query('create table ' ~ table ~ ' using parquet as '
            ~ query) -%}
        {%- do done.append(name ~ ' as (select * from ' ~ table ~ ')') -%}
    {%- endfor -%}
    {{ return('with ' ~ done | join(',\n') ~ '\n' ~ parsed.final) }}
{%- endmacro %}


{#-
    On Postgres the planner estimates each common table expression from
    the ones it reads, and over the run's chain of joins (the identity
    slices, the version competition) its estimates grow by orders of
    magnitude, so that it picks full scans and merge joins of the whole
    stream. Each expression is written to a temporary table first
    (`<stream>__s_<name>`, gone with the session) and its key and identity
    columns analysed, so that every step is planned on the true row counts
    and distinct keys of the ones before.

    - The expressions are written while the model's SQL is rendered, before
      its pre-hooks run: the stream's physical design's session settings
      (`set local jit = off`) are applied first, since JIT compilation of
      these plans costs more than they run.
    - Each expression is one round trip: the temporary table, the analysis
      of whichever key columns it has (a sample of 3,000 rows is enough to
      tell a key from a repeated value) and the view of its name.
-#}
{% macro postgres__stream_changes_staged(sql) -%}
    {%- set design = activity_schema.physical_design('stream') -%}
    {%- set settings = design.get('pre_hook', []) -%}
    {%- set settings = [settings] if settings is string else settings -%}
    {%- do run_query((settings + ['set local default_statistics_target = 10'])
        | join(';\n')) -%}
    {%- set keys = ['activity', 'activity_id', 'customer',
        'anonymous_customer_id', '_source_customer'] -%}
    {%- set parsed = activity_schema._stream_cte_steps(sql) -%}
    {%- for name, body in parsed.steps -%}
        {%- set table = adapter.quote(this.identifier ~ '__s_' ~ name) -%}
        {#- Later steps read the table through a temporary view of the
            expression's own name. -#}
        {%- set batch -%}
drop view if exists {{ adapter.quote(name) }};
drop table if exists {{ table }};
create temporary table {{ table }} as {{ body }};
do $stage$
declare key_columns text;
begin
    select string_agg(quote_ident(attname), ', ' order by attnum)
    into key_columns
    from pg_attribute
    where
        attrelid = '{{ table }}'::regclass
        and attnum > 0
        and not attisdropped
        and attname in ('{{ keys | join("', '") }}');
    if key_columns is not null then
        execute 'analyze {{ table | replace("'", "''") }} ('
            || key_columns || ')';
    end if;
end
$stage$;
create temporary view {{ adapter.quote(name) }} as select * from {{ table }}
        {%- endset -%}
        {%- do run_query(batch) -%}
    {%- endfor -%}
    {{ return(parsed.final) }}
{%- endmacro %}


{#-
    The common table expressions of a select rendered by
    `stream_changes_sql`, in order: {'steps': [[name, body], ...], 'final':
    the select after them}. An expression starts on a line `<name> as (`
    (the first one `with <name> as (`, maybe `materialized`) and ends on a
    line `)` or `),`.
-#}
{% macro _stream_cte_steps(sql) -%}
    {%- set steps = [] -%}
    {%- set final = [] -%}
    {%- set current = {'name': none, 'lines': []} -%}
    {%- for line in sql.split('\n') -%}
        {%- set start = modules.re.match(
            '^(with )?([a-z_]+) as (materialized )?\\((.*)$', line) -%}
        {%- if current.name is none and start -%}
            {%- do current.update({'name': start.group(2),
                'lines': [start.group(4)]}) -%}
        {%- elif current.name is not none and line in [')', '),'] -%}
            {%- do steps.append([current.name, current.lines | join('\n')]) -%}
            {%- do current.update({'name': none}) -%}
        {%- elif current.name is not none -%}
            {%- do current.lines.append(line) -%}
        {%- elif steps and line | trim -%}
            {%- do final.append(line) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'steps': steps, 'final': final | join('\n')}) }}
{%- endmacro %}


{#- The parquet table of one staged expression of an incremental run. -#}
{% macro _spark_stage_table(stream, name) -%}
    {{ return(stream.incorporate(path={
        'identifier': stream.identifier ~ '__s_' ~ name}, type='table')) }}
{%- endmacro %}

{% macro default__stream_changes_sql(activities, identity) -%}
    {%- set plan = activity_schema.stream_plan(activities, true) -%}
    {%- set state = activity_schema.stream_identity(identity) -%}
    {%- set removed_relation = activity_schema.stream_removed_relation(this)
        if state.has_removals else none -%}
    {%- set base = activity_schema.stream_columns() -%}
    {%- set columns = base + activity_schema.stream_metadata_columns() -%}
    {%- set compared = columns | reject('in', ['activity', 'activity_id'])
        | list -%}
    {%- set payload = ['feature_json', 'revenue_impact', 'link'] -%}
    {%- set locator = activity_schema.stream_row_locator() -%}
    {#- The columns of the touched partitions' rows that the run reads:
        with a locator, the key, `ts` and the entity only. -#}
    {%- set kept_columns = ['activity_id', 'ts', 'customer',
        'anonymous_customer_id', 'activity'] if locator else columns -%}
    {%- set stored_parts = activity_schema._stream_stored_parts(
        removed_relation, locator) -%}
    {%- set stored_rows = activity_schema._stream_stored_rows(stored_parts) -%}
    {%- set probe = activity_schema.stream_probe(plan, stored_rows) -%}
    {%- set recovering = plan.activities if probe is none
        else plan.activities | selectattr('name', 'in', probe.missing)
            | list -%}
    {%- set returning = none if probe is none else probe.returning -%}
    {%- set text = dbt.type_string() -%}
with scoped as {{ activity_schema.stream_cte_materialized() }}(
    {{ activity_schema._stream_accepted_rows(plan) }}
),

scoped_keys as (

    select distinct activity, activity_id from scoped

),

{%- set by_key = returning is none or returning | length > 0 %}
stored_in_scope as {{ activity_schema.stream_cte_materialized()
    if by_key else '' }}(

    select
        in_scope.*,
        true as _in_scope
    from {{ stored_rows }} as in_scope
    where {{ plan.stored_scope | indent(4) }}

),

{%- if by_key %}

{# The scoped keys whose stored row, if any, lies out of scope. #}
returning_keys as (

    select activity, activity_id from scoped_keys
    except
    select activity, activity_id from stored_in_scope

),
{%- endif %}

stored as (

    {#- The stored rows in scope, and the stored row of every other scoped
        key: one select per stored relation, so that each finds its rows
        by its own access path (on Postgres, the stream's key index). -#}
    select * from stored_in_scope
    {%- if by_key %}
    {%- for part in stored_parts %}
    union all
    select
        by_key.*,
        false as _in_scope
    from (
        select *
        from ({{ part | indent(8) }}
        ) as out_of_scope
        where
            not {{ plan.stored_scope | indent(12) }}
            {%- if returning is not none %}
            and activity in ('{{ returning | join("', '") }}')
            {%- endif %}
    ) as by_key
    inner join returning_keys
        on
            by_key.activity = returning_keys.activity
            and by_key.activity_id = returning_keys.activity_id
    {%- endfor %}
    {%- endif %}

),

stored_keys as (

    select distinct activity, activity_id from stored

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
        {%- for column in base %}
        source_rows.{{ column }},
        {%- endfor %}
        source_rows._loaded_at,
        cast('{{ activity.fingerprint }}' as {{ text }}) as _definition,
        source_rows.customer as _source_customer
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
        false as _removed,
        customer is not null as _observation,
        false as _is_stored
    from scoped
    union all
    select
        {{ columns | join(',\n        ') }},
        false as _removed,
        customer is not null as _observation,
        false as _is_stored
    from recovered
    {#- A stored row out of scope: where its activity has load times, it
        competes on them as the source version it was made from (with the
        customer the source gave). Without load times, the version re-read
        through the window replaces it. A removed row that wins stays as it
        is stored. #}
    union all
    select
        {%- for column in columns %}
        {{ '_source_customer as customer' if column == 'customer'
            else column }},
        {%- endfor %}
        _removed,
        _observation,
        true as _is_stored
    from stored
    where not _in_scope and _loaded_at is not null

),

{%- if activity_schema.stream_groups_contested_keys() %}
{# Most keys come in one version and are stored once: only the keys
    with several are ranked (`_stream_version_order`) or flagged, found by
    a grouping of the keys rather than a window over every row. #}
flagged_versions as (
    {{ activity_schema._stream_flag_repeated_keys('versions') | indent(4) }}
),

winners as (

    select
        {{ columns | join(',\n        ') }},
        _removed,
        _observation
    from flagged_versions
    where not _key_repeated
    union all
    {{ activity_schema._stream_one_version(
        '(select * from flagged_versions where _key_repeated)'
        ~ ' as contested', ['_removed', '_observation']) | indent(4) }}

),

stored_counted as (
    {{ activity_schema._stream_flag_repeated_keys('stored') | indent(4) }}
),

{%- else %}
winners as (
    {{ activity_schema._stream_one_version(
        'versions', ['_removed', '_observation']) | indent(4) }}
),

stored_counted as (

    select
        stored.*,
        count(*) over (partition by activity, activity_id) > 1
            as _key_repeated
    from stored

),

{%- endif %}
{{ activity_schema._identity_ctes(state) }}

{{ activity_schema._stream_identity_candidates(
    stored_rows, columns, locator, state, plan.stream_rows) }}

resolved as (
    {{ activity_schema._identity_resolve_sql(
        'candidates', 'slices',
        columns + ['_from_stored', '_was_removed', '_old_customer',
                   '_observation', '_stream_row']) | indent(4) }}
),

{# A removed row that won its key's competition: kept as it is. #}
resolved_all as (

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        _from_stored,
        _was_removed,
        _old_customer,
        _observation,
        _stream_row,
        _removed
    from resolved
    union all
    select
        {%- for column in columns %}
        {{ 'cast(null as ' ~ text ~ ') as customer' if column == 'customer'
            else column }},
        {%- endfor %}
        false as _from_stored,
        true as _was_removed,
        cast(null as {{ text }}) as _old_customer,
        _observation,
        cast(null as {{ dbt.type_bigint() }}) as _stream_row,
        true as _removed
    from winners
    where _removed

),

compared as (

    {#- The new version of every key in play against its stored copies. -#}
    select
        coalesce(new_rows.activity, old_rows.activity) as activity,
        coalesce(new_rows.activity_id, old_rows.activity_id) as activity_id,
        new_rows.activity_id is not null and not new_rows._removed
            as new_in_stream,
        new_rows.activity_id is not null and new_rows._removed
            as new_in_removed,
        old_rows.activity_id is not null and not old_rows._removed
            as old_in_stream,
        old_rows.activity_id is not null and old_rows._removed
            as old_in_removed,
        coalesce(new_rows.customer, new_rows.anonymous_customer_id)
            as new_entity,
        coalesce(old_rows.customer, old_rows.anonymous_customer_id)
            as old_entity,
        coalesce(old_rows._key_repeated, false)
        {%- for column in compared %}
        or {{ activity_schema._stream_differs(
            'new_rows.' ~ column, 'old_rows.' ~ column) }}
        {%- endfor %} as differs,
        coalesce(old_rows._key_repeated, false)
        or new_rows._observation is distinct from old_rows._observation
        {%- for column in compared
            if column not in ['customer', '_source_customer'] + payload %}
        or {{ activity_schema._stream_differs(
            'new_rows.' ~ column, 'old_rows.' ~ column) }}
        {%- endfor %}
        {%- for column in payload %}
        or (
            not new_rows._observation
            and {{ activity_schema._stream_differs(
                'new_rows.' ~ column, 'old_rows.' ~ column) }}
        )
        {%- endfor %} as removed_differs
    from (select * from resolved_all where not _from_stored) as new_rows
    full outer join stored_counted as old_rows
        on
            new_rows.activity = old_rows.activity
            and new_rows.activity_id = old_rows.activity_id
    union all
    {#- Stored rows resolved again, whose other values did not change. #}
    select
        activity,
        activity_id,
        not _removed as new_in_stream,
        _removed as new_in_removed,
        not _was_removed as old_in_stream,
        _was_removed as old_in_removed,
        coalesce(customer, anonymous_customer_id) as new_entity,
        coalesce(_old_customer, anonymous_customer_id) as old_entity,
        customer is distinct from _old_customer as differs,
        false as removed_differs
    from resolved
    where _from_stored

),

stream_changes as (

    select activity, activity_id, new_in_stream, new_entity, old_entity,
        old_in_stream
    from compared
    where
        (new_in_stream and (not old_in_stream or differs))
        or (old_in_stream and not new_in_stream)

),

changes as (

    select distinct activity, activity_id, new_in_stream from stream_changes

),

removed_changes as (

    select distinct activity, activity_id, new_in_removed
    from compared
    where
        (new_in_removed and (not old_in_removed or removed_differs))
        or (old_in_removed and not new_in_removed)

),

touched as (

    select activity, new_entity as entity from stream_changes
    where new_in_stream and new_entity is not null
    union
    select activity, old_entity as entity from stream_changes
    where old_in_stream and old_entity is not null

),

{# The keys whose new row enters the stream or the removed rows. #}
entering as (

    select activity, activity_id from changes where new_in_stream
    union
    select activity, activity_id from removed_changes where new_in_removed

),

{# Every column of the rows that enter the stream or the removed rows:
    a new version's from its winner, a stored row resolved again from its
    stored copy (the stream's, or the removed row's payload). #}
written as (

    select
        {%- for column in columns %}
        resolved_all.{{ column }},
        {%- endfor %}
        resolved_all._removed,
        resolved_all._observation
    from resolved_all
    inner join entering
        on
            resolved_all.activity = entering.activity
            and resolved_all.activity_id = entering.activity_id
    where not resolved_all._from_stored
    {#- The stored rows resolved again keep their stored payload: one join
        per stored relation, so that each finds them by its own key (the
        stream's rows by their locator where there is one, a join on one
        integer instead of the two key columns). #}
    {%- for part in stored_parts %}
    union all
    select
        {%- for column in columns %}
        {%- if column == 'customer' %}
        again.customer,
        {%- else %}
        copies.{{ column }},
        {%- endif %}
        {%- endfor %}
        again._removed,
        copies._observation
    from (
        select resolved.*
        from resolved
        inner join entering
            on
                resolved.activity = entering.activity
                and resolved.activity_id = entering.activity_id
        where resolved._from_stored
    ) as again
    inner join ({{ part | indent(4) }}
    ) as copies
        on
            {%- if locator and loop.first %}
            again._stream_row = copies._stream_row
            {%- else %}
            again.activity = copies.activity
            and again.activity_id = copies.activity_id
            {%- endif %}
            and again._was_removed = copies._removed
    {%- endfor %}

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
        {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_bigint() }}) as _old_occurrence,
        cast(null as {{ dbt.type_timestamp() }}) as _old_repeated_at
        {%- if locator %},
        cast(null as {{ dbt.type_bigint() }}) as _stream_row
        {%- endif %}
    from written
    where not _removed

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

    {#- The new rows, with every column of their new version. -#}
    select
        {%- for column in base %}
        written.{{ column }},
        {%- endfor %}
        recomputed.activity_occurrence,
        recomputed.activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        written.{{ column }},
        {%- endfor %}
        'upsert' as _change,
        recomputed._stream_row,
        cast(null as boolean) as _observation
    from recomputed
    inner join written
        on
            recomputed.activity = written.activity
            and recomputed.activity_id = written.activity_id
            and not written._removed
    where recomputed._old_occurrence is null

),

updates as (

    {#- Kept rows whose occurrence columns changed: only their locator,
        key and the two new values are used. -#}
    select
        {%- for column in base %}
        {{ column if column in kept_columns else 'null' }}
            as {{ column }},
        {%- endfor %}
        activity_occurrence,
        activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        null as {{ column }},
        {%- endfor %}
        'update' as _change,
        _stream_row,
        cast(null as boolean) as _observation
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
        {{ base | join(',\n        ') }},
        activity_occurrence,
        activity_repeated_at,
        {{ activity_schema.stream_metadata_columns() | join(',\n        ') }},
        'upsert' as _change,
        cast(null as boolean) as _observation
    from recomputed
    where
        _old_occurrence is null
        or activity_occurrence != _old_occurrence
        or activity_repeated_at is distinct from _old_repeated_at

),

{%- endif %}

deletes as (

    {#- Every stored copy of a changed key in the stream: removed, and
        replaced by its upsert if it has one. -#}
    select
        {%- for column in base %}
        copies.{{ column }},
        {%- endfor %}
        copies.activity_occurrence,
        copies.activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        copies.{{ column }},
        {%- endfor %}
        'delete' as _change
        {%- if locator %},
        copies._stream_row
        {%- endif %},
        cast(null as boolean) as _observation
    from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            activity_occurrence,
            activity_repeated_at,
            _stream_row,
            _removed
        from stored
        union all
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            cast(null as {{ dbt.type_bigint() }}) as activity_occurrence,
            cast(null as {{ dbt.type_timestamp() }}) as activity_repeated_at,
            _stream_row,
            _was_removed as _removed
        from resolved
        where _from_stored
    ) as copies
    inner join changes
        on
            copies.activity = changes.activity
            and copies.activity_id = changes.activity_id
    where not copies._removed

),

removed_writes as (

    {#- The removed rows to write (no customer, and the payload only of
        rows that had no customer of their own) and the keys whose removed
        row goes. #}
    select
        {%- for column in base %}
        {%- if column == 'customer' %}
        cast(null as {{ text }}) as customer,
        {%- elif column in payload %}
        case when not _observation then {{ column }} end as {{ column }},
        {%- else %}
        {{ column }},
        {%- endif %}
        {%- endfor %}
        cast(null as {{ dbt.type_bigint() }}) as activity_occurrence,
        cast(null as {{ dbt.type_timestamp() }}) as activity_repeated_at,
        _loaded_at,
        _definition,
        cast(null as {{ text }}) as _source_customer,
        'removed_upsert' as _change
        {%- if locator %},
        cast(null as {{ dbt.type_bigint() }}) as _stream_row
        {%- endif %},
        _observation
    from written
    where _removed
    union all
    select
        {%- for column in base %}
        {{ column if column in ['activity', 'activity_id']
            else 'null' }} as {{ column }},
        {%- endfor %}
        null as activity_occurrence,
        null as activity_repeated_at,
        {%- for column in activity_schema.stream_metadata_columns() %}
        null as {{ column }},
        {%- endfor %}
        'removed_delete' as _change
        {%- if locator %},
        null as _stream_row
        {%- endif %},
        null as _observation
    from removed_changes
    where not new_in_removed

)

select * from upserts
{%- if locator %}
union all
select * from updates
{%- endif %}
union all
select * from deletes
union all
select * from removed_writes
{%- endmacro %}


{#-
    stream_removed_relation(stream) -> the table in which the stream keeps
    its removed rows (where it declares removals): `<stream>__removed`,
    beside it. One row per removed key: activity, activity_id, ts,
    anonymous_customer_id, `_observation` (whether the source row carried
    a customer), the payload (feature_json, revenue_impact, link) only of
    rows that carried none, `_loaded_at` and `_definition`. No customer id:
    the table exists so that an anonymous id shared with a removed customer
    is still sliced right, and so that removed rows can be counted.
-#}
{% macro stream_removed_relation(stream) -%}
    {{ return(stream.incorporate(path={
        'identifier': stream.identifier ~ '__removed'}, type='table')) }}
{%- endmacro %}


{#-
    The selects of the stored rows: the stream's, and the removed rows'
    (where there is a relation of them) in the stream's shape, with
    `_stream_row` (the locator, or null), `_removed` and `_observation`
    (whether the source row carried a customer).
-#}
{% macro _stream_stored_parts(removed_relation, locator) -%}
    {%- set base = activity_schema.stream_columns() -%}
    {%- set metadata = activity_schema.stream_metadata_columns() -%}
    {%- set text = dbt.type_string() -%}
    {%- set bigint = dbt.type_bigint() -%}
    {%- set stream_part -%}
        select
            {%- for column in base + metadata %}
            {{ column }},
            {%- endfor %}
            activity_occurrence,
            activity_repeated_at,
            {{ locator if locator else 'cast(null as ' ~ bigint ~ ')' }}
                as _stream_row,
            false as _removed,
            _source_customer is not null as _observation
        from {{ this }}
    {%- endset -%}
    {%- set parts = [stream_part] -%}
    {%- if removed_relation is not none -%}
        {%- set removed_part -%}
        select
            {%- for column in base + metadata %}
            {%- if column in ['customer', '_source_customer'] %}
            cast(null as {{ text }}) as {{ column }},
            {%- else %}
            {{ column }},
            {%- endif %}
            {%- endfor %}
            cast(null as {{ bigint }}) as activity_occurrence,
            cast(null as {{ dbt.type_timestamp() }}) as activity_repeated_at,
            cast(null as {{ bigint }}) as _stream_row,
            true as _removed,
            _observation
        from {{ removed_relation }}
        {%- endset -%}
        {%- do parts.append(removed_part) -%}
    {%- endif -%}
    {{ return(parts) }}
{%- endmacro %}


{#- A subquery of the stored rows: `_stream_stored_parts`, as one union. -#}
{% macro _stream_stored_rows(parts) -%}
    {{ return('(\n' ~ parts | join('\n        union all\n') ~ '\n    )') }}
{%- endmacro %}
