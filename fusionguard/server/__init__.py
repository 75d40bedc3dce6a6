"""The admin console and HTTP API: ``fusionguard serve`` (needs ``pip install 'fusionguard[server]'``).

Pages and API routes call the functions the CLI calls; accounts and sessions live in the same database as
the log. Import :func:`fusionguard.server.app.create_app` to embed the ASGI app elsewhere.
"""
