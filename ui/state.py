"""The process-wide resources every page shares: settings, the store, the demo dataset.

Cached with `st.cache_resource` because they are the same for every user of this server; nothing
returned here is ever mutated by a page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data import Settings
from data.engine import LogSummary
from data.importing import import_demo
from data.store import Dataset, Store


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """Settings from the environment, with SQL sources from `.streamlit/secrets.toml` if any."""
    try:
        secrets = dict(st.secrets)
    except FileNotFoundError:
        secrets = {}
    return Settings.from_env(secrets=secrets)


@st.cache_resource(show_spinner=False)
def store() -> Store:
    return Store(settings())


@st.cache_resource(show_spinner="Preparing the demo journeys…")
def demo_dataset(scenario: str = "telecom") -> Dataset:
    """Import the bundled demo once per server, so a first run has something real to show."""
    return import_demo(store(), scenario)


@st.cache_data(show_spinner=False, max_entries=64)
def dataset_summary(dataset_id: str) -> LogSummary:
    """Headline counts of a stored log; cached by its id, which is a content hash."""
    with store().engine(dataset_id) as engine:
        return engine.summary()


@st.cache_data(show_spinner=False, max_entries=64)
def top_activities(dataset_id: str, limit: int = 10) -> pd.DataFrame:
    """The most frequent touchpoints, with events and unique customers."""
    with store().engine(dataset_id) as engine:
        table = engine.activities().head(limit)
    return table.rename(columns={"activity": "Touchpoint", "events": "Events", "cases": "Customers"})
