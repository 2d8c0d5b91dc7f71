"""Search self-play (``SearchSelfPlay-v1``) as in SSP: a proposer is given a target answer and
writes a question whose answer it is, grounded in documents it found with a search tool; the
question is checked by retrieval-augmented generation; a solver answers it with the same tool.

Seats: ``proposer`` and ``solver``. Both use a document collection through tool calls in the
text format of :mod:`spenv.games.toolcalls`: ``<search>query</search>`` (the ``search_k`` best
documents by BM25: id, title and a snippet) and ``<open>doc_id</open>`` (the document's text, cut
to ``max_doc_chars``). Results come back in the agent's next observation.

Rules:

1. Each game draws a *target answer* from the corpus with the env's generator (so the seed sets
   the task): on the built-in corpus one fact of a document (a year, a name, a number, a
   material...), on any other corpus a short span (a number or a capitalised name) of a drawn
   document. Reset option ``target`` (a string, or ``{"answer": ..., "doc_id": ...}``) fixes it.
2. The proposer sees the target and explores for up to ``max_steps`` turns (default 4), each
   holding at most ``max_calls`` tool calls (default 4). It ends by writing
   ``<question>...</question>`` (search and open calls in that turn run first); at its last
   step it must. A turn without any usable tool call is an invalid move (the core's
   ``retries`` policy; by default the proposer forfeits: ``invalid_reward``, the solver 0).
3. The question is *valid* when, in order (each check recorded as a verdict):
   ``format``: it is non-empty, at most 500 characters, does not contain the target (normalised
   SQuAD style: lower case, punctuation and the articles a/an/the removed, whole words), and the
   proposer collected at least one document or search result;
   ``rag``: the solver seat is asked once with the question and the proposer's collected
   documents (each opened document, else its search snippet; at most ``rag_chars`` characters
   in all) and its answer must match the target exactly (normalised);
   ``closed_book`` (only with ``closed_book_check=True``): the solver seat is asked once with
   the question alone and no tool; a correct answer makes the question invalid (answerable
   without the documents).
   An invalid question ends the game: the proposer gets ``invalid_question_reward`` (default
   -1) and loses; the solver's episode reward is 0 (a draw).
4. The solver then makes ``solver_attempts`` independent attempts (default 4). Each attempt sees
   the question and only its own tool results, searches and opens for up to ``max_steps`` turns
   and ends with ``<answer>...</answer>``. The attempts are asked in rounds: the first turn of
   every attempt, then the second turn of those still searching, and so on. The first turns are
   one identical prompt asked ``solver_attempts`` times in a row (``Observation.repeat`` counts
   down), so a runner may draw them in one batched call. A solver turn without an answer at its
   last step, or without any usable call, ends that attempt unanswered (scored 0, never a
   forfeit).
5. Each answer (the rag and closed-book ones too) is scored against the target by normalised
   exact match (and token F1, recorded). Rewards: every solver turn gets its own reward
   (:meth:`decision_rewards`): a check turn its exact match, each turn of an attempt that
   attempt's score (exact match, or F1 with ``solver_reward="f1"``); the solver's episode reward
   is the mean over the attempts. The proposer's reward for a valid question is
   1 - (the solver's success rate over the attempts). Outcomes: the solver wins with a success
   rate above 1/2, draws at 1/2 and loses below; the proposer the reverse.

Hidden information: the solver never sees the target, the proposer's exploration or its other
attempts; the proposer does not see the solver's answers until the game ends.

Every verdict is recorded in the episode's ``verdicts`` (``format``, ``rag``, ``closed_book``,
and one ``answer_match`` per attempt: score = the exact match, ``data`` with F1 and the answer).
By default nothing in the env calls a model: the checks are decisions of the solver seat, which
the runner batches like any other. In self-play one policy then answers its own proposer's
checks and can pass a question with no content. Constructor option ``checker`` (an agent
object; the env builds no agents) closes that: the env itself asks it the ``rag`` and
``closed_book`` checks with the observation the solver seat would get (role ``checker``), reads
its text as the seat's, and the solver seat only makes the attempts. Those verdicts carry
``answered_by: "checker"``; its answers are in ``info["checker_answers"]`` and in the episode's
reset options as ``checker_answers`` (a replay uses them instead of calling it); ``env_options``
records it as ``"agent:NAME"``, which as ``checker=`` can only replay. A checker that raises or
returns no text ends the game unscored (``ended_by="checker_error"``, both seats 0). It is
called synchronously (not batched). A self-play run should pass a frozen copy of the policy (or
a fixed model) as ``checker``.

Corpus (constructor option ``corpus``, one path for every kind; see :func:`load_corpus`):
``None`` (the default) is the built-in fictional encyclopedia of
:func:`spenv.verifiers.search.default_documents` (``n_docs`` documents, default 2000, generated
from ``corpus_seed``); a path names a JSON-lines file (``.jsonl``/``.json``, optionally
``.gz``/``.bz2``: records with ``id``, ``title``, ``text``), a Parquet file (the same columns), a
Hugging Face dataset saved with ``save_to_disk`` (a folder; split ``train``), a folder of text
files, or an SQLite corpus file written by :class:`~spenv.verifiers.search.Corpus`. Corpora are
built once per process and shared.

Reference agents (:func:`reference_agent`): ``reader`` plays both seats: as the proposer it
searches the target, opens the best hit that states it and turns that sentence into a question
(a template question for the facts of the built-in corpus, else a fill-in-the-blank); as the
solver it searches the question, opens the best hit (with probability ``noise``, default 0.25,
another one) and extracts the answer from the sentence that best matches the question; given
documents (the rag check) it extracts from them; with neither (closed book) it answers
"unknown". ``random`` makes random searches, opens and answers.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import string
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from spenv.agent import RecordedOnlyAgent, is_recorded_answer
from spenv.agents.base import Agent, BaseAgent
from spenv.env import TextEnv
from spenv.games.toolcalls import ParsedTurn, parse_calls, render_tools
from spenv.observation import Observation
from spenv.options import Bool, Int, Maybe, Number, OneOf, Option, PathText

__all__ = [
    "QuestionGame",
    "SearchAgent",
    "SearchSelfPlayEnv",
    "draw_target",
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
You are given a target answer. Explore a document collection with a search tool and write a \
question whose answer is exactly the target, using facts stated in the documents you find. The \
question is checked: a solver is given the documents you collected and must answer it with the \
target; the question must not contain the target. A solver then answers it {attempts} times \
with the same search tool but without your documents. You score 1 minus the solver's success \
rate for a valid question, and {penalty:g} for an invalid one.
{tools}
You have {steps} turns. Finish by writing <question>...</question>."""

