"""Customers' data: export, erasure, retention and the requests customers make."""
