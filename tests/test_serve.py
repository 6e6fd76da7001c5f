"""``trnet serve`` (issue 26, item 6): the API end to end over HTTP, and its page in a real
headless browser.

A real exported toy package (``package_toy``: TRNet with the CRN SE) behind the real app
and a real uvicorn on a free port of 127.0.0.1, talked to with urllib: predictions equal
``EmotionRecognizer.predict_file`` (what ``trnet infer`` prints), every bad upload is a
4xx with one line of JSON. The page runs in Debian's Chromium driven by selenium through
``/usr/bin/chromedriver`` (``tools/chromium_local.sh`` installs both; skipped with its
reason where it cannot): it uploads a generated wav, records from Chromium's fake
microphone, and shows the label and the timeline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_main import run_main
from package_toy import long_speech, toy_package

from trnet.contract import CLASSES, SAMPLE_RATE
from trnet.infer.recognizer import EmotionRecognizer

pytest.importorskip("fastapi")  # the serve extra (tools/install.sh installs it with dev)
ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1_000_000
MAX_SECONDS = 20.0


@pytest.fixture(scope="module")
def pkg(tmp_path_factory) -> Path:
    return toy_package(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("audio")
    speech = long_speech(seconds_each=1.5)  # 9 s
    files = {"speech": d / "talk.wav", "stereo": d / "stereo 44k.flac"}
    sf.write(files["speech"], speech, SAMPLE_RATE, subtype="PCM_16")
    t = np.arange(int(2.5 * 44100)) / 44100
    tone = 0.2 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    sf.write(files["stereo"], np.stack([tone, 0.5 * tone], axis=1), 44100)
    return files


class Service:
    """The app of ``rec`` served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, rec: EmotionRecognizer) -> None:
        from trnet.serve.app import create_app
        from trnet.serve.server import listen, make_server, url
        from trnet.serve.upload import Limits

        self.sock = listen("127.0.0.1", 0)
        self.url = url(self.sock)
        limits = Limits(max_bytes=MAX_BYTES, max_seconds=MAX_SECONDS)
        self.server = make_server(create_app(rec, limits), log_level="warning")
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def request(
        self, path: str, data: object = None, headers: dict | None = None, method: str = ""
    ) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one request; an HTTP error status is returned too."""
        req = urllib.request.Request(
            self.url + path, data=data, headers=headers or {}, method=method or None
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


@pytest.fixture(scope="module")
def rec(pkg) -> EmotionRecognizer:
    return EmotionRecognizer.load(pkg)


@pytest.fixture(scope="module")
def service(rec):
    svc = Service(rec)
    yield svc
    svc.stop()


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of ``(field, file name or None, bytes)`` parts."""
    boundary = uuid.uuid4().hex
    body = b""
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _json_error(status: int, body: bytes) -> str:
    """The one line of an error response (and nothing else in it)."""
    assert 400 <= status < 500, (status, body)
    payload = json.loads(body)
    assert list(payload) == ["error"], payload
    line = payload["error"]
    assert "\n" not in line and "Traceback" not in line and line
    return line


# ---------------------------------------------------------------- the API


def test_health_names_the_package_and_the_limits(service, rec):
    status, headers, body = service.request("health")
    assert status == 200 and headers["content-type"] == "application/json"
    h = json.loads(body)
    assert h["status"] == "ok" and h["system"] == "trnet" and h["input"] == "blend"
    assert h["se"] is True and h["classes"] == list(CLASSES) and h["corpus"] == "toy"
    assert h["limits"] == {"max_mb": MAX_BYTES / 2**20, "max_seconds": MAX_SECONDS}


def test_predict_raw_and_multipart_give_what_infer_gives(service, rec, audio):
    want = rec.predict_file(audio["speech"])
    assert len(want.windows) == 4  # 9 s: windows of 4 s every 2 s
    data = audio["speech"].read_bytes()
    status, _, body = service.request("predict?name=talk.wav", data)
    assert status == 200, body
    raw = json.loads(body)
    assert raw["name"] == "talk.wav" and raw["label"] == want.label and raw["note"] is None
    assert raw["classes"] == list(CLASSES) and raw["system"] == "trnet"
    for key, value in want.probs.items():
        assert raw["probabilities"][key] == pytest.approx(value, abs=1e-12)
    assert raw["s"] == pytest.approx(want.s) and raw["snr_db"] == want.snr_db
    assert raw["duration"] == want.duration
    assert [(w["start"], w["end"]) for w in raw["windows"]] == [
        (w.start, w.end) for w in want.windows
    ]
    for got, w in zip(raw["windows"], want.windows, strict=True):
        assert got["label"] == w.label and got["speech"] == w.speech
        assert got["probabilities"] == pytest.approx(w.probs, abs=1e-12)
        assert got["s"] == pytest.approx(w.s) and got["snr_db"] == w.snr_db
    body, headers = multipart([("note", None, b"hello"), ("file", "dir/talk.wav", data)])
    status, _, form = service.request("predict", body, headers)
    assert status == 200, form
    assert json.loads(form) == raw  # the client's path is not part of the name


