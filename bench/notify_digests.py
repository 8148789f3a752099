"""Benchmark: build and render the daily digest for 100,000 guardians; prints messages/s.

    uv run python bench/notify_digests.py [--guardians 100000] [--seed 7]

Each guardian has 1-3 children and each child 0-4 pieces of news from the day (mastered, moved up,
needs support, new flex group), half the families read Spanish. Inputs are made before the clock starts;
the timed part is exactly what the delivery worker does per digest: `build_daily_digest` (pure) and
`MessageRenderer.render_digest` (subject, text and HTML parts, dates and numbers through Babel).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.digest import build_daily_digest
from mosaic_notify.domain.messages import Audience, MessageRenderer
from mosaic_notify.domain.news import News, NewsKind

DAY = date(2026, 11, 23)
LEVELS = ["Beginning", "Developing", "Proficient", "Advanced"]
SKILLS = ["Ratio language", "Unit rates", "Equivalent fractions", "Area of triangles", "Main idea of a text",
          "Evidence in an argument", "Plant and animal cells", "Persevering with hard problems"]


def make_family(rng: random.Random, index: int) -> tuple[Guardian, Audience, list[News]]:
    students = [f"s{index}-{k}" for k in range(rng.randint(1, 3))]
    language = "es" if index % 2 else "en"
    guardian = Guardian("d1", f"g{index}", f"Parent{index}", "F", f"g{index}@example.org", None, None, language,
                        tuple(students))
    news = [make_news(rng, sid) for sid in students for _ in range(rng.randint(0, 4))]
    names = {sid: rng.choice(["Ana", "Luis", "Mia", "Sofía", "Omar", "Kai"]) for sid in students}
    return guardian, Audience(guardian.given_name, names, language, "America/Chicago", "https://u.example/x"), news


def make_news(rng: random.Random, student_id: str) -> News:
    kind = rng.choice(list(NewsKind))
    at = datetime(2026, 11, 23, 14, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 600))
    rank = rng.randint(1, 3)
    common = dict(news_id=str(uuid.UUID(int=rng.getrandbits(128))), kind=kind, district_id="d1",
                  student_id=student_id, cause_event_id=str(uuid.uuid4()), correlation_id=str(uuid.uuid4()),
                  occurred_at=at)
    if kind == NewsKind.NEW_GROUP:
        return News(**common, session_title=rng.choice(["Fractions lab", "Reading circle"]),
                    starts_at=at + timedelta(days=3), details={"block_id": f"b{rng.randint(1, 3)}"})
    return News(**common, competency_id=f"c{rng.randint(1, 40)}", competency_name=rng.choice(SKILLS),
                old_level=LEVELS[rank - 1], new_level=LEVELS[rank], evidence_count=rng.randint(3, 30),
                dropped=kind == NewsKind.NEEDS_SUPPORT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guardians", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    families = [make_family(rng, i) for i in range(args.guardians)]
    renderer = MessageRenderer()
    gc.freeze()  # the inputs stand in for rows the worker reads one digest at a time; keep GC off them
    renderer.render_digest(build_daily_digest(*_first_with_news(families)), families[0][1])  # warm the caches

    started, cpu_started = time.perf_counter(), time.process_time()
    digests = [build_daily_digest(g, news, DAY) for g, _, news in families]
    built = time.perf_counter() - started
    messages = items = 0
    for digest, (_, audience, _) in zip(digests, families, strict=True):
        if digest is None:
            continue
        message = renderer.render_digest(digest, audience)
        messages += 1
        items += digest.count
        assert message.text and message.html and message.subject
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    print(f"guardians: {args.guardians:,}; digests with news: {messages:,}; news items told: {items:,}")
    print(f"build_daily_digest only: {built:.2f} s = {args.guardians / built:,.0f} guardians/s")
    print(f"build + render (subject, text, HTML): {total:.2f} s = {messages / total:,.0f} messages/s")
    print(f"CPU time of the timed part: {cpu:.2f} s = {messages / cpu:,.0f} messages per CPU-second "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall-clock rate is shared)")


def _first_with_news(families: list) -> tuple[Guardian, list[News], date]:
    for guardian, _, news in families:
        if news:
            return guardian, news, DAY
    raise SystemExit("no family has news; raise --guardians")


if __name__ == "__main__":
    main()
