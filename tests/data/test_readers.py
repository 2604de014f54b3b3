"""Readers: every format, every trap of a hand-made bad-input corpus, and the shared real logs."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import os
import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from data.errors import (
    EmptyLog,
    LimitExceeded,
    LogError,
    UnexpectedFailure,
    UnsafeInput,
    UnsupportedFormat,
)
from data.readers import check_path, read_log
from data.settings import Settings
from tests.conftest import DATASETS
from tests.data import corpus

JOURNEYS_CSV = b"case,activity,time\nNA,visit website,2024-01-01 10:00\n007,call center,2024-01-02 11:00\n"


def read_bytes(data: bytes, name: str, settings: Settings, **options) -> pd.DataFrame:
    return read_log(data, name=name, settings=settings, **options).frame


def write_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_columns_are_text_so_case_id_na_survives(settings):
    frame = read_bytes(JOURNEYS_CSV, "log.csv", settings)

    assert frame["case"].tolist() == ["NA", "007"]
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in frame.dtypes)


def test_empty_csv_cells_are_empty_strings(settings):
    frame = read_bytes(b"case,activity,channel\nc1,visit,\nc1,,web\n", "log.csv", settings)

    assert frame["channel"].tolist() == ["", "web"]
    assert frame["activity"].tolist() == ["visit", ""]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(settings, delimiter):
    text = "\n".join(delimiter.join(row) for row in [["case", "activity", "time"], ["c1", "visit, then buy", "t1"]])
    if delimiter == ",":
        text = text.replace("visit, then buy", '"visit, then buy"')

    frame = read_log(text.encode(), name="log.txt", settings=settings).frame

    assert list(frame.columns) == ["case", "activity", "time"]
    assert frame["activity"].tolist() == ["visit, then buy"]
    assert frame.attrs["delimiter"] == delimiter


def test_quoted_fields_keep_line_breaks_and_delimiters_in_a_crlf_file(settings):
    data = b'case;comment;time\r\nc1;"said: ""hello;\r\nbye""";t1\r\nc2;plain;t2\r\n'

    frame = read_bytes(data, "log.csv", settings)

    assert frame["comment"].tolist() == ['said: "hello;\r\nbye"', "plain"]
    assert frame["time"].tolist() == ["t1", "t2"]


def test_utf8_bom_does_not_stick_to_the_first_column_name(settings):
    frame = read_bytes(b"\xef\xbb\xbf" + JOURNEYS_CSV, "log.csv", settings)

    assert frame.columns[0] == "case"


def test_utf16_with_bom_is_decoded(settings):
    data = "client;étape\nc1;réclamation\n".encode("utf-16")

    frame = read_bytes(data, "log.csv", settings)

    assert frame.to_dict("list") == {"client": ["c1"], "étape": ["réclamation"]}
    assert frame.attrs["encoding"] == "utf-16"


def test_cp1252_accents_are_decoded_not_guessed_as_central_european(settings):
    data = "client;étape;canal\nc1;Appel au service après-vente;téléphone\nc2;Visite à Orléans;magasin\n"

    frame = read_bytes(data.encode("cp1252"), "log.csv", settings)

    assert frame["étape"].tolist() == ["Appel au service après-vente", "Visite à Orléans"]
    assert frame.attrs["encoding"] == "cp1252"


def test_gzipped_csv_is_read_and_hashed_as_uploaded(settings):
    data = gzip.compress(JOURNEYS_CSV)

    raw = read_log(data, name="log.csv.gz", settings=settings)

    assert raw.frame["case"].tolist() == ["NA", "007"]
    assert raw.format == "csv"
    assert raw.sha256 == hashlib.sha256(data).hexdigest()


def test_format_argument_overrides_the_extension(settings):
    frame = read_bytes(JOURNEYS_CSV, "export.dat", settings, format="tsv")

    assert list(frame.columns) == ["case", "activity", "time"]


