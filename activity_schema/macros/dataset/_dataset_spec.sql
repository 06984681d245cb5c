{#-
    Validates the arguments of `dataset` and returns a normalized spec:
    {
      'stream': relation, 'activities': [names],
      'primary': {'activity', 'selector', 'nth', 'columns', 'filters'},
      'sets': [{'index', 'activity', 'filters', 'join': [{'column',
                'primary_column'}], 'values': {column: value}}],
      'outputs': [{'alias', 'set', 'relationship', 'window', 'kind',
                   'pick', 'nth', 'non_null', 'aggregate', 'column', 'type',
                   'output_type', 'default', 'delimiter', 'index',
                   'pick_group', 'within'}],
    }
    where a column/value is {'column', 'source': 'stream' | 'feature',
    'type'}. Appended activities with the same activity, filters and join
    conditions share a set, so the stream's rows are read once per set. Picks of columns other
    than ts (and nth picks of any column) with the same set, relationship
    and n share a `pick_group` (they read the same row, joined back once).
    A first_value or last_value has a pick_group of its own (`non_null`:
    the first or last row of the window whose value is not null).

    Every error names the model, the argument and the allowed values.
-#}
{% macro _dataset_spec(stream, primary, append) -%}
    {%- set where = "activity_schema.dataset in model '" ~ model.name ~ "'" -%}
    {%- if primary is not mapping -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary' must be a mapping with keys"
            ~ " activity, selector, columns (and optional nth, filters).") }}
    {%- endif -%}
    {%- if append is mapping or append is string or append is not iterable -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'append' must be a list of mappings.") }}
    {%- endif -%}
    {%- do activity_schema._dataset_check_keys(
        where, 'primary', primary,
        ['activity', 'selector', 'nth', 'columns', 'filters', 'time_spine',
         'end']) -%}
    {%- set relationships = activity_schema.dataset_relationships() -%}
    {%- set selectors = activity_schema.dataset_selectors() -%}
    {%- set spine = activity_schema._dataset_time_spine(where, primary) -%}

    {#- The primary activity. -#}
    {%- set primary_declaration = activity_schema._dataset_activity(
        where, 'primary.activity', primary.get('activity')) -%}
    {%- set selector = primary.get('selector', 'all') -%}
    {%- if selector not in selectors -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.selector' is '" ~ selector
            ~ "'; allowed values: " ~ selectors | join(', ') ~ ".") }}
    {%- endif -%}
    {%- set nth = primary.get('nth') -%}
    {%- if selector == 'nth' and not activity_schema._dataset_is_whole(nth) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.nth' is '" ~ nth ~ "'; allowed"
            ~ " values: a whole number of at least 1 (with selector"
            ~ " 'nth').") }}
    {%- endif -%}
    {%- if selector != 'nth' and nth is not none -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.nth' is set, but primary.selector is '"
            ~ selector ~ "'; set selector 'nth' or leave nth out.") }}
    {%- endif -%}
    {%- set primary_columns = [] -%}
    {%- set aliases = [] -%}
    {%- for item in primary.get('columns', spine.columns if spine else []) -%}
        {%- set argument = 'primary.columns[' ~ loop.index0 ~ ']' -%}
        {%- if spine -%}
            {%- set column = activity_schema._dataset_spine_column(
                where, argument, item) -%}
        {%- else -%}
            {%- set column = activity_schema._dataset_column(
                where, argument, item, primary_declaration, 'primary',
                none) -%}
        {%- endif -%}
        {%- do activity_schema._dataset_claim_alias(
            where, argument, column.alias, aliases) -%}
        {%- do primary_columns.append(column) -%}
    {%- endfor -%}
    {%- if primary_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.columns' must name at least one"
            ~ " column, such as 'customer' or 'ts'.") }}
    {%- endif -%}
    {%- set primary_filters = activity_schema._dataset_filters(
        where, 'primary.filters', primary.get('filters', []),
        primary_declaration) -%}

    {#- The appended activities, grouped into sets. -#}
    {%- set sets = [] -%}
    {%- set set_by_key = {} -%}
    {%- set outputs = [] -%}
    {%- for listed in append -%}
        {%- set prefix = 'append[' ~ loop.index0 ~ ']' -%}
        {%- set item = activity_schema._dataset_named_aggregation(
            where, prefix, listed) if listed is string else listed -%}
        {%- if item is not mapping -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ prefix ~ "' must be a mapping with"
                ~ " keys activity, relationship, columns (and optional"
                ~ " nth, filters, join, within).") }}
        {%- endif -%}
        {%- do activity_schema._dataset_check_keys(
            where, prefix, item,
            ['activity', 'relationship', 'nth', 'columns', 'filters',
             'join', 'within']) -%}
        {%- set declaration = activity_schema._dataset_activity(
            where, prefix ~ '.activity', item.get('activity')) -%}
        {%- set relationship = item.get('relationship') -%}
        {%- if relationship not in relationships -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ prefix ~ ".relationship' is '"
                ~ relationship ~ "'; allowed values: "
                ~ relationships.keys() | join(', ') ~ ".") }}
        {%- endif -%}
        {%- set rule = relationships[relationship] -%}
        {%- set pick_nth = item.get('nth') -%}
        {%- if rule.get('pick') == 'nth'
            and not activity_schema._dataset_is_whole(pick_nth) -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ prefix ~ ".nth' is '" ~ pick_nth
                ~ "'; allowed values: a whole number of at least 1 (required"
                ~ " with relationship '" ~ relationship ~ "').") }}
        {%- endif -%}
        {%- if rule.get('pick') != 'nth' and pick_nth is not none -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ prefix ~ ".nth' is set, but"
                ~ " relationship '" ~ relationship ~ "' takes no n; allowed"
                ~ " relationships with nth: nth_ever, nth_before, nth_after,"
                ~ " nth_in_between.") }}
        {%- endif -%}
        {%- set relationship_name = relationship
            ~ ('_' ~ pick_nth if rule.get('pick') == 'nth' else '') -%}
        {%- set within = activity_schema._dataset_within(
            where, prefix ~ '.within', item.get('within'), relationship,
            rule) -%}
        {%- set filters = activity_schema._dataset_filters(
            where, prefix ~ '.filters', item.get('filters', []),
            declaration) -%}
        {%- set join = activity_schema._dataset_join(
            where, prefix ~ '.join', item.get('join', []), declaration,
            primary_declaration) -%}
        {%- if spine and (join or within) -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ prefix ~ "."
                ~ ('join' if join else 'within') ~ "' is set, but the primary"
                ~ " is a time spine, whose rows are periods, not rows of an"
                ~ " activity; join and within need a primary activity.") }}
        {%- endif -%}
        {%- set key = declaration.activity ~ '|' ~ filters | tojson ~ '|'
            ~ join | tojson -%}
        {%- if key not in set_by_key -%}
            {%- do set_by_key.update({key: {
                'index': sets | length + 1,
                'activity': declaration.activity,
                'filters': filters,
                'join': join,
                'values': {},
            }}) -%}
            {%- do sets.append(set_by_key[key]) -%}
        {%- endif -%}
        {%- set appended_set = set_by_key[key] -%}
        {%- if item.get('columns', []) | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ prefix ~ ".columns' must name at"
                ~ " least one column.") }}
        {%- endif -%}
        {%- for column_item in item.get('columns', []) -%}
            {%- set argument = prefix ~ '.columns[' ~ loop.index0 ~ ']' -%}
            {%- set column = activity_schema._dataset_column(
                where, argument, column_item, declaration, rule.kind,
                relationship_name ~ '_' ~ declaration.activity,
                relationship) -%}
            {%- do activity_schema._dataset_claim_alias(
                where, argument, column.alias, aliases) -%}
            {%- if column.column is not none -%}
                {%- do appended_set['values'].update({column.column: column}) -%}
            {%- endif -%}
            {#- A first_value or last_value reads the first or last row of
                its window whose value is not null: a pick of its own. -#}
            {%- set value_pick = {'first_value': 'first',
                'last_value': 'last'}.get(column.aggregate) -%}
            {%- set within_suffix = '_w' ~ within.seconds if within
                else '' -%}
            {%- if within and column.aggregate in ['min', 'max',
                'count_distinct', 'listagg_distinct'] -%}
                {{ exceptions.raise_compiler_error(
                    where ~ ": argument '" ~ argument ~ ".aggregate' is '"
                    ~ column.aggregate ~ "', which is not implemented with"
                    ~ " 'within'; allowed with within: count, sum, avg,"
                    ~ " first_value, last_value, listagg, count_if,"
                    ~ " sum_bool, is_null, not_null (and every pick).") }}
            {%- endif -%}
            {%- if value_pick -%}
                {%- set pick_group = appended_set['index'] ~ '_'
                    ~ relationship ~ '_' ~ column.aggregate ~ '_'
                    ~ column.column ~ within_suffix -%}
            {%- elif rule.kind == 'pick' and (column.column != 'ts'
                or rule.pick == 'nth' or within) -%}
                {%- set pick_group = appended_set['index'] ~ '_'
                    ~ relationship_name ~ within_suffix -%}
            {%- else -%}
                {%- set pick_group = none -%}
            {%- endif -%}
            {%- do outputs.append({
                'spine': spine is not none,
                'alias': column.alias,
                'set': appended_set['index'],
                'relationship': relationship,
                'window': rule.window,
                'kind': rule.kind,
                'pick': value_pick or rule.get('pick'),
                'nth': pick_nth,
                'non_null': value_pick is not none,
                'aggregate': column.aggregate,
                'column': column.column,
                'type': column.type,
                'output_type': column.output_type,
                'default': column.default,
                'delimiter': column.delimiter,
                'index': outputs | length + 1,
                'pick_group': pick_group,
                'within': within,
            }) -%}
        {%- endfor -%}
    {%- endfor -%}

    {%- set activities = [] if spine else [primary_declaration.activity] -%}
    {%- for appended_set in sets -%}
        {%- do activities.append(appended_set.activity) -%}
    {%- endfor -%}
    {{ return({
        'stream': stream,
        'activities': activities | unique | list,
        'primary': {
            'activity': primary_declaration.activity,
            'selector': selector,
            'nth': nth,
            'columns': primary_columns,
            'filters': primary_filters,
            'time_spine': spine,
        },
        'sets': sets,
        'outputs': outputs,
    }) }}
{%- endmacro %}


{#- The declaration of an activity named by a dataset argument. -#}
{% macro _dataset_activity(where, argument, activity) -%}
    {%- if activity is not string or activity == '' -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' is required: an activity"
            ~ " name such as 'placed_order'.") }}
    {%- endif -%}
    {%- if not execute -%}
        {#- dbt's graph is empty while parsing; validation runs at compile. -#}
        {{ return({'activity': activity, 'features': {}, 'known': false}) }}
    {%- endif -%}
    {%- set declaration = activity_schema.activity_declaration(activity) -%}
    {%- if declaration is none -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' is '" ~ activity
            ~ "', which no activity model declares; allowed values: "
            ~ activity_schema.declared_activities() | join(', ') ~ ".") }}
    {%- endif -%}
    {{ return({
        'activity': activity,
        'features': declaration.features,
        'known': true,
    }) }}
{%- endmacro %}


