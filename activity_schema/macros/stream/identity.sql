{#-
    Identity resolution: the customer of anonymous rows, from the logins
    that the stream's own rows record, then aliases and removals.

    - An observation is a row that carries both `anonymous_customer_id` A
      and `customer` C: "A was C at ts". A's observations are ordered by
      (ts, activity, activity_id).
    - A row of A without a customer of its own takes the customer of A's
      latest observation at or before its ts; a row earlier than A's first
      observation takes the customer of that first observation. An id never
      observed stays anonymous.
    - A row that carries its own customer keeps it.
    - Aliases (customer -> canonical customer) then replace the customer
      everywhere; chains resolve to their end; a cycle is an error that
      names the ids.
    - A removal removes every row whose resolved customer is the removed
      customer (after aliases: an erasure request follows a merged account
      to the person it was merged into).

    The stream keeps the customer the source gave in `_source_customer`.
-#}


{#-
    stream_identity(identity) -> the identity inputs of one run, as a dict:
    - aliases: {customer: canonical customer} of every aliased customer,
      chains resolved to their end;
    - removed: the canonical ids of the removed customers, sorted;
    - has_removals: whether the stream declares removals (its removed rows
      are then kept in `stream_removed_relation`).

    identity: none, or a dict with optional keys
    - aliases: {'relation': <ref>, 'customer': <column>,
                'canonical_customer': <column>}
    - removals: {'relation': <ref>, 'customer': <column>}
    The relations are read when the run executes (they are small: one row
    per merged or removed customer). An id with two canonical customers,
    a cycle of aliases, or a missing id fails, naming the ids.
-#}
{% macro stream_identity(identity) -%}
    {%- set where = "activity_schema.stream in model '" ~ model.name ~ "'" -%}
    {%- set identity = identity or {} -%}
    {%- if identity is not mapping -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'identity' must be a dict with the keys"
            ~ " 'aliases' and/or 'removals', got '" ~ identity ~ "'.") }}
    {%- endif -%}
    {%- set shapes = {
        'aliases': ['relation', 'customer', 'canonical_customer'],
        'removals': ['relation', 'customer'],
    } -%}
    {%- for key, value in identity.items() -%}
        {%- if key not in shapes -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument 'identity' has an unknown key '" ~ key
                ~ "'; allowed keys: aliases, removals.") }}
        {%- endif -%}
        {%- if value is not mapping
            or value.keys() | sort | list != shapes[key] | sort | list -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": identity['" ~ key ~ "'] must be a dict with"
                ~ " exactly the keys " ~ shapes[key] | join(', ')
                ~ ", got '" ~ value ~ "'.") }}
        {%- endif -%}
    {%- endfor -%}

    {%- set pairs = [] -%}
    {%- set removals = [] -%}
    {#- Where an input's relation is not built yet (a compile, or SQLFluff,
        against an empty warehouse), the SQL is rendered without its facts;
        a run that builds the stream fails instead, naming the relation. -#}
    {%- set readable = {} -%}
    {%- for key, spec in identity.items() if execute -%}
        {%- set found = load_relation(spec.relation) -%}
        {%- if found is none and activity_schema._stream_runs_now() -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": the relation of identity['" ~ key ~ "'], "
                ~ spec.relation ~ ", does not exist; build it first (it is"
                ~ " a ref of the stream, so `dbt build` does).") }}
        {%- endif -%}
        {%- do readable.update({key: found is not none}) -%}
    {%- endfor -%}
    {%- if readable.get('aliases') -%}
        {%- set spec = identity['aliases'] -%}
        {%- set query -%}
            select distinct
                cast({{ spec.customer }} as {{ dbt.type_string() }}),
                cast({{ spec.canonical_customer }} as {{ dbt.type_string() }})
            from {{ spec.relation }}
        {%- endset -%}
        {%- for row in run_query(query) -%}
            {%- do pairs.append([row[0], row[1]]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if readable.get('removals') -%}
        {%- set spec = identity['removals'] -%}
        {%- set query -%}
            select distinct
                cast({{ spec.customer }} as {{ dbt.type_string() }})
            from {{ spec.relation }}
        {%- endset -%}
        {%- for row in run_query(query) -%}
            {%- do removals.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set aliases = activity_schema._identity_canonical(pairs, where) -%}
    {%- set removed = [] -%}
    {%- for customer in removals -%}
        {%- if customer is none -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": a removal in " ~ identity['removals'].relation
                ~ " has no customer.") }}
        {%- endif -%}
        {%- set canonical = aliases.get(customer, customer) -%}
        {%- if canonical not in removed -%}
            {%- do removed.append(canonical) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({
        'aliases': aliases,
        'removed': removed | sort,
        'has_removals': 'removals' in identity,
    }) }}
{%- endmacro %}


