"""Escaping data text for Markdown (a leaf module: imports nothing of the project's).

One helper, ``md``, used by every Markdown writer: report.md, summary.md, the comparison
tables and compare's GitHub comment. The HTML report escapes with ``html.escape``.
"""

from __future__ import annotations

import re
from typing import Any

_SPECIAL = re.compile(r"([\\|*`])")
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINK_CLOSE = re.compile(r"\](?=[(\[:])")


def md(text: Any) -> str:
    """Data text safe in Markdown: no tables broken, no emphasis, links, HTML or line breaks."""
    s = " ".join(str(text).split())
    s = _SPECIAL.sub(r"\\\1", s)
    s = _EDGE_UNDERSCORE.sub(r"\\_", s)
    s = _LINK_CLOSE.sub(r"\\]", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
