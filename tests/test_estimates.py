"""Point estimates of binned densities (Appendix B) and ensemble averaging (Sect. 4.1)."""

import numpy as np
import pytest

from photoz_debias.debias import estimates
from photoz_debias.errors import InputError
from photoz_debias.debias.estimates import bin_edges_from_centres, ensemble_density, point_estimates

CENTRES = np.array([0.1, 0.2, 0.3, 0.4])  # edges 0.05, 0.15, ..., 0.45


def test_point_estimates_hand_density():
    # p = (0.2, 0.4, 0.3, 0.1): mode at 0.2; mean 0.02 + 0.08 + 0.09 + 0.04 = 0.23;
    # CDF at the edges 0, 0.2, 0.6, ...: 1/2 is reached 0.3/0.4 = 3/4 into bin [0.15, 0.25)
    # -> 0.225; E[c^2] = 0.061, variance 0.061 - 0.23^2 = 0.0081 -> zerr 0.09
    est = point_estimates(np.array([[0.2, 0.4, 0.3, 0.1]]), CENTRES)
    assert est["zmode"][0] == pytest.approx(0.2)
    assert est["zmean"][0] == pytest.approx(0.23)
    assert est["zmedian"][0] == pytest.approx(0.225)
    assert est["zerr"][0] == pytest.approx(0.09)


def test_point_estimates_unnormalised_and_edge_cases():
    p = np.array(
        [
            [2.0, 4.0, 3.0, 1.0],  # the hand density times 10
            [0.0, 0.0, 0.0, 5.0],  # all in the last bin: median in its middle
            [0.5, 0.0, 0.0, 0.5],  # tie: first bin is the mode; median at the edge of bin 0
        ]
    )
    est = point_estimates(p.astype(np.float32), CENTRES)
    np.testing.assert_allclose(est["zmode"], [0.2, 0.4, 0.1])
    np.testing.assert_allclose(est["zmedian"], [0.225, 0.4, 0.15])
    np.testing.assert_allclose(est["zmean"], [0.23, 0.4, 0.25])
    np.testing.assert_allclose(est["zerr"], [0.09, 0.0, 0.15], atol=1e-12)


def test_point_estimates_chunked_equals_whole(monkeypatch):
    rng = np.random.default_rng(1)
    p = rng.random((7, 4))
    whole = point_estimates(p, CENTRES)
    monkeypatch.setattr(estimates, "_CHUNK", 2)
    chunked = point_estimates(p, CENTRES)
    for k in whole:
        np.testing.assert_array_equal(whole[k], chunked[k])


def test_point_estimates_reject_bad_input():
    with pytest.raises(InputError, match="galaxy row 1"):
        point_estimates(np.array([[0.5, 0.5, 0, 0], [np.nan, 1, 0, 0]]), CENTRES)
    with pytest.raises(InputError, match="all zero"):
        point_estimates(np.zeros((1, 4)), CENTRES)
    with pytest.raises(InputError, match="centres"):
        point_estimates(np.ones((1, 3)), CENTRES)


def test_bin_edges_from_centres():
    np.testing.assert_allclose(bin_edges_from_centres(CENTRES), [0.05, 0.15, 0.25, 0.35, 0.45])


def test_ensemble_density_averages_then_estimates():
    a = np.array([[1.0, 0.0, 0.0, 0.0]])
    b = np.array([[0.0, 0.0, 0.4, 0.6]])
    mean = ensemble_density([a, b])
    np.testing.assert_allclose(mean, [[0.5, 0.0, 0.2, 0.3]])
    # the Baseline takes the mode of the mean density, not the mean of the modes
    assert point_estimates(mean, CENTRES)["zmode"][0] == pytest.approx(0.1)
    with pytest.raises(InputError, match="model 1"):
        ensemble_density([a, np.ones((2, 4))])
    with pytest.raises(InputError):
        ensemble_density([])
