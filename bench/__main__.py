"""Run every benchmark: each module ``bench/<name>.py`` that defines ``main()``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench import say


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        f"bench.{info.name}"
        for info in pkgutil.iter_modules([str(here)])
        if not info.ispkg and not info.name.startswith("_")
    )


def run() -> int:
    failed = []
    for name in discover():
        module = importlib.import_module(name)
        main = getattr(module, "main", None)
        if not callable(main):
            continue
        say(f"== {name}")
        try:
            main()
        except Exception as exc:  # noqa: BLE001 - report and go on with the next one
            say(f"!! {name} failed: {exc!r}")
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run())
