"""The human side: the durable ticket queue (SQLite or PostgreSQL) and its analytics. Imports the layers below."""
