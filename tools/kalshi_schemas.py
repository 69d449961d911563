"""Derive the schema subset the fidelity test checks from Kalshi's own documents.

    pip install pyyaml   # for this script only; fillwatch does not need it
    python tools/kalshi_schemas.py SPECS_DIR > tests/data/kalshi/schemas.json

SPECS_DIR holds ``asyncapi.yaml`` and ``openapi.yaml`` as Kalshi ships them in
the ``kalshi-sdk`` source archive (``specs/``; the same files as
docs.kalshi.com/asyncapi.yaml). For the payloads fillwatch and its simulator
exchange, the script resolves every ``$ref`` and keeps what validation needs —
types, enums, consts, required fields, formats, bounds — turning OpenAPI's
``nullable`` into a ``"null"`` type. Prose (descriptions, examples) and vendor
extensions are left out. The documents themselves are not part of the repository.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

KEEP = {"type", "enum", "const", "required", "properties", "items", "format", "minimum", "maximum", "oneOf"}

ASYNCAPI = {
    # server → client
    "fill": "fillPayload",
    "user_order": "userOrderPayload",
    "subscribed": "subscribedResponsePayload",
    "unsubscribed": "unsubscribedResponsePayload",
    "ok": "okResponsePayload",
    "ok_list": "listSubscriptionsResponsePayload",
    "error": "errorResponsePayload",
    # client → server
    "subscribe": "subscribeCommandPayload",
    "unsubscribe": "unsubscribeCommandPayload",
    "list_subscriptions": "listSubscriptionsCommandPayload",
    "update_subscription": "updateSubscriptionCommandPayload",
}
OPENAPI = ("GetFillsResponse", "GetOrdersResponse", "GetMarketResponse", "GetPositionsResponse", "ErrorResponse")


def resolve(node: Any, schemas: dict[str, Any]) -> Any:
    """`node` with its references inlined and only the validating keywords kept."""
    if isinstance(node, list):
        return [resolve(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    nullable = node.get("nullable") is True
    if "$ref" in node:
        target = resolve(schemas[node["$ref"].rsplit("/", 1)[1]], schemas)
    elif "allOf" in node and len(node["allOf"]) == 1:
        target = resolve(node["allOf"][0], schemas)
    else:
        target = {}
        for key, value in node.items():
            if key == "properties":
                target[key] = {name: resolve(sub, schemas) for name, sub in value.items()}
            elif key in KEEP:
                target[key] = resolve(value, schemas)
    return _nullable(target) if nullable else target


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def main() -> None:
    specs = Path(sys.argv[1])
    asyncapi = yaml.safe_load((specs / "asyncapi.yaml").read_text(encoding="utf-8"))
    openapi = yaml.safe_load((specs / "openapi.yaml").read_text(encoding="utf-8"))
    async_schemas = asyncapi["components"]["schemas"]
    open_schemas = openapi["components"]["schemas"]
    derived = {
        "$comment": "Derived by tools/kalshi_schemas.py from Kalshi's documents; regenerate, do not edit.",
        "sources": {
            "asyncapi": {
                "document": "asyncapi.yaml",
                "title": asyncapi["info"]["title"],
                "version": asyncapi["info"]["version"],
                "shipped_in": "kalshi-sdk 22.4.0",
            },
            "openapi": {
                "document": "openapi.yaml",
                "title": openapi["info"]["title"],
                "version": openapi["info"]["version"],
                "shipped_in": "kalshi-sdk 22.4.0",
            },
        },
        "asyncapi": {name: resolve(async_schemas[ref], async_schemas) for name, ref in ASYNCAPI.items()},
        "openapi": {name: resolve(open_schemas[name], open_schemas) for name in OPENAPI},
    }
    json.dump(derived, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
