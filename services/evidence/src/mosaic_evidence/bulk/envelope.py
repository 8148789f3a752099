"""EvidenceRecorded envelopes as bytes, fast: orjson over plain dicts instead of a pydantic model per row.

A million-row import spends most of its time here, so this builds the exact JSON that
`mosaic_events.encode` would, and the tests decode it with `mosaic_events.decode` to prove it.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import NamedTuple

import orjson

from mosaic_events.ids import MOSAIC_NAMESPACE
from mosaic_evidence.domain.recording import EVIDENCE_NAMESPACE

EVENT_TYPE = "EvidenceRecorded"
EVENT_VERSION = 1
IMPORT_SOURCE = "import"


class ValidEvidence(NamedTuple):
    """A row that passed every check, with its values typed."""

    source_ref: str  # the row's own id in its file (evidence_id column, else import id and row number)
    student_id: str
    competency_ids: tuple[str, ...]
    kind: str
    observed_on: str  # ISO date
    recorded_by: str
    score: float
    scale_min: float
    scale_max: float
    section_id: str | None
    comment: str | None


class EnvelopeEncoder:
    """Turns valid rows of one district into (event id, Kafka key, envelope JSON)."""

    def __init__(self, *, district_id: str, producer: str) -> None:
        self.district_id = district_id
        self.producer = producer
        # uuid5(namespace, name) hashes namespace bytes + name: the fixed prefix is hashed once here.
        self._evidence_prefix = hashlib.sha1(
            EVIDENCE_NAMESPACE.bytes + f"{district_id}|{IMPORT_SOURCE}|".encode(), usedforsecurity=False
        )
        self._event_namespace = MOSAIC_NAMESPACE.bytes
        self._event_suffix = f"|{EVENT_TYPE}".encode()

    def evidence_id(self, source_ref: str) -> str:
        """Equals domain.recording.evidence_id_for(district, "import", source_ref)."""
        digest = self._evidence_prefix.copy()
        digest.update(source_ref.encode())
        return _uuid5_text(digest.digest())

    def event_id(self, evidence_id: str) -> str:
        """Equals mosaic_events.derived_event_id(evidence_id, "EvidenceRecorded")."""
        return _uuid5_text(
            hashlib.sha1(
                self._event_namespace + evidence_id.encode() + self._event_suffix, usedforsecurity=False
            ).digest()
        )

    def envelope(self, item: ValidEvidence, *, school_id: str | None, recorded_at: str) -> tuple[str, bytes]:
        """(event id, JSON bytes). The event id derives from the evidence id, so a re-import is recognisable."""
        evidence_id = self.evidence_id(item.source_ref)
        event_id = self.event_id(evidence_id)
        envelope = {
            "id": event_id,
            "type": EVENT_TYPE,
            "version": EVENT_VERSION,
            "occurred_at": f"{item.observed_on}T00:00:00Z",
            "recorded_at": recorded_at,
            "district_id": self.district_id,
            "school_id": school_id,
            "subject": item.student_id,
            "correlation_id": event_id,
            "causation_id": None,
            "producer": self.producer,
            # A comment is free text about a child and never goes on the log (ADR 0019); this path writes
            # only to the log, so a CSV's comments are left out.
            "data": {
                "evidence_id": evidence_id,
                "student_id": item.student_id,
                "competency_ids": item.competency_ids,
                "kind": item.kind,
                "observed_on": item.observed_on,
                "recorded_by": item.recorded_by,
                "score": {"value": item.score, "minimum": item.scale_min, "maximum": item.scale_max},
                "section_id": item.section_id,
                "comment": None,
                "artifact_url": None,
                "reflection": None,
                "source": IMPORT_SOURCE,
                "source_ref": item.source_ref,
                "verified_by": None,
            },
        }
        return event_id, orjson.dumps(envelope)

    def encode_row(self, row, *, school_id: str | None, recorded_at: str) -> bytes:
        """A generated EvidenceRow (see mosaic_dev.district_generator) as envelope JSON."""
        observed = row.observed_on.isoformat() if isinstance(row.observed_on, date) else str(row.observed_on)
        item = ValidEvidence(
            row.evidence_id,
            row.student_id,
            (row.competency_id,),
            row.kind,
            observed,
            row.recorded_by,
            float(row.score),
            float(row.scale_min),
            float(row.scale_max),
            row.section_id or None,
            row.comment or None,
        )
        return self.envelope(item, school_id=school_id, recorded_at=recorded_at)[1]


def _uuid5_text(sha1_digest: bytes) -> str:
    """The text of the UUIDv5 whose SHA-1 is given (version nibble 5, RFC 4122 variant), without a uuid.UUID."""
    text = sha1_digest[:16].hex()
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}
