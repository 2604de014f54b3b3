"""How a page shows what went wrong: every problem of a LogError, never a traceback.

A `LogError` is the user's to fix, so all of its problems are shown as a table (row, column,
value, fix). Anything else is a bug in Parcours: it is logged with its traceback under a short
reference, and the user sees only that reference.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from data import LogError
from ui.downloads import show_table
from ui.tables import problems_table

__all__ = ["reported_errors", "show_error"]

logger = logging.getLogger("parcours.ui")


def show_error(error: LogError, *, file_stem: str = "problems") -> None:
    """Show a LogError: one headline, then every problem with where it is and how to fix it."""
    problems = error.problems
    if len(problems) == 1:
        headline = problems[0].message
    else:
        headline = f"{len(problems):,} problems: each row below says where one is and how to fix it."
    st.error(headline, icon="🚫")
    show_table(problems_table(problems), file_stem)


@contextmanager
def reported_errors(*, stop: bool = True) -> Iterator[None]:
    """Run a page step; on failure show what to do and stop the page run there.

    With `stop=False` a LogError (the user's to fix, such as a name refused) ends only the step, and the rest of
    the page is still drawn; anything unexpected always stops the run. Streamlit's own control flow (st.stop,
    st.rerun, st.switch_page) derives from BaseException and passes through untouched.
    """
    try:
        yield
    except LogError as error:
        show_error(error)
        if stop:
            st.stop()
    except Exception:
        reference = uuid.uuid4().hex[:8]
        logger.exception("Unexpected error on a Parcours page (reference %s)", reference)
        st.error(
            f"Something unexpected went wrong on our side (reference {reference}). It has been logged for the "
            "operator; try again, or report this reference.",
            icon="🐞",
        )
        st.stop()
