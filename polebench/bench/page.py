"""``report.html``: the benchmark report as one page to share, beside ``report.md``.

The page is ``report.md`` itself (converted by Python-Markdown, so the two never say different things),
its plots inlined as data URIs, its tables sortable, and a **replay wall** per env: one clip per agent,
its median-seed run from the same initial state, the reference controllers first, playing in step;
then the same wall under pushes. The clips are WebM files in ``clips/`` beside the page, referenced
relatively, so the folder opens in any browser without a server; a set of clips small enough
(:data:`MAX_INLINE_CLIP_BYTES`) is carried inline instead, so the page can be mailed as one file. What
cannot be shown (a run whose model no longer loads, an env that does not render) is said in its place.

The page is inert whatever the runs wrote: text from runs is escaped before it reaches report.md
(:mod:`polebench.bench.untrusted`); here raw HTML in the Markdown is shown as text, only the plots the
report drew are inlined, links go nowhere but the web or this folder, and a Content-Security-Policy
allows no script but the page's own.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from polebench.atomic import atomic_target
from polebench.bench.clips import WALL_PUSH_LEVEL, ClipOrder, clip_of, pushes_apply
from polebench.bench.result_row import ResultRow
from polebench.bench.results import CellStats

PAGE = "report.html"
CLIPS_DIR = "clips"
# Up to this many bytes of clips go inside the page (a wall of a dozen agents is about 1-2 MB); beyond,
# they are files in clips/ and the page says so.
MAX_INLINE_CLIP_BYTES = 8_000_000
SEPARATE_CLIPS = (
    f'<p class="note">The clips are files in {CLIPS_DIR}/ beside this page (too large to carry inside it): '
    "keep the folder with the page.</p>\n"
)
CAPTION_METRICS = {"rms_pole_angle_deg": "{:.2f} deg", "mean_abs_cart_position_m": "{:.3f} m"}


@dataclass(frozen=True)
class Tile:
    """One agent's clip on the wall: the clip (cached in its run folder) and its name in ``clips/``, or
    why it is missing."""

    label: str
    caption: str
    clip: Path | None
    name: str = ""
    missing: str = ""


def median_run(rows: Sequence[ResultRow]) -> ResultRow | None:
    """The run whose final return is the median of its agent's (the lower of the middle two; ties by seed),
    among the runs that have one.

    Example:
        >>> def run(seed: int, final: float) -> ResultRow:
        ...     return ResultRow(agent="a", algo="a", env="e", seed=seed, final_mean_return=final)
        >>> median_run([run(0, 500), run(1, 120), run(2, 480)]).seed
        2
    """
    scored = [r for r in rows if r.final_mean_return is not None]
    # `or 0.0` never applies (the rows without a return are left out above); it keeps the key a float for mypy.
    finished = sorted(scored, key=lambda r: (r.final_mean_return or 0.0, r.seed))
    return finished[(len(finished) - 1) // 2] if finished else None


def shown_run(rows: Sequence[ResultRow], env: str, agent: str) -> ResultRow | None:
    """The run of ``agent`` on ``env`` that the wall shows: its median finished run."""
    return median_run([r for r in rows if r.agent == agent and r.env == env and r.finished])


def clip_orders(rows: Sequence[ResultRow]) -> list[ClipOrder]:
    """Every clip the walls of ``rows`` will show, plain and under pushes, not yet made."""
    orders = []
    for env, agent in dict.fromkeys((r.env, r.agent) for r in rows):
        chosen = shown_run(rows, env, agent)
        if chosen is not None:
            walls = (False, True) if pushes_apply(env) else (False,)
            orders += [ClipOrder(Path(chosen.run_dir), chosen.algo, env, push) for push in walls]
    return [order for order in orders if not order.is_made()]


def wall(
    env: str, cells: Sequence[CellStats], rows: Sequence[ResultRow], push: bool, skip: str | None = None
) -> list[Tile]:
    """The tiles of one env's wall, in the order of ``cells``, the clips not yet made rendered now (unless
    ``skip`` says why not: the page then says so in their place)."""
    tiles = []
    for cell in cells:
        chosen = shown_run(rows, env, cell.agent)
        caption = ", ".join(fmt.format(cell.quality[k]) for k, fmt in CAPTION_METRICS.items() if k in cell.quality)
        if chosen is None:
            tiles.append(Tile(cell.agent, caption, None, missing="no finished run"))
            continue
        clip = clip_of(ClipOrder(Path(chosen.run_dir), cell.algo, env, push), skip)
        if clip.path is None:
            tiles.append(Tile(cell.agent, caption, None, missing=clip.missing))
            continue
        name = f"{safe_name(env)}_{safe_name(cell.agent)}{'_push' if push else ''}.webm"
        tiles.append(Tile(f"{cell.agent} (seed {chosen.seed})", caption, clip.path, name))
    return tiles


Walls = dict[str, tuple[list[Tile], list[Tile]]]


def inline_clips(walls: Walls) -> bool:
    """Whether the page carries its clips inside (one file to mail): when together they are small enough."""
    return sum(t.clip.stat().st_size for t in _shown(walls) if t.clip is not None) <= MAX_INLINE_CLIP_BYTES


def render_page(folder: Path, markdown_text: str, images: Collection[str], walls: Walls, inline: bool) -> str:
    """``report.html``'s text from the report's Markdown, the plots it drew (``images``, names in ``folder``)
    and each env's two walls, their clips inside the page (``inline``) or in ``clips/`` beside it."""
    body = to_html(markdown_text, {name: folder / name for name in images})
    sections = [_wall_section(env, plain, pushed, inline) for env, (plain, pushed) in walls.items()] or [NO_RUNS]
    return TEMPLATE.format(csp=CSP, style=STYLE, script=SCRIPT, body=body, walls="\n".join(sections))


