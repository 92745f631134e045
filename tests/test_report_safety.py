"""report.html is made to be shared: whatever text a run, a plugin or a folder someone hands you holds, the
page runs no script but its own, carries no local file, and its tables keep their rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import polebench
from polebench.bench import page as page_module
from polebench.bench.driver import rebuild_report
from polebench.bench.page import CSP, PAGE, SCRIPT
from tests.conftest import parse_page

SECRET = "TOP-SECRET-TOKEN-12345"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grid whose plugin fails with a hostile message, then an error.txt crafted in the folder, naming
    a secret file by its absolute path, the way a shared folder could."""
    folder = tmp_path_factory.mktemp("hostile")
    secret = folder / "secret.txt"
    secret.write_text(SECRET)
    grid = {
        "envs": ["CartPole-v1"],
        "seeds": 1,
        "agents": {"lqr": {"algo": "lqr"}, "evil": {"algo": "tests.plugin_agents:Hostile"}, "fails": {"algo": "pid"}},
    }
    result = polebench.benchmark(grid, log_folder=folder / "bench", workers=1)
    assert result.failed == 1  # the hostile plugin; lqr and pid finish
    crafted = next((folder / "bench" / "runs" / "fails").rglob("job.json")).parent / "error.txt"
    crafted.write_text(f"<script>alert('fromfile')</script> ![key]({secret}) ![k2](secret.txt)\n")
    for model in (folder / "bench" / "runs" / "fails").rglob("CartPole-v1.zip"):
        model.unlink()  # the pid job is now unfinished, and its crafted error is reported
    assert rebuild_report(folder / "bench") == 0
    return folder / "bench"


def test_no_script_runs_but_the_pages_own(hostile: Path) -> None:
    parsed = parse_page(hostile / PAGE)
    assert len(parsed.named("script")) == 1
    assert all(not name.startswith("on") for elements in parsed.tags.values() for attrs in elements for name in attrs)
    assert not [a for a in parsed.named("a") if str(a.get("href", "")).startswith("javascript")]
    text = (hostile / PAGE).read_text()
    assert text.count("<script") == 1 and text.count("<img") == len(parsed.named("img"))
    shown = " ".join(parsed.text)
    assert "<script>alert('errscript')</script>" in shown  # shown as text, as the plugin wrote it
    assert "<script>alert('fromfile')</script>" in shown