{#- {customer: canonical} of alias pairs, chains followed to their end. -#}
{% macro _identity_canonical(pairs, where) -%}
    {%- set targets = {} -%}
    {%- for customer, canonical in pairs -%}
        {%- if customer is none or canonical is none -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": an alias has no " ~ ('customer' if customer is none
                else 'canonical customer') ~ " (" ~ customer ~ " -> "
                ~ canonical ~ ").") }}
        {%- endif -%}
        {%- if customer in targets and targets[customer] != canonical -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": customer '" ~ customer ~ "' has several canonical"
                ~ " customers: '" ~ [targets[customer], canonical] | sort
                | join("', '") ~ "'.") }}
        {%- endif -%}
        {%- do targets.update({customer: canonical}) -%}
    {%- endfor -%}
    {%- set resolved = {} -%}
    {%- for start in targets.keys() | sort -%}
        {%- set path = [start] -%}
        {%- set current = [targets[start]] -%}
        {%- for _ in range(targets | length + 1)
            if current[-1] in targets and current[-1] not in resolved -%}
            {%- if current[-1] in path -%}
                {%- set cycle = path[path.index(current[-1]):] + [current[-1]] -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": the customer aliases form a cycle: "
                    ~ cycle | join(' -> ') ~ ".") }}
            {%- endif -%}
            {%- do path.append(current[-1]) -%}
            {%- do current.append(targets[current[-1]]) -%}
        {%- endfor -%}
        {%- set end = resolved.get(current[-1], current[-1]) -%}
        {%- for customer in path -%}
            {%- do resolved.update({customer: end}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(resolved) }}
{%- endmacro %}


