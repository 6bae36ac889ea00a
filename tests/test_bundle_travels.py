"""A bundle carries its screen: trained on a copy of the embedded data, it works with that copy moved away."""

import json
import shutil
from dataclasses import replace

from gearsplan.data.embedded import NORMAN2019
from gearsplan.model.bundle import load_bundle, save_bundle


def test_a_bundle_learns_from_every_perturbation_and_travels_without_its_h5ad(run_cli, screen, tmp_path):
    data, bundle = tmp_path / "x.h5ad", tmp_path / "B"
    shutil.copy(NORMAN2019, data)
    code, out, err = run_cli("train", "--data", data, "--out", bundle, "--ensemble", "2", "--epochs", "2", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (
        document["holdout"] == "none"
        and document["evaluation"] is None
        and document["perturbations_learned"] == len(screen.perturbations)
    )
    predicted = run_cli("predict", "FOSB", "CEBPB", "--model", bundle, "--json")[1]

    moved = data.rename(tmp_path / "moved.h5ad")
    code, out, err = run_cli("model", "info", "--model", bundle, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (
        info["perturbations_learned"] == len(screen.perturbations) == 33
        and info["evaluation"] is None
        and info["carries_screen"]
    )
    assert info["split"]["spec"] == "none" and info["split"]["n_test"] == 0 and info["split"]["n_early_stopping"] > 0
    assert (
        info["calibration"]["from"] == "calibration"
        and info["calibration"]["split"] == "simulation"
        and info["calibration"]["n_held_out"] > 0
    )
    code, out, _ = run_cli("model", "info", "--model", bundle)
    assert code == 0 and "every one in the screen" in out and "twin ensemble" in " ".join(out.split())

    code, out, err = run_cli("predict", "FOSB", "CEBPB", "--model", bundle, "--json")
    assert code == 0 and out == predicted, err
    report = json.loads(out)
    assert 0 < report["uncertainty"]["coverage"] <= 1  # calibrated by the twin's held-out perturbations
    klf1 = json.loads(run_cli("predict", "KLF1", "--model", bundle, "--json")[1])
    assert klf1["in_data"] and klf1["in_training"]
    assert (
        run_cli("predict", "FOSB", "CEBPB", "--model", bundle, "--data", moved, "--json")[1] == predicted
    )  # the file read again: the same

    code, out, err = run_cli("gimap", "--model", bundle, "--json")
    assert code == 0 and json.loads(out)["pairs"], err
    code, out, err = run_cli("suggest", "--model", bundle, "--budget", "3", "--expand", "0", "--json")
    assert code == 0 and len(json.loads(out)["suggestions"]) == 3, err
    code, out, err = run_cli(
        "report", "--model", bundle, "--out", tmp_path / "plan.md", "--budget", "3", "--expand", "0", "--json"
    )
    assert code == 0, err
    plan = (tmp_path / "plan.md").read_text(encoding="utf-8")
    assert (
        "as the model bundle carries it" in plan
        and "learned from every perturbation" in plan
        and "twin ensemble" in plan
    )
    assert "--data" not in plan.split("To rerun exactly this report")[1].split("```")[1]
    assert not data.exists() and load_bundle(bundle).bulk.keys == tuple(screen.perturbations)
    # predicted cells need the screen's control cells, which the bundle does not carry: its moved file is named, or asked for
    code, out, err = run_cli("predict", "FOSB", "--model", bundle, "--out", tmp_path / "pred.h5ad")
    assert (
        code == 2 and len(err.strip().splitlines()) == 1 and "--data" in err and not (tmp_path / "pred.h5ad").exists()
    )
    code, _, err = run_cli("predict", "FOSB", "--model", bundle, "--data", moved, "--out", tmp_path / "pred.h5ad")
    assert code == 0 and (tmp_path / "pred.h5ad").exists(), err


def test_a_bundle_built_without_its_screen_asks_for_data(run_cli, trained_bundle, tmp_path):
    bare = save_bundle(replace(trained_bundle, bulk=None, de=None), tmp_path / "bare")
    code, out, err = run_cli("predict", "FOSB", "--model", bare)
    assert code == 2 and "carries no screen" in err and "--data" in err and out == ""
    assert run_cli("predict", "FOSB", "--model", bare, "--data", NORMAN2019)[0] == 0