_SYSTEM_SOLVER = """You are the solver in a search game.
Answer a question about a document collection. When documents are given, answer from them; \
otherwise use the search tool to find documents and open them to read them (if you have it). \
You score by whether your answer matches the expected short answer exactly.
{tools}
Finish by writing <answer>...</answer> with a short answer (a name, a number, a few words)."""


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


def load_corpus(
    corpus: str | Path | None = None, *, n_docs: int = 2000, corpus_seed: int = 0
) -> Any:
    """The :class:`~spenv.verifiers.search.Corpus` the option ``corpus`` names, built once per
    process: ``None`` for the built-in encyclopedia (``n_docs``, ``corpus_seed``), or a path to
    a JSON-lines file (``.jsonl``/``.json``, optionally compressed), a Parquet file
    (``.parquet``), a Hugging Face dataset saved with ``save_to_disk`` (a folder; split
    ``train``), a folder of ``.txt``/``.md`` files, or an SQLite corpus file. Records need
    ``text``; ``id`` (default: the row number) and ``title`` are optional for Parquet and
    datasets. Raises ``ValueError`` for a missing, unreadable or empty corpus."""
    from spenv.verifiers.search import Corpus

    if corpus is None:
        key: tuple[Any, ...] = ("default", n_docs, corpus_seed)
    else:
        path = Path(corpus)
        if not path.exists():
            raise ValueError(f"corpus {str(corpus)!r} does not exist")
        key = ("path", str(path.resolve()), path.stat().st_mtime)
    with _CORPUS_LOCK:
        c = _CORPORA.get(key)
        if c is not None:
            return c
        try:
            if corpus is None:
                c = Corpus.default(n_docs, corpus_seed)
            elif path.is_dir() and _is_saved_dataset(path):
                import datasets

                c = Corpus.from_hf(datasets.load_from_disk(str(path)))
            elif path.is_dir():
                c = Corpus.from_folder(path)
            elif path.suffix == ".parquet":
                import pyarrow.parquet as pq

                c = Corpus.from_hf(pq.read_table(path).to_pylist())
            elif any(s in (".jsonl", ".json") for s in path.suffixes):
                c = Corpus.from_jsonl(path)
            else:
                c = Corpus(path)
        except Exception as exc:
            raise ValueError(f"corpus {str(corpus)!r} is not a readable corpus: {exc}") from exc
        if len(c) == 0:
            raise ValueError(f"corpus {str(corpus)!r} holds no documents")
        _CORPORA[key] = c
        return c


