"""Knowledge layer: gene graphs that carry prior biology into the model and the experiment design.

A :class:`GeneGraph` stores a weighted directed gene graph as sorted edge arrays. The GO graph
(:func:`build_go_graph`, GEARS's perturbation graph: Jaccard index of GO-term sets, top 20
neighbours, over every annotated human gene) lets a gene never perturbed borrow from similar
genes; GO profiles (:func:`go_profiles`, a gene set's GO terms weighted by their rarity) say
which measured perturbations an unmeasured gene is like; the co-expression graph (:func:`coexpression_graph`, absolute Pearson correlation on
training cells) smooths the gene embeddings; the STRING graph (:func:`string_graph`) is an
alternative knowledge graph; :func:`connectivity` summarises how each gene sits relative to the
genes already perturbed. Everything is built from files shipped with the package, offline.
"""

from gearsplan.knowledge.coexpression import coexpression_graph
from gearsplan.knowledge.connectivity import connectivity
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import build_go_graph, go_jaccard, jaccard_to
from gearsplan.knowledge.go_profiles import GoProfiles, go_profiles
from gearsplan.knowledge.string_graph import string_graph

__all__ = [
    "GeneGraph",
    "GoProfiles",
    "build_go_graph",
    "coexpression_graph",
    "connectivity",
    "go_jaccard",
    "go_profiles",
    "jaccard_to",
    "string_graph",
]