def test_rows_with_extra_fields_are_all_listed(settings):
    data = b"case,activity\nc1,visit\nc1,buy,extra\nc2,visit\nc2,buy,extra,more\n"

    with pytest.raises(UnsupportedFormat) as error:
        read_bytes(data, "log.csv", settings)

    assert [problem.row for problem in error.value.problems] == [3, 5]


def test_unclosed_quote_names_the_row_where_it_opens(settings):
    with pytest.raises(UnsupportedFormat, match="never closed") as error:
        read_bytes(b'case,activity\nc1,visit\nc2,"buy\nc3,visit\n', "log.csv", settings)

    assert error.value.problems[0].row == 3


# --- column names -----------------------------------------------------------------------------------


def test_column_names_are_tidied_and_every_rename_recorded(settings):
    data = write_csv([[" case ", "act\nivity", "", "time", "time", "time (2)"], ["c1", "visit", "x", "t", "u", "v"]])

    frame = read_bytes(data, "log.csv", settings)

    assert list(frame.columns) == ["case", "act ivity", "column 3", "time", "time (3)", "time (2)"]
    renames = frame.attrs["column_renames"]
    assert [(problem.value, problem.column) for problem in renames] == [
        (" case ", "case"),
        ("act\nivity", "act ivity"),
        ("", "column 3"),
        ("time", "time (3)"),
    ]


def test_hostile_column_names_are_kept_as_data(settings):
    hostile = ["=cmd|' /C calc'!A0", '"; DROP TABLE x; --', "n" * 300, "客户 🚀 é"]

    frame = read_bytes(write_csv([hostile, ["1", "2", "3", "4"]]), "log.csv", settings)

    assert list(frame.columns) == hostile
    assert frame.attrs["column_renames"] == ()
    assert frame.attrs["delimiter"] == ","


# --- Excel, Parquet, JSON lines, XES ---------------------------------------------------------------


def test_xlsx_keeps_text_as_text_and_real_dates_as_datetimes(settings):
    data = corpus.xlsx(
        [
            ["case", "activity", "time", "revenue", "note"],
            ["007", "visit", dt.datetime(2024, 1, 2, 10, 30), 5, "A3"],
            ["NA", "buy", dt.datetime(2024, 1, 3, 11, 0), None, 12],
        ]
    )

    frame = read_bytes(data, "log.xlsx", settings)

    assert frame["case"].tolist() == ["007", "NA"]
    assert frame["time"].tolist() == [pd.Timestamp("2024-01-02 10:30"), pd.Timestamp("2024-01-03 11:00")]
    assert frame["revenue"].tolist()[0] == 5
    assert pd.isna(frame["revenue"].tolist()[1])
    assert frame["note"].tolist() == ["A3", "12"]


def test_xls_is_refused_with_a_save_as_fix(settings):
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

    with pytest.raises(UnsupportedFormat) as error:
        read_bytes(ole_header, "log.xls", settings)

    assert "save it as .xlsx or CSV" in error.value.problems[0].fix


