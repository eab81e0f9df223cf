"""Run localstripe's aiohttp app on 127.0.0.1 only (its own CLI binds every interface): `python this.py PORT`."""

from __future__ import annotations

import sys
import warnings

from aiohttp import web


def main() -> None:
    port = int(sys.argv[1])
    # localstripe registers plain functions as handlers, which aiohttp marks as deprecated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from localstripe import resources, server
    # Keep its store in memory: by default it pickles to a shared /tmp file on every write.
    resources.store.dump_to_disk = lambda: None  # type: ignore[method-assign]
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
