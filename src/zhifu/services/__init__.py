"""The service layer: the only code that changes the status of orders, attempts and refunds."""
