"""The pages with their own scripts work under the Content Security Policy: the page
fixture fails a test on any CSP console error (tests/browser/conftest.py)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_language_switch_and_the_api_docs_run_under_the_policy(page):
    page.goto("/")
    with page.expect_navigation():
        page.locator("#language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()  # the split view's own script
