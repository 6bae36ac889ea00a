"""What ``gearsplan predict`` tells a biologist about one perturbation set: each gene, the top DE genes, the GI scores, and how far to trust them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from itertools import combinations
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from gearsplan.analysis.gi_scores import GI_CALLS, ensemble_calls, measured_gi, well_expressed
from gearsplan.analysis.model_screen import calibrating_evaluation
from gearsplan.data.conditions import perturbation_key
from gearsplan.data.gene_names import gene_table
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.data.splits import stratum
from gearsplan.errors import GearsplanError
from gearsplan.json_numbers import finite_record
from gearsplan.knowledge.go_graph import jaccard_to
from gearsplan.model.bundle import Bundle
from gearsplan.model.calibration import calibration_factor
from gearsplan.model.ensemble import GearsModel, Prediction, on_top_genes

if TYPE_CHECKING:
    import pandas as pd

#: Confidence levels from how far the predicted changes stand out of what the prediction does not
#: know, calibrated (mean |change| over the mean spread times its :func:`calibration_factor`, on the
#: top genes): high from 2, medium from 1, low below.
CONFIDENCE_LEVELS = ((2.0, "high"), (1.0, "medium"), (-np.inf, "low"))
#: A reference that varies by less than this share of its mean magnitude gives no z-score (:func:`z_score`).
FLAT_REFERENCE = 0.01
#: Below this share of the truth held by the uncalibrated ± 2 sd on held-out perturbations like it, a
#: prediction is at most of medium confidence: one widening factor is a guess for a spread that poor.
TRUSTED_COVERAGE = 0.5


@dataclass(frozen=True)
class GeneFacts:
    """One perturbed gene: measured alone in the data?, in the model's training singles?, its place in the GO graph."""

    gene: str
    measured: bool
    trained: bool
    in_go: bool
    go_degree: int
    nearest_measured: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Uncertainty:
    """How far to trust a prediction, on the set's top predicted genes.

    ``spread`` is what the prediction does not know (:attr:`Prediction.total_sd`), ``base_sd`` the
    part of it that is the spread of the base under unmeasured genes; ``sd`` is the members'
    disagreement, ``z`` it z-scored against the training perturbations and ``head_z`` the head's
    log-variance likewise (as in the paper). ``coverage`` is the share of top-20-DE values of the
    model's held-out perturbations of the set's stratum (``coverage_2sd`` of its evaluation) that its ± 2 sd
    held, and ``calibration`` the factor (:func:`calibration_factor`) the spread is widened by to hold 95%
    (1, and ``coverage`` NaN, where the bundle has no such evaluation or calibration: :func:`held_out_coverage`). ``signal`` is the mean |predicted
    change| over the calibrated spread (infinite for a measured single; NaN, with ``z`` and level
    ``unknown``, where one ensemble member leaves the disagreement unmeasured); ``level`` reads it
    (:data:`CONFIDENCE_LEVELS`), at most ``medium`` where ``coverage`` is below :data:`TRUSTED_COVERAGE`.
    """

    spread: float
    base_sd: float
    sd: float
    z: float
    head_z: float
    coverage: float
    calibration: float
    signal: float
    level: str

    def standing(self) -> str:
        """How far the changes stand out of the spread, in words."""
        if math.isinf(self.signal):
            return "measured, nothing left to guess"
        if math.isnan(self.signal):
            return "one ensemble member, so no disagreement to measure"
        if math.isnan(self.coverage):
            return f"its changes stand {self.signal:.1f}× out of it (uncalibrated: the model has no held-out evaluation or calibration)"
        capped = " (at most medium: that spread held under half the truth)" if self.coverage < TRUSTED_COVERAGE else ""
        return (
            f"± 2 sd held {self.coverage:.0%} of the truth on held-out perturbations like it, so the spread counts "
            f"×{self.calibration:.1f}; its changes stand {self.signal:.1f}× out of that{capped}"
        )


@dataclass(frozen=True)
class PairInteraction:
    """GI scores of one pair: predicted (ensemble mean), the share of members making each call, which
    predicted calls are certain (:class:`EnsembleCalls <gearsplan.analysis.gi_scores.EnsembleCalls>`),
    and the scores measured where the data has them."""

    pair: tuple[str, str]
    predicted: dict
    agreement: dict[str, float]
    certain: dict[str, bool]
    measured: dict | None


