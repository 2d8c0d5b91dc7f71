"""The leaderboard page in a real browser: headless Debian ``chromium`` driven by Selenium through
``/usr/bin/chromedriver``.

Checks what a reader sees: the page loads with no console errors, one table row per agent, the
interval bars and the heatmap drawn with a real size, sorting by a clicked header, switching to
a game's view, hostile agent names shown as text and never run. A screenshot is kept as a test
artifact (``$SPENV_ARTIFACTS`` or ``test-artifacts/`` at the repository root).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spenv.leaderboard.page import build_page
from spenv.leaderboard.store import MatchStore

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None

pytestmark = pytest.mark.backend("chromium")

ROOT = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    path = Path(os.environ.get("SPENV_ARTIFACTS") or ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) or CHROMEDRIVER is None:
        pytest.skip(
            "needs Debian chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for Chromium's sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, games_file: Path) -> Path:
    with MatchStore(tmp_path_factory.mktemp("browser") / "m.db") as store:
        store.import_jsonl(games_file)
        return build_page(
            store,
            tmp_path_factory.mktemp("site"),
            n_boot=60,
            extra_columns={"KuhnPoker-v1": [{"key": "exploitability", "label": "Exploitability"}]},
            extra_values={"KuhnPoker-v1": {"exploitability": {"nash": 0.0, "random": 11 / 24}}},
        )


def console_errors(driver: Any) -> list[dict]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def rows(driver: Any) -> list[Any]:
    return driver.find_elements("css selector", "#ratings tbody tr")


def column(driver: Any, key: str) -> list[float]:
    cells = driver.find_elements("css selector", f'#ratings tbody td[data-key="{key}"]')
    return [float(c.text) for c in cells]


def size(el: Any) -> tuple[float, float]:
    r = el.parent.execute_script(
        "const b = arguments[0].getBoundingClientRect(); return [b.width, b.height];", el
    )
    return float(r[0]), float(r[1])


def test_page_loads_and_draws(browser: Any, page: Path) -> None:
    browser.get(page.as_uri())
    assert console_errors(browser) == []
    assert browser.title == "spenv leaderboard"
    tabs = [t.text for t in browser.find_elements("css selector", "#tabs button")]
    assert tabs == ["Overall", "KuhnPoker-v1", "TicTacToe-v1"]
    # Overall: one row per agent of both games.
    agents = [r.get_attribute("data-agent") for r in rows(browser)]
    assert sorted(agents) == ["aggressive", "minimax", "nash", "passive", "random"]
    # One interval bar per row, each drawn with a size, with its estimate inside its bar.
    bars = browser.find_elements("css selector", "#ratings svg.ci")
    assert len(bars) == len(agents)
    for svg in bars:
        w, h = size(svg)
        assert w > 50 and h > 5
        assert size(svg.find_element("css selector", "rect.bar"))[0] > 0
        assert svg.find_elements("css selector", "circle")
    heat = browser.find_element("id", "heatmap")
    w, h = size(heat)
    assert w > 100 and h > 100
    assert len(heat.find_elements("css selector", "g.h2h")) == len(agents) ** 2
    filled = heat.find_elements("css selector", "g.h2h rect[fill]")
    assert all(size(r)[0] > 10 for r in filled) and len(filled) >= 2 * (6 + 1)
    browser.save_screenshot(str(artifacts_dir() / "leaderboard.png"))


def test_sorting_by_a_clicked_header(browser: Any, page: Path) -> None:
    browser.get(page.as_uri())
    # Default order: Bradley-Terry, strongest first.
    bt = column(browser, "bt")
    assert bt == sorted(bt, reverse=True)
    header = browser.find_element("css selector", 'th[data-key="elo"]')
    header.click()
    elo = column(browser, "elo")
    assert elo == sorted(elo, reverse=True)
    assert (
        browser.find_element("css selector", 'th[data-key="elo"]').get_attribute("aria-sort")
        == "descending"
    )
    browser.find_element("css selector", 'th[data-key="elo"]').click()
    assert column(browser, "elo") == sorted(elo)
    browser.find_element("css selector", 'th[data-key="agent"]').click()
    names = [r.get_attribute("data-agent") for r in rows(browser)]
    assert names == sorted(names)
    browser.find_element("css selector", 'th[data-key="games"]').click()
    games = column(browser, "games")
    assert games == sorted(games, reverse=True) and games[0] == 3 * 200 + 240  # random
    assert console_errors(browser) == []


def test_switching_to_a_game(browser: Any, page: Path) -> None:
    browser.get(page.as_uri())
    browser.find_element("css selector", '#tabs button[data-view="TicTacToe-v1"]').click()
    assert browser.find_element("id", "view-title").text == "TicTacToe-v1"
    assert sorted(r.get_attribute("data-agent") for r in rows(browser)) == ["minimax", "random"]
    assert "win/draw/loss" in browser.find_element("css selector", ".score-note").text
    selected = browser.find_element("css selector", '#tabs button[aria-selected="true"]')
    assert selected.text == "TicTacToe-v1"
    assert len(browser.find_elements("css selector", "#heatmap g.h2h")) == 4
    browser.find_element("css selector", '#tabs button[data-view="KuhnPoker-v1"]').click()
    assert browser.find_element("id", "view-title").text == "KuhnPoker-v1"
    assert len(rows(browser)) == 4
    assert "reward margin" in browser.find_element("css selector", ".score-note").text
    # The game's own column: exploitability, with a dash where no value was given.
    ex = browser.find_elements("css selector", 'td[data-key="extra.exploitability"]')
    by_agent = {
        r.get_attribute("data-agent"): c.text for r, c in zip(rows(browser), ex, strict=True)
    }
    assert by_agent["nash"] == "0.000" and by_agent["random"] == "0.458"
    assert by_agent["passive"] == "\u2013"
    # nash above random: chips, not hands won, rate poker.
    order = [r.get_attribute("data-agent") for r in rows(browser)]
    assert order.index("nash") < order.index("random")
    # The view is in the address: a reload comes back to it.
    browser.refresh()
    assert browser.find_element("id", "view-title").text == "KuhnPoker-v1"
    browser.save_screenshot(str(artifacts_dir() / "leaderboard-kuhn.png"))
    assert console_errors(browser) == []


def test_hostile_names_are_shown_not_run(
    browser: Any,
    tmp_path: Path,
    hostile_file: Path,
    hostile_names: tuple[str, ...],
) -> None:
    with MatchStore(tmp_path / "h.db") as store:
        store.import_jsonl(hostile_file)
        path = build_page(store, tmp_path / "site", n_boot=20, title="<b>bold</b> title")
    browser.get(path.as_uri())
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert browser.title == "<b>bold</b> title"
    assert browser.find_element("id", "title").text == "<b>bold</b> title"
    shown = sorted(
        c.get_attribute("textContent")
        for c in browser.find_elements("css selector", "#ratings td.agent")
    )
    assert shown == sorted(hostile_names)
    assert browser.find_elements("css selector", "#ratings img, #view script") == []
    # Tooltips of the heatmap carry the names as text too.
    labels = browser.find_elements("css selector", "#heatmap text.row-label title")
    assert sorted(t.get_attribute("textContent") for t in labels) == sorted(hostile_names)
    browser.find_element("css selector", 'th[data-key="agent"]').click()
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert console_errors(browser) == []  # an injected <img src=x> would log a load error
