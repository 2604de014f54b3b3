"""A branded, self-contained report of one view of a log: one HTML file with nothing to fetch, and its PDF.

The report is a sequence of sections picked from a registry (`Section`: a key, a title and a function from the
report's inputs to an HTML fragment). Discovery registers the sections it can compute (summary KPIs, the journey
map, stage KPIs and funnel, churn points); `segmentation` adds personas and the comparison to a registry of its
own, because discovery may not read personas; a new section is one function decorated with `report_section`.

Self-contained means no request at all when the file opens: no script, no web font, no image by URL. The map is
the SVG that Graphviz draws (its labels escaped by Graphviz, its XML prolog and namespace URLs dropped), the charts
are HTML bars sized by CSS, the logo is a data: URI of a checked image. Every text a log or a user supplied goes
through `html.escape`. The same inputs give the same bytes: nothing is dated unless `generated_at` is given, and
every table keeps the library's order.

The PDF is printed by headless Chromium (`/usr/bin/chromium --headless --print-to-pdf`), which Parcours' browser
tests already use; without it `PdfUnavailable` says what to install.

>>> inputs = ReportInputs(engine, definition, stamp, view=ReportView(metric="median"))  # doctest: +SKIP
>>> html = render_report(inputs, [DISCOVERY_SECTIONS["map"]], Branding(company="Acme"))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import base64
import html
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import defusedxml.ElementTree as SafeXml
import pandas as pd
from defusedxml import DefusedXmlException

from data.engine import Engine, LogSummary
from data.errors import LimitExceeded, LogError, Problem
from data.exports import ExportStamp
from data.filters import Filters
from data.params import filters_from_params, is_filter_param
from data.settings import Settings
from data.store import Store
from discovery._actions import Action, actions_of
from discovery._churn import NO_GOAL_CHURN_POINTS, ChurnPoints, churn_points
from discovery._conformance import STEP_CHECKS, conformance
from discovery._definition import JourneyDefinition, outcome_counts
from discovery._designed import designed_of
from discovery._dot import METRIC_LABELS, METRICS, human_duration, map_caption, map_layout, map_to_dot, render_dot
from discovery._effect import DEFAULT_WINDOW_DAYS, action_effect, change_text, interval_text
from discovery._funnel import Funnel, StageKPIs, funnel, stage_kpis
from discovery._maps import CHURN_POINT_LIFT, drawable_coverage, journey_map, simplified_map
from discovery._relations import Outcomes, outcome_sentence

__all__ = [
    "DISCOVERY_SECTIONS",
    "MAX_LOGO_BYTES",
    "PERSONA_PARAM",
    "VIEW_PARAMS",
    "Branding",
    "PdfUnavailable",
    "ReportInputs",
    "ReportView",
    "Section",
    "bar_chart",
    "find_chromium",
    "html_table",
    "inline_svg",
    "log_report_inputs",
    "logo_data_uri",
    "logo_uri",
    "render_report",
    "report_options",
    "report_pdf",
    "report_section",
    "save_branding",
    "write_report",
]

MAX_LOGO_BYTES = 256 * 1024
CHURN_POINTS_SHOWN = 10
REPORT_TITLE = "Customer journey report"
# The view's persona condition (`persona=<run>:<label>`): named here, read by `segmentation`, which finds personas.
PERSONA_PARAM = "persona"
# The Journey map page's own settings in its URL, with the page's defaults; its link names the metric by its label.
VIEW_PARAMS = {"metric": "cases", "touchpoints": 100, "paths": 80}
_METRIC_OF = {label: metric for metric, label in METRIC_LABELS.items()}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_SECONDS = 120
_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# What an SVG logo may not hold, since it could run, fetch or link once inlined.
_SVG_ACTIVE = frozenset({"script", "foreignobject", "iframe", "embed", "object", "a", "animate", "set", "handler"})
_OUTSIDE_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_SVG_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_SVG_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SVG_SIZE = re.compile(r'<svg width="[^"]*" height="[^"]*"')
_NAMESPACES = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')
_FIX_LOGO = "Use a PNG or JPEG logo, or an SVG without scripts, event handlers and links."


class PdfUnavailable(LogError):
    """No headless Chromium to print the PDF with: the HTML report is still there to open and print."""


@dataclass(frozen=True)
class Branding:
    """The company's name, logo (a data: URI, or None) and colours (#RRGGBB) that dress a report."""

    company: str = ""
    logo: str | None = None
    primary: str = "#1f4e79"
    accent: str = "#e07a1f"

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        """Read the branding from Settings (PARCOURS_REPORT_*), the logo file checked and inlined."""
        logo = None if settings.report_logo is None else logo_data_uri(settings.report_logo)
        return cls(settings.report_company, logo, settings.report_primary_color, settings.report_accent_color)

    @classmethod
    def of_workspace(cls, store: Store, workspace_id: str) -> Branding:
        """Read the branding the workspace's admins set (`save_branding`), each part they left unset from Settings;
        the saved logo is checked again, as a logo file is."""
        operator = cls.from_settings(store.settings)
        saved = store.branding(workspace_id)
        return cls(
            saved.get("company", operator.company),
            _checked_logo_uri(saved["logo"]) if "logo" in saved else operator.logo,
            saved.get("primary", operator.primary),
            saved.get("accent", operator.accent),
        )

    def to_dict(self) -> dict[str, object]:
        return {"company": self.company, "logo": self.logo, "primary": self.primary, "accent": self.accent}