def publish_clips(folder: Path, walls: Walls, inline: bool) -> None:
    """Copy the clips the page shows into ``folder/clips`` (none when they are inline), before the page
    that names them is written."""
    if inline:
        return
    for tile in _shown(walls):
        if tile.clip is not None:
            with atomic_target(folder / CLIPS_DIR / tile.name) as tmp:
                shutil.copyfile(tile.clip, tmp)


def remove_stale_clips(folder: Path, walls: Walls, inline: bool) -> None:
    """Remove the clips in ``folder/clips`` that the page no longer shows (all of them when inline)."""
    shown = set() if inline else {t.name for t in _shown(walls) if t.clip is not None}
    for old in (folder / CLIPS_DIR).glob("*.webm"):
        if old.name not in shown:
            old.unlink()


def _shown(walls: Walls) -> list[Tile]:
    return [tile for pair in walls.values() for tiles in pair for tile in tiles]


NO_RUNS = (
    '<h2>Replay wall</h2>\n<p class="missing">No finished run yet: no results, plots or clips to show '
    "(the jobs without a result, and why, are listed above).</p>"
)


def missing_clips(walls: Walls) -> list[str]:
    return [
        f"{env} {t.label}: {t.missing}"
        for env, pair in walls.items()
        for tiles in pair
        for t in tiles
        if t.clip is None
    ]


def to_html(markdown_text: str, images: Mapping[str, Path]) -> str:
    """Markdown to HTML with raw HTML shown as text, the images named in ``images`` (src to file) inlined
    and every other image left out, and links kept only to the web, anchors or relative files.

    Example:
        >>> page = to_html("<script>x</script> ![k](/etc/hostname) [a](javascript:x)", {})
        >>> "<script>" in page, "[image not drawn by this report: /etc/hostname]" in page, "<a>a</a>" in page
        (False, True, True)
    """
    import markdown

    converter = markdown.Markdown(extensions=["tables", _Inert(images)])
    return converter.convert(markdown_text)


class _Inert(Extension):
    """Python-Markdown passes raw HTML through and links to any URL; this extension stops both."""

    def __init__(self, images: Mapping[str, Path]) -> None:
        super().__init__()
        self.images = images

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_Sources(md, self.images), "inert_sources", 0)