def test_parquet_keeps_its_types(settings):
    source = pd.DataFrame(
        {"case": ["NA", "c2"], "time": pd.to_datetime(["2024-01-01", "2024-01-02"]), "revenue": [1.5, 2.0]}
    )

    frame = read_bytes(source.to_parquet(), "log.parquet", settings)

    pd.testing.assert_frame_equal(frame, source, check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(frame["time"])


def test_json_lines_keep_na_as_text(settings):
    data = b'{"case": "NA", "activity": "visit"}\n{"case": "c2", "activity": "buy", "revenue": 3}\n'

    frame = read_bytes(data, "log.jsonl", settings)

    assert frame["case"].tolist() == ["NA", "c2"]
    assert frame["activity"].tolist() == ["visit", "buy"]


def test_broken_json_lines_are_unsupported_naming_the_line(settings):
    with pytest.raises(UnsupportedFormat, match="not valid JSON") as raised:
        read_bytes(b'{"case": "c1"}\n\n{"case": \n', "log.ndjson", settings)

    assert [(problem.row, problem.value) for problem in raised.value.problems] == [(3, '{"case": ')]


def test_a_json_line_that_is_not_an_object_is_unsupported(settings):
    with pytest.raises(UnsupportedFormat, match="JSON list, not an object") as raised:
        read_bytes(b'{"case": "c1"}\n[1, 2]\n', "log.jsonl", settings)

    assert raised.value.problems[0].row == 2


def test_xes_is_read_with_its_standard_keys(settings):
    data = corpus.xes({"c1": [("visit", "2024-01-01T10:00:00+01:00"), ("buy", "2024-01-01T10:05:00+01:00")]})

    frame = read_bytes(data, "log.xes", settings)

    assert frame["case:concept:name"].tolist() == ["c1", "c1"]
    assert frame["concept:name"].tolist() == ["visit", "buy"]
    assert frame["time:timestamp"].iloc[0] == pd.Timestamp("2024-01-01 09:00", tz="UTC")


# --- the bad-input corpus -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["log.csv", "log.jsonl", "log.xes", "log.xlsx", "log.parquet"])
def test_empty_file_is_an_empty_log(settings, name):
    with pytest.raises(EmptyLog):
        read_bytes(b"", name, settings)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"case,activity,time\r\n", "log.csv"),
        (b"   \n\n", "log.csv"),
        (corpus.xlsx([["case", "activity", "time"]]), "log.xlsx"),
        (pd.DataFrame({"case": pd.Series([], dtype=str)}).to_parquet(), "log.parquet"),
        (corpus.xes({}), "log.xes"),
    ],
    ids=["csv", "blank-csv", "xlsx", "parquet", "xes"],
)
def test_header_only_file_is_an_empty_log(settings, data, name):
    with pytest.raises(EmptyLog):
        read_bytes(data, name, settings)


def test_nul_bytes_are_refused_naming_their_rows(settings):
    data = b"case,activity\nc1,visit\nc1,b\x00uy\nc2,visit\nc2,\x00\n"

    with pytest.raises(UnsupportedFormat) as error:
        read_bytes(data, "log.csv", settings)

    assert [problem.row for problem in error.value.problems] == [3, 5]


@pytest.mark.parametrize(
    ("garbage", "message"),
    [
        (random.Random(7).randbytes(4096).replace(b"\x00", b"\x01"), "not text in an encoding"),
        (bytes(random.Random(7).choices(range(1, 128), k=4096)), "not text: it holds binary data"),
    ],
    ids=["undecodable", "control-characters"],
)
def test_garbage_bytes_are_unsupported(settings, garbage, message):
    with pytest.raises(UnsupportedFormat, match=message):
        read_bytes(garbage, "log.csv", settings)


def test_workbook_named_csv_is_unsupported_and_says_what_it_is(settings):
    with pytest.raises(UnsupportedFormat, match="Excel workbook"):
        read_bytes(corpus.xlsx([["case"], ["c1"]]), "log.csv", settings)


def test_csv_named_parquet_is_unsupported(settings):
    with pytest.raises(UnsupportedFormat, match="Parquet"):
        read_bytes(JOURNEYS_CSV, "log.parquet", settings)


def test_unknown_extension_lists_the_supported_formats(settings):
    with pytest.raises(UnsupportedFormat) as error:
        read_bytes(JOURNEYS_CSV, "log.pdf", settings)

    assert ".xlsx" in error.value.problems[0].fix


def test_bytes_without_a_name_or_format_are_unsupported(settings):
    with pytest.raises(UnsupportedFormat, match="cannot tell"):
        read_log(JOURNEYS_CSV, settings=settings)


def test_gz_name_on_a_plain_file_is_unsupported(settings):
    with pytest.raises(UnsupportedFormat, match="not gzip"):
        read_bytes(JOURNEYS_CSV, "log.csv.gz", settings)


