"""What a Spark job's failure tells the user: out of memory and out of disk say which setting or disk to change,
anything else quotes Spark's first line and logs its trace under a reference. No JVM: the failures are made up."""

from __future__ import annotations

import logging
import os

import pytest

from data.errors import LimitExceeded, StorageFull, UnexpectedFailure
from tests.data.test_spark_equality import MISSING_PYSPARK

# As the Spark suites: skipped without pyspark, except in CI, which installs it.
pytestmark = pytest.mark.skipif(MISSING_PYSPARK and not os.environ.get("CI"), reason="pip install pyspark")

OUT = "s3a://bucket/shop/layout"
STAGE_FAILURE = (
    "An error occurred while calling o184.parquet.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 1 in stage 7.0 failed 1 times, most "
    "recent failure: Lost task 1.0 in stage 7.0 (TID 21): {cause}\n\tat org.apache.spark.scheduler.DAGScheduler.abort"
)


def test_a_job_out_of_memory_names_the_driver_memory_setting() -> None:
    from data.spark import _spark_failure

    error = _spark_failure(RuntimeError(STAGE_FAILURE.format(cause="java.lang.OutOfMemoryError: Java heap space")), OUT)
    assert isinstance(error, LimitExceeded)
    (problem,) = error.problems
    assert (problem.file, problem.message) == (OUT, "Spark ran out of memory while preparing the layout.")
    assert "PARCOURS_SPARK_DRIVER_MEMORY" in problem.fix


def test_a_full_disk_is_storage_full() -> None:
    from data.spark import _spark_failure

    cause = "java.io.IOException: No space left on device"
    error = _spark_failure(RuntimeError(STAGE_FAILURE.format(cause=cause)), OUT)
    assert isinstance(error, StorageFull)
    assert error.problems[0].file == OUT


def test_any_other_failure_quotes_sparks_first_line_and_logs_the_trace(caplog: pytest.LogCaptureFixture) -> None:
    from data.spark import _spark_failure

    failure = RuntimeError('org.apache.hadoop.fs.UnsupportedFileSystemException: No FileSystem for scheme "s3a"')
    with caplog.at_level(logging.ERROR, logger="parcours.data"):
        error = _spark_failure(failure, OUT)
    assert isinstance(error, UnexpectedFailure)
    (problem,) = error.problems
    assert problem.message == (
        "Spark could not prepare the layout (org.apache.hadoop.fs.UnsupportedFileSystemException: No FileSystem for "
        f'scheme "s3a"; reference {error.reference}).'
    )
    assert "hadoop-aws" in problem.fix
    (record,) = caplog.records
    assert error.reference in record.getMessage() and record.exc_info[1] is failure
