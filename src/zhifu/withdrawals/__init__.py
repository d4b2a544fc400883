"""Withdrawals: wallet income paid out to the author's Alipay account (fund transfer)."""
