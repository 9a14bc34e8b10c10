"""Leagues: competitions on league accounts, their trading rules, standings and the clock that ends them."""