@dataclass(frozen=True)
class PerturbationReport:
    """Everything ``predict`` prints, as data; :meth:`to_json` is the ``predict --json`` document."""

    genes: tuple[str, ...]
    key: str
    in_data: bool
    in_training: bool
    per_gene: tuple[GeneFacts, ...]
    base: str | None
    pulled_toward: tuple[tuple[str, float], ...]
    uncertainty: Uncertainty
    top_changes: dict[str, np.ndarray]
    gi: tuple[PairInteraction, ...]

    @property
    def top_de(self) -> pd.DataFrame:
        """The top changes (:func:`top_de_table`) as a DataFrame, one row a gene."""
        import pandas as pd  # here: predict's table and --json read the columns, and its start-up need not import pandas

        return pd.DataFrame(self.top_changes)

    def to_json(self) -> dict:
        return {
            "genes": list(self.genes),
            "in_data": self.in_data,
            "in_training": self.in_training,
            "per_gene": [
                {
                    "gene": f.gene,
                    "measured": f.measured,
                    "trained": f.trained,
                    "in_go": f.in_go,
                    "go_degree": f.go_degree,
                    "nearest_measured": [{"gene": g, "jaccard": round(j, 4)} for g, j in f.nearest_measured],
                }
                for f in self.per_gene
            ],
            "pulled_toward": [{"perturbation": k, "share": round(share, 4)} for k, share in self.pulled_toward],
            "uncertainty": finite_record(asdict(self.uncertainty)),
            "top_de": [
                finite_record(dict(zip(self.top_changes, row)))
                for row in zip(*(c.tolist() for c in self.top_changes.values()))
            ],
            "gi": [
                {
                    "pair": list(p.pair),
                    **p.predicted,
                    "agreement": p.agreement,
                    "certain": [c for c in p.predicted["calls"] if p.certain[c]],
                    "measured": p.measured,
                }
                for p in self.gi
            ],
        }


def screen_model(bundle: Bundle, bulk: Pseudobulk) -> GearsModel:
    """The bundle's model composed with every perturbation the screen measured, not only those it trained on."""
    if bulk.genes != bundle.model.genes:
        raise GearsplanError(
            "the screen's measured genes are not the model's",
            "pass the --data the model was trained on, or train a model on this screen",
        )
    return replace(bundle.model, measured=bulk.changes(bulk.keys), single_noise=bulk.single_noise(bulk.keys))


def resolve_genes(names: Sequence[str], model: GearsModel, bulk: Pseudobulk) -> tuple[str, ...]:
    """Current symbols of ``names`` (a name may be a set, ``A+B``; :meth:`GeneTable.resolve_set <gearsplan.data.gene_names.GeneTable.resolve_set>`);
    refuse a gene the model cannot reach (no GO terms and never trained on)."""
    measured = frozenset(model.genes) | frozenset(model.singles) | frozenset(k for k in bulk.keys if "+" not in k)
    table = gene_table()
    resolved = Counter(gene for name in names for gene in table.resolve_set(name, measured))
    twice = [gene for gene, count in resolved.items() if count > 1]
    if twice:  # FOSB FOSB is not a single: say so rather than quietly predict one gene
        raise GearsplanError(
            f"{', '.join(twice)} named more than once",
            "name each gene of a set once; an alias and its symbol are the same gene",
        )
    genes = tuple(resolved)
    if not genes:
        raise GearsplanError("no genes given", "name one or more genes, e.g. gearsplan predict FOSB CEBPB")
    for gene in genes:
        if gene not in model.go.index and gene not in model.singles:
            raise GearsplanError(
                f"{gene} has no GO annotation and the model never saw it perturbed, so nothing connects it to what was learned",
                "predict genes with GO annotations, or train on a screen that perturbs it",
            )
    return genes


