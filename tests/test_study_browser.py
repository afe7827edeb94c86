"""A rater completes a short study in a real headless browser, across a server restart;
the report then shows their scores.

Needs the system's chromium and chromedriver (Debian: `apt-get install chromium
chromium-driver`) and selenium; nothing is downloaded. Skips, saying why, without them.
"""

from __future__ import annotations

import shutil

import pytest

from rscolor.cli.main import main
from rscolor.study import db

from .helpers import make_study, running_server

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WAIT_S = 20


def _browser_paths() -> tuple[str, str]:
    binary = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        found = (("chromium", binary), ("chromedriver", driver))
        missing = " and ".join(name for name, path in found if not path)
        pytest.skip(
            f"browser test needs {missing} on PATH (Debian: apt-get install chromium "
            "chromium-driver; see docs/study.md)"
        )
    return binary, driver


@pytest.fixture
def browser(tmp_path, monkeypatch):
    binary, driver_path = _browser_paths()
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')"
    )
    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


# The page's state, read in one script: "done", "rate" (a new item, both images loaded,
# `arguments[0]` being the item just rated), or null while it is still loading.
PAGE_STATE = """
if (document.readyState !== 'complete') return null;
if (document.getElementById('done')) return 'done';
const item = document.querySelector('input[name=item_id]');
const imgs = ['gray', 'color'].map(i => document.getElementById(i));
if (!item || item.value === arguments[0] || imgs.some(i => !i)) return null;
return imgs.every(i => i.complete && i.naturalWidth === 12) ? 'rate' : null;
"""


def _wait_for_page(driver, previous_item: str = "") -> bool:
    """Wait for the next rating page (True) or the end (False). Driver errors while the
    page is being replaced are retried until the timeout."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S, ignored_exceptions=(WebDriverException,))
    return wait.until(lambda d: d.execute_script(PAGE_STATE, previous_item)) == "rate"


def _rate_current(driver, method_of: dict[str, str], plan: dict[str, list[int]]) -> str:
    """Score the item on the page (by its method, from `plan`) and submit; returns its id."""
    from selenium.webdriver.common.by import By

    item_id = driver.find_element(By.NAME, "item_id").get_attribute("value")
    score = plan[method_of[item_id]].pop()
    box = driver.find_element(By.ID, "score")
    box.clear()
    box.send_keys(str(score))
    driver.find_element(By.ID, "submit").click()
    return item_id


def test_rater_completes_session_across_restart_and_report_shows_scores(browser, tmp_path, capsys):
    from selenium.webdriver.common.by import By

    db_path = make_study(tmp_path, images=2)  # alpha and beta, 2 scenes each: 4 pages
    with db.open_db(db_path) as conn:
        method_of = {it.id: it.method for it in db.list_items(conn)}
    plan = {"alpha": [30, 50], "beta": [70, 90]}  # means 40 and 80
    rated: list[str] = []

    with running_server(db_path) as url:
        browser.get(url + "/")
        browser.find_element(By.ID, "rater_id").send_keys("alice")
        browser.find_element(By.ID, "start").click()
        for _ in range(2):
            assert _wait_for_page(browser, rated[-1] if rated else "")
            assert "alpha" not in browser.page_source and "beta" not in browser.page_source
            rated.append(_rate_current(browser, method_of, plan))
        assert _wait_for_page(browser, rated[-1])  # the second score was saved

    with running_server(db_path) as url:  # a restarted server, on another port
        browser.get(url + "/")  # the session cookie brings the rater back to where they were
        for _ in range(4):  # 2 left; bounded
            if not _wait_for_page(browser, rated[-1]):
                break
            assert browser.find_element(By.ID, "progress").text == f"Image {len(rated) + 1} of 4"
            rated.append(_rate_current(browser, method_of, plan))
        assert browser.find_element(By.ID, "done").text == "Thank you!"

    assert sorted(rated) == sorted(method_of) and plan == {"alpha": [], "beta": []}
    main(["study", "report", "--db", str(db_path), "--out", str(tmp_path / "report")])
    out = capsys.readouterr().out
    assert "| alpha | 40.0 |  | 1 | 2 |" in out
    assert "| beta | 80.0 |  | 1 | 2 |" in out
    assert "alpha,40.0000,,,,1,2" in (tmp_path / "report" / "amt.csv").read_text()