@dataclass(frozen=True)
class ReportView:
    """What a report shows of the log: the Journey map page's metric and sliders (in %), the view's selection
    parameters (filters and persona, as in its URL), the two saved segments the Compare page names, and the saved
    persona run whose personas the report describes."""

    metric: str = "cases"
    touchpoints: int = 100
    paths: int = 80
    selection: Mapping[str, str] = field(default_factory=dict)
    segments: tuple[str, str] | None = None
    persona_run: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.metric not in METRICS:
            problems.append(
                Problem("The map's metric is unknown.", fix=f"Use one of {', '.join(METRICS)}.", value=self.metric)
            )
        for name in ("touchpoints", "paths"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, int) or not 1 <= share <= 100:
                problems.append(
                    Problem(f"The map's {name} share is not a whole percent.", fix="Give 1 to 100.", value=str(share))
                )
        if problems:
            raise LogError(problems)
        object.__setattr__(self, "selection", dict(sorted(self.selection.items())))

    @classmethod
    def from_query(cls, text: str) -> ReportView:
        """Read a copied dashboard link (or its query string) as the Journey map and Compare pages read their URL
        (the metric by its label, "Median time", or its name, "median")."""
        params = dict(_link_params(text))
        problems: list[Problem] = []
        shares = {name: _percent(params, name, problems) for name in ("touchpoints", "paths")}
        if problems:
            raise LogError(problems)
        segments = (params["a_segment"], params["b_segment"]) if {"a_segment", "b_segment"} <= params.keys() else None
        selection = {name: value for name, value in params.items() if is_filter_param(name) or name == PERSONA_PARAM}
        metric = params.get("metric", VIEW_PARAMS["metric"])
        persona_run = params.get("run") or None  # the saved persona run, named as the Personas page names it
        return cls(
            _METRIC_OF.get(metric, metric), **shares, selection=selection, segments=segments, persona_run=persona_run
        )

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> ReportView:
        """Read a view back from `to_dict`."""
        segments = values.get("segments")
        return cls(
            str(values.get("metric", VIEW_PARAMS["metric"])),
            int(values.get("touchpoints", VIEW_PARAMS["touchpoints"])),
            int(values.get("paths", VIEW_PARAMS["paths"])),
            {str(name): str(value) for name, value in dict(values.get("selection") or {}).items()},
            None if segments is None else (str(segments[0]), str(segments[1])),
            None if values.get("persona_run") is None else str(values["persona_run"]),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "touchpoints": self.touchpoints,
            "paths": self.paths,
            "selection": dict(self.selection),
            "segments": None if self.segments is None else list(self.segments),
            "persona_run": self.persona_run,
        }


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """Everything the sections read: the log's engine, the journey definition in force and where it comes from
    (`definition_source`, as `definition_in_force` says it), the stamp naming the log and the filters in words,
    the selected customers (`filters`), the view, and for stored logs the store (saved runs and segments)."""

    engine: Engine
    definition: JourneyDefinition
    stamp: ExportStamp
    definition_source: str = "suggested from the log"
    filters: Filters = field(default_factory=Filters)
    view: ReportView = field(default_factory=ReportView)
    store: Store | None = None
    dataset_id: str | None = None

    @cached_property
    def summary(self) -> LogSummary:
        return self.engine.summary(self.filters)

    @cached_property
    def outcomes(self) -> Outcomes:
        return outcome_counts(self.engine, self.definition, self.filters)

    @cached_property
    def churn(self) -> ChurnPoints:
        return churn_points(self.engine, self.definition, self.filters)

    def provenance(self) -> str:
        """The line under every section's title: log, definition version, filters and the journeys' dates."""
        stamp, summary = self.stamp, self.summary
        log = stamp.log_name or "unnamed log"
        if stamp.log_id is not None:
            log += f" (dataset {stamp.log_id})"
        dates = (
            "no journey selected"
            if summary.start_time is None
            else f"{summary.start_time:%Y-%m-%d} to {summary.end_time:%Y-%m-%d}"
        )
        return (
            f"Log: {log} · Journey definition: {self.definition_source} · Filters: {stamp.filters} · "
            f"Events from {dates}"
        )


