"""The GEARS model on the real embedded data: shapes, gradients, determinism, composition, bundles."""

import copy
import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch_geometric.nn import SGConv as PygSGConv

from gearsplan.data.embedded import reference_split
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split, read_split, with_validation
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.bundle import Bundle, load_bundle, save_bundle
from gearsplan.model.losses import ObservedSets, autofocus, direction, gaussian_uncertainty
from gearsplan.model.member_networks import graph_tensors
from gearsplan.model.network import RowwiseSGConv, SGConv, gcn_table
from gearsplan.model.training import TrainConfig, TrainingCells, fit_gears

QUICK = TrainConfig(ensemble=2, epochs=4, patience=4)


@pytest.fixture(scope="session")
def go():
    return build_go_graph()


@pytest.fixture(scope="session")
def data(screen, bulk, de):
    return PreparedScreen(screen, bulk, de)


@pytest.fixture(scope="session")
def split(screen):
    return read_split(reference_split(1), screen.perturbations)


@pytest.fixture(scope="session")
def model(data, split, go):
    return fit_gears(data, split, 1, QUICK, go)


def test_rowwise_sgconv_equals_pyg_sgconv(go):
    edges, weights = graph_tensors(go)
    torch.manual_seed(0)
    rowwise = RowwiseSGConv(8, gcn_table(edges, weights, go.n_genes))
    reference = PygSGConv(8, 8, K=1)
    reference.lin.load_state_dict(rowwise.linear.state_dict())
    x = torch.randn(go.n_genes, 8)
    rows = torch.tensor([0, go.index["FOSB"], go.index["KLF1"], go.n_genes - 1])
    assert torch.allclose(reference(x, edges, weights)[rows], rowwise(x, rows), atol=1e-5)


def test_sgconv_is_pygs_without_importing_it(go, model):
    """The same initial weights from a seed (and the same draws used), the same state keys, the same outputs, bit for
    bit: on the GO graph (with no self-loops) and on a member's co-expression graph (with its own)."""
    torch.manual_seed(3)
    ours, after_ours = SGConv(64), torch.rand(1)
    torch.manual_seed(3)
    theirs, after_theirs = PygSGConv(64, 64, K=1), torch.rand(1)
    assert torch.equal(after_ours, after_theirs) and ours.state_dict().keys() == theirs.state_dict().keys()
    assert all(torch.equal(ours.state_dict()[k], theirs.state_dict()[k]) for k in ours.state_dict())
    member = model.members[0]
    coexpression = (member.coexpression_edges, member.coexpression_weights)
    for edges, weights in (graph_tensors(go), coexpression):
        x = torch.randn(int(edges.max()) + 1, 64)
        assert torch.equal(ours(x, edges, weights.float()), theirs(x, edges, weights.float()))


def test_recover_equals_the_recovery_mlp_on_every_set_and_gene(model):
    member = model.members[0]
    torch.manual_seed(0)
    genes, sets = torch.randn(50, member.config.hidden), torch.randn(3, member.config.hidden)
    expected = member.recovery(genes.unsqueeze(0) + sets.unsqueeze(1))
    assert torch.allclose(member.recover(genes, sets), expected, atol=1e-5)


def test_output_shapes(model, screen):
    member = model.members[0]
    change, log_variance = member(model.networks.encode(["KLF1", "KLF1+MAP2K6", "CEBPB+FOSB+KLF1"]))
    assert change.shape == log_variance.shape == (3, len(screen.genes))
    prediction = model.predict(["FOSB", "CEBPB+FOSB"])
    assert prediction.mean.shape == prediction.sd.shape == prediction.log_variance.shape == (2, len(screen.genes))


def test_gradients_reach_every_parameter_group(model, data, split):
    member = model.members[0]
    member.train()
    member.zero_grad()
    cells = TrainingCells.from_split(data, split)
    keys, observed = next(cells.batches(np.random.default_rng(0), 4, 16, torch.device("cpu")))
    keys = [*keys, "IER5L"] if "IER5L" in split.train else keys  # the shared out-of-GO row
    change, log_variance = model.networks.change(member, keys)
    observed_sets = slice(len(observed.count))  # IER5L, when added, has no cells: only the direction term sees it
    loss = autofocus(change[observed_sets], observed) + direction(change, change.detach() + 0.1)
    loss = loss + gaussian_uncertainty(log_variance[observed_sets], change[observed_sets], observed)
    loss.backward()
    groups = {name.split(".")[0] for name, _ in member.named_parameters()}
    reached = {
        name.split(".")[0] for name, p in member.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0
    }
    assert groups == reached


