-- Of the customers who viewed the menu, how many placed an order within
-- seven days of their first menu view. Reads the stream directly to show
-- the raw shape; the dataset macros do the same for any pair of activities.
with stream as (

    select * from {{ ref('customer_stream') }}

),

first_menu_view as (

    select
        customer,
        min(ts) as first_viewed_at
    from stream
    where
        activity = 'viewed_page'
        and customer is not null
        and {{ activity_schema.json_extract(
            'feature_json', 'page_path', 'string') }} = '/menu'
    group by customer

),

orders as (

    select
        customer,
        ts as ordered_at
    from stream
    where activity = 'placed_order'

),

converted as (

    select
        first_menu_view.customer,
        min(orders.ordered_at) as first_order_after_view_at
    from first_menu_view
    inner join orders
        on
            first_menu_view.customer = orders.customer
            and first_menu_view.first_viewed_at < orders.ordered_at
            and {{ dbt.dateadd('day', 7, 'first_menu_view.first_viewed_at') }}
            >= orders.ordered_at
    group by first_menu_view.customer

)

select
    (select count(*) from first_menu_view) as n_menu_viewers,
    (select count(*) from converted) as n_converted_within_7_days