{#-
    One column of a dataset argument: a string (a stream column or a
    feature) or a mapping {'column', 'alias', 'aggregate', 'default'}.
    kind is 'primary' (a primary column), 'filter', 'pick' or 'aggregate'
    (an appended column of that kind of relationship); alias_prefix names
    appended outputs.
-#}
{% macro _dataset_column(where, argument, item, declaration, kind, alias_prefix, relationship=none) -%}
    {%- set item = {'column': item} if item is string else item -%}
    {%- if item is not mapping -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' must be a column name or a"
            ~ " mapping with keys column, alias, aggregate, default,"
            ~ " delimiter.") }}
    {%- endif -%}
    {%- do activity_schema._dataset_check_keys(where, argument, item,
        ['column', 'alias', 'aggregate', 'default', 'delimiter']) -%}
    {%- set aggregates = activity_schema.dataset_aggregates() -%}
    {%- set aggregate = item.get('aggregate') -%}
    {%- set column = item.get('column') -%}
    {%- if kind == 'primary' and (aggregate is not none
        or item.get('default') is not none) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' has an aggregate or a"
            ~ " default; primary columns are the primary row's own values"
            ~ " (allowed keys: column, alias).") }}
    {%- endif -%}
    {%- if kind == 'pick' and aggregate is not none -%}
        {%- set aggregate_relationships = [] -%}
        {%- for name, rule in activity_schema.dataset_relationships().items()
            if rule.kind == 'aggregate' -%}
            {%- do aggregate_relationships.append(name) -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".aggregate' is '" ~ aggregate
            ~ "', but relationship '" ~ relationship ~ "' picks one row;"
            ~ " aggregate functions need one of the relationships "
            ~ aggregate_relationships | join(', ') ~ ".") }}
    {%- endif -%}
    {%- if kind == 'aggregate' and aggregate not in aggregates -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".aggregate' is '"
            ~ aggregate ~ "'; allowed values: " ~ aggregates | join(', ')
            ~ ".") }}
    {%- endif -%}
    {%- if aggregate in ['count', 'count_distinct', 'count_if', 'is_null',
        'not_null'] and item.get('default') is not none -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".default' is set on a "
            ~ aggregate ~ ", which has a value over no rows ("
            ~ ('true' if aggregate == 'is_null' else 'false'
               if aggregate == 'not_null' else '0')
            ~ "); a default applies to picks and to the aggregates sum, avg,"
            ~ " min, max, first_value, last_value, listagg,"
            ~ " listagg_distinct, sum_bool.") }}
    {%- endif -%}
    {%- set delimiter = item.get('delimiter') -%}
    {%- if delimiter is not none and aggregate not in ['listagg',
        'listagg_distinct'] -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".delimiter' is set on "
            ~ (aggregate ~ '' if aggregate else 'a column without an aggregate')
            ~ "; only the"
            ~ " aggregates listagg, listagg_distinct take a delimiter.") }}
    {%- endif -%}
    {%- if delimiter is not none and delimiter is not string -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".delimiter' is '" ~ delimiter
            ~ "'; allowed values: a string, such as ', ' (the default).") }}
    {%- endif -%}
    {%- if column is none and aggregate != 'count' -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".column' is required (only"
            ~ " a count may leave it out, to count rows).") }}
    {%- endif -%}
    {%- set stream_types = activity_schema.stream_column_types() -%}
    {%- set source = none -%}
    {%- set type = none -%}
    {%- if column is none -%}
        {%- set source = 'rows' -%}
    {%- elif column in stream_types -%}
        {%- set source = 'stream' -%}
        {%- set type = stream_types[column] -%}
    {%- elif column in declaration.features -%}
        {%- set source = 'feature' -%}
        {%- set type = declaration.features[column] -%}
    {%- elif not declaration.known -%}
        {#- While dbt parses, features are unknown: checked at compile. -#}
        {%- set source = 'feature' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".column' is '" ~ column
            ~ "', neither a stream column nor a feature of activity '"
            ~ declaration.activity ~ "'; allowed values: "
            ~ (stream_types.keys() | list + declaration.features.keys()
               | list) | join(', ') ~ ".") }}
    {%- endif -%}
    {%- if aggregate in ['sum', 'avg'] and type is not none
        and type not in ['integer', 'bigint', 'numeric', 'float'] -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".aggregate' is '" ~ aggregate
            ~ "', which needs a numeric column; '" ~ column ~ "' is "
            ~ type ~ ".") }}
    {%- endif -%}
    {%- if aggregate in ['count_if', 'sum_bool'] and type is not none
        and type != 'boolean' -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ ".aggregate' is '" ~ aggregate
            ~ "', which needs a boolean column; '" ~ column ~ "' is "
            ~ type ~ ".") }}
    {%- endif -%}
    {#- The type of the output's value. -#}
    {%- if aggregate in ['listagg', 'listagg_distinct'] -%}
        {%- set output_type = 'string' -%}
    {%- elif aggregate in ['count', 'count_distinct', 'count_if',
        'sum_bool'] -%}
        {%- set output_type = 'bigint' -%}
    {%- elif aggregate in ['is_null', 'not_null'] -%}
        {%- set output_type = 'boolean' -%}
    {%- else -%}
        {%- set output_type = type -%}
    {%- endif -%}
    {%- if item.get('alias') -%}
        {%- set alias = item.get('alias') -%}
    {%- elif alias_prefix is none -%}
        {%- set alias = column -%}
    {%- elif aggregate is none -%}
        {%- set alias = alias_prefix ~ '_' ~ column -%}
    {%- else -%}
        {%- set alias = alias_prefix ~ '_' ~ aggregate
            ~ ('_' ~ column if column is not none else '') -%}
    {%- endif -%}
    {{ return({
        'column': column,
        'source': source,
        'type': type,
        'aggregate': aggregate,
        'alias': alias,
        'default': item.get('default'),
        'delimiter': delimiter if delimiter is not none else ', ',
        'output_type': output_type,
    }) }}
{%- endmacro %}


{#- Records an output column name, failing on a duplicate. -#}
{% macro _dataset_claim_alias(where, argument, alias, aliases) -%}
    {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', alias) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' gives the output column"
            ~ " name '" ~ alias ~ "', which is not a plain SQL name.") }}
    {%- endif -%}
    {%- if alias | lower in aliases -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' gives the output column"
            ~ " name '" ~ alias ~ "' a second time; set an 'alias' to tell"
            ~ " the columns apart. Output names must be unique (case"
            ~ " insensitive); already used: " ~ aliases | join(', ')
            ~ ".") }}
    {%- endif -%}
    {%- do aliases.append(alias | lower) -%}
{%- endmacro %}


