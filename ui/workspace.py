"""The team side of every page: which workspace, what the user's role lets them do, comments, mentions, history.

The library decides (every write is checked at the `Store`, a viewer's attempt is a `PermissionDenied`); these
widgets only spare a user the button they cannot use, and say why. Comments refresh on their own every few seconds
(a fragment), so a teammate's comment appears on an open page without a click.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import streamlit as st

from data import DEFAULT_WORKSPACE, ROLES, Change, Comment, Dataset, Workspace
from data.workspaces import role_allows
from discovery import MAX_LOGO_BYTES, Branding, save_branding
from ui.downloads import show_table
from ui.errors import reported_errors
from ui.markup import plain
from ui.state import store

__all__ = [
    "COMMENTS_REFRESH_SECONDS",
    "allowed",
    "branding_section",
    "changes_table",
    "comment_target",
    "comments_panel",
    "create_workspace_form",
    "current_workspace_id",
    "members_section",
    "mentions_section",
    "recent_comments_section",
    "restore_section",
    "workspace_picker",
]

COMMENTS_REFRESH_SECONDS = 3
RECENT_COMMENTS = 5
_WORKSPACE = "parcours-workspace"
_PICKER = "workspace-picker"
_RESTORED = "parcours-restored"


def current_workspace_id() -> str:
    """The workspace the sidebar shows (imports go to it); the Default one before any page chose."""
    return st.session_state.get(_WORKSPACE, DEFAULT_WORKSPACE)


def workspace_picker(
    workspaces: list[Workspace], datasets: list[Dataset], wanted: str | None, on_change: Callable[[], None]
) -> Workspace | None:
    """Choose the workspace shown: the one of the log the URL names, else the last chosen; offer the others in the
    sidebar when the user belongs to several (`on_change` runs when they pick another). None when they belong to
    none."""
    if not workspaces:
        return None
    by_id = {workspace.id: workspace for workspace in workspaces}
    of_wanted = next((dataset.workspace_id for dataset in datasets if dataset.id == wanted), None)
    current = of_wanted or st.session_state.get(_WORKSPACE)
    if current not in by_id:
        current = DEFAULT_WORKSPACE if DEFAULT_WORKSPACE in by_id else workspaces[0].id
    st.session_state[_WORKSPACE] = current
    if len(workspaces) > 1:
        st.session_state[_PICKER] = current
        with st.sidebar:
            st.selectbox(
                "Workspace",
                list(by_id),
                format_func=lambda workspace_id: f"{by_id[workspace_id].name} ({by_id[workspace_id].role})",
                key=_PICKER,
                on_change=_workspace_chosen,
                args=(on_change,),
                help="Each workspace has its own logs and members; your role is in brackets.",
            )
    return by_id[current]


def _workspace_chosen(then: Callable[[], None]) -> None:
    st.session_state[_WORKSPACE] = st.session_state[_PICKER]
    then()


def allowed(needed: str, doing: str, workspace_id: str | None = None) -> bool:
    """Tell whether the user's role in the workspace (the current one by default) lets them do what needs `needed`;
    when it does not, say so in a caption where the button would be."""
    role = store().role(workspace_id or current_workspace_id())
    if role_allows(role, needed):
        return True
    article = "an" if needed[0] in "aeiou" else "a"
    st.caption(
        f":material/lock: Only {article} {needed} of this workspace can {doing}; "
        f"you are {'not a member' if role is None else f'a {role}'}."
    )
    return False


def comment_target(touchpoint: str | None, step: tuple[str | None, str | None] | None) -> tuple[str, str]:
    """The (kind, key) comments on the map's opened box or arrow are filed under: its name, or its step as JSON."""
    if touchpoint is not None:
        return "touchpoint", touchpoint
    return "step", json.dumps(list(step or (None, None)), ensure_ascii=False)


def comments_panel(dataset_id: str, target_kind: str, target_key: str) -> None:
    """Show the comments on one figure of a log, newest last, and a box to add one; refreshed every few seconds."""
    st.caption(":material/forum: **Comments** — everyone in the workspace sees them")
    _comments(dataset_id, target_kind, target_key)


