"""/docs works offline: headless Chromium loads it from the real API process with every host
but the API's blocked, and finds the operations listed. Without Chromium: skipped locally,
a failure under CI=true."""

import re
import subprocess
import tempfile

import httpx

from tests.browser import FAILED_LOAD, artifacts_dir, chromium
from tests.conftest import TEST_DATABASE_URL
from tests.live_api import api_environment, live_api
from tests.served_app import served_app

# Every name resolves to nothing, except the API's loopback address.
OFFLINE = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def render(url: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--host-resolver-rules={OFFLINE}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=20000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=180,
            check=False,
        )


def test_docs_load_offline_and_list_the_operations(migrated_database):
    artifacts = artifacts_dir()
    with live_api(api_environment(DATABASE_URL=TEST_DATABASE_URL), artifacts / "docs-api.log") as url:
        page = httpx.get(f"{url}/docs").text
        sources = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert sources and all(s.startswith("/docs-assets/") for s in sources), sources
        for source in sources:
            assert httpx.get(f"{url}{source}").status_code == 200, source
        done = render(f"{url}/docs")
        redoc = render(f"{url}/redoc")
    (artifacts / "docs.html").write_text(done.stdout)
    (artifacts / "docs-chromium.log").write_text(done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not [line for line in done.stderr.splitlines() if FAILED_LOAD.search(line)], done.stderr[-3000:]
    listed = re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', done.stdout)
    document = served_app().openapi()
    # Swagger UI lists the webhooks (one per event type) after the paths, by their names.
    operations = [*document["paths"].items(), *document["webhooks"].items()]
    assert len(listed) == sum(len(item) for _, item in operations)
    assert set(listed) == {name for name, _ in operations}
    assert "/v1/entities" in redoc.stdout, "ReDoc rendered no operation"
