import json

import pytest

from gearsplan.data.conditions import genes_of
from gearsplan.data.embedded import reference_split
from gearsplan.data.splits import (
    check_holdout,
    loo_splits,
    read_split,
    resolve_split,
    resolve_splits,
    simulation_split,
    with_validation,
)
from gearsplan.errors import GearsplanError


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_simulation_split_is_a_partition_with_right_strata(screen, seed):
    split = simulation_split(screen.perturbations, seed)
    train, val, test = map(set, (split.train, split.val, split.test))
    assert not (train & test) and not (train & val) and not (val & test)
    assert train | val | test == set(screen.perturbations)
    singles = split.train_singles()
    for key in test:
        genes = genes_of(key)
        unseen = sum(g not in singles for g in genes)
        assert split.stratum(key) == ("unseen_single" if len(genes) == 1 else f"pair_{unseen}_unseen")
        if len(genes) == 1:
            assert genes[0] not in singles
    assert all(len(genes_of(k)) == 2 for k in train if k not in singles)


def test_simulation_split_is_seeded(screen):
    assert simulation_split(screen.perturbations, 4) == simulation_split(screen.perturbations, 4)
    assert simulation_split(screen.perturbations, 4) != simulation_split(screen.perturbations, 5)


def test_simulation_keeps_about_three_quarters_of_genes(screen):
    split = simulation_split(screen.perturbations, 1)
    genes = {g for k in screen.perturbations for g in genes_of(k)}
    test_singles = {genes_of(k)[0] for k in split.test if "+" not in k}
    assert len(test_singles) <= len(genes) - int(0.75 * len(genes))


def test_loo_holds_out_each_perturbation_once(screen):
    splits = loo_splits(screen.perturbations)
    assert sorted(s.test[0] for s in splits) == screen.perturbations
    assert all(s.test[0] not in s.train and len(s.train) == 32 for s in splits)
    strata = [s.stratum(s.test[0]) for s in splits]
    assert strata.count("unseen_single") == 18
    assert (strata.count("pair_0_unseen"), strata.count("pair_1_unseen"), strata.count("pair_2_unseen")) == (5, 3, 7)


def test_reference_split_file(screen):
    split = read_split(reference_split(1), screen.perturbations)
    assert len(split.train) == 12 and len(split.val) == 4 and len(split.test) == 16
    assert "KLF1" in split.test and "KLF1+MAP2K6" in split.test and "ctrl" not in split.train
    assert "IER5L" not in split.train + split.val + split.test  # the reference dropped it: no GO terms


def test_split_file_errors(screen, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GearsplanError, match="cannot read split file"):
        read_split(tmp_path / "bad.json", screen.perturbations)
    (tmp_path / "alien.json").write_text(
        json.dumps({"set2conditions": {"train": ["FOSB+ctrl"], "test": ["KLF1+ctrl"]}})
    )
    with pytest.raises(GearsplanError, match="not in the data"):
        read_split(tmp_path / "alien.json", screen.perturbations)
    with pytest.raises(GearsplanError, match="unknown split") as error:
        resolve_splits("random", screen.perturbations, 1)
    assert "loo" in error.value.hint
    with pytest.raises(
        GearsplanError, match="unknown split"
    ) as error:  # training takes one split: loo is no choice there
        resolve_split("random", screen.perturbations, 1)
    assert "loo" not in error.value.hint and "simulation" in error.value.hint
    with pytest.raises(GearsplanError, match="training needs one"):
        check_holdout("loo")
    with pytest.raises(GearsplanError, match="unknown --holdout 'random'") as error:
        check_holdout("random")
    assert "none, simulation" in error.value.hint
    assert [check_holdout(name) for name in ("none", "simulation", "reference")] == ["none", "simulation", "reference"]
    with pytest.raises(GearsplanError, match="no reference split"):
        resolve_splits("reference", screen.perturbations, 9)


def test_with_validation_lends_a_seeded_tenth_of_training(screen):
    (split,) = [s for s in loo_splits(screen.perturbations) if s.test == ("KLF1",)]
    lent = with_validation(split, seed=3)
    assert len(lent.val) == max(2, round(0.1 * len(split.train)))
    assert set(lent.train) | set(lent.val) == set(split.train) and not set(lent.train) & set(lent.val)
    assert lent.test == split.test and with_validation(split, seed=3) == lent
    assert with_validation(split, seed=4).val != lent.val
    assert with_validation(lent, seed=4) is lent  # a split with validation keeps it


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            {"train": ["KLF1+ctrl", "MAPK1+ctrl", "SGK1+ctrl"], "val": [], "test": ["KLF1+ctrl"]},
            r"in two parts \(train and test share KLF1\)",
        ),
        (
            {"train": ["MAPK1+ctrl", "SGK1+ctrl"], "val": ["SGK1+ctrl", "KLF1+ctrl"], "test": ["KLF1+ctrl"]},
            r"train and val share SGK1; val and test share KLF1\)",
        ),
        ({"train": [], "test": ["KLF1+ctrl"]}, "has no train perturbations"),
        ({"train": ["ctrl"], "test": ["KLF1+ctrl"]}, "has no train perturbations"),
        ({"train": ["KLF1+ctrl"], "test": ["ctrl"]}, "has no test perturbations"),
    ],
)
def test_split_file_parts_must_be_disjoint_and_train_and_test_not_empty(screen, tmp_path, sets, message):
    (tmp_path / "split.json").write_text(json.dumps({"set2conditions": sets}))
    with pytest.raises(GearsplanError, match=message):
        read_split(tmp_path / "split.json", screen.perturbations)
