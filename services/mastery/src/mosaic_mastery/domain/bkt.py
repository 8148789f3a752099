"""Bayesian knowledge tracing: a two-state hidden Markov model per competency (known / not known).

`bkt_update` folds one result in O(1); `fit_bkt` estimates the parameters by EM (Baum-Welch) over
all students of a competency at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

CompetencyKey = TypeVar("CompetencyKey", bound=Hashable)
Results = Sequence[float] | np.ndarray  # one student's results on one competency, oldest first

PARAM_NAMES = ("prior", "learn", "guess", "slip", "forget")


@dataclass(frozen=True, slots=True)
class BktParams:
    """prior P(L0), learn P(T), guess P(G), slip P(S), forget P(F) of one competency."""

    prior: float = 0.3
    learn: float = 0.1
    guess: float = 0.2
    slip: float = 0.1
    forget: float = 0.0

    def __post_init__(self) -> None:
        for name in PARAM_NAMES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"BktParams.{name} = {value} must be a probability in 0..1")
        if self.guess + self.slip >= 1.0:
            raise ValueError(
                f"BktParams guess ({self.guess}) + slip ({self.slip}) must be < 1, "
                "otherwise a correct answer would be evidence of NOT knowing"
            )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> BktParams:
        """Read params written by `to_dict` (or by `models fit-bkt`); unknown keys are ignored."""
        return cls(**{name: float(data[name]) for name in PARAM_NAMES if name in data})


def likelihoods(correct: float, params: BktParams) -> tuple[float, float]:
    """P(result | known), P(result | not known); fractional `correct` interpolates (partial credit)."""
    if_known = correct * (1.0 - params.slip) + (1.0 - correct) * params.slip
    if_unknown = correct * params.guess + (1.0 - correct) * (1.0 - params.guess)
    return if_known, if_unknown


def bkt_update(p_known: float, correct: float, params: BktParams, weight: float = 1.0) -> float:
    """P(known) after one result: Bayes posterior, then the learn/forget transition. O(1).

    `weight` tempers the evidence (likelihood ** weight): 0 ignores it, 1 is the plain update.
    """
    if weight <= 0.0:
        return p_known
    if_known, if_unknown = likelihoods(correct, params)
    if weight != 1.0:
        if_known, if_unknown = if_known**weight, if_unknown**weight
    evidence = p_known * if_known + (1.0 - p_known) * if_unknown
    posterior = p_known * if_known / evidence if evidence > 0.0 else p_known
    return posterior * (1.0 - params.forget) + (1.0 - posterior) * params.learn


def predict_correct(p_known: float, params: BktParams) -> float:
    """Probability that the next result is correct given P(known)."""
    return p_known * (1.0 - params.slip) + (1.0 - p_known) * params.guess


# ---- fitting: Baum-Welch over every sequence of every competency at once --------------------------------------------
#
# Sequences are "packed" time-major, longest first, so step t touches a contiguous slice of the rows still active at
# t. One Python loop over time steps then serves all students, all competencies and all restarts together.


@dataclass(frozen=True, slots=True)
class FitBounds:
    """Where EM may take the parameters; guess and slip stay below 0.5 so a correct answer means knowing."""

    floor: float = 1e-4
    max_guess: float = 0.45
    max_slip: float = 0.45
    max_learn: float = 0.5
    max_forget: float = 0.5


class _Packed:
    """Responses of many sequences laid out time-major (longest sequence first), with each row's group."""

    def __init__(self, sequences: Sequence[Results], groups: np.ndarray) -> None:
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        if (lengths == 0).any():
            raise ValueError("every sequence needs at least one response; drop empty ones before fitting")
        order = np.argsort(-lengths, kind="stable")
        self.order = order
        self.lengths = lengths[order]
        self.rows = len(sequences)
        steps = int(self.lengths[0]) if self.rows else 0
        self.active = np.searchsorted(-self.lengths, -np.arange(steps), side="left")  # rows with length > t
        self.offsets = np.concatenate(([0], np.cumsum(self.active)))
        row_of = np.repeat(np.arange(self.rows), self.lengths)
        step_of = np.arange(row_of.size) - np.repeat(np.cumsum(self.lengths) - self.lengths, self.lengths)
        position = self.offsets[step_of] + row_of
        values = np.concatenate([np.asarray(sequences[i], dtype=float) for i in order]) if self.rows else np.zeros(0)
        self.obs = np.empty(values.size)
        self.obs[position] = values
        self.row = np.empty(values.size, dtype=np.int64)
        self.row[position] = row_of
        self.group = np.asarray(groups)[order][self.row]
        self.row_group = np.asarray(groups)[order]
        self.position = position  # packed index of each response, rows in `order`, responses in time order
        self.has_next = np.zeros(values.size, dtype=bool)
        self.has_next[position] = step_of < self.lengths[row_of] - 1
        bounds = self.offsets.tolist()  # plain ints: the time loops index these once per step
        self.slices = list(itertools.pairwise(bounds))
        self.active_counts = [*self.active.tolist(), 0]

    def slice(self, t: int) -> tuple[int, int]:
        return self.slices[t]