def _is_saved_dataset(path: Path) -> bool:
    """Whether a folder is a Hugging Face dataset written by ``save_to_disk``."""
    return any((path / f).is_file() for f in ("dataset_dict.json", "state.json"))


# ------------------------------------------------------------------------------ targets
_POOLS: dict[int, list[tuple[str, str]]] = {}
_SPAN_RE = re.compile(r"\b\d{2,}\b|\b[A-Z][a-z]+(?: [A-Z][a-z]+)*\b")


def _target_pool(corpus: Any, default: tuple[int, int] | None) -> list[tuple[str, str]]:
    """(answer, doc id) candidates: the built-in corpus's single-document facts, else the doc
    ids of the corpus (a span is picked from the drawn document)."""
    key = id(corpus)
    with _CORPUS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            if default is not None:
                from spenv.verifiers.search import default_questions

                qs = default_questions(None, n_docs=default[0], seed=default[1])
                pool = [(q.answer, q.doc_ids[0]) for q in qs]
            else:
                pool = [("", d) for d in corpus.ids()]
            _POOLS[key] = pool
        return pool


def draw_target(
    corpus: Any, rng: Any, *, default: tuple[int, int] | None = None, max_words: int = 8
) -> tuple[str, str]:
    """A target ``(answer, doc_id)`` drawn with ``rng``: a fact of the built-in corpus (when
    ``default`` gives its ``(n_docs, corpus_seed)``), else a number or capitalised name of a
    drawn document that is not the first word of its sentence. Raises ``ValueError`` when 50
    drawn documents hold no such span."""
    pool = _target_pool(corpus, default)
    if default is not None:
        return pool[int(rng.integers(len(pool)))]
    for _ in range(50):
        doc_id = pool[int(rng.integers(len(pool)))][1]
        text = corpus.get(doc_id).text
        spans = []
        for sent in re.split(r"(?<=[.!?])\s+", text[:4000]):
            for m in _SPAN_RE.finditer(sent):
                words = normalize_answer(m.group(0)).split()
                if m.start() > 0 and 0 < len(words) <= max_words:
                    spans.append(m.group(0))
        if spans:
            return spans[int(rng.integers(len(spans)))], doc_id
    raise ValueError("no target answer found in 50 documents drawn from the corpus")


