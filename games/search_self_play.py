"""Search self-play (``SearchSelfPlay-v1``): a proposer writes a question grounded in documents it
found with a search tool, a solver answers it with the same tool (after SSP and SPICE).

Seats: ``proposer`` and ``solver``. Both use a document collection through tool calls in the
text format of :mod:`spenv.games.toolcalls`: ``<search>query</search>`` (the ``search_k`` best
documents by BM25: id, title and a snippet) and ``<open>doc_id</open>`` (the document's text, cut
to ``max_doc_chars``). Results come back in the agent's next observation.

Rules:

1. The proposer explores for up to ``max_steps`` turns (default 4). Each turn holds tool calls,
   at most ``max_calls`` (default 4; extra calls are dropped and reported, malformed ones are
   reported too). It ends by writing ``<question>...</question>`` and ``<answer>...</answer>``
   in one turn (search and open calls in that turn run first). A turn with only one of the two
   is reported and the proposer continues; at its last step it must give both.
2. The question counts only when it is *supported*: the answer (normalised SQuAD style: lower
   case, punctuation and the articles a/an/the removed, spaces collapsed) is non-empty, at most
   ``max_answer_words`` words (default 8), appears as a whole-word span in the text the proposer
   was shown (its opened documents and its search results' titles and snippets), and does not
   appear in the question itself. With a ``judge`` (an agent spec or agent), a
   :class:`~spenv.verifiers.judge.PointwiseJudge` must also rate the question answerable from
   the supporting document (rating at least ``judge_threshold`` of its scale). An unsupported
   question ends the game: the proposer gets ``invalid_question_reward`` (default -1) and loses,
   the solver gets 0 (a draw).
3. The solver then makes ``solver_attempts`` independent attempts (default 3): each attempt sees
   the question and only its own tool results, searches and opens for up to ``max_steps`` turns
   and ends with ``<answer>...</answer>`` (required at its last step).
4. Each attempt is scored against the proposer's answer by normalised exact match and token F1
   (SQuAD). The solver's reward is the mean F1 over its attempts (``solver_reward="em"``: the
   mean exact match); an attempt succeeds on an exact match. The proposer's reward is 1.0 when
   the solver's success rate lies in ``band`` (default ``(0.1, 0.9)``, inclusive: hard, but not
   impossible) and 0.0 otherwise.
5. Outcomes: the proposer wins when the rate is in the band and loses otherwise; the solver wins
   with a success rate above 1/2, draws at exactly 1/2 and loses below.

A turn without any usable tool call is an invalid move (the core's ``retries`` policy; by default
the offender forfeits: ``invalid_reward``, default -1, the other seat 0).

Hidden information: the solver never sees the proposer's answer, its exploration or the other
attempts; the proposer does not see the solver's attempts until the game ends.

Every verifier verdict is recorded in the episode's ``verdicts``: the support check
(``check="support"``, with the supporting document), the judge's rating when there is a judge,
and one ``answer_match`` verdict per attempt (score = F1, ``data`` with ``em``).

Replay: episodes re-run the judge; a scripted judge (or one given as an agent spec that answers
the same way) reproduces them, a sampling language-model judge may not. An agent object given as
``judge`` is recorded by its name only.

Corpus (constructor option ``corpus``): ``None`` (the default) is the built-in fictional
encyclopedia of :func:`spenv.verifiers.search.default_documents` (``n_docs`` documents, default
2000, generated from ``corpus_seed``); a path names a JSONL file (``.jsonl``, ``.json``,
optionally ``.gz``/``.bz2``: records with ``id``, ``title``, ``text``), a folder of text files,
or an SQLite corpus file written by :class:`~spenv.verifiers.search.Corpus`. Corpora are built
once per process and shared.

Reference agents (:func:`reference_agent`): ``reader`` plays both seats: as the proposer it
searches a generic query, opens a result and turns one of its sentences into a question (a
template question for the facts of the built-in corpus, else a fill-in-the-blank); as the solver
it searches the question, opens the best hit (with probability ``noise``, default 0.25, another
one) and extracts the answer from the sentence that best matches the question. ``random``
makes random searches, opens and answers.
"""

from __future__ import annotations

import collections
import re
import string
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from spenv.agents.base import Agent, BaseAgent
from spenv.env import TextEnv, int_option
from spenv.games.toolcalls import ParsedTurn, parse_calls, render_tools
from spenv.observation import Observation
from spenv.verifiers.verdict import Verdict

