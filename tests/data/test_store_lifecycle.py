"""The lifecycle of a stored dataset: imports and deletes of one dataset take turns, readers see it whole or not
at all, lost files are restored by importing again, killed imports leave no staging behind, a full disk is a
typed error that changes nothing."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import data.store
from data.errors import DatasetNotFound, StorageFull
from data.settings import Settings
from data.store import Store
from tests.data.test_store import event_log, journeys

WAIT_SECONDS = 30


def lock_file(settings: Settings, dataset_id: str) -> Path:
    return settings.datasets_dir / ".locks" / f"{dataset_id}.lock"


def test_a_listed_dataset_whose_files_are_gone_is_restored_by_importing_it_again(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log(), name="kept name")
    shutil.rmtree(settings.datasets_dir / dataset.id)
    with pytest.raises(DatasetNotFound, match="Import the log again"):
        store.engine(dataset.id)

    again = store.import_log(event_log(), name="another name")

    assert again == dataset  # the same row: id, name, counts and dates
    pd.testing.assert_frame_equal(store.load_events(dataset.id), journeys(), check_exact=True)
    with store.engine(dataset.id) as engine:
        assert engine.summary().events == 5


def test_a_listed_dataset_missing_one_file_is_restored_too(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    dataset.layout_path.unlink()

    store.import_log(event_log())

    with store.engine(dataset.id) as engine:
        assert engine.summary().cases == 3


def test_a_delete_waits_for_a_reader_opening_the_dataset_which_then_reads_it_whole(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    opening, may_open = threading.Event(), threading.Event()
    real_engine = data.store.Engine

    def slow_engine(layout_path: Path, engine_settings: Settings):
        opening.set()
        assert may_open.wait(WAIT_SECONDS)
        return real_engine(layout_path, engine_settings)

    monkeypatch.setattr(data.store, "Engine", slow_engine)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reader = pool.submit(store.engine, dataset.id)
        assert opening.wait(WAIT_SECONDS)
        deleter = pool.submit(store.delete, dataset.id)
        time.sleep(0.2)  # room for a delete that did not wait to remove the files
        files_while_opening = dataset.layout_path.exists()
        may_open.set()
        with reader.result(timeout=WAIT_SECONDS) as engine:
            deleter.result(timeout=WAIT_SECONDS)
            summary = engine.summary()  # the open engine reads the files it opened, deleted or not

    assert files_while_opening
    assert (summary.events, summary.cases) == (5, 3)
    assert store.datasets() == []
    assert not (settings.datasets_dir / dataset.id).exists()


def test_an_import_waits_for_a_delete_of_the_same_dataset(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    descriptor = os.open(lock_file(settings, dataset.id), os.O_RDWR)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # as a delete in another process holds it
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            deleting = pool.submit(store.delete, dataset.id)
            time.sleep(0.2)
            waited = not deleting.done()
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            deleting.result(timeout=WAIT_SECONDS)
    finally:
        os.close(descriptor)

    assert waited
    assert store.import_log(event_log()).id == dataset.id
    pd.testing.assert_frame_equal(store.load_events(dataset.id), journeys(), check_exact=True)


@pytest.mark.slow  # threads racing imports: 9 s
def test_readers_during_deletes_and_reimports_get_the_dataset_or_not_found(settings: Settings) -> None:
    """The battery saw "not a DuckDB layout" 12 times in ~92,000 reads; a reader now sees it whole or not at all."""
    store = Store(settings)
    dataset_id = store.import_log(event_log()).id
    stop = threading.Event()
    outcomes: list[str] = []

    def churn() -> None:
        for _ in range(15):
            store.delete(dataset_id)
            store.import_log(event_log())
        stop.set()

    def read() -> None:
        while not stop.is_set():
            try:
                with store.engine(dataset_id) as engine:
                    outcomes.append(f"{engine.summary().events} events")
            except DatasetNotFound as error:
                outcomes.append("not found" if "No stored dataset" in str(error) else str(error))

    with ThreadPoolExecutor(max_workers=3) as pool:
        readers = [pool.submit(read) for _ in range(2)]
        pool.submit(churn).result(timeout=300)
        for reader in readers:
            reader.result(timeout=WAIT_SECONDS)

    assert set(outcomes) <= {"5 events", "not found"}
    assert [dataset.id for dataset in store.datasets()] == [dataset_id]


def staging(settings: Settings, dataset_id: str) -> Path:
    folder = settings.datasets_dir / ".incoming" / f"{dataset_id}.{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    (folder / "events.parquet").write_bytes(b"partial")
    return folder


def test_staging_of_an_import_no_longer_running_is_removed_at_the_next_start(settings: Settings) -> None:
    Store(settings)
    killed, killed_delete = staging(settings, "0123456789abcdef"), staging(settings, "fedcba9876543210")
    killed_delete.rename(killed_delete.with_name(killed_delete.name + ".discarded"))

    Store(settings)

    assert list((settings.datasets_dir / ".incoming").iterdir()) == []
    assert not killed.exists()


def test_staging_of_an_import_still_running_is_spared(settings: Settings) -> None:
    Store(settings)
    running = staging(settings, "0123456789abcdef")
    descriptor = os.open(lock_file(settings, "0123456789abcdef"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # as the importing process holds it
    try:
        Store(settings)
    finally:
        os.close(descriptor)

    assert running.is_dir()


def test_a_full_disk_while_writing_is_a_typed_error_that_changes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(settings)
    kept = store.import_log(event_log(source_sha256="1" * 64))

    def full_disk(query: str, names: list[str], layout_path: Path, *args: object, **kwargs: object) -> None:
        layout_path.write_bytes(b"DUCK half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(layout_path))

    monkeypatch.setattr(data.store, "build_layout_from_query", full_disk)
    with pytest.raises(StorageFull, match="disk is full"):
        store.import_log(event_log(source_sha256="2" * 64))

    assert store.datasets() == [kept]
    assert list((settings.datasets_dir / ".incoming").iterdir()) == []


def test_other_write_errors_are_not_called_a_full_disk(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(query: str, names: list[str], layout_path: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(layout_path))

    monkeypatch.setattr(data.store, "build_layout_from_query", denied)
    with pytest.raises(PermissionError):
        Store(settings).import_log(event_log())


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs (needs root); unmounted afterwards."""
    mount_point = tmp_path / "tiny-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def random_log(n_events: int, seed: int):
    """A log whose labels do not compress, so its files take about as much disk as its text."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "case_id": pd.array([f"c{i % 500}" for i in range(n_events)], dtype="str"),
            "activity": pd.array([rng.bytes(40).hex() for _ in range(n_events)], dtype="str"),
            "timestamp": (pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n_events), "s")).as_unit(
                "us"
            ),
            "channel": pd.array(["web"] * n_events, dtype="str"),
            "source_row": np.arange(n_events, dtype="int64"),
        }
    )
    return event_log(frame, source_sha256=f"{seed:064x}")


@pytest.mark.slow
def test_a_really_full_disk_is_a_typed_error_and_importing_works_once_space_is_freed(tiny_disk: Path) -> None:
    settings = Settings(home=tiny_disk / "home", duckdb_threads=1, duckdb_memory_limit="1GB")
    store = Store(settings)
    kept = store.import_log(event_log())  # about 3 MB on disk
    too_big = random_log(30_000, seed=1)  # about 70 MB on disk

    with pytest.raises(StorageFull, match="disk is full"):
        store.import_log(too_big)

    assert Store(settings).datasets() == [kept]
    assert list((settings.datasets_dir / ".incoming").iterdir()) == []
    with sqlite3.connect(settings.home / "parcours.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    smaller = random_log(2_000, seed=2)  # about 5 MB on disk
    assert store.import_log(smaller).n_events == 2_000
