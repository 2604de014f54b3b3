"""Nothing a log's author wrote is rendered as Markdown or chart markup: labels reach the screen as written.

The hostile labels are those a hostile-input battery found rendering: a remote image, links, headings, HTML that
Plotly draws, Streamlit's own colour and icon directives. Each page is opened on a log made of them, and every
text element Streamlit would render as Markdown is checked to hold no live construct.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from data import Settings, Store, import_file
from tests.ui.apptest import open_home, open_import_page, open_page, upload
from ui.markup import plain, plotly_text

HOSTILE = (
    "![x](http://host/x.png)",
    "[click](https://evil.example/)",
    "http://evil.example/path",
    "www.evil.example",
    "mail@evil.example",
    "# heading",
    "**bold** _it_ ~~gone~~",
    ":red[alarm] :material/warning:",
    "$x^2$",
    "`code`",
    "<a href='http://evil.example'>x</a>",
    "line\nbreak",
    "a | table | row",
)
# What a Markdown renderer would turn into a link, an image, a heading or a directive: an unescaped bracket before
# a parenthesis, a bare scheme or www., a leading #, a colon directive, HTML tags.
LIVE_MARKDOWN = re.compile(
    r"(?<!\\)\]\(|https?://|www\.|(?:^|\n)# heading|(?<!\\):red\[alarm|(?<!\\)<a\b", re.IGNORECASE
)


@pytest.mark.parametrize("label", HOSTILE)
def test_plain_leaves_no_live_markdown(label: str) -> None:
    escaped = plain(label)
    assert not LIVE_MARKDOWN.search(escaped)
    assert "\n" not in escaped
    # Once the escapes and the invisible link breakers are read back, the label is what was written.
    assert re.sub(r"\\(.)", r"\1", escaped).replace("\u200b", "") == label.replace("\n", " ")


def test_plotly_text_shows_tags_as_written() -> None:
    assert plotly_text("<a href='x'>go</a> & <b>") == "&lt;a href='x'&gt;go&lt;/a&gt; &amp; &lt;b&gt;"


PAGES = (
    "pages/1_Journey_definition.py",
    "pages/2_Journey_map.py",
    "pages/3_Variants_and_paths.py",
    "pages/4_Stages_funnel_and_churn.py",
    "pages/5_Personas.py",
    "pages/6_Compare.py",
    "pages/7_Customer_journey.py",
    "pages/10_Reports.py",
)


def rendered_texts(app: AppTest) -> list[str]:
    """Every text of the page that Streamlit renders as Markdown."""
    blocks = [*app.markdown, *app.caption, *app.info, *app.warning, *app.error, *app.success, *app.subheader]
    return [block.value for block in blocks] + [metric.label for metric in app.metric]


def hostile_csv() -> str:
    """A log whose touchpoints, channels, attribute values and a column name are all hostile labels."""
    rows = ["client,etape,horodatage,canal,![col](http://evil.example/c.png)"]
    for number in range(30):
        for step, label in enumerate(HOSTILE[number % 5 : number % 5 + 4]):
            text = label.replace("\n", " ").replace('"', "'")
            rows.append(f'c{number},"{text}",2025-01-{1 + step:02d} 10:00,"{HOSTILE[step]}","{HOSTILE[-1]}"')
    return "\n".join(rows) + "\n"


@pytest.fixture
def hostile_log(tmp_path, monkeypatch):
    """The hostile log, stored under a hostile name."""
    source = tmp_path / "hostile.csv"
    source.write_text(hostile_csv(), encoding="utf-8")
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "home"))
    store = Store(Settings.from_env())
    return import_file(source, store=store, channel="canal", name="![logo](http://evil.example/logo.png)")


def test_the_import_page_shows_a_hostile_upload_as_text() -> None:
    app = upload(open_import_page(), "![x](http://evil.example/x.png).csv", hostile_csv().encode())
    assert not app.exception
    live = [text for text in rendered_texts(app) if LIVE_MARKDOWN.search(text)]
    assert not live, live


def test_no_page_renders_a_hostile_label_as_markup(hostile_log) -> None:
    apps = [open_home(dataset=hostile_log.id), *(open_page(page, dataset=hostile_log.id) for page in PAGES)]
    apps += [  # only the open tab of the Stages page is drawn
        open_page("pages/4_Stages_funnel_and_churn.py", dataset=hostile_log.id, tab=tab)
        for tab in ("Funnel", "Churn points", "Channels")
    ]
    for app in apps:
        assert not app.exception
        live = [text for text in rendered_texts(app) if LIVE_MARKDOWN.search(text)]
        assert not live, live
