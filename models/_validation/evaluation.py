"""Messages of the evaluation metrics (:mod:`models.evaluate`) and the rule of thumb.

The rule of thumb is :mod:`models.baseline`.

- :func:`ids_differ`, :func:`lengths_differ`, :func:`not_one_dimensional`: the
  per-customer inputs of a metric must be Series indexed by the same customer ids (or plain
  arrays of one value per customer, of one length);
- :func:`scalar_error`: a scalar setting of the rule of thumb (``S``, ``C``, ``t``, a
  horizon, a period) that is not a finite number in its range;
- :func:`index_name_taken`: a customer-id index named like a column of the tidy output of
  :func:`models.baseline.all_variants`.

Import them from here (``from models._validation.evaluation import ...``).
"""

from __future__ import annotations

from models._validation._core import ValidationError, _format_value


def _ids(count: int, where: str, other: str, first, id_name: str) -> str:
    verb = "id of {} is" if count == 1 else "ids of {} are"
    return (
        f"{count} {verb.format(where)} missing from {other} "
        f"(first: {id_name}={_format_value(first)})"
    )


def ids_differ(
    name: str, other: str, missing, extra, id_name: str = "customer_id"
) -> ValidationError:
    """``name`` and ``other`` (Series) are not indexed by the same customers.

    ``missing`` lists the ids of ``name`` absent from ``other``, ``extra`` those of ``other``
    absent from ``name`` (each in its Series' order; either may be empty).
    """
    parts = []
    if len(missing):
        parts.append(_ids(len(missing), name, other, missing[0], id_name))
    if len(extra):
        parts.append(_ids(len(extra), other, name, extra[0], id_name))
    return ValidationError(
        f"{name} and {other} must be indexed by the same customer ids; "
        + "; ".join(parts)
        + ". Score the same customers on both sides (e.g. reindex one to the other)."
    )


def lengths_differ(sizes: dict[str, int]) -> ValidationError:
    """Plain arrays of different lengths (``sizes``: name -> length)."""
    shown = ", ".join(f"{name} has {size}" for name, size in sizes.items())
    return ValidationError(
        f"{' and '.join(sizes)} must have one value per customer, in the same order; {shown}. "
        "Pass pandas Series indexed by customer id to have them aligned on the ids."
    )


def not_one_dimensional(name: str, shape) -> ValidationError:
    """A metric input that is not one value per customer."""
    return ValidationError(
        f"{name} must be one value per customer (1-D), got an array of shape {tuple(shape)}."
    )


def scalar_error(name: str, value, bound: str, what: str = "") -> ValidationError:
    """A scalar that is not a finite number ``bound`` (e.g. ``">= 0"``)."""
    described = f" ({what})" if what else ""
    return ValidationError(
        f"{name}{described} must be a finite number {bound}, got {_format_value(value)}."
    )


def not_a_number(name: str, value) -> ValidationError:
    """A scalar that is not a number at all."""
    return ValidationError(f"{name} must be a number, got {value!r}.")


def index_name_taken(name: str, columns) -> ValidationError:
    """The calibration index is named like an output column of ``all_variants``."""
    return ValidationError(
        f"calibration's index (the customer id) is named {name!r}, which is also a column of "
        f"the output {list(columns)}; rename it, e.g. calibration.rename_axis('customer_id')."
    )
