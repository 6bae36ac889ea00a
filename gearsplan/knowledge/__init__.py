"""Knowledge layer: gene graphs that carry prior biology into the model and the experiment design.

A :class:`GeneGraph` stores a weighted directed gene graph as sorted edge arrays. The GO graph
(:func:`build_go_graph`, GEARS's perturbation graph: Jaccard index of GO-term sets, top 20
neighbours, over every annotated human gene) lets a gene never perturbed borrow from similar
genes; GO profiles (:func:`go_profiles`, a gene set's GO terms weighted by their rarity) say
which measured perturbations an unmeasured gene is like; the co-expression graph (:func:`coexpression_graph`, absolute Pearson correlation on
training cells) smooths the gene embeddings; the STRING graph (:func:`string_graph`) is an
alternative knowledge graph; :func:`connectivity` summarises how each gene sits relative to the
genes already perturbed. Everything is built from files shipped with the package, offline.

Import each from its module: the package imports nothing, so a command loads only the graphs it uses.
"""
