"""Each page test starts from an empty server: Streamlit's caches outlive one AppTest run."""

from __future__ import annotations

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def demo(demo_copy):
    """The demo log in a home of this test's own (see tests/conftest.py): a test may save what it likes."""
    return demo_copy
