import pytest

from gearsplan.data.gene_names import gene_table, is_ensembl_id
from gearsplan.errors import GearsplanError


@pytest.mark.parametrize(
    "name, symbol",
    [
        ("KLF1", "KLF1"),
        ("klf1", "KLF1"),
        ("EKLF", "KLF1"),  # alias
        ("MLL", "KMT2A"),  # previous symbol
        ("ENSG00000105610", "KLF1"),  # Ensembl ID
        ("ENSG00000105610.7", "KLF1"),  # versioned Ensembl ID
    ],
)
def test_resolve(name, symbol):
    assert gene_table().resolve(name) == symbol


def test_measured_names_are_kept_as_they_are():
    assert gene_table().resolve("MY_REPORTER", frozenset({"MY_REPORTER"})) == "MY_REPORTER"


def test_unknown_gene_suggests_close_symbols():
    with pytest.raises(GearsplanError) as error:
        gene_table().resolve("KLF1X")
    assert "KLF1" in error.value.hint and "did you mean" in error.value.hint


def test_ambiguous_alias_names_the_candidates():
    table = gene_table()
    ambiguous = next(a for a, symbols in table.aliases.items() if len(symbols) > 1 and a not in table.by_upper)
    with pytest.raises(GearsplanError, match="several genes"):
        table.resolve(ambiguous)


def test_ensembl_pattern():
    assert is_ensembl_id("ENSG00000105610") and not is_ensembl_id("KLF1")


@pytest.mark.parametrize(
    "label, genes",
    [
        ("EKLF+MAP2K6", ("KLF1", "MAP2K6")),
        ("map2k6_klf1", ("KLF1", "MAP2K6")),
        ("KLF1+ctrl", ("KLF1",)),
        ("ENSG00000141086", ("CTRL",)),
    ],
)
def test_resolve_set_reads_a_condition_label(label, genes):
    assert gene_table().resolve_set(label) == genes


@pytest.mark.parametrize(
    "label, message",
    [("ctrl", "names the control cells"), ("non-targeting", "names the control cells"), ("+", "names no gene")],
)
def test_resolve_set_refuses_a_label_without_a_gene(label, message):
    with pytest.raises(GearsplanError, match=message):
        gene_table().resolve_set(label)


def test_resolve_set_refuses_an_alias_beside_its_symbol():
    with pytest.raises(GearsplanError, match="KMT2A named more than once in 'MLL\\+KMT2A'"):
        gene_table().resolve_set("MLL+KMT2A")


def test_the_control_hint_names_a_way_to_the_gene_ctrl():
    with pytest.raises(GearsplanError) as error:
        gene_table().resolve_set("CTRL")
    ensembl = error.value.hint.split()[-1]
    assert gene_table().resolve(ensembl) == "CTRL"


def test_alias_carriers_read_by_a_scan_match_the_alias_map():
    table = gene_table()
    aliases = sorted(table.aliases.items())
    sample = aliases[:: len(aliases) // 200] + [a for a in aliases if len(a[1]) > 1][:20]
    assert all(table.alias_carriers(alias) == symbols for alias, symbols in sample)
    assert table.alias_carriers("FOOBAR1") == ()
