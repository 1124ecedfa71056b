"""WhatsApp delivery shared by the channels and the outbox: formatting, provider clients, media."""