@dataclass(frozen=True)
class Section:
    """One report section: its key (in URLs and the CLI), title, and the function drawing its HTML body."""

    key: str
    title: str
    render: Callable[[ReportInputs], str]


def report_section(registry: dict[str, Section], key: str, title: str):
    """Register the decorated function `(ReportInputs) -> HTML` as section `key` of `registry`."""

    def register(render: Callable[[ReportInputs], str]) -> Callable[[ReportInputs], str]:
        registry[key] = Section(key, title, render)
        return render

    return register


DISCOVERY_SECTIONS: dict[str, Section] = {}


def log_report_inputs(
    engine: Engine,
    view: ReportView,
    definition: JourneyDefinition,
    *,
    definition_source: str = "suggested from the log",
    definition_version: int | None = None,
    log_name: str = "",
    store: Store | None = None,
    dataset_id: str | None = None,
    filters: Filters | None = None,
    persona: str | None = None,
) -> ReportInputs:
    """Return a report's inputs for a stored dataset (`store` and `dataset_id`) or a log file (`log_name`).

    `filters` default to the view's filter parameters; a view with a persona condition needs them given (by
    `segmentation.stored_report_inputs`, which finds the persona's customers again), with `persona` its name.
    """
    if filters is None:
        if PERSONA_PARAM in view.selection:
            raise LogError(
                Problem(
                    "This view keeps one persona's customers, which only the segmentation layer can find again.",
                    fix="Run `python -m segmentation report` with the same arguments.",
                    value=view.selection[PERSONA_PARAM],
                )
            )
        filters = filters_from_params(view.selection)
    if store is not None and dataset_id is not None:
        dataset = store.dataset(dataset_id)
        stamp = ExportStamp.of_log(dataset, filters, definition_version, dict(view.selection), persona)
    else:
        stamp = ExportStamp(log_name, None, None, filters.describe())
    return ReportInputs(engine, definition, stamp, definition_source, filters, view, store, dataset_id)


def report_options(sections: Mapping[str, Section]) -> argparse.ArgumentParser:
    """Return the parent parser of a `report` command offering `sections` (pass it in `parents=[…]`)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--view",
        default="",
        metavar="URL_OR_QUERY",
        help="a copied dashboard link, or its query string: the map's metric, touchpoints and paths, the filters, "
        "a persona, the persona run (run), the Compare page's a_segment and b_segment",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=list(sections),
        help="sections in report order (default: the link's, as a saved report's link names them, else "
        f"{' '.join(DISCOVERY_SECTIONS)})",
    )
    parser.add_argument("--out", type=Path, required=True, help="write the HTML report here")
    parser.add_argument("--pdf", type=Path, help="also print it to this PDF file (needs Chromium)")
    parser.add_argument("--title", help=f"the report's title (default: the link's, else {REPORT_TITLE!r})")
    parser.add_argument("--generated-at", help="a date or time to print on the report (none by default)")
    return parser


def write_report(args: argparse.Namespace, inputs: ReportInputs, sections: Mapping[str, Section]) -> None:
    """Write the report the parsed `report_options` ask for, and say where. The sections and title not given are the
    link's (a saved report's link, from the Reports page, names them); a stored log's report carries its workspace's
    branding, a log file's the operator's (Settings)."""
    linked = _link_params(args.view)
    by_title = {section.title: key for key, section in sections.items()}
    in_link = [by_title[value] for name, value in linked if name == "sections" and value in by_title]
    keys = args.sections or in_link or list(DISCOVERY_SECTIONS)
    title = args.title or next((value for name, value in linked if name == "report_title"), "") or REPORT_TITLE
    picked = [sections[key] for key in sections if key in keys]
    if inputs.store is None or inputs.dataset_id is None:
        branding = Branding.from_settings(Settings.from_env())
    else:
        branding = Branding.of_workspace(inputs.store, inputs.store.dataset(inputs.dataset_id).workspace_id)
    document = render_report(
        inputs,
        picked,
        branding,
        title=title,
        generated_at=args.generated_at,
    )
    args.out.write_bytes(document.encode("utf-8"))
    print(f"wrote {args.out} ({len(picked)} sections)")
    if args.pdf:
        args.pdf.write_bytes(report_pdf(document))
        print(f"wrote {args.pdf}")


def render_report(
    inputs: ReportInputs,
    sections: Sequence[Section],
    branding: Branding = Branding(),
    *,
    title: str = REPORT_TITLE,
    generated_at: str | None = None,
) -> str:
    """Return the report as one self-contained HTML document: the sections in the order given, each stating
    where its figures come from."""
    if not sections:
        raise LogError(Problem("A report needs at least one section.", fix="Pick the sections to include."))
    provenance = _text(inputs.provenance())
    body = "\n".join(
        f'<section id="section-{_text(section.key)}">\n<h2>{_text(section.title)}</h2>\n'
        f'<p class="provenance">{provenance}</p>\n{section.render(inputs)}\n</section>'
        for section in sections
    )
    logo = "" if branding.logo is None else f'<img class="logo" src="{_text(branding.logo)}" alt="">'
    company = f'<p class="company">{_text(branding.company)}</p>' if branding.company else ""
    dated = "" if generated_at is None else f'<p class="provenance">Generated {_text(generated_at)}</p>'
    contents = "".join(
        f'<li><a href="#section-{_text(section.key)}">{_text(section.title)}</a></li>' for section in sections
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{_text(title)} · {_text(inputs.stamp.log_name)}</title>
<style>{_style(branding)}</style>
</head>
<body>
<header>{logo}<div>{company}<h1>{_text(title)}</h1>
<p class="log">{_text(inputs.stamp.log_name)}</p>{dated}</div></header>
<nav><ol>{contents}</ol></nav>
{body}
<footer>Made with Parcours. Customers are unique journeys.</footer>
</body>
</html>
"""


