"""``suggest``: the next batch of experiments that most improves the model on what is still unknown, each with its reason."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from gearsplan.analysis.prediction import screen_model
from gearsplan.data.conditions import genes_of
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.design.batch_selection import FixedGains, greedy_select, unit_profiles
from gearsplan.design.candidates import Measured, candidate_pairs, candidate_singles
from gearsplan.design.gene_space import EXPAND, GeneSpace, genes_of_interest
from gearsplan.design.graph_reach import UNEXPLORED, GraphReach
from gearsplan.design.signals import (
    TOP_GENES,
    Progress,
    Signals,
    member_singles,
    pair_signals,
    single_signals,
    summarise,
    top_shares,
)
from gearsplan.design.untested_error import UntestedError
from gearsplan.errors import GearsplanError
from gearsplan.json_numbers import finite_or_none
from gearsplan.knowledge.transcription_factors import transcription_factors
from gearsplan.model.bundle import Bundle
from gearsplan.model.ensemble import GearsModel, on_top_genes
from gearsplan.paths import atomic_path
from gearsplan.wording import counted

#: Pairs, best by their additively screened error, predicted exactly and GI-scored (times the budget); only these can be picked.
EXACT_PAIRS_FACTOR = 4
#: Floor of exactly predicted pairs, so small budgets still choose among enough pairs.
EXACT_PAIRS_MIN = 100

#: The goals of a plan: ``learn`` (the most uncertainty removed over the genes of interest) or ``discover``
#: (the pairs most likely to interact strongly).
LEARN, DISCOVER = "learn", "discover"
GOALS = (LEARN, DISCOVER)
#: Standard deviations above its predicted departure from the pair law at which ``discover`` ranks a pair
#: (a one-sided 97.7% upper confidence bound).
DISCOVER_SDS = 2.0

#: Phrases of the reason column, by signal.
_PHRASES = {
    "uncertainty": "members disagree on its change",
    "reach": "teaches untested GO relatives",
    "non_additivity": "interaction beyond the pair law",
    "gi_disagreement": "members disagree on its GI subtype",
}
#: The reason of a candidate no signal sets apart from the others of its kind.
_NO_STANDOUT = "most uncertainty left after the picks above"
#: A reason names a signal only where the candidate is in this top share of its kind: below the median nothing sets it apart.
NOTABLE_SHARE = 0.5
#: Uncertainty or non-additivity under this share of the candidate's predicted change (mean |change| on its top genes) is negligible.
NEGLIGIBLE_CHANGE = 0.05


@dataclass(frozen=True)
class Suggestion:
    """One suggested experiment and why.

    ``unlocks``: for a single, the untested pairs of the genes of interest it turns into pairs with both singles
    measured (counting the singles measured and those picked before it); 0 for a pair.
    """

    rank: int
    genes: tuple[str, ...]
    kind: str
    reason: str
    uncertainty: float
    reach: float
    distance: float
    region: str
    non_additivity: float | None
    gi_disagreement: float | None
    gi_call: str | None
    expected_gain: float
    unlocks: int = 0

    def to_json(self) -> dict:
        """A row of ``suggest --json`` (DESIGN.md), with extra keys."""
        row = asdict(self)
        row["genes"] = list(self.genes)
        return row


@dataclass(frozen=True)
class SuggestionPlan:
    """A ranked batch of suggestions, what it was chosen from, and a summary in words.

    ``space`` is the genes of interest the candidates were drawn from (None for explicit candidates, as in a replay).
    """

    budget: int
    suggestions: tuple[Suggestion, ...]
    n_candidates: dict[str, int]
    split_by_gain: bool
    summary: str
    space: GeneSpace | None = None
    goal: str = LEARN

    def to_json(self) -> dict:
        """The ``suggest --json`` document."""
        return {
            "budget": self.budget,
            "goal": self.goal,
            "suggestions": [s.to_json() for s in self.suggestions],
            "n_candidates": self.n_candidates,
            "split_by_gain": self.split_by_gain,
            "summary": self.summary,
            "genes_of_interest": None if self.space is None else self.space.to_json(),
        }

    def rows(self) -> list[dict]:
        """One record per suggestion, the fields of :class:`Suggestion` in order, genes joined by ``+``."""
        return [{**s.to_json(), "genes": "+".join(s.genes)} for s in self.suggestions]

    def to_frame(self) -> pd.DataFrame:
        """The suggestions as a table (the Python API's ``suggest``): :meth:`rows`, ranked."""
        return pd.DataFrame(self.rows(), columns=list(Suggestion.__dataclass_fields__))

    def write_csv(self, path: str | Path) -> Path:
        """Write the suggestions as CSV (genes joined by ``+``), atomically."""
        rows = self.rows()
        with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(Suggestion.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(rows)
        return Path(path)


def require_positive(budget: int) -> None:
    """Refuse a budget of zero or less."""
    if budget <= 0:
        raise GearsplanError(f"the budget must be positive, got {budget}", "e.g. --budget 50")


def check_goal(goal: str, quotas: dict[str, int] | None = None) -> None:
    """Refuse a goal other than ``learn`` or ``discover``, and kind quotas with ``discover`` (it plans pairs)."""
    if goal not in GOALS:
        raise GearsplanError(
            f"unknown goal {goal!r}",
            "choose --goal learn (the most learned) or --goal discover (likely strong interactions)",
        )
    if goal == DISCOVER and quotas is not None and quotas["single"]:
        raise GearsplanError(
            "--goal discover plans pairs only, so it takes no --singles", "drop --singles, or use --goal learn"
        )


def require_ensemble(bundle: Bundle) -> None:
    """Refuse a one-member model: its disagreement, which the expected gain is built on, is zero for every candidate."""
    if len(bundle.model.members) < 2:
        raise GearsplanError(
            "this model has one ensemble member, so it cannot say where its members disagree: every expected gain would be zero",
            "train one with gearsplan train --ensemble 5 (the default) and pass it with --model",
        )


def quotas_for(budget: int, n_singles: int | None, n_pairs: int | None) -> dict[str, int] | None:
    """Picks per kind from ``--singles``/``--pairs`` (one given: the other takes the rest); None lets expected gain decide."""
    require_positive(budget)
    if n_singles is None and n_pairs is None:
        return None
    for name, value in (("--singles", n_singles), ("--pairs", n_pairs)):
        if value is not None and not 0 <= value <= budget:
            raise GearsplanError(
                f"{name} {value} is outside 0..{budget} (the budget)", "give counts that fit in --budget"
            )
    singles = budget - n_pairs if n_singles is None else n_singles
    pairs = budget - singles if n_pairs is None else n_pairs
    if singles + pairs != budget:
        raise GearsplanError(
            f"--singles {singles} and --pairs {pairs} do not add up to --budget {budget}",
            "give one of them, or make them add up",
        )
    return {"single": singles, "pair": pairs}


def floors(signals: Signals, row: int) -> dict[str, float]:
    """Per signal, what candidate ``row``'s value must exceed to be worth naming: a share of its own predicted
    change for the signals in expression units, more than the candidate itself for reach (its own untested
    share is at most 1; a pair of measured genes reaches exactly 1), any disagreement on the GI subtype."""
    profile = signals.profiles[row : row + 1]
    change = NEGLIGIBLE_CHANGE * float(on_top_genes(np.abs(profile), profile, TOP_GENES)[0])
    return {"uncertainty": change, "reach": 1.0, "non_additivity": change, "gi_disagreement": 0.0}


def standout(signals: Signals, shares: dict[str, np.ndarray], row: int) -> str:
    """The signal in which candidate ``row`` stands highest among its kind (``shares``, :func:`top_shares`), of those
    where it is in the top half and above its floor (:func:`floors`), in words; :data:`_NO_STANDOUT` if none."""
    floor = floors(signals, row)
    notable = {
        name: share[row]
        for name, share in shares.items()
        if share[row] <= NOTABLE_SHARE and getattr(signals, name)[row] > floor[name]
    }
    best = min(notable, key=notable.get, default=None)
    if best is None:
        return _NO_STANDOUT
    if best == "gi_disagreement" and signals.gi_votes[row]:
        return f"{_PHRASES[best]} ({signals.gi_votes[row]})"
    return f"{_PHRASES[best]} (top {max(1, round(100 * notable[best]))}%)"


def relatives(signals: Signals, row: int, transcription_factor: frozenset[str]) -> str:
    """Where the candidate's genes stand against the screen, in words: for a single never perturbed "new TF, nearest
    measured relative KLF1", for one perturbed only in a set "so far only in pairs"; for a pair's gene never
    perturbed, shorter, "GRB2 new, near SGK1"; nothing for a measured gene."""
    parts = []
    single = signals.kind == "single"
    for gene, region in zip(genes_of(signals.keys[row]), signals.region[row].split("/")):
        what = "TF" if gene in transcription_factor else "gene"
        if region == UNEXPLORED:
            parts.append(f"new {what}, no measured relative in GO" if single else f"{gene} new")
        elif region != gene:
            parts.append(f"new {what}, nearest measured relative {region}" if single else f"{gene} new, near {region}")
        elif single:
            parts.append("so far only in pairs")
    return "; ".join(parts)


def reason(
    signals: Signals,
    shares: dict[str, np.ndarray],
    row: int,
    unlocks: int = 0,
    transcription_factor: frozenset[str] = frozenset(),
) -> str:
    """Why candidate ``row`` was chosen, in a biologist's words: the pairs a single unlocks (else the signal in which
    it stands out, :func:`standout`), then where its genes stand (:func:`relatives`)."""
    lead = f"unlocks {counted(unlocks, 'untested pair')}" if unlocks else standout(signals, shares, row)
    return "; ".join(p for p in (lead, relatives(signals, row, transcription_factor)) if p)


def discovery_reason(signals: Signals, row: int) -> str:
    """Why ``discover`` chose pair ``row``: its predicted departure from the pair law and the members' spread on it."""
    return (
        f"interaction beyond the pair law {signals.non_additivity[row]:.3f} ± {np.sqrt(signals.interaction[row]):.3f}"
        + (f" ({signals.gi_votes[row]})" if signals.gi_votes[row] else "")
    )


def discovery_scores(pairs: Signals) -> np.ndarray:
    """Upper confidence bound on each pair's departure from the pair law: departure + :data:`DISCOVER_SDS` x the
    members' spread on it (the square root of the interaction variance)."""
    return pairs.non_additivity + DISCOVER_SDS * np.sqrt(pairs.interaction)


def unlocked(picks: Sequence[tuple[str, ...]], measured_singles: Iterable[str], pair_space: Iterable[str]) -> list[int]:
    """Per pick (genes, in pick order), the pairs of ``pair_space`` (untested pairs of the genes of interest) it
    turns into pairs with both singles measured, counting ``measured_singles`` and the singles picked before it;
    0 for a pair."""
    partners: dict[str, set[str]] = {}
    for a, b in (genes_of(k) for k in pair_space):
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    known, counts = set(measured_singles), []
    for genes in picks:
        single = len(genes) == 1
        counts.append(len(partners.get(genes[0], set()) & known) if single else 0)
        known |= set(genes) if single else set()
    return counts


def choose(
    singles: Signals,
    pairs: Signals,
    error: UntestedError,
    budget: int,
    quotas: dict[str, int] | None,
    goal: str = LEARN,
) -> list[tuple[Signals, int]]:
    """Greedy batch from every single and every exactly predicted pair (``error`` holds every candidate, singles first):
    (signals of the candidate's kind, its row among them) in pick order.

    ``discover`` chooses among the exact pairs alone, by :func:`discovery_scores`.
    """
    full = (singles, pairs)
    rows = [np.arange(len(singles) if goal == LEARN else 0), np.flatnonzero(pairs.exact)]
    pools = [signals.take(r) for signals, r in zip(full, rows)]
    kinds = [p.kind for p in pools for _ in p.keys]
    profiles = unit_profiles(np.concatenate([p.profiles for p in pools]), kinds)
    scores = error.take(*rows) if goal == LEARN else FixedGains(discovery_scores(pools[1]))
    picked = greedy_select(scores, profiles, kinds, budget, quotas)
    offsets = np.cumsum([0, *map(len, pools)])
    located = []
    for index in picked:
        pool = int(np.searchsorted(offsets, index, side="right") - 1)
        row = index - offsets[pool]
        located.append((full[pool], int(rows[pool][row])))
    return located


def with_untested_error(
    model: GearsModel,
    reach: GraphReach,
    measured: Measured,
    single: Signals,
    pair: Signals,
    target_pairs: Sequence[str],
) -> tuple[UntestedError, Signals, Signals]:
    """The error model of the candidates over the untested space (the candidate singles and ``target_pairs``), and
    the candidates' signals with the error each would remove as their expected gain."""
    variance = dict(zip(single.keys, single.uncertainty**2))
    others = sorted({g for k in pair.keys for g in genes_of(k)} - set(variance) - set(measured.single_genes))
    if others:
        variance.update(zip(others, summarise(member_singles(model, others))[1] ** 2))
    error = UntestedError.build(
        reach, measured.single_genes, variance, single.keys, pair.keys, pair.interaction, target_pairs
    )
    gains = error.gains()
    return error, replace(single, expected_gain=gains[: len(single)]), replace(pair, expected_gain=gains[len(single) :])


def plan_batch(
    model: GearsModel,
    measured: Measured,
    singles: Sequence[str],
    pairs: Sequence[str],
    control_mean: np.ndarray,
    budget: int,
    *,
    quotas: dict[str, int] | None = None,
    refine: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> SuggestionPlan:
    """Score ``singles`` and ``pairs`` (keys ``A+B``) and choose ``budget`` of them.

    The candidates are the untested space (:func:`score_candidates`).

    Parameters
    ----------
    refine
        Pairs predicted exactly and GI-scored (the rest are screened additively); None: all.
    quotas
        Picks per kind (:func:`quotas_for`); None: expected gain decides the mix.
    """
    n_candidates = {"single": len(singles), "pair": len(pairs)}
    check_budget(budget, n_candidates, quotas)
    error, single, pair = score_candidates(model, measured, singles, pairs, control_mean, refine, seed, progress)
    return assemble(single, pair, error, budget, quotas, n_candidates, measured, pairs)


def score_candidates(
    model: GearsModel,
    measured: Measured,
    singles: Sequence[str],
    pairs: Sequence[str],
    control_mean: np.ndarray,
    refine: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[UntestedError, Signals, Signals]:
    """Error model and signals of explicit candidates, which are also the untested space (GO neighbours among their genes, candidate pairs)."""
    reach = GraphReach.build(model.go, measured.perturbed_genes, {g for k in (*singles, *pairs) for g in genes_of(k)})
    single = single_signals(model, singles, reach, progress, pairs)
    return with_untested_error(
        model, reach, measured, single, pair_signals(model, pairs, reach, control_mean, refine, seed), pairs
    )


def check_budget(budget: int, n_candidates: dict[str, int], quotas: dict[str, int] | None) -> None:
    """Refuse a budget that is not positive or exceeds the candidates (of a kind, with quotas)."""
    require_positive(budget)
    total = sum(n_candidates.values())
    if total == 0:
        raise GearsplanError(
            "no candidate left: every gene and pair allowed is measured or excluded",
            "give unmeasured genes or A+B pairs in --candidates, raise --expand, or exclude fewer",
        )
    if budget > total:
        raise GearsplanError(
            f"a budget of {budget} exceeds the {total} candidate experiments",
            "lower --budget, or widen --candidates / --expand / --allow-unseen-pairs",
        )
    for kind, wanted in (quotas or {}).items():
        if wanted > n_candidates[kind]:
            raise GearsplanError(
                f"{wanted} {kind}s asked for, but only {n_candidates[kind]} {kind} candidates", f"lower --{kind}s"
            )


def assemble(
    single: Signals,
    pair: Signals,
    error: UntestedError,
    budget: int,
    quotas: dict[str, int] | None,
    n_candidates: dict[str, int],
    measured: Measured,
    pair_space: Sequence[str],
    space: GeneSpace | None = None,
    goal: str = LEARN,
) -> SuggestionPlan:
    """Choose the batch and build its rows and summary.

    ``pair_space``: the untested pairs of the genes of interest, which a single's ``unlocks`` counts;
    ``space``: the genes of interest the candidates came from.
    """
    located = choose(single, pair, error, budget, quotas, goal)
    shares = {s.kind: {name: top_shares(getattr(s, name)) for name in _PHRASES} for s in (single, pair)}
    unlocks = unlocked([genes_of(s.keys[i]) for s, i in located], measured.single_genes, pair_space)
    factors = transcription_factors()
    rows = []
    for rank, ((signals, i), opened) in enumerate(zip(located, unlocks), start=1):
        rows.append(
            Suggestion(
                rank,
                genes_of(signals.keys[i]),
                signals.kind,
                discovery_reason(signals, i)
                if goal == DISCOVER
                else reason(signals, shares[signals.kind], i, opened, factors),
                float(signals.uncertainty[i]),
                float(signals.reach[i]),
                float(signals.distance[i]),
                signals.region[i],
                finite_or_none(signals.non_additivity[i]),
                finite_or_none(signals.gi_disagreement[i]),
                signals.gi_call[i] or None,
                float(signals.expected_gain[i]),
                opened,
            )
        )
    return SuggestionPlan(
        budget,
        tuple(rows),
        n_candidates,
        quotas is None,
        summarise_plan(rows, quotas is None, n_candidates, space, goal),
        space,
        goal,
    )


def summarise_plan(
    rows: Sequence[Suggestion],
    by_gain: bool,
    n_candidates: dict[str, int],
    space: GeneSpace | None = None,
    goal: str = LEARN,
) -> str:
    """One paragraph: the goal, how the budget was split between singles and pairs and why, where their genes lie
    in GO, and the genes of interest the candidates came from (``space``, if given)."""
    kinds = Counter(r.kind for r in rows)
    among = (
        ""
        if space is None
        else f" The candidates are the untested singles and pairs of {counted(len(space.genes), 'gene')} of interest: {space.describe()}."
    )
    pool = " and ".join(
        f"{n_candidates[kind]:,} {name}"
        for kind, name in (("single", "single-gene"), ("pair", "pair"))
        if n_candidates[kind] or goal == LEARN
    )
    return (
        f"Goal: {goal}. {len(rows)} experiments chosen from {pool} candidates: {counted(kinds['single'], 'single')} "
        f"and {counted(kinds['pair'], 'pair')}. {why_split(rows, by_gain, goal)} {where_genes_lie(rows)}" + among
    )


def why_split(rows: Sequence[Suggestion], by_gain: bool, goal: str) -> str:
    """Why the budget went to singles and pairs as it did, in words."""
    if goal == DISCOVER:
        return (
            "Discovery plans pairs only, ranked by an upper bound on their interaction beyond the pair law "
            f"(departure + {DISCOVER_SDS:g} sd of the members), each pick discounted where it repeats a pick's profile."
        )
    if not by_gain:
        return "The split is as asked (--singles/--pairs); within each kind expected gain chose."
    singles = [r for r in rows if r.kind == "single"]
    split = [r for r in rows if r.kind == "pair" and r.gi_disagreement]
    return (
        "Expected gain decided the split: each pick removes the most model uncertainty over the untested singles and "
        "pairs of the genes of interest that the picks before it left. "
        f"The {counted(len(singles), 'single')} unlock {counted(sum(r.unlocks for r in singles), 'untested pair')} "
        "(both singles then measured) and teach their GO relatives; "
        f"the pairs remove their interaction uncertainty ({len(split)} where the members disagree on the GI subtype)."
    )


def where_genes_lie(rows: Sequence[Suggestion]) -> str:
    """The distinct genes of ``rows`` in three parts that add up: new with no measured GO neighbour, new and nearest
    by GO similarity to a measured gene (named, with how many), and already perturbed in the screen (named).

    Counted per gene, not per row: a pair can hold a new gene and a measured one.
    """
    region = {gene: part for r in rows for gene, part in zip(r.genes, r.region.split("/"))}
    lonely = sum(part == UNEXPLORED for part in region.values())
    nearest = Counter(part for gene, part in region.items() if part not in (UNEXPLORED, gene))
    screened = [gene for gene, part in region.items() if part == gene]
    parts = [
        f"{lonely} new with no measured GO neighbour" if lonely else "",
        f"{nearest.total()} new, nearest by GO similarity to a measured gene: {_listed([f'{gene} for {n}' for gene, n in nearest.most_common()])}"
        if nearest
        else "",
        f"{len(screened)} already in the screen ({_listed(screened)})" if screened else "",
    ]
    return f"Of their {len(region)} genes, " + "; ".join(p for p in parts if p) + "."


def _listed(names: Sequence[str], shown: int = 5) -> str:
    """The first ``shown`` of ``names``, and how many more."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def suggest(
    bundle: Bundle,
    bulk: Pseudobulk,
    budget: int = 50,
    *,
    n_singles: int | None = None,
    n_pairs: int | None = None,
    library: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    allow_unseen_pairs: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
    expand: int = EXPAND,
    goal: str = LEARN,
) -> SuggestionPlan:
    """The next ``budget`` experiments for the screen ``bulk`` with the model ``bundle``.

    The candidates are the untested singles and pairs of the genes of interest
    (:func:`~gearsplan.design.gene_space.genes_of_interest`: the screen's perturbed genes, ``library``'s
    and the ``expand`` protein-coding genes nearest to them in GO and STRING), and the expected gain is
    measured over that space. Pairs are screened additively and the best
    ``max(EXACT_PAIRS_MIN, EXACT_PAIRS_FACTOR x budget)`` predicted exactly; only those can be picked.

    Parameters
    ----------
    bundle
        A trained model (its GO graph defines the perturbable genes).
    bulk
        Pseudobulk of the screen so far: what is measured, and the control means of GI scoring.
    n_singles, n_pairs
        Fixed numbers of singles / pairs; without them expected gain decides the split.
    library
        Genes and ``A+B`` pairs of the user's guide library: its genes join the genes of interest
        whatever their type; its pairs are candidates as they are (their genes are not paired further).
    exclude
        Genes (or pairs) never to suggest: a gene removes every pair holding it.
    allow_unseen_pairs
        Also pair two genes of interest neither of which was measured alone (by default a pair holds one that was).
    seed
        Seeds tie-breaking and the GI scores' Theil–Sen sample.
    progress
        ``(done, total)`` over single-gene prediction chunks.
    expand
        Genes nearest to the screen's and the library's added to the genes of interest (0: none).
    goal
        ``learn`` (the most uncertainty removed) or ``discover`` (pairs by an upper bound on their interaction).

    Raises
    ------
    GearsplanError
        If the goal is unknown, the model has one member, ``expand`` is negative, or the budget or a quota does
        not fit the candidates.
    """
    quotas = quotas_for(budget, n_singles, n_pairs)
    check_goal(goal, quotas)
    require_ensemble(bundle)
    model = screen_model(bundle, bulk)
    measured = Measured(frozenset(bulk.keys))
    exclude = frozenset(exclude)
    space = genes_of_interest(measured, model.go.genes, tuple(library or ()), expand, exclude)
    singles = candidate_singles(space.genes, measured, exclude)
    reach = GraphReach.build(model.go, measured.perturbed_genes, space.targets)
    # Pairs the user named are the untested pairs of interest; generated pairs (every pair of the genes of
    # interest) would add about the same count to every gene.
    single = single_signals(model, singles, reach, progress, space.pairs)
    pairs = candidate_pairs(measured, space.genes, allow_unseen_pairs, exclude, space.pairs)
    n_candidates = {"single": len(singles) if goal == LEARN else 0, "pair": len(pairs)}
    check_budget(budget, n_candidates, quotas)
    pair = pair_signals(model, pairs, reach, bulk.control, max(EXACT_PAIRS_MIN, EXACT_PAIRS_FACTOR * budget), seed)
    error, single, pair = with_untested_error(model, reach, measured, single, pair, space.pairs)
    pair_space = candidate_pairs(measured, space.genes, True, exclude, space.pairs)
    return assemble(single, pair, error, budget, quotas, n_candidates, measured, pair_space, space, goal)
