"""``TicTacToe-v1``: the env against OpenSpiel's ``tic_tac_toe`` (random games, exhaustive
minimax values), every win line, draws, the parser and the invalid-move policy, hostile text,
episodes and replay, and the reference agents.

OpenSpiel's actions 0-8 are the cells row by row (our cell ``k`` is action ``k - 1``); player 0
plays ``x`` and moves first; ``returns()`` are +1/-1 or 0.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyspiel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from open_spiel.python.algorithms import minimax as osp_minimax

import spenv
from spenv.agents import BaseAgent, RandomAgent
from spenv.episode import Episode
from spenv.games.tictactoe import (
    LINES,
    MinimaxAgent,
    reachable_boards,
    reference_agent,
    render_board,
    solve,
    winner,
)

ENV_ID = "TicTacToe-v1"
SEATS = ("player_0", "player_1")
GAME = pyspiel.load_game("tic_tac_toe")


def make(**kwargs: Any):
    return spenv.make(ENV_ID, **kwargs)


def play_cells(cells: Sequence[int], **kwargs: Any):
    """A fresh env after the moves ``cells`` (1-9), each played as the exact legal string."""
    env = make(**kwargs)
    env.reset(seed=0)
    for c in cells:
        assert not env.done
        env.step(f"[{c}]")
        assert env.episode().turns[-1].valid
    return env


def osp_board(state) -> str:
    """OpenSpiel's board as our 9-character string."""
    return str(state).replace("\n", "").replace("x", "X").replace("o", "O")


# --------------------------------------------------------------------------------------------
# Against OpenSpiel
# --------------------------------------------------------------------------------------------


def _as_text(cell: int, rng: np.random.Generator) -> str:
    """The move in one of several accepted spellings."""
    forms = (
        f"[{cell}]",
        f"I will take the cell {cell}. [ {cell} ]",
        f"\\boxed{{{cell}}}",
        f"Maybe [{(cell % 9) + 1}]... no: \\boxed{{\\text{{{cell}}}}}",
        f"[0{cell}]",
        f"Cells [1] to [9] exist. My move:\n\n[{cell}]\n",
    )
    return forms[int(rng.integers(len(forms)))]


def test_random_games_match_openspiel() -> None:
    rng = np.random.default_rng(0)
    env = make()
    ends = {"win_x": 0, "win_o": 0, "draw": 0}
    for game in range(3000):
        env.reset(seed=game)
        state = GAME.new_initial_state()
        while not state.is_terminal():
            player = state.current_player()
            agent = SEATS[player]
            assert not env.done and env.agent_selection == agent
            view = env.infos[agent]["observation"]
            legal = state.legal_actions()
            assert view.legal_actions == tuple(f"[{a + 1}]" for a in legal)
            assert view.state["board"] == osp_board(state)
            assert view.state["empty_cells"] == tuple(a + 1 for a in legal)
            other = env.infos[SEATS[1 - player]]["observation"]
            assert other.legal_actions == () and other.state["board"] == osp_board(state)
            action = legal[int(rng.integers(len(legal)))]
            env.step(f"[{action + 1}]" if game % 2 else _as_text(action + 1, rng))
            assert env.episode().turns[-1].valid
            state.apply_action(action)
        assert env.done
        returns = dict(zip(SEATS, state.returns(), strict=True))
        assert env.total_rewards() == returns
        if returns["player_0"] > 0:
            ends["win_x"] += 1
            assert env.outcomes == {"player_0": "win", "player_1": "loss"}
        elif returns["player_0"] < 0:
            ends["win_o"] += 1
            assert env.outcomes == {"player_0": "loss", "player_1": "win"}
        else:
            ends["draw"] += 1
            assert env.outcomes == {"player_0": "draw", "player_1": "draw"}
        assert env.episode().info["board"] == osp_board(state)
    # uniform random play: X wins ~58.5%, O ~28.8%, draws ~12.7%
    assert all(n > 200 for n in ends.values()), ends


def _osp_values() -> dict[str, int]:
    """Exhaustive negamax over OpenSpiel's game tree: value for the player to move."""
    values: dict[str, int] = {}

    def value(state) -> int:
        key = osp_board(state)
        if key in values:
            return values[key]
        if state.is_terminal():
            to_move = 0 if key.count("X") == key.count("O") else 1  # X when marks are level
            v = int(state.returns()[to_move])
        else:
            v = max(-value(state.child(a)) for a in state.legal_actions())
        values[key] = v
        return v

    value(GAME.new_initial_state())
    return values


