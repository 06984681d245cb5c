{#-
    The SQL of a dataset, from the spec of `_dataset_spec`.

    One scan of the stream and one window pass per entity, whatever the
    relationships. `unified` reads the rows of the involved activities
    once, joined to a list of kinds: a primary row (`_kind` 0, every
    occurrence that passes the primary filters) and a row per appended set
    whose activity and filters it matches (`_kind` 1..n), with its values.
    With primary filters, the selector reads `_primary_rank`, a primary
    row's rank among the passing rows, instead of the stream's occurrence,
    and the buckets below count passing primary rows only. Window
    functions per entity then compute every relationship, over the frames of `_dataset_frames`
    (adapter-specific: one sort by ts on DuckDB, two on Postgres); every
    frame starts at the partition's start or spans it, so min and max never
    restart at every row.

    - `windowed`: at a primary row, "ever", "before" (ts strictly earlier)
      and "after" (ts strictly later) windows. A pick of ts is the min or
      max ts of its frame; a pick of another column keeps the rank of the
      picked row, computed from counts (the last row before a primary row
      is the set's row ranked by the number of the set's rows before it,
      and so on; the n-th row before it is rank n, the n-th after it the
      total less the rows after plus n), and `_s<i>__seq` ranks the set's
      rows by (ts, activity_id); a count_distinct counts the values whose
      first (before, ever) or last (after) row of the set is in the frame (`ranked`, only
      when there is one). `_bucket` is a primary row's occurrence k, or for
      an appended row the number of primary rows strictly earlier: k
      exactly when the row falls in the window (t_k, t_k+1] of the k-th
      primary row.
    - `in_between`, only with in-between relationships: the primary rows and
      the rows of in-between sets, windowed by (entity, bucket), one
      partition per primary row; a count_distinct there counts the first row
      of every value in the bucket (`bucketed`). A bucket's rows of a set
      have consecutive ranks, so its n-th row is its least rank plus n - 1.
    - picks of columns other than ts, and nth picks of any column, join the
      picked row back on (entity, set, rank), an equi-join on a unique key,
      once per set, relationship and n (`pick_<set>_<relationship>[_<n>]`),
      however many columns they read from that row.
    - an appended set with join conditions gets window passes of its own,
      `windowed_j<set>` (and `bucketed_j<set>`, `in_between_j<set>`), over
      its rows and the primary rows partitioned by (entity, join values)
      (`_dataset_plan`): the same frames with the join values added to the
      partition, the bucket still counted entity-wide. Their primary rows
      are joined to `primary_rows` on (entity, activity_id), a unique key.
    - a listagg reads the entity's whole list (`lists`, per entity and join
      values), aggregated once; a first_value or last_value ranks its set's
      rows in `ranked` (`_kind_seq`).
    - `final`: counts over no rows are 0; other outputs over no rows are
      null or their default (see `_dataset_output_expression`).
-#}
{% macro _dataset_sql(spec) -%}
    {%- set primary = spec.primary -%}
    {%- set spine = primary.time_spine -%}
    {%- set frames = activity_schema._dataset_frames(spine is not none) -%}
    {%- set plan = activity_schema._dataset_plan(spec, frames) -%}
    {%- set groups = plan.groups -%}
    {%- set main = groups[0] -%}
    {%- set distinct_values = plan.distinct_values -%}
    {%- set early_seq = plan.early_seq -%}
    {%- set needs_ranked = distinct_values or early_seq -%}
    {%- set any_in_between = groups | selectattr('in_between_sets')
        | list | length > 0 -%}
    {#- The primary filters apply before the selector: with filters, a
        primary row's rank among the rows that pass them replaces the
        stream's occurrence. -#}
    {%- if primary.filters and not spine -%}
        {%- set primary_rank = 'count(case when _kind = 0 then 1 end) over ('
            ~ frames.rank ~ ')' -%}
        {%- set rank_column = '_primary_rank' -%}
    {%- else -%}
        {%- set primary_rank = '_occurrence' -%}
        {%- set rank_column = '_occurrence' -%}
    {%- endif -%}
with
{%- if spine %} {{ activity_schema._dataset_spine_ctes(spec) }}
{%- endif %} unified as (

    select
        coalesce(customer, anonymous_customer_id) as _entity,
        ts,
        activity_id,
        kinds._kind,
        case when kinds._kind = 0 then activity_occurrence end as _occurrence,
        case when kinds._kind = 0 then activity_repeated_at end as _next_ts,
        {%- if spine %}
        {#- A spine row's bucket is its period, an appended row's the
            period that holds its ts. #}
        coalesce(
            _period_start, {{ dbt.date_trunc(spine.period, 'ts') }}
        ) as _bucket,
        {%- endif %}
        {%- for column in primary.columns %}
        {{ activity_schema._dataset_kind_value(0, column) }}
            as _p__{{ loop.index }},
        {%- endfor %}
        {%- for appended_set in spec.sets %}
        {%- for name, column in appended_set['values'].items() %}
        {{ activity_schema._dataset_kind_value(appended_set.index, column) }}
            as _s{{ appended_set.index }}__{{ name }},
        {%- endfor %}
        {%- for condition in appended_set.join %}
        case kinds._kind
            when 0 then {{ activity_schema._dataset_value(
                condition.primary_column) }}
            when {{ appended_set.index }}
                then {{ activity_schema._dataset_value(condition.column) }}
        end as _j{{ appended_set.index }}_{{ loop.index }},
        {%- endfor %}
        {%- endfor %}
        1 as _one
    from {{ 'spine_stream' if spine else spec.stream }}
    inner join (
        values
            (0, '{{ activity_schema._dataset_spine_activity()
                if spine else primary.activity }}')
            {%- for appended_set in spec.sets %},
            ({{ appended_set.index }}, '{{ appended_set.activity }}')
            {%- endfor %}
    ) as kinds (_kind, _activity)
        on activity = kinds._activity
    where
        activity in (
            {%- for activity in spec.activities -%}
            '{{ activity }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
            {%- if spine -%}
            {{ ', ' if spec.activities }}'{{
                activity_schema._dataset_spine_activity() }}'
            {%- endif -%}
        )
        {%- if (primary.filters and not spine) or plan.conditioned_sets %}
        and case kinds._kind
            {%- if primary.filters and not spine %}
            when 0
                then {{ activity_schema._dataset_condition(primary.filters) }}
            {%- endif %}
            {%- for appended_set in plan.conditioned_sets %}
            when {{ appended_set.index }}
                then {{ activity_schema._dataset_set_condition(appended_set) }}
            {%- endfor %}
            else true
        end
        {%- endif %}

),
{%- if needs_ranked %}

