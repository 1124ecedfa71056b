"""CatalogEntityExtractor, the Rasa NLU component: entities read against the message's tenant.

First the component on its own (the tenant from metadata, the default tenant, unknown and broken
tenants), then inside a real Rasa pipeline: a tiny NLU model trained in a temporary folder,
loaded with Agent.load and asked to parse messages (about half a minute).
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from grace.rasa_plugins.catalog_entities import CatalogEntityExtractor
from grace.understanding import clear_cache
from tests.helpers import ROOT

EXTRACTOR = "grace.rasa_plugins.catalog_entities.CatalogEntityExtractor"


def copy_tenants(folder: Path) -> Path:
    root = folder / "tenants"
    shutil.copytree(ROOT / "tenants", root)
    for name in ("kentehouse", "kitengenairobi"):
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(ROOT / "tests" / "tenants" / name, root / name)
    return root


@pytest.fixture
def shops(tmp_path, monkeypatch) -> Path:
    root = copy_tenants(tmp_path)
    monkeypatch.setenv("GRACE_TENANTS_DIR", str(root))
    monkeypatch.setenv("GRACE_DEFAULT_TENANT", "akanraby")
    monkeypatch.setenv("GRACE_VAR_DIR", str(tmp_path / "var"))
    clear_cache()
    return root


def extractor() -> CatalogEntityExtractor:
    return CatalogEntityExtractor.create({}, None, None, None)  # type: ignore[arg-type]  # unused by the component


def parse(text: str, metadata: object = None, entities: list | None = None) -> list[dict]:
    data: dict = {TEXT: text}
    if metadata is not None:
        data[METADATA] = metadata
    if entities is not None:
        data[ENTITIES] = entities
    message, = extractor().process([Message(data=data)])
    return message.get(ENTITIES)


def test_the_tenant_comes_from_the_message_metadata(shops):
    fabric, category = parse("lagoon batick please", {"tenant": "kentehouse"})
    assert fabric == {"entity": "fabric", "value": "KH-019", "start": 0, "end": 6,
                      "confidence_entity": fabric["confidence_entity"], "extractor": "CatalogEntityExtractor"}
    assert (category["entity"], category["value"]) == ("category", "batik")
    # Volta Lagoon is Kente House's: Akanraby reads only its own batik pattern
    assert [(e["entity"], e["value"]) for e in parse("lagoon batick please", {"tenant": "akanraby"})] == [
        ("pattern", "batik")]


def test_without_a_tenant_the_default_tenant_reads_the_message(shops, monkeypatch):
    assert [(e["entity"], e["value"]) for e in parse("do you have marigld?")] == [("fabric", "AK-001")]
    assert [e["value"] for e in parse("do you have marigld?", {"channel": "rest"})] == ["AK-001"]
    assert [e["value"] for e in parse("do you have marigld?", "not a mapping")] == ["AK-001"]
    monkeypatch.setenv("GRACE_DEFAULT_TENANT", "kitengenairobi")
    assert [e["value"] for e in parse("jacaranda bloom 4 yards")] == ["KC-003", {"amount": 4, "unit": "yard"}]


def test_entities_of_earlier_extractors_are_kept(shops):
    earlier = {"entity": "order_reference", "value": "AKA-7KQ2M", "start": 9, "end": 18,
               "extractor": "RegexEntityExtractor"}
    entities = parse("where is AKA-7KQ2M", {"tenant": "akanraby"}, entities=[earlier])
    assert entities[0] == earlier
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities[1:]] == [
        ("order_ref", "AKA-7KQ2M", "CatalogEntityExtractor")]


def test_an_unknown_or_broken_tenant_gives_no_entities_and_no_error(shops, caplog):
    broken = shops / "brokenshop"
    shutil.copytree(shops / "akanraby", broken)
    (broken / "tenant.yml").write_text("name: Broken\ncurrency: NAIRA\n")
    (shops / "nocatalog").mkdir()
    (shops / "nocatalog" / "tenant.yml").write_text((shops / "akanraby" / "tenant.yml").read_text())
    with caplog.at_level(logging.ERROR):
        for tenant in ("nope", "../akanraby", "brokenshop", "nocatalog", "", 42, None):
            entities = parse("marigold 12 yards", {"tenant": tenant})
            expected = ["AK-001", {"amount": 12, "unit": "yard"}] if tenant in ("", None, 42) else []
            assert [e["value"] for e in entities] == expected, tenant
    assert not caplog.records  # logged as warnings, never errors or exceptions


def test_odd_messages_pass_through(shops):
    for text in ("", "🙏🏾", "x" * 5000, "SALE" + "9" * 196):
        message, = extractor().process([Message(data={TEXT: text, METADATA: {"tenant": "akanraby"}})])
        assert message.get(ENTITIES) == []
    message, = extractor().process([Message(data={"intent": "greet"})])  # no text at all
    assert message.get(ENTITIES) == []


def test_training_data_is_left_as_it_is(shops):
    data = TrainingData([Message(data={TEXT: "marigold", "intent": "ask_fabric"})])
    assert extractor().process_training_data(data) is data
    assert data.training_examples[0].get(ENTITIES) is None


# ---------------------------------------------------------------- inside a trained Rasa pipeline

CONFIG = f"""\
recipe: default.v1
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: DIETClassifier
    epochs: 1
    entity_recognition: false
  - name: {EXTRACTOR}