{#-
    Filters on an activity's columns: a list of {'column', 'operator',
    'value'} mappings, all of which must hold. Returns them with the
    column's source and type.
-#}
{% macro _dataset_filters(where, argument, filters, declaration) -%}
    {%- set operators = activity_schema.dataset_filter_operators() -%}
    {%- set normalized = [] -%}
    {%- if filters is mapping or filters is string -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' must be a list of mappings"
            ~ " with keys column, operator, value.") }}
    {%- endif -%}
    {%- for item in filters -%}
        {%- set here = argument ~ '[' ~ loop.index0 ~ ']' -%}
        {%- if item is not mapping -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ "' must be a mapping with"
                ~ " keys column, operator, value.") }}
        {%- endif -%}
        {%- do activity_schema._dataset_check_keys(
            where, here, item, ['column', 'operator', 'value']) -%}
        {%- set operator = item.get('operator', '=') | lower -%}
        {%- if operator not in operators -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ ".operator' is '" ~ operator
                ~ "'; allowed values: " ~ operators | join(', ') ~ ".") }}
        {%- endif -%}
        {%- set column = activity_schema._dataset_column(
            where, here, {'column': item.get('column')}, declaration,
            'filter', none) -%}
        {%- if operator in ['in', 'not in'] and (
            item.get('value') is string or item.get('value') is mapping
            or item.get('value') is not iterable) -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ ".value' must be a list for"
                ~ " operator '" ~ operator ~ "'.") }}
        {%- endif -%}
        {%- do normalized.append({
            'column': column.column,
            'source': column.source,
            'type': column.type,
            'operator': operator,
            'value': item.get('value'),
        }) -%}
    {%- endfor -%}
    {{ return(normalized) }}
{%- endmacro %}