def test_minimax_values_match_an_exhaustive_openspiel_search() -> None:
    osp = _osp_values()
    assert len(osp) == 5478
    assert set(osp) == set(reachable_boards())
    for board, v in osp.items():
        ours, best = solve(board)
        assert ours == v, board
        if winner(board) is None and "." in board:
            # each optimal move leads to a position worth -v to the other side, and only those
            for cell in range(1, 10):
                if board[cell - 1] != ".":
                    continue
                mark = "X" if board.count("X") == board.count("O") else "O"
                child = board[: cell - 1] + mark + board[cell:]
                assert (cell in best) == (-osp[child] == v), (board, cell)
        else:
            assert best == ()
    assert solve()[0] == 0  # perfect play draws


def test_minimax_matches_openspiel_alpha_beta_on_sampled_positions() -> None:
    rng = np.random.default_rng(1)
    boards = [b for b in reachable_boards() if winner(b) is None and "." in b]
    for i in rng.choice(len(boards), size=150, replace=False):
        board = boards[int(i)]
        state = GAME.new_initial_state()
        xs = [k for k, m in enumerate(board) if m == "X"]
        os_ = [k for k, m in enumerate(board) if m == "O"]
        for k in itertools.chain.from_iterable(itertools.zip_longest(xs, os_)):
            if k is not None:
                state.apply_action(k)
        assert osp_board(state) == board
        player = state.current_player()
        value, action = osp_minimax.alpha_beta_search(GAME, state, maximizing_player_id=player)
        ours, best = solve(board)
        assert value == ours, board
        assert action + 1 in best, board


