"""Randomised worlds: a family of scenarios whose parameters are drawn afresh for every seed.

A fixed catalogue invites tuning to it. Here every seed draws its own world — how many tools,
how far apart, when and how they change — from a family, and the benchmark reports on a range
of seeds the learner was never tuned on (:data:`HELD_OUT`; :data:`DEVELOPMENT` is for tuning).

Worlds depend on the decision index only, never on wall-clock time, so the same stream can be
replayed at any traffic rate (:meth:`~learning_sim.streams.Stream.at_rate`) and a difference
between rates is the learner's, not the world's. Families (``FAMILIES``):

* ``stationary`` — K ∈ [3, 20] tools, best rate in [0.3, 0.95], a gap of [0.05, 0.3] to the
  second, the others spread below; success is the objective.
* ``abrupt`` — K ∈ [3, 10]; 1–4 change points at least 150 decisions apart; at each, the best
  tool breaks, another tool improves past it, or a broken tool recovers.
* ``drift`` — K ∈ [3, 8]; every tool's rate follows a slow sinusoid (period 600–3,000
  decisions, amplitude 0.1–0.35), so the best tool changes gradually.
* ``periodic`` — K ∈ [3, 6]; two regimes alternate every 100–500 decisions, each with its own
  best tool.
* ``new_tool`` — K ∈ [2, 8]; a better tool (gap 0.05–0.2) arrives after 15–60 % of the run.
* ``outage`` — a stationary world (K ∈ [3, 8]) in which every tool fails for 1–3 spells of
  5–40 decisions.
* ``context_best`` — 3–10 task types (Zipf-like traffic) and K ∈ [3, 8] tools; each tool's
  rate varies by task type around a shared base (spread 0.02–0.2), so how alike the task
  types' rankings are differs per seed.
* ``no_outage`` — the ``outage`` family's worlds without the outages: what the outage
  detector fires on by chance (its false alarms are counted per run).
* ``similar_names`` — two task types whose names are alike (``deploy_prod_chart`` and
  ``deploy_prod_lambda``) but whose best tools differ; the second appears after 20–50 % of
  the run. toolwise is given the name similarity the library uses (hashing embedding); its
  evidence must override it.
* ``tradeoff`` — K ∈ [3, 6] tools with their own success rate, log-normal latency (some with a
  heavy tail) and price; the objective is ``balanced`` or ``cost``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from datetime import timedelta

import numpy as np

from learning_sim.reward import BALANCED, COST, SUCCESS, Behaviour, Latency
from learning_sim.scenarios import Change, Moment, Scenario

__all__ = [
    "DEVELOPMENT",
    "FAMILIES",
    "HELD_OUT",
    "NON_STATIONARY_FAMILIES",
    "RATES",
    "SUCCESS",
    "generate",
]

DEVELOPMENT = range(1, 10_000)
"""Seeds the learner may be tuned on."""
HELD_OUT = range(100_001, 110_000)
"""Seeds reported on; never used while tuning."""

RATES: dict[str, float] = {
    "1/min": 60.0,
    "1/5min": 300.0,
    "1/hour": 3_600.0,
    "1/day": 86_400.0,
}
"""Traffic rates: mean seconds between decisions (arrivals are Poisson)."""

NON_STATIONARY_FAMILIES = ("abrupt", "drift", "periodic", "new_tool", "outage")

_LATENCY = Latency(1_000, 0.3)
_WORLD = 0x5EED  # success-only families: latency does not count


def _tool_names(k: int) -> tuple[str, ...]:
    return tuple(f"tool_{i:02d}" for i in range(k))


def _behaviour(p: float) -> Behaviour:
    return Behaviour(float(np.clip(p, 0.0, 1.0)), _LATENCY, _LATENCY)


def _rng(family: str, seed: int) -> np.random.Generator:
    # The stream's generator is keyed by [seed, crc(name)]: the world's must differ.
    return np.random.default_rng([seed, zlib.crc32(family.encode()), _WORLD])


def _horizon(rng: np.random.Generator) -> int:
    return int(rng.integers(1_000, 3_001))


def _ladder(rng: np.random.Generator, k: int) -> np.ndarray:
    """Success rates of ``k`` tools: a best, a second ``gap`` below, the rest further down."""
    best = rng.uniform(0.3, 0.95)
    gap = rng.uniform(0.05, 0.3)
    second = best - gap
    low = max(0.02, best - 0.6)
    rest = rng.uniform(low, max(second, low + 1e-6), size=k - 2)
    rates = np.concatenate([[best, second], rest])
    return np.clip(rng.permutation(rates), 0.01, 0.99)


def _constant(
    tools: tuple[str, ...], rates: np.ndarray
) -> Callable[[Moment], Mapping[str, Behaviour]]:
    world = {tool: _behaviour(p) for tool, p in zip(tools, rates, strict=True)}
    return lambda moment: world


def stationary(seed: int) -> Scenario:
    rng = _rng("stationary", seed)
    k = int(rng.integers(3, 21))
    tools = _tool_names(k)
    rates = _ladder(rng, k)
    return Scenario(
        name="stationary",
        summary=f"K={k}, best {rates.max():.2f}, gap {np.sort(rates)[-1] - np.sort(rates)[-2]:.2f}",
        tools=tools,
        favourite=tools[int(np.argmin(rates))],
        world=_constant(tools, rates),
        horizon=_horizon(rng),
        objective=SUCCESS,
    )


def abrupt(seed: int) -> Scenario:
    rng = _rng("abrupt", seed)
    k = int(rng.integers(3, 11))
    tools = _tool_names(k)
    horizon = _horizon(rng)
    count = int(rng.integers(1, 5))
    candidates = np.arange(150, horizon - 150, 150)
    points = sorted(
        int(x) for x in rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    )
    phases = [_ladder(rng, k)]
    changes = []
    broken: dict[int, float] = {}  # tool -> its rate before it broke
    for at in points:
        rates = phases[-1].copy()
        order = np.argsort(-rates)
        kind = rng.choice(["break", "improve", "recover"] if broken else ["break", "improve"])
        if kind == "break":
            tool = int(order[0])
            broken[tool] = rates[tool]
            rates[tool] = rng.uniform(0.01, max(0.02, rates[order[1]] - 0.2))
        elif kind == "improve":
            tool = int(rng.choice(order[1:]))
            rates[tool] = min(0.99, rates[order[0]] + rng.uniform(0.05, 0.3))
        else:
            tool = int(rng.choice(list(broken)))
            rates[tool] = broken.pop(tool)
        changes.append(Change(at, str(kind), tools[tool]))  # type: ignore[arg-type]
        phases.append(rates)
    worlds = [{t: _behaviour(p) for t, p in zip(tools, rates, strict=True)} for rates in phases]

    def world(moment: Moment) -> Mapping[str, Behaviour]:
        phase = sum(moment.index >= at for at in points)
        return worlds[phase]

    return Scenario(
        name="abrupt",
        summary=f"K={k}, {len(points)} changes ({', '.join(c.kind for c in changes)})",
        tools=tools,
        favourite=tools[0],
        world=world,
        horizon=horizon,
        objective=SUCCESS,
        changes=tuple(changes),
    )


def drift(seed: int) -> Scenario:
    rng = _rng("drift", seed)
    k = int(rng.integers(3, 9))
    tools = _tool_names(k)
    base = rng.uniform(0.3, 0.8, size=k)
    amplitude = rng.uniform(0.1, 0.35, size=k)
    period = rng.uniform(600, 3_000, size=k)
    phase = rng.uniform(0, 2 * np.pi, size=k)
    cache: dict[int, dict[str, Behaviour]] = {}

    def world(moment: Moment) -> Mapping[str, Behaviour]:
        step = moment.index // 10  # rates move every 10 decisions (keeps the reward cache small)
        found = cache.get(step)
        if found is None:
            rates = base + amplitude * np.sin(2 * np.pi * step * 10 / period + phase)
            found = cache[step] = {
                t: _behaviour(float(np.clip(p, 0.02, 0.98)))
                for t, p in zip(tools, rates, strict=True)
            }
        return found

    return Scenario(
        name="drift",
        summary=f"K={k}, periods {period.min():.0f}–{period.max():.0f}",
        tools=tools,
        favourite=tools[0],
        world=world,
        horizon=_horizon(rng),
        objective=SUCCESS,
    )


def periodic(seed: int) -> Scenario:
    rng = _rng("periodic", seed)
    k = int(rng.integers(3, 7))
    tools = _tool_names(k)
    first = _ladder(rng, k)
    second = first.copy()
    order = np.argsort(-first)
    challenger = int(rng.choice(order[1:]))
    top = int(order[0])
    second[top] = rng.uniform(0.02, max(0.03, first[challenger] - 0.1))
    second[challenger] = min(0.99, first[top] + rng.uniform(0.0, 0.1))
    length = int(rng.integers(100, 501))
    horizon = _horizon(rng)
    worlds = [{t: _behaviour(p) for t, p in zip(tools, r, strict=True)} for r in (first, second)]

    def world(moment: Moment) -> Mapping[str, Behaviour]:
        return worlds[(moment.index // length) % 2]

    changes = tuple(
        Change(at, "break", tools[top] if (at // length) % 2 else tools[challenger])
        for at in range(length, horizon, length)
    )
    return Scenario(
        name="periodic",
        summary=f"K={k}, regimes swap every {length}",
        tools=tools,
        favourite=tools[0],
        world=world,
        horizon=horizon,
        objective=SUCCESS,
        changes=changes,
    )


def new_tool(seed: int) -> Scenario:
    rng = _rng("new_tool", seed)
    k = int(rng.integers(2, 9))
    tools = _tool_names(k + 1)
    rates = _ladder(rng, k) if k >= 2 else rng.uniform(0.3, 0.9, size=1)
    newcomer = min(0.99, float(rates.max()) + rng.uniform(0.05, 0.2))
    horizon = _horizon(rng)
    arrive = int(horizon * rng.uniform(0.15, 0.6))
    before = {t: _behaviour(p) for t, p in zip(tools, rates, strict=False)}
    after = {**before, tools[-1]: _behaviour(newcomer)}

    def world(moment: Moment) -> Mapping[str, Behaviour]:
        return before if moment.index < arrive else after

    return Scenario(
        name="new_tool",
        summary=f"K={k}, a tool at {newcomer:.2f} arrives at {arrive} (best was {rates.max():.2f})",
        tools=tools,
        favourite=tools[0],
        world=world,
        horizon=horizon,
        objective=SUCCESS,
        changes=(Change(arrive, "arrive", tools[-1]),),
    )


_DOWN = Behaviour(0.0, Latency(10_000, 0.3), Latency(10_000, 0.3))


def outage(seed: int) -> Scenario:
    rng = _rng("outage", seed)
    k = int(rng.integers(3, 9))
    tools = _tool_names(k)
    rates = _ladder(rng, k)
    horizon = _horizon(rng)
    spells = []
    for _ in range(int(rng.integers(1, 4))):
        length = int(rng.integers(5, 41))
        start = int(rng.integers(100, horizon - length - 50))
        if all(start >= end + 50 or start + length + 50 <= begin for begin, end in spells):
            spells.append((start, start + length))
    spells.sort()
    calm = {t: _behaviour(p) for t, p in zip(tools, rates, strict=True)}
    down = dict.fromkeys(tools, _DOWN)

    def world(moment: Moment) -> Mapping[str, Behaviour]:
        i = moment.index
        return down if any(begin <= i < end for begin, end in spells) else calm

    return Scenario(
        name="outage",
        summary=f"K={k}, outages {', '.join(f'{b}–{e}' for b, e in spells)}",
        tools=tools,
        favourite=tools[0],
        world=world,
        horizon=horizon,
        objective=SUCCESS,
        changes=tuple(Change(b, "outage", until=e) for b, e in spells),
    )


def no_outage(seed: int) -> Scenario:
    rng = _rng("outage", seed)  # the outage family's draws, without its spells
    k = int(rng.integers(3, 9))
    tools = _tool_names(k)
    rates = _ladder(rng, k)
    return Scenario(
        name="no_outage",
        summary=f"K={k}, no outage",
        tools=tools,
        favourite=tools[0],
        world=_constant(tools, rates),
        horizon=_horizon(rng),
        objective=SUCCESS,
    )


_NAME_PAIRS = (
    ("deploy_prod_chart", "deploy_prod_lambda"),
    ("backup_db_primary", "backup_db_replica"),
    ("rotate_api_keys", "rotate_api_certs"),
    ("scale_web_pods", "scale_web_nodes"),
    ("restart_queue_worker", "restart_queue_broker"),
)


def name_similarity(a: str, b: str) -> float:
    """The library's task-type similarity: cosine of the names' hashing embeddings.

    As ``Toolwise`` computes it (underscores read as spaces); clipped to [0, 1].
    """
    from toolwise.storage.embeddings import HashingEmbedding, cosine

    first, second = HashingEmbedding()([a.replace("_", " "), b.replace("_", " ")])
    return max(0.0, min(1.0, cosine(first, second)))


def similar_names(seed: int) -> Scenario:
    rng = _rng("similar_names", seed)
    k = int(rng.integers(3, 7))
    tools = _tool_names(k)
    first, second = _NAME_PAIRS[int(rng.integers(len(_NAME_PAIRS)))]
    rates_a = _ladder(rng, k)
    order = np.argsort(-rates_a)
    rates_b = np.clip(rates_a + rng.normal(0.0, 0.03, size=k), 0.01, 0.99)
    top, other = int(order[0]), int(rng.choice(order[1:]))
    # In the second task type the first one's best tool is mediocre and another one leads.
    rates_b[other] = min(0.99, rates_a[top] + rng.uniform(0.0, 0.1))
    rates_b[top] = max(0.01, rates_b[other] - rng.uniform(0.1, 0.3))
    horizon = _horizon(rng)
    arrive = int(horizon * rng.uniform(0.2, 0.5))
    table = {
        first: {t: _behaviour(p) for t, p in zip(tools, rates_a, strict=True)},
        second: {t: _behaviour(p) for t, p in zip(tools, rates_b, strict=True)},
    }
    return Scenario(
        name="similar_names",
        summary=f"K={k}, {first} then {second} from {arrive}",
        tools=tools,
        favourite=tools[0],
        world=lambda moment: table[moment.context],
        horizon=horizon,
        contexts=(first, second),
        context_from=(0, arrive),
        similarity=name_similarity,
        objective=SUCCESS,
    )


def context_best(seed: int) -> Scenario:
    rng = _rng("context_best", seed)
    k = int(rng.integers(3, 9))
    c = int(rng.integers(3, 11))
    tools = _tool_names(k)
    contexts = tuple(f"task_{i}" for i in range(c))
    base = rng.uniform(0.3, 0.9, size=k)
    spread = rng.uniform(0.02, 0.2)
    table = {
        context: {
            t: _behaviour(float(np.clip(p, 0.02, 0.98)))
            for t, p in zip(tools, base + rng.normal(0.0, spread, size=k), strict=True)
        }
        for context in contexts
    }
    weights = tuple(float(w) for w in 1.0 / (np.arange(c) + 1.0) ** 0.8)
    return Scenario(
        name="context_best",
        summary=f"K={k}, {c} task types, spread {spread:.2f}",
        tools=tools,
        favourite=tools[0],
        world=lambda moment: table[moment.context],
        horizon=_horizon(rng),
        contexts=contexts,
        context_weights=weights,
        objective=SUCCESS,
    )


def tradeoff(seed: int) -> Scenario:
    rng = _rng("tradeoff", seed)
    k = int(rng.integers(3, 7))
    tools = _tool_names(k)
    objective = COST if rng.random() < 0.5 else BALANCED
    world = {}
    for tool in tools:
        median = float(np.exp(rng.uniform(np.log(200), np.log(40_000))))
        tail = float(rng.choice([0.0, 0.0, rng.uniform(0.02, 0.1)]))
        latency = Latency(median, float(rng.uniform(0.3, 0.7)), tail, 60_000.0 if tail else 0.0)
        price = float(np.exp(rng.uniform(np.log(0.01), np.log(2.0)))) if objective is COST else 0.0
        world[tool] = Behaviour(
            float(rng.uniform(0.5, 0.99)), latency, Latency(median * 1.5, 0.4), price
        )
    return Scenario(
        name="tradeoff",
        summary=f"K={k}, objective {objective.name}",
        tools=tools,
        favourite=tools[0],
        world=lambda moment: world,
        horizon=_horizon(rng),
        objective=objective,
    )


FAMILIES: dict[str, Callable[[int], Scenario]] = {
    "stationary": stationary,
    "abrupt": abrupt,
    "drift": drift,
    "periodic": periodic,
    "new_tool": new_tool,
    "outage": outage,
    "context_best": context_best,
    "tradeoff": tradeoff,
    "no_outage": no_outage,
    "similar_names": similar_names,
}


def generate(family: str, seed: int) -> Scenario:
    """The world of one seed of a family (deterministic)."""
    scenario = FAMILIES[family](seed)
    return Scenario(
        name=scenario.name,
        summary=scenario.summary,
        tools=scenario.tools,
        favourite=scenario.favourite,
        world=scenario.world,
        horizon=scenario.horizon,
        step=timedelta(minutes=1),
        contexts=scenario.contexts,
        context_weights=scenario.context_weights,
        context_from=scenario.context_from,
        similarity=scenario.similarity,
        objective=scenario.objective,
        changes=scenario.changes,
    )
