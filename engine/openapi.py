"""The service's HTTP API as OpenAPI 3.1, generated from the http triggers of the steps.

Each trigger gives a path and method; its pydantic models give the request body, the query
parameters and the documented answers (`responses`); its `auth` gives the security schemes. The
engine adds what it answers itself: the refusals of the edge (400, 401, 408, 413, 415, 422)
and 500/504, all `{"error", "detail"}`, plus `/health`, `/metrics` and this document.
Nothing here is written by hand per endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .triggers import HttpTrigger, Reply

if TYPE_CHECKING:
    from .registry import Step

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
TRACE_HEADER = {"X-Trace-Id": {"$ref": "#/components/headers/TraceId"}}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal and error of the edge.",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "a short machine-readable code"},
        "detail": {"description": "what is wrong, for a person (text, or a list for validation errors)"},
    },
}
HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "backend"],
    "properties": {
        "status": {"enum": ["ok", "degraded", "down"]},
        "backend": {"type": "object"},
        "queues": {"type": "object"},
    },
}
ModelMode = Literal["validation", "serialization"]


def build_openapi(
    steps: Sequence[Step], title: str = "step engine", version: str = "0", description: str = ""
) -> dict[str, Any]:
    routes = [(step, t) for step in steps for t in step.triggers_of(HttpTrigger)]
    refs, schemas = _model_schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    security_schemes: dict[str, Any] = {}
    for step, trigger in sorted(routes, key=lambda r: (r[1].path, r[1].method)):
        path, path_params = _openapi_path(trigger.path)
        paths.setdefault(path, {})[trigger.method.lower()] = _operation(
            step, trigger, path_params, refs, schemas
        )
        if trigger.auth is not None:
            security_schemes.update({k: dict(v) for k, v in trigger.auth.schemes.items()})
    paths.update(_engine_paths())
    info = {"title": title, "version": version, **({"description": description} if description else {})}
    components: dict[str, Any] = {
        "schemas": {**schemas, "Error": ERROR_SCHEMA, "Health": HEALTH_SCHEMA},
        "headers": {
            "TraceId": {
                "description": "trace id of the request; it is in every log line and job it caused",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    }
    if security_schemes:
        components["securitySchemes"] = security_schemes
    return {"openapi": "3.1.0", "info": info, "paths": paths, "components": components}


def _model_schemas(routes: list[tuple[Step, HttpTrigger]]) -> tuple[dict[Any, Any], dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], ModelMode], None] = {}
    for _, t in routes:
        for model in (t.body, t.query):
            if model is not None:
                wanted[(model, "validation")] = None
        for reply in t.responses.values():
            if reply.model is not None:
                wanted[(reply.model, "serialization")] = None
    if not wanted:
        return {}, {}
    refs, top = models_json_schema(list(wanted), ref_template=REF)
    return refs, dict(top.get("$defs", {}))


def _openapi_path(path: str) -> tuple[str, list[str]]:
    """aiohttp's `/x/{name}` or `/x/{name:regex}` → OpenAPI's `/x/{name}` and the names."""
    names = re.findall(r"\{(\w+)(?::[^}]*)?\}", path)
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", path), names


def _operation(
    step: Step, trigger: HttpTrigger, path_params: list[str], refs: dict[Any, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": re.sub(
            r"[^A-Za-z0-9_.-]+", "_", f"{step.name}.{trigger.method.lower()}{trigger.path}"
        ),
        "summary": step.description or step.name,
        "tags": list(step.flows) or [step.name],
    }
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path_params]
    if trigger.query is not None:
        params += _query_parameters(refs[(trigger.query, "validation")], schemas)
    if params:
        op["parameters"] = params
    if trigger.method in BODY_METHODS:
        if trigger.body is not None:
            schema = refs[(trigger.body, "validation")]
            content = {"application/json": {"schema": schema}}
            op["requestBody"] = {"required": trigger.body_required, "content": content}
        else:
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {}}}}
    if trigger.auth is not None:
        op["security"] = [{name: []} for name in trigger.auth.schemes]
    op["responses"] = _responses(trigger, refs)
    return op


def _query_parameters(ref: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    model = schemas[ref["$ref"].rsplit("/", 1)[-1]]
    required = set(model.get("required", []))
    out = []
    for name, schema in model.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if "description" in schema:
            param["description"] = schema["description"]
        out.append(param)
    return out


def _engine_refusals(trigger: HttpTrigger) -> dict[str, str]:
    refusals = {
        "400": "bad request: invalid JSON (not UTF-8, too deep, a number too long, NaN or Infinity), "
        "a missing body, an incomplete body, or the step's own refusal",
        "408": "the request body did not arrive within the body deadline",
        "413": "the request body is larger than the limit",
        "500": "unexpected error; the trace id (X-Trace-Id) finds it in the logs",
        "504": "the handler did not answer within the request timeout",
    }
    if trigger.auth is not None:
        refusals["401"] = f"{trigger.auth.detail} (checked before the body is parsed)"
    if trigger.method in BODY_METHODS:
        refusals["415"] = "the body is not application/json"
    if trigger.query is not None or (trigger.body is not None and trigger.invalid_status == 422):
        refusals["422"] = "the query or body failed validation; `detail` lists the fields"
    if trigger.body is not None and trigger.invalid_status != 422:
        status = str(trigger.invalid_status)
        text = "the body failed validation; `detail` lists the fields"
        refusals[status] = f"{refusals[status]}; {text}" if status in refusals else text
    return refusals


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _reply_schema(reply: Reply, refs: dict[Any, Any]) -> dict[str, Any]:
    return refs[(reply.model, "serialization")] if reply.model is not None else {}


def _responses(trigger: HttpTrigger, refs: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, reply in trigger.responses.items():
        schema = _reply_schema(reply, refs)
        out[status] = _answer(reply.description, _content(schema))
    fallback = trigger.responses.get("default")
    for status, description in _engine_refusals(trigger).items():
        declared = trigger.responses.get(status) or fallback
        if declared is None:
            schema = ERROR_REF
        else:  # the handler may answer this status too (e.g. a proxied upstream answer)
            other = _reply_schema(declared, refs)
            schema = {"anyOf": [ERROR_REF, other]} if other else {}
        out[status] = _answer(description, _content(schema))
    return dict(sorted(out.items()))


def _answer(description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "headers": TRACE_HEADER, "content": content}


def _engine_paths() -> dict[str, Any]:
    crash = _answer("unexpected error", _content(ERROR_REF))

    def get(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
        op = {"operationId": operation_id, "summary": summary, "tags": ["engine"]}
        return {"get": {**op, "responses": {**responses, "500": crash}}}

    health = _content({"$ref": "#/components/schemas/Health"})
    return {
        "/health": get(
            "health",
            "Health of the service: backend, queues, dead letters",
            {
                "200": _answer("ok or degraded", health),
                "503": _answer("down: the backend is unreachable", health),
            },
        ),
        "/metrics": get(
            "metrics",
            "Metrics in the Prometheus text format",
            {"200": _answer("metrics", {"text/plain": {"schema": {"type": "string"}}})},
        ),
        "/openapi.json": get(
            "openapi",
            "The OpenAPI document of this service",
            {"200": _answer("this document", _content({"type": "object"}))},
        ),
    }