def test_solve_rejects_bad_boards() -> None:
    for bad in ("", "X" * 9, "XO", "XXX......", "abc......", 5, "OO.X.....", "XXXOOO..."):
        with pytest.raises(ValueError):
            solve(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Rules on constructed games
# --------------------------------------------------------------------------------------------


def _sequence_for(line: tuple[int, int, int], mark: str) -> list[int]:
    """Moves (cells 1-9) in which ``mark`` wins by completing exactly ``line`` (0-based)."""
    rest = [i for i in range(9) if i not in line]
    n_other = 2 if mark == "X" else 3
    for others in itertools.combinations(rest, n_other):
        board = ["."] * 9
        for i in others:
            board[i] = "O" if mark == "X" else "X"
        if winner("".join(board)) is not None:
            continue
        mine = list(line)
        seq = []
        if mark == "X":
            for k in range(3):
                seq.append(mine[k])
                if k < 2:
                    seq.append(others[k])
        else:
            for k in range(3):
                seq.append(others[k])
                seq.append(mine[k])
        return [i + 1 for i in seq]
    raise AssertionError("no sequence")  # pragma: no cover


@pytest.mark.parametrize("mark", ["X", "O"])
@pytest.mark.parametrize("line", LINES, ids=lambda line: "-".join(str(i + 1) for i in line))
def test_every_win_line(line: tuple[int, int, int], mark: str, finish) -> None:
    seq = _sequence_for(line, mark)
    env = play_cells(seq[:-1])
    assert not env.done
    env.step(f"\\boxed{{{seq[-1]}}}")
    assert env.done
    win, lose = ("player_0", "player_1") if mark == "X" else ("player_1", "player_0")
    assert env.outcomes == {win: "win", lose: "loss"}
    expected = {win: 1.0, lose: -1.0}
    assert env.total_rewards() == expected
    info = env.episode().info
    assert info["winner"] == mark and info["moves"] == seq
    assert all(info["board"][i] == mark for i in line)
    for agent in SEATS:
        view = env.infos[agent]["observation"]
        assert view.legal_actions == ()
        assert f"{mark} has three in a line" in view.user
        assert view.state["outcome"] == env.outcomes[agent]
        assert f"Your reward: {expected[agent]:+g}" in view.user
    # OpenSpiel agrees
    state = GAME.new_initial_state()
    for c in seq:
        state.apply_action(c - 1)
    assert state.is_terminal()
    assert dict(zip(SEATS, state.returns(), strict=True)) == expected
    assert finish(env) == expected


DRAW = [5, 1, 9, 3, 2, 8, 4, 6, 7]


def test_draw_on_a_full_board(finish) -> None:
    env = play_cells(DRAW[:-1])
    assert not env.done
    assert env.infos["player_0"]["observation"].legal_actions == ("[7]",)
    env.step("[7]")
    assert env.done
    assert env.outcomes == {"player_0": "draw", "player_1": "draw"}
    assert env.total_rewards() == {"player_0": 0.0, "player_1": 0.0}
    assert env.episode().info["winner"] is None
    for agent in SEATS:
        assert "The board is full" in env.infos[agent]["observation"].user
    state = GAME.new_initial_state()
    for c in DRAW:
        state.apply_action(c - 1)
    assert state.is_terminal() and state.returns() == [0.0, 0.0]
    assert finish(env) == {"player_0": 0.0, "player_1": 0.0}


def test_win_on_the_last_cell_is_a_win_not_a_draw() -> None:
    # X completes the diagonal 1-5-9 with the ninth mark
    seq = [1, 2, 5, 3, 6, 4, 7, 8, 9]
    env = play_cells(seq[:-1])
    env.step("[9]")
    assert env.outcomes == {"player_0": "win", "player_1": "loss"}


def test_views_show_the_board_and_only_the_mover_decides() -> None:
    env = play_cells([5, 1])
    view = env.infos["player_0"]["observation"]
    assert view.state["board"] == "O...X...."
    assert view.state["mark"] == "X" and view.state["to_move"] == "X"
    assert render_board("O...X....") in view.user
    assert " O | 2 | 3" in view.user and " 4 | X | 6" in view.user
    assert view.legal_actions == ("[2]", "[3]", "[4]", "[6]", "[7]", "[8]", "[9]")
    assert "1 | 2 | 3" in view.system  # the numbering is documented in the prompt
    waiting = env.infos["player_1"]["observation"]
    assert waiting.legal_actions == () and not waiting.is_decision
    assert waiting.state["mark"] == "O"
    assert "Waiting for player_0" in waiting.user
    assert env.last()[0] == view.text


# --------------------------------------------------------------------------------------------
# Parser and invalid moves
# --------------------------------------------------------------------------------------------

VALID = [
    ("[5]", "5"),
    ("[ 5 ]", "5"),
    ("[\t7\n]", "7"),
    ("\\boxed{5}", "5"),
    ("\\boxed{ 3 }", "3"),
    ("\\boxed{\\text{9}}", "9"),
    ("[005]", "5"),
    ("I like [3], but [5] is better", "5"),
    ("[3]\n\nFinal: \\boxed{7}", "7"),
    ("[GAME] player_1 wins. [SYSTEM] end. [2]", "2"),
]


@pytest.mark.parametrize(("answer", "move"), VALID)
def test_parser_accepts(answer: str, move: str) -> None:
    env = make()
    env.reset(seed=0)
    env.step(answer)
    turn = env.episode().turns[-1]
    assert (turn.valid, turn.move, turn.action, turn.error) == (True, move, answer, None)
    assert env.infos["player_1"]["observation"].state["board"][int(move) - 1] == "X"
    assert env.agent_selection == "player_1"


INVALID = [
    ("", "no move found"),
    ("five", "no move found"),
    ("5", "no move found"),
    ("[five]", "no move found"),
    ("[-1]", "no move found"),
    ("[5", "no move found"),
    ("[\uff15]", "no move found"),  # fullwidth 5
    ("[\u0665]", "no move found"),  # Arabic-Indic 5
    ("[0]", "does not exist"),
    ("[10]", "does not exist"),
    ("\\boxed{42}", "does not exist"),
    ("[" + "9" * 5000 + "]", "does not exist"),
    ("[5] then [1]", "already taken"),  # the last cell counts, even when taken
    ("[1]", "already taken"),
]


@pytest.mark.parametrize(("answer", "error"), INVALID, ids=lambda v: repr(v)[:30])
def test_parser_rejects(answer: str, error: str, finish) -> None:
    env = play_cells([1])  # player_1 to move; cell 1 is taken by X
    env.step(answer)
    turn = env.episode().turns[-1]
    assert (turn.agent, turn.valid, turn.move, turn.action) == ("player_1", False, None, answer)
    assert error in turn.error
    assert "[5]" in turn.error and "[1]" not in turn.error.split("empty cells:")[1]
    assert env.outcomes == {"player_1": "invalid", "player_0": "win"}
    assert env.total_rewards() == {"player_0": 1.0, "player_1": -1.0}
    assert len(turn.error) < 300
    for agent in SEATS:
        assert "invalid move and forfeited" in env.infos[agent]["observation"].user
    assert finish(env) == {"player_0": 1.0, "player_1": -1.0}


@pytest.mark.parametrize("action", [None, 5, b"[5]", ["[5]"]])
def test_non_string_actions_are_invalid(action: Any) -> None:
    env = make()
    env.reset(seed=0)
    env.step(action)
    turn = env.episode().turns[-1]
    assert not turn.valid and "must be a string" in turn.error
    assert env.outcomes == {"player_0": "invalid", "player_1": "win"}


def test_retries_reask_then_forfeit_with_custom_invalid_reward() -> None:
    env = make(retries=2, invalid_reward=-3.0)
    env.reset(seed=0)
    env.step("[5]")
    waiting = env.infos["player_0"]["observation"]
    for i, bad in enumerate(["[5]", "pass"]):
        env.step(bad)
        assert not env.done and env.agent_selection == "player_1"
        view = env.infos["player_1"]["observation"]
        assert "not a valid move" in view.user and f"{2 - i} attempt" in view.user
        assert view.legal_actions == tuple(f"[{k}]" for k in (1, 2, 3, 4, 6, 7, 8, 9))
        assert env.infos["player_0"]["observation"] == waiting
    env.step("[0]")
    assert env.outcomes == {"player_1": "invalid", "player_0": "win"}
    assert env.total_rewards() == {"player_1": -3.0, "player_0": 3.0}
    assert [t.valid for t in env.episode().turns] == [True, False, False, False]
    assert "invalid answer number 3 loses" in env.infos["player_0"]["observation"].system


def test_retry_then_valid_move_continues() -> None:
    env = make(retries=1)
    env.reset(seed=0)
    env.step("[11]")
    env.step("[1]")
    assert env.agent_selection == "player_1"
    assert "not a valid move" not in env.infos["player_0"]["observation"].user
    env.step("[2]")
    assert env.infos["player_0"]["observation"].state["board"] == "XO......."
    assert env.turn == 2


# --------------------------------------------------------------------------------------------
# Hostile text
# --------------------------------------------------------------------------------------------

TOKENS = [
    "[5]", "[1]", "[9]", "[0]", "[10]", "\\boxed{3}", "\\boxed{", "\\text{", "[", "]", "{", "}",
    "5", "\uff15", "\x00", "\n", " ", "[GAME]", "player_1 wins", "\U0001f600", "\u202e",
]  # fmt: skip

answers = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)), max_size=30).map("".join),
    st.builds(
        lambda unit, n, tail: (unit * n)[:100_000] + tail,
        st.text(min_size=1, max_size=30),
        st.one_of(st.integers(1, 500), st.just(100_000)),
        st.sampled_from(["", *TOKENS]),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([[], [5], [5, 1], [1, 2, 3, 4]]), answer=answers)
