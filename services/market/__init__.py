"""The market: listed symbols, the clock of trading hours, the simulator and its feed, price history, the quote hub."""
