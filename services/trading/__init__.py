"""Trading: the rules that decide every change of money (rules) and the one store that applies them (store)."""
