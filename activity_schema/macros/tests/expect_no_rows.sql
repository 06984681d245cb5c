{#-
    Generic test: the model has no rows. Fails with every row of it, so that
    the failure names them (used on `stream_rejections`).

    Example (YAML, on the model): - activity_schema.expect_no_rows
-#}
{% test expect_no_rows(model) %}

select * from {{ model }}

{% endtest %}
