"""Next learning targets: prerequisites met, not yet mastered, the most valuable first."""

from __future__ import annotations

from mosaic_events.catalog import Competency, CompetencyLink, FrameworkPublished
from mosaic_mastery.domain.progressions import next_targets
from mosaic_mastery.domain.records import MasteryRecord
from mosaic_mastery.domain.reference import DistrictReference, apply_framework
from mosaic_mastery.domain.scale import DEFAULT_SCALE


def reference() -> DistrictReference:
    """A → B → C → D (a long progression) and E (a dead end the student is nearly done with)."""
    ids = ["A", "B", "C", "D", "E"]
    links = [
        CompetencyLink(origin_id=o, destination_id=d, association_type="isPrerequisiteOf")
        for o, d in (("A", "B"), ("B", "C"), ("C", "D"))
    ]
    ref = DistrictReference()
    apply_framework(
        ref,
        FrameworkPublished(
            framework_id="f",
            title="f",
            links=tuple(links),
            competencies=tuple(Competency(id=c, code=c, statement=c, sequence=i) for i, c in enumerate(ids)),
        ),
    )
    return ref


def record(competency: str, level: str, estimate: float) -> MasteryRecord:
    return MasteryRecord("d", "ana", competency, estimate=estimate, level=level)


def test_the_best_next_target_opens_the_most_not_the_easiest():
    records = {"A": record("A", "Proficient", 0.8), "E": record("E", "Developing", 0.72)}
    targets = next_targets(reference(), records, DEFAULT_SCALE)
    assert [t.competency_id for t in targets] == ["B", "E"]
    assert targets[0].unlocks == 2 and "prerequisites mastered (A)" in targets[0].reason


def test_targets_whose_prerequisites_are_not_mastered_are_not_offered():
    records = {"A": record("A", "Developing", 0.6)}
    assert [t.competency_id for t in next_targets(reference(), records, DEFAULT_SCALE)] == ["A", "E"]


def test_nothing_left_when_everything_is_mastered():
    records = {c: record(c, "Advanced", 0.95) for c in "ABCDE"}
    assert next_targets(reference(), records, DEFAULT_SCALE) == []
