"""Writing files atomically: the target is replaced only when complete, never when it is not a file, with the umask's mode."""

import os
import stat

import pytest

from gearsplan.errors import GearsplanError
from gearsplan.model.bundle import save_bundle
from gearsplan.paths import atomic_path


def test_atomic_path_replaces_a_file_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_atomic_path_refuses_a_directory_and_a_path_under_a_file(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "notes").write_text("mine")
    with pytest.raises(GearsplanError, match="is a directory"), atomic_path(tmp_path / "results"):
        pass
    with pytest.raises(GearsplanError, match="notes is a file"), atomic_path(tmp_path / "notes" / "table.csv"):
        pass
    assert (tmp_path / "notes").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes", "results"]


@pytest.fixture
def umask():
    """A umask unlike the usual 022 (and unlike tempfile's private modes), restored afterwards."""
    previous = os.umask(0o027)
    yield 0o027
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("existing", [False, True])
def test_atomic_path_writes_files_with_the_umasks_mode(tmp_path, umask, existing):
    target = tmp_path / "table.csv"
    if existing:
        target.write_text("old")
        target.chmod(0o644)
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert mode(target) == 0o666 & ~umask


def test_a_saved_bundle_has_the_umasks_modes(trained_bundle, tmp_path, umask):
    path = save_bundle(trained_bundle, tmp_path / "bundle")
    assert mode(path) == 0o777 & ~umask
    assert {p.name: mode(p) for p in path.iterdir()} == {p.name: 0o666 & ~umask for p in path.iterdir()}
    assert any(p.suffix == ".safetensors" for p in path.iterdir())
