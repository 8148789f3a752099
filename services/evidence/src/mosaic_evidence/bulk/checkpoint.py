"""Where an import got to: the last row whose fate is settled, so an interrupted import can resume.

Every row up to `last_row` is either acknowledged by the broker or written to the rejects file.
Records for later rows may already be on the topic (sent, not yet acknowledged when the process
died): `scan_from` says, per partition, where such records can start, so a resume can find them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


class CheckpointMismatch(ValueError):
    """The checkpoint belongs to another file, district or topic."""


@dataclass
class Checkpoint:
    import_id: str  # the SHA-256 of the file's bytes
    district_id: str
    topic: str
    last_row: int = 0
    accepted: int = 0
    rejected: int = 0
    rejects_bytes: int = 0
    scan_from: dict[int, int] = field(default_factory=dict)
    done: bool = False

    def save(self, path: Path) -> None:
        """Atomically: a crash mid-write leaves the previous checkpoint whole."""
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(asdict(self), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["scan_from"] = {int(p): int(o) for p, o in raw.get("scan_from", {}).items()}
        return cls(**raw)

    def check_matches(self, *, import_id: str, district_id: str, topic: str) -> None:
        if self.import_id != import_id:
            raise CheckpointMismatch(
                "the file changed since the interrupted import (its SHA-256 differs); "
                "delete the checkpoint to import the new file from the start"
            )
        if (self.district_id, self.topic) != (district_id, topic):
            raise CheckpointMismatch(
                f"the checkpoint is for district {self.district_id} and topic {self.topic}, "
                f"not {district_id} and {topic}"
            )
