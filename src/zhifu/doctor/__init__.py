"""`zhifu doctor`: what each key and certificate file is, and the settings to paste."""
