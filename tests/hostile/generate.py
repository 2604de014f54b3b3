"""Write the large inputs of the hostile corpus: bombs and oversized files, too big to commit.

    python tests/hostile/generate.py OUT_DIR [NAME ...]

Each is built in seconds without expanding it: a gzip file may hold many members one after another
(RFC 1952), so a bomb is one small compressed member repeated; the zip bomb repeats one deflate block
that a full flush made independent of what precedes it.
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

MB = 1 << 20
CSV_HEADER = b"case,activity,time\n"
CSV_LINE = b"c1,visit,2024-01-01\n"
INSTANT = 1_704_067_200_000_000  # 2024-01-01T00:00Z in microseconds


def gzip_bomb_of_zeros(compressed_mb: int = 26) -> bytes:
    """A CSV header, then zeros: about 1,000 times the compressed size (26 GB from 26 MB) and no line break."""
    member = gzip.compress(bytes(MB), 9)
    return gzip.compress(CSV_HEADER) + member * (compressed_mb * MB // len(member))


def gzip_of_rows(rows: int = 52_000_000, header: bytes = CSV_HEADER, line: bytes = CSV_LINE) -> bytes:
    """A CSV of `rows` short rows, about 2.5 MB compressed for 52 million rows (1 GB expanded)."""
    lines_per_member = MB // len(line)
    member = gzip.compress(line * lines_per_member, 9)
    members, rest = divmod(rows, lines_per_member)
    return gzip.compress(header) + member * members + gzip.compress(line * rest)


def gzip_of_empty_cells(rows: int = 540_000, columns: int = 1_000) -> bytes:
    """A CSV of `columns` columns whose `rows` rows fill three: 540 million cells from half a megabyte."""
    header = ",".join(["case", "activity", "time", *(f"a{i}" for i in range(columns - 3))]) + "\n"
    return gzip_of_rows(rows, header.encode(), CSV_LINE[:-1] + b"," * (columns - 3) + b"\n")


def xes_with_text(text_mb: int = 11) -> bytes:
    """A three-event XES log whose first event holds `text_mb` MB of CDATA, past libxml2's 10 MB for a text."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<log><trace><string key="concept:name" value="c1"/><event>'
        f'<![CDATA[{"x" * (text_mb * MB)}]]><string key="concept:name" value="visit"/>'
        '<date key="time:timestamp" value="2024-01-01T00:00:00"/></event></trace></log>\n'
    ).encode()


def list_of_objects_jsonl(objects: int = 5_000_000) -> bytes:
    """JSON lines whose one line is a list of `objects` small objects: 40 MB, over a gigabyte once parsed."""
    return b"[" + b",".join([b'{"a":1}'] * objects) + b"]\n"


def far_cell_xlsx(cell: str = "ALL600000") -> bytes:
    """A workbook of a three-event log and one number at `cell`: a table of 600 million cells in 6 KB."""
    workbook = openpyxl.Workbook()
    for row in (("case", "activity", "time"), ("c1", "visit", "2024-01-01"), ("c1", "buy", "2024-01-02")):
        workbook.active.append(row)
    workbook.active[cell] = 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def dictionary_parquet(value_bytes: int = 100 * MB, rows: int = 1_000, *, typed: bool = False) -> bytes:
    """A Parquet log whose activity repeats one `value_bytes` value stored once: 100 GB as rows, 10 KB on disk.

    `typed` stores the times as instants, as a warehouse does: the Import page then previews the file from its first
    rows and would have DuckDB store it.
    """
    activity = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["z" * value_bytes]))
    time = pa.array([INSTANT] * rows, pa.timestamp("us", tz="UTC")) if typed else ["2024-01-01"] * rows
    table = pa.table({"case": ["c1"] * rows, "activity": activity, "time": time})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", dictionary_pagesize_limit=2 * value_bytes)
    return buffer.getvalue()


