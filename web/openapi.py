"""The OpenAPI 3 description of /api/v1, kept beside the routes (a test checks they match)."""
from __future__ import annotations

_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UNAUTHORISED = {"description": "missing or unknown X-API-Key", "content": _ERROR["content"]}
_NOT_FOUND = {"description": "no such id for this key's tenant", "content": _ERROR["content"]}


def _json(ref: str, description: str = "ok") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


_ID = {"name": "payment_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_REF = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}, "example": "AKA-7QX4M"}

SPEC: dict = {
    "openapi": "3.0.3",
    "info": {"title": "Grace API", "version": "1",
             "description": "A business's payments, orders and catalog. Every request needs the business's key "
                            "in X-API-Key; the key decides the business."},
    "security": [{"apiKey": []}],
    "paths": {
        "/api/v1/payments": {"get": {
            "summary": "Payments, pending by default",
            "parameters": [{"name": "status", "in": "query", "schema": {
                "type": "string", "enum": ["pending", "verified", "rejected", "all"], "default": "pending"}}],
            "responses": {"200": _json("#/components/schemas/PaymentList"), "400": _ERROR, "401": _UNAUTHORISED}}},
        "/api/v1/payments/{payment_id}": {"get": {
            "summary": "One payment", "parameters": [_ID],
            "responses": {"200": _json("#/components/schemas/Payment"), "401": _UNAUTHORISED, "404": _NOT_FOUND}}},
        "/api/v1/payments/{payment_id}/verify": {"post": {
            "summary": "Verify the deposit; the customer is told in their conversation", "parameters": [_ID],
            "responses": {"200": _json("#/components/schemas/Decision"), "401": _UNAUTHORISED, "404": _NOT_FOUND,
                          "409": {"description": "not pending any more", "content": _ERROR["content"]}}}},
        "/api/v1/payments/{payment_id}/reject": {"post": {
            "summary": "Reject with a reason the customer sees", "parameters": [_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
            "responses": {"200": _json("#/components/schemas/Decision"), "401": _UNAUTHORISED, "404": _NOT_FOUND,
                          "409": {"description": "not pending any more", "content": _ERROR["content"]},
                          "422": {"description": "no reason given", "content": _ERROR["content"]}}}},
        "/api/v1/orders": {"get": {
            "summary": "Orders, newest first",
            "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _json("#/components/schemas/OrderList"), "400": _ERROR, "401": _UNAUTHORISED}}},
        "/api/v1/orders/{reference}": {"get": {
            "summary": "One order", "parameters": [_REF],
            "responses": {"200": _json("#/components/schemas/Order"), "401": _UNAUTHORISED, "404": _NOT_FOUND}}},
        "/api/v1/orders/{reference}/status": {"post": {
            "summary": "Move a paid order forward; the customer is told", "parameters": [_REF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"], "properties": {"status": {
                    "type": "string", "enum": ["in_production", "ready", "shipped", "delivered"]}}}}}},
            "responses": {"200": _json("#/components/schemas/Order"), "401": _UNAUTHORISED, "404": _NOT_FOUND,
                          "409": {"description": "not paid yet, or already past that step",
                                  "content": _ERROR["content"]},
                          "422": {"description": "unknown status", "content": _ERROR["content"]}}}},
        "/api/v1/catalog": {"put": {
            "summary": "Replace the catalog (CSV; XLSX or JSON by Content-Type), all or nothing",
            "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "applied: a summary of the changes"}, "401": _UNAUTHORISED,
                          "422": {"description": "bad rows by sku and line; nothing changed",
                                  "content": _ERROR["content"]}}}},
        "/api/v1/openapi.json": {"get": {"summary": "This description", "security": [],
                                         "responses": {"200": {"description": "OpenAPI 3"}}}},
    },
    "components": {
        "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
            "Payment": {"type": "object", "properties": {
                "id": {"type": "integer"}, "order_reference": {"type": "string"}, "status": {"type": "string"},
                "expected_deposit_minor": {"type": "integer"}, "expected_deposit": {"type": "string"},
                "stated_amount_minor": {"type": "integer", "nullable": True},
                "stated_amount": {"type": "string", "nullable": True}, "currency": {"type": "string"},
                "proof_url": {"type": "string", "nullable": True}, "message_text": {"type": "string"},
                "reason": {"type": "string", "nullable": True}, "created_at": {"type": "string"}}},
            "PaymentList": {"type": "object", "properties": {
                "payments": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}}}},
            "Decision": {"type": "object", "properties": {
                "order_reference": {"type": "string"}, "status": {"type": "string"},
                "customer_told": {"type": "boolean"}}},
            "Order": {"type": "object", "properties": {
                "reference": {"type": "string"}, "status": {"type": "string"}, "currency": {"type": "string"},
                "customer": {"type": "object"}, "total_minor": {"type": "integer"},
                "deposit_minor": {"type": "integer"}, "balance_minor": {"type": "integer"},
                "lines": {"type": "array", "items": {"type": "object"}}}},
            "OrderList": {"type": "object", "properties": {
                "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}}},
        },
    },
}
