"""What was done with dead letters, kept in a compacted topic so every operator sees the same record.

A re-drive is keyed by the dead-lettered record's source position (`source:<topic>/<partition>/<offset>`):
two groups that dead-lettered the same record share one re-drive. A discard is keyed by the letter.
"""

from __future__ import annotations

import contextlib
import getpass
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mosaic_dev.ops.letters import Letter

LEDGER_TOPIC = "mosaic.ops.redrives"


@dataclass
class Ledger:
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def redrive_of(self, letter: Letter) -> dict[str, Any] | None:
        return self.entries.get(f"source:{letter.source}")

    def settled(self, letter: Letter) -> dict[str, Any] | None:
        """The entry that settles a letter (its re-drive, or its discard), if any."""
        return self.redrive_of(letter) or self.entries.get(f"letter:{letter.id}")


def ensure_ledger_topic(bootstrap: str) -> None:
    """Create the compacted ledger topic once (kept forever: it is the audit of what operators did)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mosaic-ops")
    try:
        if LEDGER_TOPIC in admin.list_topics():
            return
        config = {"cleanup.policy": "compact", "retention.ms": "-1"}
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(LEDGER_TOPIC, 1, 1, topic_configs=config)])
    finally:
        admin.close()


def load_ledger(bootstrap: str) -> Ledger:
    """Read the ledger from its start; the last entry per key wins (as compaction keeps it)."""
    from kafka import KafkaConsumer, TopicPartition

    ensure_ledger_topic(bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        tp = TopicPartition(LEDGER_TOPIC, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        ledger = Ledger()
        while consumer.position(tp) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    if r.value is not None and r.key is not None:
                        ledger.entries[r.key.decode()] = json.loads(r.value)
        return ledger
    finally:
        consumer.close()


def entry(action: str, letters: list[Letter], **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "letters": [letter.id for letter in letters],
        "source": letters[0].source,
        "reason": letters[0].reason,
        "by": getpass.getuser(),
        "at": datetime.now(UTC).isoformat(),
        **extra,
    }