@st.fragment(run_every=COMMENTS_REFRESH_SECONDS)
def _comments(dataset_id: str, target_kind: str, target_key: str) -> None:
    listing = st.container()  # drawn after the form, so that a comment just posted is listed
    with st.form(key=f"comment-{target_kind}-{target_key}", clear_on_submit=True, border=False):
        text = st.text_area(
            "Your comment",
            height=68,
            placeholder="What do you see here? @mention a teammate…",
            key=f"comment-text-{target_kind}-{target_key}",  # a draft stays with its figure; tests find it by key
        )
        if st.form_submit_button("Post the comment", icon=":material/send:"):
            with reported_errors(stop=False):
                store().add_comment(dataset_id, target_kind, target_key, text)
    with listing, reported_errors(stop=False):
        comments = store().comments(dataset_id, target_kind, target_key)
        for comment in comments:
            st.markdown(_said(comment))
        if not comments:
            st.caption("No comment yet. Write @name to let a teammate know.")


def _said(comment: Comment, where: str = "") -> str:
    """A comment as Markdown: its author (and where it was written), when, then its text, all shown as written."""
    return f"**{plain(comment.author)}**{plain(where)} · {comment.at:%Y-%m-%d %H:%M} UTC  \n{plain(comment.text)}"


def recent_comments_section(dataset: Dataset, shown: int = RECENT_COMMENTS) -> None:
    """List the latest comments on the open log, on whatever figure they were written, newest first."""
    with reported_errors(stop=False):
        latest = store().comments(dataset.id)[-shown:][::-1]
        if not latest:
            st.caption("No comment on this log yet: the map, the stages, the actions and the saved views take them.")
        for comment in latest:
            st.markdown(_said(comment, f" on {comment.target_kind} {comment.target_key}"))


def mentions_section(datasets: list[Dataset]) -> None:
    """List the comments that @mention the user: on which log and figure, by whom, when."""
    with reported_errors(stop=False):
        mentions = store().mentions()
        names = {dataset.id: dataset.name for dataset in datasets}
        if not mentions:
            st.caption("Nobody has mentioned you yet: a comment with @ and your name lists it here.")
            return
        for comment in mentions:
            log = names.get(comment.dataset_id, comment.dataset_id)
            st.markdown(_said(comment, f" on {comment.target_kind} {comment.target_key} of {log}"))


def changes_table(changes: list[Change]) -> pd.DataFrame:
    """The audit history as a table: who changed what, when, from what to what."""
    return pd.DataFrame(
        {
            "When (UTC)": [change.at.replace(tzinfo=None) for change in changes],
            "Who": [change.user_id for change in changes],
            "What": [f"{change.action}: {change.target}" for change in changes],
            "Before": [_short(change.before) for change in changes],
            "After": [_short(change.after) for change in changes],
        }
    )


def _short(value: object, limit: int = 120) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def restore_section(key: str, versions: list[int], restore: Callable[[int], int]) -> None:
    """Offer to put an earlier saved version (of `versions`, newest first) back in force as a new version, through
    `restore(version) -> new version` (the library checks the role; the history keeps every version)."""
    restored = st.session_state.pop(f"{_RESTORED}-{key}", None)
    if restored:  # said after the rerun that shows it: a toast before st.rerun is gone with the run
        st.toast(restored, icon=":material/check:")
    earlier = versions[1:]
    if not earlier or not allowed("editor", "restore a version"):
        return
    picked = st.selectbox("Earlier version", earlier, key=f"restore-pick-{key}")
    if st.button("Restore this version", icon=":material/restore:", key=f"restore-{key}"):
        with reported_errors(stop=False):
            saved = restore(picked)
            st.session_state[f"{_RESTORED}-{key}"] = f"Version {picked} is back in force as version {saved}."
            st.rerun()


