"""Grace's shared package, in rooms whose imports point down only:

    run/            processes: CLI, local and scaled launchers, balancer, outbox worker, shell
    rasa_plugins/   what endpoints.yml names: tracker store, lock store, event broker; profile; tracker reader
    llm/ learn/ analytics/   the model fallback, the learning loop, the business's figures
    whatsapp/       provider clients, formatting, the 24-hour rule, sending
    understanding/  a customer's words read against their business: fabrics, codes, amounts, references
    shop/           the business: fabrics, selection, orders, stock, payments, fulfilment, ops
    messaging/      channel-neutral in and out: inbound form, inbox, media, notifications
    tenancy/        a tenant's files: registry, settings, catalog, hours, wording, accounts
    store/          the app store: models, sessions, migrations
    (ground)        config, errors, concurrency, money

Rasa's actions (actions/), channels (connectors/) and the dashboard (web/) sit on top of it.
"""
