"""Questions a business's customers keep asking that Grace could not answer: FAQ candidates.

Per tenant only (one business's customers never shape another's FAQ). A candidate is a group of
similar questions asked by at least MIN_CUSTOMERS different customers, and not already close to
one of the tenant's FAQ entries.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from grace.learn.cluster import Space, cluster
from grace.store.models import FallbackLog

MIN_CUSTOMERS = 2
COVERED_SIMILARITY = 0.5  # this close to an existing FAQ question: the FAQ has it, NLU missed it
_QUESTION = re.compile(
    r"\?|^\s*(what|whats|what's|how|when|where|which|who|whom|why|do|does|did|is|are|can|could|will|would|"
    r"should|shall|may|have|has|any|abeg|wetin|una|shey|se|sey|e\s+get|you\s+get)\b|"
    r"\b(how\s+much|how\s+many|how\s+long|wetin|una\s+dey|una\s+get|abeg|you\s+dey|do\s+you|can\s+i|"
    r"is\s+there|are\s+there|i\s+wan\s+know|i\s+want\s+to\s+know)\b", re.I)


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


@dataclass
class FaqCandidate:
    question: str  # the most typical wording
    customers: int
    times: int
    wordings: list[str]  # distinct wordings, most typical first
    last_answer: str  # what Grace said the last time, so the business sees the gap


def faq_candidates(rows: list[FallbackLog], faq_questions: list[str],
                   min_customers: int = MIN_CUSTOMERS) -> list[FaqCandidate]:
    """This tenant's repeated unanswered questions; `rows` must all be one tenant's."""
    if len({r.tenant_id for r in rows}) > 1:
        raise ValueError("FAQ candidates are per tenant: rows of several tenants given")
    questions = [r for r in rows if is_question(r.text)]
    by_text: dict[str, list[FallbackLog]] = {}
    for row in questions:
        by_text.setdefault(row.text.strip(), []).append(row)
    texts = sorted(by_text)
    space = Space(texts + faq_questions)
    known = space.vectors(faq_questions) if faq_questions else None
    candidates = []
    for group in cluster(space, texts, [len(by_text[t]) for t in texts]):
        said = [row for i in group.members for row in by_text[texts[i]]]
        customers = {row.conversation_id for row in said}
        if len(customers) < min_customers:
            continue
        if known is not None and float((known @ group.centroid).max()) >= COVERED_SIMILARITY:
            continue
        latest = max(said, key=lambda r: (r.created_at, r.id))
        candidates.append(FaqCandidate(texts[group.members[0]], len(customers), len(said),
                                       [texts[i] for i in group.members], latest.answer or ""))
    candidates.sort(key=lambda c: (-c.customers, -c.times, c.question))
    return candidates
