"""How a language-model agent turns observations into chat messages, and answers into moves.

Three pieces, shared by every local and remote LLM agent:

- **Prompt styles** (:data:`PROMPT_STYLES`): ``"plain"`` sends the game's own system and user
  text; ``"system"`` (the default) puts a short per-game instruction (the ``persona`` of the
  game's registry entry) before the game's rules; ``"reasoning"`` adds the answer format: think
  inside ``<think> </think>``, then give the move. Games without a persona fall back to their
  system text alone. ``"bare"`` sends the user text only (the current state, without the rules):
  for a small model trained from scratch on one game, which reads no rules.
- **History modes** (:data:`HISTORY_MODES`): ``"transcript"`` sends each decision as one user turn
  (the games already show the whole transcript in every observation); ``"messages"`` keeps a
  conversation per game and seat, with the earlier observations as user turns and the agent's
  own earlier answers as assistant turns (:class:`Conversations`).
- **Context guard** (:func:`fit_messages`): when a prompt is longer than the model's context, the
  oldest turns (or, for a single long user turn, its oldest lines) are dropped and replaced by a
  marker, and as a last resort the prompt keeps its newest tokens. A long game never fails for
  lack of context.

:func:`extract_move` is the post-processing of an answer: it drops the reasoning and, for games
with a finite list of moves, turns a ``\\boxed{...}`` answer into the exact legal move. Every
registered game's parser reads the last bracketed move of an answer (``[bet]``, ``[5]``,
``[Accept]``, ``[Propose] ...``), and Kuhn poker, TicTacToe and the trading game also read
``\\boxed{bet}`` and ``\\boxed{[bet]}``; the extraction makes the reasoning format safe for the
others too, and keeps private reasoning out of the messages that games relay to the opponent.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spenv import registry
from spenv.observation import Observation

#: Accepted values of the ``prompt_style`` option.
PROMPT_STYLES = ("plain", "system", "reasoning", "bare")
#: Accepted values of the ``history`` option.
HISTORY_MODES = ("transcript", "messages")

#: The answer format of the ``"reasoning"`` style, for games with a finite list of moves ...
REASONING_MOVES = (
    "Answer format: first think step by step inside <think> </think>. After </think>, write only "
    "your final move, in square brackets like {example} (or as \\boxed{{...}})."
)
#: ... and for games whose moves are messages.
REASONING_TEXT = (
    "Answer format: first think step by step inside <think> </think>. After </think>, write only "
    "your message, exactly as the other side should read it, in the form the rules ask for."
)

#: Prompt texts whose token ids an agent keeps.
ENCODE_CACHE = 4096

#: The marker that stands in for dropped turns or lines.
OMITTED = "[... {n} earlier {what} omitted to fit the context ...]"

_THINK_END_RE = re.compile(r"</think\s*>", re.IGNORECASE)
_BOXED_RE = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_TEXT_WRAP_RE = re.compile(r"^\\text(?:bf|tt|rm)?\s*\{(.*)\}$", re.DOTALL)


def system_prompt(env_id: str) -> str | None:
    """The game's persona from its registry entry (``None`` for a game that has none, or an id
    the registry does not know, such as a bridged TextArena game)."""
    try:
        persona = registry.spec(env_id).persona
    except (KeyError, ValueError):
        return None
    return persona or None


def check_style(prompt_style: str, history: str) -> None:
    """Raise ``ValueError`` naming the choices when an option is not one of them."""
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
    if history not in HISTORY_MODES:
        raise ValueError(f"history must be one of {HISTORY_MODES}, got {history!r}")


def system_text(obs: Observation, prompt_style: str = "system") -> str:
    """The system message for ``obs`` under ``prompt_style`` (may be empty)."""
    if prompt_style == "plain":
        return obs.system
    if prompt_style == "bare":
        return ""
    parts = []
    short = system_prompt(obs.env_id)
    if short:
        parts.append(short)
    if obs.system:
        parts.append(obs.system)
    if prompt_style == "reasoning":
        legal = obs.legal_actions
        if legal:
            parts.append(REASONING_MOVES.format(example=legal[0]))
        else:
            parts.append(REASONING_TEXT)
    return "\n\n".join(parts)


def build_messages(
    obs: Observation,
    prompt_style: str = "system",
    past: Sequence[tuple[str, str]] = (),
) -> list[dict[str, str]]:
    """Chat messages for one decision.

    ``past`` holds the earlier (observation text, answer) pairs of the same game and seat, for
    the ``"messages"`` history mode: they become alternating user and assistant turns before the
    current observation.
    """
    system = system_text(obs, prompt_style)
    messages = [{"role": "system", "content": system}] if system else []
    for user, answer in past:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": obs.user})
    return messages


def render_plain(messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """A plain-text rendering for tokenizers without a chat template."""
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    parts = [f"{names.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    text = "\n\n".join(parts)
    if add_generation_prompt:
        text += "\n\nAssistant:"
    return text


def fit_messages(
    messages: list[dict[str, str]],
    count: Callable[[list[dict[str, str]]], int],
    limit: int,
) -> tuple[list[dict[str, str]], int]:
    """Drop the oldest turns until ``count(messages) <= limit``; return (messages, turns dropped).

    The system message and the last user turn are kept. Earlier user/assistant pairs go first,
    oldest first, replaced by one :data:`OMITTED` marker; then the oldest lines of the last user
    turn (after its first line, which usually says who the agent is). If even that is too long
    the result is still over ``limit``: the caller keeps the newest tokens (see
    :func:`clip_ids`). ``count`` is called O(log n) times per stage (a binary search).
    """
    if count(messages) <= limit:
        return messages, 0
    head = [m for m in messages[:1] if m["role"] == "system"]
    body = messages[len(head) : -1]
    last = messages[-1]
    # Stage 1: drop whole earlier turns (in user/assistant pairs so roles keep alternating).
    pairs = max(0, len(body) // 2)

    def with_pairs_dropped(k: int) -> list[dict[str, str]]:
        if k == 0:
            return messages
        rest = body[2 * k :]
        marker = OMITTED.format(n=2 * k, what="messages")
        new_last = {"role": last["role"], "content": marker + "\n\n" + last["content"]}
        return [*head, *rest, new_last]

    if pairs:
        k = _smallest(lambda k: count(with_pairs_dropped(k)) <= limit, 1, pairs)
        if k is not None:
            return with_pairs_dropped(k), 2 * k
        messages = with_pairs_dropped(pairs)
        last = messages[-1]
    dropped = 2 * pairs
    # Stage 2: drop the oldest lines of the last user turn, keeping its first line.
    lines = last["content"].split("\n")
    if len(lines) > 2:
        first, middle = lines[0], lines[1:-1]

        def with_lines_dropped(k: int) -> list[dict[str, str]]:
            marker = OMITTED.format(n=k, what="lines")
            text = "\n".join([first, marker, *middle[k:], lines[-1]])
            return [*messages[:-1], {"role": last["role"], "content": text}]

        k = _smallest(lambda k: count(with_lines_dropped(k)) <= limit, 1, len(middle))
        return with_lines_dropped(len(middle) if k is None else k), dropped + 1
    return messages, dropped


def _smallest(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The smallest k in [lo, hi] with ok(k) (ok is monotone), or None."""
    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def clip_ids(ids: list[int], limit: int) -> list[int]:
    """The newest ``limit`` token ids (the last resort of the context guard)."""
    return ids if len(ids) <= limit else ids[len(ids) - limit :]


