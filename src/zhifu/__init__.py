"""Zhifu: Alipay checkout for Django that never loses or double-counts a payment.

The top-level package imports nothing: ``zhifu.money``, ``zhifu.alipay`` and ``zhifu.sandbox``
work without Django; the Django app lives in this package too and is loaded only by Django.
"""

__version__ = "0.1.0"