def test_truncated_gzip_is_unsupported(settings):
    with pytest.raises(UnsupportedFormat, match="damaged or truncated"):
        read_bytes(gzip.compress(JOURNEYS_CSV * 50)[:60], "log.csv.gz", settings)


def test_gzip_bomb_is_stopped_at_the_uncompressed_cap(tmp_path):
    settings = Settings(home=tmp_path, max_uncompressed_mb=1)

    with pytest.raises(UnsafeInput, match="expands to more than 1 MB"):
        read_bytes(corpus.gzip_bomb(expanded_mb=3), "log.csv.gz", settings)


def test_xlsx_bomb_is_stopped_before_opening(tmp_path):
    settings = Settings(home=tmp_path, max_uncompressed_mb=1)

    with pytest.raises(UnsafeInput):
        read_bytes(corpus.xlsx_bomb(expanded_mb=2), "log.xlsx", settings)


@pytest.mark.parametrize("attack", [corpus.XXE_XES, corpus.BILLION_LAUGHS_XES], ids=["xxe", "billion-laughs"])
def test_xes_with_a_doctype_is_unsafe(settings, attack):
    with pytest.raises(UnsafeInput, match="DOCTYPE"):
        read_bytes(attack, "log.xes", settings)


def test_xes_with_a_doctype_after_the_root_is_malformed(settings):
    with pytest.raises(UnsupportedFormat, match="not well-formed"):
        read_bytes(corpus.LATE_DOCTYPE_XES, "log.xes", settings)


def test_malformed_xes_names_its_line(settings):
    data = b'<?xml version="1.0"?>\n<log>\n<trace>\n<event></trace>\n</log>\n'

    with pytest.raises(UnsupportedFormat) as error:
        read_bytes(data, "log.xes", settings)

    assert error.value.problems[0].row == 4


def test_file_over_the_upload_limit_is_refused_before_reading(tmp_path):
    settings = Settings(home=tmp_path, max_upload_mb=1)
    path = tmp_path / "big.csv"
    path.write_bytes(JOURNEYS_CSV + b"c9,visit,2024-01-03 10:00\n" * 50_000)

    for source in (path, path.read_bytes(), io.BytesIO(path.read_bytes())):
        with pytest.raises(LimitExceeded, match="larger than the 1 MB"):
            read_log(source, name="big.csv", settings=settings)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (JOURNEYS_CSV + b"c3,buy,2024-01-03 10:00\n", "log.csv"),
        (b'{"case": "c1"}\n{"case": "c2"}\n{"case": "c3"}\n', "log.jsonl"),
        (corpus.xlsx([["case"], ["c1"], ["c2"], ["c3"]]), "log.xlsx"),
        (pd.DataFrame({"case": ["c1", "c2", "c3"]}).to_parquet(), "log.parquet"),
        (corpus.xes({"c1": [("a", "2024-01-01T10:00:00Z")] * 3}), "log.xes"),
    ],
    ids=["csv", "jsonl", "xlsx", "parquet", "xes"],
)
def test_more_rows_than_max_events_is_refused(tmp_path, data, name):
    settings = Settings(home=tmp_path, max_events=2)

    with pytest.raises(LimitExceeded, match="more than 2 events"):
        read_bytes(data, name, settings)


def test_exactly_max_events_rows_is_accepted(tmp_path):
    settings = Settings(home=tmp_path, max_events=2)

    assert len(read_bytes(JOURNEYS_CSV, "log.csv", settings)) == 2


def test_quoted_line_breaks_and_blank_lines_are_not_rows_when_counting_them(tmp_path):
    settings = Settings(home=tmp_path, max_events=2)
    data = b'case,activity,note\r\n\r\nc1,visit,"two\nlines"\r\n\nc1,buy,"three\n\nlines"\r\n\n\n'

    assert read_bytes(data, "log.csv", settings)["note"].tolist() == ["two\nlines", "three\n\nlines"]