ranked as (

    select
        *
        {%- if early_seq %},
        row_number() over (
            partition by {{ plan.all_partition }} order by ts, activity_id
        ) as _kind_seq
        {%- endif %}
        {%- for set_index, column in distinct_values %}
        {%- set by = plan.set_partition[set_index] ~ ', _kind, _s'
            ~ set_index ~ '__' ~ column %},
        row_number() over (
            partition by {{ by }}
            order by ts, activity_id
        ) as _s{{ set_index }}__{{ column }}__first_rank,
        row_number() over (
            partition by {{ by }}
            order by ts desc, activity_id desc
        ) as _s{{ set_index }}__{{ column }}__last_rank
        {%- endfor %}
    from unified

),
{%- endif %}

windowed as (

    select
        *
        {%- if primary.filters and not spine %},
        {{ primary_rank }} as _primary_rank
        {%- if primary.selector == 'last' %},
        count(case when _kind = 0 then 1 end)
            over ({{ frames.ever }}) as _primary_count
        {%- endif %}
        {%- endif %}
        {%- if any_in_between and not spine %},
        case
            when _kind = 0 then {{ primary_rank }}
            else {{ frames.earlier_primaries }}
        end as _bucket
        {%- endif %}
        {{- activity_schema._dataset_window_columns(main, early_seq) }}
    from {{ 'ranked' if needs_ranked else 'unified' }}

),
{%- for group in groups[1:] %}

{{ group.windowed }} as (

    {#- The rows of a set with join conditions and the primary rows, in
        partitions of (entity, join values). -#}
    select
        *
        {{- activity_schema._dataset_window_columns(group, early_seq) }}
    from windowed
    where _kind in (0, {{ group.sets | join(', ') }})

),
{%- endfor %}
{%- for group in groups if group.in_between_sets %}

{{ group.bucketed }} as (

    select
        *
        {%- for set_index, column in group.between_distinct_values %},
        row_number() over (
            partition by {{ group.partition }}, _bucket, _kind,
                _s{{ set_index }}__{{ column }}
            order by ts, activity_id
        ) as _s{{ set_index }}__{{ column }}__bucket_first_rank
        {%- endfor %}
    from {{ group.windowed }}
    where _kind in (0, {{ group.in_between_sets | join(', ') }})

),

{{ group.in_between }} as (

    select
        *
        {{- activity_schema._dataset_between_columns(group) }}
    from {{ group.bucketed }}

),
{%- endfor %}
{%- for group in groups if group.listagg_outputs %}

{{ group.lists }} as (

    select
        {{ group.partition }}
        {%- for output in group.listagg_outputs %},
        {{ activity_schema._dataset_ordered_listagg(
            'case when _kind = ' ~ output.set ~ ' then cast(_s' ~ output.set
            ~ '__' ~ output.column ~ ' as '
            ~ activity_schema.feature_sql_type('string') ~ ') end',
            output.delimiter) }} as _l{{ output.index }}
        {%- endfor %}
    from unified
    where _kind in ({{ group.listagg_outputs | map(attribute='set') | unique
        | join(', ') }})
    group by {{ group.partition }}

),
{%- endfor %}

primary_rows as (

    select * from {{ main.last }}
    where
        _kind = 0
        {%- if primary.selector == 'first' %}
        and {{ rank_column }} = 1
        {%- elif primary.selector == 'last' and primary.filters %}
        and _primary_rank = _primary_count
        {%- elif primary.selector == 'last' %}
        and _next_ts is null
        {%- elif primary.selector == 'nth' %}
        and {{ rank_column }} = {{ primary.nth }}
        {%- endif %}

),

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
    {%- for group in groups[1:] %}
    left join {{ group.last }} as {{ group.alias }}
        on
            {{ group.alias }}._kind = 0
            and primary_rows._entity = {{ group.alias }}._entity
            and primary_rows.activity_id = {{ group.alias }}.activity_id
    {%- endfor %}
    {%- for group in groups %}
    {%- for pick in group.pick_groups %}
    {%- set picked = 'pick_' ~ pick.pick_group %}
    left join {{ group.windowed }} as {{ picked }}
        on
            {{ group.alias }}._entity = {{ picked }}._entity
            {%- for key in group['keys'] %}
            and {{ group.alias }}.{{ key }} = {{ picked }}.{{ key }}
            {%- endfor %}
            and {{ picked }}._kind = {{ pick.set }}
            and {{ picked }}._s{{ pick.set }}__seq
            = {{ group.alias }}._r_{{ pick.pick_group }}
    {%- endfor %}
    {%- if group.listagg_outputs %}
    left join {{ group.lists }}
        on
            {{ group.alias }}._entity = {{ group.lists }}._entity
            {%- for key in group['keys'] %}
            and {{ group.alias }}.{{ key }} = {{ group.lists }}.{{ key }}
            {%- endfor %}
    {%- endif %}
    {%- endfor %}

)