__all__ = [
    "SearchAgent",
    "SearchSelfPlayEnv",
    "exact_match",
    "f1_score",
    "load_corpus",
    "normalize_answer",
    "reference_agent",
    "supports",
]

SEATS = ("proposer", "solver")
REFERENCE_AGENTS = ("reader", "random")
MAX_QUESTION_CHARS = 500

_SYSTEM_PROPOSER = """You are the proposer in a search game.
You explore a document collection with a search tool and then write a question whose answer is \
stated in a document you have read. A solver will then try to answer it with the same tool, \
{attempts} times independently. You score when your question is supported by what you read and \
the solver gets it right in some attempts but not all: hard, but not impossible.
{tools}
You have {steps} turns. Finish by writing both <question>...</question> and <answer>...</answer> \
in one turn. The answer must be a short span (at most {words} words) copied from a document or \
search result you were shown, and must not appear in the question; otherwise the question is \
rejected."""

_SYSTEM_SOLVER = """You are the solver in a search game.
Answer a question about a document collection. Use the search tool to find documents and open \
them to read them. You score by how well your answer matches the expected short answer (exact \
match and word overlap).
{tools}
You have {steps} turns. Finish by writing <answer>...</answer> with a short answer (a name, a \
number, a few words)."""


# ------------------------------------------------------------------------------ answer match
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"…", "“", "”", "‘", "’", "–", "—"}


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, punctuation and articles removed, spaces collapsed."""
    text = text.lower()
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, truth: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(truth))


def f1_score(prediction: str, truth: str) -> float:
    """SQuAD token F1 between the normalised strings (1.0 when both are empty)."""
    p, t = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not p or not t:
        return float(p == t)
    common = collections.Counter(p) & collections.Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def supports(text: str, answer: str) -> bool:
    """Whether ``text`` states ``answer``: its normalised words appear as a contiguous run of
    whole words in the normalised text."""
    a = normalize_answer(answer)
    return bool(a) and f" {a} " in f" {normalize_answer(text)} "


# ------------------------------------------------------------------------------ corpora
_CORPORA: dict[tuple[Any, ...], Any] = {}
_CORPUS_LOCK = threading.Lock()


def load_corpus(corpus: str | None = None, *, n_docs: int = 2000, corpus_seed: int = 0) -> Any:
    """The :class:`~spenv.verifiers.search.Corpus` the option ``corpus`` names (see the module
    docstring), built once per process. Raises ``ValueError`` for a missing or bad file."""
    from spenv.verifiers.search import Corpus

    if corpus is None:
        key: tuple[Any, ...] = ("default", n_docs, corpus_seed)
    else:
        path = Path(corpus)
        if not path.exists():
            raise ValueError(f"corpus {corpus!r} does not exist")
        key = ("path", str(path.resolve()), path.stat().st_mtime)
    with _CORPUS_LOCK:
        c = _CORPORA.get(key)
        if c is not None:
            return c
        if corpus is None:
            c = Corpus.default(n_docs, corpus_seed)
        elif path.is_dir():
            c = Corpus.from_folder(path)
        elif any(s in (".jsonl", ".json") for s in path.suffixes):
            c = Corpus.from_jsonl(path)
        else:
            try:
                c = Corpus(path)
            except Exception as exc:
                raise ValueError(f"corpus {corpus!r} is not a readable corpus file: {exc}") from exc
        if len(c) == 0:
            raise ValueError(f"corpus {corpus!r} holds no documents")
        _CORPORA[key] = c
        return c


def _make_judge(judge: Any) -> Any:
    from spenv.verifiers.judge import PointwiseJudge

    if isinstance(judge, str):
        from spenv.agents.specs import make_agent

        judge = make_agent(judge)
    return PointwiseJudge(judge, rubric=_JUDGE_RUBRIC)


_JUDGE_RUBRIC = (
    "You check questions written for a reading game. You are given a question, its proposed "
    "answer and the reference text the answer was taken from. Rate how well the reference text "
    "supports the answer to exactly this question: 10 when the text clearly answers the question "
    "with this answer, 0 when it does not or the question is ambiguous or malformed."
)


# ------------------------------------------------------------------------------ the env
class SearchSelfPlayEnv(TextEnv):
    """Search self-play; see the module docstring for the rules, rewards and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "search_self_play_v1"}
    env_id = "SearchSelfPlay-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    zero_sum = False
    _moves: ClassVar[dict[str, str]] = {}

    _DEFAULTS: ClassVar[dict[str, Any]] = {
        "corpus": None,
        "n_docs": 2000,
        "corpus_seed": 0,
        "solver_attempts": 3,
        "band": (0.1, 0.9),
        "max_steps": 4,
        "max_calls": 4,
        "search_k": 5,
        "max_doc_chars": 1500,
        "max_answer_words": 8,
        "solver_reward": "f1",
        "invalid_question_reward": -1.0,
        "judge": None,
        "judge_threshold": 0.5,
    }

    def __init__(
        self,
        *,
        corpus: str | None = None,
        n_docs: int = 2000,
        corpus_seed: int = 0,
        solver_attempts: int = 3,
        band: Sequence[float] = (0.1, 0.9),
        max_steps: int = 4,
        max_calls: int = 4,
        search_k: int = 5,
        max_doc_chars: int = 1500,
        max_answer_words: int = 8,
        solver_reward: str = "f1",
        invalid_question_reward: float = -1.0,
        judge: Any = None,
        judge_threshold: float = 0.5,
        **kwargs: Any,
    ) -> None:
        for name, value, lo in (
            ("n_docs", n_docs, 4),
            ("corpus_seed", corpus_seed, 0),
            ("solver_attempts", solver_attempts, 1),
            ("max_steps", max_steps, 1),
            ("max_calls", max_calls, 1),
            ("search_k", search_k, 1),
            ("max_doc_chars", max_doc_chars, 50),
            ("max_answer_words", max_answer_words, 1),
        ):
            int_option(name, value, lo)
        if (
            isinstance(band, str)
            or not isinstance(band, Sequence)
            or len(band) != 2
            or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in band)
            or not 0.0 <= band[0] <= band[1] <= 1.0
        ):
            raise ValueError(f"band must be (low, high) with 0 <= low <= high <= 1, got {band!r}")
        if solver_reward not in ("f1", "em"):
            raise ValueError(f"solver_reward must be 'f1' or 'em', got {solver_reward!r}")
        if not 0.0 <= float(judge_threshold) <= 1.0:
            raise ValueError(f"judge_threshold must be in [0, 1], got {judge_threshold!r}")
        if corpus is not None and not isinstance(corpus, str | Path):
            raise ValueError(f"corpus must be None or a path, got {type(corpus).__name__}")
        super().__init__(**kwargs)
        self.corpus = None if corpus is None else str(corpus)
        self.n_docs = n_docs
        self.corpus_seed = corpus_seed
        self.solver_attempts = solver_attempts
        self.band = (float(band[0]), float(band[1]))
        self.max_steps = max_steps
        self.max_calls = max_calls
        self.search_k = search_k
        self.max_doc_chars = max_doc_chars
        self.max_answer_words = max_answer_words
        self.solver_reward = solver_reward
        self.invalid_question_reward = float(invalid_question_reward)
        self.judge = judge
        self.judge_threshold = float(judge_threshold)
        self._corpus = load_corpus(self.corpus, n_docs=n_docs, corpus_seed=corpus_seed)
        self._judge = None if judge is None else _make_judge(judge)
        tools_p = render_tools(["search", "open", "question", "answer"], max_calls=max_calls)
        tools_s = render_tools(["search", "open", "answer"], max_calls=max_calls)
        fmt = dict(attempts=solver_attempts, steps=max_steps, words=max_answer_words)
        self._system = {
            "proposer": _SYSTEM_PROPOSER.format(tools=tools_p, **fmt),
            "solver": _SYSTEM_SOLVER.format(tools=tools_s, **fmt),
        }
        self._reset_state()

    def _reset_state(self) -> None:
        self._phase = "propose"
        self._step = 0  # turns taken in the current phase or attempt
        self._p_log: list[dict[str, Any]] = []
        self._seen: list[tuple[str, str]] = []  # (doc id, text shown) for the support check
        self._question: str | None = None
        self._answer: str | None = None
        self._attempt = 0
        self._s_logs: list[list[dict[str, Any]]] = [[] for _ in range(self.solver_attempts)]
        self._answers: list[str | None] = []
        self._scores: list[dict[str, float]] = []
        self._verdicts: list[dict[str, Any]] = []
        self._result: dict[str, Any] = {}
        self._pending: ParsedTurn | None = None

    # ------------------------------------------------------------------ bookkeeping
    def env_options(self) -> dict[str, Any]:
        opts = super().env_options()
        for k, d in self._DEFAULTS.items():
            v = getattr(self, k)
            if k == "judge" and v is not None and not isinstance(v, str):
                v = getattr(v, "name", type(v).__name__)
            if (list(v) if isinstance(v, tuple) else v) != (list(d) if isinstance(d, tuple) else d):
                opts[k] = list(v) if isinstance(v, tuple) else v
        return opts

    def system_prompts(self) -> dict[str, str]:
        return dict(self._system)

    def _new_game(self, options: dict[str, Any]) -> str:
        self._reset_state()
        return "proposer"

    # ------------------------------------------------------------------ tools
    def _run_tools(self, calls: Sequence[Any], log: list[dict[str, Any]], seen: bool) -> None:
        """Run search/open calls, appending each call and its shown result to ``log``."""
        for c in calls:
            if c.name == "search":
                try:
                    hits = self._corpus.search(c.argument[:1000], k=self.search_k)
                except Exception as exc:  # a broken corpus file: say so, keep playing
                    log.append(
                        {"tool": "search", "arg": c.argument, "error": f"search failed: {exc}"}
                    )
                    continue
                rows = [{"doc_id": h.doc_id, "title": h.title, "snippet": h.snippet} for h in hits]
                log.append({"tool": "search", "arg": c.argument, "hits": rows})
                if seen:
                    for r in rows:
                        self._seen.append((r["doc_id"], f"{r['title']}. {r['snippet']}"))
            elif c.name == "open":
                doc_id = c.argument.strip().strip("[]").strip()
                try:
                    doc = self._corpus.get(doc_id)
                except KeyError:
                    log.append(
                        {"tool": "open", "arg": c.argument, "error": f"no document {doc_id!r}"}
                    )
                    continue
                text = doc.text
                cut = len(text) > self.max_doc_chars
                shown = text[: self.max_doc_chars] + (" [cut]" if cut else "")
                log.append(
                    {
                        "tool": "open",
                        "arg": c.argument,
                        "doc_id": doc.doc_id,
                        "title": doc.title,
                        "text": shown,
                    }
                )
                if seen:
                    self._seen.append((doc.doc_id, f"{doc.title}. {text[: self.max_doc_chars]}"))

    @staticmethod
    def _render_log(log: Sequence[Mapping[str, Any]]) -> list[str]:
        lines = []
        for i, e in enumerate(log, 1):
            tool, arg = e.get("tool"), e.get("arg", "")
            if tool == "note":
                lines.append(f"({i}) note: {e['text']}")
                continue
            head = f"({i}) <{tool}>{arg}</{tool}>"
            if "error" in e:
                lines.append(f"{head} -> error: {e['error']}")
            elif tool == "search":
                if not e["hits"]:
                    lines.append(f"{head} -> no results")
                else:
                    lines.append(f"{head} ->")
                    for h in e["hits"]:
                        lines.append(f"    [{h['doc_id']}] {h['title']}: {h['snippet']}")
            else:
                lines.append(f"{head} -> [{e['doc_id']}] {e['title']}:\n    {e['text']}")
        return lines

    # ------------------------------------------------------------------ observations
    def _observe(self, agent: str) -> Observation:
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        lines: list[str] = []
        state: dict[str, Any] = {"role": agent, "max_steps": self.max_steps}
        if agent == "proposer":
            log = self._p_log
            lines.append("You are the proposer.")
            state["log"] = list(log)
            if finished and self._question is not None:
                lines.append(f"Your question: {self._question}\nYour answer: {self._answer}")
        else:
            lines.append("You are the solver.")
            if self._question is not None:
                lines.append(f"Question: {self._question}")
                state["question"] = self._question
            a = min(self._attempt, self.solver_attempts - 1)
            log = self._s_logs[a] if self._phase == "solve" else []
            state["log"] = list(log)
        if acting:
            state["step"] = self._step + 1
            if log:
                lines.append("Your tool calls so far and their results:")
                lines += self._render_log(log)
            if self._feedback:
                lines.append(self._feedback)
            last = self._step + 1 == self.max_steps
            if agent == "proposer":
                lines.append(
                    f"Turn {self._step + 1} of {self.max_steps}. "
                    + (
                        "This is your last turn: write your <question> and <answer> now."
                        if last
                        else "Search, open documents, or write your <question> and <answer>."
                    )
                )
            else:
                lines.append(
                    f"Turn {self._step + 1} of {self.max_steps}. "
                    + (
                        "This is your last turn: write your <answer> now."
                        if last
                        else "Search, open documents, or write your <answer>."
                    )
                )
        elif finished:
            lines.append(self._summary(agent))
            state["result"] = dict(self._result)
            state["outcome"] = self._outcomes.get(agent)
        else:
            lines.append(
                "Waiting for the " + ("solver." if agent == "proposer" else "proposer's question.")
            )
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=None if acting else (),
            state=state,
        )

    def _summary(self, agent: str) -> str:
        r = self._result
        you = f"Your outcome: {self._outcomes.get(agent)}, score {self._totals[agent]:+g}."
        if r.get("ended_by") == "forfeit":
            return f"The game is over: the {r.get('forfeit')} forfeited (invalid move). {you}"
        if not r.get("supported"):
            return f"The game is over: the question was rejected ({r.get('reason')}). {you}"
        answers = "; ".join(repr(a) for a in self._answers)
        return (
            f"The game is over. Question: {self._question} Expected answer: {self._answer}. "
            f"The solver answered: {answers}; {r.get('successes')} of {len(self._answers)} "
            f"attempts right. {you}"
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        allowed = {"search", "open", "answer"} | ({"question"} if agent == "proposer" else set())
        parsed = parse_calls(action, allowed, max_calls=self.max_calls)
        if not parsed.calls:
            why = "; ".join(parsed.errors) if parsed.errors else "no tool call found"
            return None, f"no usable tool call ({why})"
        last = self._step + 1 == self.max_steps
        if agent == "proposer":
            final = parsed.first("question") is not None and parsed.first("answer") is not None
            if last and not final:
                return None, "this was your last turn: it must hold a <question> and an <answer>"
            move = "ask" if final else "explore"
        else:
            final = parsed.first("answer") is not None
            if last and not final:
                return None, "this was your last turn: it must hold an <answer>"
            move = "answer" if final else "explore"
        self._pending = parsed
        return move, None

    def _apply(self, agent: str, move: str) -> None:
        parsed = self._pending
        assert parsed is not None
        tools = [c for c in parsed.calls if c.name in ("search", "open")]
        if agent == "proposer":
            log = self._p_log
            self._run_tools(tools, log, seen=True)
            for e in parsed.errors:
                log.append({"tool": "note", "text": e})
            self._step += 1
            if move == "ask":
                self._ask(parsed.first("question") or "", parsed.first("answer") or "")
            else:
                if parsed.first("question") is not None or parsed.first("answer") is not None:
                    log.append(
                        {"tool": "note", "text": "write <question> and <answer> in the same turn"}
                    )
                self._next("proposer")
            return
        log = self._s_logs[self._attempt]
        self._step += 1
        if move == "answer":
            self._score(parsed.first("answer") or "")
        else:
            self._run_tools(tools, log, seen=False)
            for e in parsed.errors:
                log.append({"tool": "note", "text": e})
            self._next("solver")

    def _check_question(self, question: str, answer: str) -> tuple[bool, str, str | None]:
        """(supported, reason, supporting doc id) for the proposer's question and answer."""
        norm = normalize_answer(answer)
        if not norm:
            return False, "the answer is empty after normalisation", None
        if len(norm.split()) > self.max_answer_words:
            return False, f"the answer is longer than {self.max_answer_words} words", None
        if len(question) > MAX_QUESTION_CHARS:
            return False, f"the question is longer than {MAX_QUESTION_CHARS} characters", None
        if not normalize_answer(question):
            return False, "the question is empty", None
        if supports(question, answer):
            return False, "the question contains its answer", None
        for doc_id, text in self._seen:
            if supports(text, answer):
                return True, f"the answer appears in {doc_id}", doc_id
        return False, "the answer appears in no document or result the proposer was shown", None

    def _ask(self, question: str, answer: str) -> None:
        self._question, self._answer = question, answer
        ok, reason, doc_id = self._check_question(question, answer)
        v = Verdict("ok" if ok else "wrong", float(ok), reason)
        self._verdicts.append(
            {
                "verifier": "support",
                "check": "support",
                "subject": "question",
                "status": v.status,
                "score": v.score,
                "detail": v.detail,
                "elapsed": 0.0,
                "doc_id": doc_id,
            }
        )
        if ok and self._judge is not None:
            reference = next(t for d, t in self._seen if d == doc_id and supports(t, answer))
            try:
                jv = self._judge.judge(question, answer, reference)
            except Exception as exc:  # a failing judge is recorded, never a silent pass
                jv = Verdict("error", 0.0, f"the judge failed: {exc}")
            self._verdicts.append(
                {
                    "verifier": "judge",
                    "check": "answerable",
                    "subject": "question",
                    "status": jv.status,
                    "score": jv.score,
                    "detail": jv.detail,
                    "elapsed": jv.elapsed,
                    "rating": jv.data.get("rating"),
                }
            )
            if jv.status != "ok" or jv.score < self.judge_threshold:
                ok, reason = False, f"the judge did not confirm the question ({jv.detail})"
        if not ok:
            self._result = {"ended_by": "rejected", "supported": False, "reason": reason}
            self._give({"proposer": self.invalid_question_reward, "solver": 0.0})
            self._finish({"proposer": "loss", "solver": "draw"})
            return
        self._result = {"supported": True, "support_doc": doc_id}
        self._phase = "solve"
        self._step = 0
        self._attempt = 0
        self._next("solver")

    def _score(self, answer: str) -> None:
        truth = self._answer or ""
        em, f1 = exact_match(answer, truth), f1_score(answer, truth)
        self._answers.append(answer)
        self._scores.append({"em": em, "f1": f1})
        self._verdicts.append(
            {
                "verifier": "answer_match",
                "check": "answer_match",
                "subject": f"attempt {self._attempt}",
                "status": "ok" if em else "wrong",
                "score": f1,
                "detail": f"exact match {em:g}, token F1 {f1:.3f}",
                "elapsed": 0.0,
                "answer": answer,
                "em": em,
            }
        )
        self._attempt += 1
        self._step = 0
        if self._attempt < self.solver_attempts:
            self._next("solver")
            return
        n = len(self._scores)
        successes = int(sum(s["em"] for s in self._scores))
        rate = successes / n
        key = "f1" if self.solver_reward == "f1" else "em"
        solver = sum(s[key] for s in self._scores) / n
        lo, hi = self.band
        in_band = lo <= rate <= hi
        self._result.update(
            ended_by="answers", successes=successes, success_rate=rate, in_band=in_band
        )
        self._give({"proposer": 1.0 if in_band else 0.0, "solver": solver})
        self._finish(
            {
                "proposer": "win" if in_band else "loss",
                "solver": "win" if rate > 0.5 else ("draw" if rate == 0.5 else "loss"),
            }
        )

    def _forfeit(self, agent: str, reason: str) -> None:
        self._result = {"ended_by": "forfeit", "forfeit": agent, "reason": reason}
        super()._forfeit(agent, reason)

    # ------------------------------------------------------------------ the record
    def episode_info(self) -> dict[str, Any]:
        return {
            "question": self._question,
            "answer": self._answer,
            "proposer_steps": len([e for e in self._p_log if e.get("tool") != "note"]),
            "solver_answers": list(self._answers),
            "solver_scores": [dict(s) for s in self._scores],
            **self._result,
        }

    def episode_verdicts(self) -> list[dict[str, Any]]:
        """Every verifier verdict of the game, in the order they were given."""
        return [dict(v) for v in self._verdicts]


# ------------------------------------------------------------------------------ agents
_GENERIC_QUERIES = (
    "founded town river",
    "species described",
    "invented device",
    "born occupation",
    "population region",
    "made mostly of",
    "studied under",
    "typical length",
)
_SENT_RE = re.compile(r"(?<=[.!?])\s+")
_WORD_RE = re.compile(r"\w+")

# Template questions for sentences of the built-in encyclopedia: (pattern, question, answer
# group). {t} is the document title; named groups fill the rest.
_TEMPLATES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"It was founded in (?P<y>\d{3,4}) by (?P<n>[^.]+)\."),
        "In what year was {t} founded?",
        "y",
    ),
    (re.compile(r"It was founded in (?P<y>\d{3,4}) by (?P<n>[^.]+)\."), "Who founded {t}?", "n"),
    (
        re.compile(r"(?P<n>[A-Z][^.]+?) founded the \w+ in (?P<y>\d{3,4})\."),
        "In what year was {t} founded?",
        "y",
    ),
    (
        re.compile(r"(?P<n>[A-Z][^.]+?) founded the \w+ in (?P<y>\d{3,4})\."),
        "Who founded {t}?",
        "n",
    ),
    (
        re.compile(r"The population of (?P<p>[^.]+?) is (?P<x>\d+)\."),
        "What is the population of {p}?",
        "x",
    ),
    (re.compile(r"on the banks of the (?P<r>\w+) river"), "On which river does {t} lie?", "r"),
    (
        re.compile(r"\(born (?P<y>\d{3,4})\) was an? (?P<o>[\w ]+?) from (?P<b>[^.]+)\."),
        "In what year was {t} born?",
        "y",
    ),
    (
        re.compile(r"\(born (?P<y>\d{3,4})\) was an? (?P<o>[\w ]+?) from (?P<b>[^.]+)\."),
        "What was the occupation of {t}?",
        "o",
    ),
    (
        re.compile(r"first described by (?P<n>[^.]+?) in (?P<y>\d{3,4})\."),
        "Who first described the {t}?",
        "n",
    ),
    (
        re.compile(r"typical length of (?P<x>\d+) centimetres"),
        "What is the typical length of the {t} in centimetres?",
        "x",
    ),
    (re.compile(r"invented by (?P<n>[^.]+?) in (?P<y>\d{3,4})\."), "Who invented the {t}?", "n"),
    (
        re.compile(r"It is made mostly of (?P<m>[\w ]+)\."),
        "What material is the {t} mostly made of?",
        "m",
    ),
)


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(text)]


