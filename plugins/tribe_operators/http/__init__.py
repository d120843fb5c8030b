"""Transport pieces the hooks are built from: auth, pacing, paging, retry, the client."""
