from registry_support import database_url, team  # noqa: F401
