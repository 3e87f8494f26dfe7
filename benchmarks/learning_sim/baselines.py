"""Standard bandit baselines, written from the papers, independent of toolwise's learner code.

Every baseline keeps separate state per task type (the standard "one bandit per context") and
starts an arm's state the first time the tool is available, so a tool that arrives late is
simply a new arm. Rewards are the call's realised reward under the scenario's objective, in
[0, 1]; the Beta-posterior policies use the Bernoulli trick (Agrawal & Goyal, 2012): a reward
``r`` is observed as a success with probability ``r``, so a pure success objective is plain
Beta–Bernoulli.

* ``thompson`` — Beta(1, 1) Thompson sampling (Thompson, 1933; Agrawal & Goyal, 2012).
* ``dts_0.99``, ``dts_0.995`` — discounted Thompson sampling (Raj & Kalyani, 2017): every
  decision multiplies every arm's counts by ``γ`` before the played arm's count grows.
* ``sw_ucb`` — sliding-window UCB (Garivier & Moulines, 2011): means over the last
  ``τ = 2 √(T ln T)`` decisions, bonus ``√(ξ ln min(t, τ) / N)`` with ``ξ = 0.6``.
* ``glr_klucb`` — GLR-klUCB with local restarts (Besson, Kaufmann, Maillard & Seznec, 2022):
  kl-UCB indices over each arm's data since its last restart, the Bernoulli GLR test over
  every split point of that data with ``β(n, δ) = ln(3 n^{3/2} / δ)``, ``δ = 1/√T``, and
  forced round-robin exploration at rate ``α = α₀ √(K ln T / T)``, ``α₀ = 0.1``.
* ``eps_recency`` — ε-greedy with recency-weighted means (Sutton & Barto, 2018, §2.5): each
  arm's value moves a step ``α = 0.1`` toward every reward it earns; explore with ``ε = 0.1``.
* ``bayes_ucb`` — Bayes-UCB (Kaufmann, Cappé & Garivier, 2012): the ``1 − 1/t`` quantile of
  each arm's Beta posterior.

``T`` is the stream's length: the horizon-tuned baselines are given it, which only helps them.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import betaincinv

from learning_sim.decisions import Decision, Result
from learning_sim.reward import Objective, realised_reward

__all__ = ["BASELINES", "Baseline", "kl_bernoulli", "kl_ucb"]

_EPS = 1e-12


def kl_bernoulli(x: float, y: float) -> float:
    """KL divergence between Bernoulli(x) and Bernoulli(y), in nats."""
    x = min(max(x, _EPS), 1.0 - _EPS)
    y = min(max(y, _EPS), 1.0 - _EPS)
    return x * math.log(x / y) + (1.0 - x) * math.log((1.0 - x) / (1.0 - y))


def kl_ucb(mean: float, bound: float, precision: float = 1e-6) -> float:
    """The largest ``q`` with ``kl(mean, q) ≤ bound`` (bisection; Garivier & Cappé, 2011)."""
    low, high = mean, 1.0
    while high - low > precision:
        mid = (low + high) / 2.0
        if kl_bernoulli(mean, mid) > bound:
            high = mid
        else:
            low = mid
    return (low + high) / 2.0


@dataclass
class _Arms:
    """Per-context state: the tools seen so far and a counter of decisions."""

    index: dict[str, int] = field(default_factory=dict)
    decisions: int = 0


class Baseline:
    """Shared plumbing: per-context arms, the reward, the Bernoulli trick, a seeded RNG.

    Subclasses implement ``_pick(state, arms)`` returning an arm index among ``arms`` (indices
    of the available tools) and ``_update(state, arm, reward, binary)``.
    """

    def __init__(self, objective: Objective, horizon: int, seed: int) -> None:
        self._objective = objective
        self._horizon = max(horizon, 2)
        self._rng = random.Random(seed)
        self._np = np.random.default_rng(seed)
        self._contexts: dict[str, _Arms] = {}

    def choose(self, decision: Decision) -> str:
        state = self._state(decision.context)
        for tool in decision.tools:
            if tool not in state.index:
                state.index[tool] = len(state.index)
                self._grow(state)
        arms = [state.index[tool] for tool in decision.tools]
        state.decisions += 1
        arm = self._pick(state, arms)
        return decision.tools[arms.index(arm)]

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        state = self._state(decision.context)
        reward = realised_reward(result.success, result.latency_ms, result.cost, self._objective)
        binary = 1.0 if self._rng.random() < reward else 0.0
        self._update(state, state.index[tool], reward, binary)

    def _state(self, context: str) -> _Arms:
        state = self._contexts.get(context)
        if state is None:
            state = self._contexts[context] = self._new_state()
        return state

    def _argmax(self, values: list[float], arms: list[int]) -> int:
        """The arm with the largest value; ties broken at random."""
        best = max(values)
        tied = [arm for arm, value in zip(arms, values, strict=True) if value >= best - 1e-12]
        return tied[0] if len(tied) == 1 else self._rng.choice(tied)

    def _new_state(self) -> _Arms:
        raise NotImplementedError

    def _grow(self, state: _Arms) -> None:
        raise NotImplementedError

    def _pick(self, state: _Arms, arms: list[int]) -> int:
        raise NotImplementedError

    def _update(self, state: _Arms, arm: int, reward: float, binary: float) -> None:
        raise NotImplementedError


@dataclass
class _Counts(_Arms):
    successes: list[float] = field(default_factory=list)
    failures: list[float] = field(default_factory=list)


class Thompson(Baseline):
    """Beta(1, 1) Thompson sampling, optionally discounted (``gamma`` < 1)."""

    def __init__(self, objective: Objective, horizon: int, seed: int, gamma: float = 1.0) -> None:
        super().__init__(objective, horizon, seed)
        self._gamma = gamma

    def _new_state(self) -> _Counts:
        return _Counts()

    def _grow(self, state: _Arms) -> None:
        assert isinstance(state, _Counts)
        state.successes.append(0.0)
        state.failures.append(0.0)

    def _pick(self, state: _Arms, arms: list[int]) -> int:
        assert isinstance(state, _Counts)
        betavariate = self._rng.betavariate
        draws = [betavariate(1.0 + state.successes[a], 1.0 + state.failures[a]) for a in arms]
        return self._argmax(draws, arms)

    def _update(self, state: _Arms, arm: int, reward: float, binary: float) -> None:
        assert isinstance(state, _Counts)
        gamma = self._gamma
        if gamma < 1.0:  # every arm forgets a little at every decision of its context
            state.successes = [gamma * s for s in state.successes]
            state.failures = [gamma * f for f in state.failures]
        state.successes[arm] += binary
        state.failures[arm] += 1.0 - binary


class BayesUCB(Thompson):
    """Bayes-UCB: the ``1 − 1/t`` quantile of Beta(1 + S, 1 + F), ``t`` the context's decisions."""

    def _pick(self, state: _Arms, arms: list[int]) -> int:
        assert isinstance(state, _Counts)
        level = 1.0 - 1.0 / max(state.decisions, 2)
        alpha = np.array([1.0 + state.successes[a] for a in arms])
        beta = np.array([1.0 + state.failures[a] for a in arms])
        return self._argmax(list(betaincinv(alpha, beta, level)), arms)


