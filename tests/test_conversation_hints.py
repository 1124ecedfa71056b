"""The trainer's hints under a failed end-to-end story: each misread line, with the nearest training examples
of the intent the story says and of the one NLU read (tests/conversations.py)."""
from __future__ import annotations

from tests.conversations import examples_by_intent, misreads, nearest_examples

# As Rasa writes failed_test_stories.yml: the story's intent, then NLU's reading and the customer's words.
FAILED = """\
- story: removing a fabric that was never chosen, then the summary (tests/stories/akanraby/test_unhappy.yml)
  steps:
  - intent: remove_item
    entities:
    - fabric: AK-009
  - action: action_remove_item
  - intent: ask_summary  # predicted: browse: abeg show me wetin dey my cart
  - action: action_show_summary
  - intent: check_availability  # predicted: greet: Good afternoon. Do you have [Adwini Asa](fabric)?
  - action: action_check_availability  # predicted: action_greet
"""

EXAMPLES = {
    "ask_summary": ["what's in my cart", "make I see wetin dey my cart", "send the invoice", "total pls"],
    "browse": ["show me your catalog", "abeg show me wetin una carry", "pls show me your ankara"],
    "check_availability": ["do you have marigold bloom", "lagos sunset dey?"],
    "greet": ["good afternoon", "hello"],
}


def test_each_misread_line_is_found_with_its_two_intents_and_the_words_without_annotations():
    assert misreads(FAILED) == [
        ("abeg show me wetin dey my cart", "ask_summary", "browse"),
        ("Good afternoon. Do you have Adwini Asa?", "check_availability", "greet"),
    ]
    assert misreads("- action: action_greet  # predicted: action_listen") == []  # an action, not NLU's reading


def test_the_nearest_examples_of_both_intents_come_under_the_line():
    hints = nearest_examples(FAILED, EXAMPLES, per_intent=2).splitlines()
    assert hints[0] == '  "abeg show me wetin dey my cart": the story says ask_summary, NLU read browse'
    assert hints[1].startswith("    nearest ask_summary: make I see wetin dey my cart | ")
    assert hints[2].startswith("    nearest browse: abeg show me wetin una carry | ")
    assert hints[3] == '  "Good afternoon. Do you have Adwini Asa?": the story says check_availability, NLU read greet'
    assert "nearest greet: good afternoon" in hints[5]


def test_the_training_examples_are_read_by_intent_from_data_nlu():
    examples = examples_by_intent()
    assert "ask_summary" in examples and "what's in my cart" in examples["ask_summary"]
    assert all(text for texts in examples.values() for text in texts)
