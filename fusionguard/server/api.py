"""The HTTP API (JSON, under ``/api/v1``) and the public endpoints.

Authenticated by an API token (``Authorization: Bearer fgt_...``) or a console session (then unsafe
methods need the ``X-CSRF-Token`` header). Roles: ``platform`` may trace and file takedowns only;
``viewer`` may read records and trace; ``admin`` may do everything.

Public, no authentication: ``GET /checkpoint`` (the latest signed checkpoint, a C2SP signed note),
``GET /keys`` (the public keys, as ``fusionguard keys export-public`` writes them) and
``GET /api/v1/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fusionguard.audit.operations import file_takedown, record_summary, takedowns_of
from fusionguard.errors import BadInput
from fusionguard.server.auth import Body, Principal, endpoint
from fusionguard.server.filters import DECISIONS, check_record_key, parse_filters

READ = ("viewer", "admin")
TRACE = ("viewer", "admin", "platform")
TAKEDOWN = ("admin", "platform")


@endpoint(TRACE, api=True, max_body=-1)
def api_trace(request: Request, principal: Principal, body: Body) -> Response:
    upload = body.files.get("image")
    if upload is None or not upload[1]:
        raise BadInput("send the image as the multipart/form-data file field 'image'")
    return JSONResponse(request.app.state.console.tracing().trace(upload[1], upload[0]))


@endpoint(TAKEDOWN, api=True)
def api_takedown(request: Request, principal: Principal, body: Body) -> Response:
    data = body.json
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("record"), str)
        or not isinstance(data.get("reason"), str)
    ):
        raise BadInput('send JSON {"record": "<record ID, seq or watermark ID>", "reason": "<why>"}')
    console = request.app.state.console
    key = check_record_key(data["record"])
    receipt = file_takedown(console.log, key, data["reason"], actor=principal.username, now=console.clock())
    return JSONResponse(
        {
            "seq": receipt.seq,
            "record_id": receipt.record_id,
            "refers_to": console.log.get(key).record.record_id,
            "checkpoint": receipt.checkpoint,
        },
        status_code=201,
    )


@endpoint(READ, api=True)
def api_records(request: Request, principal: Principal, body: Body) -> Response:
    filters, _given = parse_filters(request.query_params)
    rows = [record_summary(s) for s in request.app.state.console.log.query(filters)]
    more = filters.limit is not None and len(rows) == filters.limit
    return JSONResponse({"records": rows, "next_before": rows[-1]["seq"] if more and rows else None})


@endpoint(READ, api=True)
def api_record(request: Request, principal: Principal, body: Body) -> Response:
    log = request.app.state.console.log
    stored = log.get(check_record_key(request.path_params["key"]))
    takedowns = takedowns_of(log, stored.record.record_id) if stored.record.kind == "run" else []
    return JSONResponse(
        {
            "envelope": stored.envelope,
            "summary": record_summary(stored),
            "taken_down": bool(takedowns),
            "takedowns": [record_summary(t) for t in takedowns],
        }
    )


@endpoint(READ, api=True)
def api_proof(request: Request, principal: Principal, body: Body) -> Response:
    log = request.app.state.console.log
    return JSONResponse(log.inclusion_proof(check_record_key(request.path_params["key"])))


async def public_checkpoint(request: Request) -> Response:
    note = await run_in_threadpool(request.app.state.console.log.head)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


async def public_keys(request: Request) -> Response:
    return JSONResponse(request.app.state.console.ring.export_public())


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


def _filter_params() -> list[dict[str, Any]]:
    text = {"type": "string"}
    return [
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "decision", "in": "query", "schema": {"enum": list(DECISIONS)}},
        {"name": "model", "in": "query", "schema": text},
        {"name": "identity", "in": "query", "schema": text},
        {"name": "watermark_id", "in": "query", "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{16}$"}},
        {"name": "taken_down", "in": "query", "schema": {"enum": ["yes", "no"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        {
            "name": "before",
            "in": "query",
            "description": "keyset cursor: next_before of the last page",
            "schema": {"type": "integer"},
        },
    ]


_ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "record ID, sequence number or watermark ID",
    "schema": {"type": "string"},
}
_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "fusionguard API", "version": "1"},
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/api/v1/trace": {
            "post": {
                "summary": "Trace a leaked image to its audit record (roles: platform, viewer, admin)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"image": {"type": "string", "format": "binary"}},
                                "required": ["image"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "trace result", **_JSON},
                    "400": _ERROR,
                    "401": _ERROR,
                    "403": _ERROR,
                    "413": _ERROR,
                    "415": _ERROR,
                },
            }
        },
        "/api/v1/takedowns": {
            "post": {
                "summary": "Append a signed takedown record (roles: platform, admin)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "record": {"type": "string"},
                                    "reason": {"type": "string", "maxLength": 2000},
                                },
                                "required": ["record", "reason"],
                            }
                        }
                    },
                },
                "responses": {
                    "201": {"description": "takedown recorded", **_JSON},
                    "400": _ERROR,
                    "401": _ERROR,
                    "403": _ERROR,
                    "404": _ERROR,
                },
            }
        },
        "/api/v1/records": {
            "get": {
                "summary": "Records, newest first, filtered as 'audit list' (roles: viewer, admin)",
                "parameters": _filter_params(),
                "responses": {
                    "200": {"description": "one page of record summaries", **_JSON},
                    "400": _ERROR,
                    "401": _ERROR,
                    "403": _ERROR,
                },
            }
        },
        "/api/v1/records/{key}": {
            "get": {
                "summary": "One signed record envelope and its takedown status (roles: viewer, admin)",
                "parameters": [_KEY],
                "responses": {
                    "200": {"description": "the record", **_JSON},
                    "401": _ERROR,
                    "403": _ERROR,
                    "404": _ERROR,
                },
            }
        },
        "/api/v1/records/{key}/proof": {
            "get": {
                "summary": "An inclusion proof, as 'audit proof' writes it (roles: viewer, admin)",
                "parameters": [_KEY],
                "responses": {
                    "200": {"description": "inclusion proof", **_JSON},
                    "401": _ERROR,
                    "403": _ERROR,
                    "404": _ERROR,
                },
            }
        },
        "/checkpoint": {
            "get": {
                "summary": "The latest signed checkpoint (C2SP signed note); public",
                "security": [],
                "responses": {
                    "200": {
                        "description": "signed note",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/keys": {
            "get": {
                "summary": "The log's public keys; public",
                "security": [],
                "responses": {"200": {"description": "public keys", **_JSON}},
            }
        },
    },
}


def routes() -> list[Route]:
    return [
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/trace", api_trace, methods=["POST"]),
        Route("/api/v1/takedowns", api_takedown, methods=["POST"]),
        Route("/api/v1/records", api_records, methods=["GET"]),
        Route("/api/v1/records/{key}", api_record, methods=["GET"]),
        Route("/api/v1/records/{key}/proof", api_proof, methods=["GET"]),
        Route("/checkpoint", public_checkpoint, methods=["GET"]),
        Route("/keys", public_keys, methods=["GET"]),
    ]