def find_chromium() -> str | None:
    """Return the path of the Chromium that prints reports to PDF, or None when none is installed."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def report_pdf(document: str, *, chromium: str | None = None) -> bytes:
    """Return the report printed to PDF by headless Chromium (the file it prints has nothing to fetch)."""
    browser = chromium or find_chromium()
    if browser is None:
        raise PdfUnavailable(
            Problem(
                "No Chromium to print the PDF with.",
                fix="Install Chromium (e.g. `apt-get install chromium`), or open the HTML report and print it.",
            )
        )
    with tempfile.TemporaryDirectory(prefix="parcours-report-") as folder:
        page, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(document, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--disable-background-networking",
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=PDF_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PdfUnavailable(
                Problem(f"Chromium could not print the report ({error}).", fix="Check the Chromium install.")
            ) from None
        if not pdf.exists() or not pdf.read_bytes().startswith(b"%PDF"):
            raise PdfUnavailable(Problem("Chromium printed no PDF.", fix="Check that `chromium --headless` runs here."))
        return pdf.read_bytes()


def logo_data_uri(path: str | Path) -> str:
    """Return the logo file as a data: URI, after checking it is a small PNG, JPEG, GIF, WebP or inert SVG."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise LogError(
            Problem(
                "The report logo cannot be read.", fix="Check PARCOURS_REPORT_LOGO.", value=f"{path}: {error.strerror}"
            )
        ) from None
    return logo_uri(content, str(path))


def logo_uri(content: bytes, source: str) -> str:
    """Return a logo's bytes (from `source`: a file, an upload) as a data: URI, after checking it is a small PNG, JPEG,
    GIF, WebP or inert SVG."""
    if len(content) > MAX_LOGO_BYTES:
        raise LogError(
            Problem(
                f"The report logo is larger than {MAX_LOGO_BYTES // 1024} KB.",
                fix="Use a smaller image.",
                value=source,
            )
        )
    mime = _image_type(content) or _svg_type(content, source)
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def save_branding(
    store: Store,
    workspace_id: str,
    *,
    company: str = "",
    primary: str | None = None,
    accent: str | None = None,
    logo: bytes | str | None = None,
) -> Branding:
    """Set the branding of a workspace's reports (only its admins may: the Store checks) and return it in force.

    `logo` is an image's bytes (an upload, checked like the settings' logo) or the data: URI of one already saved;
    a part left empty or None is the operator's (PARCOURS_REPORT_*).
    """
    uri = logo if logo is None or isinstance(logo, str) else logo_uri(logo, "the uploaded logo")
    parts = {"company": company, "primary": primary, "accent": accent, "logo": uri and _checked_logo_uri(uri)}
    store.set_branding(workspace_id, parts)
    return Branding.of_workspace(store, workspace_id)


