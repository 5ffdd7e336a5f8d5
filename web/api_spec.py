"""API routes declared once: the same declaration registers the Flask route, validates
the query and body with the pydantic models, serialises the response through its
model, and describes the operation in the generated OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema

from fitsflow import __version__
from fitsflow.domain import limits
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.services import idempotency
from fitsflow.services.auth import SCOPES, count_api_write

from . import api_models as m
from .access import API, PUBLIC, WHOSE, access, allows
from .login import actor, runtime

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
ERROR_STATUSES = {400: "Invalid input: `problems` names each field", 401: "No valid token",
                  403: "Not permitted", 404: "Not found, or not visible to you",
                  409: "Not allowed now (`allowed`), gate not satisfied (`missing`), stale, or the "
                       "first request with this Idempotency-Key is still being answered",
                  413: "Request too large",
                  422: "This Idempotency-Key was used for a different request",
                  429: "Too many requests",
                  503: "Storage unavailable (disk full, read-only, unreachable): try again after Retry-After"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str
    summary: str
    response: type[BaseModel]
    status: int
    body: tuple[type[BaseModel], ...]
    discriminator: str | None
    query: type[m.Query] | None
    public: bool
    # The token scope it needs (read, write, admin): declared with it, never read off its path.
    scope: str = "read"
    # A decision at a gate: by token too, only for a person with a second factor when their
    # roles need one.
    second_factor: bool = False
    # Who may call it, by the same rule the web's pages use (web/access.py): API leaves it to
    # the service; VIEWERS, AUDITORS, … refuse everyone else here as the pages do.
    who: str = API

    @property
    def path(self) -> str:
        return _PARAM.sub(r"{\2}", self.rule)

    def path_params(self) -> list[dict[str, Any]]:
        params = []
        for converter, name in _PARAM.findall(self.rule):
            schema: dict[str, Any] = ({"type": "integer", "minimum": 1, "maximum": limits.ID_MAX}
                                      if converter == "int" else {"type": "string", "maxLength": 60})
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return params


ENDPOINTS: list[Endpoint] = []


def _problems(err: ValidationError, drop_tag: bool) -> dict[str, str]:
    problems: dict[str, str] = {}
    for item in err.errors(include_url=False):
        loc = [str(p) for p in item["loc"]]
        if drop_tag and loc:
            loc = loc[1:]
        key = ".".join(loc) or "body"
        problems.setdefault(key, item["msg"])
    return problems


def _parse_body(endpoint: Endpoint) -> Any:
    raw = request.get_data(cache=True)
    if len(endpoint.body) == 1:
        model = endpoint.body[0]
        if not raw.strip() and not any(f.is_required() for f in model.model_fields.values()):
            return model()
        adapter: TypeAdapter[Any] = TypeAdapter(model)
    else:
        adapter = _union_adapter(endpoint.body, endpoint.discriminator or "")
    try:
        return adapter.validate_json(raw or b"null", strict=True)
    except ValidationError as err:
        raise InvalidInput(_problems(err, drop_tag=endpoint.discriminator is not None)) from None


_UNIONS: dict[tuple[type[BaseModel], ...], TypeAdapter[Any]] = {}


def _union_adapter(models: tuple[type[BaseModel], ...], discriminator: str) -> TypeAdapter[Any]:
    from typing import Annotated, Union

    from pydantic import Field

    if models not in _UNIONS:
        union = Union[models]  # type: ignore[valid-type]  # noqa: UP007
        _UNIONS[models] = TypeAdapter(Annotated[union, Field(discriminator=discriminator)])
    return _UNIONS[models]


def _parse_query(endpoint: Endpoint) -> Any:
    assert endpoint.query is not None
    try:
        return endpoint.query.model_validate(request.args.to_dict())
    except ValidationError as err:
        raise InvalidInput(_problems(err, drop_tag=False)) from None


def route(bp: Blueprint, method: str, rule: str, *, summary: str, response: type[BaseModel],
          body: type[BaseModel] | tuple[type[BaseModel], ...] | None = None, discriminator: str | None = None,
          query: type[m.Query] | None = None, status: int = 200,
          public: bool = False, scope: str | None = None, second_factor: bool = False,
          who: str = API) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API operation; the view gets ``body=`` and ``query=`` already validated
    and returns an instance of ``response`` (optionally with extra headers). ``scope`` is the
    token scope it needs (by default read for GET, write for the rest)."""
    bodies = body if isinstance(body, tuple) else ((body,) if body is not None else ())
    needed = scope or ("read" if method == "GET" else "write")
    if needed not in SCOPES:  # pragma: no cover - a declaration error, caught at import
        raise ValueError(f"{method} {rule}: unknown scope {needed!r}")
    endpoint = Endpoint(method, rule, summary, response, status, bodies, discriminator, query, public,
                        needed, second_factor, who)
    ENDPOINTS.append(endpoint)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def handle(**params: Any) -> Any:
            if not public:
                _check_token(endpoint)
            if endpoint.query is not None:
                params["query"] = _parse_query(endpoint)
            elif request.args:
                raise InvalidInput({name: "is not a parameter of this operation" for name in request.args})
            if method != "GET" and not public:
                count_api_write(runtime(), user_id=actor().id)
            if endpoint.body:
                params["body"] = _parse_body(endpoint)

            def execute() -> idempotency.Answer:
                result = view(**params)
                headers: dict[str, str] = {}
                if isinstance(result, tuple):
                    result, headers = result
                payload = endpoint.response.model_validate(result).model_dump(mode="json")
                return idempotency.Answer(endpoint.status, payload, headers)

            key = request.headers.get("Idempotency-Key")
            if key is None or method == "GET" or public:
                answer = execute()
            else:
                answer = idempotency.run(
                    runtime(), user_id=actor().id, key=key, execute=execute,
                    request_fingerprint=idempotency.fingerprint(method, request.path, request.get_data()))
            headers = dict(answer.headers)
            if answer.replayed:
                headers["Idempotent-Replayed"] = "true"
            return jsonify(answer.body), answer.status, headers

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=access(PUBLIC if public else API)(handle),
                        methods=[method])
        return handle

    return decorate


