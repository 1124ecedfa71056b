"""The learning loop (`python -m grace.learn`): turns the fallback log into a review for people.

Unhandled utterances are clustered with the nearest existing intent and a suggested NLU example,
and each business gets the questions its customers keep asking. Everything lands in
data/suggestions/ under names Rasa does not read: nothing is trained until a person moves it.
"""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from grace.learn.command import run  # scikit-learn loads only when the loop runs

    return run(argv)
