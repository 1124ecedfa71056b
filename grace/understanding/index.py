"""Everything extraction needs to know about one tenant, built once per version of its files.

The registry hands out a new Tenant object (with a new Catalog) whenever the tenant's files
change; the cache keeps the catalog it was built from and rebuilds when the tenant's catalog
is another object, or its promotions, order prefix or currency differ.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from grace.tenancy.catalog import Catalog
from grace.tenancy.registry import Promotion, Tenant
from grace.understanding.attributes import AttributeIndex
from grace.understanding.codes import CodeIndex
from grace.understanding.fabrics import FabricIndex
from grace.understanding.text import name_words
from grace.understanding.vocabulary import GENERIC_ATTRIBUTE_WORDS

MAX_TENANTS = 256


@dataclass
class TenantIndex:
    tenant_id: str
    currency: str
    catalog: Catalog                      # kept: the cache compares it by identity
    promotions: tuple[Promotion, ...]
    order_prefix: str
    attributes: AttributeIndex
    fabrics: FabricIndex
    codes: CodeIndex
    tenant_name: str = ""                 # "Kente House Accra"
    shop_name: tuple[str, ...] = ()      # ("kente", "house", "accra"): its words name the shop, not a category

    @classmethod
    def build(cls, tenant: Tenant) -> TenantIndex:
        attributes = AttributeIndex.build(tenant.catalog)
        fabrics = FabricIndex.build(tenant.catalog, attributes.words | GENERIC_ATTRIBUTE_WORDS,
                                    attributes.single_words())
        plain_words = frozenset(fabrics.owners) | attributes.words
        codes = CodeIndex.build([p.code for p in tenant.promotions], tenant.order_prefix, plain_words,
                                f"{tenant.name or ''} {tenant.id}")
        return cls(tenant.id, tenant.currency, tenant.catalog, tuple(tenant.promotions), tenant.order_prefix,
                   attributes, fabrics, codes, tenant.name, tuple(name_words(tenant.name or "")))

    def is_for(self, tenant: Tenant) -> bool:
        return (self.catalog is tenant.catalog and self.promotions == tuple(tenant.promotions)
                and self.order_prefix == tenant.order_prefix and self.currency == tenant.currency
                and self.tenant_name == tenant.name)


_cache: OrderedDict[str, TenantIndex] = OrderedDict()
_lock = threading.Lock()


def index_for(tenant: Tenant) -> TenantIndex:
    """The tenant's index, built on first use and again after its files change."""
    with _lock:
        cached = _cache.get(tenant.id)
        if cached is not None and cached.is_for(tenant):
            _cache.move_to_end(tenant.id)
            return cached
    built = TenantIndex.build(tenant)  # outside the lock: other tenants' messages go on meanwhile
    with _lock:
        _cache[tenant.id] = built
        _cache.move_to_end(tenant.id)
        while len(_cache) > MAX_TENANTS:
            _cache.popitem(last=False)
    return built


def clear_cache() -> None:
    with _lock:
        _cache.clear()
