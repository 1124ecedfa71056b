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


# Contacts (grace.shop.contact_book): kept in their own block so other parts of the API can be added beside them.
_PHONE = {"name": "phone", "in": "path", "required": True, "schema": {"type": "string"}, "example": "+2348012345678",
          "description": "the contact's WhatsApp number (E.164; a local number is read as the business's country's)"}
_CONTACT_FILTERS = [
    {"name": "label", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
     "description": "carries any of these labels (repeat the parameter)"},
    {"name": "category", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
     "description": "bought (verified payment) any of these catalog categories"},
    {"name": "city", "in": "query", "schema": {"type": "string"}},
    {"name": "consent", "in": "query", "schema": {
        "type": "string", "enum": ["any", "opted_in", "not_opted_in", "opted_out"], "default": "any"}},
    {"name": "last_order_older_than_days", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "the last order was over N days ago (contacts without orders are left out)"},
    {"name": "last_order_newer_than_days", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "the last order was within the last N days"},
]
_CSV = {"description": "CSV (UTF-8 with BOM): phone, name, city, labels, consent, source, opted_in_at, opted_out_at, "
                       "last_order_at, orders, categories, lifetime_value, currency",
        "content": {"text/csv": {"schema": {"type": "string"}}}}
_LABEL_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["user", "label"],
    "properties": {**_ACTOR, "label": {"type": "string", "maxLength": 30}}}}}}
_LABELS = {"description": "the contact's labels now", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"phone": {"type": "string"},
                                     "labels": {"type": "array", "items": {"type": "string"}}}}}}}
_LABEL_RESPONSES = {"200": _LABELS, "401": _UNAUTHORISED, "403": _VIEWER,
                    "404": {"description": "not a contact of this key's business", "content": _ERROR["content"]},
                    "422": {"description": "'user' missing or unknown, or not a label (1 to 30 letters, digits, "
                                           "spaces, - or _; at most 10)", "content": _ERROR["content"]}}

SPEC["paths"].update({
    "/api/v1/contacts": {"get": {
        "summary": "The business's contacts, newest activity first, with consent (when, how; opted out), labels, "
                   "last order, categories bought and lifetime value (verified payments, minor units)",
        "parameters": [*_CONTACT_FILTERS,
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                                                   "default": 100}},
                       {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}],
        "responses": {"200": _json("#/components/schemas/ContactList"), "400": _ERROR, "401": _UNAUTHORISED}}},
    "/api/v1/contacts/export": {"get": {
        "summary": "The contacts matching the filters as CSV; the file imports back as it is",
        "parameters": _CONTACT_FILTERS,
        "responses": {"200": _CSV, "400": _ERROR, "401": _UNAUTHORISED}}},
    "/api/v1/contacts/import": {"post": {
        "summary": "Add or update contacts from CSV: phone (required), name, city, labels (separated by ; or |), "
                   "consent (yes/y/true/1: opted in; empty or no: imported as not opted in), source (checkout, "
                   "else import). An import never removes consent or labels and never opts back in a number that "
                   "sent STOP. Bad rows are reported by line and left out, the others kept",
        "parameters": [{"name": "user", "in": "query", "schema": _ACTOR["user"],
                        "description": "who imports (owner or ops; a viewer gets 403); or the form field user"}],
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary"}, "user": {"type": "string"}}}}}},
        "responses": {"200": _json("#/components/schemas/ContactImport"), "401": _UNAUTHORISED, "403": _VIEWER,
                      "422": {"description": "no such user, or the file refused as a whole (not CSV, over 2 MB or "
                                             "20,000 rows, no phone column): nothing was changed",
                              "content": _ERROR["content"]}}}},
    "/api/v1/contacts/{phone}": {"put": {
        "summary": "Add or update one contact, e.g. from a website's checkout where the customer ticked \"keep me "
                   "posted\" (consent true, source checkout). The import's rules: consent and labels are only "
                   "added, never over a STOP",
        "parameters": [_PHONE],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["user"], "properties": {
                **_ACTOR, "name": {"type": "string"}, "city": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string", "maxLength": 30}},
                "consent": {"type": "boolean", "default": False},
                "source": {"type": "string", "enum": ["checkout", "import"], "default": "import"}}}}}},
        "responses": {"200": _json("#/components/schemas/Contact"), "401": _UNAUTHORISED, "403": _VIEWER,
                      "422": {"description": "'user' missing or unknown, or a field that cannot be read (the "
                                             "reason is given)", "content": _ERROR["content"]}}}},
    "/api/v1/contacts/{phone}/labels": {
        "post": {"summary": "Label the contact (its conversation: the inbox shows the same labels)",
                 "parameters": [_PHONE], "requestBody": _LABEL_BODY, "responses": _LABEL_RESPONSES},
        "delete": {"summary": "Remove a label from the contact (user and label in the body or the query string)",
                   "parameters": [_PHONE], "requestBody": {**_LABEL_BODY, "required": False},
                   "responses": _LABEL_RESPONSES}},
})
SPEC["components"]["schemas"].update({
    "Contact": {"type": "object", "properties": {
        "phone": {"type": "string"}, "name": {"type": "string", "nullable": True},
        "city": {"type": "string", "nullable": True},
        "consent": {"type": "string", "enum": ["opted_in", "not_opted_in", "opted_out"]},
        "opted_in": {"type": "boolean", "description": "broadcasts may reach it: consent recorded, no STOP since"},
        "opted_in_at": {"type": "string", "format": "date-time", "nullable": True},
        "opt_in_source": {"type": "string", "nullable": True, "enum": ["wrote_first", "checkout", "import", "team"]},
        "opted_out_at": {"type": "string", "format": "date-time", "nullable": True},
        "labels": {"type": "array", "items": {"type": "string"}},
        "last_order_at": {"type": "string", "format": "date-time", "nullable": True},
        "orders": {"type": "integer", "description": "orders placed, not cancelled or expired"},
        "categories": {"type": "array", "items": {"type": "string"}, "description": "bought (verified payments)"},
        "lifetime_value_minor": {"type": "integer", "description": "verified payments, minor units"},
        "lifetime_value": {"type": "string"}, "currency": {"type": "string"},
        "last_inbound_at": {"type": "string", "format": "date-time", "nullable": True}}},
    "ContactList": {"type": "object", "properties": {
        "contacts": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
        "total": {"type": "integer", "description": "contacts matching the filters"},
        "limit": {"type": "integer"}, "offset": {"type": "integer"}}},
    "ContactImport": {"type": "object", "properties": {
        "added": {"type": "integer"}, "updated": {"type": "integer"},
        "opted_in": {"type": "integer", "description": "consent recorded by this file"},
        "kept_opted_out": {"type": "integer", "description": "said yes in the file but had sent STOP"},
        "summary": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "object", "properties": {
            "line": {"type": "integer"}, "phone": {"type": "string"}, "problem": {"type": "string"}}}}}},
})


