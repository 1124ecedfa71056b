"""CatalogEntityExtractor: Rasa's NLU pipeline reads fabrics, budgets, quantities, codes and order
references against the message's tenant (grace.understanding does the reading).

In config.yml, after the intent classifier:

    - name: grace.rasa_plugins.catalog_entities.CatalogEntityExtractor

Nothing is trained: each message is read against the tenant's catalog and settings as they are
now, so a catalog edit counts from the next message. The tenant is the message metadata's
"tenant" (set by Grace's channels); without one (rasa shell, rasa test) the default tenant.
An unknown tenant or broken tenant files give no entities, never an error.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from grace.config import load_settings
from grace.tenancy.registry import get_registry
from grace.understanding import EXTRACTOR, MAX_CHARS, extract

log = logging.getLogger(__name__)


def tenant_id_of(message: Message) -> str:
    """The message's tenant: metadata["tenant"], else the default tenant."""
    metadata = message.get(METADATA)
    tenant = metadata.get("tenant") if isinstance(metadata, dict) else None
    if isinstance(tenant, str) and tenant.strip():
        return tenant.strip()
    return load_settings().default_tenant


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class CatalogEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Entities read against the tenant's live catalog: fabric, category, colour, pattern, budget,
    quantity, ordinal, promo_code, order_ref (values: see grace.understanding)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> CatalogEntityExtractor:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = self._entities(message)
            if found:
                message.set(ENTITIES, list(message.get(ENTITIES) or []) + found, add_to_output=True)
            elif message.get(ENTITIES) is None:
                message.set(ENTITIES, [], add_to_output=True)
        return messages

    def _entities(self, message: Message) -> list[dict[str, Any]]:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text.strip():
            return []
        return entities_of(tenant_id_of(message), text, self.name)


def entities_of(tenant_id: str, text: str, extractor: str = EXTRACTOR) -> list[dict[str, Any]]:
    """Rasa's entity dicts for a message of this tenant; none when the tenant is unknown or its files are
    broken (the message goes on without entities, never an error)."""
    try:
        tenant = get_registry().get(tenant_id)
    except Exception as exc:
        log.warning("no catalog entities: tenant of message unavailable (%s)", exc)
        return []
    return [entity.as_rasa(extractor) for entity in extract(tenant, text[:MAX_CHARS])]
