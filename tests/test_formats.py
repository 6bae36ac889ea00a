"""Input formats (.h5ad, .zarr, .h5mu), their one-line errors, and the screen options of every command that reads a screen."""

import json
import shutil
import warnings
from dataclasses import replace

import mudata as md
import numpy as np
import pytest

from gearsplan.analysis.model_screen import bundle_screen
from gearsplan.data.pseudobulk import pseudobulk
from gearsplan.data.screen import read_screen
from gearsplan.model.bundle import data_sha256


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("error:") and "hint:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The embedded Norman screen as a zarr store, an .h5mu with an 'rna' modality, and one with a 'gex' modality beside 'prot'."""
    import anndata as ad

    from gearsplan.data.embedded import NORMAN2019

    folder = tmp_path_factory.mktemp("formats")
    norman = ad.read_h5ad(NORMAN2019)
    with warnings.catch_warnings():  # zarr's and mudata's notes on their next versions' defaults
        warnings.simplefilter("ignore")
        norman.write_zarr(folder / "norman.zarr")
        md.MuData({"rna": norman.copy()}).write(folder / "norman.h5mu")
        md.MuData({"gex": norman.copy(), "prot": norman[:, :3].copy()}).write(folder / "gex.h5mu")
    return folder


def _same_screen(screen, other) -> None:
    assert other.perturbations == screen.perturbations
    bulk, again = pseudobulk(screen), pseudobulk(other)
    assert again.keys == bulk.keys and again.genes == bulk.genes
    np.testing.assert_array_equal(again.means, bulk.means)
    np.testing.assert_array_equal(again.control, bulk.control)
    np.testing.assert_array_equal(again.n_cells, bulk.n_cells)


@pytest.mark.parametrize(
    ("name", "mudata_mod", "read_as"),
    [("norman.zarr", None, None), ("norman.h5mu", None, "rna"), ("gex.h5mu", "gex", "gex")],
)
def test_each_format_reads_to_the_same_screen(screen, stores, name, mudata_mod, read_as):
    other = read_screen(stores / name, mudata_mod=mudata_mod)
    _same_screen(screen, other)
    assert other.mudata_mod == read_as and other.source == str((stores / name).resolve())


def test_cli_reads_a_named_modality(run_cli, stores):
    code, out, _ = run_cli("data", "info", stores / "gex.h5mu", "--mudata-mod", "gex", "--json")
    assert code == 0
    info = json.loads(out)
    assert (info["n_cells"], info["n_genes"], info["n_perturbations"]) == (3375, 500, 33)


def test_a_zarr_store_hashes_by_content(stores, tmp_path):
    copy = shutil.copytree(stores / "norman.zarr", tmp_path / "elsewhere.zarr")
    assert data_sha256(copy) == data_sha256(stores / "norman.zarr")
    (copy / "uns" / "extra").write_text("x")
    assert data_sha256(copy) != data_sha256(stores / "norman.zarr")


def test_a_bundle_rereads_the_modality_it_was_trained_on(trained_bundle, stores):
    facts = {**trained_bundle.metadata["data"], "source": str(stores / "gex.h5mu"), "mudata_mod": "gex"}
    bundle = replace(trained_bundle, metadata={**trained_bundle.metadata, "data": facts})
    assert bundle_screen(bundle).mudata_mod == "gex"


def test_an_empty_file(run_cli, tmp_path):
    (tmp_path / "empty.h5ad").touch()
    _one_line_error(*run_cli("data", "info", tmp_path / "empty.h5ad")[::2], "the file is empty", "write it again")


def test_a_csv_named_h5ad(run_cli, tmp_path):
    (tmp_path / "table.h5ad").write_text("cell,gene\n1,2\n")
    _one_line_error(*run_cli("evaluate", "--data", tmp_path / "table.h5ad")[::2], "no HDF5 file", "AnnData.write_h5ad")


