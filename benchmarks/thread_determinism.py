"""Which torch operations of gearsplan's training and prediction give different results on one thread and on two.

``python benchmarks/thread_determinism.py [--genes 5000] [--torch-defaults]`` runs gearsplan on two
threads (``use_threads(2)``) and every aten operation a second time on copies of its inputs on one
thread, and counts those whose results differ in any bit, by operation and input shapes (an
operation gearsplan itself runs on one thread is run on one both times): a training run on the embedded Norman screen (one
member, two epochs, reference split 1) with its predictions, then one training step of a network
of ``--genes`` genes on random changes (8 sets of 32 cells: the loss's sums then run over more
elements than torch's parallel grain of 32,768). With gearsplan's settings the list is empty;
``--torch-defaults`` leaves MKL in its default mode (``model/threads.reproducible_blas``) and uses
torch's fused ``nn.LayerNorm`` (``model/network.LayerNorm``), which shows what those two fix.
"""

from __future__ import annotations

import argparse
import collections
import os

TWO = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=5000, help="genes of the network of the second part")
    parser.add_argument("--torch-defaults", action="store_true", help="without gearsplan's two settings")
    args = parser.parse_args()
    if args.torch_defaults:
        os.environ["MKL_CBWR"] = ""  # read as the model layer is imported: MKL's default mode stays
    # imported here, after MKL_CBWR is settled
    import numpy as np
    import torch
    from torch import nn
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten, tree_map

    from gearsplan.data.embedded import reference_split
    from gearsplan.data.prepared import prepare
    from gearsplan.data.screen import read_screen
    from gearsplan.data.splits import read_split
    from gearsplan.knowledge.go_graph import build_go_graph
    from gearsplan.model import network
    from gearsplan.model.losses import ObservedSets, autofocus, gaussian_uncertainty
    from gearsplan.model.member_networks import graph_tensors
    from gearsplan.model.threads import use_threads
    from gearsplan.model.training import TrainConfig, fit_gears

    if args.torch_defaults:
        network.LayerNorm = nn.LayerNorm
    differing: collections.Counter = collections.Counter()
    set_threads, requested = torch.set_num_threads, [TWO]

    def record(count: int) -> None:
        """torch.set_num_threads, remembering the count gearsplan asked for."""
        requested[0] = count
        set_threads(count)

    torch.set_num_threads = record
    use_threads(TWO)

    class OneAndTwoThreads(TorchDispatchMode):
        """Runs each operation on the threads asked for, then on copies of its inputs on one, and compares the results."""

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = str(func)
            # no arithmetic (new memory, random draws, views and storage swaps, as in deepcopy's): nothing to compare
            if any(word in name for word in ("empty", "rand", "normal", "uniform", "detach", "alias", "set_")):
                return func(*args, **kwargs)
            copy = lambda x: x.detach().clone() if isinstance(x, torch.Tensor) else x  # noqa: E731
            copied_args, copied_kwargs = tree_map(copy, args), tree_map(copy, kwargs)
            set_threads(1)
            on_one = func(*copied_args, **copied_kwargs)
            set_threads(requested[0])
            on_many = func(*args, **kwargs)
            pairs = zip(tree_flatten(on_many)[0], tree_flatten(on_one)[0])
            if any(isinstance(a, torch.Tensor) and a.is_floating_point() and not torch.equal(a, b) for a, b in pairs):
                shapes = tuple(tuple(t.shape) for t in tree_flatten(args)[0] if isinstance(t, torch.Tensor))
                differing[(name, shapes)] += 1
            return on_many

    screen = read_screen()
    data, go = prepare(screen), build_go_graph()
    split = read_split(reference_split(1), screen.perturbations)
    with OneAndTwoThreads():
        model = fit_gears(data, split, 1, TrainConfig(ensemble=1, epochs=2, patience=2), go)
        model.predict(list(split.test))
    report("embedded screen: training and prediction", differing)

    differing.clear()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    edges = torch.from_numpy(
        np.stack([np.repeat(np.arange(args.genes), 5), rng.integers(0, args.genes, 5 * args.genes)])
    )
    weights = torch.from_numpy(rng.uniform(0.4, 1.0, edges.shape[1]).astype(np.float32))
    member = network.GearsNetwork(
        network.NetworkConfig(args.genes, go.n_genes),
        (edges, weights),
        network.gcn_table(*graph_tensors(go), go.n_genes),
    )
    optimiser = torch.optim.Adam(member.parameters(), lr=1e-3, fused=True)
    sets = torch.from_numpy(rng.integers(0, go.n_genes, (8, 2)))
    position = torch.arange(8).repeat_interleave(32)
    observed = ObservedSets.of(position, torch.from_numpy(rng.normal(size=(256, args.genes)).astype(np.float32)))
    with OneAndTwoThreads():
        change, log_variance = member(sets)
        loss = autofocus(change, observed, 0.0) + 0.1 * gaussian_uncertainty(log_variance, change, observed)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    report(f"one training step at {args.genes:,} genes", differing)


def report(title: str, differing: collections.Counter) -> None:
    """Print the operations whose results differed, most frequent first."""
    print(f"{title}: {len(differing)} operation(s) x input shapes differ between 1 and 2 threads")
    for (name, shapes), count in differing.most_common():
        print(f"  {count:4d}  {name}  {shapes}")


if __name__ == "__main__":
    main()
