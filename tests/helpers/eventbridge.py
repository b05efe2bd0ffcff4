"""EventBridge's InputTransformer, applied locally (EventBridge does not run here)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


def apply_input_transformer(paths_map: Mapping[str, str], template: str, event: dict[str, Any]) -> dict[str, Any]:
    """JSON values for bare placeholders, raw text inside quoted strings."""

    def lookup(path: str) -> Any:
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        return value

    values = {name: lookup(path) for name, path in paths_map.items()}
    template = re.sub(
        r'"([^"]*)"', lambda m: '"' + re.sub(r"<(\w+)>", lambda p: str(values[p[1]]), m[1]) + '"', template
    )
    loaded: dict[str, Any] = json.loads(re.sub(r"<(\w+)>", lambda m: json.dumps(values[m[1]]), template))
    return loaded