@dataclass
class _Window(_Arms):
    recent: deque[tuple[int, float]] = field(default_factory=deque)
    sums: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


class SlidingWindowUCB(Baseline):
    """SW-UCB with ``τ = 2 √(T ln T)`` and ``ξ = 0.6`` (Garivier & Moulines, 2011)."""

    XI = 0.6

    def __init__(self, objective: Objective, horizon: int, seed: int) -> None:
        super().__init__(objective, horizon, seed)
        self._tau = max(2, round(2.0 * math.sqrt(self._horizon * math.log(self._horizon))))

    def _new_state(self) -> _Window:
        return _Window()

    def _grow(self, state: _Arms) -> None:
        assert isinstance(state, _Window)
        state.sums.append(0.0)
        state.counts.append(0)

    def _pick(self, state: _Arms, arms: list[int]) -> int:
        assert isinstance(state, _Window)
        unseen = [a for a in arms if state.counts[a] == 0]
        if unseen:
            return self._rng.choice(unseen)
        log_t = math.log(min(state.decisions, self._tau))
        values = [
            state.sums[a] / state.counts[a] + math.sqrt(self.XI * log_t / state.counts[a])
            for a in arms
        ]
        return self._argmax(values, arms)

    def _update(self, state: _Arms, arm: int, reward: float, binary: float) -> None:
        assert isinstance(state, _Window)
        state.recent.append((arm, reward))
        state.sums[arm] += reward
        state.counts[arm] += 1
        while len(state.recent) > self._tau:
            old, value = state.recent.popleft()
            state.sums[old] -= value
            state.counts[old] -= 1


@dataclass
class _Restarts(_Arms):
    history: list[list[float]] = field(default_factory=list)
    restarted_at: list[int] = field(default_factory=list)


