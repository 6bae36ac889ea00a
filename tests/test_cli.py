"""The command line on real data: JSON contracts, and bad input ending in one line and exit code 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

STRATA = {"unseen_single", "pair_0_unseen", "pair_1_unseen", "pair_2_unseen", "all"}


def test_evaluate_json_contract(run_cli):
    code, out, _ = run_cli("evaluate", "--json", "--split", "simulation", "--seeds", "1,2")
    assert code == 0
    document = json.loads(out)
    assert document["split"] == "simulation" and document["seeds"] == [1, 2]
    assert "uncertainty_spearman" in document
    assert {r["model"] for r in document["rows"]} == {"no_change", "mean", "additive", "scaled_additive", "linear"}
    assert {r["stratum"] for r in document["rows"]} <= STRATA and "all" in {r["stratum"] for r in document["rows"]}
    for row in document["rows"]:
        assert row["n"] > 0
        for key in ("pearson_delta", "pearson_delta_top20", "mse_top20", "frac_opposite_top20"):
            assert key in row and f"{key}_sd" in row
    additive_all = next(r for r in document["rows"] if r["model"] == "additive" and r["stratum"] == "all")
    assert 0 < additive_all["pearson_delta"] < 1 and additive_all["pearson_delta_sd"] >= 0


def test_evaluate_tables(run_cli):
    code, out, _ = run_cli("evaluate")
    assert code == 0
    for text in ("unseen_single", "pair_0_unseen", "additive", "0.870"):
        assert text in out


def test_data_info_json_contract(run_cli):
    code, out, _ = run_cli("data", "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert (info["n_cells"], info["n_genes"], info["n_control_cells"]) == (3375, 500, 100)
    assert (info["n_perturbations"], info["n_single"], info["n_pair"], info["n_higher"]) == (33, 18, 15, 0)
    assert {"genes": ["KLF1", "MAP2K6"], "n_cells": 100} in info["perturbations"]
    assert info["perturbed_genes_not_in_go"] == ["IER5L"]
    assert info["condition_col"] == "condition"


def test_python_dash_m_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "gearsplan", "data", "info"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "KLF1 + MAP2K6" in result.stdout and "IER5L" in result.stdout


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err  # no empty lines either, and no progress line before any progress
    assert "Traceback" not in err and lines[0].startswith("error:") and "hint:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


def _write(adata, path):
    adata.write_h5ad(path)
    return path


def test_not_an_h5ad(run_cli, tmp_path):
    (tmp_path / "plain.h5ad").write_text("cell,gene\n1,2\n")
    _one_line_error(*run_cli("data", "info", tmp_path / "plain.h5ad")[::2], "cannot read")


def test_missing_file(run_cli, tmp_path):
    _one_line_error(*run_cli("evaluate", "--data", tmp_path / "none.h5ad")[::2], "no such file")
    # data info takes its path as an argument: a hint naming --data misled
    code, _, err = run_cli("data", "info", tmp_path / "none.h5ad")
    _one_line_error(code, err, "no such file", "or none, for the embedded")
    assert "--data" not in err


def test_too_few_genes(run_cli, norman, tmp_path):
    """Three genes trained fully, then crashed saving NaN metrics."""
    _one_line_error(
        *run_cli("data", "info", _write(norman[:, :3].copy(), tmp_path / "x.h5ad"))[::2],
        "measures 3 genes",
        "at least 20",
    )


def test_no_perturbation_column(run_cli, norman, tmp_path):
    norman.obs = norman.obs.rename(columns={"condition": "sample"})
    _one_line_error(*run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"))[::2], "no perturbation column")


def test_named_column_missing(run_cli, tmp_path, norman):
    _one_line_error(
        *run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"), "--condition-col", "guide")[::2],
        "no column 'guide'",
    )


def test_no_control_cells(run_cli, norman, tmp_path):
    norman = norman[norman.obs["condition"] != "control"].copy()
    _one_line_error(*run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"))[::2], "control")


def test_named_control_missing(run_cli, norman, tmp_path):
    _one_line_error(
        *run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"), "--control", "NTC")[::2],
        "no cells labelled 'NTC'",
    )


def test_fewer_than_two_perturbations(run_cli, norman, tmp_path):
    norman = norman[norman.obs["condition"].isin(["control", "KLF1"])].copy()
    _one_line_error(*run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"))[::2], "at least two")


def test_one_celled_perturbations_do_not_count_toward_two(run_cli, norman, tmp_path):
    one_plk4 = norman.obs_names == norman.obs_names[norman.obs["condition"] == "PLK4"][0]
    norman = norman[norman.obs["condition"].isin(["control", "KLF1"]) | one_plk4].copy()
    _one_line_error(
        *run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"))[::2], "holds 1 perturbation;", "at least two"
    )


def test_a_single_cell_perturbation_is_left_out_with_a_warning(run_cli, norman, tmp_path):
    """One PLK4 cell crashed every modelling command in scanpy's t-test."""
    plk4 = np.flatnonzero(norman.obs["condition"] == "PLK4")
    path = _write(norman[np.setdiff1d(np.arange(norman.n_obs), plk4[1:])].copy(), tmp_path / "x.h5ad")
    code, out, err = run_cli("evaluate", "--data", path, "--split", "simulation", "--json")
    assert (
        code == 0
        and "Traceback" not in err
        and "warning: 1 perturbation with a single cell left out" in " ".join(err.split())
    )
    assert json.loads(out)["rows"]
    code, out, _ = run_cli("data", "info", "--json", path)
    document = json.loads(out)
    assert code == 0 and document["n_perturbations"] == 32 and any("PLK4" in w for w in document["warnings"])


