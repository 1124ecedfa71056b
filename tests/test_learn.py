"""`grace learn`: the review trainers and businesses read, and the guarantee that none of it is trained."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import yaml
from rasa.shared.data import get_data_files, is_nlu_file
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.loading import load_data

from grace.learn import main
from grace.store import session_scope
from grace.store.models import FallbackLog
from tests.helpers import ROOT

AN_HOUR_AGO = datetime.utcnow() - timedelta(hours=1)


def said(tenant: str, customer: str, text: str, thought: str = "ask_price", answered_by: str = "model",
         answer: str = "Let me check with the team 🙏", when: datetime = AN_HOUR_AGO) -> None:
    with session_scope() as session:
        session.add(FallbackLog(tenant_id=tenant, conversation_id=f"{tenant}:{customer}", text=text,
                                intent="nlu_fallback", confidence=0.3,
                                intent_ranking=[{"name": "nlu_fallback", "confidence": 0.4},
                                                {"name": thought, "confidence": 0.3}],
                                funnel_stage="start", answered_by=answered_by, answer=answer, created_at=when))


@pytest.fixture
def learn(grace_env, monkeypatch):
    """Runs `grace learn` into a copy of the project's data folder; returns that folder."""
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{grace_env / 'tracker.db'}")
    data = grace_env / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("suggestions"))

    def run(*extra: str) -> int:
        return main(["--out", str(data / "suggestions"), "--nlu", str(data / "nlu"), *extra])

    run.data = data
    return run


def reviewed_nlu(data) -> dict[str, list[str]]:
    """What a trainer gets by moving the suggestions file into a Rasa data folder as it is."""
    moved = data.parent / "moved" / "nlu.yml"
    moved.parent.mkdir(exist_ok=True)
    shutil.copy(data / "suggestions" / "nlu.yml.review", moved)
    examples: dict[str, list[str]] = {}
    for message in load_data(str(moved)).intent_examples:
        examples.setdefault(message.get("intent"), []).append(message.get("text"))
    return examples


def test_typos_and_pidgin_of_one_question_form_one_group_with_its_nearest_intent(learn):
    said("akanraby", "+2348011", "abeg how much be dis lace")
    said("akanraby", "+2348012", "abeg how much be this lace?")
    said("kentehouse", "+2332001", "how much for dis lace abeg")
    said("akanraby", "+2348013", "una dey deliver go abuja?", thought="ask_delivery")
    said("kentehouse", "+2332002", "una dey deliver to abuja", thought="ask_delivery")
    said("akanraby", "+2348014", "opening hours pls", thought="ask_hours",
         answered_by="flow:action_tell_hours")  # already a training example
    said("akanraby", "+2348015", "call me on 08031234567 abeg", thought="human_handoff")
    assert learn() == 0

    review = (learn.data / "suggestions" / "review.md").read_text()
    first = review.split("\n## ")[1]  # biggest group first
    assert first.startswith('1. "abeg how much be dis lace"')
    assert "3 times by 3 customers (akanraby, kentehouse)" in first
    assert "nearest intent: `ask_price`" in first and '"how much for dis lace abeg"' in first
    suggestions = reviewed_nlu(learn.data)
    assert suggestions["ask_price"] == ["abeg how much be dis lace"]  # one example per group, not three
    assert any("deliver" in s and "abuja" in s for s in suggestions["ask_delivery"])
    assert "ask_hours" not in suggestions and "opening hours pls" in review  # not suggested: already trained
    assert "08031234567" not in (learn.data / "suggestions" / "nlu.yml.review").read_text()

    before = {p.name: p.read_bytes() for p in (learn.data / "suggestions").iterdir()}
    assert learn() == 0  # the same log gives the same files, byte for byte
    assert before == {p.name: p.read_bytes() for p in (learn.data / "suggestions").iterdir()}