class GlrKlUcb(Baseline):
    """GLR-klUCB with local restarts and forced exploration (Besson et al., 2022)."""

    ALPHA0 = 0.1

    def __init__(self, objective: Objective, horizon: int, seed: int) -> None:
        super().__init__(objective, horizon, seed)
        self._delta = 1.0 / math.sqrt(self._horizon)

    def _new_state(self) -> _Restarts:
        return _Restarts()

    def _grow(self, state: _Arms) -> None:
        assert isinstance(state, _Restarts)
        state.history.append([])
        state.restarted_at.append(state.decisions)

    def _pick(self, state: _Arms, arms: list[int]) -> int:
        assert isinstance(state, _Restarts)
        k, t = len(arms), state.decisions
        alpha = self.ALPHA0 * math.sqrt(k * math.log(self._horizon) / self._horizon)
        period = max(k, math.floor(k / alpha))
        if t % period < k:  # forced exploration, round robin
            return arms[t % period]
        values = []
        for a in arms:
            data = state.history[a]
            if not data:
                return a
            since = max(t - state.restarted_at[a], 2)
            values.append(kl_ucb(sum(data) / len(data), math.log(since) / len(data)))
        return self._argmax(values, arms)

    def _update(self, state: _Arms, arm: int, reward: float, binary: float) -> None:
        assert isinstance(state, _Restarts)
        data = state.history[arm]
        data.append(reward)
        if len(data) >= 2 and self._changed(data):
            state.history[arm] = []
            state.restarted_at[arm] = state.decisions

    def _changed(self, data: list[float]) -> bool:
        """The Bernoulli GLR test over every split point (vectorised)."""
        n = len(data)
        values = np.asarray(data)
        cumulative = np.cumsum(values)
        s = np.arange(1, n)
        before = np.clip(cumulative[:-1] / s, _EPS, 1 - _EPS)
        after = np.clip((cumulative[-1] - cumulative[:-1]) / (n - s), _EPS, 1 - _EPS)
        pooled = min(max(cumulative[-1] / n, _EPS), 1 - _EPS)

        def kl(x: np.ndarray) -> np.ndarray:
            return np.asarray(x * np.log(x / pooled) + (1 - x) * np.log((1 - x) / (1 - pooled)))

        statistic = s * kl(before) + (n - s) * kl(after)
        threshold = math.log(3.0 * n**1.5 / self._delta)
        return bool(statistic.max() >= threshold)


@dataclass
class _Values(_Arms):
    values: list[float] = field(default_factory=list)
    seen: list[bool] = field(default_factory=list)


class EpsilonRecency(Baseline):
    """ε-greedy over exponential recency-weighted means (constant step size ``alpha``)."""

    def __init__(
        self,
        objective: Objective,
        horizon: int,
        seed: int,
        epsilon: float = 0.1,
        alpha: float = 0.1,
    ) -> None:
        super().__init__(objective, horizon, seed)
        self._epsilon = epsilon
        self._alpha = alpha

    def _new_state(self) -> _Values:
        return _Values()

    def _grow(self, state: _Arms) -> None:
        assert isinstance(state, _Values)
        state.values.append(0.0)
        state.seen.append(False)

    def _pick(self, state: _Arms, arms: list[int]) -> int:
        assert isinstance(state, _Values)
        unseen = [a for a in arms if not state.seen[a]]
        if unseen:
            return self._rng.choice(unseen)
        if self._rng.random() < self._epsilon:
            return self._rng.choice(arms)
        return self._argmax([state.values[a] for a in arms], arms)

    def _update(self, state: _Arms, arm: int, reward: float, binary: float) -> None:
        assert isinstance(state, _Values)
        if not state.seen[arm]:
            state.values[arm], state.seen[arm] = reward, True
        else:
            state.values[arm] += self._alpha * (reward - state.values[arm])


Factory = Callable[[Objective, int, int], Baseline]

BASELINES: dict[str, Factory] = {
    "thompson": Thompson,
    "dts_0.99": lambda objective, horizon, seed: Thompson(objective, horizon, seed, gamma=0.99),
    "dts_0.995": lambda objective, horizon, seed: Thompson(objective, horizon, seed, gamma=0.995),
    "sw_ucb": SlidingWindowUCB,
    "glr_klucb": GlrKlUcb,
    "bayes_ucb": BayesUCB,
    "eps_recency": EpsilonRecency,
}
"""Every standard baseline by name, built with (objective, horizon T, seed)."""
