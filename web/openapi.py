"""The OpenAPI 3 description of /api/v1, kept beside the routes (a test checks they match)."""
from __future__ import annotations

_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UNAUTHORISED = {"description": "missing or unknown X-API-Key", "content": _ERROR["content"]}
_NOT_FOUND = {"description": "no such id for this key's tenant", "content": _ERROR["content"]}


def _json(ref: str, description: str = "ok") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


_ID = {"name": "payment_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_REF = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}, "example": "AKA-7QX4M"}
_CONVERSATION = {"name": "conversation_id", "in": "path", "required": True, "schema": {"type": "string"},
                 "example": "akanraby:+2348012345678",
                 "description": "Grace's id of the conversation: <business>:<customer's WhatsApp number>"}
_ACTOR = {"user": {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}],
                   "description": "the dashboard user of this business who acts (id or email): owner or ops; "
                                  "a viewer gets 403"}}
_NO_USER = {"description": "'user' missing or not a dashboard user of this business", "content": _ERROR["content"]}
_VIEWER = {"description": "the user is a viewer: viewers read only", "content": _ERROR["content"]}


def _acting(summary: str, responses: dict, extra: dict | None = None, required: tuple[str, ...] = ("user",)) -> dict:
    return {"post": {
        "summary": summary, "parameters": [_CONVERSATION],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": list(required), "properties": {**_ACTOR, **(extra or {})}}}}},
        "responses": {"401": _UNAUTHORISED, "403": _VIEWER, "404": _NOT_FOUND, "422": _NO_USER, **responses}}}

