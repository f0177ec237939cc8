"""PLAID search over segments: candidates -> pruned centroid scores -> centroid scores -> exact MaxSim.

Stages, per query (each query is processed on its own, so results never depend on the batch size;
:meth:`PLAID.search <plait.indexes.plaid.index.PLAID.search>` spreads a batch's queries over
``plait.kernels.get_num_threads()`` threads):

1. centroid scores ``S = Q @ C.T``;
2. candidates: documents listed under the top ``ncells`` centroids of any query token (or, when a
   ``subset`` no larger than ``ndocs`` is given, exactly the subset);
3. centroid interaction with pruning (centroids whose best query score is below
   ``centroid_score_threshold`` are ignored) -> keep the best ``ndocs``;
4. centroid interaction without pruning -> keep the best ``n_full_scores``;
5. decompress those documents and compute exact MaxSim -> top ``k``.

Modules: :mod:`.stages` (each stage as a public function over ONE index's segments, and
:class:`PLAIDSearchParams`), :mod:`.driver` (the control flow, once, over a
:class:`~.driver.CandidateSource`: when to probe again, double ``ncells`` or take every eligible
document, where to cut) and :mod:`.segments` (the source over one index's segments). A coordinator
over shards that share one codebook (:mod:`plait.distributed.search`) runs the same driver over a
source that asks the shards, so it answers as one index holding all their documents.
"""

from plait.indexes.plaid.search.driver import (
    CandidateAsk,
    CandidateSource,
    Cuts,
    Eligibility,
    ExactAsk,
    Found,
    Ranked,
    Scored,
    rank,
    run_search,
)
from plait.indexes.plaid.search.segments import SegmentMasks, SegmentSource, search_one
from plait.indexes.plaid.search.stages import (
    Candidates,
    PLAIDSearchParams,
    QueryScores,
    candidates_in_cells,
    centroid_scores,
    decompress,
    eligible_masks,
    exact_candidate_scores,
    exact_scores,
    gather,
    interaction_scores,
    probe_cells,
    pruning_mask,
    query_scores,
    top_n,
)

__all__ = [
    "CandidateAsk",
    "CandidateSource",
    "Candidates",
    "Cuts",
    "Eligibility",
    "ExactAsk",
    "Found",
    "PLAIDSearchParams",
    "QueryScores",
    "Ranked",
    "Scored",
    "SegmentMasks",
    "SegmentSource",
    "candidates_in_cells",
    "centroid_scores",
    "decompress",
    "eligible_masks",
    "exact_candidate_scores",
    "exact_scores",
    "gather",
    "interaction_scores",
    "probe_cells",
    "pruning_mask",
    "query_scores",
    "rank",
    "run_search",
    "search_one",
    "top_n",
]
