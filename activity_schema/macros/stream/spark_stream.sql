{#-
    The stream on Spark (plain parquet tables: no row-level delete or merge).

    The stream is partitioned by a bucket of its entity,

        _entity_bucket = pmod(hash(coalesce(customer, anonymous_customer_id)), N)

    with N = the variable `stream_entity_buckets` (default 16), so every
    (activity, entity) partition of the occurrence columns lies inside one
    bucket. An incremental run finds its changes as on every warehouse
    (`default__stream_changes_sql`: rows to upsert or delete by (activity,
    activity_id)), then rewrites the whole buckets they touch, see
    `spark__stream_upsert_sql`.

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


{#- Fails when the stream was built with another bucket count, or before
    it had entity buckets. -#}
{% macro _spark_check_stream_buckets(relation) -%}
    {%- set where = "activity_schema.stream in model '" ~ model.name ~ "': "
        ~ relation -%}
    {%- set wanted = activity_schema.stream_entity_buckets() | string -%}
    {%- for row in run_query('show tblproperties ' ~ relation) -%}
        {%- if row[0] == 'activity_schema.entity_buckets'
            and row[1] | string != wanted -%}
            {{ exceptions.raise_compiler_error(
                where ~ " is partitioned into " ~ row[1] ~ " entity"
                ~ " buckets, but variable 'stream_entity_buckets' is "
                ~ wanted ~ "; rebuild it with --full-refresh.") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set columns = adapter.get_columns_in_relation(relation)
        | map(attribute='name') | map('lower') | list -%}
    {%- if '_entity_bucket' not in columns -%}
        {{ exceptions.raise_compiler_error(
            where ~ " has no _entity_bucket column (built before the Spark"
            ~ " physical design); rebuild it with --full-refresh.") }}
    {%- endif -%}
{%- endmacro %}


{#-
    The `activity_stream` strategy on Spark. `changes` (dbt's temporary view
    of the model's incremental select) holds the rows to upsert or delete by
    (activity, activity_id), as on every warehouse. A parquet table cannot
    delete or replace rows, so the strategy rewrites whole buckets:
    1. the changes are written into a parquet table next to the stream
       (they are read three times below; a table, not a cached view, so
       that Spark does not plan their long lineage again each time);
    2. a parquet stage table next to the stream gets the final rows of every
       bucket that a change touches (the bucket of the key's current row and
       that of its new version): the bucket's current rows whose key has no
       change, plus the upserted rows; and one `_change = 'touch'` row per
       touched bucket (every other column null), so that the buckets that
       end up empty are known too. It must be a table: an overwrite cannot
       read the table it overwrites;
    3. the partitions of touched buckets left without rows are dropped (an
       overwrite writes no row there, so it cannot empty them);
    4. the partitions of the other touched buckets are overwritten with
       their final rows (dynamic partition overwrite: only the partitions
       that receive rows are replaced);
    5. the stages are dropped (the stage of the rows last, as dbt's `main`).
    Steps 1 to 4 run while dbt renders the strategy. A run that fails leaves
    the stages behind; the next run replaces them.
-#}
{% macro spark__stream_upsert_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set changes = arg_dict['temp_relation'] -%}
    {%- set stage = target.incorporate(path={
        'identifier': target.identifier ~ '__activity_stream_stage'}) -%}
    {%- set staged_changes = target.incorporate(path={
        'identifier': target.identifier ~ '__activity_stream_changes'}) -%}
    {%- if execute -%}
        {%- do activity_schema._spark_check_stream_buckets(target) -%}
        {%- set columns = adapter.get_columns_in_relation(target)
            | map(attribute='name') | list -%}
        {%- set row_columns = columns | reject('equalto', '_entity_bucket')
            | list -%}
        {%- set bucket = activity_schema.stream_entity_bucket(
            'coalesce(customer, anonymous_customer_id)') -%}
        {%- set bucket_rows -%}
            with touched as (
                select {{ bucket }} as _entity_bucket
                from {{ staged_changes }}
                where _change = 'upsert'
                union
                select current_rows._entity_bucket
                from {{ target }} as current_rows
                left semi join {{ staged_changes }} as changes
                    on
                        current_rows.activity = changes.activity
                        and current_rows.activity_id = changes.activity_id
            )

            select
                {%- for column in row_columns %}
                current_rows.{{ column }},
                {%- endfor %}
                current_rows._entity_bucket,
                'upsert' as _change
            from {{ target }} as current_rows
            left semi join touched
                on current_rows._entity_bucket = touched._entity_bucket
            left anti join {{ staged_changes }} as changes
                on
                    current_rows.activity = changes.activity
                    and current_rows.activity_id = changes.activity_id
            union all
            select
                {{ row_columns | join(', ') }},
                {{ bucket }} as _entity_bucket,
                'upsert' as _change
            from {{ staged_changes }}
            where _change = 'upsert'
            union all
            select
                {%- for column in row_columns %}
                null as {{ column }},
                {%- endfor %}
                _entity_bucket,
                'touch' as _change
            from touched
        {%- endset -%}
        {%- for table, query in [
            (staged_changes, 'select * from ' ~ changes),
            (stage, bucket_rows)] -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using parquet as '
                ~ query) -%}
        {%- endfor -%}
        {#- The removed rows first: their changes are read from the staged
            copy, before the stream is rewritten. -#}
        {%- do activity_schema._spark_write_removed(target, staged_changes) -%}
        {%- do run_query('drop table if exists ' ~ staged_changes) -%}
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
        {#- The staged expressions of the run's select (see
            `spark__stream_changes_staged`). -#}
        {%- for row in run_query('show tables in ' ~ target.schema ~ " like '"
            ~ target.identifier ~ "__s_*'") -%}
            {%- do run_query('drop table if exists ' ~ target.schema ~ '.'
                ~ row[1]) -%}
        {%- endfor -%}
    {%- endif -%}
drop table if exists {{ stage }}
{%- endmacro %}


{#-
    Applies an incremental run's removed-row changes on Spark: the table of
    removed rows (small) is rewritten whole, through a stage table (an
    overwrite cannot read the table it overwrites).
-#}
{% macro _spark_write_removed(target, changes) -%}
    {%- set count -%}
        select count(*) from {{ changes }}
        where _change in ('removed_upsert', 'removed_delete')
    {%- endset -%}
    {%- if run_query(count).columns[0].values()[0] | int == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set removed = activity_schema.stream_removed_relation(target) -%}
    {%- do activity_schema._stream_create_removed(removed, target) -%}
    {%- set columns = activity_schema.stream_removed_columns() -%}
    {%- set rows -%}
        select {{ columns | join(', ') }}
        from {{ changes }}
        where _change = 'removed_upsert'
    {%- endset -%}
    {%- set keys -%}
        select activity, activity_id from {{ changes }}
        where _change in ('removed_upsert', 'removed_delete')
    {%- endset -%}
    {%- do activity_schema._spark_rewrite_removed(removed, keys, rows) -%}
{%- endmacro %}


{#-
    Rewrites the table of removed rows on Spark, through a stage table (an
    overwrite cannot read the table it overwrites): its rows whose key is
    not among `keys` (a select of activity, activity_id), plus `rows` (a
    select of the removed-row columns).
-#}
{% macro _spark_rewrite_removed(removed, keys, rows) -%}
    {%- set columns = activity_schema.stream_removed_columns() -%}
    {%- set staged = removed.incorporate(path={
        'identifier': removed.identifier ~ '__stage'}) -%}
    {%- set kept -%}
        select {{ columns | join(', ') }}
        from {{ removed }} as current_rows
        left anti join ({{ keys }}) as replaced
            on
                current_rows.activity = replaced.activity
                and current_rows.activity_id = replaced.activity_id
        union all
        {{ rows }}
    {%- endset -%}
    {%- do run_query('drop table if exists ' ~ staged) -%}
    {%- do run_query('create table ' ~ staged ~ ' using parquet as ' ~ kept) -%}
    {%- do run_query('insert overwrite table ' ~ removed ~ ' select '
        ~ columns | join(', ') ~ ' from ' ~ staged) -%}
    {%- do run_query('drop table if exists ' ~ staged) -%}
{%- endmacro %}


{#-
    Spark: moves the stream's rows of removed customers to the table of
    removed rows (the post-hook of a full build), rewriting the entity
    buckets that held them.
-#}
{% macro spark__stream_move_removed(stream, removed, customers) -%}
    {%- set columns = activity_schema.stream_removed_columns() -%}
    {%- set listed = activity_schema._stream_string_list(customers) -%}
    {%- set found -%}
        select count(*) from {{ stream }} where customer in {{ listed }}
    {%- endset -%}
    {%- if run_query(found).columns[0].values()[0] | int == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do activity_schema._spark_rewrite_removed(
        removed,
        'select activity, activity_id from ' ~ stream
            ~ ' where customer in ' ~ listed,
        activity_schema._stream_removed_select(stream, listed)) -%}

    {%- set stream_columns = adapter.get_columns_in_relation(stream)
        | map(attribute='name') | list -%}
    {%- set stage = stream.incorporate(path={
        'identifier': stream.identifier ~ '__removed_stage'}) -%}
    {%- set kept -%}
        select {{ stream_columns | join(', ') }}
        from {{ stream }}
        where
            _entity_bucket in (
                select distinct _entity_bucket from {{ stream }}
                where customer in {{ listed }}
            )
            and not (customer is not null and customer in {{ listed }})
    {%- endset -%}
    {%- do run_query('drop table if exists ' ~ stage) -%}
    {%- do run_query('create table ' ~ stage ~ ' using parquet as ' ~ kept) -%}
    {%- set emptied -%}
        select distinct _entity_bucket from {{ stream }}
        where customer in {{ listed }}
        and _entity_bucket not in (select distinct _entity_bucket from {{ stage }})
    {%- endset -%}
    {%- for row in run_query(emptied) -%}
        {%- do run_query('alter table ' ~ stream
            ~ ' drop if exists partition (_entity_bucket = '
            ~ row[0] | int ~ ')') -%}
    {%- endfor -%}
    {%- do run_query(
        'set spark.sql.sources.partitionOverwriteMode = dynamic') -%}
    {%- do run_query('insert overwrite table ' ~ stream
        ~ ' partition (_entity_bucket) select ' ~ stream_columns | join(', ')
        ~ ' from ' ~ stage) -%}
    {%- do run_query('drop table if exists ' ~ stage) -%}
{%- endmacro %}


{#- The stream's latest ts as text: pyspark would shift a timestamp into the
    Python process's local time zone. -#}
{% macro spark__stream_high_water_mark_sql() -%}
    {{ return('select cast(max(ts) as string) from ' ~ this) }}
{%- endmacro %}
