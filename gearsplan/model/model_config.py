"""The model's own tuning values, documented, saved in its bundle (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SizeConfig:
    """The prior of the effect-size map (:func:`~gearsplan.model.effect_size.fit_effect_sizes`), on the columns of
    :data:`~gearsplan.knowledge.gene_knowledge.SUMMARY_COLUMNS`.

    ``prior``: the change of the log size of an effect per unit of each column before any screen is
    seen: a transcription factor, a gene GO and STRING say much of, and a protein-coding gene move more
    of the transcriptome (in genome-wide Perturb-seq, Replogle et al. 2022, the perturbations with broad
    transcriptional effects are enriched in regulators and in well-studied, well-connected genes); a
    gene nothing is known of is shrunk toward small. ``strength``: how many measured singles the prior
    counts as (the ridge penalty that pulls the fitted weights toward it); the embedded screens hold
    13 to 25 singles, too few to learn four weights alone. Both are set by that judgement, not tuned on the
    embedded screens (which fit 0.29 to 0.59 per column; docs/model.md, "Effect sizes from knowledge").
    """

    prior: tuple[float, ...] = (0.5, 0.5, 0.5, 0.5)
    strength: float = 8.0


@dataclass(frozen=True)
class ModelConfig:
    """How a trained ensemble composes its predictions for sets with genes never measured.

    ``likeness_power``: each measured perturbation weighs its GO-profile cosine to an unmeasured gene to this
    power in the pull of that gene's base (4: only close likeness counts); ``base_weight``: the base's own weight
    against those likenesses (0.1). Both were chosen on the reference, leave-one-out and simulation 1-5 splits
    of Norman 2019 (docs/model.md,
    "Building on alike perturbations"). ``sizes``: the prior of the effect-size map (:class:`SizeConfig`).
    """

    likeness_power: float = 4.0
    base_weight: float = 0.1
    sizes: SizeConfig = field(default_factory=SizeConfig)

    @classmethod
    def from_json(cls, document: dict) -> "ModelConfig":
        """The config :func:`dataclasses.asdict` wrote (its sizes' prior a list)."""
        sizes = document["sizes"]
        return cls(
            document["likeness_power"], document["base_weight"], SizeConfig(tuple(sizes["prior"]), sizes["strength"])
        )
