"""SPICE (``SPICE-v1``): a challenger turns a document drawn from a corpus into a question with a
checkable answer; a reasoner answers it without the document (after "SPICE: Self-Play In Corpus
Environments Improves Reasoning", Liu et al. 2025).

Seats: ``challenger`` and ``reasoner``.

Rules:

1. Each game draws a document from the corpus with the env's generator (the seed sets it; reset
   option ``doc_id`` fixes it). The challenger sees it (cut to ``max_doc_chars``) and writes, in
   one turn, ``<question>...</question>`` and ``<answer>...</answer>``, plus, for a multiple
   choice question, ``<choices>`` holding exactly four options, one a line, labelled ``A.`` to
   ``D.`` (``A)`` and ``(A)`` also read), with the answer a label. Without ``<choices>`` the
   question is free-form and the answer a short span (at most ``max_answer_words`` words).
2. The question is *valid* when (each check recorded as a verdict) ``format``: the tags parse,
   the question is at most 1000 characters, the options are four distinct texts and the answer
   names one, the answer (free-form) or the correct option's text is stated in the document
   (SQuAD-normalised whole words) and the question text does not contain it; and ``doc_check``
   (on unless ``doc_check=False``): the reasoner seat, given the document and the question,
   answers it correctly once. An invalid question ends the game: the challenger gets
   ``invalid_question_reward`` (default -0.1, the paper's penalty), the reasoner 0.
3. The reasoner then answers ``attempts`` times (default 8), each attempt independent and
   without the document or any tool: one prompt (the question and its options) asked
   ``attempts`` times in a row (``Observation.repeat`` counts down), so a runner can draw them in
   one batched call. An answer is ``<answer>...</answer>`` (the text itself when there is no
   tag): a label for multiple choice (``B``, ``(B)``, ``B. text``), else compared by normalised
   exact match (numbers by value).
4. Rewards. Each reasoner decision is rewarded by its own correctness (1 or 0, through
   :meth:`decision_rewards`, the doc check included); the reasoner's episode reward is its
   success rate ``p`` over the attempts. The challenger's reward for a valid question is the
   paper's variance-shaped reward ``exp(-(p(1 - p) - 1/4)^2 / (2 sigma^2))`` with
   ``sigma = reward_sigma`` (default 0.1): 1 when ``p = 1/2``, about 0.04 when the reasoner
   always or never succeeds. Outcomes: the reasoner wins with ``p > 1/2``, draws at 1/2, loses
   below; the challenger wins when its reward is at least 1/2.

By default the env calls no model: the doc check is a decision of the reasoner seat (so in
self-play one policy answers its own challenger's check). Constructor option ``checker`` (an
agent object) answers the doc check instead, as in ``SearchSelfPlay-v1``: called by the env with
the reasoner's observation (role ``checker``), verdict ``answered_by: "checker"``, answers in
``info["checker_answers"]`` and reset option ``checker_answers`` for replay, ``"agent:NAME"`` in
``env_options``, a failing checker ends the game unscored. A self-play run should pass a frozen
copy of the policy (or a fixed model) as ``checker``. Every verdict is in
the episode's ``verdicts`` (``format``, ``doc_check``, one ``answer_match`` per attempt).

Corpus: the ``corpus`` option of ``SearchSelfPlay-v1`` (:func:`~spenv.games.search_self_play.
load_corpus`: the built-in encyclopedia by default, or a JSON-lines, Parquet, saved Hugging Face
dataset, folder or SQLite corpus).

Reference agents (:func:`reference_agent`): ``reader`` as the challenger turns a fact of the
document into a question (a template question on the built-in corpus, else a fill-in-the-blank),
multiple choice with probability ``mcq`` (default 0.5) with three distractors of the same kind;
as the reasoner it answers the doc check from the document (the option stated in the sentence
that best matches the question) and, without the document, picks a uniformly random option
(free-form: "unknown"). ``random`` writes random questions and answers.

On the built-in fictional corpus nothing can be known without the document, so a capable
reasoner is at chance on multiple choice (p about 1/4) and at 0 on free-form; on real corpora
the challenger's skill is finding questions a reasoner can answer by reasoning about half the
time.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

from spenv.agents.base import Agent, BaseAgent
from spenv.env import TextEnv
from spenv.games.search_self_play import (
    _TEMPLATES,
    QuestionGame,
    exact_match,
    normalize_answer,
    supports,
)
from spenv.games.toolcalls import ToolSpec, parse_calls, register_tool, render_tools
from spenv.observation import Observation
from spenv.options import Bool, Int, Number, Option

__all__ = [
    "SEATS",
    "SpiceAgent",
    "SpiceEnv",
    "challenger_reward",
    "parse_choices",
    "reference_agent",
]

SEATS = ("challenger", "reasoner")
REFERENCE_AGENTS = ("reader", "random")
LABELS = ("A", "B", "C", "D")
MAX_QUESTION_CHARS = 1000

register_tool(
    ToolSpec(
        "choices",
        "The options of a multiple choice question.",
        "options",
        "A. first option\nB. second option\nC. third option\nD. fourth option",
    )
)

_SYSTEM_CHALLENGER = """You are the challenger in a reading game.
You are shown a document. Write a question that a reasoner who cannot see the document answers \
correctly about half of the time, with an answer stated in the document. The reasoner answers \
{attempts} times without the document. You score most (1) when it succeeds in about half of its \
attempts and little when it always or never succeeds; an invalid question scores {penalty:g}. \
A question is invalid when it does not parse, when its answer is not stated in the document or \
appears in the question, or when a reader given the document cannot answer it.
{tools}
Write, in one turn, <question>...</question> and <answer>...</answer>. For a multiple choice \
question also write <choices> with exactly four options, one a line, labelled A. to D., and give \
the label as the answer. Otherwise the answer is a short span (at most {words} words) copied \
from the document."""

_SYSTEM_REASONER = """You are the reasoner in a reading game.
Answer the question. Write <answer>...</answer>: the label (A, B, C or D) for a multiple choice \
question, else a short answer (a name, a number, a few words)."""

_CHOICE_RE = re.compile(r"^\s*\(?([A-Za-z])\s*[.):]\s*(.+?)\s*$")
_LABEL_RE = re.compile(r"^\s*\(?\s*([A-Da-d])\s*(?:[.):]|$)")
_BOXED_RE = re.compile(r"\\boxed\s*\{\s*([A-Da-d])\s*\}")


def parse_choices(text: str) -> tuple[list[str] | None, str | None]:
    """The four option texts of a ``<choices>`` argument (labels A-D in order), or an error."""
    lines = [line for line in text.splitlines() if line.strip()]
    options = []
    for i, line in enumerate(lines):
        m = _CHOICE_RE.match(line)
        if m is None or i >= len(LABELS) or m.group(1).upper() != LABELS[i]:
            return (
                None,
                f"choices must be four lines labelled A. to D. (line {i + 1}: {line!r:.80})",
            )
        options.append(m.group(2))
    if len(options) != len(LABELS):
        return None, f"choices must hold exactly four options, got {len(options)}"
    if len({normalize_answer(o) for o in options}) != len(options) or not all(
        normalize_answer(o) for o in options
    ):
        return None, "the options must be four distinct, non-empty texts"
    return options, None


def _read_answer(raw: str) -> str:
    """A reasoner's answer: its ``<answer>`` tag, else the text itself (cut to 500)."""
    answer = parse_calls(raw, {"answer"}, max_calls=1).first("answer")
    return raw.strip()[:500] if answer is None else answer