def _forward(
    packed: _Packed, prior: np.ndarray, learn: np.ndarray, guess: np.ndarray, slip: np.ndarray, forget: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Filtered P(known) before (pred) and after (post) each response, and each response's likelihood."""
    g, s = guess[packed.group], slip[packed.group]
    if_known = packed.obs * (1 - s) + (1 - packed.obs) * s
    if_unknown = packed.obs * g + (1 - packed.obs) * (1 - g)
    stay, learn_p = 1 - forget[packed.group], learn[packed.group]
    pred_all, post_all, evidence_all = (np.empty(packed.obs.size) for _ in range(3))
    p = prior[packed.row_group].astype(float)
    for t in range(len(packed.active)):
        a, b = packed.slice(t)
        p = p[: b - a]
        known = p * if_known[a:b]
        evidence = known + (1 - p) * if_unknown[a:b]
        post = np.divide(known, evidence, out=p.copy(), where=evidence > 0)  # an impossible result: no update
        pred_all[a:b], post_all[a:b], evidence_all[a:b] = p, post, evidence
        p = post * stay[a:b] + (1 - post) * learn_p[a:b]
    return pred_all, post_all, evidence_all, if_known, if_unknown


_TINY_PROB = 1e-12
_TINY_BETA = 1e-200


def _expected_counts(
    packed: _Packed, params: tuple[np.ndarray, ...], n_groups: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """E-step: expected sufficient statistics per group, and each group's log-likelihood."""
    learn, forget = params[1], params[4]
    _, filtered, evidence, if_known, if_unknown = _forward(packed, *params)
    # Betas are rescaled per step (a row's scale cancels in gamma and xi) and, like the filtered posterior, kept off
    # exact 0 and 1, so a long run of correct answers cannot leave 0/0 behind.
    post = np.clip(filtered, _TINY_PROB, 1 - _TINY_PROB)
    stay, learn_p, forget_p = 1 - forget[packed.group], learn[packed.group], forget[packed.group]
    gamma_known = np.empty(post.size)
    xi_learn = np.zeros(post.size)
    xi_forget = np.zeros(post.size)
    beta_known = np.ones(packed.rows)
    beta_unknown = np.ones(packed.rows)
    steps = len(packed.active)
    for t in range(steps - 1, -1, -1):
        a, b = packed.slice(t)
        n_next = packed.active_counts[t + 1]
        if n_next:
            c, d = packed.slice(t + 1)
            here = slice(a, a + n_next)
            e_known = if_known[c:d] * beta_known[:n_next]
            e_unknown = if_unknown[c:d] * beta_unknown[:n_next]
            next_known = stay[here] * e_known + forget_p[here] * e_unknown
            next_unknown = learn_p[here] * e_known + (1 - learn_p[here]) * e_unknown
            total = post[here] * next_known + (1 - post[here]) * next_unknown
            xi_learn[here] = (1 - post[here]) * learn_p[here] * e_known / total
            xi_forget[here] = post[here] * forget_p[here] * e_unknown / total
            gamma_known[here] = post[here] * next_known / total
            scale = np.maximum(next_known, next_unknown)  # betas matter only up to a row's scale
            beta_known[:n_next] = np.maximum(next_known / scale, _TINY_BETA)
            beta_unknown[:n_next] = np.maximum(next_unknown / scale, _TINY_BETA)
        gamma_known[a + n_next : b] = post[a + n_next : b]
        beta_known[n_next : b - a] = 1.0
        beta_unknown[n_next : b - a] = 1.0
    gamma_known = np.clip(gamma_known, 0.0, 1.0)
    gamma_unknown = 1 - gamma_known
    group, obs, nxt = packed.group, packed.obs, packed.has_next

    def per_group(weights: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=weights, minlength=n_groups)

    first = slice(0, int(packed.active[0])) if steps else slice(0, 0)
    counts = {
        "prior": np.bincount(packed.group[first], weights=gamma_known[first], minlength=n_groups),
        "starts": np.bincount(packed.group[first], minlength=n_groups).astype(float),
        "learned": per_group(xi_learn),
        "unknown_before_next": per_group(gamma_unknown * nxt),
        "forgot": per_group(xi_forget),
        "known_before_next": per_group(gamma_known * nxt),
        "correct_unknown": per_group(gamma_unknown * obs),
        "unknown": per_group(gamma_unknown),
        "wrong_known": per_group(gamma_known * (1 - obs)),
        "known": per_group(gamma_known),
    }
    return counts, per_group(np.log(evidence))


def _maximize(counts: dict[str, np.ndarray], fit_forget: bool, bounds: FitBounds) -> tuple[np.ndarray, ...]:
    """M-step: the parameters that maximize the expected log-likelihood, kept within bounds."""
    lo = bounds.floor

    def ratio(num: str, den: str, high: float) -> np.ndarray:
        clipped: np.ndarray = np.clip(counts[num] / np.maximum(counts[den], 1e-12), lo, high)
        return clipped

    prior = ratio("prior", "starts", 1 - lo)
    learn = ratio("learned", "unknown_before_next", bounds.max_learn)
    guess = ratio("correct_unknown", "unknown", bounds.max_guess)
    slip = ratio("wrong_known", "known", bounds.max_slip)
    forget = ratio("forgot", "known_before_next", bounds.max_forget) if fit_forget else np.zeros_like(prior)
    return prior, learn, guess, slip, forget


def _initial_params(n_groups: int, restarts: int, seed: int, bounds: FitBounds) -> tuple[np.ndarray, ...]:
    """Restart 0 starts from textbook values; the others from seeded random points inside the bounds."""
    rng = np.random.default_rng(seed)
    shape = (restarts, n_groups)
    prior = rng.uniform(0.1, 0.9, shape)
    learn = rng.uniform(0.01, 0.4, shape)
    guess = rng.uniform(0.05, bounds.max_guess, shape)
    slip = rng.uniform(0.05, bounds.max_slip, shape)
    prior[0], learn[0], guess[0], slip[0] = 0.5, 0.1, 0.2, 0.1
    return tuple(x.reshape(-1) for x in (prior, learn, guess, slip, np.zeros(shape)))


def fit_bkt_many(
    sequences_by_competency: Mapping[CompetencyKey, Sequence[Results]],
    *,
    restarts: int = 3,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 0.005,
    fit_forget: bool = False,
    bounds: FitBounds = FitBounds(),
) -> dict[CompetencyKey, BktParams]:
    """EM-fitted parameters per competency; restarts run side by side and the likeliest one wins.

    A competency (× restart) stops once an iteration gains at most `tol` log-likelihood (pyBKT's rule).
    """
    if restarts < 1:
        raise ValueError(f"restarts = {restarts} must be at least 1")
    keys = [k for k, seqs in sequences_by_competency.items() if any(len(s) for s in seqs)]
    if not keys:
        return {}
    n = len(keys)
    sequences, groups = [], []
    for restart in range(restarts):
        for index, key in enumerate(keys):
            for seq in sequences_by_competency[key]:
                if len(seq):
                    sequences.append(seq)
                    groups.append(restart * n + index)
    params, log_likelihood = _run_em(
        sequences, np.asarray(groups), n * restarts, restarts, seed, max_iter, tol, fit_forget, bounds, n
    )
    chosen = np.argmax(log_likelihood.reshape(restarts, n), axis=0) * n + np.arange(n)
    return {key: BktParams(*(float(p[chosen[i]]) for p in params)) for i, key in enumerate(keys)}


def _run_em(
    sequences: list[Results],
    groups: np.ndarray,
    n_groups: int,
    restarts: int,
    seed: int,
    max_iter: int,
    tol: float,
    fit_forget: bool,
    bounds: FitBounds,
    n_competencies: int,
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """EM until every group converges; converged groups leave the batch so the rest iterate on less data."""
    params = _initial_params(n_competencies, restarts, seed, bounds)
    responses = np.bincount(groups, weights=[len(s) for s in sequences], minlength=n_groups)
    active = np.ones(n_groups, dtype=bool)
    last = np.full(n_groups, -np.inf)
    packed, packed_responses = None, 0.0
    for _ in range(max_iter):
        if packed is None or responses[active].sum() < 0.75 * packed_responses:
            rows = np.flatnonzero(active[groups])
            packed = _Packed([sequences[i] for i in rows], groups[rows])
            packed_responses = responses[active].sum()
        counts, log_likelihood = _expected_counts(packed, params, n_groups)
        updated = _maximize(counts, fit_forget, bounds)
        params = tuple(np.where(active, u, p) for u, p in zip(updated, params, strict=True))
        converged = active & (np.abs(log_likelihood - last) <= tol)
        last = np.where(active, log_likelihood, last)
        active &= ~converged
        if not active.any():
            break
    return params, last


def fit_bkt(sequences: Sequence[Sequence[float]], **options: Any) -> BktParams:
    """EM-fitted parameters of one competency from its students' result sequences (oldest first)."""
    fitted = fit_bkt_many({"competency": sequences}, **options)
    if not fitted:
        raise ValueError("fit_bkt needs at least one non-empty sequence of results")
    return fitted["competency"]


def predict_many(sequences: Sequence[Sequence[float]], params: Sequence[BktParams]) -> list[np.ndarray]:
    """P(correct) before each response of each sequence, given the sequence's params (one per sequence)."""
    if len(sequences) != len(params):
        raise ValueError(f"{len(sequences)} sequences but {len(params)} params; give one BktParams per sequence")
    keep = [i for i, s in enumerate(sequences) if len(s)]
    result = [np.zeros(0) for _ in sequences]
    if not keep:
        return result
    packed = _Packed([sequences[i] for i in keep], np.arange(len(keep)))
    columns = [np.array([getattr(params[i], name) for i in keep]) for name in PARAM_NAMES]
    pred, *_ = _forward(packed, *columns)
    correct = pred * (1 - columns[3][packed.group]) + (1 - pred) * columns[2][packed.group]
    lengths = packed.lengths
    per_row = np.split(correct[packed.position], np.cumsum(lengths)[:-1])
    for rank, row in enumerate(packed.order):
        result[keep[row]] = per_row[rank]
    return result


def predict_sequences(sequences: Sequence[Sequence[float]], params: BktParams) -> list[np.ndarray]:
    """P(correct) before each response, from the responses before it, for sequences of one competency."""
    return predict_many(sequences, [params] * len(sequences))
