"""Models of the diagnostics operations: the catalogue, starting a run, and runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from diagnostics import Status
from webui import jobs
from webui.api.contract import Out, Paging, QueryNumber, Strict
from webui.api.schemas import Timestamp
from webui.troubleshooting import service

TEST_ID = Literal[tuple(test["id"] for test in service.tests())]
STATUS = Literal[tuple(status.value for status in Status)]
RUN_STATE = Literal[(*jobs.ACTIVE_STATES, *jobs.FINAL_STATES)]
MAX_RUNS_PER_PAGE = 100


class DiagnosticTest(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": "time_sync", "title": "Time synchronisation",
         "description": "Whether the clock is synchronised with an NTP server."}]})
    id: TEST_ID
    title: str
    description: str


class NewRun(Strict):
    tests: list[TEST_ID] | None = Field(
        None, min_length=1,
        description="Ids of the tests to run (GET /api/v1/diagnostics/tests); a repeated id "
                    "runs once. Null or left out: every test.")


class RunsQuery(Paging):
    per_page: QueryNumber = Field(20, ge=1, le=MAX_RUNS_PER_PAGE, description="Runs per page.")


class DiagnosticResult(Out):
    id: str = Field(description="The test's id.")
    title: str
    status: STATUS
    summary: str = Field(description="What the test found, in one line.")
    details: dict[str, Any] = Field(description="The facts the test read, by name.")
    recommended_action: str | None = Field(description="What to do about it; null when "
                                                       "nothing needs doing.")


class Run(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": "4f2a9c1e0b7d3a65", "state": "succeeded", "created_at": "2026-11-26T10:00:00Z",
         "started_at": "2026-11-26T10:00:00Z", "finished_at": "2026-11-26T10:00:04Z",
         "progress": 1.0, "created_by": "admin", "tests": ["time_sync"],
         "counts": {"warning": 1}, "error": None,
         "results": [{"id": "time_sync", "title": "Time synchronisation", "status": "warning",
                      "summary": "The clock is 3 s off", "details": {"offset_seconds": 3.1},
                      "recommended_action": "Check the NTP server."}]}]})
    id: str = Field(description="The run's id: 16 hexadecimal digits.")
    state: RUN_STATE
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    progress: float = Field(ge=0, le=1, description="Share of the tests finished, 0 to 1.")
    created_by: str | None = Field(description="Who started the run.")
    tests: list[str] = Field(description="The tests asked for, in catalogue order.")
    counts: dict[STATUS, int] = Field(description="How many results have each status present.")
    error: str | None = Field(description="Why the run stopped early; null otherwise.")
    results: list[DiagnosticResult] = Field(description="The finished tests, in the order asked.")
