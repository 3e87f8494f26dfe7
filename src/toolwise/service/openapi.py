"""The OpenAPI document of the HTTP API, as committed in ``docs/openapi.json``.

    python -m toolwise.service.openapi docs/openapi.json    # regenerate after an API change

A test compares the committed file with the app's schema, so the document cannot drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from toolwise.service.app import create_app
from toolwise.service.backend import ServiceBackend

__all__ = ["openapi_json", "openapi_schema"]


def openapi_schema() -> dict[str, Any]:
    """The schema of the app (no backend is called to build it)."""
    return create_app(cast(ServiceBackend, object())).openapi()


def openapi_json() -> str:
    """The schema as the committed file holds it: indented, with a final newline."""
    return json.dumps(openapi_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        Path(args[0]).write_text(openapi_json(), encoding="utf-8")
    else:
        sys.stdout.write(openapi_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
