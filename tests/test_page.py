"""report.html: the report's tables and plots on one self-contained page, and a replay wall per env."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import polebench
from polebench.bench.page import PAGE
from tests.conftest import parse_page


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench")
    grid = {"envs": ["CartPole-v1"], "seeds": 2, "agents": {"lqr": {"algo": "lqr"}, "pid": {"algo": "pid"}}}
    assert polebench.benchmark(grid, log_folder=folder, workers=2).ok
    return folder


def test_the_page_holds_every_table_and_plot_of_the_report_inline(bench: Path) -> None:
    page = parse_page(bench / PAGE)
    markdown = (bench / "report.md").read_text()
    tables = sum(line.startswith("|---") for line in markdown.splitlines())
    assert len(page.tags["table"]) == tables >= 2
    images = page.tags["img"]
    assert len(images) == markdown.count("![") and all(
        str(i["src"]).startswith("data:image/png;base64,") for i in images
    )


def _clip(video: dict[str, str | None]) -> bytes:
    """The bytes of a clip the page carries inside it."""
    kind, _, data = str(video["src"]).partition(";base64,")
    assert kind == "data:video/webm"
    return base64.b64decode(data)


def test_the_wall_has_one_clip_per_agent_reference_first_and_under_pushes(bench: Path) -> None:
    page = parse_page(bench / PAGE)
    assert [v["data-clip"] for v in page.tags["video"]] == [
        "CartPole-v1_lqr.webm", "CartPole-v1_pid.webm", "CartPole-v1_lqr_push.webm", "CartPole-v1_pid_push.webm",
    ]  # fmt: skip
    assert all(len(_clip(video)) > 1000 for video in page.tags["video"])  # small clips travel inside the page
    text = " ".join(page.text)
    assert "lqr (seed 0)" in text and "pid (seed" in text and "Under pushes" in text


def test_a_run_that_no_longer_loads_is_said_on_the_page(bench: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from polebench.bench.driver import rebuild_report

    for clip in bench.glob("runs/pid/*/*/pid/*/clip*.webm"):
        clip.unlink()
    for model in bench.glob("runs/pid/*/*/pid/*/CartPole-v1.zip"):
        model.write_text("not a model")
    assert rebuild_report(bench, render_clips=True) == 0
    assert "report.html: no clip for CartPole-v1 pid" in capsys.readouterr().out
    page = parse_page(bench / PAGE)
    assert [v["data-clip"] for v in page.tags["video"]] == ["CartPole-v1_lqr.webm", "CartPole-v1_lqr_push.webm"]
    assert "no clip:" in " ".join(page.text)


def test_a_grid_without_a_finished_run_still_writes_a_page_that_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polebench.bench.driver import rebuild_report

    # The LQR controller is defined for CartPole only: the grid's one job fails.
    grid = {"envs": ["Acrobot-v1"], "seeds": 1, "agents": {"lqr": {"algo": "lqr"}}}
    assert not polebench.benchmark(grid, log_folder=tmp_path, workers=1).ok
    kept = (tmp_path / "results.csv").read_bytes()
    capsys.readouterr()
    assert rebuild_report(tmp_path) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "report.html: no finished run yet, so no plots or replay wall; the page says so"
    )
    page = parse_page(tmp_path / PAGE)
    assert "video" not in page.tags and "img" not in page.tags
    assert "No finished run yet" in " ".join(page.text) and "lqr cannot train on Acrobot-v1" in " ".join(page.text)
    assert (tmp_path / "results.csv").read_bytes() == kept


def test_an_env_without_pushes_has_one_wall_at_its_own_frame_rate(tmp_path: Path) -> None:
    import imageio.v2 as imageio

    protocol = {"n_timesteps": 256, "eval_freq": 256, "eval_episodes": 1, "final_eval_episodes": 1}
    grid = {"envs": ["Acrobot-v1"], "seeds": 1, "protocol": protocol, "agents": {"ppo": {"algo": "ppo"}}}
    assert polebench.benchmark(grid, log_folder=tmp_path, workers=1).ok
    page = parse_page(tmp_path / PAGE)
    assert [v["data-clip"] for v in page.tags["video"]] == ["Acrobot-v1_ppo.webm"]
    assert "Under pushes" not in " ".join(page.text)  # the push perturbation is CartPole's alone
    (tmp_path / "clip.webm").write_bytes(_clip(page.tags["video"][0]))
    with imageio.get_reader(tmp_path / "clip.webm") as clip:
        assert clip.get_meta_data()["fps"] == 15  # Acrobot's render_fps: 5 s are 75 frames, not 250
        assert clip.count_frames() == 75
