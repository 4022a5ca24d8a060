"""protloc serve: the JSON API (submit, poll, fetch; the same rows as protloc predict --format json), its limits and
bad inputs, a bounded load test on 127.0.0.1, and the page driven in headless Chromium (XSS included)."""
import concurrent.futures
import gzip
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from protloc.apps.cli import main
from protloc.data import sequences
from protloc.prediction import presets, table

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = list(sequences.read_fasta(presets.EXAMPLES))
pytestmark = pytest.mark.slow


def fasta_of(records):
    return "".join(f">{r.description}\n{r.sequence}\n" for r in records)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from protloc.apps.serve.app import create_app
    from protloc.prediction.predictor import Localizer

    cache = tmp_path_factory.mktemp("cache")
    localizer = Localizer.from_preset("pretrained", chunk_size=64, cache_dir=cache)
    with TestClient(create_app(localizer, max_upload_bytes=200_000, max_jobs=3)) as test_client:
        yield test_client


def finished(client, job_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_submit_poll_and_fetch_give_protloc_predicts_json_rows(client, tmp_path):
    submitted = client.post("/api/jobs", content=fasta_of(EXAMPLES).encode())
    assert submitted.status_code == 202 and submitted.json()["total"] == 11
    job = submitted.json()["id"]
    assert finished(client, job)["status"] == "done"
    served = client.get(f"/api/jobs/{job}/results").json()
    path = tmp_path / "in.fasta"
    path.write_text(fasta_of(EXAMPLES))
    assert main(["predict", str(path), "--format", "json", "-o", str(tmp_path / "out.json"), "--model", "pretrained"]) == 0
    expected = json.loads((tmp_path / "out.json").read_text())
    assert served["columns"] == list(expected[0]) and len(served["rows"]) == len(expected) == 11
    assert table.same_rows([row.values() for row in served["rows"]], [row.values() for row in expected], 1e-6)
    tsv = client.get(f"/api/jobs/{job}/results?format=tsv")
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert tsv.text.splitlines()[0].split("\t") == served["columns"]
    protein = client.get(f"/api/jobs/{job}/proteins/0").json()
    assert protein["row"] == served["rows"][0] and protein["track"]["kind"] == "occlusion"
    assert len(protein["track"]["values"]) == len(protein["track"]["residues"]) == min(848, 1000)
    assert client.get(f"/api/jobs/{job}/proteins/11").status_code == 404
    assert client.get("/api/jobs/unknown").status_code == 404


def test_gzipped_uploads_are_read_and_bad_ones_get_the_clis_one_line_message(client):
    import gzip

    job = client.post("/api/jobs", content=gzip.compress(fasta_of(EXAMPLES[:2]).encode())).json()["id"]
    assert finished(client, job)["status"] == "done"
    bad = client.post("/api/jobs", content=b">P1\nMKV\n>P2\nMK1V\n")
    assert bad.status_code == 400
    assert bad.json()["detail"] == ("upload, record 'P2', position 3: invalid character '1' (allowed: the 20 standard "
                                    "residues, B Z J X U O, any case, one trailing '*')")
    assert client.post("/api/jobs", content=b"hello").status_code == 400
    assert client.post("/api/jobs", content=b"").json()["detail"] == "upload: no FASTA records (the input is empty)"


def test_a_multipart_upload_is_read_and_the_openapi_description_declares_the_body(client):
    """curl -F file=@x.fasta posts a multipart form: its file field is the FASTA file, as the body is otherwise."""
    job = client.post("/api/jobs", files={"file": ("x.fasta", fasta_of(EXAMPLES[:3]).encode())}).json()["id"]
    assert finished(client, job)["status"] == "done"
    assert [row["id"] for row in client.get(f"/api/jobs/{job}/results").json()["rows"]] == [
        r.id for r in EXAMPLES[:3]]
    gzipped = client.post("/api/jobs", files={"file": ("x.fasta.gz", gzip.compress(fasta_of(EXAMPLES[:2]).encode()))})
    assert gzipped.status_code == 202 and gzipped.json()["total"] == 2
    bad = client.post("/api/jobs", files={"file": ("x.fasta", b">P1\nMK1V\n")})
    assert bad.status_code == 400 and "position 3" in bad.json()["detail"]
    none = client.post("/api/jobs", data={"text": ">P1\nMKV\n"}, headers={"content-type": "multipart/form-data; boundary=x"})
    assert none.status_code == 400 and none.json()["detail"].startswith("upload:")
    two = client.post("/api/jobs", files=[("file", ("a.fasta", b">P1\nMKV\n")), ("file", ("b.fasta", b">P2\nMKV\n"))])
    assert two.status_code == 400 and two.json()["detail"].startswith("upload:")
    body = client.get("/openapi.json").json()["paths"]["/api/jobs"]["post"]["requestBody"]
    assert body["required"] and {"application/octet-stream", "text/plain", "multipart/form-data"} <= set(body["content"])
    assert body["content"]["multipart/form-data"]["schema"]["required"] == ["file"]


def test_an_oversized_upload_and_too_many_jobs_are_refused(client):
    too_big = client.post("/api/jobs", content=(">P1\n" + "M" * 200_001 + "\n").encode())
    assert too_big.status_code == 413 and "larger than 200,000 bytes" in too_big.json()["detail"]
    answers = [client.post("/api/jobs", content=fasta_of(EXAMPLES).encode()).status_code for _ in range(6)]
    assert 429 in answers and answers[0] == 202


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `protloc serve` on 127.0.0.1 (its own process), ready to answer."""
    import httpx

    port = free_port()
    environment = {**os.environ, "PROTLOC_CACHE_DIR": str(tmp_path_factory.mktemp("served-cache"))}
    process = subprocess.Popen([sys.executable, "-m", "protloc.apps.cli", "serve", "--port", str(port), "--max-jobs", "25"],
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            httpx.get(f"{base}/api/model", timeout=2)
            break
        except httpx.HTTPError:
            assert process.poll() is None and time.time() < deadline, process.stderr.read()
            time.sleep(0.5)
    yield base, process
    process.terminate()
    process.wait(timeout=30)


def resident_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_twenty_concurrent_jobs_of_fifty_proteins_complete_correctly_with_bounded_memory(server, tmp_path):
    import httpx

    base, process = server
    pool = [r for r in sequences.read_fasta(REPO.parent / "shared" / "data" / "multiloc" / "nuclear.fasta")][:400]
    jobs = [pool[i * 20:i * 20 + 50] for i in range(20)]
    path = tmp_path / "all.fasta"
    path.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in pool[:430]))
    assert main(["predict", str(path), "--format", "json", "-o", str(tmp_path / "all.json")]) == 0
    expected = {row["id"]: row for row in json.loads((tmp_path / "all.json").read_text())}
    before = resident_mib(process.pid)

    def run(records):
        with httpx.Client(base_url=base, timeout=60) as http:
            job = http.post("/api/jobs", content=fasta_of(records).encode())
            if job.status_code != 202:
                return job.status_code, job.json()["detail"]
            job_id = job.json()["id"]
            while http.get(f"/api/jobs/{job_id}").json()["status"] not in ("done", "failed"):
                time.sleep(0.3)
            return 200, http.get(f"/api/jobs/{job_id}/results").json()["rows"]

    bad = [sequences.ProteinRecord("broken", "broken", "MK1V", 0)]
    with concurrent.futures.ThreadPoolExecutor(21) as threads:
        answers = list(threads.map(run, [*jobs[:10], bad, *jobs[10:]]))
    peak = resident_mib(process.pid)
    assert answers[10] == (400, "upload, record 'broken', position 3: invalid character '1' (allowed: the 20 standard "
                                "residues, B Z J X U O, any case, one trailing '*')")
    finished_jobs = answers[:10] + answers[11:]
    assert all(code == 200 for code, _ in finished_jobs)
    for (_, rows), records in zip(finished_jobs, jobs):
        assert [row["id"] for row in rows] == [r.id for r in records]
        # the default preset's rows (locations, membrane, ...), as protloc predict's
        assert table.same_rows([row.values() for row in rows], [expected[row["id"]].values() for row in rows], 1e-6)
    print(f"server memory: {before:.0f} MiB before, {peak:.0f} MiB after 20 jobs of 50 proteins")
    assert peak < before + 500  # bounded: no copy of the model or the reference per job


BROWSER_ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium():
    """The system's Chromium; where there is none, a skip, except under CI=true, where it is a failure."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    return path


def test_the_page_in_headless_chromium_shows_the_table_and_a_proteins_track(server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, _ = server
    hostile = sequences.ProteinRecord("<script>window.pwned=1</script>", "<script>window.pwned=1</script> "
                                      "<img src=x onerror=window.pwned=2>", EXAMPLES[1].sequence, 1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=BROWSER_ARGUMENTS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base + "/")
        page.fill("#fasta", fasta_of([EXAMPLES[0], hostile]))
        page.click("#run")
        page.wait_for_selector("#results tbody tr:nth-child(2)", timeout=120_000)
        cells = page.locator("#results tbody tr td:first-child").all_text_contents()
        assert cells == [EXAMPLES[0].id, hostile.id]  # the id as text, not as markup
        assert page.evaluate("window.pwned") is None
        assert "&lt;script&gt;" in page.inner_html("#results tbody")
        page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
        page.select_option("#filter-location", "golgi")
        assert page.locator("#results tbody tr").count() == 1  # the hostile record carries a Golgi protein
        page.select_option("#filter-location", "")
        page.click("#results tbody tr:first-child a")
        page.wait_for_selector("#track svg rect", timeout=120_000)
        assert page.text_content("#protein-title").startswith(EXAMPLES[0].id)
        assert page.locator("#bars svg rect").count() == 11
        assert page.locator("#track svg rect").count() == 848
        page.screenshot(path=str(tmp_path / "protein.png"), full_page=True)
        browser.close()
    assert (tmp_path / "results.png").stat().st_size > 10_000 and (tmp_path / "protein.png").stat().st_size > 10_000


def test_serve_refuses_bad_limits_in_one_line(capsys):
    assert main(["serve", "--max-jobs", "0"]) == 2
    assert "--max-jobs at least 1" in capsys.readouterr().err


def test_serve_refuses_a_busy_port_a_bad_port_and_a_missing_extra_in_one_line(tmp_path):
    environment = {**os.environ, "PROTLOC_CACHE_DIR": str(tmp_path / "cache")}
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = subprocess.run([sys.executable, "-m", "protloc.apps.cli", "serve", "--port", str(port)],
                                capture_output=True, text=True, env=environment, timeout=300)
    finally:
        busy.close()
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "in use" in lines[0] and "http://" not in lines[0], lines
    result = subprocess.run([sys.executable, "-m", "protloc.apps.cli", "serve", "--port", "99999"], capture_output=True,
                            text=True, env=environment, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "not a port number (1-65535)" in result.stderr
    code = "import sys; sys.modules['fastapi'] = None; from protloc.apps.cli import main; sys.exit(main(['serve']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "pip install 'protloc[serve]'" in lines[0], lines


def test_a_client_dropping_mid_upload_leaves_no_traceback_and_the_server_answering(server):
    base, process = server
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as dropping:
        dropping.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n>P1\nMKV")
    import httpx

    time.sleep(1)
    assert httpx.get(f"{base}/api/model", timeout=30).status_code == 200
    os.set_blocking(process.stderr.fileno(), False)
    logged = process.stderr.read() or ""
    assert "Traceback" not in logged and "ClientDisconnect" not in logged, logged[-2000:]


def test_a_decompression_bomb_is_refused_with_413(client):
    bomb = gzip.compress(b">P\nMMMMMMMMMM\n" * 30_000, compresslevel=9)  # 420,000 bytes; the fixture's limit: 200,000
    assert len(bomb) < 200_000
    answer = client.post("/api/jobs", content=bomb)
    assert answer.status_code == 413 and "once decompressed" in answer.json()["detail"]


def test_the_server_answers_others_while_it_checks_a_big_upload(server):
    """400,000 tiny records take seconds to check: other requests are answered meanwhile (the check runs in a thread
    of its own), and the upload still gets its 400 for the bad record at its end."""
    import httpx

    base, _ = server
    body = "".join(f">r{i}\nMKV\n" for i in range(400_000)) + ">bad\nMK1V\n"
    answered_during = []
    done = threading.Event()

    def poll():
        with httpx.Client(timeout=120) as http:
            while not done.is_set():
                if http.get(f"{base}/api/model").status_code == 200 and not done.is_set():
                    answered_during.append(True)
                time.sleep(0.1)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        answer = httpx.post(f"{base}/api/jobs", content=body.encode(), timeout=600)
    finally:
        done.set()
        poller.join()
    assert answer.status_code == 400 and "record 'bad'" in answer.json()["detail"]
    assert answered_during, "no other request was answered while the upload was checked"


def test_one_client_cannot_occupy_the_server_with_protein_pages(tmp_path, monkeypatch):
    """While protein pages are being computed (held here until released), a client's pages beyond
    TRACKS_PER_CLIENT are answered 429 at once, and status polls are answered: nothing waits on the pages."""
    from fastapi.testclient import TestClient

    from protloc.apps.serve import app as served
    from protloc.apps.serve.jobs import Jobs
    from protloc.prediction.predictor import Localizer

    monkeypatch.setattr(served, "TRACK_THREADS", served.TRACKS_PER_CLIENT)  # every admitted page starts at once
    localizer = Localizer.from_preset("multiloc", homology_evidence=False, chunk_size=64, cache_dir=tmp_path)
    with TestClient(served.create_app(localizer)) as client:
        held_pages(client, monkeypatch, Jobs, served.TRACKS_PER_CLIENT)


def held_pages(client, monkeypatch, Jobs, limit):
    job = client.post("/api/jobs", content=fasta_of(EXAMPLES).encode()).json()["id"]
    assert finished(client, job)["status"] == "done"
    release, inside, lock = threading.Event(), [], threading.Lock()
    computed = Jobs.track

    def held(self, job_object, index):
        with lock:
            inside.append(index)
        assert release.wait(timeout=300)
        return computed(self, job_object, index)

    monkeypatch.setattr(Jobs, "track", held)
    with concurrent.futures.ThreadPoolExecutor(limit + 2) as pool:
        pages = [pool.submit(client.get, f"/api/jobs/{job}/proteins/{index}") for index in range(limit)]
        deadline = time.time() + 120
        while len(inside) < limit:
            assert time.time() < deadline, f"only {len(inside)} pages started"
            time.sleep(0.05)
        refused = [client.get(f"/api/jobs/{job}/proteins/{limit + i}") for i in range(2)]
        poll = client.get(f"/api/jobs/{job}")
        assert all(not page.done() for page in pages)  # still held: the answers above did not wait for them
        release.set()
        answers = [page.result() for page in pages]
    assert [r.status_code for r in refused] == [429, 429] and "for this client already" in refused[0].json()["detail"]
    assert poll.status_code == 200 and all(answer.status_code == 200 for answer in answers)