-- Every accepted `created_account` row of the stream has exactly one row in
-- `customers`, and nothing else does: the dataset neither drops nor invents
-- customers. Returns the customers whose counts differ.
with accounts as (

    select
        customer,
        count(*) as n_accounts
    from {{ ref('customer_stream') }}
    where activity = 'created_account'
    group by customer

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
        coalesce(accounts.n_accounts, 0) as n_accounts,
        coalesce(dataset_rows.n_rows, 0) as n_rows
    from accounts
    full outer join dataset_rows
        on accounts.customer = dataset_rows.customer

)

select * from compared
where n_accounts != n_rows
