"""Sending a ticket bundle to the support endpoint over HTTPS, with retries and backoff."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from diagnostics.proxy import Proxy, applies
from webui.downloads import content_disposition

if TYPE_CHECKING:
    import requests

RETRIES = 3
BACKOFF = 0.5
BACKOFF_MAX = 10
RETRY_STATUSES = (502, 503, 504)
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 120
ANSWER_LIMIT = 1000


class UploadError(Exception):
    """The bundle did not reach the endpoint; the message says why, for the admin."""


class EndpointUnusable(UploadError):
    """The configured endpoint cannot be used at all (none, not HTTPS, no CA file)."""


@dataclass(frozen=True)
class UploadReceipt:
    """What the endpoint answered to a successful upload."""

    status: int
    answer: str


def session() -> requests.Session:
    """A session that retries connection errors and 502/503/504 answers with backoff.

    A certificate that fails verification is not retried: it will not change in a second.
    """
    # requests and urllib3 load only when a ticket is sent: the service stays small meanwhile.
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=RETRIES, connect=RETRIES, read=0, other=0, status=RETRIES,
                  backoff_factor=BACKOFF, backoff_max=BACKOFF_MAX,
                  status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"POST"}),
                  raise_on_status=False)
    http = requests.Session()
    # The device's own proxy setting decides, not the service's environment.
    http.trust_env = False
    http.mount("https://", HTTPAdapter(max_retries=retry))
    return http


def check_endpoint(url: str, ca_file: str | None) -> None:
    """Raise :class:`EndpointUnusable` when the configured endpoint cannot be used at all."""
    if not url:
        raise EndpointUnusable("No upload endpoint is configured (WEBUI_SUPPORT_UPLOAD_URL). "
                          "Download the bundle or copy it to a USB drive instead.")
    if not url.lower().startswith("https://"):
        raise EndpointUnusable("The upload endpoint must be an https:// address "
                          "(WEBUI_SUPPORT_UPLOAD_URL).")
    if ca_file and not Path(ca_file).is_file():
        raise EndpointUnusable(f"The CA file for the upload endpoint does not exist: {ca_file} "
                          "(WEBUI_SUPPORT_UPLOAD_CA).")


def upload_bundle(path: Path, url: str, *, ca_file: str | None = None, ticket_id: str,
                  device: str, proxy: Proxy | None = None) -> UploadReceipt:
    """POST the bundle's bytes to ``url`` (HTTPS only), verifying the server with ``ca_file``
    or the system's CAs, through ``proxy`` unless its no-proxy list names the endpoint's host.
    Raises :class:`UploadError`."""
    check_endpoint(url, ca_file)
    headers = {"Content-Type": "application/zip", "X-Support-Ticket": ticket_id,
               "X-Device-Name": device,
               "Content-Disposition": content_disposition(path.name)}
    import requests

    http = session()
    via = proxy if applies(proxy, urlsplit(url).hostname or "") else None
    proxies = {"https": via.url()} if via else {}
    try:
        with open(path, "rb") as body:
            response = http.post(url, data=body, headers=headers, verify=ca_file or True,
                                 timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), proxies=proxies)
    except requests.exceptions.ProxyError as exc:
        raise UploadError(f"The web proxy {via.address} did not pass the upload on: "
                          f"{_reason(exc)}") from exc
    except requests.exceptions.SSLError as exc:
        raise UploadError(f"The upload endpoint's certificate could not be verified: "
                          f"{_reason(exc)}") from exc
    except requests.exceptions.RetryError as exc:
        raise UploadError(f"The upload endpoint kept failing after {RETRIES} retries: "
                          f"{_reason(exc)}") from exc
    except requests.exceptions.ConnectionError as exc:
        raise UploadError(f"Could not reach the upload endpoint: {_reason(exc)}") from exc
    except requests.exceptions.Timeout as exc:
        raise UploadError("The upload endpoint did not answer in time.") from exc
    except OSError as exc:
        raise UploadError(f"Could not read the bundle: {exc}") from exc
    finally:
        http.close()
    answer = response.text[:ANSWER_LIMIT]
    if not 200 <= response.status_code < 300:
        raise UploadError(f"The upload endpoint answered {response.status_code} "
                          f"{response.reason}: {answer.strip()[:200]}")
    return UploadReceipt(response.status_code, answer)


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, without the library's long wrapping."""
    while exc.args and isinstance(exc.args[0], Exception):
        exc = exc.args[0]
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
