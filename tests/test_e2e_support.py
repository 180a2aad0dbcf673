"""Troubleshooting > Support in Chromium: a package made, followed and downloaded; a ticket."""

import json
import re
import zipfile

import pytest

from e2e_support import screenshot, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.e2e

SYSTEM = "Operating system, kernel, host name, uptime and clock"
AUDIT = "Audit log export of the web UI"


def test_package_is_made_followed_and_downloaded_then_a_ticket_bundled(live_server,
                                                                        browser_page):
    page, server = browser_page, live_server
    sign_in(page, server)
    page.get_by_role("link", name="Support", exact=True).click()
    page.wait_for_url("**/troubleshooting/support/")
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Clear all").click()
    page.get_by_label(SYSTEM).check()
    page.get_by_label(AUDIT).check()
    page.get_by_label("Journal and kernel log window").select_option("6")
    page.get_by_role("button", name="Create support package").click()
    page.wait_for_url("**/troubleshooting/support/")
    packages = page.locator("#packages")
    first_view = packages.inner_text()
    assert "Making a support package" in first_view or "Finished" in first_view
    download_link = packages.get_by_role("link", name=re.compile("^Download"))
    download_link.wait_for(timeout=60_000)
    assert "Finished" in packages.inner_text()
    screenshot(page, "support-package-ready")

    with page.expect_download() as caught:
        download_link.click()
    download = caught.value
    assert re.fullmatch(r"supportpackage-edge-e2e-\d{8}T\d{6}Z\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [c["id"] for c in manifest["collectors"]] == ["system", "audit"]
    assert manifest["options"]["since_hours"] == 6
    package_name = download.suggested_filename

    page.get_by_role("link", name="File a support ticket…").click()
    page.wait_for_url("**/troubleshooting/support/ticket")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Summary").fill("Uploads stall every night")
    page.get_by_label("Problem type").select_option("data_transfer")
    page.get_by_label("B — Moderate impact").check()
    page.get_by_label("When did it start?").fill("2026-11-20T22:15")
    page.get_by_label("Description").fill("Share uploads stop at 02:00 and resume at 06:00.")
    page.get_by_label("Contact name").fill("Ada Field")
    page.get_by_role("textbox", name="E-mail").fill("ada@example.com")
    package_choice = page.get_by_label("Support package")
    assert package_name in package_choice.locator("option").nth(1).inner_text()
    package_choice.select_option(index=1)
    page.get_by_role("button", name="Create ticket bundle").click()
    page.wait_for_url(re.compile(r".*/troubleshooting/support/tickets/[0-9a-f]{16}$"))
    bundle_link = page.get_by_role("link", name="Download bundle")
    bundle_link.wait_for(timeout=60_000)
    assert serious_accessibility_violations(page) == []
    screenshot(page, "support-ticket-ready")

    with page.expect_download() as caught:
        bundle_link.click()
    bundle = caught.value
    assert re.fullmatch(r"supportticket-edge-e2e-\d{8}T\d{6}Z\.zip", bundle.suggested_filename)
    with zipfile.ZipFile(bundle.path()) as archive:
        names = archive.namelist()
        ticket = json.loads(archive.read("ticket.json"))
    assert package_name in names and "SHA256SUMS" in names
    assert ticket["summary"] == "Uploads stall every night"
    assert ticket["severity"] == "B" and ticket["contact_method"] == "email"