def test_utf16_rows_are_counted_in_its_code_units(tmp_path):
    settings = Settings(home=tmp_path, max_events=2)
    data = "case,activity\nc1,visite\nc1,achat\n".encode("utf-16")

    assert len(read_bytes(data, "log.csv", settings)) == 2
    with pytest.raises(LimitExceeded, match="more than 2 events"):
        read_bytes(data + "c2,ꀊvisite\n".encode("utf-16-le"), "log.csv", settings)


def test_rows_of_a_compressed_file_are_counted_before_it_is_expanded(tmp_path):
    settings = Settings(home=tmp_path, max_events=1000)
    data = gzip.compress(b"case,activity\n" + b"c1,visit\n" * 1001)

    with pytest.raises(LimitExceeded, match="more than 1,000 events"):
        read_bytes(data, "log.csv.gz", settings)


def test_a_header_wider_than_max_columns_is_refused_before_parsing(tmp_path):
    settings = Settings(home=tmp_path, max_columns=3)

    assert read_bytes(b"a,b,c\n1,2,3\n", "log.csv", settings).shape == (1, 3)
    with pytest.raises(LimitExceeded, match="4 columns or more; this installation accepts at most 3"):
        read_bytes(b"a,b,c,d\n1,2,3,4\n", "log.csv", settings)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b'{"a": 1, "b": 2}\n{"c": 3, "d": 4}\n', "log.jsonl"),
        (corpus.xlsx([["a", "b", "c", "d"], [1, 2, 3, 4]]), "log.xlsx"),
        (pd.DataFrame({"a": [1], "b": [2], "c": [3], "d": [4]}).to_parquet(), "log.parquet"),
    ],
    ids=["jsonl-keys", "xlsx", "parquet"],
)
def test_more_columns_than_max_columns_is_refused(tmp_path, data, name):
    with pytest.raises(LimitExceeded, match="4 columns or more"):
        read_bytes(data, name, Settings(home=tmp_path, max_columns=3))


def test_a_cell_larger_than_max_field_bytes_is_refused_naming_it(tmp_path):
    settings = Settings(home=tmp_path, max_field_bytes=10)
    wide_but_short = b"a,b,c,d,e\n" + b"1234567890," * 4 + b"1234567890\n"
    assert read_bytes(wide_but_short, "log.csv", settings).shape == (1, 5)

    with pytest.raises(LimitExceeded, match="longer than the 10 bytes") as raised:
        read_bytes(b"case,label\nc1,ok\nc2,\xc3\xa9t\xc3\xa9 12345\n", "log.csv", settings)  # 12 bytes, 10 letters

    assert [(p.row, p.column, p.value) for p in raised.value.problems] == [(3, "label", "été 12345")]


def test_a_line_longer_than_any_row_could_be_is_refused_while_streaming(tmp_path):
    settings = Settings(home=tmp_path, max_columns=3, max_field_bytes=10)

    with pytest.raises(LimitExceeded, match="line of the file is"):
        read_bytes(gzip.compress(b"case,activity\n" + b"x" * 40), "log.csv.gz", settings)


