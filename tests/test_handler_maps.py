"""Each service's one handler map decides about every catalog type on the topics it reads."""

from __future__ import annotations

import importlib

import pytest

from mosaic_runtime.consumer import HandlerMap


@pytest.mark.parametrize("service", ["evidence", "mastery", "scheduling", "notify", "analytics"])
def test_every_service_decides_about_every_type_on_its_topics(service: str) -> None:
    handlers: HandlerMap = importlib.import_module(f"mosaic_{service}.consumers").HANDLERS
    handlers.check()
    decided = {*handlers.handled, *handlers.ignored, *handlers.dead_lettered}
    assert {t for cls in decided for t in [cls.topic()]} == set(handlers.topics())