{#-
    The join conditions of an appended activity: a list of {'column',
    'primary_column'} mappings, each requiring the appended row's column to
    equal the primary row's (both stream columns or features, of one type,
    compared as typed values; null equals nothing). Returns them as
    {'column': column, 'primary_column': column} with sources and types.
-#}
{% macro _dataset_join(where, argument, join, declaration, primary_declaration) -%}
    {%- if join is mapping or join is string or join is not iterable -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' must be a list of mappings"
            ~ " with keys column, primary_column.") }}
    {%- endif -%}
    {%- set normalized = [] -%}
    {%- for item in join -%}
        {%- set here = argument ~ '[' ~ loop.index0 ~ ']' -%}
        {%- if item is not mapping -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ "' must be a mapping with"
                ~ " keys column, primary_column.") }}
        {%- endif -%}
        {%- do activity_schema._dataset_check_keys(
            where, here, item, ['column', 'primary_column']) -%}
        {%- for key in ['column', 'primary_column']
            if item.get(key) is not string -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ "." ~ key ~ "' is required: a"
                ~ " column of the " ~ ('appended' if key == 'column'
                    else 'primary') ~ " activity, such as 'order_id'.") }}
        {%- endfor -%}
        {%- set column = activity_schema._dataset_column(
            where, here, {'column': item.column}, declaration, 'filter',
            none) -%}
        {%- set stream_types = activity_schema.stream_column_types() -%}
        {%- if primary_declaration.known
            and item.primary_column not in stream_types
            and item.primary_column not in primary_declaration.features -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ ".primary_column' is '"
                ~ item.primary_column ~ "', neither a stream column nor a"
                ~ " feature of the primary activity '"
                ~ primary_declaration.activity ~ "'; allowed values: "
                ~ (stream_types.keys() | list
                   + primary_declaration.features.keys() | list)
                | join(', ') ~ ".") }}
        {%- endif -%}
        {%- set primary_column = activity_schema._dataset_column(
            where, here ~ '.primary_column', {'column': item.primary_column},
            primary_declaration, 'filter', none) -%}
        {%- if column.type is not none and primary_column.type is not none
            and column.type != primary_column.type -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument '" ~ here ~ "' compares '" ~ item.column
                ~ "' (" ~ column.type ~ ") with the primary column '"
                ~ item.primary_column ~ "' (" ~ primary_column.type
                ~ "); a join condition compares columns of one type.") }}
        {%- endif -%}
        {%- do normalized.append({
            'column': column, 'primary_column': primary_column}) -%}
    {%- endfor -%}
    {{ return(normalized) }}
{%- endmacro %}


