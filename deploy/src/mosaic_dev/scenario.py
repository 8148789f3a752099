"""Set a district up through Mosaic's own APIs, as a district's portals would: the demo seed and the
end-to-end tests share it, so what they prove is what a district does."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class StackUrls:
    evidence: str = "http://127.0.0.1:8081"
    mastery: str = "http://127.0.0.1:8082"
    scheduling: str = "http://127.0.0.1:8083"
    notify: str = "http://127.0.0.1:8084"

    @classmethod
    def from_env(cls) -> StackUrls:
        """MOSAIC_<SERVICE>_URL where set (docker compose sets them), else the dev runner's ports."""
        defaults = cls()
        return cls(
            **{
                name: os.environ.get(f"MOSAIC_{name.upper()}_URL", getattr(defaults, name))
                for name in ("evidence", "mastery", "scheduling", "notify")
            }
        )


class ScenarioError(RuntimeError):
    """A step of the scenario was refused; says which and why."""


class DistrictClient:
    """One district's view of the four services, with a bearer token."""

    def __init__(
        self, urls: StackUrls, district_id: str, token: str, timeout: float = 60.0, patience: float = 300.0
    ) -> None:
        self.urls = urls
        self.patience = patience
        self.district_id = district_id
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def url(self, service: str, path: str) -> str:
        return f"{getattr(self.urls, service)}/v1/districts/{self.district_id}{path}"

    def call(self, method: str, service: str, path: str, *, ok: Iterable[int] = (200, 201), **kwargs: Any) -> Any:
        response = self.http.request(method, self.url(service, path), **kwargs)
        if response.status_code not in set(ok):
            raise ScenarioError(f"{method} {service}{path} answered {response.status_code}: {response.text[:800]}")
        return response.json() if response.content else None

    def eventually(self, step: Callable[[], Any], what: str) -> Any:
        """Retry a step until the services have caught up with the events it depends on."""
        timeout = self.patience
        deadline = time.monotonic() + timeout
        while True:
            try:
                return step()
            except ScenarioError as exc:
                if time.monotonic() > deadline:
                    raise ScenarioError(f"{what}: still refused after {timeout:.0f}s: {exc}") from exc
                time.sleep(0.5)

    # --- evidence: framework, roster, evidence -----------------------------------------------------

    def import_framework(self, case_package: dict[str, Any]) -> Any:
        return self.call("POST", "evidence", "/frameworks", json=case_package)

    def import_roster(self, oneroster_dir: Path) -> Any:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for csv in sorted(oneroster_dir.glob("*.csv")):
                archive.write(csv, csv.name)
        return self.call(
            "POST", "evidence", "/rosters", content=buffer.getvalue(), headers={"Content-Type": "application/zip"}
        )

    def record_evidence(self, items: Sequence[dict[str, Any]], token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        if len(items) == 1:
            return self.call("POST", "evidence", "/evidence", json=items[0], headers=headers)
        return self.call("POST", "evidence", "/evidence/batch", json=list(items), headers=headers)

    # --- mastery ------------------------------------------------------------------------------------

    def mastery_settings(self) -> dict[str, Any]:
        return self.call("GET", "mastery", "/settings")

    def change_mastery_settings(self, **changes: Any) -> Any:
        settings = {**self.mastery_settings(), **changes}
        settings.pop("version", None)
        return self.call("PUT", "mastery", "/settings", json=settings)

    def follow_competencies(self, section_id: str, competency_ids: Sequence[str]) -> Any:
        return self.eventually(
            lambda: self.call(
                "PUT",
                "mastery",
                f"/sections/{section_id}/grouping-competencies",
                json={"competency_ids": list(competency_ids)},
            ),
            f"section {section_id} following {list(competency_ids)}",
        )

    # --- scheduling ---------------------------------------------------------------------------------

    def define_flex_block(self, block: FlexBlockPlan) -> None:
        self.call(
            "PUT",
            "scheduling",
            f"/schools/{block.school_id}",
            json={"publish_mode": "auto", "timezone": block.timezone},
        )
        self.call(
            "PUT",
            "scheduling",
            f"/blocks/{block.block_id}",
            json={
                "school_id": block.school_id,
                "name": block.name,
                "weekday": block.weekday,
                "starts_at": block.starts_at,
                "minutes": block.minutes,
                "starts_on": block.starts_on.isoformat(),
                "section_ids": list(block.section_ids),
            },
        )
        for session in block.sessions:
            room_id = f"room-{session.session_id}"
            self.call(
                "PUT",
                "scheduling",
                f"/rooms/{room_id}",
                json={"school_id": block.school_id, "name": f"Room for {session.title}", "capacity": session.capacity},
            )
            if session.teacher_id:
                self.call(
                    "PUT",
                    "scheduling",
                    f"/teachers/{session.teacher_id}",
                    json={
                        "school_id": block.school_id,
                        "name": session.teacher_name or session.teacher_id,
                        "expertise": list(session.competency_ids),
                        "availability": [{"weekday": block.weekday, "starts_at": "07:00", "ends_at": "17:00"}],
                    },
                )
            body: dict[str, Any] = {
                "block_id": block.block_id,
                "title": session.title,
                "kind": session.kind,
                "room_id": room_id,
                "teacher_id": session.teacher_id,
                "competency_ids": list(session.competency_ids),
            }
            if session.band is not None:
                body["band"] = {"lowest": session.band[0], "highest": session.band[1]}
            self.call("PUT", "scheduling", f"/sessions/{session.session_id}", json=body)

    def session_of(self, block_id: str, student_id: str) -> str | None:
        """The session a student is in on the block's published schedule (None before one is published)."""
        try:
            schedule = self.call("GET", "scheduling", f"/blocks/{block_id}/schedule")
        except ScenarioError:
            return None
        return next(
            (s["session_id"] for g in schedule["groups"] for s in g["students"] if s["student_id"] == student_id), None
        )

    # --- notify -------------------------------------------------------------------------------------

    def guardian_preferences(self, guardian_id: str) -> dict[str, Any]:
        return self.eventually(
            lambda: self.call("GET", "notify", f"/guardians/{guardian_id}/preferences"),
            f"guardian {guardian_id} known to notify",
        )

    def set_guardian_preferences(self, guardian_id: str, **changes: Any) -> Any:
        preferences = {**self.guardian_preferences(guardian_id), **changes}
        return self.call("PUT", "notify", f"/guardians/{guardian_id}/preferences", json=preferences)


@dataclass(frozen=True)
class SessionPlan:
    session_id: str
    title: str
    kind: str
    competency_ids: tuple[str, ...]
    capacity: int
    band: tuple[int, int] | None = None
    teacher_id: str | None = None
    teacher_name: str | None = None


@dataclass(frozen=True)
class FlexBlockPlan:
    block_id: str
    school_id: str
    name: str
    section_ids: tuple[str, ...]
    sessions: tuple[SessionPlan, ...]
    weekday: str = "TH"
    starts_at: str = "10:00"
    minutes: int = 45
    timezone: str = "America/New_York"
    starts_on: date = field(default_factory=lambda: next_weekday(date.today(), 3))


def skill_group_sessions(
    competencies: Sequence[tuple[str, str]], students: int, teachers: Sequence[tuple[str, str]]
) -> tuple[SessionPlan, ...]:
    """Two skill groups per competency (reteach: levels 0-1, extend: levels 2-3) and an open studio,
    each with room for the whole cohort so capacity never forces a worse fit in the demo."""
    sessions: list[SessionPlan] = []
    for index, (competency_id, code) in enumerate(competencies):
        for band, label in (((0, 1), "Reteach"), ((2, 3), "Extend")):
            # a teacher can be in one place at a time: sessions beyond the staff have none
            teacher_id, teacher_name = teachers[len(sessions)] if len(sessions) < len(teachers) else (None, None)
            sessions.append(
                SessionPlan(
                    f"{label.lower()}-{index}",
                    f"{label}: {code}",
                    "skill_group",
                    (competency_id,),
                    students,
                    band,
                    teacher_id,
                    teacher_name,
                )
            )
    sessions.append(SessionPlan("open-studio", "Open studio", "open_studio", (), students))
    return tuple(sessions)


def next_weekday(after: date, weekday: int) -> date:
    """The first date strictly after `after` falling on `weekday` (0 = Monday)."""
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)