def extract_move(text: str, obs: Observation | None = None) -> str:
    """The part of an answer the game should read.

    Reasoning is dropped: the text after the last ``</think>`` (an answer whose ``<think>`` is
    never closed is kept whole, so the game's parser still sees any move in it). For games with a
    finite list of moves, a ``\\boxed{...}`` answer that names a legal move (with or without its
    brackets, any case) becomes that exact move string, and otherwise the answer is left for the
    game's parser, which reads the last bracketed move. Free-text games get the answer as it is:
    for them ``\\boxed{}`` can be a move of its own (a guess in Taboo, a verdict in Debate).
    """
    ends = list(_THINK_END_RE.finditer(text))
    answer = (text[ends[-1].end() :] if ends else text).strip()
    legal = obs.legal_actions if obs is not None else None
    if legal:
        boxes = _BOXED_RE.findall(answer)
        if boxes:
            inner = boxes[-1].strip()
            wrapped = _TEXT_WRAP_RE.match(inner)
            if wrapped:
                inner = wrapped.group(1).strip()
            key = _move_key(inner)
            for move in legal:
                if _move_key(move) == key:
                    return move
    return answer


def _move_key(move: str) -> str:
    move = move.strip()
    if move.startswith("[") and move.endswith("]"):
        move = move[1:-1]
    return " ".join(move.split()).lower()


