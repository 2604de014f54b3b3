"""Arrow's CSV parser, which reads UTF-8 files, gives the table pandas' parser gives, or leaves the file to it."""

from __future__ import annotations

import gzip
import io

import pytest

from data.readers import _arrow_csv, _pandas_csv, _sniff_delimiter, read_log
from data.settings import Settings
from tests.conftest import DATASETS

ODD_FILES = {
    "a quote inside a field": b'a,b\nx"y,z\n',
    "text after a closing quote": b'a,b\n"x"y,z\n',
    "a space before a quote": b'a,b\n "x",z\n',
    "a space after a quote": b'a,b\n"x" ,z\n',
    "a trailing delimiter": b"a,b\nx,y,\n",
    "a short row": b"a,b\nx\n",
    "CRLF line ends": b"a,b\r\nx,y\r\n",
    "CR line ends": b"a,b\rx,y\r",
    "blank lines": b"a,b\n\nx,y\n\n",
    "a line of spaces": b"a,b\n   \nx,y\n",
    "a quoted line break": b'a,b\n"x\ny",z\n',
    "a quoted carriage return": b'a,b\n"x\ry",z\n',
    "doubled quotes": b'a,b\n"x""y",z\n',
    "an empty quoted field": b'a,b\n"",z\n',
    "no final line break": b"a,b\nx,y",
    "a quote never closed": b'a,b\nx,y\n"z,w\nv,u\n',
    "a tab inside a field": b"a,b\nx\ty,z\n",
    "accents": "a,b\ncafé,ü\n".encode(),
    "a backslash before a quote": b'a,b\nx\\"y,z\n',
    "a delimiter inside quotes": b'a,b\n"x,y",z\n',
    "a row of empty fields": b"a,b\n,\nx,y\n",
    "a hash": b"a,b\n#x,y\n",
    "semicolons": b"a;b\nx;1,5\n",
}


@pytest.mark.parametrize("content", ODD_FILES.values(), ids=ODD_FILES.keys())
def test_arrow_reads_an_odd_file_as_pandas_does_or_leaves_it_to_pandas(content: bytes) -> None:
    settings = Settings()
    delimiter = _sniff_delimiter(content.decode("utf-8"))
    by_arrow = _arrow_csv(content, delimiter, settings)
    if by_arrow is None:
        return
    by_pandas = _pandas_csv(io.BytesIO(content), delimiter, None, settings)
    assert by_arrow.equals(by_pandas)


def test_irregular_files_are_left_to_pandas() -> None:
    settings = Settings()
    for name in ("a short row", "a trailing delimiter", "a line of spaces", "a quote never closed"):
        assert _arrow_csv(ODD_FILES[name], ",", settings) is None, name


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", sorted({*DATASETS.glob("*/*.csv"), *DATASETS.glob("*/*.csv.gz")}), ids=lambda path: path.name
)
def test_every_shared_csv_reads_the_same_both_ways(path) -> None:
    content = path.read_bytes()
    content = gzip.decompress(content) if path.suffix == ".gz" else content
    settings = Settings()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:  # pandas alone reads it, from its text in the encoding found
        assert read_log(path, settings=settings).frame.attrs["encoding"] != "utf-8"
        return
    delimiter = _sniff_delimiter(text[:100_000])
    by_arrow = _arrow_csv(content, delimiter, settings)
    assert by_arrow is not None
    assert by_arrow.equals(_pandas_csv(io.BytesIO(content), delimiter, None, settings))