@pytest.mark.parametrize(
    ("lines", "minority", "kind"),
    [
        (["café", "thé".encode("cp1252"), "crème"], [3], "not UTF-8 (it reads as cp1252)"),
        (["café".encode("cp1252"), "thé", "crème".encode("cp1252")], [3], "UTF-8"),
    ],
    ids=["cp1252-line-in-utf8", "utf8-line-in-cp1252"],
)
def test_a_file_mixing_utf8_and_cp1252_is_refused_naming_the_odd_lines(settings, lines, minority, kind):
    data = b"case,activity\n" + b"".join(
        b"c1," + (line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines
    )

    with pytest.raises(UnsupportedFormat, match="mixes two encodings") as raised:
        read_bytes(data, "log.csv", settings)

    assert [problem.row for problem in raised.value.problems] == minority
    assert kind in raised.value.problems[0].message


def test_binary_parquet_text_is_decoded_and_other_bytes_refused_by_column(settings):
    def parquet(activities):
        table = pa.table({"case": ["c1", "c2"], "activity": pa.array(activities, pa.binary())})
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()

    assert read_bytes(parquet([b"visite", "été".encode()]), "log.parquet", settings)["activity"].tolist() == [
        "visite",
        "été",
    ]
    with pytest.raises(UnsupportedFormat, match="binary data") as raised:
        read_bytes(parquet([b"visite", b"\xff\x00"]), "log.parquet", settings)
    assert [(p.row, p.column, p.value) for p in raised.value.problems] == [(3, "activity", "ff 00")]


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_only_regular_files_are_read(settings, tmp_path, kind):
    path = {"folder": tmp_path, "fifo": tmp_path / "pipe.csv", "device": Path("/dev/zero")}[kind]
    if kind == "fifo":
        os.mkfifo(path)

    for check in (read_log, check_path):
        with pytest.raises(UnsupportedFormat, match="not a regular file"):
            check(path, settings=settings)


def test_limits_are_read_from_the_environment_and_must_be_positive(tmp_path):
    variables = {
        "PARCOURS_MAX_COLUMNS": "20",
        "PARCOURS_MAX_FIELD_BYTES": "4096",
        "PARCOURS_WORKER_MEMORY_MB": "2048",
        "PARCOURS_WORKER_CPU_SECONDS": "60",
        "PARCOURS_IMPORT_MEMORY_MB": "768",
    }
    settings = Settings.from_env({"PARCOURS_HOME": str(tmp_path), **variables})

    assert (
        settings.max_columns,
        settings.max_field_bytes,
        settings.worker_memory_mb,
        settings.worker_cpu_seconds,
        settings.import_memory_mb,
    ) == (20, 4096, 2048, 60, 768)
    for variable in variables:
        with pytest.raises(LogError, match=f"{variable} must be a positive whole number"):
            Settings.from_env({variable: "0"})


def test_uploaded_file_object_gives_its_name(settings):
    upload = io.BytesIO(JOURNEYS_CSV)
    upload.name = "journeys.csv"

    raw = read_log(upload, settings=settings)

    assert (raw.name, raw.format, len(raw.frame)) == ("journeys.csv", "csv", 2)


def test_missing_path_is_a_log_error(settings, tmp_path):
    with pytest.raises(LogError, match="does not exist"):
        read_log(tmp_path / "nowhere.csv", settings=settings)


# --- the shared real logs -------------------------------------------------------------------------------


def test_bpic16_complaints_latin1_semicolons_and_crlf(settings):
    raw = read_log(DATASETS / "bpic16-complaints" / "BPI2016_Complaints.csv", settings=settings)

    assert raw.frame.shape == (289, 18)
    assert raw.frame.attrs["delimiter"] == ";"
    assert raw.frame.columns[-1] == "ComplaintTopic_EN"
    assert {"boos over beëindiging gesprek", "ongeïnteresseerd / te weinig aandacht gekregen"} <= set(
        raw.frame["ComplaintTopic"]
    )


def test_sepsis_csv_keeps_case_na(settings):
    frame = read_log(DATASETS / "sepsis" / "sepsis.csv", settings=settings).frame

    assert len(frame) == 15_214
    assert frame["Case ID"].nunique() == 1_050
    assert "NA" in set(frame["Case ID"])


def test_helpdesk_csv(settings):
    frame = read_log(DATASETS / "helpdesk" / "helpdesk_tax2017.csv", settings=settings).frame

    assert (len(frame), frame["CaseID"].nunique(), frame["ActivityID"].nunique()) == (13_710, 3_804, 9)


def test_receipt_parquet(settings):
    frame = read_log(DATASETS / "receipt-wabo" / "receipt.parquet", settings=settings).frame

    assert (len(frame), frame["case:concept:name"].nunique()) == (8_577, 1_434)
    assert pd.api.types.is_datetime64_any_dtype(frame["time:timestamp"])


def test_running_example_xes(settings):
    frame = read_log(DATASETS / "running-example" / "running-example.xes", settings=settings).frame

    assert (len(frame), frame["case:concept:name"].nunique(), frame["concept:name"].nunique()) == (42, 6, 8)


def test_sepsis_xes_gz(settings):
    raw = read_log(DATASETS / "sepsis" / "Sepsis.xes.gz", settings=settings)

    assert raw.format == "xes"
    assert (len(raw.frame), raw.frame["case:concept:name"].nunique()) == (15_214, 1_050)


# --- fuzzing: any input ends in a table or a LogError that Parcours recognises -------------------------------------

_CSV_PIECES = [",", ";", "\t", "|", '"', '""', "\n", "\r\n", "\r", "\n\n", "a", "é", "\x00", "\x1f", "\u2028", " "]
_CSV_PIECES += ["case", "activity", "time", "c1", "2024-01-01", "=1+1"]
_JSON_PIECES = ["{", "}", "[", "]", ":", ",", '"a"', '"case"', '"é"', '"\\u0000"', "1", "-0", "1e999", "null", "true"]
_JSON_PIECES += ["\n", "\r\n", " ", '"', "\\", "{}", '{"a": {"b": [1, {"c": null}]}}']
_XES_PIECES = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    "<log>", "</log>", "<trace>", "</trace>", "<event>", "</event>", "<event/>", "<x>", "</x>",
    '<string key="concept:name" value="a"/>', '<string key="k" value="é &amp; &lt;"/>', '<string value="v"/>',
    '<date key="time:timestamp" value="2024-01-01T10:00:00Z"/>', '<date key="time:timestamp" value="soon"/>',
    '<date key="time:timestamp"/>', '<int key="n" value="x"/>', '<float key="f" value="1e999"/>',
    '<boolean key="b" value="TRUE"/>', '<list key="l">', "</list>", "<values>", "</values>",
    '<global scope="event">', "</global>", '<container key="c">', "</container>", "&undefined;", "<!DOCTYPE log>",
    "<!-- note -->", "<![CDATA[x]]>", "\n", " ",
]  # fmt: skip


