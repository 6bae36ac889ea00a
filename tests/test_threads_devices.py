"""--threads and --device: the same results on any number of CPU threads, a clear line for a device that is not there."""

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from gearsplan.data.embedded import reference_split
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import read_split
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.device import resolve_device
from gearsplan.model.threads import fast_cpu, use_threads
from gearsplan.model.training import TrainConfig, fit_gears


@pytest.fixture(autouse=True)
def restore_threads():
    """Each test here sets torch's threads; the rest of the session runs as before."""
    threads = torch.get_num_threads()
    yield
    use_threads(1)
    torch.set_num_threads(threads)


def _member_digests(bundle) -> list[str]:
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(bundle.glob("member_*.safetensors"))]


def test_train_and_evaluate_give_the_same_results_on_one_and_two_threads(run_cli, tmp_path):
    digests, evaluations = {}, {}
    for threads in (1, 2):
        bundle = tmp_path / f"threads{threads}"
        args = ("--ensemble", "1", "--epochs", "3", "--holdout", "simulation", "--device", "cpu")
        code, out, err = run_cli("train", *args, "--threads", threads, "--out", bundle, "--json")
        assert code == 0, err
        digests[threads] = _member_digests(bundle)
        assert "device" not in json.loads((bundle / "config.json").read_text())["training"]  # where, not how
        trained = json.loads(out)["evaluation"]
        code, out, err = run_cli(
            "evaluate", "--model", bundle, "--split", "simulation", "--threads", threads, "--device", "cpu", "--json"
        )
        assert code == 0, err
        evaluations[threads] = (trained, json.loads(out))
    assert len(digests[1]) == 1 and digests[1] == digests[2]  # the weights, bit for bit
    assert evaluations[1] == evaluations[2]  # every score, gearsplan's and the baselines'


def test_the_model_runs_on_the_threads_asked_for_each_flushing_denormals_and_on_one_by_default():
    with fast_cpu():
        assert torch.get_num_threads() == 1
    torch.set_flush_denormal(False)  # torch's two threads start unflushed, as after another library's work
    torch.set_num_threads(2)
    tiny = torch.full((1 << 22,), 1e-39)  # denormal floats
    use_threads(2)
    with fast_cpu():
        assert torch.get_num_threads() == 2
        # every thread flushes denormals: a thread that did not would keep its part of these nonzero
        assert torch.count_nonzero(tiny * 1.5) == 0


def test_an_unknown_device_and_too_few_threads_are_refused_in_one_line(run_cli, tmp_path):
    for args, expected in (
        (("--device", "tpu"), "'tpu' is not one of 'auto', 'cpu', 'cuda'"),
        (("--threads", "0"), "--threads"),
    ):
        code, out, err = run_cli("train", *args, "--out", tmp_path / "model")
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "model").exists()
    with pytest.raises(GearsplanError, match="unknown device"):
        resolve_device("gpu")
    with pytest.raises(GearsplanError, match="at least 1"):
        use_threads(0)


def test_auto_is_cuda_where_torch_sees_a_gpu():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", ["train", "evaluate", "replay", "suggest"])
def test_cuda_without_a_gpu_fails_in_one_line_before_any_work(run_cli, tmp_path, command):
    code, out, err = run_cli(
        command, "--device", "cuda", *(("--out", tmp_path / "model") if command == "train" else ())
    )
    assert code == 2 and "torch sees no CUDA GPU" in err and "--device cpu" in err
    assert len(err.strip().splitlines()) == 1 and not out
    assert not (tmp_path / "model").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_trained_on_the_gpu_predicts_as_the_cpu_one_within_float_tolerance(screen, bulk, de):
    data = PreparedScreen(screen, bulk, de)
    split = read_split(reference_split(1), screen.perturbations)
    config, go = TrainConfig(ensemble=1, epochs=3, patience=3), build_go_graph()
    on_cpu = fit_gears(data, split, 1, replace(config, device="cpu"), go)
    on_gpu = fit_gears(data, split, 1, replace(config, device="cuda"), go)
    assert all(p.device.type == "cpu" for p in on_gpu.members[0].parameters())  # it predicts on the CPU
    test = list(split.test)
    np.testing.assert_allclose(on_gpu.predict(test).mean, on_cpu.predict(test).mean, atol=1e-3, rtol=1e-3)
