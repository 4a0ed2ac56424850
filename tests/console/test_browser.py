"""The console in a real browser (Debian's headless Chromium) against a real api-server,
scheduler and moto's S3 over HTTP: what a customer-success colleague does without the
CLI. Set CONSOLE_SCREENSHOTS=docs/screenshots to refresh the README's screenshots."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.console.conftest import DAY, ORG, S3_CONN, USERS, Console

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.browser]

DAG_ID = "clickstream_daily"
DELIVERY_TIMEOUT_S = 300


class Page:
    """A thin helper over the driver: console paths, waits, flashes."""

    def __init__(self, driver: Any, console: Console) -> None:
        self.driver = driver
        self.console = console

    def open(self, path: str) -> None:
        self.driver.get(self.console.url + path)

    def wait(self, condition: Any, timeout: float = 30) -> Any:
        return WebDriverWait(self.driver, timeout).until(condition)

    def find(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def exists(self, selector: str) -> bool:
        try:
            self.find(selector)
        except NoSuchElementException:
            return False
        return True

    def heading(self) -> str:
        return self.find("h1").text

    def click(self, selector: str) -> None:
        self.wait(ec.element_to_be_clickable((By.CSS_SELECTOR, selector))).click()

    def click_and_wait_for_flash(self, selector: str) -> tuple[str, str]:
        """Submit a button; the next page's message and its kind (ok or error)."""
        old = self.find("body")
        self.click(selector)
        self.wait(ec.staleness_of(old), timeout=120)  # a probe or an API call can take a while
        flash = self.wait(ec.presence_of_element_located((By.CSS_SELECTOR, ".flash")))
        return flash.get_attribute("data-kind"), flash.find_element(By.CSS_SELECTOR, ".message").text

    def type(self, selector: str, text: str) -> None:
        field = self.find(selector)
        field.clear()
        field.send_keys(text)

    def login(self, user: str) -> None:
        """Through Airflow's own sign-in page, from the console's 401 page."""
        assert self.heading() == "Sign in to Airflow first"
        self.click("#login")
        self.wait(ec.presence_of_element_located((By.NAME, "username"))).send_keys(user)
        self.driver.find_element(By.NAME, "password").send_keys(USERS[user][1])
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(ec.text_to_be_present_in_element((By.ID, "user"), user))


@pytest.fixture
def shot(tmp_path: Path) -> Callable[[Any, str], None]:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def take(driver: Any, name: str) -> None:
        driver.save_screenshot(str(folder / f"{name}.png"))

    return take


