"""Every entry point wires the same notification hooks: each CLI command, and the served app.

Each is checked in a fresh process (the registries are per process), so a command that forgot
the wiring cannot borrow it from an earlier test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from marketplace import cli

# Runs one command through cli.main with its handler replaced by a probe: what the probe sees
# is what the real command would have found wired when it started its work.
_PROBE_COMMAND = """
import json, sys
from marketplace import cli, hooks

build = cli.build_parser

def probed():
    parser = build()
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            sub.set_defaults(func=lambda args: print(json.dumps(hooks.wiring())) or 0)
    return parser

cli.build_parser = probed
sys.exit(cli.main(sys.argv[1:]))
"""

# What `marketplace serve` (gunicorn's uvicorn workers on marketplace.asgi:app, in each process) wires.
_PROBE_SERVE = """
import json
import marketplace.asgi  # noqa: F401  (builds the app as uvicorn does)
from marketplace import hooks
print(json.dumps(hooks.wiring()))
"""

# Arguments each command needs to parse (the probe never runs the command itself).
ARGS = {"createadmin": ["someone@example.test"]}


def commands() -> list[str]:
    parser = cli.build_parser()
    subparsers = parser._subparsers
    assert subparsers is not None
    (action,) = subparsers._group_actions
    assert action.choices is not None
    return sorted(action.choices)


def _wiring(code: str, *argv: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wiring: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return wiring


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    return _wiring(_PROBE_SERVE)


def test_the_served_app_wires_the_payment_e_mails(served: dict[str, Any]) -> None:
    assert (
        "marketplace.billing.notifications_hooks._invoice_paid"
        in served["actions"]["marketplace.invoice.paid"]
    )
    assert "reconcile_payments" in served["sweeps"]


def test_the_command_list_is_the_documented_one() -> None:
    # A new command shows up here (and so in the wiring test below) without anyone listing it.
    assert {
        "createadmin",
        "demo",
        "migrate",
        "reconcile-payments",
        "retry-failed",
        "seed",
        "serve",
        "worker",
        "worker-alive",
    } <= set(commands())


@pytest.mark.parametrize("command", commands())
def test_every_command_wires_what_serve_wires(command: str, served: dict[str, Any]) -> None:
    assert _wiring(_PROBE_COMMAND, command, *ARGS.get(command, [])) == served
