import pytest
from hypothesis import given
from hypothesis import strategies as st

from gearsplan.data.conditions import CONTROL_KEY, genes_of, parse_condition, perturbation_key
from gearsplan.errors import GearsplanError

gene = st.from_regex(r"[A-Z][A-Z0-9]{0,6}(-[0-9]{1,2})?", fullmatch=True).filter(
    lambda g: g.lower() not in {"ctrl", "control", "nt"}
)
control = st.sampled_from(["ctrl", "control", "CTRL", "non-targeting"])


@pytest.mark.parametrize(
    "label, expected",
    [
        ("ctrl", ()),
        ("control", ()),
        ("Non-Targeting", ()),
        ("KLF1", ("KLF1",)),
        ("KLF1+ctrl", ("KLF1",)),
        ("ctrl+KLF1", ("KLF1",)),
        ("MAP2K6+KLF1", ("KLF1", "MAP2K6")),
        ("KLF1_MAP2K6", ("KLF1", "MAP2K6")),
        ("C+A+B", ("A", "B", "C")),
        ("NKX2-1", ("NKX2-1",)),
    ],
)
def test_known_labels(label, expected):
    assert parse_condition(label) == expected


@given(
    genes=st.lists(gene, min_size=1, max_size=4, unique=True),
    controls=st.lists(control, max_size=2),
    separator=st.sampled_from(["+", "_"]),
    data=st.data(),
)
def test_parse_is_order_free_and_ignores_control(genes, controls, separator, data):
    tokens = data.draw(st.permutations(genes + controls))
    assert parse_condition(separator.join(tokens)) == tuple(sorted(genes))


@given(genes=st.lists(gene, max_size=4, unique=True))
def test_key_round_trip(genes):
    key = perturbation_key(genes)
    assert genes_of(key) == tuple(sorted(genes))
    assert (key == CONTROL_KEY) == (not genes)


def test_user_control_label_counts_as_control():
    assert parse_condition("NTC", ["NTC"]) == ()
    assert parse_condition("KLF1+NTC", ["NTC"]) == ("KLF1",)


def test_empty_label_is_an_error():
    with pytest.raises(GearsplanError):
        parse_condition("+")