def test_set_level_losses_equal_the_per_cell_losses():
    generator = torch.Generator().manual_seed(0)
    position = torch.tensor([0, 0, 0, 1, 1, 2])
    cells, predicted, log_variance = (
        torch.randn(6, 7, generator=generator),
        torch.randn(3, 7, generator=generator),
        torch.randn(3, 7, generator=generator),
    )
    observed = ObservedSets.of(position, cells)
    per_cell_error = (predicted[position] - cells).pow(2)
    assert torch.allclose(autofocus(predicted, observed, 0.0), per_cell_error.mean(), atol=1e-6)
    per_cell_likelihood = (log_variance[position] + per_cell_error * torch.exp(-log_variance[position])).mean()
    assert torch.allclose(gaussian_uncertainty(log_variance, predicted, observed), per_cell_likelihood, atol=1e-6)
    assert torch.allclose(autofocus(predicted, observed, 2.0), (predicted[position] - cells).abs().pow(4).mean())


def test_same_seed_same_weights(data, split, go):
    config = replace(QUICK, ensemble=1, epochs=2)
    first = fit_gears(data, split, 3, config, go).members[0].state_dict()
    second = fit_gears(data, split, 3, config, go).members[0].state_dict()
    other = fit_gears(data, split, 4, config, go).members[0].state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_lent_validation_perturbations_are_scored_unseen_then_composed_as_measured(data, split, go, bulk):
    """A split without validation lends training perturbations to early stopping; while they
    score the members they must be unmeasured, or a lent single scores zero error every epoch."""
    no_validation = Split("no validation", split.train, (), split.test)
    seed = next(s for s in range(1, 100) if all("+" not in k for k in with_validation(no_validation, s).val))
    lent = with_validation(no_validation, seed).val
    scores = []
    model = fit_gears(
        data, no_validation, seed, replace(QUICK, ensemble=1, epochs=2), go, lambda *report: scores.append(report[-1])
    )
    assert len(scores) == 2 and min(scores) > 1e-4
    assert set(lent) <= set(model.singles)
    assert np.allclose(model.predict(list(lent)).mean, bulk.delta[bulk.rows(list(lent))])


@pytest.fixture(scope="module")
def additive_model(data, split, go):
    """One member whose pairs are the sums of their genes' outputs (no learned interaction)."""
    return fit_gears(data, split, 1, replace(QUICK, ensemble=1, interaction_weight=0.0), go)


def test_measured_singles_and_additive_pairs(additive_model, split, bulk):
    model = additive_model
    single = next(k for k in split.train if "+" not in k)
    assert np.allclose(model.predict([single]).mean[0], bulk.delta[bulk.rows([single])[0]])
    measured = sorted(split.train_singles())
    pair = f"{measured[0]}+{measured[1]}"
    expected = bulk.delta[bulk.rows([measured[0]])[0]] + bulk.delta[bulk.rows([measured[1]])[0]]
    assert np.allclose(model.predict([pair]).mean[0], expected, atol=1e-5)


def test_with_nothing_learned_a_set_is_the_sum_of_its_genes(model, split):
    """Each gene of a set brings the mean change, so a member with no output adds no interaction."""
    silent = copy.deepcopy(model.members[0])
    with torch.no_grad():
        silent.gene_weight_2.zero_()
        silent.gene_bias_2.zero_()
    untrained = replace(model, members=[silent])
    assert 0 < untrained.interaction_weight < 1
    measured = sorted(split.train_singles())
    unmeasured = sorted(k for k in split.test if "+" not in k)[:2]
    keys = ["+".join(sorted(pair)) for pair in ((measured[0], measured[1]), (measured[0], unmeasured[0]), unmeasured)]
    genes = sorted({g for k in keys for g in k.split("+")})
    singles = dict(zip(genes, untrained.predict(genes, priors=False).mean))
    sets = untrained.predict(keys, priors=False).mean
    for key, change in zip(keys, sets):
        np.testing.assert_allclose(change, sum(singles[g] for g in key.split("+")), atol=1e-5, err_msg=key)
    np.testing.assert_allclose(sets[0], untrained.additive(keys[:1])[0], atol=1e-5)


