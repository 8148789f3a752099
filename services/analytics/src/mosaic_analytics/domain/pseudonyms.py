"""Keyed pseudonyms: the same person under the same district key version always gets the same one."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Pseudonymizer:
    """HMAC-SHA256 under one district's secret of one key version; without the secret, not reversible."""

    district_id: str
    key_version: int
    secret: bytes

    def of(self, person_id: str) -> str:
        """The pseudonym of a person (or section) id: the first 128 bits of the HMAC, hex."""
        message = f"{self.district_id}\x1f{person_id}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def of_evidence(self, evidence_id: str) -> str:
        """The evidence's pseudonym: its own namespace, so it never equals a person's."""
        return self.of(f"evidence\x1f{evidence_id}")

    def maybe(self, person_id: str | None) -> str | None:
        return None if person_id is None else self.of(person_id)