def _checked_logo_uri(uri: str) -> str:
    """Check a logo saved as a data: URI as the logo file is checked: a workspace's logo is read from the database."""
    header, _, data = uri.partition(";base64,")
    try:
        content = base64.b64decode(data, validate=True)
    except ValueError:
        content = b""
    if not header.startswith("data:image/") or not content:
        raise LogError(Problem("The saved logo is not an image.", fix="Upload the logo again.", value=header[:40]))
    return logo_uri(content, "the workspace's logo")


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, numeric: Sequence[int] = ()) -> str:
    """Return an HTML table of `rows` (every cell escaped); columns at the positions `numeric` align right."""
    right = set(numeric)
    head = "".join(f"<th{' class=num' if i in right else ''}>{_text(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in right else ''}>{_text(cell)}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar_chart(bars: Sequence[tuple[str, float, str]], *, highlight: Sequence[bool] = ()) -> str:
    """Return horizontal bars: (label, share of the longest bar's scale in 0..1, the value as text) each.

    A pure HTML/CSS chart: a bar's width is its share, so it prints and reads with no script; `highlight` marks
    bars drawn in the accent colour.
    """
    marked = list(highlight) + [False] * (len(bars) - len(highlight))
    rows = "".join(
        f'<div class="bar-row{" accent" if mark else ""}"><span class="bar-label">{_text(label)}</span>'
        f'<span class="bar"><span style="width:{_width(share)}%"></span></span>'
        f'<span class="bar-value">{_text(value)}</span></div>'
        for (label, share, value), mark in zip(bars, marked, strict=True)
    )
    return f'<div class="bars">{rows}</div>'


# --- the sections discovery computes ---


@report_section(DISCOVERY_SECTIONS, "summary", "Summary")
def _summary(inputs: ReportInputs) -> str:
    """Headline counts of the selected journeys and how they ended, as the dashboard's home and Stages pages."""
    summary, outcomes = inputs.summary, inputs.outcomes
    tiles = [
        ("Customers (unique journeys)", f"{summary.cases:,}"),
        ("Events", f"{summary.events:,}"),
        ("Touchpoints", f"{summary.activities:,}"),
        ("Journey variants", f"{summary.variants:,}"),
        ("Converted", _rate(outcomes.conversion_rate) if outcomes.has_goal else "no goal"),
        ("Churned (of decided journeys)", _churn_tile(outcomes)),
        ("Still open (censored)", f"{outcomes.censored:,}"),
    ]
    cards = "".join(
        f'<div class="kpi"><span>{_text(label)}</span><strong>{_text(value)}</strong></div>' for label, value in tiles
    )
    return (
        f'<div class="kpis">{cards}</div><p>{_text(outcome_sentence(outcomes))}</p>'
        f"<p>{_text(inputs.definition.rules_in_words())}</p>"
    )


def _churn_tile(outcomes: Outcomes) -> str:
    """The churn rate, or why there is none: no goal (every decided journey would be a churn) or too many still open."""
    if not outcomes.has_goal:
        return "no goal"
    return _rate(outcomes.churn_rate) if outcomes.churn_estimable else "not yet known"


@report_section(DISCOVERY_SECTIONS, "map", "Journey map")
def _map(inputs: ReportInputs) -> str:
    """The map as the Journey map page draws it for the view's metric and sliders: Graphviz's SVG, inlined.

    No more touchpoints than the page opens with (`drawable_coverage`): more is a map Graphviz cannot lay out.
    """
    view, model = inputs.view, inputs.definition.stages
    full = journey_map(
        inputs.engine, inputs.filters, stage_of=model.stage_of, stages=model.stages, churn=inputs.churn.by_activity
    )
    touchpoints = min(view.touchpoints / 100, drawable_coverage(full))
    drawn = simplified_map(
        inputs.engine, full, inputs.filters, activity_coverage=touchpoints, path_coverage=view.paths / 100
    )
    settings = (
        f"Paths labelled with {METRIC_LABELS[view.metric].lower()}; touchpoints shown {touchpoints:.0%}; "
        f"paths shown {view.paths}%."
    )
    try:
        dot, _ = map_layout(map_to_dot(drawn, metric=view.metric, rankdir="TB"))
        drawing = inline_svg(render_dot(dot))
    except LimitExceeded as error:
        (problem,) = error.problems
        return f'<p class="view">{_text(settings)}</p><p>{_text(problem.message)} {_text(problem.fix)}</p>'
    return (
        f'<p class="view">{_text(settings)}</p><figure class="map">{drawing}'
        f"<figcaption>{_text(map_caption(drawn, view.metric))}</figcaption></figure>"
    )


@report_section(DISCOVERY_SECTIONS, "stages", "Stages and funnel")
def _stages(inputs: ReportInputs) -> str:
    """Customers who got at least as far as each stage (the Stages tab's cards) and the stage funnel (its Funnel
    tab over the stages, no window)."""
    model = inputs.definition.stages
    if not model.stage_of:
        return "<p>No touchpoint is in a stage: set the stages in the journey definition.</p>"
    kpis = stage_kpis(inputs.engine, inputs.definition, inputs.filters)
    steps = funnel(
        inputs.engine, model.stages, by="stage", model=model, filters=inputs.filters, goal=inputs.definition.goal
    )
    return (
        f"<h3>Funnel</h3><p>Customers who got at least this far, of {steps.customers_selected:,} selected.</p>"
        f"{funnel_bars(steps)}<h3>Stage KPIs</h3>{stage_kpi_table(kpis)}"
    )


@report_section(DISCOVERY_SECTIONS, "churn", "Churn points")
def _churn(inputs: ReportInputs) -> str:
    """The touchpoints customers churn right after, most telling first, as the Churn points tab lists them."""
    points = inputs.churn
    top = points.activities.head(CHURN_POINTS_SHOWN)
    words = f"<p>{_text(outcome_sentence(points.outcomes))}</p>"
    if not points.outcomes.has_goal:
        return words + f"<p>{_text(NO_GOAL_CHURN_POINTS)}</p>"
    if top.empty:
        return words + "<p>No decided journey churned after a touchpoint.</p>"
    scale = float(top["churn_rate"].max()) or 1.0
    bars = bar_chart(
        [(row.activity, row.churn_rate / scale, _rate(row.churn_rate)) for row in top.itertuples()],
        highlight=[row.lift >= CHURN_POINT_LIFT for row in top.itertuples()],
    )
    table = html_table(
        ["Touchpoint", "Stage", "Customers", "Churned", "Churn rate", "95% interval", "Lift against its stage"],
        [
            (
                row.activity,
                "" if row.stage is None or row.stage != row.stage else row.stage,
                f"{row.customers:,}",
                f"{row.churned:,}",
                _rate(row.churn_rate),
                f"{_rate(row.ci_low)} – {_rate(row.ci_high)}",
                _number(row.lift),
            )
            for row in top.itertuples()
        ],
        numeric=(2, 3, 4, 6),
    )
    return (
        f"{words}<p>The {len(top):,} of {len(points.activities):,} touchpoints most telling of churn; in the accent "
        f"colour those churned after at least {CHURN_POINT_LIFT:g}× as often as their stage.</p>{bars}{table}"
    )


@report_section(DISCOVERY_SECTIONS, "designed", "Designed vs actual")
def _designed(inputs: ReportInputs) -> str:
    """The saved designed journey checked against the view's customers, in the Designed vs actual page's words."""
    if inputs.store is None or inputs.dataset_id is None:
        return "<p>A designed journey belongs to a stored log: report on a stored dataset to include it.</p>"
    designed, saved = designed_of(inputs.store, inputs.dataset_id)
    if designed is None:
        return "<p>No designed journey is saved for this log yet (see the Designed vs actual page).</p>"
    result = conformance(inputs.engine, inputs.definition, designed, inputs.filters)
    tiles = [
        ("Follow the designed journey", _rate(result.share_follows), f"{result.follows:,} of {result.checked:,}"),
        ("Keep to the designed steps", _rate(result.share_keeps_to_steps), f"{result.keeps_to_steps:,}"),
        ("Mean fitness", _number(result.mean_fitness), f"{result.checked:,} customers checked"),
    ]
    cards = "".join(
        f'<div class="kpi"><span>{_text(label)}</span><strong>{_text(value)}</strong><span>{_text(note)}</span></div>'
        for label, value, note in tiles
    )
    steps = html_table(
        ["Stage", "Touchpoint", "Did it", *(check.replace("_", " ").capitalize() for check in STEP_CHECKS)],
        [
            (row["stage"], row["touchpoint"], f"{row['did']:,}", *(f"{row[check]:,}" for check in STEP_CHECKS))
            for _, row in result.steps.iterrows()
        ],
        numeric=range(2, 3 + len(STEP_CHECKS)),
    )
    return (
        f"<p>{_text(designed.name)}, version {saved.version} (saved by {_text(saved.author)}). "
        f"Counts are customers (unique journeys); {_text(result.method)}: {_text(result.why)}</p>"
        f'<div class="kpis">{cards}</div><h3>Designed steps</h3>{steps}'
    )


@report_section(DISCOVERY_SECTIONS, "actions", "Improvement actions")
def _actions(inputs: ReportInputs) -> str:
    """The log's actions as the Actions page lists them, each live or done one with its measured effect on the view's
    customers (journeys started in the 90 days before its go-live against the 90 days from it)."""
    if inputs.store is None or inputs.dataset_id is None:
        return "<p>Actions belong to a stored log: report on a stored dataset to include them.</p>"
    actions = actions_of(inputs.store, inputs.dataset_id)
    if not actions:
        return "<p>No improvement action is recorded for this log yet.</p>"
    rows = [
        (
            action.title,
            action.status,
            action.owner or "—",
            "—" if action.go_live is None else action.go_live.isoformat(),
            str(action.target),
            action.kpi,
            *_effect_cells(inputs, action),
        )
        for action in actions
    ]
    headers = ["Action", "Status", "Owner", "Go-live", "Target", "KPI", "After − before", "Difference in differences"]
    return (
        f"{html_table(headers, rows)}<p>Effects: the targeted customers' KPI for journeys started in the "
        f"{DEFAULT_WINDOW_DAYS} days from the go-live against the {DEFAULT_WINDOW_DAYS} days before, with its 95% "
        "interval; the difference in differences nets out what changed for the untargeted customers too. These are "
        "observational comparisons, not experiments.</p>"
    )


def _effect_cells(inputs: ReportInputs, action: Action) -> tuple[str, str]:
    """The measured effect of one action in words, or why it is not measured here."""
    if action.status not in ("live", "done") or action.go_live is None:
        return ("not live yet", "")
    if action.target.kind in ("persona", "segment"):
        return ("measured on the Actions page", "")
    designed = designed_of(inputs.store, inputs.dataset_id)[0] if action.kpi == "conformance" else None
    try:
        effect = action_effect(inputs.engine, inputs.definition, action, inputs.filters, designed=designed)
    except LogError as error:
        return (error.problems[0].message, "")
    change, low, high = effect.difference
    measured = f"{change_text(change, effect.unit)} ({interval_text(low, high, effect.unit)})"
    if effect.did is None:
        return (measured, "no untargeted customers")
    did, did_low, did_high = effect.did
    return (measured, f"{change_text(did, effect.unit)} ({interval_text(did_low, did_high, effect.unit)})")


def funnel_bars(steps: Funnel) -> str:
    """Return the funnel as bars: customers per step, with the share kept from the previous step."""
    table = steps.table
    first = max(int(table["customers"].max()), 1) if len(table) else 1
    return bar_chart(
        [
            (row.step, row.customers / first, f"{row.customers:,} · {_rate(row.conversion_from_previous)}")
            for row in table.itertuples()
        ]
    )


def stage_kpi_table(kpis: StageKPIs) -> str:
    """Return one row per stage: got this far, did a step of it, conversion, drop-off and median times."""
    return html_table(
        [
            "Stage",
            "Got at least this far",
            "Did a step of it",
            "From previous stage",
            "Dropped off",
            "Median time to reach",
        ],
        [
            (
                row.stage,
                f"{row.customers:,}",
                f"{row.did_stage:,}",
                _rate(row.conversion_from_previous),
                _count(row.drop_off),
                _duration(row.median_seconds_to_reach),
            )
            for row in kpis.table.itertuples()
        ],
        numeric=(1, 2, 3, 4),
    )


def inline_svg(svg: bytes) -> str:
    """Return Graphviz's SVG ready to sit in HTML: no XML prolog, comments or namespace URLs, scaled to the page."""
    text = _SVG_PROLOG.sub("", svg.decode("utf-8"), count=1)
    text = _SVG_COMMENT.sub("", text)
    text = _NAMESPACES.sub("", text)
    return _SVG_SIZE.sub('<svg role="img" width="100%"', text, count=1)


def _link_params(text: str) -> list[tuple[str, str]]:
    """The parameters of a copied dashboard link (or its query string), a repeated one (a multiselect's) each time."""
    query = urlsplit(text).query if "?" in text else text.lstrip("?")
    return parse_qsl(query, keep_blank_values=True)


def _percent(params: Mapping[str, str], name: str, problems: list[Problem]) -> int:
    text = params.get(name, str(VIEW_PARAMS[name]))
    try:
        return int(text)
    except ValueError:
        problems.append(
            Problem(f"The map's {name} share in this link is not a whole percent.", fix="Give 1 to 100.", value=text)
        )
        return int(VIEW_PARAMS[name])


def _image_type(content: bytes) -> str | None:
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _IMAGE_TYPES if content.startswith(magic)), None)


