"""End-to-end tour of the data layer on the CDNOW sample.

Loads the bundled transactions, splits them at 1997-09-30 (holdout to 1998-06-30, weeks,
same-day purchases merged) and prints the calibration summary and its totals, which match
Fader, Hardie & Lee (2005): sum of x = 2,457; 946 repeat buyers; 1,411 one-time buyers;
1,882 holdout purchases.

Run: ``python -m experiments.demo`` (``--help`` for options).
"""

from __future__ import annotations

import argparse

import pandas as pd

from models import data, datasets


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Print the CDNOW calibration summary and its totals; return the totals."""
    parser = argparse.ArgumentParser(prog="python -m experiments.demo", description=__doc__)
    parser.add_argument("--calibration-end", default="1997-09-30")
    parser.add_argument("--holdout-end", default="1998-06-30")
    parser.add_argument("--time-unit", default="W", choices=sorted(data.TIME_UNITS))
    parser.add_argument("--rows", type=int, default=10, help="summary rows to print")
    args = parser.parse_args(argv)

    transactions = datasets.load_cdnow_sample()
    split = data.calibration_holdout(
        transactions,
        calibration_end=args.calibration_end,
        holdout_end=args.holdout_end,
        time_unit=args.time_unit,
    )
    cal, hold = split.calibration, split.holdout
    totals = {
        "customers": len(cal),
        "sum_x": int(cal["frequency"].sum()),
        "repeat_buyers": int((cal["frequency"] > 0).sum()),
        "one_time_buyers": int((cal["frequency"] == 0).sum()),
        "holdout_purchases": int(hold["holdout_purchases"].sum()),
        "new_in_holdout": split.metadata["n_new_in_holdout"],
    }
    with pd.option_context("display.width", 120, "display.max_columns", 20, "display.precision", 2):
        print(
            f"{len(transactions)} transactions; calibration to {args.calibration_end}, "
            f"holdout to {args.holdout_end} ({split.metadata['holdout_length']:g} "
            f"{args.time_unit})"
        )
        print(cal.join(hold).head(args.rows))
    for name, value in totals.items():
        print(f"{name:>18}: {value:,}")
    return totals


if __name__ == "__main__":
    main()
