"""Acquisition signals of candidate experiments: ensemble uncertainty, graph reach, and for pairs non-additivity and GI-subtype disagreement.

Predicting every GO-annotated gene (20k) with an ensemble is the cost here, so predictions run in
chunks (memory stays at one chunk of members x keys x genes), and unmeasured single genes whose
GO-smoothed perturbation state is identical in every member (no trained gene in their GO
neighbourhood) are predicted once: their predictions are identical by construction.
Pairs are first scored from their genes' member predictions added up (the model composes pairs
mostly additively), and only the most promising are predicted exactly and GI-scored, spread
over genes so that no single gene holds them all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch

from gearsplan.analysis.gi_scores import GI_CALLS, ensemble_calls, well_expressed
from gearsplan.data.conditions import genes_of
from gearsplan.design.graph_reach import GraphReach
from gearsplan.model.ensemble import TOP_GENES, GearsModel, on_top_genes

#: Pairs screened additively at a time: bounds memory at members x CHUNK x genes doubles.
CHUNK = 256
#: Signal values closer than this share of their largest magnitude are ties (:func:`top_shares`).
RESOLUTION = 1e-3

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Signals:
    """Signals of candidates of one kind (``single`` or ``pair``), one entry per key.

    ``non_additivity`` and ``gi_disagreement`` are NaN for singles and for pairs not predicted
    exactly (``exact`` False); ``profiles`` are ensemble-mean predicted changes (float32).
    ``non_additivity`` is the pair's departure from the model's pair law: its predicted change less
    its genes' as parts of a pair (a measured single shrunk by :attr:`GearsModel.set_singles`), root
    mean square over its top genes. ``gi_votes`` counts the members making each GI call, in words
    ("synergy 3, suppression 2"; empty for singles and pairs not predicted exactly).

    ``interaction`` is a pair's interaction variance: the members' spread on its departure from the
    pair law (mean over its top genes, squared), raised by up to 2x by their disagreement on its GI
    subtype; 0 for singles and for pairs not predicted exactly.
    ``expected_gain`` is the model's expected squared error the measurement would remove from the
    untested space (:class:`~gearsplan.design.untested_error.UntestedError`); until that is built,
    a single's own variance times its reach, and a pair's own variance.
    """

    kind: str
    keys: tuple[str, ...]
    uncertainty: np.ndarray
    reach: np.ndarray
    distance: np.ndarray
    region: tuple[str, ...]
    non_additivity: np.ndarray
    gi_disagreement: np.ndarray
    gi_call: tuple[str, ...]
    gi_votes: tuple[str, ...]
    profiles: np.ndarray
    exact: np.ndarray
    interaction: np.ndarray
    expected_gain: np.ndarray

    @classmethod
    def without_interaction(
        cls,
        kind: str,
        keys: Sequence[str],
        uncertainty: np.ndarray,
        reach: np.ndarray,
        distance: np.ndarray,
        region: Sequence[str],
        profiles: np.ndarray,
        exact: bool,
        expected_gain: np.ndarray,
    ) -> "Signals":
        """Candidates with no interaction signals: singles (``exact``), or pairs screened additively (not ``exact``)."""
        n = len(keys)
        empty = ("",) * n
        return cls(
            kind,
            tuple(keys),
            uncertainty,
            reach,
            distance,
            tuple(region),
            np.full(n, np.nan),
            np.full(n, np.nan),
            empty,
            empty,
            profiles,
            np.full(n, exact),
            np.zeros(n),
            expected_gain,
        )

    def take(self, rows: np.ndarray) -> "Signals":
        """The candidates at ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        pick = lambda values: tuple(values[i] for i in rows)  # noqa: E731
        return replace(
            self,
            keys=pick(self.keys),
            uncertainty=self.uncertainty[rows],
            reach=self.reach[rows],
            distance=self.distance[rows],
            region=pick(self.region),
            non_additivity=self.non_additivity[rows],
            gi_disagreement=self.gi_disagreement[rows],
            gi_call=pick(self.gi_call),
            gi_votes=pick(self.gi_votes),
            profiles=self.profiles[rows],
            exact=self.exact[rows],
            interaction=self.interaction[rows],
            expected_gain=self.expected_gain[rows],
        )

    def __len__(self) -> int:
        return len(self.keys)