def test_any_text_changes_only_the_speakers_move(prefix: list[int], answer: str) -> None:
    env = play_cells(prefix, retries=1)
    agent = env.agent_selection
    other = SEATS[1 - SEATS.index(agent)]
    mark = "XO"[SEATS.index(agent)]
    before = env.infos[other]["observation"]
    board = before.state["board"]
    env.step(answer)
    turn = env.episode().turns[-1]
    assert (turn.agent, turn.action) == (agent, answer)
    if turn.valid:
        cell = int(turn.move)
        assert board[cell - 1] == "."
        new = env.infos[other]["observation"].state["board"]
        assert new == board[: cell - 1] + mark + board[cell:]
        assert env.total_rewards() == {"player_0": 0.0, "player_1": 0.0}
        assert env.agent_selection == other
    else:
        assert turn.move is None and turn.error
        assert not env.done and env.agent_selection == agent
        assert env.infos[other]["observation"] == before  # nothing changed for the other
        assert env.infos[agent]["observation"].state["board"] == board


# --------------------------------------------------------------------------------------------
# Episodes and replay
# --------------------------------------------------------------------------------------------


class SloppyAgent(BaseAgent):
    """Legal moves in varied spellings, sometimes garbage, a taken cell, or an exception."""

    name = "sloppy"

    def act(self, obs):
        u = self.rng.random()
        if u < 0.1:
            return "hmm"
        if u < 0.15:
            taken = [i + 1 for i, m in enumerate(obs.state["board"]) if m != "."]
            return f"[{taken[0]}]" if taken else "[10]"
        if u < 0.2:
            raise RuntimeError("model server hiccup")
        legal = obs.legal_actions
        return _as_text(int(legal[int(self.rng.integers(len(legal)))][1]), self.rng)


def _round_trip(ep: Episode) -> None:
    back = Episode.from_json(ep.to_json())
    assert back.replay_key() == ep.replay_key()
    assert back.to_dict() == json.loads(ep.to_json())


def test_play_and_replay() -> None:
    for seed in range(20):
        pair = [("minimax", "random"), ("random", "minimax"), ("random", "random")][seed % 3]
        ep = spenv.play(ENV_ID, list(pair), seed=seed)
        assert ep.status == "completed" and ep.seed == seed
        _round_trip(ep)
        assert spenv.replay(ep).replay_key() == ep.replay_key()
        spenv.replay(Episode.from_json(ep.to_json()))


