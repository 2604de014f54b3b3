"""The demo generator is deterministic, looks like a CRM export, and its log shows the ground truth it plants."""

from __future__ import annotations

import gzip
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.demo import SCENARIOS, STAGES, DemoLog, PlantedAction, generate_demo, main, write_demo
from data.errors import LogError, UnsupportedFormat

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
SAMPLES_README = (SAMPLES / "README.md").read_text(encoding="utf-8")
DOCUMENTED_COMMANDS = re.findall(r"^python -m data\.demo (.+)$", SAMPLES_README, flags=re.MULTILINE)
ISO_LOCAL = r"\d{4}-\d\d-\d\dT\d\d:\d\d:00[+-]\d\d:\d\d"


@pytest.fixture(scope="module", params=SCENARIOS)
def demo(request: pytest.FixtureRequest) -> DemoLog:
    return generate_demo(3000, scenario=request.param, seed=0)


def next_in_journey(events: pd.DataFrame) -> pd.DataFrame:
    """The touchpoint and channel of the event that follows each event in its customer's journey (NaN at the end)."""
    return events.groupby("customer_id")[["touchpoint", "channel"]].shift(-1)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_same_seed_gives_the_same_log(scenario: str) -> None:
    first, second = (generate_demo(300, scenario=scenario, seed=5) for _ in range(2))
    pd.testing.assert_frame_equal(first.events, second.events)
    pd.testing.assert_series_equal(first.personas, second.personas)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_another_seed_gives_another_log(scenario: str) -> None:
    first, second = (generate_demo(300, scenario=scenario, seed=seed) for seed in (5, 6))
    assert not first.events.equals(second.events)
    assert not first.personas.equals(second.personas)


def test_every_planted_persona_is_present_with_about_its_planted_share(demo: DemoLog) -> None:
    shares = demo.personas.value_counts(normalize=True)
    assert set(shares.index) == set(demo.persona_shares.index)
    assert demo.persona_shares.sum() == pytest.approx(1.0)
    assert (shares.reindex(demo.persona_shares.index) - demo.persona_shares).abs().max() < 0.03
    assert set(demo.events["customer_id"]) == set(demo.personas.index)


def test_every_touchpoint_has_one_of_the_planted_stages(demo: DemoLog) -> None:
    assert set(demo.events["touchpoint"]) == set(demo.stage_of)
    assert set(demo.stage_of.values()) == set(STAGES) == set(demo.stages)
    assert demo.goal_stage == "purchase"
    assert set(demo.churn_activities) <= set(demo.stage_of)


def test_churn_is_far_more_likely_right_after_a_planted_churn_point(demo: DemoLog) -> None:
    events = demo.events
    following = next_in_journey(events)["touchpoint"]
    churn_follows = following.isin(demo.churn_activities)
    base_rate = churn_follows[~events["touchpoint"].isin(demo.churn_activities)].mean()
    for touchpoint, planted in demo.churn_points.iterrows():
        after_point = events["touchpoint"].eq(touchpoint)
        rate = churn_follows[after_point].mean()
        assert rate > 3 * base_rate, touchpoint
        assert rate == pytest.approx(planted["churn_rate"], abs=0.1), touchpoint
        assert set(following[after_point & churn_follows]) == {planted["churn_activity"]}


def test_planted_channel_switches_follow_at_their_planted_probability(demo: DemoLog) -> None:
    events = demo.events
    following = next_in_journey(events)
    # Not the last quarter: there, the next event (weeks later for a repeat purchase) may fall after the log's end.
    early = pd.to_datetime(events["timestamp"], utc=True) < pd.Timestamp("2025-10-01", tz="Europe/Paris")
    persona = events["customer_id"].map(demo.personas)
    for switch in demo.channel_switches.itertuples():
        at_from = early & events["touchpoint"].eq(switch.from_touchpoint) & events["channel"].eq(switch.from_channel)
        switched = following["touchpoint"].eq(switch.to_touchpoint) & following["channel"].eq(switch.to_channel)
        of_persona = persona.eq(switch.persona)
        assert switched[at_from & of_persona].mean() == pytest.approx(switch.probability, abs=0.1), switch
        assert switched[at_from & of_persona].mean() > switched[at_from & ~of_persona].mean() + 0.15, switch