def test_any_rate_and_channel_count(service, rec, audio):
    body, headers = multipart([("file", "stereo 44k.flac", audio["stereo"].read_bytes())])
    status, _, out = service.request("predict", body, headers)
    assert status == 200, out
    res = json.loads(out)
    assert res["name"] == "stereo 44k.flac" and res["duration"] == 2.5
    want = rec.predict_file(audio["stereo"])
    assert res["probabilities"] == pytest.approx(want.probs, abs=1e-12)


def _raw_http(service: Service, head: bytes, parts: list[bytes]) -> tuple[int, bytes]:
    """Send a request's head and ``parts`` of its body, then read the answer without
    sending the rest (urllib would stop at the server's early answer: a broken pipe)."""
    port = service.sock.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        for part in parts:
            conn.sendall(part)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < int(
            re.search(rb"(?i)content-length: *(\d+)", reply).group(1)
        ):
            data = conn.recv(65536)
            assert data, reply
            reply += data
    status_line, rest = reply.split(b"\r\n", 1)
    return int(status_line.split()[1]), rest.split(b"\r\n\r\n", 1)[1]


def _wav_bytes(tmp_path: Path, wave: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    path = tmp_path / f"w{uuid.uuid4().hex}.wav"
    sf.write(path, wave, sr, subtype=subtype)
    return path.read_bytes()


def test_bad_uploads_are_a_4xx_with_one_line(service, tmp_path):
    """Not audio, empty, too big (declared or streamed), too long, too short, NaN samples,
    a malformed or fileless multipart body, a wrong route or method: each a 4xx whose JSON
    is one line naming the upload."""
    silence = np.zeros(int(25 * 8000), np.float32)  # 25 s at 8 kHz: 400 kB, over 20 s
    short = _wav_bytes(tmp_path, 0.1 * np.ones(50, np.float32), SAMPLE_RATE)  # < 25 ms
    nan = _wav_bytes(tmp_path, np.full(4000, np.nan, np.float32), SAMPLE_RATE, "FLOAT")
    cases = {
        "not audio": (b"this is not audio\n", "notes.wav", 415, "notes.wav: not a readable"),
        "empty": (b"", "empty.wav", 400, "empty.wav: empty upload"),
        "too long": (_wav_bytes(tmp_path, silence, 8000), "long.wav", 422, "over the 20 s"),
        "too short": (short, "short.wav", 422, "shorter than one analysis frame"),
        "NaN": (nan, "nan.wav", 422, "nan.wav: audio has NaN or infinite samples"),
    }
    for case, (data, name, status, words) in cases.items():
        for how in ("raw", "multipart"):
            if how == "raw":
                got = service.request(f"predict?name={name}", data)
            else:
                got = service.request("predict", *multipart([("file", name, data)]))
            line = _json_error(got[0], got[2])
            assert got[0] == status and words in line, (case, how, line)
            assert line.startswith(f"{name}: "), (case, how, line)

    # too big: refused on the declared length, before the body is sent; a body without a
    # length (chunked) as soon as what was read passes the limit
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BYTES + 1}\r\n\r\n"
    status, body = _raw_http(service, head.encode(), [])
    assert status == 413 and "over 0.954 MB, the limit" in _json_error(status, body)
    head = "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (600_000, b"\0" * 600_000)
    status, body = _raw_http(service, head.encode(), [chunk, chunk])  # no last chunk
    assert status == 413 and _json_error(status, body).startswith("request body over 0.954 MB")

    no_file = multipart([("comment", None, b"where is the audio?")])
    status, _, body = service.request("predict", *no_file)
    assert status == 400 and "without a file" in _json_error(status, body)
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    status, _, body = service.request("predict", b"--xyz\r\nnonsense", headers)
    assert status == 400 and "multipart" in _json_error(status, body)
    status, _, body = service.request("predict", method="GET")
    assert status == 405 and _json_error(status, body) == "Method Not Allowed"
    status, _, body = service.request("nothing/here")
    assert status == 404 and _json_error(status, body) == "Not Found"


def test_a_bug_is_a_500_with_one_line_and_no_traceback(service, rec, audio, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug\nwith lines")

    monkeypatch.setattr(rec, "predict_file", broken)  # no real input reaches a bug
    status, _, body = service.request("predict?name=talk.wav", audio["speech"].read_bytes())
    assert status == 500
    assert json.loads(body) == {"error": "internal error (RuntimeError); see the server's log"}


def test_page_is_self_contained(service):
    status, headers, body = service.request("")
    assert status == 200 and headers["content-type"].startswith("text/html")
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    page = body.decode()
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


# ---------------------------------------------------------------- the command


def _free_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_serve_command_binds_localhost_and_stops_on_ctrl_c(pkg, audio):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trnet", "serve", str(pkg), "--port", "0", "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        line = proc.stderr.readline()  # the first line says where it listens
        assert line.startswith("trnet serve: trnet (") and " on http://127.0.0.1:" in line, line
        base = line.split(" on ", 1)[1].split()[0]
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "health", timeout=5) as resp:
                    assert json.loads(resp.read())["system"] == "trnet"
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        req = urllib.request.Request(base + "predict?name=t.wav", audio["speech"].read_bytes())
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert json.loads(resp.read())["label"] in CLASSES
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 130 and err.rstrip().endswith("interrupted"), err[-2000:]
    assert "Traceback" not in err