def long_value_past_the_preview_parquet(rows: int = 20_001, value_bytes: int = 300 * 1024) -> bytes:
    """A typed Parquet log whose last activity, past the 20,000 rows the Import page previews, is `value_bytes` long."""
    activity = ["visit"] * (rows - 1) + ["z" * value_bytes]
    cases = [f"c{row % 500}" for row in range(rows)]
    table = pa.table(
        {"case": cases, "activity": activity, "time": pa.array([INSTANT] * rows, pa.timestamp("us", tz="UTC"))}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def gzip_of_long_lines(expanded_mb: int = 4200) -> bytes:
    """A CSV of well-formed 4 KB rows expanding to `expanded_mb` MB: within the row limit, past the expanded cap."""
    line = b"c1,visit,2024-01-01," + b"x" * (4096 - 21) + b"\n"
    member = gzip.compress(line * (MB // len(line)), 9)
    return gzip.compress(CSV_HEADER[:-1] + b",note\n") + member * expanded_mb


def gzip_of_one_endless_line(expanded_mb: int = 1024) -> bytes:
    """A "CSV" of one line of letters, `expanded_mb` MB long: no row of an event log is."""
    member = gzip.compress(b"a" * MB, 9)
    return member * expanded_mb


def gzip_of_xes_events(events: int = 51_000_000) -> bytes:
    """An XES log of `events` empty events in one trace, about 400 MB expanded."""
    per_member = MB // len(b"<event/>")
    member = gzip.compress(b"<event/>" * per_member, 9)
    members, rest = divmod(events, per_member)
    head = gzip.compress(b'<?xml version="1.0" encoding="UTF-8"?>\n<log><trace>')
    return head + member * members + gzip.compress(b"<event/>" * rest + b"</trace></log>\n")


def wide_csv(columns: int, rows: int = 6) -> bytes:
    """A CSV of `columns` columns (20,000: about 370 KB) and `rows` rows."""
    header = ["case", "activity", "time", *(f"a{i}" for i in range(columns - 3))]
    lines = [",".join(header)]
    values = ["1"] * (columns - 3)
    lines += [",".join([f"c{row % 2}", f"step{row}", f"2024-01-0{row + 1}", *values]) for row in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def wide_xes(attributes: int = 20_000) -> bytes:
    """An XES log whose one event carries `attributes` distinct attribute keys."""
    keys = "".join(f'<string key="a{i}" value="x"/>' for i in range(attributes))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<log><trace><string key="concept:name" value="c1"/>'
        f'<event><string key="concept:name" value="visit"/><date key="time:timestamp" value="2024-01-01T00:00:00"/>'
        f"{keys}</event></trace></log>\n"
    ).encode()


def wide_jsonl(keys: int = 5_000) -> bytes:
    """JSON lines whose second line brings `keys` new keys."""
    extra = ", ".join(f'"k{i}": 1' for i in range(keys))
    return (
        b'{"case": "c1", "activity": "visit", "time": "2024-01-01"}\n'
        + f'{{"case": "c1", "activity": "buy", "time": "2024-01-02", {extra}}}\n'.encode()
    )


def wide_parquet(columns: int = 2_000) -> bytes:
    """A Parquet file of `columns` columns and two rows."""
    table = pa.table(
        {
            "case": ["c1", "c1"],
            "activity": ["visit", "buy"],
            "time": ["2024-01-01", "2024-01-02"],
            **{f"a{i}": [1, 2] for i in range(columns - 3)},
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def wide_xlsx(columns: int = 2_000) -> bytes:
    """A workbook of `columns` columns and two rows."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["case", "activity", "time", *(f"a{i}" for i in range(columns - 3))])
    for activity, day in (("visit", "2024-01-01"), ("buy", "2024-01-02")):
        workbook.active.append(["c1", activity, day, *[1] * (columns - 3)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def huge_field_csv(field_bytes: int = 300_000) -> bytes:
    """A CSV whose one activity label is `field_bytes` long."""
    return CSV_HEADER + b"c1,visit,2024-01-01\nc1," + b"b" * field_bytes + b",2024-01-02\n"


def zip_bomb_xlsx(expanded_mb: int = 4200) -> bytes:
    """A valid workbook carrying a member of zeros that expands to `expanded_mb` MB (zip64), about 4 MB in all.

    zipfile deflates what it is given; fed the same megabyte of zeros each time, its compressor is replaced
    by one that repeats a single fully flushed deflate block, which decodes the same whatever came before.
    """
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = block.compress(bytes(MB)) + block.flush(zlib.Z_FULL_FLUSH)
    buffer = io.BytesIO(wide_xlsx(columns=3))
    with (
        zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/padding.bin", "w", force_zip64=True) as member,
    ):
        member._compressor = _RepeatedBlock(repeated)
        for _ in range(expanded_mb):
            member.write(bytes(MB))
    return buffer.getvalue()


class _RepeatedBlock:
    """Stands in for zlib's compressor while only megabytes of zeros are written."""

    def __init__(self, block: bytes):
        self._block = block

    def compress(self, data: bytes) -> bytes:
        return self._block

    def flush(self) -> bytes:
        return b"\x03\x00"  # a final, empty fixed-Huffman block


GENERATED: dict[str, Callable[[], bytes]] = {
    "gzip-bomb-26mb.csv.gz": gzip_bomb_of_zeros,
    "rows-52m.csv.gz": gzip_of_rows,
    "long-lines-4200mb.csv.gz": gzip_of_long_lines,
    "one-endless-line.csv.gz": gzip_of_one_endless_line,
    "events-51m.xes.gz": gzip_of_xes_events,
    "columns-20000.csv": lambda: wide_csv(20_000),
    "columns-10000.csv": lambda: wide_csv(10_000),
    "attributes-20000.xes": wide_xes,
    "keys-5000.jsonl": wide_jsonl,
    "columns-2000.parquet": wide_parquet,
    "columns-2000.xlsx": wide_xlsx,
    "field-300kb.csv": huge_field_csv,
    "zip-bomb-4200mb.xlsx": zip_bomb_xlsx,
    "empty-cells-540m.csv.gz": gzip_of_empty_cells,
    "list-5m-objects.jsonl": list_of_objects_jsonl,
    "text-11mb.xes": xes_with_text,
    "far-cell-all600000.xlsx": far_cell_xlsx,
    "far-cell-xfd1048576.xlsx": lambda: far_cell_xlsx("XFD1048576"),
    "dictionary-100mb.parquet": dictionary_parquet,
}
"""Every generated input by file name."""


def write(folder: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write the named inputs (all by default) into `folder` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or GENERATED:
        paths[name] = folder / name
        paths[name].write_bytes(GENERATED[name]())
    return paths


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for name, path in write(Path(sys.argv[1]), sys.argv[2:] or None).items():
        print(f"{path.stat().st_size:>12,} bytes  {name}")
