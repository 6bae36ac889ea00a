"""The model bundle: a directory of JSON and safetensors files, checksummed, written atomically, never unpickled."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_arrays
from safetensors.numpy import save as arrays_bytes
from safetensors.torch import load_file as load_weights
from safetensors.torch import save as weights_bytes

from gearsplan import __version__
from gearsplan.data.de_genes import DEGenes
from gearsplan.data.modality import Modality
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.ensemble import GearsModel
from gearsplan.model.model_config import ModelConfig
from gearsplan.model.network import NetworkConfig
from gearsplan.model.train_config import TrainConfig, hyperparameters
from gearsplan.paths import check_replaceable, temporary_beside

FORMAT = "gearsplan-bundle"
FORMAT_VERSION = 12
CHECKSUMS = "checksums.json"
#: The names of a bundle's files.
BUNDLE_FILES = re.compile(r"(config|genes|metadata|checksums)\.json|arrays\.safetensors|member_\d+\.safetensors")


class OutdatedBundle(GearsplanError):
    """A bundle in another version of the format than this gearsplan reads."""


@dataclass
class Bundle:
    """A trained model with how it was made.

    Attributes
    ----------
    model
        The ensemble, ready to predict.
    training
        The hyperparameters it was trained with.
    metadata
        JSON-serialisable facts: data file and hash, split, seed, metrics, calibration, timings, and
        the screen's ``data info`` summary (``screen``).
    source
        The directory it was loaded from, if any.
    bulk
        The screen it was trained on, as the commands that use a model need it: the control mean, and every
        measured perturbation's mean, cell count and sampling noise (None: the bundle carries no screen).
    de
        The top DE genes of each perturbation of ``bulk``.
    """

    model: GearsModel
    training: TrainConfig
    metadata: dict = field(default_factory=dict)
    source: Path | None = None
    bulk: Pseudobulk | None = None
    de: DEGenes | None = None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_sha256(path: Path) -> str:
    """SHA-256 of a screen: a file's, or for a directory (a zarr store) its files', each with its relative path, in sorted order."""
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(f for f in path.rglob("*") if f.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + bytes.fromhex(file_sha256(file)))
    return digest.hexdigest()


def save_bundle(bundle: Bundle, path: str | Path) -> Path:
    """Write ``bundle`` to the directory ``path``: into a temporary sibling, then renamed into place.

    An existing bundle at ``path`` is replaced only once the new one is complete.

    Raises
    ------
    GearsplanError
        As :func:`check_bundle_target` and :func:`~gearsplan.paths.temporary_beside`.
    """
    path = check_bundle_target(path)
    staging = temporary_beside(path, "choose a writable directory for --out", directory=True)
    try:
        _write_files(bundle, staging)
        _replace_directory(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def check_bundle_target(path: str | Path) -> Path:
    """``path``, if a bundle may be written there: nothing yet, an empty directory, or a bundle (perhaps damaged) to replace.

    Raises
    ------
    GearsplanError
        If ``path`` is a file, or a directory holding anything but a bundle's files
        (:func:`~gearsplan.paths.check_replaceable`).
    """
    return check_replaceable(
        path, BUNDLE_FILES.fullmatch, "a model bundle", "give --out a new directory, or a model bundle to replace"
    )


def _write_files(bundle: Bundle, directory: Path) -> None:
    model = bundle.model
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "network": asdict(model.network),
        "training": hyperparameters(bundle.training),
        "members": len(model.members),
        "modality": asdict(model.modality),
        "spread_scale": model.spread_scale,
        "pair_law": model.pair_law,
        "model": asdict(model.config),
        "versions": {name: version(name) for name in ("torch", "numpy", "anndata", "scanpy")}
        | {"gearsplan": __version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    measured = list(model.measured)
    screen = None if bundle.bulk is None else list(bundle.bulk.keys)
    _write_json(directory / "config.json", config)
    _write_json(
        directory / "genes.json",
        {
            "genes": list(model.genes),
            "measured": measured,
            "noisy_singles": list(model.single_noise),
            "go_graph_sha256": model.go.content_hash(),
            "screen": screen,
        },
    )
    _write_json(directory / "metadata.json", bundle.metadata)
    graph = model.coexpression
    # Serialised here and written like the JSON files: safetensors' own save_file creates its
    # files private (0600), whatever the umask, so a shared bundle could not be read by others.
    arrays = {
        "mean_change": model.mean_change.astype(np.float64),
        "consensus_change": model.consensus_change.astype(np.float64),
        "median_change": model.median_change.astype(np.float64),
        "measured": np.stack(list(model.measured.values())),
        "single_noise": np.stack(list(model.single_noise.values()))
        if model.single_noise
        else np.zeros((0, len(model.genes))),
        "coexpression_targets": graph.targets.copy(),
        "coexpression_neighbours": graph.neighbours.copy(),
        "coexpression_weights": graph.weights.copy(),
    }
    if bundle.bulk is not None:
        arrays |= _screen_arrays(bundle.bulk, bundle.de)
    (directory / "arrays.safetensors").write_bytes(arrays_bytes(arrays))
    for index, member in enumerate(model.members):
        (directory / f"member_{index}.safetensors").write_bytes(
            weights_bytes({k: v.contiguous() for k, v in member.state_dict().items()})
        )
    files = sorted(p.name for p in directory.iterdir())
    _write_json(directory / CHECKSUMS, {name: file_sha256(directory / name) for name in files})


def _screen_arrays(bulk: Pseudobulk, de: DEGenes) -> dict[str, np.ndarray]:
    """The arrays of the carried screen; a perturbation's DE genes padded with -1 to the longest list (the non-dropout ones may be fewer)."""

    def padded(lists: list[np.ndarray]) -> np.ndarray:
        table = np.full((len(lists), max(map(len, lists), default=0)), -1, dtype=np.int64)
        for row, genes in zip(table, lists):
            row[: len(genes)] = genes
        return table

    return {
        "screen_means": bulk.means.astype(np.float64),
        "screen_control": bulk.control.astype(np.float64),
        "screen_n_cells": bulk.n_cells.astype(np.int64),
        "screen_noise": bulk.noise.astype(np.float64),
        "screen_top_de": padded([de.top[k] for k in bulk.keys]),
        "screen_top_de_non_dropout": padded([de.non_dropout[k] for k in bulk.keys]),
    }


