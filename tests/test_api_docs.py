"""``/api/docs``: the API reference, Swagger UI served from the device, under the page's CSP."""

from __future__ import annotations

import re

import pytest

from e2e_support import sign_in

SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"


def test_the_reference_needs_sign_in(client):
    # A page for people: the browser is sent to sign in, not answered with a problem document.
    response = client.get("/api/docs")
    assert response.status_code in (302, 303)
    assert "/sign-in" in response.headers["Location"]
    assert "swagger-ui" not in response.get_data(as_text=True)


def test_the_reference_page_links_the_vendored_swagger_ui(client, auth):
    auth.sign_in()
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<div id="swagger-ui"' in html and 'data-openapi="/api/v1/openapi.json"' in html
    assert "<script>" not in html and " style=" not in html  # the CSP allows neither
    for linked in (f"{SWAGGER_UI}/swagger-ui.css", f"{SWAGGER_UI}/swagger-ui-bundle.js",
                   "/static/js/api-docs.js"):
        assert f'"{linked}"' in html
        with client.get(linked) as served:
            assert served.status_code == 200, linked


def test_every_page_links_the_reference(client, auth):
    auth.sign_in()
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<a href="/api/docs">API reference</a>', html)


@pytest.mark.e2e
def test_the_reference_lists_operations_without_console_errors(live_server, browser_page):
    page = browser_page
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server)
    # Violations also reach the console; this catches one whatever its wording.
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP violation: ' + e.violatedDirective + ' '"
                         " + e.blockedURI))")
    page.goto(live_server.url + "/api/docs")
    status = page.locator(".opblock-summary-path[data-path='/api/v1/status']")
    status.first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert problems == []
