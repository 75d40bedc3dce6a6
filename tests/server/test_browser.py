"""The console in a real Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium).

A uvicorn server on loopback serves a seeded home; the browser logs in, sees the dashboard chart,
searches records, opens one, traces an uploaded leaked copy, files a takedown and revokes a consent.
Screenshots go to ``$FUSIONGUARD_SCREENSHOTS`` when set (the README's come from here).

Skips on a machine without Chromium; mandatory in CI (``CI=true``), where .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.server.conftest import Seed, seed_home

CHROMIUM = os.environ.get("FUSIONGUARD_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FUSIONGUARD_CHROMEDRIVER", "/usr/bin/chromedriver")

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests are mandatory in CI but {', '.join(missing)} is missing")
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Seed]]:
    """A real uvicorn server on loopback, with Secure session cookies (browsers accept them there)."""
    _require_browser()
    import uvicorn

    from fusionguard.server.app import ConsoleConfig, create_app
    from fusionguard.store import db

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    seed = seed_home(home, url, datetime.now(UTC))
    port = _free_port()
    config = uvicorn.Config(
        create_app(ConsoleConfig(settings=seed.settings)), host="127.0.0.1", port=port, log_level="warning"
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if uvicorn_server.started:
            break
        time.sleep(0.05)
    assert uvicorn_server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", seed
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    _require_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: object, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    target = os.environ.get("FUSIONGUARD_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def test_console_in_a_real_browser(server: tuple[str, Seed], browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as expected
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, seed = server
    driver = browser
    find = driver.find_element  # type: ignore[attr-defined]
    finds = driver.find_elements  # type: ignore[attr-defined]
    wait = WebDriverWait(driver, 10)  # type: ignore[arg-type]

    # anonymous: sent to the login page; log in as the admin
    driver.get(base + "/records")  # type: ignore[attr-defined]
    assert "/login" in driver.current_url  # type: ignore[attr-defined]
    find(By.ID, "username").send_keys("alice")
    find(By.ID, "password").send_keys(seed.passwords["alice"])
    find(By.ID, "login").click()
    assert find(By.ID, "whoami").text == "alice (admin)"
    session = driver.get_cookie("fg_session")  # type: ignore[attr-defined]
    assert (
        session is not None and session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    )

    # the dashboard's chart renders: bars with a real size on screen
    driver.get(base + "/")  # type: ignore[attr-defined]
    bars = finds(By.CSS_SELECTOR, "#per-day svg rect")
    assert len(bars) >= 5
    assert all(bar.size["width"] > 0 for bar in bars)
    assert int(find(By.ID, "log-size").text) == 16
    _shot(driver, tmp_path, "dashboard")

    # search: blocked records only, then open the traceable record by its watermark ID
    driver.get(base + "/records")  # type: ignore[attr-defined]
    Select(find(By.ID, "decision")).select_by_visible_text("blocked")
    find(By.ID, "search-button").click()
    wait.until(expected.url_contains("decision=blocked"))
    rows = finds(By.CSS_SELECTOR, "#results tbody tr")
    assert len(rows) == 1 and "blocked" in rows[0].text
    Select(find(By.ID, "decision")).select_by_visible_text("any")
    find(By.ID, "watermark_id").send_keys("1234abcd5678ef01")
    find(By.ID, "search-button").click()
    wait.until(expected.url_contains("watermark_id=1234abcd5678ef01"))
    find(By.CSS_SELECTOR, "a.record-link").click()
    assert seed.traceable in driver.current_url  # type: ignore[attr-defined]
    assert find(By.ID, "takedown-status").text == "not taken down"
    assert "<script>" in find(By.ID, "model").text  # shown as text, never run
    _shot(driver, tmp_path, "record")

    # trace an uploaded leaked copy, then file a takedown from the result
    leak = tmp_path / "leaked-copy.jpg"
    leak.write_bytes(seed.leaked)
    driver.get(base + "/trace")  # type: ignore[attr-defined]
    find(By.ID, "image").send_keys(str(leak))
    find(By.ID, "trace-button").click()
    result = find(By.ID, "trace-result")
    assert "1234abcd5678ef01" in result.text
    assert find(By.CSS_SELECTOR, "#trace-result a.record-link").get_attribute("href").endswith(seed.traceable)
    _shot(driver, tmp_path, "trace")
    find(By.CSS_SELECTOR, "textarea.takedown-reason").send_keys(
        "Reported by the person shown; confirmed by trace"
    )
    find(By.CSS_SELECTOR, "button.file-takedown").click()
    assert find(By.ID, "takedown-status").text == "TAKEN DOWN"
    assert "takedown recorded as seq 16" in find(By.ID, "message").text

    # revoke a consent
    driver.get(f"{base}/consent/{seed.identity}")  # type: ignore[attr-defined]
    Select(find(By.ID, "revoke-role")).select_by_visible_text("source")
    find(By.ID, "revoke-reason").send_keys("consent withdrawn by email")
    find(By.ID, "revoke").click()
    wait.until(expected.url_contains("message="))
    assert find(By.ID, "message").text == "revoked 1 consent(s)"

    # both actions are signed records in the log, by alice
    driver.get(base + "/records?decision=admin&limit=1")  # type: ignore[attr-defined]
    find(By.CSS_SELECTOR, "a.record-link").click()
    wait.until(expected.presence_of_element_located((By.ID, "fields")))
    fields = find(By.ID, "fields").text
    assert "alice" in fields and "consent.revoke" in fields
