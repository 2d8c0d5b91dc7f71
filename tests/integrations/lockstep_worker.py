"""Run by test_trl.py under two processes: TRLVLLMAgent's server-mode padding and draining.

vLLM cannot run here, so the engine is a stand-in with the contract of TRL 1.16's server mode
(``VLLMGeneration.generate``): it gathers every process's prompts, answers them all, and hands
each process the slice ``[rank * n, (rank + 1) * n)`` of its own count ``n``, which is only
right when every process sent as many prompts. Each process plays a different number of games.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

from accelerate import PartialState
from accelerate.utils import gather_object
from transformers import AutoTokenizer

from spenv.integrations.trl import TRLVLLMAgent, decisions_from_episodes
from spenv.integrations.trl_train import end_distributed_process
from spenv.rollout import run_games


class ServerModeStandIn:
    mode = "server"
    tensor_parallel_size = 1

    def __init__(self, state: PartialState, answer: list[int]) -> None:
        self.state = state
        self.answer = answer
        self.calls = 0
        self.mismatches = 0

    def generate(self, prompts, images, num_generations):
        self.calls += 1
        everything = gather_object([list(p) for p in prompts])
        k = self.state.process_index * len(prompts)
        mine = everything[k : k + len(prompts)]
        self.mismatches += mine != [list(p) for p in prompts]
        return (
            mine,
            [list(self.answer) for _ in mine],
            [[[-0.5]] * len(self.answer)] * len(mine),
            None,
        )


def main() -> None:
    tiny, out = sys.argv[1], sys.argv[2]
    state = PartialState(cpu=True)
    tok = AutoTokenizer.from_pretrained(tiny)
    answer = tok("[check]", add_special_tokens=False)["input_ids"]
    engine = ServerModeStandIn(state, answer)
    trainer = SimpleNamespace(
        processing_class=tok,
        vllm_generation=engine,
        accelerator=state,
        args=SimpleNamespace(vllm_max_model_length=None),
    )
    agent = TRLVLLMAgent(trainer, name="policy")
    games = 3 if state.process_index == 0 else 8  # different numbers of ticks
    eps = run_games("KuhnPoker-v1", [agent, agent], games=games, seed=state.process_index)
    agent.drain()
    ds = decisions_from_episodes(eps)
    row = {
        "rank": state.process_index,
        "games": len(eps),
        "errors": sum(e.status == "error" for e in eps),
        "decisions": len(ds),
        "calls": engine.calls,
        "mismatches": engine.mismatches,
        "logprobs": sorted({x for d in ds for x in d.logprobs}),
    }
    with open(f"{out}.{state.process_index}.json", "w", encoding="utf-8") as f:
        json.dump(row, f)
    end_distributed_process(0)  # exiting normally races gloo's threads (see its docstring)


if __name__ == "__main__":
    main()
