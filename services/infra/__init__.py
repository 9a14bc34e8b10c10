"""Infrastructure: the database, PostgreSQL from the event loop, cache, bus, leader locks, Redis clients and
logging. It imports no domain."""