# ------------------------------------------------------------------------------ the env
class QuestionGame(TextEnv):
    """What SSP and SPICE share: a question seat and an answer seat, checks recorded as
    verdicts, invalid questions penalised, and per-decision rewards of the answer seat."""

    zero_sum = False
    _moves: ClassVar[dict[str, str]] = {}
    #: The options both games have: the corpus their documents come from, and the reward of
    #: the asking seat for an invalid question (each game declares its own default).
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option(
            "corpus",
            None,
            Maybe(PathText()),
            "the documents: None (the built-in encyclopedia) or a path (see load_corpus)",
        ),
        Option("n_docs", 2000, Int(4), "documents drawn from a large corpus"),
        Option("corpus_seed", 0, Int(0), "which documents are drawn"),
    )
    #: The asking and the answering seat, and the name verdicts give as their verifier.
    _ASKER = "proposer"
    _ANSWERER = "solver"
    _VERIFIER = "search_self_play"
    _verdicts: list[dict[str, Any]]
    _turn_rewards: dict[int, float]
    _result: dict[str, Any]

    def __init__(self, *, checker: Any = None, **options: Any) -> None:
        super().__init__(**options)
        self._set_checker(checker)
        self._corpus = load_corpus(self.corpus, n_docs=self.n_docs, corpus_seed=self.corpus_seed)

    def env_options(self) -> dict[str, Any]:
        opts = super().env_options()
        if self._checker_spec is not None:
            opts["checker"] = self._checker_spec
        return opts

    def _verdict(
        self, check: str, subject: str, ok: bool, score: float, detail: str, **data: Any
    ) -> None:
        self._verdicts.append(
            {
                "verifier": self._VERIFIER,
                "check": check,
                "subject": subject,
                "status": "ok" if ok else "wrong",
                "score": float(score),
                "detail": detail,
                "elapsed": 0.0,
                **data,
                **(
                    {"answered_by": "checker"}
                    if self._checker is not None and check in ("rag", "closed_book", "doc_check")
                    else {}
                ),
            }
        )

    # ------------------------------------------------------------------ the checker
    #: The agent that answers the validity checks instead of the answering seat (None: the
    #: seat answers them), its spec as recorded, and this game's answers (and recorded ones).
    _checker: Any = None
    _checker_spec: str | None = None
    _checker_log: list[str | dict[str, str]]
    _checker_recorded: list[str | dict[str, str]] | None = None

    def _set_checker(self, checker: Any) -> None:
        """Take the ``checker`` option: None, an agent object, or ``"agent:NAME"`` (a recorded
        checker that can only replay its answers)."""
        self._checker_log = []
        if checker is None:
            return
        if isinstance(checker, str):
            if not checker.startswith("agent:"):
                raise ValueError(
                    f"checker must be an agent object (the env builds no agents, e.g. "
                    f"spenv.agents.make_agent('hf:PATH')), got {checker!r}"
                )
            self._checker = RecordedOnlyAgent(checker, "checker", "checker_answers")
            self._checker_spec = checker
            return
        if not callable(getattr(checker, "act", None)):
            raise ValueError(f"checker must be an agent with act(obs), got {checker!r:.100}")
        name = str(getattr(checker, "name", type(checker).__name__)).replace("+", "_")
        self._checker, self._checker_spec = checker, f"agent:{name}"

    def _checker_options(self, options: Mapping[str, Any]) -> None:
        """Validate reset option ``checker_answers`` (raises ``ValueError``)."""
        rec = options.get("checker_answers")
        if rec is None:
            return
        if self._checker is None:
            raise ValueError("checker_answers given, but this env has no checker")
        if not isinstance(rec, list | tuple) or not all(is_recorded_answer(a) for a in rec):
            raise ValueError(
                'checker_answers must be a list of answers (strings, or {"error": message}), '
                f"got {rec!r:.200}"
            )

    def _start_checker(self, options: Mapping[str, Any]) -> None:
        self._checker_log = []
        rec = options.get("checker_answers")
        self._checker_recorded = None if rec is None else list(rec)

    def _ask_checker(self, obs: Observation) -> str | dict[str, str]:
        """The checker's answer to the seat's observation (role ``checker``): the next recorded
        one when replaying, else the agent's; a failure is ``{"error": ...}``, never raised."""
        i = len(self._checker_log)
        entry: str | dict[str, str]
        if self._checker_recorded is not None:
            if i < len(self._checker_recorded):
                entry = self._checker_recorded[i]
            else:
                entry = {"error": f"the recorded checker answers ran out after {i}"}
        else:
            view = dataclasses.replace(obs, role="checker", state={**obs.state, "role": "checker"})
            try:
                answer = self._checker.act(view)
            except Exception as exc:  # any checker failure is recorded, never raised
                entry = {"error": f"checker failed: {type(exc).__name__}: {exc}"}
            else:
                entry = answer if isinstance(answer, str) else {
                    "error": f"checker answered {type(answer).__name__}, not text"
                }  # fmt: skip
        self._checker_log.append(entry)
        return entry

    def _checker_failed(self, check: str, error: str) -> None:
        """A checker that gave no text ends the game unscored: nobody is paid for it."""
        self._verdicts.append(
            {
                "verifier": self._VERIFIER,
                "check": check,
                "subject": "question",
                "status": "error",
                "score": 0.0,
                "detail": error,
                "elapsed": 0.0,
                "answered_by": "checker",
            }
        )
        self._result = {"ended_by": "checker_error", "valid": None, "reason": error}
        self._give({self._ASKER: 0.0, self._ANSWERER: 0.0})
        self._finish({self._ASKER: "draw", self._ANSWERER: "draw"})

    def _checker_info(self) -> dict[str, Any]:
        if self._checker is None:
            return {}
        return {"checker": self._checker_spec, "checker_answers": list(self._checker_log)}

    def episode(self, players: Mapping[str, str] | None = None) -> Any:
        """The record; with a checker, the reset options also carry its answers
        (``checker_answers``), so a replay uses them instead of calling it."""
        ep = super().episode(players)
        if self._checker is not None and "checker_answers" not in ep.reset_options:
            ep.reset_options["checker_answers"] = list(self._checker_log)
        return ep

    def _reject(self, reason: str) -> None:
        """End the game on an invalid question: the asker is penalised, the answerer draws."""
        self._result = {"ended_by": "rejected", "valid": False, "reason": reason}
        self._give({self._ASKER: self.invalid_question_reward, self._ANSWERER: 0.0})
        self._finish({self._ASKER: "loss", self._ANSWERER: "draw"})

    def _forfeit(self, agent: str, reason: str) -> None:
        self._result = {"ended_by": "forfeit", "forfeit": agent, "reason": reason}
        super()._forfeit(agent, reason)

    def decision_rewards(self) -> dict[int, float]:
        """Each answering decision's own reward: a check turn its verdict, each turn of an
        attempt that attempt's score."""
        return dict(self._turn_rewards)

    def episode_verdicts(self) -> list[dict[str, Any]]:
        """Every verdict of the game, in the order they were given."""
        return [dict(v) for v in self._verdicts]


