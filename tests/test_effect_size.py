"""Knowledge for every perturbable gene, and the effect sizes learned from it, on the real shipped files and screens."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gearsplan.data.embedded import PAPALEXI2021
from gearsplan.data.pseudobulk import pseudobulk
from gearsplan.data.screen import read_screen
from gearsplan.knowledge import gene_knowledge
from gearsplan.knowledge.gene_knowledge import KNOWLEDGE_WIDTH, knowledge_features, knowledge_summary
from gearsplan.model.bundle import load_bundle, save_bundle
from gearsplan.model.effect_size import fit_effect_sizes, signal_size
from gearsplan.model.model_config import ModelConfig, SizeConfig

TFS = ["TP53", "GATA1", "MYC", "SPI1", "JUN", "CEBPA", "TAL1"]
OTHERS = ["OR2M2", "ACTB", "GAPDH", "HBG1", "ALB"]


def test_knowledge_says_what_the_shipped_files_say_of_a_gene():
    summary = dict(
        zip(
            ["GATA1", "OR2M2", "SNORD105B", "NOT_A_GENE"],
            knowledge_summary(["GATA1", "OR2M2", "SNORD105B", "NOT_A_GENE"]),
        )
    )
    assert summary["GATA1"][0] == 1 and summary["OR2M2"][0] == 0  # Lambert et al.'s TF list
    assert summary["GATA1"][1] > summary["OR2M2"][1]  # GO says more of GATA1 than of an olfactory receptor
    assert summary["GATA1"][2] > summary["OR2M2"][2]  # and STRING links it to more partners
    assert summary["SNORD105B"][3] == 0 and summary["OR2M2"][3] == 1  # a snoRNA codes for no protein
    assert not summary["NOT_A_GENE"].any()  # nothing known, nothing claimed
    features = knowledge_features(["GATA1", "SPI1", "NOT_A_GENE"])
    assert features.shape == (3, KNOWLEDGE_WIDTH)
    assert not np.allclose(features[0], features[1]) and not features[2].any()


def test_knowledge_features_are_kept_on_disk_and_a_damaged_cache_file_is_computed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("GEARSPLAN_CACHE_DIR", str(tmp_path))
    genes = ["GATA1", "SPI1", "OR2M2", "NOT_A_GENE"]
    gene_knowledge._cached_features.cache_clear()
    computed = knowledge_features(genes)
    (file,) = (tmp_path / "gene_knowledge").iterdir()
    gene_knowledge._cached_features.cache_clear()
    np.testing.assert_array_equal(knowledge_features(genes), computed)  # read back from the file
    computed[0] = 0.0  # a caller's copy: the cache is not touched
    assert knowledge_features(genes)[0].any()
    file.write_bytes(b"not an npz")
    gene_knowledge._cached_features.cache_clear()
    np.testing.assert_array_equal(knowledge_features(genes)[1:], computed[1:])
    assert np.load(file, allow_pickle=False)["features"].shape == (len(genes), KNOWLEDGE_WIDTH)  # rewritten
    gene_knowledge._cached_features.cache_clear()


@pytest.mark.parametrize("source", ["norman", "papalexi"])
def test_a_transcription_factor_is_predicted_a_larger_effect_than_genes_little_known_or_no_regulator(source, bulk):
    measured = bulk if source == "norman" else pseudobulk(read_screen(PAPALEXI2021))
    keys = [k for k in measured.keys if "+" not in k and k != "control"]
    sizes = fit_effect_sizes(measured.singles(keys), measured.single_noise(keys))
    shrinkage = dict(zip(TFS + OTHERS, sizes.shrinkage(TFS + OTHERS)))
    assert ((0 < np.array(list(shrinkage.values()))) & (np.array(list(shrinkage.values())) <= 1)).all()
    assert np.mean([shrinkage[g] for g in TFS]) > np.mean([shrinkage[g] for g in OTHERS])
    assert shrinkage["GATA1"] > shrinkage["OR2M2"] and shrinkage["TP53"] > shrinkage["ALB"]
    assert np.std(list(shrinkage.values())) / np.mean(list(shrinkage.values())) > 0.15


def test_the_size_map_learns_from_the_singles_and_leans_on_its_prior_as_far_as_told(bulk):
    keys = [k for k in bulk.keys if "+" not in k and k != "control"]
    singles, noise = bulk.singles(keys), bulk.single_noise(keys)
    prior = np.array(SizeConfig().prior)
    learned = fit_effect_sizes(singles, noise).weights
    assert not np.allclose(learned, prior)  # the screen moved it
    np.testing.assert_allclose(fit_effect_sizes(singles, noise, SizeConfig(strength=1e9)).weights, prior, atol=1e-6)
    np.testing.assert_allclose(fit_effect_sizes({}, {}).weights, prior)
    # a change the noise explains is as large as the noise; a clear one keeps nearly all its size
    assert signal_size(np.full(4, 0.1), np.full(4, 0.5)) == pytest.approx(np.sqrt(2.0))
    assert signal_size(np.full(4, 1.0), np.full(4, 0.01)) == pytest.approx(np.sqrt(3.96))


def test_unmeasured_genes_get_predictions_of_their_own(trained_bundle):
    model = trained_bundle.model
    predicted = model.predict(TFS + OTHERS).mean
    norms = np.linalg.norm(predicted, axis=1)
    average = predicted.mean(axis=0)
    assert np.linalg.norm(predicted - average, axis=1).mean() > 0.1 * np.linalg.norm(average)
    assert norms[: len(TFS)].mean() > norms[len(TFS) :].mean()


def test_the_tuning_values_travel_in_the_bundle_and_change_what_it_predicts(trained_bundle, tmp_path):
    tuned = ModelConfig(likeness_power=2.0, base_weight=0.5, sizes=SizeConfig(prior=(1.0, 0.0, 0.0, 0.0), strength=1e9))
    bundle = replace(trained_bundle, model=replace(trained_bundle.model, config=tuned))
    loaded = load_bundle(save_bundle(bundle, tmp_path / "tuned")).model
    assert loaded.config == tuned
    genes = ["GATA1", "OR2M2"]
    assert np.array_equal(loaded.predict(genes).mean, bundle.model.predict(genes).mean)
    assert not np.allclose(loaded.predict(genes).mean, trained_bundle.model.predict(genes).mean)
    # with only the TF column weighed, a TF keeps its full size and any other gene is shrunk by e
    np.testing.assert_allclose(loaded.effect_sizes.shrinkage(genes), [1.0, np.exp(-1.0)])