SPEC: dict = {
    "openapi": "3.0.3",
    "info": {"title": "Grace API", "version": "1",
             "description": "A business's payments, orders, catalog and conversations. Every request needs the "
                            "business's key in X-API-Key; the key decides the business."},
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
            "summary": "Verify the payment (the deposit, or the balance: the order is then fully paid); the "
                       "customer is told in their conversation", "parameters": [_ID],
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
                          "409": {"description": "not paid yet, already past that step, or (shipped, delivered) "
                                                 "its balance is due and the business does not take it on "
                                                 "delivery",
                                  "content": _ERROR["content"]},
                          "422": {"description": "unknown status", "content": _ERROR["content"]}}}},
        "/api/v1/orders/{reference}/request-balance": {"post": {
            "summary": "Ask the customer for the balance of an order whose deposit is verified: they are told on "
                       "WhatsApp the amount due, how to pay and the order's reference (under the 24-hour rule: "
                       "outside it only with an approved balance_request template). An order ships only once its "
                       "balance is paid, unless the business sets pay_on_delivery",
            "parameters": [_REF],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {**_ACTOR}}}}},
            "responses": {"200": _json("#/components/schemas/Order"), "401": _UNAUTHORISED, "403": _VIEWER,
                          "404": _NOT_FOUND,
                          "409": {"description": "deposit not verified, nothing due, a balance proof waiting for "
                                                 "verification, or requested within the hour",
                                  "content": _ERROR["content"]},
                          "422": _NO_USER}}},
        "/api/v1/catalog": {"put": {
            "summary": "Replace the catalog (CSV; XLSX or JSON by Content-Type), all or nothing",
            "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "applied: a summary of the changes"}, "401": _UNAUTHORISED,
                          "422": {"description": "bad rows by sku and line; nothing changed",
                                  "content": _ERROR["content"]}}}},
        "/api/v1/conversations": {"get": {
            "summary": "The business's WhatsApp conversations, newest activity first",
            "parameters": [{"name": "limit", "in": "query", "schema": {
                "type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
            "responses": {"200": _json("#/components/schemas/ConversationList"), "400": _ERROR,
                          "401": _UNAUTHORISED}}},
        "/api/v1/conversations/{conversation_id}/messages": {"get": {
            "summary": "A conversation's last messages, oldest first: the customer's (held: kept for a person "
                       "while it was taken over, never answered by Grace), Grace's and the team's",
            "parameters": [_CONVERSATION],
            "responses": {"200": _json("#/components/schemas/Transcript"), "401": _UNAUTHORISED,
                          "404": _NOT_FOUND}}},
        "/api/v1/conversations/{conversation_id}/takeover": _acting(
            "A person takes the conversation over: Grace stops answering the customer until it is handed back, "
            "or until nobody of the team acted in it for takeover_idle_minutes (tenant.yml, default 120). "
            "Taking it again counts as activity",
            {"200": _json("#/components/schemas/Conversation"),
             "409": {"description": "someone else has it", "content": _ERROR["content"]}}),
        "/api/v1/conversations/{conversation_id}/reply": _acting(
            "Send the customer a person's text on WhatsApp, at once; it joins the conversation's history with "
            "its author. Outside the 24-hour window it goes as the business's approved ops_reply template, else "
            "it is refused",
            {"200": _json("#/components/schemas/Reply"),
             "409": {"description": "not taken over: take it over first", "content": _ERROR["content"]},
             "422": {"description": "no such user, empty or too long text, outside the 24-hour window "
                                    "(\"outside the 24-hour window: use a template\"), or the customer opted out",
                     "content": _ERROR["content"]},
             "502": {"description": "the WhatsApp provider did not take it: nothing was recorded, try again",
                     "content": _ERROR["content"]}},
            {"text": {"type": "string", "maxLength": 1600},
             "fabric": {"type": "string", "description": "a sku: send that fabric's catalog picture, the text (or "
                                                         "its name and price) the caption"}}, ("user",)),
        "/api/v1/conversations/{conversation_id}/handback": _acting(
            "Hand the conversation back to Grace: she answers the customer's next message, where the funnel was. "
            "The conversation's open handoffs are closed",
            {"200": _json("#/components/schemas/Conversation"),
             "409": {"description": "nobody has it", "content": _ERROR["content"]}}),
        "/api/v1/conversations/{conversation_id}/labels": _acting(
            "Add a label to the conversation (add), or remove one (remove): 1 to 30 letters, digits, spaces, - or _, "
            "kept in lower case, at most 10 per conversation",
            {"200": {"description": "the conversation's labels now", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"labels": {"type": "array", "items": {"type": "string"}}}}}}}},
            {"add": {"type": "string", "maxLength": 30}, "remove": {"type": "string", "maxLength": 30}}),
        "/api/v1/conversations/{conversation_id}/notes": {
            "get": {"summary": "The team's notes on the conversation, oldest first (the customer never sees them)",
                    "parameters": [_CONVERSATION],
                    "responses": {"200": _json("#/components/schemas/Notes"), "401": _UNAUTHORISED,
                                  "404": _NOT_FOUND}},
            **_acting("Add a note for the team", {"200": _json("#/components/schemas/Notes")},
                      {"text": {"type": "string", "maxLength": 2000}}, ("user", "text"))},
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
                "reason": {"type": "string", "nullable": True}, "created_at": {"type": "string"},
                "late": {"type": "boolean", "description": "proof sent after the order's hold expired"},
                "kind": {"type": "string", "enum": ["deposit", "balance"],
                         "description": "what it pays; expected_deposit is then the balance due"}}},
            "PaymentList": {"type": "object", "properties": {
                "payments": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}}}},
            "Decision": {"type": "object", "properties": {
                "order_reference": {"type": "string"}, "status": {"type": "string"},
                "customer_told": {"type": "boolean"}}},
            "Order": {"type": "object", "properties": {
                "reference": {"type": "string"}, "status": {"type": "string"}, "currency": {"type": "string"},
                "customer": {"type": "object"}, "total_minor": {"type": "integer"},
                "deposit_minor": {"type": "integer"}, "balance_minor": {"type": "integer"},
                "amount_paid_minor": {"type": "integer", "description": "verified payments so far"},
                "balance_due_minor": {"type": "integer", "description": "total less amount paid"},
                "balance_requested_at": {"type": "string", "format": "date-time", "nullable": True},
                "balance_reminded_at": {"type": "string", "format": "date-time", "nullable": True},
                "lines": {"type": "array", "items": {"type": "object"}}}},
            "OrderList": {"type": "object", "properties": {
                "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}}},
            "Message": {"type": "object", "properties": {
                "who": {"type": "string", "enum": ["customer", "grace", "person"]}, "text": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "held": {"type": "boolean", "description": "customer: came while a person had the conversation"},
                "media": {"type": "array", "items": {"type": "object"}}, "image": {"type": "string"},
                "author": {"type": "string", "nullable": True, "description": "person: who wrote it"},
                "delivery": {"type": "string", "description": "a handoff answered from the dashboard: its outbox "
                                                              "status"}}},
            "Conversation": {"type": "object", "properties": {
                "id": {"type": "string"}, "customer": {"type": "object", "properties": {
                    "phone": {"type": "string"}, "name": {"type": "string", "nullable": True}}},
                "last_message": {"allOf": [{"$ref": "#/components/schemas/Message"}], "nullable": True},
                "last_activity_at": {"type": "string", "format": "date-time", "nullable": True},
                "taken_over": {"type": "object", "nullable": True, "properties": {
                    "user_id": {"type": "integer", "nullable": True,
                                "description": "the dashboard user; null when an ops number holds it from WhatsApp"},
                    "by": {"type": "string"},
                    "since": {"type": "string", "format": "date-time"},
                    "last_human_activity_at": {"type": "string", "format": "date-time"}}},
                "needs_person": {"type": "boolean", "description": "the customer asked for a person (an open "
                                                                   "handoff); Grace keeps answering until "
                                                                   "someone takes it over"},
                "labels": {"type": "array", "items": {"type": "string"}}}},
            "Notes": {"type": "object", "properties": {"notes": {"type": "array", "items": {
                "type": "object", "properties": {"author": {"type": "string"}, "text": {"type": "string"},
                                                 "at": {"type": "string", "format": "date-time"}}}}}},
            "ConversationList": {"type": "object", "properties": {
                "conversations": {"type": "array", "items": {"$ref": "#/components/schemas/Conversation"}}}},
            "Transcript": {"type": "object", "properties": {
                "conversation": {"$ref": "#/components/schemas/Conversation"},
                "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}}}},
            "Reply": {"type": "object", "properties": {
                "sent": {"type": "boolean"}, "message": {"$ref": "#/components/schemas/Message"},
                "in_history": {"type": "boolean", "description": "written into the conversation (false: Rasa "
                                                                 "did not take it; the customer has it)"}}},
        },
    },
}
