"""The event catalog. Importing this package registers every type."""

from mosaic_events.catalog.analytics import (
    GroupAssigned,
    LearningCorrected,
    LearningObserved,
    LearningRetracted,
    LevelChanged,
)
from mosaic_events.catalog.common import Score
from mosaic_events.catalog.evidence import (
    EvidenceCorrected,
    EvidenceKind,
    EvidenceRecorded,
    EvidenceRetracted,
)
from mosaic_events.catalog.mastery import MasteryChanged, MasteryChangedV1, RegroupNeeded, StudentLevelChange
from mosaic_events.catalog.notify import FamilyNotified, NotificationFailed
from mosaic_events.catalog.people import PersonDetailsChanged, PersonErased
from mosaic_events.catalog.plans import GoalStatus, LearnerPlanChanged, PlanChange
from mosaic_events.catalog.reference import (
    Competency,
    CompetencyLink,
    Enrollment,
    FrameworkDiff,
    FrameworkPublished,
    Person,
    RosterChanged,
    RosterRemovals,
    Section,
)
from mosaic_events.catalog.schedule import (
    Assignment,
    AttendanceMark,
    AttendanceTaken,
    GroupAssignmentChanged,
    GroupAssignmentChangedV1,
    ScheduledSession,
    SchedulePublished,
)

__all__ = [
    "Assignment",
    "AttendanceMark",
    "AttendanceTaken",
    "Competency",
    "CompetencyLink",
    "Enrollment",
    "EvidenceCorrected",
    "EvidenceKind",
    "EvidenceRecorded",
    "EvidenceRetracted",
    "FamilyNotified",
    "FrameworkDiff",
    "FrameworkPublished",
    "GoalStatus",
    "GroupAssigned",
    "GroupAssignmentChanged",
    "GroupAssignmentChangedV1",
    "LearnerPlanChanged",
    "LearningCorrected",
    "LearningObserved",
    "LearningRetracted",
    "LevelChanged",
    "MasteryChanged",
    "MasteryChangedV1",
    "NotificationFailed",
    "Person",
    "PersonDetailsChanged",
    "PersonErased",
    "PlanChange",
    "RegroupNeeded",
    "RosterChanged",
    "RosterRemovals",
    "SchedulePublished",
    "ScheduledSession",
    "Score",
    "Section",
    "StudentLevelChange",
]