@dataclass
class _Thread:
    turns: list[tuple[str, str]] = field(default_factory=list)
    last_turn: int = -1


class Conversations:
    """Per-game, per-seat conversations for the ``"messages"`` history mode.

    The rollout engine passes a key per decision (game and seat) to agents that ask for it and
    tells them when a game ends (:meth:`forget`). Called without keys (``agent.act(obs)`` by
    hand) the key is the env id and role, and a new conversation starts whenever the turn
    number does not grow. At most ``max_threads`` conversations are kept (oldest evicted).
    """

    def __init__(self, max_threads: int = 4096) -> None:
        self.max_threads = max_threads
        self._threads: OrderedDict[Hashable, _Thread] = OrderedDict()

    @staticmethod
    def default_key(obs: Observation) -> tuple[str, str]:
        return (obs.env_id, obs.role)

    def past(self, key: Hashable, obs: Observation) -> list[tuple[str, str]]:
        """The earlier (observation, answer) pairs of ``key``'s conversation."""
        thread = self._threads.get(key)
        if thread is None:
            return []
        if obs.turn <= thread.last_turn:  # a new game under the same key
            del self._threads[key]
            return []
        return list(thread.turns)

    def add(self, key: Hashable, obs: Observation, answer: str) -> None:
        """Record one decision's observation and the agent's answer."""
        thread = self._threads.get(key)
        if thread is None or obs.turn <= thread.last_turn:
            thread = self._threads[key] = _Thread()
        self._threads.move_to_end(key)
        thread.turns.append((obs.user, answer))
        thread.last_turn = obs.turn
        while len(self._threads) > self.max_threads:
            self._threads.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        """Drop ``key``'s conversation (its game ended)."""
        self._threads.pop(key, None)

    def __len__(self) -> int:
        return len(self._threads)


