{#-
    The identity inputs that the stream last applied: a table beside the
    stream (`<stream>__identity`: customer, canonical_customer, is_removed,
    and stream_rows, the rows of the stream and of its removed rows then),
    rewritten by the stream's post-hook after every build with the aliases
    (each source with its canonical customer) and the removed customers of
    that build. An incremental run compares the inputs with it and looks in
    the stored rows only for the ids whose facts changed: none on a run
    without a new merge or removal. Every stored row agrees with the
    applied inputs (the stream and this table are written in one
    transaction, or, on Spark, this table after the stream), so a row can
    only disagree with the inputs through an id whose facts changed.
-#}


{#- The table of the identity inputs the stream last applied. -#}
{% macro stream_identity_relation(stream) -%}
    {{ return(stream.incorporate(path={
        'identifier': stream.identifier ~ '__identity'}, type='table')) }}
{%- endmacro %}


{#-
    {'aliases': {customer: canonical}, 'removed': [customer]} as the
    stream's last build applied them, or none where that build wrote no
    table of them (a stream built before identity resolution), or where the
    stream no longer holds the rows it held then (`stream_rows`: a stream
    restored from a copy, or edited by hand): the run then looks for every
    id of the inputs.
-#}
{% macro _stream_identity_applied(stream, stream_rows=none) -%}
    {%- set relation = activity_schema.stream_identity_relation(stream) -%}
    {%- if adapter.get_relation(database=relation.database,
        schema=relation.schema, identifier=relation.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set aliases = {} -%}
    {%- set removed = [] -%}
    {%- set query -%}
        select customer, canonical_customer, is_removed, stream_rows
        from {{ relation }}
    {%- endset -%}
    {%- set rows = run_query(query) -%}
    {%- if rows | length > 0 and rows[0][3] | int
        != activity_schema._stream_row_count(stream, stream_rows) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for row in rows -%}
        {%- if row[2] -%}
            {%- do removed.append(row[0]) -%}
        {%- else -%}
            {%- do aliases.update({row[0]: row[1]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'aliases': aliases, 'removed': removed}) }}
{%- endmacro %}


{#-
    The identity facts of `state` (from `stream_identity`) that differ from
    `applied`: the alias sources whose canonical customer is new or another
    one (a new merge, or a chain that grew), and the newly removed
    customers; all of `state` where nothing was applied. An alias or a
    removal deleted from its source is not among them (the reconcile
    restores its rows).
-#}
{% macro _stream_identity_delta(state, applied) -%}
    {%- if applied is none -%}
        {{ return({'aliases': state.aliases, 'removed': state.removed}) }}
    {%- endif -%}
    {%- set aliases = {} -%}
    {%- for customer, canonical in state.aliases.items()
        if applied.aliases.get(customer) != canonical -%}
        {%- do aliases.update({customer: canonical}) -%}
    {%- endfor -%}
    {{ return({
        'aliases': aliases,
        'removed': state.removed | reject('in', applied.removed) | list,
    }) }}
{%- endmacro %}


{#- Rewrites the table of the applied identity inputs with `state`. -#}
{% macro _stream_write_identity_applied(stream, state) -%}
    {%- set relation = activity_schema.stream_identity_relation(stream) -%}
    {%- set rows = [] -%}
    {%- for customer, canonical in state.aliases.items() | sort -%}
        {%- do rows.append([customer, canonical, 'false']) -%}
    {%- endfor -%}
    {%- for customer in state.removed -%}
        {%- do rows.append([customer, none, 'true']) -%}
    {%- endfor -%}
    {%- set text = dbt.type_string() -%}
    {%- set select -%}
        {%- if rows %}
        select
            cast(customer as {{ text }}) as customer,
            cast(canonical_customer as {{ text }}) as canonical_customer,
            cast(is_removed as {{ dbt.type_boolean() }}) as is_removed,
            cast({{ activity_schema._stream_row_count(stream) }}
                as {{ dbt.type_bigint() }}) as stream_rows
        from (
            values
            {%- for customer, canonical, is_removed in rows %}
                ({{ dbt.string_literal(customer) }},
                {{ dbt.string_literal(canonical) if canonical is not none
                    else 'null' }}, {{ is_removed }})
                {{- ',' if not loop.last }}
            {%- endfor %}
        ) as applied (customer, canonical_customer, is_removed)
        {%- else %}
        select
            cast(null as {{ text }}) as customer,
            cast(null as {{ text }}) as canonical_customer,
            cast(null as {{ dbt.type_boolean() }}) as is_removed,
            cast(null as {{ dbt.type_bigint() }}) as stream_rows
        where 1 = 0
        {%- endif %}
    {%- endset -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- do run_query('create table ' ~ relation
        ~ activity_schema._stream_removed_table_options() ~ ' as ' ~ select) -%}
{%- endmacro %}


{#-
    The rows of the stream and of its table of removed rows, which exists
    wherever the table of applied inputs does (the post-hook creates it
    first; dbt's relation cache does not know it then, so it is not asked).
    stream_rows: the stream's own rows where the caller has counted them
    already (the run's state query), or none.
-#}
{% macro _stream_row_count(stream, stream_rows=none) -%}
    {%- set removed = activity_schema.stream_removed_relation(stream) -%}
    {%- set query -%}
        {%- if stream_rows is none %}
        select count(*) from {{ stream }}
        union all
        {%- endif %}
        select count(*) from {{ removed }}
    {%- endset -%}
    {%- set total = namespace(rows=stream_rows or 0) -%}
    {%- for row in run_query(query) -%}
        {%- set total.rows = total.rows + row[0] | int -%}
    {%- endfor -%}
    {{ return(total.rows) }}
{%- endmacro %}

