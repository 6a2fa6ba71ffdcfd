"""Saving and loading fitted models as JSON (never the training data, never a pickle).

The bodies of :meth:`models._base.BaseModel.to_dict`, ``from_dict``, ``save`` and ``load``:
each method calls the function of the same name here, which goes back through the model's
own ``to_dict`` / ``from_dict`` so a model that extends them (Gamma-Gamma) is saved whole.

Custom priors given as PyMC objects or callables cannot be written as JSON: they are saved
as text (``"priors_text"``, kept as the loaded model's ``priors_text_``) and the loaded model's
``priors`` setting is ``None``. It predicts from the saved draws like the original; a Bayesian
refit is refused until the priors are set again (``model.priors = {...}``), rather than
silently falling back to the default priors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from models._validation import ValidationError

SAVE_FORMAT = 1


def to_dict(model) -> dict[str, Any]:
    """JSON-ready description: settings, estimates, covariance, draws, fit statistics."""
    model._require_fitted()
    from models import __version__

    settings = model.get_settings()
    priors = settings.get("priors")
    priors_text = None
    if isinstance(priors, Mapping) and not all(isinstance(v, str) for v in priors.values()):
        priors_text = {name: _describe_prior(spec) for name, spec in priors.items()}
        settings["priors"] = None
    out = {
        "format": SAVE_FORMAT,
        "model": type(model).__name__,
        "version": __version__,
        "settings": settings,
        "method": model.method_,
        "params": model.params_.to_dict(),
        "cov_log": None if model.cov_log_ is None else model.cov_log_.tolist(),
        "draws": {n: v.tolist() for n, v in model._draws.items()},
        "log_likelihood": getattr(model, "log_likelihood_", None),
        "n_customers": model.n_customers_,
        "n_patterns": model.n_patterns_,
        "time_unit": model.time_unit_,
    }
    if priors_text is not None:
        out["priors_text"] = priors_text
    return out


def _describe_prior(spec) -> str:
    """Text of a prior spec: a string as is, a PyMC distribution as PyMC prints it."""
    if isinstance(spec, str):
        return spec
    if getattr(spec, "owner", None) is not None:
        from pymc.printing import str_for_dist

        return str_for_dist(spec)
    return getattr(spec, "__qualname__", repr(spec))


def save(model, path: str | Path) -> None:
    """Write the fitted model to a JSON file (never the training data, never a pickle)."""
    Path(path).write_text(json.dumps(model.to_dict(), indent=1, default=_json_default))


def from_dict(cls, payload: Mapping[str, Any]):
    """Rebuild a fitted model of class ``cls`` from :func:`to_dict` output."""
    if payload.get("format") != SAVE_FORMAT:
        raise ValidationError(
            f"this file has save format {payload.get('format')!r}; this version of the toolkit "
            f"reads format {SAVE_FORMAT}. Save the model again with this version."
        )
    if payload.get("model") != cls.__name__:
        raise ValidationError(
            f"this file holds a {payload.get('model')}, not a {cls.__name__}; load it with "
            f"models.{payload.get('model')}.load(path)."
        )
    model = cls(**payload["settings"])
    cov = payload["cov_log"]
    model._set_point(payload["params"], None if cov is None else np.array(cov))
    model._draws = {n: np.asarray(v, dtype=float) for n, v in payload["draws"].items()}
    model.method_ = payload["method"]
    model.log_likelihood_ = payload["log_likelihood"]
    model.n_customers_ = payload["n_customers"]
    model.n_patterns_ = payload["n_patterns"]
    model.time_unit_ = payload["time_unit"]
    if payload.get("priors_text") is not None:
        model.priors_text_ = dict(payload["priors_text"])
    return model


def load(cls, path: str | Path):
    """Read a model of class ``cls`` written by :func:`save`."""
    return cls.from_dict(json.loads(Path(path).read_text()))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} to JSON")
