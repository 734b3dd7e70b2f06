"""Development conveniences: embedded servers and the ``make run`` launcher. Never used when
DATABASE_URL and REDIS_URL are set."""