{#- A select of string literals as the named columns; no rows when empty. -#}
{% macro _identity_values(rows, columns) -%}
    {%- set text = dbt.type_string() -%}
    {%- if rows | length == 0 -%}
    select
        {%- for column in columns %}
        cast(null as {{ text }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- else -%}
    select
        {%- for column in columns %}
        cast({{ column }} as {{ text }}) as {{ column }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from (
        values
        {%- for row in rows %}
            ({% for value in row -%}
                {{ dbt.string_literal(value) }}{{ ', ' if not loop.last }}
            {%- endfor %}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as identity_values ({{ columns | join(', ') }})
    {%- endif -%}
{%- endmacro %}


{#-
    The common table expressions `identity_aliases` (customer,
    canonical_customer) and `identity_removed` (customer), each followed by
    a comma.
-#}
{% macro _identity_ctes(state) -%}
identity_aliases as (
    {{ activity_schema._identity_values(
        state.aliases.items() | sort | list,
        ['customer', 'canonical_customer']) | indent(4) }}
),

identity_removed as (
    {{ activity_schema._identity_values(
        activity_schema._identity_singletons(state.removed),
        ['customer']) | indent(4) }}
),
{%- endmacro %}


{% macro _identity_singletons(values) -%}
    {%- set rows = [] -%}
    {%- for value in values -%}
        {%- do rows.append([value]) -%}
    {%- endfor -%}
    {{ return(rows) }}
{%- endmacro %}


{#-
    The select of the time slices of the anonymous ids of `observations`
    (columns anonymous_customer_id, ts, activity, activity_id, obs_value:
    the observation's canonical customer, or null for an observation of a
    removed customer whose id is not kept): one row per run of consecutive
    observations with the same value, (anonymous_customer_id, from_ts,
    to_ts, slice_value), covering [from_ts, to_ts) with null for open
    ends. The first slice of an id starts at minus infinity: rows before
    the first observation take its value. An id whose observations all
    have one value has one slice (checked by a grouping, without sorting
    its observations).
-#}
{% macro _identity_slices_sql(observations) -%}
    {%- set window -%}
        partition by anonymous_customer_id order by ts, activity, activity_id
    {%- endset -%}
    select
        anonymous_customer_id,
        cast(null as {{ dbt.type_timestamp() }}) as from_ts,
        cast(null as {{ dbt.type_timestamp() }}) as to_ts,
        min(obs_value) as slice_value
    from {{ observations }}
    group by anonymous_customer_id
    having
        count(obs_value) = 0
        or (count(obs_value) = count(*) and min(obs_value) = max(obs_value))
    union all
    select
        anonymous_customer_id,
        case when island > 1 then from_ts end as from_ts,
        lead(from_ts) over (
            partition by anonymous_customer_id order by island
        ) as to_ts,
        slice_value
    from (
        select
            anonymous_customer_id,
            island,
            min(ts) as from_ts,
            min(obs_value) as slice_value
        from (
            select
                *,
                sum(starts) over (
                    {{ window }}
                    rows between unbounded preceding and current row
                ) as island
            from (
                select
                    *,
                    case
                        when obs_number = 1 then 1
                        when previous_value = obs_value then 0
                        when previous_value is null and obs_value is null
                            then 0
                        else 1
                    end as starts
                from (
                    select
                        observed.*,
                        row_number() over ({{ window }}) as obs_number,
                        lag(obs_value) over ({{ window }}) as previous_value
                    from {{ observations }} as observed
                    inner join (
                        select anonymous_customer_id as shared_id
                        from {{ observations }}
                        group by anonymous_customer_id
                        having
                            count(obs_value) > 0
                            and (
                                count(obs_value) < count(*)
                                or min(obs_value) < max(obs_value)
                            )
                    ) as shared
                        on observed.anonymous_customer_id = shared.shared_id
                ) as ordered
            ) as marked
        ) as numbered
        group by anonymous_customer_id, island
    ) as islands
{%- endmacro %}


{#-
    The select of `rows` (the stream's base and metadata columns, `customer`
    as the source gave it, `_source_customer` equal to it) with `customer`
    resolved: own customers through the aliases, anonymous rows through the
    slices of `slices` (`_identity_slices_sql`, whose values are canonical
    already); plus `_removed`: true when the resolved customer is removed,
    or when the row lies in a slice of a removed customer whose id is not
    kept (a null value).
-#}
{% macro _identity_resolve_sql(rows, slices, columns) -%}
    select
        {%- for column in columns if column != 'customer' %}
        resolved.{{ column }},
        {%- endfor %}
        resolved.customer,
        coalesce(
            resolved.customer in (select customer from identity_removed),
            false
        )
        or resolved._in_removed_slice as _removed
    from (
        select
            {%- for column in columns if column != 'customer' %}
            own.{{ column }},
            {%- endfor %}
            case
                when own.customer is not null
                    then coalesce(aliased.canonical_customer, own.customer)
                else sliced.slice_value
            end as customer,
            own.customer is null
            and sliced.anonymous_customer_id is not null
            and sliced.slice_value is null as _in_removed_slice
        from {{ rows }} as own
        left join identity_aliases as aliased
            on own.customer = aliased.customer
        left join {{ slices }} as sliced
            on
                own.customer is null
                and own.anonymous_customer_id = sliced.anonymous_customer_id
                and (sliced.from_ts is null or own.ts >= sliced.from_ts)
                and (sliced.to_ts is null or own.ts < sliced.to_ts)
    ) as resolved
{%- endmacro %}


{#-
    The common table expressions of an incremental run that decide which
    stored rows are resolved again, each followed by a comma (they read
    `winners`, `stored`, `stored_keys`, `identity_aliases` and
    `identity_removed`):
    - `stale`: the stream's rows that the identity inputs no longer agree
      with (a customer that is now an alias, a removed customer, or an own
      customer whose alias now leads elsewhere). An alias deleted from its
      source is not looked for (it would take a scan of the whole stream):
      the reconcile restores its rows;
    - `devices`: the anonymous ids of the winners, of the stored rows in
      play and of the stale rows;
    - `device_stored_rows`: every stored row of those ids (the stream's
      and the removed rows), narrow, and `device_rows`: those whose key is
      not in play (two steps, so that the ids narrow the rows first);
    - `observations` and `slices`: the ids' observations as they now are,
      and their time slices;
    - `changed_devices`: the ids whose stored rows may resolve otherwise
      (a stale row's, or one whose observations changed, unless they were
      and stay all of one customer);
    - `candidates`: the winners (with the customer the source gave), the
      device rows of the changed devices and the stale rows without an
      anonymous id, to resolve.
      Removed observations stay as they are: their customer is not kept.
-#}
{% macro _stream_identity_candidates(stored_rows, columns, locator, state,
    stream_rows=none) -%}
    {%- set text = dbt.type_string() -%}
    {%- set narrow = ['activity', 'activity_id', 'ts', 'customer',
        'anonymous_customer_id', '_source_customer'] -%}
stale as (

    {#- A row's customer is stale when it is now an alias (a new merge,
        or a chain that grew), when it is removed, or when its own
        customer's alias now leads elsewhere. Where the warehouse filters
        by lists (`stream_filters_identity_by_list`), the identity inputs,
        small, are listed in the SQL, so that each condition is a filter
        on one column, served by an index; elsewhere they are joined. -#}
    select
        {%- for column in narrow %}
        current_rows.{{ column }},
        {%- endfor %}
        {{ 'current_rows.' ~ locator if locator
            else 'cast(null as ' ~ dbt.type_bigint() ~ ')' }} as _stream_row
    from {{ this }} as current_rows
    {%- set delta = activity_schema._stream_identity_delta(
        state, activity_schema._stream_identity_applied(
            this, stream_rows)) %}
    {%- set sources = delta.aliases.keys() | sort | list %}
    {%- set listed = sources + delta.removed %}
    {%- if listed and not activity_schema.stream_filters_identity_by_list() %}
    left join (
        {{ activity_schema._identity_values(
            delta.aliases.items() | sort | list,
            ['customer', 'canonical_customer']) | indent(8) }}
    ) as aliased
        on current_rows._source_customer = aliased.customer
    left join (
        {{ activity_schema._identity_values(
            activity_schema._identity_singletons(listed),
            ['customer']) | indent(8) }}
    ) as listed
        on current_rows.customer = listed.customer
    where
        listed.customer is not null
        or (
            aliased.customer is not null
            and current_rows.customer
            is distinct from aliased.canonical_customer
        )
    {%- elif listed %}
    left join identity_aliases as aliased
        on current_rows._source_customer = aliased.customer
    where
        current_rows.customer in {{ activity_schema._stream_string_list(listed) }}
        {%- if sources %}
        or (
            current_rows._source_customer
            in {{ activity_schema._stream_string_list(sources) }}
            and current_rows.customer
            is distinct from aliased.canonical_customer
        )
        {%- endif %}
    {%- else %}
    where 1 = 0
    {%- endif %}

),

devices as (

    select anonymous_customer_id from winners
    where anonymous_customer_id is not null
    union
    select anonymous_customer_id from stored
    where anonymous_customer_id is not null
    union
    select anonymous_customer_id from stale
    where anonymous_customer_id is not null

),

device_stored_rows as (

    select
        {%- for column in narrow %}
        current_rows.{{ column }},
        {%- endfor %}
        current_rows._stream_row,
        current_rows._removed,
        current_rows._observation
    from {{ stored_rows }} as current_rows
    inner join devices
        on current_rows.anonymous_customer_id = devices.anonymous_customer_id

),

device_rows as (

    select device_stored_rows.*
    from device_stored_rows
    left join stored_keys
        on
            device_stored_rows.activity = stored_keys.activity
            and device_stored_rows.activity_id = stored_keys.activity_id
    where stored_keys.activity_id is null

),

observations as (

    select
        device_rows.anonymous_customer_id,
        device_rows.ts,
        device_rows.activity,
        device_rows.activity_id,
        case
            when not device_rows._removed
                then coalesce(
                    aliased.canonical_customer, device_rows._source_customer)
        end as obs_value
    from device_rows
    left join identity_aliases as aliased
        on device_rows._source_customer = aliased.customer
    where device_rows._observation
    union all
    select
        winners.anonymous_customer_id,
        winners.ts,
        winners.activity,
        winners.activity_id,
        case
            when not winners._removed
                then coalesce(aliased.canonical_customer, winners.customer)
        end as obs_value
    from winners
    left join identity_aliases as aliased
        on winners.customer = aliased.customer
    where
        winners.anonymous_customer_id is not null
        and winners._observation

),

slices as (
    {{ activity_schema._identity_slices_sql('observations') | indent(4) }}
),

changed_devices as (

    {#- The devices whose stored rows may resolve otherwise: those of stale
        rows, and those whose observations differ from the stored ones as
        the stream holds them (old: the stored customers, a removed one's
        null; new: `observations`) unless both are all of one and the same
        value, which leaves the slices of the device as they were. A device
        without any observation keeps its rows anonymous. -#}
    select anonymous_customer_id
    from (
        {%- for source in ['device_rows', 'stored'] %}
        select
            anonymous_customer_id,
            case when not _removed then customer end as old_value,
            cast(null as {{ text }}) as new_value,
            1 as is_old
        from {{ source }}
        where _observation and anonymous_customer_id is not null
        union all
        {%- endfor %}
        select
            anonymous_customer_id,
            cast(null as {{ text }}) as old_value,
            obs_value as new_value,
            0 as is_old
        from observations
    ) as observed
    group by anonymous_customer_id
    having not (
        sum(is_old) > 0
        and count(old_value) = sum(is_old)
        and sum(1 - is_old) > 0
        and count(new_value) = sum(1 - is_old)
        and min(old_value) = max(old_value)
        and min(new_value) = max(new_value)
        and min(old_value) = min(new_value)
    )
    union
    select anonymous_customer_id from stale
    where anonymous_customer_id is not null

),

candidates as (

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        false as _from_stored,
        false as _was_removed,
        cast(null as {{ text }}) as _old_customer,
        _observation,
        cast(null as {{ dbt.type_bigint() }}) as _stream_row
    from winners
    where not _removed
    {%- for source in ['device_rows', 'stale'] %}
    union all
    select
        {%- for column in columns %}
        {%- if column == 'customer' %}
        _source_customer as customer,
        {%- elif column in narrow %}
        {{ column }},
        {%- else %}
        null as {{ column }},
        {%- endif %}
        {%- endfor %}
        true as _from_stored,
        {{ '_removed' if source == 'device_rows' else 'false' }}
            as _was_removed,
        customer as _old_customer,
        {{ '_observation' if source == 'device_rows'
            else '_source_customer is not null' }} as _observation,
        _stream_row
    from {{ source }}
    {%- if source == 'device_rows' %}
    where
        not (_removed and _observation)
        and anonymous_customer_id in (
            select anonymous_customer_id from changed_devices
        )
    {%- else %}
    where
        anonymous_customer_id is null
        and not exists (
            select 1 from stored_keys
            where
                stored_keys.activity = stale.activity
                and stored_keys.activity_id = stale.activity_id
        )
    {%- endif %}
    {%- endfor %}

),
{%- endmacro %}


{#-
    stream_filters_identity_by_list() -> true where an incremental run
    finds the stored rows that the identity inputs concern by filters on
    lists of literal ids (Postgres: an index on customer, and lists that it
    hashes), false where it joins them (DuckDB, which tests a list within
    an `or` value by value, and Spark).
-#}
{% macro stream_filters_identity_by_list() -%}
    {{ return(adapter.dispatch(
        'stream_filters_identity_by_list', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_filters_identity_by_list() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro postgres__stream_filters_identity_by_list() -%}
    {{ return(true) }}
{%- endmacro %}

