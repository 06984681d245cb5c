{{ activity_schema.dataset(
    stream=ref('customer_stream'),
    primary={
        'activity': 'signed_up',
        'selector': 'all',
        'columns': ['customer', 'plan'],
    },
    append=[
        {
            'activity': 'made_purchase',
            'relationship': 'first_ever',
            'columns': [{'column': 'ts', 'alias': 'first_purchase_at'}],
        },
        {
            'activity': 'made_purchase',
            'relationship': 'first_after',
            'columns': [{'column': 'ts', 'alias': 'first_purchase_after_signup_at'}],
        },
        {
            'activity': 'made_purchase',
            'relationship': 'last_ever',
            'columns': [{'column': 'amount', 'alias': 'last_purchase_amount'}],
        },
        {
            'activity': 'made_purchase',
            'relationship': 'aggregate_all',
            'columns': [
                {'aggregate': 'count', 'alias': 'purchases'},
                {'column': 'revenue_impact', 'aggregate': 'sum',
                 'default': 0, 'alias': 'total_spent'},
            ],
        },
    ],
) }}
