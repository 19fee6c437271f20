"""The control API of ``agentops serve`` (FastAPI + uvicorn), loaded only by that command.

:mod:`.app` defines the routes over :class:`~agentops.runtime.control.local.LocalControl`,
:mod:`.auth` the tokens and roles, :mod:`.metrics` the Prometheus metrics, and
:mod:`.server` the process: bind, serve, drain on SIGTERM, reload on SIGHUP.
"""
