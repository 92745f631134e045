"""Text the report did not write itself (error messages, plugin names, files in a folder someone handed
you) made inert before it reaches ``report.md``: cut to a bounded size, on one line, with every character
that Markdown or HTML would act on escaped. ``report.html`` is made from ``report.md``, so one escape
covers both; :mod:`polebench.bench.page` refuses raw HTML as a second line of defence.
"""

from __future__ import annotations

import re
from pathlib import Path

# An error line longer than this says nothing more useful; the whole text stays in the run's own log.
MAX_CHARS = 300
# Read no more of a text file than this: a 200 MB error.txt must not become a 2 GB report.
MAX_READ_BYTES = 4096

# Characters Markdown gives a meaning (emphasis, code, links, images, table cells); escaped with "\".
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|])")
HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def read_capped(path: Path, limit: int = MAX_READ_BYTES) -> str:
    """At most ``limit`` bytes of a text file, decoded leniently (raises ``OSError`` like ``read_text``).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "error.txt"
        >>> _ = path.write_bytes(b"x" * 10_000)
        >>> len(read_capped(path))
        4096
    """
    with path.open("rb") as file:
        return file.read(limit).decode("utf-8", errors="replace")


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` on one line (every run of whitespace one space, control characters dropped), cut to ``limit``.

    Example:
        >>> one_line("a\\n| b |\\tc" + "x" * 400)[:12]
        'a | b | cxxx'
        >>> len(one_line("x" * 400))
        300
    """
    flat = " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def md(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` as inert Markdown: one line, HTML's special characters as entities, Markdown's escaped,
    so it shows as written and can neither add a table cell or row, nor a link, image or element.

    Example:
        >>> md('<script>alert(1)</script> ![x](/etc/hostname) a | b')
        '&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt; \\\\!\\\\[x\\\\]\\\\(/etc/hostname\\\\) a \\\\| b'
    """
    flat = one_line(str(text), limit)
    escaped = MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return "".join(HTML_ENTITIES.get(ch, ch) for ch in escaped)
