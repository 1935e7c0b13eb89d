"""`claimbot serve`: the scheduler, the bots and the Slack app, in one process or one role per process.

Roles (`--role`):
- `scheduler`: the overnight schedule (bots.schedule, what `claimbot scheduler run` does). On the
  embedded SQLite ledger its status sweep runs in this process; on PostgreSQL (team mode) it plans the
  sweep and queues one job per payer for the workers (`bots.schedule.team_status_sweep_job`).
- `worker` (PostgreSQL only): works queued payer jobs (bots.workers, what `claimbot worker` does).
- `slack`: the Slack app (assistant.app, what `claimbot slack serve` does): over HTTP its events,
  commands and interactivity come to `POST /slack/events` on this process's port; with `--slack-socket`
  it opens a Socket Mode websocket instead. With SLACK_ALERT_CHANNEL set, the denial alerts' dispatcher
  runs beside it (assistant.jobs).
- `all` (default): the scheduler, plus a worker on PostgreSQL, plus the Slack app when SLACK_BOT_TOKEN
  is set, in this one process.

Every process serves one small HTTP server (`--port`, default 9464): `GET /healthz` (the process is
alive), `GET /readyz` (the ledger answers and is migrated, and every role has started; 503 while
starting or stopping) and `GET /metrics` (Prometheus, claimbot.metrics); and `POST /slack/events`
for the slack role over HTTP.

SIGTERM or SIGINT stops it cleanly, exit 0: /readyz turns 503, the scheduler starts no new job and the
sweep in flight ends as `claimbot scheduler run`'s does (no new claim is started, the claims asked are
answered and recorded, the rest stay planned, the sweep is marked interrupted and the next run continues it);
a worker gives its running jobs `--grace` seconds, then they go back to the queue; the Slack app's
websocket and alert dispatcher close. Then the HTTP server closes (requests in flight finish).
Logs are structured (CLAIMBOT_LOG_FORMAT=json for production).

The bots, the ledger, uvicorn and Starlette are imported inside the command (tests/claimbot/test_startup.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from claimbot.console import Exit, fail
from claimbot.settings import ServeSettings, Settings

if TYPE_CHECKING:
    import uvicorn
    from slack_bolt.app.async_app import AsyncApp
    from starlette.applications import Starlette

    from assistant.settings import SlackSettings
    from claimbot.metrics import ServeMetrics
    from claims.ledger import Ledger
    from claims.team import TeamConfig

DEFAULT_PORT: int = ServeSettings.model_fields["port"].default


class Role(StrEnum):
    ALL = "all"
    SCHEDULER = "scheduler"
    WORKER = "worker"
    SLACK = "slack"


@dataclass
class ServeState:
    """What /readyz reports: which roles this process serves, which have started, whether it is stopping."""

    roles: list[Role]
    started: set[Role] = field(default_factory=set)
    stopping: bool = False


def roles_for(role: Role, team_mode: bool, slack_configured: bool) -> list[Role]:
    """The roles one process serves. A worker needs the PostgreSQL ledger (procrastinate lives there)."""
    if role is Role.ALL:
        return [
            Role.SCHEDULER,
            *([Role.WORKER] if team_mode else []),
            *([Role.SLACK] if slack_configured else []),
        ]
    return [role]


def http_app(state: ServeState, metrics: ServeMetrics, ledger: Ledger, slack: AsyncApp | None = None) -> Starlette:
    """The three endpoints, and the Slack app's POST /slack/events when given; each ledger read runs in a
    thread, off the loop the bots share."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import BaseRoute, Mount, Route

    from claims.ledger import is_current

    def ledger_check() -> str:
        try:
            return "ok" if is_current(ledger.engine) else "not migrated: run claimbot db upgrade"
        except Exception as error:  # unreachable: say which kind, never the URL
            return f"unreachable ({type(error).__name__})"

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True, "roles": [r.value for r in state.roles]})

    async def readyz(_: Request) -> Response:
        checks = {"ledger": await asyncio.to_thread(ledger_check)}
        for role in state.roles:
            checks[role.value] = "started" if role in state.started else "starting"
        if state.stopping:
            checks["process"] = "stopping"
        ready = not state.stopping and all(v in ("ok", "started") for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics_page(_: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(await asyncio.to_thread(metrics.exposition), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    if slack is not None:
        from assistant.server import asgi_app

        routes.append(Mount("/", app=asgi_app(slack)))  # POST /slack/events, signature checked by Bolt
    return Starlette(routes=routes)


def listening_socket(host: str, port: int) -> socket.socket:
    """The HTTP server's socket, bound before anything starts, so a taken port is a plain error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        fail(Exit.USAGE, f"cannot listen on {host}:{port} ({error.strerror}): choose another --port")
    sock.listen(128)
    sock.setblocking(False)
    return sock


def http_server(app: Starlette) -> uvicorn.Server:
    """uvicorn on this process's loop, leaving the signals to `claimbot serve` (it stops the server last)."""
    import contextlib
    from collections.abc import Iterator

    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        loop="asyncio",
        log_level="warning",
    )
    return Server(config)


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `claimbot serve` to the main app."""

    @app.command("serve")
    def serve(
        role: Annotated[Role, typer.Option(help="What this process runs; `all` runs every role it can.")] = Role.ALL,
        port: Annotated[
            int | None,
            typer.Option(
                min=0,
                max=65535,
                envvar="CLAIMBOT_SERVE_PORT",
                help=f"Port of /healthz, /readyz, /metrics (default: [serve] port, {DEFAULT_PORT}).",
            ),
        ] = None,
        host: Annotated[
            str | None,
            typer.Option(
                envvar="CLAIMBOT_SERVE_HOST",
                help="Address to listen on (0.0.0.0 in a container; default: [serve] host, 127.0.0.1).",
            ),
        ] = None,
        concurrency: Annotated[int, typer.Option(min=1, max=32, help="Worker: payer jobs at once.")] = 2,
        grace: Annotated[
            float,
            typer.Option(min=0, help="Worker: on SIGTERM, seconds running jobs get before going back to the queue."),
        ] = 30.0,
        run_now: Annotated[
            list[str] | None,
            typer.Option(
                "--run-now", help="Scheduler: also run this job at once (status_sweep, eligibility_sweep, ...)."
            ),
        ] = None,
        slack_socket: Annotated[
            bool,
            typer.Option(
                "--slack-socket", help="Slack: Socket Mode (SLACK_APP_TOKEN) instead of POST /slack/events on --port."
            ),
        ] = False,
    ) -> None:
        """Run the scheduler, the bots and the Slack app (or one role) until SIGTERM; exits 0 after a clean stop."""
        import contextlib

        import sqlalchemy as sa

        from assistant.settings import SlackSettings
        from bots import schedule
        from claimbot.scheduler_commands import checked_jobs, schedule_config

        settings = Settings()
        slack = SlackSettings()
        address = ServeSettings()
        host = address.host if host is None else host
        port = address.port if port is None else port
        team_mode = sa.engine.make_url(settings.ledger_url).get_backend_name() == "postgresql"
        if role is Role.WORKER and not team_mode:
            from bots.workers import TeamModeError, libpq_dsn

            try:
                libpq_dsn(settings.ledger_url)
            except TeamModeError as error:
                fail(Exit.LEDGER, str(error))
        ledger = open_ledger(settings)  # the schema is current, or a plain-words exit 5
        roles = roles_for(role, team_mode, slack.bot_token is not None)
        team = _slack_team(settings, slack, slack_socket) if Role.SLACK in roles else None
        config = schedule_config(settings)
        funcs = {schedule.STATUS_SWEEP: "bots.schedule:team_status_sweep_job"} if team_mode else None
        specs, wanted = checked_jobs(config, run_now, funcs)
        run = _Serve(settings, open_ledger, ledger, roles, listening_socket(host, port))
        run.scheduler_args = (config, specs, wanted)
        run.worker_args = (concurrency, grace)
        run.slack_args = (slack, team, slack_socket)
        try:
            with contextlib.ExitStack() as stack:
                if Role.SCHEDULER in roles:
                    stack.enter_context(schedule.single_scheduler(settings.ledger_url))
                code = asyncio.run(run.main())
        except schedule.SchedulerBusy as error:
            fail(Exit.LEDGER, f"{error}: run one scheduler (serve --role scheduler or all) per ledger")
        finally:
            run.sock.close()
            ledger.close()
        raise typer.Exit(code)


def _slack_team(settings: Settings, slack: SlackSettings, socket_mode: bool) -> TeamConfig:
    """The team the Slack app checks permissions against; a plain exit 3 naming what is missing."""
    from assistant.settings import SlackSettingsError
    from claims.team import TeamConfigError, load_team

    try:
        slack.require(socket_mode=socket_mode)
        return load_team(settings.team_file)
    except (SlackSettingsError, TeamConfigError) as error:
        fail(Exit.BAD_INPUT, str(error))


class _Serve:
    """One serve process: its roles as tasks on one loop, the HTTP server beside them, one stop."""

    def __init__(
        self,
        settings: Settings,
        open_ledger: Callable[[Settings], Ledger],
        ledger: Ledger,
        roles: list[Role],
        sock: socket.socket,
    ) -> None:
        self.settings = settings
        self.open_ledger = open_ledger
        self.ledger = ledger
        self.state = ServeState(roles)
        self.sock = sock
        self.scheduler_args: tuple[Any, ...] = ()
        self.worker_args: tuple[int, float] = (2, 30.0)
        self.slack_args: tuple[Any, ...] = ()
        self.slack_app: AsyncApp | None = None

    async def main(self) -> int:
        import signal

        from claimbot.logs import get_logger
        from claimbot.metrics import ServeMetrics

        log = get_logger("claimbot.serve")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        metrics = ServeMetrics(self.ledger, [r.value for r in self.state.roles])
        metrics.listen_to_logs(self.settings.log_level)
        if Role.SLACK in self.state.roles:
            from assistant.app import build_app

            slack, team, _ = self.slack_args
            self.slack_app = build_app(slack, lambda: self.ledger, team, claimbot_settings=self.settings)
        over_http = self.slack_app is not None and not self.slack_args[2]
        app = http_app(self.state, metrics, self.ledger, self.slack_app if over_http else None)
        server = http_server(app)
        serving = asyncio.create_task(server.serve(sockets=[self.sock]))
        while not server.started:
            if serving.done():
                await serving  # raises what stopped it
            await asyncio.sleep(0.01)
        port = self.sock.getsockname()[1]
        log.info(
            "serving",
            roles=[r.value for r in self.state.roles],
            port=port,
            endpoints=["/healthz", "/readyz", "/metrics", *(["/slack/events"] if over_http else [])],
        )
        roles = [asyncio.create_task(self._run(role, stop), name=role.value) for role in self.state.roles]
        failed = False
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *roles], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                failed = True
                log.error(
                    "a role failed: stopping the others", role=task.get_name(), error=type(task.exception()).__name__
                )
        self.state.stopping = True
        log.info("stopping: no new work; the work in flight ends cleanly")
        stop.set()
        await asyncio.gather(*roles, return_exceptions=True)
        server.should_exit = True
        await serving
        log.info("stopped")
        return 1 if failed else 0

    def _run(self, role: Role, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        if role is Role.SCHEDULER:
            return self._scheduler(stop)
        if role is Role.SLACK:
            return self._slack(stop)
        return self._worker(stop)

    async def _scheduler(self, stop: asyncio.Event) -> None:
        from claimbot.scheduler_commands import run_scheduler

        config, specs, wanted = self.scheduler_args
        await run_scheduler(
            self.settings, config, specs, wanted, stop, on_started=lambda: self.state.started.add(Role.SCHEDULER)
        )

    async def _worker(self, stop: asyncio.Event) -> None:
        from bots.workers import serve
        from claimbot.worker_commands import worker_name, worker_runtime

        runtime, browser = worker_runtime(self.settings, self.open_ledger)
        concurrency, grace = self.worker_args
        self.state.started.add(Role.WORKER)
        try:
            await serve(runtime, concurrency, grace, name=worker_name(), stop_when=stop)
        finally:
            await browser.close()
            runtime.ledger.close()

    async def _slack(self, stop: asyncio.Event) -> None:
        """The Slack app: its requests come through the HTTP server (or a Socket Mode websocket); the
        alert dispatcher, when SLACK_ALERT_CHANNEL is set, runs on its own thread beside it."""
        import contextlib

        slack, _, socket_mode = self.slack_args
        assert self.slack_app is not None  # built in main()
        alerts = contextlib.ExitStack()
        if slack.alert_channel:
            from assistant.jobs import dispatcher_for, dispatcher_running

            alerts.enter_context(dispatcher_running(dispatcher_for(self.settings, slack, self.ledger)))
        try:
            if socket_mode:
                from assistant.server import socket_mode_until

                await socket_mode_until(
                    self.slack_app,
                    slack.app_token.get_secret_value(),
                    stop,
                    on_connected=lambda: self.state.started.add(Role.SLACK),
                )
            else:
                self.state.started.add(Role.SLACK)
                await stop.wait()
        finally:
            await asyncio.to_thread(alerts.close)  # the dispatcher's pass in flight ends first