class SearchAgent(BaseAgent):
    """The scripted players of ``SearchSelfPlay-v1`` (each plays both seats); see the module
    docstring. They read only their observation's ``state`` (the tool log), so one agent can
    play many games at once."""

    def __init__(
        self,
        strategy: str = "reader",
        *,
        noise: float = 0.25,
        style: str = "auto",
        seed: int | None = None,
    ) -> None:
        if strategy not in REFERENCE_AGENTS:
            raise ValueError(
                f"no SearchSelfPlay agent named {strategy!r}; known: {REFERENCE_AGENTS}"
            )
        if not 0.0 <= float(noise) <= 1.0:
            raise ValueError(f"noise must be in [0, 1], got {noise!r}")
        if style not in ("auto", "cloze"):
            raise ValueError(f"style must be 'auto' or 'cloze', got {style!r}")
        super().__init__(name=strategy, seed=seed)
        self.strategy = strategy
        self.noise = float(noise)
        self.style = style

    def act(self, obs: Observation) -> str:
        log = list(obs.state.get("log", ()))
        step = int(obs.state.get("step", 1))
        last = step >= int(obs.state.get("max_steps", 1))
        if self.strategy == "random":
            return self._random(obs, log, last)
        if obs.role == "proposer":
            return self._propose(log, last)
        return self._solve(str(obs.state.get("question", "")), log, last)

    # -- the reader as proposer
    def _propose(self, log: list[Mapping[str, Any]], last: bool) -> str:
        opened = [e for e in log if e.get("tool") == "open" and "text" in e]
        searches = [e for e in log if e.get("tool") == "search" and e.get("hits")]
        if opened:
            qa = self._question_from(opened[-1]["title"], opened[-1]["text"])
            if qa is not None:
                return f"<question>{qa[0]}</question>\n<answer>{qa[1]}</answer>"
        if searches and not last:
            hits = searches[-1]["hits"]
            done = {e.get("doc_id") for e in opened}
            fresh = [h for h in hits if h["doc_id"] not in done] or hits
            pick = fresh[int(self.rng.integers(len(fresh)))]
            return f"Let me read this one.\n<open>{pick['doc_id']}</open>"
        if last:
            for e in reversed(searches):
                for h in e["hits"]:
                    qa = self._question_from(h["title"], h["snippet"])
                    if qa is not None:
                        return f"<question>{qa[0]}</question>\n<answer>{qa[1]}</answer>"
            return "<question>What is this about?</question><answer>nothing</answer>"
        query = _GENERIC_QUERIES[int(self.rng.integers(len(_GENERIC_QUERIES)))]
        return f"<search>{query}</search>"

    def _question_from(self, title: str, text: str) -> tuple[str, str] | None:
        text = text.replace(" [cut]", "")
        if self.style == "auto":
            options = []
            for pat, q, group in _TEMPLATES:
                m = pat.search(text)
                if m:
                    ans = m.group(group).strip()
                    question = q.format(t=title, **{k: v for k, v in m.groupdict().items() if v})
                    if not supports(question, ans):
                        options.append((question, ans))
            if options:
                return options[int(self.rng.integers(len(options)))]
        return self._cloze(title, text)

    def _cloze(self, title: str, text: str) -> tuple[str, str] | None:
        title_words = set(_tokens(title))
        options = []
        for sent in _SENT_RE.split(text):
            for m in re.finditer(r"\b\d+\b|\b[A-Z][a-z]+(?: [A-Z][a-z]+)?\b", sent):
                ans = m.group(0)
                if m.start() == 0 or set(_tokens(ans)) & title_words:
                    continue
                blanked = sent[: m.start()] + "____" + sent[m.end() :]
                if supports(blanked, ans):
                    continue
                options.append((f'In the document "{title}": {blanked} (fill in the blank)', ans))
        if not options:
            return None
        return options[int(self.rng.integers(len(options)))]

    # -- the reader as solver
    def _solve(self, question: str, log: list[Mapping[str, Any]], last: bool) -> str:
        opened = [e for e in log if e.get("tool") == "open" and "text" in e]
        searches = [e for e in log if e.get("tool") == "search" and e.get("hits")]
        if opened or last:
            texts = [e["text"] for e in opened] or [
                h["snippet"] for e in searches for h in e["hits"]
            ]
            return f"<answer>{_extract(question, ' '.join(texts)) or 'unknown'}</answer>"
        if searches:
            hits = searches[-1]["hits"]
            i = 0
            if len(hits) > 1 and self.rng.random() < self.noise:
                i = 1 + int(self.rng.integers(len(hits) - 1))
            return f"<open>{hits[i]['doc_id']}</open>"
        query = question.replace("____", " ").replace("(fill in the blank)", " ")
        return f"<search>{query}</search>"

    # -- random play
    def _random(self, obs: Observation, log: list[Mapping[str, Any]], last: bool) -> str:
        words = _tokens(obs.user) or ["thing"]
        word = words[int(self.rng.integers(len(words)))]
        if last or self.rng.random() < 0.3:
            if obs.role == "proposer":
                other = words[int(self.rng.integers(len(words)))]
                return f"<question>What is {other}?</question><answer>{word}</answer>"
            return f"<answer>{word}</answer>"
        hits = [h for e in log if e.get("tool") == "search" for h in e.get("hits", ())]
        if hits and self.rng.random() < 0.5:
            return f"<open>{hits[int(self.rng.integers(len(hits)))]['doc_id']}</open>"
        return f"<search>{word}</search>"


