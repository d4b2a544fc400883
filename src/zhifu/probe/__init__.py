"""`zhifu probe`: a notify endpoint self-test (forged, unknown, SIGNTEST, concurrent twins)."""
