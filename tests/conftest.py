"""Shared fixtures: the real embedded Norman 2019 subset, read once per session."""

from __future__ import annotations

import sys
from dataclasses import replace

import anndata as ad
import pytest

from gearsplan.analysis.training_run import train_bundle
from gearsplan.data.de_genes import de_genes
from gearsplan.data.embedded import NORMAN2019
from gearsplan.data.pseudobulk import pseudobulk
from gearsplan.data.screen import read_screen
from gearsplan.interface.cli import main
from gearsplan.model.bundle import save_bundle
from gearsplan.model.train_config import TrainConfig

#: A model small enough for tests: three members (so that shares of members mean something), a few epochs.
QUICK = TrainConfig(ensemble=3, epochs=5, patience=5)


@pytest.fixture(scope="session")
def screen():
    return read_screen()


@pytest.fixture(scope="session")
def bulk(screen):
    return pseudobulk(screen)


@pytest.fixture(scope="session")
def de(screen, bulk):
    return de_genes(bulk)


@pytest.fixture(scope="session")
def trained_bundle(screen):
    """A quick bundle trained as ``gearsplan train`` does (simulation split, seed 1), with its metadata."""
    return train_bundle(screen, "simulation", 1, QUICK).bundle


@pytest.fixture(scope="session")
def trained_bundle_dir(trained_bundle, tmp_path_factory):
    return save_bundle(trained_bundle, tmp_path_factory.mktemp("models") / "quick")


@pytest.fixture(scope="session")
def one_member_bundle(trained_bundle):
    """The quick bundle cut to its first member: no disagreement to measure."""
    return replace(trained_bundle, model=replace(trained_bundle.model, members=trained_bundle.model.members[:1]))


@pytest.fixture(scope="session")
def one_member_bundle_dir(one_member_bundle, tmp_path_factory):
    return save_bundle(one_member_bundle, tmp_path_factory.mktemp("models") / "one_member")


@pytest.fixture
def norman() -> ad.AnnData:
    """A fresh copy of the raw embedded file, to modify into other inputs."""
    return ad.read_h5ad(NORMAN2019)


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run ``gearsplan ARGS`` in process; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["gearsplan", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
