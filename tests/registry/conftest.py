from registry_support import database_url, team, team_templates  # noqa: F401
