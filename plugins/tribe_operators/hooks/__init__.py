"""One hook per external system: auth, paging, rate limit, retry → plain dicts."""