@pytest.mark.parametrize(
    ("scenario", "start", "days", "zone"),
    [("telecom", "2025-01-01", 365, "Europe/Paris"), ("shop", "2025-03-01", 60, "America/New_York")],
)
def test_timestamps_are_local_iso_times_inside_the_window_that_never_go_back_in_a_journey(
    scenario: str, start: str, days: int, zone: str
) -> None:
    events = generate_demo(400, scenario=scenario, start=start, days=days, timezone=zone).events
    text = events["timestamp"]
    assert text.str.fullmatch(ISO_LOCAL).all()
    moment = pd.to_datetime(text, format="ISO8601", utc=True)
    local = moment.dt.tz_convert(zone)
    assert (local.dt.strftime("%Y-%m-%dT%H:%M:%S") == text.str[:19]).all(), "offset is not the zone's"
    first_day = pd.Timestamp(start, tz=zone)
    assert moment.min() >= first_day
    assert moment.max() < first_day + pd.DateOffset(days=days)
    assert local.dt.hour.between(8, 21).all()
    assert (moment.groupby(events["customer_id"]).diff().dropna() >= pd.Timedelta(0)).all()
    assert text.str[-6:].nunique() == 2, "both the winter and the summer offset"


def test_some_events_share_the_minute_of_the_event_before_them(demo: DemoLog) -> None:
    events = demo.events
    same_minute = events["timestamp"].eq(events["timestamp"].shift()) & events["customer_id"].eq(
        events["customer_id"].shift()
    )
    assert 0.02 < same_minute.mean() < 0.3


def test_some_journeys_are_still_in_progress_when_the_log_ends(demo: DemoLog) -> None:
    events = demo.events
    last_seen = pd.to_datetime(events.groupby("customer_id")["timestamp"].last(), utc=True)
    churned = events["touchpoint"].isin(demo.churn_activities).groupby(events["customer_id"]).any()
    recent = last_seen > pd.Timestamp("2025-12-01", tz="Europe/Paris")
    assert (recent & ~churned).mean() > 0.05
    assert churned.mean() > 0.02


def test_personas_can_be_told_apart_from_activity_mix_and_channels(demo: DemoLog) -> None:
    events = demo.events
    journey_length = events.groupby("customer_id").size()
    events = events[events["customer_id"].map(journey_length) >= 5]
    mix = pd.concat(
        [
            pd.crosstab(events["customer_id"], events["touchpoint"], normalize="index"),
            pd.crosstab(events["customer_id"], events["channel"], normalize="index"),
        ],
        axis=1,
    )
    persona = demo.personas.loc[mix.index].to_numpy()
    learn = np.arange(len(mix)) % 2 == 0
    centroids = mix[learn].groupby(persona[learn]).mean()
    distance = ((mix[~learn].to_numpy()[:, None, :] - centroids.to_numpy()[None, :, :]) ** 2).sum(axis=2)
    nearest = centroids.index.to_numpy()[distance.argmin(axis=1)]
    assert (nearest == persona[~learn]).mean() > 0.75


# The channel each planted shop persona is recognised by, from its first steps on.
SHOP_CHANNELS = {
    "app regulars": "app",
    "click-and-collect shoppers": "web",
    "store-first shoppers": "store",
    "support-dependent returners": "chatbot",
    "bargain hunters": "social",
}


@pytest.mark.parametrize("demo", ["shop"], indirect=True)
def test_shop_personas_show_their_own_channel_in_their_first_three_steps(demo: DemoLog) -> None:
    early = demo.events.groupby("customer_id").head(3)
    persona = early["customer_id"].map(demo.personas)
    assert set(SHOP_CHANNELS) == set(demo.persona_shares.index)
    for name, channel in SHOP_CHANNELS.items():
        on_channel = early["channel"].eq(channel)
        share, others_share = on_channel[persona.eq(name)].mean(), on_channel[persona.ne(name)].mean()
        assert share > 0.2 and share > 3 * others_share, (name, channel, share, others_share)


def test_attributes_sit_where_a_crm_export_would_have_them(demo: DemoLog) -> None:
    events = demo.events
    stage = events["touchpoint"].map(demo.stage_of)
    revenue = events["revenue_eur"]
    assert stage[revenue.notna()].isin(["purchase", "loyalty"]).all()
    assert revenue[stage.eq("purchase")].notna().all()
    assert (revenue.dropna() > 0).all()
    assert events["satisfaction"].dropna().between(1, 5).all()
    assert events["nps"].dropna().between(0, 10).all()
    assert set(events.loc[events["nps"].notna(), "touchpoint"]) == {"nps_survey"}
    assert (events.groupby("customer_id")[["age_band", "region"]].nunique() == 1).all().all()


def test_chunked_writing_gives_the_rows_of_one_shot_generation(tmp_path: Path) -> None:
    one_shot = generate_demo(2500, scenario="shop", seed=3).events
    written = write_demo(tmp_path / "demo.csv", 2500, scenario="shop", seed=3, chunk_customers=1000)
    assert written.path.read_bytes() == one_shot.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert written.events == len(one_shot)
    write_demo(tmp_path / "demo.parquet", 2500, scenario="shop", seed=3, chunk_customers=1000)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "demo.parquet"), one_shot)


