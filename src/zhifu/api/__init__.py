"""Zhifu's HTTP API (Django REST framework)."""