{#-
    The time bound of an appended activity's window: {'minutes' | 'hours'
    | 'days': a whole number of at least 1}, with a before or after
    relationship only. Returns none, or {'amount', 'unit', 'seconds'}: the
    window is narrowed to [t - d, t) before and (t, t + d] after.
-#}
{% macro _dataset_within(where, argument, within, relationship, rule) -%}
    {%- if within is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set units = {'minutes': 60, 'hours': 3600, 'days': 86400} -%}
    {%- if within is not mapping or within | length != 1
        or (within.keys() | list)[0] not in units -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' must be a mapping with one"
            ~ " key, minutes, hours or days, such as {'days': 7}.") }}
    {%- endif -%}
    {%- set unit = (within.keys() | list)[0] -%}
    {%- set amount = within[unit] -%}
    {%- if not activity_schema._dataset_is_whole(amount) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "." ~ unit ~ "' is '" ~ amount
            ~ "'; allowed values: a whole number of at least 1.") }}
    {%- endif -%}
    {%- if rule.window not in ['before', 'after'] -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' is set, but relationship '"
            ~ relationship ~ "' has no time bound; allowed relationships"
            ~ " with within: first_before, last_before, nth_before,"
            ~ " first_after, last_after, nth_after, aggregate_before,"
            ~ " aggregate_after.") }}
    {%- endif -%}
    {{ return({'amount': amount | int, 'unit': unit,
        'seconds': (amount * units[unit]) | int}) }}
{%- endmacro %}


{#- Whether a value is a whole number of at least 1 (not a boolean). -#}
{% macro _dataset_is_whole(value) -%}
    {{ return(value is number and value is not sameas true
        and value is not sameas false and value == value | int
        and value >= 1) }}
{%- endmacro %}


{#- Fails on a key of a dataset argument's mapping that is not allowed. -#}
{% macro _dataset_check_keys(where, argument, item, allowed) -%}
    {%- for key in item if key not in allowed -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' has the key '" ~ key
            ~ "'; allowed keys: " ~ allowed | join(', ') ~ ".") }}
    {%- endfor -%}
{%- endmacro %}
