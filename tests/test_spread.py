"""What a prediction does not know: the pair law's departures and the calibration on the validation perturbations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import PreparedScreen
from gearsplan.model.calibration import calibration_factor, coverage_2sd
from gearsplan.model.training import spread_scale


def test_a_pair_of_measured_genes_is_as_uncertain_as_measured_pairs_depart_from_their_singles(trained_bundle):
    """KLF1 + MAP2K6 read 'confidence high' with a spread of 0.001 while it lay 100 sd from its measurement:
    the members agree on the sum of two measured singles, but measured pairs do not follow it."""
    model = trained_bundle.model
    pairs = [k for k in model.measured if len(genes_of(k)) == 2 and all(g in model.singles for g in genes_of(k))]
    assert pairs  # the training split holds pairs of two measured genes
    departure = np.mean([(model.measured[k] - model.singles[genes_of(k)[0]] - model.singles[genes_of(k)[1]]) ** 2 for k in pairs], axis=0)
    np.testing.assert_allclose(model.pair_departure, departure)
    single, pair = model.base_variance(["KLF1", "KLF1+MAP2K6"]) if "KLF1" in model.singles and "MAP2K6" in model.singles else (None, None)
    if single is not None:
        assert not single.any()  # a measured single is its measurement
        np.testing.assert_allclose(pair, departure)
    without = replace(model, measured={k: v for k, v in model.measured.items() if k not in pairs})
    assert not without.pair_departure.any()  # no measured pair: nothing to depart from


def test_the_spread_is_widened_until_it_holds_the_validation_perturbations(trained_bundle, screen, bulk, de):
    """The simulation split watches training with perturbations of its own: the model's ± 2 sd is scaled to hold 95% of them."""
    data = PreparedScreen(screen, bulk, de)
    model = trained_bundle.model
    val = tuple(trained_bundle.metadata["split"]["val"])
    assert val and not set(val) & set(model.measured)
    raw = replace(model, spread_scale=1.0)
    prediction = raw.predict(val)
    top = de.matrix(val)
    on_top = lambda values: np.take_along_axis(values, top, axis=1)  # noqa: E731
    held = coverage_2sd(on_top(prediction.mean), on_top(bulk.delta[bulk.rows(val)]), on_top(prediction.total_sd)).mean()
    assert model.spread_scale == pytest.approx(calibration_factor(held)) == pytest.approx(spread_scale(raw, data, val))
    np.testing.assert_allclose(model.predict(val).total_sd, model.spread_scale * prediction.total_sd)
    assert spread_scale(raw, data, ()) == 1.0  # nothing watched: nothing to calibrate on
