"""Models of the connectivity operations: the mode, changing it, and a change's outcome."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from webui.api.contract import Out, Strict
from webui.api.schemas import Timestamp
from webui.connectivity import policy, state

MODE = Literal[tuple(policy.MODES)]
CHANGE_STATE = Literal[state.CHANGE_STATES]


class NewMode(Strict):
    mode: MODE


class HookRun(Out):
    name: str = Field(description="The hook's file name in `connectivity.d`.")
    mode: MODE = Field(description="The mode the hook ran for.")
    ok: bool
    exit_status: int | None = Field(description="Null when it timed out or did not start.")
    timed_out: bool
    outcome: str = Field(description="What happened, in words.")
    output: str = Field(description="The last part of what it wrote.")


class ConnectivityMode(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"mode": "partially_disconnected", "changed_at": "2026-11-26T10:00:00Z",
         "changed_by": "admin"}]})
    mode: MODE
    changed_at: Timestamp | None = Field(description="Null while the default is in force.")
    changed_by: str | None


class ModeChanged(ConnectivityMode):
    hooks: list[HookRun] = Field(description="The hooks that ran, in order.")


class ModeChange(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": "9c1e0b7d3a654f2a", "state": "running", "requested": "fully_disconnected",
         "requested_by": "admin", "requested_at": "2026-11-26T10:00:00Z", "finished_at": None,
         "detail": None, "previous": None, "mode": None, "failed_hook": None, "hooks": [],
         "rollback_hooks": []}]})
    id: str
    state: CHANGE_STATE = Field(
        description="`rolled_back`: a hook failed and the previous mode was restored; "
                    "`refused`: another change was running; `failed`: it could not run.")
    requested: MODE = Field(description="The mode asked for.")
    requested_by: str | None
    requested_at: Timestamp
    finished_at: Timestamp | None
    detail: str | None = Field(description="Why the mode did not change; null otherwise.")
    previous: MODE | None = Field(description="The mode before; null until the hooks ran.")
    mode: MODE | None = Field(description="The mode in force after; null until the hooks ran.")
    failed_hook: str | None
    hooks: list[HookRun]
    rollback_hooks: list[HookRun] = Field(description="The hooks run again for the previous "
                                                      "mode after a failure.")