def test_customer_success_adds_tests_and_redelivers_without_the_cli(
    console: Console, browser: Any, shot: Callable[[Any, str], None]
) -> None:
    page = Page(browser, console)
    s3 = console.s3()
    bucket = f"acme-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)

    page.open("/")
    page.login("cs")
    assert page.heading() == "Orgs"

    # Add an S3 destination through the form.
    page.click("a.button[href$='/subscriptions/new']")
    page.type("#f-org_id", ORG)
    Select(page.find("#f-report")).select_by_value("clickstream")
    page.type("#f-url", f"s3://{bucket}/daily/")
    page.type("#f-conn_id", S3_CONN)
    shot(browser, "add-subscription")
    kind, message = page.click_and_wait_for_flash("#save")
    sub = console.store().find(ORG, "clickstream", f"s3://{bucket}/daily")
    assert sub is not None, message
    assert (kind, message) == ("ok", f"added subscription {sub.id}: {ORG} clickstream -> s3://{bucket}/daily")
    assert page.find("[data-field=conn_id]").text == S3_CONN

    # Test it: green.
    kind, message = page.click_and_wait_for_flash("#test")
    assert kind == "ok", message
    assert message.endswith(f"s3://{bucket}/daily is writable (probe object written, verified and deleted)")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # the probe is gone

    # Break it (the customer deleted the bucket) and test again: the cause, in words.
    s3.delete_bucket(Bucket=bucket)
    kind, message = page.click_and_wait_for_flash("#test")
    assert (kind, message) == ("error", f"error: S3 bucket '{bucket}' does not exist")
    shot(browser, "subscription-test-failed")

    # Fixed; re-deliver a day: an Airflow run of the family DAG, linked from the message.
    s3.create_bucket(Bucket=bucket)
    console.cluster.wait_for_dag(DAG_ID)
    page.type("#redeliver-day", DAY.isoformat())
    kind, message = page.click_and_wait_for_flash("#redeliver")
    assert kind == "ok", message
    assert message.startswith(f"re-delivery of {DAY} requested: {DAG_ID} run manual__"), message
    run_id = message.rsplit(" run ", 1)[1]
    link = page.find(".flash .airflow-link")
    assert link.get_attribute("target") == "_top"
    assert link.get_attribute("href").startswith(f"{console.base}/dags/{DAG_ID}/runs/manual__")

    # The delivery appears on the subscription's page with its status.
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    row = None
    while time.monotonic() < deadline:
        page.open(f"/subscriptions/{sub.id}")
        rows = [
            r for r in page.all("tr[data-delivery]") if r.find_element(By.CSS_SELECTOR, "td").text == str(DAY)
        ]
        if rows and rows[0].get_attribute("data-status") in ("delivered", "failed", "blocked"):
            row = rows[0]
            break
        time.sleep(3)
    assert row is not None, (
        f"no finished delivery after {DELIVERY_TIMEOUT_S}s\n{console.cluster.diagnostics()}"
    )
    assert row.get_attribute("data-status") == "delivered", row.text
    assert "clickstream_2024-11-04.csv" in row.text
    assert console.cluster.run_state(DAG_ID, run_id) in ("running", "success")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "daily/clickstream_2024-11-04.csv" in keys
    shot(browser, "subscription")

    # Its quality checks: names and counts.
    row.find_element(By.LINK_TEXT, "checks").click()
    page.wait(ec.presence_of_element_located((By.CSS_SELECTOR, "table.checks")))
    assert len(page.all("tr[data-check]")) > 3
    shot(browser, "delivery-checks")

    page.open(f"/org?org={ORG}")
    assert [r.get_attribute("data-subscription") for r in page.all("tr[data-subscription]")] == [str(sub.id)]
    page.open("/")

    # Inside Airflow's UI: its navigation entry frames the console.
    browser.get(f"{console.base}/plugin/flatexport")
    frame = page.wait(ec.presence_of_element_located((By.TAG_NAME, "iframe")))
    assert frame.get_attribute("src") == f"{console.base}/flatexport/"
    browser.switch_to.frame(frame)
    page.wait(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Orgs"))
    browser.switch_to.default_content()
    shot(browser, "in-airflow")
    page.open(f"/deliveries?org={ORG}&status=delivered")
    assert page.all("tr[data-status=delivered]")

    # Switched off again, so later tests' runs leave this customer alone.
    page.open(f"/subscriptions/{sub.id}")
    kind, message = page.click_and_wait_for_flash("#toggle")
    assert message == f"disabled subscription {sub.id}: {ORG} clickstream -> s3://{bucket}/daily"


def test_a_viewer_can_look_but_not_change(console: Console, browser: Any) -> None:
    org = f"org_view_{uuid.uuid4().hex[:6]}"
    sub = console.store().add_subscription(
        org_id=org, report="clickstream", destination="file:///srv/exports/viewer", enabled=False
    )
    page = Page(browser, console)
    page.open(f"/subscriptions/{sub.id}")
    page.login("viewer")
    assert page.heading().startswith(f"Subscription {sub.id}: clickstream")  # back where they started
    assert page.find("[data-field=destination]").text == "file:///srv/exports/viewer"
    for control in ("#test", "#edit", "#toggle", "#remove", "#redeliver", "form[method=post]"):
        assert not page.exists(control), control
    assert "You can look, not change" in page.find(".actions").text

    page.open("/")
    assert not page.exists("a.button[href$='/subscriptions/new']")
    for path in ("/subscriptions/new", f"/subscriptions/{sub.id}/edit", f"/subscriptions/{sub.id}/remove"):
        page.open(path)
        assert page.heading() == "Not allowed", path
        assert "You may not" in page.find("#detail").text
    assert console.store().get(sub.id) == sub