def _check_token(endpoint: Endpoint) -> None:
    """The caller's token reaches this operation: its scope covers the one declared, and a
    decision needs a second factor enrolled where the person's roles require one."""
    scope = g.get("api_scope", "read")
    if SCOPES.index(scope) < SCOPES.index(endpoint.scope):
        raise NotPermitted(f"this token's scope is '{scope}'; this needs '{endpoint.scope}'")
    person = actor()
    if endpoint.who != API and not allows(endpoint.who, True, person.roles, runtime().roles):
        raise NotPermitted(f"this is for {WHOSE.get(endpoint.who, endpoint.who)}")
    if endpoint.second_factor and person.second_factor_missing:
        raise NotPermitted("decisions by token need a second factor: set one up on your account page first")


def _error_responses() -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in ERROR_STATUSES}


def document(prefix: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document, generated from the declared operations and their models."""
    pairs: list[tuple[type[BaseModel], Any]] = [(m.Error, "serialization")]
    for e in ENDPOINTS:
        pairs.append((e.response, "serialization"))
        pairs += [(b, "validation") for b in e.body]
    pairs = list(dict.fromkeys(pairs))
    refs, top = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        operation_id = e.method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", e.path)
        ok = {"description": e.summary,
              "content": {"application/json": {"schema": refs[(e.response, "serialization")]}}}
        op: dict[str, Any] = {"operationId": operation_id, "summary": e.summary,
                              "parameters": e.path_params(), "responses": {str(e.status): ok}}
        if not e.public:
            op["responses"].update(_error_responses())
            op["x-token-scope"] = e.scope
            op["description"] = f"Needs a token of scope {e.scope} or wider." + (
                " A decision: the person needs a second factor where their roles require one."
                if e.second_factor else "")
        else:
            op["security"] = []
        if e.method != "GET" and not e.public:
            op["parameters"].append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Retry safely: the same key and request get the first answer again "
                               "(Idempotent-Replayed: true) instead of running twice.",
                "schema": {"type": "string", "pattern": idempotency.KEY.pattern}})
        if e.query is not None:
            props = e.query.model_json_schema()["properties"]
            op["parameters"] += [{"name": name, "in": "query", "required": False, "schema": schema}
                                 for name, schema in props.items()]
        if e.body:
            if len(e.body) == 1:
                schema = refs[(e.body[0], "validation")]
            else:
                schema = {"oneOf": [refs[(b, "validation")] for b in e.body],
                          "discriminator": {"propertyName": e.discriminator or "decision"}}
            required = any(f.is_required() for b in e.body for f in b.model_fields.values())
            op["requestBody"] = {"required": required, "content": {"application/json": {"schema": schema}}}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "fitsflow API", "version": __version__,
                 "description": "Change and release management for school ICT. Every error is an "
                                "Error object with a machine-readable `code`."},
        "servers": [{"url": prefix}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "responses": {f"E{code}": {"description": text, "content": {"application/json": {
                "schema": refs[(m.Error, "serialization")]}}} for code, text in ERROR_STATUSES.items()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
