"""Charter's HTTP service: the REST API, the dashboard and the serving routes.

Build it with :func:`charter.server.app.create_app`; run it with ``charter serve``.
"""
