"""A screen with what every model and metric needs from it, computed once."""

from __future__ import annotations

from dataclasses import dataclass

from gearsplan.data.de_genes import DEGenes, de_genes
from gearsplan.data.pseudobulk import Pseudobulk, pseudobulk
from gearsplan.data.screen import Screen


@dataclass(frozen=True)
class PreparedScreen:
    """A :class:`Screen` with its pseudobulk means and top DE genes."""

    screen: Screen
    bulk: Pseudobulk
    de: DEGenes


def prepare(screen: Screen) -> PreparedScreen:
    """Pseudobulk and DE genes of ``screen``."""
    bulk = pseudobulk(screen)
    return PreparedScreen(screen, bulk, de_genes(bulk))
