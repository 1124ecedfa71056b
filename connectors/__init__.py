"""Grace's input channels. Each turns a platform's message into the shared inbound form."""
