"""Who is using the dashboard: the local user, a user signed in through OIDC, or one named by a trusted proxy.

`PARCOURS_AUTH` chooses (see `data.Settings`). Locally nobody signs in: the one user (`PARCOURS_USER`) is admin of
everything. With `oidc` Streamlit's own `st.login` signs users in (`[auth]` in `.streamlit/secrets.toml`) and a page
run without a signed-in user shows only "Sign in". With `header` a reverse proxy (e.g. oauth2-proxy) names the user in
a request header, believed only from the allow-listed proxy addresses, since anyone else could send the header.
Every page acts as the user returned here (`ui.store()` is that user's `Store`), so the library checks each write.
"""

from __future__ import annotations

import streamlit as st

from data import Settings
from ui.markup import plain

__all__ = ["LOOPBACK", "account_box", "current_user", "header_user", "signed_in_user"]

# Streamlit gives no address for a request that came over the loopback interface.
LOOPBACK = "127.0.0.1"


class NotTrusted(Exception):
    """A request in header mode that cannot be believed: from outside the proxies, or naming nobody."""


def header_user(settings: Settings, headers, ip_address: str | None) -> str:
    """Return the user a trusted proxy names in `settings.trusted_header`; NotTrusted when it cannot be believed."""
    address = ip_address or LOOPBACK
    if address not in settings.trusted_proxies:
        raise NotTrusted(
            f"This dashboard accepts requests only through its sign-in proxy, and {address} is not one "
            "(PARCOURS_TRUSTED_PROXIES)."
        )
    user = (headers.get(settings.trusted_header) or "").strip()
    if not user:
        raise NotTrusted(f"The sign-in proxy named nobody: the request has no {settings.trusted_header} header.")
    return user


def signed_in_user(settings: Settings) -> str | None:
    """Return who this page run is for, None while nobody is signed in (OIDC); NotTrusted in header mode."""
    if settings.auth == "local":
        return settings.owner
    if settings.auth == "header":
        return header_user(settings, st.context.headers, st.context.ip_address)
    if not st.user.get("is_logged_in"):
        return None
    return str(st.user.get("email") or st.user.get("sub"))


def current_user(settings: Settings) -> str:
    """Return the user every page acts as; without one, show how to sign in (or why not) and end the page run."""
    try:
        user = signed_in_user(settings)
    except NotTrusted as refusal:
        st.error(plain(refusal), icon=":material/block:")
        st.stop()
    if user is None:
        st.info("Parcours shows each team its own journeys: sign in to see yours.", icon=":material/lock:")
        st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login, key="sign-in")
        st.stop()
    return user


def account_box(settings: Settings, user: str) -> None:
    """Say in the sidebar who is signed in, with "Sign out" when Parcours signed them in (OIDC)."""
    if settings.auth == "local":
        return
    with st.sidebar:
        st.caption(f"Signed in as {plain(user)}")
        if settings.auth == "oidc":
            st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="sign-out")