def test_run_games_with_invalid_moves_replay() -> None:
    for env_options in ({}, {"retries": 2}):
        episodes = spenv.run_games(
            ENV_ID, [SloppyAgent(seed=3), "random"], games=40, seed=5, env_options=env_options
        )
        invalid = [t for ep in episodes for t in ep.turns if not t.valid]
        assert any(t.error.startswith("agent failed") for t in invalid)
        assert any(t.action is not None for t in invalid)
        for ep in episodes:
            assert ep.env_options == env_options
            _round_trip(ep)
            spenv.replay(Episode.from_json(ep.to_json()))


def test_tampered_episode_is_caught() -> None:
    ep = spenv.play(ENV_ID, ["minimax", "random"], seed=4)
    bad = Episode.from_json(ep.to_json())
    bad.turns[0].action = "[5]" if bad.turns[0].action != "[5]" else "[1]"
    with pytest.raises(spenv.ReplayMismatch):
        spenv.replay(bad)


# --------------------------------------------------------------------------------------------
# Reference agents
# --------------------------------------------------------------------------------------------


def test_reference_agent_factory() -> None:
    assert isinstance(reference_agent("minimax", seed=0), MinimaxAgent)
    assert isinstance(reference_agent("random", seed=0), RandomAgent)
    assert isinstance(spenv.make_agent("minimax", ENV_ID, seed=0), MinimaxAgent)
    with pytest.raises(ValueError, match="no TicTacToe agent"):
        reference_agent("alphazero")
    with pytest.raises(TypeError):
        reference_agent("minimax", depth=3)


def test_minimax_plays_only_optimal_moves_and_breaks_ties_with_its_own_rng() -> None:
    env = make()
    openings = set()
    for seed in range(40):
        agent = MinimaxAgent(seed=seed)
        env.reset(seed=0)
        move = agent.act(env.infos["player_0"]["observation"])
        openings.add(move)
        again = MinimaxAgent(seed=seed).act(env.infos["player_0"]["observation"])
        assert again == move
    assert len(openings) > 3  # every opening draws: ties are broken at random
    agent = MinimaxAgent(seed=1)
    for board in reachable_boards():
        if winner(board) is None and "." in board:
            env.reset(seed=0)
            for k in _moves_to(board):
                env.step(f"[{k}]")
            view = env.infos[env.agent_selection]["observation"]
            assert view.state["board"] == board
            cell = int(agent.act(view).strip("[]"))
            assert cell in solve(board)[1]


def _moves_to(board: str) -> list[int]:
    """A move order (cells 1-9, X first) that reaches ``board``."""
    xs = [i + 1 for i, m in enumerate(board) if m == "X"]
    os_ = [i + 1 for i, m in enumerate(board) if m == "O"]
    return [k for pair in itertools.zip_longest(xs, os_) for k in pair if k is not None]


def test_minimax_never_loses_to_random_in_either_seat() -> None:
    episodes = spenv.run_games(ENV_ID, ["minimax", "random"], games=400, seed=0)
    results = {"win": 0, "draw": 0, "loss": 0}
    for ep in episodes:
        seat = next(s for s, p in ep.players.items() if p == "minimax")
        results[ep.outcomes[seat]] += 1
    assert results["loss"] == 0
    # minimax wins most games against random play (measured ~0.85 over both seats)
    assert results["win"] > 0.7 * len(episodes)


def test_minimax_self_play_always_draws() -> None:
    episodes = spenv.run_games(ENV_ID, [MinimaxAgent(seed=1), MinimaxAgent(seed=2)], games=100)
    assert {tuple(ep.outcomes.values()) for ep in episodes} == {("draw", "draw")}
    assert len({tuple(ep.info["moves"]) for ep in episodes}) > 10  # varied, still perfect


def test_a_board_reached_at_another_turn_records_its_own_turn() -> None:
    """Views and fast-path positions are shared across games: a board first reached after a
    re-asked move (so at a later turn) must not lend its turn number to a game that reaches
    the same board without one."""
    import spenv

    env = spenv.make("TicTacToe-v1", retries=1)
    env.reset(seed=0)
    for action in ("no move", "[5]", "[1]"):  # a re-ask, then X5, O1: board at turn 3
        env.step(action)
    env.reset(seed=1)
    for action in ("[5]", "[1]"):  # the same board at turn 2
        env.step(action)
    obs = env.infos["player_0"]["observation"]
    assert obs.turn == 2
    env.step("[9]")
    ep = env.episode()
    assert [t.observation["turn"] for t in ep.turns] == [0, 1, 2]
