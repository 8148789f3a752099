"""The topic registry: names, keys, partitions and retention are public contracts."""

from __future__ import annotations

from dataclasses import dataclass, field

FOREVER = -1
DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    partitions: int
    retention_ms: int
    description: str
    types: tuple[str, ...] = field(default=())
    compacted: bool = False

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def config(self) -> dict[str, str]:
        config = {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": "delete",
            "max.message.bytes": str(4 * 1024 * 1024),
        }
        if self.compacted:
            # Only the latest record per key survives: an erasure's record replaces a person's details
            # once the segment rolls (at most a day) and the cleaner runs.
            config |= {
                "cleanup.policy": "compact",
                "segment.ms": str(DAY_MS),
                "min.cleanable.dirty.ratio": "0.01",
                "delete.retention.ms": str(DAY_MS),
            }
        return config


# Student-scoped topics get more partitions: they carry most of the traffic and the
# partition count is the ceiling on consumers per group (see deploy/README.md).
EVIDENCE = Topic(
    "mosaic.evidence.v1",
    "student",
    12,
    FOREVER,
    "Evidence of learning: the system of record, kept forever (ids and scores; comments stay in evidence's store).",
    ("EvidenceRecorded", "EvidenceCorrected", "EvidenceRetracted"),
)
REFERENCE = Topic(
    "mosaic.reference.v1",
    "entity",
    3,
    FOREVER,
    "Reference data: competency frameworks and rosters (ids, roles, links; no names or "
    "contacts), kept forever for replays.",
    ("FrameworkPublished", "RosterChanged"),
)
PEOPLE = Topic(
    "mosaic.people.v1",
    "person",
    6,
    FOREVER,
    "Names and contacts, and erasures: compacted, so a person's last record (their erasure) "
    "is all that remains of them.",
    ("PersonDetailsChanged", "PersonErased"),
    compacted=True,
)
MASTERY = Topic(
    "mosaic.mastery.v1",
    "student",
    12,
    FOREVER,
    "Changes of a student's mastery level on a competency.",
    ("MasteryChanged",),
)
REGROUP = Topic(
    "mosaic.regroup.v1",
    "section",
    6,
    30 * DAY_MS,
    "A section's flexible groups no longer fit the latest mastery.",
    ("RegroupNeeded",),
)
SCHEDULE = Topic(
    "mosaic.schedule.v1",
    "flex block",
    6,
    365 * DAY_MS,
    "Published flex-block schedules, assignment changes and attendance.",
    ("SchedulePublished", "GroupAssignmentChanged", "AttendanceTaken"),
)
NOTIFY = Topic(
    "mosaic.notify.v1",
    "student",
    6,
    365 * DAY_MS,
    "Outcomes of family notifications.",
    ("FamilyNotified", "NotificationFailed"),
)

PLANS = Topic(
    "mosaic.plans.v1",
    "student",
    12,
    365 * DAY_MS,
    "Changes of a student's learner plan (ids and statuses only; the words stay in the evidence service).",
    ("LearnerPlanChanged",),
)

ANALYTICS = Topic(
    "mosaic.analytics.v1",
    "learner pseudonym",
    6,
    365 * DAY_MS,
    "Pseudonymized evidence, mastery changes and group assignments for analysts: no names, "
    "contacts, comments or real ids; kept a year.",
    ("LearningObserved", "LearningCorrected", "LearningRetracted", "LevelChanged", "GroupAssigned"),
)

TOPICS: tuple[Topic, ...] = (EVIDENCE, REFERENCE, PEOPLE, MASTERY, REGROUP, SCHEDULE, NOTIFY, PLANS, ANALYTICS)
DLQ_RETENTION_MS = 30 * DAY_MS


def topic_named(name: str) -> Topic:
    for topic in TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(f"unknown topic {name!r}; known: {', '.join(t.name for t in TOPICS)}")


def topic_for_type(event_type: str) -> Topic:
    for topic in TOPICS:
        if event_type in topic.types:
            return topic
    raise KeyError(f"no topic carries event type {event_type!r}")