def _text(pieces: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), max_size=40).map("".join)


def _read_or_recognised_error(data: bytes, name: str, settings: Settings) -> None:
    try:
        raw = read_log(data, name=name, settings=settings)
    except UnexpectedFailure:
        raise  # something the readers do not recognise: a bug
    except LogError:
        return
    assert not raw.frame.empty and len(raw.frame.columns) == len(set(raw.frame.columns))


# The `settings` fixture only names a folder that stays empty: sharing it between examples is harmless.
_FUZZ = hypothesis_settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FUZZ
@given(data=st.one_of(st.binary(max_size=300), _text(_CSV_PIECES).map(str.encode)))
def test_fuzzed_csv_ends_in_a_table_or_a_log_error(settings, data):
    _read_or_recognised_error(data, "log.csv", settings)


@_FUZZ
@given(data=st.one_of(st.binary(max_size=300), _text(_JSON_PIECES).map(str.encode)))
def test_fuzzed_json_lines_end_in_a_table_or_a_log_error(settings, data):
    _read_or_recognised_error(data, "log.jsonl", settings)


@_FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=300),
        _text(_XES_PIECES).map(str.encode),
        _text(_XES_PIECES).map(lambda text: text.encode("utf-16")),
    )
)
def test_fuzzed_xes_ends_in_a_table_or_a_log_error(settings, data):
    _read_or_recognised_error(data, "log.xes", settings)


def test_int96_instants_past_2262_keep_their_year():
    """Read in nanoseconds, as pyarrow does by default, the year 3000 wrapped around to 1830 without a word."""
    raw = read_log(Path(__file__).resolve().parents[1] / "hostile" / "files" / "parquet-int96-year-3000.parquet")

    assert raw.frame["time"].dt.year.tolist() == [3000, 3000, 3000]
