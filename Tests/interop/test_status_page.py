"""The status page in a real browser (Debian's chromium, headless, driven by selenium): the example
model shows AVAILABLE, a served request changes the live figures, a version dropped in appears without
a reload, and a model whose name holds markup is shown as text. The screenshot is written to
test-artifacts/status-page.png.
"""

import http.client
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from conftest import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples/models/digits/1"
BODY = (REPO / "examples/requests/digits.json").read_bytes()
HOSTILE = '<script>document.title="owned"</script><img src=x onerror="document.title=\'owned\'">'
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as folder:
        for name in ("digits", "drop", "hostile"):
            shutil.copytree(DIGITS, Path(folder) / name / "1")
        config = Path(folder) / "models.config"
        escaped = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
        config.write_text(
            "model_config_list {\n"
            f'  config {{ name: "digits" base_path: "{folder}/digits" version_labels {{ key: "stable" value: 1 }} }}\n'
            f'  config {{ name: "drop" base_path: "{folder}/drop" }}\n'
            f'  config {{ name: "{escaped}" base_path: "{folder}/hostile" }}\n'
            "}\n")
        process, port = start_server(f"--model_config_file={config}", "--version_settle_millis=0")
        try:
            yield port, Path(folder)
        finally:
            stop_server(process)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def section(browser, model):
    for candidate in browser.find_elements(By.CSS_SELECTOR, "section"):
        if candidate.get_attribute("data-model") == model:
            return candidate
    return None


def wait_for(condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            result = condition()
        except Exception:  # the page re-renders between reads
            result = None
        if result:
            return result
        time.sleep(0.1)
    return condition()


def versions(browser, model):
    rows = section(browser, model).find_elements(By.CSS_SELECTOR, "table:first-of-type tbody tr")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def figure(browser, model, key):
    return section(browser, model).find_element(By.CSS_SELECTOR, f'[data-figure="{key}"]').text


def test_status_page_in_a_browser(server, browser):
    port, folder = server
    browser.get(f"http://127.0.0.1:{port}/")
    assert browser.title == "model-server status"
    assert wait_for(lambda: versions(browser, "digits")[0][:3] == ["1", "AVAILABLE", "stable"])

    before = int(figure(browser, "digits", "requests"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):
        connection.request("POST", "/v1/models/digits:predict", body=BODY)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
    assert wait_for(lambda: int(figure(browser, "digits", "requests")) == before + 3)
    assert wait_for(lambda: figure(browser, "digits", "p50").startswith("≤"))

    shutil.copytree(DIGITS, folder / "drop" / "2")
    assert wait_for(lambda: versions(browser, "drop")[0][:2] == ["2", "AVAILABLE"])

    hostile = section(browser, HOSTILE)
    assert hostile is not None
    assert hostile.find_element(By.TAG_NAME, "h2").text == HOSTILE
    assert browser.title == "model-server status", "markup in a model name ran"
    assert browser.find_elements(By.CSS_SELECTOR, "main img") == []

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "status-page.png"))


def test_status_json_and_page_without_monitoring(server):
    port, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/v1/status")
    answer = connection.getresponse()
    assert answer.status == 200 and answer.getheader("content-type") == "application/json"
    status = json.loads(answer.read())
    names = [model["name"] for model in status["models"]]
    assert names == sorted(["digits", "drop", HOSTILE])
    connection.request("GET", "/status")
    page = connection.getresponse()
    body = page.read().decode()
    assert page.status == 200 and page.getheader("content-type").startswith("text/html")
    assert "<script>document.title" not in body, "a model name reached the page unescaped"
    connection.request("POST", "/")
    assert connection.getresponse().status == 405