def members_section(workspace: Workspace) -> None:
    """The members of a workspace and their roles; its admins add, change and remove them."""
    with reported_errors(stop=False):
        members = store().members(workspace.id)
        show_table(
            pd.DataFrame({"Member": [m.user_id for m in members], "Role": [m.role for m in members]}),
            f"members-{workspace.id}",
        )
    if not allowed("admin", "manage the members", workspace.id):
        return
    with st.form(key=f"member-{workspace.id}", clear_on_submit=True):
        user = st.text_input("User (as they sign in: e-mail, else id)", key=f"member-user-{workspace.id}")
        role = st.selectbox("Role", ROLES, key=f"member-role-{workspace.id}")
        if st.form_submit_button("Add or change", icon=":material/person_add:"):
            _set_member(workspace, user, role, f"{user.strip()} is now {role}.")
    if members:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        gone = left.selectbox("Member", [m.user_id for m in members], key=f"member-remove-{workspace.id}")
        if right.button("Remove", icon=":material/person_remove:", key=f"member-remove-button-{workspace.id}"):
            _set_member(workspace, gone, None, f"{gone} is no longer a member.")


def _set_member(workspace: Workspace, user: str, role: str | None, done: str) -> None:
    with reported_errors(stop=False):
        store().set_member(workspace.id, user.strip(), role)
        st.toast(plain(done), icon=":material/check:")
        st.rerun()


def create_workspace_form() -> None:
    """Create a workspace (its creator is its admin); only an admin of the Default workspace may."""
    if not allowed("admin", "create a workspace", DEFAULT_WORKSPACE):
        return
    with st.form(key="create-workspace", clear_on_submit=True):
        name = st.text_input("Name of the new workspace", key="workspace-name")
        if st.form_submit_button("Create the workspace", icon=":material/add:"):
            with reported_errors(stop=False):
                created = store().create_workspace(name)
                st.session_state[_WORKSPACE] = created.id
                st.toast(plain(f"Created “{created.name}”: add its members below."), icon=":material/check:")
                st.rerun()


def branding_section(workspace: Workspace) -> None:
    """The branding of the workspace's reports (company name, colours, logo); its admins set it, any part left unset
    is the operator's (PARCOURS_REPORT_*)."""
    saved, in_force = {}, Branding()  # what the form starts from if the saved branding cannot be read
    with reported_errors(stop=False):
        saved = store().branding(workspace.id)
        in_force = Branding.of_workspace(store(), workspace.id)
        logo = "its own logo" if "logo" in saved else "the operator's logo" if in_force.logo else "no logo"
        st.markdown(
            f"Reports carry **{plain(in_force.company or '(no company name)')}**, primary colour `{in_force.primary}`, "
            f"accent colour `{in_force.accent}` and {logo}" + ("." if saved else " — all as the operator set them.")
        )
    if not allowed("admin", "set the branding", workspace.id):
        return
    with st.form(key=f"branding-{workspace.id}"):
        company = st.text_input(
            "Company name",
            saved.get("company", ""),
            key=f"branding-company-{workspace.id}",
            help="Empty: the operator's.",
        )
        left, right = st.columns(2)
        primary = left.color_picker("Primary colour", in_force.primary, key=f"branding-primary-{workspace.id}")
        accent = right.color_picker("Accent colour", in_force.accent, key=f"branding-accent-{workspace.id}")
        upload = st.file_uploader(
            f"Logo (PNG or SVG, at most {MAX_LOGO_BYTES // 1024} KB)",
            type=["png", "svg"],
            key=f"branding-logo-{workspace.id}",
            help="An SVG with scripts, event handlers or links is refused.",
        )
        drop = st.checkbox(
            "Remove the workspace's logo", key=f"branding-drop-{workspace.id}", disabled="logo" not in saved
        )
        if st.form_submit_button("Save the branding", icon=":material/palette:"):
            logo = upload.getvalue() if upload is not None else None if drop else saved.get("logo")
            with reported_errors(stop=False):
                # A colour left as the operator's stays theirs (it follows a change of theirs), unless already set.
                primary, accent = (
                    colour if part in saved or colour != getattr(in_force, part) else None
                    for part, colour in (("primary", primary), ("accent", accent))
                )
                save_branding(store(), workspace.id, company=company, primary=primary, accent=accent, logo=logo)
                st.rerun()  # the line above the form then says the new branding
