{#-
    The SQL of a dataset, from the spec of `_dataset_spec`.

    One pass over the stream's rows of the involved activities: the primary
    activity's rows (`_kind` 0, every occurrence) and each appended set's
    rows (`_kind` 1..n) are stacked in `unified`, then window functions per
    entity compute every relationship:

    - `sequenced`: `_s<i>__seq`, the 1-based rank of a row among its set's
      rows (by ts, activity_id), and `_primary_rows_before`, the number of
      primary rows strictly earlier than the row.
    - `measured`: before/after/ever windows, at each primary row. "Before"
      orders ties primary-first, "after" appended-first, so that both stay
      strict on equal timestamps. A pick keeps the rank (or ts) of the first
      or last row in its window; a count_distinct counts the values whose
      first (before, ever) or last (after) row is in the window.
    - `between_<i>`: the appended rows grouped by `_primary_rows_before`,
      which is `k` exactly when a row falls in the window (t_k, t_k+1] of
      the k-th primary row; joined on the primary row's occurrence.
    - picks of columns other than ts join the picked row back on
      (entity, set, rank), an equi-join on a unique key, once per set and
      relationship (`pick_<set>_<relationship>`), however many columns
      they read from that row.
    - `final`: counts over no rows are 0; other outputs over no rows are
      null or their default (see `_dataset_output_expression`).
-#}
{% macro _dataset_sql(spec) -%}
    {%- set primary = spec.primary -%}
    {%- set frames = {
        'ever': 'partition by _entity',
        'before': 'partition by _entity order by ts, case when _kind = 0'
            ~ ' then 0 else 1 end, activity_id, _kind rows between unbounded'
            ~ ' preceding and current row',
        'after': 'partition by _entity order by ts, case when _kind = 0'
            ~ ' then 1 else 0 end, activity_id, _kind rows between current'
            ~ ' row and unbounded following',
    } -%}
    {%- set distinct_values = [] -%}
    {%- for output in spec.outputs
        if output.aggregate == 'count_distinct'
        and output.window != 'in_between' -%}
        {%- if (output.set, output.column) not in distinct_values -%}
            {%- do distinct_values.append((output.set, output.column)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set pick_groups = [] -%}
    {%- for output in spec.outputs if output.pick_group is not none -%}
        {%- if output.pick_group not in pick_groups
            | map(attribute='pick_group') | list -%}
            {%- do pick_groups.append(output) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set in_between_sets = spec.outputs
        | selectattr('window', 'equalto', 'in_between')
        | map(attribute='set') | unique | list -%}
with stream_rows as (

    select
        coalesce(customer, anonymous_customer_id) as _entity,
        *
    from {{ spec.stream }}
    where activity in (
        {%- for activity in spec.activities -%}
        '{{ activity }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    )

),

unified as (

    select
        _entity,
        ts,
        activity_id,
        0 as _kind,
        activity_occurrence as _occurrence,
        activity_repeated_at as _next_ts,
        {{ activity_schema._dataset_condition(primary.filters) }} as _keep,
        {%- for column in primary.columns %}
        {{ activity_schema._dataset_value(column) }} as _p__{{ loop.index }},
        {%- endfor %}
        {{ activity_schema._dataset_set_values(spec.sets, none) }}
    from stream_rows
    where activity = '{{ primary.activity }}'
    {%- for appended_set in spec.sets %}

    union all

    select
        _entity,
        ts,
        activity_id,
        {{ appended_set.index }} as _kind,
        cast(null as {{ dbt.type_int() }}) as _occurrence,
        cast(null as {{ dbt.type_timestamp() }}) as _next_ts,
        false as _keep,
        {%- for column in primary.columns %}
        cast(null as {{ activity_schema._dataset_type(column) }})
            as _p__{{ loop.index }},
        {%- endfor %}
        {{ activity_schema._dataset_set_values(spec.sets, appended_set) }}
    from stream_rows
    where
        activity = '{{ appended_set.activity }}'
        and {{ activity_schema._dataset_condition(appended_set.filters) }}
    {%- endfor %}

),

sequenced as (

    select
        *,
        {%- for appended_set in spec.sets %}
        sum(case when _kind = {{ appended_set.index }} then 1 else 0 end)
            over (
                partition by _entity
                order by ts, activity_id, _kind
                rows between unbounded preceding and current row
            ) as _s{{ appended_set.index }}__seq,
        {%- endfor %}
        {%- for set_index, column in distinct_values %}
        row_number() over (
            partition by _entity, _kind, _s{{ set_index }}__{{ column }}
            order by ts, activity_id
        ) as _s{{ set_index }}__{{ column }}__first_rank,
        row_number() over (
            partition by _entity, _kind, _s{{ set_index }}__{{ column }}
            order by ts desc, activity_id desc
        ) as _s{{ set_index }}__{{ column }}__last_rank,
        {%- endfor %}
        sum(case when _kind = 0 then 1 else 0 end) over (
            partition by _entity
            order by ts, case when _kind = 0 then 1 else 0 end, activity_id,
                _kind
            rows between unbounded preceding and current row
        ) as _primary_rows_before

    from unified

),

measured as (

    select
        *
        {%- for group in pick_groups if group.window != 'in_between' %},
        {{ 'min' if group.pick == 'first' else 'max' }}(
            case when _kind = {{ group.set }} then _s{{ group.set }}__seq end
        ) over ({{ frames[group.window] }}) as _r_{{ group.pick_group }}
        {%- endfor %}
        {%- for output in spec.outputs
            if output.window != 'in_between' and output.pick_group is none %},
        {{ activity_schema._dataset_window_expression(output) }}
            over ({{ frames[output.window] }}) as _o{{ output.index }}
        {%- if activity_schema._dataset_needs_row_count(output) %},
        count(case when _kind = {{ output.set }} then 1 end)
            over ({{ frames[output.window] }}) as _n{{ output.index }}
        {%- endif %}
        {%- endfor %}
    from sequenced

),

primary_rows as (

    select * from measured
    where
        _kind = 0
        and _keep
        {%- if primary.selector == 'first' %}
        and _occurrence = 1
        {%- elif primary.selector == 'last' %}
        and _next_ts is null
        {%- elif primary.selector == 'nth' %}
        and _occurrence = {{ primary.nth }}
        {%- endif %}

)
{%- for set_index in in_between_sets %},

between_{{ set_index }} as (

    select
        _entity,
        _primary_rows_before as _bucket
        {%- for group in pick_groups
            if group.window == 'in_between' and group.set == set_index %},
        {{ 'min' if group.pick == 'first' else 'max' }}(
            _s{{ set_index }}__seq) as _r_{{ group.pick_group }}
        {%- endfor %}
        {%- for output in spec.outputs
            if output.window == 'in_between' and output.set == set_index
            and output.pick_group is none %},
        {{ activity_schema._dataset_group_expression(output) }}
            as _o{{ output.index }}
        {%- endfor %}
    from sequenced
    where _kind = {{ set_index }}
    group by _entity, _primary_rows_before

)
{%- endfor %},

final as (

    select
        {%- for column in primary.columns %}
        primary_rows._p__{{ loop.index }} as {{ column.alias }}
        {{- ',' if not loop.last or spec.outputs | length > 0 }}
        {%- endfor %}
        {%- for output in spec.outputs %}
        {{ activity_schema._dataset_output_expression(output) }}
            as {{ output.alias }}{{ ',' if not loop.last }}
        {%- endfor %}
    from primary_rows
    {%- for set_index in in_between_sets %}
    left join between_{{ set_index }}
        on
            primary_rows._entity = between_{{ set_index }}._entity
            and primary_rows._occurrence = between_{{ set_index }}._bucket
    {%- endfor %}
    {%- for group in pick_groups %}
    {%- set home = 'between_' ~ group.set
        if group.window == 'in_between' else 'primary_rows' %}
    {%- set picked = 'pick_' ~ group.pick_group %}
    left join sequenced as {{ picked }}
        on
            primary_rows._entity = {{ picked }}._entity
            and {{ picked }}._kind = {{ group.set }}
            and {{ picked }}._s{{ group.set }}__seq
            = {{ home }}._r_{{ group.pick_group }}
    {%- endfor %}

)

select * from final
{%- endmacro %}


{#- The typed SQL of a dataset column read from a stream row. -#}
{% macro _dataset_value(column) -%}
    {%- if column.source == 'feature' -%}
        {{ activity_schema.json_extract('feature_json', column.column, column.type) }}
    {%- else -%}
        cast({{ column.column }} as {{ activity_schema._dataset_type(column) }})
    {%- endif -%}
{%- endmacro %}


{% macro _dataset_type(column) -%}
    {{ return(activity_schema.feature_sql_type(column.type)) }}
{%- endmacro %}


{#-
    The value columns of every appended set, in one select of `unified`:
    the set's own values for its rows (current_set), nulls for the others.
-#}
{% macro _dataset_set_values(sets, current_set) -%}
    {%- set columns = [] -%}
    {%- for appended_set in sets -%}
        {%- for name, column in appended_set['values'].items() -%}
            {%- if current_set is not none
                and appended_set.index == current_set.index -%}
                {%- do columns.append(
                    activity_schema._dataset_value(column)
                    ~ ' as _s' ~ appended_set.index ~ '__' ~ name) -%}
            {%- else -%}
                {%- do columns.append(
                    'cast(null as ' ~ activity_schema._dataset_type(column)
                    ~ ') as _s' ~ appended_set.index ~ '__' ~ name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- do columns.append('1 as _one') -%}
    {{ columns | join(',\n        ') }}
{%- endmacro %}


{#- A boolean SQL expression for a list of filters (true when empty). -#}
{% macro _dataset_condition(filters) -%}
    {%- if filters | length == 0 -%}
        true
    {%- else -%}
        (
        {%- for filter in filters -%}
            {{ activity_schema._dataset_value(filter) }} {{ filter.operator }}
            {%- if filter.operator in ['in', 'not in'] %} (
                {%- for value in filter.value -%}
                    {{ activity_schema._dataset_literal(value) }}
                    {{- ', ' if not loop.last }}
                {%- endfor -%})
            {%- elif filter.operator not in ['is null', 'is not null'] %}
            {{ activity_schema._dataset_literal(filter.value) }}
            {%- endif %}
            {{- ' and ' if not loop.last }}
        {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}


{#- A SQL literal for a filter value or an aggregate's default. -#}
{% macro _dataset_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}


{#-
    The window-function expression (without `over`) of an output whose
    window is ever, before or after, evaluated at a primary row.
-#}
{% macro _dataset_window_expression(output) -%}
    {%- set in_set = '_kind = ' ~ output.set -%}
    {%- set value = '_s' ~ output.set ~ '__' ~ output.column -%}
    {%- if output.kind == 'pick' -%}
        {#- A pick of ts; other picks are joined back by rank. -#}
        {{ 'min' if output.pick == 'first' else 'max' }}(
            case when {{ in_set }} then ts end)
    {%- elif output.aggregate == 'count' -%}
        count(case when {{ in_set }} then
            {{- ' _one' if output.column is none else ' ' ~ value }} end)
    {%- elif output.aggregate == 'count_distinct' -%}
        {%- set rank = value ~ ('__last_rank' if output.window == 'after'
            else '__first_rank') -%}
        sum(case
            when {{ in_set }} and {{ value }} is not null and {{ rank }} = 1
                then 1
            else 0
        end)
    {%- else -%}
        {{ activity_schema._dataset_aggregate_function(output) }}(
            case when {{ in_set }} then {{ value }} end)
    {%- endif -%}
{%- endmacro %}


{#-
    The aggregate expression of an in-between output over the appended rows
    of one primary row's window (grouped by `_primary_rows_before`).
-#}
{% macro _dataset_group_expression(output) -%}
    {%- set value = '_s' ~ output.set ~ '__' ~ output.column -%}
    {%- if output.kind == 'pick' -%}
        {#- A pick of ts; other picks are joined back by rank. -#}
        {{ 'min' if output.pick == 'first' else 'max' }}(ts)
    {%- elif output.aggregate == 'count' -%}
        count({{ '_one' if output.column is none else value }})
    {%- elif output.aggregate == 'count_distinct' -%}
        count(distinct {{ value }})
    {%- else -%}
        {{ activity_schema._dataset_aggregate_function(output) }}({{ value }})
    {%- endif -%}
{%- endmacro %}


{#-
    The SQL aggregate function of a sum, avg, min or max output. Postgres
    has no min or max of booleans: they are bool_and and bool_or (false <
    true), which DuckDB has too.
-#}
{% macro _dataset_aggregate_function(output) -%}
    {%- if output.type == 'boolean' and output.aggregate in ['min', 'max'] -%}
        {{ 'bool_and' if output.aggregate == 'min' else 'bool_or' }}
    {%- else -%}
        {{ output.aggregate }}
    {%- endif -%}
{%- endmacro %}


{#-
    Whether an output needs the count of rows in its window: a sum, avg, min
    or max with a default (the default is for no rows, not for null values),
    outside in between (where a missing group means no rows).
-#}
{% macro _dataset_needs_row_count(output) -%}
    {{ return(output.kind == 'aggregate'
        and output.aggregate not in ['count', 'count_distinct']
        and output.default is not none
        and output.window != 'in_between') }}
{%- endmacro %}


{#-
    The final SQL of an appended output, in `final`:
    - a pick of ts is the window's min or max ts; a pick of another column
      comes from the picked row, joined back as `pick_<index>`;
    - a count (of rows, values or distinct values) over no rows is 0;
    - any other output over no rows is null, or its default. "No rows" is
      a null picked ts or rank, a missing in-between group, or a zero row
      count in the window; a pick or aggregate of null values stays null.
-#}
{% macro _dataset_output_expression(output) -%}
    {%- set home = 'between_' ~ output.set
        if output.window == 'in_between' else 'primary_rows' -%}
    {%- set computed = home ~ '._o' ~ output.index -%}
    {%- if output.aggregate in ['count', 'count_distinct'] -%}
        {{ return('coalesce(' ~ computed ~ ', 0)') }}
    {%- endif -%}
    {%- if output.pick_group is not none -%}
        {%- set value = 'pick_' ~ output.pick_group ~ '._s' ~ output.set
            ~ '__' ~ output.column -%}
        {%- set found = home ~ '._r_' ~ output.pick_group ~ ' is not null' -%}
    {%- elif output.kind == 'pick' -%}
        {%- set value = computed -%}
        {%- set found = computed ~ ' is not null' -%}
    {%- elif output.window == 'in_between' -%}
        {%- set value = computed -%}
        {%- set found = home ~ '._entity is not null' -%}
    {%- else -%}
        {%- set value = computed -%}
        {%- set found = home ~ '._n' ~ output.index ~ ' > 0' -%}
    {%- endif -%}
    {%- if output.default is none -%}
        {{ return(value) }}
    {%- endif -%}
    {%- set default = activity_schema._dataset_literal(output.default) -%}
    {%- if output.aggregate not in ['sum', 'avg'] -%}
        {%- set default = 'cast(' ~ default ~ ' as '
            ~ activity_schema._dataset_type(output) ~ ')' -%}
    {%- endif -%}
    {{ return('case when ' ~ found ~ ' then ' ~ value ~ ' else ' ~ default
        ~ ' end') }}
{%- endmacro %}
