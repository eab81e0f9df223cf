"""The `marketplace` command as an operator runs it, on a scratch SQLite file of its own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def cli(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", **extra_env}
    return subprocess.run(
        [sys.executable, "-m", "marketplace.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_seed_and_createadmin(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    assert cli(tmp_path, "migrate").returncode == 0, "migrate is idempotent"
    seeded = cli(
        tmp_path, "seed", "--demo", "--bodies", "12", "--organisations", "5", "--random-seed", "7"
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "admin@demo.certmarket.test" in seeded.stdout
    assert "Demo data" in seeded.stderr, "long work shows a progress bar"
    again = cli(tmp_path, "seed", "--demo")
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1, "failures are one line"
    made = cli(
        tmp_path,
        "createadmin",
        "ops@example.test",
        MARKETPLACE_ADMIN_PASSWORD="a sturdy admin passphrase",
    )
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        rows = db.execute(
            "SELECT is_platform_admin FROM app_user WHERE email = 'ops@example.test'"
        ).fetchall()
        bodies = db.execute("SELECT count(*) FROM certification_body").fetchone()[0]
    assert rows == [(1,)]
    assert bodies == 12


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    names = []
    for run in ("one", "two"):
        path = tmp_path / run
        path.mkdir()
        assert cli(path, "migrate").returncode == 0
        assert (
            cli(
                path, "seed", "--demo", "--quiet", "--bodies", "8", "--organisations", "4"
            ).returncode
            == 0
        )
        with sqlite3.connect(path / "cli.sqlite3") as db:
            names.append(db.execute("SELECT name FROM certification_body ORDER BY name").fetchall())
    assert names[0] == names[1]


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "migrate", DATABASE_URL="mysql://nope")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("marketplace")
    assert "Traceback" not in result.stderr
