"""The model class every model shares: fit, parameter draws, prediction plumbing, save/load.

A concrete model supplies:

- ``PARAMS``: parameter names, in the paper's order;
- ``_loglik(params, data, ops)``: the per-row log-likelihood, written once against an
  operation table (:mod:`models._ops`);
- ``_fit_arrays(data)``: validated per-customer arrays for the likelihood (from a summary
  DataFrame), and ``_prediction_arrays(data)`` for per-customer predictions;
- its predictions, as thin methods calling :meth:`BaseModel._per_customer` with a module-level
  prediction function of ``(params, ...)`` that broadcasts over leading draw axes.

Settings go to ``__init__`` (stored, never acted on); data go to ``fit``, which returns
``self``. Maximum likelihood stores a ``1 x 1`` draw; :meth:`BaseModel.sample_laplace` or a
Bayesian fit (:mod:`models._bayes`) store many, and every prediction then carries them.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from models import _draws, _persist, _point_fit, _spark
from models._ops import NUMPY
from models._patterns import compress_patterns, evaluate_on_patterns
from models._validation import (
    NotFittedError,
    ValidationError,
    check_interval,
    check_positive_whole,
    time_unit_mismatch,
    validate_continuous_summary,
    validate_positive_integer_weights,
)

__all__ = ["BaseModel"]


class BaseModel:
    """Shared machinery of all models (see the module docstring)."""

    PARAMS: ClassVar[tuple[str, ...]] = ()
    #: Default starting point of the optimiser (natural scale).
    INITIAL: ClassVar[dict[str, float]] = {}
    #: Parameters measured in the summary's time unit (scales of rates): they start at
    #: ``TIME_SCALE_START`` times the customers' mean ``T`` instead of ``INITIAL``.
    TIME_SCALED: ClassVar[tuple[str, ...]] = ()
    TIME_SCALE_START: ClassVar[float] = 0.25

    def __init__(
        self,
        penalizer: float = 0.0,
        n_starts: int = 1,
        initial_params: Mapping[str, float] | None = None,
        random_seed: int | None = None,
        max_iterations: int = 2000,
        priors: Mapping[str, Any] | None = None,
    ) -> None:
        self.penalizer = penalizer
        self.n_starts = n_starts
        self.initial_params = initial_params
        self.random_seed = random_seed
        self.max_iterations = max_iterations
        self.priors = priors

    # ------------------------------------------------------------------ model hooks
    @staticmethod
    def _loglik(params: Mapping, data: Mapping, ops=NUMPY):
        """Per-row log-likelihood (implemented by each model)."""
        raise NotImplementedError

    def _fit_arrays(self, data: pd.DataFrame) -> dict[str, np.ndarray]:
        """Validated per-row arrays for the likelihood (default: frequency, recency, T)."""
        return validate_continuous_summary(data)

    def _select_fit_rows(
        self, arrays: dict[str, np.ndarray], weights: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rows (and their weights) the likelihood is fitted on; default: all of them.

        A model that fits on a subset (Gamma-Gamma: repeat customers only) overrides this,
        and may check or record what it leaves out.
        """
        return arrays, weights

    def _prediction_arrays(self, data: pd.DataFrame) -> dict[str, np.ndarray]:
        """Validated per-customer arrays for predictions (default: same as fitting).

        A summary whose ``attrs["time_unit"]`` differs from the fit's is refused: the
        model's rates are per the fit's unit.
        """
        self._check_time_unit(data.attrs.get("time_unit"))
        return self._fit_arrays(data)

    def _check_time_unit(self, unit: str | None) -> None:
        """Refuse data in time unit ``unit`` when the fit recorded another (None: unknown)."""
        fitted = getattr(self, "time_unit_", None)
        if unit is not None and fitted is not None and unit != fitted:
            raise time_unit_mismatch(type(self).__name__, fitted, unit)

    def _module_function(self, name: str) -> Callable:
        """The module-level function ``name`` of this model's module (its formula)."""
        function = getattr(sys.modules[type(self).__module__], name, None)
        if function is None:
            raise ValidationError(f"{type(self).__name__} does not offer {name}().")
        return function

    # ------------------------------------------------------------------ settings
    def get_settings(self) -> dict[str, Any]:
        """The constructor arguments, as given."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        changed = {
            k: v
            for k, v in self.get_settings().items()
            if v != inspect.signature(type(self).__init__).parameters[k].default
        }
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame, method: str = "mle", *, weights: str | None = None, **kwargs):
        """Fit the model to per-customer summaries.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per customer (or per pattern, with ``weights``), indexed by customer id,
            with the columns the model needs (see the model's docstring).
        method : {"mle", "map", "nuts", "advi"}
            Maximum likelihood (default) or a Bayesian estimator (see :mod:`models._bayes`).
        weights : str, optional
            Column giving how many customers each row stands for.
        **kwargs
            Passed to the Bayesian estimator (``draws``, ``chains``, ``random_seed``...).

        Returns
        -------
        self
        """
        if _spark.is_spark_dataframe(data):  # compress in Spark, fit the patterns here
            return _spark.fit(self, data, method, weights=weights, **kwargs)
        return self._fit_rows(
            self._fit_arrays(data),
            validate_positive_integer_weights(data, weights),
            data.attrs.get("time_unit"),
            method,
            **kwargs,
        )

    def _fit_rows(
        self,
        arrays: Mapping,
        weights,
        time_unit,
        method: str = "mle",
        *,
        rows_unique: Callable[[Mapping], bool] | None = None,
        **kwargs,
    ):
        """The body of :meth:`fit` on validated rows: select, compress to patterns, fit.

        ``weights`` are the customers of each row. ``rows_unique(selected_arrays)`` may tell
        that the rows the model keeps are unique already (the Spark path's group-by), which
        spares the compression. Pass the arrays without keeping them: the fit then holds the
        patterns only.
        """
        patterns, counts = self._select_fit_rows(arrays, weights)
        del arrays, weights  # the fit holds the patterns only
        if rows_unique is None or not rows_unique(patterns):
            patterns, counts = compress_patterns(patterns, counts)
        self.n_customers_ = float(counts.sum())
        self.n_patterns_ = int(counts.size)
        self.time_unit_ = time_unit
        self.method_ = method
        if method == "mle":
            if kwargs:
                raise TypeError(f"method='mle' takes no extra arguments, got {sorted(kwargs)}.")
            self._fit_mle(patterns, counts)
        elif method in ("map", "nuts", "advi"):
            from models import _bayes

            _bayes.fit(self, patterns, counts, method, **kwargs)
        else:
            raise ValueError(f"method must be 'mle', 'map', 'nuts' or 'advi'; got {method!r}.")
        return self

    def _total_loglik(self, patterns: Mapping, counts: np.ndarray) -> Callable:
        """``theta (m, k) -> (m,)`` count-weighted log-likelihood over the patterns."""

        def total(theta: np.ndarray) -> np.ndarray:
            params = {name: theta[:, i, None] for i, name in enumerate(self.PARAMS)}
            with np.errstate(all="ignore"):
                return (self._loglik(params, patterns, NUMPY) * counts).sum(axis=1)

        return total

    def predictive_purchases(self, t, data: pd.DataFrame, **options):
        """Predictive distribution of each customer's purchase count in the next ``t`` units.

        Shorthand for :func:`models.predictive.predictive_purchases` (``quantiles``,
        ``interval``, ``n_max``, ``tail_tol``, ``max_draws``, ``return_pmf``); purchase
        models only (a spend model gets a clear error).
        """
        from models import predictive

        return predictive.predictive_purchases(self, t, data, **options)

    def _starting_point(self, patterns: Mapping, counts: np.ndarray) -> dict[str, float]:
        """Where the optimiser starts.

        ``INITIAL``; time-scale parameters at a quarter of the mean ``T``, so the path is the
        same in days, weeks or hours (CDNOW's Pareto/NBD needs 21 iterations in each unit
        instead of 25, 26 and 36); then the user's ``initial_params``.
        """
        start = dict(self.INITIAL)
        if self.TIME_SCALED:
            mean_T = float(np.average(patterns["T"], weights=counts))
            start.update({name: self.TIME_SCALE_START * mean_T for name in self.TIME_SCALED})
        return {**start, **(self.initial_params or {})}

    def _fit_mle(self, patterns: Mapping, counts: np.ndarray) -> None:
        _point_fit.fit_mle(self, patterns, counts)

    def _set_point(self, params: Mapping[str, float], cov_log: np.ndarray | None) -> None:
        self.params_ = pd.Series({n: float(params[n]) for n in self.PARAMS}, name="estimate")
        self.cov_log_ = None if cov_log is None else np.asarray(cov_log, dtype=float)
        self._draws = {n: np.full((1, 1), self.params_[n]) for n in self.PARAMS}

    def sample_laplace(self, draws: int = 2000, random_seed: int | None = None):
        """Replace the point estimate's single draw by Laplace draws (parameter uncertainty).

        Draws log-parameters from the normal approximation at the maximum, ``N(log theta_hat,
        H^-1)``, so every draw is positive. Predictions then carry parameter uncertainty.

        Parameters
        ----------
        draws : int
            Number of draws.
        random_seed : int, optional
            Seed of the generator used.

        Returns
        -------
        self
        """
        self._require_fitted()
        check_positive_whole(draws, "draws", 2000)
        if self.cov_log_ is None:
            raise ValidationError("This fit has no covariance matrix to draw from.")
        rng = np.random.default_rng(random_seed)
        log_draws = rng.multivariate_normal(
            np.log(self.params_.to_numpy()), self.cov_log_, size=draws
        )
        self._draws = {n: np.exp(log_draws[None, :, i]) for i, n in enumerate(self.PARAMS)}
        return self

    # ------------------------------------------------------------------ results
    def _require_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call .fit(data) first "
                f"(or {type(self).__name__}.load(path))."
            )

    @property
    def params(self) -> pd.Series:
        """Point estimates (maximum likelihood, or posterior means for a Bayesian fit)."""
        self._require_fitted()
        return self.params_.copy()

    @property
    def draws(self) -> dict[str, np.ndarray]:
        """Parameter draws, ``name -> array (chain, draw)``; ``1 x 1`` for a point fit."""
        self._require_fitted()
        return {n: v.copy() for n, v in self._draws.items()}

    @property
    def n_draws(self) -> int:
        """Number of parameter draws predictions are averaged over."""
        self._require_fitted()
        return _draws.n_draws(self._draws)

    @property
    def aic_(self) -> float:
        """Akaike information criterion, ``2k - 2 LL``."""
        return 2 * len(self.PARAMS) - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        """Bayesian information criterion, ``k ln n - 2 LL`` (n = customers)."""
        return float(len(self.PARAMS) * np.log(self.n_customers_) - 2 * self.log_likelihood_)

    @property
    def cov_(self) -> pd.DataFrame:
        """Covariance of the natural-scale estimates (delta method from log-parameters)."""
        self._require_fitted()
        scale = self.params_.to_numpy()
        return pd.DataFrame(
            self.cov_log_ * np.outer(scale, scale), index=self.PARAMS, columns=self.PARAMS
        )

    def summary(self, interval: float = 0.95) -> pd.DataFrame:
        """Table of estimates with standard errors and intervals.

        For a maximum-likelihood fit: estimate, standard error (delta method) and a Wald
        interval computed on the log scale (so it stays positive). The log-likelihood, AIC,
        BIC and customer counts are in ``.attrs``.
        """
        self._require_fitted()
        check_interval(interval)
        if self.method_ != "mle":
            from models import _bayes

            return _bayes.summary(self, interval)
        return _point_fit.mle_summary(self, interval)

    # ------------------------------------------------------------------ predictions
    def _require_interval_draws(self, interval: float | None) -> None:
        if interval is not None:
            check_interval(interval)
        if interval is not None and self.n_draws < 2:
            raise ValidationError(
                "interval needs parameter draws, but this is a point fit with one draw: call "
                ".sample_laplace(draws=2000, random_seed=...) after fitting, or fit with "
                "method='nuts'."
            )

    def _per_customer(
        self,
        function: Callable,
        data: pd.DataFrame,
        name: str,
        *,
        interval: float | None = None,
        return_draws: bool = False,
        arrays: Mapping[str, np.ndarray] | None = None,
        **kwargs,
    ):
        """Evaluate ``function(params, **kwargs, **customer_arrays)`` for every customer.

        Returns a Series (mean over draws), a DataFrame (mean, sd, lower, upper) when
        ``interval`` is given, or an ``xarray.DataArray`` (chain, draw, customer) when
        ``return_draws``. Customers keep the caller's ids and order.
        """
        if _spark.is_spark_dataframe(data):  # a Spark DataFrame, scored by mapInPandas
            return _spark.per_customer(
                self, function, data, name, interval=interval, return_draws=return_draws, **kwargs
            )
        self._require_fitted()
        self._require_interval_draws(interval)
        if arrays is None:
            arrays = self._prediction_arrays(data)
        return evaluate_on_patterns(
            function, self._draws, arrays, data.index, name, interval, return_draws, **kwargs
        )

    def _population(
        self,
        function: Callable,
        t,
        name: str,
        *,
        interval: float | None = None,
        **kwargs,
    ):
        """Evaluate ``function(params, t, **kwargs)`` for an array of horizons ``t``.

        Returns a float for scalar ``t`` and a point fit, else a Series/DataFrame indexed by t.
        """
        self._require_fitted()
        self._require_interval_draws(interval)
        t_values = np.atleast_1d(np.asarray(t, dtype=float))
        params = _draws.with_customer_axis(self._draws)
        index = pd.Index(t_values, name="t")

        def compute(chunk: slice) -> np.ndarray:
            return function(params, t_values[chunk], **kwargs)

        result = _draws.summarize(compute, t_values.size, self.n_draws, interval, index, name)
        if np.ndim(t) == 0 and interval is None:
            return float(result.iloc[0])
        return result

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: settings, estimates, covariance, draws, fit statistics."""
        return _persist.to_dict(self)

    def save(self, path: str | Path) -> None:
        """Write the fitted model to a JSON file (never the training data, never a pickle)."""
        _persist.save(self, path)

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]):
        """Rebuild a fitted model from :meth:`to_dict` output."""
        return _persist.from_dict(cls, payload)

    @classmethod
    def load(cls, path: str | Path):
        """Read a model written by :meth:`save`."""
        return _persist.load(cls, path)