"""
NLU = textwrap.dedent("""\
    version: "3.1"
    nlu:
    - intent: ask_fabric
      examples: |
        - do you have ankara
        - show me lace
        - I want kente
        - 12 yards of the second one
    - intent: greet
      examples: |
        - hello
        - hi there
        - good morning
    """)


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """A tiny NLU model with the extractor, trained once for this module and loaded with Agent.load."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    folder = tmp_path_factory.mktemp("pipeline")
    (folder / "config.yml").write_text(CONFIG)
    (folder / "nlu.yml").write_text(NLU)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("RASA_CACHE_DIRECTORY", str(folder / "cache"))
        patch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
        model = train_nlu(str(folder / "config.yml"), str(folder / "nlu.yml"), output=str(folder / "models"),
                          fixed_model_name="tiny")
        assert model and os.path.exists(model)
        yield Agent.load(model)


def test_a_trained_pipeline_reads_fabrics_against_the_default_tenant(shops, agent):
    parsed = asyncio.run(agent.parse_message("do you have marigld?"))
    assert parsed["intent"]["name"] in ("ask_fabric", "greet")
    fabric, = parsed["entities"]
    assert (fabric["entity"], fabric["value"], fabric["extractor"]) == ("fabric", "AK-001", "CatalogEntityExtractor")
    assert "do you have marigld?"[fabric["start"]:fabric["end"]] == "marigld"


def test_a_trained_pipeline_reads_the_tenant_from_the_message_metadata(shops, agent):
    from rasa.core.channels.channel import UserMessage

    def entities(text: str, tenant: str) -> list[tuple[str, object]]:
        parsed = asyncio.run(agent.processor.parse_message(UserMessage(text, metadata={"tenant": tenant})))
        return [(e["entity"], e["value"]) for e in parsed["entities"]]

    assert entities("lagoon batick, 6 yards under GHS 200, AKWAABA 15", "kentehouse") == [
        ("fabric", "KH-019"), ("category", "batik"), ("quantity", {"amount": 6, "unit": "yard"}),
        ("budget", 20_000), ("promo_code", "AKWAABA15")]
    assert entities("lagoon batick", "akanraby") == [("pattern", "batik")]
    assert entities("marigold", "nope") == []


def test_a_catalog_edit_counts_without_retraining(shops, agent):
    catalog = shops / "akanraby" / "catalog.csv"
    assert asyncio.run(agent.parse_message("bongo flava 6 yards"))["entities"][0]["entity"] == "quantity"
    catalog.write_text(catalog.read_text() + "AK-099,Bongo Flava,ankara,red,floral,4000,yard,6,10,,New\n")
    os.utime(catalog, ns=(1, catalog.stat().st_mtime_ns + 5_000_000_000))
    parsed = asyncio.run(agent.parse_message("bongo flava 6 yards"))
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [
        ("fabric", "AK-099"), ("quantity", {"amount": 6, "unit": "yard"})]
