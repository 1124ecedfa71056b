"""In-process HTTP fakes of Twilio's and Meta's WhatsApp APIs, so tests exercise real HTTP clients."""
