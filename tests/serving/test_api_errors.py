"""One documented error shape: every 401, 403, 404, 413, 422 and 503 of a real `crmid serve` is an
``ErrorResponse``, the OpenAPI schema says so, and a streamed (chunked) body over the limit gets
413 like a declared one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from crmid.serving.api.schemas import ErrorResponse

from ..journeys.conftest import Service, free_port

TOKEN = "errors-test-token"
LIMIT = 2_000
_CODES = ("400", "401", "403", "413", "422", "503")


def _serve(tmp, *, token: str | None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    env["CRMID_MAX_BODY_BYTES"] = str(LIMIT)
    if token:
        env["CRMID_API_TOKEN"] = token
    crmid = str(Path(sys.executable).with_name("crmid"))
    port = free_port()
    # no model: /v1/score answers 503 until one is loaded
    return Service([crmid, "serve", "--host", "127.0.0.1", "--port", str(port), "--model-uri",
                    str(tmp / "no-model-here"), "--work-dir", str(tmp / "w")], tmp, port, env)


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    with_token = _serve(tmp_path_factory.mktemp("token"), token=TOKEN)
    open_ = _serve(tmp_path_factory.mktemp("open"), token=None)
    yield with_token, open_
    with_token.stop()
    open_.stop()


def _shape(response: httpx.Response, status: int) -> ErrorResponse:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = ErrorResponse.model_validate(response.json())
    assert body.status == status and body.detail and body.message and set(response.json()) == set(
        ErrorResponse.model_fields)
    return body


def test_every_error_has_the_one_shape(services):
    secured, open_ = services
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = _shape(secured.get("/v1/version"), 401)
    assert body.error == "unauthorized"
    assert _shape(open_.post("/v1/rules/reload"), 403).error == "forbidden"
    assert _shape(secured.get("/v1/nothing-here", headers=auth), 404).error == "not_found"
    not_json = secured.post("/v1/decide", content=b"\xff{", headers={**auth, "content-type": "application/json"})
    assert _shape(not_json, 400).error == "bad_request"
    big = {"customer_id": "c", "padding": "x" * (LIMIT * 2)}
    assert _shape(secured.post("/v1/decide", json=big, headers=auth), 413).error == "payload_too_large"
    bad = _shape(secured.post("/v1/decide", json={"customer_id": "c", "clv": "lots", "loyalty": 7}, headers=auth),
                 422)
    assert bad.error == "invalid_request" and len(bad.detail) == 2
    assert any("clv" in p for p in bad.detail) and any("loyalty" in p for p in bad.detail)
    unavailable = _shape(secured.post("/v1/score", headers=auth, json={
        "customer_id": "c", "as_of": "1998-06-30", "transactions": [{"date": "1998-01-01", "amount": 5}]}), 503)
    assert unavailable.error == "unavailable" and "train" in unavailable.message


def test_a_chunked_body_over_the_limit_gets_413(services):
    secured, _ = services

    def chunks():
        for _ in range(10):
            yield b'{"customer_id": "c", "pad": "' + b"x" * LIMIT + b'"}'

    r = httpx.post(secured.base + "/v1/decide", content=chunks(), timeout=30,
                   headers={"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert "content-length" not in r.request.headers  # really streamed
    assert _shape(r, 413).error == "payload_too_large"
    # a small chunked body is answered as usual
    small = httpx.post(secured.base + "/v1/decide", content=iter([b'{"customer_id": "c"}']), timeout=30,
                       headers={"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert small.status_code == 200, small.text


def test_openapi_documents_the_error_shape(services):
    secured, _ = services
    spec = secured.get("/openapi.json").json()
    assert set(spec["components"]["schemas"]["ErrorResponse"]["required"]) == {"status", "error", "message",
                                                                               "detail"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path in ("/v1/decide", "/v1/score", "/v1/rules/reload", "/v1/model/reload"):
        responses = spec["paths"][path]["post"]["responses"]
        for code in _CODES:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, code, schema)
    assert spec["paths"]["/v1/retain"]["get"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"}
