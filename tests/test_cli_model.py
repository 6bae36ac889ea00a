"""train, model info and evaluate --model on the real embedded data."""

import json
import shutil

import pytest

from gearsplan.model.bundle import file_sha256


@pytest.fixture(scope="module")
def quick_bundle(tmp_path_factory):
    """A small bundle trained through the CLI: 2 members, 3 epochs."""
    return tmp_path_factory.mktemp("models") / "quick"


def test_train_writes_a_bundle_and_scores_it(run_cli, quick_bundle):
    code, out, _ = run_cli(
        "train",
        "--epochs",
        "3",
        "--ensemble",
        "2",
        "--seed",
        "2",
        "--holdout",
        "simulation",
        "--out",
        quick_bundle,
        "--json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["model"] == str(quick_bundle) and (quick_bundle / "checksums.json").is_file()
    assert document["holdout"] == document["split"] == "simulation" and document["perturbations_learned"] < 33
    models = {row["model"] for row in document["evaluation"]["rows"]}
    assert models == {"gearsplan", "no_change", "mean", "additive", "scaled_additive", "linear"}
    assert sorted(p.name for p in quick_bundle.iterdir()) == sorted(
        [
            "checksums.json",
            "config.json",
            "genes.json",
            "metadata.json",
            "arrays.safetensors",
            "member_0.safetensors",
            "member_1.safetensors",
        ]
    )


def test_model_info_describes_the_bundle(run_cli, quick_bundle):
    code, out, _ = run_cli("model", "info", "--model", quick_bundle, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["members"] == 2 and info["seed"] == 2 and info["training"]["epochs"] == 3
    assert info["split"]["name"] == "simulation:seed2" and info["split"]["n_test"] > 0
    assert info["perturbations_learned"] == info["split"]["n_train"]
    assert info["calibration"] == {
        "from": "evaluation",
        "split": "simulation",
        "seeds": [2],
        "n_held_out": info["split"]["n_test"],
    }
    assert info["n_perturbable_genes"] > 18_000 and info["data"]["sha256"]


def test_evaluate_retrains_a_bundle_per_split(run_cli, quick_bundle):
    code, out, _ = run_cli("evaluate", "--model", quick_bundle, "--split", "reference", "--seeds", "1", "--json")
    assert code == 0
    document = json.loads(out)
    assert {row["model"] for row in document["rows"]} == {
        "gearsplan",
        "no_change",
        "mean",
        "additive",
        "scaled_additive",
        "linear",
    }
    assert -1 <= document["uncertainty_spearman"] <= 1


def test_a_command_without_a_model_trains_the_default_and_says_so(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GEARSPLAN_DATA_DIR", str(tmp_path))
    code, out, err = run_cli("model", "info", "--json")
    assert code == 0 and "no model found" in err and "training one on the embedded" in err
    assert json.loads(out)["path"] == str(tmp_path / "models" / "default")
    code, _, err = run_cli("model", "info", "--json")  # found this time
    assert code == 0 and "no model found" not in err and "training one" not in err


def test_a_default_model_of_an_older_format_is_retrained_but_a_named_one_is_an_error(
    run_cli, quick_bundle, tmp_path, monkeypatch
):
    monkeypatch.setenv("GEARSPLAN_DATA_DIR", str(tmp_path))
    old = tmp_path / "old"
    shutil.copytree(quick_bundle, old)
    config = json.loads((old / "config.json").read_text())
    (old / "config.json").write_text(json.dumps({**config, "format_version": config["format_version"] - 1}))
    checksums = json.loads((old / "checksums.json").read_text())
    (old / "checksums.json").write_text(json.dumps({**checksums, "config.json": file_sha256(old / "config.json")}))
    code, _, err = run_cli("model", "info", "--model", old)
    assert code == 2 and "this gearsplan reads" in " ".join(err.split()) and "training one" not in err
    shutil.copytree(old, tmp_path / "models" / "default")
    code, out, err = run_cli("model", "info", "--json")
    err = " ".join(err.split())
    assert code == 0 and "this gearsplan reads" in err and "training one on the embedded" in err
    assert json.loads(out)["members"] == 5  # the default, retrained, not the 2-member bundle it replaced


def test_training_needs_a_single_split(run_cli, tmp_path):
    code, _, err = run_cli("train", "--holdout", "loo", "--out", tmp_path / "m")
    assert code == 2 and "training needs one" in err and not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--holdout", "sim"], "unknown --holdout 'sim'"),
        (["--holdout", "split.json"], "no split file at split.json"),
        (["--split", "simulation"], "train --split is now --holdout"),
    ],
)
def test_a_bad_holdout_is_one_line(run_cli, tmp_path, arguments, message):
    code, out, err = run_cli("train", *arguments, "--out", tmp_path / "m")
    assert (
        code == 2
        and message in err
        and len(err.strip().splitlines()) == 1
        and out == ""
        and not (tmp_path / "m").exists()
    )


def test_training_without_early_stopping_says_so(run_cli, screen, tmp_path):
    """A split file with no val and under 10 training perturbations trained every epoch, silently."""
    keys = screen.perturbations
    split = tmp_path / "small.json"
    split.write_text(json.dumps({"set2conditions": {"train": keys[:6], "val": [], "test": keys[6:10]}}))
    code, out, err = run_cli("train", "--holdout", split, "--out", tmp_path / "m", "--ensemble", "2", "--epochs", "2")
    assert (
        code == 0
        and "only 6 perturbations to train on" in err
        and "trained all 2 epochs without it" in " ".join(err.split())
    )
    assert "trained 2 members in" in out
    code, _, err = run_cli(
        "train", "--holdout", "simulation", "--out", tmp_path / "m", "--ensemble", "2", "--epochs", "2"
    )  # its own val
    assert code == 0 and "warning" not in err


def test_train_refuses_an_out_holding_other_files_before_training(run_cli, tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    code, out, err = run_cli("train", "--out", tmp_path)
    assert code == 2 and "not part of a model bundle" in err and len(err.strip().splitlines()) == 1 and out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "my notes"


def test_missing_model_directory(run_cli, tmp_path):
    code, _, err = run_cli("model", "info", "--model", tmp_path / "nothing")
    assert code == 2 and "no model bundle" in err and f"gearsplan train --out {tmp_path / 'nothing'}" in err
    (tmp_path / "notes.txt").write_text("my notes")  # train would refuse this folder: no hint to train into it
    code, _, err = run_cli("model", "info", "--model", tmp_path)
    assert (
        code == 2
        and "no model bundle" in err
        and "train --out" not in err
        and "the directory gearsplan train wrote" in err
    )


def test_a_model_that_is_a_file_is_not_offered_as_a_place_to_train(run_cli, tmp_path):
    (tmp_path / "model.pt").write_bytes(b"a pickle, perhaps")
    code, _, err = run_cli("model", "info", "--model", tmp_path / "model.pt")
    assert code == 2 and "is a file, not a model bundle" in err and "train --out" not in err


@pytest.mark.parametrize("command", [["train"], ["predict", "KLF1"], ["gimap"], ["suggest"], ["report"]])
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_every_seed_option_takes_only_numpy_seeds(run_cli, tmp_path, monkeypatch, command, seed):
    """train, suggest and report ended a seed NumPy refuses in a traceback; predict and gimap took -1."""
    # Were a seed taken, train would replace the default model and report write plan.md: both kept in tmp_path.
    monkeypatch.setenv("GEARSPLAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*command, "--seed", seed)
    assert code == 2 and "--seed" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1 and out == ""


def test_evaluate_refuses_a_seed_above_numpys(run_cli):
    code, out, err = run_cli("evaluate", "--seeds", f"1,{2**32}")
    assert (
        code == 2 and f"seed {2**32} is above {2**32 - 1}" in err and len(err.strip().splitlines()) == 1 and out == ""
    )