def _label_of(answer: str) -> str | None:
    m = _BOXED_RE.search(answer) or _LABEL_RE.match(answer)
    return m.group(1).upper() if m else None


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "").rstrip("."))
    except ValueError:
        return None


def challenger_reward(rate: float, sigma: float = 0.1) -> float:
    """The variance-shaped reward: ``exp(-(rate(1 - rate) - 1/4)^2 / (2 sigma^2))``."""
    return math.exp(-((rate * (1.0 - rate) - 0.25) ** 2) / (2.0 * sigma * sigma))


class SpiceEnv(QuestionGame):
    """SPICE; see the module docstring for the rules, rewards and options."""

    metadata: ClassVar[dict[str, Any]] = {**TextEnv.metadata, "name": "spice_v1"}
    env_id = "SPICE-v1"
    possible_agents: ClassVar[list[str]] = list(SEATS)
    _ASKER = "challenger"
    _ANSWERER = "reasoner"
    _VERIFIER = "spice"

    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("attempts", 8, Int(1), "independent answers of the reasoner per question"),
        Option("max_doc_chars", 2000, Int(50), "characters of the document the challenger sees"),
        Option("max_answer_words", 8, Int(1), "most words of a free-form gold answer"),
        Option("reward_sigma", 0.1, Number(gt=0), "width of the challenger's variance reward"),
        Option(
            "invalid_question_reward", -0.1, Number(), "the challenger's reward for a bad question"
        ),
        Option("doc_check", True, Bool(), "reject gold answers the document does not support"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        attempts, max_answer_words = self.attempts, self.max_answer_words
        self._ids: list[str] | None = None
        tools = render_tools(["question", "choices", "answer"])
        self._system = {
            "challenger": _SYSTEM_CHALLENGER.format(
                tools=tools,
                attempts=attempts,
                penalty=self.invalid_question_reward,
                words=max_answer_words,
            ),
            "reasoner": _SYSTEM_REASONER,
        }
        self._doc: dict[str, str] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        self._phase = "challenge"
        self._question: str | None = None
        self._choices: list[str] | None = None
        self._answer: str | None = None
        self._attempt = 0
        self._answers: list[str] = []
        self._correct: list[float] = []
        self._turn_rewards: dict[int, float] = {}
        self._verdicts: list[dict[str, Any]] = []
        self._result: dict[str, Any] = {}

    # ------------------------------------------------------------------ bookkeeping
    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self._checker_options(options)
        doc_id = options.get("doc_id")
        if doc_id is not None and str(doc_id) not in self._corpus:
            raise ValueError(f"doc_id {doc_id!r} is not in the corpus")
        return options

    def _new_game(self, options: dict[str, Any]) -> str:
        self._reset_state()
        self._start_checker(options)
        doc_id = options.get("doc_id")
        if doc_id is None:
            if self._ids is None:
                self._ids = list(self._corpus.ids())
            doc_id = self._ids[int(self.np_random.integers(len(self._ids)))]
        doc = self._corpus.get(str(doc_id))
        self._doc = {
            "doc_id": doc.doc_id,
            "title": doc.title,
            "text": doc.text[: self.max_doc_chars],
        }
        return "challenger"

    # ------------------------------------------------------------------ observations
    def _question_text(self) -> str:
        lines = [f"Question: {self._question}"]
        if self._choices is not None:
            lines += [f"{lab}. {opt}" for lab, opt in zip(LABELS, self._choices, strict=True)]
        return "\n".join(lines)

    def _observe(self, agent: str) -> Observation:
        finished = bool(self._outcomes)
        acting = not finished and agent == self.agent_selection
        state: dict[str, Any] = {"role": agent}
        repeat = 1
        if finished:
            lines = [self._summary(agent)]
            state.update(result=dict(self._result), outcome=self._outcomes.get(agent))
        elif not acting:
            lines = [f"You are the {agent}. Waiting for the {SEATS[1 - SEATS.index(agent)]}."]
        elif agent == "challenger":
            d = self._doc
            lines = [
                "You are the challenger. The document:",
                f"[{d['doc_id']}] {d['title']}",
                d["text"],
                "Write your <question> and <answer> (and <choices> for multiple choice).",
            ]
            state.update(phase="challenge", document=dict(d))
        else:
            lines = ["You are the reasoner.", self._question_text()]
            state.update(
                phase=self._phase,
                question=self._question,
                choices=None if self._choices is None else tuple(self._choices),
            )
            if self._phase == "doc_check":
                d = self._doc
                lines[1:1] = ["The document:", f"[{d['doc_id']}] {d['title']}", d["text"]]
                state["document"] = dict(d)
                lines.append("Answer from the document: write <answer>...</answer>.")
            else:
                lines.append("Write <answer>...</answer>.")
                repeat = 1 if self._feedback else self.attempts - self._attempt
        return Observation(
            system=self._system[agent],
            user="\n".join(lines),
            role=agent,
            env_id=self.env_id,
            turn=self._turn,
            legal_actions=None if acting else (),
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
        return (
            f"The game is over. The answer was {self._answer}; the reasoner was right in "
            f"{r.get('successes')} of {self.attempts} attempts. {you}"
        )

    # ------------------------------------------------------------------ moves
    def _parse(self, agent: str, action: str) -> tuple[str | None, str | None]:
        # Neither seat forfeits by its text: a bad question is an invalid question (penalised
        # and recorded), an answer without a tag is read as the text itself.
        return ("challenge" if agent == "challenger" else "answer"), None

    def _apply(self, agent: str, move: str) -> None:
        raw = self._turns[-1][2]
        index = len(self._turns) - 1
        if agent == "challenger":
            self._challenge(raw)
            return
        answer = _read_answer(raw)
        ok = self._is_correct(answer)
        self._turn_rewards[index] = float(ok)
        if self._phase == "doc_check":
            self._doc_checked(answer, ok)
            return
        self._answers.append(answer)
        self._correct.append(float(ok))
        detail = f"answer {answer!r}: {'right' if ok else 'wrong'}"
        self._verdict(
            "answer_match", f"attempt {self._attempt}", ok, float(ok), detail, answer=answer
        )
        self._attempt += 1
        if self._attempt < self.attempts:
            self._next("reasoner")
            return
        successes = int(sum(self._correct))
        rate = successes / self.attempts
        reward = challenger_reward(rate, self.reward_sigma)
        self._result.update(ended_by="answers", successes=successes, success_rate=rate)
        self._give({"challenger": reward, "reasoner": rate})
        outcome = "win" if rate > 0.5 else ("draw" if rate == 0.5 else "loss")
        self._finish({"challenger": "win" if reward >= 0.5 else "loss", "reasoner": outcome})

    def _doc_checked(self, answer: str, ok: bool) -> None:
        detail = f"answer {answer!r} with the document: {'right' if ok else 'wrong'}"
        self._verdict("doc_check", "question", ok, float(ok), detail, answer=answer)
        if not ok:
            self._reject("a reader given the document did not answer it correctly")
            return
        self._phase = "solve"
        self._next("reasoner")

    def _run_checker(self) -> None:
        """With a checker, it answers the doc check instead of the reasoner seat, with the
        observation the seat would get; its text is read as the seat's is."""
        entry = self._ask_checker(self._observe("reasoner"))
        if not isinstance(entry, str):
            self._checker_failed("doc_check", entry["error"])
            return
        answer = _read_answer(entry)
        self._doc_checked(answer, self._is_correct(answer))

    def _is_correct(self, answer: str) -> bool:
        truth = self._answer or ""
        if self._choices is not None:
            return _label_of(answer) == truth
        if exact_match(answer, truth):
            return True
        a, b = _number(answer), _number(truth)
        return a is not None and a == b

    def _read_question(self, raw: str) -> str | None:
        """Read the challenger's turn into the question; return the problem, or None."""
        parsed = parse_calls(raw, {"question", "choices", "answer"}, max_calls=3)
        question, answer = parsed.first("question"), parsed.first("answer")
        choices = parsed.first("choices")
        if question is None or answer is None:
            return "the turn must hold a <question> and an <answer>"
        self._question = question
        if not normalize_answer(question):
            return "the question is empty"
        if len(question) > MAX_QUESTION_CHARS:
            return f"the question is longer than {MAX_QUESTION_CHARS} characters"
        doc = f"{self._doc['title']}. {self._doc['text']}"
        if choices is not None:
            options, error = parse_choices(choices)
            if options is None:
                return error
            self._choices = options
            label = _label_of(answer)
            if label is None:
                return f"the answer must be a label A to D, got {answer!r:.80}"
            self._answer = label
            stated = options[LABELS.index(label)]
        else:
            self._answer = answer
            if len(normalize_answer(answer).split()) > self.max_answer_words:
                return f"the answer is longer than {self.max_answer_words} words"
            stated = answer
        if not supports(doc, stated):
            return "the answer is not stated in the document"
        if supports(question, stated):
            return "the question contains its answer"
        return None

    def _challenge(self, raw: str) -> None:
        problem = self._read_question(raw)
        self._verdict(
            "format", "question", problem is None, float(problem is None), problem or "ok"
        )
        if problem is not None:
            self._reject(problem)
            return
        self._result = {"valid": True}
        self._phase = "doc_check" if self.doc_check else "solve"
        self._next("reasoner")
        if self._checker is not None and self._phase == "doc_check":
            self._run_checker()

    # ------------------------------------------------------------------ the record
    def episode_info(self) -> dict[str, Any]:
        return {
            "doc_id": self._doc.get("doc_id"),
            "question": self._question,
            "choices": None if self._choices is None else list(self._choices),
            "answer": self._answer,
            "kind": "multiple_choice" if self._choices is not None else "free_form",
            "reasoner_answers": list(self._answers),
            "reasoner_correct": list(self._correct),
            **self._checker_info(),
            **self._result,
        }


# ------------------------------------------------------------------------------ agents
_WORD_RE = re.compile(r"[A-Za-z]{4,}")
_SPAN_RE = re.compile(r"\b\d{2,}\b|\b[A-Z][a-z]+(?: [A-Z][a-z]+)*\b")
_SENT_RE = re.compile(r"(?<=[.!?])\s+")


def _content(text: str) -> set[str]:
    return {w.lower() for w in _WORD_RE.findall(text)} - {"what", "which", "when", "where", "does"}


class SpiceAgent(BaseAgent):
    """The scripted players of ``SPICE-v1`` (each plays both seats); see the module docstring."""

    def __init__(
        self, strategy: str = "reader", *, mcq: float = 0.5, seed: int | None = None
    ) -> None:
        if strategy not in REFERENCE_AGENTS:
            raise ValueError(f"no SPICE agent named {strategy!r}; known: {REFERENCE_AGENTS}")
        if not 0.0 <= float(mcq) <= 1.0:
            raise ValueError(f"mcq must be in [0, 1], got {mcq!r}")
        super().__init__(name=strategy, seed=seed)
        self.strategy = strategy
        self.mcq = float(mcq)

    def _pick(self, seq: Any) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def act(self, obs: Observation) -> str:
        state = obs.state
        if obs.role == "challenger":
            doc = state.get("document") or {}
            if self.strategy == "random":
                words = _WORD_RE.findall(obs.user) or ["thing"]
                q, a = self._pick(words), self._pick(words)
                return f"<question>What is {q}?</question><answer>{a}</answer>"
            return self._challenge(str(doc.get("title", "")), str(doc.get("text", "")))
        choices = state.get("choices")
        if self.strategy == "random" or (state.get("phase") != "doc_check"):
            if choices:
                return f"<answer>{self._pick(LABELS)}</answer>"
            if self.strategy == "random":
                words = _WORD_RE.findall(obs.user) or ["thing"]
                return f"<answer>{self._pick(words)}</answer>"
            return "<answer>unknown</answer>"
        doc = state.get("document") or {}
        found = _read(str(state.get("question", "")), choices, str(doc.get("text", "")))
        return f"<answer>{found}</answer>"

    def _challenge(self, title: str, text: str) -> str:
        facts = []  # (question, answer)
        for pat, q, group in _TEMPLATES:
            for m in pat.finditer(text):
                ans = m.group(group).strip()
                question = q.format(t=title, **{k: v for k, v in m.groupdict().items() if v})
                if not supports(question, ans):
                    facts.append((question, ans))
        if not facts:
            for sent in _SENT_RE.split(text):
                for m in _SPAN_RE.finditer(sent):
                    if m.start() == 0:
                        continue
                    blanked = sent[: m.start()] + "____" + sent[m.end() :]
                    if not supports(blanked, m.group(0)):
                        facts.append((f"{blanked} (fill in the blank)", m.group(0)))
        if not facts:
            return "<question>What is this document about?</question><answer>unknown</answer>"
        question, answer = self._pick(facts)
        if self.rng.random() >= self.mcq:
            return f"<question>{question}</question>\n<answer>{answer}</answer>"
        options = [answer, *self._distractors(answer, text)]
        order = [int(i) for i in self.rng.permutation(len(LABELS))]
        shuffled = [options[i] for i in order]
        label = LABELS[shuffled.index(answer)]
        lines = "\n".join(f"{lab}. {opt}" for lab, opt in zip(LABELS, shuffled, strict=True))
        return (
            f"<question>{question}</question>\n<choices>\n{lines}\n</choices>\n"
            f"<answer>{label}</answer>"
        )

    def _distractors(self, answer: str, text: str) -> list[str]:
        """Three options of the answer's kind that the document does not state."""
        out: list[str] = []
        seen = {normalize_answer(answer)}

        def fresh(cand: str) -> bool:
            norm = normalize_answer(cand)
            if norm in seen or supports(text, cand):
                return False
            seen.add(norm)
            return True

        if answer.isdigit():
            while len(out) < 3:
                cand = str(max(1, int(answer) + int(self.rng.integers(-40, 41))))
                if fresh(cand):
                    out.append(cand)
            return out
        words = answer.split()
        while len(out) < 3:
            parts = [self._pick(_FAKE_PARTS) + self._pick(_FAKE_PARTS) for _ in words]
            cand = " ".join(
                p.capitalize() if w[:1].isupper() else p for p, w in zip(parts, words, strict=True)
            )
            if fresh(cand):
                out.append(cand)
        return out


_FAKE_PARTS = ("bar", "tel", "quin", "mor", "sal", "dro", "ven", "kas", "lum", "rith", "ost", "gan")


def _read(question: str, choices: Any, text: str) -> str:
    """The doc-check reading: the sentence sharing most content words with the question (at
    least two); for multiple choice the option stated there, else the fill-in or typed span."""
    from spenv.games.search_self_play import _extract

    q = _content(question)
    sentences = [s for s in _SENT_RE.split(text) if s.strip()]
    ranked = sorted(sentences, key=lambda s: -len(q & _content(s)))
    if not ranked or len(q & _content(ranked[0])) < 2:
        return "unknown"
    if choices:
        for sent in ranked[:2]:
            stated = [lab for lab, opt in zip(LABELS, choices, strict=False) if supports(sent, opt)]
            if len(stated) == 1:
                return stated[0]
        return "unknown"
    return _extract(question, " ".join(ranked[:2])) or "unknown"


def reference_agent(name: str, *, seed: int | None = None, **params: Any) -> Agent:
    """Build a SPICE agent: ``reader`` (takes ``mcq``, the multiple choice probability) or
    ``random``."""
    if name not in REFERENCE_AGENTS:
        raise ValueError(f"no SPICE agent named {name!r}; known: {REFERENCE_AGENTS}")
    return SpiceAgent(name, seed=seed, **params)