@pytest.mark.parametrize("value, fragment", [(np.nan, "NaN"), (-1.0, "negative")])
def test_impossible_values(run_cli, norman, tmp_path, value, fragment):
    X = norman.X.tocsr(copy=True)
    X.data[7] = value
    norman.X = X
    _one_line_error(*run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"))[::2], fragment)


def test_duplicate_gene_names(run_cli, norman, tmp_path):
    names = list(norman.var_names)
    names[1] = names[0]
    norman.var_names = names
    _one_line_error(
        *run_cli("data", "info", _write(norman, tmp_path / "x.h5ad"))[::2], "duplicate gene names", names[0]
    )


def test_an_unknown_perturbed_gene_is_listed_with_a_warning_not_refused(run_cli, norman, tmp_path):
    """One label no gene table knows (a typo, or a symbol newer than the table) made the whole screen unreadable."""
    norman.obs["condition"] = norman.obs["condition"].astype(str).replace({"KLF1": "KLF1X"})
    code, out, err = run_cli("data", "info", "--json", _write(norman, tmp_path / "x.h5ad"))
    assert code == 0 and "warning: perturbed gene 'KLF1X' is no known human gene (did you mean KLF1" in " ".join(
        err.split()
    )
    document = json.loads(out)
    assert "KLF1X" in document["perturbed_genes_not_in_go"] and ["KLF1X"] in [
        p["genes"] for p in document["perturbations"]
    ]
    assert len(document["warnings"]) == 1 and "KLF1X" in document["warnings"][0]


@pytest.mark.parametrize("option", [["--split", "reference"], ["--model", "gearsplan"], ["--seeds", "1,2"]])
def test_evaluate_gi_refuses_what_it_would_ignore(run_cli, option):
    _one_line_error(*run_cli("evaluate", "--gi", *option)[::2], "--gi holds out each measured pair")


def test_a_gene_file_with_a_byte_order_mark_reads(run_cli, trained_bundle_dir, tmp_path):
    """Excel writes UTF-8 with a byte-order mark: its first gene was 'unknown gene \\ufeffKLF1'."""
    genes = tmp_path / "genes.txt"
    genes.write_text("KLF1\nFOSB\n", encoding="utf-8-sig")
    code, out, err = run_cli("gimap", "--genes", genes, "--model", trained_bundle_dir, "--json")
    assert code == 0, err
    assert [p["pair"] for p in json.loads(out)["pairs"]] == [["FOSB", "KLF1"]]


def test_bad_seeds_split_and_model(run_cli):
    _one_line_error(*run_cli("evaluate", "--model", " ")[::2], "no model named")
    _one_line_error(*run_cli("evaluate", "--seeds", "one")[::2], "seeds")
    _one_line_error(*run_cli("evaluate", "--seeds", "5-1")[::2], "seed range '5-1' is empty", "--seeds 1-5")
    _one_line_error(*run_cli("evaluate", "--split", "random")[::2], "unknown split")
    _one_line_error(*run_cli("evaluate", "--split", "missing/split.json")[::2], "no split file at missing/split.json")


def test_dense_matrix_reads(run_cli, norman, tmp_path):
    norman.X = sp.csr_matrix(norman.X).toarray()
    assert run_cli("data", "info", _write(norman, tmp_path / "dense.h5ad"))[0] == 0


@pytest.mark.parametrize("command", ["train", "evaluate", "suggest", "replay"])
def test_help_paragraphs_flow_to_the_terminal_width(run_cli, monkeypatch, command):
    """Docstring line breaks do not survive into --help (they left orphan words at any width)."""
    monkeypatch.setenv("COLUMNS", "500")
    code, out, _ = run_cli(command, "--help")
    assert code == 0
    description = [line.strip() for line in out[out.index("Usage:") : out.index("╭")].splitlines()[2:]]
    assert sum(map(bool, description)) >= 2
    assert not any(line and following for line, following in zip(description, description[1:])), (
        "a paragraph was broken across lines"
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ("predict", "FOSB", "--csv", "{dir}"),
        ("suggest", "--out", "{dir}"),
        ("gimap", "--out", "{dir}"),
        ("report", "--out", "{dir}"),
        ("replay", "--out", "{file}"),
        ("train", "--out", "{file}"),
    ],
)
def test_an_output_of_the_wrong_kind_is_refused_before_any_work(run_cli, tmp_path, arguments):
    (tmp_path / "file").write_text("mine")
    (tmp_path / "dir").mkdir()
    code, out, err = run_cli(*(a.format(dir=tmp_path / "dir", file=tmp_path / "file") for a in arguments))
    assert (
        code == 2
        and ("is a directory" in err or "is a file" in err)
        and len(err.strip().splitlines()) == 1
        and out == ""
    )
    assert (tmp_path / "file").read_text() == "mine" and not any((tmp_path / "dir").iterdir())


@pytest.mark.parametrize(
    "arguments, fragment, hint",
    [
        (("train", "--epochs", "0"), "'--epochs'", "gearsplan train --help"),
        (("predikt", "FOSB"), "Did you mean 'predict'?", "gearsplan --help"),
        (("predict", "--top", "many", "FOSB"), "'--top'", "gearsplan predict --help"),
        (("suggest", "--no-such-option"), "No such option", "gearsplan suggest --help"),
        (("predict",), "Missing argument", "gearsplan predict --help"),
    ],
)
def test_a_mistyped_command_line_ends_in_one_line(run_cli, arguments, fragment, hint):
    """Typer's own parsing errors read like ours: one line with a hint, exit 2, before any work."""
    code, out, err = run_cli(*arguments)
    _one_line_error(code, err, fragment, hint)
    assert out == ""


def test_help_and_no_arguments_keep_their_exit_codes(run_cli):
    assert run_cli("--help")[0] == 0 and run_cli("--version")[0] == 0
    code, out, err = run_cli("model")
    assert code == 2 and "Usage:" in out + err and "model [OPTIONS] COMMAND" in out + err and "error:" not in err
