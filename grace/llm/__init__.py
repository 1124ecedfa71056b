"""The language-model fallback: prompt (the tenant's voice and data only), call, grounding check."""