select * from final
{%- endmacro %}


{#-
    How `_dataset_sql` splits a spec into window passes. Group 0 holds the
    sets without join conditions, windowed per entity in `windowed` (and
    `in_between`); every set with join conditions is a group of its own,
    windowed per (entity, join values) in `windowed_j<set>` (and
    `in_between_j<set>`), whose primary rows are joined to `primary_rows`
    on (entity, activity_id) as `joined_<set>`. The join values of a row
    are `_j<set>_<k>`: the primary row's column on primary rows, the
    appended row's on the set's rows, so a partition holds the primary
    rows and the appended rows whose values are equal. Each output gets
    `source` (the alias its window columns are read from) and `lists` (the
    alias of its whole lists, for a listagg).
-#}
{% macro _dataset_plan(spec, frames) -%}
    {%- set period_frame = activity_schema._dataset_period_frame(
        spec.primary.time_spine.period) if spec.primary.time_spine
        else none -%}
    {%- set distinct_values = [] -%}
    {%- for output in spec.outputs
        if output.aggregate in ['count_distinct', 'listagg_distinct']
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
    {%- set all_keys = [] -%}
    {%- set set_partition = {} -%}
    {%- set groups = [{
        'sets': [], 'keys': [], 'partition': '_entity', 'frames': frames,
        'windowed': 'windowed', 'bucketed': 'bucketed',
        'in_between': 'in_between', 'lists': 'lists',
        'alias': 'primary_rows',
    }] -%}
    {%- set group_of = {} -%}
    {%- for appended_set in spec.sets -%}
        {%- if appended_set.join -%}
            {%- set keys = [] -%}
            {%- for condition in appended_set.join -%}
                {%- do keys.append('_j' ~ appended_set.index ~ '_'
                    ~ loop.index) -%}
            {%- endfor -%}
            {%- do all_keys.extend(keys) -%}
            {%- set partition = '_entity, ' ~ keys | join(', ') -%}
            {%- set group_frames = {} -%}
            {%- for name, frame in frames.items() -%}
                {%- do group_frames.update({name: frame | replace(
                    'partition by _entity', 'partition by ' ~ partition)}) -%}
            {%- endfor -%}
            {%- set suffix = '_j' ~ appended_set.index -%}
            {%- do groups.append({
                'sets': [appended_set.index], 'keys': keys,
                'partition': partition, 'frames': group_frames,
                'windowed': 'windowed' ~ suffix,
                'bucketed': 'bucketed' ~ suffix,
                'in_between': 'in_between' ~ suffix,
                'lists': 'lists' ~ suffix,
                'alias': 'joined_' ~ appended_set.index,
            }) -%}
            {%- do group_of.update({appended_set.index: groups[-1]}) -%}
            {%- do set_partition.update({appended_set.index: partition}) -%}
        {%- else -%}
            {%- do groups[0].sets.append(appended_set.index) -%}
            {%- do group_of.update({appended_set.index: groups[0]}) -%}
            {%- do set_partition.update({appended_set.index: '_entity'}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for group in groups -%}
        {%- set outputs = spec.outputs | selectattr('set', 'in', group.sets)
            | list -%}
        {%- for output in outputs -%}
            {%- do output.update({'source': group.alias,
                'lists': group.lists}) -%}
        {%- endfor -%}
        {%- set between_distinct_values = [] -%}
        {%- for output in outputs
            if output.aggregate in ['count_distinct', 'listagg_distinct']
            and output.window == 'in_between' -%}
            {%- if (output.set, output.column)
                not in between_distinct_values -%}
                {%- do between_distinct_values.append(
                    (output.set, output.column)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set group_picks = pick_groups | selectattr('set', 'in', group.sets)
            | list -%}
        {%- set between = outputs
            | selectattr('window', 'equalto', 'in_between') | list -%}
        {#- A time spine's in-between aggregates, where the warehouse has a
            frame of the period (`_dataset_period_frame`), are columns of
            the window pass itself: no second pass partitioned by bucket.
            Picks, distinct values and lists keep their own pass. -#}
        {%- set folded = period_frame is not none and between | length > 0
            and between | selectattr('pick_group', 'ne', none) | list
                | length == 0
            and between | selectattr('aggregate', 'in', ['count_distinct',
                'listagg_distinct', 'listagg']) | list | length == 0 -%}
        {%- if folded -%}
            {%- do group.frames.update({'in_between': period_frame | replace(
                'partition by _entity', 'partition by ' ~ group.partition)}) -%}
        {%- endif -%}
        {%- set last = group.in_between if between and not folded
            else group.windowed -%}
        {%- do group.update({
            'windowed_outputs': outputs
                | rejectattr('window', 'equalto', 'in_between') | list,
            'between_outputs': between,
            'folded_between': folded,
            'in_between_sets': [] if folded else between
                | map(attribute='set') | unique | list,
            'listagg_outputs': outputs
                | selectattr('aggregate', 'equalto', 'listagg') | list,
            'pick_groups': group_picks,
            'ranked_sets': group_picks | map(attribute='set') | unique | list,
            'between_distinct_values': between_distinct_values,
            'last': last,
        }) -%}
    {%- endfor -%}
    {{ return({
        'groups': groups,
        'distinct_values': distinct_values,
        'early_seq': pick_groups | selectattr('non_null') | list | length > 0,
        'all_partition': '_entity, _kind' ~ (', ' ~ all_keys | join(', ')
            if all_keys else ''),
        'set_partition': set_partition,
        'conditioned_sets': spec.sets | selectattr('filters') | list
            + spec.sets | rejectattr('filters') | selectattr('join') | list,
    }) }}
{%- endmacro %}


{#-
    The window columns of a group's `windowed` pass: the ranks of its sets'
    rows (`_s<i>__seq`), the ranks of its picks (`_r_<group>`) and its
    outputs over the ever, before and after frames, with what their final
    expressions need (`_n` row counts, `_e` and `_a` lengths of lists).
-#}
{% macro _dataset_window_columns(group, early_seq) -%}
    {%- set frames = group.frames -%}
    {%- for set_index in group.ranked_sets %},
        {%- if early_seq %}
        _kind_seq as _s{{ set_index }}__seq
        {%- else %}
        count(case when _kind = {{ set_index }} then 1 end)
            over ({{ frames.rank }}) as _s{{ set_index }}__seq
        {%- endif %}
    {%- endfor %}
    {%- for pick in group.pick_groups if pick.window != 'in_between' %},
        {%- if pick.within %}
        {{ activity_schema._dataset_within_rank(group, pick) }}
            as _r_{{ pick.pick_group }}
        {%- else %}
        {{ activity_schema._dataset_pick_rank(pick, frames) }}
            as _r_{{ pick.pick_group }}
        {%- endif %}
    {%- endfor %}
    {%- for output in group.windowed_outputs if output.within %}
        {{- activity_schema._dataset_within_columns(group, output) }}
    {%- endfor %}
    {%- for output in group.windowed_outputs if not output.within %}
        {%- if output.pick_group is none %},
        {{ activity_schema._dataset_window_expression(output, frames) }}
            over ({{ frames[output.window] }}) as _o{{ output.index }}
        {%- endif %}
        {%- if output.aggregate == 'listagg' and output.window == 'after' %},
        {{ activity_schema._dataset_window_expression(output, frames) }}
            over ({{ frames.ever }}) as _e{{ output.index }}
        {%- endif %}
        {%- if activity_schema._dataset_needs_row_count(output) %},
        count(case when _kind = {{ output.set }} then 1 end)
            over ({{ frames[output.window] }}) as _n{{ output.index }}
        {%- endif %}
    {%- endfor %}
    {%- for output in group.between_outputs
        if output.aggregate == 'listagg' %},
        coalesce({{ activity_schema._dataset_window_expression(output, frames) }}
            over ({{ frames.ever }}), 0)
        - coalesce({{ activity_schema._dataset_window_expression(output, frames) }}
            over ({{ frames.after }}), 0) as _a{{ output.index }}
    {%- endfor %}
    {%- if group.folded_between %}
        {{- activity_schema._dataset_between_columns(group) }}
    {%- endif %}
{%- endmacro %}


{#-
    A time-bounded window ('within' d) in terms of the window pass's frames:
    the sum (or count) of a measure over [t - d, t) before, or (t, t + d]
    after, is the measure over the rows before t (after t) less the rows
    before t - d (up to t, for after), each a frame from the partition's
    start: `up` holds the rows with ts <= t + d, `down` the rows with
    ts >= t - d (`_dataset_since_frame`). No frame slides, so nothing is
    recomputed per row.
-#}
{% macro _dataset_within_sum(group, output, measure, function='count') -%}
    {%- set frames = group.frames -%}
    {%- set interval = activity_schema._dataset_interval(output.within) -%}
    {%- set up = 'partition by ' ~ group.partition ~ ' order by ts range'
        ~ ' between unbounded preceding and ' ~ interval ~ ' following' -%}
    {%- set down = activity_schema._dataset_since_frame(
        group.partition, interval) -%}
    {%- set over = {} -%}
    {%- for name, frame in {'ever': frames.ever, 'after': frames.after,
        'before': frames.before, 'up': up, 'down': down}.items() -%}
        {%- set aggregated = function ~ '(' ~ measure ~ ') over (' ~ frame
            ~ ')' -%}
        {%- do over.update({name: aggregated if function == 'count'
            else 'coalesce(' ~ aggregated ~ ', 0)'}) -%}
    {%- endfor -%}
    {%- if output.window == 'after' -%}
        ({{ over.up }} - ({{ over.ever }} - {{ over.after }}))
    {%- else -%}
        ({{ over.before }} - ({{ over.ever }} - {{ over.down }}))
    {%- endif -%}
{%- endmacro %}


{#-
    The rank of the row a time-bounded pick reads: the window holds the
    set's ranks lo..hi (after: lo is one more than the set's rows up to t,
    hi the rows up to t + d; before: lo is one more than the rows before
    t - d, hi the rows before t). first is lo, last hi, nth lo + n - 1; a
    first_value or last_value is the least (greatest) rank of a non-null
    value at or after lo (at or before hi), kept when it is in the window.
-#}
{% macro _dataset_within_rank(group, pick) -%}
    {%- set frames = group.frames -%}
    {%- set rows = 'case when _kind = ' ~ pick.set ~ ' then 1 end' -%}
    {%- set whole = 'count(' ~ rows ~ ') over (' ~ frames.ever ~ ')' -%}
    {%- set in_window = activity_schema._dataset_within_sum(
        group, pick, rows) -%}
    {%- if pick.window == 'after' -%}
        {%- set lo = '(' ~ whole ~ ' - count(' ~ rows ~ ') over ('
            ~ frames.after ~ ') + 1)' -%}
    {%- else -%}
        {%- set lo = '(count(' ~ rows ~ ') over (' ~ frames.before ~ ') - '
            ~ in_window ~ ' + 1)' -%}
    {%- endif -%}
    {%- set hi = '(' ~ lo ~ ' + ' ~ in_window ~ ' - 1)' -%}
    {%- if pick.non_null -%}
        {%- set ranked = 'case when _kind = ' ~ pick.set ~ ' and _s'
            ~ pick.set ~ '__' ~ pick.column ~ ' is not null then _kind_seq'
            ~ ' end' -%}
        {%- set up = 'partition by ' ~ group.partition ~ ' order by ts range'
            ~ ' between unbounded preceding and '
            ~ activity_schema._dataset_interval(pick.within) ~ ' following' -%}
        {%- set down = activity_schema._dataset_since_frame(
            group.partition,
            activity_schema._dataset_interval(pick.within)) -%}
        {%- if pick.pick == 'first' -%}
            {%- set rank = 'min(' ~ ranked ~ ') over (' ~ (frames.after
                if pick.window == 'after' else down) ~ ')' -%}
            case when {{ rank }} <= {{ hi }} then {{ rank }} end
        {%- else -%}
            {%- set rank = 'max(' ~ ranked ~ ') over (' ~ (up
                if pick.window == 'after' else frames.before) ~ ')' -%}
            case when {{ rank }} >= {{ lo }} then {{ rank }} end
        {%- endif -%}
    {%- elif pick.pick == 'first' -%}
        case when {{ in_window }} > 0 then {{ lo }} end
    {%- elif pick.pick == 'last' -%}
        case when {{ in_window }} > 0 then {{ hi }} end
    {%- else -%}
        case when {{ in_window }} >= {{ pick.nth }}
            then {{ lo }} + {{ pick.nth - 1 }} end
    {%- endif -%}
{%- endmacro %}


{#-
    The window columns of an aggregate with 'within': `_o` its value (from
    sums and counts over the time-bounded window, `_dataset_within_sum`),
    `_n` the window's row count with a default, and for a listagg `_a` the
    length of the list's text before the window.
-#}
{% macro _dataset_within_columns(group, output) -%}
    {%- set in_set = '_kind = ' ~ output.set -%}
    {%- set value = '_s' ~ output.set ~ '__' ~ output.column -%}
    {%- set rows = 'case when ' ~ in_set ~ ' then 1 end' -%}
    {%- set values = 'case when ' ~ in_set ~ ' then ' ~ value ~ ' end' -%}
    {%- set counted = activity_schema._dataset_within_sum(
        group, output, values) if output.column is not none else '' -%}
    {%- set sum = 'sum' -%}
    {%- if output.aggregate == 'count' and output.column is none -%}
        {%- set expression = activity_schema._dataset_within_sum(
            group, output, rows) -%}
    {%- elif output.aggregate in ['count', 'is_null', 'not_null'] -%}
        {%- set expression = counted -%}
    {%- elif output.aggregate == 'count_if' -%}
        {%- set expression = activity_schema._dataset_within_sum(group, output,
            'case when ' ~ in_set ~ ' and ' ~ value ~ ' then 1 end') -%}
    {%- elif output.aggregate in ['sum', 'avg', 'sum_bool'] -%}
        {%- set summed = activity_schema._dataset_within_sum(group, output,
            'case when ' ~ in_set ~ ' then case when ' ~ value
            ~ ' then 1 when not ' ~ value ~ ' then 0 end end'
            if output.aggregate == 'sum_bool' else values, sum) -%}
        {%- if output.aggregate == 'avg' -%}
            {%- set summed = summed ~ ' * 1.0 / ' ~ counted -%}
        {%- endif -%}
        {%- set expression = 'case when ' ~ counted ~ ' > 0 then ' ~ summed
            ~ ' end' -%}
    {%- elif output.aggregate == 'listagg' -%}
        {%- set length = 'case when ' ~ in_set ~ ' and ' ~ value
            ~ ' is not null then length(cast(' ~ value ~ ' as '
            ~ activity_schema.feature_sql_type('string') ~ ')) + '
            ~ output.delimiter | length ~ ' end' -%}
        {%- set expression = 'case when ' ~ counted ~ ' > 0 then '
            ~ activity_schema._dataset_within_sum(group, output, length, sum)
            ~ ' end' -%}
        {%- set frames = group.frames -%}
        {%- set total = 'coalesce(sum(' ~ length ~ ') over (' ~ frames.ever
            ~ '), 0)' -%}
        {%- set bounded = activity_schema._dataset_within_sum(
            group, output, length, sum) -%}
        {#- The text before the window: up to t (after), before t - d
            (before: the rows before t less the window). -#}
        {%- if output.window == 'after' -%}
            {%- set before_window = total ~ ' - coalesce(sum(' ~ length
                ~ ') over (' ~ frames.after ~ '), 0)' -%}
        {%- else -%}
            {%- set before_window = 'coalesce(sum(' ~ length ~ ') over ('
                ~ frames.before ~ '), 0) - ' ~ bounded -%}
        {%- endif -%},
        {{ before_window }} as _a{{ output.index }}
    {%- endif -%}
    {%- if output.pick_group is none -%},
        {{ expression }} as _o{{ output.index }}
    {%- endif -%}
    {%- if activity_schema._dataset_needs_row_count(output) -%},
        {{ activity_schema._dataset_within_sum(group, output, rows) }}
            as _n{{ output.index }}
    {%- endif -%}
{%- endmacro %}


{#- An interval literal of a 'within' bound. -#}
{% macro _dataset_interval(within) -%}
    {{ return(adapter.dispatch('_dataset_interval', 'activity_schema')(
        within)) }}
{%- endmacro %}

{% macro default___dataset_interval(within) -%}
    interval '{{ within.amount }} {{ within.unit }}'
{%- endmacro %}

{% macro spark___dataset_interval(within) -%}
    interval {{ within.amount }} {{ within.unit }}
{%- endmacro %}


{#-
    The window columns of a group's `in_between` pass, over the primary
    row's bucket: the ranks of its in-between picks and its in-between
    outputs (with their `_n` row counts).
-#}
{% macro _dataset_between_columns(group) -%}
    {%- set frames = group.frames -%}
    {%- for pick in group.pick_groups if pick.window == 'in_between' %},
        {%- set seq = 'case when _kind = ' ~ pick.set
            ~ (' and _s' ~ pick.set ~ '__' ~ pick.column ~ ' is not null'
               if pick.non_null else '')
            ~ ' then _s' ~ pick.set ~ '__seq end' %}
        {%- if pick.pick == 'nth' %}
        case
            when count({{ seq }}) over ({{ frames.in_between }})
                >= {{ pick.nth }}
                then min({{ seq }}) over ({{ frames.in_between }})
                + {{ pick.nth - 1 }}
        end as _r_{{ pick.pick_group }}
        {%- else %}
        {{ 'min' if pick.pick == 'first' else 'max' }}({{ seq }})
            over ({{ frames.in_between }}) as _r_{{ pick.pick_group }}
        {%- endif %}
    {%- endfor %}
    {%- for output in group.between_outputs %}
        {%- if output.pick_group is none %},
        {{ activity_schema._dataset_window_expression(output, frames) }}
            over ({{ frames.in_between }}) as _o{{ output.index }}
        {%- endif %}
        {%- if activity_schema._dataset_needs_row_count(output) %},
        count(case when _kind = {{ output.set }} then 1 end)
            over ({{ frames.in_between }}) as _n{{ output.index }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#-
    The condition a stream row meets to be a row of an appended set: its
    filters, and a value in every column of its join conditions (null
    equals nothing).
-#}
{% macro _dataset_set_condition(appended_set) -%}
    {%- set parts = [activity_schema._dataset_condition(appended_set.filters)]
        if appended_set.filters else [] -%}
    {%- for condition in appended_set.join -%}
        {%- do parts.append(activity_schema._dataset_value(condition.column)
            ~ ' is not null') -%}
    {%- endfor -%}
    {{ parts | join(' and ') }}
{%- endmacro %}


{#-
    The rank (by ts, activity_id, among the set's rows) of the row a pick
    of a column other than ts reads, at a primary row, from counts of the
    set's rows: the set's rows before a primary row are its first ones, the
    rows after it its last ones, so the n-th row of a window is rank n
    (ever, before) or the total less the rows after plus n (after). Null
    when the window holds no row (fewer than n rows for nth).
-#}
{% macro _dataset_pick_rank(group, frames) -%}
    {%- set counted = 'count(case when _kind = ' ~ group.set ~ ' then 1 end)'
        ~ ' over (' -%}
    {%- set total = counted ~ frames.ever ~ ')' -%}
    {%- set in_window = counted ~ frames[group.window] ~ ')' -%}
    {%- if group.non_null -%}
        {{ 'min' if group.pick == 'first' else 'max' }}(case
            when _kind = {{ group.set }}
                and _s{{ group.set }}__{{ group.column }} is not null
                then _kind_seq
        end) over ({{ frames[group.window] }})
    {%- elif group.pick == 'nth' and group.window == 'after' -%}
        case when {{ in_window }} >= {{ group.nth }}
            then {{ total }} - {{ in_window }} + {{ group.nth }} end
    {%- elif group.pick == 'nth' -%}
        case when {{ in_window }} >= {{ group.nth }} then {{ group.nth }} end
    {%- elif group.window == 'after' and group.pick == 'first' -%}
        case when {{ in_window }} > 0
            then {{ total }} - {{ in_window }} + 1 end
    {%- elif group.window == 'after' -%}
        case when {{ in_window }} > 0 then {{ total }} end
    {%- elif group.pick == 'first' -%}
        case when {{ in_window }} > 0 then 1 end
    {%- else -%}
        nullif({{ in_window }}, 0)
    {%- endif -%}
{%- endmacro %}


{#- The typed SQL of a dataset column read from a stream row. -#}
{% macro _dataset_value(column) -%}
    {%- if column.source == 'spine' -%}
        {{ '_period_start' if column.column == 'period_start' else 'ts' }}
    {%- elif column.source == 'feature' -%}
        {{ activity_schema.json_extract('feature_json', column.column, column.type) }}
    {%- else -%}
        cast({{ column.column }} as {{ activity_schema._dataset_type(column) }})
    {%- endif -%}
{%- endmacro %}


{% macro _dataset_type(column) -%}
    {{ return(activity_schema.feature_sql_type(column.type)) }}
{%- endmacro %}


{#-
    A column's typed value on the rows of one kind of `unified` (0: the
    primary activity, n: appended set n), null on the others.
-#}
{% macro _dataset_kind_value(kind, column) -%}
    cast(case when kinds._kind = {{ kind }}
        then {{ activity_schema._dataset_value(column) }} end
        as {{ activity_schema._dataset_type(column) }})
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
    The window-function expression (without `over`) of an output at a
    primary row: over a frame of `windowed` (ever, before, after) or over
    the primary row's bucket (in between).
-#}
{% macro _dataset_window_expression(output, frames) -%}
    {%- set in_set = '_kind = ' ~ output.set -%}
    {%- set value = '_s' ~ output.set ~ '__' ~ output.column -%}
    {%- if output.kind == 'pick' and frames.ts_pick == 'ignore_nulls'
        and output.window in ['before', 'after'] -%}
        {#- A pick of ts; other picks are joined back by rank. -#}
        {{ 'first_value' if output.pick == 'first' else 'last_value' }}(
            case when {{ in_set }} then ts end ignore nulls)
    {%- elif output.kind == 'pick' -%}
        {{ 'min' if output.pick == 'first' else 'max' }}(
            case when {{ in_set }} then ts end)
    {%- elif output.aggregate == 'count' -%}
        count(case when {{ in_set }} then
            {{- ' _one' if output.column is none else ' ' ~ value }} end)
    {%- elif output.aggregate in ['count_distinct', 'listagg_distinct'] -%}
        {#- Each value once: at its first row of the set (ever, before),
            its last (after) or its first in the bucket (in between). -#}
        {%- set rank = value ~ {
            'after': '__last_rank',
            'in_between': '__bucket_first_rank',
        }.get(output.window, '__first_rank') -%}
        {%- set once = in_set ~ ' and ' ~ value ~ ' is not null and '
            ~ rank ~ ' = 1' -%}
        {%- if output.aggregate == 'count_distinct' -%}
            sum(case when {{ once }} then 1 else 0 end)
        {%- else -%}
            {{ activity_schema._dataset_collect(value, once) }}
        {%- endif -%}
    {%- elif output.aggregate == 'count_if' -%}
        count(case when {{ in_set }} and {{ value }} then 1 end)
    {%- elif output.aggregate == 'sum_bool' -%}
        sum(case
            when {{ in_set }} and {{ value }} then 1
            when {{ in_set }} and not {{ value }} then 0
        end)
    {%- elif output.aggregate in ['is_null', 'not_null'] -%}
        count(case when {{ in_set }} then {{ value }} end)
    {%- elif output.aggregate == 'listagg' -%}
        {#- The length of the window's text with a delimiter after each
            value: the text is cut out of the entity's whole list. -#}
        sum(case when {{ in_set }} and {{ value }} is not null
            then length(cast({{ value }} as
                {{ activity_schema.feature_sql_type('string') }}))
            + {{ output.delimiter | length }}
        end)
    {%- else -%}
        {{ activity_schema._dataset_aggregate_function(output) }}(
            case when {{ in_set }} then {{ value }} end)
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
    Whether an output needs the count of rows in its window: an aggregate
    other than the counts and is_null / not_null, with a default (the
    default is for no rows, not for null values).
-#}
{% macro _dataset_needs_row_count(output) -%}
    {{ return(output.kind == 'aggregate'
        and output.aggregate not in ['count', 'count_distinct', 'count_if',
            'is_null', 'not_null']
        and output.default is not none) }}
{%- endmacro %}


{#-
    The final SQL of an appended output, in `final`:
    - a pick of ts is the window's min or max ts; a pick of another column,
      an nth pick, a first_value or a last_value comes from the picked row,
      joined back as `pick_<group>`;
    - a count (of rows, values, distinct values or true values) over no
      rows is 0; is_null and not_null compare the count of values with 0;
    - a listagg is cut out of the entity's whole list (`lists`): the text
      of the window's values starts after the text of the values before the
      window and is as long as the window's text (`_o`, counting a
      delimiter after every value) less one delimiter;
    - a listagg_distinct renders the window's collected values;
    - any other output over no rows is null, or its default. "No rows" is
      a null picked ts or rank, or a zero row count in the window; a pick
      or aggregate of null values stays null.
-#}
{% macro _dataset_output_expression(output) -%}
    {%- set source = output.source -%}
    {%- set computed = source ~ '._o' ~ output.index -%}
    {%- if output.aggregate in ['count', 'count_distinct', 'count_if'] -%}
        {{ return('coalesce(' ~ computed ~ ', 0)') }}
    {%- elif output.aggregate == 'is_null' -%}
        {{ return('coalesce(' ~ computed ~ ', 0) = 0') }}
    {%- elif output.aggregate == 'not_null' -%}
        {{ return('coalesce(' ~ computed ~ ', 0) > 0') }}
    {%- endif -%}
    {%- if output.pick_group is not none -%}
        {%- set value = 'pick_' ~ output.pick_group ~ '._s' ~ output.set
            ~ '__' ~ output.column -%}
        {%- set found = source ~ '._r_' ~ output.pick_group
            ~ ' is not null' -%}
    {%- elif output.kind == 'pick' -%}
        {%- set value = computed -%}
        {%- set found = computed ~ ' is not null' -%}
    {%- elif output.aggregate == 'listagg' -%}
        {%- set whole = output.lists ~ '._l' ~ output.index -%}
        {%- set length = 'cast(' ~ computed ~ ' - '
            ~ output.delimiter | length ~ ' as integer)' -%}
        {%- set start = {
            'before': '1',
            'after': 'cast(' ~ source ~ '._e' ~ output.index ~ ' - '
                ~ computed ~ ' + 1 as integer)',
            'in_between': 'cast(' ~ source ~ '._a' ~ output.index
                ~ (' - ' ~ computed if output.spine else '')
                ~ ' + 1 as integer)',
        }.get(output.window) -%}
        {%- if output.within -%}
            {%- set start = 'cast(' ~ source ~ '._a' ~ output.index
                ~ ' + 1 as integer)' -%}
        {%- endif -%}
        {%- set value = whole if output.window == 'ever' else 'substr('
            ~ whole ~ ', ' ~ start ~ ', ' ~ length ~ ')' -%}
    {%- elif output.aggregate == 'listagg_distinct' -%}
        {%- set value = activity_schema._dataset_render_list(
            computed, output.delimiter) -%}
    {%- else -%}
        {%- set value = computed -%}
    {%- endif -%}
    {%- if output.kind == 'aggregate' -%}
        {%- set found = source ~ '._n' ~ output.index ~ ' > 0' -%}
    {%- endif -%}
    {%- if output.default is none -%}
        {{ return(value) }}
    {%- endif -%}
    {%- set default = activity_schema._dataset_literal(output.default) -%}
    {%- if output.aggregate not in ['sum', 'avg', 'sum_bool'] -%}
        {%- set default = 'cast(' ~ default ~ ' as '
            ~ activity_schema.feature_sql_type(output.output_type) ~ ')' -%}
    {%- endif -%}
    {{ return('case when ' ~ found ~ ' then ' ~ value ~ ' else ' ~ default
        ~ ' end') }}
{%- endmacro %}


{#-
    The entity's whole list of a listagg: the non-null values (text) of
    its rows of a set, by (ts, activity_id), with the delimiter between
    them; null when there are none. An aggregate over `unified`, grouped by
    entity.
-#}
{% macro _dataset_ordered_listagg(value, delimiter) -%}
    {{ return(adapter.dispatch('_dataset_ordered_listagg', 'activity_schema')(
        value, delimiter)) }}
{%- endmacro %}

{% macro default___dataset_ordered_listagg(value, delimiter) -%}
    string_agg({{ value }}, {{ activity_schema._dataset_literal(delimiter) }}
        order by ts, activity_id)
{%- endmacro %}

{% macro snowflake___dataset_ordered_listagg(value, delimiter) -%}
    listagg({{ value }}, {{ activity_schema._dataset_literal(delimiter) }})
        within group (order by ts, activity_id)
{%- endmacro %}

{#- Spark: the values sorted with their (ts, activity_id), then joined
    (array_join skips nulls; a list of nulls only is null, as elsewhere). -#}
{% macro spark___dataset_ordered_listagg(value, delimiter) -%}
    case when count({{ value }}) > 0 then array_join(transform(array_sort(
        collect_list(named_struct(
            'ts', ts, 'activity_id', activity_id, 'value', {{ value }}))),
        item -> item.value), {{ activity_schema._dataset_literal(delimiter) }})
    end
{%- endmacro %}


{#-
    A window aggregate (without `over`) collecting a value on the rows
    where a condition holds (each value at most once: see
    `_dataset_window_expression`), for a listagg_distinct.
-#}
{% macro _dataset_collect(value, condition) -%}
    {{ return(adapter.dispatch('_dataset_collect', 'activity_schema')(
        value, condition)) }}
{%- endmacro %}

{% macro default___dataset_collect(value, condition) -%}
    array_agg({{ value }}) filter (where {{ condition }})
{%- endmacro %}

{% macro duckdb___dataset_collect(value, condition) -%}
    list({{ value }}) filter (where {{ condition }})
{%- endmacro %}

{% macro spark___dataset_collect(value, condition) -%}
    collect_list(case when {{ condition }} then {{ value }} end)
{%- endmacro %}


{#-
    The text of a listagg_distinct from its collected values: sorted by
    value (as the column's type sorts), cast to text, joined by the
    delimiter; null when none were collected.
-#}
{% macro _dataset_render_list(values, delimiter) -%}
    {{ return(adapter.dispatch('_dataset_render_list', 'activity_schema')(
        values, delimiter)) }}
{%- endmacro %}

{% macro default___dataset_render_list(values, delimiter) -%}
    (
        select
            string_agg(
                cast(item as {{ activity_schema.feature_sql_type('string') }}),
                {{ activity_schema._dataset_literal(delimiter) }}
                order by item
            )
        from unnest({{ values }}) as collected (item)
    )
{%- endmacro %}

{% macro duckdb___dataset_render_list(values, delimiter) -%}
    case when len({{ values }}) > 0 then array_to_string(
        list_sort({{ values }}), {{ activity_schema._dataset_literal(delimiter) }})
    end
{%- endmacro %}

{% macro spark___dataset_render_list(values, delimiter) -%}
    case when size({{ values }}) > 0 then array_join(transform(
        array_sort({{ values }}), item -> cast(item as string)),
        {{ activity_schema._dataset_literal(delimiter) }})
    end
{%- endmacro %}
