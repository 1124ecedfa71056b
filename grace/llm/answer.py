"""One grounded answer from the model, or None (then the canned library answers). The guard judges
the answer against the tenant's facts and this conversation's (its selection and history, the
customer's message), so what was worked out here (a total, a deposit) may be said again."""
from __future__ import annotations

import logging

from grace.llm.client import ModelUnavailable, complete
from grace.llm.grounding import problems
from grace.llm.prompt import Context, asks_about_payment, build_messages
from grace.tenancy.registry import Tenant

log = logging.getLogger("grace.llm")


def grounded_answer(tenant: Tenant, text: str, context: Context) -> str | None:
    """The model's answer if everything it claims is the tenant's; regenerated once if not."""
    messages = build_messages(tenant, text, context)
    model = tenant.extra.get("llm_model") or None
    account_allowed = asks_about_payment(text)
    for attempt in range(2):
        try:
            answer = complete(messages, model)
        except ModelUnavailable as exc:
            log.info("model unavailable for %s: %s", tenant.id, exc)
            return None
        wrong = problems(answer, tenant, account_allowed, context, text)
        if not wrong:
            return answer
        log.warning("ungrounded model answer for %s (attempt %d): %s", tenant.id, attempt + 1, "; ".join(wrong))
        messages = messages + [{"role": "assistant", "content": answer}, {"role": "system", "content": (
            "That answer is not allowed: " + "; ".join(wrong) + ". Answer again using only the facts given.")}]
    return None
