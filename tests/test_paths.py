"""Writing files atomically: the target is replaced only when complete, and never when it is not a file."""

import pytest

from gearsplan.errors import GearsplanError
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