def predict_perturbation(
    bundle: Bundle, bulk: Pseudobulk, names: Sequence[str], top: int = 20, seed: int = 0
) -> PerturbationReport:
    """Predict a perturbation set with everything a biologist needs to judge it.

    Parameters
    ----------
    bundle
        A trained model.
    bulk
        Pseudobulk means of the screen the model was trained on (control means, measured changes).
    names
        Gene names (symbols, aliases or Ensembl IDs), one or more.
    top
        Rows of the top-DE table.
    seed
        Seeds the Theil–Sen subsampling of the GI scores.
    """
    model = screen_model(bundle, bulk)
    genes = resolve_genes(names, model, bulk)
    key = perturbation_key(genes)
    training = tuple(bundle.metadata.get("split", {}).get("train", ()))
    prediction = model.predict([key])
    trust = set_uncertainty(bundle, model, genes, prediction)
    base = model.prior.base(key)[0] if model.prior.unmeasured(key) else None
    return PerturbationReport(
        genes,
        key,
        key in bulk.keys,
        key in training,
        tuple(gene_facts(gene, model, bulk, gene in bundle.model.singles) for gene in genes),
        base,
        () if base is None else pulled_toward(model, key),
        trust,
        top_de_table(model, bulk, key, prediction, top, trust.calibration),
        tuple(pair_interactions(model, bulk, genes, seed)),
    )


def set_uncertainty(bundle: Bundle, model: GearsModel, genes: Sequence[str], prediction: Prediction) -> Uncertainty:
    """:func:`uncertainty` of the set ``genes`` (``prediction`` its own, one row), calibrated by the bundle's held-out
    perturbations of its stratum (:func:`held_out_coverage`), z-scored against its training perturbations."""
    key = perturbation_key(genes)
    coverage = held_out_coverage(bundle, stratum(genes, frozenset(model.singles)))
    return uncertainty(model, prediction, bundle.metadata.get("spread_reference"), key in model.singles, coverage)


def gene_facts(gene: str, model: GearsModel, bulk: Pseudobulk, trained: bool, n_nearest: int = 3) -> GeneFacts:
    """Measured or not, GO degree, and the measured single genes nearest by GO Jaccard."""
    measured_singles = [k for k in bulk.keys if "+" not in k and k != gene and k in model.go.index]
    in_go = gene in model.go.index
    nearest: tuple[tuple[str, float], ...] = ()
    if in_go and measured_singles:
        jaccard = jaccard_to(gene, measured_singles)
        best = np.argsort(-jaccard, kind="stable")[:n_nearest]
        nearest = tuple((measured_singles[i], float(jaccard[i])) for i in best if jaccard[i] > 0)
    degree = int(model.go.degree()[model.go.index[gene]]) if in_go else 0
    return GeneFacts(gene, gene in bulk.keys, trained, in_go, degree, nearest)


def pulled_toward(model: GearsModel, key: str, top: int = 3, least: float = 0.005) -> tuple[tuple[str, float], ...]:
    """The measured perturbations whose changes the base of a set with unmeasured genes is pulled toward
    most, each with its share of that base (at least ``least``)."""
    shares = model.prior.pull_shares([key])[0]
    names = list(model.measured)
    return tuple((names[i], float(shares[i])) for i in np.argsort(-shares, kind="stable")[:top] if shares[i] >= least)


def held_out_coverage(bundle: Bundle, stratum_name: str) -> float:
    """``coverage_2sd`` of gearsplan on the bundle's held-out perturbations of a stratum (of all of them where
    none was of that stratum): its evaluation's, or for a model that learned from every perturbation its
    ``calibration``'s (an ensemble trained the same way on a split); NaN where the bundle holds neither."""
    scored = calibrating_evaluation(bundle.metadata)[1] or {}
    rows = [r for r in scored.get("rows", []) if r["model"] == "gearsplan" and r.get("coverage_2sd") is not None]
    by_stratum = {r["stratum"]: r["coverage_2sd"] for r in rows}
    return float(by_stratum.get(stratum_name, by_stratum.get("all", float("nan"))))


