"""The perturbation modality: named, read from the measured targets, refused where it contradicts them, and obeyed by predictions."""

from __future__ import annotations

import numpy as np
import pytest

from gearsplan.data.conditions import genes_of
from gearsplan.data.modality import MODALITY_SIGNS, resolve_modality, target_changes
from gearsplan.data.prepared import prepare
from gearsplan.data.screen import read_screen
from gearsplan.data.splits import Split
from gearsplan.errors import GearsplanError
from gearsplan.interface.cli import ModalityChoice
from gearsplan.model.bundle import load_bundle, save_bundle
from gearsplan.model.train_config import TrainConfig
from gearsplan.model.training import fit_gears


@pytest.fixture(scope="module")
def papalexi():
    return prepare(read_screen("papalexi"))


def test_the_choices_are_the_modalities():
    assert [c.value for c in ModalityChoice] == list(MODALITY_SIGNS)


def test_norman_reads_as_activation_from_its_one_measured_target(bulk):
    own = bulk.delta[bulk.rows(["TMSB4X"])[0], bulk.genes.index("TMSB4X")]
    assert target_changes(bulk, bulk.keys).tolist() == [own] and own > 2  # TMSB4X, switched on
    modality = resolve_modality(bulk, bulk.keys, None)
    assert (modality.name, modality.sign, modality.warning) == ("activation", 1, None)
    assert modality.self_change == pytest.approx(own)
    # without the target in training, the direction still stands but its typical size is unknown
    assert resolve_modality(bulk, [k for k in bulk.keys if k != "TMSB4X"], None).self_change == 0.0


def test_knockout_targets_fall_but_only_a_name_tells_knockout_from_interference(papalexi):
    bulk = papalexi.bulk
    own = target_changes(bulk, bulk.keys)
    assert len(own) == 9 and (own < 0).all()
    unnamed = resolve_modality(bulk, bulk.keys, None)
    assert unnamed.name is None and unnamed.sign == -1 and "interference or knockout" in unnamed.warning
    known = resolve_modality(bulk, bulk.keys, None, known="knockout")
    assert (known.name, known.sign, known.warning) == ("knockout", -1, None)
    assert known.self_change == pytest.approx(np.median(-own))


def test_a_modality_against_the_measured_targets_or_misspelled_is_refused(bulk, papalexi):
    with pytest.raises(GearsplanError, match="contradicts the screen: its 1 measured target"):
        resolve_modality(bulk, bulk.keys, "knockout")
    with pytest.raises(GearsplanError, match="contradicts the screen: its 9 measured target"):
        resolve_modality(papalexi.bulk, papalexi.bulk.keys, "activation")
    with pytest.raises(GearsplanError, match="unknown modality 'knokout'"):
        resolve_modality(bulk, bulk.keys, "knokout")


def test_a_screen_without_measured_targets_asks_for_the_modality(bulk):
    keys = [k for k in bulk.keys if "TMSB4X" not in genes_of(k)]
    without = type(bulk)(
        tuple(keys), bulk.genes, bulk.delta[bulk.rows(keys)] + bulk.control, bulk.control, bulk.n_cells[bulk.rows(keys)]
    )
    modality = resolve_modality(without, keys, None)
    assert (
        modality.sign == 0 and "no perturbed gene is measured" in modality.warning and "--modality" in modality.warning
    )
    assert resolve_modality(without, keys, "interference").sign == -1  # named: nothing contradicts it


def test_an_unseen_measured_target_is_predicted_to_fall_under_knockout(papalexi, tmp_path):
    """STAT1 held out of a knockout screen: its own predicted change falls at least as far as the typical measured target's."""
    split = Split("without STAT1", tuple(k for k in papalexi.bulk.keys if k != "STAT1"), (), ("STAT1",))
    model = fit_gears(papalexi, split, 1, TrainConfig(ensemble=2, epochs=2, patience=2, modality="knockout"))
    assert model.modality.name == "knockout" and model.modality.self_change > 0.1
    stat1, jak2 = (papalexi.bulk.genes.index(g) for g in ("STAT1", "JAK2"))
    predicted = model.predict(["STAT1", "JAK2", "JAK2+STAT1"]).mean
    assert predicted[0, stat1] <= -model.modality.self_change
    assert predicted[2, stat1] < 0 and predicted[2, jak2] < 0
    measured = papalexi.bulk.delta[papalexi.bulk.rows(["JAK2"])[0]]
    np.testing.assert_allclose(predicted[1], measured)  # a measured single keeps its measurement
    # the bundle keeps the modality
    from gearsplan.model.bundle import Bundle

    loaded = load_bundle(save_bundle(Bundle(model, TrainConfig(modality="knockout")), tmp_path / "bundle"))
    assert loaded.model.modality == model.modality


@pytest.mark.parametrize("value, message", [("knokout", "is not one of"), ("knockout", "contradicts the screen")])
def test_cli_a_bad_modality_is_one_line(run_cli, tmp_path, value, message):
    code, out, err = run_cli(
        "train", "--modality", value, "--out", tmp_path / "model", "--epochs", "1", "--ensemble", "1"
    )
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "model").exists()
