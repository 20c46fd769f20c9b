"""`GET /docs`: Swagger UI from the server's own files under the pages' CSP, and the bearer
token declared in the OpenAPI schema without changing what the protected routes answer."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.web.app import create_app
from assistant.web.pages import PAGE_HEADERS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` marker skips the browser test (fails it under CI)
    expect = None
else:
    expect.set_options(timeout=20_000)

TOKEN = "agent-token-0123456789abcdef"


@pytest.fixture
def client(fake_settings, fake_assistant):
    s = fake_settings.model_copy(update={"agent_tokens": {"alice": TOKEN},
                                         "admin_token": "admin-token-0123456789"})
    with TestClient(create_app(s, fake_assistant), raise_server_exceptions=False) as c:
        yield c


def test_docs_page_is_served_from_local_files_without_inline_script(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert resp.headers["content-security-policy"] == PAGE_HEADERS["Content-Security-Policy"]
    html = resp.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip()
                           for attrs, body in scripts)
    assert "http://" not in html and "https://" not in html  # no CDN
    for path in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css",
                 "/static/docs.js"):
        assert client.get(path).status_code == 200, path
    assert client.get("/redoc").status_code == 404  # it would need a CDN too


def test_bearer_auth_is_in_the_schema_of_the_agent_and_admin_routes(client):
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["HTTPBearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            protected = path.startswith(("/agent/", "/admin/"))
            assert (op.get("security") == [{"HTTPBearer": []}]) == protected, (method, path)


def test_protected_routes_answer_as_before(client, fake_settings, fake_assistant):
    assert client.get("/agent/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code \
        == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": "Bearer"}):
        for path in ("/agent/me", "/admin/stats"):
            resp = client.get(path, headers=headers)
            assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    with TestClient(create_app(fake_settings, fake_assistant)) as off:  # no tokens configured
        for path in ("/agent/me", "/admin/stats"):
            resp = off.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


@pytest.mark.browser
@pytest.mark.slow
def test_docs_render_the_operations_offline_under_the_csp(page, live_server):
    origin = live_server.url
    outside: list[str] = []
    problems: list[str] = []

    def only_the_server(route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    response = page.goto(origin + "/docs")
    assert response.headers["content-security-policy"] == \
        PAGE_HEADERS["Content-Security-Policy"]
    for path in ("/answer", "/search", "/agent/tickets", "/admin/reload"):
        expect(page.locator(f".opblock-summary-path[data-path='{path}']").first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Authorize"))).to_be_visible()
    page.locator(".opblock-summary-path[data-path='/search']").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()  # an operation opens
    assert outside == []
    assert problems == []  # a CSP refusal would be a console error