def _carried_screen(
    keys: list[str] | None, genes: tuple[str, ...], arrays: dict[str, np.ndarray]
) -> tuple[Pseudobulk | None, DEGenes | None]:
    """The screen a bundle carries (:func:`_screen_arrays`), or two Nones where it carries none."""
    if keys is None:
        return None, None
    bulk = Pseudobulk(
        tuple(keys),
        genes,
        arrays["screen_means"],
        arrays["screen_control"],
        arrays["screen_n_cells"],
        arrays["screen_noise"],
    )
    unpadded = lambda table: {k: row[row >= 0] for k, row in zip(keys, table, strict=True)}  # noqa: E731
    return bulk, DEGenes(unpadded(arrays["screen_top_de"]), unpadded(arrays["screen_top_de_non_dropout"]))


def _write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, allow_nan=False))


def _replace_directory(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``; an old ``target`` is moved aside first and removed after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_bundle(path: str | Path, go: GeneGraph | None = None) -> Bundle:
    """Read and verify a bundle written by :func:`save_bundle`.

    Raises
    ------
    GearsplanError
        If the directory is missing, a file is missing or fails its checksum, or the weights do
        not fit the network; :class:`OutdatedBundle` if the format is another version.
    """
    path = Path(path)
    hint = f"train a new one with: gearsplan train --out {path}"
    if path.is_file():
        raise GearsplanError(
            f"{path} is a file, not a model bundle", "give --model the directory gearsplan train wrote"
        )
    if not (path / CHECKSUMS).is_file():
        try:
            check_bundle_target(path)
        except (
            GearsplanError
        ):  # a folder of other files: train would refuse it, so the hint must not send the user there
            hint = "give --model the directory gearsplan train wrote"
        raise GearsplanError(f"no model bundle at {path}", hint)
    checksums = _read_json(path / CHECKSUMS, hint)
    for name, digest in checksums.items():
        if not (path / name).is_file() or file_sha256(path / name) != digest:
            raise GearsplanError(
                f"model bundle {path} is corrupt: {name} is missing or does not match its checksum", hint
            )
    config = _read_json(path / "config.json", hint)
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise OutdatedBundle(
            f"model bundle {path} has format {config.get('format')} {config.get('format_version')}; this gearsplan reads {FORMAT} {FORMAT_VERSION}",
            hint,
        )
    try:
        return _read_bundle(path, config, go)
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as error:
        raise GearsplanError(
            f"model bundle {path} does not fit this gearsplan ({type(error).__name__}: {str(error).splitlines()[0][:120]})",
            hint,
        ) from None


def _read_bundle(path: Path, config: dict, go: GeneGraph | None) -> Bundle:
    genes = _read_json(path / "genes.json", "")
    go = go if go is not None else build_go_graph()
    if go.content_hash() != genes["go_graph_sha256"]:
        raise GearsplanError(
            f"model bundle {path} was trained on another GO graph than the one this gearsplan ships",
            f"retrain it: gearsplan train --out {path}",
        )
    arrays = load_arrays(str(path / "arrays.safetensors"))
    measured = tuple(genes["genes"])
    coexpression = GeneGraph(
        measured, arrays["coexpression_targets"], arrays["coexpression_neighbours"], arrays["coexpression_weights"]
    )
    training = TrainConfig(**config["training"])
    model = GearsModel(
        NetworkConfig(**config["network"]),
        measured,
        go,
        coexpression,
        arrays["mean_change"],
        arrays["consensus_change"],
        arrays["median_change"],
        dict(zip(genes["measured"], arrays["measured"], strict=True)),
        training.interaction_weight,
        training.baseline_weight,
        modality=Modality(**config["modality"]),
        spread_scale=float(config["spread_scale"]),
        single_noise=dict(zip(genes["noisy_singles"], arrays["single_noise"], strict=True)),
        pair_law=float(config["pair_law"]),
        config=ModelConfig.from_json(config["model"]),
    )
    for index in range(config["members"]):
        member = model.new_member()
        member.load_state_dict(load_weights(str(path / f"member_{index}.safetensors")), strict=True, assign=True)
        member.eval()
        model.members.append(member)
    bulk, de = _carried_screen(genes["screen"], measured, arrays)
    return Bundle(model, training, _read_json(path / "metadata.json", ""), path, bulk, de)


def _read_json(path: Path, hint: str) -> dict:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise GearsplanError(f"cannot read {path} ({type(error).__name__})", hint or "retrain the model") from None
    if not isinstance(document, dict):
        raise GearsplanError(f"{path} is not a JSON object", hint or "retrain the model")
    return document
