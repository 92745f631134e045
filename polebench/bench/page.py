"""``report.html``: the benchmark report as one page to share, beside ``report.md``.

The page is ``report.md`` itself (converted by Python-Markdown, so the two never say different things),
its plots inlined as data URIs, its tables sortable, and a **replay wall** per env: one clip per agent,
its median-seed run from the same initial state, the reference controllers first, playing in step;
then the same wall under pushes. The clips are WebM files in ``clips/`` beside the page, referenced
relatively, so the folder opens in any browser without a server. What cannot be shown (a run whose model
no longer loads, an env that does not render) is said in its place.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polebench.atomic import write_text
from polebench.bench.clips import WALL_PUSH_LEVEL, ClipOrder, clip_of, pushes_apply
from polebench.bench.results import CellStats

PAGE = "report.html"
CLIPS_DIR = "clips"
CAPTION_METRICS = {"rms_pole_angle_deg": "{:.2f} deg", "mean_abs_cart_position_m": "{:.3f} m"}


@dataclass(frozen=True)
class Tile:
    """One agent's clip on the wall: its file relative to the page, or why it is missing."""

    label: str
    caption: str
    src: str | None
    missing: str = ""


def median_run(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The run whose final return is the median of its agent's (the lower of the middle two; ties by seed).

    Example:
        >>> median_run([{"final_mean_return": r, "seed": s} for s, r in enumerate([500, 120, 480])])["seed"]
        2
    """
    finished = sorted(rows, key=lambda r: (float(r["final_mean_return"]), int(r["seed"])))
    return finished[(len(finished) - 1) // 2] if finished else None


def shown_run(rows: Sequence[dict[str, Any]], env: str, agent: str) -> dict[str, Any] | None:
    """The run of ``agent`` on ``env`` that the wall shows: its median finished run."""
    return median_run([r for r in rows if r["agent"] == agent and r["env"] == env and r["status"] == "finished"])


def clip_orders(rows: Sequence[dict[str, Any]]) -> list[ClipOrder]:
    """Every clip the walls of ``rows`` will show, plain and under pushes, not yet made."""
    orders = []
    for env, agent in dict.fromkeys((r["env"], r["agent"]) for r in rows):
        chosen = shown_run(rows, env, agent)
        if chosen is not None:
            walls = (False, True) if pushes_apply(env) else (False,)
            orders += [ClipOrder(Path(chosen["run_dir"]), chosen["algo"], env, push) for push in walls]
    return [order for order in orders if not order.is_made()]


def wall(
    env: str, cells: Sequence[CellStats], rows: Sequence[dict[str, Any]], folder: Path, push: bool, make: bool = True
) -> list[Tile]:
    """The tiles of one env's wall, in the order of ``cells``, each clip copied into ``folder/clips``
    (``make``: render the clips not yet made; else the page says they are missing)."""
    tiles = []
    for cell in cells:
        chosen = shown_run(rows, env, cell.agent)
        caption = ", ".join(fmt.format(cell.quality[k]) for k, fmt in CAPTION_METRICS.items() if k in cell.quality)
        if chosen is None:
            tiles.append(Tile(cell.agent, caption, None, "no finished run"))
            continue
        clip = clip_of(ClipOrder(Path(chosen["run_dir"]), cell.algo, env, push), make)
        if clip.path is None:
            tiles.append(Tile(cell.agent, caption, None, clip.missing))
            continue
        name = f"{_safe(env)}_{_safe(cell.agent)}{'_push' if push else ''}.webm"
        (folder / CLIPS_DIR).mkdir(exist_ok=True)
        shutil.copyfile(clip.path, folder / CLIPS_DIR / name)
        tiles.append(Tile(f"{cell.agent} (seed {chosen['seed']})", caption, f"{CLIPS_DIR}/{name}"))
    return tiles


def write_page(folder: Path, markdown_text: str, walls: dict[str, tuple[list[Tile], list[Tile]]]) -> Path:
    """Write ``report.html`` into ``folder`` from the report's Markdown and each env's two walls."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])
    body = re.sub(r'<img alt="([^"]*)" src="([^"]+)" ?/?>', lambda m: _inline_image(folder, m[1], m[2]), body)
    sections = [_wall_section(env, plain, pushed) for env, (plain, pushed) in walls.items()] or [NO_RUNS]
    page = TEMPLATE.format(style=STYLE, script=SCRIPT, body=body, walls="\n".join(sections))
    path = folder / PAGE
    write_text(path, page)
    shown = {t.src for pair in walls.values() for tiles in pair for t in tiles}
    for old in (folder / CLIPS_DIR).glob("*.webm"):  # clips of agents or runs no longer on the page
        if f"{CLIPS_DIR}/{old.name}" not in shown:
            old.unlink()
    return path


NO_RUNS = (
    '<h2>Replay wall</h2>\n<p class="missing">No finished run yet: no results, plots or clips to show '
    "(the jobs without a result, and why, are listed above).</p>"
)


def missing_clips(walls: dict[str, tuple[list[Tile], list[Tile]]]) -> list[str]:
    return [
        f"{env} {t.label}: {t.missing}" for env, pair in walls.items() for tiles in pair for t in tiles if t.src is None
    ]


def _inline_image(folder: Path, alt: str, src: str) -> str:
    path = folder / src
    if not path.is_file():
        return f'<p class="missing">{html.escape(alt)}: {html.escape(src)} is missing</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _wall_section(env: str, plain: Sequence[Tile], pushed: Sequence[Tile]) -> str:
    from envs.perturbations import PERTURBATIONS, spelt_value

    value = PERTURBATIONS["push"].values[WALL_PUSH_LEVEL]
    under_pushes = (
        f"<h3>Under pushes: the pole kicked by {value:g} rad/s every second (--perturb push={spelt_value(value)}, "
        f"level {WALL_PUSH_LEVEL} of the robustness ladder)</h3>\n{_tiles(pushed)}"
    )
    return (
        f'<h2 id="wall-{_safe(env)}">Replay wall: {html.escape(env)}</h2>\n'
        "<p>Each agent's median-seed run, deterministic, from the same initial state, playing in step "
        '(<button class="replay">play again from the start</button>). Captions: RMS pole angle and mean '
        "distance of the cart from the centre, medians over seeds.</p>\n"
        f"{_tiles(plain)}\n" + (under_pushes if pushed else "")
    )


def _tiles(tiles: Sequence[Tile]) -> str:
    items = []
    for tile in tiles:
        if tile.src is None:
            media = f'<p class="missing">no clip: {html.escape(tile.missing)}</p>'
        else:
            media = f'<video src="{html.escape(tile.src)}" muted loop playsinline autoplay preload="auto"></video>'
        caption = html.escape(tile.label) + (f"<br><small>{html.escape(tile.caption)}</small>" if tile.caption else "")
        items.append(f"<figure>{media}<figcaption>{caption}</figcaption></figure>")
    return '<div class="wall">' + "".join(items) + "</div>"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>polebench benchmark</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style></head>
<body><main>
{body}
{walls}
</main><script>{script}</script></body></html>
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
main { max-width: 1400px; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; background: #fff; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; }
th { background: #f0f0f0; cursor: pointer; }
img { max-width: 100%; }
.wall { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; padding: 0.5rem; }
figure video { width: 300px; height: 200px; display: block; }
figcaption { font-size: 0.9rem; margin-top: 0.3rem; }
.missing { color: #a33; font-style: italic; }
"""

# Tables sort by the clicked column; the clips restart together, so equal-length clips stay in step.
SCRIPT = """
document.querySelectorAll('th').forEach((th, _) => th.addEventListener('click', () => {
  const table = th.closest('table'), body = table.tBodies[0], i = Array.from(th.parentNode.children).indexOf(th);
  const key = r => {
    const t = r.children[i].innerText.replace(/[, ]/g, ''), n = parseFloat(t);
    return isNaN(n) ? t : n;
  };
  const rows = Array.from(body.rows), asc = th.dataset.asc !== 'true';
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (asc ? 1 : -1));
  th.dataset.asc = asc; rows.forEach(r => body.appendChild(r));
}));
function restart() {
  document.querySelectorAll('video').forEach(v => { v.currentTime = 0; v.play().catch(() => {}); });
}
document.querySelectorAll('button.replay').forEach(b => b.addEventListener('click', restart));
window.addEventListener('load', restart);
"""