MEMORY_PROBE = """
import resource, sys
from data.demo import write_demo

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

write_demo(sys.argv[1] + "/warm-up.parquet", 2_000, chunk_customers=1_000)
baseline = peak_mb()
small = write_demo(sys.argv[1] + "/small.parquet", 20_000, chunk_customers=10_000)
small_growth = peak_mb() - baseline
large = write_demo(sys.argv[1] + "/large.parquet", 100_000, chunk_customers=10_000)
print(small.events, small_growth, large.events, peak_mb() - baseline)
"""


@pytest.mark.slow
def test_writing_a_million_events_in_chunks_keeps_memory_bounded(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(tmp_path)], cwd=REPO, capture_output=True, text=True, check=True
    )
    small_events, small_growth_mb, large_events, large_growth_mb = map(float, probe.stdout.split())
    assert large_events > max(1_000_000, 4 * small_events)
    # Memory follows the chunk, not the log: five times the events, (almost) no more memory.
    assert large_growth_mb < small_growth_mb + 40


@pytest.mark.parametrize("command", DOCUMENTED_COMMANDS)
def test_shipped_samples_are_what_the_documented_commands_write(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = shlex.split(command)
    shipped = REPO / arguments[arguments.index("--out") + 1]
    arguments[arguments.index("--out") + 1] = str(tmp_path / shipped.name)
    assert main(arguments) == 0
    assert gzip.decompress((tmp_path / shipped.name).read_bytes()) == gzip.decompress(shipped.read_bytes())
    assert shipped.stat().st_size < 1_500_000
    events = re.search(r"([\d,]+) events", capsys.readouterr().out).group(1)
    assert re.search(rf"^\| `{shipped.name}` \|.*\| {events} \|", SAMPLES_README, flags=re.MULTILINE)


def test_both_samples_have_a_documented_command() -> None:
    assert sorted(shlex.split(command)[1] for command in DOCUMENTED_COMMANDS) == sorted(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_samples_readme_documents_everything_planted(scenario: str) -> None:
    truth = generate_demo(10, scenario=scenario)
    planted = [
        *truth.persona_shares.index,
        *truth.churn_points.index,
        *truth.churn_activities,
        *truth.channel_switches["persona"],
        *truth.stage_of,
    ]
    assert [name for name in planted if name not in SAMPLES_README] == []


def test_every_argument_problem_is_reported_at_once() -> None:
    with pytest.raises(LogError) as raised:
        generate_demo(0, scenario="bank", seed=-1, start="2025-13-01", days=0, timezone="Mars/Olympus_Mons")
    assert len(raised.value.problems) == 6


def test_an_unknown_file_ending_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat):
        write_demo(tmp_path / "demo.xlsx", 10)
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_prints_counts_and_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--scenario", "shop", "--customers", "20", "--out", str(tmp_path / "demo.parquet")]) == 0
    assert "20 customers" in capsys.readouterr().out
    assert main(["--customers", "0", "--timezone", "Nowhere", "--out", str(tmp_path / "bad.csv")]) == 2
    message = capsys.readouterr().err
    assert "customers" in message and "time zone" in message
    assert not (tmp_path / "bad.csv").exists()


# --- a planted improvement action ----------------------------------------------------------------------------------


def test_a_planted_action_changes_only_its_personas_journeys_started_from_the_go_live() -> None:
    planted = PlantedAction("store loyalists", "billing_dispute", churn_rate=0.0, go_live="2025-04-01")
    plain, acted = generate_demo(3000, seed=2), generate_demo(3000, seed=2, action=planted)
    pd.testing.assert_frame_equal(plain.events, generate_demo(3000, seed=2, action=None).events)
    assert plain.action is None and acted.action == planted
    pd.testing.assert_series_equal(plain.personas, acted.personas)
    events = acted.events
    starts = pd.to_datetime(events.groupby("customer_id")["timestamp"].first().str[:10])
    treated = events["customer_id"].map((acted.personas == planted.persona) & (starts >= pd.Timestamp(planted.go_live)))
    next_step = next_in_journey(events)["touchpoint"]
    churned = next_step.isin(acted.churn_activities)[events["touchpoint"] == "billing_dispute"]
    was_treated = treated[events["touchpoint"] == "billing_dispute"]
    assert was_treated.sum() > 20 and not churned[was_treated].any()
    assert churned[~was_treated].mean() == pytest.approx(0.35, abs=0.05)


def test_a_planted_action_is_checked() -> None:
    with pytest.raises(LogError) as caught:
        generate_demo(10, action=PlantedAction("nobody", "cancel_subscription", churn_rate=2, go_live="soon"))
    assert len(caught.value.problems) == 4
