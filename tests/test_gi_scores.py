"""GI scores and calls on the real embedded data: Theil–Sen against sklearn, dcor against the dcor package, calls against the thresholds."""

from __future__ import annotations

import itertools
import warnings

import dcor
import numpy as np
import pytest
from sklearn.linear_model import TheilSenRegressor

from gearsplan.analysis.gi_scores import (
    GI_CALLS,
    GIScores,
    GIThresholds,
    distance_correlations,
    ensemble_calls,
    measured_gi,
    score_pairs,
)
from gearsplan.data.conditions import genes_of
from gearsplan.errors import GearsplanError
from gearsplan.model.pair_fit import sampled_gene_pairs, theil_sen, well_expressed


@pytest.fixture(scope="module")
def scorable(bulk) -> list[str]:
    """Every measured pair whose two singles are measured."""
    return [k for k in bulk.keys if len(genes_of(k)) == 2 and set(genes_of(k)) <= set(bulk.keys)]


@pytest.fixture(scope="module")
def delta(bulk) -> np.ndarray:
    """Measured changes over control on the well-expressed genes, one row per key."""
    return bulk.delta[:, well_expressed(bulk.control)]


def _profiles(bulk, delta, pairs):
    a, b = zip(*(genes_of(p) for p in pairs))
    return delta[bulk.rows(a)], delta[bulk.rows(b)], delta[bulk.rows(pairs)]


@pytest.fixture(scope="module")
def singles(bulk) -> list[str]:
    return [k for k in bulk.keys if len(genes_of(k)) == 1]


@pytest.fixture(scope="module")
def independent_pair(bulk, delta, singles) -> tuple[str, str]:
    """The two measured singles whose profiles depend least on each other (distance correlation)."""
    pairs = list(itertools.combinations(singles, 2))
    dependence = [dcor.distance_correlation(delta[bulk.rows([a])[0]], delta[bulk.rows([b])[0]]) for a, b in pairs]
    assert min(dependence) < GIThresholds().epistasis  # the premise of the epistasis case below
    return pairs[int(np.argmin(dependence))]


@pytest.fixture(scope="module")
def independent_singles(bulk, delta, independent_pair) -> tuple[np.ndarray, np.ndarray]:
    """ΔA, ΔB of :func:`independent_pair` on the well-expressed genes."""
    return tuple(delta[bulk.rows(independent_pair)])


def test_well_expressed_keeps_the_genes_detected_in_control(bulk):
    mask = well_expressed(bulk.control)
    assert mask.dtype == bool and mask.shape == (len(bulk.genes),)
    assert mask.sum() == (bulk.control > 0.01).sum() >= 50
    assert well_expressed(bulk.control, min_mean=0.0).sum() == (bulk.control > 0).sum()


def test_theil_sen_agrees_with_sklearn_on_every_measured_pair(bulk, delta, scorable):
    a, b, ab = _profiles(bulk, delta, scorable)
    x = np.stack([a, b], axis=2)
    ours = theil_sen(x, ab)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that its spatial median stopped at its own tolerance
        reference = np.array(
            [TheilSenRegressor(fit_intercept=False, random_state=0).fit(x[k], ab[k]).coef_ for k in range(len(ab))]
        )
    assert len(scorable) >= 5
    assert np.abs(ours - reference).max() < 0.05


def test_sampled_gene_pairs_are_distinct_upper_triangle_pairs():
    i, j = sampled_gene_pairs(40, n_subsamples=10_000)
    assert np.array_equal(np.stack([i, j]), np.stack(np.triu_indices(40, 1)))
    i, j = sampled_gene_pairs(500, n_subsamples=3000, seed=1)
    assert len(set(zip(i.tolist(), j.tolist()))) == 3000
    assert (0 <= i).all() and (i < j).all() and (j < 500).all()
    again = sampled_gene_pairs(500, n_subsamples=3000, seed=1)
    other = sampled_gene_pairs(500, n_subsamples=3000, seed=2)
    assert np.array_equal(i, again[0]) and np.array_equal(j, again[1])
    assert not (np.array_equal(i, other[0]) and np.array_equal(j, other[1]))


@pytest.mark.parametrize("on_all_genes", [False, True])
def test_batched_distance_correlation_equals_dcor(bulk, delta, scorable, on_all_genes):
    profiles = bulk.delta if on_all_genes else delta
    a, b, ab = _profiles(bulk, profiles, scorable)
    ours = np.stack(distance_correlations(a, b, ab), axis=1)
    reference = np.array(
        [
            [
                dcor.distance_correlation(a[k], ab[k]),
                dcor.distance_correlation(b[k], ab[k]),
                dcor.distance_correlation(np.stack([a[k], b[k]], 1), ab[k]),
            ]
            for k in range(len(ab))
        ]
    )
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-8)


