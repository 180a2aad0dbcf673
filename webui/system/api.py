"""``/api/v1/system``: set the host name, time zone and NTP servers through the backend."""

from __future__ import annotations

from flask import Blueprint

from webui import db
from webui.access import admin_required, current_actor
from webui.api.contract import operation
from webui.errors import problem
from webui.system import schemas, service
from webui.system.backends import Refused
from webui.system.views import configured_backend

bp = Blueprint("system_api", __name__, url_prefix="/api/v1/system")

BODY_FIELDS = {"hostname": "host_name", "timezone": "time_zone", "ntp": "servers"}
FAILED = "The host change failed"


def _apply(operation_name: str, value):
    try:
        outcome = service.apply(db.get_db(), configured_backend(), operation_name, value,
                                current_actor())
    except Refused as exc:
        return problem(422, str(exc), errors=[{"field": BODY_FIELDS[operation_name],
                                               "rule": exc.rule}])
    if not outcome.ok:
        return problem(502, outcome.error, title=FAILED, change=outcome.to_dict())
    return outcome.to_dict()


@bp.route("/hostname", methods=["POST"])
@admin_required
@operation("system", schemas.HostChange, body=schemas.HostNameRequest, errors=[502],
           example={"host_name": "edge-07"})
def set_host_name(body: schemas.HostNameRequest):
    """Set the host name (`hostnamectl set-hostname`).

    The device name shown in the UI is a setting of its own. 502 when the backend's command
    fails: `detail` has its exit status and first line of error, `change` what was tried.
    """
    return _apply("hostname", body.host_name)


@bp.route("/timezone", methods=["POST"])
@admin_required
@operation("system", schemas.HostChange, body=schemas.TimeZoneRequest, errors=[502],
           example={"time_zone": "Europe/Berlin"})
def set_time_zone(body: schemas.TimeZoneRequest):
    """Set the host time zone (`timedatectl set-timezone`).

    502 when the backend's command fails, as for the host name.
    """
    return _apply("timezone", body.time_zone)


@bp.route("/ntp", methods=["POST"])
@admin_required
@operation("system", schemas.HostChange, body=schemas.NtpRequest, errors=[502],
           example={"servers": ["ntp1.example.net", "192.0.2.123"]})
def set_ntp_servers(body: schemas.NtpRequest):
    """Give the host's time service these NTP servers.

    systemd-timesyncd gets a drop-in and a restart; chrony, when it is the service found, a
    sources file and a reload. 502 when writing or the command fails, as for the host name.
    """
    return _apply("ntp", body.servers)