def test_serve_command_errors_are_one_line(pkg, tmp_path, monkeypatch, capsys):
    with _free_port() as busy:
        port = busy.getsockname()[1]
        taken = run_main(["serve", pkg, "--port", port], monkeypatch, capsys)
    assert taken.code == 1 and taken.error_line.startswith(f"--host 127.0.0.1 --port {port}:")
    assert "cannot listen" in taken.error_line
    bad_port = run_main(["serve", pkg, "--port", 70000], monkeypatch, capsys)
    assert bad_port.code == 1 and "not a TCP port" in bad_port.error_line
    size = run_main(["serve", pkg, "--max-mb", 0], monkeypatch, capsys)
    assert size.code == 1 and size.error_line.startswith("--max-mb: must be a finite number > 0")
    no_pkg = run_main(["serve", tmp_path / "nothing", "--port", 0], monkeypatch, capsys)
    assert no_pkg.code == 1 and str(tmp_path / "nothing") in no_pkg.error_line
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    missing = run_main(["serve", pkg, "--port", 0], monkeypatch, capsys)
    assert missing.error_line == "trnet serve needs uvicorn: pip install 'trnet[serve]'"


# ---------------------------------------------------------------- the page in Chromium


@pytest.fixture(scope="module")
def chrome():
    """Headless Chromium through /usr/bin/chromedriver (never selenium's manager, which
    would download a browser); skipped only where tools/chromium_local.sh cannot install
    it (not root, no apt-get, apt failed)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service as DriverService

    done = subprocess.run(
        ["bash", str(ROOT / "tools" / "chromium_local.sh")], capture_output=True, text=True
    )
    if done.returncode == 2:
        pytest.skip(f"no Chromium here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    browser, driver = done.stdout.split()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",  # allow the microphone without asking
        "--use-fake-device-for-media-stream",  # a generated beep as the microphone
        "--window-size=1000,1100",
    ):
        options.add_argument(arg)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_MANAGER_PATH", "/nonexistent/selenium-manager")  # fail, never fetch
        browser_session = webdriver.Chrome(
            service=DriverService(executable_path=driver), options=options
        )
    yield browser_session
    browser_session.quit()


def _wait(driver, condition, seconds: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)


def _shown(driver) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    find = driver.find_element
    return {
        "label": find(By.ID, "label").text,
        "summary": find(By.ID, "summary").text,
        "error": find(By.ID, "error").text if find(By.ID, "error").is_displayed() else "",
    }


def test_page_uploads_a_wav_records_and_draws_the_timeline(service, rec, audio, chrome, tmp_path):
    from selenium.webdriver.common.by import By

    chrome.get(service.url)
    _wait(chrome, lambda d: d.find_element(By.ID, "system").text.startswith("trnet: blend"))
    assert "20 s of audio" in chrome.find_element(By.ID, "limits").text

    chrome.find_element(By.ID, "file").send_keys(str(audio["speech"]))
    _wait(chrome, lambda d: "talk.wav" in _shown(d)["summary"] or _shown(d)["error"])
    want = rec.predict_file(audio["speech"])
    shown = _shown(chrome)
    assert shown["error"] == "" and shown["label"] == want.label
    assert shown["summary"].startswith("talk.wav · 9.0 s · 4 windows · SNR estimate ")
    probs = [li.text for li in chrome.find_elements(By.CSS_SELECTOR, "#probs li")]
    assert probs == [f"{c} {want.probs[c]:.2f}" for c in CLASSES]
    lines = chrome.find_elements(By.CSS_SELECTOR, "#timeline-svg polyline.prob")
    assert [line.get_attribute("data-class") for line in lines] == list(CLASSES)
    assert all(len(line.get_attribute("points").split()) == 4 for line in lines)
    assert len(chrome.find_elements(By.CSS_SELECTOR, "#timeline-svg rect.speech")) == 4
    for panel in ("snr_db", "s"):  # a blend system with an SE: both panels
        assert chrome.find_elements(By.CSS_SELECTOR, f"#timeline-svg .panel-{panel} polyline")
    loaded = chrome.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(u.startswith(service.url) for u in loaded), loaded

    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    chrome.find_element(By.ID, "file").send_keys(str(bad))
    _wait(chrome, lambda d: _shown(d)["error"])
    assert _shown(chrome)["error"].startswith("notes.wav: not a readable audio file")

    record = chrome.find_element(By.ID, "record")
    assert record.is_displayed()
    record.click()
    _wait(chrome, lambda d: d.find_element(By.ID, "status").text.startswith("recording"), 10)
    time.sleep(1.5)
    record.click()
    _wait(chrome, lambda d: "recording.wav" in _shown(d)["summary"] or _shown(d)["error"])
    shown = _shown(chrome)
    assert shown["error"] == "" and shown["label"] in CLASSES
    assert shown["summary"].startswith("recording.wav · ")
