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
    assert (tmp_path / "notes").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "notes",
        "results",
    ]


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


def test_atomic_path_writes_through_a_link_and_keeps_it(tmp_path):
    """predict --csv link.csv replaced the link with a file, and the file it named kept the old text."""
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text("old")
    link.symlink_to(real)
    with atomic_path(link) as temporary:
        temporary.write_text("new")
    assert (
        link.is_symlink()
        and real.read_text() == "new"
        and sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]
    )


def test_atomic_path_refuses_a_pipe_and_a_link_loop(tmp_path):
    """A rename replaced a FIFO (and, as root, /dev/full) with a regular file instead of writing to it."""
    pipe, loop = tmp_path / "pipe.csv", tmp_path / "loop.csv"
    os.mkfifo(pipe)
    loop.symlink_to(loop)
    with pytest.raises(GearsplanError, match="is not a regular file"), atomic_path(pipe):
        pass
    with pytest.raises(GearsplanError, match="leads back to itself"), atomic_path(loop):
        pass
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and loop.is_symlink()


def test_output_options_refuse_a_pipe_in_one_line(tmp_path, run_cli, trained_bundle_dir):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for arguments in (("predict", "KLF1", "--model", trained_bundle_dir, "--csv", pipe), ("replay", "--out", pipe)):
        code, out, err = run_cli(*arguments)
        assert code == 2 and "is not a regular file" in err and len(err.strip().splitlines()) == 1 and out == ""
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


def test_a_bundle_saved_through_a_link_keeps_the_link(tmp_path, trained_bundle):
    real, link = tmp_path / "real_model", tmp_path / "model"
    real.mkdir()
    link.symlink_to(real)
    save_bundle(trained_bundle, link)
    assert link.is_symlink() and (real / "config.json").is_file()
