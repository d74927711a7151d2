"""Month lists as people type them: ``2018-07,2018-08``, ranges ``2018-01..2018-12``, or both.

``python -m sample.months SPEC`` prints the months one per line (the Makefile's build loop).
"""

from __future__ import annotations

import sys

from processing.naming import parse_month

MAX_MONTHS = 240
"""At most twenty years in one list: a typo such as 2018-01..2081-12 is refused, not generated."""


def expand_months(spec: str) -> list[str]:
    """The sorted, distinct ``YYYY-MM`` months of a comma list of months and ``A..B`` ranges.

    Raises ValueError naming the offending item: a malformed month, a range running backwards,
    an empty list, or more than MAX_MONTHS months.
    """
    months: set[str] = set()
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        first, sep, last = item.partition("..")
        start = parse_month(first.strip())
        end = parse_month(last.strip()) if sep else start
        if end < start:
            raise ValueError(f"invalid month range {item!r}: {last.strip()} is before {first.strip()}")
        count = (end.year - start.year) * 12 + end.month - start.month + 1
        if len(months) + count > MAX_MONTHS:
            raise ValueError(f"too many months in {spec!r}: at most {MAX_MONTHS}")
        for i in range(count):
            year, month0 = divmod(start.month - 1 + i, 12)
            months.add(f"{start.year + year:04d}-{month0 + 1:02d}")
    if not months:
        raise ValueError(f"no month in {spec!r}: expected e.g. 2018-07,2018-08 or 2018-01..2018-12")
    return sorted(months)


def main(argv: list[str]) -> int:
    """Print the months of the one argument, one per line; exit 2 with the reason if it is bad."""
    if len(argv) != 1:
        print("usage: python -m sample.months 2018-01..2018-12[,2019-07,...]", file=sys.stderr)
        return 2
    try:
        print("\n".join(expand_months(argv[0])))
    except ValueError as e:
        print(f"MONTHS: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
