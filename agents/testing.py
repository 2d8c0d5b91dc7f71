"""Tiny language models for tests and benchmarks: no download, no GPU, a few seconds to build.

:func:`tiny_model` writes a randomly initialised causal LM (Llama architecture) and a byte-level
BPE tokenizer, trained with ``tokenizers`` on the text of the built-in games (those tagged
:data:`CORPUS_TAGS` in the registry), to a folder in the Hugging Face ``save_pretrained`` layout.
``AutoModelForCausalLM.from_pretrained(path)`` and ``AutoTokenizer.from_pretrained(path)`` load
it like any hub model, and its chat template makes ``apply_chat_template`` work, so every code
path of a real model (chat formatting, batched left-padded generation, log-probabilities,
training steps) runs on a CPU in milliseconds.

The model plays badly (its weights are random), but deterministically: the same options and
``seed`` give the same files, byte for byte.

Needs the ``train`` extra (torch, transformers, tokenizers).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Special tokens: padding / end of text, and the chat turn delimiters of the template.
PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"

#: A ChatML-style template: ``<|im_start|>role\ncontent<|im_end|>\n`` per message; with
#: ``add_generation_prompt`` it opens an assistant turn. The end of a turn is the EOS token,
#: so generation stops where an assistant message ends.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Text every corpus holds besides the games' own: the answer formats agents are asked for.
_EXTRA_TEXT = [
    "Think step by step inside <think> </think>, then give your move.",
    "<think>I hold the king, so I should bet.</think> \\boxed{[bet]}",
    "<think>The opponent bet; my card is weak.</think> [fold]",
    "[check] [bet] [call] [fold] [pass] \\boxed{bet} \\boxed{check} \\boxed{call} \\boxed{fold}",
    "[1] [2] [3] [4] [5] [6] [7] [8] [9] \\boxed{5}",
    "[Accept] [Deny] [Pass] [Offer: 3 Wood -> 2 Gold] [propose] books=1 hats=2 balls=0 [accept]",
    'I know the word! It is "apple". \\boxed{A} \\boxed{B} Answer: A',
    "Your move. Final answer: ",
]


#: The games whose text trains the tokenizer: those whose registry entries carry one of these
#: tags (SPIRAL's six games), so the tokenizer does not change when other games are registered,
#: and building stays fast.
CORPUS_TAGS = ("in-domain", "out-of-domain")


def _game_text(games_per_env: int, seed: int) -> list[str]:
    """Texts from playing the corpus games with their random agents: prompts and answers."""
    from spenv.agents.specs import make_agent
    from spenv.registry import list_envs, spec
    from spenv.rollout import run_games

    texts: list[str] = []

    class _Recorder:
        """Wraps an agent and keeps every prompt it sees and every answer it gives."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.name = getattr(inner, "name", "recorder")

        def act(self, obs: Any) -> str:
            texts.append(obs.system)
            texts.append(obs.user)
            answer = self.inner.act(obs)
            texts.append(str(answer))
            return answer

    corpus = [e for e in list_envs() if set(spec(e).tags) & set(CORPUS_TAGS)]
    for env_id in corpus:
        try:
            agents = [_Recorder(make_agent("random", env_id, seed=seed + k)) for k in range(2)]
            opts = dict(spec(env_id).sample_options)  # fixed: a new default changes nothing
            run_games(env_id, agents, games=games_per_env, seed=seed, env_options=opts)
        except Exception:  # a game that cannot be played by random agents adds no text
            continue
    # The same system prompt shows up in every game: keep one copy of each text.
    return list(dict.fromkeys(t for t in texts if t))


@functools.lru_cache(maxsize=8)
def _tokenizer_json(vocab_size: int, games_per_env: int, seed: int) -> str:
    """Train the byte-level BPE tokenizer once per process and options; returns its JSON."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[PAD_TOKEN, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = _game_text(games_per_env, seed) + _EXTRA_TEXT
    tok.train_from_iterator(corpus, trainer=trainer)
    return tok.to_str()


def tiny_model(
    path: str | os.PathLike[str],
    *,
    layers: int = 2,
    hidden_size: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate_size: int | None = None,
    vocab_size: int = 1024,
    max_positions: int = 8192,
    seed: int = 0,
    games_per_env: int = 6,
) -> str:
    """Write a tiny randomly initialised causal LM and its tokenizer to ``path``; return the path.

    The model is a Llama-architecture decoder with ``layers`` layers of width ``hidden_size``
    (tied input and output embeddings) and a context of ``max_positions`` tokens. The tokenizer
    is a byte-level BPE of ``vocab_size`` entries (at least 259: the 256 bytes and the three
    special tokens) trained on text from ``games_per_env`` games of each corpus game played
    by random agents, so game prompts and moves such as ``[bet]`` take few tokens. The weights
    are drawn from ``seed`` without touching torch's global random state.

    The folder loads with ``AutoModelForCausalLM`` and ``AutoTokenizer``; the tokenizer's chat
    template is ChatML-like and its EOS token ends an assistant turn.
    """
    if vocab_size < 259:
        raise ValueError(
            f"vocab_size must be at least 259 (256 bytes + 3 specials), got {vocab_size}"
        )
    if layers < 1 or hidden_size < 1 or heads < 1 or hidden_size % heads:
        raise ValueError(
            f"need layers >= 1 and hidden_size divisible by heads; got layers={layers}, "
            f"hidden_size={hidden_size}, heads={heads}"
        )
    if heads % kv_heads:
        raise ValueError(f"heads ({heads}) must be a multiple of kv_heads ({kv_heads})")
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)

    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(_tokenizer_json(vocab_size, games_per_env, seed))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        unk_token=None,
        padding_side="left",
        model_max_length=max_positions,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD_TOKEN),
        initializer_range=0.1,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.generation_config.bos_token_id = None
    model.save_pretrained(out)
    (out / "spenv_tiny.json").write_text(
        json.dumps(
            {
                "layers": layers,
                "hidden_size": hidden_size,
                "heads": heads,
                "kv_heads": kv_heads,
                "vocab_size": vocab_size,
                "max_positions": max_positions,
                "seed": seed,
                "games_per_env": games_per_env,
            },
            indent=1,
        )
    )
    return str(out)


def count_tokens(path: str | os.PathLike[str], texts: Sequence[str]) -> list[int]:
    """How many tokens each text takes with the tokenizer saved at ``path``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    return [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