def _extract(question: str, text: str) -> str | None:
    """A short answer to ``question`` from ``text``: the blank of a fill-in question aligned to
    the text, or a span of the sentence that shares most words with the question, chosen by the
    question's kind (a year or number, a name, a word before "river", ...)."""
    text = text.replace(" [cut]", "")
    if "____" in question:
        m = re.search(r'"[^"]*":\s*(.*)\s*\(fill in the blank\)', question)
        cloze = (m.group(1) if m else question).strip()
        left, _, right = cloze.partition("____")
        pat = re.escape(left.strip()[-40:]) + r"\s*(.+?)\s*" + re.escape(right.strip()[:40])
        found = re.search(pat, text)
        if found:
            return found.group(1)
    q = set(_tokens(question)) - _STOP
    sentences = [s for s in _SENT_RE.split(text) if s.strip()]
    if not sentences:
        return None
    ranked = sorted(sentences, key=lambda s: -len(q & set(_tokens(s))))  # stable: ties in order
    ql = question.lower()
    for sent in ranked:
        found = _typed_span(ql, q, sent)
        if found:
            return found
    rest = [w for w in re.findall(r"\b\w+\b", ranked[0]) if w.lower() not in q | _STOP]
    return rest[0] if rest else None


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "to",
        "is",
        "was",
        "were",
        "be",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "how",
        "does",
        "do",
        "did",
        "first",
        "typical",
        "this",
        "that",
        "it",
        "its",
    ]
)


