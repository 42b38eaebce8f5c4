"""The console as a NiceGUI application: one page per view over one :class:`ConsoleContext`.

:func:`register_pages` adds the pages (tests call it inside NiceGUI's test harness); :func:`serve` adds
them and runs the web server until interrupted.
"""

from __future__ import annotations

import logging

from nicegui import app, ui
from starlette.requests import Request

from ground.console import (
    alarms,
    api,
    archive,
    audit,
    auth,
    command_history,
    commands,
    events,
    ledger,
    operator_pages,
    overview,
    plots,
    sequences,
    telemetry,
)
from ground.console.context import ConsoleContext

_LOGGER = logging.getLogger(__name__)
#: Wall seconds open connections get to finish when the hub stops (a browser holding one never blocks it).
SHUTDOWN_GRACE_S = 5


def register_pages(ctx: ConsoleContext) -> None:
    """Subscribe the console to its core and add every view as a page (and, when ``ctx.auth`` is set, the
    login page and the checks of :mod:`ground.console.auth`)."""
    ctx.attach()
    hub_auth = ctx.auth
    if hub_auth is not None:
        hub_auth.install()
        api.install(ctx)

        @ui.page(auth.LOGIN_PATH)
        def login_page(request: Request) -> None:
            auth.login_page(hub_auth, request)

    @ui.page("/")
    def overview_page() -> None:
        overview.view(ctx)

    @ui.page("/plots")
    def plots_page(request: Request) -> None:
        plots.view(ctx, plots.parse_request(request.query_params.getlist("c")), request.query_params.get("w"))

    @ui.page("/telemetry")
    def telemetry_page() -> None:
        telemetry.view(ctx)

    @ui.page("/commands")
    def commands_page(request: Request) -> None:
        commands.view(ctx, request.query_params.get("name"))

    @ui.page("/history")
    def history_page() -> None:
        command_history.view(ctx)

    @ui.page("/events")
    def events_page() -> None:
        events.view(ctx)

    @ui.page("/alarms")
    def alarms_page() -> None:
        alarms.view(ctx)

    @ui.page("/sequences")
    def sequences_page() -> None:
        sequences.view(ctx)

    @ui.page("/archive")
    def archive_page(request: Request) -> None:
        channels = [name for value in request.query_params.getlist("c") for name in value.split(",")]
        archive.view(ctx, channels, (request.query_params.get("from"), request.query_params.get("to")))

    @ui.page("/ledger")
    def ledger_page() -> None:
        ledger.view(ctx)

    @ui.page("/audit")
    def audit_page() -> None:
        audit.view(ctx)

    operator_pages.register(ctx)


def serve(
    ctx: ConsoleContext, host: str = "127.0.0.1", port: int = 8080, *, tls_cert: str = "", tls_key: str = ""
) -> None:
    """Serve the console on ``host``:``port`` until the process is interrupted (blocks); HTTPS with
    ``tls_cert`` and ``tls_key`` (PEM files) when both are given."""
    register_pages(ctx)
    app.on_shutdown(ctx.detach)
    tls = bool(tls_cert and tls_key)
    _LOGGER.info("console on %s://%s:%d", "https" if tls else "http", host, port)
    extra: dict[str, str] = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls else {}
    ui.run(
        host=host,
        port=port,
        title="isru console",
        reload=False,
        show=False,
        show_welcome_message=False,
        favicon="🛰",
        storage_secret=auth.session_secret(getattr(ctx.auth, "secret_path", None)),
        session_middleware_kwargs={"same_site": "strict", "https_only": tls},
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        **extra,  # type: ignore[arg-type]
    )