def _expected_calls(scores: GIScores, i: int, t: GIThresholds) -> set[str]:
    """The calls the threshold table implies, written out independently of the module."""
    m, f, s, e = scores.magnitude[i], scores.model_fit[i], scores.similarity[i], scores.equality_of_contribution[i]
    calls = {
        name
        for name, fired in [
            ("synergy", m > t.synergy),
            ("suppression", m < t.suppression),
            ("neomorphism", f < t.neomorphism),
            ("redundancy", s > t.redundancy),
            ("epistasis", e < t.epistasis),
        ]
        if fired
    }
    return calls or ({"additive"} if abs(m - 1) < t.additive else set())


def _score_one(a, b, ab) -> GIScores:
    return score_pairs(a[None], b[None], ab[None])


def test_hand_made_interactions_get_their_calls(independent_singles):
    a, b = independent_singles
    synergy = _score_one(a, b, 1.5 * (a + b))
    np.testing.assert_allclose(synergy.coefficients[0], [1.5, 1.5], atol=1e-6)
    assert "synergy" in synergy.calls()[0] and "additive" not in synergy.calls()[0]

    suppression = _score_one(a, b, 0.5 * (a + b))
    np.testing.assert_allclose(suppression.magnitude[0], np.sqrt(0.5), atol=1e-6)
    assert "suppression" in suppression.calls()[0]

    epistasis = _score_one(a, b, a.copy())
    np.testing.assert_allclose(epistasis.coefficients[0], [1.0, 0.0], atol=1e-6)
    assert "epistasis" in epistasis.calls()[0]


def test_a_double_outside_the_singles_span_is_neomorphic(bulk, delta, singles, independent_pair, independent_singles):
    a, b = independent_singles
    span, _ = np.linalg.qr(np.stack([a, b], axis=1))
    third = next(k for k in singles if k not in independent_pair)
    other = delta[bulk.rows([third])[0]]  # a third real single's profile, made orthogonal to span(ΔA, ΔB)
    outside = other - span @ (span.T @ other)
    outside *= np.linalg.norm(a + b) / np.linalg.norm(outside)
    scores = _score_one(a, b, outside + 0.1 * (a + b))
    assert scores.model_fit[0] < GIThresholds().neomorphism
    assert "neomorphism" in scores.calls()[0]