class _Sources(Treeprocessor):
    def __init__(self, md: Markdown, images: Mapping[str, Path]) -> None:
        super().__init__(md)
        self.images = images

    def run(self, root: Element) -> None:
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                if child.tag == "img":
                    _inline_or_drop(parent, index, child, self.images)
                elif child.tag == "a" and not SAFE_LINK.match(child.get("href", "")):
                    child.attrib.pop("href", None)


# The web, an anchor, or a file in this folder (no scheme, no absolute path, no "..", no backslash).
SAFE_LINK = re.compile(r"^(https?://|#|(?![A-Za-z][A-Za-z0-9+.-]*:)(?![/~])(?!.*(^|/)\.\.(/|$))[^\\]*$)")


def _inline_or_drop(parent: Element, index: int, img: Element, images: Mapping[str, Path]) -> None:
    src = img.get("src", "")
    path = images.get(src)
    if path is not None and path.is_file():
        img.set("src", _data_uri(path, "image/png"))
        return
    note = Element("span", {"class": "missing"})
    note.text = (
        f"[{img.get('alt', 'image')}: {src} is missing]"
        if path is not None
        else (f"[image not drawn by this report: {src}]")
    )
    note.tail = img.tail
    parent.remove(img)
    parent.insert(index, note)


def _wall_section(env: str, plain: Sequence[Tile], pushed: Sequence[Tile], inline: bool) -> str:
    from polebench.envs.perturbations import PERTURBATIONS, spelt_value

    value = PERTURBATIONS["push"].values[WALL_PUSH_LEVEL]
    under_pushes = (
        f"<h3>Under pushes: the pole kicked by {value:g} rad/s every second (--perturb push={spelt_value(value)}, "
        f"level {WALL_PUSH_LEVEL} of the robustness ladder)</h3>\n{_tiles(pushed, inline)}"
    )
    return (
        f'<h2 id="wall-{safe_name(env)}">Replay wall: {html.escape(env)}</h2>\n'
        "<p>Each agent's median-seed run, deterministic, from the same initial state, playing in step "
        '(<button class="replay">play again from the start</button>). Captions: RMS pole angle and mean '
        "distance of the cart from the centre, medians over seeds.</p>\n"
        + ("" if inline else SEPARATE_CLIPS)
        + f"{_tiles(plain, inline)}\n"
        + (under_pushes if pushed else "")
    )


def _tiles(tiles: Sequence[Tile], inline: bool) -> str:
    items = []
    for tile in tiles:
        if tile.clip is None:
            media = f'<p class="missing">no clip: {html.escape(tile.missing)}</p>'
        else:
            src = _data_uri(tile.clip, "video/webm") if inline else f"{CLIPS_DIR}/{tile.name}"
            media = (
                f'<video src="{html.escape(src)}" data-clip="{html.escape(tile.name)}" '
                'muted loop playsinline autoplay preload="auto"></video>'
            )
            if not inline:  # said where the clip would be, for a page that travelled without its folder
                media += f'<p class="missing separate">the clip is the file {CLIPS_DIR}/{html.escape(tile.name)}</p>'
        caption = html.escape(tile.label) + (f"<br><small>{html.escape(tile.caption)}</small>" if tile.caption else "")
        items.append(f"<figure>{media}<figcaption>{caption}</figcaption></figure>")
    return '<div class="wall">' + "".join(items) + "</div>"


def _data_uri(path: Path, kind: str) -> str:
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def safe_name(name: str) -> str:
    """``name`` as a file name of letters, digits, '.', '_' and '-' only (an env id, an agent name)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>polebench benchmark</title>
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
.separate { display: none; }
.separate.shown { display: block; }
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
// A page that travelled without its clips/ folder says so where each clip would be.
document.querySelectorAll('video').forEach(v => v.addEventListener('error', () => {
  const note = v.nextElementSibling;
  if (note) note.classList.add('shown');
}));
window.addEventListener('load', restart);
"""


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode("ascii") + "'"


# Only the page's own script runs (by its hash), nothing is fetched but this folder's clips, no plugin,
# form or <base> is honoured: the page stays inert whatever text reached it.
CSP = (
    f"default-src 'none'; script-src {_source_hash(SCRIPT)}; style-src {_source_hash(STYLE)}; "
    "img-src data:; media-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'"
)
