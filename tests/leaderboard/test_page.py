"""The page's data and HTML without a browser: scores chosen per game, records that add up,
the head-to-head matrix, escaping of hostile strings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from spenv.leaderboard.page import (
    build_page,
    choose_score,
    leaderboard_data,
    open_store,
    render_html,
)
from spenv.leaderboard.store import MatchStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, games_file: Path):  # type: ignore[no-untyped-def]
    s = MatchStore(tmp_path_factory.mktemp("page") / "m.db")
    s.import_jsonl(games_file)
    yield s
    s.close()


@pytest.fixture(scope="module")
def data(store: MatchStore) -> dict:
    return leaderboard_data(store, n_boot=60)


def embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', page)
    assert m, "no embedded data"
    return json.loads(m[1])


def test_score_is_chosen_per_game(store: MatchStore) -> None:
    # Kuhn poker: a won hand is worth 1 or 2 chips, so chips rate it; TicTacToe: +1/-1/0.
    assert choose_score(store, "KuhnPoker-v1")[0] == "reward"
    assert choose_score(store, "TicTacToe-v1")[0] == "outcome"


def test_poker_rated_by_chips_puts_nash_above_random(data: dict) -> None:
    kuhn = next(v for v in data["views"] if v["id"] == "KuhnPoker-v1")
    rows = {r["agent"]: r for r in kuhn["agents"]}
    names = kuhn["h2h"]["agents"]
    cell = kuhn["h2h"]["cells"][names.index("nash")][names.index("random")]
    # Head to head, random wins more hands than nash (nash folds its jacks) ...
    assert cell["w"] < cell["l"]
    # ... yet nash wins chips, and the rating (by reward) says so on every scale.
    assert cell["reward"] > 0 and cell["score"] > 0.5
    assert rows["nash"]["mean_reward"] > 0 > rows["random"]["mean_reward"]
    for key in ("bt", "elo"):
        assert rows["nash"][key] > rows["random"][key]
    assert rows["nash"]["bt_lo"] > rows["random"]["bt_hi"]
    assert "reward margin" in kuhn["score_note"]


def test_records_and_matrix_add_up(data: dict) -> None:
    for view in data["views"]:
        names = view["h2h"]["agents"]
        assert names == [r["agent"] for r in view["agents"]]  # rows in rating order
        bts = [r["bt"] for r in view["agents"]]
        assert bts == sorted(bts, reverse=True)
        cells = view["h2h"]["cells"]
        for i, a in enumerate(names):
            assert cells[i][i] is None
            for j in range(len(names)):
                c, d = cells[i][j], cells[j][i]
                if c is None:
                    assert d is None
                    continue
                assert c["score"] + d["score"] == pytest.approx(1.0)
                assert c["n"] == d["n"]
                assert (c["w"], c["d"], c["l"]) == (d["l"], d["d"], d["w"])
            row = view["agents"][i]
            assert row["agent"] == a
            assert row["games"] == row["wins"] + row["draws"] + row["losses"]
            assert row["games"] == sum(c["n"] for c in cells[i] if c is not None)
            assert row["bt_lo"] <= row["bt"] <= row["bt_hi"]
    overall, kuhn, ttt = data["views"]
    assert overall["games"] == kuhn["games"] + ttt["games"] == 1440
    assert kuhn["games"] == 6 * 200 and ttt["games"] == 240
    by = {r["agent"]: r for r in overall["agents"]}
    assert by["random"]["games"] == 3 * 200 + 240  # random plays in both games
    assert all(r["mean_reward"] is None for r in overall["agents"])  # units differ by game


def test_extra_columns_and_notes(store: MatchStore) -> None:
    d = leaderboard_data(
        store,
        n_boot=20,
        extra_columns={"KuhnPoker-v1": [{"key": "x", "label": "X", "better": "lower"}]},
        extra_values={"KuhnPoker-v1": {"x": {"nash": 0.0, "random": 0.458}}},
        notes={"TicTacToe-v1": "a note"},
        scores={"KuhnPoker-v1": "outcome"},
    )
    kuhn = d["views"][1]
    assert kuhn["score"] == "outcome" and kuhn["columns"][0]["key"] == "x"
    rows = {r["agent"]: r for r in kuhn["agents"]}
    assert rows["random"]["extra"] == {"x": 0.458} and rows["passive"]["extra"] == {"x": None}
    assert d["views"][2]["note"] == "a note"


def test_hostile_strings_stay_data(tmp_path: Path, hostile_file: Path, hostile_names) -> None:  # type: ignore[no-untyped-def]
    with MatchStore(tmp_path / "h.db") as s:
        s.import_jsonl(hostile_file)
        title = "</title><script>alert(1)</script>{{JS}}"
        path = build_page(s, tmp_path / "site", title=title, n_boot=20)
    page = path.read_text(encoding="utf-8")
    # Exactly the page's own two script elements; nothing a name or the title carried.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "onerror" not in page.split('id="leaderboard-data">')[0]
    assert "<img" not in page and "<svg onload" not in page
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;{{JS}}</title>" in page
    d = embedded(page)
    assert d["title"] == title
    assert {r["agent"] for r in d["views"][1]["agents"]} == set(hostile_names)


def test_empty_store_and_missing_store(tmp_path: Path) -> None:
    with MatchStore(tmp_path / "empty.db") as s:
        d = leaderboard_data(s)
    assert [v["id"] for v in d["views"]] == ["overall"]
    assert d["views"][0]["agents"] == []
    assert embedded(render_html(d)) == json.loads(json.dumps(d))
    with pytest.raises(FileNotFoundError):
        open_store(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
