"""Progress where stderr is not a terminal: a plain line at most, and at least, every 10 s of progress."""

import json
import re

import pytest

from gearsplan.interface import console


@pytest.fixture
def clock(monkeypatch):
    """The console's time source, moved by hand: ``clock[0]`` is the time in seconds."""
    now = [1000.0]
    monkeypatch.setattr(console, "monotonic", lambda: now[0])
    return now


def test_one_line_per_ten_seconds_the_first_and_the_last(clock, capsys):
    with console.progress_bar("evaluating on simulation splits") as progress:
        for done in range(1, 37):  # one call a second for 35 s
            progress(done, 36)
            clock[0] += 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "evaluating on simulation splits: 1/36 (0s)",
        "evaluating on simulation splits: 11/36 (10s)",
        "evaluating on simulation splits: 21/36 (20s)",
        "evaluating on simulation splits: 31/36 (30s)",
        "evaluating on simulation splits: 36/36 (36s)",
    ]


def test_calls_closer_than_ten_seconds_wait_for_the_interval(clock, capsys):
    with console.progress_bar("scoring candidates") as progress:
        for done in range(1, 1001):  # 3 s between calls: a line every fourth call, 12 s apart
            progress(done, 1000)
            clock[0] += 3
    lines = [
        f"scoring candidates: {done:,}/1,000 ({console.elapsed(12 * k)})" for k, done in enumerate(range(1, 1001, 4))
    ]
    assert capsys.readouterr().err.splitlines() == [*lines, "scoring candidates: 1,000/1,000 (50m00s)"]


def test_the_final_state_is_printed_once(clock, capsys):
    with console.progress_bar("holding out measured pairs") as progress:
        progress(1, 2)
        clock[0] += 10
        progress(2, 2)
    assert capsys.readouterr().err.splitlines() == [
        "holding out measured pairs: 1/2 (0s)",
        "holding out measured pairs: 2/2 (10s)",
    ]


def test_training_lines_name_member_epoch_and_loss(clock, capsys):
    with console.training_bar(2, 20) as progress:
        for member in range(2):
            for epoch in range(6):  # early stopping: 6 of the 20 epochs, 4 s each
                progress(member, epoch, 20, 1.0 / (epoch + 1), None if epoch < 5 else 0.25)
                clock[0] += 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "training: member 1/2 · epoch 1 · loss 1.0000 (0s)",
        "training: member 1/2 · epoch 4 · loss 0.2500 (12s)",
        "training: member 2/2 · epoch 1 · loss 1.0000 (24s)",
        "training: member 2/2 · epoch 4 · loss 0.2500 (36s)",
        "training: member 2/2 · epoch 6 · loss 0.1667 · validation top-20 MSE 0.2500 (48s)",
    ]


def test_nothing_is_printed_before_progress_is_reported(clock, capsys):
    with console.progress_bar("reading the screen"), console.training_bar(3, 10):
        clock[0] += 60
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.9, "59s"), (130, "2m10s"), (3600 + 5 * 60 + 7, "1h05m")])
def test_elapsed(seconds, text):
    assert console.elapsed(seconds) == text


def test_evaluate_in_a_log_prints_plain_progress_on_stderr_only(run_cli):
    code, out, err = run_cli("evaluate", "--split", "simulation", "--json")
    assert code == 0 and json.loads(out)["split"] == "simulation"
    assert re.search(r"^evaluating on simulation splits: 1/1 \(\d+s\)$", err, re.MULTILINE), err