def equivalent_singles(model: GearsModel, genes: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Genes to predict, and for each of ``genes`` the position of the one whose prediction it shares.

    Unmeasured genes share a prediction when their GO-smoothed perturbation states are equal in
    every member (the network sees a set only through them); measured genes are kept apart.
    """
    genes = list(genes)
    free = [i for i, g in enumerate(genes) if g not in model.singles]
    owner = np.arange(len(genes))
    if free and model.members:
        rows = model.networks.encode([genes[i] for i in free])[:, 0]
        with torch.no_grad():
            states = np.ascontiguousarray(
                torch.cat([member.perturbation_states(rows) for member in model.members], dim=1).numpy()
            )
        # Rows as opaque byte strings: a 1-D unique, much faster than unique(axis=0) on floats.
        _, first, inverse = np.unique(
            states.view(np.dtype((np.void, states.shape[1] * states.itemsize))).ravel(),
            return_index=True,
            return_inverse=True,
        )
        owner[free] = np.asarray(free)[first[inverse.ravel()]]
    representatives = np.unique(owner)
    position = np.searchsorted(representatives, owner)
    return [genes[i] for i in representatives], position


def summarise(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble-mean profiles (float32) and the members' disagreement on their top genes, for one chunk of member predictions."""
    mean = members.mean(axis=0)
    spread = on_top_genes(members.std(axis=0), mean, TOP_GENES)
    return mean.astype(np.float32), spread


def pairs_informed(genes: Sequence[str], open_pairs: Sequence[str]) -> np.ndarray:
    """Per gene, the untested pairs of interest containing it: the model composes a pair from its genes, so
    measuring the single removes that gene's share of each such pair's error."""
    counts = dict.fromkeys(genes, 0.0)
    for gene in (g for key in open_pairs for g in genes_of(key)):
        if gene in counts:
            counts[gene] += 1.0
    return np.array([counts[g] for g in genes])


def single_signals(
    model: GearsModel,
    genes: Sequence[str],
    reach: GraphReach,
    progress: Progress | None = None,
    open_pairs: Sequence[str] = (),
) -> Signals:
    """Signals of single-gene candidates (every gene predicted exactly, equivalent genes once).

    Reach adds to the GO reach the ``open_pairs`` (untested pairs of interest) containing each gene.
    """
    representatives, position = equivalent_singles(model, genes)
    parts = [summarise(changes) for _, changes, _ in model.member_chunks(representatives, progress)]
    profiles = np.concatenate([p for p, _ in parts]) if parts else np.zeros((0, len(model.genes)), np.float32)
    spread = np.concatenate([s for _, s in parts]) if parts else np.zeros(0)
    reached, distance, region = reach.single(genes)
    reached = reached + pairs_informed(genes, open_pairs)
    return Signals.without_interaction(
        "single",
        genes,
        spread[position],
        reached,
        distance,
        region,
        profiles[position],
        True,
        spread[position] ** 2 * reached,
    )


def member_changes(model: GearsModel, keys: Sequence[str], priors: bool = True) -> np.ndarray:
    """Member predictions of ``keys`` (members x keys x measured genes), predicted in chunks; ``priors`` as in
    :meth:`GearsModel.member_predictions`."""
    chunks = [changes for _, changes, _ in model.member_chunks(keys, priors=priors)]
    return np.concatenate(chunks, axis=1) if chunks else np.zeros((len(model.members), 0, len(model.genes)))


def member_singles(model: GearsModel, genes: Sequence[str], priors: bool = True) -> np.ndarray:
    """Member predictions of single genes (members x genes x measured genes), equivalent genes predicted once.

    ``priors=False`` gives them as parts of pairs (:meth:`GearsModel.member_predictions`).
    """
    representatives, position = equivalent_singles(model, genes)
    return member_changes(model, representatives, priors)[:, position]


def pair_signals(
    model: GearsModel,
    pairs: Sequence[str],
    reach: GraphReach,
    control_mean: np.ndarray,
    refine: int | None,
    seed: int = 0,
) -> Signals:
    """Signals of pair candidates: screened additively, the ``refine`` most promising (all if None) predicted exactly and GI-scored."""
    genes = sorted({g for k in pairs for g in genes_of(k)})
    column = {g: i for i, g in enumerate(genes)}
    singles = member_singles(model, genes, priors=False)
    a = np.array([column[genes_of(k)[0]] for k in pairs], dtype=np.int64)
    b = np.array([column[genes_of(k)[1]] for k in pairs], dtype=np.int64)
    profiles = np.zeros((len(pairs), len(model.genes)), np.float32)
    spread = np.zeros(len(pairs))
    for start in range(0, len(pairs), CHUNK):
        part = slice(start, start + CHUNK)
        profiles[part], spread[part] = summarise(singles[:, a[part]] + singles[:, b[part]])
    reached, distance, region = pair_reach(pairs, reach)
    screened = Signals.without_interaction("pair", pairs, spread, reached, distance, region, profiles, False, spread**2)
    chosen = (
        np.arange(len(pairs))
        if refine is None
        else spread_over_genes(np.argsort(-screened.expected_gain, kind="stable"), a, b, refine)
    )
    law = law_parts(model, genes, singles)
    refined = refine_pairs(
        model,
        screened,
        chosen,
        (singles[:, a[chosen]], singles[:, b[chosen]]),
        law[:, a[chosen]] + law[:, b[chosen]],
        well_expressed(control_mean),
        seed,
    )
    return replace(refined, expected_gain=refined.uncertainty**2 + refined.interaction)


def law_parts(model: GearsModel, genes: Sequence[str], singles: np.ndarray) -> np.ndarray:
    """``singles`` (members x genes x measured genes, as parts of pairs) with each measured gene's change as the
    pair law takes it (:attr:`GearsModel.set_singles`): a pair's departure from them is its predicted interaction."""
    parts = singles.copy()
    for column, gene in enumerate(genes):
        if gene in model.set_singles:
            parts[:, column] = model.set_singles[gene]
    return parts


def spread_over_genes(order: np.ndarray, a: np.ndarray, b: np.ndarray, wanted: int) -> np.ndarray:
    """The first ``wanted`` pairs (gene columns ``a``, ``b``) in ``order`` that hold no gene more than c times, c the least that gives ``wanted``.

    Screening cannot tell which measured gene's pairs interact (a measured gene's own change has no
    spread), so the best screened pairs can all hold one gene; capped, every gene gets its best
    pairs predicted exactly before any gets more.
    """

    def capped(cap: int) -> list[int]:
        held = np.zeros(max(a.max(initial=-1), b.max(initial=-1)) + 1, dtype=np.int64)
        kept = []
        for row in order:
            if len(kept) == wanted:
                break
            if held[a[row]] < cap and held[b[row]] < cap:
                held[a[row]] += 1
                held[b[row]] += 1
                kept.append(int(row))
        return kept

    low, high = 1, max(wanted, 1)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if len(capped(middle)) == wanted else (middle + 1, high)
    return np.asarray(capped(low), dtype=np.int64)


def top_shares(values: np.ndarray) -> np.ndarray:
    """Per value, the share of the finite values at least as high (1/n for the highest, 1 for the lowest; NaN stays NaN).

    Values are compared on a grid of :data:`RESOLUTION` times the largest magnitude, so values the
    predictions cannot tell apart (two unmeasured genes with no measured GO relative differ by 1e-8)
    share a standing instead of being ranked by that difference.
    """
    finite = np.isfinite(values)
    shares = np.full(len(values), np.nan)
    if finite.any():
        scale = RESOLUTION * np.abs(values[finite]).max()
        steps = np.round(values[finite] / scale) if scale > 0 else np.zeros(finite.sum())
        shares[finite] = (finite.sum() - np.searchsorted(np.sort(steps), steps, side="left")) / finite.sum()
    return shares


def pair_reach(pairs: Sequence[str], reach: GraphReach) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reach (its unmeasured genes' reach summed; 1 for a new combination of measured genes), distance (the larger of
    its genes') and region of each pair."""
    flat = [g for k in pairs for g in genes_of(k)]
    reached, distance, region = reach.single(flat)
    reached, distance = reached.reshape(-1, 2), distance.reshape(-1, 2)
    new = distance > 0
    total = np.where(new.any(axis=1), (reached * new).sum(axis=1), 1.0)
    return total, distance.max(axis=1), ["/".join(region[2 * i : 2 * i + 2]) for i in range(len(pairs))]


def refine_pairs(
    model: GearsModel,
    screened: Signals,
    rows: np.ndarray,
    deltas: tuple[np.ndarray, np.ndarray],
    law: np.ndarray,
    scored: np.ndarray,
    seed: int,
) -> Signals:
    """Exact predictions of pairs ``rows``: uncertainty, departure from the pair law, interaction variance, GI call
    of the ensemble mean and members' disagreement on it.

    ``deltas``: members x len(rows) x genes predictions of each pair's single genes, as parts of pairs (the GI
    scores' ΔA and ΔB); ``law``: what the pair law predicts for the pair (:func:`law_parts`, summed).
    The pairs are predicted the same way (``priors=False``), so that what exceeds the law is the learned
    interaction and not the difference of two bases; the screened profiles are built on that base too.
    """
    if len(rows) == 0:
        return screened
    delta_a, delta_b = deltas
    members = member_changes(model, [screened.keys[i] for i in rows], priors=False)
    profiles, spread = summarise(members)
    excess = members - law
    strongest = np.argsort(-np.abs(profiles), axis=1)[:, :TOP_GENES]
    calls, disagreement, shares = gi_consensus(delta_a[..., scored], delta_b[..., scored], members[..., scored], seed)
    updated = {
        name: getattr(screened, name).copy()
        for name in ("uncertainty", "profiles", "exact", "non_additivity", "gi_disagreement", "interaction")
    }
    updated["uncertainty"][rows], updated["profiles"][rows], updated["exact"][rows] = spread, profiles, True
    updated["non_additivity"][rows] = np.sqrt(
        (np.take_along_axis(excess.mean(axis=0), strongest, axis=1) ** 2).mean(axis=1)
    )
    updated["gi_disagreement"][rows] = disagreement
    updated["interaction"][rows] = np.take_along_axis(excess.std(axis=0), strongest, axis=1).mean(axis=1) ** 2 * (
        1.0 + disagreement
    )
    gi_call, gi_votes = list(screened.gi_call), list(screened.gi_votes)
    for row, fired, share in zip(rows, calls, shares):
        gi_call[row] = "+".join(name for name, on in zip(GI_CALLS, fired) if on) or "none"
        gi_votes[row] = votes(share, len(model.members))
    return replace(screened, gi_call=tuple(gi_call), gi_votes=tuple(gi_votes), **updated)


def votes(share: np.ndarray, n_members: int) -> str:
    """The members making each GI call (``share``, in :data:`GI_CALLS` order), most first, ties in that order: "synergy 3, suppression 2"."""
    counts = np.rint(share * n_members).astype(int)
    order = np.argsort(-counts, kind="stable")
    return ", ".join(f"{GI_CALLS[i]} {counts[i]}" for i in order if counts[i] > 0)


def gi_consensus(
    delta_a: np.ndarray, delta_b: np.ndarray, delta_ab: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GI calls of the ensemble-mean prediction (pairs x 6), how far the members' calls are from them (mean |share - call|),
    and the share of members making each call (pairs x 6)."""
    called = ensemble_calls(delta_a, delta_b, delta_ab, seed)
    calls = called.scores.call_matrix()
    return calls, np.abs(called.share - calls).mean(axis=1), called.share
