"""The web dashboard and JSON API (Flask): business owners and ops run their shop here."""
