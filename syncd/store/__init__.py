"""The interaction store: schema, database access, page application, queries."""