# Broadcasts (grace.shop.broadcasts): an approved template sent to a segment of opted-in contacts.
_BROADCAST_ID = {"name": "broadcast_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_OWNER = {"user": {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}],
                   "description": "the dashboard user of this business who acts (id or email): an owner; ops and "
                                  "viewers get 403"}}
_NOT_OWNER = {"description": "the user is not an owner: only owners create, send and cancel broadcasts",
              "content": _ERROR["content"]}
_SEND_AT = {"type": "string", "example": "2026-12-01T09:00",
            "description": "\"now\", or a date and time in the business's own timezone (with an offset or Z it is "
                           "taken as given); in the future, at most a year ahead"}
_FIELD_ERROR = {"description": "a field is wrong: 'field' names it (name, template, variables, segment, "
                               "rate_per_minute, send_at; or user)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FieldError"}}}}
_STATUS_CONFLICT = {"description": "the broadcast's status does not allow it (already sending, sent or cancelled)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FieldError"}}}}

SPEC["paths"].update({
    "/api/v1/broadcasts": {
        "get": {"summary": "The business's broadcasts, newest first, with their recipients per status",
                "responses": {"200": _json("#/components/schemas/BroadcastList"), "401": _UNAUTHORISED}},
        "post": {
            "summary": "A new broadcast: the approved template (Twilio Content SID or Meta template name), the contact "
                       "field for each of its variables, the segment (opted-in contacts only) and the pace. A draft, "
                       "or scheduled with send_at. Answers its id and how many opted-in contacts it reaches now "
                       "(taken again, and frozen, when sending starts; opted-out and unreachable numbers never)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["user", "name", "template"], "properties": {
                    **_OWNER, "name": {"type": "string", "maxLength": 120},
                    "template": {"type": "object", "properties": {
                        "twilio_content_sid": {"type": "string", "pattern": "^HX[0-9a-fA-F]{32}$"},
                        "meta_name": {"type": "string", "pattern": "^[a-z0-9_]{1,512}$"},
                        "language": {"type": "string", "default": "en", "example": "en_US"}},
                        "description": "at least the one for the business's provider"},
                    "variables": {"type": "array", "maxItems": 10, "items": {"type": "string", "enum": [
                        "name", "first_name", "phone", "city", "last_order_date", "categories"]},
                        "description": "the contact field filling {{1}}, {{2}}, ... in order (an empty one is "
                                       "sent as \"-\")"},
                    "segment": {"type": "object", "properties": {
                        "labels": {"type": "array", "items": {"type": "string"}},
                        "categories": {"type": "array", "items": {"type": "string"}},
                        "city": {"type": "string"},
                        "last_order_older_than_days": {"type": "integer", "minimum": 0, "maximum": 3650},
                        "last_order_newer_than_days": {"type": "integer", "minimum": 0, "maximum": 3650},
                        "opted_in_only": {"type": "boolean", "enum": [True], "default": True}},
                        "description": "every criterion given must hold; none: every opted-in contact"},
                    "rate_per_minute": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 60},
                    "send_at": _SEND_AT}}}}},
            "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "id": {"type": "integer"}, "status": {"type": "string", "enum": ["draft", "scheduled"]},
                    "recipients": {"type": "integer", "description": "opted-in contacts it reaches now"},
                    "broadcast": {"$ref": "#/components/schemas/Broadcast"}}}}}},
                "401": _UNAUTHORISED, "403": _NOT_OWNER, "422": _FIELD_ERROR}}},
    "/api/v1/broadcasts/{broadcast_id}": {"get": {
        "summary": "The broadcast's report: recipients per status, its messages per state (the providers' receipts), "
                   "replies within 72 hours, opt-outs since, skips with their reasons, failures with the provider's "
                   "error codes",
        "parameters": [_BROADCAST_ID],
        "responses": {"200": _json("#/components/schemas/BroadcastReport"), "401": _UNAUTHORISED,
                      "404": _NOT_FOUND}}},
    "/api/v1/broadcasts/{broadcast_id}/schedule": {"post": {
        "summary": "Send a draft now, or at a time (a scheduled one may be moved); the outbox worker starts it when "
                   "due, outside the business's quiet hours",
        "parameters": [_BROADCAST_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["user", "send_at"], "properties": {**_OWNER, "send_at": _SEND_AT}}}}},
        "responses": {"200": _json("#/components/schemas/Broadcast"), "401": _UNAUTHORISED, "403": _NOT_OWNER,
                      "404": _NOT_FOUND, "409": _STATUS_CONFLICT, "422": _FIELD_ERROR}}},
    "/api/v1/broadcasts/{broadcast_id}/cancel": {"post": {
        "summary": "Cancel: a draft or scheduled broadcast never goes; one being sent stops (whoever has not had it "
                   "yet is skipped as cancelled)",
        "parameters": [_BROADCAST_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["user"], "properties": {**_OWNER}}}}},
        "responses": {"200": _json("#/components/schemas/Broadcast"), "401": _UNAUTHORISED, "403": _NOT_OWNER,
                      "404": _NOT_FOUND, "409": _STATUS_CONFLICT, "422": _NO_USER}}},
})
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
SPEC["components"]["schemas"].update({
    "FieldError": {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}},
    "Broadcast": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "scheduled", "sending", "sent", "cancelled"]},
        "template": {"type": "object"}, "variables": {"type": "array", "items": {"type": "string"}},
        "segment": {"type": "object"}, "segment_description": {"type": "string"},
        "rate_per_minute": {"type": "integer"},
        "scheduled_at": {"type": "string", "format": "date-time", "nullable": True,
                         "description": "UTC; while sending, the time it resumes after the provider's rate limit"},
        "scheduled_local": {"type": "string", "nullable": True, "description": "the same, in the business's time"},
        "paused_until": {"type": "string", "format": "date-time", "nullable": True,
                         "description": "sending waits until then: the provider asked to slow down"},
        "created_by": {"type": "string", "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": "string", "format": "date-time", "nullable": True},
        "finished_at": {"type": "string", "format": "date-time", "nullable": True}}},
    "BroadcastList": {"type": "object", "properties": {"broadcasts": {"type": "array", "items": {"allOf": [
        {"$ref": "#/components/schemas/Broadcast"},
        {"type": "object", "properties": {"recipients": _COUNTS}}]}}}},
    "BroadcastReport": {"allOf": [{"$ref": "#/components/schemas/Broadcast"}, {"type": "object", "properties": {
        "recipients": {**_COUNTS, "description": "pending, sending, sent, skipped, failed"},
        "total": {"type": "integer"},
        "message_states": {**_COUNTS, "description": "accepted, sent, delivered, read, failed (the receipts)"},
        "replies": {"type": "integer", "description": "recipients who wrote within 72 hours of their message"},
        "opted_out_after": {"type": "integer", "description": "recipients who sent STOP after their message"},
        "skipped": {**_COUNTS, "description": "reason -> how many"},
        "failure_codes": {**_COUNTS, "description": "the provider's error code -> how many (\"\": none given)"},
        "failures": {"type": "array", "items": {"type": "object", "properties": {
            "phone": {"type": "string"}, "code": {"type": "string", "nullable": True}, "detail": {"type": "string"},
            "when": {"type": "string", "enum": ["refused", "reported"],
                     "description": "refused when sent, or accepted then reported failed"}}}},
        "latest_replies": {"type": "array", "items": {"type": "object", "properties": {
            "phone": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}}]},
})