def uncertainty(
    model: GearsModel,
    prediction: Prediction,
    reference: Mapping[str, Sequence[float]] | None,
    exact: bool,
    coverage: float,
    top: int = 20,
) -> Uncertainty:
    """What the prediction of one set does not know, on its top genes; the members' sd (and head log-variance)
    z-scored against ``reference`` (its ``sd`` and ``head``: :meth:`GearsModel.spread_reference
    <gearsplan.model.ensemble.GearsModel.spread_reference>` of the training perturbations, which a bundle carries).
    ``exact``: the set is a measured single, predicted as its measurement; ``coverage``: :func:`held_out_coverage`,
    which calibrates the spread.
    """
    on_top = lambda values: float(on_top_genes(values, prediction.mean, top)[0])  # noqa: E731
    spread, sd = on_top(prediction.total_sd), on_top(prediction.sd)
    one_member = len(model.members) < 2
    calibration = calibration_factor(coverage)
    calibration = 1.0 if math.isnan(calibration) else calibration
    if exact:
        signal = np.inf
    elif one_member:  # a lone member's sd of zero is not confidence: its disagreement was never measured
        signal = np.nan
    else:
        signal = on_top(np.abs(prediction.mean)) / max(calibration * spread, 1e-12)
    level = (
        "unknown" if one_member and not exact else next(name for limit, name in CONFIDENCE_LEVELS if signal >= limit)
    )
    if level == "high" and not exact and coverage < TRUSTED_COVERAGE:
        level = "medium"
    z = head_z = float("nan")
    if reference and reference["sd"]:
        z = float("nan") if one_member else z_score(sd, np.asarray(reference["sd"]))
        head_z = z_score(on_top(prediction.log_variance), np.asarray(reference["head"]))
    return Uncertainty(spread, on_top(prediction.base_sd), sd, z, head_z, coverage, calibration, signal, level)


def z_score(value: float, reference: np.ndarray) -> float:
    """``value`` z-scored against ``reference``; NaN where the reference barely varies (sd under
    :data:`FLAT_REFERENCE` of its mean magnitude), as the members' spread over the training perturbations of
    a screen whose network tells them apart little does: a z-score of thousands would say nothing."""
    spread = reference.std()
    return (
        float("nan")
        if spread <= FLAT_REFERENCE * abs(reference.mean()) or spread == 0
        else float((value - reference.mean()) / spread)
    )


def top_de_table(
    model: GearsModel, bulk: Pseudobulk, key: str, prediction: Prediction, top: int, calibration: float = 1.0
) -> dict[str, np.ndarray]:
    """The ``top`` genes by |predicted change|, with control mean, spread (:attr:`Prediction.total_sd`) and that spread
    widened by ``calibration`` (:attr:`Uncertainty.calibration`), additive and measured changes: one array a column."""
    change, sd = prediction.mean[0], prediction.total_sd[0]
    order = np.argsort(-np.abs(change), kind="stable")[:top]
    additive = model.additive([key])[0] if "+" in key else np.full(len(change), np.nan)
    measured = bulk.delta[bulk.rows([key])[0]] if key in bulk.keys else np.full(len(change), np.nan)
    return {
        "gene": np.array(model.genes)[order],
        "control_mean": bulk.control[order],
        "predicted_change": change[order],
        "predicted_sd": sd[order],
        "calibrated_sd": sd[order] * calibration,
        "additive_change": additive[order],
        "measured_change": measured[order],
    }


def pair_interactions(
    model: GearsModel, bulk: Pseudobulk, genes: Sequence[str], seed: int = 0
) -> list[PairInteraction]:
    """GI scores of every pair in ``genes`` from predicted ΔA, ΔB, ΔAB (measured singles where measured)."""
    pairs = list(combinations(sorted(genes), 2))
    if not pairs:
        return []
    keys = [k for a, b in pairs for k in (a, b, perturbation_key((a, b)))]
    members, _ = model.member_predictions(keys, priors=False)
    scored = well_expressed(bulk.control)
    profiles = members[:, :, scored]
    called = ensemble_calls(profiles[:, 0::3], profiles[:, 1::3], profiles[:, 2::3], seed)
    return [
        PairInteraction(
            pair,
            called.scores.row(p),
            dict(zip(GI_CALLS, map(float, called.share[p]))),
            dict(zip(GI_CALLS, map(bool, called.certain[p]))),
            measured_row(bulk, perturbation_key(pair), scored, seed),
        )
        for p, pair in enumerate(pairs)
    ]


def measured_row(bulk: Pseudobulk, key: str, scored: np.ndarray, seed: int) -> dict | None:
    """GI scores from the measured means, when the pair and both its singles are in the data."""
    a, b = key.split("+")
    if not all(k in bulk.keys for k in (a, b, key)):
        return None
    return measured_gi(bulk, [key], scored, seed).row(0)
