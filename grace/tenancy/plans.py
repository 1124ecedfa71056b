"""Plans (plans.yml): what each plan allows per month; a business's plan is set by the platform operator."""
from __future__ import annotations