def test_suggestions_are_never_read_by_rasa_training(learn):
    said("akanraby", "+2348011", "una get owambe lace for sale?")
    said("akanraby", "+2348012", "una get owambe lace for sale")
    assert learn() == 0
    assert "una get owambe lace for sale" in sum(reviewed_nlu(learn.data).values(), [])  # loads once moved
    assert (learn.data / "suggestions" / "nlu.yml.review").exists()

    # exactly how `rasa train` / `rasa data validate` collect the training data from the data folder
    assert not [f for f in get_data_files([str(learn.data)], is_nlu_file) if "/data/suggestions/" in f]
    importer = TrainingDataImporter.load_from_config(str(ROOT / "config.yml"), str(ROOT / "domain.yml"),
                                                     [str(learn.data)])
    trained = {m.get("text") for m in importer.get_nlu_data().intent_examples}
    assert "una get owambe lace for sale" not in trained and "abeg how much" in trained


def test_each_business_gets_only_its_own_repeated_questions(learn):
    said("akanraby", "+2348011", "do una sell asoebi for groups?")
    said("akanraby", "+2348012", "una dey sell aso ebi for group?", answer="The team will confirm 🙏")
    said("akanraby", "+2348013", "where is your shop?")  # already in akanraby's FAQ
    said("akanraby", "+2348014", "where is ur shop?")
    said("akanraby", "+2348015", "can I pay in dollars?")  # one customer, asking twice
    said("akanraby", "+2348015", "can i pay in dollars")
    said("akanraby", "+2348016", "I don see am finally")  # not a question
    said("akanraby", "+2348017", "I don see am finally o")
    said("kentehouse", "+2332001", "do you sell kente stoles for graduation?")
    said("kentehouse", "+2332002", "do you sell kente stole for graduation")
    said("kentehouse", "+2332003", "can I pay in dollars?")  # a second customer, but of another business
    assert learn() == 0

    akanraby = (learn.data / "suggestions" / "faq_akanraby.md").read_text()
    kente = (learn.data / "suggestions" / "faq_kentehouse.md").read_text()
    assert akanraby.startswith("# Questions AkanrabyAtuche's") and kente.startswith("# Questions Kente House Accra's")
    assert "asoebi" in akanraby and "2 times by 2 customers" in akanraby and "The team will confirm" in akanraby
    for absent in ("shop", "dollars", "I don see am", "kente"):
        assert absent not in akanraby.split("\n## ", 1)[1]
    assert "kente stole" in kente and "dollars" not in kente and "asoebi" not in kente
    stub = yaml.safe_load(kente.split("```yaml\n")[1].split("```")[0])
    assert [entry["q"] for entry in stub["faq"]] == ["do you sell kente stole for graduation"]


def test_a_tenant_filter_and_a_stale_faq_file(learn):
    said("akanraby", "+2348011", "do una sell asoebi for groups?")
    said("akanraby", "+2348012", "una dey sell aso ebi for group?")
    said("kentehouse", "+2332001", "do you sell kente stoles for graduation?")
    said("kentehouse", "+2332002", "do you sell kente stole for graduation")
    assert learn() == 0
    assert learn("--tenant", "kentehouse") == 0
    out = learn.data / "suggestions"
    assert sorted(p.name for p in out.iterdir()) == ["faq_kentehouse.md", "nlu.yml.review", "review.md"]
    assert "asoebi" not in (out / "review.md").read_text()


def test_old_turns_are_left_out_and_bad_options_are_refused(learn, capsys):
    said("akanraby", "+2348011", "do una sell asoebi for groups?", when=datetime.utcnow() - timedelta(days=40))
    assert learn() == 0
    assert "asoebi" not in (learn.data / "suggestions" / "review.md").read_text()
    assert learn("--days", "0") == 0
    assert "asoebi" in (learn.data / "suggestions" / "review.md").read_text()
    assert learn("--days", "-1") == 2 and "--days" in capsys.readouterr().out


def test_python_m_grace_learn_runs(learn, grace_env):
    said("akanraby", "+2348011", "abeg how much be dis lace")
    env = dict(os.environ, PYTHONPATH=str(ROOT), SQLALCHEMY_SILENCE_UBER_WARNING="1")
    done = subprocess.run([sys.executable, "-m", "grace.learn", "--out", str(grace_env / "out"),
                           "--nlu", str(learn.data / "nlu")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 logged turn" in done.stdout and (grace_env / "out" / "review.md").exists()
