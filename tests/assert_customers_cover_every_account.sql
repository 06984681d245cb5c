-- Every customer of the stream with a `created_account` row has exactly one
-- row in `customers`, and nothing else does: the dataset neither drops nor
-- invents customers (merged accounts count once, as their canonical
-- customer). Returns the customers whose counts differ.
with accounts as (

    select distinct customer
    from {{ ref('customer_stream') }}
    where activity = 'created_account'

),

dataset_rows as (

    select
        cast(customer_id as {{ dbt.type_string() }}) as customer,
        count(*) as n_rows
    from {{ ref('customers') }}
    group by customer_id

),

compared as (

    select
        coalesce(accounts.customer, dataset_rows.customer) as customer,
        case when accounts.customer is null then 0 else 1 end as n_accounts,
        coalesce(dataset_rows.n_rows, 0) as n_rows
    from accounts
    full outer join dataset_rows
        on accounts.customer = dataset_rows.customer

)

select * from compared
where n_accounts != n_rows
