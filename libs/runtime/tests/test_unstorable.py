"""A value PostgreSQL cannot hold is answered 422 saying which kind; other database errors stay 500s."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from mosaic_runtime.unstorable import unstorable_value


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


async def test_a_nul_character_or_an_overlong_id_is_the_callers_mistake() -> None:
    for sqlstate, words in (("22021", "NUL character"), ("22001", "longer than its field")):
        response = await unstorable_value(None, DBAPIError("INSERT …", {}, DriverError(sqlstate)))  # type: ignore[arg-type]
        assert response.status_code == 422
        assert words in response.body.decode()


async def test_any_other_database_error_is_still_a_server_error() -> None:
    failure = DBAPIError("SELECT 1/0", {}, DriverError("22012"))
    with pytest.raises(DBAPIError):
        await unstorable_value(None, failure)  # type: ignore[arg-type]
