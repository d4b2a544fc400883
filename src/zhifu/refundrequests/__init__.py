"""Buyers' refund requests: asked from "my orders" or the API, decided by the site's policy."""
