"""Hand-made broken and hostile inputs for reader tests: bombs, XML attacks, small workbooks and XES logs."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import quoteattr

import openpyxl

MB = 1024 * 1024

XXE_XES = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE log [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<log xes.version="1.0">
  <trace><string key="concept:name" value="c1"/>
    <event><string key="concept:name" value="&secret;"/></event>
  </trace>
</log>
"""

BILLION_LAUGHS_XES = b"""<?xml version="1.0"?>
<!DOCTYPE log [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<log><trace><event><string key="concept:name" value="&lol9;"/></event></trace></log>
"""

# A DOCTYPE after the root element is not XML at all: the pre-scan stops at the root, lxml must refuse it.
LATE_DOCTYPE_XES = b"""<?xml version="1.0"?>
<log><!DOCTYPE log [<!ENTITY lol "lol">]><trace><event><string key="concept:name" value="&lol;"/></event></trace></log>
"""


def xes(traces: dict[str, Sequence[tuple[str, str]]]) -> bytes:
    """Return an XES log of {case id: [(activity, ISO timestamp), …]}."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<log xes.version="1.0">']
    for case, events in traces.items():
        lines.append(f'<trace><string key="concept:name" value={quoteattr(case)}/>')
        lines += [
            f'<event><string key="concept:name" value={quoteattr(activity)}/>'
            f'<date key="time:timestamp" value={quoteattr(timestamp)}/></event>'
            for activity, timestamp in events
        ]
        lines.append("</trace>")
    lines.append("</log>")
    return "\n".join(lines).encode()


def xlsx(rows: Iterable[Sequence[object]]) -> bytes:
    """Return a one-sheet workbook holding the rows as typed cells (str stays text, datetime becomes a date)."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_bomb(expanded_mb: int) -> bytes:
    """Return a valid workbook carrying a member of zeros that expands to `expanded_mb` MB."""
    buffer = io.BytesIO(xlsx([["case", "activity", "time"], ["c1", "visit", "2024-01-01"]]))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(expanded_mb * MB))
    return buffer.getvalue()


def gzip_bomb(expanded_mb: int) -> bytes:
    """Return a gzip stream of a CSV that expands to `expanded_mb` MB, compressed one MB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    line = b"c1,visit,2024-01-01\n"
    chunk = line * (MB // len(line))
    head = compressor.compress(b"case,activity,time\n")
    return head + b"".join(compressor.compress(chunk) for _ in range(expanded_mb)) + compressor.flush()
