"""Text from a log or a user shown through Streamlit's Markdown, as text and nothing else.

Streamlit renders captions, metrics' labels, `st.markdown`, `st.warning` and friends as Markdown: a touchpoint
named `![x](http://host/x.png)` would make every viewer's browser fetch a remote image, and `http://…` would become
a link. `plain` escapes every character Markdown gives a meaning to and breaks what GitHub-flavoured Markdown
would turn into a link, so a label reads exactly as it was written; `plotly_text` does the same for the HTML
subset Plotly draws in chart text.
"""

from __future__ import annotations

import html
import re

__all__ = ["EMPTY_CELL", "NO_VALUE", "plain", "plotly_text"]

NO_VALUE = "—"
"""What a card or a table shows for a figure that has no value (a conversion with nobody to convert)."""
EMPTY_CELL = ""
"""What an editable table shows in a blank cell (no stage, any channel, no target), rather than Streamlit's "None",
which reads as a value typed in."""

# Every ASCII punctuation character CommonMark lets a backslash escape, plus Streamlit's own `:` directives.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&:=\"'^%@;,/?])")
# A zero-width space after these breaks GFM's bare links (www., http://, name@host) without changing what is read.
_LINK_BREAKERS = re.compile(r"(?<=[.:@/])")
_NEWLINES = re.compile(r"[\r\n]+")
_ZERO_WIDTH_SPACE = "\u200b"


def plain(text: object) -> str:
    """Return `text` escaped for Streamlit Markdown: shown literally, never as a link, image, heading or format."""
    one_line = _NEWLINES.sub(" ", str(text))
    return _MARKDOWN.sub(r"\\\1", _LINK_BREAKERS.sub(_ZERO_WIDTH_SPACE, one_line))


def plotly_text(text: object) -> str:
    """Return `text` for a Plotly label, hover or annotation: Plotly draws `<a href>`, `<b>` and `<br>` in text as
    live markup, so the brackets and ampersands of a log's labels become entities it shows as written."""
    return html.escape(str(text), quote=False)
