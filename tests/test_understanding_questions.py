"""Questions matched to a business's own answers by meaning, in its customers' languages; a question
its facts cannot answer matches nothing (the model or the team answers it, never a guess)."""
from __future__ import annotations

import pytest

from actions.info import ActionAnswerFaq
from grace.tenancy.registry import get_registry
from grace.understanding.questions import best_answer
from tests.helpers import Chat, texts

CASES = [
    ("akanraby", "can your tailor make me a kaftan?", "sew"),
    ("akanraby", "abeg una fit sew agbada for me", "sew"),
    ("akanraby", "will the colour fade after washing", "colourfast"),
    ("akanraby", "can you send me samples first", "swatches"),
    ("akanraby", "how many yards for a gown", "yards"),
    ("kentehouse", "chale can your tailor make me a kaftan for my brother's wedding?", "kaftan"),
    ("kentehouse", "do you sell wholesale", "wholesale"),
    ("kitengenairobi", "mnashona nguo? nataka dress", "tailor"),
    ("kitengenairobi", "where exactly is your shop", "located"),
]


@pytest.mark.parametrize("tenant_id, question, in_faq_question", CASES)
def test_a_question_finds_the_answer_that_means_it(grace_env, tenant_id, question, in_faq_question):
    match = best_answer(question, get_registry().get(tenant_id).faq)
    assert match is not None and in_faq_question in match.entry.q.lower()


@pytest.mark.parametrize("question", ["do you accept bitcoin", "who is your president", "is the moon far",
                                      "can i pay in installments", "🙂🙂", ""])
def test_what_the_business_never_said_matches_nothing(grace_env, question):
    assert best_answer(question, get_registry().get("akanraby").faq) is None


def test_the_action_answers_from_the_faq_or_notes_the_question_for_the_team(grace_env):
    chat = Chat()
    answered = texts(chat.run(ActionAnswerFaq, "can your tailor make me a kaftan?", "ask_faq"))
    assert "tailors sew gowns" in answered
    noted = texts(chat.run(ActionAnswerFaq, "do you accept bitcoin", "ask_faq"))
    assert "noted it for the team" in noted