def test_the_sum_of_the_singles_gets_what_the_table_implies(independent_singles):
    a, b = independent_singles
    scores = _score_one(a, b, a + b)
    np.testing.assert_allclose(scores.coefficients[0], [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose([scores.magnitude[0], scores.model_fit[0]], [np.sqrt(2), 1.0], atol=1e-6)
    assert set(scores.calls()[0]) == _expected_calls(scores, 0, GIThresholds())
    assert "synergy" in scores.calls()[0]  # √2 > 1.15: the table calls plain additivity of two singles synergy


def _direct(magnitude, model_fit=0.95, similarity=0.5, equality=0.6) -> GIScores:
    """GIScores built by hand: the given magnitudes, the other scores the same for every pair."""
    magnitude = np.asarray(magnitude, dtype=float)
    n = len(magnitude)
    return GIScores(
        np.column_stack([magnitude, np.zeros(n)]),
        magnitude,
        *(np.full(n, float(v)) for v in (model_fit, similarity, equality)),
        np.zeros(n, bool),
    )


def test_calls_follow_the_thresholds_at_the_boundaries():
    t = GIThresholds()
    eps = 1e-9
    magnitudes = [
        t.synergy,
        t.synergy + eps,
        t.suppression,
        t.suppression - eps,
        1 + t.additive - eps,
        0.9,
        1.3,
        np.nan,
    ]
    assert _direct(magnitudes).calls() == [
        ("additive",),
        ("synergy",),
        ("additive",),
        ("suppression",),
        ("synergy",),
        ("suppression",),
        ("synergy",),
        (),
    ]
    assert _direct([1.05], model_fit=t.neomorphism).calls() == [("additive",)]
    assert _direct([1.05], model_fit=t.neomorphism - eps).calls() == [("neomorphism",)]
    assert _direct([1.05], similarity=t.redundancy).calls() == [("additive",)]
    assert _direct([1.05], similarity=t.redundancy + eps).calls() == [("redundancy",)]
    assert _direct([1.05], equality=t.epistasis).calls() == [("additive",)]
    assert _direct([1.05], equality=t.epistasis - eps).calls() == [("epistasis",)]
    assert _direct([0.5], model_fit=0.1, similarity=0.99, equality=0.1).calls() == [
        ("suppression", "neomorphism", "redundancy", "epistasis")
    ]
    assert _direct([1.1]).calls(GIThresholds(synergy=1.05)) == [("synergy",)]


def test_every_finite_pair_gets_a_call_and_rows_are_plain(bulk, scorable):
    scores = measured_gi(bulk, scorable)
    grid = _direct(np.linspace(0.0, 3.0, 301), model_fit=0.9, similarity=0.2, equality=0.9)
    assert grid.call_matrix().any(axis=1).all()
    matrix = scores.call_matrix()
    assert matrix.shape == (len(scorable), len(GI_CALLS)) and matrix.dtype == bool
    for i in range(len(scorable)):
        row = scores.row(i)
        assert set(row) == {
            "magnitude",
            "model_fit",
            "similarity",
            "equality_of_contribution",
            "calls",
            "singles_collinear",
        }
        assert all(type(row[k]) is float for k in row if k not in ("calls", "singles_collinear"))
        assert row["calls"] == list(scores.calls()[i]) and set(row["calls"]) == _expected_calls(
            scores, i, GIThresholds()
        )


def test_scores_are_deterministic_by_seed(bulk, singles):
    a, b = bulk.delta[bulk.rows(singles[:6])], bulk.delta[bulk.rows(singles[6:12])]
    ab = 0.7 * a + 1.2 * b + 0.3 * bulk.delta[bulk.rows(singles[12:18])]
    first, again, other = (score_pairs(a, b, ab, seed=s, n_subsamples=2000) for s in (0, 0, 1))
    for name in ("coefficients", "magnitude", "model_fit", "similarity", "equality_of_contribution"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.coefficients, other.coefficients)
    np.testing.assert_allclose(first.coefficients, other.coefficients, atol=0.1)


def test_measured_gi_is_order_free_and_matches_score_pairs(bulk, delta, scorable):
    pair = scorable[0]
    a, b = genes_of(pair)
    flipped = measured_gi(bulk, [f"{b}+{a}"])
    direct = score_pairs(*_profiles(bulk, delta, [pair]))
    np.testing.assert_array_equal(flipped.coefficients, direct.coefficients)


@pytest.mark.parametrize("key", ["FOSB+CEBPB", "BPGM+SAMD1", "KLF1", "KLF1+MAP2K6+SET"])
def test_measured_gi_refuses_what_was_not_measured(bulk, key):
    with pytest.raises(GearsplanError) as error:
        measured_gi(bulk, [key])
    assert error.value.hint


def test_collinear_singles_are_fitted_with_equal_contributions(bulk):
    """Two near-identical singles (as two unseen genes predicted near the mean change): only c1 + c2 is identifiable."""
    mask = well_expressed(bulk.control)
    delta_a = bulk.delta[bulk.rows(["KLF1"])][:, mask]
    delta_b = 1.02 * delta_a + 1e-4 * bulk.delta[bulk.rows(["MAP2K6"])][:, mask]
    scores = score_pairs(delta_a, delta_b, 0.8 * (delta_a + delta_b))
    assert scores.singles_collinear[0]
    np.testing.assert_allclose(scores.coefficients[0], [0.8, 0.8], atol=1e-3)
    assert scores.row(0)["singles_collinear"] is True
    distinct = score_pairs(delta_a, bulk.delta[bulk.rows(["MAP2K6"])][:, mask], delta_a)
    assert not distinct.singles_collinear[0]


def test_members_that_agree_make_certain_calls_and_split_members_uncertain_ones(bulk, delta, scorable):
    """A call is shown as certain only when 80% of members make it and their spread of its score stays off its threshold."""
    a, b, ab = _profiles(bulk, delta, scorable)
    same = ensemble_calls(
        *(np.stack([x] * 5) for x in (a, b, ab))
    )  # five identical members: every call they make is certain
    calls = same.scores.call_matrix()
    assert calls.any() and (same.certain == calls).all() and (same.share == calls).all()
    # members of which two see the pair as its singles' sum, three as measured: magnitudes straddle 1.15 or its share is 60%
    summed = a + b
    split = ensemble_calls(np.stack([a] * 5), np.stack([b] * 5), np.stack([summed, summed, ab, ab, ab]))
    measured = measured_gi(bulk, scorable).magnitude
    assert (measured < GIThresholds().synergy).all()  # the measured pairs are not synergistic; their sum (√2) is
    synergy = GI_CALLS.index("synergy")
    np.testing.assert_allclose(split.share[:, synergy], 0.4)
    assert not split.certain[:, synergy].any()
    suppression = GI_CALLS.index("suppression")
    made = split.share[:, suppression] >= 0.6
    assert made.any() and not split.certain[made, suppression].any()  # 60% of members, below 80%
