"""Payment links: a checkout page at the tenant's payment provider (Paystack, Stripe Checkout) for what an
order owes, and the provider's confirmation settling it (links.py). The providers' own wire formats are in
paystack.py and stripe_checkout.py."""
