"""The `marketplace` command: serve, migrate, seed, demo, the worker and its liveness check, and more."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

# Piccolo finds its configuration through this variable; set it before anything imports Piccolo tables.
os.environ.setdefault("PICCOLO_CONF", "marketplace.piccolo_conf")


def _run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    async def wrapped() -> Any:
        from marketplace.core import db

        await db.open_pool()
        try:
            return await coro_fn()
        finally:
            await db.close_pool()

    return asyncio.run(wrapped())


async def migrate() -> int:
    """Apply every pending migration (forwards only; running it twice changes nothing)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="marketplace", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(result.message or "migration failed")
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    _run(migrate)
    print("Database is up to date.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from marketplace import seed

    async def go() -> None:
        counts = await seed.seed_reference()
        print(
            "Reference data: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        )
        if args.demo:
            logins = await seed.seed_demo(
                bodies=args.bodies,
                organisations=args.organisations,
                random_seed=args.random_seed,
                progress=not args.quiet,
            )
            seed.print_logins(logins)

    _run(go)
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    from marketplace.accounts.users import make_platform_admin

    password = os.environ.get("MARKETPLACE_ADMIN_PASSWORD")
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password for the new administrator: ")

    async def go() -> None:
        await make_platform_admin(args.email, password)

    _run(go)
    print(f"{args.email} is a platform administrator.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from marketplace.core.logs import configure_logging
    from marketplace.server import Options, serve
    from marketplace.settings import ServerSettings

    defaults = ServerSettings()
    max_requests = defaults.max_requests if args.max_requests is None else args.max_requests
    jitter = (
        defaults.jitter_for(max_requests)
        if args.max_requests_jitter is None
        else args.max_requests_jitter
    )
    if args.workers < 1 or max_requests < 0 or jitter < 0:
        print(
            "--workers must be at least 1, --max-requests and its jitter at least 0.",
            file=sys.stderr,
        )
        return 2
    configure_logging()
    options = Options(
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_requests=max_requests,
        jitter=jitter,
        trusted_proxies=defaults.trusted_proxies,
    )
    return serve(options)


def cmd_demo(args: argparse.Namespace) -> int:
    """Migrate, load reference and demo data (once), then serve."""
    from marketplace import seed

    async def go() -> dict[str, str] | None:
        await migrate()
        await seed.seed_reference()
        if await seed.demo_present():
            return None
        return await seed.seed_demo(
            bodies=args.bodies,
            organisations=args.organisations,
            random_seed=args.random_seed,
            progress=True,
        )

    logins = _run(go)
    seed.print_logins(logins or seed.DEMO_LOGINS)
    # Someone is reading this terminal: readable lines unless asked for JSON.
    os.environ.setdefault("MARKETPLACE_LOG_FORMAT", "console")
    print(f"\nServing on http://{args.host}:{args.port}  (Ctrl+C to stop)\n", flush=True)
    return cmd_serve(args)


NOT_CONFIGURED = "online payment is not configured (set STRIPE_SECRET_KEY)"


async def reconcile_payments(settings: Any = None, *, progress: bool = True) -> tuple[int, int]:
    """Ask Stripe about the unfinished payments of open invoices; record missed successes once."""
    from marketplace.billing.reconciliation import reconcile_payments as reconcile
    from marketplace.billing.stripe_gateway import gateway_for
    from marketplace.settings import Settings
    from marketplace.web.progress import Progress

    settings = settings or Settings.from_env()
    gateway = gateway_for(settings.stripe)
    if gateway is None:
        raise RuntimeError(NOT_CONFIGURED)
    bar: Progress | None = None

    def advance(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = Progress("Reconciling payments", total, enabled=progress)
        bar.advance()

    try:
        result = await reconcile(gateway, advance)
    finally:
        await gateway.aclose()
    if bar is not None:
        bar.close()
    print(
        f"Checked {result.checked} open payment(s); recorded {result.recorded} missed success(es)."
    )
    return result.checked, result.recorded


def cmd_reconcile_payments(args: argparse.Namespace) -> int:
    from marketplace.settings import Settings

    settings = Settings.from_env()
    if not settings.stripe.configured:  # say so before touching the database
        raise RuntimeError(NOT_CONFIGURED)
    _run(lambda: reconcile_payments(settings, progress=not args.quiet))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Send the outbox and run the periodic sweeps until SIGTERM/SIGINT (or once with --once)."""
    import logging
    import signal

    from marketplace.core.logs import configure_logging
    from marketplace.notifications.worker import Worker, with_worker_settings
    from marketplace.settings import Settings

    configure_logging()  # the hooks are installed by main(), as for every command
    settings = Settings.from_env()
    changes = {"lease_seconds": args.lease, "poll_seconds": args.poll}
    settings = with_worker_settings(settings, **{k: v for k, v in changes.items() if v is not None})

    async def go() -> bool:
        """Run until stopped; True when it stopped to renew itself."""
        worker = Worker(settings)
        if args.once:
            await worker.run_sweeps()
            sent = await worker.drain()
            print(f"Processed {sent} message(s).")
            return False
        stop = asyncio.Event()
        renewing = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if settings.worker.renew_seconds > 0:

            def renew() -> None:
                renewing.set()
                stop.set()

            loop.call_later(settings.worker.renew_seconds, renew)
        await worker.run(stop)
        return renewing.is_set()

    if _run(go):  # the pool is closed by now and no message is in hand
        logging.getLogger("marketplace.worker").info(
            "renewing after %.0f s (MARKETPLACE_WORKER_RENEW_SECONDS)",
            settings.worker.renew_seconds,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        # Same process id: a supervisor, the heartbeat and the liveness probe see no restart.
        os.execv(sys.executable, [sys.executable, "-m", "marketplace.cli", *sys.argv[1:]])  # noqa: S606
    return 0


def cmd_retry_failed(_: argparse.Namespace) -> int:
    """Give every failed e-mail a fresh set of attempts (after the mail server was fixed)."""
    from marketplace.notifications.services import retry_failed

    requeued: int = _run(lambda: retry_failed(None, trigger="operator"))
    print(f"{requeued} failed message(s) back to pending; the worker sends them on its next poll.")
    return 0


def cmd_worker_alive(args: argparse.Namespace) -> int:
    """Exit 0 if the worker showed progress within --max-age seconds: a liveness probe."""
    from marketplace.notifications.worker import heartbeat_age
    from marketplace.settings import Settings

    worker = Settings.from_env().worker
    if not worker.heartbeat_path:
        print("MARKETPLACE_WORKER_HEARTBEAT is not set: there is no heartbeat to check.")
        return 2
    # A cycle or one send never takes longer than the lease, so a heartbeat older than that
    # means the loop is stuck.
    max_age = args.max_age if args.max_age is not None else worker.lease_seconds
    age = heartbeat_age(worker.heartbeat_path)
    if age is None:
        print(f"No heartbeat at {worker.heartbeat_path} yet.")
        return 1
    if age > max_age:
        print(f"Last heartbeat {age:.0f} s ago (limit {max_age:.0f} s): the worker is stuck.")
        return 1
    print(f"Alive: last heartbeat {age:.0f} s ago.")
    return 0


def _recycling_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-requests",
        type=int,
        default=None,
        help="replace a server process after this many requests (default MARKETPLACE_MAX_REQUESTS, 0: never)",
    )
    p.add_argument(
        "--max-requests-jitter",
        type=int,
        default=None,
        help="up to this many more per process (default MARKETPLACE_MAX_REQUESTS_JITTER, a tenth of the limit)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marketplace", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the web application")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY") or 1),
        help="server processes (default WEB_CONCURRENCY, else 1; PostgreSQL only for >1)",
    )
    _recycling_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed", help="load reference data; --demo adds generated demo data")
    p.add_argument("--demo", action="store_true", help="also generate demo data with Faker")
    p.add_argument("--bodies", type=int, default=60, help="number of demo certification bodies")
    p.add_argument(
        "--organisations", type=int, default=40, help="number of demo client organisations"
    )
    p.add_argument("--random-seed", type=int, default=2026, help="makes the demo data repeatable")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("createadmin", help="create or promote a platform administrator")
    p.add_argument("email")
    p.set_defaults(func=cmd_createadmin)

    p = sub.add_parser("demo", help="migrate, seed demo data once, and serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    _recycling_options(p)
    p.add_argument("--bodies", type=int, default=60)
    p.add_argument("--organisations", type=int, default=40)
    p.add_argument("--random-seed", type=int, default=2026)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("worker", help="send queued e-mails and run periodic sweeps")
    p.add_argument("--once", action="store_true", help="run due sweeps, send what is due, exit")
    p.add_argument("--lease", type=float, default=None, help="seconds a claimed message is held")
    p.add_argument("--poll", type=float, default=None, help="seconds between polls when idle")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser(
        "worker-alive", help="exit 0 if the worker's heartbeat is fresh (a liveness probe)"
    )
    p.add_argument(
        "--max-age", type=float, default=None, help="seconds (default: the worker's lease)"
    )
    p.set_defaults(func=cmd_worker_alive)

    p = sub.add_parser("retry-failed", help="send failed e-mails again (fresh attempts)")
    p.set_defaults(func=cmd_retry_failed)

    p = sub.add_parser(
        "reconcile-payments", help="record payments Stripe confirmed but no webhook delivered"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reconcile_payments)
    return parser


def install_hooks() -> None:
    """The one wiring of every entry point (create_app calls the same function for serve)."""
    from marketplace.hooks import install

    install()


# Commands that end in `serve`: their server's processes share one metrics directory.
SERVING = ("serve", "demo")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.command in SERVING:
            from marketplace.server import shared_metrics

            stack.enter_context(shared_metrics())  # before the hooks import prometheus_client
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        # Every command, not only the worker: a command that records something (a payment by
        # reconcile-payments, an administrator ...) must write the e-mails its cause owes.
        install_hooks()
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, non-zero: the CLI contract in API.md
        detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
        print(f"marketplace {args.command}: {detail}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