def _typed_span(ql: str, q: set[str], sent: str) -> str | None:
    """The span of ``sent`` that answers a question of ``ql``'s kind, or None."""
    if "year" in ql or ql.startswith("when"):
        m = re.search(r"\b\d{3,4}\b", sent)
        return m.group(0) if m else None
    if any(w in ql for w in ("population", "length", "how many", "number")):
        m = re.search(r"(?:population of [^.]*? is|length of) (\d+)", sent)
        return m.group(1) if m else None
    if "river" in ql:
        m = re.search(r"(\w+) river", sent)
        return m.group(1) if m else None
    if "made" in ql:
        m = re.search(r"made mostly of ([\w ]+)", sent)
        return m.group(1) if m else None
    if "occupation" in ql:
        m = re.search(r"was an? ([\w ]+?) from", sent)
        return m.group(1) if m else None
    if ql.startswith("who") or " who " in ql:
        names = re.findall(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b", sent)
        names = [n for n in names if not set(_tokens(n)) <= q]
        return names[-1] if names else None
    return None


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a SearchSelfPlay agent: ``reader`` (takes ``noise`` and ``style``) or ``random``."""
    if name not in REFERENCE_AGENTS:
        raise ValueError(f"no SearchSelfPlay agent named {name!r}; known: {REFERENCE_AGENTS}")
    return SearchAgent(name, seed=seed, **params)
