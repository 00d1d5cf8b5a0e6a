"""``make bench``: run every benchmark module of ``bench/`` that defines ``main()``.

    python -m bench.run              # all of them, in name order
    python -m bench.run shots speech # only these (module names without ``bench.``)

A failing benchmark is reported and the others still run; the exit code says if any failed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

SKIP = {"run", "common", "__init__"}


def discover() -> list[str]:
    """Names of the modules in ``bench/`` that define a ``main`` function (not imported yet:
    a cheap text check, so a broken module cannot stop the listing)."""
    folder = Path(__file__).parent
    names = []
    for info in pkgutil.iter_modules([str(folder)]):
        source = folder / f"{info.name}.py"
        if info.name in SKIP or not source.exists():
            continue
        if "\ndef main(" in source.read_text():
            names.append(info.name)
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    wanted = list(argv if argv is not None else sys.argv[1:]) or discover()
    failed = []
    for name in wanted:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        saved, sys.argv = sys.argv, [f"bench.{name}"]  # their own argument parsers see none
        try:
            module = importlib.import_module(f"bench.{name}")
            module.main()
        except SystemExit as exc:  # a benchmark may exit early (e.g. no shared media)
            if exc.code not in (None, 0):
                print(f"bench.{name} exited: {exc.code}")
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        finally:
            sys.argv = saved
        print(f"=== bench.{name}: {time.perf_counter() - started:.1f} s ===", flush=True)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
