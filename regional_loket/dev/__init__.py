"""Development conveniences: embedded servers, the ``make run`` launcher, the mail sink and the
``/dev/mailbox`` page. The embedded servers are never used when DATABASE_URL and REDIS_URL are
set; the mailbox page is never registered in production."""
