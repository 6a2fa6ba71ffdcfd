"""The posterior mode and its Laplace covariance: the ``"map"`` and ``"advi"`` estimators.

ADVI is here because it starts at the mode, with the Laplace scales. Part of
:mod:`models._bayes`.
"""

from __future__ import annotations

import numpy as np

from models._bayes._model import COMPILE_MODE
from models._validation import ConvergenceError

#: Step (in log-parameters) of the finite-difference Hessian of the MAP objective.
HESSIAN_STEP = 1e-5
#: Largest gradient (of the log posterior per customer, in value variables) taken as zero.
MODE_GRADIENT_TOLERANCE = 1e-6


def _find_mode(model, pm_model, n_customers, initial: dict, random_seed=None) -> dict:
    """Posterior mode (density of theta, no Jacobian) by L-BFGS-B on the value variables.

    Starts at ``initial`` (natural scale: :meth:`BaseModel._starting_point`, as the MLE does).
    Returns the mode as a point of value variables, the negated Hessian there (in the
    raveled value space), its layout and optimiser facts.
    """
    from pymc.blocking import DictToArrayBijection, RaveledVars
    from scipy import optimize

    start = pm_model.initial_point(random_seed)
    for name in model.PARAMS:  # start where the MLE starts (log-scale value variables)
        if f"{name}_log__" in start:
            start[f"{name}_log__"] = np.log(np.asarray(initial[name], dtype=float))
    x0 = DictToArrayBijection.map({v.name: start[v.name] for v in pm_model.continuous_value_vars})
    layout = x0.point_map_info
    compiled = pm_model.compile_fn(
        inputs=pm_model.value_vars,
        outs=[pm_model.logp(jacobian=False), pm_model.dlogp(jacobian=False)],
        mode=COMPILE_MODE,
    )
    logp_and_gradient = DictToArrayBijection.mapf(compiled, start)

    def objective(x):
        value, gradient = logp_and_gradient(RaveledVars(x, layout))
        if not np.isfinite(value):
            return np.inf, np.zeros_like(x)
        return -float(value) / n_customers, -np.asarray(gradient, dtype=float) / n_customers

    result = optimize.minimize(
        objective,
        x0.data,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": model.max_iterations, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    x = result.x
    for _ in range(3):  # Newton polish with the Hessian: makes the mode sharp
        h = _hessian(objective, x)
        step = -np.linalg.solve(h, objective(x)[1]) if np.all(np.isfinite(h)) else np.nan
        if not np.all(np.isfinite(step)) or objective(x + step)[0] > objective(x)[0]:
            break
        x = x + step
    gradient_max = float(np.max(np.abs(objective(x)[1])))
    if not np.isfinite(objective(x)[0]) or gradient_max > MODE_GRADIENT_TOLERANCE:
        raise ConvergenceError(
            f"{type(model).__name__}: the posterior mode search stopped ({result.message}) "
            f"where the gradient is {gradient_max:.3g} > {MODE_GRADIENT_TOLERANCE}. Try other "
            "initial_params, proper priors instead of flat ones, or method='nuts'."
        )
    return {
        "point": DictToArrayBijection.rmap(RaveledVars(x, layout), start),
        "neg_hessian": _hessian(objective, x) * n_customers,
        "layout": layout,
        "iterations": int(result.nit),
        "gradient_max": gradient_max,
    }


def _fit_map(model, pm_model, n_customers, start, *, random_seed=None, draws=None) -> tuple:
    """Posterior mode on the log scale; Laplace covariance; optional Laplace draws."""
    import arviz as az

    found = _find_mode(model, pm_model, n_customers, start, random_seed)
    point = found["point"]
    if all(f"{n}_log__" in point for n in model.PARAMS):
        values = [np.exp(point[f"{n}_log__"]) for n in model.PARAMS]
    else:  # a callable prior with another transform: let pytensor map values back
        outs = pm_model.replace_rvs_by_values([pm_model[n] for n in model.PARAMS])
        values = pm_model.compile_fn(inputs=pm_model.value_vars, outs=outs, mode=COMPILE_MODE)(
            point
        )
    mode = {n: float(v) for n, v in zip(model.PARAMS, values, strict=True)}
    model._set_point(mode, _laplace_cov(model, found["layout"], found["neg_hessian"]))
    if draws is not None:
        model.sample_laplace(draws=draws, random_seed=random_seed)
    idata = az.from_dict(posterior=dict(model._draws))
    info = {k: found[k] for k in ("iterations", "gradient_max")}
    return idata, {"method": "map", "laplace_draws": draws, **info}


def _hessian(objective, x: np.ndarray) -> np.ndarray:
    """Hessian of ``objective`` by central differences of its exact gradient.

    Cheaper than a symbolic Hessian, whose compilation takes minutes; with exact gradients
    the error is ``O(step^2)``, about 1e-10 relative.
    """
    k = x.size
    columns = [
        (objective(x + step)[1] - objective(x - step)[1]) / (2 * HESSIAN_STEP)
        for step in np.eye(k) * HESSIAN_STEP
    ]
    hessian = np.column_stack(columns)
    return (hessian + hessian.T) / 2


def _laplace_cov(model, layout, neg_hessian: np.ndarray) -> np.ndarray | None:
    """Covariance of the log-parameters at the mode, or None if it is not available.

    The value variables are ``log theta`` for every prior this module registers, so the
    inverse negated Hessian (of the log density of theta, no Jacobian) is the Laplace
    covariance of ``log theta`` -- the same quantity the MLE reports. A callable prior with
    another transform, or a non-positive-definite Hessian, gives None.
    """
    offsets, position = {}, 0
    for name, shape, _, _ in layout:
        offsets[name] = position
        position += int(np.prod(shape))
    index = []
    for n in model.PARAMS:
        value_name = f"{n}_log__"
        if value_name not in offsets:
            return None
        index.append(offsets[value_name])
    if not np.all(np.isfinite(neg_hessian)) or np.linalg.eigvalsh(neg_hessian).min() <= 0:
        return None
    return np.linalg.inv(neg_hessian)[np.ix_(index, index)]


def _fit_advi(
    model,
    pm_model,
    n_customers,
    start,
    *,
    random_seed=None,
    draws: int = 1000,
    iterations: int = 20_000,
    progressbar: bool = False,
) -> tuple:
    """Mean-field ADVI started at the posterior mode with the Laplace scales.

    Started at the default initial point, with unit scales, the first Monte Carlo gradients
    of a likelihood summed over thousands of customers overflow; from the mode ADVI only has
    to correct the shape of the approximation.
    """
    import pymc as pm

    found = _find_mode(model, pm_model, n_customers, start, random_seed)
    sd = np.sqrt(np.diag(np.linalg.inv(found["neg_hessian"])))
    start_sigma, position = {}, 0
    for name, shape, size, _ in found["layout"]:
        start_sigma[name] = sd[position : position + size].reshape(shape)
        position += size
    seeds = np.random.default_rng(random_seed).integers(2**31, size=2)
    with pm_model:
        approx = pm.fit(
            n=iterations,
            method="advi",
            start=found["point"],
            start_sigma=start_sigma,
            random_seed=int(seeds[0]),
            progressbar=progressbar,
        )  # the default (C) backend: its ADVI step compiles and runs faster than numba's
    idata = approx.sample(draws, random_seed=int(seeds[1]))
    loss = np.asarray(approx.hist, dtype=float)
    tail = loss[-max(1, iterations // 10) :]
    info = {
        "method": "advi",
        "iterations": iterations,
        "draws": draws,
        "final_loss": float(np.mean(tail)),
    }
    return idata, info
