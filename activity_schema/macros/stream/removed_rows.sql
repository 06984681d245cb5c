{#-
    The stream's removed rows: where the stream declares removals
    (`identity={'removals': ...}`), the rows of removed customers leave the
    stream for a table beside it (`stream_removed_relation`), which keeps
    no customer id. Two hooks of the stream model maintain it on full
    builds; incremental runs maintain it in their strategy.
-#}


{#- The removed rows' columns, in their table's order. -#}
{% macro stream_removed_columns() -%}
    {{ return(['activity_id', 'ts', 'anonymous_customer_id', 'activity',
               'feature_json', 'revenue_impact', 'link', '_loaded_at',
               '_definition', '_observation']) }}
{%- endmacro %}


{#-
    stream_pre_hook() -> the stream's pre-hook: on a full build (the first
    one, or --full-refresh) it drops the table of removed rows, which the
    post-hook then fills again from the new build.

    Example: config(pre_hook="{{ activity_schema.stream_pre_hook() }}")
-#}
{% macro stream_pre_hook() -%}
    {%- if execute and not is_incremental() -%}
        {%- do adapter.drop_relation(
            activity_schema.stream_removed_relation(this)) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{#-
    stream_post_hook(identity) -> the stream's post-hook: after a full
    build (the table of removed rows is missing: the pre-hook dropped it),
    it creates that table and moves there every row of the stream whose
    customer is removed (a full build writes them in the stream); after an
    incremental run, which has moved them already, it moves nothing. Then
    it records the identity inputs the build applied
    (`stream_identity_relation`), for the next incremental run.

    identity: the same dict as the stream's `identity` argument.

    Example:
        config(post_hook="{{ activity_schema.stream_post_hook(
            customer_identity()) }}")
-#}
{% macro stream_post_hook(identity) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = activity_schema.stream_identity(identity) -%}
    {%- set removed = activity_schema.stream_removed_relation(this) -%}
    {%- set full_build = adapter.get_relation(database=removed.database,
        schema=removed.schema, identifier=removed.identifier) is none -%}
    {%- do activity_schema._stream_create_removed(removed, this) -%}
    {%- if full_build and state.removed | length > 0 -%}
        {%- do activity_schema.stream_move_removed(
            this, removed, state.removed) -%}
    {%- endif -%}
    {%- do activity_schema._stream_write_identity_applied(this, state) -%}
    {{ return('') }}
{%- endmacro %}


{#- Creates the table of removed rows, empty, where it does not exist. -#}
{% macro _stream_create_removed(removed, stream) -%}
    {%- set columns = activity_schema.stream_removed_columns() -%}
    {%- set create -%}
        create table if not exists {{ removed }}
        {{- activity_schema._stream_removed_table_options() }} as
        select
            {%- for column in columns %}
            {%- if column == '_observation' %}
            _source_customer is not null as _observation
            {%- else %}
            {{ column }},
            {%- endif %}
            {%- endfor %}
        from {{ stream }}
        where 1 = 0
    {%- endset -%}
    {%- do run_query(create) -%}
{%- endmacro %}


{% macro _stream_removed_table_options() -%}
    {{ return(adapter.dispatch(
        '_stream_removed_table_options', 'activity_schema')()) }}
{%- endmacro %}

{% macro default___stream_removed_table_options() -%}
    {{ return('') }}
{%- endmacro %}

{% macro spark___stream_removed_table_options() -%}
    {{ return(' using parquet') }}
{%- endmacro %}


{#-
    stream_move_removed(stream, removed, customers) -> moves the stream's
    rows of the given (canonical, removed) customers into the table of
    removed rows: their key, ts, anonymous id, load time and definition,
    and the payload only of rows whose source carried no customer.
    Dispatched: Spark rewrites the entity buckets that held them.
-#}
{% macro stream_move_removed(stream, removed, customers) -%}
    {{ return(adapter.dispatch('stream_move_removed', 'activity_schema')(
        stream, removed, customers)) }}
{%- endmacro %}

{% macro default__stream_move_removed(stream, removed, customers) -%}
    {%- set columns = activity_schema.stream_removed_columns() -%}
    {%- set listed = activity_schema._stream_string_list(customers) -%}
    {%- set move -%}
        delete from {{ removed }}
        where exists (
            select 1 from {{ stream }} as moving
            where
                moving.customer in {{ listed }}
                and moving.activity = {{ removed }}.activity
                and moving.activity_id = {{ removed }}.activity_id
        );

        insert into {{ removed }} ({{ columns | join(', ') }})
        {{ activity_schema._stream_removed_select(stream, listed) }};

        delete from {{ stream }}
        where customer in {{ listed }}
    {%- endset -%}
    {%- do run_query(move) -%}
{%- endmacro %}


{#- The select of the removed-row columns of the stream's rows of the
    listed customers. -#}
{% macro _stream_removed_select(stream, listed) -%}
    select
        {%- for column in activity_schema.stream_removed_columns() %}
        {%- if column == '_observation' %}
        _source_customer is not null as _observation
        {%- elif column in ['feature_json', 'revenue_impact', 'link'] %}
        case when _source_customer is null then {{ column }} end
            as {{ column }},
        {%- else %}
        {{ column }},
        {%- endif %}
        {%- endfor %}
    from {{ stream }}
    where customer in {{ listed }}
{%- endmacro %}


{#- ('a', 'b', ...) of string literals. -#}
{% macro _stream_string_list(values) -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append(dbt.string_literal(value)) -%}
    {%- endfor -%}
    {{ return('(' ~ quoted | join(', ') ~ ')') }}
{%- endmacro %}


{#-
    The statements that apply an incremental run's removed-row changes
    ('removed_upsert', 'removed_delete') to the table of removed rows,
    created where missing; '' when the run has none.
-#}
{% macro _stream_removed_writes(target, changes) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set count -%}
        select count(*) from {{ changes }}
        where _change in ('removed_upsert', 'removed_delete')
    {%- endset -%}
    {%- if run_query(count).columns[0].values()[0] | int == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set removed = activity_schema.stream_removed_relation(target) -%}
    {%- do activity_schema._stream_create_removed(removed, target) -%}
    {%- set columns = activity_schema.stream_removed_columns() -%}
    {%- set sql -%}
delete from {{ removed }}
where exists (
    select 1 from {{ changes }} as changes
    where
        changes._change in ('removed_upsert', 'removed_delete')
        and changes.activity = {{ removed }}.activity
        and changes.activity_id = {{ removed }}.activity_id
);

insert into {{ removed }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from {{ changes }}
where _change = 'removed_upsert'
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}


{#-
    removed_row_counts(stream) -> the select of the number of removed rows
    per activity of a stream that declares removals: one row per activity
    with removed rows (`activity`, `removed_rows`), and no identifying
    column.

    Example (a view beside the stream):
        {{ activity_schema.removed_row_counts(ref('customer_stream')) }}
-#}
{% macro removed_row_counts(stream) -%}
select
    activity,
    count(*) as removed_rows
from {{ activity_schema.stream_removed_relation(stream) }}
group by activity
{%- endmacro %}
