"""The journey definition: suggested from names with reasons, warned where it looks wrong, saved in versions, read
and written as a file, and followed by the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from data import Store, import_demo
from data.engine import Engine
from data.errors import LogError
from data.settings import Settings
from discovery import (
    AttributeRole,
    ChurnRule,
    JourneyDefinition,
    StageModel,
    definition_of,
    definition_warnings,
    outcome_counts,
    read_definition,
    save_definition,
    stage_kpis,
    suggest_attribute_roles,
    suggest_channel_groups,
    suggest_definition,
    suggest_goal,
    suggest_inactivity_days,
    write_definition,
)
from discovery.__main__ import main
from tests.discovery import journeys
from tests.journey_logs import ecommerce_export, ecommerce_sessions, marketplace_visits

# --- the goal ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("touchpoints", "goal"),
    [
        # GA4 / Segment / Snowplow e-commerce events
        (["page_view", "view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase", "refund"],
         ("purchase",)),
        (["Product Viewed", "Product Added", "Checkout Started", "Order Completed"], ("Order Completed",)),
        # view / cart / purchase exports
        (["view", "cart", "remove_from_cart", "purchase"], ("purchase",)),
        # marketplace and booking logs
        (["browse", "search", "view_listing", "message_host", "booking_request", "booking"], ("booking",)),
        # subscription and telecom logs, the shop demo
        (["visit_website", "compare_offers", "subscribe", "cancel_subscription", "unsubscribe"], ("subscribe",)),
        (["view_product", "add_to_cart", "checkout", "buy_in_store", "repeat_purchase"], ("checkout", "buy_in_store")),
        # support logs, and French ones
        (["Assign seriousness", "Take in charge ticket", "Resolve ticket", "Closed"], ("Resolve ticket",)),
        (["Visite du site", "Ajout au panier", "Achat", "Résiliation"], ("Achat",)),
        (["Demande de souscription", "Souscription"], ("Souscription",)),
        # Found on logs nobody had tuned to: Snowplow's checkout steps, a booking declined, a French order and
        # what happens to an order once placed.
        (["page_view", "product_view", "add_to_cart", "checkout_step", "transaction"], ("transaction",)),
        (["Checkout Step Viewed", "Checkout Step Completed", "Order Completed", "Order Refunded"],
         ("Order Completed",)),
        (["search", "booking_request", "booking_confirmed", "booking_declined", "booking_cancelled"],
         ("booking_confirmed",)),
        (["consultation produit", "ajout au panier", "paiement", "commande", "suivi commande", "résiliation"],
         ("commande",)),
        (["view", "cart", "order", "order_shipped", "track_order", "order_confirmation", "order_status"], ("order",)),
        # BPIC 2019's procurement log: orders changed, deleted, blocked, reactivated or only requested are no goal
        (["Create Purchase Requisition Item", "Change Approval for Purchase Order", "Release Purchase Order",
          "Delete Purchase Order Item", "Reactivate Purchase Order Item", "Block Purchase Order Item",
          "Release Purchase Requisition", "Record Goods Receipt"], ("Release Purchase Order",)),
        (["Add to basket", "Edit order", "Order on hold", "Draft order", "Get a quote", "Place order"],
         ("Place order",)),
        # BPIC 2020's permits: of a chain of approvals, the final ones
        (["Permit SUBMITTED by EMPLOYEE", "Permit APPROVED by PRE_APPROVER", "Permit APPROVED by SUPERVISOR",
          "Permit FINAL_APPROVED by SUPERVISOR", "Permit FINAL_APPROVED by DIRECTOR", "Permit REJECTED by MISSING"],
         ("Permit FINAL_APPROVED by SUPERVISOR", "Permit FINAL_APPROVED by DIRECTOR")),
    ],
)  # fmt: skip
def test_the_goal_is_suggested_from_common_event_vocabularies(touchpoints: list[str], goal: tuple[str, ...]) -> None:
    suggested, reason = suggest_goal(touchpoints)
    assert suggested == goal
    assert "look" in reason and "name says" in reason


def test_an_order_log_whose_every_customer_ordered_gets_no_goal_from_what_follows_the_order() -> None:
    placed_by_all = {"Order Placed": 1.0, "Order Shipped": 0.95, "Order Delivered": 0.85, "Refund Issued": 0.1}
    goal, reason = suggest_goal(list(placed_by_all), placed_by_all)
    assert goal == ()
    assert "'Order Placed' is named like one but done by more than 90% of journeys" in reason


def test_a_step_said_not_to_have_happened_is_no_goal() -> None:
    # BPIC 2016's complaints: "no callback registered" was suggested as the sign-up its name seemed to say.
    assert suggest_goal(["contact via phone", "no callback registered/not registered", "complaint"])[0] == ()


def test_no_goal_is_guessed_when_no_name_says_one() -> None:
    assert suggest_goal(["alpha", "beta", "view", "message_host", "bookmark", "payment_failed"])[0] == ()


def test_a_goal_nearly_everyone_reaches_is_not_suggested() -> None:
    goal, reason = suggest_goal(["ER Registration", "Accepted", "Release A"], {"Accepted": 0.98})
    assert goal == ()
    assert "'Accepted' is named like one but done by more than 90% of journeys" in reason


# --- a definition suggested for a whole log -----------------------------------------------------------------------


@pytest.fixture
def sessions(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(ecommerce_sessions(2000, buyers=80), settings) as engine:
        yield engine


def test_an_ecommerce_export_gets_its_goal_stages_and_a_churn_window_in_minutes(sessions: Engine) -> None:
    definition = suggest_definition(sessions)
    assert definition.goal == ("purchase",)
    assert dict(definition.stages.stage_of) == {
        "view": "discovery",
        "cart": "consideration",
        "remove_from_cart": "consideration",
        "purchase": "purchase",
    }
    # Sessions pause for at most two minutes; a three-hour log cannot use a window of days.
    assert definition.churn.inactivity_days == pytest.approx(2 / 1440)
    assert "2 minutes" in definition.why("churn.inactivity_days")
    assert {name: role.role for name, role in definition.attribute_roles.items()} == {
        "user_id": "identifier",
        "price": "amount",
    }
    assert definition_warnings(sessions, definition) == ()


def test_the_goal_stage_is_reached_by_exactly_the_customers_who_did_the_goal(sessions: Engine) -> None:
    definition = suggest_definition(sessions)
    counted = outcome_counts(sessions, definition)
    table = stage_kpis(sessions, definition).table.set_index("stage")
    assert counted.converted_total == 80
    assert counted.conversion_rate == 80 / 2000  # not "100 % conversion"
    assert table.loc["purchase", "customers"] == table.loc["purchase", "did_stage"] == 80
    assert table.loc["post-purchase", "customers"] == 0  # a stage without touchpoints is reached by nobody
    assert counted.churn_estimable


def test_a_marketplace_log_books_and_messages_before_booking(settings: Settings) -> None:
    with Engine.from_frame(marketplace_visits(), settings) as engine:
        definition = suggest_definition(engine)
        counted = outcome_counts(engine, definition)
    assert definition.goal == ("booking",)
    assert definition.stages.stage_of["message_host"] == "consideration"
    assert definition.stages.stage_of["booking_request"] == "consideration"
    assert counted.converted_total < (marketplace_visits()["activity"] == "message_host").sum()


def test_the_inactivity_window_is_the_round_duration_above_nearly_every_pause(settings: Settings) -> None:
    hourly = journeys(*((f"c{n}", "visit", minute) for n in range(3) for minute in (0, 50, 100)))
    with Engine.from_frame(hourly, settings) as engine:
        assert suggest_inactivity_days(engine)[0] == pytest.approx(1 / 24)  # pauses of 50 minutes: one hour
    single = journeys(("a", "visit", 0), ("b", "visit", 10))
    with Engine.from_frame(single, settings) as engine:
        window, reason = suggest_inactivity_days(engine)
    assert window is None
    assert "no journey has two events" in reason


def suggested_roles(log: pd.DataFrame, settings: Settings) -> tuple[dict, dict]:
    """The attribute roles Parcours suggests for a hand-made log, with the reason for each."""
    with Engine.from_frame(log, settings) as engine:
        return suggest_attribute_roles(engine)


def test_attribute_roles_come_from_names_types_and_values(settings: Settings) -> None:
    log = journeys(*((f"c{n}", "visit", n) for n in range(60))).assign(
        customer_ref=[f"ref-{n}" for n in range(60)],
        order_number=pd.array(range(60), dtype="Int64"),
        revenue_eur=pd.array([10.5] * 60, dtype="Float64"),
        nps=pd.array([n % 11 for n in range(60)], dtype="Int64"),
        satisfaction=pd.array([1 + n % 5 for n in range(60)], dtype="Int64"),
        age=pd.array([20 + n % 50 for n in range(60)], dtype="Int64"),
        region=["north", "south"] * 30,
        signup_date=pd.to_datetime(["2024-01-01"] * 60, utc=True),
    )
    roles, reasons = suggested_roles(log, settings)
    assert roles == {
        "customer_ref": AttributeRole("identifier"),
        "order_number": AttributeRole("identifier"),  # every value differs: never averaged
        "revenue_eur": AttributeRole("amount"),
        "nps": AttributeRole("score", "nps"),
        "satisfaction": AttributeRole("score", "csat", 4.0),
        "age": AttributeRole("number"),
        "region": AttributeRole("category"),
        "signup_date": AttributeRole("date"),
    }
    assert reasons["attribute:satisfaction"] == (
        "its name says 'satisfaction' and its values run 1–5: satisfied means 4 or more"
    )


def test_whole_numbers_that_name_someone_are_categories_and_one_word_amounts_are_summed(settings: Settings) -> None:
    # As in the road traffic fines log and BPIC 2012: the officer or clerk (XES org:resource), the law article and
    # the registration number are codes whose mean means nothing; the payments are money written as one word.
    log = journeys(*((f"c{n}", "visit", n) for n in range(60))).assign(
        **{"org:resource": pd.array([561 + n % 7 for n in range(60)], dtype="Int64")},
        article=pd.array([157, 7, 142] * 20, dtype="Int64"),
        matricola=pd.array([0, 3] * 30, dtype="Int64"),
        Office_U=pd.array([1, 2, 3] * 20, dtype="Int64"),
        paymentamount=pd.array([35.0, 0.0] * 30, dtype="Float64"),
        Costs=pd.array([50, 400] * 30, dtype="Int64"),
        expense=pd.array([11.0, 13.0] * 30, dtype="Float64"),
        points=pd.array([0, 2] * 30, dtype="Int64"),
        resource_load=pd.array([0.5, 0.75] * 30, dtype="Float64"),  # a share, not a whole number: averaged
    )
    roles, reasons = suggested_roles(log, settings)
    assert roles == {
        "org:resource": AttributeRole("category"),
        "article": AttributeRole("category"),
        "matricola": AttributeRole("category"),
        "Office_U": AttributeRole("category"),
        "paymentamount": AttributeRole("amount"),
        "Costs": AttributeRole("amount"),
        "expense": AttributeRole("amount"),
        "points": AttributeRole("number"),
        "resource_load": AttributeRole("number"),
    }
    assert reasons["attribute:org:resource"] == (
        "its name says 'resource': whole numbers that name, not count, grouped and never averaged"
    )
    assert reasons["attribute:paymentamount"] == "its name says 'amount': an amount, summed"


def test_type_actor_and_variant_codes_are_categories_and_dates_written_as_text_are_dates(settings: Settings) -> None:
    # As in BPIC 2015 (case_type, Responsible_actor, SUMleges: the fees' total), the sepsis CSV (Variant index) and
    # the receipt log (startdate, deadline: dates its export wrote as text, every value different).
    log = journeys(*((f"c{n}", "visit", n) for n in range(60))).assign(
        case_type=pd.array([1, 2] * 30, dtype="Int64"),
        Responsible_actor=pd.array([560_000 + n % 9 for n in range(60)], dtype="Int64"),
        **{"Variant index": pd.array([1 + n % 12 for n in range(60)], dtype="Int64")},
        SUMleges=pd.array([35.5, 120.0] * 30, dtype="Float64"),
        startdate=[f"2011/{1 + n % 12:02}/{1 + n % 28:02} 10:{n:02}:00.000" for n in range(60)],
        deadline=[f"2011/{1 + n % 12:02}/{1 + n % 28:02} 18:{n:02}:00" for n in range(60)],
        time_zone=["CET", "UTC"] * 30,
    )
    roles, reasons = suggested_roles(log, settings)
    assert roles == {
        "case_type": AttributeRole("category"),
        "Responsible_actor": AttributeRole("category"),
        "Variant index": AttributeRole("category"),
        "SUMleges": AttributeRole("amount"),
        "startdate": AttributeRole("date"),
        "deadline": AttributeRole("date"),
        "time_zone": AttributeRole("category"),  # named like a date
    }
    assert reasons["attribute:Variant index"] == (
        "its name says 'variant': whole numbers that name, not count, grouped and never averaged"
    )


def test_a_customers_own_number_repeated_on_their_events_is_counted_once_per_customer(
    settings: Settings, tmp_path: Path
) -> None:
    # 30 customers of three events each: a loan's requested amount as pm4py flattens an XES case attribute, a
    # lifetime value a CSV repeats on every row, and an order's price on each event, which differs event to event.
    log = journeys(*((f"c{n}", step, 3 * n + index) for n in range(30) for index, step in enumerate("abc"))).assign(
        **{"case:AMOUNT_REQ": pd.array([1000 * (n // 3) for n in range(90)], dtype="Int64")},
        lifetime_value=pd.array([10.0 * (n // 3) for n in range(90)], dtype="Float64"),
        price=pd.array([float(n) for n in range(90)], dtype="Float64"),
    )
    roles, reasons = suggested_roles(log, settings)
    assert roles == {
        "case:AMOUNT_REQ": AttributeRole("amount", per_customer=True),
        "lifetime_value": AttributeRole("amount", per_customer=True),
        "price": AttributeRole("amount"),
    }
    assert reasons["attribute:lifetime_value"].endswith(
        "each customer has one value, repeated on their events (90 values for 30 customers): counted once per customer"
    )
    definition = JourneyDefinition(attribute_roles=roles)
    write_definition(definition, tmp_path / "definition.json")
    document = json.loads((tmp_path / "definition.json").read_text(encoding="utf-8"))
    assert document["attributes"]["lifetime_value"] == {"role": "amount", "per_customer": True}
    assert document["attributes"]["price"] == {"role": "amount"}
    assert read_definition(tmp_path / "definition.json") == definition


def test_only_a_summed_role_is_counted_once_per_customer() -> None:
    with pytest.raises(LogError, match="Only an amount, a score or a number is counted once per customer"):
        AttributeRole("category", per_customer=True)


def test_device_platform_and_french_channel_names_get_their_group() -> None:
    channels = ["desktop", "tablet", "mob", "tablette", "espace client", "centre d'appels", "Centre d'appel", "srv"]
    groups, reasons = suggest_channel_groups(channels)
    assert groups == {
        "desktop": "online",
        "tablet": "online",  # GA4's device.category
        "mob": "online",  # Snowplow's platform
        "tablette": "online",
        "espace client": "online",
        "centre d'appels": "offline",
        "Centre d'appel": "offline",
    }
    assert reasons["channel:srv"] == "no word of its name says online or offline"  # shown as "other"


def test_segment_cart_events_and_the_french_product_page_have_a_stage_by_name(settings: Settings) -> None:
    log = journeys(
        ("a", "Product Viewed", 0), ("a", "Product Added", 1), ("a", "Product Removed", 2),
        ("a", "Order Completed", 3), ("b", "consultation produit", 0), ("b", "commande", 1),
    )  # fmt: skip
    with Engine.from_frame(log, settings) as engine:
        definition = suggest_definition(engine)
    assert definition.goal == ("Order Completed", "commande")
    for name in ("Product Added", "Product Removed", "consultation produit"):
        assert definition.stages.stage_of[name] == "consideration"
        assert not definition.stages.reasons[name].is_guess


def test_a_code_each_customer_carries_on_every_event_is_an_identifier(settings: Settings) -> None:
    # 60 subscribers, 3 events each: a phone number repeated on each event and an age; neither name says more.
    log = journeys(*((f"c{n}", step, minute) for n in range(60) for minute, step in enumerate(("a", "b", "c")))).assign(
        msisdn=pd.array([33_600_000_000 + n // 3 for n in range(180)], dtype="Int64"),
        age=pd.array([20 + (n // 3) % 40 for n in range(180)], dtype="Int64"),
        basket=pd.array([n for n in range(180)], dtype="Int64"),
    )
    roles, reasons = suggested_roles(log, settings)
    assert roles["msisdn"] == AttributeRole("identifier")  # never averaged into "33,600,000,029.5"
    assert "one value" in reasons["attribute:msisdn"]
    # one per customer, but shared by others: averaged, once per customer (a 3-event customer weighs no more)
    assert roles["age"] == AttributeRole("number", per_customer=True)
    assert roles["basket"] == AttributeRole("amount")  # a different value on every event, named an amount


# --- warnings ------------------------------------------------------------------------------------------------------

MODEL = StageModel(stage_of={"view": "discovery", "cart": "consideration", "purchase": "purchase"})


def test_a_goal_nearly_everyone_reaches_is_warned_about(sessions: Engine) -> None:
    wrong = JourneyDefinition(goal=("view",), stages=MODEL.with_overrides({"view": "purchase"}))
    warnings = definition_warnings(sessions, wrong)
    assert any("The goal 'view' is done by 100% of customers" in warning for warning in warnings)
    assert any("100% of journeys start with 'view', yet it is in stage 'purchase'" in warning for warning in warnings)


def test_a_goal_stage_holding_other_touchpoints_is_warned_about(sessions: Engine) -> None:
    crowded = JourneyDefinition(goal=("purchase",), stages=MODEL.with_overrides({"cart": "purchase"}))
    assert any("also holds 'cart'" in warning for warning in definition_warnings(sessions, crowded))


def test_a_churn_window_longer_than_the_log_is_warned_about(sessions: Engine) -> None:
    sixty_days = JourneyDefinition(goal=("purchase",), stages=MODEL, churn=ChurnRule(inactivity_days=60))
    warnings = definition_warnings(sessions, sixty_days)
    assert any("The churn window (60 days) is longer than the log (2.8 hours)" in warning for warning in warnings)
    assert any("1,920 of 2,000 journeys are still open" in warning for warning in warnings)
    assert not outcome_counts(sessions, sixty_days).churn_estimable


def test_no_goal_is_warned_about(sessions: Engine) -> None:
    assert definition_warnings(sessions, JourneyDefinition(stages=MODEL))[0].startswith("No goal is chosen")


# --- the file and the store ----------------------------------------------------------------------------------------


def test_a_definition_survives_its_file(sessions: Engine, tmp_path: Path) -> None:
    definition = suggest_definition(sessions)
    write_definition(definition, tmp_path / "definition.json")
    document = json.loads((tmp_path / "definition.json").read_text(encoding="utf-8"))
    assert document["stages"][0] == {"name": "discovery", "touchpoints": ["view"]}
    assert document["attributes"]["price"] == {"role": "amount"}
    assert read_definition(tmp_path / "definition.json") == definition


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "cannot be read"),
        ("[]", "is a JSON object"),
        ('{"goal": ["purchase"]}', "does not say it is a parcours.journey-definition"),
        (
            '{"format": "parcours.journey-definition", "format_version": 1, "goal": ["buy"], "stages": '
            '[{"name": "a", "touchpoints": []}], "churn": {"touchpoints": ["buy"], "inactivity_days": -3}}',
            "both a goal and a churn touchpoint",
        ),
        ('{"format": "parcours.journey-definition", "format_version": 1}', "not a journey definition Parcours"),
    ],
)
def test_a_bad_definition_file_says_what_is_wrong_and_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LogError) as caught:
        read_definition(path)
    assert message in str(caught.value)
    assert all(problem.file == str(path) for problem in caught.value.problems)


def test_saved_versions_are_kept_and_the_newest_is_in_force(settings: Settings) -> None:
    store = Store(settings)
    dataset = import_demo(store)
    suggested, version = definition_of(store, dataset.id)
    assert version is None
    first = save_definition(store, dataset.id, suggested, author="ana")
    changed = JourneyDefinition(goal=("subscribe",), stages=suggested.stages, churn=ChurnRule(inactivity_days=30))
    second = save_definition(store, dataset.id, changed, author="bob")
    assert (first, second) == (1, 2)
    assert definition_of(store, dataset.id) == (changed, 2)
    assert [(saved.version, saved.author) for saved in store.definition_history(dataset.id)] == [(2, "bob"), (1, "ana")]
    assert JourneyDefinition.from_dict(store.definition(dataset.id, version=1).payload) == suggested
    store.delete(dataset.id)
    assert store.definition(dataset.id) is None


# --- the command line ----------------------------------------------------------------------------------------------


def test_the_cli_exports_saves_and_follows_the_definition(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_HOME", str(settings.home))
    dataset = import_demo(Store(settings))
    exported = tmp_path / "definition.json"
    assert main(["definition", dataset.id, "--export", str(exported)]) == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    document["churn"]["inactivity_days"] = 30
    exported.write_text(json.dumps(document), encoding="utf-8")
    assert main(["definition", dataset.id, "--definition", str(exported), "--save"]) == 0
    capsys.readouterr()

    assert main(["summary", dataset.id, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["definition"]["source"] == "saved, version 1"
    assert summary["definition"]["churn"]["inactivity_days"] == 30
    with Store(settings).engine(dataset.id) as engine:
        expected = outcome_counts(engine, read_definition(exported))
    assert summary["outcomes"] == json.loads(json.dumps(expected.to_dict()))


def test_the_cli_refuses_a_bad_definition_file(settings: Settings, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PARCOURS_HOME", str(settings.home))
    dataset = import_demo(Store(settings))
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    assert main(["summary", dataset.id, "--definition", str(tmp_path / "bad.json")]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_a_utc_export_is_summed_up_from_the_shell_with_its_goal_stage_reached_by_the_buyers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The issue's case: an e-commerce export whose times end in ' UTC', read with no format flag; its stages show
    the goal stage reached by exactly the customers who did the goal touchpoint."""
    sessions = ecommerce_sessions(1500, buyers=60, seed=3)
    source = tmp_path / "events.csv"
    source.write_text(ecommerce_export(sessions), encoding="utf-8")
    argv = ["summary", str(source), "--case", "user_session", "--activity", "event_type", "--timestamp", "event_time"]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    buyers = sessions.loc[sessions["activity"] == "purchase", "case_id"].nunique()
    assert summary["cases"] == 1500
    assert summary["definition"]["goal"] == ["purchase"]
    assert summary["outcomes"]["converted_total"] == buyers == 60
    assert summary["outcomes"]["conversion_rate"] == pytest.approx(60 / 1500)
    purchase = next(stage for stage in summary["stages"] if stage["stage"] == "purchase")
    assert purchase["got_this_far"] == purchase["did_stage"] == buyers
    assert summary["warnings"] == []
