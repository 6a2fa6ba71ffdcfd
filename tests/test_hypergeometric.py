"""The compiled hypergeometric power series (models._hypergeometric)."""

import numpy as np
import pytest
from scipy import special

from models import _hypergeometric


def _random_parameters(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(-3.0, 5.0, n),
        rng.uniform(-0.9, 3.0, n),
        rng.uniform(0.1, 40.0, n),
        rng.uniform(0.0, 0.8, n),
    )


def test_series_equals_scipy_hyp2f1_where_it_trusts_itself():
    a, b, c, z = _random_parameters(20_000, seed=1)
    total, largest, done = _hypergeometric.series(a, b, c, z)
    trusted = done & (largest <= 1e4 * np.abs(total))
    assert trusted.mean() > 0.99
    np.testing.assert_allclose(total[trusted], special.hyp2f1(a, b, c, z)[trusted], rtol=1e-11)


def test_second_denominator_gives_the_3f2_of_a_shifted_2f1():
    # 2F1(a - 1, b - 1; c - 1; z) - 1 = (a - 1)(b - 1) z / (c - 1) 3F2(a, b, 1; c, 2; z)
    # (DLMF 16.2.1 with (a - 1)_k = (a - 1) (a)_(k-1) and k! = (2)_(k-1)).
    rng = np.random.default_rng(2)
    a, b, c = rng.uniform(1.5, 6.0, (3, 500))
    z = rng.uniform(0.01, 0.75, 500)
    total, _, done = _hypergeometric.series(a, b, c, z, d=2.0)
    assert done.all()
    shifted = special.hyp2f1(a - 1, b - 1, c - 1, z) - 1
    np.testing.assert_allclose((a - 1) * (b - 1) * z / (c - 1) * total, shifted, rtol=1e-12)


def test_runs_of_shared_parameters_equal_one_element_at_a_time():
    # Long runs with many z each (the layout predictions use) and runs of one element.
    rng = np.random.default_rng(3)
    a, b, c = (np.repeat(v, 40) for v in rng.uniform((0.2, -0.5, 1.0), (3.0, 2.0, 30.0), (25, 3)).T)
    z = rng.uniform(0.0, 0.83, a.size)
    together = _hypergeometric.series(a, b, c, z)
    alone = [_hypergeometric.series(*v) for v in zip(a, b, c, z, strict=True)]
    for got, expected in zip(together, zip(*alone, strict=True), strict=True):
        np.testing.assert_array_equal(got, np.array(expected))


@pytest.mark.parametrize(
    ("a", "b", "c", "z", "max_terms"),
    [
        (1.0, 1.0, 2.0, 0.999, 50),  # too slow to converge in 50 terms
        (1.0, 1.0, -20.5, 1e-30, 400),  # terms underflow before k = 20.5, where they grow back
        (np.nan, 1.0, 2.0, 0.5, 400),
        (1.0, 1.0, -3.0, 0.5, 400),  # a pole of the coefficients: inf
    ],
)
def test_unconverged_elements_are_flagged(a, b, c, z, max_terms):
    total, largest, done = _hypergeometric.series(a, b, c, [z], max_terms=max_terms)
    assert not done[0]


def test_terminating_series_is_a_polynomial():
    # a = -2: 2F1(-2, b; c; z) = 1 - 2 b z / c + b (b + 1) z^2 / (c (c + 1)).
    b, c, z = 1.5, 3.0, np.array([0.0, 0.3, 0.7])
    total, _, done = _hypergeometric.series(-2.0, b, c, z)
    assert done.all()
    np.testing.assert_allclose(total, 1 - 2 * b * z / c + b * (b + 1) * z**2 / (c * (c + 1)))


def test_negative_z_converges_to_the_alternating_sum():
    # The tail bound uses |z|: 2F1(1, 1; 2; z) = -ln(1 - z) / z also for z < 0.
    z = np.array([-0.9, -0.5, -0.1, -1e-3])
    total, _, done = _hypergeometric.series(1.0, 1.0, 2.0, z)
    assert done.all()
    np.testing.assert_allclose(total, -np.log1p(-z) / z, rtol=1e-14)
    a, b, c, _ = _random_parameters(2_000, seed=4)
    z = -np.random.default_rng(5).uniform(0.0, 0.8, a.size)
    total, largest, done = _hypergeometric.series(a, b, c, z)
    trusted = done & (largest <= 1e4 * np.abs(total))
    assert trusted.mean() > 0.99
    np.testing.assert_allclose(total[trusted], special.hyp2f1(a, b, c, z)[trusted], rtol=1e-11)


def test_zero_z_is_exactly_one_even_before_the_poles():
    # At z = 0 every term after the first is exactly 0: nothing underflowed, nothing is lost.
    total, largest, done = _hypergeometric.series(1.0, 1.0, np.array([-20.5, 2.0]), [0.0, 0.0])
    assert done.all()
    np.testing.assert_array_equal(total, [1.0, 1.0])


def test_one_compiled_version_whatever_the_inputs_writability():
    # Views of read-only arrays and fresh copies reach the kernels as the same array type,
    # so each kernel is compiled (and cached) once.
    from models import _bgnbd_mean

    writable = np.linspace(0.5, 2.0, 8)
    read_only = writable.copy()
    read_only.flags.writeable = False
    for values in (writable, read_only, writable[:1], 1.0):
        _hypergeometric.series(values, 1.0, 3.0, np.full(8, 0.3))
        _bgnbd_mean.expected_new(values, 4.0, 0.8, 2.4, np.linspace(1.0, 9.0, 8))
    assert len(_hypergeometric.runs.signatures) == 1
    assert len(_bgnbd_mean._moderate_w.signatures) == 1
