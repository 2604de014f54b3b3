"""One-off costs of a first page, moved to where nobody waits for them: once per server, once per browser.

Measured with `benchmarks/browser.py` (issue 16): the first process model after a server start spent about a second
importing pm4py, and the first page with a chart in a browser session spent 0.6–2 s loading Streamlit's Plotly chunk
(4.6 MB of JavaScript). Every page starts the import in a background thread (once per server: the first page's own
imports take seconds, so the import is over before that page is drawn). The journey map, the one analysis page
without a chart, has the browser load the chunk once the map is drawn (once per session: a loaded module is not
loaded again), so that the next page finds it if the reader spent a second on the map (a click made at once still
waits for the load under way). Loaded from the home page, it took the browser from the first click, to the map.
The tables' chunk (1.2 MB) is loaded the same way: the map's first view has no table, so that a new session opened
on the map does not wait for it, and the close-up or the next page finds it loaded.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from discovery import import_miners

__all__ = ["frontend_chunks", "preload_charts", "warm_up_server"]

# Streamlit's lazily loaded chunks that Parcours' pages need and that cost the most to load: every chart's, and
# every table's (which imports Arrow's formatting code: 1.2 MB in all).
_CHUNK_PREFIXES = ("PlotlyChart.", "DataFrame.")
_CHUNKS_DIR = Path(st.__file__).parent / "static" / "static" / "js"
_PRELOAD_JS = """
export default function ({ data }) {
  // The chunks sit beside Streamlit's own entry script, wherever the app is served (a proxy may add a prefix).
  const entry = document.querySelector('script[src*="/static/js/index."]');
  if (!entry || window.__parcoursPreloaded) return;
  window.__parcoursPreloaded = true;
  const base = entry.src.slice(0, entry.src.lastIndexOf("/") + 1);
  // Best effort: a chunk that fails to load here is loaded, or reported, by the first chart that needs it.
  data.chunks.forEach((chunk) => import(base + chunk).catch(() => {}));
}
"""
_PRELOAD = st.components.v2.component("parcours.preload", js=_PRELOAD_JS)


def frontend_chunks() -> list[str]:
    """The file names of the heavy frontend chunks in the installed Streamlit (their names carry a content hash)."""
    return sorted(path.name for prefix in _CHUNK_PREFIXES for path in _CHUNKS_DIR.glob(f"{prefix}*.js"))


@st.cache_resource(show_spinner=False)
def _server_warm_up() -> threading.Thread:
    thread = threading.Thread(target=import_miners, name="parcours-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up_server() -> None:
    """Import pm4py in a background thread, once per server; every page calls this first."""
    _server_warm_up()


def preload_charts() -> None:
    """Have this browser session load the chart chunks now (an invisible element at the foot of the sidebar): call
    it at the end of a page without charts, once the page is drawn."""
    with st.sidebar:
        _PRELOAD(data={"chunks": frontend_chunks()}, key="parcours-preload")