def test_sets_with_unmeasured_genes_build_on_their_base_pulled_toward_alike_measured_perturbations(model, split):
    unmeasured = next(k for k in split.test if "+" not in k)
    both = next(k for k in split.test if "+" in k and not set(k.split("+")) & set(model.singles))
    measured = sorted(split.train_singles())
    one = f"{measured[0]}+{unmeasured}"
    keys = [unmeasured, both, one, f"{measured[0]}+{measured[1]}", "IER5L", f"IER5L+{measured[0]}"]
    predicted = model.predict(keys).mean
    parts = model.predict(keys, priors=False).mean
    # a single never measured is then shrunk as its knowledge says (test_effect_size.py)
    shrinkage = model.effect_sizes.shrinkage([unmeasured, "IER5L"])
    predicted[[0, 4]] /= shrinkage[:, None]
    np.testing.assert_allclose(predicted[:3] - parts[:3], model.prior.prior_shifts(keys[:3]), atol=1e-6)
    np.testing.assert_allclose(predicted[3], parts[3], atol=1e-6)
    # IER5L has no GO terms, so nothing measured is like it: it keeps its base exactly
    np.testing.assert_allclose(predicted[4] - parts[4], model.consensus_change - model.mean_change, atol=1e-6)
    np.testing.assert_allclose(predicted[5] - parts[5], model.median_change - model.mean_change, atol=1e-6)
    network, _ = model.network_predictions([unmeasured, both])
    np.testing.assert_allclose(parts[:2], network.mean(0), atol=1e-6)


def test_an_unmeasured_gene_is_pulled_toward_the_measured_pair_that_holds_it(model, split):
    pair = next(k for k in split.train if "+" in k)
    gene = pair.split("+")[0]
    unmeasured = replace(model, measured={k: v for k, v in model.measured.items() if k != gene})
    pair_change = model.measured[pair]
    shift = unmeasured.prior.prior_shifts([gene])[0]
    base = model.consensus_change - model.mean_change
    assert np.corrcoef(shift - base, pair_change - model.consensus_change)[0, 1] > 0.5
    assert (
        np.corrcoef(model.mean_change + shift, pair_change)[0, 1]
        > np.corrcoef(model.consensus_change, pair_change)[0, 1]
    )


