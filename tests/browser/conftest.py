"""Browser tests: real headless Chromium (Playwright, sync API) against Django's live_server.

Every test in this folder gets the `browser` marker (deselect with `-m "not browser"`).
Fixtures:

- `browser`          one Chromium for the whole session (Debian's /usr/bin/chromium).
- `browser_locale`   the context's locale (Accept-Language); "en-US" unless a test overrides
                     it, e.g. `@pytest.mark.parametrize("browser_locale", ["zh-CN"])`.
- `page`             a fresh context + page per test; relative URLs go to the live server.
- `login`            `login(page, user)` signs in through the real login form.
- `screenshot`       `screenshot(page, "name")` saves var/test-screenshots/name.png.

A failing test leaves var/test-screenshots/<test-name>.png behind (path shown in the report).
"""

import importlib
import os
import re
from pathlib import Path

import pytest
from django.apps import apps as django_apps

from tests.factories import TEST_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING_CHROMIUM = f"{CHROMIUM} not found; install chromium: apt-get install -y chromium"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var" / "test-screenshots"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000  # fail fast: a local live server answers in milliseconds

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # Hooks of a sub-folder conftest see the whole session's items: mark only ours.
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            # Whitenoise looks for STATIC_ROOT; the live server serves static files itself.
            item.add_marker(pytest.mark.filterwarnings("ignore:No directory at:UserWarning"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
        if page is not None and not page.is_closed():
            path = SCREENSHOT_DIR / f"{_safe_name(item.name)}.png"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=True)
            except Exception as exc:  # never mask the real failure
                report.sections.append(("browser", f"screenshot failed: {exc!r}"))
            else:
                report.sections.append(("browser", f"url: {page.url}\nscreenshot: {path}"))
    return report


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "test"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(MISSING_CHROMIUM, pytrace=False)
        pytest.skip(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django then
    # refuses ORM calls "from an async context" (factories, assertions on the database).
    # Django's documented escape hatch, set only while the browser is alive.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_locale():
    return "en-US"


@pytest.fixture
def page(browser, browser_locale, live_server, transactional_db, _regions):
    context = browser.new_context(
        base_url=live_server.url, locale=browser_locale, viewport=VIEWPORT
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    # Every journey doubles as a check of the Content Security Policy: a script or style the
    # policy blocks shows up as a console error, and a blocked script is a broken page.
    blocked = []
    page.on("console", lambda message: blocked.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not blocked, f"the CSP blocked something: {blocked}"


@pytest.fixture
def login():
    """`login(page, user)`: sign in through the real form; returns the page, signed in."""

    def _login(page, user, password=TEST_PASSWORD):
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(user.email)
        page.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            page.locator("form:has(input[name=password]) button[type=submit]").click()
        # Signed in: the header offers "Sign out" (a form button), whatever the language.
        sign_out = page.locator("form[action='/accounts/logout/'] button")
        assert sign_out.count() == 1, f"login as {user.email} failed; still at {page.url}"
        return page

    return _login


@pytest.fixture
def screenshot():
    def _screenshot(page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOT_DIR / f"{_safe_name(name)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _screenshot


# --- Reference data -----------------------------------------------------------------------
# Browser tests are transactional: after each one Django empties every table, which also wipes
# the regions that migration accounts/0002 loaded. Put them back before each browser test,
# and once more at the end so that a `--reuse-db` database is whole for the next run.

def _load_regions() -> None:
    from accounts.models import Region

    if not Region.objects.exists():
        migration = importlib.import_module("accounts.migrations.0002_load_regions")
        migration.load_regions(django_apps, None)  # idempotent (ignore_conflicts)


@pytest.fixture(scope="session")
def _regions_after_session(django_db_setup, django_db_blocker):
    yield
    with django_db_blocker.unblock():
        _load_regions()


@pytest.fixture
def _regions(_regions_after_session, transactional_db):
    _load_regions()
