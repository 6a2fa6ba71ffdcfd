"""Maximum likelihood on log-parameters, shared by every model.

All parameters of the models here are positive, so the optimiser works on ``u = log(theta)``:
unconstrained, and well scaled whatever the unit of time. The objective is the mean negative
log-likelihood per customer (so tolerances mean the same for 100 or 10 million customers)
plus an optional L2 penalty ``penalizer * sum(theta**2)`` (the same convention as
``lifetimes``).

Gradients come from ``value_and_gradient`` when the caller supplies one (the models pass
forward-mode automatic differentiation of their own log-likelihood, :mod:`models._autodiff`);
the Hessian is then the central difference of that exact gradient (``2k`` gradients),
symmetrised. Without it, gradients and the Hessian come from central finite differences of
the likelihood in ``u``: because every log-likelihood broadcasts over a leading parameter
axis, all ``2k`` gradient points (or the ``2k^2 + 1`` Hessian points) are evaluated in a
single vectorised call. The covariance of the estimates is the inverse Hessian of the
(penalised) negative log-likelihood, mapped to the natural scale by the delta method:
``cov(theta) = D cov(u) D`` with ``D = diag(theta)``.

L-BFGS-B runs with scipy's OpenBLAS held to one thread (:func:`models._blas.one_blas_thread`):
its linear algebra is on matrices of a few rows, where waking a second BLAS thread costs far
more than the work. Measured on a 2-core machine with one other busy process: 0.8 ms per
L-BFGS-B step with the default two threads, 1 microsecond with one (CDNOW Pareto/NBD: 0.10 s
of a 0.17 s fit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

# Imported with the optimiser, so that the first fit of a process does not pay for it.
from models import _autodiff  # noqa: F401
from models._blas import one_blas_thread
from models._validation import ConvergenceError

#: Bounds on log-parameters: exp(+-30) is far beyond any meaningful value.
LOG_BOUND = 30.0
#: Largest gradient (of the mean negative log-likelihood in log-parameters) accepted as zero.
GRADIENT_TOLERANCE = 1e-4
#: Finite-difference steps in log-parameter space.
GRADIENT_STEP = 1e-6
HESSIAN_STEP = 1e-4
#: Step (in log-parameters) of the central difference of an exact gradient, for the Hessian.
GRADIENT_DIFFERENCE_STEP = 1e-5
#: Largest number of (parameter point x pattern x (1 + parameters)) terms in one gradient call.
GRADIENT_BATCH_ELEMENTS = 2**19
#: Largest number of (parameter point x pattern) likelihood terms evaluated in one call.
MAX_BATCH_ELEMENTS = 4_000_000
#: Largest number of patterns one likelihood evaluation holds at once (:func:`row_chunks`).
FIT_CHUNK_ROWS = 2**17


@dataclass
class MLEResult:
    """Outcome of :func:`maximize`."""

    names: tuple[str, ...]
    log_params: np.ndarray
    log_likelihood: float
    cov_log: np.ndarray
    n_iterations: int
    gradient_max: float
    starts: list[dict] = field(default_factory=list)

    @property
    def params(self) -> dict[str, float]:
        """Estimates on the natural scale."""
        return dict(zip(self.names, np.exp(self.log_params).tolist(), strict=True))

    @property
    def cov(self) -> np.ndarray:
        """Covariance of the natural-scale estimates (delta method)."""
        scale = np.exp(self.log_params)
        return self.cov_log * np.outer(scale, scale)


def row_chunks(n_rows: int, chunk_rows: int | None = None) -> list[slice]:
    """Slices of at most ``chunk_rows`` (:data:`FIT_CHUNK_ROWS`) rows covering ``n_rows`` rows.

    The log-likelihood is a sum over patterns, so it can be evaluated chunk by chunk and
    summed (:func:`summed`): the temporaries of one evaluation then hold at most
    ``chunk_rows`` patterns however many there are (measured on 2.07 million patterns, 10M
    simulated customers: BG/NBD fit peak 969 -> 642 MiB, 7.2 -> 4.3 s).
    """
    size = FIT_CHUNK_ROWS if chunk_rows is None else chunk_rows
    return [slice(i, i + size) for i in range(0, max(n_rows, 1), size)]


def summed(functions: Sequence[Callable]) -> Callable:
    """``theta -> sum_i f_i(theta)``, for functions returning an array or a tuple of arrays.

    Examples
    --------
    >>> both = summed([lambda t: (t, 2 * t), lambda t: (t, t)])
    >>> [v.tolist() for v in both(np.array([1.0]))]
    [[2.0], [3.0]]
    """
    if len(functions) == 1:
        return functions[0]

    def evaluate(theta):
        results = [f(theta) for f in functions]
        if isinstance(results[0], tuple):
            return tuple(sum(parts) for parts in zip(*results, strict=True))
        return sum(results)

    return evaluate


def batched(total_loglik: Callable[[np.ndarray], np.ndarray], n_rows: int) -> Callable:
    """Wrap ``total_loglik(theta[m, k]) -> (m,)`` so large batches are evaluated in slices."""
    per_call = max(1, MAX_BATCH_ELEMENTS // max(n_rows, 1))

    def evaluate(theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        if theta.shape[0] <= per_call:
            return np.asarray(total_loglik(theta), dtype=float)
        return np.concatenate(
            [total_loglik(theta[i : i + per_call]) for i in range(0, theta.shape[0], per_call)]
        )

    return evaluate


def batched_gradient(
    value_and_gradient: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    n_params: int,
) -> Callable:
    """Wrap ``value_and_gradient(theta[m, k]) -> ((m,), (m, k))`` to evaluate in slices.

    A gradient pass holds ``k + 1`` arrays per intermediate; slices are kept to
    :data:`GRADIENT_BATCH_ELEMENTS` such terms (measured: on large inputs one point at a time
    is faster than a batch, whose arrays fall out of cache).
    """
    per_call = max(1, GRADIENT_BATCH_ELEMENTS // (max(n_rows, 1) * (n_params + 1)))

    def evaluate(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(theta)
        parts = [
            value_and_gradient(theta[i : i + per_call]) for i in range(0, len(theta), per_call)
        ]
        return (
            np.concatenate([np.asarray(p[0], dtype=float) for p in parts]),
            np.concatenate([np.asarray(p[1], dtype=float) for p in parts]),
        )

    return evaluate


def _hessian_from_gradient(gradient_batch: Callable, u: np.ndarray, h: float) -> np.ndarray:
    """Symmetrised central difference of an exact gradient: ``2k`` gradients in one batch."""
    k = u.size
    steps = np.vstack([np.eye(k), -np.eye(k)]) * h
    grads = gradient_batch(u + steps)
    hess = (grads[:k] - grads[k:]) / (2 * h)
    return (hess + hess.T) / 2


def _hessian_points(u: np.ndarray, h: float) -> tuple[np.ndarray, Callable]:
    """Points for a central-difference Hessian and the function assembling it."""
    k = u.size
    eye = np.eye(k) * h
    points = [u]
    points += [u + eye[i] for i in range(k)] + [u - eye[i] for i in range(k)]
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for i, j in pairs:
        points += [
            u + eye[i] + eye[j],
            u + eye[i] - eye[j],
            u - eye[i] + eye[j],
            u - eye[i] - eye[j],
        ]

    def assemble(f: np.ndarray) -> np.ndarray:
        f0, plus, minus = f[0], f[1 : 1 + k], f[1 + k : 1 + 2 * k]
        hess = np.diag((plus - 2 * f0 + minus) / h**2)
        for n, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = f[1 + 2 * k + 4 * n : 5 + 2 * k + 4 * n]
            hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h**2)
        return hess

    return np.array(points), assemble


def _optimize_from(
    start: np.ndarray, objective_and_gradient: Callable, names: tuple, max_iterations: int
) -> dict:
    """One L-BFGS-B run on log-parameters from ``start``; what it reached and how."""
    with one_blas_thread():
        res = optimize.minimize(
            objective_and_gradient,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(names),
            options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
        )
    _, grad = objective_and_gradient(res.x)
    return {
        "start": dict(zip(names, np.exp(start).tolist(), strict=True)),
        "log_params": res.x,
        "objective": float(res.fun),
        "gradient_max": float(np.max(np.abs(grad))),
        "iterations": int(res.nit),
        "message": str(res.message),
    }


def maximize(
    total_loglik: Callable[[np.ndarray], np.ndarray],
    names: Sequence[str],
    initial: Sequence[float],
    n_customers: float,
    n_rows: int,
    *,
    penalizer: float = 0.0,
    n_starts: int = 1,
    rng: np.random.Generator | None = None,
    max_iterations: int = 2000,
    model_name: str = "model",
    value_and_gradient: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> MLEResult:
    """Maximise a log-likelihood over positive parameters.

    Parameters
    ----------
    total_loglik : callable
        ``theta`` of shape ``(m, k)`` on the natural scale -> ``(m,)`` total (count-weighted)
        log-likelihoods. Non-finite values are treated as an invalid region.
    names : sequence of str
        Parameter names, in the column order of ``theta``.
    initial : sequence of float
        Starting point (natural scale, positive).
    n_customers : float
        Number of customers the data stand for (the sum of pattern counts).
    n_rows : int
        Number of data rows (patterns) one evaluation touches, to size batches.
    penalizer : float
        L2 penalty weight on the natural-scale parameters, per customer.
    n_starts : int
        Number of starting points: ``initial`` plus ``n_starts - 1`` draws around it
        (log-normal, sd 1) from ``rng``.
    rng : numpy.random.Generator, optional
        Source of the extra starting points (required when ``n_starts > 1``).
    max_iterations : int
        Iteration limit of each L-BFGS-B run.
    model_name : str
        Used in error messages.
    value_and_gradient : callable, optional
        ``theta (m, k) -> (total (m,), d total / d theta (m, k))``, the same total
        log-likelihood as ``total_loglik`` with its exact gradient (natural scale). When
        given, the optimiser uses it instead of finite differences, and the Hessian is the
        central difference of this gradient.

    Returns
    -------
    MLEResult

    Raises
    ------
    ConvergenceError
        When no start reaches a point with zero gradient, finite likelihood and a
        positive-definite Hessian, inside the parameter bounds.
    """
    names = tuple(names)
    k = len(names)
    evaluate = batched(total_loglik, n_rows)
    scale = float(n_customers)

    def objective_batch(u: np.ndarray) -> np.ndarray:
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            value = -evaluate(theta) / scale + penalizer * np.sum(theta**2, axis=-1)
        return np.where(np.isfinite(value), value, np.inf)

    steps = np.vstack([np.eye(k), -np.eye(k)]) * GRADIENT_STEP

    def finite_difference_gradient(u: np.ndarray) -> tuple[float, np.ndarray]:
        values = objective_batch(np.vstack([u[None, :], u + steps]))
        with np.errstate(invalid="ignore"):  # inf - inf where the likelihood is not finite
            grad = (values[1 : 1 + k] - values[1 + k :]) / (2 * GRADIENT_STEP)
        if not np.all(np.isfinite(grad)):
            grad = np.nan_to_num(grad, nan=0.0, posinf=1e10, neginf=-1e10)
        return float(values[0]), grad

    exact = None if value_and_gradient is None else batched_gradient(value_and_gradient, n_rows, k)

    def exact_objective_and_gradient(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objective and its exact gradient in ``u`` at each row of ``u`` (m, k)."""
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            total, grad_theta = exact(theta)
            value = -total / scale + penalizer * np.sum(theta**2, axis=-1)
            grad = (-grad_theta / scale + 2 * penalizer * theta) * theta
        return np.where(np.isfinite(value), value, np.inf), grad

    evaluated: dict[bytes, tuple[float, np.ndarray]] = {}

    def exact_gradient(u: np.ndarray) -> tuple[float, np.ndarray]:
        # remembered: the optimiser's result is a point it has evaluated, checked again below
        key = np.asarray(u, dtype=float).tobytes()
        if key not in evaluated:
            value, grad = exact_objective_and_gradient(u[None, :])
            grad = grad[0]
            if not np.all(np.isfinite(grad)):
                grad = np.nan_to_num(grad, nan=0.0, posinf=1e10, neginf=-1e10)
            evaluated[key] = float(value[0]), grad
        value, grad = evaluated[key]
        return value, grad.copy()

    objective_and_gradient = finite_difference_gradient if exact is None else exact_gradient

    if n_starts > 1 and rng is None:
        raise ValueError("n_starts > 1 needs a numpy.random.Generator (pass random_seed).")
    u0 = np.log(np.asarray(initial, dtype=float))
    starts = [u0] + [u0 + rng.normal(size=k) for _ in range(n_starts - 1)]
    runs = [
        _optimize_from(start, objective_and_gradient, names, max_iterations) for start in starts
    ]
    best = min(runs, key=lambda run: run["objective"])
    u = best["log_params"]
    stopped_at = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, np.exp(u), strict=True))
    tried = (
        f"L-BFGS-B on log-parameters from {len(runs)} start(s) "
        f"(first start {runs[0]['start']}), penalizer={penalizer}; best run stopped at "
        f"{stopped_at}"
    )
    hint = (
        "Try n_starts=10 with a random_seed, a small penalizer (e.g. 0.001), "
        "other initial_params, or check the data's time unit. Parameters that grow without "
        "bound together (such as a shape and its scale) mean the data do not identify that "
        "heterogeneity: a penalizer or a Bayesian fit with priors keeps them finite."
    )
    if not np.isfinite(best["objective"]):
        raise ConvergenceError(
            f"{model_name}: the log-likelihood is not finite at any point tried ({tried}). " + hint
        )
    at_bound = np.abs(u) >= LOG_BOUND - 1e-6
    if at_bound.any():
        raise ConvergenceError(
            f"{model_name}: parameter(s) {[names[i] for i in np.flatnonzero(at_bound)]} ran to "
            f"the edge of the parameter space (exp(+-{LOG_BOUND})) ({tried}); the data may not "
            f"identify them. " + hint
        )
    if best["gradient_max"] > GRADIENT_TOLERANCE:
        raise ConvergenceError(
            f"{model_name}: the optimiser stopped ({best['message']}) where the gradient is "
            f"{best['gradient_max']:.3g} > {GRADIENT_TOLERANCE} ({tried}). " + hint
        )
    if exact is not None:
        hess = _hessian_from_gradient(
            lambda points: exact_objective_and_gradient(points)[1] * scale,
            u,
            GRADIENT_DIFFERENCE_STEP,
        )
    else:
        points, assemble = _hessian_points(u, HESSIAN_STEP)
        hess = assemble(objective_batch(points) * scale)
    eigenvalues = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([-1.0])
    if eigenvalues.min() <= 0:
        raise ConvergenceError(
            f"{model_name}: the Hessian at the optimum is not positive definite (smallest "
            f"eigenvalue {eigenvalues.min():.3g}), so this is not a strict maximum ({tried}). "
            + hint
        )
    loglik = float(evaluate(np.exp(u)[None, :])[0])
    return MLEResult(
        names=names,
        log_params=u,
        log_likelihood=loglik,
        cov_log=np.linalg.inv(hess),
        n_iterations=best["iterations"],
        gradient_max=best["gradient_max"],
        starts=[{k_: v for k_, v in run.items() if k_ != "log_params"} for run in runs],
    )
