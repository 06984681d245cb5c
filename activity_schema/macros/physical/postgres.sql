{#-
    Postgres: B-tree indexes on what this project's queries filter and join
    on (checked with EXPLAIN, see the README's "Physical design"):

    stream
    - unique (activity, activity_id): the stream's grain; serves the
      incremental run's delete and its joins of changes on that key.
      Its leading `activity` also serves a dataset's `activity in (…)`.
    - (activity, coalesce(customer, anonymous_customer_id), ts): the
      partition of the occurrence columns and of every dataset's windows,
      in window order. Serves the incremental run's join of the stream's
      touched (activity, entity) partitions; an index on plain `customer`
      can match only its `activity`, since every query names the entity
      as the coalesce.
    - (ts): the incremental run's lookback window `ts >= <literal>` and
      its high-water mark `max(ts)`.
    - pre_hook `set local jit = off`, for the model's own transaction: JIT
      compilation of the incremental run's many expressions took 3.7 s of
      its 5 s at 1M rows (1.3 s without); the full build's select takes
      about 9 s either way (measured in one session, see
      docs/physical-design.md).

    activity (when an activity model is a table): (ts) for the stream's
    lookback window and (activity_id) for its joins on the key, not
    unique, so that a duplicated source key fails the activity's unique
    test, naming the key, instead of the build.
-#}
{% macro postgres__physical_design(kind) -%}
    {%- if kind == 'stream' -%}
        {{ return({'indexes': [
            {'columns': ['activity', 'activity_id'], 'unique': true},
            {'columns': [
                'activity', 'coalesce(customer, anonymous_customer_id)',
                'ts']},
            {'columns': ['ts']},
        ], 'pre_hook': ['set local jit = off']}) }}
    {%- else -%}
        {{ return({'indexes': [
            {'columns': ['ts']},
            {'columns': ['activity_id']},
        ]}) }}
    {%- endif -%}
{%- endmacro %}
