"""Developer tools for the jaffle_activity project (data generation, helpers)."""