def _svg_type(content: bytes, source: str) -> str:
    """Return the SVG type of a logo with nothing active in it; anything else is refused, never cleaned."""
    try:
        root = SafeXml.fromstring(content)
    except (SafeXml.ParseError, DefusedXmlException, ValueError):
        raise LogError(
            Problem("The report logo is not a PNG, JPEG, GIF, WebP or SVG image.", fix=_FIX_LOGO, value=source)
        ) from None
    if _local(root.tag) != "svg":
        raise LogError(Problem("The report logo is not an SVG image.", fix=_FIX_LOGO, value=source))
    for element in root.iter():
        name = _local(element.tag).lower()
        active = [
            attribute
            for attribute, value in element.attrib.items()
            if _local(attribute).lower().startswith("on")
            or (_local(attribute) == "href" and not value.startswith("#"))
            or _OUTSIDE_URL.search(value)
        ]
        if name in _SVG_ACTIVE or active or (name == "style" and _OUTSIDE_URL.search(element.text or "")):
            raise LogError(
                Problem(f"The SVG logo holds something that could run or fetch ({name}).", fix=_FIX_LOGO, value=source)
            )
    return "image/svg+xml"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _style(branding: Branding) -> str:
    """The report's style sheet in the company's colours (both checked #RRGGBB, so they cannot end a rule)."""
    return f"""
:root {{ --primary: {branding.primary}; --accent: {branding.accent}; }}
* {{ box-sizing: border-box; }}
/* Printed as shown: a PDF without the bars' and headers' backgrounds would lose the charts and hide the headers. */
html {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1d2330;
  margin: 0 auto; max-width: 1100px; padding: 24px; line-height: 1.45; }}
header {{ display: flex; gap: 20px; align-items: center; border-bottom: 4px solid var(--accent);
  padding-bottom: 12px; }}
header .logo {{ max-height: 64px; max-width: 200px; }}
h1 {{ color: var(--primary); margin: 0; font-size: 1.9em; }}
h2 {{ color: var(--primary); border-bottom: 2px solid var(--accent); padding-bottom: 4px; margin-top: 0; }}
h3 {{ color: var(--primary); }}
.company {{ margin: 0; font-weight: 600; color: var(--accent); text-transform: uppercase; letter-spacing: .05em; }}
.log {{ margin: 4px 0 0; font-size: 1.1em; }}
nav ol {{ columns: 2; margin: 16px 0; }}
nav a {{ color: var(--primary); }}
section {{ margin: 28px 0; page-break-inside: auto; }}
section + section {{ break-before: page; }}
.provenance {{ color: #5f6b7a; font-size: .85em; }}
.kpis {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }}
.kpi {{ border: 1px solid #d5dae1; border-top: 4px solid var(--primary); border-radius: 6px; padding: 10px; }}
.kpi span {{ display: block; color: #5f6b7a; font-size: .85em; }}
.kpi strong {{ font-size: 1.5em; color: var(--primary); }}
table {{ border-collapse: collapse; width: 100%; margin: 12px 0; font-size: .9em; }}
th {{ background: var(--primary); color: #fff; text-align: left; }}
th, td {{ padding: 5px 8px; border-bottom: 1px solid #d5dae1; vertical-align: top; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.bars {{ margin: 12px 0; }}
.bar-row {{ display: grid; grid-template-columns: 28% 1fr 22%; gap: 8px; align-items: center; margin: 4px 0; }}
.bar-label {{ overflow-wrap: anywhere; }}
.bar {{ background: #eef1f5; height: 18px; border-radius: 3px; display: block; }}
.bar span {{ background: var(--primary); height: 100%; display: block; border-radius: 3px; }}
.bar-row.accent .bar span {{ background: var(--accent); }}
.bar-value {{ font-variant-numeric: tabular-nums; }}
.map {{ margin: 12px 0; }}
.map svg {{ max-width: 100%; height: auto; }}
figcaption, .view {{ color: #5f6b7a; font-size: .85em; }}
footer {{ color: #5f6b7a; font-size: .8em; border-top: 1px solid #d5dae1; margin-top: 32px; padding-top: 8px; }}
@media print {{ body {{ padding: 0; }} nav {{ display: none; }} }}
"""


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _rate(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.1%}"


def _count(value: int) -> str:
    return "—" if pd.isna(value) else f"{value:,}"


def _number(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}"


def _duration(seconds: float) -> str:
    return "—" if seconds is None or math.isnan(seconds) else human_duration(seconds)


def _width(share: float) -> str:
    return f"{0.0 if math.isnan(share) else min(max(share, 0.0), 1.0) * 100:.1f}"
