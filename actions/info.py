"""Answers about the business: hours, policies, FAQs. Each resumes the funnel after."""
from __future__ import annotations

import re

from actions.base import GraceAction, Turn, log_fallback
from grace.shop.textmatch import STOPWORDS, similar
from grace.tenancy.hours import days_mentioned, describe_opening, fmt_time
from grace.tenancy.registry import FaqEntry

FAQ_MIN_SCORE = 0.34
_QUESTION_WORDS = STOPWORDS | {"do", "you", "your", "is", "are", "can", "what", "how", "where", "when",
                               "una", "abeg", "please", "pls", "dey", "get", "have", "we", "u", "does"}


class ActionAnswerHours(GraceAction):
    action_name = "action_answer_hours"

    def act(self, turn: Turn) -> None:
        hours, tz = turn.tenant.hours, turn.tenant.timezone.key
        days = days_mentioned(turn.text)
        if days:
            turn.say("hours_days", days="\n".join(hours.describe_day(d) for d in days))
        else:
            now = turn.tenant.now()
            if hours.is_open(now):
                closes = hours.closing_today(now)
                assert closes is not None  # open now, so it closes today
                turn.say("hours_open_now", closes=fmt_time(closes), timezone=tz)
            else:
                opening = hours.next_opening(now)
                turn.say("hours_closed_now", next_open=describe_opening(now, opening) if opening else "soon",
                         timezone=tz)
            turn.say("hours_week", week=hours.describe_week(), timezone=tz)
        turn.resume()


class ActionAnswerPolicy(GraceAction):
    action_name = "action_answer_policy"

    def act(self, turn: Turn) -> None:
        topic = "returns" if turn.intent == "ask_returns" else "delivery"
        turn.say(f"policy_{topic}", policy=turn.tenant.policies[topic])
        turn.resume()


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _QUESTION_WORDS and len(w) > 2]


def best_faq(question: str, faq: tuple[FaqEntry, ...]) -> FaqEntry | None:
    """The FAQ entry whose question shares the most words with the message (typos tolerated)."""
    asked = _content_words(question)
    if not asked:
        return None
    best, best_score = None, 0.0
    for entry in faq:
        known = _content_words(entry.q)
        if not known:
            continue
        hits = sum(1 for w in asked if any(w == k or (len(w) > 3 and similar(w, k) >= 0.8) for k in known))
        score = hits / len(set(asked) | set(known)) ** 0.5 / len(asked) ** 0.5
        if score > best_score:
            best, best_score = entry, score
    return best if best_score >= FAQ_MIN_SCORE else None


class ActionAnswerFaq(GraceAction):
    action_name = "action_answer_faq"

    def act(self, turn: Turn) -> None:
        entry = best_faq(turn.text, turn.tenant.faq)
        if entry:
            turn.say(text=entry.a)
        else:
            turn.say("faq_unknown")
        turn.resume()
        if not entry:  # logged after the nudge back, so the log holds the whole answer
            log_fallback(turn, "faq_unknown")