def test_the_spread_of_a_base_is_how_far_alike_and_same_size_measured_perturbations_lie_from_it(model, split):
    pair = next(k for k in split.train if "+" in k)
    gene = pair.split("+")[0]
    unmeasured = replace(model, measured={k: v for k, v in model.measured.items() if k != gene})
    measured = sorted(split.train_singles())
    keys = [gene, "IER5L", "IER5L+OR2A1", f"{measured[0]}+IER5L", measured[0], f"{measured[0]}+{measured[1]}"]
    variance = unmeasured.prior.base_variance(keys)
    changes = np.stack(list(unmeasured.measured.values()))
    bases, shares, pulled = unmeasured.prior.pulled_bases(keys[:1])
    rest = 1 - shares.sum()
    mixture = (
        rest * ((changes[[k.count("+") == 0 for k in unmeasured.measured]] - bases) ** 2).mean(0)
        + rest * (bases - pulled) ** 2
    )
    np.testing.assert_allclose(
        variance[0], mixture[0] + (shares[0][:, None] * (changes - pulled) ** 2).sum(0), atol=1e-9
    )
    np.testing.assert_allclose(
        variance[1],
        ((changes[[k.count("+") == 0 for k in unmeasured.measured]] - unmeasured.consensus_change) ** 2).mean(0),
    )
    pairs = np.stack([v for k, v in unmeasured.measured.items() if "+" in k])
    # nothing alike (IER5L has no GO terms, OR2A1 only broad ones): the base's own spread among perturbations of the set's size
    np.testing.assert_allclose(variance[2], ((pairs - unmeasured.median_change) ** 2).mean(0), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(variance[3], ((pairs - unmeasured.median_change) ** 2).mean(0))
    assert not variance[4:].any()  # every gene measured: nothing from the base
    prediction = unmeasured.predict(keys)
    np.testing.assert_allclose(prediction.base_sd, np.sqrt(variance))
    assert (prediction.total_sd >= prediction.sd).all() and not unmeasured.predict(keys, priors=False).base_sd.any()


def test_a_set_is_as_like_a_measured_perturbation_as_its_unmeasured_genes_together(model, split):
    a, b = sorted(k for k in split.test if "+" not in k)[:2]
    measured = sorted(split.train_singles())[0]
    likeness = model.prior.likeness([a, b, f"{a}+{b}", f"{a}+{measured}"])
    np.testing.assert_allclose(likeness[2], likeness[0] + likeness[1])
    np.testing.assert_allclose(likeness[3], likeness[0])  # the measured gene adds nothing
    assert (likeness >= 0).all() and likeness.shape == (4, len(model.measured))


def test_gi_parts_add_up_to_their_pair_when_nothing_is_learned_about_the_interaction(additive_model, split):
    model = additive_model
    measured = sorted(split.train_singles())[0]
    unmeasured = sorted(k for k in split.test if "+" not in k)[:2]
    keys = [*unmeasured, measured, f"{unmeasured[0]}+{unmeasured[1]}", f"{measured}+{unmeasured[0]}"]
    parts = model.predict(keys, priors=False).mean
    np.testing.assert_allclose(parts[3], parts[0] + parts[1], atol=1e-5)
    np.testing.assert_allclose(parts[4], parts[2] + parts[0], atol=1e-5)


def test_unseen_genes_and_three_gene_sets_go_through_the_go_graph(model, split, go):
    trained = {g for k in split.train for g in k.split("+")}
    perturbed = trained | {g for k in split.test + split.val for g in k.split("+")}
    linked = next(g for g in go.genes if g not in perturbed and any(n in trained for n, _ in go.neighbours_of(g)))
    isolated = [g for g in go.genes if g not in perturbed and not any(n in trained for n, _ in go.neighbours_of(g))][:2]
    prediction = model.predict([linked, *isolated, "CEBPB+FOSB+KLF1"], priors=False)  # the network alone
    assert np.isfinite(prediction.mean).all()
    # nothing trained near them, yet their knowledge differs: the learned knowledge map tells them apart
    assert not np.allclose(prediction.mean[1], prediction.mean[2])
    assert not np.allclose(prediction.mean[0], prediction.mean[1])  # a trained GO neighbour changes the answer
    assert (prediction.sd > 0).any()


def test_bundle_round_trip_gives_identical_predictions(model, tmp_path, go):
    keys = ["FOSB", "CEBPB+FOSB", "KLF1+MAP2K6"]
    save_bundle(Bundle(model, QUICK, {"seed": 1}), tmp_path / "bundle")
    loaded = load_bundle(tmp_path / "bundle", go)
    assert np.array_equal(loaded.model.predict(keys).mean, model.predict(keys).mean)
    assert loaded.training == QUICK and loaded.metadata == {"seed": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # nothing left half-written


def test_save_replaces_an_existing_bundle(model, tmp_path, go):
    save_bundle(Bundle(model, QUICK, {"version": 1}), tmp_path / "bundle")
    save_bundle(Bundle(model, QUICK, {"version": 2}), tmp_path / "bundle")
    assert load_bundle(tmp_path / "bundle", go).metadata == {"version": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_save_into_an_empty_directory_and_over_a_damaged_bundle(model, tmp_path, go):
    (tmp_path / "bundle").mkdir()
    path = save_bundle(Bundle(model, QUICK, {"version": 1}), tmp_path / "bundle")
    (path / "checksums.json").unlink()
    save_bundle(Bundle(model, QUICK, {"version": 2}), path)
    assert load_bundle(path, go).metadata == {"version": 2}


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_save_never_replaces_what_is_not_a_bundle(model, tmp_path, kind):
    target = tmp_path / "mine"
    if kind == "file":
        target.write_text("my notes")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("my notes")
    with pytest.raises(GearsplanError, match="is a file|not part of a model bundle"):
        save_bundle(Bundle(model, QUICK, {}), target)
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # nothing staged or moved aside
    assert (target if kind == "file" else target / "notes.txt").read_text() == "my notes"


@pytest.mark.parametrize("damage", ["flip", "truncate", "remove", "format"])
def test_damaged_bundle_fails_cleanly(model, tmp_path, go, damage):
    path = save_bundle(Bundle(model, QUICK, {}), tmp_path / "bundle")
    weights = path / "member_0.safetensors"
    if damage == "flip":
        raw = bytearray(weights.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        weights.write_bytes(bytes(raw))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "remove":
        (path / "checksums.json").unlink()
    else:
        config = json.loads((path / "config.json").read_text()) | {"format_version": 99}
        (path / "config.json").write_text(json.dumps(config))
        sums = json.loads((path / "checksums.json").read_text())
        sums["config.json"] = hashlib.sha256((path / "config.json").read_bytes()).hexdigest()
        (path / "checksums.json").write_text(json.dumps(sums))
    with pytest.raises(GearsplanError) as error:
        load_bundle(path, go)
    assert error.value.hint.startswith("train a new one")


def test_cli_reports_a_corrupt_bundle_in_one_line(model, tmp_path, run_cli):
    path = save_bundle(Bundle(model, QUICK, {}), tmp_path / "bundle")
    (path / "member_1.safetensors").write_bytes(b"not weights")
    code, _, err = run_cli("evaluate", "--model", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "corrupt" in err and "Traceback" not in err
