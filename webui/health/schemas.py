"""Models of ``GET /api/v1/health``: the device's health and each test's latest result."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

import diagnostics
from diagnostics import Status
from webui.api.contract import Out
from webui.api.schemas import Timestamp

TEST_ID = Literal[tuple(test.id for test in diagnostics.catalogue())]
STATUS = Literal[tuple(status.value for status in Status)]


class TestHealth(Out):
    id: TEST_ID
    title: str
    status: STATUS | None = Field(description="The status of the test's latest result; null: "
                                              "the test never ran.")
    summary: str | None = Field(description="What the latest result found, in one line; null: "
                                             "the test never ran.")
    checked_at: Timestamp | None = Field(description="When the run holding the latest result "
                                                     "finished; null: never.")
    run_id: str | None = Field(description="The run holding the latest result "
                                           "(GET /api/v1/diagnostics/runs/<id>); null: none.")
    stale: bool = Field(description="True when the latest result is older than the test's "
                                    "scheduled interval (a day when it has none), or the test "
                                    "never ran.")


class Health(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "warning", "checked_at": "2026-11-26T10:15:04Z", "tests": [
            {"id": "time_sync", "title": "Time synchronisation", "status": "healthy",
             "summary": "The clock is synchronised", "checked_at": "2026-11-26T10:15:04Z",
             "run_id": "4f2a9c1e0b7d3a65", "stale": False},
            {"id": "disks", "title": "Disks", "status": "warning",
             "summary": "Disk sda has 8 reallocated sectors",
             "checked_at": "2026-11-26T10:00:02Z", "run_id": "0b7d3a654f2a9c1e",
             "stale": False}]}]})
    status: STATUS | None = Field(
        description="The worst latest result over all tests; a result older than a day, or a "
                    "test that never ran, counts as a warning at least. Null: no test has run.")
    checked_at: Timestamp | None = Field(description="When the newest result was found; null: "
                                                     "no test has run.")
    tests: list[TestHealth] = Field(description="Every diagnostic test, in catalogue order.")