class ChatPrompting:
    """What every local LLM agent shares: observation -> prompt token ids -> move.

    A subclass sets ``tokenizer`` (a Hugging Face tokenizer) and calls :meth:`_init_prompting`;
    it then has :meth:`messages`, :meth:`render`, :meth:`encode`, :meth:`prompt_ids` (with the
    context guard) and :meth:`finish_text` (stop strings, move extraction), plus the per-game
    conversations of the ``"messages"`` history mode.
    """

    tokenizer: Any
    #: The rollout engine passes per-game keys to agents that set this (``history="messages"``).
    wants_keys = False

    def _init_prompting(
        self,
        *,
        prompt_style: str,
        history: str,
        max_context: int,
        extract: bool | None,
        stop: Sequence[str],
        keep_stop: bool = False,
    ) -> None:
        check_style(prompt_style, history)
        if max_context < 1:
            raise ValueError(f"max_context must be at least 1, got {max_context}")
        self.prompt_style = prompt_style
        self.history = history
        self.wants_keys = history == "messages"
        self.max_context = int(max_context)
        self.extract = prompt_style == "reasoning" if extract is None else bool(extract)
        self.stop = list(stop)
        self.keep_stop = bool(keep_stop)
        self.conversations = Conversations()
        self.has_chat_template = bool(getattr(self.tokenizer, "chat_template", None))

    def seed(self, seed: int | None) -> None:
        """Re-seed the agent's generator (and so every later sampling call or request)."""
        self._seed = seed
        self.rng = np.random.default_rng(seed)

    def sampling_params(self) -> dict[str, Any]:
        """The sampling parameters, as recorded in run metadata."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "greedy": self.greedy,
            "max_new_tokens": self.max_new_tokens,
            "stop": list(self.stop),
            "seed": self._seed,
            "prompt_style": self.prompt_style,
            "history": self.history,
            "max_context": self.max_context,
        }

    def messages(self, obs: Observation, key: Hashable | None = None) -> list[dict[str, str]]:
        """The chat messages of one decision, before the context guard."""
        past: list[tuple[str, str]] = []
        if self.history == "messages":
            past = self.conversations.past(
                Conversations.default_key(obs) if key is None else key, obs
            )
        return build_messages(obs, self.prompt_style, past)

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text: the chat template, or a plain layout without one."""
        if self.has_chat_template:
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        return render_plain(messages)

    def encode(self, text: str) -> list[int]:
        """Token ids of a rendered prompt (the template already holds any special tokens)."""
        add = not self.has_chat_template  # a plain layout gets the tokenizer's BOS, if any
        return list(self.tokenizer(text, add_special_tokens=add)["input_ids"])

    def prompt_ids_batch(
        self, observations: Sequence[Observation], keys: Sequence[Hashable]
    ) -> list[tuple[list[int], int]]:
        """:meth:`prompt_ids` for many decisions, tokenized in one call.

        Rendered prompts repeat a lot (games cache their observations), so token ids are kept
        per prompt text (the last :data:`ENCODE_CACHE` texts) and only new texts are encoded,
        all in one batched tokenizer call. Prompts over the context limit go through the
        context guard one by one.
        """
        messages = [self.messages(o, k) for o, k in zip(observations, keys, strict=True)]
        texts = [self.render(m) for m in messages]
        encoded = self.encode_many(texts)
        out: list[tuple[list[int], int]] = []
        for msgs, ids in zip(messages, encoded, strict=True):
            if len(ids) <= self.max_context:
                out.append((ids, 0))
            else:
                out.append(self._fit(msgs))
        return out

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of rendered prompts, from the text cache or one batched encode."""
        cache: OrderedDict[str, list[int]] | None = getattr(self, "_ids_cache", None)
        if cache is None:
            cache = self._ids_cache = OrderedDict()
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            add = not self.has_chat_template
            for text, ids in zip(
                missing,
                self.tokenizer(missing, add_special_tokens=add)["input_ids"],
                strict=True,
            ):
                cache[text] = list(ids)
        out = []
        for t in texts:
            cache.move_to_end(t)
            out.append(list(cache[t]))
        while len(cache) > ENCODE_CACHE:
            cache.popitem(last=False)
        return out

    def prompt_ids(self, obs: Observation, key: Hashable | None = None) -> tuple[list[int], int]:
        """(prompt token ids, turns or lines dropped by the context guard) for one decision."""
        return self._fit(self.messages(obs, key))

    def _fit(self, messages: list[dict[str, str]]) -> tuple[list[int], int]:
        cache: dict[int, list[int]] = {}

        def count(msgs: list[dict[str, str]]) -> int:
            ids = self.encode(self.render(msgs))
            cache[id(msgs)] = ids
            return len(ids)

        fitted, dropped = fit_messages(messages, count, self.max_context)
        ids = cache.get(id(fitted)) or self.encode(self.render(fitted))
        if len(ids) > self.max_context:
            ids = clip_ids(ids, self.max_context)
            dropped += 1
        return ids, dropped

    def resolve_keys(
        self, observations: Sequence[Observation], keys: Sequence[Hashable] | None
    ) -> list[Hashable]:
        """The conversation key of each decision (the env id and role when none are given)."""
        if keys is None:
            return [Conversations.default_key(o) for o in observations]
        if len(keys) != len(observations):
            raise ValueError(f"{len(keys)} keys for {len(observations)} observations")
        return list(keys)

    def remember(
        self, observations: Sequence[Observation], keys: Sequence[Hashable], answers: Sequence[str]
    ) -> None:
        """Record answered decisions in their conversations (``"messages"`` mode only)."""
        if self.history == "messages":
            for obs, key, answer in zip(observations, keys, answers, strict=True):
                self.conversations.add(key, obs, str(answer))

    def forget(self, key: Hashable) -> None:
        """Drop the conversation of a finished game (the rollout engine calls this)."""
        self.conversations.forget(key)

    def finish_text(self, text: str, obs: Observation) -> str:
        """The move handed to the game: cut at the first stop string (kept with
        ``keep_stop``), then extracted."""
        if self.stop:
            cuts = [(text.find(s), len(s)) for s in self.stop if s in text]
            if cuts:
                at, size = min(cuts)
                text = text[: at + size] if self.keep_stop else text[:at]
        return extract_move(text, obs) if self.extract else text
