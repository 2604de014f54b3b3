"""The journey map in Chromium, as a CX lead uses it: a simplified map fits its box at a laptop's and a small
screen's size with readable labels; a click on an arrow lists exactly the customers who took that step (the
two-step funnel the arrow implies); one of them opens as a timeline.

Screenshots of each step go to test-results/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from data import Settings, Store
from discovery import customers_behind, definition_of
from tests.browser.conftest import BROWSER_MARKS, choose, expect_metrics, label_pixels, screenshot

pytestmark = BROWSER_MARKS

SIMPLIFIED = {"Touchpoints shown": 60, "Paths shown": 50}  # from 100 % and 80 %, in steps of 5


def move_slider(page, name: str, to_percent: int, from_percent: int) -> None:
    thumb = page.get_by_role("slider", name=name)
    thumb.focus()
    for _ in range((from_percent - to_percent) // 5):
        thumb.press("ArrowLeft")


def boxes_inside(drawing) -> bool:
    return drawing.evaluate(
        """canvas => {
            const frame = canvas.getBoundingClientRect();
            return [...canvas.querySelectorAll("g.node")].every(node => {
                const box = node.getBoundingClientRect();
                return box.left >= frame.left - 1 && box.right <= frame.right + 1
                    && box.top >= frame.top - 1 && box.bottom <= frame.bottom + 1;
            });
        }"""
    )


@pytest.mark.parametrize("window", [(1400, 1000), (1024, 768)])
def test_a_simplified_map_fits_its_box_with_readable_labels(server: str, browser_page, window) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": window[0], "height": window[1]})
    page.goto(server)  # the first run stores the demo
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Journey map").click()
    move_slider(page, "Touchpoints shown", SIMPLIFIED["Touchpoints shown"], 100)
    move_slider(page, "Paths shown", SIMPLIFIED["Paths shown"], 80)
    expect(page.get_by_text(re.compile(r"^Each box counts"))).to_contain_text(re.compile(r"Drawn: \d+ of \d+ touch"))
    page.wait_for_timeout(1000)  # the last key press's rerun
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    drawing = page.locator(".pc-canvas").first
    expect(drawing.locator("svg g.node").first).to_be_visible()
    # The component fits the drawing once its box has its width; on a busy machine a late rerun may draw it again.
    for _ in range(20):
        if boxes_inside(drawing):
            break
        page.wait_for_timeout(500)
    page.screenshot(path=f"test-results/journey-map-simplified-{window[0]}x{window[1]}.png")
    assert boxes_inside(drawing)
    assert label_pixels(drawing) >= 10


def test_a_click_on_an_arrow_lists_exactly_its_customers(server: str, browser_page, tmp_path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(server)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    store = Store(Settings(home=tmp_path / "home"))
    (dataset,) = store.datasets()
    definition, _ = definition_of(store, dataset.id)
    with store.engine(dataset.id) as engine:
        dfg = engine.dfg().set_index(["source", "target"])["cases"]

    page.get_by_test_id("stSidebar").get_by_role("link", name="Journey map").click()
    drawing = page.locator(".pc-canvas").first
    expect(drawing.locator("svg g.node").first).to_be_visible()
    arrow = drawing.locator("g.edge").filter(has_text=re.compile(r"\d · \d")).nth(2)
    customers_on_arrow = int(arrow.locator("text").first.text_content().split(" · ")[0].replace(",", ""))
    arrow.locator("text").first.click()

    chosen = page.get_by_role("combobox", name="Touchpoint or step")
    expect(chosen).to_have_value(re.compile(" → "))
    source, target = chosen.input_value().split(" → ")
    with store.engine(dataset.id) as engine:
        listed = customers_behind(engine, definition, step=(source, target))
    assert customers_on_arrow == dfg[(source, target)] == listed.total
    heading = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^Customers who went from"))
    expect(heading).to_contain_text(f"{listed.total:,} (unique journeys)")
    expect(drawing.locator("g.edge.pc-selected")).to_have_count(1)
    screenshot(page, "journey-map-arrow-clicked")

    page.get_by_role("link", name="Open one customer").click()
    expect(page.get_by_role("heading", name="Customer journey")).to_be_visible()
    first = listed.customers["case_id"].iloc[0]
    expect(page.get_by_role("combobox", name=re.compile(r"^Customer \("))).to_have_value(first)
    screenshot(page, "customer-journey")


def test_a_copied_link_reproduces_the_view_in_a_new_browser(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sidebar = page.get_by_test_id("stSidebar")
    page.goto(server)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    sidebar.get_by_role("link", name="Variants & paths").click()
    page.get_by_role("button", name="Show only this path on every page").click()
    expect(page.get_by_text(re.compile(r"^Every page now shows only"))).to_be_visible()
    sidebar.get_by_role("link", name="Journey map").click()
    page.get_by_text("Median time", exact=True).click()
    move_slider(page, "Touchpoints shown", SIMPLIFIED["Touchpoints shown"], 100)
    move_slider(page, "Paths shown", SIMPLIFIED["Paths shown"], 80)
    # Waiting on the caption of the chosen metric, not on a pause: a rerun can still be on its way.
    caption_of_median_time = page.get_by_text(re.compile(r"^Each box counts.*each arrow shows the median time"))
    expect(caption_of_median_time).to_be_visible()
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    caption = caption_of_median_time.inner_text()
    chosen = page.get_by_role("combobox", name="Touchpoint or step").input_value()
    link = page.url
    assert "variant_ids=" in link and "metric=" in link and "touchpoints=60" in link and "paths=50" in link

    other = page.context.browser.new_context(viewport={"width": 1400, "height": 2600})
    fresh = other.new_page()
    fresh.goto(link)
    expect(fresh.get_by_text(re.compile(r"^Each box counts"))).to_have_text(caption)
    expect(fresh.get_by_role("radio", name="Median time")).to_be_checked()
    expect(fresh.get_by_role("slider", name="Touchpoints shown")).to_have_value("60")
    expect(fresh.get_by_role("slider", name="Paths shown")).to_have_value("50")
    expect(fresh.get_by_role("combobox", name="Touchpoint or step")).to_have_value(chosen)
    screenshot(fresh, "journey-map-from-a-copied-link")
    other.close()


def test_a_saved_view_reopens_from_the_home_page(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sidebar = page.get_by_test_id("stSidebar")
    page.goto(server)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    sidebar.get_by_role("link", name="Journey map").click()
    page.get_by_text("Mean time", exact=True).click()
    expect(page.get_by_text(re.compile(r"^Each box counts.*each arrow shows the mean time"))).to_be_visible()
    sidebar.get_by_role("button", name="Save this view").click()
    page.get_by_role("textbox", name="Name of the view").fill("Mean times, team review")
    page.get_by_role("textbox", name="Name of the view").press("Enter")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(re.compile("Saved “Mean times, team review”"))).to_be_visible()

    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1400})
    fresh = other.new_page()
    fresh.goto(server)
    link = fresh.get_by_role("link", name=re.compile(r"^Mean times, team review — Journey map of "))
    expect(link).to_be_visible()
    screenshot(fresh, "home-saved-views")
    link.click()
    expect(fresh.get_by_role("radio", name="Mean time")).to_be_checked()
    expect(fresh.get_by_text(re.compile(r"^Each box counts.*each arrow shows the mean time"))).to_be_visible()
    other.close()


def test_a_slider_reruns_the_map_only_and_the_filter_button_the_whole_page(server: str, browser_page) -> None:
    """The map is a fragment: moving a slider sends the map again, not the sidebar; its "filter every page" button
    reruns the whole page, so that the sidebar and the strip of filters show the new filter."""
    from playwright.sync_api import expect

    page = browser_page
    sent = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: sent.append(frame)))
    page.goto(server)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Journey map").click()
    caption = page.get_by_text(re.compile(r"^Each box counts"))
    expect(caption).to_be_visible()
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    sent.clear()
    before = caption.inner_text()

    move_slider(page, "Paths shown", 75, 80)
    expect(page).to_have_url(re.compile(r"paths=75"))
    expect(caption).not_to_have_text(before)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    assert any(b"Touchpoint or step" in frame for frame in sent)  # the map's close-up came again
    assert not any(b"Reset filters" in frame for frame in sent)  # the sidebar did not

    choose(page, page, "Touchpoint or step", "billing_dispute")
    expect(page.get_by_text(re.compile(r"^Customers who did billing_dispute"))).to_be_visible()
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    page.get_by_role("button", name="Filter every page to these customers").click()
    expect(page.get_by_role("button", name=re.compile("who did billing_dispute"))).to_be_visible()  # the strip
    expect(page).to_have_url(re.compile(r"with_activities=.*billing_dispute"))
    expect(page).to_have_url(re.compile(r"paths=75"))
    expect_metrics(page, {"Share of customers": "100.0%"})  # the close-up counts the filtered customers
    screenshot(page, "journey-map-filtered-from-the-close-up")