def test_a_directory_that_is_no_zarr_store(run_cli, tmp_path):
    (tmp_path / "cells").mkdir()
    _one_line_error(*run_cli("data", "info", tmp_path / "cells")[::2], "no zarr store", "AnnData.write_zarr")


def test_an_h5mu_without_the_modality(run_cli, stores):
    _one_line_error(
        *run_cli("data", "info", stores / "gex.h5mu")[::2], "no modality 'rna'", "it holds: gex, prot", "--mudata-mod"
    )
    _one_line_error(
        *run_cli("data", "info", stores / "norman.h5mu", "--mudata-mod", "atac")[::2],
        "no modality 'atac'",
        "it holds: rna",
    )


def test_a_modality_of_no_mudata_file(run_cli, stores):
    _one_line_error(
        *run_cli("data", "info", stores / "norman.zarr", "--mudata-mod", "rna")[::2],
        "--mudata-mod rna",
        "leave out --mudata-mod",
    )


@pytest.fixture(scope="module")
def guide_identity(tmp_path_factory):
    """The embedded screen with its perturbation column renamed to one no detection knows, and every other column removed."""
    import anndata as ad

    from gearsplan.data.embedded import NORMAN2019

    norman = ad.read_h5ad(NORMAN2019)
    norman.obs = norman.obs[["condition"]].rename(columns={"condition": "guide_identity"})
    path = tmp_path_factory.mktemp("renamed") / "guides.h5ad"
    norman.write_h5ad(path)
    return path


def test_predict_reads_a_named_perturbation_column(run_cli, trained_bundle_dir, guide_identity):
    code, out, err = run_cli(
        "predict",
        "FOSB",
        "--data",
        guide_identity,
        "--model",
        trained_bundle_dir,
        "--condition-col",
        "guide_identity",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["genes"] == ["FOSB"]
    _one_line_error(
        *run_cli("predict", "FOSB", "--data", guide_identity, "--model", trained_bundle_dir)[::2],
        "no perturbation column",
        "--condition-col",
    )


def test_gimap_reads_a_named_perturbation_column(run_cli, trained_bundle_dir, guide_identity, tmp_path):
    genes = tmp_path / "genes.txt"
    genes.write_text("FOSB\nCEBPB\nKLF1\n")
    code, out, err = run_cli(
        "gimap",
        "--genes",
        genes,
        "--data",
        guide_identity,
        "--model",
        trained_bundle_dir,
        "--condition-col",
        "guide_identity",
        "--json",
    )
    assert code == 0, err
    assert len([p for p in json.loads(out)["pairs"] if p["source"] == "predicted"]) == 3


@pytest.mark.parametrize("command", ["predict FOSB", "gimap", "suggest", "report"])
def test_every_model_command_passes_the_screen_options(run_cli, trained_bundle_dir, guide_identity, tmp_path, command):
    """The options reach the reader: a column or control label the screen lacks is named in the error, before any work."""
    base = (
        *command.split(),
        "--data",
        guide_identity,
        "--model",
        trained_bundle_dir,
        *(("--out", tmp_path / "plan.md") if command == "report" else ()),
    )
    _one_line_error(*run_cli(*base)[::2], "no perturbation column", "--condition-col")
    _one_line_error(*run_cli(*base, "--condition-col", "guide")[::2], "no column 'guide' in obs", "guide_identity")
    _one_line_error(
        *run_cli(*base, "--condition-col", "guide_identity", "--control", "NT")[::2], "no cells labelled 'NT'"
    )
    _one_line_error(*run_cli(*base, "--mudata-mod", "rna")[::2], "--mudata-mod rna")


def test_flags_show_no_value_type(run_cli):
    code, out, _ = run_cli("predict", "--help")
    assert code == 0 and "--json" in out and "--mudata-mod" in out and "<bool>" not in out
    code, out, _ = run_cli("--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out and "<bool>" not in out
