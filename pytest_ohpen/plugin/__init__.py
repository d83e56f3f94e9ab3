"""Every pytest-facing piece of pytest-ohpen: hooks, options, fixtures, retries, reporter."""