def test_the_policy_allows_only_the_pages_own_script_by_its_hash(hostile: Path) -> None:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    meta = [m for m in parse_page(hostile / PAGE).named("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in meta] == [CSP]
    assert f"script-src 'sha256-{digest}';" in CSP and "unsafe-inline" not in CSP and "default-src 'none'" in CSP


def test_only_images_the_report_drew_are_inlined_and_no_local_file(hostile: Path) -> None:
    parsed = parse_page(hostile / PAGE)
    sources = [str(i["src"]) for i in parsed.named("img")]
    drawn = [line for line in (hostile / "report.md").read_text().splitlines() if line.startswith("![")]
    assert len(sources) >= len(drawn) >= 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    text = (hostile / PAGE).read_text()
    assert SECRET not in text and base64_of(SECRET) not in text
    hostname = Path("/etc/hostname")
    if hostname.is_file() and hostname.read_text().strip():
        assert base64_of(hostname.read_text()) not in text
    assert "image not drawn by this report" not in text  # escaped before Markdown: never an image at all


def base64_of(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()[:16]


def test_a_pipe_or_newline_in_error_text_adds_no_row_or_cell(hostile: Path) -> None:
    markdown = (hostile / "report.md").read_text()
    rows = [line for line in markdown.splitlines() if "FAKE" in line]
    assert len(rows) == 1 and rows[0].startswith("| evil CartPole-v1 seed 0 | failed | exit 1: ")
    assert rows[0].count("|") - rows[0].count("\\|") == 4  # three cells, as the table's header
    assert "FAKE-ROW-INJECTED" not in [cell.strip() for line in markdown.splitlines() for cell in line.split("|")]


def test_a_huge_error_file_is_cut_before_it_is_read(hostile: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bench"
    shutil.copytree(hostile, copy)
    crafted = next((copy / "runs" / "fails").rglob("error.txt"))
    with crafted.open("w") as file:
        for _ in range(200):
            file.write("x" * 99_999 + "\n")  # 20 MB
    assert rebuild_report(copy) == 0
    for name in ("report.md", PAGE, "results.csv"):
        assert (copy / name).stat().st_size < 3_000_000, name


def test_report_only_loads_no_model_unless_asked(hostile: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bench"
    shutil.copytree(hostile, copy)
    for clip in copy.rglob("clip*.webm"):
        clip.unlink()
    model = next((copy / "runs" / "lqr").rglob("CartPole-v1.zip"))
    model.write_text("a model from elsewhere would run code when loaded")  # loading it would fail loudly
    assert rebuild_report(copy) == 0
    assert "--report-only makes no clip unless --render-clips" in " ".join(parse_page(copy / PAGE).text)
    assert rebuild_report(copy, render_clips=True) == 0
    assert "cannot load the model" in " ".join(parse_page(copy / PAGE).text)


def test_clips_travel_inside_the_page_or_the_page_says_where_they_are(
    hostile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    videos = [str(v["src"]) for v in parse_page(hostile / PAGE).named("video")]
    assert len(videos) == 2 and all(v.startswith("data:video/webm;base64,") for v in videos)  # lqr, plain and pushed
    assert not list((hostile / "clips").glob("*.webm"))
    copy = tmp_path / "bench"
    shutil.copytree(hostile, copy)
    monkeypatch.setattr(page_module, "MAX_INLINE_CLIP_BYTES", 0)
    assert rebuild_report(copy) == 0
    parsed = parse_page(copy / PAGE)
    sources = [str(v["src"]) for v in parsed.named("video")]
    assert sources == ["clips/CartPole-v1_lqr.webm", "clips/CartPole-v1_lqr_push.webm"]
    assert all((copy / str(v["src"])).stat().st_size > 1000 for v in parsed.named("video"))
    assert "The clips are files in clips/ beside this page" in " ".join(parsed.text)


def test_in_a_browser_no_dialog_fires_and_no_local_file_loads(hostile: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    if chromium is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    dialogs: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        tab = browser.new_page()
        tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto((hostile / PAGE).as_uri())
        tab.wait_for_timeout(1500)
        text = tab.inner_text("body")
        played = tab.evaluate("() => Array.from(document.querySelectorAll('video')).map(v => v.readyState >= 2)")
        browser.close()
    assert dialogs == [] and errors == []
    assert [url for url in requests if not url.startswith(("data:", (hostile / PAGE).as_uri()))] == []
    assert SECRET not in text and "<script>alert('errscript')</script>" in text
    assert played == [True, True]


def test_a_ctrl_c_while_the_clips_render_still_writes_the_report_of_what_finished(
    hostile: Path, tmp_path: Path
) -> None:
    from polebench.bench.driver import write_results
    from polebench.bench.grid import existing_jobs

    copy = tmp_path / "bench"
    shutil.copytree(hostile, copy)
    for clip in copy.rglob("clip*.webm"):
        clip.unlink()
    (copy / "report.md").write_text("the previous report")
    (copy / PAGE).write_text("the previous page")

    def interrupted_while_rendering() -> None:
        raise KeyboardInterrupt

    jobs, _ = existing_jobs(copy)
    _, report = write_results(jobs, copy, None, clips_made=interrupted_while_rendering)
    assert report.interrupted
    assert "the previous" not in (copy / "report.md").read_text() and "the previous" not in (copy / PAGE).read_text()
    assert "not made: the benchmark was interrupted" in " ".join(parse_page(copy / PAGE).text)


def test_report_md_and_report_html_are_written_together_or_not_at_all(
    hostile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from polebench import atomic

    copy = tmp_path / "bench"
    shutil.copytree(hostile, copy)
    before = {name: (copy / name).read_bytes() for name in ("report.md", PAGE)}
    real = atomic.atomic_target

    def full_disk_for_the_page(path: Path):  # type: ignore[no-untyped-def]
        if path.name == PAGE:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path)

    monkeypatch.setattr(atomic, "atomic_target", full_disk_for_the_page)
    with pytest.raises(OSError, match="No space left"):
        rebuild_report(copy)
    assert {name: (copy / name).read_bytes() for name in ("report.md", PAGE)} == before
    assert not [p.name for p in copy.iterdir() if ".tmp" in p.name]
