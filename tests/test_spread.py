"""What a prediction does not know: the pair law's departures and the calibration on the validation perturbations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import PreparedScreen
from gearsplan.model.calibration import calibration_factor, coverage_2sd
from gearsplan.model.pair_fit import well_expressed
from gearsplan.model.training import spread_scale


def test_a_pair_of_measured_genes_is_as_uncertain_as_measured_pairs_depart_from_the_pair_law(trained_bundle):
    """KLF1 + MAP2K6 read 'confidence high' with a spread of 0.001 while it lay 100 sd from its measurement:
    the members agree on the sum of two measured singles, but measured pairs do not follow it."""
    model = trained_bundle.model
    pairs = [k for k in model.measured if len(genes_of(k)) == 2 and all(g in model.singles for g in genes_of(k))]
    assert pairs  # the training split holds pairs of two measured genes
    parts = model.set_singles  # each single as part of a pair, by the pair law
    departure = np.mean(
        [(model.measured[k] - parts[genes_of(k)[0]] - parts[genes_of(k)[1]]) ** 2 for k in pairs], axis=0
    )
    np.testing.assert_allclose(model.prior.pair_departure, departure)
    single, pair = (
        model.prior.base_variance(["KLF1", "KLF1+MAP2K6"])
        if "KLF1" in model.singles and "MAP2K6" in model.singles
        else (None, None)
    )
    if single is not None:
        assert not single.any()  # a measured single is its measurement
        np.testing.assert_allclose(pair, departure)
    without = replace(model, measured={k: v for k, v in model.measured.items() if k not in pairs})
    assert not without.prior.pair_departure.any()  # no measured pair: nothing to depart from


def test_the_spread_is_widened_until_it_holds_what_training_watched_without_measuring(trained_bundle, screen, bulk, de):
    """The model's ± 2 sd is scaled to hold 95% of the validation perturbations and of each measured single
    predicted as if it had not been measured (two or three validation perturbations alone set it by chance)."""
    from gearsplan.model.training import held_out_single

    data = PreparedScreen(screen, bulk, de)
    model = trained_bundle.model
    val = tuple(trained_bundle.metadata["split"]["val"])
    assert val and not set(val) & set(model.measured)
    raw = replace(model, spread_scale=1.0)
    singles = sorted(model.singles)
    gene = singles[0]
    alone = held_out_single(raw, gene)
    assert not np.allclose(alone.mean[0], model.singles[gene])  # built as for a gene never measured
    assert (alone.total_sd > 0).any()
    watched = [*(held_out_single(raw, g) for g in singles), raw.predict(val)]
    names = [*singles, *val]
    top = de.matrix(names)
    on_top = lambda values: np.take_along_axis(np.vstack(values), top, axis=1)  # noqa: E731
    held = coverage_2sd(
        on_top([p.mean for p in watched]), on_top([bulk.delta[bulk.rows(names)]]), on_top([p.total_sd for p in watched])
    ).mean()
    assert model.spread_scale == pytest.approx(calibration_factor(held)) == pytest.approx(spread_scale(raw, data, val))
    np.testing.assert_allclose(model.predict(val).total_sd, model.spread_scale * raw.predict(val).total_sd)
    assert spread_scale(replace(raw, measured={}), data, ()) == 1.0  # nothing watched: nothing to calibrate on


def test_a_screen_of_many_singles_is_calibrated_on_an_even_share_of_them(trained_bundle, screen, bulk, de, monkeypatch):
    """With more measured singles than CALIBRATION_SINGLES, every k-th of their sorted names is predicted as if
    unmeasured (at 1,800 singles, each prediction rebuilding the model, calibrating took about 20 minutes more)."""
    from gearsplan.model import training

    data = PreparedScreen(screen, bulk, de)
    raw = replace(trained_bundle.model, spread_scale=1.0)
    singles = sorted(raw.singles)
    assert len(singles) > 4
    monkeypatch.setattr(training, "CALIBRATION_SINGLES", 4)
    step = -(-len(singles) // 4)
    names = singles[::step]
    watched = [training.held_out_single(raw, g) for g in names]
    top = de.matrix(names)
    on_top = lambda values: np.take_along_axis(np.vstack(values), top, axis=1)  # noqa: E731
    held = coverage_2sd(
        on_top([p.mean for p in watched]), on_top([bulk.delta[bulk.rows(names)]]), on_top([p.total_sd for p in watched])
    ).mean()
    assert len(names) <= 4 and training.spread_scale(raw, data, ()) == pytest.approx(calibration_factor(held))


def test_a_measured_single_enters_a_pair_by_its_signal(trained_bundle, bulk):
    """Each change is shrunk by what its sampling noise explains: Δ·max(1 − k·noise/Δ², 0); k = 0 is the plain sum."""
    model = replace(trained_bundle.model, pair_law=0.5)
    gene = next(iter(model.singles))
    change, noise = model.singles[gene], model.single_noise[gene]
    np.testing.assert_allclose(noise, bulk.noise[bulk.rows([gene])[0]])
    expected = change * np.maximum(1 - 0.5 * noise / np.where(change**2 > 0, change**2, 1), 0)
    np.testing.assert_allclose(model.set_singles[gene], expected)
    assert (np.abs(expected) <= np.abs(change)).all() and (expected != change).any()
    np.testing.assert_allclose(replace(model, pair_law=0.0).set_singles[gene], change)
    # a single on its own is still its measurement
    np.testing.assert_allclose(model.predict([gene]).mean[0], change)


def test_the_pair_law_gives_the_training_pairs_the_gi_magnitudes_they_were_measured_with(
    trained_bundle, screen, bulk, de
):
    from gearsplan.analysis.gi_scores import score_pairs
    from gearsplan.model.training import pair_law

    data = PreparedScreen(screen, bulk, de)
    model = trained_bundle.model
    train = tuple(trained_bundle.metadata["split"]["train"])
    pairs = [k for k in train if len(genes_of(k)) == 2 and all(g in model.singles for g in genes_of(k))]
    scored = well_expressed(bulk.control)
    first, second = (bulk.delta[bulk.rows([genes_of(k)[i] for k in pairs])][:, scored] for i in (0, 1))
    measured = score_pairs(first, second, bulk.delta[bulk.rows(pairs)][:, scored]).magnitude

    def gap(strength: float) -> float:
        singles = replace(model, pair_law=strength).set_singles
        summed = np.stack([singles[genes_of(k)[0]] + singles[genes_of(k)[1]] for k in pairs])[:, scored]
        return float(np.abs(score_pairs(first, second, summed).magnitude - measured).mean())

    assert model.pair_law == pair_law(model, data, train) > 0
    # Norman's pairs are sub-additive: the law halves the plain sum's error, as the GI scores read it
    assert gap(model.pair_law) < 0.5 * gap(0.0) and gap(model.pair_law) <= gap(model.pair_law + 0.1)
    assert pair_law(model, data, tuple(k for k in train if "+" not in k)) == 0.0  # no pair to learn from: the plain sum
