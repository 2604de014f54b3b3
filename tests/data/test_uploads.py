"""Staged uploads: the user's bytes and file name kept by content hash, within the upload limit, for an hour."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time

import pytest

from data import LimitExceeded, Settings, StagedUploads, Store
from data.uploads import MAX_STAGED_UPLOADS, STALE_UPLOAD_SECONDS, UPLOADS_DIR

CSV = b"client,etape,horodatage\nc1,visit,2025-01-06\nc1,buy,2025-01-07\n"


def test_a_staged_upload_comes_back_by_its_content_hash(settings: Settings) -> None:
    uploads = StagedUploads(settings)

    staged = uploads.stage(CSV, "journeys.csv")

    assert staged.sha256 == hashlib.sha256(CSV).hexdigest()
    assert StagedUploads(settings).get(staged.sha256) == staged
    assert sorted(path.name for path in uploads._folder_of(staged.sha256).iterdir()) == [
        "content",
        "name.txt",
    ]


def test_the_same_bytes_uploaded_under_another_name_keep_the_newest_name(settings: Settings) -> None:
    uploads = StagedUploads(settings)
    first = uploads.stage(CSV, "journeys.csv")
    again = uploads.stage(CSV, "renamed.csv")
    assert first.sha256 == again.sha256
    assert uploads.get(first.sha256).name == "renamed.csv"


@pytest.mark.parametrize(
    ("given", "kept"),
    [("../../etc/passwd", "passwd"), ("C:\\Users\\ana\\log.csv", "log.csv"), ("nul\x00.csv", "nul.csv")],
)
def test_only_the_files_own_name_is_kept(settings: Settings, given: str, kept: str) -> None:
    assert StagedUploads(settings).stage(CSV, given).name == kept


def test_an_upload_over_the_limit_is_refused_and_not_kept(settings: Settings) -> None:
    uploads = StagedUploads(dataclasses.replace(settings, max_upload_mb=1))
    with pytest.raises(LimitExceeded, match="larger than the 1 MB"):
        uploads.stage(b"x" * (1024 * 1024 + 1), "big.csv")
    assert uploads.stage(b"x" * (1024 * 1024), "just.csv").name == "just.csv"
    assert [path for path in (settings.datasets_dir / UPLOADS_DIR).iterdir()] == [
        uploads._folder_of(hashlib.sha256(b"x" * (1024 * 1024)).hexdigest())
    ]


@pytest.mark.parametrize("key", ["..", "../datasets", "", "A" * 64, "0" * 63, None, "0" * 64 + "/.."])
def test_a_key_that_is_not_a_content_hash_never_reaches_the_file_system(settings: Settings, key: object) -> None:
    assert StagedUploads(settings).get(key) is None


def test_a_damaged_upload_is_not_served(settings: Settings) -> None:
    uploads = StagedUploads(settings)
    staged = uploads.stage(CSV, "journeys.csv")
    (uploads._folder_of(staged.sha256) / "content").write_bytes(CSV + b"c2,visit,2025-01-08\n")
    assert uploads.get(staged.sha256) is None
    assert uploads.stage(CSV, "journeys.csv") == staged
    assert uploads.get(staged.sha256) == staged


def test_an_upload_unread_for_an_hour_is_removed_when_a_store_opens(settings: Settings) -> None:
    uploads = StagedUploads(settings)
    old, recent = uploads.stage(CSV, "old.csv"), uploads.stage(b"a,b,c\n", "recent.csv")
    folder = uploads._folder_of(old.sha256)
    long_ago = time.time() - STALE_UPLOAD_SECONDS - 5
    for path in (*folder.iterdir(), folder):
        os.utime(path, (long_ago, long_ago))

    Store(settings)

    assert uploads.get(old.sha256) is None
    assert uploads.get(recent.sha256) == recent


def test_reading_an_upload_keeps_it_another_hour(settings: Settings) -> None:
    uploads = StagedUploads(settings)
    staged = uploads.stage(CSV, "journeys.csv")
    folder = uploads._folder_of(staged.sha256)
    almost = time.time() - STALE_UPLOAD_SECONDS + 60
    for path in (*folder.iterdir(), folder):
        os.utime(path, (almost, almost))

    assert uploads.get(staged.sha256) == staged
    assert folder.stat().st_mtime > time.time() - 60


def test_only_the_newest_uploads_are_kept(settings: Settings) -> None:
    uploads = StagedUploads(settings)
    staged = []
    for number in range(MAX_STAGED_UPLOADS + 2):
        staged.append(uploads.stage(f"a,b\n{number},x\n".encode(), f"{number}.csv"))
        folder = uploads._folder_of(staged[-1].sha256)
        moment = time.time() - 100 + number
        for path in (*folder.iterdir(), folder):
            os.utime(path, (moment, moment))
    uploads.remove_stale()

    assert [uploads.get(upload.sha256) is not None for upload in staged] == [False, False] + [True] * MAX_STAGED_UPLOADS


def test_forgetting_removes_the_upload(settings: Settings) -> None:
    uploads = StagedUploads(settings)
    staged = uploads.stage(CSV, "journeys.csv")
    uploads.forget(staged.sha256)
    uploads.forget(staged.sha256)
    assert uploads.get(staged.sha256) is None


def test_an_upload_is_its_users_alone_even_to_someone_who_knows_its_hash(settings: Settings) -> None:
    team = dataclasses.replace(settings, auth="oidc", admins=("ana@example.org",))
    ana = Store(team, user="ana@example.org")
    retail = ana.create_workspace("Retail")
    ana.set_member(retail.id, "carol@example.org", "editor")
    carol = ana.as_user("carol@example.org")
    staged = ana.uploads.stage(CSV, "journeys.csv")

    assert ana.as_user("ana@example.org").uploads.get(staged.sha256) == staged  # a reloaded page, a new Store
    assert carol.uploads.get(staged.sha256) is None
    carol.uploads.forget(staged.sha256)
    assert ana.uploads.get(staged.sha256) == staged
    assert carol.uploads.stage(CSV, "carols.csv").name == "carols.csv"  # the same bytes: a file of her own
    assert ana.uploads.get(staged.sha256).name == "journeys.csv"


def test_an_upload_an_older_parcours_kept_by_hash_alone_is_removed(settings: Settings) -> None:
    legacy = settings.datasets_dir / UPLOADS_DIR / hashlib.sha256(CSV).hexdigest()
    legacy.mkdir(parents=True)
    (legacy / "content").write_bytes(CSV)
    a_minute_ago = time.time() - 61
    os.utime(legacy / "content", (a_minute_ago, a_minute_ago))
    os.utime(legacy, (a_minute_ago, a_minute_ago))

    uploads = StagedUploads(settings)
    assert uploads.get(hashlib.sha256(CSV).hexdigest()) is None
    uploads.remove_stale()
    assert not legacy.exists()
