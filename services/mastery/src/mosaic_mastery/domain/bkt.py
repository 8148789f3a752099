"""Bayesian knowledge tracing: a two-state hidden Markov model per competency (known / not known).

`bkt_update` folds one result in O(1); `fit_bkt` estimates the parameters by EM (Baum-Welch) over
all students of a competency at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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


# fit_bkt(sequences, *, restarts=3, seed=0, max_iter=100, tol=1e-4, fit_forget=False) -> BktParams
# fit_bkt_many(sequences_by_competency: Mapping[K, Sequence[Sequence[float]]], **same) -> dict[K, BktParams]
# predict_sequences(sequences, params) -> list[np.ndarray]   (P(correct) before each response)
# land in the next commit (vectorized Baum-Welch over all students and competencies at once).
