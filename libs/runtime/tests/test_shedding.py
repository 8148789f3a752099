"""Load shedding over real HTTP (uvicorn on a free port, concurrent httpx clients): past the in-flight limit a
request is answered 503 with Retry-After while the accepted ones are still running, probes are never shed, nothing
accepted is lost, and a retry after the crowd passes succeeds."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from prometheus_client import REGISTRY
from test_chassis import served

from mosaic_runtime.app import create_service
from mosaic_runtime.settings import ServiceSettings
from sample_service.harness import MIGRATIONS
from sample_service.models import metadata

LIMIT = 4


class Gate:
    """Holds each request inside its handler until released, so 'full' is a fact, not a timing."""

    def __init__(self) -> None:
        self.entered: list[int] = []
        self.finished: list[int] = []
        self.open = asyncio.Event()
        self.delay = 0.0

    async def pass_through(self, n: int) -> None:
        self.entered.append(n)
        await self.open.wait()
        await asyncio.sleep(self.delay)
        self.finished.append(n)


def gated_service(tmp_path, gate: Gate, limit: int = LIMIT, wait: float = 0.0):  # type: ignore[no-untyped-def]
    settings = ServiceSettings(
        service_name="shedding",
        kafka_enabled=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/shed.db",
        max_in_flight_requests=limit,
        shed_retry_after_seconds=2,
        shed_wait_seconds=wait,
    )
    router = APIRouter()
    one_at_a_time = asyncio.Lock()

    @router.post("/serial/{n}")
    async def serial(n: int) -> dict[str, int]:
        """A resource that serves one request at a time (as one SQLite writer does): a crowd forms a queue."""
        async with one_at_a_time:
            await asyncio.sleep(0.05)
            gate.finished.append(n)
        return {"done": n}

    @router.post("/work/{n}")
    async def work(n: int) -> dict[str, int]:
        await gate.pass_through(n)
        return {"done": n}

    return create_service(settings, title="shedding", migrations=MIGRATIONS, metadata=metadata, routers=[router])


def shed_count() -> float:
    return REGISTRY.get_sample_value("mosaic_http_shed_total") or 0.0


async def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_past_the_limit_a_request_is_answered_503_while_the_accepted_ones_still_run(tmp_path):
    gate = Gate()
    async with served(gated_service(tmp_path, gate)) as client:
        shed_before = shed_count()
        accepted = [asyncio.create_task(client.post(f"/work/{n}")) for n in range(LIMIT)]
        await until(lambda: len(gate.entered) == LIMIT, "the accepted requests reach their handler")

        excess = await asyncio.gather(*(client.post(f"/work/{n}") for n in range(LIMIT, LIMIT + 6)))

        assert not gate.finished and not any(t.done() for t in accepted)  # answered while the door was full
        for reply in excess:
            assert reply.status_code == 503, reply.text
            assert reply.headers["Retry-After"] == "2"
            body = reply.json()
            assert body["shed"] is True and body["retry_after_seconds"] == 2
            assert "retry in 2 s" in body["detail"] and "nothing was recorded" in body["detail"]
        assert shed_count() - shed_before == 6
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(probe)).status_code == 200, probe  # never shed
        assert sorted(gate.entered) == list(range(LIMIT))  # a shed request never reached its handler

        gate.open.set()
        assert [(await t).json() for t in accepted] == [{"done": n} for n in range(LIMIT)]
        retried = await asyncio.gather(*(client.post(f"/work/{n}") for n in range(LIMIT, LIMIT + LIMIT)))
        assert [r.status_code for r in retried] == [200] * LIMIT


async def test_a_crowd_gets_answers_or_prompt_refusals_and_every_accepted_request_completes(tmp_path):
    gate = Gate()
    gate.open.set()
    gate.delay = 0.2
    crowd = 40
    async with served(gated_service(tmp_path, gate)) as client:
        replies = await asyncio.gather(*(client.post(f"/work/{n}") for n in range(crowd)))
        done = {r.json()["done"] for r in replies if r.status_code == 200}
        shed = [n for n, r in enumerate(replies) if r.status_code == 503]
        assert len(done) + len(shed) == crowd
        assert shed and len(done) >= LIMIT
        assert done == set(gate.finished)  # every request let in was answered, none was dropped
        assert all(replies[n].headers["Retry-After"] == "2" for n in shed)
        metrics = (await client.get("/metrics")).text
        assert "mosaic_http_shed_total" in metrics and "mosaic_http_in_flight_requests 0.0" in metrics
        for n in shed:  # one at a time: under the limit, each retry succeeds
            assert (await client.post(f"/work/{n}")).json() == {"done": n}


async def test_while_a_queue_stands_new_requests_are_shed_though_under_the_limit(tmp_path):
    gate = Gate()
    async with served(gated_service(tmp_path, gate, limit=1000, wait=0.2)) as client:
        shed_before = shed_count()
        first = [asyncio.create_task(client.post(f"/serial/{n}")) for n in range(40)]  # ~2 s of work, one at a time
        await until(lambda: len(gate.finished) >= 25, "25 answered: the last second's answers each waited > 0.2 s")

        late = await asyncio.gather(*(client.post(f"/serial/{n}") for n in range(100, 110)))

        assert [r.status_code for r in late] == [503] * 10 and late[0].headers["Retry-After"] == "2"
        assert shed_count() - shed_before == 10
        assert sorted(r.json()["done"] for r in await asyncio.gather(*first)) == list(range(40))  # none lost
        assert (await client.post("/serial/200")).json() == {"done": 200}  # the queue drained: let in again