class SearchSelfPlayEnv(QuestionGame):
    """Search self-play (SSP); see the module docstring for the rules, rewards and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "search_self_play_v1"}
    env_id = "SearchSelfPlay-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("solver_attempts", 4, Int(1), "independent attempts of the solver per question"),
        Option("max_steps", 4, Int(1), "turns of the proposer and of each solver attempt"),
        Option("max_calls", 4, Int(1), "tool calls in one turn"),
        Option("search_k", 5, Int(1), "hits a search returns"),
        Option("max_doc_chars", 1500, Int(50), "characters of a document an open shows"),
        Option("rag_chars", 6000, Int(100), "characters of documents the RAG check shows"),
        Option("solver_reward", "em", OneOf("f1", "em"), "how an answer is scored"),
        Option(
            "invalid_question_reward", -1.0, Number(), "the proposer's reward for a bad question"
        ),
        Option("closed_book_check", False, Bool(), "reject questions answered without documents"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        max_calls, solver_attempts, max_steps = self.max_calls, self.solver_attempts, self.max_steps
        tools_p = render_tools(["search", "open", "question"], max_calls=max_calls)
        tools_s = render_tools(["search", "open", "answer"], max_calls=max_calls)
        self._system = {
            "proposer": _SYSTEM_PROPOSER.format(
                tools=tools_p,
                attempts=solver_attempts,
                steps=max_steps,
                penalty=self.invalid_question_reward,
            ),
            "solver": _SYSTEM_SOLVER.format(tools=tools_s),
        }
        self._target, self._target_doc = "", ""
        self._reset_state()

    def _reset_state(self) -> None:
        self._phase = "propose"
        self._step = 0  # the proposer's turns taken
        self._p_log: list[dict[str, Any]] = []
        self._seen: list[tuple[str, str, str]] = []  # (doc id, title, text shown)
        self._question: str | None = None
        k = self.solver_attempts
        self._s_logs: list[list[dict[str, Any]]] = [[] for _ in range(k)]
        self._s_steps = [0] * k
        self._s_turns: list[list[int]] = [[] for _ in range(k)]
        self._done: list[bool] = [False] * k
        self._attempt = 0
        self._first_round = True
        self._answers: list[str | None] = [None] * k
        self._scores: list[dict[str, float]] = [{} for _ in range(k)]
        self._checks: dict[str, dict[str, Any]] = {}
        self._turn_rewards: dict[int, float] = {}
        self._verdicts: list[dict[str, Any]] = []
        self._result: dict[str, Any] = {}
        self._pending: ParsedTurn | None = None

    # ------------------------------------------------------------------ bookkeeping
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = dict(options)
        self._checker_options(options)
        target = options.get("target")
        if target is not None:
            if isinstance(target, str):
                target = {"answer": target}
            if not isinstance(target, Mapping) or not isinstance(target.get("answer"), str):
                raise ValueError('target must be a string or {"answer": str, "doc_id": str}')
            if not normalize_answer(target["answer"]):
                raise ValueError("target answer is empty after normalisation")
            out["target"] = {"answer": target["answer"], "doc_id": str(target.get("doc_id", ""))}
        return out

    def _new_game(self, options: dict[str, Any]) -> str:
        self._reset_state()
        self._start_checker(options)
        target = options.get("target")
        if target is not None:
            self._target, self._target_doc = target["answer"], target["doc_id"]
        else:
            default = (self.n_docs, self.corpus_seed) if self.corpus is None else None
            self._target, self._target_doc = draw_target(
                self._corpus, self.np_random, default=default
            )
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
                        self._seen.append((r["doc_id"], r["title"], r["snippet"]))
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
                    self._seen.append((doc.doc_id, doc.title, text[: self.max_doc_chars]))

    def collected_documents(self) -> list[dict[str, str]]:
        """The proposer's collected documents as the rag check shows them: one per doc id, its
        opened text when it was opened, else its longest snippet; at most ``rag_chars``
        characters in all (the last one cut)."""
        best: dict[str, tuple[str, str]] = {}
        for doc_id, title, text in self._seen:
            if doc_id not in best or len(text) > len(best[doc_id][1]):
                best[doc_id] = (title, text)
        out, left = [], self.rag_chars
        for doc_id, (title, text) in best.items():
            if left <= 0:
                break
            out.append({"doc_id": doc_id, "title": title, "text": text[:left]})
            left -= len(text)
        return out

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
        if acting and agent == "proposer":
            return self._proposer_view()
        if acting:
            return self._solver_view()
        state: dict[str, Any] = {"role": agent, "max_steps": self.max_steps}
        if finished:
            text = self._summary(agent)
            state["result"] = dict(self._result)
            state["outcome"] = self._outcomes.get(agent)
        else:
            who = "solver." if agent == "proposer" else "proposer's question."
            text = f"You are the {agent}. Waiting for the {who}"
        return Observation(
            system=self._system[agent],
            user=text,
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=(),
            state=state,
        )

    def _proposer_view(self) -> Observation:
        log = self._p_log
        lines = [
            "You are the proposer.",
            f"Target answer: {self._target}",
            "Write a question whose answer is exactly the target.",
        ]
        if log:
            lines.append("Your tool calls so far and their results:")
            lines += self._render_log(log)
        last = self._step + 1 == self.max_steps
        lines.append(
            f"Turn {self._step + 1} of {self.max_steps}. "
            + (
                "This is your last turn: write your <question> now."
                if last
                else "Search, open documents, or write your <question>."
            )
        )
        state = {
            "role": "proposer",
            "phase": "propose",
            "target": self._target,
            "log": list(log),
            "step": self._step + 1,
            "max_steps": self.max_steps,
        }
        return self._decision("proposer", "\n".join(lines), state)

    def _solver_view(self) -> Observation:
        phase = self._phase
        lines = ["You are the solver.", f"Question: {self._question}"]
        state: dict[str, Any] = {"role": "solver", "phase": phase, "question": self._question}
        repeat = 1
        if phase == "rag":
            docs = self.collected_documents()
            lines.append("Documents:")
            lines += [f"[{d['doc_id']}] {d['title']}: {d['text']}" for d in docs]
            lines.append("Answer the question from these documents: write <answer>...</answer>.")
            state.update(documents=docs, step=1, max_steps=1)
        elif phase == "closed":
            lines.append("Answer from what you know, without any tool: write <answer>...</answer>.")
            state.update(step=1, max_steps=1)
        else:
            a = self._attempt
            log, step = self._s_logs[a], self._s_steps[a]
            if log:
                lines.append("Your tool calls so far and their results:")
                lines += self._render_log(log)
            last = step + 1 == self.max_steps
            lines.append(
                f"Turn {step + 1} of {self.max_steps}. "
                + (
                    "This is your last turn: write your <answer> now."
                    if last
                    else "Search, open documents, or write your <answer>."
                )
            )
            state.update(log=list(log), step=step + 1, max_steps=self.max_steps)
            if self._first_round and not self._feedback:  # a re-ask is a prompt of its own
                repeat = self.solver_attempts - a
        return self._decision("solver", "\n".join(lines), state, repeat)

    def _decision(
        self, agent: str, text: str, state: dict[str, Any], repeat: int = 1
    ) -> Observation:
        return Observation(
            system=self._system[agent],
            user=text,
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=None,
            state=state,
            repeat=repeat,
        )

    def _summary(self, agent: str) -> str:
        r = self._result
        you = f"Your outcome: {self._outcomes.get(agent)}, score {self._totals[agent]:+g}."
        if r.get("ended_by") == "forfeit":
            return f"The game is over: the {r.get('forfeit')} forfeited (invalid move). {you}"
        if not r.get("valid"):
            return f"The game is over: the question was rejected ({r.get('reason')}). {you}"
        answers = "; ".join(repr(a) for a in self._answers)
        return (
            f"The game is over. Question: {self._question} Target answer: {self._target}. "
            f"The solver answered: {answers}; {r.get('successes')} of {len(self._answers)} "
            f"attempts right. {you}"
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        if agent == "proposer":
            parsed = parse_calls(action, {"search", "open", "question"}, max_calls=self.max_calls)
            if not parsed.calls:
                why = "; ".join(parsed.errors) if parsed.errors else "no tool call found"
                return None, f"no usable tool call ({why})"
            final = parsed.first("question") is not None
            if self._step + 1 == self.max_steps and not final:
                return None, "this was your last turn: it must hold a <question>"
            self._pending = parsed
            return ("ask" if final else "explore"), None
        # The solver never forfeits by its text: a turn without an answer where one is due, or
        # without any usable call, ends the attempt (or check) unanswered.
        tools = {"answer"} if self._phase in ("rag", "closed") else {"search", "open", "answer"}
        parsed = parse_calls(action, tools, max_calls=self.max_calls)
        self._pending = parsed
        if parsed.first("answer") is not None:
            return "answer", None
        last = self._phase != "solve" or self._s_steps[self._attempt] + 1 == self.max_steps
        return ("explore" if parsed.calls and not last else "unanswered"), None

    def _apply(self, agent: str, move: str) -> None:
        parsed = self._pending
        assert parsed is not None
        index = len(self._turns) - 1  # this turn's index in the episode record
        if agent == "proposer":
            log = self._p_log
            self._run_tools([c for c in parsed.calls if c.name != "question"], log, seen=True)
            for e in parsed.errors:
                log.append({"tool": "note", "text": e})
            self._step += 1
            if move == "ask":
                self._ask(parsed.first("question") or "")
            else:
                self._next("proposer")
            return
        answer = parsed.first("answer") if move == "answer" else None
        if self._phase in ("rag", "closed"):
            self._check_answer(index, answer)
            return
        a = self._attempt
        self._s_turns[a].append(index)
        self._s_steps[a] += 1
        if move == "explore":
            log = self._s_logs[a]
            self._run_tools([c for c in parsed.calls if c.name != "answer"], log, seen=False)
            for e in parsed.errors:
                log.append({"tool": "note", "text": e})
        else:
            self._score(a, answer)
        self._advance()

    # ------------------------------------------------------------------ checks and scores
    def _format_problem(self, question: str) -> str | None:
        if not normalize_answer(question):
            return "the question is empty"
        if len(question) > MAX_QUESTION_CHARS:
            return f"the question is longer than {MAX_QUESTION_CHARS} characters"
        if supports(question, self._target):
            return "the question contains its answer"
        if not self._seen:
            return "the proposer collected no document or search result"
        return None

    def _ask(self, question: str) -> None:
        self._question = question
        problem = self._format_problem(question)
        self._verdict("format", "question", problem is None, problem is None, problem or "ok")
        if problem is not None:
            self._reject(problem)
            return
        self._phase = "rag"
        self._next("solver")
        self._run_checker()

    def _run_checker(self) -> None:
        """With a checker, it answers the rag (and closed-book) check instead of the solver
        seat, with the observation the seat would get; its text is read as the seat's is."""
        while self._checker is not None and self._phase in ("rag", "closed") and not self._outcomes:
            entry = self._ask_checker(self._solver_view())
            if not isinstance(entry, str):
                self._checker_failed(
                    "rag" if self._phase == "rag" else "closed_book", entry["error"]
                )
                return
            parsed = parse_calls(entry, {"answer"}, max_calls=self.max_calls)
            self._check_answer(None, parsed.first("answer"))

    def _check_answer(self, index: int | None, answer: str | None) -> None:
        phase = self._phase
        given = answer if answer is not None else ""
        em, f1 = exact_match(given, self._target), f1_score(given, self._target)
        if index is not None:
            self._turn_rewards[index] = em
        self._checks[phase] = {"answer": answer, "em": em, "f1": f1}
        check = "rag" if phase == "rag" else "closed_book"
        if answer is None:
            detail = "no answer given"
        else:
            detail = f"answer {answer!r}: exact match {em:g}, token F1 {f1:.3f}"
        if phase == "rag":
            self._verdict(check, "question", bool(em), em, detail, answer=answer, f1=f1)
            if not em:
                self._reject("the solver could not answer it from the collected documents")
                return
            if self.closed_book_check:
                self._phase = "closed"
                self._next("solver")
                return
        else:
            self._verdict(check, "question", not em, 1.0 - em, detail, answer=answer, f1=f1)
            if em:
                self._reject("the solver answered it without the documents")
                return
        self._phase = "solve"
        self._result = {"valid": True}
        self._attempt = 0
        self._next("solver")

    def _score(self, a: int, answer: str | None) -> None:
        given = answer if answer is not None else ""
        em, f1 = exact_match(given, self._target), f1_score(given, self._target)
        self._done[a] = True
        self._answers[a] = answer
        self._scores[a] = {"em": em, "f1": f1}
        detail = "no answer given" if answer is None else f"exact match {em:g}, token F1 {f1:.3f}"
        self._verdict("answer_match", f"attempt {a}", bool(em), em, detail, answer=answer, f1=f1)

    def _advance(self) -> None:
        """Hand the turn to the next attempt still searching (in rounds), or end the game."""
        k = self.solver_attempts
        nxt = next((j for j in range(self._attempt + 1, k) if not self._done[j]), None)
        if nxt is None:
            self._first_round = False
            nxt = next((j for j in range(k) if not self._done[j]), None)
        if nxt is not None:
            self._attempt = nxt
            self._next("solver")
            return
        key = self.solver_reward
        for a in range(k):
            for i in self._s_turns[a]:
                self._turn_rewards[i] = self._scores[a][key]
        successes = int(sum(s["em"] for s in self._scores))
        rate = successes / k
        solver = sum(s[key] for s in self._scores) / k
        self._result.update(ended_by="answers", successes=successes, success_rate=rate)
        self._give({"proposer": 1.0 - rate, "solver": solver})
        solver_outcome = "win" if rate > 0.5 else ("draw" if rate == 0.5 else "loss")
        flip = {"win": "loss", "loss": "win", "draw": "draw"}
        self._finish({"proposer": flip[solver_outcome], "solver": solver_outcome})

    # ------------------------------------------------------------------ the record
    def episode_info(self) -> dict[str, Any]:
        return {
            "target": self._target,
            "target_doc": self._target_doc,
            "question": self._question,
            "proposer_steps": self._step,
            "documents": [d["doc_id"] for d in self.collected_documents()],
            "checks": {k: dict(v) for k, v in self._checks.items()},
            "solver_answers": list(self._answers),
            "solver_scores": [dict(s) for s in self._scores],
            **self._checker_info(),
            **self._result,
        }


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
        state = obs.state
        log = list(state.get("log", ()))
        step = int(state.get("step", 1))
        last = step >= int(state.get("max_steps", 1))
        if self.strategy == "random":
            return self._random(obs, log, last)
        if obs.role == "proposer":
            return self._propose(str(state.get("target", "")), log, last)
        question = str(state.get("question", ""))
        phase = state.get("phase")
        if phase == "rag":
            text = " ".join(d["text"] for d in state.get("documents", ()))
            return f"<answer>{_extract(question, text) or 'unknown'}</answer>"
        if phase == "closed":
            return "<answer>unknown</answer>"
        return self._solve(question, log, last)

    # -- the reader as proposer
    def _propose(self, target: str, log: list[Mapping[str, Any]], last: bool) -> str:
        opened = [e for e in log if e.get("tool") == "open" and "text" in e]
        searches = [e for e in log if e.get("tool") == "search" and e.get("hits")]
        for e in reversed(opened):
            qa = self._question_for(e["title"], e["text"], target)
            if qa is not None:
                return f"<question>{qa}</question>"
        if searches and not last:
            done = {e.get("doc_id") for e in opened}
            hits = [h for e in searches for h in e["hits"] if h["doc_id"] not in done]
            stating = [h for h in hits if supports(f"{h['title']}. {h['snippet']}", target)]
            # A page titled by the target cannot be named in the question: others first.
            stating.sort(key=lambda h: supports(h["title"], target))
            if stating or hits:
                pick = (stating or hits)[0]
                return f"Let me read this one.\n<open>{pick['doc_id']}</open>"
        if last:
            for e in reversed(searches):
                for h in e["hits"]:
                    qa = self._question_for(h["title"], h["snippet"], target)
                    if qa is not None:
                        return f"<question>{qa}</question>"
            return "<question>What is this about?</question>"
        return f"<search>{target}</search>"

    def _question_for(self, title: str, text: str, target: str) -> str | None:
        """A question about ``text`` whose answer is ``target``: a template question when a
        fact of the built-in corpus gives it (style ``auto``), else a fill-in-the-blank."""
        text = text.replace(" [cut]", "")
        want = normalize_answer(target)
        if self.style == "auto":
            options = []
            for pat, q, group in _TEMPLATES:
                for m in pat.finditer(text):
                    if normalize_answer(m.group(group)) != want:
                        continue
                    question = q.format(t=title, **{k: v for k, v in m.groupdict().items() if v})
                    if not supports(question, target):
                        options.append(question)
            if options:
                return options[int(self.rng.integers(len(options)))]
        return self._cloze(title, text, target)

    def _cloze(self, title: str, text: str, target: str) -> str | None:
        pat = re.compile(r"(?<!\w)" + re.escape(target.strip()) + r"(?!\w)", re.IGNORECASE)
        options = []
        for sent in _SENT_RE.split(text):
            m = pat.search(sent)
            if m is None:
                continue
            blanked = sent[: m.start()] + "____" + sent[m.end() :]
            if supports(title, target):
                options.append(f"{blanked} (fill in the blank)")
            elif not supports(blanked, target):
                options.append(f'In the document "{title}": {blanked} (fill in the blank)')
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
                return f"<question>What is {word}?</question>"
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
        cloze = (m.group(1) if m else question.replace("(fill in the blank)", "")).strip()
        left, _, right = cloze.partition("____")
        if left.strip():
            pat = re.escape(left.strip()[-40:]) + r"\s*(.+?)\s*" + re.escape(right.strip()[:40])
        else:  # the blank opens the sentence: a name or a number before the rest
            pat = r"([A-Z][\w-]*(?: [A-Z][\w-]*)*|\d[\d,.]*)\s+" + re.escape(right.strip()[:40])
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
